/**
 * What browsers get for lock-fraud-kinds.ts: the lock types name their fraud kinds at once and load
 * the verifiers with the lock rules (../on-demand.ts) when a proof of one is first verified
 * (core's BlockTypes.loadFraudVerifiers), so a wallet page that never meets a lock's fraud does not
 * load them. Nothing is skipped meanwhile: verifying waits for the load.
 * @module
 */
import type { FraudVerifier } from '@tally/core'
import type { RedeemAuthority } from './authority.js'
import { REDEEM_EXCESS_FRAUD, RELEASE_EXCESS_FRAUD, RELEASE_TWICE_FRAUD, CHANNEL_RELEASE_FRAUD } from '../fraud-names.js'
import type { LockFraudKinds } from './lock-fraud-kinds.js'

/**
 * The lock types' fraud kinds, their verifiers on demand.
 * @param _authorities the authorities the types were given (the loaded verifiers use them)
 * @param load the verifiers, loaded with the rules
 * @returns the members for the redeem and release types
 * @internal
 */
export function lockFraudKinds(_authorities: readonly RedeemAuthority[] | undefined, load: () => Promise<Readonly<Record<string, FraudVerifier>>>): LockFraudKinds {
  const onDemand = (...kinds: string[]) => Object.freeze(Object.fromEntries(kinds.map((k) => [k, async () => (await load())[k]!])))
  return {
    redeem: { fraudKindsOnDemand: onDemand(REDEEM_EXCESS_FRAUD) },
    release: { fraudKindsOnDemand: onDemand(RELEASE_EXCESS_FRAUD, RELEASE_TWICE_FRAUD, CHANNEL_RELEASE_FRAUD) },
  }
}
