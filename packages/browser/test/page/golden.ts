/**
 * What the golden fixture of the IndexedDB format holds: every block and fraud proof of core's own
 * golden vectors (test/vectors/core-v1.json), stored the way an agent stores them.
 */
import { decodeBlock, decodeFraudProof, fromHex, type BlockStore, type FraudProof, type HalfBlock } from '@tally/core'
import vectors from '../../../../test/vectors/core-v1.json' with { type: 'json' }

/** core-v1's blocks, in file order (a fork among them). */
export const vectorBlocks: HalfBlock[] = vectors.blocks.map((v) => decodeBlock(fromHex(v.encoded)))

/** core-v1's fraud proofs. */
export const vectorProofs: FraudProof[] = vectors.fraudProofs.map((v) => decodeFraudProof(fromHex(v.encoded)))

/**
 * Store every vector block, one batch each (a block whose slot is taken, the fork, is refused as
 * any store refuses it), then every proof in one batch.
 * @returns the blocks that were stored
 */
export async function writeVectors(store: BlockStore): Promise<HalfBlock[]> {
  const stored: HalfBlock[] = []
  for (const block of vectorBlocks) {
    try {
      await store.batch().put(block).commit()
      stored.push(block)
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_CONFLICT') throw err
    }
  }
  const batch = store.batch()
  for (const proof of vectorProofs) batch.putFraudProof(proof)
  await batch.commit()
  return stored
}
