/**
 * The Merkle tree: domain-tagged leaves and nodes, every leaf provable for every size, proofs that
 * fail on any other leaf, index, count or root, the odd node promoted (never duplicated), and the
 * allocation leaf layout.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { sha256 } from '@noble/hashes/sha2.js'
import { DecodeError, concatBytes, domainTag, equalBytes } from '@tally/core'
import {
  allocationLeaf,
  allocationLeaves,
  buildMerkleTree,
  decodeMerkleProof,
  emptyRoot,
  encodeMerkleProof,
  hashLeaf,
  verifyMerkleProof,
} from '@tally/economy'
import { alice, throwsLike } from './helpers.ts'

const leavesOf = (n: number): Uint8Array => concatBytes(...Array.from({ length: n }, (_, i) => hashLeaf(Uint8Array.of(i, i >> 8))))
/** BIP-340-style tag prefix: SHA-256(tag) twice, one full block. */
const P = (name: 'merkle-leaf' | 'merkle-node') => concatBytes(sha256(domainTag(name)), sha256(domainTag(name)))
const node = (l: Uint8Array, r: Uint8Array) => sha256(concatBytes(P('merkle-node'), l, r))

const Layout = suite('merkle: layout')

Layout('leaf and node hashes are SHA-256 over their tag prefixes', () => {
  const data = Uint8Array.of(1, 2, 3)
  assert.equal(hashLeaf(data), sha256(concatBytes(P('merkle-leaf'), data)))
  assert.equal(emptyRoot(), sha256(P('merkle-node')))
  const [a, b, c] = [0, 1, 2].map((i) => hashLeaf(Uint8Array.of(i, 0)))
  assert.equal(buildMerkleTree(concatBytes(a!, b!)).root, node(a!, b!))
  // three leaves: the third is promoted unchanged, not paired with itself
  assert.equal(buildMerkleTree(concatBytes(a!, b!, c!)).root, node(node(a!, b!), c!))
  assert.equal(buildMerkleTree(a!).root, a)
  assert.equal(buildMerkleTree(new Uint8Array(0)).root, emptyRoot())
})

Layout('allocation leaf: owner ‖ amount as u64 big-endian', () => {
  const amount = 2 ** 40 + 5
  const data = concatBytes(alice.publicKey, Uint8Array.of(0, 0, 1, 0, 0, 0, 0, 5))
  assert.equal(allocationLeaf(alice.publicKey, amount), hashLeaf(data))
  assert.equal(allocationLeaves(concatBytes(alice.publicKey, alice.publicKey), [1, amount]).subarray(32), hashLeaf(data))
  throwsLike(() => allocationLeaf(alice.publicKey, -1), RangeError)
  throwsLike(() => allocationLeaves(alice.publicKey, [1, 2]), RangeError, /64 bytes/)
})

Layout('property: the fast hashing agrees with @noble/hashes on random trees and allocation rows', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })), { minLength: 1, maxLength: 20 }), (rows) => {
      const owners = concatBytes(...rows.map(([o]) => o))
      const leaves = allocationLeaves(owners, rows.map(([, a]) => a))
      const expected = rows.map(([o, a]) => {
        const amount = new Uint8Array(8)
        new DataView(amount.buffer).setBigUint64(0, BigInt(a))
        return sha256(concatBytes(P('merkle-leaf'), o, amount))
      })
      if (!equalBytes(leaves, concatBytes(...expected))) return false
      // the root, recomputed the slow way
      let level: Uint8Array[] = expected
      while (level.length > 1) {
        const next: Uint8Array[] = []
        for (let i = 0; i + 1 < level.length; i += 2) next.push(node(level[i]!, level[i + 1]!))
        if (level.length % 2 === 1) next.push(level[level.length - 1]!)
        level = next
      }
      return equalBytes(buildMerkleTree(leaves).root, level[0]!)
    }),
  )
})

Layout('a duplicated last leaf gives another root (no CVE-2012-2459)', () => {
  const three = leavesOf(3)
  const four = concatBytes(three, three.subarray(64, 96))
  assert.not.equal(buildMerkleTree(three).root, buildMerkleTree(four).root)
})

const Proofs = suite('merkle: proofs')

Proofs('every leaf of every tree up to 40 leaves proves, with the expected length', () => {
  for (let n = 1; n <= 40; n++) {
    const tree = buildMerkleTree(leavesOf(n))
    for (let i = 0; i < n; i++) {
      const proof = tree.prove(i)
      assert.ok(verifyMerkleProof(tree.leaf(i), proof, n, tree.root), `leaf ${i} of ${n}`)
      assert.ok(proof.siblings.length <= 32 * Math.ceil(Math.log2(n)))
    }
  }
})

Proofs('a proof fails for another leaf, index, count, root or a truncated / padded path', () => {
  const n = 13
  const tree = buildMerkleTree(leavesOf(n))
  const p = tree.prove(6)
  const leaf = tree.leaf(6)
  assert.ok(verifyMerkleProof(leaf, p, n, tree.root))
  assert.not.ok(verifyMerkleProof(tree.leaf(7), p, n, tree.root))
  assert.not.ok(verifyMerkleProof(leaf, { ...p, index: 7 }, n, tree.root))
  // the count sets the path's shape: a count with another shape (here, one more level) fails
  assert.not.ok(verifyMerkleProof(leaf, p, n * 2, tree.root))
  assert.not.ok(verifyMerkleProof(leaf, p, n, leaf))
  assert.not.ok(verifyMerkleProof(leaf, { ...p, siblings: p.siblings.subarray(32) }, n, tree.root))
  assert.not.ok(verifyMerkleProof(leaf, { ...p, siblings: concatBytes(p.siblings, new Uint8Array(32)) }, n, tree.root))
  assert.not.ok(verifyMerkleProof(leaf, { ...p, index: n }, n, tree.root))
  assert.not.ok(verifyMerkleProof(leaf, { index: 6, siblings: null as never }, n, tree.root))
})

Proofs('property: flipping any bit of a proof breaks it', () => {
  const tree = buildMerkleTree(leavesOf(50))
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 49 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (i, at, bit) => {
      const p = tree.prove(i)
      const siblings = Uint8Array.from(p.siblings)
      siblings[at % siblings.length]! ^= 1 << bit
      return verifyMerkleProof(tree.leaf(i), p, 50, tree.root) && !verifyMerkleProof(tree.leaf(i), { index: i, siblings }, 50, tree.root)
    }),
  )
})

Proofs('encoding round trip; malformed proofs refused', () => {
  const tree = buildMerkleTree(leavesOf(9))
  const p = tree.prove(8)
  const again = decodeMerkleProof(encodeMerkleProof(p))
  assert.is(again.index, 8)
  assert.ok(equalBytes(again.siblings, p.siblings))
  throwsLike(() => decodeMerkleProof(Uint8Array.of(0x82, 0x00, 0x41, 0x00)), DecodeError, /32-byte/)
  throwsLike(() => tree.prove(9), RangeError, /index/)
  throwsLike(() => buildMerkleTree(new Uint8Array(33)), RangeError, /multiple of 32/)
})

Layout.run()
Proofs.run()
