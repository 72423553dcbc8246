/**
 * The handshake: before a session, each side proves possession of its agent key by signing a
 * transcript that holds the other side's fresh 32-byte challenge, both agree on a protocol
 * version, and a Noise XX handshake (wire/noise.ts) riding in the same three frames gives the
 * session its keys. Every frame after it is encrypted and authenticated (session.ts).
 *
 * Transcript (three frames, 1.5 round trips):
 *
 *   initiator → responder   hello   { versions: Vi, publicKey: Ki, challenge: Ci, noise: → e }
 *   responder → initiator   welcome { versions: Vr, version: v, publicKey: Kr, challenge: Cr,
 *                                     signature: sign_Kr(signable('responder', h2)),
 *                                     noise: ← e, ee, s, es }
 *   initiator → responder   auth    { signature: sign_Ki(signable('initiator', h3)), noise: → s, se }
 *
 *   v             = the highest version in both Vi and Vr (none: the responder refuses, code 'version')
 *   prologue      = domainTag('handshake') ‖ canonical CBOR ['prologue', Vi, Ki, Ci]   (Noise's, §6)
 *   h2, h3        = Noise's handshake hash after message 2, after message 3
 *   transcript(r, h) = canonical CBOR array [r: tstr, v: uint, Vi: [uint], Vr: [uint], Ki: bstr32,
 *                                            Kr: bstr32, Ci: bstr32, Cr: bstr32, h: bstr32]
 *   hash(r, h)    = SHA-256(domainTag('handshake') ‖ transcript(r, h))
 *   signable(r, h) = domainTag('handshake') ‖ hash(r, h)
 *   sessionId     = hash('session', h3)
 *   ciphers       = Noise's Split() after message 3: the initiator sends with the first
 *
 * Why this shape:
 * - Identity.sign signs any bytes, and a block signature signs a bare 32-byte block hash; a
 *   handshake signature covers the tag followed by a hash, so no handshake signature can ever be
 *   a valid block signature or the reverse.
 * - Each signature covers the other side's fresh challenge: a recorded handshake replayed to a
 *   node fails (the node's challenge is new). Challenges received are also kept in a seen cache,
 *   so a hello or welcome that repeats a challenge is refused at once.
 * - The role is signed, so a responder's signature cannot be reflected as an initiator's.
 * - Both version lists are signed: a man in the middle who strips the newest version from the hello
 *   breaks the responder's signature (downgrade protection); the initiator also checks that v is the
 *   highest common version.
 * - Both keys are signed, so a signature is bound to this pair of agents.
 * - The Ed25519 identity and the Noise keys are bound both ways. Each side signs the Noise
 *   handshake hash as it stands after its own Noise message: h2 covers the prologue (the hello),
 *   both ephemeral keys and the responder's static key; h3 adds the initiator's static key. So a
 *   signature says "the holder of this agent key runs this Noise handshake, with these ephemeral
 *   and static keys", and cannot be moved to another run. Noise in turn proves possession of the
 *   X25519 keys signed (their DH results key the tags a side must produce), and its session keys
 *   depend on the ephemeral-ephemeral DH, which only the two signers can compute. An agent key may
 *   sign only through a Promise (a WebCrypto key that cannot be exported), so it cannot be turned
 *   into an X25519 key: each identity gets a random static X25519 key, kept in memory, that its
 *   signatures certify for each session (as libp2p-noise certifies a static key with the peer's
 *   identity key; here the signature covers the whole handshake hash, not only the static key).
 * - A Noise message that fails to read (a tag that does not verify) is refused as 'bad-signature':
 *   like a bad signature, the peer does not hold the keys it claims, or replays another run.
 *
 * The initiator's handshake resolves when it sends `auth`; if the responder refuses the auth, it
 * sends an error and closes, which the initiator's session sees.
 * @module
 */
import {
  ClosedError,
  RefusedError,
  abytes,
  concatBytes,
  domainTag,
  encodeCanonical,
  equalBytes,
  shortKey,
  type Clock,
  type Connection,
  type CryptoProvider,
  type Identity,
} from '@tally/core'
import { CLOSE_CODES, handshakeDone, holdReading } from '../transport/connection-base.js'
import { resolveLimits, type Limits } from './limits.js'
import { decodeMessage, encodeMessage, type ErrorCode, type Message } from './messages.js'
import { NoiseHandshake, keyPairOf, type KeyPair, type SessionCipher } from './noise.js'
import { createSeenCache, type SeenCache } from './seen-cache.js'
import { systemClock } from '../time/system-clock.js'

/** The protocol version this code speaks best (2: acknowledged pushes; 3: short proof announcements; messages.ts). */
export const PROTOCOL_VERSION = 3

/** Every version this code speaks, highest first. */
export const SUPPORTED_VERSIONS: readonly number[] = Object.freeze([PROTOCOL_VERSION, 2, 1])

/** Which side of the handshake: the dialer initiates. */
export type HandshakeRole = 'initiator' | 'responder'

/** Why a handshake was refused. */
export type HandshakeFailure =
  | 'version' // no common protocol version, or not the highest common one (a downgrade)
  | 'bad-signature' // the peer's signature does not verify: it does not hold the key it claims
  | 'wrong-key' // the peer's key is not the one expected
  | 'self' // the peer claims our own key
  | 'policy' // options.accept refused the key
  | 'replay' // a challenge seen before
  | 'protocol' // an unexpected, oversized or malformed frame
  | 'peer-refused' // the peer sent an error

/** A refused handshake: a core RefusedError (code ERR_REFUSED) with the failure's kind. */
export class HandshakeError extends RefusedError {
  /** Why it was refused. */
  override readonly reason: HandshakeFailure
  /**
   * @param reason the kind of failure
   * @param message a description
   */
  constructor(reason: HandshakeFailure, message: string) {
    super(message)
    this.name = 'HandshakeError'
    this.reason = reason
  }
}

/** Options of performHandshake. */
export interface HandshakeOptions {
  /** Our key pair: it signs our side of the transcript. */
  identity: Identity
  /** Our role (default: 'initiator' on an outbound connection, 'responder' on an inbound one). */
  role?: HandshakeRole
  /** Versions we speak, strictly decreasing (default SUPPORTED_VERSIONS). */
  versions?: readonly number[]
  /** When set, any other peer key is refused ('wrong-key'): use it when dialling a known agent. */
  expectedPeer?: Uint8Array
  /** Policy on the peer's key (e.g. refuse proven cheaters); false refuses ('policy'). */
  accept?: (peerKey: Uint8Array) => boolean
  /** Clock for the timeout (default systemClock). */
  clock?: Clock
  /** handshakeTimeoutMs, maxHandshakeFrameBytes and maxVersions are used (default DEFAULT_LIMITS). */
  limits?: Partial<Limits>
  /**
   * Challenges received before, to refuse replays at once (default: one cache per identity, 65,536
   * challenges). Share one per node.
   */
  challenges?: SeenCache
  /** Verifies the peer's signature and hashes (default identity.crypto). */
  crypto?: CryptoProvider
}

/** What a successful handshake established. */
export interface HandshakeResult {
  /** The peer's agent key, proved. */
  readonly peerKey: Uint8Array
  /** The protocol version agreed. */
  readonly version: number
  /** Our role. */
  readonly role: HandshakeRole
  /**
   * hash('session', h3): the same 32 bytes on both sides, unique to this handshake, bound to its
   * Noise keys (a channel binding: sign it to tie a statement to this session).
   */
  readonly sessionId: Uint8Array
  /** The session's Noise ciphers: give them to createSession (openSession does), which seals every frame. */
  readonly cipher: SessionCipher
}

/** The values a side signs (see the module comment). */
export interface HandshakeTranscript {
  readonly version: number
  readonly initiatorVersions: readonly number[]
  readonly responderVersions: readonly number[]
  readonly initiatorKey: Uint8Array
  readonly responderKey: Uint8Array
  readonly initiatorChallenge: Uint8Array
  readonly responderChallenge: Uint8Array
  /**
   * Noise's handshake hash when the signer signs: after message 2 for the responder, after message 3
   * for the initiator and the session id.
   */
  readonly noiseHash: Uint8Array
}

/**
 * The bytes a side signs: domainTag('handshake') ‖ SHA-256(domainTag('handshake') ‖ transcript(role)).
 * @param role 'initiator' or 'responder' (the signer's role), or 'session' for the session id's preimage
 * @param transcript the values of this handshake, with the Noise handshake hash of the signer's turn
 * @param crypto provider for SHA-256
 * @returns the signable bytes
 * @example identity.sign(handshakeSignable('responder', { ...transcript, noiseHash }, identity.crypto))
 */
export function handshakeSignable(role: HandshakeRole | 'session', transcript: HandshakeTranscript, crypto: CryptoProvider): Uint8Array {
  return concatBytes(domainTag('handshake'), handshakeHash(role, transcript, crypto))
}

/**
 * Run the handshake on a fresh connection. Takes over the connection's frame and close handlers
 * while it runs, and clears them when done: frames the peer sends afterwards queue in the
 * connection for the session.
 * @param connection a connection on which nothing was sent yet
 * @param options identity, role, versions, expected key, policy, clock, limits
 * @returns the proved peer key, the version and the session id
 * @throws (rejects) HandshakeError (a RefusedError, code ERR_REFUSED) when refused by either side —
 *   the connection is then closed; ClosedError when the connection closes first; a DOMException
 *   named 'TimeoutError' after limits.handshakeTimeoutMs
 * @example
 * const conn = await transport.connect(address)
 * const { peerKey, version } = await performHandshake(conn, { identity, expectedPeer: bobKey })
 */
export function performHandshake(connection: Connection, options: HandshakeOptions): Promise<HandshakeResult> {
  if (typeof connection !== 'object' || connection === null || typeof connection.send !== 'function') {
    return Promise.reject(new TypeError('"connection" expected a Connection'))
  }
  if (typeof options?.identity?.sign !== 'function') return Promise.reject(new TypeError('"options.identity" expected an Identity'))
  let limits: Readonly<Limits>
  let versions: readonly number[]
  try {
    limits = resolveLimits(options.limits)
    versions = checkVersions(options.versions ?? SUPPORTED_VERSIONS, limits)
    if (options.expectedPeer !== undefined) abytes('expectedPeer', options.expectedPeer, 32)
    if (options.role !== undefined && options.role !== 'initiator' && options.role !== 'responder') {
      throw new TypeError('"role" expected "initiator" or "responder"')
    }
  } catch (err) {
    return Promise.reject(err)
  }
  if (!connection.open) return Promise.reject(new ClosedError('connection closed before the handshake'))
  const run = new Handshake(connection, options, limits, versions)
  return run.promise
}

// ## The state machine

class Handshake {
  readonly promise: Promise<HandshakeResult>
  readonly #conn: Connection
  readonly #identity: Identity
  readonly #crypto: CryptoProvider
  readonly #clock: Clock
  readonly #limits: Readonly<Limits>
  readonly #versions: readonly number[]
  readonly #role: HandshakeRole
  readonly #options: HandshakeOptions
  readonly #challenges: SeenCache
  readonly #timer: unknown
  #resolve!: (r: HandshakeResult) => void
  #reject!: (e: Error) => void
  #done = false
  #signing = false
  /** Waits for an answer through a Promise (a WebCrypto X25519) under way: reading is held while any is. */
  #waits = 0
  /** What we wait for next. */
  #expect: 'hello' | 'welcome' | 'auth'
  /** The transcript so far (the responder fills it on hello), with the last Noise hash signed. */
  #transcript: HandshakeTranscript | undefined
  #challenge: Uint8Array | undefined
  /** Noise XX, one message in each frame (the responder starts it on hello). */
  #noise: NoiseHandshake | undefined

  constructor(conn: Connection, options: HandshakeOptions, limits: Readonly<Limits>, versions: readonly number[]) {
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    this.#conn = conn
    this.#options = options
    this.#identity = options.identity
    this.#crypto = options.crypto ?? options.identity.crypto
    this.#clock = options.clock ?? systemClock
    this.#limits = limits
    this.#versions = versions
    this.#role = options.role ?? (conn.direction === 'outbound' ? 'initiator' : 'responder')
    this.#challenges = options.challenges ?? defaultChallenges(options.identity)
    this.#expect = this.#role === 'initiator' ? 'welcome' : 'hello'
    this.#timer = this.#clock.setTimeout(() => this.#timeout(), limits.handshakeTimeoutMs)
    conn.onClose((info) => this.#fail(new ClosedError(`connection closed during the handshake (${info.code}${info.reason ? ` ${info.reason}` : ''})`)))
    conn.onFrame((frame) => this.#onFrame(frame))
    if (this.#role === 'initiator') {
      const challenge = (this.#challenge = this.#crypto.randomBytes(32))
      this.#then(this.#startNoise(this.#versions, this.#identity.publicKey, challenge), (noise) => {
        this.#noise = noise
        // message 1 is a fresh public key: it cannot fail
        this.#then(noise.write(), (message1) => {
          this.#send({ type: 'hello', versions: this.#versions, publicKey: this.#identity.publicKey, challenge, noise: message1! })
        })
      })
    }
  }

  #onFrame(frame: Uint8Array): void {
    if (this.#done) return
    if (frame.length > this.#limits.maxHandshakeFrameBytes) {
      return this.#refuse('protocol', `handshake frame of ${frame.length} bytes over the limit of ${this.#limits.maxHandshakeFrameBytes}`)
    }
    const decoded = decodeMessage(frame, this.#limits)
    if (!decoded.ok) return this.#refuse('protocol', `malformed handshake frame (${decoded.error.reason})`)
    const m = decoded.message
    if (m.type === 'error') {
      const reason: HandshakeFailure = m.code === 'version' ? 'version' : 'peer-refused'
      return this.#fail(new HandshakeError(reason, `peer refused the handshake: ${m.code}${m.reason ? `: ${m.reason}` : ''}`), CLOSE_CODES.normal)
    }
    if (this.#signing) return this.#refuse('protocol', `${m.type} arrived before our signature was sent`)
    if (m.type !== this.#expect) return this.#refuse('protocol', `expected ${this.#expect}, got ${m.type}`)
    if (m.type === 'hello') this.#onHello(m.versions, m.publicKey, m.challenge, m.noise)
    else if (m.type === 'welcome') this.#onWelcome(m.versions, m.version, m.publicKey, m.challenge, m.signature, m.noise)
    else if (m.type === 'auth') this.#onAuth(m.signature, m.noise)
  }

  // responder: hello → welcome
  #onHello(peerVersions: readonly number[], peerKey: Uint8Array, peerChallenge: Uint8Array, message1: Uint8Array): void {
    if (!this.#checkPeer(peerKey)) return
    if (!this.#challenges.add(peerChallenge)) return this.#refuse('replay', 'hello repeats a challenge seen before')
    const version = highestCommon(this.#versions, peerVersions)
    if (version === undefined) {
      return this.#refuse('version', `no common protocol version (ours: ${this.#versions.join(',')}; theirs: ${peerVersions.join(',')})`, 'version')
    }
    this.#then(this.#startNoise(peerVersions, peerKey, peerChallenge), (noise) => {
      this.#noise = noise
      this.#then(noise.read(message1), (payload) => {
        if (payload === undefined) return this.#refuse('protocol', 'the hello\'s Noise key is not a usable X25519 key')
        this.#then(noise.write(), (message2) => this.#welcome(peerVersions, version, peerKey, peerChallenge, noise, message2))
      })
    })
  }

  // responder: the welcome, once Noise's message 2 is written
  #welcome(peerVersions: readonly number[], version: number, peerKey: Uint8Array, peerChallenge: Uint8Array, noise: NoiseHandshake, message2: Uint8Array | undefined): void {
    if (message2 === undefined) return this.#refuse('protocol', 'the hello\'s Noise key is not a usable X25519 key')
    const challenge = this.#crypto.randomBytes(32)
    this.#transcript = {
      version,
      initiatorVersions: peerVersions,
      responderVersions: this.#versions,
      initiatorKey: peerKey,
      responderKey: this.#identity.publicKey,
      initiatorChallenge: peerChallenge,
      responderChallenge: challenge,
      noiseHash: noise.handshakeHash,
    }
    this.#expect = 'auth'
    this.#signThen(handshakeSignable('responder', this.#transcript, this.#crypto), (signature) => {
      this.#send({ type: 'welcome', versions: this.#versions, version, publicKey: this.#identity.publicKey, challenge, signature, noise: message2 })
    })
  }

  // initiator: welcome → auth, done
  #onWelcome(peerVersions: readonly number[], version: number, peerKey: Uint8Array, peerChallenge: Uint8Array, signature: Uint8Array, message2: Uint8Array): void {
    if (!this.#checkPeer(peerKey)) return
    if (!this.#challenges.add(peerChallenge)) return this.#refuse('replay', 'welcome repeats a challenge seen before')
    const common = highestCommon(this.#versions, peerVersions)
    if (common === undefined || version !== common) {
      return this.#refuse('version', `version ${version} is not the highest common version (${common ?? 'none'})`, 'version')
    }
    const noise = this.#noise!
    this.#then(noise.read(message2), (payload) => {
      if (payload === undefined) {
        return this.#refuse('bad-signature', `the responder's Noise message does not authenticate (claimed key ${shortKey(peerKey)})`)
      }
      this.#auth(peerVersions, version, peerKey, peerChallenge, signature, noise)
    })
  }

  // initiator: the auth, once Noise's message 2 is read
  #auth(peerVersions: readonly number[], version: number, peerKey: Uint8Array, peerChallenge: Uint8Array, signature: Uint8Array, noise: NoiseHandshake): void {
    const transcript: HandshakeTranscript = {
      version,
      initiatorVersions: this.#versions,
      responderVersions: peerVersions,
      initiatorKey: this.#identity.publicKey,
      responderKey: peerKey,
      initiatorChallenge: this.#challenge!,
      responderChallenge: peerChallenge,
      noiseHash: noise.handshakeHash,
    }
    if (!this.#crypto.verify(signature, handshakeSignable('responder', transcript, this.#crypto), peerKey)) {
      return this.#refuse('bad-signature', `the responder's signature does not verify for ${shortKey(peerKey)}`)
    }
    this.#then(noise.write(), (message3) => {
      if (message3 === undefined) return this.#refuse('protocol', 'the welcome\'s Noise key is not a usable X25519 key')
      this.#transcript = { ...transcript, noiseHash: noise.handshakeHash }
      this.#signThen(handshakeSignable('initiator', this.#transcript, this.#crypto), (signature) => {
        this.#send({ type: 'auth', signature, noise: message3 })
        this.#succeed()
      })
    })
  }

  // responder: auth, done
  #onAuth(signature: Uint8Array, message3: Uint8Array): void {
    const noise = this.#noise!
    const key = this.#transcript!.initiatorKey
    this.#then(noise.read(message3), (payload) => {
      if (payload === undefined) {
        return this.#refuse('bad-signature', `the initiator's Noise message does not authenticate (claimed key ${shortKey(key)})`)
      }
      const t = (this.#transcript = { ...this.#transcript!, noiseHash: noise.handshakeHash })
      if (!this.#crypto.verify(signature, handshakeSignable('initiator', t, this.#crypto), key)) {
        return this.#refuse('bad-signature', `the initiator's signature does not verify for ${shortKey(key)}`)
      }
      this.#succeed()
    })
  }

  /** Noise XX with the hello's fields as prologue and this identity's static key (a Promise of it while that key is being made). */
  #startNoise(initiatorVersions: readonly number[], initiatorKey: Uint8Array, initiatorChallenge: Uint8Array): NoiseHandshake | Promise<NoiseHandshake> {
    const prologue = concatBytes(domainTag('handshake'), encodeCanonical(['prologue', [...initiatorVersions], initiatorKey, initiatorChallenge]))
    const start = (staticKey: KeyPair): NoiseHandshake =>
      new NoiseHandshake({
        initiator: this.#role === 'initiator',
        prologue,
        staticKey,
        randomBytes: (n) => this.#crypto.randomBytes(n),
        ...(this.#crypto.noise !== undefined ? { primitives: this.#crypto.noise } : {}),
      })
    const staticKey = staticKeyOf(this.#identity, this.#crypto)
    return staticKey instanceof Promise ? staticKey.then(start) : start(staticKey)
  }

  /**
   * Go on with `value` now, or once its Promise resolves (Noise primitives that answer through
   * Promises: WebCrypto's X25519 in a browser). Meanwhile reading is held: frames that arrive wait,
   * in order, for the step to end (the initiator may start its session right after its auth,
   * while the responder still reads it), then go to the handshake or, once it succeeded, to the
   * session. Synchronous values (Node's primitives) go on at once, as if there were no wait.
   */
  #then<T>(value: T | Promise<T>, next: (value: T) => void): void {
    if (!(value instanceof Promise)) return next(value)
    if (this.#waits++ === 0) holdReading(this.#conn, true)
    value.then(
      (v) => {
        try {
          if (!this.#done) next(v)
        } catch (err) {
          // as a throw in a frame handler does (the connection drops the peer): end, do not hang
          this.#fail(err instanceof Error ? err : new Error(String(err)), CLOSE_CODES.internalError)
        }
        if (--this.#waits === 0) holdReading(this.#conn, false)
      },
      (err: unknown) => {
        this.#waits--
        this.#fail(err instanceof Error ? err : new Error(String(err)), CLOSE_CODES.internalError)
      },
    )
  }

  #checkPeer(peerKey: Uint8Array): boolean {
    if (equalBytes(peerKey, this.#identity.publicKey)) {
      this.#refuse('self', 'the peer claims our own key')
      return false
    }
    const expected = this.#options.expectedPeer
    if (expected !== undefined && !equalBytes(peerKey, expected)) {
      this.#refuse('wrong-key', `expected ${shortKey(expected)}, the peer is ${shortKey(peerKey)}`)
      return false
    }
    let accepted: boolean
    try {
      accepted = this.#options.accept === undefined || this.#options.accept(peerKey) === true
    } catch {
      accepted = false
    }
    if (!accepted) {
      this.#refuse('policy', `${shortKey(peerKey)} refused by policy`)
      return false
    }
    return true
  }

  /**
   * Sign with the identity, which may answer through a Promise (a WebCrypto key), then go on.
   * No frame is expected meanwhile: one that arrives is a protocol error.
   */
  #signThen(message: Uint8Array, then: (signature: Uint8Array) => void): void {
    const signed = this.#identity.sign(message)
    if (signed instanceof Uint8Array) return then(signed)
    this.#signing = true
    signed.then(
      (signature) => {
        this.#signing = false
        if (!this.#done) then(signature)
      },
      (err: unknown) => this.#fail(err instanceof Error ? err : new Error(String(err)), CLOSE_CODES.internalError),
    )
  }

  #send(message: Message): void {
    this.#conn.send(encodeMessage(message, this.#limits))
  }

  #succeed(): void {
    // the transcript holds h3 now, on both sides
    const t = this.#transcript!
    this.#finish()
    // now, before the next frame is read: the session's frames may be larger than the handshake's
    handshakeDone(this.#conn)
    this.#resolve({
      peerKey: this.#role === 'initiator' ? t.responderKey : t.initiatorKey,
      version: t.version,
      role: this.#role,
      sessionId: handshakeHash('session', t, this.#crypto),
      cipher: this.#noise!.split(),
    })
  }

  #timeout(): void {
    if (this.#done) return
    this.#sendError('timeout', 'handshake timed out')
    this.#fail(new DOMException(`handshake timed out after ${this.#limits.handshakeTimeoutMs} ms`, 'TimeoutError'), CLOSE_CODES.policyViolation)
  }

  /** Tell the peer why (code `code`), close, reject with a HandshakeError. */
  #refuse(reason: HandshakeFailure, message: string, code: ErrorCode = 'handshake'): void {
    if (this.#done) return
    this.#sendError(code, reason)
    this.#fail(new HandshakeError(reason, message), reason === 'protocol' ? CLOSE_CODES.protocolError : CLOSE_CODES.policyViolation)
  }

  #sendError(code: ErrorCode, reason: string): void {
    if (this.#conn.open) this.#send({ type: 'error', requestId: 0, code, reason })
  }

  #fail(error: Error, closeCode: number = CLOSE_CODES.policyViolation): void {
    if (this.#done) return
    this.#finish()
    this.#conn.close(closeCode, error.message.slice(0, 100))
    this.#reject(error)
  }

  #finish(): void {
    this.#done = true
    this.#clock.clearTimeout(this.#timer)
    this.#conn.onFrame(undefined)
    this.#conn.onClose(undefined)
  }
}

// ## Private helpers

const challengeCaches = new WeakMap<Identity, SeenCache>()
const staticKeys = new WeakMap<Identity, KeyPair | Promise<KeyPair>>()

/**
 * The identity's static X25519 key for Noise: random, made on first use and kept in memory only
 * (an agent key may not be exportable, so it cannot be converted); each handshake's signatures
 * certify it anew.
 */
function staticKeyOf(identity: Identity, crypto: CryptoProvider): KeyPair | Promise<KeyPair> {
  let key = staticKeys.get(identity)
  if (key === undefined) {
    const made = keyPairOf(crypto.randomBytes(32), crypto.noise)
    // a Promise (WebCrypto) is kept until it resolves, then its pair; a failure is not kept
    if (made instanceof Promise) {
      made.then(
        (pair) => staticKeys.set(identity, pair),
        () => staticKeys.delete(identity),
      )
    }
    staticKeys.set(identity, (key = made))
  }
  return key
}

function defaultChallenges(identity: Identity): SeenCache {
  let cache = challengeCaches.get(identity)
  if (cache === undefined) {
    cache = createSeenCache({ max: 65_536 })
    challengeCaches.set(identity, cache)
  }
  return cache
}

function handshakeHash(role: HandshakeRole | 'session', t: HandshakeTranscript, crypto: CryptoProvider): Uint8Array {
  const transcript = encodeCanonical([
    role,
    t.version,
    t.initiatorVersions,
    t.responderVersions,
    t.initiatorKey,
    t.responderKey,
    t.initiatorChallenge,
    t.responderChallenge,
    t.noiseHash,
  ])
  return crypto.sha256(concatBytes(domainTag('handshake'), transcript))
}

function highestCommon(ours: readonly number[], theirs: readonly number[]): number | undefined {
  // both lists are strictly decreasing: the first of ours that they also speak is the highest
  for (const v of ours) if (theirs.includes(v)) return v
  return undefined
}

function checkVersions(versions: readonly number[], limits: Readonly<Limits>): readonly number[] {
  if (!Array.isArray(versions) || versions.length === 0 || versions.length > limits.maxVersions) {
    throw new RangeError(`"versions" expected 1-${limits.maxVersions} versions`)
  }
  for (let i = 0; i < versions.length; i++) {
    const v = versions[i]
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > 0xffff) throw new RangeError(`"versions[${i}]" expected an integer in [1, 65535]`)
    if (i > 0 && v >= versions[i - 1]!) throw new RangeError('"versions" expected strictly decreasing')
  }
  return Object.freeze([...versions])
}
