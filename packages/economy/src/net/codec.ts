/**
 * Message codecs of the economy's protocols: small readers that turn a decoded CBOR body into a
 * typed message or throw a DecodeError naming the field. Bodies are positional arrays (as
 * gossip's wire messages: a field name costs bytes on every message); the host has already
 * checked the body's size against the kind's `maxBytes` and its canonical encoding.
 * @module
 */
import { DecodeError, cborUintSize, decodeBlock, encodeBlock, writeCborHead, type CborValue, type HalfBlock, type MessageKind } from '@tally/core'
import { decodeSignatures, encodeSignatures, type QuorumSignatures, type WitnessSignature } from '../quorum.js'
import { isBytes, isUint } from '../util.js'

/**
 * A message kind from its limit, cost and codec (frozen).
 * @param maxBytes largest encoded body accepted
 * @param cost rate-limit tokens per message
 * @param encode message → CBOR body
 * @param decode CBOR body → message (throws DecodeError)
 * @param bytes optional byte codecs, which a host that knows them (@tally/gossip's) uses in place
 *   of the CBOR ones: `read`, the body's bytes → message, accepting exactly what decodeCanonical
 *   then `decode` accept (a large body walked once instead of decoded, re-encoded and copied);
 *   `write`, message → exactly encodeCanonical(encode(message)). Any other host uses the CBOR ones
 * @returns the kind
 * @internal
 */
export function kind<T>(
  maxBytes: number,
  cost: number,
  encode: (message: T) => CborValue,
  decode: (body: CborValue) => T,
  bytes?: { readonly read?: (body: Uint8Array) => T; readonly write?: (message: T) => Uint8Array },
): MessageKind<T> {
  return Object.freeze({ maxBytes, cost, encode, decode, ...(bytes?.read === undefined ? {} : { readBytes: bytes.read }), ...(bytes?.write === undefined ? {} : { writeBytes: bytes.write }) })
}

/** Bytes of a canonical CBOR head whose argument is `n` (core's cborUintSize). @internal */
export const headBytes = cborUintSize

/** Write the canonical head of major type `major` with argument `n` at `at` (core's writeCborHead); returns where the content starts. @internal */
export const writeHead = writeCborHead

/**
 * The head of a CBOR item at `at` in canonical form (the argument in its shortest encoding,
 * definite length) of major type `major`, with an argument below 2^16.
 * @returns [argument, where the item's content starts]
 * @throws DecodeError on another major type, a longer argument, or a head that is not shortest
 * @internal
 */
export function readHead(bytes: Uint8Array, at: number, major: number, what: string): [number, number] {
  const first = bytes[at]
  if (first === undefined || first >> 5 !== major) throw new DecodeError(`${what}: expected CBOR major type ${major} at byte ${at}`)
  const info = first & 0x1f
  if (info < 24) return [info, at + 1]
  if (info === 24) {
    const n = bytes[at + 1]
    if (n === undefined || n < 24) throw new DecodeError(`${what}: ${n === undefined ? 'truncated' : 'not the canonical encoding of its value'} at byte ${at}`)
    return [n, at + 2]
  }
  if (info === 25) {
    if (at + 3 > bytes.length) throw new DecodeError(`${what}: truncated at byte ${at}`)
    const n = (bytes[at + 1]! << 8) | bytes[at + 2]!
    if (n < 256) throw new DecodeError(`${what}: not the canonical encoding of its value at byte ${at}`)
    return [n, at + 3]
  }
  throw new DecodeError(`${what}: a length of 2^16 or more, or an indefinite one, at byte ${at}`)
}

/** The body as an array of exactly `n` fields. */
export function fields(body: CborValue, n: number, what: string): readonly CborValue[] {
  if (!Array.isArray(body) || body.length !== n) throw new DecodeError(`${what} must be an array of ${n} fields`)
  return body as readonly CborValue[]
}

/** A byte string, of exactly `length` bytes or at most `max`. */
export function bytes(v: CborValue | undefined, what: string, length?: number, max = 1 << 20): Uint8Array {
  if (!(v instanceof Uint8Array) || (length !== undefined ? v.length !== length : v.length > max)) {
    throw new DecodeError(`${what} must be ${length !== undefined ? `${length}` : `at most ${max}`} bytes`)
  }
  return v
}

/** A safe non-negative integer, at most `max`. */
export function uint(v: CborValue | undefined, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!isUint(v) || v > max) throw new DecodeError(`${what} must be an integer in [0, ${max}]`)
  return v
}

/** A text string of at most `max` characters. */
export function text(v: CborValue | undefined, what: string, max: number): string {
  if (typeof v !== 'string' || v.length > max) throw new DecodeError(`${what} must be text of at most ${max} characters`)
  return v
}

/** A boolean. */
export function bool(v: CborValue | undefined, what: string): boolean {
  if (typeof v !== 'boolean') throw new DecodeError(`${what} must be a boolean`)
  return v
}

/** An array of at most `max` items, each read by `item`. */
export function list<T>(v: CborValue | undefined, what: string, max: number, item: (x: CborValue, what: string) => T): T[] {
  if (!Array.isArray(v) || v.length > max) throw new DecodeError(`${what} must be a list of at most ${max}`)
  return (v as readonly CborValue[]).map((x, i) => item(x, `${what}[${i}]`))
}

/** A half-block carried as its encoding (so its hash never depends on the envelope). */
export function block(v: CborValue | undefined, what: string, max: number): HalfBlock {
  return decodeBlock(bytes(v, what, undefined, max))
}

/** A block's body field. */
export function blockValue(b: HalfBlock): Uint8Array {
  return encodeBlock(b)
}

/** One witness signature: [index, signature]. */
export function witnessSignature(v: CborValue | undefined, what: string): WitnessSignature {
  const [index, signature] = fields(v ?? null, 2, what)
  if (!isUint(index) || index > 254) throw new DecodeError(`${what} index must be a witness index`)
  if (!isBytes(signature, 64)) throw new DecodeError(`${what} signature must be 64 bytes`)
  return Object.freeze({ index, signature })
}

/** A witness signature's body. */
export function witnessSignatureValue(s: WitnessSignature): CborValue {
  return [s.index, s.signature]
}

/** A quorum of signatures (form only). */
export function signatures(v: CborValue | undefined): QuorumSignatures {
  return decodeSignatures(v)
}

/** A quorum's body. */
export function signaturesValue(s: QuorumSignatures): CborValue {
  return encodeSignatures(s)
}
