/**
 * What browsers get for fraud-kinds.ts: the reward, transfer and refund types name their fraud
 * kinds at once, and the verifiers are loaded with the economy's other on-demand code
 * (on-demand.ts) when a proof of one is first verified (core's BlockTypes.loadFraudVerifiers) or
 * a rule found one to check — a wallet page that never meets fraud does not load them. Nothing is
 * skipped meanwhile: verifying waits for the load (a failed load is tried again at the next use).
 * @module
 */
import type { BlockType, FraudVerifier } from '@tally/core'

/**
 * The verifier of one of these kinds, loaded on demand.
 * @param kind 'balance', 'reward-claim' or 'refund-twice'
 * @returns a promise of the verifier
 * @internal
 */
export async function fraudVerifier(kind: string): Promise<FraudVerifier> {
  const verify = (await import('./on-demand.js')).economyFraudVerifiers()[kind]
  if (verify === undefined) throw new RangeError(`no economy fraud kind "${kind}"`)
  return verify
}

/**
 * A type's members naming these kinds, their verifiers on demand.
 * @param kinds the kinds
 * @returns `fraudKindsOnDemand`
 * @internal
 */
export function fraudKinds(...kinds: string[]): Pick<BlockType, 'fraudKinds' | 'fraudKindsOnDemand'> {
  return { fraudKindsOnDemand: Object.freeze(Object.fromEntries(kinds.map((k) => [k, () => fraudVerifier(k)]))) }
}
