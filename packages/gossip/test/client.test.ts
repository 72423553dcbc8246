/**
 * A client node (createClientNode, node/client.ts): a node that only dials, as a browser wallet.
 * On real ws sockets on loopback: two clients that never listen pay each other through their
 * gateway's relay and hand both halves to the gateway, which stores them; a client does not
 * listen, and refuses to relay for others; what a gateway pushes to a client is acknowledged and
 * not stored. And what a client keeps for others (ClientKeep) is capped.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { blockHash, createMemoryStore, equalBytes, type HalfBlock } from '@tally/core'
import { UnreachableError, createClientNode, createNode, relayAddress, type Node, type NodeOptions } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'
import { CLIENT } from '../src/node/client.ts'
import { ClientKeep } from '../src/node/keep.ts'
import type { NodeContext } from '../src/node/context.ts'
import type { Session } from '../src/wire/session.ts'
import { crypto, identity, noteTypes } from './fixtures/node-kit.ts'
import { until } from './helpers.ts'

const test = suite('client: a node that only dials')

const base = (n: number): NodeOptions => ({
  identity: identity(700 + n),
  store: createMemoryStore({ crypto }),
  transport: createWsTransport({ host: '127.0.0.1', port: 0 }),
  types: noteTypes(),
  head: 'local',
  transact: { timeoutMs: 10_000, retryMs: 500 },
})

async function gatewayAnd(...clients: number[]): Promise<{ gateway: Node; address: string; nodes: Node[] }> {
  const gateway = createNode({ ...base(0), relay: { serve: true } })
  const address = await gateway.listen()
  const nodes = clients.map((n) => createClientNode({ ...base(n), relay: { via: [gateway.publicKey] } }))
  for (const c of nodes) await c.connect(address)
  assert.ok(await until(() => nodes.every((c) => gateway.peers.some((p) => equalBytes(p.publicKey, c.publicKey)))), 'the gateway has every session')
  return { gateway, address, nodes }
}

async function held(node: Node, block: HalfBlock): Promise<boolean> {
  const stored = await node.store.get(block.publicKey, block.seq)
  return stored !== undefined && equalBytes(blockHash(stored, crypto), blockHash(block, crypto))
}

test('two clients pay each other through their gateway\'s relay, and hand both halves to the gateway', async () => {
  const { gateway, nodes } = await gatewayAnd(1, 2)
  const [a, b] = nodes as [Node, Node]
  try {
    // b has no address: a reaches it through the gateway's relay (relay.via)
    const tx = await a.transact(b.publicKey, 'note', 'from a page to a page')
    assert.ok(await held(b, tx.proposal), 'the receiver holds the proposal')
    assert.ok(await until(async () => (await held(gateway, tx.proposal)) && (await held(gateway, tx.agreement)), 10_000), 'the gateway stores both halves')
    assert.ok(a.stats.pushesSent >= 1 && b.stats.pushesSent >= 1, 'each party handed the blocks over')
  } finally {
    await Promise.all([a.close(), b.close(), gateway.close()])
  }
})

test('verifySignatures: the blocks a client meets are checked by the verifier it was given', async () => {
  const gateway = createNode({ ...base(0), relay: { serve: true } })
  const address = await gateway.listen()
  const checked: HalfBlock[] = []
  const c = createClientNode({
    ...base(4),
    verifySignatures: async (blocks) => {
      checked.push(...blocks)
      return blocks.map((b) => crypto.verify(b.signature, blockHash(b, crypto), b.publicKey))
    },
  })
  try {
    await c.connect(address)
    const tx = await c.transact(gateway.publicKey, 'note', 'checked by the given verifier')
    assert.ok(checked.some((b) => equalBytes(blockHash(b, crypto), blockHash(tx.agreement, crypto))), 'the gateway\'s agreement went through it')
    assert.throws(() => createClientNode({ ...base(5), verifySignatures: 'yes' as never }), /"verifySignatures"/)
  } finally {
    await Promise.all([c.close(), gateway.close()])
  }
})

test('a client does not listen', async () => {
  const c = createClientNode(base(3))
  try {
    let error: unknown
    await c.listen().catch((err: unknown) => (error = err))
    assert.instance(error, TypeError)
    assert.match(String((error as Error).message), /does not listen/)
  } finally {
    await c.close()
  }
})

test('a client refuses to relay for others: not-relaying', async () => {
  const { gateway, nodes } = await gatewayAnd(4)
  const [c] = nodes as [Node]
  const d = createNode(base(5))
  try {
    const address = await d.listen()
    await c.connect(address)
    assert.ok(await until(() => d.peers.some((p) => equalBytes(p.publicKey, c.publicKey))), 'd has the client\'s session')
    let error: unknown
    await d.connect(relayAddress(c.publicKey, gateway.publicKey)).catch((err: unknown) => (error = err))
    assert.instance(error, UnreachableError)
    assert.is((error as UnreachableError).reason, 'not-relaying')
    assert.ok(c.stats.relayRefused >= 1)
  } finally {
    await Promise.all([c.close(), d.close(), gateway.close()])
  }
})

test('what a gateway pushes to a client is acknowledged and not stored', async () => {
  const { gateway, address, nodes } = await gatewayAnd(6)
  const [c] = nodes as [Node]
  const other = createNode(base(7))
  try {
    await other.connect(address)
    // the gateway, a party, pushes the other's block to its neighbours but the parties: the client
    const tx = await other.transact(gateway.publicKey, 'note', 'between full nodes')
    assert.ok(await until(() => gateway.stats.pushesSent >= 1), 'the gateway pushed')
    // a round trip on the same session after the push: the client has handled the push by then
    assert.equal((await c.crawl(gateway.publicKey, gateway.publicKey, { start: 1, end: 1 })).length, 1)
    assert.not.ok(await held(c, tx.proposal), 'the client did not store a block pushed to it')
    assert.is(c.stats.blocksReceived, 1, 'only the block it crawled')
  } finally {
    await Promise.all([c.close(), other.close(), gateway.close()])
  }
})

test('a push, push-via or neighbour list is acknowledged by the client\'s handlers, nothing else', async () => {
  for (const type of ['push', 'push-via', 'neighbours'] as const) {
    const sent: unknown[] = []
    const session = { send: (m: unknown) => sent.push(m) !== 0 } as unknown as Session
    const handler = CLIENT.handlers[type] as (ctx: NodeContext, m: { ack: number }, s: Session) => void
    handler({} as NodeContext, { ack: 42 }, session)
    assert.equal(sent, [{ type: 'ack', id: 42 }], type)
  }
})

test('ClientKeep: its own chain, counterparties and party chains kept; others counted up to totalBytes, then refused', () => {
  const self = identity(1).publicKey
  const stats = { strangerBytes: 0 }
  const keep = new ClientKeep(self, 2000, stats)
  const block = (key: Uint8Array, seq: number): HalfBlock =>
    ({ publicKey: key, seq, linkPublicKey: new Uint8Array(32).fill(7), linkSeq: 0, previousHash: new Uint8Array(32), timestamp: 0, type: 'note', payload: 'x'.repeat(500), signature: new Uint8Array(64) }) as unknown as HalfBlock
  const stranger = identity(2).publicKey
  const counterparty = identity(3).publicKey
  const party = identity(4).publicKey
  assert.ok(keep.kept(block(self, 1)))
  assert.not.ok(keep.kept(block(stranger, 1)))
  assert.ok(keep.counterparty(counterparty))
  assert.not.ok(keep.counterparty(counterparty), 'not new the second time')
  assert.ok(keep.isCounterparty(counterparty) && keep.kept(block(counterparty, 9)))
  assert.ok(keep.party(party) && keep.kept(block(party, 1)))
  assert.not.ok(keep.party(counterparty), 'a counterparty is no party chain')
  let stored = 0
  while (keep.admits(block(stranger, stored + 1))) {
    void keep.stored(block(stranger, ++stored))
    assert.ok(stored < 100, 'the cap holds')
  }
  assert.ok(stored >= 1 && stats.strangerBytes <= 2000, `stored ${stored} blocks, ${stats.strangerBytes} bytes`)
  assert.throws(() => new ClientKeep(self, 0, stats), RangeError)
})

test.run()
