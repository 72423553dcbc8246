/**
 * A discrete-event model of the node's gossip, for networks too large for the real code in one
 * process (ConTrib's setup at 10,000 peers is ~700,000 frames per simulated second: the real node
 * code handles ~10,000 per second of wall time here).
 *
 * It plays the node's rules on abstract state (peers are indices, blocks are objects that know
 * their holders), and calls the node's own code for every rule that could drift:
 * - push targets: two-hop.ts `nearestInLists` over the same ring positions (rendezvous.ts), each
 *   party (the counterparty only, unless pushOwn) pushing a new block to the `pushFanout` nearest
 *   peers of its two-hop neighbourhood, directly or as a push-via that the relay stores and
 *   forwards once;
 * - acknowledged frames (gossip-rules.ts): pushes, push-vias and forwards are sent again every
 *   resendMs until acknowledged, RESEND_ATTEMPTS sends in all; every copy and every ack counted. A
 *   neighbour list is missing at a peer with the probability that all its sends were lost;
 * - proofs (gossip-rules.ts `announced`, `nextAnnouncer`): the first proof a peer holds is
 *   announced to `fraudFanout` random neighbours (a `fraud-have`; 'push': the proof itself); a
 *   peer without it asks the announcers in turn (`fraud-want`), one per wantTimeoutMs, at most
 *   MAX_ANNOUNCERS kept and WANT_ATTEMPTS asked;
 * - pull (gossip-rules.ts `pullKeys`, `contradicts`, `auditSlots`): every ~pullIntervalMs a
 *   heads request to a random neighbour about the most recently learnt chains; a head that
 *   contradicts what the asker holds is crawled, then the audit's slots; a crawled block that
 *   conflicts makes the proof; a peer asking about a proven cheater gets the proof once;
 * - proposals carry the proposer's previous block as context (gossip-rules.ts `contextSeqs`),
 *   which the counterparty stores first; a peer holding a proof refuses to propose to, or
 *   countersign for, the cheater;
 * - options and limits through options.ts `checkGossip` and wire/limits.ts `resolveLimits`;
 *   frame sizes from the real encoder (frame-sizes.ts).
 * The same topology (each peer links to `knows` random peers), link model (one-way latency plus
 * uniform jitter, each frame lost with probability `loss`) and load (a proposal to a random
 * neighbour every txIntervalMs, resent after retryMs, doubling, until timeoutMs) as the simulator.
 *
 * What it leaves out: signatures and validation (blocks are objects), the handshake (links exist
 * from the start), session rate limits and crawl caps (not reached by this load). What it
 * approximates: which blocks of a chain that has not forked a peer holds (what its last 64 learnt
 * blocks say: only pull bytes depend on it).
 * @module
 */
import { checkGossip, DEFAULT_GOSSIP, type GossipOptions } from '../node/options.js'
import { announced, auditSlots, contextSeqs, contradicts, nextAnnouncer, pullKeys, relayFanout, resendAfter, RESEND_ATTEMPTS, type WantState } from '../node/gossip-rules.js'
import { ringPosition, slotWordOf } from '../node/rendezvous.js'
import { pushTargetsInLists, ringList, type RingList } from '../node/two-hop.js'
import { createRandom, type Random } from '../random.js'
import { resolveLimits, type Limits } from '../wire/limits.js'
import { detectionStats } from './detection.js'
import { EventQueue } from './event-queue.js'
import { frameSizes } from './frame-sizes.js'
import type { ContribResult } from './scenario.js'

/** Options of runGossipModel (the ContribOptions that apply, and the node's timings). */
export interface GossipModelOptions {
  nodes: number
  /** Default min(100, nodes - 1). */
  knows?: number
  /** Default 0. */
  loss?: number
  /** One-way latency and uniform jitter (default 50 ms and 20 ms). */
  latencyMs?: number
  jitterMs?: number
  /** Default 30,000. */
  durationMs?: number
  /** Default 1000. */
  txIntervalMs?: number
  /** Default 0.1. */
  forkProbability?: number
  /** Default [min(3000, durationMs / 4), max(durationMs - 5000, durationMs / 2)). */
  forkWindow?: readonly [number, number]
  /** Default 10,000. */
  settleMs?: number
  /** Default 1. */
  seed?: number
  /** Default DEFAULT_GOSSIP. */
  gossip?: Partial<GossipOptions>
  /** Session limits (default DEFAULT_LIMITS: headsPerPull is capped by maxHeads). */
  limits?: Partial<Limits>
  /** transact timing (default 10 s timeout, 1 s first resend, 8 s longest wait: the simulator's). */
  transact?: { timeoutMs?: number; retryMs?: number; maxRetryMs?: number }
  /** Called every simulated second. */
  onProgress?: (p: { simulatedMs: number; forks: number; transactions: number }) => void
}

/**
 * Run ConTrib's setup on the model (see the module comment and scenario.ts for the setup and what
 * is measured).
 * @param options size, loss, durations, gossip settings
 * @returns the same measurements as runContrib (honestAccused is 0 by construction: no forged proofs)
 * @example const r = runGossipModel({ nodes: 10_000, loss: 0.2 })
 */
export function runGossipModel(options: GossipModelOptions): ContribResult {
  return new Model(options).run()
}

// ## State

const TICK = 0
const PROPOSAL = 1
const AGREEMENT = 2
const REFUSAL = 3
const RETRY = 4
const PUSH = 5
const RELAY = 6
const PULL = 7
const FORK = 8
const HEADS_REQUEST = 9
const HEADS = 10
const CRAWL = 11
const CRAWL_ANSWER = 12
const PROOF = 13
const ANNOUNCED = 14
const WANT_TIMEOUT = 15

/** What sealing adds to a frame on a handshaked session (the Noise tag). */
const SEAL_BYTES = 16

/** Learnt blocks remembered per peer, for its pull requests and audits (the node keeps chains, RECENT_CHAINS). */
const RECENT = 64

/** A block: who holds it. */
interface Block {
  readonly owner: number
  readonly seq: number
  readonly link: number
  readonly slot: number
  readonly holders: Set<number>
  /** The owner's block before it, until the owner makes the next one (a proposal takes it as its context). */
  prev: Block | undefined
  /** The fork this block belongs to (as its first block, the fork, or the forker's next), if any. */
  fork: ForkState | undefined
  role: 0 | 1 | 2 // 0: the first block X, 1: the fork Y, 2: the forker's next block Z
}

interface ForkState {
  readonly index: number
  readonly forker: number
  readonly x: Block
  y: Block | undefined
  z: Block | undefined
  readonly releasedAt: number
  /** When each peer first holds the proof (Infinity: never; may lie ahead of the model's now). */
  readonly held: Float64Array
  /** The highest seq of the forker's chain from the fork's seq on that each peer holds (0: none). */
  readonly top: Int32Array
  /** (asker, answerer) pairs told the proof in a heads answer (once per session). */
  told: Set<number> | undefined
  /** The peers waiting for the proof, and whom they ask (gossip-rules.ts). */
  wants: Map<number, WantState<number>> | undefined
}

interface Tx {
  readonly from: number
  readonly to: number
  readonly proposal: Block
  /** The proposer's previous block, sent with every copy of the proposal (contextSeqs). */
  readonly context: Block | undefined
  agreement: Block | undefined
  done: boolean
  wait: number
  readonly deadline: number
  readonly isFork: boolean
}

/** A head in a heads answer: the chain, its seq there, and the block when the chain forked. */
interface HeadInfo {
  readonly key: number
  readonly seq: number
  readonly block: Block | undefined
}

interface PullState {
  readonly asker: number
  readonly peer: number
  /** The chains asked about, with the asker's latest learnt seq of each. */
  readonly keys: readonly { readonly key: number; readonly seq: number }[]
  heads: HeadInfo[]
}

class Model {
  readonly #o: Required<Omit<GossipModelOptions, 'onProgress' | 'gossip' | 'transact' | 'forkWindow' | 'limits'>>
  readonly #g: Readonly<GossipOptions>
  readonly #tx: { timeoutMs: number; retryMs: number; maxRetryMs: number }
  readonly #window: readonly [number, number]
  readonly #onProgress: GossipModelOptions['onProgress']
  readonly #random: Random
  readonly #q = new EventQueue()
  readonly #sizes = frameSizes()
  readonly #acked: boolean
  #now = 0
  /** Bytes sent, by kind of frame (fraud: the proof frames and their announcements and requests). */
  readonly #bytes = { transact: 0, push: 0, fraud: 0, pull: 0 }
  /** Frames sent (each costs 16 bytes more sealed, on a handshaked session). */
  #frames = 0
  /** Bytes and frames by frame (kind of message; resent copies apart). */
  readonly #byFrame = new Map<string, { bytes: number; frames: number }>()
  #transactions = 0
  #running = true
  // per peer
  readonly #adj: Int32Array[] = []
  /** Each peer's neighbours on the push ring (ids: [index, 0]). */
  readonly #lists: RingList[] = []
  /**
   * The list each peer names to its neighbours: its own list up to limits.maxNeighbourIds, else
   * a random sample of that many (node/two-hop.ts `ids`: a sample that stays while its members
   * stay, and the model's links never go).
   */
  readonly #named: RingList[] = []
  /** (peer × nodes + neighbour) of the neighbour lists a peer never received. */
  readonly #missingLists = new Set<number>()
  readonly #seq: Int32Array
  readonly #inFlight: Int32Array
  readonly #latest: (Block | undefined)[]
  readonly #latestDone: Uint8Array
  readonly #forkAt: Float64Array
  readonly #forkState: (ForkState | undefined)[]
  readonly #known: Uint32Array
  readonly #words: number
  readonly #recentKey: Int32Array
  readonly #recentSeq: Int32Array
  readonly #recentCount: Int32Array
  readonly #forks: ForkState[] = []
  /** Proofs each peer waits for (all keys): MAX_WANTS. */
  readonly #wanting: Int32Array
  readonly #pick: number[] = []

  constructor(options: GossipModelOptions) {
    const n = options.nodes
    if (!Number.isSafeInteger(n) || n < 2) throw new RangeError(`"nodes" expected an integer >= 2, got ${String(n)}`)
    const durationMs = options.durationMs ?? 30_000
    this.#o = {
      nodes: n,
      knows: options.knows ?? Math.min(100, n - 1),
      loss: options.loss ?? 0,
      latencyMs: options.latencyMs ?? 50,
      jitterMs: options.jitterMs ?? 20,
      durationMs,
      txIntervalMs: options.txIntervalMs ?? 1000,
      forkProbability: options.forkProbability ?? 0.1,
      settleMs: options.settleMs ?? 10_000,
      seed: options.seed ?? 1,
    }
    if (!(this.#o.loss >= 0 && this.#o.loss < 1)) throw new RangeError(`"loss" expected a probability in [0, 1), got ${String(this.#o.loss)}`)
    this.#window = options.forkWindow ?? [Math.min(3000, durationMs / 4), Math.max(durationMs - 5000, durationMs / 2)]
    const limits = resolveLimits(options.limits ?? {})
    this.#g = checkGossip({ ...DEFAULT_GOSSIP, ...options.gossip }, limits)
    this.#acked = this.#g.resendMs > 0
    this.#tx = { timeoutMs: 10_000, retryMs: 1000, maxRetryMs: 8000, ...options.transact }
    this.#onProgress = options.onProgress
    this.#random = createRandom(this.#o.seed)
    const r = this.#random
    const position = new Uint32Array(n)
    for (let i = 0; i < n; i++) position[i] = ringPosition(Math.floor(r() * 0x1_0000_0000), Math.floor(r() * 0x1_0000_0000))
    // topology: each links to `knows` random others; a link serves both ways
    const sets: Set<number>[] = Array.from({ length: n }, () => new Set())
    for (let i = 0; i < n; i++) {
      let picked = 0
      for (let tries = 0; picked < this.#o.knows && tries < this.#o.knows * 20; tries++) {
        const j = Math.floor(r() * n)
        if (j === i || sets[i]!.has(j)) continue
        sets[i]!.add(j)
        sets[j]!.add(i)
        picked++
      }
    }
    for (let i = 0; i < n; i++) {
      const adj = Int32Array.from(sets[i]!)
      this.#adj.push(adj)
      this.#lists.push(ringList(Array.from(adj, (k): [number, number, number] => [position[k]!, k, 0])))
      if (adj.length <= limits.maxNeighbourIds) {
        this.#named.push(this.#lists[i]!)
        continue
      }
      const sample: number[] = []
      sampleInto(adj, limits.maxNeighbourIds, r, sample)
      this.#named.push(ringList(sample.map((k): [number, number, number] => [position[k]!, k, 0])))
    }
    // a neighbour list is sent until acknowledged: it is missing only when every send was lost
    const listLost = this.#o.loss ** (this.#acked ? RESEND_ATTEMPTS : 1)
    if (listLost > 0 && this.#g.pushFanout > 0) {
      for (let i = 0; i < n; i++) for (const k of this.#adj[i]!) if (r() < listLost) this.#missingLists.add(i * n + k)
    }
    this.#seq = new Int32Array(n)
    this.#inFlight = new Int32Array(n)
    this.#latest = new Array(n).fill(undefined)
    this.#latestDone = new Uint8Array(n)
    this.#forkAt = new Float64Array(n).fill(Number.POSITIVE_INFINITY)
    this.#forkState = new Array(n).fill(undefined)
    for (let i = 0; i < n; i++) {
      if (r() < this.#o.forkProbability) this.#forkAt[i] = this.#window[0] + r() * (this.#window[1] - this.#window[0])
    }
    this.#words = Math.ceil(n / 32)
    this.#known = new Uint32Array(n * this.#words)
    this.#recentKey = new Int32Array(n * RECENT)
    this.#recentSeq = new Int32Array(n * RECENT)
    this.#recentCount = new Int32Array(n)
    this.#wanting = new Int32Array(n)
  }

  run(): ContribResult {
    const t0 = performance.now()
    const n = this.#o.nodes
    for (let i = 0; i < n; i++) {
      this.#q.push(Math.floor(this.#random() * this.#o.txIntervalMs), TICK, i, 0, undefined)
      if (this.#g.pullIntervalMs > 0) this.#q.push(this.#g.pullIntervalMs * (0.5 + this.#random()), PULL, i, 0, undefined)
    }
    const end = this.#o.durationMs + this.#o.settleMs
    let nextProgress = 1000
    const q = this.#q
    while (q.next <= end) {
      q.pop()
      this.#now = q.t
      if (this.#now >= this.#o.durationMs) this.#running = false
      if (this.#now >= nextProgress) {
        this.#onProgress?.({ simulatedMs: nextProgress, forks: this.#forks.length, transactions: this.#transactions })
        nextProgress += 1000
      }
      this.#handle(q.kind, q.a, q.b, q.x)
    }
    return this.#measure(end / 1000, performance.now() - t0)
  }

  #handle(kind: number, a: number, b: number, x: unknown): void {
    switch (kind) {
      case TICK:
        return this.#tick(a)
      case PROPOSAL:
        return this.#onProposal(x as Tx)
      case AGREEMENT:
        return this.#onAgreement(x as Tx)
      case REFUSAL:
        return this.#finishTx(x as Tx)
      case RETRY:
        return this.#retry(x as Tx)
      case PUSH:
        return void this.#receive(x as Block, a)
      case RELAY: {
        const r = x as { block: Block; target: number }
        return this.#onRelay(r.block, a, r.target)
      }
      case PULL:
        return this.#pull(a)
      case FORK:
        return this.#fork(a, x as number)
      case HEADS_REQUEST:
        return this.#onHeadsRequest(x as PullState)
      case HEADS:
        return this.#onHeads(x as PullState)
      case CRAWL:
        return this.#onCrawl(a, x as { asker: number; key: number; seq: number })
      case CRAWL_ANSWER:
        return void (x === undefined ? undefined : this.#receive(x as Block, a))
      case PROOF:
        return this.#onProof(x as ForkState, a, b)
      case ANNOUNCED:
        return this.#onAnnounced(x as ForkState, a, b)
      case WANT_TIMEOUT:
        return this.#onWantTimeout(x as ForkState, a)
    }
  }

  // ## Transactions

  #tick(i: number): void {
    if (!this.#running) return
    if (this.#forkState[i] === undefined && this.#now >= this.#forkAt[i]!) {
      this.#forkAt[i] = Number.POSITIVE_INFINITY
      this.#q.push(this.#now, FORK, i, 0, 0)
    } else if (this.#inFlight[i]! < 4) {
      const adj = this.#adj[i]!
      const j = adj[Math.floor(this.#random() * adj.length)]!
      // agent.propose refuses a proven cheater before anything is signed or sent
      if (!this.#refuses(i, j)) {
        this.#inFlight[i]!++
        const proposal = this.#newBlock(i, j, false)
        this.#send(i, j, PROPOSAL, this.#sizes.proposal, { from: i, to: j, proposal, context: this.#contextOf(proposal), agreement: undefined, done: false, wait: this.#tx.retryMs, deadline: this.#now + this.#tx.timeoutMs, isFork: false })
      }
    }
    this.#q.push(this.#now + this.#o.txIntervalMs, TICK, i, 0, undefined)
  }

  #send(from: number, to: number, kind: number, size: number, tx: Tx): void {
    this.#count('transact', size, kind === PROPOSAL ? 'proposal' : kind === AGREEMENT ? 'agreement' : 'refusal')
    if (kind === PROPOSAL) this.#q.push(this.#now + tx.wait, RETRY, 0, 0, tx)
    const d = this.#delay()
    if (d >= 0) this.#q.push(this.#now + d, kind, to, from, tx)
  }

  #retry(tx: Tx): void {
    if (tx.done) return
    if (this.#now >= tx.deadline) return this.#finishTx(tx)
    tx.wait = Math.min(tx.wait * 2, this.#tx.maxRetryMs)
    this.#send(tx.from, tx.to, PROPOSAL, this.#sizes.proposal, tx)
  }

  /** The counterparty: the context first, then the proposal, then the agreement (node/transactions.ts agree). */
  #onProposal(tx: Tx): void {
    const b = tx.to
    const a = tx.from
    if (tx.agreement !== undefined) {
      this.#send(b, a, AGREEMENT, this.#sizes.agreement, tx) // a resend: the same agreement
      return
    }
    if (this.#refuses(b, a)) {
      this.#send(b, a, REFUSAL, this.#sizes.error, tx)
      return
    }
    // the context (contextSeqs: the proposer's previous block) is stored first: the forker's next
    // block brings its first block X along, which meets a fork Y held here
    const p = tx.proposal
    if (tx.context !== undefined) this.#receive(tx.context, b)
    const f = p.fork
    if (f !== undefined && b !== f.forker) {
      if (p.role === 1 && (f.x.holders.has(b) || f.z?.holders.has(b) === true)) this.#detect(f, b)
      if (p.role === 2 && f.y?.holders.has(b) === true) this.#detect(f, b)
    }
    if (this.#refuses(b, a)) {
      this.#send(b, a, REFUSAL, this.#sizes.error, tx)
      return
    }
    this.#hold(p, b)
    tx.agreement = this.#newBlock(b, a, true)
    this.#spread(p, b)
    this.#spread(tx.agreement, b)
    this.#send(b, a, AGREEMENT, this.#sizes.agreement, tx)
  }

  /** What travels with a proposal (contextSeqs: its chain's previous block, none at seq 1). */
  #contextOf(p: Block): Block | undefined {
    return contextSeqs(p.seq).length > 0 ? p.prev : undefined
  }

  #onAgreement(tx: Tx): void {
    if (tx.done) return
    // the forker cannot complete the fork's agreement (its store holds X at that seq): it sends
    // the fork again, as the node's transact does, until the deadline
    if (tx.isFork) return
    this.#hold(tx.agreement!, tx.from)
    this.#spread(tx.proposal, tx.from)
    this.#spread(tx.agreement!, tx.from)
    this.#transactions++
    if (this.#latest[tx.from] === tx.proposal) this.#latestDone[tx.from] = 1
    this.#finishTx(tx)
  }

  #finishTx(tx: Tx): void {
    if (tx.done) return
    tx.done = true
    if (!tx.isFork) this.#inFlight[tx.from]!--
  }

  /** A new block in i's chain linked to j; its spread starts when a party pushes it. */
  #newBlock(i: number, j: number, agreement: boolean): Block {
    const seq = ++this.#seq[i]!
    const prev = this.#latest[i]
    // proposals took their context when made: a chain's old blocks need not stay reachable
    if (prev !== undefined) prev.prev = undefined
    const s: Block = { owner: i, seq, link: j, slot: slotWordOf(i, 0, seq), holders: new Set(), prev, fork: undefined, role: 0 }
    const f = this.#forkState[i]
    // the forker's next block after the fork chains to its first block: it contradicts the fork
    if (f !== undefined && f.z === undefined && seq === f.x.seq + 1) {
      s.fork = f
      s.role = 2
      f.z = s
    }
    this.#latest[i] = s
    // an agreement is complete when signed; a proposal when its agreement is back
    this.#latestDone[i] = agreement ? 1 : 0
    this.#hold(s, i)
    return s
  }

  // ## Forks

  #fork(i: number, tries: number): void {
    const x = this.#latest[i]
    // a fork of a block nobody else holds contradicts nothing anyone knows: wait for one that is
    // complete and held by its counterparty
    if (x === undefined || this.#latestDone[i] !== 1 || !x.holders.has(x.link)) {
      if (tries < 20) this.#q.push(this.#now + 250, FORK, i, 0, tries + 1)
      return
    }
    const choices = Array.from(this.#adj[i]!).filter((k) => k !== x.link)
    if (choices.length === 0) return
    const victim = choices[Math.floor(this.#random() * choices.length)]!
    const n = this.#o.nodes
    const f: ForkState = { index: this.#forks.length, forker: i, x, y: undefined, z: undefined, releasedAt: this.#now, held: new Float64Array(n).fill(Number.POSITIVE_INFINITY), top: new Int32Array(n), told: undefined, wants: undefined }
    x.fork = f
    x.role = 0
    for (const u of x.holders) f.top[u] = x.seq
    const y: Block = { owner: i, seq: x.seq, link: victim, slot: x.slot, holders: new Set(), prev: x.prev, fork: f, role: 1 }
    f.y = y
    this.#forks.push(f)
    this.#forkState[i] = f
    // delivered like any proposal (resent until answered), but the forker spreads nothing of it
    this.#send(i, victim, PROPOSAL, this.#sizes.proposal, { from: i, to: victim, proposal: y, context: this.#contextOf(y), agreement: undefined, done: false, wait: this.#tx.retryMs, deadline: this.#now + this.#tx.timeoutMs, isFork: true })
  }

  /** Peer u's block of the forked chain at `seq` (X or Y at the fork's seq, Z after it), if any. */
  #forkBlockAt(f: ForkState, u: number, seq: number): Block | undefined {
    if (seq === f.x.seq) return f.x.holders.has(u) ? f.x : f.y?.holders.has(u) === true ? f.y : undefined
    if (seq === f.x.seq + 1 && f.z?.holders.has(u) === true) return f.z
    return undefined
  }

  // ## Push gossip (node/push.ts spread, onPushVia)

  /** A party's push: to the `pushFanout` peers nearest the slot in its two-hop neighbourhood. */
  #spread(s: Block, by: number): void {
    if (!this.#g.pushOwn && s.owner === by) return
    if (this.#g.pushFanout <= 0) return
    const skip: [number, number][] = [[by, 0], [s.owner, 0], [s.link, 0]]
    const lists = [...this.#announced(by)]
    // the owner's list, when the owner is a neighbour whose list arrived (two-hop.ts pushTargetsInLists)
    const ownerList = lists.find(([k]) => k === s.owner)?.[1]
    for (const t of pushTargetsInLists(this.#lists[by]!, lists, ownerList === undefined ? undefined : s.owner, ownerList, s.slot, this.#g.pushFanout, skip)) {
      if (t.via === undefined) {
        this.#push(s, t.w0)
        continue
      }
      const d = this.#sendAcked('push', this.#acked ? this.#sizes.pushViaAcked : this.#sizes.pushVia, 'push-via')
      if (d >= 0) this.#q.push(this.#now + d, RELAY, t.via, 0, { block: s, target: t.w0 })
    }
  }

  /** The neighbour lists `by` holds: each neighbour's own list, unless every send of it was lost. */
  *#announced(by: number): Generator<readonly [number, RingList]> {
    const n = this.#o.nodes
    const missing = this.#missingLists.size > 0
    for (const k of this.#adj[by]!) if (!missing || !this.#missingLists.has(by * n + k)) yield [k, this.#named[k]!]
  }

  /** A `push-via` at its relay: stored there (and checked), then forwarded to the target once. */
  #onRelay(s: Block, at: number, target: number): void {
    this.#receive(s, at)
    // the relay forwards only blocks it holds (a conflicting one became a proof instead)
    if (s.holders.has(at)) this.#push(s, target)
  }

  #push(s: Block, to: number): void {
    const d = this.#sendAcked('push', this.#acked ? this.#sizes.pushAcked : this.#sizes.push, 'push')
    if (d >= 0 && !s.holders.has(to)) this.#q.push(this.#now + d, PUSH, to, 0, s)
  }

  /**
   * A block from a peer (a push, a forward, a context, a crawl answer) at peer u: stored, unless
   * it conflicts with what u holds, which makes the proof instead (node/ingest.ts).
   * @returns whether u holds it now
   */
  #receive(s: Block, u: number): boolean {
    if (s.holders.has(u)) return true
    const f = s.fork
    if (f !== undefined && u !== f.forker) {
      const conflict = s.role === 1 ? f.x.holders.has(u) || f.z?.holders.has(u) === true : f.y !== undefined && f.y.holders.has(u)
      if (conflict) {
        this.#detect(f, u)
        return false
      }
    }
    this.#hold(s, u)
    return true
  }

  #hold(s: Block, u: number): void {
    if (s.holders.has(u)) return
    s.holders.add(u)
    this.#learn(u, s.owner, s.seq)
    const f = this.#forkState[s.owner]
    if (f !== undefined && s.seq >= f.x.seq && f.top[u]! < s.seq) f.top[u] = s.seq
    if (s.fork !== undefined && s.role !== 1 && s.fork.y?.holders.has(u) === true && u !== s.fork.forker) this.#detect(s.fork, u)
  }

  // ## Pull gossip (node/pull.ts)

  #pull(i: number): void {
    if (this.#now > this.#o.durationMs + this.#o.settleMs) return
    this.#q.push(this.#now + this.#g.pullIntervalMs * (0.5 + this.#random()), PULL, i, 0, undefined)
    const adj = this.#adj[i]!
    const j = adj[Math.floor(this.#random() * adj.length)]!
    const keys = pullKeys(this.#recentChains(i), this.#g.headsPerPull, (k) => k.key === j, (k) => this.#refuses(i, k.key))
    if (keys.length === 0) return
    this.#count('pull', this.#sizes.headsRequestBase + this.#sizes.headsRequestPerKey * keys.length, 'heads-request')
    const d = this.#delay()
    if (d >= 0) this.#q.push(this.#now + d, HEADS_REQUEST, j, 0, { asker: i, peer: j, keys, heads: [] } satisfies PullState)
  }

  /** The peer's heads of the chains asked about, and the proofs it holds against them (once per asker). */
  #onHeadsRequest(p: PullState): void {
    const j = p.peer
    const n = this.#o.nodes
    for (const { key } of p.keys) {
      const f = this.#forkState[key]
      if (f !== undefined && f.top[j]! > 0) p.heads.push({ key, seq: f.top[j]!, block: this.#forkBlockAt(f, j, f.top[j]!) })
      else if (this.#knows(j, key)) p.heads.push({ key, seq: this.#latestSeq(j, key) ?? 1, block: undefined })
      // a peer asking about a proven cheater gets the proof too (it repairs a proof frame lost),
      // once per session, whether it holds one or not
      if (f !== undefined && f.held[j]! <= this.#now) {
        f.told ??= new Set()
        if (!f.told.has(p.asker * n + j)) {
          f.told.add(p.asker * n + j)
          this.#count('fraud', this.#sizes.fraud, 'fraud-told')
          const d = this.#delay()
          if (d >= 0) this.#q.push(this.#now + d, PROOF, p.asker, j, f)
        }
      }
    }
    this.#count('pull', this.#sizes.headsBase + this.#sizes.headsPerHead * p.heads.length, 'heads')
    const d = this.#delay()
    if (d >= 0) this.#q.push(this.#now + d, HEADS, p.asker, 0, p)
  }

  /** The heads at the asker: contradicting ones crawled (onHeads), then the audit. */
  #onHeads(p: PullState): void {
    const i = p.asker
    for (const h of p.heads) {
      const f = this.#forkState[h.key]
      if (f === undefined || f.held[i]! <= this.#now || h.block === undefined) continue
      // only the fork's slot holds two blocks: a head elsewhere names the one block there is
      if (h.seq !== f.x.seq) continue
      const stored = this.#forkBlockAt(f, i, h.seq)
      // the block after the fork's slot is the forker's next block Z, which chains to X
      const next = stored === undefined ? this.#forkBlockAt(f, i, h.seq + 1) : undefined
      if (contradicts(h.block, stored, next === undefined ? undefined : f.x, (a, b) => a === b)) this.#crawl(i, p.peer, h.key, h.seq)
    }
    const ours = new Map(p.keys.map((k) => [k.key, k.seq]))
    for (const slot of auditSlots(p.heads, (k) => ours.get(k), this.#g.auditsPerPull, this.#random)) {
      const f = this.#forkState[slot.key]
      if (f !== undefined && f.held[i]! <= this.#now) continue
      const holds = (f !== undefined && this.#forkBlockAt(f, i, slot.seq) !== undefined) || this.#heldRecently(i, slot.key, slot.seq)
      if (holds) this.#crawl(i, p.peer, slot.key, slot.seq)
    }
  }

  #crawl(i: number, j: number, key: number, seq: number): void {
    this.#count('pull', this.#sizes.crawlRequest, 'crawl-request')
    const d = this.#delay()
    if (d >= 0) this.#q.push(this.#now + d, CRAWL, j, 0, { asker: i, key, seq })
  }

  #onCrawl(j: number, c: { asker: number; key: number; seq: number }): void {
    const f = this.#forkState[c.key]
    const block = f === undefined ? undefined : this.#forkBlockAt(f, j, c.seq)
    const any = block !== undefined || this.#heldRecently(j, c.key, c.seq)
    this.#count('pull', any ? this.#sizes.crawlAnswer : this.#sizes.crawlAnswerEmpty, 'crawl-answer')
    const d = this.#delay()
    if (d >= 0) this.#q.push(this.#now + d, CRAWL_ANSWER, c.asker, 0, block)
  }

  /** Peer u's chains, most recently learnt first, each once, with the latest seq learnt. */
  *#recentChains(u: number): Generator<{ key: number; seq: number }> {
    const count = this.#recentCount[u]!
    const seen = new Set<number>()
    for (let k = 1; k <= Math.min(count, RECENT); k++) {
      const at = u * RECENT + ((count - k) % RECENT)
      const key = this.#recentKey[at]!
      if (seen.has(key)) continue
      seen.add(key)
      yield { key, seq: this.#latestSeq(u, key)! }
    }
  }

  /** The highest seq of `key` among u's last learnt blocks. */
  #latestSeq(u: number, key: number): number | undefined {
    let best: number | undefined
    for (let k = 0; k < Math.min(this.#recentCount[u]!, RECENT); k++) {
      const at = u * RECENT + k
      if (this.#recentKey[at] === key && (best === undefined || this.#recentSeq[at]! > best)) best = this.#recentSeq[at]!
    }
    return best
  }

  #heldRecently(u: number, key: number, seq: number): boolean {
    for (let k = 0; k < Math.min(this.#recentCount[u]!, RECENT); k++) {
      const at = u * RECENT + k
      if (this.#recentKey[at] === key && this.#recentSeq[at] === seq) return true
    }
    return false
  }

  #learn(u: number, owner: number, seq: number): void {
    this.#known[u * this.#words + (owner >>> 5)]! |= 1 << (owner & 31)
    const at = u * RECENT + (this.#recentCount[u]! % RECENT)
    this.#recentKey[at] = owner
    this.#recentSeq[at] = seq
    this.#recentCount[u]!++
  }

  #knows(u: number, owner: number): boolean {
    return (this.#known[u * this.#words + (owner >>> 5)]! & (1 << (owner & 31))) !== 0
  }

  // ## Proofs (node/fraud-relay.ts)
  //
  // Events like any frame: a peer that first holds a proof (it made it, or got it) announces it
  // to `fraudFanout` random neighbours but the sender (proofRelay 'announce': a `fraud-have`;
  // 'push': the proof itself); a neighbour without the proof asks the announcers in turn for it
  // (gossip-rules.ts `announced`, `nextAnnouncer`), one request per wantTimeoutMs.

  #detect(f: ForkState, u: number): void {
    this.#onProof(f, u, -1)
  }

  /** Peer u holds the proof now (from `from`; -1: it made it): the first time, it relays it. */
  #onProof(f: ForkState, u: number, from: number): void {
    if (f.held[u]! <= this.#now) return
    f.held[u] = this.#now
    // the announcers heard so far: a late peer tells fewer (gossip-rules.ts relayFanout)
    const heard = f.wants?.get(u)?.announcers.length ?? 0
    this.#stopWanting(f, u)
    const fanout = relayFanout(this.#g.fraudFanout, heard)
    if (fanout === 0) return
    const announce = this.#g.proofRelay === 'announce'
    const size = announce ? this.#sizes.fraudHave : this.#sizes.fraud
    const adj = this.#adj[u]!
    // as the node: every neighbour when fanout covers them, else fanout random ones (one more
    // when one of them may be the sender)
    const all = fanout >= adj.length
    const pick = this.#pick
    if (!all) sampleInto(adj, Math.min(adj.length, fanout + (from < 0 ? 0 : 1)), this.#random, pick)
    const count = all ? adj.length : pick.length
    let sent = 0
    for (let i = 0; i < count && sent < fanout; i++) {
      const k = all ? adj[i]! : pick[i]!
      if (k === from) continue
      sent++
      this.#count('fraud', size, announce ? 'fraud-have' : 'fraud-pushed')
      const d = this.#delay()
      // a frame to a peer that holds the proof by then is read and dropped: its bytes are counted
      if (d >= 0 && f.held[k]! > this.#now + d) this.#q.push(this.#now + d, announce ? ANNOUNCED : PROOF, k, u, f)
    }
  }

  /** A `fraud-have` from `from` at peer u: ask for the proof, or keep `from` to ask later. */
  #onAnnounced(f: ForkState, u: number, from: number): void {
    if (f.held[u]! <= this.#now) return
    const wants = (f.wants ??= new Map())
    if (announced(wants.get(u), from, this.#wanting[u]!) !== 'ask') return
    const want: WantState<number> = { announcers: [from], asked: 0 }
    if (this.#g.wantTimeoutMs > 0) {
      wants.set(u, want)
      this.#wanting[u]!++
    }
    this.#ask(f, u, want)
  }

  /** The next `fraud-want` of u's want (the announcer answers with the proof), and its timeout. */
  #ask(f: ForkState, u: number, want: WantState<number>): void {
    const a = nextAnnouncer(want, () => true)
    if (a === undefined) {
      this.#stopWanting(f, u)
      return
    }
    this.#count('fraud', this.#sizes.fraudWant, 'fraud-want')
    const d1 = this.#delay()
    if (d1 >= 0) {
      this.#count('fraud', this.#sizes.fraud, 'fraud-asked')
      const d2 = this.#delay()
      if (d2 >= 0) this.#q.push(this.#now + d1 + d2, PROOF, u, a, f)
    }
    if (this.#g.wantTimeoutMs > 0) this.#q.push(this.#now + this.#g.wantTimeoutMs, WANT_TIMEOUT, u, 0, f)
  }

  #onWantTimeout(f: ForkState, u: number): void {
    if (f.held[u]! <= this.#now) return
    const want = f.wants?.get(u)
    if (want !== undefined) this.#ask(f, u, want)
  }

  #stopWanting(f: ForkState, u: number): void {
    if (f.wants?.delete(u) === true) this.#wanting[u]!--
  }

  /** True when peer u holds a proof against `key` now (it refuses it). */
  #refuses(u: number, key: number): boolean {
    const f = this.#forkState[key]
    return f !== undefined && f.held[u]! <= this.#now
  }

  // ## Links

  /** One-way delay of a frame, or -1 when it is lost. */
  #delay(): number {
    if (this.#o.loss > 0 && this.#random() < this.#o.loss) return -1
    return this.#o.latencyMs + Math.floor(this.#random() * (this.#o.jitterMs + 1))
  }

  /** One frame of `bytes` sent, of `kind`. */
  #count(kind: 'transact' | 'push' | 'fraud' | 'pull', bytes: number, frame: string): void {
    this.#bytes[kind] += bytes
    this.#frames++
    let c = this.#byFrame.get(frame)
    if (c === undefined) this.#byFrame.set(frame, (c = { bytes: 0, frames: 0 }))
    c.bytes += bytes
    c.frames++
  }

  /**
   * An acknowledged frame (node/resend.ts): sent, and sent again every resendMs until an ack comes
   * back, RESEND_ATTEMPTS sends in all; every copy and every ack is counted.
   * @returns ms until its first copy arrives, or -1 when every copy was lost
   */
  #sendAcked(kind: 'push', size: number, frame: string): number {
    if (!this.#acked) {
      this.#count(kind, size, frame)
      return this.#delay()
    }
    let first = -1
    for (let attempt = 0; ; attempt++) {
      this.#count(kind, size, attempt === 0 ? frame : `${frame} resent`)
      const d = this.#delay()
      if (d >= 0) {
        if (first < 0) first = attempt * this.#g.resendMs + d
        this.#count(kind, this.#sizes.ack, 'ack')
        if (this.#delay() >= 0) break
      }
      if (!resendAfter(attempt)) break
    }
    return first
  }

  // ## Measures

  #measure(seconds: number, wallMs: number): ContribResult {
    const n = this.#o.nodes
    const forkers = new Set(this.#forks.map((f) => f.forker))
    const honest: number[] = []
    for (let i = 0; i < n; i++) if (!forkers.has(i)) honest.push(i)
    const perFork: number[][] = []
    let unreleased = 0
    for (const f of this.#forks) {
      const times: number[] = []
      for (const i of honest) {
        const t = f.held[i]!
        if (t !== Number.POSITIVE_INFINITY) times.push(Math.max(0, t - f.releasedAt) / 1000)
      }
      // a fork whose second block no honest peer received contradicts nothing (scenario.ts)
      if (times.length === 0 && f.y!.holders.size === 0) unreleased++
      else perFork.push(times)
    }
    const stats = detectionStats(perFork, honest.length)
    const b = this.#bytes
    return {
      nodes: n,
      honest: honest.length,
      loss: this.#o.loss,
      durationS: seconds,
      transactions: this.#transactions,
      forks: this.#forks.length - unreleased,
      unreleased,
      ...stats,
      honestAccused: 0,
      bytesPerPeerS: (b.transact + b.push + b.fraud + b.pull) / n / seconds,
      proofBytesPerPeerS: b.fraud / n / seconds,
      framesPerPeerS: this.#frames / n / seconds,
      bytesPerPeerSByKind: { transact: b.transact / n / seconds, push: b.push / n / seconds, fraud: b.fraud / n / seconds, pull: b.pull / n / seconds },
      sealedBytesPerPeerSByFrame: Object.fromEntries([...this.#byFrame].sort((x, y) => y[1].bytes - x[1].bytes).map(([k, c]) => [k, (c.bytes + SEAL_BYTES * c.frames) / n / seconds])),
      wallMs,
    }
  }
}

// ## Helpers

/**
 * `count` distinct random entries of `list` into `out` (count well below the list's length): a
 * random start and a random stride coprime with the length visit distinct entries.
 */
function sampleInto(list: Int32Array, count: number, random: Random, out: number[]): void {
  out.length = 0
  const n = list.length
  let stride = 1 + Math.floor(random() * (n - 1))
  while (gcd(stride, n) !== 1) stride = stride === n - 1 ? 1 : stride + 1
  let at = Math.floor(random() * n)
  for (let i = 0; i < count; i++) {
    out.push(list[at]!)
    at = (at + stride) % n
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b]
  return a
}
