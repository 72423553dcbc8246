/**
 * The node: a core Agent running on the network. It accepts and dials peers (every session starts
 * with the handshake), carries transactions (`transact` resolves when the agreement is back), and
 * spreads blocks and fraud proofs so that a fork is caught and everyone learns of it.
 *
 * How blocks spread (every number is a GossipOptions field):
 * - neighbour lists: each node tells each neighbour the 8-byte ids (first 8 key bytes) of its
 *   neighbours in a `neighbours` message — the whole list to a peer when its first session opens,
 *   and to every neighbour when the set changed, at most once per `neighboursIntervalMs` (on the
 *   node's clock). Each neighbour's last list is kept sorted by ring position (two-hop.ts) and
 *   forgotten when the neighbour goes. A node that does not push (pushFanout 0) sends none;
 * - push: the two parties to a transaction each push both halves (their own half only with `pushOwn`)
 *   to the `pushFanout` peers nearest the block's slot (slotWord(key, seq)) on the push ring
 *   (ringPosition of the first 8 key bytes, rendezvous.ts), chosen among its neighbours and the
 *   peers they listed, but itself and the block's two parties. A neighbour gets a `push`; a peer
 *   two hops away a `push-via` { to: its id, blocks } sent to a neighbour that listed it. Two
 *   conflicting blocks at one (key, seq), pushed by different honest counterparties, so head for
 *   the same few peers: the nearest to the slot in two overlapping two-hop neighbourhoods;
 * - forward: a node that gets a push-via checks and stores its blocks as a push, and when every
 *   block was valid (new or known: an invalid one, or one that contradicts the store and became a
 *   proof, is never forwarded) sends them in a plain `push` to its neighbour whose key starts with
 *   `to`, at most once per (block hash, to); a target that is no neighbour (any more) is counted
 *   in stats.forwardMissed. A plain push is never relayed: the ring replaces the relays;
 * - pull: every ~`pullIntervalMs` a node asks one random neighbour for its heads (key, seq, hash)
 *   of the chains this node learnt of most recently; a head that contradicts a stored block (same
 *   seq, another hash; or the stored next block does not chain to it) makes the node crawl that
 *   seq from the peer, which turns the conflict into a proof. Heads announced unasked (requestId
 *   0) are checked the same way. Then it audits `auditsPerPull` random slots of those chains
 *   (a one-block crawl each): tips move on, and the audit is what eventually finds a fork below
 *   them that the pushes missed;
 * - crawl: ranges of a chain on request, at most limits.maxCrawlBlocks blocks (and one frame) per
 *   answer, ranges clamped by resolveCrawlRange.
 *
 * Fraud: a conflicting block from any path (a push, a push-via, a crawl, a proposal, its context, a
 * witness's answer) is validated by core's `validate`, which makes the proof. Proofs from peers are
 * verified with verifyFraudProof before anything else; a forged one costs its sender score. Each
 * proof is handled once (seen cache on its id). The first proof a node holds against a key —
 * even when a block at that (key, seq) went by before, because proofs and blocks are cached apart —
 * is made known to every neighbour (or `fraudFanout` random ones) but the one it came from, as
 * `proofRelay` says:
 * - 'announce' (default): a `fraud-have` { publicKey } (36 bytes). A node that holds no proof
 *   against that key and has not asked for one in the last `wantTimeoutMs` answers with a
 *   `fraud-want` { publicKey }; a node asked answers with a `fraud` carrying a proof it holds, once
 *   per (peer, key) per wantTimeoutMs, nothing when it holds none. So each node receives about one
 *   proof per fork, not one per neighbour that has it. A want unanswered after wantTimeoutMs is
 *   asked again of the next neighbour that announced the proof (or the same one), WANT_ATTEMPTS
 *   times in all;
 * - 'push': the `fraud` itself.
 * A proof received in answer is handled as any other (verified, stored, announced onwards). One
 * proof convicts: proofs from peers against a key already refused are dropped unverified. A node
 * holding a proof against a key refuses to transact with it, both ways, and a peer that asks about
 * the key in a heads request gets the proof too (once per session).
 *
 * Concurrency: Agent.agree() and Agent.receive() do not share a lock, so every call that writes
 * through the agent (receive, agree, complete, addFraudProof) runs on one queue per node; their
 * reads and the network waits (witness queries, resends) stay outside it.
 * @module
 */
import {
  ClosedError,
  ConflictError,
  FraudError,
  InvalidBlockError,
  RefusedError,
  abytes,
  blockHash,
  blockSize,
  concatBytes,
  createAgent,
  createBlockTypes,
  equalBytes,
  fraudProofId,
  isProposal,
  shortKey,
  toHex,
  verifyFraudProof,
  type Agent,
  type BlockStore,
  type BlockTypes,
  type CborValue,
  type Clock,
  type Connection,
  type CryptoProvider,
  type FraudProof,
  type HalfBlock,
  type Identity,
  type PublicKeyHex,
  type TimerHandle,
  type Transaction,
  type Transport,
  type TransportAddress,
} from '@tally/core'
import { TypedEmitter } from './emitter.js'
import {
  DEFAULT_GOSSIP,
  WANT_ATTEMPTS,
  checkGossip,
  checkTransact,
  checkWitnesses,
  definedOnly,
  nonNegative,
  type GossipOptions,
  type Node,
  type NodeEvents,
  type NodeOptions,
  type NodePeer,
  type NodeStats,
  type TransactOptions,
} from './options.js'
import { performHandshake } from '../wire/handshake.js'
import { resolveLimits, type Limits } from '../wire/limits.js'
import {
  resolveCrawlRange,
  type CrawlRequestMessage,
  type Head,
  type HeadsRequestMessage,
  type ProposalMessage,
  type PushViaMessage,
  type SessionMessage,
  type WitnessQueryMessage,
} from '../wire/messages.js'
import { NodeError, TransactTimeoutError, UnreachableError } from './errors.js'
import { PeerTable, type Neighbour } from './peer-table.js'
import { createRandom, type Random } from '../random.js'
import { slotWord } from './rendezvous.js'
import { createSeenCache, type SeenCache } from '../wire/seen-cache.js'
import { createSession, type Session, type SessionCloseInfo } from '../wire/session.js'
import { systemClock } from '../time/system-clock.js'
import { TwoHopTable } from './two-hop.js'
import { consultWitnesses, type WitnessOptions } from './witness.js'

/**
 * A node running `identity`'s agent over `transport`.
 * @param options identity, store, transport, types, clock, limits, gossip and witness settings
 * @returns the node (not listening yet: call listen() to accept peers)
 * @throws TypeError / RangeError on malformed options
 * @example
 * const node = createNode({ identity, store: createMemoryStore(), transport: createWsTransport({ port: 0 }), types })
 * await node.listen()
 * const bob = await node.connect('ws://127.0.0.1:4001/')
 * const { agreement } = await node.transact(bob, 'note', 'hello')
 */
export function createNode(options: NodeOptions): Node {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected an object')
  if (typeof options.identity?.sign !== 'function') throw new TypeError('"identity" expected an Identity')
  if (typeof options.store?.batch !== 'function') throw new TypeError('"store" expected a BlockStore')
  if (typeof options.transport?.connect !== 'function') throw new TypeError('"transport" expected a Transport')
  return new GossipNode(options)
}

export { DEFAULT_GOSSIP, WANT_ATTEMPTS, type GossipOptions, type Node, type NodeEvents, type NodeOptions, type NodePeer, type NodeStats, type TransactOptions }

// ## The node

/** Cost charged for a forged fraud proof (half a disconnect with the default limits). */
const FORGED_PROOF_COST = 50
/** Cost charged for a block whose signature or form is broken. */
const BAD_BLOCK_COST = 20
/** Cost charged for a block that breaks a chain or type rule (could be honest ignorance, so small). */
const INVALID_BLOCK_COST = 5
/** Chains whose latest head is remembered for pull gossip. */
const RECENT_CHAINS = 1024

type ProofOrigin = 'peer' | 'found' | 'stored'
/** Neighbours kept per awaited proof, to ask in turn. */
const MAX_ANNOUNCERS = 8
/** Proofs awaited at once; announcements beyond wait for a later one. */
const MAX_WANTS = 1024

/** A proof this node asked for. */
interface Want {
  readonly key: Uint8Array
  /** The neighbours that announced it, the first one asked first. */
  announcers: Session[]
  asked: number
  timer: TimerHandle | undefined
}
type Outcome = 'new' | 'known' | 'invalid' | 'fraud'

class GossipNode implements Node {
  readonly publicKey: Uint8Array
  readonly agent: Agent
  readonly store: BlockStore
  readonly stats: NodeStats = {
    transactions: 0,
    proposalsSent: 0,
    blocksReceived: 0,
    pushesSent: 0,
    pushViaSent: 0,
    forwarded: 0,
    forwardMissed: 0,
    headsSent: 0,
    crawlsSent: 0,
    proofs: 0,
    proofsSent: 0,
    proofAnnouncements: 0,
    proofWants: 0,
    forgedProofs: 0,
    refused: 0,
  }
  readonly #identity: Identity
  readonly #transport: Transport
  readonly #types: BlockTypes
  readonly #clock: Clock
  readonly #crypto: CryptoProvider
  readonly #limits: Readonly<Limits>
  readonly #gossip: Readonly<GossipOptions>
  readonly #tx: Required<TransactOptions>
  readonly #witnesses: WitnessOptions | undefined
  readonly #random: Random
  readonly #banMs: number
  readonly #events: TypedEmitter<NodeEvents>
  readonly #peers: PeerTable
  readonly #frames: SeenCache
  readonly #challenges: SeenCache
  readonly #proofIds: SeenCache
  readonly #relayedAccused: SeenCache
  /** (block hash, target id) of the blocks forwarded on a push-via. */
  readonly #forwards: SeenCache
  /** Proofs this node asked for and waits for, by accused key. */
  readonly #wants = new Map<PublicKeyHex, Want>()
  /** (peer key, accused key) of the fraud-wants answered in the last wantTimeoutMs. */
  readonly #answered: SeenCache
  readonly #twoHop: TwoHopTable<Neighbour>
  readonly #banned = new Map<PublicKeyHex, number>()
  readonly #dialing = new Map<PublicKeyHex, Promise<Session>>()
  readonly #agreeing = new Map<string, Promise<HalfBlock>>()
  readonly #crawling = new Set<string>()
  readonly #recent = new Map<PublicKeyHex, HalfBlock>()
  readonly #told = new WeakMap<Session, Set<PublicKeyHex>>()
  readonly #sleeps = new Set<{ timer: TimerHandle; reject: (e: Error) => void }>()
  #tail: Promise<unknown> = Promise.resolve()
  #address: TransportAddress | undefined
  #pullTimer: TimerHandle | undefined
  #neighboursTimer: TimerHandle | undefined
  #neighboursSentAt = Number.NEGATIVE_INFINITY
  #closed = false
  #closing: Promise<void> | undefined

  constructor(options: NodeOptions) {
    this.#identity = options.identity
    this.publicKey = options.identity.publicKey
    this.store = options.store
    this.#transport = options.transport
    this.#types = options.types ?? createBlockTypes()
    this.#clock = options.clock ?? systemClock
    this.#crypto = options.crypto ?? options.identity.crypto
    this.#limits = resolveLimits(options.limits)
    this.#gossip = checkGossip({ ...DEFAULT_GOSSIP, ...definedOnly(options.gossip ?? {}) }, this.#limits)
    this.#tx = checkTransact({ timeoutMs: 30_000, retryMs: 1000, maxRetryMs: 8000, ...definedOnly(options.transact ?? {}) })
    this.#witnesses = checkWitnesses(options.witnesses)
    this.#random = options.random ?? seededRandom(this.#crypto)
    this.#banMs = nonNegative('banMs', options.banMs ?? 60_000)
    const cacheSize = options.cacheSize ?? 100_000
    if (!Number.isSafeInteger(cacheSize) || cacheSize < 16) throw new RangeError(`"cacheSize" expected an integer >= 16, got ${String(cacheSize)}`)
    this.#frames = createSeenCache({ max: cacheSize })
    this.#challenges = createSeenCache({ max: cacheSize })
    this.#proofIds = createSeenCache({ max: cacheSize })
    this.#relayedAccused = createSeenCache({ max: cacheSize })
    this.#forwards = createSeenCache({ max: cacheSize })
    // a peer whose first answer was lost asks again after wantTimeoutMs: answer it again then
    const want = this.#gossip.wantTimeoutMs
    this.#answered = createSeenCache({ max: cacheSize, ...(want > 0 ? { ttlMs: want, clock: this.#clock } : {}) })
    this.#peers = new PeerTable(Math.max(1024, cacheSize))
    this.#twoHop = new TwoHopTable(this.publicKey)
    this.#events = new TypedEmitter<NodeEvents>((error) => this.#events.emit('error', { error, context: 'event handler' }))
    // block timestamps follow the node's clock (virtual time in a simulation)
    this.agent = createAgent({ identity: options.identity, store: options.store, types: this.#types, clock: () => Math.floor(this.#clock.now()) })
  }

  // ## Events

  on<K extends keyof NodeEvents>(event: K, handler: (value: NodeEvents[K]) => void): () => void {
    return this.#events.on(event, handler)
  }

  once<K extends keyof NodeEvents>(event: K, handler: (value: NodeEvents[K]) => void): () => void {
    return this.#events.once(event, handler)
  }

  off<K extends keyof NodeEvents>(event: K, handler: (value: NodeEvents[K]) => void): void {
    this.#events.off(event, handler)
  }

  // ## Peers

  get address(): TransportAddress | undefined {
    return this.#address
  }

  get open(): boolean {
    return !this.#closed
  }

  get peers(): readonly NodePeer[] {
    const out: NodePeer[] = []
    for (const n of this.#peers.list) {
      const s = n.sessions.find((x) => x.open)
      if (s !== undefined) out.push({ publicKey: n.publicKey, address: s.remoteAddress, direction: s.direction, sessions: n.sessions.length })
    }
    return out
  }

  async listen(): Promise<TransportAddress> {
    this.#checkOpen()
    this.#address = await this.#transport.listen((conn) => {
      this.#open(conn, undefined).catch(() => undefined) // a failed handshake closes its connection
    })
    return this.#address
  }

  async connect(address: TransportAddress, options: { expectedPeer?: Uint8Array } = {}): Promise<Uint8Array> {
    this.#checkOpen()
    if (typeof address !== 'string') throw new TypeError('"address" expected a string')
    if (options.expectedPeer !== undefined) abytes('expectedPeer', options.expectedPeer, 32)
    const conn = await this.#transport.connect(address)
    if (this.#closed) {
      conn.close(1001, 'node closed')
      throw new ClosedError('node closed')
    }
    const session = await this.#open(conn, options.expectedPeer)
    this.#peers.setAddress(session.peerKey, address)
    return session.peerKey
  }

  attach(connection: Connection, peerKey: Uint8Array): void {
    this.#checkOpen()
    abytes('peerKey', peerKey, 32)
    if (equalBytes(peerKey, this.publicKey)) throw new RangeError('"peerKey" is this node')
    this.#adopt(createSession(connection, this.#sessionOptions(peerKey)))
  }

  addAddress(publicKey: Uint8Array, address: TransportAddress): void {
    abytes('publicKey', publicKey, 32)
    if (typeof address !== 'string') throw new TypeError('"address" expected a string')
    this.#peers.setAddress(publicKey, address)
  }

  disconnect(publicKey: Uint8Array): void {
    abytes('publicKey', publicKey, 32)
    const n = this.#peers.get(toHex(publicKey))
    for (const s of [...(n?.sessions ?? [])]) s.close('disconnect')
  }

  /** Handshake on a fresh connection, then the session. */
  async #open(conn: Connection, expectedPeer: Uint8Array | undefined): Promise<Session> {
    const result = await performHandshake(conn, {
      identity: this.#identity,
      clock: this.#clock,
      limits: this.#limits,
      challenges: this.#challenges,
      crypto: this.#crypto,
      accept: (key) => !this.#isBanned(toHex(key)),
      ...(expectedPeer !== undefined ? { expectedPeer } : {}),
    })
    const session = createSession(conn, { ...this.#sessionOptions(result.peerKey), version: result.version, sessionId: result.sessionId })
    if (this.#closed) {
      session.close('node closed')
      throw new ClosedError('node closed')
    }
    this.#adopt(session)
    return session
  }

  #sessionOptions(peerKey: Uint8Array): Parameters<typeof createSession>[1] {
    return {
      peerKey,
      clock: this.#clock,
      limits: this.#limits,
      seen: this.#frames,
      crypto: this.#crypto,
      onError: (error) => this.#report(error, 'message handler'),
    }
  }

  /** Register a new session, then start reading it. */
  #adopt(session: Session): void {
    const { neighbour, first } = this.#peers.add(session)
    session.onClose((info) => this.#onSessionClose(session, info))
    if (first) {
      this.#twoHop.add(neighbour, neighbour.publicKey)
      this.#events.emit('peer:open', { publicKey: neighbour.publicKey, address: session.remoteAddress, direction: session.direction })
      if (this.#peers.size === 1) this.#schedulePull()
      // the newcomer gets the whole list now; the others hear of it with the next change
      this.#sendNeighbours([session])
      this.#neighboursChanged()
    }
    session.onMessage((m, s) => this.#onMessage(m, s))
  }

  #onSessionClose(session: Session, info: SessionCloseInfo): void {
    const { neighbour, last } = this.#peers.remove(session)
    if (info.misbehaviour !== undefined && this.#banMs > 0) this.#banned.set(session.peerKeyHex, this.#clock.now() + this.#banMs)
    if (last && neighbour !== undefined) {
      this.#twoHop.remove(neighbour)
      this.#neighboursChanged()
      this.#events.emit('peer:close', { publicKey: neighbour.publicKey, code: info.code, reason: info.reason, misbehaviour: info.misbehaviour })
    }
    if (this.#peers.size === 0 && this.#pullTimer !== undefined) {
      this.#clock.clearTimeout(this.#pullTimer)
      this.#pullTimer = undefined
    }
  }

  #isBanned(hex: PublicKeyHex): boolean {
    const until = this.#banned.get(hex)
    if (until === undefined) return false
    if (until > this.#clock.now()) return true
    this.#banned.delete(hex)
    return false
  }

  /** An open session to `key`, dialling its known address when there is none. */
  #sessionTo(key: Uint8Array): Promise<Session> {
    const hex = toHex(key)
    const open = this.#peers.session(hex)
    if (open !== undefined) return Promise.resolve(open)
    const pending = this.#dialing.get(hex)
    if (pending !== undefined) return pending
    const address = this.#peers.address(hex)
    if (address === undefined) return Promise.reject(new UnreachableError(`no session to ${shortKey(key)} and no address to dial`))
    const dial = (async () => {
      let conn: Connection
      try {
        conn = await this.#transport.connect(address)
      } catch (err) {
        throw new UnreachableError(`cannot reach ${shortKey(key)} at ${address}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
      }
      return this.#open(conn, key)
    })()
    this.#dialing.set(hex, dial)
    const forget = (): void => void this.#dialing.delete(hex)
    dial.then(forget, forget)
    return dial
  }

  // ## Transactions

  async transact(peerKey: Uint8Array, type: string, payload: CborValue, options: TransactOptions = {}): Promise<Transaction> {
    abytes('peerKey', peerKey, 32)
    if (equalBytes(peerKey, this.publicKey)) throw new RangeError('"peerKey" is this node: a transaction needs a counterparty')
    this.#checkOpen()
    const timing = checkTransact({ ...this.#tx, ...definedOnly(options) })
    // reachable first: no block is signed for a peer that cannot be reached
    await this.#sessionTo(peerKey)
    // agent.propose refuses proven cheaters and checks the arguments before signing
    const proposal = await this.agent.propose(peerKey, type, payload)
    this.#learnt(proposal, undefined)
    return this.#deliver(proposal, timing)
  }

  async deliver(proposal: HalfBlock, options: TransactOptions = {}): Promise<Transaction> {
    this.#checkOpen()
    if (typeof proposal !== 'object' || proposal === null || !isProposal(proposal) || !equalBytes(proposal.publicKey, this.publicKey)) {
      throw new RangeError('"proposal" expected a proposal signed by this node')
    }
    return this.#deliver(proposal, checkTransact({ ...this.#tx, ...definedOnly(options) }))
  }

  async #deliver(proposal: HalfBlock, timing: Required<TransactOptions>): Promise<Transaction> {
    const peerKey = proposal.linkPublicKey
    const deadline = this.#clock.now() + timing.timeoutMs
    let session: Session | undefined
    const previous = proposal.seq > 1 ? await this.store.get(this.publicKey, proposal.seq - 1) : undefined
    const context = previous === undefined ? [] : [previous]
    let wait = timing.retryMs
    let attempts = 0
    let lastError: unknown
    for (;;) {
      this.#checkOpen()
      const remaining = deadline - this.#clock.now()
      if (remaining <= 0) {
        throw new TransactTimeoutError(`no agreement from ${shortKey(peerKey)} within ${timing.timeoutMs} ms (${attempts} attempts)`, attempts, { cause: lastError })
      }
      let pause = 0
      try {
        if (session === undefined || !session.open) session = await this.#sessionTo(peerKey)
        if (session.pendingRequests >= session.limits.maxPendingRequests) {
          pause = Math.min(wait, remaining)
        } else {
          attempts++
          this.stats.proposalsSent++
          const reply = await session.request({ type: 'proposal', block: proposal, context }, { timeoutMs: Math.max(1, Math.min(wait, remaining)) })
          if (reply.type === 'agreement') return await this.#finish(proposal, reply.block, session)
          if (reply.code === 'refused' || reply.code === 'bad-request' || reply.code === 'not-found' || reply.code === 'version') {
            throw new RefusedError(`${shortKey(peerKey)} refused the proposal (${reply.code}): ${reply.reason}`)
          }
          lastError = new Error(`${reply.code}: ${reply.reason}`)
          pause = Math.min(wait, remaining) // busy, rate-limited, internal, timeout: try again later
        }
      } catch (err) {
        if (err instanceof RefusedError || err instanceof FraudError || err instanceof InvalidBlockError) throw err
        if (this.#closed) throw new ClosedError('node closed')
        lastError = err
        // a timeout resends at once; a closed session or a failed dial waits a little
        if (!isTimeout(err)) pause = Math.min(wait, remaining)
        if (err instanceof UnreachableError && this.#peers.address(toHex(peerKey)) === undefined) throw err
      }
      wait = Math.min(wait * 2, timing.maxRetryMs)
      if (pause > 0) await this.#sleep(pause)
    }
  }

  /** The proposer's side of an agreement: validate and store it, tell the world. */
  async #finish(proposal: HalfBlock, agreement: HalfBlock, from: Session): Promise<Transaction> {
    if (agreement.linkSeq !== proposal.seq || !equalBytes(agreement.publicKey, proposal.linkPublicKey)) {
      from.penalize(BAD_BLOCK_COST, 'an agreement to another proposal')
      throw new RefusedError(`${shortKey(from.peerKey)} answered with an agreement to another proposal`)
    }
    const earlier = await this.store.findAgreement(this.publicKey, proposal.seq, agreement.publicKey)
    let tx: Transaction
    try {
      tx = await this.#serial(() => this.agent.complete(agreement))
    } catch (err) {
      if (err instanceof FraudError) await this.#acceptProof(err.proof as FraudProof, undefined, 'stored')
      else if (err instanceof InvalidBlockError) from.penalize(INVALID_BLOCK_COST, 'an invalid agreement')
      throw err
    }
    if (earlier === undefined) {
      this.#learnt(agreement, from.peerKey)
      this.stats.transactions++
      this.#events.emit('transaction', tx)
      this.#spread(proposal)
      this.#spread(agreement)
    }
    return tx
  }

  /** The counterparty's side: witnesses (in witness mode), the policy, the agreement. */
  async #onProposal(m: ProposalMessage, session: Session): Promise<void> {
    const p = m.block
    if (!equalBytes(p.linkPublicKey, this.publicKey) || !equalBytes(p.publicKey, session.peerKey)) {
      session.penalize(INVALID_BLOCK_COST, 'a proposal not from the sender to this node')
      session.reply(m, { type: 'error', code: 'bad-request', reason: 'a proposal must be from the sender to this node' })
      return
    }
    const id = toHex(blockHash(p, this.#crypto))
    const running = this.#agreeing.get(id)
    if (running !== undefined) {
      // a resend while the first copy is still being handled: the same answer, once
      await running.then(
        (agreement) => session.reply(m, { type: 'agreement', block: agreement }),
        (err: unknown) => session.reply(m, refusal(err)),
      )
      return
    }
    const earlier = await this.store.findAgreement(p.publicKey, p.seq, this.publicKey)
    if (earlier !== undefined) {
      const known = await this.store.get(p.publicKey, p.seq)
      if (known !== undefined && equalBytes(blockHash(known, this.#crypto), blockHash(p, this.#crypto))) {
        session.reply(m, { type: 'agreement', block: earlier })
        return
      }
    }
    const work = this.#agree(m, session)
    this.#agreeing.set(id, work)
    try {
      const agreement = await work
      session.reply(m, { type: 'agreement', block: agreement })
      this.#learnt(p, session.peerKey)
      this.#learnt(agreement, undefined)
      this.stats.transactions++
      this.#events.emit('transaction', { proposal: p, agreement })
      this.#spread(p)
      this.#spread(agreement)
    } catch (err) {
      this.stats.refused++
      if (!(err instanceof RefusedError || err instanceof FraudError || err instanceof InvalidBlockError)) this.#report(err, 'agree')
      session.reply(m, refusal(err))
    } finally {
      this.#agreeing.delete(id)
    }
  }

  async #agree(m: ProposalMessage, session: Session): Promise<HalfBlock> {
    const p = m.block
    if (await this.store.hasFraud(p.publicKey)) throw new RefusedError(`${shortKey(p.publicKey)} is a proven cheater`)
    // the proposer's earlier blocks first: they may show a fork against what this node holds
    const context = m.context.filter((c) => equalBytes(c.publicKey, p.publicKey) && c.seq < p.seq)
    await Promise.all(context.map((c) => this.#ingest(c, session)))
    const w = this.#witnesses
    if (w !== undefined && (w.require === undefined || w.require(p))) {
      const verdict = await consultWitnesses(p, w, {
        self: this.publicKey,
        crypto: this.#crypto,
        clock: this.#clock,
        sleep: (ms) => this.#sleep(ms),
        sessionTo: (key) => this.#sessionTo(key),
        localBlock: (key, seq) => this.store.get(key, seq),
        verifiers: this.#types.fraudVerifiers(),
      })
      if (!verdict.ok) {
        if (verdict.reason === 'conflict') {
          await this.#acceptProof(verdict.proof, undefined, 'found')
          throw new RefusedError(`double spend: witness ${shortKey(verdict.witness)} holds another block at ${shortKey(p.publicKey)}:${p.seq}`)
        }
        throw new RefusedError(`witnesses unavailable: ${verdict.answered} of ${verdict.witnesses.length} answered`)
      }
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#serial(() => this.agent.agree(p))
      } catch (err) {
        if (err instanceof FraudError) {
          await this.#acceptProof(err.proof as FraudProof, undefined, 'stored')
          throw err
        }
        if (err instanceof InvalidBlockError) session.penalize(INVALID_BLOCK_COST, 'an invalid proposal')
        // a conflicting block stored meanwhile: agreeing again finds it and proves the fork
        if (!(err instanceof ConflictError) || attempt >= 2) throw err
      }
    }
  }

  // ## Receiving

  #onMessage(m: SessionMessage, session: Session): void | Promise<void> {
    if (this.#closed) return
    switch (m.type) {
      case 'proposal':
        return this.#onProposal(m, session)
      case 'push':
        return this.#onPush(m.blocks, session)
      case 'push-via':
        return this.#onPushVia(m, session)
      case 'neighbours': {
        const n = this.#peers.get(session.peerKeyHex)
        if (n !== undefined) this.#twoHop.announce(n, m.ids)
        return
      }
      case 'heads':
        return this.#onHeads(m.heads, session) // requestId 0: an announcement (replies go to the request)
      case 'heads-request':
        return this.#onHeadsRequest(m, session)
      case 'fraud':
        return this.#acceptProof(m.proof, session, 'peer').then(() => undefined)
      case 'fraud-have':
        return this.#onFraudHave(m.publicKey, session)
      case 'fraud-want':
        return this.#onFraudWant(m.publicKey, session)
      case 'crawl-request':
        return this.#onCrawl(m, session)
      case 'witness-query':
        return this.#onWitnessQuery(m, session)
      case 'peers-request':
        session.reply(m, { type: 'peers', peers: this.#peers.addresses(Math.min(m.max, session.limits.maxPeers)) })
        return
      case 'peers':
        for (const p of m.peers) if (!equalBytes(p.publicKey, this.publicKey)) this.#peers.setAddress(p.publicKey, p.address)
        return
      case 'agreement':
        // unsolicited (requestId 0): an agreement to a proposal of ours whose answer was lost
        return this.#onLateAgreement(m.block, session)
      default:
        return // errors with no request: notices before a disconnect
    }
  }

  async #onPush(blocks: readonly HalfBlock[], session: Session): Promise<void> {
    // every block joins the queue now, in order: a witness query right behind this push is
    // answered after the push is stored. A push is not relayed: a push-via says where to forward.
    await Promise.all(blocks.map((b) => this.#ingest(b, session)))
  }

  /**
   * A push for this node to check and store, then forward to its neighbour whose key starts with
   * `to`: only when every block checked out (new or known; an invalid block, or one that
   * contradicts the store and became a proof, is never forwarded), each block once per target.
   */
  async #onPushVia(m: PushViaMessage, session: Session): Promise<void> {
    const outcomes = await Promise.all(m.blocks.map((b) => this.#ingest(b, session)))
    if (this.#closed || this.#gossip.pushFanout === 0 || outcomes.some((o) => o !== 'new' && o !== 'known')) return
    const target = this.#twoHop.direct(m.to)
    if (target === undefined || target.hex === session.peerKeyHex) {
      this.stats.forwardMissed++
      return
    }
    const ids = m.blocks.map((b) => concatBytes(blockHash(b, this.#crypto), m.to))
    const blocks = m.blocks.filter((_, i) => !this.#forwards.has(ids[i]!))
    if (blocks.length === 0) return
    if (!this.#push(target, blocks)) {
      this.stats.forwardMissed++
      return
    }
    for (const id of ids) this.#forwards.add(id)
    this.stats.forwarded++
  }

  /** Validate and store a block from a peer; proofs it yields are handled here. */
  async #ingest(block: HalfBlock, from: Session | undefined): Promise<Outcome> {
    const result = await this.#serial(async () => {
      const stored = await this.store.get(block.publicKey, block.seq)
      if (stored !== undefined && equalBytes(blockHash(stored, this.#crypto), blockHash(block, this.#crypto))) return undefined
      return this.agent.receive(block)
    })
    if (result === undefined) return 'known'
    if (result.fraud.length > 0) {
      for (const proof of result.fraud) await this.#acceptProof(proof, undefined, 'stored')
      return 'fraud'
    }
    if (result.level === 'invalid') {
      const broken = result.errors.some((e) => e.rule === 'signature' || e.rule === 'form' || e.rule === 'size')
      from?.penalize(broken ? BAD_BLOCK_COST : INVALID_BLOCK_COST, `an invalid block (${result.errors.map((e) => e.rule).join(', ')})`)
      return 'invalid'
    }
    this.stats.blocksReceived++
    this.#learnt(block, from?.peerKey)
    return 'new'
  }

  async #onLateAgreement(agreement: HalfBlock, session: Session): Promise<void> {
    if (!equalBytes(agreement.linkPublicKey, this.publicKey) || !equalBytes(agreement.publicKey, session.peerKey)) return
    const proposal = await this.store.get(this.publicKey, agreement.linkSeq)
    if (proposal === undefined) return
    try {
      await this.#finish(proposal, agreement, session)
    } catch {
      // already reported through the proof or the penalty
    }
  }

  async #onHeads(heads: readonly Head[], session: Session): Promise<void> {
    for (const h of heads) {
      if (this.#crawling.size >= this.#gossip.maxCrawls) return
      if (await this.store.hasFraud(h.publicKey)) continue
      const stored = await this.store.get(h.publicKey, h.seq)
      if (stored !== undefined) {
        if (!equalBytes(blockHash(stored, this.#crypto), h.hash)) void this.#crawlSlot(session, h.publicKey, h.seq)
        continue
      }
      const next = await this.store.get(h.publicKey, h.seq + 1)
      if (next !== undefined && !equalBytes(next.previousHash, h.hash)) void this.#crawlSlot(session, h.publicKey, h.seq)
    }
  }

  async #onHeadsRequest(m: HeadsRequestMessage, session: Session): Promise<void> {
    const heads: Head[] = []
    const proofs: FraudProof[] = []
    for (const key of m.publicKeys) {
      const latest = await this.store.latest(key)
      if (latest !== undefined) heads.push({ publicKey: key, seq: latest.seq, hash: blockHash(latest, this.#crypto) })
      // a peer that asks about a proven cheater gets the proof, once per session: this repairs a
      // proof frame that was lost on the way
      if (await this.store.hasFraud(key)) {
        let told = this.#told.get(session)
        if (told === undefined) this.#told.set(session, (told = new Set()))
        const hex = toHex(key)
        if (!told.has(hex)) {
          told.add(hex)
          const [proof] = await this.store.fraudProofs(key)
          if (proof !== undefined) proofs.push(proof)
        }
      }
    }
    session.reply(m, { type: 'heads', heads })
    for (const proof of proofs) if (session.send({ type: 'fraud', proof })) this.stats.proofsSent++
  }

  /** Fetch the block a contradicting head names; validating it yields the proof. */
  async #crawlSlot(session: Session, key: Uint8Array, seq: number): Promise<void> {
    const id = `${toHex(key)}:${seq}`
    if (this.#crawling.has(id) || this.#crawling.size >= this.#gossip.maxCrawls) return
    this.#crawling.add(id)
    try {
      this.stats.crawlsSent++
      const reply = await session.request({ type: 'crawl-request', publicKey: key, start: seq, end: seq })
      if (reply.type === 'crawl-answer') for (const b of reply.blocks) await this.#ingest(b, session)
    } catch {
      // closed or timed out: a later announcement asks again
    } finally {
      this.#crawling.delete(id)
    }
  }

  async crawl(peerKey: Uint8Array, chain: Uint8Array, range: { start?: number; end?: number } = {}): Promise<HalfBlock[]> {
    abytes('peerKey', peerKey, 32)
    abytes('chain', chain, 32)
    this.#checkOpen()
    let start = range.start ?? 1
    const end = range.end ?? -1
    if (!Number.isSafeInteger(start) || start === 0 || !Number.isSafeInteger(end) || end === 0) {
      throw new RangeError('"range" expected non-zero safe integer seqs (negative: from the end)')
    }
    const session = await this.#sessionTo(peerKey)
    const out: HalfBlock[] = []
    for (let rounds = 0; rounds < 1_000_000; rounds++) {
      this.stats.crawlsSent++
      const reply = await session.request({ type: 'crawl-request', publicKey: chain, start, end })
      if (reply.type === 'error') throw new RefusedError(`${shortKey(peerKey)} refused the crawl (${reply.code}): ${reply.reason}`)
      for (const b of reply.blocks) {
        await this.#ingest(b, session)
        out.push(b)
      }
      const last = reply.blocks.at(-1)
      // the answer is capped: ask for the rest until the range (resolved against `latest`) is covered
      const want = resolveCrawlRange(start, end, reply.latest, Number.MAX_SAFE_INTEGER)
      if (last === undefined || want === undefined || last.seq >= want.to) break
      start = last.seq + 1
    }
    return out
  }

  async #onCrawl(m: CrawlRequestMessage, session: Session): Promise<void> {
    const latest = await this.store.latest(m.publicKey)
    const top = latest?.seq ?? 0
    const range = resolveCrawlRange(m.start, m.end, top, session.limits.maxCrawlBlocks)
    const blocks: HalfBlock[] = []
    if (range !== undefined) {
      // at most maxCrawlBlocks blocks, and never more than one frame holds
      let budget = session.limits.maxFrameBytes - 256
      for (const b of await this.store.range(m.publicKey, { from: range.from, to: range.to, limit: session.limits.maxCrawlBlocks })) {
        budget -= blockSize(b) + 5
        if (budget < 0) break
        blocks.push(b)
      }
    }
    session.reply(m, { type: 'crawl-answer', publicKey: m.publicKey, latest: top, blocks })
  }

  async #onWitnessQuery(m: WitnessQueryMessage, session: Session): Promise<void> {
    // on the queue: behind any push that arrived before this query
    const block = await this.#serial(() => this.store.get(m.publicKey, m.seq))
    session.reply(m, { type: 'witness-answer', publicKey: m.publicKey, seq: m.seq, block: block ?? null })
  }

  // ## Fraud proofs

  /**
   * Handle a proof once: verify it (when it came from a peer), store it, tell the handlers, and
   * relay the first proof against its key.
   * @returns true when it was new and valid
   */
  async #acceptProof(proof: FraudProof, from: Session | undefined, origin: ProofOrigin): Promise<boolean> {
    // one proof convicts: once a key is refused, later proofs against it (the same fork seen as a
    // chain break, say) change nothing, and are dropped before the cost of verifying them
    if (origin === 'peer' && (await this.store.hasFraud(proof.publicKey))) return false
    const id = fraudProofId(proof, this.#crypto)
    if (this.#proofIds.has(id)) return false
    if (origin === 'peer') {
      const verdict = verifyFraudProof(proof, { crypto: this.#crypto, verifiers: this.#types.fraudVerifiers() })
      if (!verdict.ok) {
        this.stats.forgedProofs++
        from?.penalize(FORGED_PROOF_COST, `a fraud proof that does not verify (${verdict.reason})`)
        return false
      }
    }
    if (!this.#proofIds.add(id)) return false
    this.#stopWanting(proof.publicKey)
    if (origin !== 'stored') await this.#serial(() => this.agent.addFraudProof(proof))
    this.stats.proofs++
    this.#events.emit('fraud', { proof, from: from?.peerKey })
    // one proof convicts: later proofs against the same key are kept, not spread
    if (this.#gossip.fraudFanout === 0 || !this.#relayedAccused.add(proof.publicKey)) return true
    const skip = from?.peerKeyHex
    const fanout = this.#gossip.fraudFanout
    const announce = this.#gossip.proofRelay === 'announce'
    const message: SessionMessage = announce ? { type: 'fraud-have', publicKey: proof.publicKey } : { type: 'fraud', proof }
    const targets = fanout >= this.#peers.size ? this.#peers.list : this.#peers.random(fanout + (skip === undefined ? 0 : 1), this.#random)
    let sent = 0
    for (const n of targets) {
      if (n.hex === skip || sent >= fanout) continue
      const s = firstOpen(n)
      if (s !== undefined && s.send(message)) sent++
    }
    if (announce) this.stats.proofAnnouncements += sent
    else this.stats.proofsSent += sent
    return true
  }

  /**
   * A neighbour holds a proof against `key`: ask it for the proof, unless this node holds one or
   * waits for one already (then the neighbour is kept as one more to ask, should the answer not
   * come within wantTimeoutMs).
   */
  async #onFraudHave(key: Uint8Array, session: Session): Promise<void> {
    if (this.#relayedAccused.has(key) || (await this.store.hasFraud(key))) return
    if (this.#closed) return
    const hex = toHex(key)
    const waiting = this.#wants.get(hex)
    if (waiting !== undefined) {
      if (waiting.announcers.length < MAX_ANNOUNCERS && !waiting.announcers.includes(session)) waiting.announcers.push(session)
      return
    }
    if (this.#wants.size >= MAX_WANTS) return // the next announcement asks again
    const want: Want = { key, announcers: [session], asked: 0, timer: undefined }
    if (this.#gossip.wantTimeoutMs > 0) this.#wants.set(hex, want)
    this.#askForProof(hex, want)
  }

  #stopWanting(key: Uint8Array): void {
    const hex = toHex(key)
    const want = this.#wants.get(hex)
    if (want === undefined) return
    if (want.timer !== undefined) this.#clock.clearTimeout(want.timer)
    this.#wants.delete(hex)
  }

  /** Send the next fraud-want of `want` (the announcers in turn), and its timeout. */
  #askForProof(hex: PublicKeyHex, want: Want): void {
    const session = want.announcers[want.asked % want.announcers.length]!
    want.asked++
    if (session.open && session.send({ type: 'fraud-want', publicKey: want.key })) this.stats.proofWants++
    const timeout = this.#gossip.wantTimeoutMs
    if (timeout <= 0) return
    want.timer = this.#clock.setTimeout(() => {
      want.timer = undefined
      if (this.#closed || this.#wants.get(hex) !== want) return
      if (this.#relayedAccused.has(want.key) || want.asked >= WANT_ATTEMPTS) {
        this.#wants.delete(hex)
        return
      }
      want.announcers = want.announcers.filter((s) => s.open)
      if (want.announcers.length === 0) this.#wants.delete(hex)
      else this.#askForProof(hex, want)
    }, timeout)
  }

  /** A neighbour asks for a proof against `key`: send one, once per (peer, key); nothing when none is held. */
  async #onFraudWant(key: Uint8Array, session: Session): Promise<void> {
    const id = concatBytes(session.peerKey, key)
    if (this.#answered.has(id)) return
    const [proof] = await this.store.fraudProofs(key)
    if (proof === undefined || this.#closed || !this.#answered.add(id)) return
    if (session.send({ type: 'fraud', proof })) this.stats.proofsSent++
  }

  // ## Spreading blocks

  /**
   * A party's push of a new block to the `pushFanout` peers nearest its slot on the push ring
   * among this node's neighbours and theirs: a push to a neighbour, a push-via to the neighbour
   * that named a peer two hops away.
   */
  #spread(block: HalfBlock): void {
    if (this.#closed || this.#gossip.pushFanout === 0) return
    if (!this.#gossip.pushOwn && equalBytes(block.publicKey, this.publicKey)) return
    const slot = slotWord(block.publicKey, block.seq)
    for (const t of this.#twoHop.nearest(slot, this.#gossip.pushFanout, [block.publicKey, block.linkPublicKey])) {
      if (t.via === undefined) {
        const n = this.#twoHop.direct(t.id)
        if (n !== undefined) this.#push(n, [block])
        continue
      }
      if (this.#gossipTo(t.via, { type: 'push-via', to: t.id, blocks: [block] })) this.stats.pushViaSent++
    }
  }

  /** A push frame to `n`; false when it has no session that keeps up. */
  #push(n: Neighbour, blocks: readonly HalfBlock[]): boolean {
    if (!this.#gossipTo(n, { type: 'push', blocks })) return false
    this.stats.pushesSent++
    return true
  }

  /** A gossip frame to `n`'s oldest open session; false when there is none that keeps up (gossip can wait). */
  #gossipTo(n: Neighbour, m: SessionMessage): boolean {
    const s = firstOpen(n)
    if (s === undefined || !s.writable) return false
    s.send(m)
    return true
  }

  /** This node's neighbours changed: tell every neighbour, at most once per neighboursIntervalMs. */
  #neighboursChanged(): void {
    if (this.#closed || this.#neighboursTimer !== undefined || this.#gossip.pushFanout === 0) return
    const wait = Math.max(0, this.#neighboursSentAt + this.#gossip.neighboursIntervalMs - this.#clock.now())
    this.#neighboursTimer = this.#clock.setTimeout(() => {
      this.#neighboursTimer = undefined
      if (this.#closed) return
      this.#neighboursSentAt = this.#clock.now()
      const sessions: Session[] = []
      for (const n of this.#peers.list) {
        const s = firstOpen(n)
        if (s !== undefined) sessions.push(s)
      }
      this.#sendNeighbours(sessions)
    }, wait)
  }

  /**
   * Send the ids of this node's neighbours (the whole list, up to limits.maxNeighbourIds) to
   * `sessions`. A node that does not push (pushFanout 0) forwards nothing either: it names none.
   */
  #sendNeighbours(sessions: readonly Session[]): void {
    if (this.#closed || this.#gossip.pushFanout === 0 || sessions.length === 0) return
    const ids = this.#twoHop.ids(this.#limits.maxNeighbourIds)
    for (const s of sessions) s.send({ type: 'neighbours', ids })
  }

  /** A block is stored: remember its chain's head for pull gossip, tell the handlers. */
  #learnt(block: HalfBlock, from: Uint8Array | undefined): void {
    const hex = toHex(block.publicKey)
    const head = this.#recent.get(hex)
    if (head === undefined || head.seq <= block.seq) {
      this.#recent.delete(hex)
      this.#recent.set(hex, block)
      if (this.#recent.size > RECENT_CHAINS) this.#recent.delete(this.#recent.keys().next().value!)
    }
    this.#events.emit('block', { block, from })
  }

  pull(): void {
    if (this.#closed) return
    const [n] = this.#peers.random(1, this.#random)
    const s = n === undefined ? undefined : firstOpen(n)
    if (s === undefined || !s.writable || s.pendingRequests >= s.limits.maxPendingRequests) return
    const count = Math.min(this.#gossip.headsPerPull, s.limits.maxHeads)
    const keys: Uint8Array[] = []
    const recent = [...this.#recent.values()]
    for (let i = recent.length - 1; i >= 0 && keys.length < count; i--) {
      const b = recent[i]!
      if (!equalBytes(b.publicKey, n!.publicKey)) keys.push(b.publicKey)
    }
    if (keys.length === 0) return
    this.stats.headsSent++
    s.request({ type: 'heads-request', publicKeys: keys }).then(
      async (reply) => {
        if (reply.type !== 'heads') return
        await this.#onHeads(reply.heads, s)
        if (this.#gossip.auditsPerPull > 0) await this.#audit(reply.heads, s)
      },
      () => undefined, // closed or timed out: the next round asks someone else
    )
  }

  /**
   * The audit after a pull: compare slots of chains both sides know with the peer's blocks there
   * (a one-block crawl each). Heads only compare tips; a fork below a tip that moved on is found
   * here: first our own tip of a chain the peer is ahead in (where a fork left behind sits: the
   * forker went on from its other block), else a random slot — slowly, but every slot is drawn
   * eventually, so gossip settles in any connected network even when the pushes missed.
   */
  async #audit(heads: readonly Head[], session: Session): Promise<void> {
    const tips: { key: Uint8Array; seq: number }[] = []
    const any: { key: Uint8Array; seq: number }[] = []
    for (const h of heads) {
      const ours = this.#recent.get(toHex(h.publicKey))
      if (ours === undefined) continue
      if (h.seq > ours.seq) tips.push({ key: h.publicKey, seq: ours.seq })
      else any.push({ key: h.publicKey, seq: 1 + Math.floor(this.#random() * h.seq) })
    }
    for (let i = 0; i < this.#gossip.auditsPerPull; i++) {
      const list = tips.length > 0 ? tips : any
      if (list.length === 0) return
      const [slot] = list.splice(Math.floor(this.#random() * list.length), 1)
      if ((await this.store.hasFraud(slot!.key)) || (await this.store.get(slot!.key, slot!.seq)) === undefined) continue
      await this.#crawlSlot(session, slot!.key, slot!.seq)
    }
  }

  #schedulePull(): void {
    const interval = this.#gossip.pullIntervalMs
    if (interval <= 0 || this.#closed || this.#pullTimer !== undefined) return
    // jittered (0.5 to 1.5 intervals), so that nodes started together do not announce together
    this.#pullTimer = this.#clock.setTimeout(() => {
      this.#pullTimer = undefined
      if (this.#closed || this.#peers.size === 0) return
      this.pull()
      this.#schedulePull()
    }, interval * (0.5 + this.#random()))
  }

  // ## Closing

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing
    this.#closed = true
    this.#closing = (async () => {
      if (this.#pullTimer !== undefined) this.#clock.clearTimeout(this.#pullTimer)
      this.#pullTimer = undefined
      if (this.#neighboursTimer !== undefined) this.#clock.clearTimeout(this.#neighboursTimer)
      this.#neighboursTimer = undefined
      for (const want of this.#wants.values()) if (want.timer !== undefined) this.#clock.clearTimeout(want.timer)
      this.#wants.clear()
      for (const sleep of [...this.#sleeps]) {
        this.#clock.clearTimeout(sleep.timer)
        sleep.reject(new ClosedError('node closed'))
      }
      this.#sleeps.clear()
      for (const s of this.#peers.sessions()) s.close('node closing')
      await this.#transport.close()
      // let writes already queued finish, so the store is left consistent for its owner
      await this.#tail.catch(() => undefined)
    })()
    return this.#closing
  }

  // ## Private helpers

  /** Run `fn` after every earlier agent write: one at a time per node. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn)
    this.#tail = run.catch(() => undefined)
    return run
  }

  /** Wait on the node's clock; rejects with ClosedError when the node closes first. */
  #sleep(ms: number): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('node closed'))
    return new Promise((resolve, reject) => {
      const entry = {
        timer: this.#clock.setTimeout(() => {
          this.#sleeps.delete(entry)
          resolve()
        }, ms),
        reject,
      }
      this.#sleeps.add(entry)
    })
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError('node closed')
  }

  #report(error: unknown, context: string): void {
    this.#events.emit('error', { error, context })
  }
}

// ## Helpers

function firstOpen(n: Neighbour): Session | undefined {
  for (const s of n.sessions) if (s.open) return s
  return undefined
}

function refusal(err: unknown): { type: 'error'; code: 'refused' | 'bad-request' | 'internal'; reason: string } {
  const reason = String((err as Error)?.message ?? err).slice(0, 200)
  if (err instanceof InvalidBlockError) return { type: 'error', code: 'bad-request', reason }
  if (err instanceof RefusedError || err instanceof FraudError || err instanceof NodeError) return { type: 'error', code: 'refused', reason }
  return { type: 'error', code: 'internal', reason: 'internal error' }
}

function isTimeout(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'TimeoutError'
}

function seededRandom(crypto: CryptoProvider): Random {
  const b = crypto.randomBytes(4)
  return createRandom(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0)
}
