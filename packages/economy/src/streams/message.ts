/**
 * Stream messages: a sensor's readings, encrypted with the period's key, signed by the sensor's
 * key and chained to the message before by hash (MAM-style, with current cryptography). A reader
 * that holds the period's key reads them; anyone can relay them without reading; a reader detects
 * a message altered, substituted, reordered, dropped or replayed.
 *
 * Layout (signed, so fixed here):
 *
 *   periodKey(p) = HKDF-SHA-256(ikm = stream secret, salt = sensor, info = streamTag('period-key') ‖ u64be(p), 32)
 *   header       = sensor (32) ‖ u64be(seq) ‖ u64be(period) ‖ prev (32)
 *   box          = XChaCha20-Poly1305(periodKey(period), nonce = u64be(seq) ‖ 16 zero bytes, aad = header)(plaintext)
 *   hash         = SHA-256(streamTag('message') ‖ header ‖ box)         the next message's `prev`
 *   signature    = Ed25519 by the sensor over streamTag('message') ‖ hash
 *   message      = canonical CBOR [seq: uint ≥ 1, period: uint, box: bstr, signature: bstr(64)]
 *
 * `prev` is the hash of the message at seq − 1 (32 zero bytes before seq 1). It is not sent: the
 * reader knows it (from the message before, or from the key grant that told it where to start),
 * so a message only verifies in its place in the chain. The overhead over the plaintext is the
 * tag (16), the signature (64) and ~6–15 bytes of CBOR (seq, period, lengths): 86–95 bytes.
 *
 * Keys rotate each period: one period's key tells nothing of another's (HKDF is one-way), so a
 * subscriber who paid for periods 3–4 reads nothing of period 5. The nonce is the seq: unique
 * under a key as long as the sensor signs one message per seq, which is the rule whose breach is
 * a 'stream-fork' proof (fraud.ts). The sensor's position (seq, prev) must be durable before a
 * message leaves it (`publisher.head`), as an agent's chain head is.
 * @module
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import {
  DecodeError,
  abytes,
  auint,
  concatBytes,
  decodeCanonical,
  encodeCanonical,
  nobleCrypto,
  signThen,
  type CborValue,
  type CryptoProvider,
  type SignResult,
  type SigningKey,
} from '@tally/core'
import { isBytes, isUint } from '../util.js'
import { streamTag } from './seal.js'

/** Limits of stream messages. */
export const MESSAGE_LIMITS: Readonly<{ maxPlaintextBytes: number; maxMessageBytes: number; maxSeq: number }> = Object.freeze({
  /** A reading's plaintext, in bytes. */
  maxPlaintextBytes: 16 * 1024,
  /** An encoded message: the plaintext and at most 128 bytes of envelope. */
  maxMessageBytes: 16 * 1024 + 128,
  /** Positions stay below 2^53 (safe integers). */
  maxSeq: Number.MAX_SAFE_INTEGER,
})

/** The zero hash: `prev` of the first message of a stream. */
export const STREAM_GENESIS: Uint8Array = new Uint8Array(32)

/** One stream message as sent. */
export interface StreamMessage {
  /** Position in the stream, from 1. */
  readonly seq: number
  /** The key period it is encrypted for. */
  readonly period: number
  /** Ciphertext and tag. */
  readonly box: Uint8Array
  /** The sensor's Ed25519 signature over its hash. */
  readonly signature: Uint8Array
}

/** A place in a stream: the next position and the hash of the message before it. */
export interface StreamPosition {
  /** The seq of the next message. */
  readonly seq: number
  /** The hash of the message at seq − 1 (STREAM_GENESIS at seq 1). */
  readonly prev: Uint8Array
}

/**
 * A period's key.
 * @param secret the stream's 32-byte secret (the sensor's, never sent)
 * @param sensor the sensor's public key (the stream's id)
 * @param period the period number
 * @returns 32 bytes
 * @throws TypeError / RangeError on malformed arguments
 * @example const k = periodKey(secret, sensor.publicKey, 7)
 */
export function periodKey(secret: Uint8Array, sensor: Uint8Array, period: number): Uint8Array {
  abytes('secret', secret, 32)
  abytes('sensor', sensor, 32)
  auint('period', period)
  return hkdf(sha256, secret, sensor, concatBytes(streamTag('period-key'), u64(period)), 32)
}

/**
 * The hash of a message in its place (what the next message's `prev` is).
 * @param sensor the stream's sensor key
 * @param message the message
 * @param prev the hash before it
 * @returns 32 bytes
 * @example const prev = messageHash(sensor, message, before)
 */
export function messageHash(sensor: Uint8Array, message: Pick<StreamMessage, 'seq' | 'period' | 'box'>, prev: Uint8Array, crypto: CryptoProvider = nobleCrypto): Uint8Array {
  return crypto.sha256(concatBytes(streamTag('message'), header(sensor, message.seq, message.period, prev), message.box))
}

/**
 * Check a message's signature in its place.
 * @param sensor the stream's sensor key
 * @param message the message
 * @param prev the hash of the message before it
 * @param crypto provider (default nobleCrypto)
 * @returns the message's hash when the sensor signed it there, else undefined
 * @example if (verifyMessage(sensor, m, prev) === undefined) drop(m)
 */
export function verifyMessage(sensor: Uint8Array, message: StreamMessage, prev: Uint8Array, crypto: CryptoProvider = nobleCrypto): Uint8Array | undefined {
  const hash = messageHash(sensor, message, prev, crypto)
  return crypto.verify(message.signature, concatBytes(streamTag('message'), hash), sensor) ? hash : undefined
}

/**
 * Decrypt a message with its period's key (the signature is verifyMessage's business).
 * @returns the plaintext, or undefined when the key does not open it
 * @example const reading = decryptMessage(sensor, m, prev, periodKey)
 */
export function decryptMessage(sensor: Uint8Array, message: StreamMessage, prev: Uint8Array, key: Uint8Array): Uint8Array | undefined {
  if (!(key instanceof Uint8Array) || key.length !== 32) return undefined
  try {
    return xchacha20poly1305(key, nonce(message.seq), header(sensor, message.seq, message.period, prev)).decrypt(message.box)
  } catch {
    return undefined
  }
}

/**
 * Encode a message for the wire.
 * @param message the message
 * @returns canonical CBOR [seq, period, box, signature]
 * @example relay.send(encodeMessage(m))
 */
export function encodeMessage(message: StreamMessage): Uint8Array {
  return encodeCanonical(messageValue(message))
}

/**
 * The message as a CBOR value (inside a protocol body).
 * @example [sensor, from, prev, messages.map(messageValue), head]
 */
export function messageValue(message: StreamMessage): CborValue {
  return [message.seq, message.period, message.box, message.signature]
}

/**
 * Decode a message from untrusted bytes (form only).
 * @param bytes the encoding
 * @returns the message
 * @throws DecodeError when not a canonical message within MESSAGE_LIMITS
 * @example const m = decodeMessage(bytes)
 */
export function decodeMessage(bytes: Uint8Array): StreamMessage {
  abytes('bytes', bytes)
  if (bytes.length > MESSAGE_LIMITS.maxMessageBytes) throw new DecodeError(`stream message of ${bytes.length} bytes exceeds ${MESSAGE_LIMITS.maxMessageBytes}`)
  return messageFromValue(decodeCanonical(bytes, { maxBytes: MESSAGE_LIMITS.maxMessageBytes, maxDepth: 2 }))
}

/**
 * A message from a decoded CBOR value.
 * @throws DecodeError when malformed
 * @example const m = messageFromValue(decodeCanonical(bytes))
 */
export function messageFromValue(v: CborValue): StreamMessage {
  if (!Array.isArray(v) || v.length !== 4) throw new DecodeError('a stream message is [seq, period, box, signature]')
  const [seq, period, box, signature] = v as CborValue[]
  if (!isUint(seq) || seq < 1) throw new DecodeError('a stream message\'s seq must be an integer from 1')
  if (!isUint(period)) throw new DecodeError('a stream message\'s period must be an unsigned integer')
  if (!(box instanceof Uint8Array) || box.length < 16 || box.length > MESSAGE_LIMITS.maxPlaintextBytes + 16) throw new DecodeError('a stream message\'s box must be 16 to maxPlaintextBytes + 16 bytes')
  if (!isBytes(signature, 64)) throw new DecodeError('a stream message\'s signature must be 64 bytes')
  return Object.freeze({ seq, period, box, signature })
}

// ## Publishing

/** A sensor's publisher. */
export interface Publisher {
  /** The sensor's public key: the stream's id. */
  readonly sensor: Uint8Array
  /** Where the next message goes: persist it (with the secret) before a message leaves. */
  readonly head: StreamPosition
  /**
   * Encrypt, chain and sign the next message.
   * @param plaintext the reading (at most MESSAGE_LIMITS.maxPlaintextBytes)
   * @param period the key period it belongs to (never below the previous message's)
   * @returns the message, its encoding, its hash and the prev it chains to (a promise for an
   *   asynchronous key)
   * @throws TypeError / RangeError on a malformed plaintext or a period that goes back
   */
  publish(plaintext: Uint8Array, period: number): Published | Promise<Published>
  /** The key of a period (to seal it to a paying subscriber). */
  periodKey(period: number): Uint8Array
}

/** What publish gives. */
export interface Published {
  readonly message: StreamMessage
  readonly bytes: Uint8Array
  readonly hash: Uint8Array
  readonly prev: Uint8Array
}

/** Options of createPublisher. */
export interface PublisherOptions<K extends SigningKey> {
  /** The sensor's signing key and its public key. */
  readonly sensor: K & { readonly publicKey: Uint8Array }
  /** The stream's 32-byte secret, from which every period's key is derived. */
  readonly secret: Uint8Array
  /** Where to go on from (default: the start of the stream). */
  readonly resume?: StreamPosition & { readonly period?: number }
  /** Provider for the chain's hashes (default nobleCrypto; a native one is faster). */
  readonly crypto?: CryptoProvider
  /**
   * Make the new head durable (fsync it, a LevelDB put with sync): called for each message after
   * its position is taken and before it is signed, so a message never leaves a sensor whose head
   * could go back after a crash (a restarted sensor resumes from the last head persisted and never
   * signs a seq twice: that would be a 'stream-fork'). A throw or a rejection stops the message:
   * nothing is signed, and the position is given back when no later message took one meanwhile.
   */
  readonly persist?: (head: StreamPosition & { readonly period: number }) => void | Promise<void>
}

/**
 * A sensor's publisher.
 * @param options the sensor's key, the stream secret, where to resume
 * @returns the publisher
 * @throws TypeError / RangeError on malformed options
 * @example const pub = createPublisher({ sensor, secret }); await pub.publish(reading, 0)
 */
export function createPublisher<K extends SigningKey>(options: PublisherOptions<K>): Publisher {
  const sensor = Uint8Array.from(abytes('sensor.publicKey', options?.sensor?.publicKey, 32))
  const secret = Uint8Array.from(abytes('secret', options.secret, 32))
  let seq = options.resume === undefined ? 1 : auint('resume.seq', options.resume.seq, 1, MESSAGE_LIMITS.maxSeq)
  let prev: Uint8Array = options.resume === undefined ? STREAM_GENESIS : Uint8Array.from(abytes('resume.prev', options.resume.prev, 32))
  let lastPeriod = options.resume?.period ?? 0
  const crypto = options.crypto ?? nobleCrypto
  // one cipher key per period, derived once
  let keyPeriod = -1
  let key: Uint8Array = new Uint8Array(32)
  const keyOf = (period: number): Uint8Array => {
    if (period !== keyPeriod) {
      key = periodKey(secret, sensor, period)
      keyPeriod = period
    }
    return key
  }
  return {
    sensor,
    get head(): StreamPosition {
      return { seq, prev }
    },
    periodKey: (period) => periodKey(secret, sensor, period),
    publish(plaintext, period) {
      abytes('plaintext', plaintext)
      if (plaintext.length > MESSAGE_LIMITS.maxPlaintextBytes) throw new RangeError(`"plaintext" of ${plaintext.length} bytes exceeds ${MESSAGE_LIMITS.maxPlaintextBytes}`)
      auint('period', period, lastPeriod)
      if (seq > MESSAGE_LIMITS.maxSeq) throw new RangeError('the stream has reached its last position')
      const at = seq
      const before = prev
      const h = header(sensor, at, period, before)
      const box = xchacha20poly1305(keyOf(period), nonce(at), h).encrypt(plaintext)
      const hash = crypto.sha256(concatBytes(streamTag('message'), h, box))
      // the position moves before the signature: an asynchronous key cannot sign twice at one seq
      const beforePeriod = lastPeriod
      seq = at + 1
      prev = hash
      lastPeriod = period
      const giveBack = (): void => {
        if (seq !== at + 1) return
        seq = at
        prev = before
        lastPeriod = beforePeriod
      }
      const sign = (): Published | Promise<Published> =>
        signThen(options.sensor, concatBytes(streamTag('message'), hash), (signature): Published => {
          const message: StreamMessage = Object.freeze({ seq: at, period, box, signature })
          return { message, bytes: encodeMessage(message), hash, prev: before }
        }) as Published | Promise<Published>
      if (options.persist === undefined) return sign()
      let persisted: void | Promise<void>
      try {
        persisted = options.persist({ seq: at + 1, prev: hash, period })
      } catch (err) {
        giveBack()
        throw err
      }
      return persisted instanceof Promise ? persisted.then(sign, (err: unknown) => { giveBack(); throw err }) : sign()
    },
  }
}

// ## Reading

/** Why a message was not read. */
export type ReadFailure =
  /** Not a message at all. */
  | 'malformed'
  /** Later than the next position: messages in between are missing (or came out of order). */
  | 'gap'
  /** Earlier than the next position: a replay, a duplicate, or a message out of order. */
  | 'replay'
  /** At the right position, but not signed by the sensor there: altered, or another chain (a fork). */
  | 'tampered'
  /** Signed by the sensor, but its period goes back. */
  | 'period'
  /**
   * Signed and in place, but no key is held for its period (not paid, lapsed, or the key is still
   * on its way); the reader moved on and holds the message: `addKey` of that period reads it.
   */
  | 'no-key'
  /** Signed and in place, but the period's key does not open it (the sensor's fault); the reader moved on. */
  | 'undecryptable'

/** What reading one message gives. */
export type ReadResult =
  | { readonly ok: true; readonly seq: number; readonly period: number; readonly plaintext: Uint8Array; readonly hash: Uint8Array }
  | {
      readonly ok: false
      readonly reason: ReadFailure
      readonly seq?: number
      readonly period?: number
      /** With 'undecryptable': the message in its place, the evidence of a 'stream-bad-key' proof (fraud.ts) with the grant. */
      readonly placed?: { readonly prev: Uint8Array; readonly message: StreamMessage }
    }

/** A subscriber's reader of one stream. */
export interface Reader {
  readonly sensor: Uint8Array
  /** The next position expected. */
  readonly position: StreamPosition
  /** Periods whose key is held. */
  readonly periods: readonly number[]
  /**
   * Hold a period's key (from a grant the subscriber opened).
   * @returns the held messages of that period that arrived before the key, now read, in seq order
   */
  addKey(period: number, key: Uint8Array): ReadResult[]
  /** Messages held for want of their period's key. */
  readonly pending: number
  /**
   * Read the next message: verify its place and signature, then decrypt it.
   * @param message the message or its encoding
   * @returns the plaintext, or why not; never throws on bad input
   */
  read(message: StreamMessage | Uint8Array): ReadResult
}

/** Options of createReader. */
export interface ReaderOptions {
  /** The stream's sensor key. */
  readonly sensor: Uint8Array
  /** Where to start: from a verified grant (its start and prev). */
  readonly from: StreamPosition
  /** Provider for signatures (default nobleCrypto). */
  readonly crypto?: CryptoProvider
  /** Keys held at most (default 64: oldest dropped). */
  readonly maxKeys?: number
  /** Messages held for want of a key at most (default 256: oldest dropped). */
  readonly maxPending?: number
}

/**
 * A reader that follows a stream from a position.
 * @param options the sensor, where to start
 * @returns the reader
 * @throws TypeError / RangeError on malformed options
 * @example const reader = createReader({ sensor, from: { seq: grant.start, prev: grant.prev } })
 */
export function createReader(options: ReaderOptions): Reader {
  const sensor = Uint8Array.from(abytes('sensor', options?.sensor, 32))
  let seq = auint('from.seq', options.from?.seq, 1, MESSAGE_LIMITS.maxSeq)
  let prev: Uint8Array = Uint8Array.from(abytes('from.prev', options.from.prev, 32))
  const crypto = options.crypto ?? nobleCrypto
  const maxKeys = auint('maxKeys', options.maxKeys ?? 64, 1)
  const maxPending = auint('maxPending', options.maxPending ?? 256, 0)
  const keys = new Map<number, Uint8Array>()
  // signed, in place, waiting for their period's key
  const held: { message: StreamMessage; prev: Uint8Array; hash: Uint8Array }[] = []
  const open = (m: StreamMessage, prev: Uint8Array, hash: Uint8Array, key: Uint8Array): ReadResult => {
    const plaintext = decryptMessage(sensor, m, prev, key)
    return plaintext === undefined ? { ok: false, reason: 'undecryptable', seq: m.seq, period: m.period, placed: { prev, message: m } } : { ok: true, seq: m.seq, period: m.period, plaintext, hash }
  }
  let lastPeriod = 0
  return {
    sensor,
    get position() {
      return { seq, prev }
    },
    get periods() {
      return [...keys.keys()].sort((a, b) => a - b)
    },
    get pending() {
      return held.length
    },
    addKey(period, key) {
      auint('period', period)
      abytes('key', key, 32)
      const k = Uint8Array.from(key)
      keys.set(period, k)
      while (keys.size > maxKeys) keys.delete(Math.min(...keys.keys()))
      const out: ReadResult[] = []
      for (let i = 0; i < held.length; ) {
        const h = held[i]!
        if (h.message.period !== period) {
          i++
          continue
        }
        held.splice(i, 1)
        out.push(open(h.message, h.prev, h.hash, k))
      }
      return out
    },
    read(input) {
      let message: StreamMessage
      try {
        message = input instanceof Uint8Array ? decodeMessage(input) : messageFromValue(messageValue(input))
      } catch {
        return { ok: false, reason: 'malformed' }
      }
      if (message.seq > seq) return { ok: false, reason: 'gap', seq: message.seq }
      if (message.seq < seq) return { ok: false, reason: 'replay', seq: message.seq }
      const hash = verifyMessage(sensor, message, prev, crypto)
      if (hash === undefined) return { ok: false, reason: 'tampered', seq: message.seq }
      if (message.period < lastPeriod) return { ok: false, reason: 'period', seq: message.seq, period: message.period }
      const before = prev
      seq = message.seq + 1
      prev = hash
      lastPeriod = message.period
      const key = keys.get(message.period)
      if (key === undefined) {
        if (maxPending > 0) {
          held.push({ message, prev: before, hash })
          if (held.length > maxPending) held.shift()
        }
        return { ok: false, reason: 'no-key', seq: message.seq, period: message.period }
      }
      return open(message, before, hash, key)
    },
  }
}

// ## Private helpers

function u64(n: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

function header(sensor: Uint8Array, seq: number, period: number, prev: Uint8Array): Uint8Array {
  const out = new Uint8Array(80)
  out.set(sensor, 0)
  const view = new DataView(out.buffer)
  view.setBigUint64(32, BigInt(seq))
  view.setBigUint64(40, BigInt(period))
  out.set(prev, 48)
  return out
}

function nonce(seq: number): Uint8Array {
  const out = new Uint8Array(24)
  new DataView(out.buffer).setBigUint64(0, BigInt(seq))
  return out
}
