/**
 * A session: the authenticated conversation with one peer over one Connection, after the
 * handshake. It turns frames into typed messages and back, matches replies to requests, and limits
 * everything the peer can make this node do:
 *
 * - encryption: with the handshake's Noise ciphers (openSession, or `cipher` from performHandshake's
 *   result) every frame sent is sealed and every frame received opened, in order, before anything
 *   else reads it. A frame that fails to open — altered, injected, replayed, reordered or dropped on
 *   the way — closes the session at once with 1007 (invalid data) and `unauthenticated` in its close
 *   info. That is not counted as the peer's misbehaviour: an attacker on the path can cause it, and
 *   must not get an honest key banned (nor can a transport's own fault closes, below the cipher).
 *   A message is then at most maxFrameBytes − 16 bytes (the tag); the frame on the wire, what
 *   transports limit, stays within maxFrameBytes. Without a cipher (createSession for a simulation,
 *   keys known by construction) frames travel in the clear;
 * - frame size (limits.maxFrameBytes), checked first (once opened, when encrypted);
 * - messages and bytes per second (two token buckets on the Clock): frames over the rate are
 *   dropped unread and cost `floodCost` each, so a flood ends in a disconnect;
 * - decode: a malformed message costs `malformedCost` (`oversizedCost` when a list is over its
 *   limit) and is dropped; decoding never throws;
 * - work: once decoded, a message takes one more message token per item it asks this node to
 *   handle beyond the first (blocks pushed or proposed, keys asked about, heads announced, blocks
 *   in a proof, the blocks or peers an answer may hold): a heads request of 64 keys costs the node
 *   ~64 times a push of one block, and takes 64 tokens; an `app` message what `appCost` says (the
 *   node's protocol host: its kind's cost). Replies to our requests take one. A message
 *   the bucket cannot pay for is dropped and leaves it in debt, so the frames after it are dropped
 *   undecoded until the rate has paid for it;
 * - a shared budget (SessionOptions.gate, read-gate.ts; a node's strangers share one): every frame
 *   handled is charged to it, and while it is in debt the session handles GATE_QUANTUM frames a
 *   second and beyond that stops reading its connection for the time the debt takes to pay. Nothing is dropped and
 *   the score does not change: the peer's frames wait on its side;
 * - handlers: at most maxConcurrentHandlers of the peer's messages are handled at once (handlers
 *   whose promise is pending); later ones wait in order, and a close drops them unhandled. A peer
 *   disconnected for its second forged proof has not had a hundred more started already;
 * - requests: at most maxIncomingRequests of the peer's requests unanswered (more are answered
 *   `busy` at once, never queued), at most maxPendingRequests of ours (more are refused locally),
 *   each ours with a timeout; replies nobody asked for cost `unexpectedCost`;
 * - a handshake message inside the session (a replayed handshake) costs `violationCost`, which
 *   with the defaults is an immediate disconnect;
 * - relayed messages (push, heads announcements, fraud): with a shared SeenCache, a frame whose hash
 *   was seen before is dropped before decoding, so a message relayed by many peers is handled once.
 *   Requests and replies are never de-duplicated (two peers may send the same reply bytes).
 *
 * The misbehaviour score decays by scoreDecayPerSecond; at maxScore the session sends an error,
 * closes the connection with 1008 and reports `misbehaviour` in its close info, so the node can
 * refuse the key for a while. A connection that its transport closed for the peer's fault (a
 * frame over the transport's limit 1009, a protocol error 1002, a text frame 1003, invalid data
 * 1007, a policy breach 1008 such as a peer that never reads) is reported as misbehaviour too, in a
 * session without encryption.
 * Nothing a peer sends can throw out of the session or make it wait: every check is synchronous
 * and bounded, and handler errors go to `onError`.
 * @module
 */
import {
  ClosedError,
  RefusedError,
  abytes,
  nobleCrypto,
  toHex,
  type Clock,
  type CloseInfo,
  type Connection,
  type CryptoProvider,
  type PublicKeyHex,
  type TimerHandle,
  type TransportAddress,
} from '@tally/core'
import { CLOSE_CODES, FAULT_CODES, handshakeDone, holdReading } from '../transport/connection-base.js'
import { performHandshake, PROTOCOL_VERSION, type HandshakeOptions } from './handshake.js'
import type { SessionCipher } from './noise.js'
import { resolveLimits, sealedLimits, type Limits } from './limits.js'
import {
  MAX_REQUEST_ID,
  decodeMessage,
  encodeMessage,
  isHandshakeMessage,
  isRequest,
  peekMessageType,
  replyTypeOf,
  type AppMessage,
  type DecodeReason,
  type ErrorCode,
  type ErrorMessage,
  type Message,
  type ReplyMessage,
  type ReplyTypes,
  type RequestMessage,
  type SessionMessage,
} from './messages.js'
import type { SeenCache } from './seen-cache.js'
import type { ReadGate } from './read-gate.js'
import { systemClock } from '../time/system-clock.js'

/** A message type minus its requestId: what `request` and `reply` take (the session sets the id). */
export type WithoutRequestId<M> = M extends unknown ? Omit<M, 'requestId'> : never

/** A request as given to `session.request`. */
export type RequestInput = WithoutRequestId<RequestMessage>

/** A reply as given to `session.reply`. */
export type ReplyInput = WithoutRequestId<ReplyMessage>

/** Called for every message the peer sends that is not a reply to one of our requests. */
export type MessageHandler = (message: SessionMessage, session: Session) => void | Promise<void>

/** How a session ended. */
export interface SessionCloseInfo extends CloseInfo {
  /** Why the peer was disconnected for misbehaving (the last offence), or undefined. */
  readonly misbehaviour: string | undefined
  /** Its misbehaviour score when it closed. */
  readonly score: number
  /**
   * True when a frame failed authentication (altered, injected, replayed or reordered on the way),
   * which closed the session with 1007. Not misbehaviour (an on-path attacker can cause it): count
   * it, alert on it, do not ban the key for it.
   */
  readonly unauthenticated: boolean
}

/** Counters of one session. */
export interface SessionStats {
  framesIn: number
  bytesIn: number
  framesOut: number
  bytesOut: number
  /** Frames dropped by the rate limit. */
  rateLimited: number
  /** Frames that did not decode, or were too big. */
  malformed: number
  /** Relayed frames dropped as already seen. */
  duplicates: number
  /** Replies nobody asked for, handshake messages, reused request ids. */
  unexpected: number
  /** Peer requests answered `busy`. */
  busy: number
  /** Frames that failed authentication (at most one: the first closes the session). */
  unauthenticated: number
}

/** Options of createSession. */
export interface SessionOptions {
  /** The peer's agent key, proved by the handshake (or known by construction, e.g. in a simulator). */
  peerKey: Uint8Array
  /** The protocol version agreed (default PROTOCOL_VERSION). */
  version?: number
  /** The handshake's session id, for logs. */
  sessionId?: Uint8Array
  /**
   * The handshake's Noise ciphers (HandshakeResult.cipher): every frame is sealed and opened with
   * them. Without, frames travel in the clear: only for connections whose both ends are known by
   * construction (a simulation).
   */
  cipher?: SessionCipher
  /** Clock for rates, timeouts and score decay (default systemClock). */
  clock?: Clock
  /** Limits (default DEFAULT_LIMITS). */
  limits?: Partial<Limits>
  /** Shared seen cache for relayed messages (default: none, every frame is handled). */
  seen?: SeenCache
  /** SHA-256 for the seen cache's keys (default nobleCrypto). */
  crypto?: CryptoProvider
  /** Message handler (or set it later with onMessage: frames are read once a handler is set). */
  onMessage?: MessageHandler
  /** Close handler. */
  onClose?: (info: SessionCloseInfo, session: Session) => void
  /** Where handler errors go (a throw or a rejected promise from onMessage); default: ignored. */
  onError?: (error: unknown, session: Session) => void
  /**
   * Message tokens an `app` message from the peer takes (the node's protocol host: its kind's
   * `cost`); default 1. Replies to our requests take one.
   */
  appCost?: (message: AppMessage) => number
  /**
   * A budget shared with other sessions (a node's strangers, read-gate.ts): every frame handled is
   * charged to it, and while it is in debt this session stops reading for the time the debt takes
   * to pay. Default: none (only this session's own limits apply).
   */
  gate?: ReadGate
  /**
   * Message tokens charged to `gate` as the session starts (a node charges what a stranger's
   * handshake cost it); when the gate is in debt the session starts held, reading nothing until
   * the debt is paid (at most the gate's longest pause). Default 0.
   */
  gateEntry?: number
}

/** Options of openSession: the handshake's and the session's. */
export type OpenSessionOptions = HandshakeOptions & Omit<SessionOptions, 'peerKey' | 'version' | 'sessionId' | 'cipher'>

/** The conversation with one authenticated peer. */
export interface Session {
  /** The peer's agent key. */
  readonly peerKey: Uint8Array
  /** The same, as hex. */
  readonly peerKeyHex: PublicKeyHex
  /** The protocol version agreed. */
  readonly version: number
  /** The handshake's session id, when there was a handshake. */
  readonly sessionId: Uint8Array | undefined
  /** True when frames are encrypted and authenticated (a cipher from the handshake). */
  readonly encrypted: boolean
  /** The connection's remote address (not authenticated). */
  readonly remoteAddress: TransportAddress
  /** Who dialled. */
  readonly direction: 'inbound' | 'outbound'
  /** True until closed. */
  readonly open: boolean
  /** True when open and the send buffer is below limits.highWaterMark: gossip that can wait should wait. */
  readonly writable: boolean
  /** The peer's misbehaviour score now (decayed). */
  readonly score: number
  /** Our requests awaiting a reply. */
  readonly pendingRequests: number
  /** Counters. */
  readonly stats: Readonly<SessionStats>
  /** The limits in force. */
  readonly limits: Readonly<Limits>
  /**
   * Put other limits in force from now on: a node gives a stranger's session the stranger limits
   * and raises them to its own when the stranger becomes a counterparty. The token buckets keep
   * what they hold (capped at the new bursts); the misbehaviour score stays.
   * @param limits the new limits (resolved as resolveLimits does)
   * @throws TypeError / RangeError as resolveLimits
   */
  setLimits(limits: Partial<Limits>): void
  /**
   * Charge frames to `gate` from now on (SessionOptions.gate), or to none: a node takes a stranger's
   * session out of its strangers' gate when it becomes a counterparty (reading resumes at once).
   * @param gate the gate, or undefined
   */
  setGate(gate: ReadGate | undefined): void
  /**
   * Send a message that expects no reply, or a reply built by hand (prefer `reply`).
   * @param message any session message but a request (use `request`) or a handshake message
   * @returns false when closed (dropped) or above the high-water mark (sent; wait for drain)
   * @throws TypeError / RangeError on a malformed message or one over the limits (a caller mistake)
   */
  send(message: SessionMessage): boolean
  /**
   * Send a request and wait for its reply. The session picks the request id.
   * @param message the request without requestId
   * @param options timeoutMs (default limits.requestTimeoutMs)
   * @returns the reply, or the peer's error message (a refusal is data, not an exception)
   * @throws (rejects) ClosedError when the session closes first; RefusedError when maxPendingRequests
   *   of ours are already waiting; a DOMException named 'TimeoutError' on timeout; TypeError /
   *   RangeError on a malformed request
   */
  request<T extends RequestMessage['type']>(
    message: RequestInput & { readonly type: T },
    options?: { timeoutMs?: number },
  ): Promise<ReplyTypes[T] | ErrorMessage>
  /**
   * Answer a request of the peer.
   * @param request the request as received
   * @param answer its reply type, or an error, without requestId
   * @returns as send
   * @throws TypeError when the answer's type does not answer this request
   */
  reply(request: RequestMessage, answer: ReplyInput): boolean
  /** Set the message handler (frames are read from the connection once one is set). */
  onMessage(handler: MessageHandler | undefined): void
  /** Set the close handler (called once). */
  onClose(handler: ((info: SessionCloseInfo, session: Session) => void) | undefined): void
  /** Set the handler called when the send buffer drains below the high-water mark. */
  onDrain(handler: ((session: Session) => void) | undefined): void
  /**
   * Add to the peer's misbehaviour score (the node's own findings: an invalid block, a forged proof).
   * @param cost points to add (the Limits' costs are the scale: 100 disconnects by default)
   * @param reason what it did, for the close info
   * @returns true while the session stays open
   */
  penalize(cost: number, reason: string): boolean
  /**
   * Charge the peer for a message that a layer above the codec found malformed (an application
   * protocol's body), exactly as for a frame that did not decode: it counts in stats.malformed and
   * costs `oversizedCost` for 'too-large' or 'too-many', `malformedCost` otherwise.
   * @param reason what was wrong, as decodeMessage says it
   * @param detail a description, for the close info
   * @returns true while the session stays open
   */
  malformed(reason: DecodeReason, detail: string): boolean
  /** Close (idempotent): pending requests reject with ClosedError. */
  close(reason?: string): void
}

/**
 * A session over a connection whose peer key is known (after performHandshake, or by construction).
 * @param connection the connection (its frame, close and drain handlers are taken over)
 * @param options peerKey and the rest of SessionOptions
 * @returns the session
 * @throws TypeError / RangeError on malformed options
 * @example
 * const { peerKey, version, sessionId, cipher } = await performHandshake(conn, { identity })
 * const session = createSession(conn, { peerKey, version, sessionId, cipher, onMessage: (m, s) => node.handle(m, s) })
 */
export function createSession(connection: Connection, options: SessionOptions): Session {
  if (typeof connection !== 'object' || connection === null || typeof connection.send !== 'function') {
    throw new TypeError('"connection" expected a Connection')
  }
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected an object')
  abytes('peerKey', options.peerKey, 32)
  const cipher = options.cipher
  if (cipher !== undefined && (typeof cipher !== 'object' || cipher === null || typeof cipher.seal !== 'function' || typeof cipher.open !== 'function')) {
    throw new TypeError('"cipher" expected a SessionCipher')
  }
  return new PeerSession(connection, options)
}

/**
 * Handshake, then session: the usual way to start talking on a new connection.
 * @param connection a fresh connection
 * @param options the handshake's options and the session's
 * @returns the session
 * @throws (rejects) as performHandshake
 * @example
 * const session = await openSession(await transport.connect(address), { identity, expectedPeer: bob, onMessage })
 */
export async function openSession(connection: Connection, options: OpenSessionOptions): Promise<Session> {
  const result = await performHandshake(connection, options)
  return createSession(connection, { ...options, peerKey: result.peerKey, version: result.version, sessionId: result.sessionId, cipher: result.cipher })
}

// ## The session

const REQUEST_TYPES = new Set<string>(['proposal', 'crawl-request', 'witness-query', 'peers-request', 'heads-request', 'app'])
const RECENT_EXPIRED = 16
/** Messages held for a session whose handler is not set yet (see Session.#handlerSet). */
const EARLY_MESSAGES = 64

/**
 * Frames a session behind a read gate handles a second while the gate is in debt (and at most
 * this many at once) before it is held: a stranger that sends a few frames a second is read at
 * once however many others flood, and a flood of N strangers gets at most N times this a second
 * beyond the gate's budget. Per second of the clock, not per turn between holds: a hold lasts as
 * long as the shared debt takes to pay (up to 5 s on a loaded machine, read-gate.ts), and counted
 * per turn, an honest stranger's proposal arriving as its fourth frame waited that long, then its
 * resend behind it (test/nat-bans.test.ts failed so: no agreement in 19 s).
 */
const GATE_QUANTUM = 4

/**
 * True for frames that peers relay (push, fraud, a heads announcement): those worth de-duplicating.
 * A heads frame is an announcement when its requestId, the byte after the type code, is 0.
 */
function isRelayed(frame: Uint8Array): boolean {
  const type = peekMessageType(frame)
  return type === 'push' || type === 'fraud' || (type === 'heads' && frame[2] === 0)
}

interface Pending {
  readonly expect: ReplyMessage['type']
  readonly resolve: (m: ReplyMessage) => void
  readonly reject: (e: Error) => void
  readonly timer: TimerHandle
}

class PeerSession implements Session {
  readonly peerKey: Uint8Array
  readonly version: number
  readonly sessionId: Uint8Array | undefined
  #limits: Readonly<Limits>
  readonly stats: SessionStats = { framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0, rateLimited: 0, malformed: 0, duplicates: 0, unexpected: 0, busy: 0, unauthenticated: 0 }
  readonly #conn: Connection
  readonly #cipher: SessionCipher | undefined
  /** The limits messages are encoded and decoded with: maxFrameBytes less the cipher's tag. */
  #codec: Readonly<Limits>
  readonly #clock: Clock
  readonly #crypto: CryptoProvider
  readonly #seen: SeenCache | undefined
  // two token buckets (messages, bytes) inlined as numbers: two objects fewer per session
  #messageTokens: number
  #byteTokens: number
  #refilled: number
  #peerKeyHex: PublicKeyHex | undefined
  #onMessage: MessageHandler | undefined
  #onClose: ((info: SessionCloseInfo, session: Session) => void) | undefined
  #onDrain: ((session: Session) => void) | undefined
  readonly #onError: ((error: unknown, session: Session) => void) | undefined
  readonly #appCost: ((message: AppMessage) => number) | undefined
  #reading = false
  #gate: ReadGate | undefined
  /** Set while reading is held for the gate: the timer that resumes it. */
  #holdTimer: TimerHandle | undefined
  /** Message tokens the frame being handled took (1, or its message's weight). */
  #frameTokens = 1
  /** Frames this session may still handle while the gate is in debt (GATE_QUANTUM a second, at most GATE_QUANTUM). */
  #quantum = GATE_QUANTUM
  /** When #quantum was last refilled. */
  #quantumAt = 0
  #closed = false
  #score = 0
  #scoreTime: number
  #misbehaviour: string | undefined
  #unauthenticated = false
  #nextId = 0
  // created on first use: most sessions of a large simulation never hold a request
  #pending: Map<number, Pending> | undefined
  #incoming: Map<number, number> | undefined
  #expired: number[] | undefined
  /** Handlers of the peer's messages still running (their promise pending). */
  #handling = 0
  /** Messages waiting for a handler to finish, in order (created on first use). */
  #backlog: SessionMessage[] | undefined
  /**
   * True once a message handler was set. Before that, messages read (a request of this side
   * starts reading) wait in the backlog, EARLY_MESSAGES at most: the peer may ask as soon as its
   * side is open, before this side's node has set its handler.
   */
  #handlerSet = false

  constructor(conn: Connection, options: SessionOptions) {
    this.#conn = conn
    this.peerKey = options.peerKey
    this.version = options.version ?? PROTOCOL_VERSION
    this.sessionId = options.sessionId
    this.#limits = resolveLimits(options.limits)
    this.#cipher = options.cipher
    this.#codec = options.cipher === undefined ? this.limits : sealedLimits(this.limits, options.cipher.overhead)
    this.#clock = options.clock ?? systemClock
    this.#crypto = options.crypto ?? nobleCrypto
    this.#seen = options.seen
    this.#onError = options.onError
    this.#appCost = options.appCost
    this.#gate = options.gate
    this.#onClose = options.onClose
    if (options.gate !== undefined && options.gateEntry !== undefined && options.gateEntry > 0 && conn.open) {
      const wait = options.gate.charge(options.gateEntry, 0)
      if (wait > 0) this.#hold(wait)
    }
    const now = this.#clock.now()
    this.#scoreTime = now
    this.#quantumAt = now
    this.#messageTokens = this.limits.messageBurst
    this.#byteTokens = this.limits.byteBurst
    this.#refilled = now
    // the key is proved (or known by construction): the session's frame limit applies from now
    handshakeDone(conn)
    // bound methods rather than arrow closures: no context object per session
    conn.onClose(this.#ended.bind(this))
    if (!conn.open) {
      this.#closed = true
      queueMicrotask(() => this.#ended({ code: CLOSE_CODES.abnormal, reason: 'connection closed before the session', local: false }))
    }
    if (options.onMessage !== undefined) this.onMessage(options.onMessage)
  }

  get limits(): Readonly<Limits> {
    return this.#limits
  }

  setLimits(limits: Partial<Limits>): void {
    const resolved = resolveLimits(limits)
    if (resolved === this.#limits) return
    this.#limits = resolved
    this.#codec = this.#cipher === undefined ? resolved : sealedLimits(resolved, this.#cipher.overhead)
    this.#messageTokens = Math.min(this.#messageTokens, resolved.messageBurst)
    this.#byteTokens = Math.min(this.#byteTokens, resolved.byteBurst)
  }

  setGate(gate: ReadGate | undefined): void {
    this.#gate = gate
    if (gate === undefined) this.#release()
  }

  get peerKeyHex(): PublicKeyHex {
    return (this.#peerKeyHex ??= toHex(this.peerKey))
  }

  get remoteAddress(): TransportAddress {
    return this.#conn.remoteAddress
  }

  get direction(): 'inbound' | 'outbound' {
    return this.#conn.direction
  }

  get open(): boolean {
    return !this.#closed && this.#conn.open
  }

  get encrypted(): boolean {
    return this.#cipher !== undefined
  }

  get writable(): boolean {
    return this.open && this.#conn.bufferedAmount < this.limits.highWaterMark
  }

  get score(): number {
    this.#decay(this.#clock.now())
    return this.#score
  }

  get pendingRequests(): number {
    return this.#pending?.size ?? 0
  }

  // ## Sending

  send(message: SessionMessage): boolean {
    if (typeof message !== 'object' || message === null) throw new TypeError('"message" expected a message')
    if (isHandshakeMessage(message as Message)) throw new TypeError(`"message" ${message.type} belongs to the handshake`)
    if (isRequest(message)) throw new TypeError(`"message" ${message.type} expects a reply: use request()`)
    const frame = encodeMessage(message, this.#codec)
    if (!this.open) return false
    if ('requestId' in message && message.requestId > 0) this.#incoming?.delete(message.requestId)
    return this.#write(frame)
  }

  request<T extends RequestMessage['type']>(
    message: RequestInput & { readonly type: T },
    options: { timeoutMs?: number } = {},
  ): Promise<ReplyTypes[T] | ErrorMessage> {
    if (typeof message !== 'object' || message === null || !REQUEST_TYPES.has(message.type)) {
      return Promise.reject(new TypeError(`"message" expected a request (${[...REQUEST_TYPES].join(', ')})`))
    }
    const timeout = options.timeoutMs ?? this.limits.requestTimeoutMs
    if (typeof timeout !== 'number' || !(timeout > 0)) return Promise.reject(new RangeError('"timeoutMs" expected a positive number'))
    if (!this.open) return Promise.reject(new ClosedError('session closed'))
    const pending = (this.#pending ??= new Map())
    if (pending.size >= this.limits.maxPendingRequests) {
      return Promise.reject(new RefusedError(`${pending.size} requests to this peer already wait for a reply (limit ${this.limits.maxPendingRequests})`))
    }
    const id = this.#allocateId(pending)
    let frame: Uint8Array
    try {
      // an app message is a request by its id; `reply` says it is not an answer
      frame = encodeMessage({ ...message, requestId: id, ...(message.type === 'app' ? { reply: false } : {}) } as RequestMessage, this.#codec)
    } catch (err) {
      return Promise.reject(err)
    }
    this.#read() // a reply can only arrive if frames are read
    return new Promise<ReplyMessage>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => this.#expire(id), timeout)
      pending.set(id, { expect: replyTypeOf(message.type), resolve, reject, timer })
      this.#write(frame)
    }) as Promise<ReplyTypes[T] | ErrorMessage>
  }

  reply(request: RequestMessage, answer: ReplyInput): boolean {
    if (typeof request !== 'object' || request === null || !isRequest(request)) throw new TypeError('"request" expected a request message')
    if (typeof answer !== 'object' || answer === null) throw new TypeError('"answer" expected a message')
    const expected = replyTypeOf(request.type)
    if (answer.type !== expected && answer.type !== 'error') {
      throw new TypeError(`"answer" to a ${request.type} must be ${expected} or error, got ${String(answer.type)}`)
    }
    return this.send({ ...answer, requestId: request.requestId, ...(answer.type === 'app' ? { reply: true } : {}) } as SessionMessage)
  }

  /** Refuse a request of the peer with an error code (no handler involved). */
  #refuseRequest(requestId: number, code: ErrorCode, reason: string): void {
    this.#write(encodeMessage({ type: 'error', requestId, code, reason }, this.#codec))
  }

  #write(frame: Uint8Array): boolean {
    if (this.#cipher !== undefined) {
      try {
        frame = this.#cipher.seal(frame)
      } catch (err) {
        // our nonces are exhausted (2^53 frames): this session can say nothing more
        this.#shutdown(CLOSE_CODES.normal, (err as Error).message.slice(0, 100))
        return false
      }
    }
    this.stats.framesOut++
    this.stats.bytesOut += frame.length
    return this.#conn.send(frame)
  }

  // ## Handlers

  onMessage(handler: MessageHandler | undefined): void {
    if (handler !== undefined && typeof handler !== 'function') throw new TypeError('"handler" expected a function')
    this.#onMessage = handler
    if (handler === undefined) return
    this.#handlerSet = true
    this.#read()
    this.#drain() // what arrived before the handler
  }

  onClose(handler: ((info: SessionCloseInfo, session: Session) => void) | undefined): void {
    this.#onClose = handler
  }

  onDrain(handler: ((session: Session) => void) | undefined): void {
    if (handler !== undefined && this.#onDrain === undefined) {
      // registered on demand: most sessions never wait for a drain, and a closure each adds up
      this.#conn.onDrain(() => {
        const h = this.#onDrain
        if (h !== undefined) this.#guard(() => h(this))
      })
    }
    this.#onDrain = handler
  }

  // ## Misbehaviour

  penalize(cost: number, reason: string): boolean {
    if (typeof cost !== 'number' || !(cost >= 0) || !Number.isFinite(cost)) throw new RangeError(`"cost" expected a finite number >= 0, got ${String(cost)}`)
    if (!this.open) return false
    this.#decay(this.#clock.now())
    this.#score += cost
    if (this.#score < this.limits.maxScore) return true
    this.#misbehaviour = String(reason)
    try {
      this.#refuseRequest(0, reason.startsWith('rate') ? 'rate-limited' : 'refused', `disconnected: ${this.#misbehaviour}`.slice(0, this.limits.maxReasonLength))
    } catch {
      // telling the peer is a courtesy
    }
    this.#shutdown(CLOSE_CODES.policyViolation, `misbehaviour: ${this.#misbehaviour}`)
    return false
  }

  malformed(reason: DecodeReason, detail: string): boolean {
    this.stats.malformed++
    const l = this.limits
    return this.penalize(reason === 'too-large' || reason === 'too-many' ? l.oversizedCost : l.malformedCost, `malformed message (${reason}${detail ? `: ${detail}` : ''})`)
  }

  close(reason = ''): void {
    this.#shutdown(CLOSE_CODES.normal, String(reason))
  }

  // ## Receiving

  #read(): void {
    if (this.#reading) return
    this.#reading = true
    this.#conn.onFrame(this.#onFrame.bind(this))
  }

  #onFrame(frame: Uint8Array): void {
    this.#frameTokens = 1
    this.#handleFrame(frame)
    const gate = this.#gate
    if (gate === undefined || this.#closed) return
    const wait = gate.charge(this.#frameTokens, frame.length)
    // every session gets GATE_QUANTUM frames a second whatever the debt (a stranger with a few
    // frames, an honest one, is served at once); past that, the next ones wait on the peer's side
    // for the time the shared debt takes to pay (read-gate.ts)
    if (wait > 0 && this.#holdTimer === undefined && !this.#takeQuantum()) this.#hold(wait)
  }

  /** One frame of the session's quantum (GATE_QUANTUM a second): false when it is spent. */
  #takeQuantum(): boolean {
    const now = this.#clock.now()
    this.#quantum = Math.min(GATE_QUANTUM, this.#quantum + ((now - this.#quantumAt) / 1000) * GATE_QUANTUM)
    this.#quantumAt = now
    if (this.#quantum < 1) return false
    this.#quantum--
    return true
  }

  /** Stop reading for `ms` (the gate's debt). */
  #hold(ms: number): void {
    holdReading(this.#conn, true)
    this.#holdTimer = this.#clock.setTimeout(() => {
      this.#holdTimer = undefined
      if (!this.#closed) holdReading(this.#conn, false)
    }, ms)
  }

  /** Stop holding reading for the gate. */
  #release(): void {
    if (this.#holdTimer === undefined) return
    this.#clock.clearTimeout(this.#holdTimer)
    this.#holdTimer = undefined
    if (!this.#closed) holdReading(this.#conn, false)
  }

  #handleFrame(frame: Uint8Array): void {
    if (this.#closed) return
    const limits = this.limits
    const stats = this.stats
    const now = this.#clock.now()
    stats.framesIn++
    stats.bytesIn += frame.length
    const wireBytes = frame.length
    if (this.#cipher !== undefined) {
      // opened first, so that whatever is blamed on the peer below is known to come from it; and
      // every frame, in order, even one the limits will drop: skipping one would break the nonce
      // sequence. The work is bounded by the transport's frame limit, and a flood is cut off after
      // ~50 frames over the rate
      let plain: Uint8Array | undefined
      try {
        // into the frame's own bytes when the transport gives it to us alone (no new buffer a frame)
        plain = this.#cipher.open(frame, this.#conn.framesOwned === true)
      } catch (err) {
        // the peer's nonces are exhausted (2^53 frames)
        this.#shutdown(CLOSE_CODES.normal, (err as Error).message.slice(0, 100))
        return
      }
      if (plain === undefined) {
        stats.unauthenticated++
        this.#unauthenticated = true
        this.#shutdown(CLOSE_CODES.invalidData, 'a frame failed authentication')
        return
      }
      frame = plain
    }
    if (wireBytes > limits.maxFrameBytes) {
      stats.malformed++
      this.penalize(limits.oversizedCost, `a frame of ${wireBytes} bytes over the limit of ${limits.maxFrameBytes}`)
      return
    }
    if (!this.#underRate(wireBytes, now)) {
      stats.rateLimited++
      this.penalize(limits.floodCost, 'rate limit exceeded')
      return
    }
    let id: Uint8Array | undefined
    if (this.#seen !== undefined && isRelayed(frame)) {
      // a local cache key, never signed or sent: so no domain tag
      id = this.#crypto.sha256(frame)
      if (this.#seen.has(id)) {
        stats.duplicates++
        return
      }
    }
    // a frame just decrypted is this session's own (nothing else holds it): an app body may be a view into it
    const decoded = decodeMessage(frame, this.#codec, this.#cipher !== undefined)
    if (!decoded.ok) {
      this.malformed(decoded.error.reason, '')
      return
    }
    // the frame took one message token; a message asking for more work takes more (see weightOf).
    // One that the bucket cannot pay for leaves it in debt (down to minus a burst): the frames
    // that follow are dropped before they are decoded until the debt is paid, so a peer cannot
    // make this node decode large requests faster than the rate allows
    const m = decoded.message
    const weight = m.type === 'app' && !m.reply && this.#appCost !== undefined ? this.#appCost(m) : weightOf(m, limits.maxCrawlBlocks, limits.maxPeers)
    const more = Math.min(weight >= 1 ? weight : 1, limits.messageBurst) - 1
    this.#frameTokens = 1 + more
    if (more > 0) {
      const ok = this.#messageTokens >= more
      this.#messageTokens = Math.max(-limits.messageBurst, this.#messageTokens - more)
      if (!ok) {
        stats.rateLimited++
        this.penalize(limits.floodCost, 'rate limit exceeded')
        return
      }
    }
    // marked seen only once accepted: a frame dropped by the rate limit may come again
    if (id !== undefined) this.#seen!.add(id)
    this.#dispatch(m, now)
  }

  #dispatch(m: Message, now: number): void {
    switch (m.type) {
      case 'hello':
      case 'welcome':
      case 'auth':
        this.stats.unexpected++
        this.penalize(this.limits.violationCost, `a ${m.type} inside the session (a replayed handshake)`)
        return
      case 'proposal':
      case 'crawl-request':
      case 'witness-query':
      case 'peers-request':
      case 'heads-request':
        this.#onRequest(m, now)
        return
      case 'crawl-answer':
      case 'witness-answer':
        this.#onReply(m)
        return
      case 'app':
        // one type both ways: a reply to our request, a request of the peer, or one-way
        if (m.reply) this.#onReply(m)
        else if (m.requestId > 0) this.#onRequest(m, now)
        else this.#deliver(m)
        return
      case 'agreement':
      case 'peers':
      case 'heads':
      case 'error':
        // requestId 0: unsolicited (a resent agreement, pushed peers, a head announcement, a notice
        // before a disconnect)
        if (m.requestId > 0) this.#onReply(m)
        else this.#deliver(m)
        return
      default:
        this.#deliver(m)
    }
  }

  #onRequest(m: RequestMessage, now: number): void {
    const incoming = (this.#incoming ??= new Map())
    if (incoming.has(m.requestId)) {
      this.stats.unexpected++
      this.penalize(this.limits.unexpectedCost, `request id ${m.requestId} reused while unanswered`)
      return
    }
    if (incoming.size >= this.limits.maxIncomingRequests) {
      // forget requests the node never answered (it may drop some on purpose)
      for (const [id, deadline] of incoming) if (deadline <= now) incoming.delete(id)
      if (incoming.size >= this.limits.maxIncomingRequests) {
        this.stats.busy++
        this.#refuseRequest(m.requestId, 'busy', `${incoming.size} requests unanswered`)
        return
      }
    }
    if (this.#onMessage === undefined && (this.#handlerSet || (this.#backlog?.length ?? 0) >= EARLY_MESSAGES)) {
      this.#refuseRequest(m.requestId, 'not-found', 'no handler')
      return
    }
    incoming.set(m.requestId, now + this.limits.requestTimeoutMs)
    this.#deliver(m)
  }

  #onReply(m: ReplyMessage): void {
    const p = this.#pending?.get(m.requestId)
    if (p === undefined) {
      if (this.#expired?.includes(m.requestId)) return // late, not unsolicited: no cost
      this.stats.unexpected++
      this.penalize(this.limits.unexpectedCost, `an unsolicited ${m.type} (request id ${m.requestId})`)
      return
    }
    if (m.type !== p.expect && m.type !== 'error') {
      this.stats.unexpected++
      this.penalize(this.limits.unexpectedCost, `a ${m.type} answering a request for ${p.expect}`)
      return
    }
    this.#pending!.delete(m.requestId)
    this.#clock.clearTimeout(p.timer)
    p.resolve(m)
  }

  /** Hand a message to the handler, or queue it behind the handlers already running. */
  #deliver(m: SessionMessage): void {
    if (this.#onMessage === undefined) {
      // before the first handler: held, within a bound (a request over it was refused already)
      if (!this.#handlerSet && (this.#backlog?.length ?? 0) < EARLY_MESSAGES) (this.#backlog ??= []).push(m)
      return
    }
    if (this.#backlog === undefined && this.#handling < this.limits.maxConcurrentHandlers) {
      this.#handle(m)
      return
    }
    ;(this.#backlog ??= []).push(m)
    this.#drain()
  }

  #handle(m: SessionMessage): void {
    const handler = this.#onMessage
    if (handler === undefined) return
    this.#guard(() => {
      const result = handler(m, this)
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        this.#handling++
        ;(result as Promise<void>).then(this.#handled.bind(this), (err: unknown) => {
          this.#report(err)
          this.#handled()
        })
      }
    })
  }

  #handled(): void {
    this.#handling--
    this.#drain()
  }

  /** Run queued messages, in order, while handler slots are free (none once closed). */
  #drain(): void {
    const backlog = this.#backlog
    while (backlog !== undefined && backlog.length > 0 && this.#handling < this.limits.maxConcurrentHandlers && !this.#closed) this.#handle(backlog.shift()!)
    if (backlog !== undefined && backlog.length === 0 && this.#backlog === backlog) this.#backlog = undefined
  }

  // ## Private helpers

  #guard(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.#report(err)
    }
  }

  #report(err: unknown): void {
    const onError = this.#onError
    if (onError === undefined) return
    try {
      onError(err, this)
    } catch {
      // an error handler that throws has nowhere left to report to
    }
  }

  #allocateId(pending: Map<number, Pending>): number {
    do this.#nextId = this.#nextId >= MAX_REQUEST_ID ? 1 : this.#nextId + 1
    while (pending.has(this.#nextId))
    return this.#nextId
  }

  #expire(id: number): void {
    const p = this.#pending?.get(id)
    if (p === undefined) return
    this.#pending!.delete(id)
    const expired = (this.#expired ??= [])
    expired.push(id)
    if (expired.length > RECENT_EXPIRED) expired.shift()
    p.reject(new DOMException(`request ${id} timed out`, 'TimeoutError'))
  }

  /**
   * Token buckets: messagesPerSecond and bytesPerSecond refill buckets of messageBurst and
   * byteBurst; a frame takes one message and its length in bytes. Both are charged for every
   * frame, so neither many small frames nor a few large ones get through.
   */
  #underRate(bytes: number, now: number): boolean {
    const l = this.limits
    if (now > this.#refilled) {
      const seconds = (now - this.#refilled) / 1000
      this.#messageTokens = Math.min(l.messageBurst, this.#messageTokens + seconds * l.messagesPerSecond)
      this.#byteTokens = Math.min(l.byteBurst, this.#byteTokens + seconds * l.bytesPerSecond)
      this.#refilled = now
    }
    const ok = this.#messageTokens >= 1 && this.#byteTokens >= bytes
    // a debt left by a message that weighed more than the bucket held (see #onFrame) stays as it is
    if (this.#messageTokens > 0) this.#messageTokens = Math.max(0, this.#messageTokens - 1)
    this.#byteTokens = Math.max(0, this.#byteTokens - bytes)
    return ok
  }

  #decay(now: number): void {
    if (now > this.#scoreTime) {
      this.#score = Math.max(0, this.#score - ((now - this.#scoreTime) / 1000) * this.limits.scoreDecayPerSecond)
      this.#scoreTime = now
    }
  }

  /** Stop everything now: pending requests fail, the connection closes. */
  #shutdown(code: number, reason: string): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#holdTimer !== undefined) this.#clock.clearTimeout(this.#holdTimer)
    this.#holdTimer = undefined
    const pending = this.#pending
    this.#pending = undefined
    this.#incoming = undefined
    this.#backlog = undefined
    if (pending !== undefined) {
      for (const p of pending.values()) {
        this.#clock.clearTimeout(p.timer)
        p.reject(new ClosedError(`session closed${reason ? `: ${reason}` : ''}`))
      }
    }
    this.#conn.close(code, reason)
  }

  /** The connection closed (either side): finish, then tell the handler once. */
  #ended(info: CloseInfo): void {
    // closed by our transport, not by us: for the peer's fault when the code says so. Not when
    // encrypted: below the cipher nothing is known to come from the peer (anyone on the path can
    // send an oversized or a text frame), and what is not authenticated is not blamed on a key
    if (!this.#closed && info.local && this.#misbehaviour === undefined && this.#cipher === undefined && FAULT_CODES.has(info.code)) {
      this.#misbehaviour = `closed by the transport (${info.code}${info.reason ? `: ${info.reason}` : ''})`
    }
    this.#shutdown(info.code, info.reason)
    const handler = this.#onClose
    this.#onClose = undefined
    this.#onMessage = undefined
    this.#onDrain = undefined
    if (handler !== undefined) {
      this.#guard(() =>
        handler({ code: info.code, reason: info.reason, local: info.local, misbehaviour: this.#misbehaviour, score: this.#score, unauthenticated: this.#unauthenticated }, this),
      )
    }
  }
}

/**
 * Message tokens a decoded message takes: one per item it asks this node to handle — blocks pushed,
 * a proposal and its context, keys asked about, heads announced, peers offered, blocks in a proof,
 * the blocks or peers an answer may hold — and at least one. Replies to our own requests take one:
 * we asked for them.
 */
function weightOf(m: Message, maxCrawlBlocks: number, maxPeers: number): number {
  switch (m.type) {
    case 'push':
    case 'push-via':
      return m.blocks.length
    case 'proposal':
      return 1 + m.context.length
    case 'heads':
      return m.requestId === 0 ? m.heads.length : 1
    case 'heads-request':
      return m.publicKeys.length
    case 'peers':
      return m.requestId === 0 ? Math.max(1, m.peers.length) : 1
    case 'peers-request':
      return Math.min(m.max, maxPeers)
    case 'fraud':
      return m.proof.blocks.length
    case 'crawl-request':
      // ends of one sign: the range's length is known without the chain; else as much as an answer holds
      return (m.start > 0) === (m.end > 0) ? Math.min(maxCrawlBlocks, Math.max(1, m.end - m.start + 1)) : maxCrawlBlocks
    default:
      return 1
  }
}
