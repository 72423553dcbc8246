/**
 * Canonical CBOR unsigned integers (major type 0, shortest form, RFC 8949 §4.2.1) written and
 * read by hand, for the fixed layouts that bypass the general codec on a hot path: a block's
 * unsigned part (half-block.ts), a channel receipt (@tally/economy/channels), gossip's `app` frame
 * and the economy's report bodies (heads of any major type: writeCborHead). Every layout that
 * uses them is checked against encodeCanonical / decodeCanonical by its own tests.
 * @module
 */

/**
 * Bytes of `n`'s canonical encoding.
 * @param n a safe unsigned integer
 * @returns 1, 2, 3, 5 or 9
 * @example cborUintSize(300) // 3
 */
export function cborUintSize(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x1_0000 ? 3 : n < 0x1_0000_0000 ? 5 : 9
}

/**
 * Write `n`'s canonical encoding at `at`.
 * @param out where to write (room for cborUintSize(n) bytes at `at`)
 * @param at the offset
 * @param n a safe unsigned integer
 * @returns the offset after it
 * @example writeCborUint(out, 0, 300) // 3: out = 19 01 2c
 */
export function writeCborUint(out: Uint8Array, at: number, n: number): number {
  if (n < 24) {
    out[at] = n
    return at + 1
  }
  if (n < 0x100) {
    out[at] = 0x18
    out[at + 1] = n
    return at + 2
  }
  if (n < 0x1_0000) {
    out[at] = 0x19
    out[at + 1] = n >>> 8
    out[at + 2] = n & 0xff
    return at + 3
  }
  if (n < 0x1_0000_0000) {
    out[at] = 0x1a
    writeUint32(out, at + 1, n)
    return at + 5
  }
  out[at] = 0x1b
  writeUint32(out, at + 1, Math.floor(n / 0x1_0000_0000))
  writeUint32(out, at + 5, n >>> 0)
  return at + 9
}

/**
 * Write the canonical head of a CBOR item of major type `major` whose argument is `n` (a length,
 * a count, or an unsigned integer when `major` is 0) at `at`: writeCborUint's bytes with the
 * major type in the first byte's top three bits.
 * @param out where to write (room for cborUintSize(n) bytes at `at`)
 * @param at the offset
 * @param major the major type, 0..7 (2: bytes, 3: text, 4: array)
 * @param n a safe unsigned integer
 * @returns the offset after the head (where the item's content starts)
 * @example writeCborHead(out, 0, 2, 300) // 3: out = 59 01 2c, the head of 300 bytes
 */
export function writeCborHead(out: Uint8Array, at: number, major: number, n: number): number {
  const end = writeCborUint(out, at, n)
  out[at] = out[at]! | (major << 5)
  return end
}

/**
 * Read a canonical unsigned integer at `at`.
 * @param b the bytes
 * @param at the offset
 * @returns [value, offset after it], or undefined when there is none there in shortest form, or
 *   it is not a safe integer, or it runs past the end
 * @example readCborUint(Uint8Array.of(0x19, 0x01, 0x2c), 0) // [300, 3]
 */
export function readCborUint(b: Uint8Array, at: number): [number, number] | undefined {
  const head = b[at]
  if (head === undefined) return undefined
  if (head < 24) return [head, at + 1]
  let n: number
  let next: number
  let least: number
  if (head === 0x18 && at + 2 <= b.length) [n, next, least] = [b[at + 1]!, at + 2, 24]
  else if (head === 0x19 && at + 3 <= b.length) [n, next, least] = [(b[at + 1]! << 8) | b[at + 2]!, at + 3, 0x100]
  else if (head === 0x1a && at + 5 <= b.length) [n, next, least] = [readUint32(b, at + 1), at + 5, 0x1_0000]
  else if (head === 0x1b && at + 9 <= b.length) [n, next, least] = [readUint32(b, at + 1) * 0x1_0000_0000 + readUint32(b, at + 5), at + 9, 0x1_0000_0000]
  else return undefined
  return n >= least && Number.isSafeInteger(n) ? [n, next] : undefined
}

function writeUint32(out: Uint8Array, at: number, n: number): void {
  out[at] = n >>> 24
  out[at + 1] = (n >>> 16) & 0xff
  out[at + 2] = (n >>> 8) & 0xff
  out[at + 3] = n & 0xff
}

function readUint32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!)
}
