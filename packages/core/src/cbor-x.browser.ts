/**
 * What browsers get for `cbor-x`: the two classes cbor.ts takes from it, `Encoder` and `Decoder`,
 * for the values cbor.ts hands them, in ~3.5 KB instead of cbor-x's ~30 KB (minified). Chosen by the
 * package's `browser` field (bundlers read it; Node never does), so a page loads this while Node
 * keeps cbor-x's speed.
 *
 * It needs no more because cbor.ts does the canonical work on both sides:
 * - encoding: `prepare` has already turned the value into the one shape that encodes canonically
 *   (integers as numbers within ±2^32 and bigints beyond, text-keyed Maps in canonical key order,
 *   no floats, no undefined); this encoder writes that shape, each head in its shortest form
 *   (RFC 8949 §4.2.1), and refuses anything else;
 * - decoding: `decodeCanonical` re-encodes what was decoded and refuses input that differs from
 *   it, so this decoder only has to read well-formed CBOR of the allowed kinds correctly and throw
 *   on everything else (floats, tags, simple values but false/true/null, indefinite lengths,
 *   non-text map keys, invalid UTF-8, truncation, trailing bytes), without ever allocating more
 *   than the input can hold or recursing without bound.
 * The same test suite runs against both (packages/core/test/cbor-browser.test.ts runs cbor.test.ts
 * on this codec, and compares the two encoders and decoders on random values and bytes).
 *
 * The options of cbor-x's constructors are accepted and ignored: cbor.ts passes the settings that
 * make cbor-x behave as this codec always does (no records, no tags, no string bundling, maps
 * decoded as objects).
 * @module
 */

/** Deepest nesting read: beyond any DecodeLimits.maxDepth, below any engine's stack. */
const MAX_DEPTH = 256

const utf8 = new TextEncoder()
// ignoreBOM: a leading U+FEFF is part of the string, not a byte-order mark to drop
const fromUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true } as { fatal: boolean })

/** The subset of cbor-x's Encoder that cbor.ts uses. */
export class Encoder {
  #out = new Uint8Array(256)
  #at = 0

  /** @param _options cbor-x's options (ignored: see the module comment) */
  constructor(_options?: unknown) {}

  /**
   * The CBOR encoding of `value`, every head in its shortest form.
   * @param value integers (safe numbers, or bigints within the 64-bit range), strings, booleans,
   *   null, Uint8Array, arrays and Maps or plain objects with text keys
   * @returns a fresh Uint8Array
   * @throws TypeError on any other value; RangeError on an integer out of range
   * @example new Encoder().encode(new Map([['a', 1]])) // a1 61 61 01
   */
  encode(value: unknown): Uint8Array {
    this.#at = 0
    this.#value(value, 0)
    return this.#out.slice(0, this.#at)
  }

  #value(v: unknown, depth: number): void {
    if (depth > MAX_DEPTH) throw new RangeError(`nesting deeper than ${MAX_DEPTH}`)
    switch (typeof v) {
      case 'number':
        if (!Number.isSafeInteger(v)) throw new TypeError(`only safe integers are encoded, got ${v}`)
        return v >= 0 ? this.#head(0, v) : this.#head(1, -1 - v)
      case 'bigint':
        if (v >= 0n) return this.#bigHead(0, v)
        return this.#bigHead(1, -1n - v)
      case 'string': {
        const bytes = utf8.encode(v)
        this.#head(3, bytes.length)
        return this.#bytes(bytes)
      }
      case 'boolean':
        return this.#byte(v ? 0xf5 : 0xf4)
      case 'object':
        break
      default:
        throw new TypeError(`${typeof v} cannot be encoded`)
    }
    if (v === null) return this.#byte(0xf6)
    if (v instanceof Uint8Array) {
      this.#head(2, v.length)
      return this.#bytes(v)
    }
    if (Array.isArray(v)) {
      this.#head(4, v.length)
      for (let i = 0; i < v.length; i++) this.#value(v[i], depth + 1)
      return
    }
    const entries: [unknown, unknown][] = v instanceof Map ? [...v.entries()] : Object.entries(v)
    this.#head(5, entries.length)
    for (const [k, item] of entries) {
      if (typeof k !== 'string') throw new TypeError(`map keys must be strings, got ${typeof k}`)
      this.#value(k, depth + 1)
      this.#value(item, depth + 1)
    }
  }

  /** A head: major type and argument, shortest form (RFC 8949 §4.2.1). */
  #head(major: number, n: number): void {
    const m = major << 5
    if (n < 24) return this.#byte(m | n)
    if (n < 0x100) {
      this.#room(2)
      this.#out[this.#at++] = m | 24
      this.#out[this.#at++] = n
      return
    }
    if (n < 0x1_0000) {
      this.#room(3)
      this.#out[this.#at++] = m | 25
      this.#out[this.#at++] = n >>> 8
      this.#out[this.#at++] = n & 0xff
      return
    }
    if (n < 0x1_0000_0000) {
      this.#room(5)
      this.#out[this.#at] = m | 26
      new DataView(this.#out.buffer).setUint32(this.#at + 1, n)
      this.#at += 5
      return
    }
    this.#bigHead(major, BigInt(n))
  }

  #bigHead(major: number, n: bigint): void {
    if (n > 0xffff_ffff_ffff_ffffn) throw new RangeError('integer outside the CBOR 64-bit range')
    if (n < 0x1_0000_0000n) return this.#head(major, Number(n))
    this.#room(9)
    this.#out[this.#at] = (major << 5) | 27
    new DataView(this.#out.buffer).setBigUint64(this.#at + 1, n)
    this.#at += 9
  }

  #byte(b: number): void {
    this.#room(1)
    this.#out[this.#at++] = b
  }

  #bytes(b: Uint8Array): void {
    this.#room(b.length)
    this.#out.set(b, this.#at)
    this.#at += b.length
  }

  #room(n: number): void {
    if (this.#at + n <= this.#out.length) return
    const grown = new Uint8Array(Math.max(this.#out.length * 2, this.#at + n))
    grown.set(this.#out.subarray(0, this.#at))
    this.#out = grown
  }
}

/** The subset of cbor-x's Decoder that cbor.ts uses. */
export class Decoder {
  /** @param _options cbor-x's options (ignored: see the module comment) */
  constructor(_options?: unknown) {}

  /**
   * The value of one CBOR data item that fills `bytes` exactly.
   * @param bytes the input
   * @returns integers as numbers (bigints when 8 bytes long), byte strings as Uint8Array views
   *   of the input, text maps as null-prototype objects
   * @throws Error on anything this codec does not read (see the module comment)
   * @example new Decoder().decode(Uint8Array.of(0x82, 0x01, 0x02)) // [1, 2]
   */
  decode(bytes: Uint8Array): unknown {
    const reader = new Reader(bytes)
    const value = reader.item(0)
    if (reader.at !== bytes.length) throw new Error(`${bytes.length - reader.at} trailing bytes`)
    return value
  }
}

// ## Private helpers

class Reader {
  at = 0
  readonly #b: Uint8Array
  readonly #view: DataView

  constructor(bytes: Uint8Array) {
    this.#b = bytes
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  item(depth: number): unknown {
    if (depth > MAX_DEPTH) throw new Error(`nesting deeper than ${MAX_DEPTH}`)
    const first = this.#take(1)[0]!
    const major = first >> 5
    const info = first & 0x1f
    if (major === 7) {
      if (first === 0xf4) return false
      if (first === 0xf5) return true
      if (first === 0xf6) return null
      throw new Error(`unsupported simple value or float (0x${first.toString(16)})`)
    }
    if (major === 6) throw new Error('tags are not read')
    const n = this.#argument(info)
    switch (major) {
      case 0:
        return n
      case 1:
        return typeof n === 'bigint' ? -1n - n : -1 - n
      case 2:
        return this.#take(this.#length(n))
      case 3:
        return fromUtf8.decode(this.#take(this.#length(n)))
      case 4: {
        // every item takes a byte at least: a count beyond the input is refused before allocating
        const count = this.#length(n)
        const out: unknown[] = []
        for (let i = 0; i < count; i++) out.push(this.item(depth + 1))
        return out
      }
      default: {
        const count = this.#length(n)
        const out: Record<string, unknown> = Object.create(null)
        for (let i = 0; i < count; i++) {
          const key = this.item(depth + 1)
          if (typeof key !== 'string') throw new Error('map keys must be text')
          // defineProperty: a "__proto__" key stays data (cbor.ts refuses it when re-encoding)
          Object.defineProperty(out, key, { value: this.item(depth + 1), enumerable: true, writable: true, configurable: true })
        }
        return out
      }
    }
  }

  /** The head's argument: a number, or a bigint when it takes 8 bytes. */
  #argument(info: number): number | bigint {
    if (info < 24) return info
    if (info === 24) return this.#take(1)[0]!
    if (info === 25) return this.#view.getUint16(this.#skip(2))
    if (info === 26) return this.#view.getUint32(this.#skip(4))
    if (info === 27) return this.#view.getBigUint64(this.#skip(8))
    throw new Error(info === 31 ? 'indefinite lengths are not read' : `reserved additional information ${info}`)
  }

  /** A length or count, which cannot exceed the bytes left. */
  #length(n: number | bigint): number {
    if (typeof n === 'bigint' || n > this.#b.length - this.at) throw new Error('length beyond the end of the input')
    return n
  }

  #take(n: number): Uint8Array {
    return this.#b.subarray(this.#skip(n), this.at)
  }

  #skip(n: number): number {
    if (this.at + n > this.#b.length) throw new Error('unexpected end of input')
    const from = this.at
    this.at += n
    return from
  }
}
