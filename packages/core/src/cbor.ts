/**
 * Deterministic CBOR (RFC 8949 §4.2.1) on cbor-x.
 *
 * cbor-x is fast but not canonical on its own: it writes JS numbers above 2^32 as float64, every
 * bigint as a 9-byte integer, and object keys in insertion order (integer-like keys first). So
 * encoding goes through `prepare`, which turns the value into the one shape cbor-x writes
 * canonically: integers as numbers within ±2^32 and as bigint outside, maps as `Map`s with keys in
 * canonical order, no floats, no undefined. Decoding runs cbor-x, normalizes the value back (bigint
 * within 2^53 → number) and re-encodes it: input bytes that differ from the canonical encoding of
 * their value (non-shortest integers, unsorted or duplicate keys, floats, tags, indefinite lengths,
 * trailing bytes) are rejected. One rule, no special cases: canonical means "re-encodes to itself".
 * @module
 */
import { Decoder, Encoder, type Options } from 'cbor-x'
import { compareBytes, describe, equalBytes } from './bytes.js'
import { DEFAULT_DECODE_LIMITS, type CborValue, type DecodeLimits } from './cbor-value.js'
import { DecodeError } from './errors.js'

export { DEFAULT_DECODE_LIMITS, cborEqual, type CborValue, type DecodeLimits } from './cbor-value.js'

const UINT32_MAX = 0xffff_ffff
const NINT32_MIN = -0x1_0000_0000
const UINT64_MAX = (1n << 64n) - 1n
// -2^64 is a valid CBOR integer (3bffffffffffffffff), but cbor-x writes it as a tag-3 bignum:
// the smallest integer allowed is therefore -2^64 + 1.
const NINT64_MIN = -(1n << 64n) + 1n
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

const encoder = new Encoder({
  useRecords: false,
  tagUint8Array: false,
  useTag259ForMaps: false,
  variableMapSize: true,
  pack: false,
  structuredClone: false,
  bundleStrings: false,
} as Options & { useTag259ForMaps: boolean }) // a documented option missing from cbor-x's types
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true, bundleStrings: false })
const utf8 = new TextEncoder()

/**
 * Canonical CBOR encoding of a value.
 * @param value integers (number or bigint, from -2^64 + 1 to 2^64 - 1), strings, booleans, null,
 *   Uint8Array, arrays (no holes) and plain objects (or Maps) with text keys (not "__proto__")
 * @returns the deterministic encoding (RFC 8949 §4.2.1)
 * @throws TypeError on a value of another kind (float, undefined, symbol, Date...) or a string or key
 *   with a lone surrogate; RangeError on an integer outside that range or nesting deeper than 64
 * @example encodeCanonical({ b: 1, a: [2n ** 40n, 'x'] })
 */
export function encodeCanonical(value: unknown): Uint8Array {
  return toUint8Array(encoder.encode(prepare(value, 0, 'value')))
}

/**
 * Decode bytes that must be the canonical encoding of a CborValue.
 * @param bytes input from anywhere, trusted or not
 * @param limits size and nesting limits (default DEFAULT_DECODE_LIMITS)
 * @returns the value; integers beyond 2^53 as bigint, byte strings as Uint8Array
 * @throws DecodeError (code ERR_DECODE) on anything else; TypeError when `bytes` is not a Uint8Array
 * @example decodeCanonical(encodeCanonical([1, 'a']))
 */
export function decodeCanonical(bytes: Uint8Array, limits: Readonly<DecodeLimits> = DEFAULT_DECODE_LIMITS): CborValue {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`"bytes" expected Uint8Array, got ${describe(bytes)}`)
  if (bytes.length === 0) throw new DecodeError('empty input')
  if (bytes.length > limits.maxBytes) throw new DecodeError(`input of ${bytes.length} bytes exceeds the limit of ${limits.maxBytes}`)
  let raw: unknown
  try {
    raw = decoder.decode(bytes)
  } catch (err) {
    // includes RangeError from cbor-x's recursion on absurd nesting
    throw new DecodeError(`malformed CBOR: ${(err as Error).message}`, { cause: err })
  }
  const value = normalize(raw, 0, limits.maxDepth)
  let again: Uint8Array
  try {
    again = encodeCanonical(value)
  } catch (err) {
    throw new DecodeError(`not an allowed value: ${(err as Error).message}`, { cause: err })
  }
  if (!equalBytes(again, bytes)) throw new DecodeError('not the canonical encoding of its value')
  return value
}

// ## Private helpers

const MAX_ENCODE_DEPTH = 64

function prepare(value: unknown, depth: number, path: string): unknown {
  switch (typeof value) {
    case 'number':
      if (!Number.isSafeInteger(value)) {
        throw new TypeError(`${path}: only safe integers are allowed (no floats), got ${value}`)
      }
      // cbor-x writes numbers beyond 32 bits as float64: hand those over as bigint instead
      return value > UINT32_MAX || value < NINT32_MIN ? BigInt(value) : value
    case 'bigint':
      if (value > UINT64_MAX || value < NINT64_MIN) throw new RangeError(`${path}: integer outside the CBOR 64-bit range`)
      // cbor-x writes every bigint as 9 bytes: small ones must go as numbers to be shortest
      return value <= UINT32_MAX && value >= NINT32_MIN ? Number(value) : value
    case 'string':
      if (!value.isWellFormed()) throw new TypeError(`${path}: string with a lone surrogate cannot be UTF-8`)
      return value
    case 'boolean':
      return value
    case 'object':
      break
    default:
      throw new TypeError(`${path}: ${typeof value} is not allowed in signed data`)
  }
  if (value === null) return null
  if (value instanceof Uint8Array) return value
  if (depth >= MAX_ENCODE_DEPTH) throw new RangeError(`${path}: nesting deeper than ${MAX_ENCODE_DEPTH}`)
  if (Array.isArray(value)) {
    // an indexed loop, not map: map skips the holes of a sparse array, which cbor-x then writes as
    // undefined; and a copy only when an element changes, since most values are already in shape
    let out: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i]
      const p = prepare(v, depth + 1, path)
      if (p !== v && out === undefined) out = value.slice(0, i)
      if (out !== undefined) out.push(p)
    }
    return out ?? value
  }
  const entries: [string, unknown][] = value instanceof Map ? [...value.entries()] : plainEntries(value, path)
  const keyed = entries.map(([k, v]) => {
    if (typeof k !== 'string') throw new TypeError(`${path}: map keys must be strings, got ${typeof k}`)
    // TextEncoder would silently turn a lone surrogate into U+FFFD: two keys, one encoding
    if (!k.isWellFormed()) throw new TypeError(`${path}: map key with a lone surrogate cannot be UTF-8`)
    // cbor-x's decoder renames "__proto__" (prototype-pollution guard), so no peer could decode it
    if (k === '__proto__') throw new TypeError(`${path}: the map key "__proto__" is not allowed`)
    return { k, bytes: utf8.encode(k), v }
  })
  // RFC 8949 §4.2.1: keys sorted by their encoded bytes; for text keys the length header comes
  // first, so shorter keys sort first and equal lengths compare bytewise.
  keyed.sort((a, b) => a.bytes.length - b.bytes.length || compareBytes(a.bytes, b.bytes))
  const out = new Map<string, unknown>()
  for (const { k, v } of keyed) out.set(k, prepare(v, depth + 1, `${path}.${k}`))
  return out
}

function plainEntries(value: object, path: string): [string, unknown][] {
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError(`${path}: ${proto?.constructor?.name ?? 'object'} is not allowed in signed data`)
  }
  return Object.entries(value)
}

function normalize(value: unknown, depth: number, maxDepth: number): CborValue {
  switch (typeof value) {
    case 'number':
      if (!Number.isSafeInteger(value)) throw new DecodeError('floats are not allowed')
      return value
    case 'bigint':
      return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : value
    case 'string':
    case 'boolean':
      return value
    case 'object':
      break
    default:
      throw new DecodeError(`${typeof value} is not allowed`)
  }
  if (value === null) return null
  if (value instanceof Uint8Array) {
    // a copy: cbor-x may hand out views into its input; callers must not alias it
    return Uint8Array.prototype.slice.call(value)
  }
  if (depth >= maxDepth) throw new DecodeError(`nesting deeper than ${maxDepth}`)
  if (Array.isArray(value)) return value.map((v) => normalize(v, depth + 1, maxDepth))
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) {
    throw new DecodeError(`${proto?.constructor?.name ?? 'tagged value'} is not allowed`)
  }
  const out: Record<string, CborValue> = {}
  for (const [k, v] of Object.entries(value)) {
    // defineProperty so a "__proto__" key stays data, never a prototype switch
    Object.defineProperty(out, k, { value: normalize(v, depth + 1, maxDepth), enumerable: true, writable: true, configurable: true })
  }
  return out
}

function toUint8Array(buf: Uint8Array): Uint8Array {
  // cbor-x returns a Buffer in Node (a Uint8Array subclass); give every platform the same plain type
  return Object.getPrototypeOf(buf) === Uint8Array.prototype ? buf : new Uint8Array(buf.buffer, buf.byteOffset, buf.length)
}
