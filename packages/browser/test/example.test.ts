// examples/browser-wallet, the whole flow as a user clicks it: the example's server and community
// (three witnesses, a gateway relaying for pages), two wallets in two browser contexts of
// headless Chromium (each its own IndexedDB, keys and chain). Each registers a device with its
// owner's key, the witnesses certify the epoch, both claim, and they pay each other through the
// gateway: neither page can listen.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { runDemo, type DemoResult } from '../../../examples/browser-wallet/demo.ts'
import { startExample } from '../../../examples/browser-wallet/server.ts'
import { skippedWithoutChromium } from './harness.js'

const test = suite('examples/browser-wallet: two wallets in two browser contexts')
if (!skippedWithoutChromium(test, 'examples/browser-wallet in Chromium')) {
  let result: DemoResult | undefined
  let failure: unknown
  const example = await startExample()
  try {
    result = await runDemo(example)
  } catch (err) {
    failure = err
  } finally {
    await example.close()
  }

  test('the flow ran in Chromium', () => {
    assert.ok(failure === undefined, String((failure as Error)?.stack ?? failure))
  })

  test('every click succeeded: devices, close, claims, payments both ways', () => {
    const t = result!.transcript
    assert.equal(t.map((l) => l.split(':')[0]), ['alice device', 'bob device', 'alice close', 'alice claim', 'bob claim', 'alice send', 'bob send'])
    for (const line of t) assert.ok(line.includes(': ok '), line)
    assert.match(t[2]!, /epoch 0 closed by the witnesses and certified/)
    assert.match(t[3]!, /claimed epoch 0: 500\.000 WVL/)
    assert.match(t[4]!, /claimed epoch 0: 500\.000 WVL/)
  })

  test('balances: each reward of 500 WVL, 120.5 from alice to bob, 20.25 back', () => {
    const [alice, bob] = result!.wallets
    assert.is(alice!.balance, 500_000 - 120_500 + 20_250)
    assert.is(bob!.balance, 500_000 + 120_500 - 20_250)
  })

  test('each page shows its reward, its payment and the one it received, newest first', () => {
    const [alice, bob] = result!.wallets
    assert.equal(alice!.history, ['received', 'sent', 'reward'])
    assert.equal(bob!.history, ['sent', 'received', 'reward'])
  })
  test.run()
}
