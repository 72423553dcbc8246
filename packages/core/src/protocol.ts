/**
 * The protocol interface (type-only): what an application protocol hosted by a node is made of.
 *
 * Everything above blocks and fraud proofs — the economy's reports and certificates, markets,
 * channels, data streams — is a `Protocol`: a name, message kinds with their codecs, limits and
 * rate costs, and handlers that get a typed peer context. A node (@tally/gossip's `createNode`)
 * hosts any number of them over one wire message code; protocol code never touches sockets, so it
 * runs the same over ws, the memory network of the simulator, or a test double.
 *
 * On the wire a protocol message is one gossip `app` frame `[5, id, name, kind, body]` inside the
 * node's session, where `body` is a byte string holding the canonical CBOR encoding of the value
 * the kind's `encode` returned, and `id` is 0 for a one-way message, n for request n and -n for
 * its reply. The host checks, before any handler runs: the protocol is hosted, the kind is one of
 * its kinds, the body is within the kind's `maxBytes`, it is canonical CBOR, and `decode` accepts
 * it. A frame that fails any of these costs its sender as any malformed frame does, and the
 * handler never sees it; a request that fails is refused (reason `unknown-protocol`,
 * `unknown-kind`, `too-large` or `malformed`).
 * A reply goes through the same checks against the requester's codec of the reply's kind; one
 * that fails them rejects the requester's `request` with a `DecodeError` and costs the replier.
 *
 * Writing one: see @tally/gossip's README ("Writing a protocol") for a worked example.
 * @module
 */
import type { Agent } from './agent.js'
import type { HalfBlock } from './half-block.js'
import type { CborValue } from './cbor.js'
import type { Clock } from './clock.js'
import type { BlockStore } from './store.js'

/** One kind of message of a protocol: its codec, its limit and what it costs its sender. */
export interface MessageKind<T> {
  /**
   * Largest encoded body accepted, in bytes; a larger one is refused before it is decoded. At most
   * the node's frame limit less 256 bytes of envelope (128 KiB - 256 by default).
   */
  readonly maxBytes: number
  /**
   * Tokens this message takes from its sender's rate budget, in units of one small gossip frame
   * (a `push` of one block costs 1; every frame takes at least one). Make expensive work
   * expensive: a report that needs a signature check and a disk write costs more than a ping.
   */
  readonly cost: number
  /** The body as a CBOR value (encoded canonically by the host). */
  encode(message: T): CborValue
  /**
   * The message from a body the host decoded (canonical CBOR, within `maxBytes`). Throw a
   * `DecodeError`, `TypeError` or `RangeError` naming what is wrong: the sender is charged and the
   * message dropped.
   */
  decode(body: CborValue): T
}

/**
 * A protocol's message kinds by name: `{ report: ReportMessage, ack: AckMessage }`. Declare it with
 * `type`, not `interface` (an interface has no index signature). Kind names are 1..64 characters of
 * `A-Za-z0-9` and `/._-`.
 */
export type ProtocolMessages = { readonly [kind: string]: unknown }

/** A reply a handler gives to a request: one of the protocol's message kinds. */
export type ProtocolReply<M extends ProtocolMessages> = { readonly [K in keyof M & string]: { readonly kind: K; readonly message: M[K] } }[keyof M & string]

/** Options of a request. */
export interface ProtocolRequestOptions {
  /** Milliseconds to wait for the reply (default: the node's request timeout). */
  readonly timeoutMs?: number
}

/** What a protocol can do with one connected peer. */
export interface PeerContext<M extends ProtocolMessages> {
  /** The peer's public key, proven by the session's handshake. */
  readonly peer: Uint8Array
  /** The hosting node's agent (its identity, chain and store). */
  readonly agent: Agent
  /** The hosting node's store. */
  readonly store: BlockStore
  /** The hosting node's clock (virtual in the simulator). */
  readonly clock: Clock
  /**
   * Send a one-way message to this peer.
   * @returns false when no session to the peer is open, its send queue is full, or the protocol is
   *   no longer hosted (the message is dropped)
   * @throws TypeError for a kind the protocol does not have; RangeError when the message encodes
   *   to more than the kind's maxBytes (caller mistakes: nothing is sent)
   */
  send<K extends keyof M & string>(kind: K, message: M[K]): boolean
  /**
   * Send a request and wait for the peer's reply.
   * @returns the reply (any kind of this protocol the peer's handler returned)
   * @throws RefusedError (with the peer's reason code) when the peer refuses — a handler's own
   *   RefusedError keeps its `reason`; a handler that failed otherwise gives `internal`; the host's
   *   checks give `unknown-protocol`, `unknown-kind`, `too-large`, `malformed` or `no-handler`;
   *   a TimeoutError DOMException after the timeout; ClosedError when no session is open or it
   *   closes first; DecodeError when the reply fails the host's checks (its sender is charged);
   *   TypeError / RangeError as `send`
   */
  request<K extends keyof M & string>(kind: K, message: M[K], options?: ProtocolRequestOptions): Promise<ProtocolReply<M>>
}

/**
 * A handler for one kind of message. For a message sent with `request` it returns the reply (or
 * throws a `RefusedError`, which reaches the requester as a `RefusedError` with the same `reason`);
 * for a one-way message its return value is ignored. Any other exception (and a request's handler
 * that returns no reply) is reported by the host (the node's `error` event) and answered with a
 * generic `internal` refusal: a handler never crashes its node.
 */
export type ProtocolHandler<M extends ProtocolMessages, K extends keyof M & string> = (
  message: M[K],
  context: PeerContext<M>,
) => void | ProtocolReply<M> | Promise<void | ProtocolReply<M>>

/** An application protocol that a node hosts. */
export interface Protocol<M extends ProtocolMessages> {
  /**
   * Unique name with a version, lowercase, `a-z0-9` and `/._-`, at most 64 characters:
   * `tally/economy/reports/1`. Peers that do not host it refuse its messages.
   */
  readonly name: string
  /** Every message kind the protocol sends or accepts. */
  readonly messages: { readonly [K in keyof M & string]: MessageKind<M[K]> }
  /**
   * Handlers for the kinds a peer may send unasked; a kind without one is refused (`no-handler`)
   * and costs its sender as an unexpected message does. Reply-only kinds need none.
   */
  readonly handlers: { readonly [K in keyof M & string]?: ProtocolHandler<M, K> }
  /**
   * Called when a peer's first session opens (after the handshake), and, when hosting starts, for
   * each peer already connected.
   */
  onPeer?(context: PeerContext<M>): void
  /** Called when that peer's last session closes, and for each connected peer when hosting stops. */
  onPeerGone?(peer: Uint8Array): void
}

/**
 * What a node gives back when it starts hosting a protocol: the way to reach peers from outside a
 * handler (a wallet sending a transfer, a component delivering its reports).
 */
export interface ProtocolHandle<M extends ProtocolMessages> {
  /** The hosting node's clock, for work started outside a handler (retries, timers). */
  readonly clock: Clock
  /**
   * The context for `peer`, connecting to it first when the node knows its address.
   * @throws (rejects) when there is no session and the peer cannot be dialled (the node's
   *   UnreachableError), or the handle is closed (ClosedError)
   */
  peer(peer: Uint8Array): Promise<PeerContext<M>>
  /** Contexts of every peer with an open session now (none once closed). */
  peers(): PeerContext<M>[]
  /**
   * Stop hosting the protocol: later messages of it are refused; the name may be hosted again. The
   * admissions it made (`admit`) are withdrawn.
   */
  close(): void
  /**
   * Admit `peer`: this protocol knows it from something it holds itself (a community's witness
   * set, a registration it applied, the relay its wallet was configured with), never from what the
   * peer claims. An admitted peer is no stranger to the host: its sessions get the node's own
   * limits, outside the budget strangers share. Hosts with no such budget may leave it out.
   * @param peer the peer's key
   * @param reason a short label, kept with the protocol's name ('witness', 'registered')
   * @throws the host's error when it admits as many peers as it may already (the gossip node's
   *   AdmissionError, code ERR_ADMISSION_FULL)
   */
  admit?(peer: Uint8Array, reason: string): void
  /** Withdraw this protocol's `reason` (without one: all its reasons) for `peer`. */
  unadmit?(peer: Uint8Array, reason?: string): void
  /**
   * Keep `chain` as party data: this node is about to be a party to a transaction with its owner
   * (a receiver checking an offer fetches the sender's history), so the host counts what it holds
   * of that chain within its own quota for such data, not as a stranger's it may trim to a few
   * hundred KiB. Bounded by the host (the gossip node's `keep.partyBytes`); hosts that keep
   * everything may leave it out.
   * @param chain the owner's key
   */
  keepChain?(chain: Uint8Array): void
}

/**
 * What hosts protocols: a node (`@tally/gossip`'s `createNode`) or a test double. Protocol code
 * that starts its own work (a witness, a wallet) takes a `ProtocolHost` and hosts what it needs.
 */
export interface ProtocolHost {
  /**
   * Start hosting `protocol`: its handlers answer peers from now on.
   * @returns the handle to reach peers from outside a handler
   * @throws RangeError when a protocol of that name is hosted already, or the name is malformed
   */
  host<M extends ProtocolMessages>(protocol: Protocol<M>): ProtocolHandle<M>
}

/**
 * A node's own transaction path, seen from protocol code: hand it a proposal this node signed, get
 * the counterparty's agreement back. The gossip node's `node.transactions` is one (its proposal /
 * agreement messages, the counterparty's policy and seq witnesses); a test double may call the
 * counterparty's agent directly. The economy's network wallet completes a transfer through it.
 */
export interface TransactionPort {
  /**
   * Deliver `proposal` (signed by this node, already in its chain) to its counterparty, again when
   * an answer is lost, and wait for the agreement; the node has validated and stored it.
   * @returns the agreement
   * @throws (rejects) RefusedError with the counterparty's reason; InvalidBlockError, FraudError;
   *   a timeout (an error named 'TimeoutError'); ClosedError; the node's UnreachableError
   */
  deliver(proposal: HalfBlock, options?: { timeoutMs?: number }): Promise<HalfBlock>
  /**
   * Ask the node's seq witnesses which block they hold at `block`'s (key, seq) — present when the
   * node runs with seq witnesses (the gossip node's `witnesses` option). A witness keeps the first
   * block it is shown at each slot, so of two branches of a fork only the first one checked passes:
   * a receiver that checks every block of a sender it takes in cannot be handed a second branch.
   * @returns ok when every witness asked holds this very block; 'conflict' when one holds another
   *   block signed by the same key (the node keeps the double-sign proof); 'unavailable' when too
   *   few answered in time (safety over liveness: refuse)
   */
  witness?(block: HalfBlock): Promise<SeqWitnessVerdict>
}

/** What a TransactionPort's seq witnesses said of one block. */
export type SeqWitnessVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: 'conflict' | 'unavailable'; readonly message: string }
