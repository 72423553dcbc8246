/**
 * The verifier of 'balance' fraud (balance.ts's rule), in a module of its own so that a page loads
 * it on demand (fraud-kinds.browser.ts): a wallet that never meets such a proof does not.
 * @module
 */
import { FRAUD_PROOF_LIMITS, blockHash, equalBytes, type FraudVerifier } from '@tally/core'
import { inBucket, isBalanceBlock } from './balance.js'
import { balanceEntry, bucketOf } from './payload.js'

/**
 * The stand-alone verifier of 'balance' fraud: the evidence is a chain segment of one key, from
 * its previous balance block (or from genesis) to a balance block whose balance does not follow,
 * or is negative. The blocks' signatures are checked by core's verifyFraudProof before this.
 * @returns undefined when the evidence proves fraud, else the reason it does not
 */
export const verifyBalanceFraud: FraudVerifier = (blocks, crypto, attachments) => {
  if ((attachments?.length ?? 0) > 0) return 'balance fraud takes no attachments'
  const n = blocks.length
  if (n < 1 || n > FRAUD_PROOF_LIMITS.maxBlocks) return 'balance fraud needs 1 to 16 blocks'
  for (let i = 1; i < n; i++) {
    const a = blocks[i - 1]!
    const b = blocks[i]!
    if (b.seq !== a.seq + 1 || !equalBytes(b.previousHash, blockHash(a, crypto))) return 'the blocks are not consecutive in one chain'
  }
  const last = blocks[n - 1]!
  const entry = isBalanceBlock(last) ? balanceEntry(last) : undefined
  if (entry === undefined) return 'the last block is not a well-formed balance block'
  // balances are per community (payload version 2): only blocks naming the same one count
  const same = inBucket(bucketOf(entry.community))
  let start: number
  let from: number
  const first = blocks[0]!
  if (n >= 2 && same(first)) {
    const e = balanceEntry(first)
    if (e === undefined) return 'the first block is a malformed balance block'
    start = e.balance
    from = 1
  } else {
    if (first.seq !== 1) return 'the segment starts neither at a balance block of the community nor at genesis'
    start = 0
    from = 0
  }
  // (a malformed balance block matches every community: it sits between as well)
  for (let i = from; i < n - 1; i++) if (same(blocks[i]!)) return 'a balance block of the same community sits between the two'
  const expected = start + entry.delta
  return entry.balance !== expected || entry.balance < 0 ? undefined : 'the balance follows'
}
