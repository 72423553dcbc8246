/**
 * A binary Merkle tree over 32-byte leaf hashes, with inclusion proofs.
 *
 * Layout (hashed, so fixed here), with tagged hashes in the style of BIP-340 (see tagged-sha256.ts):
 *
 *   P(name)     = SHA-256(domainTag(name)) ‖ SHA-256(domainTag(name))          (64 bytes: one block)
 *   leaf(data)  = SHA-256(P('merkle-leaf') ‖ data)
 *   node(l, r)  = SHA-256(P('merkle-node') ‖ l ‖ r)
 *   level 0 = the leaf hashes in order; level j+1 pairs (0,1), (2,3), ... of level j, and an odd
 *   last node is promoted unchanged (never paired with itself: no two trees share a root by
 *   duplicating a leaf, the flaw of CVE-2012-2459).
 *   root of no leaves = SHA-256(P('merkle-node'))
 *   proof = [index: uint, siblings: bstr (32 bytes per level that has a sibling, leaf to root)]
 *
 * The verifier knows the leaf count (it is in the epoch certificate), so index and count alone
 * say at which levels the node was promoted and on which side each sibling is: the proof carries
 * no direction bits and cannot be stretched.
 *
 * Allocation leaves: data = owner (32 bytes) ‖ amount (8 bytes, unsigned big-endian).
 *
 * Speed: the state after a tag's prefix block is computed once, so an allocation leaf costs one
 * SHA-256 block and a node two (the second constant padding); the two children of a node are
 * adjacent in memory, and digests are written in place — no allocation per hash.
 * @module
 */
import { DecodeError, abytes, auint, concatBytes, decodeCanonical, encodeCanonical, nobleCrypto, type CborValue } from '@tally/core'
import { tagPrefix, taggedSha256, type TaggedSha256 } from './tagged-sha256.js'
import { isBytes, isUint } from './util.js'

/** Proof that a leaf sits at `index` under a root. */
export interface MerkleProof {
  /** Position of the leaf. */
  readonly index: number
  /** Sibling hashes from the leaf up, 32 bytes each. */
  readonly siblings: Uint8Array
}

/** A built tree. */
export interface MerkleTree {
  /** Number of leaves. */
  readonly leafCount: number
  /** The root hash. */
  readonly root: Uint8Array
  /** The hash of leaf `index`. */
  leaf(index: number): Uint8Array
  /**
   * The inclusion proof of leaf `index`.
   * @throws RangeError when index is not a leaf
   */
  prove(index: number): MerkleProof
}

/** Deepest tree accepted: 2^40 leaves. */
const MAX_DEPTH = 40

/**
 * The leaf hash of arbitrary data.
 * @param data the leaf's bytes
 * @returns SHA-256(P('merkle-leaf') ‖ data)
 * @example const leaf = hashLeaf(bytes)
 */
export function hashLeaf(data: Uint8Array): Uint8Array {
  abytes('data', data)
  return nobleCrypto.sha256(concatBytes(prefixes().leaf, data))
}

/**
 * The leaf of an allocation table row.
 * @param owner the owner's 32-byte key
 * @param amount its amount (a safe non-negative integer)
 * @returns the leaf hash of owner ‖ amount (u64 big-endian)
 * @example const leaf = allocationLeaf(alice.publicKey, 1234)
 */
export function allocationLeaf(owner: Uint8Array, amount: number): Uint8Array {
  abytes('owner', owner, 32)
  auint('amount', amount)
  return allocationLeaves(owner, [amount])
}

/**
 * The root of a tree with no leaves.
 * @returns SHA-256(P('merkle-node'))
 */
export function emptyRoot(): Uint8Array {
  return nobleCrypto.sha256(prefixes().node)
}

/**
 * Build a tree.
 * @param leaves the leaf hashes, concatenated (32 bytes each)
 * @returns the tree (it keeps every level: about 64 bytes per leaf)
 * @throws RangeError when the length is not a multiple of 32
 * @example const tree = buildMerkleTree(concatBytes(hashLeaf(a), hashLeaf(b))); tree.root
 */
export function buildMerkleTree(leaves: Uint8Array): MerkleTree {
  abytes('leaves', leaves)
  if (leaves.length % 32 !== 0) throw new RangeError(`"leaves" expected a multiple of 32 bytes, got length=${leaves.length}`)
  const levels: Uint8Array[] = [leaves]
  const node = nodeHasher()
  let level = leaves
  while (level.length > 32) {
    const count = level.length / 32
    const pairs = count >>> 1
    const next = new Uint8Array(Math.ceil(count / 2) * 32)
    for (let i = 0; i < pairs; i++) node.hashInto(level, i * 64, next, i * 32)
    if (count % 2 === 1) next.set(level.subarray(level.length - 32), pairs * 32)
    levels.push(next)
    level = next
  }
  const leafCount = leaves.length / 32
  const root = leafCount === 0 ? emptyRoot() : level.slice(0, 32)
  return Object.freeze({
    leafCount,
    root,
    leaf(index: number): Uint8Array {
      checkIndex(index, leafCount)
      return leaves.slice(index * 32, index * 32 + 32)
    },
    prove(index: number): MerkleProof {
      checkIndex(index, leafCount)
      const siblings: Uint8Array[] = []
      let i = index
      for (let j = 0; j < levels.length - 1; j++) {
        const count = levels[j]!.length / 32
        const sibling = i ^ 1
        if (sibling < count) siblings.push(levels[j]!.subarray(sibling * 32, sibling * 32 + 32))
        i >>>= 1
      }
      const flat = new Uint8Array(siblings.length * 32)
      siblings.forEach((s, k) => flat.set(s, k * 32))
      return Object.freeze({ index, siblings: flat })
    },
  })
}

/**
 * Check that `leaf` sits at `proof.index` of a tree of `leafCount` leaves with root `root`.
 * @param leaf the 32-byte leaf hash
 * @param proof index and siblings
 * @param leafCount the number of leaves of the tree
 * @param root the expected root
 * @returns whether the proof holds (never throws on malformed input)
 * @example verifyMerkleProof(allocationLeaf(owner, amount), proof, cert.leaves, cert.root)
 */
export function verifyMerkleProof(leaf: Uint8Array, proof: MerkleProof, leafCount: number, root: Uint8Array): boolean {
  if (!isBytes(leaf, 32) || !isBytes(root, 32) || !(proof?.siblings instanceof Uint8Array)) return false
  if (!isUint(leafCount) || !isUint(proof.index) || proof.index >= leafCount || proof.siblings.length % 32 !== 0) return false
  const node = nodeHasher()
  const pair = new Uint8Array(64)
  let cur = Uint8Array.from(leaf)
  let i = proof.index
  let count = leafCount
  let used = 0
  const siblings = proof.siblings
  while (count > 1) {
    const sibling = i ^ 1
    if (sibling < count) {
      if (used + 32 > siblings.length) return false
      const s = siblings.subarray(used, used + 32)
      used += 32
      if ((i & 1) === 0) {
        pair.set(cur, 0)
        pair.set(s, 32)
      } else {
        pair.set(s, 0)
        pair.set(cur, 32)
      }
      cur = new Uint8Array(32)
      node.hashInto(pair, 0, cur, 0)
    }
    i >>>= 1
    count = Math.ceil(count / 2)
  }
  if (used !== siblings.length) return false
  for (let k = 0; k < 32; k++) if (cur[k] !== root[k]) return false
  return true
}

/**
 * The CBOR value of a proof: [index, siblings].
 * @param proof the proof
 * @returns a CBOR array
 * @example encodeCanonical(merkleProofValue(p))
 */
export function merkleProofValue(proof: MerkleProof): CborValue {
  return [proof.index, proof.siblings]
}

/**
 * A proof from its CBOR value (form only).
 * @param value decoded CBOR
 * @returns the proof
 * @throws DecodeError when not [uint, bstr of 32 × k bytes], k <= 40
 * @example const p = merkleProofFromValue(decoded)
 */
export function merkleProofFromValue(value: CborValue | undefined): MerkleProof {
  if (!Array.isArray(value) || value.length !== 2) throw new DecodeError('a Merkle proof must be [index, siblings]')
  const [index, siblings] = value as CborValue[]
  if (!isUint(index)) throw new DecodeError('Merkle proof index must be a non-negative integer')
  if (!(siblings instanceof Uint8Array) || siblings.length % 32 !== 0 || siblings.length > 32 * MAX_DEPTH) {
    throw new DecodeError(`Merkle proof siblings must be 32-byte hashes, at most ${MAX_DEPTH}`)
  }
  return Object.freeze({ index, siblings })
}

/**
 * Encode a proof.
 * @param proof the proof
 * @returns canonical CBOR [index, siblings]
 * @example send(encodeMerkleProof(tree.prove(3)))
 */
export function encodeMerkleProof(proof: MerkleProof): Uint8Array {
  return encodeCanonical(merkleProofValue(proof))
}

/**
 * Decode a proof.
 * @param bytes the encoding
 * @returns the proof
 * @throws DecodeError when malformed
 * @example const p = decodeMerkleProof(bytes)
 */
export function decodeMerkleProof(bytes: Uint8Array): MerkleProof {
  return merkleProofFromValue(decodeCanonical(bytes, { maxBytes: 32 * MAX_DEPTH + 32, maxDepth: 2 }))
}

/**
 * The leaves of an allocation table: row r is owner r (32 bytes at r * 32) with amounts[r].
 * The hot path of an epoch close.
 * @param owners owner keys, concatenated
 * @param amounts amounts (safe non-negative integers), one per owner
 * @returns the leaf hashes, concatenated (32 bytes each)
 * @throws RangeError when the lengths disagree
 * @example const tree = buildMerkleTree(allocationLeaves(owners, amounts))
 */
export function allocationLeaves(owners: Uint8Array, amounts: ArrayLike<number>): Uint8Array {
  abytes('owners', owners)
  const count = amounts.length
  if (owners.length !== count * 32) throw new RangeError(`"owners" expected ${count * 32} bytes for ${count} amounts, got length=${owners.length}`)
  const out = new Uint8Array(count * 32)
  const leaf = (cachedLeaf ??= taggedSha256('merkle-leaf', 40))
  const data = new Uint8Array(40)
  const view = new DataView(data.buffer)
  for (let r = 0; r < count; r++) {
    const amount = amounts[r]!
    if (!Number.isSafeInteger(amount) || amount < 0) throw new RangeError(`"amounts[${r}]" expected a safe non-negative integer, got ${amount}`)
    data.set(owners.subarray(r * 32, r * 32 + 32), 0)
    view.setUint32(32, Math.floor(amount / 0x1_0000_0000))
    view.setUint32(36, amount >>> 0)
    leaf.hashInto(data, 0, out, r * 32)
  }
  return out
}

// ## Private helpers

let cachedPrefixes: { leaf: Uint8Array; node: Uint8Array } | undefined
function prefixes(): { leaf: Uint8Array; node: Uint8Array } {
  return (cachedPrefixes ??= { leaf: tagPrefix('merkle-leaf'), node: tagPrefix('merkle-node') })
}

let cachedNode: TaggedSha256 | undefined
let cachedLeaf: TaggedSha256 | undefined
/** The node hasher, P('merkle-node') ‖ 64 bytes: one for the module (hashing is synchronous, never interleaved). */
function nodeHasher(): TaggedSha256 {
  return (cachedNode ??= taggedSha256('merkle-node', 64))
}

function checkIndex(index: number, count: number): void {
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) throw new RangeError(`"index" expected a leaf index in [0, ${count - 1}], got ${index}`)
}
