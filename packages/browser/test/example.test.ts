// examples/browser-wallet, the whole flow as a user clicks it: the example's server and community
// (three witnesses, a gateway relaying for pages), two wallets in two browser contexts of
// headless Chromium (each its own IndexedDB, keys and chain). Each registers a device with its
// owner's key, the witnesses certify the epoch, both claim, and they pay each other through the
// gateway: neither page can listen. Then alice opens a payment channel to bob and pays him twice
// by receipt (bytes through the server's mailbox); bob's page admits the lock, accepts the
// receipts and redeems.
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

  test('every click succeeded: devices, close, claims, payments both ways, a channel', () => {
    const t = result!.transcript
    assert.equal(t.map((l) => l.split(':')[0]), ['alice device', 'bob device', 'alice close', 'alice claim', 'bob claim', 'alice send', 'bob send', 'alice channel-open', 'alice channel-pay', 'alice channel-pay', 'bob channel-redeem'])
    for (const line of t) assert.ok(line.includes(': ok '), line)
    assert.match(t[2]!, /epoch 0 closed by the witnesses and certified/)
    assert.match(t[3]!, /claimed epoch 0: 500\.000 WVL/)
    assert.match(t[4]!, /claimed epoch 0: 500\.000 WVL/)
    assert.match(t[7]!, /channel to bob \([0-9a-f]{8}…\) opened: 50\.000 WVL locked/)
    assert.match(t[9]!, /paid 2\.500 WVL to bob .* by receipt \(\d+ bytes; 5\.000 WVL of 50\.000 WVL so far\)/)
    assert.match(t[10]!, /redeemed 5\.000 WVL/)
  })

  test('balances: each reward of 500 WVL, 120.5 from alice to bob, 20.25 back, 50 locked by alice of which bob redeemed 5', () => {
    const [alice, bob] = result!.wallets
    assert.is(alice!.balance, 500_000 - 120_500 + 20_250 - 50_000)
    assert.is(bob!.balance, 500_000 + 120_500 - 20_250 + 5_000)
  })

  test('each page shows its reward, its payment, the one it received and the channel, newest first', () => {
    const [alice, bob] = result!.wallets
    assert.equal(alice!.history, ['lock', 'received', 'sent', 'reward'])
    assert.equal(bob!.history, ['redeem', 'sent', 'received', 'reward'])
  })
  test.run()
}
