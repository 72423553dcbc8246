/**
 * The economy's code a wallet loads on demand, as one module: the rules of the lock types
 * (lock/lock-rules.ts), the wallet's lock operations (lock/lock-wallet.ts), in browsers the
 * verifiers of the lock fraud kinds (lock/lock-fraud.ts, channels/channel-fraud.ts), of the
 * 'balance', 'reward-claim' and 'refund-twice' kinds (fraud-verifiers.ts) and the default redeem
 * authorities; the rules of the refund type (refund-rules.ts), met only once a
 * transfer was declined or expired; and the reward type's rules (reward-rules.ts), met at the
 * first claim or the first sender's chain that holds one. One module for all, because a wallet's first lock call needs
 * the rules anyway (the agent checks the block it makes by them), and each module loaded on demand
 * makes a bundler split what it shares with the start of a page into files of their own (one more
 * file loaded at start, each gzipped alone).
 * @module
 */
import type { FraudVerifier } from '@tally/core'
import type { RedeemAuthority } from './lock/authority.js'
import { defaultAuthorities } from './lock/default-authorities.js'
import { REDEEM_EXCESS_FRAUD } from './fraud-names.js'
import { lockFraudVerifiers } from './lock/lock-fraud.js'
import { lockRules, type LockRules } from './lock/lock-rules.js'
import type { LockTypesOptions } from './lock/lock-type.js'

export { defaultAuthorities }
export { lockOperations } from './lock/lock-wallet.js'
export { validateRefund } from './refund-rules.js'
export { validateReward } from './reward-rules.js'
export { economyFraudVerifiers } from './fraud-verifiers.js'

/**
 * The lock types' rules and fraud verifiers.
 * @param options the lock types' options
 * @param authorities the authorities they were given, by kind (undefined: defaultAuthorities())
 * @returns the rules, and the verifiers by kind
 */
export function lockCode(options: LockTypesOptions, authorities: ReadonlyMap<string, RedeemAuthority> | undefined): { rules: LockRules; verifiers: Readonly<Record<string, FraudVerifier>> } {
  const byKind = authorities ?? new Map(defaultAuthorities().map((a) => [a.kind, a]))
  const verifiers = lockFraudVerifiers([...byKind.values()])
  return { rules: lockRules(options, byKind, verifiers[REDEEM_EXCESS_FRAUD]!), verifiers }
}
