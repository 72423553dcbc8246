/**
 * The `transfer` and `burn` block types (FR4).
 *
 * A transfer is a proposal in the sender's chain, { amount, balance }, and an agreement in the
 * receiver's, { amount, balance, senderBalance }: each carries its owner's balance after the
 * block. The agreement's payload is made by the receiver (agreementPayload) from its own latest
 * balance; it repeats the amount and the sender's balance, which is what `matches` compares.
 * A burn is a unilateral { amount, balance } that destroys tokens.
 *
 * Rules (rule codes in quotes): a well-formed payload ('transfer-payload', 'burn-payload'), the
 * right shape of block ('transfer-unilateral': a transfer has a counterparty; 'burn-unilateral':
 * a burn has none), and the balance rule of balance.ts ('balance', 'balance-negative', with a
 * 'balance' fraud proof). Before countersigning, the receiver replays the sender's chain from
 * genesis as its store holds it (shouldSign): every block present, chained, and every balance
 * following — it checks that the sender can pay, not only that the sender says so. Replays are
 * incremental: the next transfer from the same sender replays only the new blocks.
 *
 * Payload version 2 (payload.ts) names the community whose token moves: both halves name the same
 * one ('link-payload' otherwise, through `matches`), each balance is its owner's in that
 * community, and the receiver's agreement is made from its balance there. A transfer in one
 * community never touches a balance in another.
 *
 * An *expiring* transfer (a proposal with `expires`) can come back to its sender (refund.ts):
 * its agreement must carry an accept ticket of k witnesses for exactly that proposal
 * ('transfer-ticket'), which the receiver obtains before countersigning (a `TicketSource` gives
 * it to agreementPayload). A proposal without `expires` takes no ticket.
 * @module
 */
import {
  RefusedError,
  blockHash,
  equalBytes,
  isUnilateral,
  type BlockType,
  type CborValue,
  type HalfBlock,
  type Refusal,
  type TypeContext,
  type TypeVerdict,
} from '@tally/core'
import { BALANCE_FRAUD, balanceOf, checkBalance, proposerCanPay, type ReplayPoint } from './balance.js'
import { fraudKinds } from './fraud-kinds.js'
import type { Community } from './community.js'
import { BURN, TRANSFER, communityField, readBurn, readTransfer, sameCommunity, type TransferPayload } from './payload.js'
import { encodeSignatures } from './quorum.js'
import { checkTicket, type TicketSource } from './ticket.js'
import { violation, type Check } from './util.js'

/** Options of transferType. */
export interface TransferTypeOptions {
  /**
   * The receiver's own policy, asked after the rules passed and the sender's balance was checked
   * (default: accept every valid transfer).
   */
  accept?: (proposal: HalfBlock, amount: number) => boolean | Promise<boolean>
  /** The community, whose witnesses sign the tickets of expiring transfers (without it, expiring transfers are refused). */
  community?: Community
  /** Where this agent finds the accept tickets it obtained, to put them in its agreements. */
  tickets?: TicketSource
}

/**
 * The `transfer` block type. It also registers the 'balance' fraud kind.
 * @param options the receiver's policy
 * @returns the type
 * @example const types = createBlockTypes([transferType(), burnType()])
 */
export function transferType(options: TransferTypeOptions = {}): BlockType {
  // how far each sender's chain was replayed, so the next transfer replays only what is new
  const replayed = new Map<string, ReplayPoint>()
  return Object.freeze({
    name: TRANSFER,
    async validate(block: HalfBlock, ctx: TypeContext): Promise<TypeVerdict> {
      if (isUnilateral(block)) return { errors: [violation('transfer-unilateral', 'a transfer has a counterparty')] }
      const agreement = block.linkSeq > 0
      const payload = readTransfer(block.payload, agreement)
      if (payload === undefined) {
        const shape = agreement ? '{ amount >= 1, balance, senderBalance }' : '{ amount >= 1, balance }'
        return { errors: [violation('transfer-payload', `a transfer ${agreement ? 'agreement' : 'proposal'} payload is ${shape}`)] }
      }
      const delta = agreement ? payload.amount : -payload.amount
      const verdict = await checkBalance(block, { balance: payload.balance, delta }, ctx.store, ctx.previous, ctx.crypto)
      const linked = agreement ? ctx.linked : undefined
      const p = linked === undefined ? undefined : readTransfer(linked.payload, false)
      if (linked === undefined || p === undefined) return verdict
      const ticket = ticketCheck(linked, p, payload, options.community, ctx)
      return ticket.ok ? verdict : { ...verdict, errors: [...verdict.errors, violation('transfer-ticket', ticket.reason)] }
    },
    matches(proposal: HalfBlock, agreement: HalfBlock): boolean {
      const p = readTransfer(proposal.payload, false)
      const a = readTransfer(agreement.payload, true)
      if (p === undefined || a === undefined || p.amount !== a.amount || a.senderBalance !== p.balance || !sameCommunity(p.community, a.community)) return false
      return ticketCheck(proposal, p, a, options.community, undefined).ok
    },
    async agreementPayload(proposal: HalfBlock, ctx: TypeContext): Promise<CborValue> {
      const p = readTransfer(proposal.payload, false)
      if (p === undefined) throw new RefusedError('malformed transfer proposal')
      // the receiver's balance in the proposal's community: the agreement names the same one
      const before = await balanceOf(ctx.store, proposal.linkPublicKey, ctx.crypto, p.community)
      if (before === undefined) throw new RefusedError('own balance unknown: the chain has gaps')
      const balance = before + p.amount
      if (!Number.isSafeInteger(balance)) throw new RefusedError('the balance would pass 2^53 - 1')
      if (p.expires === undefined) return { amount: p.amount, balance, senderBalance: p.balance, ...communityField(p.community) }
      const ticket = await options.tickets?.ticket(blockHash(proposal, ctx.crypto))
      if (ticket === undefined) throw new RefusedError('an expiring transfer is countersigned only with the witnesses\' accept ticket, and none is held', { reason: 'no-ticket' })
      return { amount: p.amount, balance, senderBalance: p.balance, ticket: encodeSignatures(ticket), ...communityField(p.community) }
    },
    async shouldSign(proposal: HalfBlock, ctx: TypeContext): Promise<boolean | Refusal> {
      const p = readTransfer(proposal.payload, false)
      if (p === undefined || p.balance < 0) return { reason: 'malformed', message: 'not a transfer proposal with a non-negative balance' }
      const refusal = await proposerCanPay(proposal, p.amount, p.balance, ctx, replayed, 'sender')
      if (refusal !== undefined) return refusal
      if (options.accept !== undefined && !(await options.accept(proposal, p.amount))) return { reason: 'declined', message: 'the receiver declines' }
      return true
    },
    ...fraudKinds(BALANCE_FRAUD),
  })
}

/**
 * The `burn` block type: a unilateral block that destroys `amount` of its owner's tokens.
 * @returns the type
 * @example await agent.append('burn', { amount: 5, balance: before - 5 })
 */
export function burnType(): BlockType {
  return Object.freeze({
    name: BURN,
    async validate(block: HalfBlock, ctx: TypeContext): Promise<TypeVerdict> {
      const payload = readBurn(block.payload)
      if (payload === undefined) return { errors: [violation('burn-payload', 'a burn payload is { amount >= 1, balance }')] }
      if (!isUnilateral(block)) return { errors: [violation('burn-unilateral', 'a burn is a unilateral block')] }
      return checkBalance(block, { balance: payload.balance, delta: -payload.amount }, ctx.store, ctx.previous, ctx.crypto)
    },
  })
}

// ## Private helpers

/** An agreement carries an accept ticket for its proposal exactly when the proposal expires. */
function ticketCheck(proposal: HalfBlock, p: TransferPayload, a: TransferPayload, community: Community | undefined, ctx: TypeContext | undefined): Check {
  if (p.expires === undefined) return a.ticket === undefined ? { ok: true } : { ok: false, reason: 'an agreement to a transfer without expiry carries no ticket' }
  if (a.ticket === undefined) return { ok: false, reason: 'an agreement to an expiring transfer carries the witnesses\' accept ticket' }
  if (community === undefined) return { ok: false, reason: 'expiring transfers need the community (transferType({ community }))' }
  // the tickets are the named community's witnesses': only this type's community's can be checked here
  if (p.community !== undefined && !equalBytes(p.community, community.id)) return { ok: false, reason: 'an expiring transfer of another community: its witnesses\' ticket cannot be checked here' }
  return checkTicket('accept', blockHash(proposal, ctx?.crypto ?? community.crypto), p.expires, a.ticket, community)
}
