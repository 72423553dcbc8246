/**
 * The verifier of 'reward-claim' fraud (reward.ts's rule 4), in a module of its own so that a page
 * loads it on demand (fraud-kinds.browser.ts): a wallet that never meets such a proof does not.
 * @module
 */
import { equalBytes, type FraudVerifier, type HalfBlock } from '@tally/core'
import { LATE_CLAIM_EPOCHS } from './reward.js'
import { REWARD, readReward, sameCommunity } from './payload.js'

/**
 * The stand-alone verifier of 'reward-claim' fraud: two reward blocks by one key, the later (by
 * seq) claiming the same epoch as the earlier, or one more than LATE_CLAIM_EPOCHS behind it.
 * @returns undefined when the evidence proves fraud, else the reason it does not
 */
export const verifyRewardClaimFraud: FraudVerifier = (blocks, _crypto, attachments) => {
  if ((attachments?.length ?? 0) > 0) return 'reward-claim fraud takes no attachments'
  if (blocks.length !== 2) return 'reward-claim fraud needs exactly two blocks'
  const [a, b] = blocks as [HalfBlock, HalfBlock]
  if (a.type !== REWARD || b.type !== REWARD) return 'both blocks must be rewards'
  const ra = readReward(a.payload)
  const rb = readReward(b.payload)
  if (ra === undefined || rb === undefined) return 'a reward payload is malformed'
  if (a.seq >= b.seq) return 'the claims must be at different seqs'
  // epochs are per community (payload version 2): claims naming different communities conflict
  // only when they claim the very same certified table (one root, one epoch)
  if (!sameCommunity(ra.community, rb.community)) return rb.epoch === ra.epoch && equalBytes(ra.root, rb.root) ? undefined : 'claims of different communities do not conflict'
  if (rb.epoch === ra.epoch) return undefined
  return rb.epoch <= ra.epoch - LATE_CLAIM_EPOCHS ? undefined : 'a later claim within the window of the earlier is allowed'
}
