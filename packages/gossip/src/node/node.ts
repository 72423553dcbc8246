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
 * - 'announce' (default): a `fraud-have` { publicKey } (36 bytes; 19 on a session of version 3,
 *   which names the accused by the first 16 bytes of its key). A node that holds no proof
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
 * through the agent (receive, agree, complete, addFraudProof) runs on the node's write queue, one
 * at a time, from one bounded lane per peer taken in turn (write-queue.ts); their reads and the
 * network waits (witness queries, resends) stay outside it.
 *
 * Where it lives: this file holds the node (its lifecycle, sessions and the dispatch of their
 * messages) and owns its state, a NodeContext (context.ts) that it hands to its parts:
 * transactions.ts, push.ts, pull.ts, fraud-relay.ts, peers.ts and ingest.ts.
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
import { acceptProof, onFraudHave, onFraudWant } from './fraud-relay.js'
import {
  DEFAULT_GOSSIP,
  WANT_ATTEMPTS,
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
import { RelayState, Tunnel, isTunnel, onRelay, onRelayed, relayPeerGone, tunnelLimits } from './relay.js'
import { appCost, hostProtocol, onApp, protocolsPeerClosed, protocolsPeerOpened } from './protocol-host.js'
import { DEFAULT_RECOVERY, fetchFromPeers, headFromPeers, type RecoveryState } from './recovery.js'
import { ban, dial, handshakeFailed, isBanned, listPeers, onPeers, onPeersRequest } from './peers.js'
import { crawl, onCrawl, onHeads, onHeadsRequest, pull, schedulePull } from './pull.js'
import { neighboursChanged, onNeighbours, onPush, onPushVia, sendNeighbours } from './push.js'
import { onAck, stopResends } from './resend.js'
import { deliver, onLateAgreement, onProposal, onWitnessQuery, transact, witnessBlock } from './transactions.js'
import { StrangerQuota } from './stranger-quota.js'
import { TwoHopTable } from './two-hop.js'
import { WriteQueue } from './write-queue.js'

/**
 * The share of a core this process gets (createCpuShare), one meter for every node of the process:
 * it measures the process (CPU over the event loop's busy time), the same for each of them, and a
 * process with many nodes (a host of many component connections) would otherwise read the
 * process's CPU clock twice per node at every stranger's frame.
 */
let processShare: (() => number) | undefined

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

export { DEFAULT_RECOVERY, type RecoveryOptions } from './recovery.js'
export { DEFAULT_GOSSIP, WANT_ATTEMPTS, type GossipOptions, type Node, type NodeEvents, type NodeOptions, type NodePeer, type NodeStats, type TransactOptions }

// ## The node

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
  #address: TransportAddress | undefined
  #port: TransactionPort | undefined
  #closing: Promise<void> | undefined

  constructor(options: NodeOptions) {
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
    this.agent = createAgent({ head, identity: options.identity, store: options.store, types, clock: () => Math.floor(clock.now()) })
    this.#ctx = {
      publicKey: this.publicKey,
      agent: this.agent,
      store: this.store,
      stats: this.stats,
      transport: options.transport,
      types,
      clock,
      crypto,
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
      twoHop: new TwoHopTable(this.publicKey),
      banned: new BanList(Math.max(1024, cacheSize)),
      dialing: new Map(),
      closed: false,
      agreeing: new Map(),
      agreedBy: new Set(),
      firstProposals: new Map(),
      forwards: createSeenCache({ max: cacheSize }),
      neighboursTimer: undefined,
      neighboursSentAt: Number.NEGATIVE_INFINITY,
      admitted: admissionsOf(options),
      quota: new StrangerQuota(
        { self: this.publicKey, store: options.store, crypto, witnesses, stats: this.stats, onEvicted: (hex) => this.#ctx.recent.delete(hex) },
        options.keep,
      ),
      neighboursUnacked: new WeakMap(),
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
      serial: (fn, lane) => this.#writes.run(fn, lane),
      sleep: (ms, wake) => this.#sleep(ms, wake),
      checkOpen: () => this.#checkOpen(),
      report: (error, context) => this.#report(error, context),
      open: (conn, expectedPeer) => this.#open(conn, expectedPeer),
    }
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
    // inbound upgrades are admitted out of the strangers' budget, before any handshake (ws-transport.ts)
    ;(ctx.transport as { admitWith?: (gate: typeof ctx.strangerGate | undefined) => void }).admitWith?.(ctx.strangerGate)
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
      ctx.twoHop.add(neighbour, neighbour.publicKey)
      ctx.events.emit('peer:open', { publicKey: neighbour.publicKey, address: session.remoteAddress, direction: session.direction })
      if (ctx.peers.size === 1) schedulePull(ctx)
      // the newcomer gets the whole list now; the others hear of it with the next change
      sendNeighbours(ctx, [session])
      neighboursChanged(ctx)
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
      ctx.twoHop.remove(neighbour)
      neighboursChanged(ctx)
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
    const ctx = this.#ctx
    if (ctx.closed) return
    switch (m.type) {
      case 'proposal':
        return onProposal(ctx, m, session)
      case 'push':
        return onPush(ctx, m, session)
      case 'push-via':
        return onPushVia(ctx, m, session)
      case 'neighbours':
        return onNeighbours(ctx, m, session)
      case 'ack':
        return onAck(ctx, m.id, session)
      case 'heads':
        return onHeads(ctx, m.heads, session) // requestId 0: an announcement (replies go to the request)
      case 'heads-request':
        return onHeadsRequest(ctx, m, session)
      case 'fraud':
        return acceptProof(ctx, m.proof, session, 'peer').then(() => undefined)
      case 'fraud-have':
        return onFraudHave(ctx, m.publicKey, session)
      case 'fraud-want':
        return onFraudWant(ctx, m.publicKey, session)
      case 'crawl-request':
        return onCrawl(ctx, m, session)
      case 'witness-query':
        return onWitnessQuery(ctx, m, session)
      case 'peers-request':
        return onPeersRequest(ctx, m, session)
      case 'peers':
        return onPeers(ctx, m)
      case 'app':
        return onApp(ctx, m, session) // a request or one-way (replies go to the request)
      case 'relay':
        return onRelay(ctx, m, session)
      case 'relayed':
        return onRelayed(ctx, m, session)
      case 'agreement':
        // unsolicited (requestId 0): an agreement to a proposal of ours whose answer was lost
        return onLateAgreement(ctx, m.block, session)
      default:
        return // errors with no request: notices before a disconnect
    }
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
    pull(this.#ctx)
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
      if (ctx.neighboursTimer !== undefined) ctx.clock.clearTimeout(ctx.neighboursTimer)
      ctx.neighboursTimer = undefined
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
