/**
 * The node on the memory network: transactions (agreement back, should-sign policies, resends,
 * timeouts, clean errors, clean close), and fraud detection from every path — a push, a proposal,
 * a crawl, a head announcement, a chain that breaks one block later — with the proof relayed to
 * every neighbour once and the cheater refused both ways.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ClosedError, RefusedError, blockHash, createFraudProof, equalBytes, signBlock, toHex, type FraudProof, type HalfBlock, type SeedIdentity } from '@tally/core'
import { ACCUSED_ID_BYTES, DEFAULT_GOSSIP, TransactTimeoutError, WANT_ATTEMPTS, UnreachableError, createNode, createSession, encodeMessage, performHandshake, resolveLimits, type Node, type SessionMessage } from '@tally/gossip'
import { crypto, forkOf, identity, line, link, memoryNodes, mesh, noteTypes, rawPeer, settle, type RawPeer } from './fixtures/node-kit.ts'

/** Proofs each node holds, by node index. */
async function proofCounts(nodes: readonly Node[]): Promise<number[]> {
  return Promise.all(nodes.map(async (n) => (await n.store.fraudProofs()).length))
}

// ## Transactions

const Tx = suite('node: transactions')

Tx('transact resolves when the agreement is back; both halves are stored on both sides', async () => {
  const { net, nodes } = await memoryNodes(2)
  await link(net, nodes, [[0, 1]])
  const seen: string[] = []
  nodes[1]!.on('transaction', (t) => seen.push(`b:${t.proposal.seq}`))
  nodes[0]!.on('transaction', (t) => seen.push(`a:${t.agreement.seq}`))
  const tx = await settle(net, nodes[0]!.transact(nodes[1]!.publicKey, 'note', 'hello'))
  assert.ok(equalBytes(tx.proposal.publicKey, nodes[0]!.publicKey))
  assert.ok(equalBytes(tx.agreement.publicKey, nodes[1]!.publicKey))
  assert.is(tx.agreement.linkSeq, tx.proposal.seq)
  for (const n of nodes) {
    assert.ok(await n.store.get(tx.proposal.publicKey, 1), 'the proposal is stored')
    assert.ok(await n.store.get(tx.agreement.publicKey, 1), 'the agreement is stored')
  }
  assert.equal(seen.sort(), ['a:1', 'b:1'])
  assert.is(nodes[0]!.stats.transactions, 1)
  assert.is(nodes[1]!.stats.transactions, 1)
})

Tx("the block type's should-sign policy is the counterparty's answer", async () => {
  const { net, nodes } = await memoryNodes(2)
  await link(net, nodes, [[0, 1]])
  const err = await settle(net, nodes[0]!.transact(nodes[1]!.publicKey, 'note', 'no')).catch((e: unknown) => e)
  assert.instance(err, RefusedError)
  assert.match(String((err as Error).message), /declined/)
  assert.is(await nodes[1]!.store.findAgreement(nodes[0]!.publicKey, 1, nodes[1]!.publicKey), undefined)
  const unknown = await settle(net, nodes[0]!.transact(nodes[1]!.publicKey, 'other', 1)).catch((e: unknown) => e)
  assert.instance(unknown, RefusedError, 'a type without rules is refused')
  assert.is((unknown as RefusedError).reason, 'unknown-type', 'by the proposer, before it signs')
  assert.is(nodes[1]!.stats.refused, 1)
})

Tx('many transactions at once in both directions keep both chains linear', async () => {
  const { net, nodes } = await memoryNodes(2)
  await link(net, nodes, [[0, 1]])
  const runs: Promise<unknown>[] = []
  for (let i = 0; i < 20; i++) {
    runs.push(nodes[0]!.transact(nodes[1]!.publicKey, 'note', i))
    runs.push(nodes[1]!.transact(nodes[0]!.publicKey, 'note', -i))
  }
  await settle(net, Promise.all(runs))
  for (const n of nodes) {
    const chain = await n.store.range(n.publicKey)
    assert.is(chain.length, 40)
    chain.forEach((b, i) => {
      assert.is(b.seq, i + 1)
      if (i > 0) assert.ok(equalBytes(b.previousHash, blockHash(chain[i - 1]!, crypto)))
    })
    assert.is((await n.store.fraudProofs()).length, 0)
  }
})

Tx('lost frames are resent until the agreement comes back, and agreed once', async () => {
  // new identities (head: 'local'): what is tested is the resends, not a head asked over a lossy link.
  // Lost as on TCP: retransmitted late, never skipped. Sessions are encrypted, and a frame missing
  // from the sequence closes one (it cannot tell a lost frame from one an attacker deleted); a
  // datagram-like network ('drop') suits attached sessions, as the simulator's
  const { net, nodes } = await memoryNodes(2, { network: { loss: 0.3, lossMode: 'retransmit', seed: 11 }, node: { head: 'local', transact: { retryMs: 300, maxRetryMs: 2000, timeoutMs: 60_000 } } })
  // dials are never lost (a SYN is retried); the handshake may be: retry the link until it holds
  for (let i = 0; i < 10 && nodes[0]!.peers.length === 0; i++) {
    nodes[0]!.connect(nodes[1]!.address!).catch(() => undefined)
    await net.clock.runFor(12_000)
  }
  assert.is(nodes[0]!.peers.length, 1, 'linked despite the loss')
  const txs = await settle(net, Promise.all([0, 1, 2, 3, 4].map((i) => nodes[0]!.transact(nodes[1]!.publicKey, 'note', i))))
  assert.is(txs.length, 5)
  assert.ok(nodes[0]!.stats.proposalsSent > 5, `resent (${nodes[0]!.stats.proposalsSent} sends)`)
  const bobChain = await nodes[1]!.store.range(nodes[1]!.publicKey)
  assert.is(bobChain.length, 5, 'one agreement per proposal, however often it came')
})

Tx('a peer that never answers: resends with backoff, then TransactTimeoutError', async () => {
  // a new identity: a peer that never answers could not tell it its head either
  const { net, nodes } = await memoryNodes(1, { node: { head: 'local', transact: { timeoutMs: 10_000, retryMs: 500, maxRetryMs: 2000 } } })
  const mute = identity(99)
  const raw = net.transport('mem://mute')
  const got: SessionMessage[] = []
  await raw.listen((conn) => {
    performHandshake(conn, { identity: mute, clock: net.clock }).then(
      (r) => createSession(conn, { peerKey: r.peerKey, cipher: r.cipher, clock: net.clock, onMessage: (m) => void got.push(m) }),
      () => undefined,
    )
  })
  await settle(net, nodes[0]!.connect('mem://mute'))
  const err = await settle(net, nodes[0]!.transact(mute.publicKey, 'note', 'anyone?')).catch((e: unknown) => e)
  assert.instance(err, TransactTimeoutError)
  assert.is((err as TransactTimeoutError).code, 'ERR_TIMEOUT')
  assert.ok((err as TransactTimeoutError).attempts >= 4, `attempts: ${(err as TransactTimeoutError).attempts}`)
  // (the node's neighbour list comes first: proposals are picked out)
  const proposals = got.flatMap((m) => (m.type === 'proposal' ? [m.block] : []))
  assert.ok(proposals.length >= 4)
  assert.ok(proposals.every((b) => equalBytes(b.signature, proposals[0]!.signature)), 'the same proposal every time')
})

Tx('no session and no address: UnreachableError, and nothing is signed', async () => {
  const { net, nodes } = await memoryNodes(1)
  const err = await settle(net, nodes[0]!.transact(identity(77).publicKey, 'note', 1)).catch((e: unknown) => e)
  assert.instance(err, UnreachableError)
  assert.is((err as UnreachableError).code, 'ERR_UNREACHABLE')
  assert.is(await nodes[0]!.store.latest(nodes[0]!.publicKey), undefined)
})

Tx('a known address is dialled on demand', async () => {
  const { net, nodes } = await memoryNodes(2)
  nodes[0]!.addAddress(nodes[1]!.publicKey, nodes[1]!.address!)
  const tx = await settle(net, nodes[0]!.transact(nodes[1]!.publicKey, 'note', 'dial me'))
  assert.is(tx.proposal.seq, 1)
  assert.is(nodes[0]!.peers.length, 1)
})

Tx('close(): pending calls reject with ClosedError, and no timer is left on the clock', async () => {
  const { net, nodes } = await memoryNodes(3, { node: { gossip: { pullIntervalMs: 500 } } })
  await link(net, nodes, mesh(3))
  await settle(net, nodes[0]!.transact(nodes[1]!.publicKey, 'note', 1))
  // a transaction with a peer that will vanish: close its counterparty first
  await nodes[2]!.close()
  const pending = nodes[0]!.transact(nodes[1]!.publicKey, 'note', 2).catch((e: unknown) => e)
  await nodes[0]!.close()
  await nodes[1]!.close()
  await net.clock.runUntilIdle()
  const err = await pending
  assert.ok(err instanceof ClosedError || (err as { name?: string }).name === 'ClosedError', `got ${String(err)}`)
  assert.is(net.clock.pending, 0, 'no timer outlives the nodes')
  assert.not.ok(nodes[0]!.open)
  const late = await nodes[0]!.listen().catch((e: unknown) => e)
  assert.instance(late, ClosedError)
})

// ## Fraud

const Fraud = suite('node: fraud detection and proofs')

/** Node 0 transacts with node 1 (X), then delivers a fork of that slot (Y) to `victim`. */
async function forkTo(net: Awaited<ReturnType<typeof memoryNodes>>['net'], nodes: Node[], ids: ReturnType<typeof identity>[], victim: number): Promise<{ x: HalfBlock; y: HalfBlock }> {
  const tx = await settle(net, nodes[0]!.transact(nodes[1]!.publicKey, 'note', 'first'))
  const y = forkOf(ids[0]!, tx.proposal, nodes[victim]!.publicKey)
  await settle(net, nodes[0]!.deliver(y).catch(() => undefined))
  await net.clock.runFor(5000)
  return { x: tx.proposal, y }
}

Fraud('a fork pushed by the victim meets the first block: the proof reaches every node once', async () => {
  // a line 0-1-2-3-4 plus the forker linked to the victim: the victim holds Y, node 1 holds X
  const { net, nodes, ids } = await memoryNodes(5, { node: { gossip: { pullIntervalMs: 0 } } })
  await link(net, nodes, [...line(5), [0, 4]])
  const proofs: string[][] = nodes.map(() => [])
  nodes.forEach((n, i) => n.on('fraud', ({ proof }) => proofs[i]!.push(proof.kind)))
  await forkTo(net, nodes, ids, 4)
  for (let i = 1; i < 5; i++) {
    assert.ok(await nodes[i]!.store.hasFraud(nodes[0]!.publicKey), `node ${i} holds a proof`)
    assert.is(proofs[i]!.length, 1, `node ${i} handled one proof once`)
  }
  const sent = nodes.reduce((s, n) => s + n.stats.proofsSent, 0)
  const edges = line(5).length + 1
  assert.ok(sent <= 2 * edges, `each neighbour got it at most once per link direction (${sent} sends over ${edges} links)`)
})

Fraud('a node holding a proof refuses the cheater both ways', async () => {
  const { net, nodes, ids } = await memoryNodes(3, { node: { gossip: { pullIntervalMs: 0 } } })
  await link(net, nodes, mesh(3))
  await forkTo(net, nodes, ids, 2)
  for (const i of [1, 2]) assert.ok(await nodes[i]!.store.hasFraud(nodes[0]!.publicKey), `node ${i} holds the proof`)
  const out = await settle(net, nodes[1]!.transact(nodes[0]!.publicKey, 'note', 'no way')).catch((e: unknown) => e)
  assert.instance(out, RefusedError, 'an honest node does not propose to the cheater')
  const into = await settle(net, nodes[0]!.transact(nodes[2]!.publicKey, 'note', 'please')).catch((e: unknown) => e)
  assert.instance(into, RefusedError, 'nor countersign for it')
  assert.is((await nodes[2]!.store.range(nodes[2]!.publicKey)).length, 0, 'the victim signed nothing')
})

Fraud('a fork found by a crawl yields a proof', async () => {
  const { net, nodes, ids } = await memoryNodes(3, { node: { gossip: { pushFanout: 0, pullIntervalMs: 0 } } })
  await link(net, nodes, [[0, 1], [0, 2], [1, 2]])
  const { x } = await forkTo(net, nodes, ids, 2)
  // no gossip: node 2 agreed to the fork, and only a crawl of node 1 shows it X
  assert.not.ok(await nodes[2]!.store.hasFraud(nodes[0]!.publicKey))
  const got = await settle(net, nodes[2]!.crawl(nodes[1]!.publicKey, nodes[0]!.publicKey))
  assert.ok(got.some((b) => equalBytes(b.signature, x.signature)))
  assert.ok(await nodes[2]!.store.hasFraud(nodes[0]!.publicKey))
  await net.clock.runFor(2000)
  assert.ok(await nodes[1]!.store.hasFraud(nodes[0]!.publicKey), 'and relays it to node 1')
})

Fraud('a fork seen through a head (pull gossip) is crawled and proved', async () => {
  const { net, nodes, ids } = await memoryNodes(3, { node: { gossip: { pushFanout: 0, pullIntervalMs: 0 } } })
  await link(net, nodes, [[0, 1], [0, 2], [1, 2]])
  await forkTo(net, nodes, ids, 2)
  assert.equal(await proofCounts(nodes.slice(1)), [0, 0])
  // node 1 asks node 2 for the heads of the chains it knows: node 0's head there is Y
  for (let i = 0; i < 20 && !(await nodes[1]!.store.hasFraud(nodes[0]!.publicKey)); i++) {
    nodes[1]!.pull()
    await net.clock.runFor(500)
  }
  assert.ok(await nodes[1]!.store.hasFraud(nodes[0]!.publicKey), 'the head request found the conflict')
  assert.ok(nodes[1]!.stats.crawlsSent >= 1)
  await net.clock.runFor(1000)
  assert.ok(await nodes[2]!.store.hasFraud(nodes[0]!.publicKey), 'and the proof was relayed')
})

Fraud('a fork seen one block later (a chain that breaks) is proved too', async () => {
  const { net, nodes, ids } = await memoryNodes(3, { node: { gossip: { pushFanout: 0, pullIntervalMs: 0 } } })
  await link(net, nodes, mesh(3))
  const { y } = await forkTo(net, nodes, ids, 2)
  // the forker goes on from X with node 1; node 2 holds Y and learns only X's successor, which
  // does not chain to Y
  const next = await settle(net, nodes[0]!.transact(nodes[1]!.publicKey, 'note', 'after'))
  await settle(net, nodes[2]!.crawl(nodes[1]!.publicKey, nodes[0]!.publicKey, { start: next.proposal.seq, end: next.proposal.seq }))
  const proofs = await nodes[2]!.store.fraudProofs(nodes[0]!.publicKey)
  assert.equal(proofs.map((p) => p.kind), ['chain-break'])
  assert.ok(equalBytes(proofs[0]!.blocks[0]!.signature, y.signature), 'evidence: Y and the block after X')
  const refused = await settle(net, nodes[0]!.transact(nodes[2]!.publicKey, 'note', 'again').catch((e: unknown) => e))
  assert.instance(refused, RefusedError)
})

Fraud('the proof is relayed even when a block at that (key, seq) was relayed before', async () => {
  const { net, nodes, ids } = await memoryNodes(4, { node: { gossip: { pullIntervalMs: 0 } } })
  await link(net, nodes, mesh(4))
  const tx = await settle(net, nodes[0]!.transact(nodes[1]!.publicKey, 'note', 'x'))
  await net.clock.runFor(2000)
  for (const i of [2, 3]) assert.ok(await nodes[i]!.store.get(nodes[0]!.publicKey, 1), `X reached node ${i} by push`)
  const y = forkOf(ids[0]!, tx.proposal, nodes[3]!.publicKey)
  // node 3 already holds X: it refuses Y at once and proves it
  const err = await settle(net, nodes[0]!.deliver(y).catch((e: unknown) => e))
  assert.instance(err, RefusedError)
  await net.clock.runFor(2000)
  assert.equal(await proofCounts(nodes.slice(1)), [1, 1, 1])
})

// ## Hostile peers

const Hostile = suite('node: hostile peers')

Hostile('a forged proof is neither stored nor relayed, and costs its sender', async () => {
  const { net, nodes, ids } = await memoryNodes(2, { node: { gossip: { pullIntervalMs: 0 } } })
  await link(net, nodes, [[0, 1]])
  const m = await rawPeer(net, nodes[0]!, 60)
  const honest = ids[1]!
  // "evidence" against an honest key: one of its blocks and a block signed by mallory instead
  const real = signBlock({ publicKey: honest.publicKey, seq: 1, linkPublicKey: m.mallory.publicKey, linkSeq: 0, previousHash: new Uint8Array(32), type: 'note', payload: 1, timestamp: 1 }, honest, crypto)
  const fake = { ...real, payload: 2, signature: m.mallory.sign(new Uint8Array(32)) }
  const forged: FraudProof = { kind: 'double-sign', publicKey: honest.publicKey, blocks: [real, Object.freeze(fake)] }
  const sameTwice: FraudProof = { kind: 'double-sign', publicKey: honest.publicKey, blocks: [real, real] }
  let refusedFrames = 0
  for (const proof of [sameTwice, forged]) {
    try {
      m.session.send({ type: 'fraud', proof })
    } catch {
      refusedFrames++ // a proof the codec will not even encode is refused earlier still
    }
  }
  await net.clock.runFor(2000)
  assert.not.ok(await nodes[0]!.store.hasFraud(honest.publicKey), 'the honest key is not accused')
  assert.not.ok(await nodes[1]!.store.hasFraud(honest.publicKey), 'nothing was relayed')
  assert.is(nodes[0]!.stats.forgedProofs + refusedFrames, 2)
  assert.is(nodes[0]!.stats.proofsSent, 0)
  // the same again: each forged proof costs half a disconnect, so the next ones end the session
  for (let i = 0; i < 3 && m.closed() === undefined; i++) {
    const again = Object.freeze({ ...real, payload: 10 + i, signature: m.mallory.sign(new Uint8Array(32).fill(i)) })
    m.session.send({ type: 'fraud', proof: { kind: 'double-sign', publicKey: honest.publicKey, blocks: [real, again] } })
    await net.clock.runFor(500)
  }
  assert.is(m.closed()?.code, 1008, 'disconnected for misbehaviour')
  assert.not.ok(await nodes[0]!.store.hasFraud(honest.publicKey))
})

Hostile('a frame that fails authentication closes the session (1007): counted, and the key is not banned for it', async () => {
  const { net, nodes } = await memoryNodes(1, { node: { gossip: { pullIntervalMs: 0 } } })
  const m = await rawPeer(net, nodes[0]!, 69)
  const closes: { code: number; misbehaviour: string | undefined }[] = []
  nodes[0]!.on('peer:close', (e) => void closes.push(e))
  // what an attacker on the path can do without the keys: put a plaintext frame in the stream
  m.conn.send(encodeMessage({ type: 'heads', requestId: 0, heads: [{ publicKey: m.mallory.publicKey, seq: 1, hash: new Uint8Array(32) }] }))
  await net.clock.runFor(500)
  assert.is(m.closed()?.code, 1007)
  assert.is(nodes[0]!.stats.unauthenticated, 1)
  assert.equal(closes.map((c) => [c.code, c.misbehaviour]), [[1007, undefined]], 'not misbehaviour')
  // the peer itself may be honest: it can come straight back
  const back = await settle(net, net.transport().connect(nodes[0]!.address!))
  const again = await settle(net, performHandshake(back, { identity: m.mallory, clock: net.clock }))
  assert.ok(equalBytes(again.peerKey, nodes[0]!.publicKey))
})

Hostile('a flood of pushes ends in a disconnect; the node keeps serving honest peers', async () => {
  const { net, nodes } = await memoryNodes(2, { node: { gossip: { pullIntervalMs: 0 } } })
  await link(net, nodes, [[0, 1]])
  const m = await rawPeer(net, nodes[0]!, 61)
  const spam = signBlock({ publicKey: m.mallory.publicKey, seq: 1, linkPublicKey: nodes[0]!.publicKey, linkSeq: 0, previousHash: new Uint8Array(32), type: 'note', payload: 's', timestamp: 1 }, m.mallory, crypto)
  for (let i = 0; i < 3000 && m.session.open; i++) m.session.send({ type: 'push', blocks: [spam] })
  await net.clock.runFor(2000)
  assert.is(m.closed()?.code, 1008)
  const tx = await settle(net, nodes[1]!.transact(nodes[0]!.publicKey, 'note', 'still here'))
  assert.is(tx.agreement.seq, 1)
  // the banned key cannot come straight back
  const back = await settle(net, net.transport().connect(nodes[0]!.address!))
  const again = await settle(net, performHandshake(back, { identity: m.mallory, clock: net.clock })).catch((e: unknown) => e)
  assert.instance(again, Error)
})

Hostile('blocks with broken signatures are not stored and cost the sender', async () => {
  const { net, nodes } = await memoryNodes(1)
  const m = await rawPeer(net, nodes[0]!, 62)
  const good = signBlock({ publicKey: m.mallory.publicKey, seq: 1, linkPublicKey: nodes[0]!.publicKey, linkSeq: 0, previousHash: new Uint8Array(32), type: 'note', payload: 'x', timestamp: 1 }, m.mallory, crypto)
  const bad = Object.freeze({ ...good, payload: 'y' })
  for (let i = 0; i < 6 && m.closed() === undefined; i++) {
    m.session.send({ type: 'push', blocks: [Object.freeze({ ...bad, timestamp: 2 + i })] })
    await net.clock.runFor(200)
  }
  assert.is(await nodes[0]!.store.latest(m.mallory.publicKey), undefined)
  assert.is(m.closed()?.code, 1008)
})

Hostile('a crawl of 1..2^31 is answered with at most maxCrawlBlocks blocks', async () => {
  const { net, nodes } = await memoryNodes(2, { node: { limits: { maxCrawlBlocks: 8 } } })
  await link(net, nodes, [[0, 1]])
  for (let i = 0; i < 12; i++) await settle(net, nodes[0]!.transact(nodes[1]!.publicKey, 'note', i))
  const m = await rawPeer(net, nodes[0]!, 63)
  const reply = await settle(net, m.session.request({ type: 'crawl-request', publicKey: nodes[0]!.publicKey, start: 1, end: 2 ** 31 }))
  assert.is(reply.type, 'crawl-answer')
  if (reply.type !== 'crawl-answer') return
  assert.is(reply.blocks.length, 8)
  assert.is(reply.latest, 12)
  const tail = await settle(net, m.session.request({ type: 'crawl-request', publicKey: nodes[0]!.publicKey, start: -3, end: -1 }))
  assert.equal(tail.type === 'crawl-answer' ? tail.blocks.map((b) => b.seq) : [], [10, 11, 12])
  // crawling the whole chain through the node's own API walks past the cap
  const all = await settle(net, nodes[1]!.crawl(nodes[0]!.publicKey, nodes[0]!.publicKey))
  assert.is(all.length, 12)
})

Hostile('a proposal that is not from the sender, or not to this node, is refused', async () => {
  const { net, nodes, ids } = await memoryNodes(2)
  await link(net, nodes, [[0, 1]])
  const m = await rawPeer(net, nodes[0]!, 64)
  const notMine = signBlock({ publicKey: ids[1]!.publicKey, seq: 1, linkPublicKey: nodes[0]!.publicKey, linkSeq: 0, previousHash: new Uint8Array(32), type: 'note', payload: 'relayed', timestamp: 1 }, ids[1]!, crypto)
  const reply = await settle(net, m.session.request({ type: 'proposal', block: notMine, context: [] }))
  assert.is(reply.type, 'error')
  assert.is(await nodes[0]!.store.latest(nodes[0]!.publicKey), undefined, 'nothing countersigned')
})

// ## The push ring and lazy proofs

const Ring = suite('node: push ring, neighbour lists and lazy proofs')

const id8 = (key: Uint8Array): Uint8Array => key.slice(0, 8)
const hex8 = (key: Uint8Array): string => toHex(key.subarray(0, 8))

/** A block mallory signs at seq 1 of its own chain, proposing to `to`. */
function mallorysBlock(m: SeedIdentity, to: Uint8Array, payload: number): HalfBlock {
  return signBlock({ publicKey: m.publicKey, seq: 1, linkPublicKey: to, linkSeq: 0, previousHash: new Uint8Array(32), type: 'note', payload, timestamp: 1 }, m, crypto)
}

Ring('a block reaches a peer two hops away through a push-via, which its relay forwards once', async () => {
  // 0 and 1 transact; 3 is two hops from 0 (through 2) and three from 1 (through 0 and 2)
  // pushOwn: each party pushes both halves, so node 0 sends its own proposal on too
  const { net, nodes } = await memoryNodes(4, { node: { gossip: { pullIntervalMs: 0, pushFanout: 3, pushOwn: true } } })
  await link(net, nodes, [[0, 1], [0, 2], [2, 3]])
  await net.clock.runFor(DEFAULT_GOSSIP.neighboursIntervalMs + 500) // the lists of links made since the first
  const from: string[] = []
  nodes[3]!.on('block', ({ from: sender }) => from.push(sender === undefined ? 'none' : toHex(sender)))
  const tx = await settle(net, nodes[0]!.transact(nodes[1]!.publicKey, 'note', 'far'))
  await net.clock.runFor(1000)
  for (const b of [tx.proposal, tx.agreement]) assert.ok(await nodes[3]!.store.get(b.publicKey, b.seq), 'node 3 holds both halves')
  assert.equal(from, [toHex(nodes[2]!.publicKey), toHex(nodes[2]!.publicKey)], 'forwarded by node 2')
  assert.is(nodes[0]!.stats.pushViaSent, 2, 'node 0 sent each half to node 3 through node 2')
  assert.is(nodes[2]!.stats.forwarded, 2, 'node 2 forwarded each once')
  assert.is(nodes[2]!.stats.forwardMissed, 0)
  // node 1 knows node 2 only through node 0: node 0 forwards those (node 2 holds them already)
  assert.ok(nodes[1]!.stats.pushViaSent >= 2)
  assert.ok(await nodes[2]!.store.get(tx.proposal.publicKey, 1))
  for (const n of nodes) assert.is(n.stats.proofs, 0)
})

Ring('push-via from a peer: forwarded when every block checks out, once per block and target; counted when the target is gone', async () => {
  const { net, nodes } = await memoryNodes(2, { node: { gossip: { pullIntervalMs: 0 } } })
  await link(net, nodes, [[0, 1]])
  const m = await rawPeer(net, nodes[0]!, 65)
  const good = mallorysBlock(m.mallory, nodes[0]!.publicKey, 1)
  m.session.send({ type: 'push-via', to: id8(nodes[1]!.publicKey), blocks: [good] })
  await net.clock.runFor(500)
  assert.ok(await nodes[1]!.store.get(m.mallory.publicKey, 1), 'forwarded to node 1')
  assert.is(nodes[0]!.stats.forwarded, 1)
  m.session.send({ type: 'push-via', to: id8(nodes[1]!.publicKey), blocks: [good] })
  await net.clock.runFor(500)
  assert.is(nodes[0]!.stats.forwarded, 1, 'the same block to the same target: once')
  m.session.send({ type: 'push-via', to: id8(identity(90).publicKey), blocks: [good] })
  await net.clock.runFor(500)
  assert.is(nodes[0]!.stats.forwardMissed, 1, 'no such neighbour')
  // a broken signature: stored nowhere, forwarded nowhere, and it costs the sender
  const other = mallorysBlock(identity(66), nodes[0]!.publicKey, 2)
  const broken = Object.freeze({ ...other, payload: 3 })
  m.session.send({ type: 'push-via', to: id8(nodes[1]!.publicKey), blocks: [broken] })
  await net.clock.runFor(500)
  assert.is(nodes[0]!.stats.forwarded, 1)
  assert.is(await nodes[1]!.store.latest(other.publicKey), undefined)
  // a fork of the block node 0 holds: proved, not forwarded
  const fork = forkOf(m.mallory, good, nodes[0]!.publicKey, 'fork')
  m.session.send({ type: 'push-via', to: id8(nodes[1]!.publicKey), blocks: [fork] })
  await net.clock.runFor(1000)
  assert.ok(await nodes[0]!.store.hasFraud(m.mallory.publicKey))
  assert.is(nodes[0]!.stats.forwarded, 1, 'a block that became a proof is not forwarded')
  assert.ok(await nodes[1]!.store.hasFraud(m.mallory.publicKey), 'its proof went instead')
})

Ring('neighbour lists: the newcomer gets the list at once, every neighbour the changes (debounced)', async () => {
  const { net, nodes } = await memoryNodes(5, { node: { gossip: { pullIntervalMs: 0 } } })
  await link(net, nodes, [[0, 1]])
  await net.clock.runFor(2000)
  const m = await rawPeer(net, nodes[0]!, 67)
  const lists = (): string[][] => m.replies.flatMap((r) => (r.type === 'neighbours' ? [r.ids.map(toHex).sort()] : []))
  assert.equal(lists()[0], [hex8(nodes[1]!.publicKey), hex8(m.mallory.publicKey)].sort(), 'at once: node 1 and the newcomer itself')
  await net.clock.runFor(DEFAULT_GOSSIP.neighboursIntervalMs)
  const before = lists().length
  // three more peers within a few ms: one more list within the interval, then one with all of them
  await link(net, nodes, [[2, 0], [3, 0], [4, 0]])
  await net.clock.runFor(DEFAULT_GOSSIP.neighboursIntervalMs + 500)
  const after = lists().slice(before)
  assert.ok(after.length >= 1 && after.length <= 2, `debounced: ${after.length} lists for three changes`)
  assert.equal(after.at(-1), [1, 2, 3, 4].map((i) => hex8(nodes[i]!.publicKey)).concat(hex8(m.mallory.publicKey)).sort())
  // a peer that leaves is left out of the next list
  nodes[4]!.disconnect(nodes[0]!.publicKey)
  await net.clock.runFor(DEFAULT_GOSSIP.neighboursIntervalMs + 500)
  assert.equal(lists().at(-1), [1, 2, 3].map((i) => hex8(nodes[i]!.publicKey)).concat(hex8(m.mallory.publicKey)).sort())
})

Ring('a neighbour list over limits.maxNeighbourIds costs its sender like any list over its limit', async () => {
  const { net, nodes } = await memoryNodes(1, { node: { gossip: { pullIntervalMs: 0 } } })
  const m = await rawPeer(net, nodes[0]!, 68)
  const long = encodeMessage({ type: 'neighbours', ids: Array.from({ length: 257 }, (_, i) => new Uint8Array(8).fill(i & 0xff)) }, resolveLimits({ maxNeighbourIds: 300 }))
  for (let i = 0; i < 3 && m.closed() === undefined; i++) {
    m.send(long)
    await net.clock.runFor(200)
  }
  assert.is(m.closed()?.code, 1008, 'disconnected (oversizedCost 50 each)')
})

Ring("lazy proofs: each node gets the proof once, by asking an announcer; 'push' sends the proof itself", async () => {
  for (const proofRelay of ['announce', 'push'] as const) {
    const { net, nodes, ids } = await memoryNodes(5, { node: { gossip: { pullIntervalMs: 0, proofRelay } } })
    await link(net, nodes, [...line(5), [0, 4]])
    const received: number[] = nodes.map(() => 0)
    nodes.forEach((n, i) => n.on('fraud', ({ from }) => void (from !== undefined && received[i]!++)))
    await forkTo(net, nodes, ids, 4)
    for (let i = 1; i < 5; i++) assert.ok(await nodes[i]!.store.hasFraud(nodes[0]!.publicKey), `${proofRelay}: node ${i} holds the proof`)
    const sum = (f: (n: Node) => number): number => nodes.reduce((s, n) => s + f(n), 0)
    if (proofRelay === 'announce') {
      assert.ok(sum((n) => n.stats.proofAnnouncements) >= 3, 'announced')
      assert.is(sum((n) => n.stats.proofWants), sum((n) => n.stats.proofsSent), 'every want answered once')
      assert.ok(sum((n) => n.stats.proofsSent) <= 4, `at most one proof frame per honest node (${sum((n) => n.stats.proofsSent)})`)
    } else {
      assert.is(sum((n) => n.stats.proofAnnouncements), 0)
      assert.is(sum((n) => n.stats.proofWants), 0)
      assert.ok(sum((n) => n.stats.proofsSent) >= 3)
    }
    assert.ok(received.every((r) => r <= 1), 'no node handled a proof from a peer twice')
  }
})

Ring('fraud-want is answered once per peer and key, and not at all without a proof; fraud-have is asked about once per wantTimeoutMs (versions 3 and 2)', async () => {
  // version 3 names the accused by the first ACCUSED_ID_BYTES of its key, version 2 by the whole key
  for (const versions of [undefined, [2, 1]]) {
    const v = versions === undefined ? 'v3' : 'v2'
    const { net, nodes, ids } = await memoryNodes(3, { node: { gossip: { pullIntervalMs: 0 } } })
    await link(net, nodes, mesh(3))
    await forkTo(net, nodes, ids, 2)
    assert.ok(await nodes[1]!.store.hasFraud(nodes[0]!.publicKey))
    const m = await rawPeer(net, nodes[1]!, 69, versions)
    assert.is(m.session.version, versions === undefined ? 3 : 2)
    const name = (key: Uint8Array): Uint8Array => (versions === undefined ? key.subarray(0, ACCUSED_ID_BYTES) : key)
    const of = (type: string): SessionMessage[] => m.replies.filter((r) => r.type === type)
    m.session.send({ type: 'fraud-want', publicKey: name(nodes[0]!.publicKey) })
    m.session.send({ type: 'fraud-want', publicKey: nodes[0]!.publicKey })
    m.session.send({ type: 'fraud-want', publicKey: name(nodes[2]!.publicKey) })
    await net.clock.runFor(500)
    const proofs = of('fraud')
    assert.is(proofs.length, 1, `${v}: one proof, for the one key with a proof (asked by id or by key: one answer)`)
    assert.ok(proofs[0]!.type === 'fraud' && equalBytes(proofs[0]!.proof.publicKey, nodes[0]!.publicKey))
    // announcements: a key the node holds a proof against is not asked about; another one is, once
    const honest = nodes[2]!.publicKey
    const wantsBefore = nodes[1]!.stats.proofWants
    m.session.send({ type: 'fraud-have', publicKey: name(nodes[0]!.publicKey) })
    m.session.send({ type: 'fraud-have', publicKey: nodes[0]!.publicKey })
    m.session.send({ type: 'fraud-have', publicKey: name(honest) })
    await net.clock.runFor(100)
    // a second announcement while the want waits adds an announcer to ask later, not a want now
    m.session.send({ type: 'fraud-have', publicKey: honest })
    await net.clock.runFor(100)
    const wants = (): Uint8Array[] => m.replies.flatMap((r) => (r.type === 'fraud-want' ? [r.publicKey] : []))
    assert.is(wants().length, 1)
    assert.ok(equalBytes(wants()[0]!, name(honest)), `${v}: the want names the accused as the session's version does`)
    await net.clock.runFor(DEFAULT_GOSSIP.wantTimeoutMs)
    assert.is(wants().length, 2, 'asked again (the only announcer) once the want is older than wantTimeoutMs')
    // unanswered, it asks WANT_ATTEMPTS times in all, then waits for a new announcement
    await net.clock.runFor(DEFAULT_GOSSIP.wantTimeoutMs * (WANT_ATTEMPTS + 2))
    assert.is(wants().length, WANT_ATTEMPTS)
    assert.is(nodes[1]!.stats.proofWants - wantsBefore, WANT_ATTEMPTS)
    m.session.send({ type: 'fraud-have', publicKey: name(honest) })
    await net.clock.runFor(200)
    assert.is(wants().length, WANT_ATTEMPTS + 1, 'a new announcement starts over')
    // the announcer answers with a forged proof: refused and charged, as any forged proof
    const real = signBlock({ publicKey: honest, seq: 1, linkPublicKey: m.mallory.publicKey, linkSeq: 0, previousHash: new Uint8Array(32), type: 'note', payload: 1, timestamp: 1 }, ids[2]!, crypto)
    const fake = Object.freeze({ ...real, payload: 2, signature: m.mallory.sign(new Uint8Array(32)) })
    m.session.send({ type: 'fraud', proof: createFraudProof('double-sign', [real, fake]) })
    await net.clock.runFor(500)
    assert.is(nodes[1]!.stats.forgedProofs, 1)
    assert.not.ok(await nodes[1]!.store.hasFraud(honest))
  }
})

Ring('a node restarted on a store that holds a proof asks about an announcement by id once, then ignores it', async () => {
  const { net, nodes, ids } = await memoryNodes(3, { node: { gossip: { pullIntervalMs: 0 } } })
  await link(net, nodes, mesh(3))
  await forkTo(net, nodes, ids, 2)
  const [proof] = await nodes[1]!.store.fraudProofs(nodes[0]!.publicKey)
  assert.ok(proof !== undefined)
  await settle(net, nodes[1]!.close())
  // the same identity and store, a fresh node: its memory of relayed proofs is empty
  const again = createNode({ identity: ids[1]!, store: nodes[1]!.store, transport: net.transport('mem://again'), types: noteTypes(), clock: net.clock, cacheSize: 4096, gossip: { pullIntervalMs: 0 } })
  await again.listen()
  const m = await rawPeer(net, again, 72)
  const id = nodes[0]!.publicKey.subarray(0, ACCUSED_ID_BYTES)
  m.session.send({ type: 'fraud-have', publicKey: id })
  await net.clock.runFor(100)
  const wants = (): number => m.replies.filter((r) => r.type === 'fraud-want').length
  assert.is(wants(), 1, 'it cannot tell the id from its store: it asks')
  m.session.send({ type: 'fraud', proof })
  await net.clock.runFor(DEFAULT_GOSSIP.wantTimeoutMs * 4)
  assert.is(wants(), 1, 'the answer is a proof it holds: it stops asking')
  m.session.send({ type: 'fraud-have', publicKey: id })
  await net.clock.runFor(DEFAULT_GOSSIP.wantTimeoutMs * 2)
  assert.is(wants(), 1, 'and the next announcement is ignored')
  await settle(net, again.close())
})

Ring('a proof is announced by the first 16 bytes of the key on a version 3 session, by the whole key on a version 2 one', async () => {
  const { net, nodes, ids } = await memoryNodes(3, { node: { gossip: { pullIntervalMs: 0 } } })
  await link(net, nodes, mesh(3))
  const v3 = await rawPeer(net, nodes[1]!, 70)
  const v2 = await rawPeer(net, nodes[1]!, 71, [2, 1])
  assert.is(v3.session.version, 3)
  assert.is(v2.session.version, 2)
  await forkTo(net, nodes, ids, 2)
  assert.ok(await nodes[1]!.store.hasFraud(nodes[0]!.publicKey))
  const haves = (p: RawPeer): Uint8Array[] => p.replies.flatMap((r) => (r.type === 'fraud-have' ? [r.publicKey] : []))
  assert.equal(haves(v3).map(toHex), [toHex(nodes[0]!.publicKey.subarray(0, ACCUSED_ID_BYTES))])
  assert.equal(haves(v2).map(toHex), [toHex(nodes[0]!.publicKey)])
  // each asks as it speaks, and gets the proof
  v3.session.send({ type: 'fraud-want', publicKey: haves(v3)[0]! })
  v2.session.send({ type: 'fraud-want', publicKey: haves(v2)[0]! })
  await net.clock.runFor(500)
  for (const p of [v3, v2]) {
    const got = p.replies.flatMap((r) => (r.type === 'fraud' ? [r.proof] : []))
    assert.is(got.length, 1)
    assert.ok(equalBytes(got[0]!.publicKey, nodes[0]!.publicKey))
  }
})

Tx.run()
Fraud.run()
Hostile.run()
Ring.run()
