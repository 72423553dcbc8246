/**
 * Fixtures of the lock tests: a community where alice earned 1,000 in epoch 0, block steps for
 * locks, redeems and releases, and vouchers signed by alice. Not a test file itself.
 */
import { blockHash, validate, type BlockTypes, type CborValue, type HalfBlock, type SeedIdentity } from '@tally/core'
import { createEconomyTypes, createEvidenceStore, rewardPayload, signVoucher, voucherValue, type Voucher } from '@tally/economy'
import { alice, certificate, chainOf, component, runEpoch, storeWith, world, type Step } from './helpers.ts'

// alice earns 1000 in epoch 0 (she is the only contributor)
export const w = world([[alice, component(1)]])
export const r0 = runEpoch(w, [[component(1), [60_000, 1]]])
export const cert0 = certificate(r0)
export const evidence = createEvidenceStore(w.community)
evidence.put(alice.publicKey, 1_000, { certificate: cert0, proof: r0.proofFor(alice.publicKey)! })
export const types: BlockTypes = createEconomyTypes({ community: w.community, evidence })
export const verifiers = types.fraudVerifiers()

/** Hourly epochs from T0 (helpers' chainOf dates block s at T0 + s ms: inside epoch 0). */
export const HOUR = 3_600_000

/** Alice's claim of 1,000. */
export const reward: Step = { type: 'reward', payload: rewardPayload({ epoch: 0, amount: 1_000, before: 0, root: cert0.root }) }

/** A unilateral lock of `amount` for `to`, expiring at epoch `expiry` (default 0: releasable at once). */
export function lock(to: Uint8Array, amount: number, balance: number, options: { expiry?: number; terms?: CborValue } = {}): Step {
  return { type: 'lock', payload: { amount, to, terms: options.terms ?? null, expiry: options.expiry ?? 0, balance } }
}

/** A lock proposed to `to` (a transaction). */
export function lockProposal(to: Uint8Array, amount: number, balance: number, options: { expiry?: number; terms?: CborValue } = {}): Step {
  return { type: 'lock', payload: { amount, terms: options.terms ?? null, expiry: options.expiry ?? 0, balance }, link: to }
}

/** A redeem from `lockBlock` on `voucher`. */
export function redeem(lockBlock: HalfBlock, voucher: Voucher, amount: number, redeemed: number, balance: number): Step {
  return { type: 'redeem', payload: { lock: [lockBlock.publicKey, lockBlock.seq, blockHash(lockBlock)], by: ['voucher', voucherValue(voucher)], amount, redeemed, balance } }
}

/** A release of the lock at `seq` of the same chain. */
export function release(seq: number, amount: number, balance: number, consent?: Uint8Array): Step {
  return { type: 'release', payload: consent === undefined ? { lock: seq, amount, balance } : { lock: seq, amount, balance, consent } }
}

/** A voucher of the lock's owner (alice unless given). */
export function voucher(lockBlock: HalfBlock, amount: number, counter: number, owner: SeedIdentity = alice): Voucher {
  return signVoucher(owner, { lock: blockHash(lockBlock), amount, counter })
}

/** Alice's chain: her reward, then `steps`. */
export function aliceChain(...steps: Step[]): HalfBlock[] {
  return chainOf(alice, [reward, ...steps])
}

/** Validate the last block against a store holding the blocks before it and `held`. */
export async function check(blocks: readonly HalfBlock[], held: readonly HalfBlock[] = [], using: BlockTypes = types) {
  return validate(blocks[blocks.length - 1]!, { store: await storeWith([...held, ...blocks.slice(0, -1)]), types: using })
}
