/**
 * The verifiers of the 'balance', 'reward-claim' and 'refund-twice' fraud kinds, by kind: what
 * fraud-kinds.ts registers in Node, and what a page loads on demand (on-demand.ts).
 * @module
 */
import type { FraudVerifier } from '@tally/core'
import { verifyBalanceFraud } from './balance-fraud.js'
import { BALANCE_FRAUD, REFUND_FRAUD, REWARD_CLAIM_FRAUD } from './fraud-names.js'
import { verifyRefundFraud } from './refund-fraud.js'
import { verifyRewardClaimFraud } from './reward-fraud.js'

/**
 * The three verifiers, by kind.
 * @returns a fresh record
 * @internal
 */
export function economyFraudVerifiers(): Record<string, FraudVerifier> {
  return { [BALANCE_FRAUD]: verifyBalanceFraud, [REWARD_CLAIM_FRAUD]: verifyRewardClaimFraud, [REFUND_FRAUD]: verifyRefundFraud }
}
