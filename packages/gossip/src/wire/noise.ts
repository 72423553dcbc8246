/**
 * Noise for the handshake and the session: the XX pattern with X25519, ChaCha20-Poly1305 and SHA-256,
 * `Noise_XX_25519_ChaChaPoly_SHA256` (The Noise Protocol Framework, revision 34, noiseprotocol.org).
 *
 *   XX:  -> e
 *        <- e, ee, s, es
 *        -> s, se
 *
 * The primitives are @noble's audited ones: x25519 from @noble/curves, chacha20poly1305 from
 * @noble/ciphers, sha256 and hkdf from @noble/hashes; or, for X25519 and ChaCha20-Poly1305, a
 * crypto provider's `noise` primitives when it has them (libsodium's in @tally/node: a DH there
 * takes ~0.1 ms against ~1-3 ms in @noble, and a node under a flood of fresh keys does four per
 * handshake); in a browser, X25519 from WebCrypto (default-noise.browser.ts, so a page connects
 * without loading @noble/curves), which answers through Promises: a message's steps then wait for
 * each DH (`write` and `read`). This file holds no cryptography of its own,
 * only the protocol's objects as §5 of the spec writes them — CipherState, SymmetricState,
 * HandshakeState (for XX) — and the pair of CipherStates that Split() gives a session. It
 * reproduces the Noise_XX_25519_ChaChaPoly_SHA256 test vectors of flynn/noise
 * (test/vectors/noise-xx.json), handshake and transport messages byte for byte.
 *
 * Why not a Noise library: see the package README, "Decisions".
 *
 * Transport messages (after Split) are §5.1's EncryptWithAd with an empty ad, one per frame, with
 * two deliberate choices:
 * - no 65,535-byte cap (§3): that cap exists for length-prefixed streams; a WebSocket or memory
 *   frame carries its own length, and a frame may hold a 64 KiB fraud proof and its envelope
 *   (ChaCha20-Poly1305 itself allows 2^38 bytes a message);
 * - nonces stop at 2^53 − 1 (Number.MAX_SAFE_INTEGER), the last counter a JavaScript number holds
 *   exactly, instead of 2^64 − 1: a CipherState there refuses to encrypt or decrypt (RangeError).
 *   At a million frames a second that is 285 years; rekeying is left out.
 * @module
 */
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { randomBytes } from '@noble/hashes/utils.js'
import type { NoisePrimitives } from '@tally/core'
// not noble-noise.js: a browser build takes its X25519 from WebCrypto and loads @noble/curves only
// where that fails (default-noise.browser.ts); nobleNoise itself is in noble-noise.ts
import { defaultNoise } from './default-noise.js'

/** The protocol name, hashed into every handshake (§5.2 InitializeSymmetric). */
export const NOISE_PROTOCOL = 'Noise_XX_25519_ChaChaPoly_SHA256'

/** Bytes the AEAD adds to every encrypted message: the Poly1305 tag. */
export const TAG_BYTES = 16

/** X25519 public keys, secret keys and shared secrets, and cipher keys: 32 bytes. */
export const KEY_BYTES = 32

/** A CipherState that reached this nonce refuses to encrypt or decrypt (see the module comment). */
export const MAX_NONCE: number = Number.MAX_SAFE_INTEGER

/** An X25519 key pair. */
export interface KeyPair {
  readonly secretKey: Uint8Array
  readonly publicKey: Uint8Array
}

/**
 * The ciphers of one session, after the handshake: every frame we send is sealed with our key and
 * the next nonce of our direction, every frame the peer sends is opened with its key and the next
 * nonce of its direction, so a frame altered, injected, replayed, reordered or dropped on the way
 * fails to open.
 */
export interface SessionCipher {
  /** Bytes a sealed frame adds: TAG_BYTES. */
  readonly overhead: number
  /**
   * Encrypt and authenticate our next frame.
   * @param frame the plaintext frame
   * @returns the frame to put on the wire (frame.length + overhead bytes)
   * @throws RangeError when our nonces are exhausted (the session must end)
   */
  seal(frame: Uint8Array): Uint8Array
  /**
   * Decrypt and authenticate the peer's next frame.
   * @param frame the frame as received
   * @param inPlace true when the frame is the caller's alone (Connection.framesOwned): the
   *   plaintext may then be decrypted into its own bytes (when the primitives can), no new buffer
   * @returns the plaintext, or undefined when it fails authentication (the session must end)
   * @throws RangeError when the peer's nonces are exhausted (the session must end)
   */
  open(frame: Uint8Array, inPlace?: boolean): Uint8Array | undefined
}

/**
 * NoisePrimitives whose X25519 may answer through a Promise (WebCrypto's, in a browser: see
 * default-noise.browser.ts). NoiseHandshake's `write` and `read` wait for them; its `writeMessage`
 * and `readMessage`, and keyPairFromSecret, take synchronous primitives only.
 */
export interface MaybeAsyncNoise extends Omit<NoisePrimitives, 'x25519PublicKey' | 'x25519'> {
  x25519PublicKey(secretKey: Uint8Array): Uint8Array | Promise<Uint8Array>
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array | Promise<Uint8Array>
}

/**
 * A key pair from 32 secret bytes (X25519 clamps them), with synchronous primitives.
 * @param secretKey 32 random bytes
 * @param primitives whose X25519 (default: the platform's, default-noise.ts: @noble's in Node)
 * @returns the pair
 * @throws RangeError when secretKey is not 32 bytes; TypeError when X25519 answered through a
 *   Promise (use keyPairOf)
 * @example const s = keyPairFromSecret(crypto.randomBytes(32))
 */
export function keyPairFromSecret(secretKey: Uint8Array, primitives: MaybeAsyncNoise = defaultNoise): KeyPair {
  const pair = keyPairOf(secretKey, primitives)
  if (pair instanceof Promise) {
    pair.catch(() => undefined)
    throw new TypeError('these Noise primitives answer through Promises: use keyPairOf()')
  }
  return pair
}

/**
 * keyPairFromSecret with primitives that may answer through a Promise: the pair, or a Promise of
 * it when the primitives' X25519 answered so.
 * @param secretKey 32 random bytes
 * @param primitives whose X25519 (default: the platform's, default-noise.ts)
 * @returns the pair (a Promise of it only when X25519 answered through one)
 * @throws RangeError when secretKey is not 32 bytes
 * @example const s = await keyPairOf(crypto.randomBytes(32))
 */
export function keyPairOf(secretKey: Uint8Array, primitives: MaybeAsyncNoise = defaultNoise): KeyPair | Promise<KeyPair> {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== KEY_BYTES) {
    throw new RangeError(`"secretKey" expected Uint8Array of length ${KEY_BYTES}`)
  }
  const secret = Uint8Array.from(secretKey)
  const pair = (publicKey: Uint8Array): KeyPair => Object.freeze({ secretKey: secret, publicKey })
  const publicKey = primitives.x25519PublicKey(secretKey)
  return publicKey instanceof Uint8Array ? pair(publicKey) : publicKey.then(pair)
}

// ## CipherState (§5.1)

/**
 * A key and a nonce counter. Without a key (during the handshake, before the first DH) it passes
 * data through, as the spec says. ChaChaPoly's nonce: 32 bits of zeros, then n as 64-bit little
 * endian (§12.3).
 */
export class CipherState {
  #key: Uint8Array | undefined
  #n: number
  readonly #nonce = new Uint8Array(12)
  readonly #primitives: Pick<MaybeAsyncNoise, 'seal' | 'open' | 'openInPlace'>

  /**
   * @param key 32 bytes, or undefined for an empty CipherState
   * @param n the first nonce (SetNonce; 0 unless testing the limit)
   * @param primitives whose ChaCha20-Poly1305 (default: the platform's, default-noise.ts: @noble's)
   */
  constructor(key?: Uint8Array, n = 0, primitives: Pick<MaybeAsyncNoise, 'seal' | 'open' | 'openInPlace'> = defaultNoise) {
    this.#key = key
    this.#n = n
    this.#primitives = primitives
  }

  /** True once a key is set. */
  get hasKey(): boolean {
    return this.#key !== undefined
  }

  /** The next nonce. */
  get nonce(): number {
    return this.#n
  }

  /**
   * EncryptWithAd: ciphertext ‖ tag, then n += 1 (the plaintext itself without a key).
   * @throws RangeError when the nonces are exhausted
   */
  encrypt(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.#key === undefined) return plaintext
    const out = this.#primitives.seal(this.#key, this.#next(), ad, plaintext)
    this.#n++
    return out
  }

  /**
   * DecryptWithAd: the plaintext, then n += 1; undefined when authentication fails, and n stays
   * (the ciphertext itself without a key).
   * @param inPlace true to let the primitives decrypt into the ciphertext's own bytes (their
   *   `openInPlace`, when they have one): its bytes are then the plaintext's, or unspecified on failure
   * @throws RangeError when the nonces are exhausted
   */
  decrypt(ad: Uint8Array, ciphertext: Uint8Array, inPlace = false): Uint8Array | undefined {
    if (this.#key === undefined) return ciphertext
    const nonce = this.#next()
    if (ciphertext.length < TAG_BYTES) return undefined
    const primitives = this.#primitives
    const out = inPlace && primitives.openInPlace !== undefined ? primitives.openInPlace(this.#key, nonce, ad, ciphertext) : primitives.open(this.#key, nonce, ad, ciphertext)
    if (out === undefined) return undefined // the tag does not match: the caller ends the session
    this.#n++
    return out
  }

  /** The nonce bytes of n, or a RangeError once exhausted. */
  #next(): Uint8Array {
    const n = this.#n
    if (n >= MAX_NONCE) throw new RangeError(`nonce exhausted after ${MAX_NONCE} messages: a new session is needed`)
    const view = new DataView(this.#nonce.buffer)
    view.setUint32(4, n % 0x1_0000_0000, true)
    view.setUint32(8, Math.floor(n / 0x1_0000_0000), true)
    return this.#nonce
  }
}

// ## SymmetricState (§5.2)

const EMPTY = new Uint8Array(0)

class SymmetricState {
  #ck: Uint8Array
  #h: Uint8Array
  #cs: CipherState
  readonly #primitives: MaybeAsyncNoise

  constructor(protocolName: string, primitives: MaybeAsyncNoise) {
    this.#primitives = primitives
    this.#cs = new CipherState(undefined, 0, primitives)
    const name = new TextEncoder().encode(protocolName)
    // InitializeSymmetric: the name itself when it fits in HASHLEN (zero-padded), else its hash
    if (name.length <= 32) {
      this.#h = new Uint8Array(32)
      this.#h.set(name)
    } else {
      this.#h = sha256(name)
    }
    this.#ck = this.#h
  }

  get h(): Uint8Array {
    return this.#h
  }

  get hasKey(): boolean {
    return this.#cs.hasKey
  }

  /** MixKey: ck, k = HKDF(ck, ikm, 2). Noise's HKDF is RFC 5869's with salt = ck and no info. */
  mixKey(ikm: Uint8Array): void {
    const out = hkdf(sha256, ikm, this.#ck, EMPTY, 64)
    this.#ck = out.slice(0, 32)
    this.#cs = new CipherState(out.slice(32, 64), 0, this.#primitives)
  }

  /** MixHash: h = HASH(h ‖ data). */
  mixHash(data: Uint8Array): void {
    this.#h = sha256.create().update(this.#h).update(data).digest()
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.#cs.encrypt(this.#h, plaintext)
    this.mixHash(ciphertext)
    return ciphertext
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array | undefined {
    const plaintext = this.#cs.decrypt(this.#h, ciphertext)
    if (plaintext !== undefined) this.mixHash(ciphertext)
    return plaintext
  }

  /** Split: the initiator's sending CipherState, then the responder's. */
  split(): [CipherState, CipherState] {
    const out = hkdf(sha256, EMPTY, this.#ck, EMPTY, 64)
    return [new CipherState(out.slice(0, 32), 0, this.#primitives), new CipherState(out.slice(32, 64), 0, this.#primitives)]
  }
}

// ## HandshakeState for XX (§5.3, §7.5)

type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss'

const XX: readonly (readonly Token[])[] = [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']]

/** Options of a NoiseHandshake. */
export interface NoiseHandshakeOptions {
  /** True for the side that sends the first message. */
  readonly initiator: boolean
  /** Bytes both sides hash in first (§6): whatever they agreed on before the first message. */
  readonly prologue: Uint8Array
  /** Our static key pair. */
  readonly staticKey: KeyPair
  /** Our ephemeral key pair; only test vectors set it (default: 32 fresh bytes of `randomBytes`). */
  readonly ephemeralKey?: KeyPair
  /** Where the ephemeral key comes from (default: @noble's, from crypto.getRandomValues). */
  readonly randomBytes?: (length: number) => Uint8Array
  /**
   * X25519 and ChaCha20-Poly1305 (default: the platform's, default-noise.ts: nobleNoise, or
   * WebCrypto's X25519 in a browser; a crypto provider's `noise` when it has one). Primitives that
   * answer through a Promise need `write` and `read`.
   */
  readonly primitives?: MaybeAsyncNoise
}

/**
 * One side of a Noise XX handshake: three messages, written and read in turn, then Split. A message
 * that fails to read leaves the state unusable: the caller ends the handshake.
 */
export class NoiseHandshake {
  readonly #initiator: boolean
  readonly #ss: SymmetricState
  readonly #s: KeyPair
  #e: KeyPair | undefined
  #re: Uint8Array | undefined
  #rs: Uint8Array | undefined
  #step = 0
  #failed = false
  readonly #ephemeral: () => KeyPair | Promise<KeyPair>
  readonly #primitives: MaybeAsyncNoise

  /** @param options role, prologue, static key (see NoiseHandshakeOptions) */
  constructor(options: NoiseHandshakeOptions) {
    this.#initiator = options.initiator
    this.#s = options.staticKey
    const fixed = options.ephemeralKey
    const random = options.randomBytes ?? randomBytes
    const primitives = (this.#primitives = options.primitives ?? defaultNoise)
    this.#ephemeral = () => fixed ?? keyPairOf(random(KEY_BYTES), primitives)
    this.#ss = new SymmetricState(NOISE_PROTOCOL, primitives)
    this.#ss.mixHash(options.prologue)
  }

  /** The handshake hash h: after the last message, the same on both sides and unique to this run (§11.2). */
  get handshakeHash(): Uint8Array {
    return this.#ss.h
  }

  /** The peer's static public key, once its message carrying it was read. */
  get remoteStatic(): Uint8Array | undefined {
    return this.#rs
  }

  /** True after the third message. */
  get finished(): boolean {
    return this.#step === XX.length
  }

  /**
   * WriteMessage: our next message, with synchronous primitives.
   * @param payload bytes to send encrypted in it (default none)
   * @returns the message, or undefined when a DH with the peer's key fails (a low-order point)
   * @throws Error when it is not our turn (a caller mistake); TypeError when a primitive answered
   *   through a Promise (use `write`)
   */
  writeMessage(payload: Uint8Array = EMPTY): Uint8Array | undefined {
    return settled(this.write(payload))
  }

  /**
   * ReadMessage: the peer's next message, with synchronous primitives.
   * @param message the bytes received
   * @returns its payload, or undefined when it has the wrong length, a key fails DH or a tag fails
   *   authentication
   * @throws Error when it is not the peer's turn (a caller mistake); TypeError when a primitive
   *   answered through a Promise (use `read`)
   */
  readMessage(message: Uint8Array): Uint8Array | undefined {
    return settled(this.read(message))
  }

  /**
   * WriteMessage with primitives that may answer through a Promise (WebCrypto's X25519).
   * @param payload bytes to send encrypted in it (default none)
   * @returns as writeMessage; a Promise of it only when a primitive answered through one
   * @throws Error when it is not our turn (a caller mistake)
   */
  write(payload: Uint8Array = EMPTY): Uint8Array | undefined | Promise<Uint8Array | undefined> {
    return run(this.#write(payload))
  }

  /**
   * ReadMessage with primitives that may answer through a Promise (WebCrypto's X25519).
   * @param message the bytes received
   * @returns as readMessage; a Promise of it only when a primitive answered through one
   * @throws Error when it is not the peer's turn (a caller mistake)
   */
  read(message: Uint8Array): Uint8Array | undefined | Promise<Uint8Array | undefined> {
    return run(this.#read(message))
  }

  // The tokens of a message, as a generator that yields each X25519 result it needs (a value, or
  // a Promise of one) and is resumed with it: `run` resumes it at once, or when the Promise settles.

  *#write(payload: Uint8Array): Steps {
    const tokens = this.#turn(true)
    const parts: Uint8Array[] = []
    try {
      for (const token of tokens) {
        if (token === 'e') {
          const e = (this.#e = yield* this.#ephemeralKey())
          parts.push(e.publicKey)
          this.#ss.mixHash(e.publicKey)
        } else if (token === 's') {
          parts.push(this.#ss.encryptAndHash(this.#s.publicKey))
        } else {
          this.#ss.mixKey(yield this.#dh(token))
        }
      }
    } catch {
      return this.#fail()
    }
    parts.push(this.#ss.encryptAndHash(payload))
    this.#step++
    return concat(parts)
  }

  *#read(message: Uint8Array): Steps {
    const tokens = this.#turn(false)
    let at = 0
    const take = (n: number): Uint8Array | undefined => (at + n <= message.length ? message.subarray(at, (at += n)) : undefined)
    try {
      for (const token of tokens) {
        if (token === 'e') {
          const re = take(KEY_BYTES)
          if (re === undefined) return this.#fail()
          this.#re = Uint8Array.from(re)
          this.#ss.mixHash(this.#re)
        } else if (token === 's') {
          const sealed = take(this.#ss.hasKey ? KEY_BYTES + TAG_BYTES : KEY_BYTES)
          const rs = sealed === undefined ? undefined : this.#ss.decryptAndHash(sealed)
          if (rs === undefined) return this.#fail()
          this.#rs = Uint8Array.from(rs)
        } else {
          this.#ss.mixKey(yield this.#dh(token))
        }
      }
    } catch {
      return this.#fail()
    }
    const payload = this.#ss.decryptAndHash(message.subarray(at))
    if (payload === undefined) return this.#fail()
    this.#step++
    return payload
  }

  /** A fresh ephemeral pair (its public key is the one X25519 a step may wait for). */
  *#ephemeralKey(): Generator<Uint8Array | Promise<Uint8Array>, KeyPair, Uint8Array> {
    const pair = this.#ephemeral()
    if (!(pair instanceof Promise)) return pair
    // the public key travels through the generator as the DH results do; the pair comes with it
    let resolved: KeyPair | undefined
    yield pair.then((p) => ((resolved = p), p.publicKey))
    return resolved!
  }

  /**
   * Split, once finished: the session's ciphers, ours to send with and the peer's to open with.
   * @returns a SessionCipher
   * @throws Error before the handshake is finished
   */
  split(): SessionCipher {
    if (!this.finished || this.#failed) throw new Error('the Noise handshake is not finished')
    const [c1, c2] = this.#ss.split()
    return this.#initiator ? new TransportCipher(c1, c2) : new TransportCipher(c2, c1)
  }

  /** The tokens of the next message, checking whose turn it is. */
  #turn(writing: boolean): readonly Token[] {
    if (this.#failed) throw new Error('the Noise handshake failed')
    const tokens = XX[this.#step]
    if (tokens === undefined) throw new Error('the Noise handshake is finished')
    const ours = this.#step % 2 === 0 ? this.#initiator : !this.#initiator
    if (ours !== writing) throw new Error(`not our turn to ${writing ? 'write' : 'read'} message ${this.#step + 1}`)
    return tokens
  }

  /** DH for a token: "es" is DH(e, rs) for the initiator, DH(s, re) for the responder; "se" the reverse. */
  #dh(token: Token): Uint8Array | Promise<Uint8Array> {
    let local: KeyPair | undefined
    let remote: Uint8Array | undefined
    if (token === 'ee') [local, remote] = [this.#e, this.#re]
    else if (token === 'ss') [local, remote] = [this.#s, this.#rs]
    else if ((token === 'es') === this.#initiator) [local, remote] = [this.#e, this.#rs] // es (initiator), se (responder)
    else [local, remote] = [this.#s, this.#re] // es (responder), se (initiator)
    if (local === undefined || remote === undefined) throw new Error(`no key for ${token}`)
    // every implementation refuses low-order points (an all-zero shared secret) by throwing
    return this.#primitives.x25519(local.secretKey, remote)
  }

  #fail(): undefined {
    this.#failed = true
    return undefined
  }
}

// ## The session's ciphers

class TransportCipher implements SessionCipher {
  readonly overhead: number = TAG_BYTES
  readonly #send: CipherState
  readonly #receive: CipherState

  constructor(send: CipherState, receive: CipherState) {
    this.#send = send
    this.#receive = receive
  }

  seal(frame: Uint8Array): Uint8Array {
    return this.#send.encrypt(EMPTY, frame)
  }

  open(frame: Uint8Array, inPlace = false): Uint8Array | undefined {
    return this.#receive.decrypt(EMPTY, frame, inPlace)
  }
}

// ## Private helpers

/** A message's steps (noise.ts's generators): yields X25519 results, returns the message or payload. */
type Steps = Generator<Uint8Array | Promise<Uint8Array>, Uint8Array | undefined, Uint8Array>

/** Run steps: synchronously while every X25519 result is a value; else a Promise of the end. */
function run(steps: Steps, next: IteratorResult<Uint8Array | Promise<Uint8Array>, Uint8Array | undefined> = steps.next()): Uint8Array | undefined | Promise<Uint8Array | undefined> {
  while (next.done !== true) {
    const value = next.value
    if (value instanceof Promise) {
      // a rejection is thrown into the generator at its yield, whose catch fails the handshake
      return value.then(
        (v) => run(steps, steps.next(v)),
        (err: unknown) => run(steps, steps.throw(err)),
      )
    }
    next = steps.next(value)
  }
  return next.value
}

/** The outcome of run() when it must be synchronous. */
function settled(outcome: Uint8Array | undefined | Promise<Uint8Array | undefined>): Uint8Array | undefined {
  if (outcome instanceof Promise) {
    outcome.catch(() => undefined)
    throw new TypeError('these Noise primitives answer through Promises: use write() and read()')
  }
  return outcome
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0
  for (const p of parts) length += p.length
  const out = new Uint8Array(length)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
