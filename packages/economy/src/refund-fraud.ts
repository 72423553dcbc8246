/**
 * The verifier of 'refund-twice' fraud (refund.ts), in a module of its own so that a page loads it
 * on demand (fraud-kinds.browser.ts): a wallet that never meets such a proof does not.
 * @module
 */
import type { FraudVerifier, HalfBlock } from '@tally/core'
import { REFUND, readRefund } from './payload.js'

/**
 * The stand-alone verifier of 'refund-twice' fraud: two refund blocks of one key, at different
 * seqs, refunding the same proposal seq. (Core checks the signatures and the key first.)
 * @returns undefined when the evidence proves fraud, else the reason it does not
 */
export const verifyRefundFraud: FraudVerifier = (blocks) => {
  if (blocks.length !== 2) return 'refund-twice fraud needs exactly two blocks'
  const [a, b] = blocks as [HalfBlock, HalfBlock]
  if (a.type !== REFUND || b.type !== REFUND) return 'both blocks must be refunds'
  const ra = readRefund(a.payload)
  const rb = readRefund(b.payload)
  if (ra === undefined || rb === undefined) return 'a refund payload is malformed'
  if (a.seq === b.seq) return 'the refunds must be at different seqs'
  return ra.seq === rb.seq ? undefined : 'the refunds name different proposals'
}
