/**
 * Shared blocks: what lets the simulator hold thousands of real nodes in one process. A block that
 * 500 nodes store is, without it, 500 decoded copies (each node decodes the frame it received:
 * fields, key and signature views, cached encoding and hash, its share of a decode slab, ~0.8 KB),
 * and a fraud proof flooded to every node is one decoded proof per node (~1.3 KB). Here each node's
 * store keeps, once the node has checked and committed a block, the process-wide copy of it: the
 * first object stored with those bytes. Nodes still decode, validate and verify what they receive
 * on their own copy, exactly as the real node does; only what they keep afterwards is shared, so
 * a node's store answers every read with a block of the same bytes, hash and signature it would
 * have held. The cost per node is its index entry.
 *
 * Identity of blocks is their whole encoding (signature included), found by the hash's first four
 * bytes; proofs are shared by their id (SHA-256 of their encoding). The shared copies are kept
 * for the life of the simulation (a node that evicts a block drops its index entry only): one
 * copy per distinct block, ~2 per transaction.
 *
 * Simulation only: a store made here is the memory store with its `batch` replaced on the
 * instance; nothing in the node or the memory store changes.
 * @module
 */
import { blockHash, encodeBlock, equalBytes, fraudProofId, toHex, type BlockStore, type CryptoProvider, type FraudProof, type HalfBlock, type StoreBatch } from '@tally/core'

/** The process-wide copies that sharing stores keep. */
export interface SharedBlocks {
  /**
   * The shared copy of `block`: the first block stored with the same encoding, or `block` itself.
   * @param block a block a node committed
   */
  block(block: HalfBlock): HalfBlock
  /**
   * The shared copy of `proof`: the first proof stored with the same id, or `proof` itself.
   * @param proof a proof a node committed
   */
  proof(proof: FraudProof): FraudProof
  /** Blocks and proofs put, and how many of them were a copy already held. */
  readonly stats: { blocks: number; sharedBlocks: number; proofs: number; sharedProofs: number }
}

/**
 * A new set of shared copies (one per simulation).
 * @param crypto the simulation's provider (for hashes and proof ids)
 * @returns the shared copies
 * @example const shared = createSharedBlocks(crypto); const store = sharingStore(createMemoryStore({ crypto }), shared)
 */
export function createSharedBlocks(crypto: CryptoProvider): SharedBlocks {
  // hash prefix → the block, or the blocks, whose hash starts so (a number key: no string a block)
  const blocks = new Map<number, HalfBlock | HalfBlock[]>()
  const proofs = new Map<string, FraudProof>()
  const stats = { blocks: 0, sharedBlocks: 0, proofs: 0, sharedProofs: 0 }
  return {
    stats,
    block(block) {
      stats.blocks++
      const hash = blockHash(block, crypto)
      const prefix = ((hash[0]! << 24) | (hash[1]! << 16) | (hash[2]! << 8) | hash[3]!) >>> 0
      const found = blocks.get(prefix)
      if (found === undefined) {
        blocks.set(prefix, block)
        return block
      }
      const bytes = encodeBlock(block)
      for (const held of Array.isArray(found) ? found : [found]) {
        if (held === block) return block
        if (equalBytes(encodeBlock(held), bytes)) {
          stats.sharedBlocks++
          return held
        }
      }
      if (Array.isArray(found)) found.push(block)
      else blocks.set(prefix, [found, block])
      return block
    },
    proof(proof) {
      stats.proofs++
      const id = toHex(fraudProofId(proof, crypto))
      const held = proofs.get(id)
      if (held === undefined) {
        proofs.set(id, proof)
        return proof
      }
      if (held !== proof) stats.sharedProofs++
      return held
    },
  }
}

/**
 * `store` keeping shared copies: every block and proof put in one of its batches, or committed at
 * once by an agent (the memory store's `commitNow`), is replaced by its shared copy (`shared`)
 * before the commit. The batch's checks (a different block at a taken
 * seq) and everything else are the store's own.
 * @param store a node's store (a memory store)
 * @param shared the simulation's shared copies
 * @returns the same store object
 * @example const store = sharingStore(createMemoryStore({ crypto }), createSharedBlocks(crypto))
 */
export function sharingStore(store: BlockStore, shared: SharedBlocks): BlockStore {
  // an agent commits its own blocks to a memory store at once, through the store's commitNow
  // (core's WRITE_NOW hands out the store itself), not through a batch: share those too
  const memory = store as BlockStore & { commitNow?: (blocks: readonly HalfBlock[], proofs: readonly FraudProof[]) => void }
  const commitNow = memory.commitNow
  if (typeof commitNow === 'function') {
    memory.commitNow = (blocks, proofs) => commitNow.call(store, blocks.map((b) => shared.block(b)), proofs.map((p) => shared.proof(p)))
  }
  const batchOf = store.batch.bind(store)
  store.batch = (): StoreBatch => {
    const inner = batchOf()
    const batch: StoreBatch = {
      put: (block) => (inner.put(shared.block(block)), batch),
      putFraudProof: (proof) => (inner.putFraudProof(shared.proof(proof)), batch),
      commit: () => inner.commit(),
    }
    if (inner.commitOrdered !== undefined) batch.commitOrdered = () => inner.commitOrdered!()
    return batch
  }
  return store
}
