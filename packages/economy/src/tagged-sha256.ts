/**
 * Tagged SHA-256 for the Merkle tree's hot path (a million leaves and a million nodes per epoch
 * close), in the style of BIP-340's tagged hashes:
 *
 *   taggedHash(name, data) = SHA-256(prefix ‖ data),  prefix = SHA-256(domainTag(name)) ‖ SHA-256(domainTag(name))
 *
 * The 64-byte prefix fills exactly one SHA-256 block, so the state after it is computed once per
 * tag; a 40-byte allocation leaf then costs one block and a node (64 bytes of children) two, the
 * second of which is constant padding whose message schedule is also computed once. Digests are
 * written straight into the caller's array: no allocation per hash. About three times the speed
 * of a general-purpose SHA-256 call per hash; checked against @noble/hashes in the tests.
 * @module
 */
import type { DomainName } from '@tally/core'
import { tagPrefix } from './tag-prefix.js'

/** Hashes prefix(tag) ‖ data for one tag and one data length. */
export interface TaggedSha256 {
  /**
   * taggedHash(name, data[at, at + length)) into out[outAt, outAt + 32).
   * @param data bytes holding the message's data
   * @param at where it starts
   * @param out where the digest goes
   * @param outAt where in `out`
   */
  hashInto(data: Uint8Array, at: number, out: Uint8Array, outAt: number): void
}

// FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes
const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
])
// §5.3.3: the initial hash value
const H0 = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19])

export { tagPrefix }

/**
 * A hasher of prefix(name) ‖ data, for data of exactly `length` bytes.
 * @param name the domain tag
 * @param length bytes of data per message, 0 to 119 (the data and its padding fit two blocks)
 * @returns the hasher
 * @throws RangeError on another length
 * @internal
 */
export function taggedSha256(name: DomainName, length: number): TaggedSha256 {
  if (!Number.isSafeInteger(length) || length < 0 || length + 9 > 128) throw new RangeError(`"length" expected 0 to 119 bytes, got ${length}`)
  const w = new Int32Array(64)
  // the state after the prefix block, computed once
  const mid = Int32Array.from(H0)
  compress(tagPrefix(name), 0, w, mid)
  // §5.1.1: after the data, a 1 bit, zeros, and the message length in bits (64-bit big-endian)
  const buf = new Uint8Array(128)
  buf[length] = 0x80
  const bits = (64 + length) * 8
  const blocks = length + 9 > 64 ? 2 : 1
  buf[blocks * 64 - 2] = bits >>> 8
  buf[blocks * 64 - 1] = bits & 0xff
  // a last block holding only padding (data of 56 to 64 bytes) has a constant message schedule
  const constantLast = blocks === 2 && length <= 64 ? schedule(buf, 64) : undefined
  const h = new Int32Array(8)
  return {
    hashInto(data: Uint8Array, at: number, out: Uint8Array, outAt: number): void {
      for (let i = 0; i < length; i++) buf[i] = data[at + i]!
      h.set(mid)
      compress(buf, 0, w, h)
      if (constantLast !== undefined) rounds(constantLast, h)
      else if (blocks === 2) compress(buf, 64, w, h)
      for (let i = 0; i < 8; i++) {
        const v = h[i]!
        const o = outAt + i * 4
        out[o] = v >>> 24
        out[o + 1] = v >>> 16
        out[o + 2] = v >>> 8
        out[o + 3] = v
      }
    },
  }
}

// ## Private helpers

/** §6.2.2 step 1: the message schedule of the block at b[at, at + 64). */
function schedule(b: Uint8Array, at: number, w: Int32Array = new Int32Array(64)): Int32Array {
  for (let t = 0; t < 16; t++) {
    const i = at + t * 4
    w[t] = (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!
  }
  for (let t = 16; t < 64; t++) {
    const x = w[t - 15]!
    const y = w[t - 2]!
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)
    w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) | 0
  }
  return w
}

/** One block of the compression function. */
function compress(b: Uint8Array, at: number, w: Int32Array, h: Int32Array): void {
  rounds(schedule(b, at, w), h)
}

/** §6.2.2 steps 2-4: the 64 rounds over a schedule, added into the state. */
function rounds(w: Int32Array, h: Int32Array): void {
  let a = h[0]!
  let b = h[1]!
  let c = h[2]!
  let d = h[3]!
  let e = h[4]!
  let f = h[5]!
  let g = h[6]!
  let hh = h[7]!
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
    const ch = (e & f) ^ (~e & g)
    const t1 = (hh + S1 + ch + K[t]! + w[t]!) | 0
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
    const maj = (a & b) ^ (a & c) ^ (b & c)
    hh = g
    g = f
    f = e
    e = (d + t1) | 0
    d = c
    c = b
    b = a
    a = (t1 + S0 + maj) | 0
  }
  h[0] = (h[0]! + a) | 0
  h[1] = (h[1]! + b) | 0
  h[2] = (h[2]! + c) | 0
  h[3] = (h[3]! + d) | 0
  h[4] = (h[4]! + e) | 0
  h[5] = (h[5]! + f) | 0
  h[6] = (h[6]! + g) | 0
  h[7] = (h[7]! + hh) | 0
}
