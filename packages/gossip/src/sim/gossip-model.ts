/**
 * A discrete-event model of the node's gossip, for networks too large for the real code in one
 * process (the ConTrib setup at 10,000 peers is ~700,000 frames per simulated second: the real
 * node code handles ~10,000 per second of wall time here).
 *
 * It plays the same protocol as the simulator runs with real nodes, but on abstract state:
 * - the same topology rule (each peer links to `knows` random peers), link model (one-way latency
 *   + uniform jitter, each frame lost with probability `loss`) and transaction load (a proposal to
 *   a random neighbour every `txIntervalMs`, resent after retryMs, doubling, until timeoutMs);
 * - the same push rule (node/two-hop.ts, node/rendezvous.ts): each party (the counterparty only, unless
 *   pushOwn) sends a new block to the `pushFanout` peers nearest the block's slot on the push ring
 *   among its neighbours and theirs — directly to a neighbour, otherwise as a `push-via` to the
 *   neighbour that knows the target, which stores the block and forwards it once; nobody else
 *   relays. Neighbour lists are exchanged once at the start (their bytes are not counted);
 * - the same detection rule: a peer holding one block at a (key, seq) that receives another one
 *   there (or the forker's next block, which does not chain to the fork) makes the proof; each
 *   peer that gets a proof first tells `fraudFanout` random neighbours (proofRelay 'announce': a
 *   `fraud-have`, answered by a `fraud-want` from a neighbour without it, answered by the proof,
 *   asked again of the next announcer after wantTimeoutMs; 'push': the proof itself);
 * - the same refusals: a peer holding a proof neither proposes to nor countersigns for the cheater;
 * - bytes: every frame is counted with the size of its real encoding (measured once from
 *   encodeMessage on blocks shaped like the simulator's).
 *
 * What it leaves out: signatures and validation (blocks are ids), the handshake (links exist from
 * the start), session rate limits (never reached by this load), and the pull gossip's effect on
 * detection: pull requests, replies and audit crawls are counted in the bytes, but a contradicting
 * head or audited slot does not lead to a proof (so the model's detection is, if anything,
 * pessimistic).
 * @module
 */
import { GENESIS_HASH, createFraudProof, identityFromSeed, signBlock, type HalfBlock } from '@tally/core'
import { encodeMessage } from '../wire/messages.js'
import { DEFAULT_GOSSIP, WANT_ATTEMPTS, type GossipOptions } from '../node/options.js'
import { createRandom, type Random } from '../random.js'
import { ringDistance, ringPosition, ringSearch, slotWordOf } from '../node/rendezvous.js'
import { detectionStats } from './detection.js'
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

// ## Frame sizes

interface Sizes {
  proposal: number
  agreement: number
  push: number
  pushVia: number
  fraud: number
  fraudHave: number
  fraudWant: number
  error: number
  headsRequestBase: number
  headsRequestPerKey: number
  headsBase: number
  headsPerHead: number
  crawlRequest: number
  crawlAnswer: number
}

let sizesCache: Sizes | undefined

/** Sizes of real frames carrying blocks shaped like the simulator's ('tx' type, payload 0). */
function frameSizes(): Sizes {
  if (sizesCache !== undefined) return sizesCache
  const a = identityFromSeed(new Uint8Array(32).fill(1))
  const b = identityFromSeed(new Uint8Array(32).fill(2))
  const mk = (seq: number, linkSeq: number, payload: number | string[]): HalfBlock =>
    signBlock({ publicKey: a.publicKey, seq, linkPublicKey: b.publicKey, linkSeq, previousHash: seq === 1 ? GENESIS_HASH : new Uint8Array(32).fill(9), type: 'tx', payload: payload as never, timestamp: 1_700_000_000_000 }, a)
  // seqs of a 30-60 s run are in the tens: a one-byte uint head plus one byte
  const p = mk(40, 0, 0)
  const prev = mk(39, 0, 0)
  const g = mk(40, 41, 0)
  const proof = createFraudProof('double-sign', [p, mk(40, 0, ['fork', '40'])])
  const key = a.publicKey
  const head = { publicKey: key, seq: 40, hash: key }
  const one = encodeMessage({ type: 'heads-request', requestId: 1000, publicKeys: [key] }).length
  const two = encodeMessage({ type: 'heads-request', requestId: 1000, publicKeys: [key, key] }).length
  const h1 = encodeMessage({ type: 'heads', requestId: 1000, heads: [head] }).length
  const h2 = encodeMessage({ type: 'heads', requestId: 1000, heads: [head, head] }).length
  sizesCache = {
    proposal: encodeMessage({ type: 'proposal', requestId: 1000, block: p, context: [prev] }).length,
    agreement: encodeMessage({ type: 'agreement', requestId: 1000, block: g }).length,
    push: encodeMessage({ type: 'push', blocks: [p] }).length,
    pushVia: encodeMessage({ type: 'push-via', to: key.subarray(0, 8), blocks: [p] }).length,
    fraud: encodeMessage({ type: 'fraud', proof }).length,
    fraudHave: encodeMessage({ type: 'fraud-have', publicKey: key }).length,
    fraudWant: encodeMessage({ type: 'fraud-want', publicKey: key }).length,
    error: encodeMessage({ type: 'error', requestId: 1000, code: 'refused', reason: 'xxxxxxxx is a proven cheater' }).length,
    headsRequestBase: one - (two - one),
    headsRequestPerKey: two - one,
    headsBase: h1 - (h2 - h1),
    headsPerHead: h2 - h1,
    crawlRequest: encodeMessage({ type: 'crawl-request', requestId: 1000, publicKey: key, start: 40, end: 40 }).length,
    crawlAnswer: encodeMessage({ type: 'crawl-answer', requestId: 1000, publicKey: key, latest: 45, blocks: [p] }).length,
  }
  return sizesCache
}

// ## The event queue: a binary heap on (time, order) over parallel arrays (no object per event)

const enum Ev {
  Tick,
  ProposalArrives,
  AgreementArrives,
  ErrorArrives,
  Retry,
  PushArrives,
  Pull,
  Fork,
  RelayArrives,
}

class Queue {
  #size = 0
  #order = 0
  #times = new Float64Array(1024)
  #orders = new Float64Array(1024)
  #kinds = new Uint8Array(1024)
  #as = new Int32Array(1024)
  #bs = new Int32Array(1024)
  #xs: unknown[] = new Array(1024)
  // the event popped last
  t = 0
  kind: Ev = Ev.Tick
  a = 0
  b = 0
  x: unknown = undefined

  get size(): number {
    return this.#size
  }

  /** Time of the next event (Infinity when none). */
  get next(): number {
    return this.#size === 0 ? Number.POSITIVE_INFINITY : this.#times[0]!
  }

  push(t: number, kind: Ev, a: number, b: number, x: unknown): void {
    if (this.#size === this.#times.length) this.#grow()
    const order = this.#order++
    let i = this.#size++
    const times = this.#times
    const orders = this.#orders
    while (i > 0) {
      const p = (i - 1) >> 1
      const pt = times[p]!
      if (pt < t || (pt === t && orders[p]! < order)) break
      this.#move(p, i)
      i = p
    }
    this.#set(i, t, order, kind, a, b, x)
  }

  /** Remove the first event into t, kind, a, b, x. */
  pop(): void {
    const times = this.#times
    const orders = this.#orders
    this.t = times[0]!
    this.kind = this.#kinds[0]! as Ev
    this.a = this.#as[0]!
    this.b = this.#bs[0]!
    this.x = this.#xs[0]
    const n = --this.#size
    if (n === 0) {
      this.#xs[0] = undefined
      return
    }
    const t = times[n]!
    const order = orders[n]!
    const kind = this.#kinds[n]! as Ev
    const a = this.#as[n]!
    const b = this.#bs[n]!
    const x = this.#xs[n]
    this.#xs[n] = undefined
    let i = 0
    for (;;) {
      let c = 2 * i + 1
      if (c >= n) break
      if (c + 1 < n && (times[c + 1]! < times[c]! || (times[c + 1] === times[c] && orders[c + 1]! < orders[c]!))) c++
      if (t < times[c]! || (t === times[c] && order < orders[c]!)) break
      this.#move(c, i)
      i = c
    }
    this.#set(i, t, order, kind, a, b, x)
  }

  #move(from: number, to: number): void {
    this.#times[to] = this.#times[from]!
    this.#orders[to] = this.#orders[from]!
    this.#kinds[to] = this.#kinds[from]!
    this.#as[to] = this.#as[from]!
    this.#bs[to] = this.#bs[from]!
    this.#xs[to] = this.#xs[from]
  }

  #set(i: number, t: number, order: number, kind: Ev, a: number, b: number, x: unknown): void {
    this.#times[i] = t
    this.#orders[i] = order
    this.#kinds[i] = kind
    this.#as[i] = a
    this.#bs[i] = b
    this.#xs[i] = x
  }

  #grow(): void {
    const size = this.#times.length * 2
    const grow = <T extends Float64Array | Uint8Array | Int32Array>(old: T, make: (n: number) => T): T => {
      const next = make(size)
      next.set(old)
      return next
    }
    this.#times = grow(this.#times, (k) => new Float64Array(k))
    this.#orders = grow(this.#orders, (k) => new Float64Array(k))
    this.#kinds = grow(this.#kinds, (k) => new Uint8Array(k))
    this.#as = grow(this.#as, (k) => new Int32Array(k))
    this.#bs = grow(this.#bs, (k) => new Int32Array(k))
    this.#xs.length = size
  }
}

// ## The model

const PROOF_ARRIVES = 0
const ANNOUNCEMENT_ARRIVES = 1
const WANT_TIMEOUT = 2

/** A block being spread: who holds it. */
interface Spread {
  readonly owner: number
  readonly seq: number
  readonly link: number
  readonly slot: number
  readonly holders: Set<number>
  /** The fork this block belongs to (as its first block, its second, or the forker's next), if any. */
  fork: ForkState | undefined
  role: 0 | 1 | 2 // 0: the first block X, 1: the fork Y, 2: the forker's next block Z
}

interface ForkState {
  readonly index: number
  readonly forker: number
  readonly x: Spread
  y: Spread | undefined
  z: Spread | undefined
  releasedAt: number
  /** When each peer first holds the proof (Infinity: never; may lie ahead of the model's now). */
  readonly held: Float64Array
  /** proofRelay 'announce': until when each peer waits for the proof it asked for, and how often it asked. */
  wantUntil: Float64Array | undefined
  asked: Uint8Array | undefined
}

interface Tx {
  readonly from: number
  readonly to: number
  readonly proposal: Spread
  agreement: Spread | undefined
  done: boolean
  wait: number
  readonly deadline: number
  readonly isFork: boolean
}

class Model {
  readonly #o: Required<Omit<GossipModelOptions, 'onProgress' | 'gossip' | 'transact' | 'forkWindow'>>
  readonly #g: GossipOptions
  readonly #tx: { timeoutMs: number; retryMs: number; maxRetryMs: number }
  readonly #window: readonly [number, number]
  readonly #onProgress: GossipModelOptions['onProgress']
  readonly #random: Random
  readonly #q = new Queue()
  readonly #sizes = frameSizes()
  #now = 0
  /** Bytes sent, by kind of frame (fraud: the proof frames and their announcements and requests). */
  readonly #bytes = { transact: 0, push: 0, fraud: 0, pull: 0 }
  #transactions = 0
  #running = true
  // per peer
  readonly #adj: Int32Array[] = []
  readonly #w0: Uint32Array
  readonly #w1: Uint32Array
  readonly #seq: Int32Array
  readonly #inFlight: Int32Array
  readonly #latest: (Spread | undefined)[]
  readonly #latestDone: Uint8Array
  readonly #forkAt: Float64Array
  readonly #forkState: (ForkState | undefined)[]
  readonly #known: Uint32Array
  readonly #words: number
  readonly #recent: Int32Array
  readonly #recentCount: Int32Array
  readonly #forks: ForkState[] = []
  readonly #isForker: Uint8Array
  // per peer: its neighbours' ring positions, sorted, and the neighbours in that order
  readonly #ringPos: Uint32Array[] = []
  readonly #ringPeer: Int32Array[] = []
  readonly #position: Uint32Array
  readonly #buckets: (number[] | undefined)[] = []
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
    this.#g = { ...DEFAULT_GOSSIP, ...options.gossip }
    this.#tx = { timeoutMs: 10_000, retryMs: 1000, maxRetryMs: 8000, ...options.transact }
    this.#onProgress = options.onProgress
    this.#random = createRandom(this.#o.seed)
    const r = this.#random
    this.#w0 = new Uint32Array(n)
    this.#w1 = new Uint32Array(n)
    for (let i = 0; i < n; i++) {
      this.#w0[i] = Math.floor(r() * 0x1_0000_0000)
      this.#w1[i] = Math.floor(r() * 0x1_0000_0000)
    }
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
    for (let i = 0; i < n; i++) this.#adj.push(Int32Array.from(sets[i]!))
    this.#position = new Uint32Array(n)
    for (let i = 0; i < n; i++) this.#position[i] = ringPosition(this.#w0[i]!, this.#w1[i]!)
    for (let i = 0; i < n; i++) {
      const peers = Array.from(this.#adj[i]!).sort((a, b) => this.#position[a]! - this.#position[b]!)
      this.#ringPeer.push(Int32Array.from(peers))
      this.#ringPos.push(Uint32Array.from(peers, (k) => this.#position[k]!))
    }
    this.#seq = new Int32Array(n)
    this.#inFlight = new Int32Array(n)
    this.#latest = new Array(n).fill(undefined)
    this.#latestDone = new Uint8Array(n)
    this.#forkAt = new Float64Array(n).fill(Number.POSITIVE_INFINITY)
    this.#forkState = new Array(n).fill(undefined)
    this.#isForker = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      if (r() < this.#o.forkProbability) {
        this.#isForker[i] = 1
        this.#forkAt[i] = this.#window[0] + r() * (this.#window[1] - this.#window[0])
      }
    }
    this.#words = Math.ceil(n / 32)
    this.#known = new Uint32Array(n * this.#words)
    this.#recent = new Int32Array(n * 32)
    this.#recentCount = new Int32Array(n)
  }

  run(): ContribResult {
    const t0 = performance.now()
    const n = this.#o.nodes
    const interval = this.#o.txIntervalMs
    for (let i = 0; i < n; i++) {
      this.#q.push(Math.floor(this.#random() * interval), Ev.Tick, i, 0, undefined)
      if (this.#g.pullIntervalMs > 0) this.#q.push(this.#g.pullIntervalMs * (0.5 + this.#random()), Ev.Pull, i, 0, undefined)
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

  #handle(kind: Ev, a: number, b: number, x: unknown): void {
    switch (kind) {
      case Ev.Tick:
        return this.#tick(a)
      case Ev.ProposalArrives:
        return this.#onProposal(x as Tx)
      case Ev.AgreementArrives:
        return this.#onAgreement(x as Tx)
      case Ev.ErrorArrives:
        return this.#finishTx(x as Tx, false)
      case Ev.Retry:
        return this.#retry(x as Tx)
      case Ev.PushArrives:
        return this.#onPush(x as Spread, a)
      case Ev.Pull:
        return this.#pull(a)
      case Ev.Fork:
        return this.#fork(a, b)
      case Ev.RelayArrives: {
        const r = x as { s: Spread; t: number }
        return this.#onRelay(r.s, a, r.t)
      }
    }
  }

  // ## Transactions

  #tick(i: number): void {
    if (!this.#running) return
    if (this.#forkState[i] === undefined && this.#now >= this.#forkAt[i]!) {
      this.#forkAt[i] = Number.POSITIVE_INFINITY
      this.#q.push(this.#now, Ev.Fork, i, 0, undefined)
    } else if (this.#inFlight[i]! < 4) {
      const adj = this.#adj[i]!
      const j = adj[Math.floor(this.#random() * adj.length)]!
      // agent.propose refuses a proven cheater before anything is signed or sent
      if (!this.#refuses(i, j)) {
        this.#inFlight[i]!++
        const proposal = this.#newBlock(i, j, false)
        this.#send(i, j, Ev.ProposalArrives, this.#sizes.proposal, { from: i, to: j, proposal, agreement: undefined, done: false, wait: this.#tx.retryMs, deadline: this.#now + this.#tx.timeoutMs, isFork: false } satisfies Tx)
      }
    }
    this.#q.push(this.#now + this.#o.txIntervalMs, Ev.Tick, i, 0, undefined)
  }

  #send(from: number, to: number, kind: Ev, size: number, tx: Tx): void {
    this.#count('transact', size)
    if (kind === Ev.ProposalArrives) this.#q.push(this.#now + tx.wait, Ev.Retry, 0, 0, tx)
    const d = this.#delay()
    if (d >= 0) this.#q.push(this.#now + d, kind, to, from, tx)
  }

  #retry(tx: Tx): void {
    if (tx.done) return
    if (this.#now >= tx.deadline) return this.#finishTx(tx, false)
    tx.wait = Math.min(tx.wait * 2, this.#tx.maxRetryMs)
    this.#send(tx.from, tx.to, Ev.ProposalArrives, this.#sizes.proposal, tx)
  }

  #onProposal(tx: Tx): void {
    const b = tx.to
    const a = tx.from
    if (tx.agreement !== undefined) {
      this.#send(b, a, Ev.AgreementArrives, this.#sizes.agreement, tx) // a resend: the same agreement
      return
    }
    // the counterparty validates the proposal and its context (the proposer's previous block)
    // against what it holds: the fork meets its first block, or the forker's next block meets the fork
    const f = tx.proposal.fork
    if (f !== undefined && b !== f.forker) {
      if (tx.proposal.role === 1 && (f.x.holders.has(b) || f.z?.holders.has(b) === true)) this.#detect(f, b)
      if (tx.proposal.role === 2 && f.y?.holders.has(b) === true) this.#detect(f, b)
    }
    if (this.#refuses(b, a)) {
      this.#send(b, a, Ev.ErrorArrives, this.#sizes.error, tx)
      return
    }
    this.#hold(tx.proposal, b)
    tx.agreement = this.#newBlock(b, a, true)
    this.#spread(tx.proposal, b)
    this.#spread(tx.agreement, b)
    this.#send(b, a, Ev.AgreementArrives, this.#sizes.agreement, tx)
  }

  #onAgreement(tx: Tx): void {
    if (tx.done) return
    if (!tx.isFork) {
      this.#hold(tx.agreement!, tx.from)
      this.#spread(tx.proposal, tx.from)
      this.#spread(tx.agreement!, tx.from)
      this.#transactions++
      if (this.#latest[tx.from] === tx.proposal) this.#latestDone[tx.from] = 1
    }
    this.#finishTx(tx, true)
  }

  #finishTx(tx: Tx, _ok: boolean): void {
    if (tx.done) return
    tx.done = true
    if (!tx.isFork) this.#inFlight[tx.from]!--
  }

  /** A new block in i's chain linked to j; its spread starts when a party pushes it. */
  #newBlock(i: number, j: number, agreement: boolean): Spread {
    const seq = ++this.#seq[i]!
    const s: Spread = { owner: i, seq, link: j, slot: slotWordOf(this.#w0[i]!, this.#w1[i]!, seq), holders: new Set([i]), fork: undefined, role: 0 }
    const f = this.#forkState[i]
    // the forker's next block after the fork chains to its first block: it contradicts the fork
    if (f !== undefined && f.z === undefined && seq === f.x.seq + 1) {
      s.fork = f
      s.role = 2
      f.z = s
      this.#checkHolders(f)
    }
    this.#latest[i] = s
    // an agreement is complete when signed; a proposal when its agreement is back
    this.#latestDone[i] = agreement ? 1 : 0
    this.#learn(i, i)
    return s
  }

  // ## Forks

  #fork(i: number, tries: number): void {
    const x = this.#latest[i]
    // a fork of a block nobody else holds contradicts nothing anyone knows: wait for one that is
    // complete and held by its counterparty
    if (x === undefined || this.#latestDone[i] !== 1 || !x.holders.has(x.link)) {
      if (tries < 20) this.#q.push(this.#now + 250, Ev.Fork, i, tries + 1, undefined)
      return
    }
    const adj = this.#adj[i]!
    const choices = Array.from(adj).filter((k) => k !== x.link)
    if (choices.length === 0) return
    const victim = choices[Math.floor(this.#random() * choices.length)]!
    const f: ForkState = { index: this.#forks.length, forker: i, x, y: undefined, z: undefined, releasedAt: this.#now, held: new Float64Array(this.#o.nodes).fill(Number.POSITIVE_INFINITY), wantUntil: undefined, asked: undefined }
    x.fork = f
    x.role = 0
    const y: Spread = { owner: i, seq: x.seq, link: victim, slot: x.slot, holders: new Set(), fork: f, role: 1 }
    f.y = y
    this.#forks.push(f)
    this.#forkState[i] = f
    // delivered like any proposal (resent until answered), but the forker spreads nothing of it
    this.#send(i, victim, Ev.ProposalArrives, this.#sizes.proposal, { from: i, to: victim, proposal: y, agreement: undefined, done: false, wait: this.#tx.retryMs, deadline: this.#now + this.#tx.timeoutMs, isFork: true })
  }

  /** Peers holding the fork and a block it contradicts detect it. */
  #checkHolders(f: ForkState): void {
    if (f.y === undefined) return
    for (const u of f.y.holders) {
      if (u === f.forker) continue
      if (f.x.holders.has(u) || f.z?.holders.has(u) === true) this.#detect(f, u)
    }
  }

  // ## Push gossip (the node's #spread and #relay)

  /** A party's push: to the `pushFanout` peers nearest the slot in its two-hop neighbourhood (node/two-hop.ts). */
  #spread(s: Spread, by: number): void {
    if (!this.#g.pushOwn && s.owner === by) return
    const m = this.#g.pushFanout
    if (m <= 0) return
    const best: number[] = []
    const via: number[] = []
    const dist: number[] = []
    const slot = s.slot
    const adj = this.#adj[by]!
    const consider = (t: number, k: number, d: number): void => {
      if (t === s.owner || t === s.link || t === by) return
      if (best.length === m && d >= dist[m - 1]!) return
      for (let x = 0; x < best.length; x++) if (best[x] === t) return // direct neighbours come first
      let j = best.length < m ? best.length : m - 1
      if (best.length < m) {
        best.push(t)
        via.push(k)
        dist.push(d)
      }
      while (j > 0 && dist[j - 1]! > d) {
        best[j] = best[j - 1]!
        via[j] = via[j - 1]!
        dist[j] = dist[j - 1]!
        j--
      }
      best[j] = t
      via[j] = k
      dist[j] = d
    }
    const scan = (owner: number, k: number): void => {
      const pos = this.#ringPos[owner]!
      const peer = this.#ringPeer[owner]!
      const len = pos.length
      if (len === 0) return
      const at = ringSearch(pos, slot)
      const span = Math.min(len, m + 3)
      for (let e = 0; e < span; e++) {
        const up = (at + e) % len
        const down = (at - 1 - e + len) % len
        consider(peer[up]!, k, ringDistance(slot, pos[up]!))
        consider(peer[down]!, k, ringDistance(slot, pos[down]!))
      }
    }
    scan(by, -1)
    for (let i = 0; i < adj.length; i++) scan(adj[i]!, adj[i]!)
    for (let i = 0; i < best.length; i++) {
      const t = best[i]!
      const k = via[i]!
      if (k === -1) this.#push(s, t)
      else {
        this.#count('push', this.#sizes.pushVia)
        const d = this.#delay()
        if (d >= 0) this.#q.push(this.#now + d, Ev.RelayArrives, k, by, { s, t })
      }
    }
  }

  /** A `push-via` at its relay: stored there (and checked), then forwarded to the target. */
  #onRelay(s: Spread, at: number, t: number): void {
    this.#onPush(s, at)
    // the relay forwards only blocks it holds (a conflicting one became a proof instead)
    if (s.holders.has(at)) this.#push(s, t)
  }

  #onPush(s: Spread, to: number): void {
    if (s.holders.has(to)) return // a duplicate: dropped by the session's seen cache
    const f = s.fork
    if (f !== undefined && to !== f.forker) {
      const conflict =
        s.role === 1 ? f.x.holders.has(to) || f.z?.holders.has(to) === true : f.y !== undefined && f.y.holders.has(to)
      if (conflict) {
        this.#detect(f, to) // the block is not stored, nor relayed: its proof is
        return
      }
    }
    this.#hold(s, to)
  }

  #push(s: Spread, to: number): void {
    this.#count('push', this.#sizes.push)
    const d = this.#delay()
    // a peer that already holds the block drops the copy unread: only its bytes count
    if (d >= 0 && !s.holders.has(to)) this.#q.push(this.#now + d, Ev.PushArrives, to, 0, s)
  }

  #hold(s: Spread, u: number): void {
    if (s.holders.has(u)) return
    s.holders.add(u)
    this.#learn(u, s.owner)
    const f = s.fork
    if (f !== undefined && s.role !== 1 && f.y?.holders.has(u) === true && u !== f.forker) this.#detect(f, u)
  }

  // ## Proofs
  //
  // A proof's spread depends on nothing but the links: so it is computed at once when a peer makes
  // the proof — a Dijkstra over the random relay choices — and `held` records when each peer will
  // hold it. Each peer relays once, when it first holds the proof, to `fraudFanout` random
  // neighbours but the sender: with proofRelay 'push' the proof itself; with 'announce' a
  // `fraud-have`, which a neighbour without the proof (and without a request of its own younger
  // than WANT_TIMEOUT_MS) answers with a `fraud-want`, which the announcer answers with the proof.
  // Each frame is lost with probability `loss`. Checks that depend on a proof (refusals,
  // detection) compare those times with now. A second peer that makes the proof later starts a
  // second spread from there, which only ever makes holding times earlier.

  #detect(f: ForkState, u: number): void {
    if (f.held[u]! <= this.#now) return
    this.#flood(f, u, this.#now)
  }

  #flood(f: ForkState, origin: number, t0: number): void {
    // times are whole milliseconds from t0: a bucket queue, one list of (event, peer, sender) per ms
    const buckets = this.#buckets
    buckets.length = 0
    buckets.push([PROOF_ARRIVES, origin, -1])
    const fanout = this.#g.fraudFanout
    const announce = this.#g.proofRelay === 'announce'
    const wantTimeoutMs = this.#g.wantTimeoutMs
    if (announce && f.wantUntil === undefined) {
      f.wantUntil = new Float64Array(this.#o.nodes).fill(Number.NEGATIVE_INFINITY)
      f.asked = new Uint8Array(this.#o.nodes)
    }
    const wantUntil = f.wantUntil!
    const asked = f.asked!
    const sizes = this.#sizes
    const pick = this.#pick
    const schedule = (slot: number, event: number, peer: number, from: number): void => {
      while (buckets.length <= slot) buckets.push(undefined)
      const next = buckets[slot]
      if (next === undefined) buckets[slot] = [event, peer, from]
      else next.push(event, peer, from)
    }
    for (let at = 0; at < buckets.length; at++) {
      const list = buckets[at]
      if (list === undefined) continue
      buckets[at] = undefined
      const t = t0 + at
      for (let e = 0; e < list.length; e += 3) {
        const event = list[e]!
        const u = list[e + 1]!
        const from = list[e + 2]!
        if (f.held[u]! <= t) continue
        if (event === ANNOUNCEMENT_ARRIVES || event === WANT_TIMEOUT) {
          // u asks the announcer `from` for the proof, unless it asked someone a moment ago; when
          // the answer does not come in time it asks again (another announcer, in the node)
          if (event === ANNOUNCEMENT_ARRIVES ? wantUntil[u]! > t : wantUntil[u]! > t + 0.5 || asked[u]! >= WANT_ATTEMPTS) continue
          wantUntil[u] = t + wantTimeoutMs
          asked[u]!++
          this.#count('fraud', sizes.fraudWant)
          const d1 = this.#delay()
          const d2 = d1 < 0 ? -1 : this.#delay()
          if (d1 >= 0) this.#count('fraud', sizes.fraud)
          if (d2 >= 0) {
            if (t + d1 + d2 < f.held[u]!) schedule(at + d1 + d2, PROOF_ARRIVES, u, from)
          } else if (asked[u]! < WANT_ATTEMPTS) schedule(at + Math.max(1, wantTimeoutMs), WANT_TIMEOUT, u, from)
          continue
        }
        // a peer relays once, when it first holds the proof: a later spread that reaches it
        // earlier moves its time forward and carries on from it, but its frames were counted
        const counted = f.held[u] !== Number.POSITIVE_INFINITY
        f.held[u] = t
        if (fanout === 0) continue
        const adj = this.#adj[u]!
        const all = fanout + 1 >= adj.length
        if (!all) sampleInto(adj, fanout + 1, this.#random, pick)
        const count = all ? adj.length : pick.length
        let sent = 0
        for (let i = 0; i < count && sent < fanout; i++) {
          const k = all ? adj[i]! : pick[i]!
          if (k === from) continue
          sent++
          if (!counted) this.#count('fraud', announce ? sizes.fraudHave : sizes.fraud)
          const d = this.#delay()
          if (d < 0 || t + d >= f.held[k]!) continue
          schedule(at + d, announce ? ANNOUNCEMENT_ARRIVES : PROOF_ARRIVES, k, u)
        }
      }
    }
  }

  /** True when peer u holds a proof against `key` now (it refuses it). */
  #refuses(u: number, key: number): boolean {
    const f = this.#forkState[key]
    return f !== undefined && f.held[u]! <= this.#now
  }

  // ## Pull (bytes only)

  #pull(i: number): void {
    if (this.#now <= this.#o.durationMs + this.#o.settleMs) {
      const adj = this.#adj[i]!
      const j = adj[Math.floor(this.#random() * adj.length)]!
      const count = Math.min(this.#g.headsPerPull, this.#recentCount[i]!)
      if (count > 0) {
        this.#count('pull', this.#sizes.headsRequestBase + this.#sizes.headsRequestPerKey * count)
        let known = 0
        for (let k = 0; k < count; k++) if (this.#knows(j, this.#recent[i * 32 + ((this.#recentCount[i]! - 1 - k) & 31)]!)) known++
        // the reply is lost or not: its bytes are sent either way
        this.#count('pull', this.#sizes.headsBase + this.#sizes.headsPerHead * known)
        // the audit: a one-block crawl of a chain both know
        if (known > 0) this.#count('pull', this.#g.auditsPerPull * (this.#sizes.crawlRequest + this.#sizes.crawlAnswer))
      }
      this.#q.push(this.#now + this.#g.pullIntervalMs * (0.5 + this.#random()), Ev.Pull, i, 0, undefined)
    }
  }

  #learn(u: number, owner: number): void {
    const w = u * this.#words + (owner >>> 5)
    const bit = 1 << (owner & 31)
    if ((this.#known[w]! & bit) === 0) this.#known[w]! |= bit
    // most recently learnt chains, for the pull requests (a ring of 32)
    this.#recent[u * 32 + (this.#recentCount[u]! & 31)] = owner
    this.#recentCount[u]!++
  }

  #knows(u: number, owner: number): boolean {
    return (this.#known[u * this.#words + (owner >>> 5)]! & (1 << (owner & 31))) !== 0
  }

  // ## Links

  #count(kind: 'transact' | 'push' | 'fraud' | 'pull', bytes: number): void {
    this.#bytes[kind] += bytes
  }

  /** One-way delay of a frame, or -1 when it is lost. */
  #delay(): number {
    if (this.#o.loss > 0 && this.#random() < this.#o.loss) return -1
    return this.#o.latencyMs + Math.floor(this.#random() * (this.#o.jitterMs + 1))
  }

  // ## Measures

  #measure(seconds: number, wallMs: number): ContribResult {
    const n = this.#o.nodes
    const forkers = new Set(this.#forks.map((f) => f.forker))
    const honest: number[] = []
    for (let i = 0; i < n; i++) if (!forkers.has(i)) honest.push(i)
    const perFork = this.#forks.map((f) => {
      const times: number[] = []
      for (const i of honest) {
        const t = f.held[i]!
        if (t !== Number.POSITIVE_INFINITY) times.push(Math.max(0, t - f.releasedAt) / 1000)
      }
      return times
    })
    const stats = detectionStats(perFork, honest.length)
    const b = this.#bytes
    return {
      nodes: n,
      honest: honest.length,
      loss: this.#o.loss,
      durationS: seconds,
      transactions: this.#transactions,
      forks: this.#forks.length,
      ...stats,
      honestAccused: 0,
      bytesPerPeerS: (b.transact + b.push + b.fraud + b.pull) / n / seconds,
      proofBytesPerPeerS: b.fraud / n / seconds,
      bytesPerPeerSByKind: { transact: b.transact / n / seconds, push: b.push / n / seconds, fraud: b.fraud / n / seconds, pull: b.pull / n / seconds },
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
