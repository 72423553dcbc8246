/**
 * What browsers get for cbor.ts (the package's `browser` field: bundlers read it, Node never
 * does): deterministic CBOR (RFC 8949 §4.2.1) in one pass each way, without cbor-x. The same
 * functions with the same rules, so that a page and a Node peer agree on every byte:
 * - encoding writes the canonical form directly: integers in their shortest head (numbers, or
 *   bigints within the 64-bit range), map keys sorted by their encoded bytes, and it refuses what
 *   cbor.ts's `prepare` refuses, with the same error class for the same value (TypeError for a
 *   kind of value or key that is not allowed, RangeError for an integer out of range or nesting
 *   deeper than 64);
 * - decoding accepts exactly what cbor.ts's "re-encodes to itself" accepts, checked as it reads:
 *   every head in its shortest form, definite lengths, text keys in strictly increasing canonical
 *   order (so no duplicates), no floats, tags or simple values but false/true/null, valid UTF-8,
 *   integers within -2^64 + 1 .. 2^64 - 1, nothing after the item, nesting within the limit —
 *   and hands back the value cbor.ts does (integers beyond 2^53 as bigint, byte strings copied).
 * The same suite runs against both (packages/core/test/cbor-browser.test.ts runs cbor.test.ts on
 * this codec, and compares the two encoders and decoders on random values and bytes).
 * @module
 */
import { compareBytes, describe } from './bytes.js'
import { cborUintSize, writeCborHead } from './cbor-uint.js'
import { DEFAULT_DECODE_LIMITS, type CborValue, type DecodeLimits } from './cbor-value.js'
import { DecodeError } from './errors.js'

export { DEFAULT_DECODE_LIMITS, cborEqual, type CborValue, type DecodeLimits } from './cbor-value.js'

/** Deepest nesting encoded (as cbor.ts), and so decoded. */
const MAX_ENCODE_DEPTH = 64
const UINT64_MAX = (1n << 64n) - 1n
// -2^64 is a valid CBOR integer, but cbor.ts refuses it (cbor-x would write it as a bignum)
const NINT64_MIN = -(1n << 64n) + 1n
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

const utf8 = new TextEncoder()
// ignoreBOM: a leading U+FEFF is part of the string, not a byte-order mark to drop
const fromUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true } as { fatal: boolean })

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
  const out = new Writer()
  out.value(value, 0, 'value')
  return out.done()
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
  const reader = new Reader(bytes, Math.min(limits.maxDepth, MAX_ENCODE_DEPTH))
  let value: CborValue
  try {
    value = reader.item(0)
  } catch (err) {
    if (err instanceof DecodeError) throw err
    // a RangeError from the engine (a stack overflow on a huge maxDepth) is malformed input too
    throw new DecodeError(`malformed CBOR: ${(err as Error).message}`, { cause: err })
  }
  if (reader.at !== bytes.length) throw new DecodeError(`malformed CBOR: ${bytes.length - reader.at} trailing bytes`)
  return value
}

// ## Private helpers

/** A growing output buffer that writes canonical items. */
class Writer {
  #out = new Uint8Array(256)
  #at = 0

  done(): Uint8Array {
    return this.#out.slice(0, this.#at)
  }

  /** Write `v`, refusing what cbor.ts's `prepare` refuses (`path` names it in the error). */
  value(v: unknown, depth: number, path: string): void {
    switch (typeof v) {
      case 'number':
        if (!Number.isSafeInteger(v)) throw new TypeError(`${path}: only safe integers are allowed (no floats), got ${v}`)
        return v >= 0 ? this.#head(0, v) : this.#head(1, -1 - v)
      case 'bigint':
        if (v > UINT64_MAX || v < NINT64_MIN) throw new RangeError(`${path}: integer outside the CBOR 64-bit range`)
        return v >= 0n ? this.#bigHead(0, v) : this.#bigHead(1, -1n - v)
      case 'string':
        if (!v.isWellFormed()) throw new TypeError(`${path}: string with a lone surrogate cannot be UTF-8`)
        return this.#bytes(3, utf8.encode(v))
      case 'boolean':
        return this.#byte(v ? 0xf5 : 0xf4)
      case 'object':
        break
      default:
        throw new TypeError(`${path}: ${typeof v} is not allowed in signed data`)
    }
    if (v === null) return this.#byte(0xf6)
    if (v instanceof Uint8Array) return this.#bytes(2, v)
    if (depth >= MAX_ENCODE_DEPTH) throw new RangeError(`${path}: nesting deeper than ${MAX_ENCODE_DEPTH}`)
    if (Array.isArray(v)) {
      this.#head(4, v.length)
      // an indexed loop: a hole is undefined, which is refused
      for (let i = 0; i < v.length; i++) this.value(v[i], depth + 1, path)
      return
    }
    let entries: [unknown, unknown][]
    if (v instanceof Map) entries = [...v.entries()]
    else {
      const proto = Object.getPrototypeOf(v)
      if (proto !== Object.prototype && proto !== null) throw new TypeError(`${path}: ${proto?.constructor?.name ?? 'object'} is not allowed in signed data`)
      entries = Object.entries(v)
    }
    // every key is checked before any value, as cbor.ts does
    const keyed = entries.map(([k, item]) => {
      if (typeof k !== 'string') throw new TypeError(`${path}: map keys must be strings, got ${typeof k}`)
      if (!k.isWellFormed()) throw new TypeError(`${path}: map key with a lone surrogate cannot be UTF-8`)
      if (k === '__proto__') throw new TypeError(`${path}: the map key "__proto__" is not allowed`)
      return { k, bytes: utf8.encode(k), item }
    })
    // RFC 8949 §4.2.1: keys sorted by their encoded bytes; for text keys the length header comes
    // first, so shorter keys sort first and equal lengths compare bytewise
    keyed.sort((a, b) => a.bytes.length - b.bytes.length || compareBytes(a.bytes, b.bytes))
    this.#head(5, keyed.length)
    for (const { k, bytes, item } of keyed) {
      this.#bytes(3, bytes)
      this.value(item, depth + 1, `${path}.${k}`)
    }
  }

  /** A head: major type and argument (a safe integer), in its shortest form. */
  #head(major: number, n: number): void {
    this.#room(cborUintSize(n))
    this.#at = writeCborHead(this.#out, this.#at, major, n)
  }

  /** A head whose argument may be beyond 2^53 (at most 2^64 - 1). */
  #bigHead(major: number, n: bigint): void {
    if (n <= MAX_SAFE) return this.#head(major, Number(n))
    this.#room(9)
    this.#out[this.#at] = (major << 5) | 27
    new DataView(this.#out.buffer).setBigUint64(this.#at + 1, n)
    this.#at += 9
  }

  /** A byte or text string: its head and its bytes. */
  #bytes(major: number, b: Uint8Array): void {
    this.#head(major, b.length)
    this.#room(b.length)
    this.#out.set(b, this.#at)
    this.#at += b.length
  }

  #byte(b: number): void {
    this.#room(1)
    this.#out[this.#at++] = b
  }

  #room(n: number): void {
    if (this.#at + n <= this.#out.length) return
    const grown = new Uint8Array(Math.max(this.#out.length * 2, this.#at + n))
    grown.set(this.#out.subarray(0, this.#at))
    this.#out = grown
  }
}

/** Reads one canonical item, refusing anything that would not re-encode to itself. */
class Reader {
  at = 0
  readonly #b: Uint8Array
  readonly #view: DataView
  readonly #maxDepth: number

  constructor(bytes: Uint8Array, maxDepth: number) {
    this.#b = bytes
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.#maxDepth = maxDepth
  }

  item(depth: number): CborValue {
    const first = this.#take(1)[0]!
    const major = first >> 5
    if (major === 7) {
      if (first === 0xf4) return false
      if (first === 0xf5) return true
      if (first === 0xf6) return null
      throw new DecodeError(first >= 0xf9 && first <= 0xfb ? 'floats are not allowed' : `simple value 0x${first.toString(16)} is not allowed`)
    }
    if (major === 6) throw new DecodeError('tags are not allowed')
    const n = this.#argument(first & 0x1f)
    switch (major) {
      case 0:
        return typeof n === 'bigint' && n > MAX_SAFE ? n : Number(n)
      case 1: {
        if (n === UINT64_MAX) throw new DecodeError('not an allowed value: integer outside the CBOR 64-bit range')
        return typeof n === 'bigint' ? (n >= MAX_SAFE ? -1n - n : Number(-1n - n)) : -1 - n
      }
      case 2:
        return this.#take(this.#length(n)).slice()
      case 3:
        return this.#text(n)
      default:
        break
    }
    if (depth >= this.#maxDepth) throw new DecodeError(`nesting deeper than ${this.#maxDepth}`)
    // every item takes a byte at least: a count beyond the input is refused before allocating
    const count = this.#length(n)
    if (major === 4) {
      const out: CborValue[] = []
      for (let i = 0; i < count; i++) out.push(this.item(depth + 1))
      return out
    }
    const out: Record<string, CborValue> = {}
    let previous: Uint8Array | undefined
    for (let i = 0; i < count; i++) {
      const start = this.at
      const head = this.#take(1)[0]!
      if (head >> 5 !== 3) throw new DecodeError('not an allowed value: map keys must be text')
      const key = this.#text(this.#argument(head & 0x1f))
      const encoded = this.#b.subarray(start, this.at)
      // canonical order: each key's encoding after the one before (so no key twice)
      if (previous !== undefined && compareBytes(previous, encoded) >= 0) throw new DecodeError('not the canonical encoding of its value: map keys out of order or repeated')
      if (key === '__proto__') throw new DecodeError('not an allowed value: the map key "__proto__" is not allowed')
      previous = encoded
      // defineProperty so that no key is ever a prototype switch
      Object.defineProperty(out, key, { value: this.item(depth + 1), enumerable: true, writable: true, configurable: true })
    }
    return out
  }

  #text(n: number | bigint): string {
    try {
      return fromUtf8.decode(this.#take(this.#length(n)))
    } catch (err) {
      if (err instanceof DecodeError) throw err
      throw new DecodeError('malformed CBOR: invalid UTF-8', { cause: err })
    }
  }

  /** The head's argument in its shortest form: a number, or a bigint when it takes 8 bytes. */
  #argument(info: number): number | bigint {
    if (info < 24) return info
    let n: number | bigint
    let least: number | bigint
    if (info === 24) [n, least] = [this.#take(1)[0]!, 24]
    else if (info === 25) [n, least] = [this.#view.getUint16(this.#skip(2)), 0x100]
    else if (info === 26) [n, least] = [this.#view.getUint32(this.#skip(4)), 0x1_0000]
    else if (info === 27) [n, least] = [this.#view.getBigUint64(this.#skip(8)), 0x1_0000_0000n]
    else throw new DecodeError(`malformed CBOR: ${info === 31 ? 'indefinite lengths are not allowed' : `reserved additional information ${info}`}`)
    if (n < least) throw new DecodeError('not the canonical encoding of its value: a head longer than needed')
    return n
  }

  /** A length or count, which cannot exceed the bytes left. */
  #length(n: number | bigint): number {
    if (typeof n === 'bigint' || n > this.#b.length - this.at) throw new DecodeError('malformed CBOR: length beyond the end of the input')
    return n
  }

  #take(n: number): Uint8Array {
    return this.#b.subarray(this.#skip(n), this.at)
  }

  #skip(n: number): number {
    if (this.at + n > this.#b.length) throw new DecodeError('malformed CBOR: unexpected end of input')
    const from = this.at
    this.at += n
    return from
  }
}
