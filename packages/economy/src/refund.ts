/**
 * The `refund` block type: an expiring transfer that the witnesses voided comes back to its
 * sender, with a unilateral block in the sender's own chain.
 *
 *   payload = { seq, amount, balance, ticket }            (see payload.ts, ticket.ts)
 *
 * Rules, in order (rule codes in quotes):
 * 1. the payload is well-formed ('refund-payload'), the block unilateral ('refund-unilateral')
 *    and after the proposal it refunds ('refund-seq');
 * 2. the block at `seq` of the same chain is held ('refund-history') and is an expiring transfer
 *    proposal of exactly `amount` ('refund-proposal');
 * 3. `ticket` is a void ticket of k witnesses for that proposal ('refund-ticket');
 * 4. no refund of the same proposal sits between the proposal and this block: a proposal comes
 *    back once ('refund-twice', with a 'refund-twice' fraud proof of the two refunds). A validator
 *    must hold the chain from the proposal to the refund to accept it ('refund-history'): a refund
 *    adds tokens, so it is never accepted unchecked;
 * 5. the balance is the previous balance plus the amount ('balance', with a 'balance' fraud proof).
 *
 * A receiver's agreement needs an accept ticket for the same proposal (transfer.ts): both tickets
 * exist only if a witness signed both (ticket.ts), so no token is received and refunded at once.
 * @module
 */
import { blockHash, createFraudProof, equalBytes, isProposal, isUnilateral, type BlockType, type FraudVerifier, type HalfBlock, type RuleViolation, type TypeContext, type TypeVerdict } from '@tally/core'
import { checkBalance } from './balance.js'
import type { Community } from './community.js'
import { REFUND, TRANSFER, readRefund, readTransfer, sameCommunity, type RefundPayload } from './payload.js'
import { checkTicket } from './ticket.js'
import { violation } from './util.js'

/** The fraud kind of two refunds of one proposal. */
export const REFUND_FRAUD = 'refund-twice'

/**
 * The `refund` block type.
 * @param options the community (its witnesses sign void tickets)
 * @returns the type, to register with createBlockTypes (economyTypes does)
 * @example const types = createBlockTypes([refundType({ community })])
 */
export function refundType(options: { community: Community }): BlockType {
  const { community } = options ?? {}
  if (community === undefined) throw new TypeError('"community" is required')
  return Object.freeze({
    name: REFUND,
    async validate(block: HalfBlock, ctx: TypeContext): Promise<TypeVerdict> {
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
    },
    fraudKinds: Object.freeze({ [REFUND_FRAUD]: verifyRefundFraud }),
  })
}

/**
 * The stand-alone verifier of 'refund-twice' fraud: two refund blocks of one key, at different
 * seqs, refunding the same proposal seq. (Core checks the signatures and the key first.)
 * @returns undefined when the evidence proves fraud, else the reason it does not
 */
export const verifyRefundFraud: FraudVerifier = (blocks) => {
  if (blocks.length !== 2) return 'refund-twice fraud needs exactly two blocks'
  const [a, b] = blocks as [HalfBlock, HalfBlock]
  if (a.type !== REFUND || b.type !== REFUND) return 'both blocks must be refunds'
  const ra = readRefund(a.payload)
  const rb = readRefund(b.payload)
  if (ra === undefined || rb === undefined) return 'a refund payload is malformed'
  if (a.seq === b.seq) return 'the refunds must be at different seqs'
  return ra.seq === rb.seq ? undefined : 'the refunds name different proposals'
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
