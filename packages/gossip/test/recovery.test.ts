/**
 * The node as its agent's head source: a seed restored on an empty store learns its chain's head
 * from its peers and recovers the blocks below it before it signs anything; with no peer to tell
 * it, it refuses to sign (HeadUnknownError) until one is there; a peer that offers a forged, stale
 * or inconsistent head can neither stop it for good nor make it sign at the wrong seq; and a
 * network whose nodes all start empty still starts. On the memory network; the multi-process
 * version is multiprocess.test.ts.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  HeadUnknownError,
  UNILATERAL_KEY,
  blockHash,
  createMemoryStore,
  equalBytes,
  type HalfBlock,
  type SeedIdentity,
  type SignatureVerifier,
} from '@tally/core'
import { createNode, createSession, performHandshake, resolveCrawlRange, type MemoryNetwork, type Node, type NodeOptions } from '@tally/gossip'
import { crypto, identity, link, memoryNodes, noteTypes, settle } from './fixtures/node-kit.ts'

const quiet = { gossip: { pushFanout: 0, pullIntervalMs: 0 } } satisfies Partial<NodeOptions>

/** A node for `id` on a fresh memory store, listening on `net` (its agent's head from its peers). */
async function restored(net: MemoryNetwork, id: SeedIdentity, options: Partial<NodeOptions> = {}): Promise<Node> {
  const node = createNode({ identity: id, store: createMemoryStore({ crypto }), transport: net.transport(), types: noteTypes(), clock: net.clock, cacheSize: 1024, ...quiet, ...options })
  await node.listen()
  return node
}

/** `node`'s chain as stored, checked to be linked, seqs 1..n. */
async function chainOf(node: Node): Promise<HalfBlock[]> {
  const blocks = await node.store.range(node.publicKey)
  blocks.forEach((b, i) => {
    assert.is(b.seq, i + 1)
    if (i > 0) assert.ok(equalBytes(b.previousHash, blockHash(blocks[i - 1]!, crypto)), `seq ${b.seq} links to seq ${i}`)
  })
  return blocks
}

/**
 * A raw peer of `net` that answers crawl requests with `answer(start, end)` (latest and blocks;
 * undefined: no answer at all); `node` dials it. It answers nothing else.
 */
async function liar(net: MemoryNetwork, node: Node, seed: number, answer: (start: number, end: number) => { latest: number; blocks: HalfBlock[] } | undefined): Promise<void> {
  const me = identity(seed)
  const transport = net.transport()
  const address = await transport.listen((conn) => {
    performHandshake(conn, { identity: me, clock: net.clock }).then(
      (r) => {
        const s = createSession(conn, {
          peerKey: r.peerKey,
          clock: net.clock,
          cipher: r.cipher,
          sessionId: r.sessionId,
          version: r.version,
          onMessage: (m) => {
            const a = m.type === 'crawl-request' ? answer(m.start, m.end) : undefined
            if (m.type === 'crawl-request' && a !== undefined) s.reply(m, { type: 'crawl-answer', publicKey: m.publicKey, ...a })
          },
        })
      },
      () => undefined,
    )
  })
  await settle(net, node.connect(address))
}

/** The same block with another seq or payload, its signature left as it was: a forgery. */
function forged(b: HalfBlock, change: Partial<HalfBlock>): HalfBlock {
  return Object.freeze({ ...b, ...change })
}

// ## Recovery

const Recover = suite('recovery: the node is its agent head source')

Recover('a restored seed on an empty store recovers its chain from several peers, then signs the next seq', async () => {
  const { net, nodes, ids } = await memoryNodes(4, { node: quiet, seedBase: 20 })
  await link(net, nodes, [[0, 1], [0, 2], [0, 3], [1, 2], [2, 3]])
  const [old, n1, n2, n3] = nodes as [Node, Node, Node, Node]
  // proposals to three counterparties and unilateral blocks between them
  await settle(net, old.transact(n1.publicKey, 'note', 'to 1')) // seq 1
  await settle(net, old.agent.append('note', 'alone 2'))
  await settle(net, old.transact(n2.publicKey, 'note', 'to 2')) // seq 3, with seq 2 as its context
  await settle(net, old.agent.append('note', 'alone 4'))
  await settle(net, old.agent.append('note', 'alone 5'))
  await settle(net, n1.crawl(old.publicKey, old.publicKey)) // n1 holds 1..5
  await settle(net, old.transact(n3.publicKey, 'note', 'to 3')) // seq 6: n3 holds 5 and 6
  const before = await chainOf(old)
  assert.is(before.length, 6)
  assert.ok(before.filter((b) => equalBytes(b.linkPublicKey, UNILATERAL_KEY)).length === 3, 'three unilateral blocks')
  assert.is((await n3.store.latest(old.publicKey))?.seq, 6, 'only n3 holds the head')
  assert.is((await n1.store.latest(old.publicKey))?.seq, 5)
  await old.close()

  // the seed restored on a new device: an empty store, the same key
  const device = await restored(net, ids[0]!)
  for (const n of [n1, n2, n3]) await settle(net, device.connect(n.address!))
  const tx = await settle(net, device.transact(n2.publicKey, 'note', 'from the new device'))
  assert.is(tx.proposal.seq, 7, 'the next seq after the head n3 held')
  assert.ok(equalBytes(tx.proposal.previousHash, blockHash(before[5]!, crypto)), 'chained to the recovered head')
  const after = await chainOf(device)
  assert.equal(after.slice(0, 6).map((b) => b.signature), before.map((b) => b.signature), 'every block recovered, the same bytes')
  for (const n of [n1, n2, n3]) assert.not.ok(await n.store.hasFraud(device.publicKey), 'nobody saw a fork')
})

Recover('with verifySignatures: the crawled blocks and the agent\'s check of them go through the verifier', async () => {
  const { net, nodes, ids } = await memoryNodes(2, { node: quiet, seedBase: 40 })
  await link(net, nodes, [[0, 1]])
  const [old, n1] = nodes as [Node, Node]
  for (let i = 1; i <= 4; i++) await settle(net, old.agent.append('note', `alone ${i}`))
  await settle(net, n1.crawl(old.publicKey, old.publicKey))
  await old.close()
  const asked: number[] = []
  const verifySignatures: SignatureVerifier = async (blocks) => {
    asked.push(...blocks.map((b) => b.seq))
    return blocks.map((b) => crypto.verify(b.signature, blockHash(b, crypto), b.publicKey))
  }
  const device = await restored(net, ids[0]!, { verifySignatures })
  await settle(net, device.connect(n1.address!))
  const tx = await settle(net, device.transact(n1.publicKey, 'note', 'from the new device'))
  assert.is(tx.proposal.seq, 5)
  for (const seq of [1, 2, 3]) assert.ok(asked.filter((s) => s === seq).length >= 2, `seq ${seq}: the crawl's check and the agent's`)
  assert.equal((await chainOf(device)).length, 5)
})

Recover("a network's first boot: peers that hold nothing of a chain say so, and that is an answer", async () => {
  const { net, nodes } = await memoryNodes(3, { node: quiet, seedBase: 30 })
  await link(net, nodes, [[0, 1], [1, 2]])
  // every store is empty, every identity comes from a seed: each asks its peers before signing
  const txs = await settle(net, Promise.all([nodes[0]!.transact(nodes[1]!.publicKey, 'note', 'a'), nodes[2]!.transact(nodes[1]!.publicKey, 'note', 'c')]))
  assert.equal(txs.map((t) => t.proposal.seq), [1, 1])
  assert.ok(nodes[0]!.stats.crawlsSent >= 1, 'it asked')
})

Recover('no peer reachable: append and transact are refused with HeadUnknownError, and signing waits for a peer', async () => {
  const { net, nodes } = await memoryNodes(2, { node: { ...quiet, recovery: { timeoutMs: 2000 } }, seedBase: 40 })
  const [alone, peer] = nodes as [Node, Node]
  const err = await settle(net, alone.agent.append('note', 'nobody to ask')).catch((e: unknown) => e)
  assert.instance(err, HeadUnknownError)
  assert.is((err as HeadUnknownError).code, 'ERR_HEAD_UNKNOWN')
  assert.is(await alone.store.latest(alone.publicKey), undefined, 'nothing signed')
  // a peer that is connected but never answers is no better
  await liar(net, alone, 49, () => undefined)
  const mute = await settle(net, alone.transact(alone.peers[0]!.publicKey, 'note', 'hello?').catch((e: unknown) => e))
  assert.instance(mute, HeadUnknownError)
  assert.is(await alone.store.latest(alone.publicKey), undefined)
  // once a peer can tell, it signs
  await settle(net, alone.connect(peer.address!))
  const block = await settle(net, alone.agent.append('note', 'now'))
  assert.is(block.seq, 1)
})

// ## Liars

const Liars = suite('recovery: peers that lie about the head')

/** An old device builds `n` blocks with `witness` (transactions), then is gone; returns its blocks. */
async function history(net: MemoryNetwork, old: Node, witness: Node, n: number): Promise<HalfBlock[]> {
  for (let i = 0; i < n; i++) await settle(net, old.transact(witness.publicKey, 'note', i))
  const blocks = await old.store.range(old.publicKey)
  await old.close()
  return blocks
}

Liars('a forged head (a higher seq, not signed by the key) is ignored', async () => {
  const { net, nodes, ids } = await memoryNodes(2, { node: quiet, seedBase: 50 })
  await link(net, nodes, [[0, 1]])
  const blocks = await history(net, nodes[0]!, nodes[1]!, 3)
  const device = await restored(net, ids[0]!)
  const fake = forged(blocks[2]!, { seq: 9, payload: 'made up' })
  await liar(net, device, 59, () => ({ latest: 9, blocks: [fake] }))
  await settle(net, device.connect(nodes[1]!.address!))
  const tx = await settle(net, device.transact(nodes[1]!.publicKey, 'note', 'next'))
  assert.is(tx.proposal.seq, 4, 'the honest head, not the forged one')
})

Liars('stale, empty or inconsistent answers lose to the highest valid head', async () => {
  const { net, nodes, ids } = await memoryNodes(2, { node: quiet, seedBase: 60 })
  await link(net, nodes, [[0, 1]])
  const blocks = await history(net, nodes[0]!, nodes[1]!, 3)
  const device = await restored(net, ids[0]!)
  await liar(net, device, 66, () => ({ latest: 0, blocks: [] })) // "I hold nothing"
  await liar(net, device, 67, () => ({ latest: 1, blocks: [blocks[0]!] })) // a genuine old block
  await liar(net, device, 68, () => ({ latest: 7, blocks: [blocks[2]!] })) // latest 7, shows seq 3
  await settle(net, device.connect(nodes[1]!.address!))
  const tx = await settle(net, device.transact(nodes[1]!.publicKey, 'note', 'next'))
  assert.is(tx.proposal.seq, 4)
  assert.not.ok(await nodes[1]!.store.hasFraud(device.publicKey), 'no fork')
})

Liars('a liar alone stops signing only until an honest peer is there, pays for each forgery, and its blocks are never used', async () => {
  const { net, nodes, ids } = await memoryNodes(2, { node: quiet, seedBase: 70 })
  await link(net, nodes, [[0, 1]])
  const blocks = await history(net, nodes[0]!, nodes[1]!, 3)
  const device = await restored(net, ids[0]!, { recovery: { timeoutMs: 2000 } })
  // it offers a forged head at seq 5, and forged blocks to any crawl
  const fakes = [...blocks.map((b) => forged(b, { payload: 'forged' })), forged(blocks[2]!, { seq: 4 }), forged(blocks[2]!, { seq: 5 })]
  await liar(net, device, 79, (start, end) => {
    const range = resolveCrawlRange(start, end, 5)
    return { latest: 5, blocks: range === undefined ? [] : fakes.filter((b) => b.seq >= range.from && b.seq <= range.to) }
  })
  const cut: (string | undefined)[] = []
  device.on('peer:close', (e) => cut.push(e.misbehaviour))
  // each forged head costs it 20 (less what decays meanwhile): about the fifth attempt cuts it off
  let attempts = 0
  while (cut.length === 0 && attempts < 8) {
    attempts++
    const refused = await settle(net, device.agent.append('note', 'too early')).catch((e: unknown) => e)
    assert.instance(refused, HeadUnknownError, 'a forged head is no answer')
  }
  assert.ok(attempts >= 5, `not before its fifth forgery (${attempts})`)
  assert.equal(cut, ['a forged head of the chain it was asked for'], 'disconnected for its forgeries')
  await settle(net, device.connect(nodes[1]!.address!))
  const block = await settle(net, device.agent.append('note', 'now'))
  assert.is(block.seq, 4, 'recovered from the honest peer: seq 4')
  const chain = await chainOf(device)
  assert.equal(chain.slice(0, 3).map((b) => b.signature), blocks.map((b) => b.signature), 'the real blocks, not the forged ones')
})

Liars('a peer that offers the head but withholds the blocks below it: they come from another peer', async () => {
  const { net, nodes, ids } = await memoryNodes(3, { node: quiet, seedBase: 80 })
  await link(net, nodes, [[0, 1], [1, 2]])
  const blocks = await history(net, nodes[0]!, nodes[1]!, 4)
  const device = await restored(net, ids[0]!)
  // the head, genuinely, and nothing else
  await liar(net, device, 89, (start, end) => (start === -1 && end === -1 ? { latest: 4, blocks: [blocks[3]!] } : { latest: 4, blocks: [] }))
  await settle(net, device.connect(nodes[1]!.address!))
  const tx = await settle(net, device.transact(nodes[1]!.publicKey, 'note', 'next'))
  assert.is(tx.proposal.seq, 5)
  assert.is((await chainOf(device)).length, 5)
})

Liars('thirty silent peers and one that answers: head() asks wave after wave until it hears one', async () => {
  const { net, nodes, ids } = await memoryNodes(2, { node: quiet, seedBase: 90 })
  await link(net, nodes, [[0, 1]])
  const blocks = await history(net, nodes[0]!, nodes[1]!, 2)
  const device = await restored(net, ids[0]!, { recovery: { timeoutMs: 4000 } })
  // a crowd of strangers that take the request and never answer (a flood of fresh keys does so)
  for (let i = 0; i < 30; i++) await liar(net, device, 100 + i, () => undefined)
  await settle(net, device.connect(nodes[1]!.address!))
  const t0 = net.clock.now()
  const block = await settle(net, device.agent.append('note', 'through the crowd'))
  assert.is(block.seq, 3, 'the head the one honest peer told')
  assert.ok(equalBytes(block.previousHash, blockHash(blocks[1]!, crypto)))
  // eight peers a wave, a wave each second: 31 peers in at most four waves, then the rest of the
  // timeout for the silent ones asked (a slower peer may hold a higher head). Asked eight at
  // random once, as before, it heard the honest peer about one time in four
  assert.ok(net.clock.now() - t0 <= 4000 + 200, `within the timeout (${net.clock.now() - t0} ms)`)
})

Recover.run()
Liars.run()
