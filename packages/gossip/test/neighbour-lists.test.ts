/**
 * Neighbour lists at a hub (node/two-hop.ts `ids`, node/push.ts): a node with n neighbours names
 * at most k = limits.maxNeighbourIds of them, a sample that stays while its members stay, so that
 * what it sends in lists per round is O(n·k), not O(n²), and nothing but the newcomers' lists when
 * peers come and go outside the sample.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex, type Connection } from '@tally/core'
import { DEFAULT_GOSSIP, createMemoryNetwork, createNode, createRandom, createSession, type Session } from '@tally/gossip'
import { TwoHopTable } from '../src/node/two-hop.js'
import { encodeMessage } from '../src/wire/messages.js'
import { crypto, identity, noteTypes } from './fixtures/node-kit.ts'
import { createMemoryStore } from '@tally/core'

const K = 32
const N = 1000

/** A peer key whose 8-byte id is unique to i. */
function keyOf(i: number): Uint8Array {
  const k = new Uint8Array(32)
  new DataView(k.buffer).setUint32(0, 0x5a00_0000 + i)
  k[31] = 1
  return k
}

/** A hub node and raw peers attached to it (no handshake), each counting the lists it gets. */
async function hub() {
  const net = createMemoryNetwork({ seed: 5, latencyMs: 10, jitterMs: 0 })
  const me = identity(90)
  const transport = net.transport('mem://hub')
  const node = createNode({
    identity: me,
    store: createMemoryStore({ crypto }),
    transport,
    types: noteTypes(),
    clock: net.clock,
    head: 'local',
    cacheSize: 1024,
    random: createRandom(9),
    limits: { maxNeighbourIds: K },
    gossip: { pullIntervalMs: 0 },
  })
  const keys = new Map<string, Uint8Array>()
  await transport.listen((conn: Connection) => {
    const key = keys.get(conn.remoteAddress)
    if (key === undefined) conn.close(1008, 'unknown')
    else node.attach(conn, key)
  })
  const lists: { peer: number; ids: Uint8Array[]; bytes: number }[] = []
  const peers = new Map<number, Session>()
  const join = async (i: number): Promise<void> => {
    const t = net.transport(`mem://p${i}`)
    keys.set(t.address, keyOf(i))
    const conn = await t.connect('mem://hub')
    const s: Session = createSession(conn, {
      peerKey: me.publicKey,
      clock: net.clock,
      onMessage: (m) => {
        if (m.type !== 'neighbours') return
        lists.push({ peer: i, ids: [...m.ids], bytes: encodeMessage(m).length })
        if (m.ack !== undefined) s.send({ type: 'ack', id: m.ack })
      },
    })
    peers.set(i, s)
  }
  const round = async (): Promise<void> => {
    await net.clock.runFor(DEFAULT_GOSSIP.neighboursIntervalMs + 500)
  }
  return { net, node, lists, peers, join, round }
}

const Hub = suite('neighbour lists: a hub with 1,000 neighbours')

Hub('sends each neighbour at most k ids, and O(n·k) bytes of lists per round', async () => {
  const h = await hub()
  const joining: Promise<void>[] = []
  for (let i = 0; i < N; i++) joining.push(h.join(i))
  await h.net.clock.runFor(100)
  await Promise.all(joining)
  await h.round()
  await h.round()
  assert.is(h.node.peers.length, N)
  assert.ok(h.lists.length > 0, 'lists were sent')
  for (const l of h.lists) assert.ok(l.ids.length <= K, `a list of ${l.ids.length} ids (k = ${K})`)
  const ids = h.lists.reduce((a, l) => a + l.ids.length, 0)
  // every peer got the list at its first session, and the set changed within the first round
  // (one more each): at most 2·n lists of k ids, where whole lists would be n² ids
  assert.ok(ids <= 2 * N * K, `ids sent while 1,000 peers came: ${ids} (2·n·k = ${2 * N * K}; n² = ${N * N})`)
  const bytes = h.lists.reduce((a, l) => a + l.bytes, 0)
  assert.ok(bytes <= 2 * N * (K * 9 + 16), `bytes of lists: ${bytes}`)
  await h.node.close()
})

Hub('peers that come and go outside the sample cost only the newcomers\' lists', async () => {
  const h = await hub()
  const joining: Promise<void>[] = []
  for (let i = 0; i < N; i++) joining.push(h.join(i))
  await h.net.clock.runFor(100)
  await Promise.all(joining)
  await h.round()
  await h.round()
  // the sample as the peers see it: the latest list any of them got
  const sample = new Set(h.lists[h.lists.length - 1]!.ids.map((id) => toHex(id)))
  assert.is(sample.size, K)
  const idOf = (i: number): string => toHex(keyOf(i).subarray(0, 8))
  const outside = [...h.peers.keys()].filter((i) => !sample.has(idOf(i))).slice(0, 20)
  h.lists.length = 0
  for (const i of outside) h.peers.get(i)!.close()
  const newcomers: Promise<void>[] = []
  for (let i = N; i < N + 20; i++) newcomers.push(h.join(i))
  await h.net.clock.runFor(100)
  await Promise.all(newcomers)
  await h.round()
  await h.round()
  assert.is(h.node.peers.length, N)
  const to = new Set(h.lists.map((l) => l.peer))
  assert.equal([...to].sort((a, b) => a - b), Array.from({ length: 20 }, (_, k) => N + k), 'only the newcomers got a list')
  for (const l of h.lists) assert.equal(new Set(l.ids.map((id) => toHex(id))), sample, 'the same sample')

  // a sampled peer goes: the sample changes by one, and every neighbour is told once (n·k)
  h.lists.length = 0
  const member = [...h.peers.keys()].find((i) => sample.has(idOf(i)) && h.peers.get(i)!.open)!
  h.peers.get(member)!.close()
  await h.round()
  await h.round()
  const after = new Set(h.lists[h.lists.length - 1]!.ids.map((id) => toHex(id)))
  assert.is(after.size, K)
  assert.not.ok(after.has(idOf(member)), 'the peer that went is out of the sample')
  assert.is([...after].filter((id) => !sample.has(id)).length, 1, 'one replacement')
  assert.ok(h.lists.length <= N, `lists sent: ${h.lists.length} (one per neighbour)`)
  await h.node.close()
})

const Sample = suite('neighbour lists: the sample (two-hop.ts ids)')

Sample('all neighbours up to k, a stable random sample beyond', () => {
  const table = new TwoHopTable<number>(keyOf(99_999))
  const random = createRandom(1)
  for (let i = 0; i < 10; i++) table.add(i, keyOf(i))
  assert.is(table.ids(K, random).length, 10)
  assert.ok(table.changedSinceSent(K, random))
  assert.not.ok(table.changedSinceSent(K, random), 'unchanged')
  for (let i = 10; i < 500; i++) table.add(i, keyOf(i))
  const first = table.ids(K, random).map((id) => toHex(id))
  assert.is(first.length, K)
  assert.ok(table.changedSinceSent(K, random), 'the sample grew to k')
  for (let i = 500; i < 600; i++) table.add(i, keyOf(i))
  assert.equal(table.ids(K, random).map((id) => toHex(id)), first, 'newcomers do not enter a full sample')
  assert.not.ok(table.changedSinceSent(K, random))
  // not the first k that came: a random sample over all of them
  const members = first.map((h) => parseInt(h.slice(0, 8), 16) - 0x5a00_0000)
  assert.ok(members.some((i) => i >= K), 'drawn from every neighbour')
  table.remove(members[0]!)
  const next = table.ids(K, random).map((id) => toHex(id))
  assert.is(next.length, K)
  assert.is(next.filter((h) => !first.includes(h)).length, 1)
  assert.ok(table.changedSinceSent(K, random))
})

Hub.run()
Sample.run()
