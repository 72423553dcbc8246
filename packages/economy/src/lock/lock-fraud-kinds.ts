/**
 * How the lock types register their fraud kinds. In Node, with their verifiers (lock-fraud.ts),
 * at once; browsers get lock-fraud-kinds.browser.ts instead (the package's `browser` field), which
 * names the kinds and loads their verifiers with the lock rules, on demand.
 * @module
 */
import type { BlockType, FraudVerifier } from '@tally/core'
import type { RedeemAuthority } from './authority.js'
import { defaultAuthorities } from './default-authorities.js'
import { REDEEM_EXCESS_FRAUD, RELEASE_EXCESS_FRAUD, RELEASE_TWICE_FRAUD, CHANNEL_RELEASE_FRAUD } from '../fraud-names.js'
import { lockFraudVerifiers } from './lock-fraud.js'

/** The fraud kinds of the `redeem` and `release` types, as BlockType members. */
export interface LockFraudKinds {
  readonly redeem: Pick<BlockType, 'fraudKinds' | 'fraudKindsOnDemand'>
  readonly release: Pick<BlockType, 'fraudKinds' | 'fraudKindsOnDemand'>
}

/**
 * The lock types' fraud kinds with their verifiers.
 * @param authorities the authorities the types were given (undefined: the default ones, vouchers and channel receipts)
 * @param _load the verifiers loaded with the rules (what the browser's variant uses)
 * @returns the members for the redeem and release types
 * @internal
 */
export function lockFraudKinds(authorities: readonly RedeemAuthority[] | undefined, _load: () => Promise<Readonly<Record<string, FraudVerifier>>>): LockFraudKinds {
  const verifiers = lockFraudVerifiers(authorities ?? defaultAuthorities())
  const pick = (...kinds: string[]) => Object.freeze(Object.fromEntries(kinds.map((k) => [k, verifiers[k]!])))
  return {
    redeem: { fraudKinds: pick(REDEEM_EXCESS_FRAUD) },
    release: { fraudKinds: pick(RELEASE_EXCESS_FRAUD, RELEASE_TWICE_FRAUD, CHANNEL_RELEASE_FRAUD) },
  }
}
