/**
 * A node is a stranger to a peer until that peer has agreed to one of its proposals, and a
 * stranger's session has the stranger limits there (its message rate and burst among them). Many
 * transactions started at once to a new counterparty must not pass them and get the proposer
 * closed and banned as misbehaving: the first proposal goes alone, the others once it is answered.
 * Without that, this test fails (a session closed for 'rate limit exceeded', then the ban); the ws
 * bench (`gossip.ws_tx_per_s`) failed the same way with the default limits, 64 in flight.
 * Two nodes over real ws sockets on 127.0.0.1.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createBlockTypes, createMemoryStore, identityFromSeed, nobleCrypto } from '@tally/core'
import { createNode, type Node } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'

const test = suite('the first proposal to a new counterparty')

const crypto = nobleCrypto
const node = (n: number): Node =>
  createNode({
    identity: identityFromSeed(new Uint8Array(32).fill(n), crypto),
    store: createMemoryStore({ crypto }),
    transport: createWsTransport({ host: '127.0.0.1', port: 0 }),
    // the counterparty takes a while to decide (a policy that asks elsewhere): proposals started
    // at once all arrive while the first is still being decided
    types: createBlockTypes([{ name: 'tx', shouldSign: () => new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 50)) }]),
    // a busy counterparty: its own rates and request caps lifted, strangers' left at a small cap
    limits: { messagesPerSecond: 1e5, messageBurst: 1e5, bytesPerSecond: 1e9, byteBurst: 1e9, maxPendingRequests: 256, maxIncomingRequests: 256 },
    strangerLimits: { messagesPerSecond: 4, messageBurst: 8 },
    transact: { timeoutMs: 20_000, retryMs: 2_000 },
  })

test('32 transactions started at once to a peer that never agreed before: all agreed, nobody banned', async () => {
  const a = node(61)
  const b = node(62)
  const misbehaved: string[] = []
  for (const n of [a, b]) n.on('peer:close', (e) => void (e.misbehaviour !== undefined && misbehaved.push(e.misbehaviour)))
  const refused: string[] = []
  for (const n of [a, b]) n.on('handshake:failed', (e) => void refused.push(e.reason))
  try {
    await a.connect(await b.listen())
    const done = await Promise.all(Array.from({ length: 32 }, (_, i) => a.transact(b.publicKey, 'tx', i)))
    assert.is(done.length, 32)
    assert.equal(misbehaved, [], 'no session closed for misbehaviour')
    assert.equal(refused, [], 'no handshake refused (no ban)')
    assert.is((await b.store.range(a.publicKey)).length, 32, 'the counterparty holds every proposal')
    // once agreed, the next ones go together (no lone first proposal any more): still no fault
    await Promise.all(Array.from({ length: 32 }, (_, i) => a.transact(b.publicKey, 'tx', 100 + i)))
    assert.equal(misbehaved, [])
  } finally {
    await Promise.all([a.close(), b.close()])
  }
})

test.run()
