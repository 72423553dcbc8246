/**
 * The rules of the `refund` block type (refund.ts), in order: 'refund-payload', 'refund-unilateral',
 * 'refund-seq', 'refund-history' (the proposal is not held), the proposal's checks
 * ('refund-proposal', 'refund-community', 'refund-ticket': an expiring transfer of the same amount,
 * voided by the community's witnesses), the balance rule, and one refund per proposal
 * ('refund-twice', with its proof; 'refund-history' when that stretch of the chain is unknown).
 * Loaded on demand (on-demand.ts): a wallet meets refunds only once a transfer was declined or
 * expired.
 * @module
 */
import { blockHash, createFraudProof, equalBytes, isProposal, isUnilateral, type HalfBlock, type RuleViolation, type TypeContext, type TypeVerdict } from '@tally/core'
import { checkBalance } from './balance.js'
import type { Community } from './community.js'
import { REFUND, TRANSFER, readRefund, readTransfer, sameCommunity, type RefundPayload } from './payload.js'
import { REFUND_FRAUD } from './fraud-names.js'
import { checkTicket } from './ticket.js'
import { violation } from './util.js'

/**
 * Validate a refund block.
 * @param block the refund
 * @param ctx the validator's context
 * @param community the community (its witnesses sign void tickets)
 * @returns the broken rules, and the proof when it refunds a proposal twice
 * @internal
 */
export async function validateRefund(block: HalfBlock, ctx: TypeContext, community: Community): Promise<TypeVerdict> {
  const payload = readRefund(block.payload)
  if (payload === undefined) return { errors: [violation('refund-payload', 'a refund payload is { seq >= 1, amount >= 1, balance, ticket }')] }
  if (!isUnilateral(block)) return { errors: [violation('refund-unilateral', 'a refund is a unilateral block')] }
  if (payload.seq >= block.seq) return { errors: [violation('refund-seq', `a refund (seq ${block.seq}) comes after the proposal it refunds (seq ${payload.seq})`)] }
  const errors: RuleViolation[] = []
  const proposal = payload.seq === block.seq - 1 && ctx.previous !== undefined ? ctx.previous : await ctx.store.get(block.publicKey, payload.seq)
  if (proposal === undefined) errors.push(violation('refund-history', `the proposal at seq ${payload.seq} is not held: the refund cannot be checked`))
  else errors.push(...checkProposal(proposal, payload, community, ctx))

  const balance = await checkBalance(block, { balance: payload.balance, delta: payload.amount }, ctx.store, ctx.previous, ctx.crypto)
  errors.push(...balance.errors)
  let fraud = balance.fraud

  const earlier = await earlierRefund(block, payload.seq, ctx)
  if (earlier === 'unknown') {
    errors.push(violation('refund-history', `the chain is not known from the proposal (seq ${payload.seq}) to the refund: one refund per proposal cannot be checked`))
  } else if (earlier !== undefined) {
    errors.push(violation('refund-twice', `the proposal at seq ${payload.seq} was already refunded (seq ${earlier.seq})`))
    fraud ??= createFraudProof(REFUND_FRAUD, [earlier, block])
  }
  return fraud === undefined ? { errors } : { errors, fraud }
}

// ## Private helpers

/** The proposal a refund names: an expiring transfer of the same amount, voided by k witnesses. */
function checkProposal(proposal: HalfBlock, payload: RefundPayload, community: Community, ctx: TypeContext): RuleViolation[] {
  const p = proposal.type === TRANSFER && isProposal(proposal) ? readTransfer(proposal.payload, false) : undefined
  if (p === undefined || p.expires === undefined) return [violation('refund-proposal', `the block at seq ${payload.seq} is not an expiring transfer proposal`)]
  if (p.amount !== payload.amount) return [violation('refund-proposal', `the proposal sent ${p.amount}, the refund claims ${payload.amount}`)]
  if (!sameCommunity(p.community, payload.community)) return [violation('refund-community', 'the refund names another community than the proposal (payload version 2)')]
  const ticket = checkTicket('void', blockHash(proposal, ctx.crypto), p.expires, payload.ticket, community)
  return ticket.ok ? [] : [violation('refund-ticket', ticket.reason)]
}

/**
 * A refund of the same proposal between the proposal and `block`, undefined when there is none,
 * or 'unknown' when the store does not hold that stretch of the chain.
 */
async function earlierRefund(block: HalfBlock, seq: number, ctx: TypeContext): Promise<HalfBlock | undefined | 'unknown'> {
  const last = block.seq - 1
  let expected = seq + 1
  let before: HalfBlock | undefined
  while (expected <= last) {
    const chunk = await ctx.store.range(block.publicKey, { from: expected, to: last, limit: 256 })
    // the draft of an own block is validated before it is stored: its predecessor may be ctx.previous only
    if (chunk.length === 0 && expected === last && ctx.previous?.seq === last) chunk.push(ctx.previous)
    if (chunk.length === 0) return 'unknown'
    for (const b of chunk) {
      if (b.seq !== expected || (before !== undefined && !equalBytes(b.previousHash, blockHash(before, ctx.crypto)))) return 'unknown'
      if (b.type === REFUND && readRefund(b.payload)?.seq === seq) return b
      before = b
      expected++
    }
  }
  return undefined
}
