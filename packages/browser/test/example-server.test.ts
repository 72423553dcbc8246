// examples/browser-wallet's server refuses bad input with a 400 naming what is wrong, and does
// its job on good input: the network description, a device signed by its owner and registered
// at all three witnesses, an epoch closed and certified. Node only (no browser needed).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, generateIdentity, toHex } from '@tally/core'
import { startExample } from '../../../examples/browser-wallet/server.ts'

const example = await startExample()
const test = suite('examples/browser-wallet server')

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(new URL(path, example.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) })
  return { status: res.status, json: (await res.json()) as Record<string, unknown> }
}

test('GET /api/network: the signed configuration, the gateway on the same port, three witnesses', async () => {
  const info = (await (await fetch(new URL('/api/network', example.url))).json()) as { config: string; gateway: { address: string }; witnesses: unknown[]; epoch: number }
  assert.match(info.config, /^[0-9a-f]+$/)
  assert.is(info.gateway.address, `${example.url.replace('http', 'ws')}gateway`)
  assert.is(info.witnesses.length, 3)
  assert.is(info.epoch, example.network.info().epoch)
})

test('bad input: 400 with the field named; nothing registered', async () => {
  const cases: [string, unknown, RegExp][] = [
    ['/api/name', { key: 'zz', name: 'alice' }, /"key"/],
    ['/api/name', { key: 'a'.repeat(64), name: '<script>' }, /"name"/],
    ['/api/device', { owner: 'a'.repeat(63) }, /"owner"/],
    ['/api/device', 'not json', /not JSON/],
    ['/api/device', { owner: 'a'.repeat(64), pad: 'x'.repeat(5000) }, /over 4096 bytes/],
    ['/api/device/register', { component: 'b'.repeat(64), signature: 'c'.repeat(128) }, /"component"/],
    ['/api/device/register', { component: 'b'.repeat(64), signature: 'c'.repeat(127) }, /"signature"/],
  ]
  for (const [path, body, message] of cases) {
    const { status, json } = await post(path, body)
    assert.is(status, 400, `${path} ${JSON.stringify(body).slice(0, 60)}`)
    assert.match(String(json.error), message)
  }
})

test('a device registration signed by another key is refused', async () => {
  const owner = generateIdentity()
  const { json } = await post('/api/device', { owner: owner.publicKeyHex })
  const forged = toHex(generateIdentity().sign(fromHex(String(json.digest))))
  const { status, json: refused } = await post('/api/device/register', { component: json.component, signature: forged })
  assert.is(status, 400)
  assert.match(String(refused.error), /does not verify/)
})

test('a device signed by its owner is registered at the three witnesses; the epoch closes certified', async () => {
  const owner = generateIdentity()
  const { json } = await post('/api/device', { owner: owner.publicKeyHex })
  const signature = toHex(owner.sign(fromHex(String(json.digest))))
  const { status, json: done } = await post('/api/device/register', { component: json.component, signature })
  assert.is(status, 200, String(done.error))
  assert.equal(done, { applied: 3, reported: 3, epoch: 0 })
  const { json: closed } = await post('/api/epoch/close', {})
  assert.equal(closed, { epoch: 0, certified: true })
  assert.is(example.network.info().epoch, 1)
})

test.after(() => example.close())
test.run()
