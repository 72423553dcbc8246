/**
 * What canonical CBOR carries (CborValue), the decoder's limits, and equality as the encoding
 * defines it: shared by Node's codec (cbor.ts, on cbor-x) and the browsers' (cbor.browser.ts).
 * @module
 */

/** A value that Tally signs or hashes: no floats, no undefined, text keys only. */
export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | Uint8Array
  | readonly CborValue[]
  | { readonly [key: string]: CborValue }

/** Limits applied when decoding bytes from a peer. */
export interface DecodeLimits {
  /** Largest input accepted, in bytes. */
  maxBytes: number
  /** Deepest nesting of arrays and maps accepted. */
  maxDepth: number
}

/** Default decode limits: 1 MiB, nesting 32. */
export const DEFAULT_DECODE_LIMITS: Readonly<DecodeLimits> = Object.freeze({ maxBytes: 1 << 20, maxDepth: 32 })

/**
 * Equality of two CBOR values as canonical encoding defines it (equal iff their encodings are
 * equal), without encoding: a number and a bigint of the same value are equal, maps compare by
 * keys whatever their order.
 * @param a a CborValue
 * @param b a CborValue
 * @returns whether they encode to the same bytes
 * @example cborEqual({ a: 1, b: 2 }, { b: 2, a: 1n }) // true
 */
export function cborEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  const ta = typeof a
  const tb = typeof b
  if ((ta === 'number' || ta === 'bigint') && (tb === 'number' || tb === 'bigint')) {
    return Number.isInteger(a) || ta === 'bigint' ? (Number.isInteger(b) || tb === 'bigint') && BigInt(a as number) === BigInt(b as number) : false
  }
  if (ta !== 'object' || tb !== 'object' || a === null || b === null) return false
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
    return true
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!cborEqual(a[i], b[i])) return false
    return true
  }
  const ea: [unknown, unknown][] = a instanceof Map ? [...a.entries()] : Object.entries(a as object)
  const mb: Map<unknown, unknown> = b instanceof Map ? b : new Map(Object.entries(b as object))
  if (ea.length !== mb.size) return false
  for (const [k, v] of ea) if (!mb.has(k) || !cborEqual(v, mb.get(k))) return false
  return true
}
