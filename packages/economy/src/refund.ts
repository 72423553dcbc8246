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
import type { BlockType, HalfBlock, TypeContext, TypeVerdict } from '@tally/core'
import type { Community } from './community.js'
import { fraudKinds } from './fraud-kinds.js'
import { REFUND_FRAUD } from './fraud-names.js'
import { REFUND } from './payload.js'

export { REFUND_FRAUD }

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
    // the rules are loaded on the first refund met (on-demand.ts: a wallet whose transfers all
    // went through never loads them); a failed load is tried again at the next refund
    async validate(block: HalfBlock, ctx: TypeContext): Promise<TypeVerdict> {
      const { validateRefund } = await import('./on-demand.js')
      return validateRefund(block, ctx, community)
    },
    ...fraudKinds(REFUND_FRAUD),
  })
}
