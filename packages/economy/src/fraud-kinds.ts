/**
 * How the reward, transfer and refund types register their fraud kinds ('reward-claim', 'balance',
 * 'refund-twice'), and how their rules reach a kind's verifier (to keep only proofs that verify
 * alone). In Node, the verifiers themselves, at once; browsers get fraud-kinds.browser.ts instead
 * (the package's `browser` field), which names the kinds and loads the verifiers on demand.
 * @module
 */
import type { BlockType, FraudVerifier } from '@tally/core'
import { economyFraudVerifiers } from './fraud-verifiers.js'

/**
 * The verifier of one of these kinds.
 * @param kind 'balance', 'reward-claim' or 'refund-twice'
 * @returns the verifier (in browsers, once loaded)
 * @internal
 */
export function fraudVerifier(kind: string): FraudVerifier | Promise<FraudVerifier> {
  return verifierOf(kind)
}

/**
 * A type's members registering these kinds with their verifiers.
 * @param kinds the kinds
 * @returns `fraudKinds` (in browsers, `fraudKindsOnDemand`)
 * @internal
 */
export function fraudKinds(...kinds: string[]): Pick<BlockType, 'fraudKinds' | 'fraudKindsOnDemand'> {
  return { fraudKinds: Object.freeze(Object.fromEntries(kinds.map((k) => [k, verifierOf(k)]))) }
}

function verifierOf(kind: string): FraudVerifier {
  const verify = economyFraudVerifiers()[kind]
  if (verify === undefined) throw new RangeError(`no economy fraud kind "${kind}"`)
  return verify
}
