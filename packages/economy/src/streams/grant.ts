/**
 * Key grants: the sensor's answer to a paid subscription — one period's stream key sealed to the
 * buyer's X25519 key, and where in the stream to start reading, signed by the sensor.
 *
 * Layout (signed, so fixed here):
 *
 *   context   = sensor (32) ‖ u64be(period) ‖ recipient (32)            the sealed box's context
 *   sealed    = seal(recipient, periodKey(period), context)              80 bytes (seal.ts)
 *   body      = canonical CBOR [sensor: bstr(32), period: uint, recipient: bstr(32),
 *                               start: uint ≥ 1, prev: bstr(32), sealed: bstr(80)]
 *   signature = Ed25519 by the sensor over streamTag('grant') ‖ body
 *   grant     = canonical CBOR [...body, signature: bstr(64)]              (~300 bytes)
 *
 * `start` and `prev` are a position the sensor vouches for (its head when it granted): a reader
 * starts there, checking every message's signature against `prev`. The signature makes the grant
 * evidence: a grant whose key does not open the sensor's own messages of that period is a
 * 'stream-bad-key' proof (fraud.ts), which needs the recipient's secret — hence one X25519 key per
 * subscription.
 * @module
 */
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
import { MESSAGE_LIMITS, type StreamPosition } from './message.js'
import { SEAL_OVERHEAD, open, seal, streamTag, type BoxKeyPair } from './seal.js'

/** Largest encoded grant, in bytes. */
export const GRANT_MAX_BYTES = 320

/** A signed key grant. */
export interface KeyGrant {
  readonly sensor: Uint8Array
  readonly period: number
  readonly recipient: Uint8Array
  /** Where to start reading: the next seq and the hash before it. */
  readonly start: number
  readonly prev: Uint8Array
  /** The period key sealed to `recipient`. */
  readonly sealed: Uint8Array
  readonly signature: Uint8Array
}

/** What a sensor grants: a period's key to a recipient, from a position. */
export interface GrantBody {
  readonly period: number
  readonly recipient: Uint8Array
  readonly from: StreamPosition
  /** The period's key (publisher.periodKey(period)). */
  readonly key: Uint8Array
}

/**
 * Seal a period's key to a recipient and sign the grant as the sensor.
 * @param sensor the sensor's signing key and public key
 * @param body period, recipient, start position, the period's key
 * @returns the grant (a promise for an asynchronous key)
 * @throws TypeError / RangeError on malformed fields
 * @example const grant = await signGrant(sensor, { period, recipient, from: pub.head, key: pub.periodKey(period) })
 */
export function signGrant<K extends SigningKey>(sensor: K & { readonly publicKey: Uint8Array }, body: GrantBody): SignResult<K, KeyGrant> {
  const key = Uint8Array.from(abytes('sensor.publicKey', sensor?.publicKey, 32))
  auint('period', body?.period)
  abytes('recipient', body.recipient, 32)
  auint('from.seq', body.from?.seq, 1, MESSAGE_LIMITS.maxSeq)
  abytes('from.prev', body.from.prev, 32)
  abytes('key', body.key, 32)
  const sealed = seal(body.recipient, body.key, grantContext(key, body.period, body.recipient))
  const unsigned = { sensor: key, period: body.period, recipient: Uint8Array.from(body.recipient), start: body.from.seq, prev: Uint8Array.from(body.from.prev), sealed }
  return signThen(sensor, grantMessage(unsigned), (signature): KeyGrant => Object.freeze({ ...unsigned, signature }))
}

/**
 * The bytes a grant's signature covers.
 * @returns streamTag('grant') ‖ canonical body
 * @example crypto.verify(g.signature, grantMessage(g), g.sensor)
 */
export function grantMessage(g: Omit<KeyGrant, 'signature'>): Uint8Array {
  return concatBytes(streamTag('grant'), encodeCanonical([g.sensor, g.period, g.recipient, g.start, g.prev, g.sealed]))
}

/**
 * Check a grant's signature (by the sensor it names).
 * @param grant the grant
 * @param crypto provider (default nobleCrypto)
 * @returns true iff the named sensor signed exactly this grant
 * @example if (!verifyGrant(grant)) refuse()
 */
export function verifyGrant(grant: KeyGrant, crypto: CryptoProvider = nobleCrypto): boolean {
  return crypto.verify(grant.signature, grantMessage(grant), grant.sensor)
}

/**
 * Open a grant with the recipient's keys.
 * @param keys the recipient's X25519 key pair
 * @param grant the grant
 * @returns the period's key, or undefined when the grant is for another key or does not open
 * @example const key = openGrant(myKeys, grant); if (key) reader.addKey(grant.period, key)
 */
export function openGrant(keys: BoxKeyPair, grant: KeyGrant): Uint8Array | undefined {
  const key = open(keys, grant.sealed, grantContext(grant.sensor, grant.period, grant.recipient))
  return key !== undefined && key.length === 32 ? key : undefined
}

/**
 * Encode a grant for the wire: canonical CBOR [sensor, period, recipient, start, prev, sealed, signature].
 * @example const bytes = encodeGrant(grant)
 */
export function encodeGrant(grant: KeyGrant): Uint8Array {
  return encodeCanonical(grantValue(grant))
}

/**
 * The grant as a CBOR value.
 * @example { kind: 'grant', message: grantValue(g) }
 */
export function grantValue(g: KeyGrant): CborValue {
  return [g.sensor, g.period, g.recipient, g.start, g.prev, g.sealed, g.signature]
}

/**
 * Decode a grant from untrusted bytes (form only: verifyGrant checks the signature).
 * @throws DecodeError when not a canonical grant
 * @example const g = decodeGrant(bytes); verifyGrant(g)
 */
export function decodeGrant(bytes: Uint8Array): KeyGrant {
  abytes('bytes', bytes)
  if (bytes.length > GRANT_MAX_BYTES) throw new DecodeError(`grant of ${bytes.length} bytes exceeds ${GRANT_MAX_BYTES}`)
  return grantFromValue(decodeCanonical(bytes, { maxBytes: GRANT_MAX_BYTES, maxDepth: 1 }))
}

/**
 * A grant from a decoded CBOR value.
 * @throws DecodeError when malformed
 * @example const g = grantFromValue(decodeCanonical(bytes))
 */
export function grantFromValue(v: CborValue): KeyGrant {
  if (!Array.isArray(v) || v.length !== 7) throw new DecodeError('a grant is [sensor, period, recipient, start, prev, sealed, signature]')
  const [sensor, period, recipient, start, prev, sealed, signature] = v as CborValue[]
  if (!isBytes(sensor, 32) || !isBytes(recipient, 32) || !isBytes(prev, 32)) throw new DecodeError('a grant\'s sensor, recipient and prev must be 32 bytes')
  if (!isUint(period) || !isUint(start) || start < 1) throw new DecodeError('a grant\'s period must be an unsigned integer and its start from 1')
  if (!isBytes(sealed, 32 + SEAL_OVERHEAD)) throw new DecodeError('a grant\'s sealed key must be 80 bytes')
  if (!isBytes(signature, 64)) throw new DecodeError('a grant\'s signature must be 64 bytes')
  return Object.freeze({ sensor, period, recipient, start, prev, sealed, signature })
}

// ## Private helpers

function grantContext(sensor: Uint8Array, period: number, recipient: Uint8Array): Uint8Array {
  const out = new Uint8Array(72)
  out.set(sensor, 0)
  new DataView(out.buffer).setBigUint64(32, BigInt(period))
  out.set(recipient, 40)
  return out
}
