/**
 * What a node does not take on a peer's word: crawl answers (for another chain, outside the range
 * asked, never moving on, or never ending), peer lists nobody asked for; and what it keeps about
 * bad peers stays bounded (the ban list).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { GENESIS_HASH, RefusedError, UNILATERAL_KEY, blockHash, signBlock, type HalfBlock, type SeedIdentity } from '@tally/core'
import { UnreachableError, type CrawlRequestMessage, type Session, type SessionMessage } from '@tally/gossip'
import { BanList } from '../src/node/ban-list.js'
import { crypto, identity, link, memoryNodes, rawPeer, settle } from './fixtures/node-kit.ts'
import { rejection } from './helpers.ts'

/** A chain of `n` unilateral 'note' blocks by `id`. */
function chainOf(id: SeedIdentity, n: number): HalfBlock[] {
  const out: HalfBlock[] = []
  for (let seq = 1; seq <= n; seq++) {
    const previousHash = seq === 1 ? GENESIS_HASH : blockHash(out[seq - 2]!, crypto)
    out.push(signBlock({ publicKey: id.publicKey, seq, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash, type: 'note', payload: seq, timestamp: 1000 + seq }, id, crypto))
  }
  return out
}

/** Answer every crawl request on `session` with `answer(request)`; returns the requests seen. */
function answerCrawls(session: Session, answer: (m: CrawlRequestMessage) => { publicKey: Uint8Array; latest: number; blocks: readonly HalfBlock[] }): CrawlRequestMessage[] {
  const seen: CrawlRequestMessage[] = []
  session.onMessage((m: SessionMessage, s) => {
    if (m.type !== 'crawl-request') return
    seen.push(m)
    s.reply(m, { type: 'crawl-answer', ...answer(m) })
  })
  return seen
}

const Crawl = suite('untrusted: crawl answers')

Crawl('an answer for another chain is refused, stored nowhere, and costs its sender', async () => {
  const { net, nodes } = await memoryNodes(1)
  const m = await rawPeer(net, nodes[0]!, 60)
  const other = chainOf(identity(91), 3)
  answerCrawls(m.session, () => ({ publicKey: identity(91).publicKey, latest: 3, blocks: other }))
  const err = await rejection(settle(net, nodes[0]!.crawl(m.mallory.publicKey, identity(90).publicKey)))
  assert.instance(err, RefusedError)
  assert.match(err.message, /another chain/)
  assert.is(await nodes[0]!.store.latest(identity(91).publicKey), undefined)
  // malformedCost (20) each: a few more lies end the session
  for (let i = 0; i < 8 && m.closed() === undefined; i++) {
    await settle(net, nodes[0]!.crawl(m.mallory.publicKey, identity(90).publicKey).catch(() => undefined))
    await net.clock.runFor(100)
  }
  assert.is(m.closed()?.code, 1008)
})

Crawl('an answer outside the range asked is refused, and nothing of it stored', async () => {
  const { net, nodes } = await memoryNodes(1)
  const m = await rawPeer(net, nodes[0]!, 60)
  const chain = chainOf(identity(90), 8)
  answerCrawls(m.session, () => ({ publicKey: identity(90).publicKey, latest: 8, blocks: chain.slice(0, 3) }))
  const err = await rejection(settle(net, nodes[0]!.crawl(m.mallory.publicKey, identity(90).publicKey, { start: 5, end: 8 })))
  assert.instance(err, RefusedError)
  assert.match(err.message, /outside the range asked \(5\.\.8\)/)
  assert.is(await nodes[0]!.store.latest(identity(90).publicKey), undefined)
})

Crawl('an answer that never moves on ends the walk at the second request', async () => {
  const { net, nodes } = await memoryNodes(1)
  const m = await rawPeer(net, nodes[0]!, 60)
  const chain = chainOf(identity(90), 3)
  // always block 1, and a head far away: the old walk asked again from 2, got 1, asked from 2, ...
  const seen = answerCrawls(m.session, () => ({ publicKey: identity(90).publicKey, latest: 1000, blocks: chain.slice(0, 1) }))
  const err = await rejection(settle(net, nodes[0]!.crawl(m.mallory.publicKey, identity(90).publicKey)))
  assert.instance(err, RefusedError)
  assert.equal(seen.map((r) => r.start), [1, 2])
  assert.is((await nodes[0]!.store.latest(identity(90).publicKey))?.seq, 1, 'the first answer was fine, and kept')
})

Crawl('a peer that claims an endless chain: the walk stops at maxBlocks', async () => {
  const { net, nodes } = await memoryNodes(1)
  const m = await rawPeer(net, nodes[0]!, 60)
  const chain = chainOf(identity(90), 60)
  // one true block per answer, and a head always 2^40 away
  const seen = answerCrawls(m.session, (r) => ({ publicKey: identity(90).publicKey, latest: 2 ** 40, blocks: chain.slice(r.start - 1, r.start) }))
  const got = await settle(net, nodes[0]!.crawl(m.mallory.publicKey, identity(90).publicKey, { maxBlocks: 40 }))
  assert.is(got.length, 40)
  assert.is(seen.length, 40, 'one request per block, and no more')
  assert.equal(got.map((b) => b.seq), Array.from({ length: 40 }, (_, i) => i + 1))
  const bad = await rejection(Promise.resolve().then(() => nodes[0]!.crawl(m.mallory.publicKey, identity(90).publicKey, { maxBlocks: 0 })))
  assert.instance(bad, RangeError)
})

const Peers = suite('untrusted: peer lists and bans')

Peers('a peer list nobody asked for changes no address: a known key is dialled where it was proved, an unknown one not at all', async () => {
  const { net, nodes } = await memoryNodes(3, { node: { gossip: { pullIntervalMs: 0 } } })
  await link(net, nodes, [[0, 1]])
  const m = await rawPeer(net, nodes[0]!, 60)
  m.session.send({
    type: 'peers',
    requestId: 0,
    peers: [
      { publicKey: nodes[1]!.publicKey, address: 'mem://evil' },
      { publicKey: nodes[2]!.publicKey, address: nodes[2]!.address! },
    ],
  })
  await net.clock.runFor(500)
  nodes[0]!.disconnect(nodes[1]!.publicKey)
  await net.clock.runFor(500)
  assert.is(nodes[0]!.peers.length, 1, 'only the raw peer is connected')
  // dialled on demand, at the address its handshake proved
  const tx = await settle(net, nodes[0]!.transact(nodes[1]!.publicKey, 'note', 'still there'))
  assert.is(tx.agreement.seq, 1)
  const err = await rejection(settle(net, nodes[0]!.transact(nodes[2]!.publicKey, 'note', 'who?')))
  assert.instance(err, UnreachableError)
  assert.ok(m.session.open, 'ignored, not punished: an older node may send one')
})

Peers('the ban list is bounded: a stream of fresh keys keeps at most max, ended bans are swept', () => {
  const bans = new BanList(100)
  for (let i = 0; i < 10_000; i++) bans.ban(`key${i}`, 60_000 + i, i)
  assert.is(bans.size, 100)
  assert.ok(bans.has('key9999', 10_000), 'the newest bans hold')
  assert.not.ok(bans.has('key0', 10_000), 'the oldest went to make room')
  // ended bans go as new ones come
  const later = new BanList(100)
  for (let i = 0; i < 50; i++) later.ban(`old${i}`, 1000, 0)
  later.ban('new', 5000, 2000)
  assert.is(later.size, 1)
  assert.ok(later.has('new', 4999))
  assert.not.ok(later.has('new', 5000))
  assert.is(later.size, 0)
})

Crawl.run()
Peers.run()
