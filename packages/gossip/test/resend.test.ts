/**
 * Acknowledged frames (node/resend.ts): a push, a push-via or a neighbour list on a session of
 * version 2 carries an ack id and is sent again, with a new id, every resendMs until acknowledged,
 * RESEND_ATTEMPTS sends in all; a node acknowledges what asks for it on arrival; a version 1
 * session gets the version 1 layout and no resend.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { signBlock, type HalfBlock, type SeedIdentity } from '@tally/core'
import { DEFAULT_GOSSIP, PROTOCOL_VERSION, createSession, performHandshake, type Node, type SessionMessage } from '@tally/gossip'
import { RESEND_ATTEMPTS } from '../src/node/gossip-rules.js'
import { crypto, identity, link, memoryNodes, settle } from './fixtures/node-kit.ts'

type Net = Awaited<ReturnType<typeof memoryNodes>>['net']

/** A raw session from a fresh identity to `node`; acknowledges what asks for it when `ack`. */
async function rawPeer(net: Net, node: Node, seed: number, options: { ack: boolean; versions?: number[] }) {
  const me = identity(seed)
  const conn = await settle(net, net.transport().connect(node.address!))
  const r = await settle(net, performHandshake(conn, { identity: me, clock: net.clock, ...(options.versions ? { versions: options.versions } : {}) }))
  await net.clock.runFor(200)
  const got: { at: number; m: SessionMessage }[] = []
  const session = createSession(conn, {
    peerKey: r.peerKey,
    version: r.version,
    cipher: r.cipher,
    clock: net.clock,
    onMessage: (m) => {
      got.push({ at: net.clock.now(), m })
      if (options.ack && 'ack' in m && m.ack !== undefined) session.send({ type: 'ack', id: m.ack })
    },
  })
  return { me, session, got, version: r.version }
}

/** A block `m` signs at seq 1 of its own chain, proposing to `to`. */
function blockOf(m: SeedIdentity, to: Uint8Array, payload: number): HalfBlock {
  return signBlock({ publicKey: m.publicKey, seq: 1, linkPublicKey: to, linkSeq: 0, previousHash: new Uint8Array(32), type: 'note', payload, timestamp: 1 }, m, crypto)
}

/**
 * Nodes 0 and 1 linked; a raw peer on node 1, which then gets both halves of a 0-1 transaction:
 * node 0's proposal pushed by node 1 (its counterparty), node 1's agreement pushed by node 0
 * through node 1 (a push-via that node 1 forwards). `pushes`: the proposal's.
 */
async function pushedTo(options: { ack: boolean; versions?: number[] }) {
  const { net, nodes } = await memoryNodes(2, { node: { gossip: { pullIntervalMs: 0 } } })
  await link(net, nodes, [[0, 1]])
  const raw = await rawPeer(net, nodes[1]!, 70, options)
  await net.clock.runFor(DEFAULT_GOSSIP.neighboursIntervalMs + 2000)
  raw.got.length = 0
  const before = nodes[1]!.stats.resent
  await settle(net, nodes[0]!.transact(nodes[1]!.publicKey, 'note', 'x'))
  await net.clock.runFor(DEFAULT_GOSSIP.resendMs * (RESEND_ATTEMPTS + 2))
  const proposals = raw.got.filter((g) => g.m.type === 'push' && g.m.blocks.every((b) => b.publicKey.every((x, i) => x === nodes[0]!.publicKey[i])))
  return { net, nodes, raw, pushes: proposals, resent: nodes[1]!.stats.resent - before }
}

const Resend = suite('resend: frames sent again until acknowledged')

Resend('a push nobody acknowledges goes RESEND_ATTEMPTS times, resendMs apart, each with a new id', async () => {
  const { nodes, raw, pushes, resent } = await pushedTo({ ack: false })
  assert.is(raw.version, PROTOCOL_VERSION) // the newest version, which acks (2 and later)
  // node 1 is the counterparty: it pushes node 0's proposal (pushOwn is off), once per attempt
  assert.is(pushes.length, RESEND_ATTEMPTS)
  const ids = pushes.map((p) => (p.m.type === 'push' ? p.m.ack : undefined))
  assert.ok(ids.every((id) => typeof id === 'number' && id > 0), 'every copy asks for an ack')
  assert.is(new Set(ids).size, RESEND_ATTEMPTS, 'a new id per copy: the seen cache lets it through')
  for (let i = 1; i < pushes.length; i++) assert.is(pushes[i]!.at - pushes[i - 1]!.at, DEFAULT_GOSSIP.resendMs)
  // and as many of the agreement it forwarded for node 0
  assert.is(resent, 2 * (RESEND_ATTEMPTS - 1))
  assert.is(nodes[1]!.stats.pushesSent, 2, 'each counted once as a push')
})

Resend('a push acknowledged is sent once', async () => {
  const { pushes, resent } = await pushedTo({ ack: true })
  assert.is(pushes.length, 1)
  assert.is(resent, 0)
})

Resend('a version 1 session gets the version 1 layout: no ack id, no resend', async () => {
  const { nodes, raw, pushes, resent } = await pushedTo({ ack: false, versions: [1] })
  assert.is(raw.version, 1)
  assert.is(pushes.length, 1)
  assert.is(pushes[0]!.m.type === 'push' ? pushes[0]!.m.ack : 'not a push', undefined)
  assert.is(resent, 0)
  assert.is(nodes[1]!.stats.resent, 0, 'nor its neighbour list')
})

Resend('resendMs 0: no ack asked, nothing sent again', async () => {
  const { net, nodes } = await memoryNodes(2, { node: { gossip: { pullIntervalMs: 0, resendMs: 0 } } })
  await link(net, nodes, [[0, 1]])
  const raw = await rawPeer(net, nodes[1]!, 71, { ack: false })
  await net.clock.runFor(DEFAULT_GOSSIP.neighboursIntervalMs + 2000)
  const lists = raw.got.filter((g) => g.m.type === 'neighbours')
  assert.ok(lists.length >= 1)
  assert.ok(lists.every((g) => g.m.type === 'neighbours' && g.m.ack === undefined))
  assert.is(nodes[1]!.stats.resent, 0)
})

Resend('a node acknowledges a push, a push-via and a neighbour list on arrival; a copy sent again is forwarded once', async () => {
  const { net, nodes } = await memoryNodes(2, { node: { gossip: { pullIntervalMs: 0 } } })
  await link(net, nodes, [[0, 1]])
  const raw = await rawPeer(net, nodes[0]!, 72, { ack: false })
  const acks = (): number[] => raw.got.flatMap((g) => (g.m.type === 'ack' ? [g.m.id] : []))
  raw.session.send({ type: 'neighbours', ids: [], ack: 11 })
  raw.session.send({ type: 'push', blocks: [blockOf(raw.me, nodes[0]!.publicKey, 1)], ack: 12 })
  const via = blockOf(identity(73), nodes[0]!.publicKey, 2)
  raw.session.send({ type: 'push-via', to: nodes[1]!.publicKey.slice(0, 8), blocks: [via], ack: 13 })
  // the same push-via again, as a sender whose ack was lost sends it: acknowledged again, not forwarded again
  raw.session.send({ type: 'push-via', to: nodes[1]!.publicKey.slice(0, 8), blocks: [via], ack: 14 })
  await net.clock.runFor(1000)
  assert.equal(acks(), [11, 12, 13, 14])
  assert.is(nodes[0]!.stats.forwarded, 1)
  assert.ok(await nodes[1]!.store.get(via.publicKey, 1), 'forwarded to its target')
  // an ack for an id never sent, or sent to another peer, changes nothing and costs nothing
  raw.session.send({ type: 'ack', id: 99_999 })
  await net.clock.runFor(200)
  assert.ok(raw.session.open)
  assert.is(raw.session.score, 0)
})

Resend('close() stops every pending resend', async () => {
  const { net, nodes, raw } = await pushedTo({ ack: false })
  await net.clock.runFor(DEFAULT_GOSSIP.resendMs * 2)
  const before = raw.got.length
  // a transaction now starts pushes that nobody acknowledges, then the node closes
  void nodes[0]!.transact(nodes[1]!.publicKey, 'note', 'y').catch(() => undefined)
  await net.clock.runFor(400)
  await Promise.all(nodes.map((n) => n.close()))
  const after = raw.got.length
  await net.clock.runFor(DEFAULT_GOSSIP.resendMs * (RESEND_ATTEMPTS + 1))
  assert.is(raw.got.length, after, 'nothing sent after close')
  assert.ok(after >= before)
})

Resend.run()
