/**
 * Rendezvous scores: deterministic choices of peers from a chain position (key, seq), so that every
 * honest node that learns a block at (key, seq) sends it the same way, and two conflicting blocks at
 * one (key, seq) meet.
 *
 * Two uses:
 * - `witnessScore` chooses witnesses for witness mode. It is SHA-256 based, so nobody can make a
 *   key that wins a chosen (key, seq) without grinding a hash:
 *
 *     witnessScore(key, seq, w) = SHA-256(tag ‖ key ‖ uint64be(seq) ‖ w),  tag = canonical CBOR
 *                                 text "tally/v1/witness-choice" (the layout of core's domainTag)
 *     witnesses(key, seq, k)    = the k keys of the witness set with the highest scores (bytes
 *                                 compared big-endian; ties impossible for distinct keys)
 *
 * - the push ring routes pushed blocks: a block goes to the peers whose `ringPosition` is nearest
 *   its `slotWord` (two-hop.ts picks them from a node's neighbours and theirs). Both are 32-bit
 *   integer mixes (murmur3's finalizer) of the first 8 bytes of a key and the seq: cheap, uniform
 *   and deterministic; they need no resistance to grinding, because a peer that games its
 *   position only attracts more blocks to check.
 * @module
 */
import { compareBytes, concatBytes, encodeCanonical, type CryptoProvider } from '@tally/core'

const WITNESS_TAG = encodeCanonical('tally/v1/witness-choice')

/**
 * The witness score of `witness` for the block at (key, seq).
 * @param key the chain's owner (32 bytes)
 * @param seq the position
 * @param witness a witness's key (32 bytes)
 * @param crypto provider for SHA-256
 * @returns 32 bytes; higher (big-endian) wins
 */
export function witnessScore(key: Uint8Array, seq: number, witness: Uint8Array, crypto: CryptoProvider): Uint8Array {
  const seqBytes = new Uint8Array(8)
  new DataView(seqBytes.buffer).setBigUint64(0, BigInt(seq))
  return crypto.sha256(concatBytes(WITNESS_TAG, key, seqBytes, witness))
}

/**
 * The k witnesses of (key, seq): rendezvous hashing over the witness set, so every node that knows
 * the same set picks the same witnesses, and adding or removing one witness moves only the slots
 * it wins or held.
 * @param key the chain's owner
 * @param seq the position
 * @param witnesses the witness set (duplicates are counted once)
 * @param k how many to choose
 * @param crypto provider for SHA-256
 * @returns up to k keys, best first
 * @throws RangeError when k is not a positive integer
 * @example const [w1, w2, w3] = chooseWitnesses(alice, 7, community.witnesses, 3, crypto)
 */
export function chooseWitnesses(key: Uint8Array, seq: number, witnesses: readonly Uint8Array[], k: number, crypto: CryptoProvider): Uint8Array[] {
  if (!Number.isSafeInteger(k) || k < 1) throw new RangeError(`"k" expected a positive integer, got ${String(k)}`)
  const seen = new Set<string>()
  const scored: { key: Uint8Array; score: Uint8Array }[] = []
  for (const w of witnesses) {
    const id = String.fromCharCode(...w)
    if (seen.has(id)) continue
    seen.add(id)
    scored.push({ key: w, score: witnessScore(key, seq, w, crypto) })
  }
  scored.sort((a, b) => compareBytes(b.score, a.score))
  return scored.slice(0, k).map((s) => s.key)
}

/** The two 32-bit words of a key that ringPosition uses (its first 8 bytes). */
export function keyWords(key: Uint8Array): readonly [number, number] {
  return [word(key, 0), word(key, 4)]
}

/**
 * The slot word of (key, seq): computed once per block, then mixed with each neighbour's words.
 * @param key the chain's owner
 * @param seq the position
 * @returns a 32-bit unsigned integer
 */
export function slotWord(key: Uint8Array, seq: number): number {
  return slotWordOf(word(key, 0), word(key, 4), seq)
}

/**
 * slotWord from the owner's key words (keyWords(key)): the same value, for callers that keep words.
 * @param w0 the owner's first key word
 * @param w1 the owner's second key word
 * @param seq the position
 * @returns a 32-bit unsigned integer
 */
export function slotWordOf(w0: number, w1: number, seq: number): number {
  const lo = seq >>> 0
  const hi = Math.floor(seq / 0x1_0000_0000) >>> 0
  return fmix32(fmix32(w0 ^ Math.imul(lo, 0x9e3779b1)) ^ w1 ^ hi)
}

// ## The push ring
//
// Pushed blocks go to the peers nearest to the block's slot on a ring of 32-bit positions, chosen
// from the pusher's two-hop neighbourhood (its neighbours and theirs: see two-hop.ts). Nearness on
// a ring, unlike a score per (slot, peer), lets a node keep each neighbour's list sorted and find
// the nearest entries by binary search, instead of scoring every entry for every block.

/**
 * A peer's position on the push ring, from its key words (keyWords(key), the first 8 key bytes).
 * @param w0 the peer's first key word
 * @param w1 the peer's second key word
 * @returns a 32-bit unsigned integer
 */
export function ringPosition(w0: number, w1: number): number {
  return fmix32(fmix32(w0 ^ 0x5bd1e995) ^ w1)
}

/**
 * How far a position is from a slot on the ring (the shorter way round).
 * @param slot slotWord(key, seq)
 * @param position ringPosition of a peer
 * @returns 0..2^31
 */
export function ringDistance(slot: number, position: number): number {
  const d = (slot - position) >>> 0
  return d > 0x8000_0000 ? 0x1_0000_0000 - d : d
}

/**
 * The index range of a sorted list of positions nearest to a slot: the binary-search point, from
 * which the nearest entries lie within `count` steps each way (the list wraps round).
 * @param sorted positions in ascending order
 * @param slot the slot
 * @returns the index of the first position >= slot (sorted.length when none)
 */
export function ringSearch(sorted: Uint32Array, slot: number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid]! < slot) lo = mid + 1
    else hi = mid
  }
  return lo
}

// ## Private helpers

// murmur3's 32-bit finalizer: every input bit affects every output bit
function fmix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

function word(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0
}
