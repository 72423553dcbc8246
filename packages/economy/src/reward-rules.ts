/**
 * The `reward` block type's rules (reward.ts says them), loaded with the first reward validated
 * (through on-demand.ts).
 * @module
 */
import { createFraudProof, isUnilateral, type HalfBlock, type RuleViolation, type TypeContext, type TypeVerdict } from '@tally/core'
import { checkBalance, walkBack } from './balance.js'
import type { RewardEvidence } from './evidence.js'
import { fraudVerifier } from './fraud-kinds.js'
import { REWARD_CLAIM_FRAUD } from './fraud-names.js'
import { REWARD, readReward, type RewardPayload } from './payload.js'
import { LATE_CLAIM_EPOCHS, checkEvidence, type RewardClaims } from './reward.js'
import { violation } from './util.js'

/**
 * Validate a reward block by the type's rules.
 * @param block the reward block
 * @param ctx the validation context
 * @param type the communities the type knows
 * @returns the verdict
 */
export async function validateReward(block: HalfBlock, ctx: TypeContext, type: RewardClaims): Promise<TypeVerdict> {
  const payload = readReward(block.payload)
  if (payload === undefined) return { errors: [violation('reward-payload', 'a reward payload is { epoch, amount >= 1, balance, root (32 bytes), community? (32 bytes) }')] }
  if (!isUnilateral(block)) return { errors: [violation('reward-unilateral', 'a reward is a unilateral block')] }
  const errors: RuleViolation[] = []
  const of = type.known.get(type.claimOf(payload))
  let held: RewardEvidence | undefined
  if (of === undefined) errors.push(violation('reward-community', 'the claim names a community whose certificates are not known here'))
  else {
    try {
      held = await of.evidence.evidence({ owner: block.publicKey, epoch: payload.epoch, root: payload.root, amount: payload.amount })
    } catch {
      held = undefined // a failing source holds nothing we can use: the claim cannot be accepted now
    }
    if (held === undefined) errors.push(violation('reward-evidence', `no certificate and proof held for this claim of ${payload.amount} in epoch ${payload.epoch}`))
    else errors.push(...checkEvidence(block.publicKey, payload, held, of.verified))
  }

  const balance = await checkBalance(block, { balance: payload.balance, delta: payload.amount }, ctx.store, ctx.previous, ctx.crypto)
  errors.push(...balance.errors)
  let fraud = balance.fraud

  const claims = await earlierClaims(block, payload.epoch, ctx, (p) => type.claimOf(p) === type.claimOf(payload))
  if (claims === undefined) {
    errors.push(violation('reward-history', `the chain is not known back to a claim at or below epoch ${payload.epoch - LATE_CLAIM_EPOCHS}: one claim per epoch cannot be checked`))
  } else if (claims.conflict !== undefined) {
    const earlier = claims.conflict
    const what = readReward(earlier.payload)!.epoch === payload.epoch
      ? `epoch ${payload.epoch} was already claimed`
      : `epoch ${payload.epoch} is more than ${LATE_CLAIM_EPOCHS} epochs behind the claim for epoch ${readReward(earlier.payload)!.epoch}`
    errors.push(violation('reward-epoch', `${what} (seq ${earlier.seq})`))
    // a proof only where it verifies alone (see verifyRewardClaimFraud): a version-1 claim and
    // a version-2 claim of this type's community conflict here, provably so when they claim one root
    const proof = createFraudProof(REWARD_CLAIM_FRAUD, [earlier, block])
    if ((await fraudVerifier(REWARD_CLAIM_FRAUD))(proof.blocks, ctx.crypto, proof.attachments) === undefined) fraud ??= proof
  }
  return fraud === undefined ? { errors } : { errors, fraud }
}

/**
 * The earlier claim that a claim of `epoch` in `block` conflicts with, if any, found by walking back
 * to the last reward at or below epoch - LATE_CLAIM_EPOCHS (see rule 4).
 * @returns `{ conflict }` (undefined: no conflict), or undefined when the chain is not known that far
 */
async function earlierClaims(block: HalfBlock, epoch: number, ctx: TypeContext, sameClaim: (p: RewardPayload) => boolean): Promise<{ conflict: HalfBlock | undefined } | undefined> {
  let same: HalfBlock | undefined
  let highest: HalfBlock | undefined
  let highestEpoch = -1
  const walk = await walkBack(
    ctx.store,
    block.publicKey,
    block.seq,
    (b) => {
      if (b.type !== REWARD) return false
      const r = readReward(b.payload)
      if (r === undefined || !sameClaim(r)) return false
      if (r.epoch === epoch) {
        same = b
        return true
      }
      if (r.epoch > highestEpoch) {
        highestEpoch = r.epoch
        highest = b
      }
      return r.epoch <= epoch - LATE_CLAIM_EPOCHS
    },
    ctx.previous,
    ctx.crypto,
  )
  if (walk.status === 'unknown') return undefined
  if (same !== undefined) return { conflict: same }
  return { conflict: highest !== undefined && epoch <= highestEpoch - LATE_CLAIM_EPOCHS ? highest : undefined }
}
