/**
 * The node's options, events, counters and its public interface, with the checks of its options.
 * (node.ts holds the node itself.)
 * @module
 */
import {
  abytes,
  type Agent,
  type BlockStore,
  type BlockTypes,
  type CborValue,
  type Clock,
  type Connection,
  type CryptoProvider,
  type FraudProof,
  type HalfBlock,
  type HeadSource,
  type Identity,
  type Protocol,
  type ProtocolHandle,
  type ProtocolMessages,
  type SignatureVerifier,
  type Transaction,
  type TransactionPort,
  type Transport,
  type TransportAddress,
} from '@tally/core'
import type { Emitter } from './emitter.js'
import type { Limits } from '../wire/limits.js'
import type { Random } from '../random.js'
import type { RecoveryOptions } from './recovery.js'
import type { KeepOptions } from './stranger-quota.js'
import type { Admitted } from './admission.js'
import type { RelayOptions } from './relay.js'
import type { WitnessOptions } from './witness.js'

/** How the node spreads blocks and proofs (see node.ts). */
export interface GossipOptions {
  /**
   * Peers a party pushes each new block to: those nearest the block's slot on the push ring among
   * its neighbours and theirs (default 3). 0: no push gossip, neither pushing nor forwarding the
   * `push-via` of others.
   */
  readonly pushFanout: number
  /** Least milliseconds between two announcements of this node's neighbour list to all neighbours (default 1000). */
  readonly neighboursIntervalMs: number
  /** Whether a block's owner pushes it too, not only its counterparty (default true). */
  readonly pushOwn: boolean
  /** Mean milliseconds between head requests to a random neighbour (default 2000; 0: never). */
  readonly pullIntervalMs: number
  /** Chains asked about per head request, most recently learnt first (default 8, at most limits.maxHeads). */
  readonly headsPerPull: number
  /**
   * Neighbours told of a new fraud proof (default Infinity: every neighbour; 0: none, a withholding
   * peer), in the way `proofRelay` says.
   */
  readonly fraudFanout: number
  /**
   * 'announce' (default): tell `fraudFanout` neighbours that this node holds a proof against the key
   * (`fraud-have`); those without one ask for it (`fraud-want`). 'push': send them the proof itself.
   */
  readonly proofRelay: 'announce' | 'push'
  /** Milliseconds a `fraud-want` waits for its proof before the node asks again, the next announcer (default 250; 0: ask at every announcement). */
  readonly wantTimeoutMs: number
  /** Crawls this node runs at once for heads that contradict its store; more are skipped (default 8). */
  readonly maxCrawls: number
  /** Random slots compared with the peer after each pull (one-block crawls; default 1). */
  readonly auditsPerPull: number
  /**
   * Milliseconds a push, push-via or neighbour list waits for its `ack` before it is sent again
   * (RESEND_ATTEMPTS sends in all; default 300, above a round trip of the simulated links). Only
   * on sessions of protocol version 2; 0: never ask for an ack (links that lose no frames).
   */
  readonly resendMs: number
}

export { WANT_ATTEMPTS } from './gossip-rules.js'

/** The default gossip settings. */
export const DEFAULT_GOSSIP: Readonly<GossipOptions> = Object.freeze({
  pushFanout: 3,
  neighboursIntervalMs: 1000,
  pushOwn: false,
  pullIntervalMs: 2000,
  headsPerPull: 8,
  fraudFanout: Number.POSITIVE_INFINITY,
  proofRelay: 'announce',
  wantTimeoutMs: 250,
  maxCrawls: 8,
  auditsPerPull: 1,
  resendMs: 300,
})

/** Timing of `transact`. */
export interface TransactOptions {
  /** Give up after this many ms, resends included (default 30,000). */
  timeoutMs?: number
  /** Wait this long for the first answer before resending (default 1000; doubles per resend). */
  retryMs?: number
  /** Longest wait between resends (default 8000). */
  maxRetryMs?: number
}

/** Options of createNode. */
export interface NodeOptions {
  /** The agent's key pair; the handshake proves it to peers. */
  identity: Identity
  /** Where the chain and everything learnt is kept (the node does not close it). */
  store: BlockStore
  /**
   * How the agent learns its own chain's head before its first signature (core's AgentOptions.head):
   * - default: from this node's peers (recovery.ts; `recovery` says how many and how long), except
   *   for an identity `generateIdentity()` just made, whose chain cannot exist anywhere yet;
   * - 'local': the store is the whole truth (a brand-new identity, or a store that is the chain's
   *   only copy and is never restored from a backup);
   * - any other HeadSource.
   */
  head?: HeadSource | 'local'
  /** How the node asks its peers for its own chain's head, when it is the head source (default DEFAULT_RECOVERY). */
  recovery?: Partial<RecoveryOptions>
  /** How peers are reached (ws, memory, ...). */
  transport: Transport
  /** Block-type rules and should-sign policies (default: none, so the node countersigns nothing). */
  types?: BlockTypes
  /** Clock for timers and block timestamps (default systemClock). */
  clock?: Clock
  /**
   * How the agent checks the signatures of blocks it is given (core's AgentOptions.verifySignatures):
   * default the identity's provider, synchronously; a browser's WebCrypto verifier
   * (@tally/browser's createBrowserVerifier), Node's worker pool.
   */
  verifySignatures?: SignatureVerifier
  /** Limits for every session (default DEFAULT_LIMITS); see strangerLimits for a stranger's. */
  limits?: Partial<Limits>
  /**
   * Limits for a session with a stranger: a key that is not this node's counterparty (its own
   * chain names it) until the node transacts with it; then its sessions get `limits`. Default:
   * `limits` with the four rates (messagesPerSecond, messageBurst, bytesPerSecond, byteBurst) no
   * higher than DEFAULT_LIMITS'. Why: raising `limits` for a busy counterparty (thousands of
   * transactions a second) must not hand the same budget to every fresh key that dials; keys are
   * free, so a stranger's rate is what an attacker gets per session.
   */
  strangerLimits?: Partial<Limits>
  /**
   * What all strangers' sessions together may make this node read and handle: message tokens
   * (frames, and a message's weight beyond one) and bytes per second, one budget shared by every
   * stranger (wire/read-gate.ts). Over it, a stranger's session stops reading for as long as the
   * debt takes to pay: nothing is dropped and nobody is punished for it, the peers wait on their
   * side. Default: twice a stranger's own rates (strangerLimits), whatever the number of
   * strangers. Counterparties are outside it. `cpuScaled` (default: true on the system clock,
   * false on any other): the rates are per second of a core the node gets, not of wall time
   * (read-gate.ts createCpuShare), so a loaded machine does not hand strangers a larger share of
   * the node. A transport that can (ws on Node: admitWith) admits inbound upgrades out of the
   * same budget, before any handshake.
   */
  strangerBudget?: { readonly messagesPerSecond?: number; readonly bytesPerSecond?: number; readonly cpuScaled?: boolean }
  /**
   * Peers admitted from the start (reason 'operator'): keys this node's operator knows (the other
   * witnesses of its community, its own relay). An admitted peer is no stranger: its sessions get
   * `limits`, outside the strangers' budget. See node.admit.
   */
  known?: readonly Uint8Array[]
  /** Peers admitted at once, at most (default MAX_ADMITTED, 4096): node.admit beyond throws an AdmissionError. */
  maxAdmitted?: number
  /** Gossip settings (default DEFAULT_GOSSIP). */
  gossip?: Partial<GossipOptions>
  /** Witness mode: ask witnesses before countersigning (default: off). */
  witnesses?: WitnessOptions
  /**
   * Tunnels through relays (relay.ts): `serve` to relay for others (with per-peer limits), `via`
   * relays to reach peers that have no address (a wallet that never listens), `accept` (default
   * true) tunnels opened to this node. Default: accept only.
   */
  relay?: RelayOptions
  /** Defaults for transact. */
  transact?: TransactOptions
  /** Generator for gossip choices (default: seeded from the crypto provider; give one to replay a simulation). */
  random?: Random
  /** Entries of each seen cache (relayed frames, proof ids, handshake challenges; default 100,000). */
  cacheSize?: number
  /** Milliseconds a peer disconnected for misbehaviour is refused (default 60,000). */
  banMs?: number
  /**
   * What the node keeps for others (stranger-quota.ts): strangers' chains within `perKeyBytes`
   * (default 256 KiB) each and `totalBytes` (default 32 MiB) in all; `pin(block)` keeps more.
   */
  keep?: Partial<KeepOptions>
  /** Provider for hashes and verification (default identity.crypto). */
  crypto?: CryptoProvider
}

/** A connected peer. */
export interface NodePeer {
  readonly publicKey: Uint8Array
  /** The remote address of its oldest open session. */
  readonly address: TransportAddress
  /** Who dialled that session. */
  readonly direction: 'inbound' | 'outbound'
  /** Open sessions to it (two when both dialled at once). */
  readonly sessions: number
}

/** The node's events. */
export interface NodeEvents {
  /** A block stored for the first time: this node's own, a counterparty's, or one learnt from gossip. */
  block: { readonly block: HalfBlock; readonly from: Uint8Array | undefined }
  /** A transaction this node is a party to is complete (both halves stored). */
  transaction: Transaction
  /** A verified fraud proof this node did not hold before (found here, or from `from`). */
  fraud: { readonly proof: FraudProof; readonly from: Uint8Array | undefined }
  /** A peer's first session opened. */
  'peer:open': { readonly publicKey: Uint8Array; readonly address: TransportAddress; readonly direction: 'inbound' | 'outbound' }
  /** A peer's last session closed. */
  'peer:close': { readonly publicKey: Uint8Array; readonly code: number; readonly reason: string; readonly misbehaviour: string | undefined }
  /**
   * An inbound connection the transport refused or held back before any handshake, by its own
   * limits (ws: 'too-many-connections'; 'address-backoff', held `delayMs` because connections from
   * that address keep misbehaving; 'address-busy', refused with 429 because too many from there
   * wait already). Honest peers behind the same address (a NAT) show up here too.
   */
  'connection:refused': { readonly address: TransportAddress; readonly reason: string; readonly delayMs: number | undefined }
  /**
   * A handshake that failed, either way. `publicKey`: the key the peer claimed, when it got that
   * far (not proved). `reason`: 'banned' (a key this node refuses for a while after it
   * misbehaved), a HandshakeError's reason ('bad-signature', 'wrong-key', 'replay', 'protocol',
   * 'version', 'self', 'policy', 'peer-refused'), 'timeout' or 'closed'.
   */
  'handshake:failed': {
    readonly address: TransportAddress
    readonly publicKey: Uint8Array | undefined
    readonly direction: 'inbound' | 'outbound'
    readonly reason: string
    readonly error: unknown
  }
  /** Something failed that no caller waits for (a handler threw, a store failed while gossiping). */
  error: { readonly error: unknown; readonly context: string }
}

/** Counters of a node. */
export interface NodeStats {
  /** Transactions completed, as proposer or counterparty. */
  transactions: number
  /** Proposals sent, resends included. */
  proposalsSent: number
  /** New blocks stored from peers (pushes, crawls, contexts). */
  blocksReceived: number
  /** Push frames sent (this node's pushes as a party, and forwards of a `push-via`). */
  pushesSent: number
  /** `push-via` frames sent (pushes to a peer through the neighbour that named it). */
  pushViaSent: number
  /** Push frames sent to forward a `push-via`. */
  forwarded: number
  /** `push-via` frames not forwarded: the target is no neighbour (any more), or its session does not keep up. */
  forwardMissed: number
  /** Frames sent again for want of an `ack` (pushes, push-vias, neighbour lists). */
  resent: number
  /** Head requests sent (pull gossip). */
  headsSent: number
  /** Crawl requests sent. */
  crawlsSent: number
  /** Fraud proofs newly held. */
  proofs: number
  /** Fraud frames sent. */
  proofsSent: number
  /** `fraud-have` frames sent (announcements of a proof held). */
  proofAnnouncements: number
  /** `fraud-want` frames sent (requests for an announced proof). */
  proofWants: number
  /** Proofs from peers that did not verify. */
  forgedProofs: number
  /** Proposals refused (policy, cheater, witnesses). */
  refused: number
  /**
   * Sessions closed because a frame failed authentication (altered, injected, replayed or reordered
   * between the peers): a sign of an attacker on the path, or of a broken peer. No ban follows.
   */
  unauthenticated: number
  /** Bytes of strangers' blocks stored now (encoded blocks; within keep.totalBytes). */
  strangerBytes: number
  /** Strangers' chains with blocks counted now. */
  strangerChains: number
  /** Strangers' blocks evicted to keep within the quotas. */
  evicted: number
  /** Frames read from strangers' sessions, charged to the strangers' budget (strangerBudget). */
  strangerFrames: number
  /** Times a stranger's session stopped reading because the strangers' budget was spent. */
  strangerPauses: number
  /** Gossip to strangers skipped because their budget was spent. */
  strangerSkipped: number
  /** Blocks from peers of a type this node has no rules for, not stored. */
  unknownRefused: number
  /** Blocks from peers not queued: the sender's write lane was full. */
  dropped: number
  /** As a relay: tunnel frames passed on, and their bytes. */
  relayedFrames: number
  relayedBytes: number
  /** As a relay: tunnel frames refused (with a reason to the sender: relay.ts). */
  relayRefused: number
}

/** A Tally node. */
export interface Node extends Emitter<NodeEvents> {
  /** The agent's public key. */
  readonly publicKey: Uint8Array
  /** The protocol agent (propose/agree/complete run through the node; reading from it is fine). */
  readonly agent: Agent
  /** The store. */
  readonly store: BlockStore
  /** The address `listen` returned, if listening. */
  readonly address: TransportAddress | undefined
  /** Connected peers. */
  readonly peers: readonly NodePeer[]
  /** Counters. */
  readonly stats: Readonly<NodeStats>
  /** True until close() is called. */
  readonly open: boolean
  /**
   * Accept peers on the transport.
   * @returns the address peers dial
   * @throws (rejects) as Transport.listen; ClosedError after close
   */
  listen(): Promise<TransportAddress>
  /**
   * Dial a peer and run the handshake.
   * @param address where to dial
   * @param options expectedPeer: refuse any other key
   * @returns the peer's proved key
   * @throws (rejects) ClosedError, HandshakeError, or the transport's error
   */
  connect(address: TransportAddress, options?: { expectedPeer?: Uint8Array }): Promise<Uint8Array>
  /**
   * Adopt a connection whose peer key is known by construction, without a handshake (simulators,
   * tests, or a transport that authenticates by itself).
   * @param connection an open connection
   * @param peerKey the key of the agent at the other end
   */
  attach(connection: Connection, peerKey: Uint8Array): void
  /** Remember where `publicKey` can be dialled (used by transact, crawl and witness mode). */
  addAddress(publicKey: Uint8Array, address: TransportAddress): void
  /** Close every session to `publicKey`. */
  disconnect(publicKey: Uint8Array): void
  /**
   * Admit a peer this node knows (its operator's word, or a hosted protocol's: ProtocolHandle.admit
   * does it for the protocol, its reasons tagged with the protocol's name): its sessions get
   * `limits` and leave the strangers' budget, as a counterparty's, at once for sessions already
   * open. It stays admitted while any reason for it stands. No message from a peer admits it.
   * @param publicKey the peer
   * @param reason a short label (1..128 characters; default 'operator')
   * @throws AdmissionError (code ERR_ADMISSION_FULL) when maxAdmitted peers are admitted already;
   *   TypeError / RangeError on a malformed key or reason, or this node's own key; ClosedError
   * @example node.admit(otherWitness, 'witness')
   */
  admit(publicKey: Uint8Array, reason?: string): void
  /**
   * Withdraw `reason` (without one: every reason) for a peer; when none is left it is a stranger
   * again (unless a counterparty), its open sessions back on the stranger limits behind the gate.
   */
  unadmit(publicKey: Uint8Array, reason?: string): void
  /** The admitted peers, each with its reasons. */
  readonly admitted: readonly Admitted[]
  /**
   * Propose a transaction and wait for the agreement; resends the same proposal with backoff.
   * @param peerKey the counterparty
   * @param type block type
   * @param payload the proposal's payload
   * @param options timing
   * @returns both halves, stored
   * @throws (rejects) RefusedError (the peer declined, or one of us is a proven cheater), FraudError
   *   (its answer proved it a cheater), InvalidBlockError, TransactTimeoutError, UnreachableError,
   *   ClosedError; TypeError / RangeError for bad arguments
   */
  transact(peerKey: Uint8Array, type: string, payload: CborValue, options?: TransactOptions): Promise<Transaction>
  /**
   * Send a proposal this node already signed and wait for its agreement, as transact does: for a
   * proposal left unanswered (a restart, a timeout given up on). The counterparty answers a
   * proposal it already agreed to with the same agreement.
   * @param proposal a proposal in this node's chain
   * @param options timing
   * @returns both halves
   * @throws (rejects) as transact; RangeError when `proposal` is not a proposal signed by this node
   */
  deliver(proposal: HalfBlock, options?: TransactOptions): Promise<Transaction>
  /**
   * This node's transaction path as core's `TransactionPort`: `deliver(proposal, { timeoutMs })`
   * is `node.deliver` (resends, the counterparty's context, policy and seq witnesses; the agreement
   * validated and stored here) resolving to the agreement. For protocol code that completes its own
   * proposals, as the economy's network wallet does (`createNetWallet({ ..., port: node.transactions })`).
   */
  readonly transactions: TransactionPort
  /**
   * Fetch blocks of `chain` from a connected peer, validate and store them. Each answer must be
   * for `chain` and within the range asked, and the walk stops after `maxBlocks` blocks, whatever
   * head the peer claims.
   * @param peerKey whom to ask
   * @param chain whose blocks
   * @param range seqs as in a crawl request (negative: from the end; default 1..-1, the whole
   *   chain); maxBlocks: at most this many blocks in all (default 10,000)
   * @returns the blocks received (in seq order), whether new or already known
   * @throws (rejects) RefusedError when the peer refuses, or answers for another chain or outside
   *   the range (it is charged for that); RangeError on a bad range
   */
  crawl(peerKey: Uint8Array, chain: Uint8Array, range?: { start?: number; end?: number; maxBlocks?: number }): Promise<HalfBlock[]>
  /**
   * Pull gossip now (it also runs on its timer): ask a random neighbour for its heads of the
   * chains this node learnt of most recently; a head that contradicts the store is crawled.
   */
  pull(): void
  /**
   * Host an application protocol (core's `Protocol`): its messages travel as `app` frames, checked
   * before its handlers see them (see the README, "Writing a protocol"). Its `onPeer` is called at
   * once for the peers already connected, then for each peer whose first session opens.
   * @param protocol name, message kinds, handlers, hooks
   * @returns the handle: `peer(key)` (dials a known address), `peers()`, `close()`
   * @throws TypeError / RangeError for a malformed protocol: a name that is not 1..64 characters
   *   of a-z, 0-9 and /._-, a name already hosted, a kind without codecs, a maxBytes beyond a
   *   frame, a handler for a kind it does not have; ClosedError after close
   * @example const handle = node.host(pingProtocol); const { message } = await (await handle.peer(bob)).request('ping', 1)
   */
  host<M extends ProtocolMessages>(protocol: Protocol<M>): ProtocolHandle<M>
  /** Stop: close every session and the transport, cancel timers; pending calls reject with ClosedError. */
  close(): Promise<void>
}

// ## Checks

export function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {}
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v
  return out
}

export function nonNegative(name: string, v: number): number {
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0) throw new RangeError(`"${name}" expected a number >= 0, got ${String(v)}`)
  return v
}

export function checkGossip(g: GossipOptions, limits: Readonly<Limits>): Readonly<GossipOptions> {
  for (const key of ['pushFanout', 'neighboursIntervalMs', 'pullIntervalMs', 'headsPerPull', 'maxCrawls', 'auditsPerPull', 'wantTimeoutMs', 'resendMs'] as const) {
    const v = g[key]
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`"gossip.${key}" expected a finite number >= 0, got ${String(v)}`)
  }
  if (typeof g.fraudFanout !== 'number' || !(g.fraudFanout >= 0)) throw new RangeError(`"gossip.fraudFanout" expected a number >= 0, got ${String(g.fraudFanout)}`)
  if (typeof g.pushOwn !== 'boolean') throw new TypeError('"gossip.pushOwn" expected a boolean')
  if (g.proofRelay !== 'announce' && g.proofRelay !== 'push') throw new TypeError(`"gossip.proofRelay" expected 'announce' or 'push', got ${String(g.proofRelay)}`)
  return Object.freeze({ ...g, headsPerPull: Math.min(g.headsPerPull, limits.maxHeads) })
}

export function checkTransact(t: Required<TransactOptions>): Required<TransactOptions> {
  for (const key of ['timeoutMs', 'retryMs', 'maxRetryMs'] as const) {
    const v = t[key]
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new RangeError(`"${key}" expected a positive finite number, got ${String(v)}`)
  }
  return t
}

export function checkRecovery(r: RecoveryOptions): Readonly<RecoveryOptions> {
  for (const key of ['answers', 'maxPeers'] as const) {
    if (!Number.isSafeInteger(r[key]) || r[key] < 1) throw new RangeError(`"recovery.${key}" expected an integer >= 1, got ${String(r[key])}`)
  }
  if (r.maxPeers < r.answers) throw new RangeError(`"recovery.maxPeers" (${r.maxPeers}) expected at least "recovery.answers" (${r.answers})`)
  if (typeof r.timeoutMs !== 'number' || !(r.timeoutMs > 0) || !Number.isFinite(r.timeoutMs)) {
    throw new RangeError(`"recovery.timeoutMs" expected a positive finite number, got ${String(r.timeoutMs)}`)
  }
  return Object.freeze({ ...r })
}

export function checkWitnesses(w: WitnessOptions | undefined): WitnessOptions | undefined {
  if (w === undefined) return undefined
  if (typeof w !== 'object' || w === null || !Array.isArray(w.keys)) throw new TypeError('"witnesses.keys" expected an array of keys')
  w.keys.forEach((k, i) => abytes(`witnesses.keys[${i}]`, k, 32))
  if (w.keys.length === 0) throw new RangeError('"witnesses.keys" expected at least one witness')
  const k = w.k ?? 3
  if (!Number.isSafeInteger(k) || k < 1) throw new RangeError(`"witnesses.k" expected a positive integer, got ${String(k)}`)
  if (w.require !== undefined && typeof w.require !== 'function') throw new TypeError('"witnesses.require" expected a function')
  return w
}
