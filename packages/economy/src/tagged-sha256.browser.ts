/**
 * What browsers get for tagged-sha256.ts (chosen by the package's `browser` field: bundlers read
 * it, Node never does): the tagged hashes on @noble/hashes, which a page loads anyway (core hashes
 * blocks with it). A page hashes a Merkle proof's few nodes, not an epoch's million leaves.
 * @module
 */
export { nobleTaggedSha256 as taggedSha256, type TaggedSha256 } from './tagged-sha256-noble.js'
export { tagPrefix } from './tag-prefix.js'
