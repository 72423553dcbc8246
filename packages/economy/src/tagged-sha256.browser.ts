/**
 * What browsers get for tagged-sha256.ts (chosen by the package's `browser` field: bundlers read
 * it, Node never does): the tagged hashes on @noble/hashes, which a page loads anyway (core hashes
 * blocks with it). A page hashes a Merkle proof's few nodes, not an epoch's million leaves.
 * @module
 */
import type { DomainName } from '@tally/core'
import { nobleTaggedSha256, type TaggedSha256 } from './tagged-sha256-noble.js'
import { tagPrefix } from './tag-prefix.js'

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
  return nobleTaggedSha256(name, length)
}
