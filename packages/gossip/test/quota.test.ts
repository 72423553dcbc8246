/**
 * What a node keeps for others (node/stranger-quota.ts): blocks of types it has no rules for are
 * never stored; a stranger's chain is kept within a per-key quota (its tip stays) and all of them
 * within a total, the chains never of use evicted first; its own chain, its counterparties', the
 * slots it witnesses and pinned blocks are never counted nor evicted; the table is rebuilt from
 * the store at start; a store that cannot evict refuses instead. Then the flood: 10,000 junk
 * blocks from 1,000 fresh keys on the memory network, and a smaller one over ws.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  GENESIS_HASH,
  UNILATERAL_KEY,
  blockHash,
  blockSize,
  createMemoryStore,
  equalBytes,
  signBlock,
  toHex,
  type BlockStore,
  type HalfBlock,
  type SeedIdentity,
} from '@tally/core'
import { createNode } from '@tally/gossip'
import { crypto, identity, memoryNodes, noteTypes, rawPeer, settle, type RawPeer } from './fixtures/node-kit.ts'
import { runStrangerFlood } from './fixtures/stranger-flood.ts'

/** A chain of `n` 'note' blocks by `id`, chained; unilateral unless `link` is given (then proposals to it). */
function strangerChain(id: SeedIdentity, n: number, link: Uint8Array = UNILATERAL_KEY): HalfBlock[] {
  const out: HalfBlock[] = []
  for (let seq = 1; seq <= n; seq++) {
    const previousHash = seq === 1 ? GENESIS_HASH : blockHash(out[seq - 2]!, crypto)
    out.push(signBlock({ publicKey: id.publicKey, seq, linkPublicKey: link, linkSeq: 0, previousHash, type: 'note', payload: seq, timestamp: 1000 + seq }, id, crypto))
  }
  return out
}

const bytesOf = (blocks: readonly HalfBlock[]): number => blocks.reduce((n, b) => n + blockSize(b), 0)

/** Push `blocks` from a raw peer, 16 a frame, one frame every 100 ms (under the node's default rate). */
async function pushAll(net: Awaited<ReturnType<typeof memoryNodes>>['net'], peer: RawPeer, blocks: readonly HalfBlock[]): Promise<void> {
  for (let i = 0; i < blocks.length; i += 16) {
    peer.session.send({ type: 'push', blocks: blocks.slice(i, i + 16) })
    await net.clock.runFor(100)
  }
  await net.clock.runFor(1000)
}

/** Bytes of the blocks `node` stores of every chain but `kept` ones. */
async function strangerBytes(store: BlockStore, kept: readonly Uint8Array[]): Promise<number> {
  const skip = new Set(kept.map(toHex))
  let bytes = 0
  for (const key of await store.agents()) if (!skip.has(toHex(key))) bytes += bytesOf(await store.range(key))
  return bytes
}

const Keep = suite('quota: what a node keeps for others')

Keep('a block of a type without rules is never stored, from anyone, and costs its sender nothing', async () => {
  const { net, nodes } = await memoryNodes(1)
  const m = await rawPeer(net, nodes[0]!, 60)
  const stranger = identity(90)
  const odd = signBlock({ publicKey: stranger.publicKey, seq: 1, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: GENESIS_HASH, type: 'x-unknown', payload: 1, timestamp: 1 }, stranger, crypto)
  m.session.send({ type: 'push', blocks: [odd] })
  await net.clock.runFor(500)
  assert.is(await nodes[0]!.store.latest(stranger.publicKey), undefined)
  assert.is(nodes[0]!.stats.unknownRefused, 1)
  assert.is(nodes[0]!.stats.strangerBytes, 0)
  assert.ok(m.session.open, 'not a misbehaviour: a newer version may know the type')
})

Keep("a stranger's chain over its per-key quota keeps its tip", async () => {
  const blocks = strangerChain(identity(91), 30)
  const perKeyBytes = bytesOf(blocks.slice(20))
  const { net, nodes } = await memoryNodes(1, { node: { keep: { perKeyBytes } } })
  await pushAll(net, await rawPeer(net, nodes[0]!, 60), blocks)
  const held = await nodes[0]!.store.range(identity(91).publicKey)
  assert.is(held.at(-1)?.seq, 30, 'the tip stays')
  assert.ok(held[0]!.seq > 1, 'the lowest blocks went')
  assert.equal(held.map((b) => b.seq), Array.from({ length: held.length }, (_, i) => held[0]!.seq + i), 'what is left is contiguous')
  assert.ok(bytesOf(held) <= perKeyBytes, `${bytesOf(held)} bytes kept, quota ${perKeyBytes}`)
  assert.is(nodes[0]!.stats.strangerBytes, bytesOf(held))
  assert.is(nodes[0]!.stats.evicted, 30 - held.length)
})

Keep('over the total, chains never of use go first, oldest first; a chain a peer asked for stays', async () => {
  const honest = strangerChain(identity(92), 5)
  const junk = Array.from({ length: 100 }, (_, i) => strangerChain(identity(100 + i), 3))
  const totalBytes = bytesOf(honest) + bytesOf(junk.slice(0, 20).flat())
  const { net, nodes } = await memoryNodes(1, { node: { keep: { totalBytes } } })
  const node = nodes[0]!
  const pusher = await rawPeer(net, node, 60)
  await pushAll(net, pusher, honest)
  // a peer crawls the honest stranger's chain from this node: it is of use
  const watcher = await rawPeer(net, node, 61)
  const reply = await settle(net, watcher.session.request({ type: 'crawl-request', publicKey: identity(92).publicKey, start: 1, end: -1 }))
  assert.is(reply.type === 'crawl-answer' ? reply.blocks.length : -1, 5)
  await pushAll(net, pusher, junk.flat())
  assert.equal((await node.store.range(identity(92).publicKey)).map((b) => b.seq), [1, 2, 3, 4, 5], 'the chain of use is whole')
  assert.ok(node.stats.evicted > 0)
  const measured = await strangerBytes(node.store, [node.publicKey])
  assert.ok(measured <= totalBytes, `${measured} bytes of strangers stored, quota ${totalBytes}`)
  assert.is(node.stats.strangerBytes, measured)
  assert.is(await node.store.latest(identity(100).publicKey), undefined, 'the oldest junk went')
  assert.is((await node.store.latest(identity(199).publicKey))?.seq, 3, 'the newest junk is there')
})

Keep("the node's own chain and its counterparties' are never counted nor evicted", async () => {
  const { net, nodes } = await memoryNodes(2, { node: { keep: { totalBytes: 2048, perKeyBytes: 1024 } } })
  const [node, peer] = [nodes[0]!, nodes[1]!]
  const dial = peer.connect(node.address!)
  await net.clock.runFor(1000)
  await dial
  for (let i = 0; i < 12; i++) await settle(net, peer.transact(node.publicKey, 'note', ['a longer payload to fill the per-key quota sooner', i]))
  await pushAll(net, await rawPeer(net, node, 60), Array.from({ length: 40 }, (_, i) => strangerChain(identity(100 + i), 2)).flat())
  assert.is((await node.store.range(node.publicKey)).length, 12)
  assert.is((await node.store.range(peer.publicKey)).length, 12, 'over the per-key quota, but a counterparty')
  const measured = await strangerBytes(node.store, [node.publicKey, peer.publicKey])
  assert.ok(measured <= 2048 && node.stats.strangerBytes === measured, `${measured} bytes of strangers`)
})

Keep('a node on a store over its quotas trims it before it stores anything from a peer', async () => {
  const store = createMemoryStore({ crypto })
  const me = identity(93)
  const partner = identity(94)
  // its own chain (a proposal to a counterparty), the counterparty's, and 50 strangers'
  const mine = strangerChain(me, 3, partner.publicKey)
  const theirs = strangerChain(partner, 20)
  const strangers = Array.from({ length: 50 }, (_, i) => strangerChain(identity(100 + i), 4))
  const batch = store.batch()
  for (const b of [...mine, ...theirs, ...strangers.flat()]) batch.put(b)
  await batch.commit()
  const totalBytes = bytesOf(strangers.slice(0, 10).flat())
  const { net } = await memoryNodes(0)
  const node = createNode({ identity: me, store, transport: net.transport('mem://restarted'), types: noteTypes(), clock: net.clock, keep: { totalBytes, perKeyBytes: 1024 } })
  await node.listen()
  await pushAll(net, await rawPeer(net, node, 60), strangerChain(identity(95), 1))
  const measured = await strangerBytes(store, [me.publicKey, partner.publicKey])
  assert.ok(measured <= totalBytes, `${measured} bytes of strangers after the restart, quota ${totalBytes}`)
  assert.is(node.stats.strangerBytes, measured)
  assert.is((await store.range(me.publicKey)).length, 3)
  assert.is((await store.range(partner.publicKey)).length, 20, "the counterparty's chain, over the per-key quota, is whole")
  await settle(net, node.close())
})

Keep('a store that cannot evict: strangers over the quota are refused instead of stored', async () => {
  const inner = createMemoryStore({ crypto })
  const store: BlockStore = {
    get: (k, s) => inner.get(k, s),
    getByHash: (h) => inner.getByHash(h),
    latest: (k) => inner.latest(k),
    range: (k, o) => inner.range(k, o),
    findAgreement: (k, s, x) => inner.findAgreement(k, s, x),
    fraudProofs: (k) => inner.fraudProofs(k),
    hasFraud: (k) => inner.hasFraud(k),
    agents: () => inner.agents(),
    batch: () => inner.batch(),
    close: () => inner.close(),
  }
  const chains = Array.from({ length: 10 }, (_, i) => strangerChain(identity(100 + i), 2))
  const totalBytes = bytesOf(chains.slice(0, 3).flat())
  const { net } = await memoryNodes(0)
  const node = createNode({ identity: identity(96), store, transport: net.transport('mem://no-evict'), types: noteTypes(), clock: net.clock, keep: { totalBytes } })
  await node.listen()
  await pushAll(net, await rawPeer(net, node, 60), chains.flat())
  assert.is((await store.agents()).length, 3, 'the first three chains, and nothing more')
  assert.is(node.stats.strangerBytes, totalBytes)
  assert.is(node.stats.evicted, 0)
  await settle(net, node.close())
})

Keep('a seq witness keeps the slots it witnesses, and a pinned block stays, whatever the flood', async () => {
  const me = identity(20)
  const proposer = identity(97)
  const proposal = strangerChain(proposer, 1, identity(98).publicKey)[0]!
  const pinned = strangerChain(identity(99), 1)[0]!
  const junk = Array.from({ length: 60 }, (_, i) => strangerChain(identity(100 + i), 2)).flat()
  const totalBytes = bytesOf(junk.slice(0, 10))
  const { net } = await memoryNodes(0)
  // its key is the whole witness set: every proposal's slot is its to witness
  const witness = createNode({
    identity: me,
    store: createMemoryStore({ crypto }),
    transport: net.transport('mem://w'),
    types: noteTypes(),
    clock: net.clock,
    keep: { totalBytes, pin: (b) => equalBytes(b.publicKey, identity(99).publicKey) },
    witnesses: { keys: [me.publicKey], k: 1 },
  })
  await witness.listen()
  const m = await rawPeer(net, witness, 60)
  await pushAll(net, m, [proposal, pinned])
  await pushAll(net, m, junk)
  assert.ok(witness.stats.evicted > 0, 'the flood was evicted')
  assert.is(toHex(blockHash((await witness.store.get(proposer.publicKey, 1))!, crypto)), toHex(blockHash(proposal, crypto)), 'the witnessed slot is kept')
  assert.ok((await witness.store.get(identity(99).publicKey, 1)) !== undefined, 'the pinned block is kept')
  const measured = await strangerBytes(witness.store, [me.publicKey, proposer.publicKey, identity(99).publicKey])
  assert.ok(witness.stats.strangerBytes === measured && measured <= totalBytes, `${measured} counted bytes, quota ${totalBytes}`)
  await settle(net, witness.close())
})

const Flood = suite('quota: the stranger flood')

Flood('10,000 junk blocks from 1,000 fresh keys: storage for strangers within the quota, every honest chain intact', async () => {
  const r = await runStrangerFlood({ transport: 'memory', keys: 1000, blocksPerKey: 10, attackers: 10 })
  assert.is(r.junk, 10_000)
  assert.ok(r.storedStrangerBytes <= r.totalBytes, `${r.storedStrangerBytes} bytes stored for strangers, quota ${r.totalBytes}`)
  assert.ok(r.maxStrangerBytes <= r.totalBytes, `at most ${r.maxStrangerBytes} bytes counted after any block`)
  assert.is(r.strangerBytes, r.storedStrangerBytes, 'what is counted is what is stored')
  assert.ok(r.largestStrangerChain <= r.perKeyBytes, `largest stranger chain ${r.largestStrangerChain} bytes, per-key quota ${r.perKeyBytes}`)
  assert.is(r.unknownRefused, 5000, 'no block of a type without rules was stored')
  assert.ok(r.evicted > 0 && r.junkStored < 5000, `${r.junkStored} junk blocks left, ${r.evicted} evicted`)
  assert.equal(r.honestProblems, [])
  assert.ok(r.honestBlocks >= 60, `${r.honestBlocks} honest blocks checked`)
  assert.is(r.transactions, 20)
  assert.is(r.failed, 0)
  assert.is(r.dropped, 0)
})

Flood('over ws: 1,000 junk blocks from 100 keys, the same', async () => {
  const r = await runStrangerFlood({ transport: 'ws', keys: 100, blocksPerKey: 10, attackers: 4, keep: { totalBytes: 16 * 1024, perKeyBytes: 1024 }, transactions: 3 })
  assert.ok(r.storedStrangerBytes <= r.totalBytes, `${r.storedStrangerBytes} bytes stored for strangers, quota ${r.totalBytes}`)
  assert.ok(r.maxStrangerBytes <= r.totalBytes)
  assert.is(r.strangerBytes, r.storedStrangerBytes)
  assert.ok(r.largestStrangerChain <= r.perKeyBytes)
  assert.is(r.unknownRefused, 500)
  assert.ok(r.evicted > 0)
  assert.equal(r.honestProblems, [])
  assert.is(r.transactions, 6)
  assert.is(r.failed, 0)
})

Keep.run()
Flood.run()
