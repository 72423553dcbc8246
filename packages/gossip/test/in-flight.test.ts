/**
 * Proposals in flight together, over ws on 127.0.0.1: each carries its predecessor as context,
 * which the counterparty is often still agreeing to when the next one arrives. That predecessor
 * is validated, and its signature verified, once — by its own agreement — not a second time as
 * context (the ws bench's counterparty spent 1.7 signature checks a transaction before).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createMemoryStore, identityFromSeed, type CryptoProvider } from '@tally/core'
import { createNode, type Node } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'
import { crypto, noteTypes } from './fixtures/node-kit.ts'

const test = suite('proposals in flight')

const IN_FLIGHT = 64
const ROUNDS = 4

test(`the counterparty verifies each of ${IN_FLIGHT} proposals in flight once`, async () => {
  let verifies = 0
  const counting: CryptoProvider = Object.assign(Object.create(crypto) as CryptoProvider, {
    verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
      verifies++
      return crypto.verify(signature, message, publicKey)
    },
  })
  const make = (n: number, c: CryptoProvider): Node =>
    createNode({
      identity: identityFromSeed(new Uint8Array(32).fill(n), c), // the agent checks signatures with its identity's provider
      crypto: c,
      store: createMemoryStore({ crypto: c }),
      transport: createWsTransport({ host: '127.0.0.1', port: 0 }),
      types: noteTypes(),
      head: 'local',
      limits: { messagesPerSecond: 1e5, messageBurst: 1e5, bytesPerSecond: 1e9, byteBurst: 1e9, maxPendingRequests: 256, maxIncomingRequests: 256 },
    })
  const a = make(98, crypto)
  const b = make(99, counting)
  try {
    await a.connect(await b.listen())
    await a.transact(b.publicKey, 'note', 'first') // a is a counterparty of b from now on
    const before = verifies
    let next = 0
    for (let round = 0; round < ROUNDS; round++) await Promise.all(Array.from({ length: IN_FLIGHT }, () => a.transact(b.publicKey, 'note', next++)))
    assert.is((await b.store.range(a.publicKey)).length, 1 + ROUNDS * IN_FLIGHT, 'b holds every proposal')
    const used = verifies - before
    // one per proposal; a's pushes of its own blocks find them held at b (no check)
    assert.ok(used <= ROUNDS * IN_FLIGHT, `${used} signature checks for ${ROUNDS * IN_FLIGHT} proposals`)
  } finally {
    await Promise.all([a.close(), b.close()])
  }
})

test.run()
