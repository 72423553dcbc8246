/**
 * What browsers get for tagged-sha256.ts (chosen by the package's `browser` field: bundlers read
 * it, Node never does): the same tagged hashes, taggedHash(name, data) = SHA-256(prefix ‖ data)
 * with prefix = SHA-256(domainTag(name)) twice, through @noble/hashes' SHA-256 — which a page loads
 * anyway (core hashes blocks with it) — from its state after the prefix, cloned per hash. A page
 * hashes a Merkle proof's few nodes, not an epoch's million leaves, so it does without the
 * specialised compression (1.3 KB gzipped at a wallet's start). Same results: the tests run both
 * on every data length.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js'
import type { DomainName } from '@tally/core'
import { tagPrefix } from './tag-prefix.js'
import type { TaggedSha256 } from './tagged-sha256.js'

export type { TaggedSha256 }

export { tagPrefix }

/**
 * A hasher of prefix(name) ‖ data, for data of exactly `length` bytes.
 * @param name the domain tag
 * @param length bytes of data per message, 0 to 119
 * @returns the hasher
 * @throws RangeError on another length
 * @internal
 */
export function taggedSha256(name: DomainName, length: number): TaggedSha256 {
  if (!Number.isSafeInteger(length) || length < 0 || length + 9 > 128) throw new RangeError(`"length" expected 0 to 119 bytes, got ${length}`)
  const afterPrefix = sha256.create().update(tagPrefix(name))
  return {
    hashInto(data: Uint8Array, at: number, out: Uint8Array, outAt: number): void {
      out.set(afterPrefix.clone().update(data.subarray(at, at + length)).digest(), outAt)
    },
  }
}
