/**
 * Tagged SHA-256 on @noble/hashes: taggedHash(name, data) = SHA-256(prefix ‖ data), with
 * prefix = SHA-256(domainTag(name)) twice (see tag-prefix.ts). The 64-byte prefix fills one
 * SHA-256 block, so the state after it is computed once per tag and copied into a working hash
 * for each message (`_cloneInto`, no allocation), whose digest is written into the caller's array.
 * What browsers use (a page hashes a Merkle proof's few nodes), and what Node uses when the
 * optional sodium-native does not load (tagged-sha256.ts).
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js'
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

/**
 * Throws unless `length` is a data length the tagged hashers take.
 * @param length bytes of data per message
 * @throws RangeError unless 0 to 119 (the data and its padding fit the two blocks after the prefix)
 * @internal
 */
export function checkTaggedLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 0 || length + 9 > 128) throw new RangeError(`"length" expected 0 to 119 bytes, got ${length}`)
}

/**
 * A hasher of prefix(name) ‖ data, for data of exactly `length` bytes, on @noble/hashes.
 * @param name the domain tag
 * @param length bytes of data per message, 0 to 119
 * @returns the hasher
 * @throws RangeError on another length
 * @internal
 */
export function nobleTaggedSha256(name: DomainName, length: number): TaggedSha256 {
  checkTaggedLength(length)
  const afterPrefix = sha256.create().update(tagPrefix(name))
  const work = sha256.create()
  const digest = new Uint8Array(32)
  return {
    hashInto(data: Uint8Array, at: number, out: Uint8Array, outAt: number): void {
      afterPrefix._cloneInto(work)
      work.update(data.subarray(at, at + length)).digestInto(digest)
      out.set(digest, outAt)
    },
  }
}
