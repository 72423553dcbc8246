/**
 * The market's transactions through a node's own transaction path (core's `TransactionPort`: the
 * gossip node's `node.transactions`, with its proposal/agreement messages, the counterparty's
 * policy and, in witness mode, seq witnesses), like ordinary transfers: a subscription cycle's
 * escrow lock (the seller's node countersigns it by its lock policy, with the penalty
 * counter-lock), and a trade's instalment (an ordinary transfer of the payer's community's token,
 * which the receiver's node countersigns). Nothing here talks to the counterparty's wallet
 * directly: the proposal is signed by the wallet's agent — the node's own agent — and delivered.
 *
 * A cycle's SLA instalment itself is the seller's `redeem` on the outcome certificate: a unilateral
 * block (no counterparty signs it), so it needs no transaction (see sla.ts, redeemInstalment).
 * @module
 */
import { blockHash, equalBytes, type HalfBlock, type TransactionPort } from '@tally/core'
import type { Wallet } from '../wallet.js'
import type { OfferView } from './offer.js'
import { subscribe } from './sla.js'
import { SLA_SETTLE_EPOCHS } from './sla-terms.js'
import type { Trade, TradeSide } from './trade.js'

/**
 * As the buyer, lock one cycle's escrow for an offer and have the seller's node countersign it.
 * @param wallet the buyer's wallet, over the agent of the node behind `port`
 * @param port the node's transaction path (`node.transactions`)
 * @param offer the offer
 * @param start the cycle's first epoch
 * @param options settle (default SLA_SETTLE_EPOCHS), timeoutMs for the delivery
 * @returns the escrow (the buyer's proposal) and the seller's agreement (its penalty lock)
 * @throws RangeError as subscribe; RefusedError with the seller's reason; a timeout
 * @example const { escrow, penalty } = await subscribeThrough(buyer, node.transactions, offer, epoch + 1)
 */
export async function subscribeThrough(wallet: Wallet, port: TransactionPort, offer: OfferView, start: number, options: { settle?: number; timeoutMs?: number } = {}): Promise<{ escrow: HalfBlock; penalty: HalfBlock }> {
  const escrow = await subscribe(wallet, offer, start, options.settle ?? SLA_SETTLE_EPOCHS)
  const penalty = await port.deliver(escrow, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs })
  return { escrow, penalty }
}

/**
 * Pay the instalment a trade says is due from `side`: an ordinary transfer of that side's
 * community's token, proposed by `wallet` (the wallet of that community over the node's agent),
 * delivered through the node's transaction path, and recorded in the trade by its hash.
 * @param trade the trade (either side's record)
 * @param side who pays: must be the one due
 * @param wallet the payer's wallet in the community it pays in
 * @param to the key that receives: the order's `receive` when the taker pays, the taker's `receive` when the maker pays
 * @param port the node's transaction path (`node.transactions`)
 * @param now the time to record (ms since 1970)
 * @returns the proposal and the receiver's agreement
 * @throws RangeError when nothing is due from `side`; RefusedError with the receiver's reason; a timeout
 * @example await payInstalment(trade, 'taker', takerBwt, order.receive, node.transactions, Date.now())
 */
export async function payInstalment(trade: Trade, side: TradeSide, wallet: Wallet, to: Uint8Array, port: TransactionPort, now: number): Promise<{ proposal: HalfBlock; agreement: HalfBlock }> {
  const due = trade.due()
  if (due === undefined || due.payer !== side) throw new RangeError(`no instalment is due from the ${side}`)
  const proposal = await wallet.send(to, due.amount)
  const agreement = await port.deliver(proposal)
  if (!equalBytes(agreement.linkPublicKey, proposal.publicKey) || agreement.linkSeq !== proposal.seq) throw new RangeError('the agreement is not for this instalment')
  trade.pay(side, due.amount, blockHash(proposal), now)
  return { proposal, agreement }
}
