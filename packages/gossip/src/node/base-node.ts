/**
 * The node's frame, shared by its compositions: its lifecycle, its sessions (every one starts with
 * the handshake), the dispatch of their messages, and the NodeContext (context.ts) it owns and
 * hands to its parts. Which parts handle what is the composition's (NodeParts):
 * - a full node (node.ts, createNode): every part — push gossip on the push ring, pull rounds and
 *   audits, fraud-proof relay, relaying tunnels for others, strangers' quotas;
 * - a client (client.ts, createClientNode): what a node needs that only dials its gateway (a
 *   browser wallet): transactions, crawls and heads asked and answered, recovery, witnesses,
 *   hosted protocols, tunnels it opens or is reached by, fraud proofs it meets.
 * Code a composition does not name stays out of a bundle that imports only that composition.
 * @module
 */
import {
  ClosedError,
  abytes,
  createAgent,
  createBlockTypes,
  equalBytes,
  isNewIdentity,
  toHex,
  type Agent,
  type BlockStore,
  type CborValue,
  type Connection,
  type CryptoProvider,
  type HalfBlock,
  type HeadSource,
  type Identity,
  type Protocol,
  type ProtocolHandle,
  type ProtocolMessages,
  type TimerHandle,
  type Transaction,
  type TransactionPort,
  type TransportAddress,
} from '@tally/core'
import { createRandom, type Random } from '../random.js'
import { systemClock } from '../time/system-clock.js'
import { performHandshake } from '../wire/handshake.js'
import { DEFAULT_LIMITS, resolveLimits, type Limits } from '../wire/limits.js'
import { createCpuShare, createReadGate } from '../wire/read-gate.js'
import type { AppMessage, SessionMessage } from '../wire/messages.js'
import { createSeenCache, type SeenCache } from '../wire/seen-cache.js'
import { createSession, type Session, type SessionCloseInfo } from '../wire/session.js'
import type { NodeContext } from './context.js'
import { Admissions, isKnown, restand, type Admitted } from './admission.js'
import { BanList } from './ban-list.js'
import { TypedEmitter } from './emitter.js'
import {
  DEFAULT_GOSSIP,
  checkGossip,
  checkRecovery,
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
import { PeerTable } from './peer-table.js'
import { RelayState, Tunnel, relayPeerGone, tunnelLimits } from './relay.js'
import { appCost, hostProtocol, protocolsPeerClosed, protocolsPeerOpened } from './protocol-host.js'
import { DEFAULT_RECOVERY, fetchFromPeers, headFromPeers, type RecoveryState } from './recovery.js'
import { ban, dial, handshakeFailed, isBanned, listPeers } from './peers.js'
import { crawl } from './pull.js'
import { stopResends } from './resend.js'
import { deliver, transact, witnessBlock } from './transactions.js'
import type { Keep } from './keep.js'
import type { Neighbour } from './peer-table.js'
import { WriteQueue } from './write-queue.js'

/**
 * The share of a core this process gets (createCpuShare), one meter for every node of the process:
 * it measures the process (CPU over the event loop's busy time), the same for each of them, and a
 * process with many nodes (a host of many component connections) would otherwise read the
 * process's CPU clock twice per node at every stranger's frame.
 */
let processShare: (() => number) | undefined

/** A handler of one message type: `m` from `session`'s peer. */
type Handler<T extends SessionMessage['type']> = (ctx: NodeContext, m: Extract<SessionMessage, { type: T }>, session: Session) => void | Promise<void>

/** The handlers of a composition, by message type: a type without one is ignored. */
export type Handlers = { readonly [T in SessionMessage['type']]?: Handler<T> }

/** What makes a node of the frame: its parts (see the module comment). */
export interface NodeParts<C extends NodeContext = NodeContext> {
  /** What the node keeps for others (keep.ts). */
  keep(ctx: NodeContext, options: NodeOptions): Keep
  /** The context of this composition: the shared one and the state of its own parts. */
  extend(ctx: NodeContext, options: NodeOptions): C
  /** The messages it handles, by type. */
  readonly handlers: Handlers
  /** A new block of this node's chain or a counterparty's, to spread (context.ts's `spread`). */
  spread(ctx: C, block: HalfBlock): void
  /** A peer's first session opened (after the shared bookkeeping). */
  peerOpened(ctx: C, neighbour: Neighbour, session: Session): void
  /** A peer's last session closed. */
  peerClosed(ctx: C, neighbour: Neighbour): void
  /** Node.listen: before the transport listens. */
  listening(ctx: C): void
  /** Node.pull. */
  pull(ctx: C): void
  /** The node closes: the parts' timers stop. */
  closing(ctx: C): void
}

// ## The node

/**
 * A node of the composition `parts` (node.ts's createNode, client.ts's createClientNode).
 * @param options identity, store, transport, types, clock, limits, gossip and witness settings
 * @param parts the composition
 * @throws TypeError / RangeError on malformed options
 */
export function composeNode<C extends NodeContext>(options: NodeOptions, parts: NodeParts<C>): Node {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected an object')
  if (typeof options.identity?.sign !== 'function') throw new TypeError('"identity" expected an Identity')
  if (typeof options.store?.batch !== 'function') throw new TypeError('"store" expected a BlockStore')
  if (typeof options.transport?.connect !== 'function') throw new TypeError('"transport" expected a Transport')
  if (options.verifySignatures !== undefined && typeof options.verifySignatures !== 'function') throw new TypeError('"verifySignatures" expected a function of blocks')
  return new BaseNode(options, parts as unknown as NodeParts)
}

class BaseNode implements Node {
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
    resent: 0,
    headsSent: 0,
    crawlsSent: 0,
    proofs: 0,
    proofsSent: 0,
    proofAnnouncements: 0,
    proofWants: 0,
    forgedProofs: 0,
    refused: 0,
    unauthenticated: 0,
    strangerBytes: 0,
    strangerChains: 0,
    evicted: 0,
    strangerFrames: 0,
    strangerPauses: 0,
    strangerSkipped: 0,
    unknownRefused: 0,
    dropped: 0,
    relayedFrames: 0,
    relayedBytes: 0,
    relayRefused: 0,
  }
  /** The state the node's parts share (context.ts). */
  readonly #ctx: NodeContext
  readonly #identity: Identity
  readonly #frames: SeenCache
  readonly #challenges: SeenCache
  readonly #sleeps = new Set<{ timer: TimerHandle; reject: (e: Error) => void }>()
  /** Tokens an `app` message takes (one function shared by every session). */
  readonly #appCost = (m: AppMessage): number => appCost(this.#ctx, m)
  /** Agent writes, one at a time, a bounded lane per peer taken in turn (write-queue.ts). */
  readonly #writes = new WriteQueue()
  readonly #parts: NodeParts
  #address: TransportAddress | undefined
  #port: TransactionPort | undefined
  #closing: Promise<void> | undefined

  constructor(options: NodeOptions, parts: NodeParts) {
    this.#parts = parts
    this.#identity = options.identity
    this.publicKey = options.identity.publicKey
    this.store = options.store
    const types = options.types ?? createBlockTypes()
    const clock = options.clock ?? systemClock
    const crypto = options.crypto ?? options.identity.crypto
    const limits = resolveLimits(options.limits)
    const strangerLimits = resolveStrangerLimits(limits, options.strangerLimits)
    const budget = options.strangerBudget ?? {}
    const strangerGate = createReadGate({
      messagesPerSecond: budget.messagesPerSecond ?? 2 * strangerLimits.messagesPerSecond,
      bytesPerSecond: budget.bytesPerSecond ?? 2 * strangerLimits.bytesPerSecond,
      clock,
      stats: gateCounts(this.stats),
      ...((budget.cpuScaled ?? clock === systemClock) ? { share: (processShare ??= createCpuShare()) } : {}),
    })
    const gossip = checkGossip({ ...DEFAULT_GOSSIP, ...definedOnly(options.gossip ?? {}) }, limits)
    const tx = checkTransact({ timeoutMs: 30_000, retryMs: 1000, maxRetryMs: 8000, ...definedOnly(options.transact ?? {}) })
    const witnesses = checkWitnesses(options.witnesses)
    const random = options.random ?? seededRandom(crypto)
    const banMs = nonNegative('banMs', options.banMs ?? 60_000)
    const cacheSize = options.cacheSize ?? 100_000
    if (!Number.isSafeInteger(cacheSize) || cacheSize < 16) throw new RangeError(`"cacheSize" expected an integer >= 16, got ${String(cacheSize)}`)
    this.#frames = createSeenCache({ max: cacheSize })
    this.#challenges = createSeenCache({ max: cacheSize })
    // a peer whose first answer was lost asks again after wantTimeoutMs: answer it again then
    const want = gossip.wantTimeoutMs
    const answered = createSeenCache({ max: cacheSize, ...(want > 0 ? { ttlMs: want, clock } : {}) })
    const events: TypedEmitter<NodeEvents> = new TypedEmitter<NodeEvents>((error) => events.emit('error', { error, context: 'event handler' }))
    // the agent's head: from this node's peers unless told otherwise (recovery.ts); an identity
    // generateIdentity() just made has no chain anywhere to recover
    const recovery: RecoveryState | undefined =
      options.head === undefined && !isNewIdentity(options.identity)
        ? { options: checkRecovery({ ...DEFAULT_RECOVERY, ...definedOnly(options.recovery ?? {}) }), holders: new Map() }
        : undefined
    const head: HeadSource | 'local' =
      options.head ??
      (recovery === undefined ? 'local' : { head: (key) => headFromPeers(this.#ctx, key), fetch: (key, start, end) => fetchFromPeers(this.#ctx, key, start, end) })
    // block timestamps follow the node's clock (virtual time in a simulation)
    this.agent = createAgent({
      head,
      identity: options.identity,
      store: options.store,
      types,
      clock: () => Math.floor(clock.now()),
      ...(options.verifySignatures === undefined ? {} : { verifySignatures: options.verifySignatures }),
    })
    const shared: NodeContext = {
      publicKey: this.publicKey,
      agent: this.agent,
      store: this.store,
      stats: this.stats,
      transport: options.transport,
      types,
      clock,
      crypto,
      verifySignatures: options.verifySignatures,
      limits,
      strangerLimits,
      strangerGate,
      gossip,
      tx,
      witnesses,
      random,
      banMs,
      events,
      peers: new PeerTable(Math.max(1024, cacheSize)),
      banned: new BanList(Math.max(1024, cacheSize)),
      dialing: new Map(),
      closed: false,
      agreeing: new Map(),
      agreedBy: new Set(),
      firstProposals: new Map(),
      admitted: admissionsOf(options),
      // set below, once the context exists (a full node's quota forgets what it evicts in it)
      quota: undefined as unknown as Keep,
      unacked: new Map(),
      ackSeq: 0,
      recent: new Map(),
      crawling: new Set(),
      told: new WeakMap(),
      pullTimer: undefined,
      proofIds: createSeenCache({ max: cacheSize }),
      relayedAccused: createSeenCache({ max: cacheSize }),
      accusedKeys: new Map(),
      wants: new Map(),
      answered,
      protocols: new Map(),
      closedProtocols: new Set(),
      recovery,
      relay: new RelayState(options.relay),
      spread: (block) => parts.spread(this.#ctx, block),
      serial: (fn, lane) => this.#writes.run(fn, lane),
      sleep: (ms, wake) => this.#sleep(ms, wake),
      checkOpen: () => this.#checkOpen(),
      report: (error, context) => this.#report(error, context),
      open: (conn, expectedPeer) => this.#open(conn, expectedPeer),
    }
    ;(shared as { quota: Keep }).quota = parts.keep(shared, options)
    this.#ctx = parts.extend(shared, options)
  }

  // ## Events

  on<K extends keyof NodeEvents>(event: K, handler: (value: NodeEvents[K]) => void): () => void {
    return this.#ctx.events.on(event, handler)
  }

  once<K extends keyof NodeEvents>(event: K, handler: (value: NodeEvents[K]) => void): () => void {
    return this.#ctx.events.once(event, handler)
  }

  off<K extends keyof NodeEvents>(event: K, handler: (value: NodeEvents[K]) => void): void {
    this.#ctx.events.off(event, handler)
  }

  // ## Peers

  get address(): TransportAddress | undefined {
    return this.#address
  }

  get open(): boolean {
    return !this.#ctx.closed
  }

  get peers(): readonly NodePeer[] {
    return listPeers(this.#ctx)
  }

  async listen(): Promise<TransportAddress> {
    this.#checkOpen()
    const ctx = this.#ctx
    // what the transport refused or held back before any handshake: the operator sees it
    ctx.transport.onRefuse?.((info) => {
      if (!ctx.closed) ctx.events.emit('connection:refused', { address: info.remoteAddress, reason: info.reason, delayMs: info.delayMs })
    })
    this.#parts.listening(ctx)
    this.#address = await ctx.transport.listen((conn) => {
      this.#open(conn, undefined).catch(() => undefined) // a failed handshake closes its connection (and is an event)
    })
    return this.#address
  }

  async connect(address: TransportAddress, options: { expectedPeer?: Uint8Array } = {}): Promise<Uint8Array> {
    this.#checkOpen()
    if (typeof address !== 'string') throw new TypeError('"address" expected a string')
    if (options.expectedPeer !== undefined) abytes('expectedPeer', options.expectedPeer, 32)
    const session = await dial(this.#ctx, address, options.expectedPeer)
    this.#ctx.peers.setAddress(session.peerKey, address)
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
    this.#ctx.peers.setAddress(publicKey, address)
  }

  disconnect(publicKey: Uint8Array): void {
    abytes('publicKey', publicKey, 32)
    const n = this.#ctx.peers.get(toHex(publicKey))
    for (const s of [...(n?.sessions ?? [])]) s.close('disconnect')
  }

  // ## Admission (admission.ts)

  admit(publicKey: Uint8Array, reason = 'operator'): void {
    this.#checkOpen()
    if (equalBytes(publicKey, this.publicKey)) throw new RangeError('"publicKey" is this node')
    if (this.#ctx.admitted.admit(publicKey, reason)) restand(this.#ctx, publicKey)
  }

  unadmit(publicKey: Uint8Array, reason?: string): void {
    if (this.#ctx.admitted.unadmit(publicKey, reason)) restand(this.#ctx, publicKey)
  }

  get admitted(): readonly Admitted[] {
    return this.#ctx.admitted.list()
  }

  // ## Sessions

  /** Handshake on a fresh connection, then the session. */
  async #open(conn: Connection, expectedPeer: Uint8Array | undefined): Promise<Session> {
    const ctx = this.#ctx
    let claimed: Uint8Array | undefined
    let banned = false
    const result = await performHandshake(conn, {
      identity: this.#identity,
      clock: ctx.clock,
      limits: conn instanceof Tunnel ? tunnelLimits(ctx.limits) : ctx.limits,
      challenges: this.#challenges,
      crypto: ctx.crypto,
      accept: (key) => {
        claimed = key
        banned = isBanned(ctx, toHex(key))
        return !banned
      },
      ...(expectedPeer !== undefined ? { expectedPeer } : {}),
    }).catch((err: unknown) => {
      // a tunnel that gave way to the far end's (crossed dials, relay.ts) failed no handshake
      if (!(conn instanceof Tunnel && conn.refusal === 'crossed')) handshakeFailed(ctx, conn, claimed, banned, err)
      throw err
    })
    const options = this.#sessionOptions(result.peerKey)
    // a stranger that dialled in pays for its handshake out of the strangers' budget: while the
    // budget is in debt its session starts held (a flood of fresh keys waits on its side)
    const entry = options.gate !== undefined && conn.direction === 'inbound' ? { gateEntry: HANDSHAKE_TOKENS } : {}
    const tunnel = conn instanceof Tunnel ? { limits: tunnelLimits(ctx.limits) } : {}
    const session = createSession(conn, { ...options, ...entry, ...tunnel, version: result.version, sessionId: result.sessionId, cipher: result.cipher })
    if (ctx.closed) {
      session.close('node closed')
      throw new ClosedError('node closed')
    }
    this.#adopt(session)
    return session
  }

  #sessionOptions(peerKey: Uint8Array): Parameters<typeof createSession>[1] {
    // a stranger's session starts with the stranger limits, behind the strangers' shared gate;
    // learnt() lifts both when it becomes a counterparty, admit() when it is admitted
    const known = isKnown(this.#ctx, peerKey)
    return {
      peerKey,
      clock: this.#ctx.clock,
      limits: known ? this.#ctx.limits : this.#ctx.strangerLimits,
      ...(known ? {} : { gate: this.#ctx.strangerGate }),
      seen: this.#frames,
      crypto: this.#ctx.crypto,
      onError: (error) => this.#report(error, 'message handler'),
      appCost: this.#appCost,
    }
  }

  /** Register a new session, then start reading it. */
  #adopt(session: Session): void {
    const ctx = this.#ctx
    const { neighbour, first } = ctx.peers.add(session)
    session.onClose((info) => this.#onSessionClose(session, info))
    if (first) {
      ctx.events.emit('peer:open', { publicKey: neighbour.publicKey, address: session.remoteAddress, direction: session.direction })
      this.#parts.peerOpened(ctx, neighbour, session)
      protocolsPeerOpened(ctx, neighbour.publicKey)
    }
    session.onMessage((m, s) => this.#onMessage(m, s))
  }

  #onSessionClose(session: Session, info: SessionCloseInfo): void {
    const ctx = this.#ctx
    const { neighbour, last } = ctx.peers.remove(session)
    if (info.misbehaviour !== undefined) ban(ctx, session.peerKeyHex)
    if (info.unauthenticated) ctx.stats.unauthenticated++
    if (last && neighbour !== undefined) {
      this.#parts.peerClosed(ctx, neighbour)
      protocolsPeerClosed(ctx, neighbour.publicKey)
      relayPeerGone(ctx, neighbour.publicKey)
      ctx.events.emit('peer:close', { publicKey: neighbour.publicKey, code: info.code, reason: info.reason, misbehaviour: info.misbehaviour })
    }
    if (ctx.peers.size === 0 && ctx.pullTimer !== undefined) {
      ctx.clock.clearTimeout(ctx.pullTimer)
      ctx.pullTimer = undefined
    }
  }

  // ## Receiving

  #onMessage(m: SessionMessage, session: Session): void | Promise<void> {
    if (this.#ctx.closed) return
    // a type the composition has no handler for is dropped: errors with no request (notices
    // before a disconnect), and on a client what only gossip peers act on
    const handler = this.#parts.handlers[m.type] as Handler<typeof m.type> | undefined
    return handler?.(this.#ctx, m, session)
  }

  // ## Transactions (transactions.ts), pull and crawl (pull.ts)

  transact(peerKey: Uint8Array, type: string, payload: CborValue, options: TransactOptions = {}): Promise<Transaction> {
    return transact(this.#ctx, peerKey, type, payload, options)
  }

  deliver(proposal: HalfBlock, options: TransactOptions = {}): Promise<Transaction> {
    return deliver(this.#ctx, proposal, options)
  }

  get transactions(): TransactionPort {
    const ctx = this.#ctx
    return (this.#port ??= Object.freeze({
      deliver: async (proposal: HalfBlock, options: { timeoutMs?: number } = {}): Promise<HalfBlock> =>
        (await deliver(ctx, proposal, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs })).agreement,
      // only in witness mode: a port without `witness` tells its user there are no seq witnesses
      ...(ctx.witnesses === undefined ? {} : { witness: (block: HalfBlock) => witnessBlock(ctx, block) }),
    }))
  }

  crawl(peerKey: Uint8Array, chain: Uint8Array, range: { start?: number; end?: number; maxBlocks?: number } = {}): Promise<HalfBlock[]> {
    return crawl(this.#ctx, peerKey, chain, range)
  }

  pull(): void {
    this.#parts.pull(this.#ctx)
  }

  // ## Protocols (protocol-host.ts)

  host<M extends ProtocolMessages>(protocol: Protocol<M>): ProtocolHandle<M> {
    return hostProtocol(this.#ctx, protocol)
  }

  // ## Closing

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing
    const ctx = this.#ctx
    ctx.closed = true
    this.#closing = (async () => {
      if (ctx.pullTimer !== undefined) ctx.clock.clearTimeout(ctx.pullTimer)
      ctx.pullTimer = undefined
      this.#parts.closing(ctx)
      for (const want of ctx.wants.values()) if (want.timer !== undefined) ctx.clock.clearTimeout(want.timer)
      ctx.wants.clear()
      stopResends(ctx)
      for (const sleep of [...this.#sleeps]) {
        ctx.clock.clearTimeout(sleep.timer)
        sleep.reject(new ClosedError('node closed'))
      }
      this.#sleeps.clear()
      for (const s of ctx.peers.sessions()) s.close('node closing')
      ctx.transport.onRefuse?.(undefined)
      await ctx.transport.close()
      // let writes already queued finish, so the store is left consistent for its owner
      await this.#writes.idle()
    })()
    return this.#closing
  }

  // ## Private helpers

  /** Wait on the node's clock until `ms` passed or `wake` settles; rejects with ClosedError when the node closes first. */
  #sleep(ms: number, wake?: Promise<unknown>): Promise<void> {
    if (this.#ctx.closed) return Promise.reject(new ClosedError('node closed'))
    return new Promise((resolve, reject) => {
      const done = (): void => {
        if (!this.#sleeps.delete(entry)) return
        this.#ctx.clock.clearTimeout(entry.timer)
        resolve()
      }
      const entry = { timer: this.#ctx.clock.setTimeout(done, ms), reject }
      this.#sleeps.add(entry)
      wake?.then(done, done)
    })
  }

  #checkOpen(): void {
    if (this.#ctx.closed) throw new ClosedError('node closed')
  }

  #report(error: unknown, context: string): void {
    this.#ctx.events.emit('error', { error, context })
  }
}

// ## Helpers

function seededRandom(crypto: CryptoProvider): Random {
  const b = crypto.randomBytes(4)
  return createRandom(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0)
}

/**
 * Message tokens a stranger's inbound handshake is charged to the strangers' budget: four X25519,
 * a signature and a check, an HTTP upgrade and a session's setup, ~0.5 ms here, against 15–30 µs
 * for a token's worth of frame handling.
 */
const HANDSHAKE_TOKENS = 32

/**
 * The limits of a stranger's session: `limits` with the rates capped at DEFAULT_LIMITS', then the
 * operator's overrides.
 */
function resolveStrangerLimits(limits: Readonly<Limits>, overrides: Partial<Limits> | undefined): Readonly<Limits> {
  const capped: { -readonly [K in keyof Limits]?: number } = {}
  for (const key of ['messagesPerSecond', 'messageBurst', 'bytesPerSecond', 'byteBurst'] as const) {
    if (limits[key] > DEFAULT_LIMITS[key]) capped[key] = DEFAULT_LIMITS[key]
  }
  // byteBurst must hold a frame: a node with larger frames keeps its burst
  if (capped.byteBurst !== undefined && capped.byteBurst < limits.maxFrameBytes) capped.byteBurst = limits.maxFrameBytes
  if (Object.keys(capped).length === 0 && overrides === undefined) return limits
  return resolveLimits({ ...limits, ...capped, ...definedOnly(overrides ?? {}) })
}

/** The admissions NodeOptions asks for: `known` admitted for 'operator', within `maxAdmitted`. */
function admissionsOf(options: NodeOptions): Admissions {
  const admitted = new Admissions(options.maxAdmitted)
  if (options.known !== undefined && !Array.isArray(options.known)) throw new TypeError('"known" expected an array of public keys')
  options.known?.forEach((key, i) => {
    abytes(`known[${i}]`, key, 32)
    if (!equalBytes(key, options.identity.publicKey)) admitted.admit(key, 'operator')
  })
  return admitted
}

/** The strangers' gate counts into the node's stats (strangerFrames, strangerPauses, strangerSkipped). */
function gateCounts(stats: NodeStats): { charged: number; pauses: number; skipped: number } {
  return {
    get charged() {
      return stats.strangerFrames
    },
    set charged(n: number) {
      stats.strangerFrames = n
    },
    get pauses() {
      return stats.strangerPauses
    },
    set pauses(n: number) {
      stats.strangerPauses = n
    },
    get skipped() {
      return stats.strangerSkipped
    },
    set skipped(n: number) {
      stats.strangerSkipped = n
    },
  }
}
