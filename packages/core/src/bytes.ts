/**
 * Byte helpers shared by every module: argument checks in noble's style, hex, comparison.
 * @module
 */

/** Hex encoding of a 32-byte Ed25519 public key: the agent's identity as a string. */
export type PublicKeyHex = string

/**
 * Check that `value` is a Uint8Array, optionally of an exact length. Throws at the API boundary.
 * @param name argument name used in the message
 * @param value the value to check
 * @param length required length, if any
 * @returns the same value, typed
 * @throws TypeError when not a Uint8Array; RangeError when the length differs
 * @example abytes('publicKey', pk, 32)
 */
export function abytes(name: string, value: unknown, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`"${name}" expected Uint8Array, got ${describe(value)}`)
  }
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`"${name}" expected Uint8Array of length ${length}, got length=${value.length}`)
  }
  return value
}

/**
 * Check that `value` is a safe non-negative integer within [min, max].
 * @param name argument name used in the message
 * @param value the value to check
 * @param min smallest allowed value (default 0)
 * @param max largest allowed value (default Number.MAX_SAFE_INTEGER)
 * @returns the same value, typed
 * @throws TypeError when not an integer; RangeError when out of range
 * @example auint('seq', 3, 1)
 */
export function auint(name: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new TypeError(`"${name}" expected a safe integer, got ${describe(value)}`)
  }
  if (value < min || value > max) {
    throw new RangeError(`"${name}" expected an integer in [${min}, ${max}], got ${value}`)
  }
  return value
}

/**
 * Lowercase hex of bytes.
 * @param bytes input
 * @returns hex string, two characters a byte
 * @example toHex(new Uint8Array([1, 255])) // '01ff'
 */
export function toHex(bytes: Uint8Array): string {
  // hex digits as ASCII bytes, decoded at once: 2-3x faster than adding 2-character strings (a
  // rope that V8 flattens again when the string is hashed as a Map key); keys are hexed often
  const out = bytes.length <= HEX_SCRATCH.length / 2 ? HEX_SCRATCH.subarray(0, 2 * bytes.length) : new Uint8Array(2 * bytes.length)
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!
    out[2 * i] = HEX_DIGITS[b >> 4]!
    out[2 * i + 1] = HEX_DIGITS[b & 15]!
  }
  return LATIN1.decode(out)
}

const HEX_DIGITS = new TextEncoder().encode('0123456789abcdef')
const HEX_SCRATCH = new Uint8Array(128)
const LATIN1 = new TextDecoder('latin1')

// The same keys are looked up many times (a transaction's two agents, an ingested chain's owner),
// often through different arrays (each decoded block has its own), so the hex of the last keys
// is remembered by their bytes: a hit costs a 32-byte comparison. A private copy of the bytes is
// kept, since a caller may reuse and overwrite an array.
const RECENT_KEYS = 32
const recentBytes: Uint8Array[] = []
const recentHex: string[] = []

/**
 * toHex for a key looked up again and again (stores, ingest, the LevelDB store of @tally/node):
 * the hex of the last few keys is kept. @internal
 * @param key bytes of a key
 * @returns its lowercase hex
 * @example keyHex(block.publicKey) // the same string as toHex, without building it again
 */
export function keyHex(key: Uint8Array): string {
  // the first byte first: most keys differ there, and a hit then compares the rest once
  const first = key[0]
  for (let k = 0; k < recentBytes.length; k++) {
    const known = recentBytes[k]!
    if (known[0] === first && equalBytes(known, key)) return recentHex[k]!
  }
  const hex = toHex(key)
  if (recentBytes.length >= RECENT_KEYS) {
    recentBytes.pop()
    recentHex.pop()
  }
  recentBytes.unshift(Uint8Array.from(key))
  recentHex.unshift(hex)
  return hex
}

/**
 * Bytes from lowercase or uppercase hex.
 * @param hex even-length hex string
 * @returns the bytes
 * @throws TypeError on a non-string; RangeError on odd length or a non-hex character
 * @example fromHex('01ff')
 */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError(`"hex" expected string, got ${describe(hex)}`)
  if (hex.length % 2 !== 0) throw new RangeError(`"hex" expected even length, got length=${hex.length}`)
  const bad = hex.search(/[^0-9a-fA-F]/)
  if (bad !== -1) throw new RangeError(`"hex" has a non-hex character at ${bad - (bad % 2)}`)
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

/**
 * Constant-length comparison of two byte strings (not constant-time: nothing here compares secrets).
 * @returns true when both have the same length and bytes
 * @example equalBytes(a, b)
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  // the same array (an agent's key handed around, a block's own field): no loop
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Lexicographic order of byte strings, shorter first on a common prefix.
 * @returns negative, zero or positive, as for Array.prototype.sort
 * @example blocks.sort((x, y) => compareBytes(x.hash, y.hash))
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d
  }
  return a.length - b.length
}

/**
 * Concatenate byte strings.
 * @returns a new Uint8Array holding every part in order
 * @example concatBytes(tag, body)
 */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const p of parts) length += p.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

/**
 * A public key shortened for messages and logs: its first 8 bytes in hex and an ellipsis.
 * @param key a public key
 * @returns e.g. 'a1b2c3d4e5f60718…'
 * @example `refused ${shortKey(peer)}`
 */
export function shortKey(key: Uint8Array): string {
  return `${toHex(key.subarray(0, 8))}…`
}

/** Short description of a value for error messages; never prints byte contents. */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (value instanceof Uint8Array) return `Uint8Array(length=${value.length})`
  if (Array.isArray(value)) return `array(length=${value.length})`
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return `${typeof value} ${String(value)}`
  }
  return typeof value
}
