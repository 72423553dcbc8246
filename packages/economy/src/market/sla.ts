/**
 * SLA subscriptions on a wallet: the seller's lock policy, subscribing for a cycle, reading a
 * cycle's certified verdict, and the two redeems that settle it (see sla-terms.ts for the design).
 *
 * What keeps an honest party from ever having more than one cycle at stake: a buyer proposes the
 * next cycle's lock only once the previous cycle's verdict is certified (`cycleVerdict` is not
 * 'pending'), and a seller agrees only to cycles that have not begun; each lock holds one cycle's
 * price or penalty and nothing else. What keeps them from being accused: they redeem only on
 * certified outcomes, once per lock, the whole lock (the lock rules' running totals then add up).
 * @module
 */
import { auint, equalBytes, type CborValue, type HalfBlock } from '@tally/core'
import type { Community } from '../community.js'
import { epochAt } from '../config.js'
import { readLock, type LockView } from '../lock/lock-payload.js'
import type { Wallet } from '../wallet.js'
import type { MarketView } from './market-view.js'
import type { OfferView } from './offer.js'
import type { OutcomeSource } from './outcome.js'
import { SLA, SLA_SETTLE_EPOCHS, readSlaTerms, slaTerms, slaValue } from './sla-terms.js'

/** Options of slaPolicy. */
export interface SlaPolicyOptions {
  community: Community
  /** The seller's key. */
  seller: Uint8Array
  /** Where the seller's own offers (and their ends) are: its market view. */
  view: MarketView
  /** The seller's clock (ms since 1970). */
  now: () => number
  /** Epochs from a cycle's end to its locks' expiry (default SLA_SETTLE_EPOCHS). */
  settle?: number
}

/** A lock policy: the `accept` and `counterLock` options of the lock types. */
export interface LockPolicy {
  accept(proposal: HalfBlock, lock: LockView): boolean
  counterLock(proposal: HalfBlock, lock: LockView): number
}

/**
 * The seller's lock policy: agree to a subscription lock for one of its offers, of the offer's
 * price, for a cycle that has not begun, within the offer and its notice, expiring `settle` epochs
 * after the cycle; lock the offer's penalty beside it. Locks with other terms are accepted without
 * a counter-lock (other markets decide for themselves).
 * @param options community, seller, view, clock, settle
 * @returns the policy, for createEconomyTypes({ lock: { ...policy, authorities } })
 */
export function slaPolicy(options: SlaPolicyOptions): LockPolicy {
  const settle = options.settle ?? SLA_SETTLE_EPOCHS
  const offerOf = (lock: LockView): OfferView | undefined => {
    const terms = readSlaTerms(lock.terms)
    if (terms === undefined || !equalBytes(terms.seller, options.seller) || !equalBytes(lock.beneficiary, options.seller)) return undefined
    const listing = options.view.get(terms.offer)
    if (listing === undefined || listing.offer.seq !== terms.seq) return undefined
    const o = listing.offer
    const end = terms.start + o.cycle
    const now = epochAt(options.community.current, options.now())
    if (lock.amount !== o.price || terms.start < now || terms.start < o.from || end > o.until) return undefined
    if (listing.last !== undefined && end - 1 > listing.last) return undefined
    return lock.expiry === end + settle ? o : undefined
  }
  return Object.freeze({
    accept: (_proposal: HalfBlock, lock: LockView) => readSlaTerms(lock.terms) === undefined || offerOf(lock) !== undefined,
    counterLock: (_proposal: HalfBlock, lock: LockView) => offerOf(lock)?.penalty ?? 0,
  })
}

/**
 * Propose the lock for one cycle of an offer: the buyer's escrow of the offer's price.
 * @param wallet the buyer's wallet
 * @param offer the offer
 * @param start the cycle's first epoch
 * @param settle epochs from the cycle's end to the expiry (default SLA_SETTLE_EPOCHS; the seller's policy must agree)
 * @returns the lock proposal, for the seller to countersign
 * @throws RangeError when the cycle is outside the offer, or the balance is short
 * @example const proposal = await subscribe(buyer, offer, epoch + 1)
 */
export async function subscribe(wallet: Wallet, offer: OfferView, start: number, settle = SLA_SETTLE_EPOCHS): Promise<HalfBlock> {
  auint('start', start)
  if (start < offer.from || start + offer.cycle > offer.until) throw new RangeError(`"start" ${start}: the cycle [${start}, ${start + offer.cycle}) is not within the offer [${offer.from}, ${offer.until})`)
  return wallet.lock({ to: offer.seller, amount: offer.price, expiry: start + offer.cycle + settle, terms: slaTerms(offer, start), propose: true })
}

/** A cycle's verdict from the outcome certificates held. */
export type CycleVerdict = { readonly state: 'passed' } | { readonly state: 'failed'; readonly epoch: number } | { readonly state: 'pending'; readonly epoch: number }

/**
 * The verdict of the cycle starting at `start`: failed at the first epoch certified failed, passed
 * once every epoch is certified passed, else pending on the first epoch without a certificate.
 * @param offer the offer
 * @param start the cycle's first epoch
 * @param outcomes where outcome evidence is (checked when it was kept)
 * @returns the verdict
 */
export function cycleVerdict(offer: OfferView, start: number, outcomes: OutcomeSource): CycleVerdict {
  let pending: number | undefined
  for (let e = start; e < start + offer.cycle; e++) {
    const evidence = outcomes.get(offer.id, e)
    if (evidence === undefined) pending ??= e
    else if (!evidence.passed) return { state: 'failed', epoch: e }
  }
  return pending === undefined ? { state: 'passed' } : { state: 'pending', epoch: pending }
}

/**
 * As the seller, redeem a passed cycle's instalment: the whole of the buyer's lock.
 * @param wallet the seller's wallet (its types know the 'sla' authority)
 * @param escrow the buyer's lock proposal for the cycle
 * @returns the redeem block
 * @throws RangeError when the lock is not an SLA lock for this wallet; InvalidBlockError when the
 *   outcomes held do not certify the cycle passed
 */
export async function redeemInstalment(wallet: Wallet, escrow: HalfBlock | LockView): Promise<HalfBlock> {
  const block = 'block' in escrow ? escrow.block : escrow
  const terms = readSlaTerms(lockTerms(block))
  if (terms === undefined) throw new RangeError('"escrow" is not an SLA lock')
  return wallet.redeem(block, { kind: SLA, value: slaValue({ passed: true, epoch: terms.start, amount: lockAmount(block) }) })
}

/**
 * As the buyer, redeem the seller's penalty for a failed epoch of the cycle.
 * @param wallet the buyer's wallet
 * @param penalty the seller's agreement (its penalty lock)
 * @param epoch the epoch certified failed
 * @returns the redeem block
 * @throws RangeError when there is no penalty to take; InvalidBlockError when the epoch is not certified failed
 */
export async function redeemPenalty(wallet: Wallet, penalty: HalfBlock, epoch: number): Promise<HalfBlock> {
  const amount = lockAmount(penalty)
  if (amount < 1) throw new RangeError('the seller locked no penalty for this cycle')
  return wallet.redeem(penalty, { kind: SLA, value: slaValue({ passed: false, epoch, amount }) })
}

/**
 * Whether a lock is a subscription lock still at stake: its cycle's verdict is pending.
 * @param lock the lock
 * @param offer its offer
 * @param outcomes the outcomes held
 * @returns the amount at stake (0 when decided or not an SLA lock of this offer)
 */
export function atStake(lock: LockView, offer: OfferView, outcomes: OutcomeSource): number {
  const terms = readSlaTerms(lock.terms)
  if (terms === undefined || !equalBytes(terms.offer, offer.id)) return 0
  return cycleVerdict(offer, terms.start, outcomes).state === 'pending' ? lock.amount : 0
}

// ## Private helpers

function lockTerms(block: HalfBlock): CborValue {
  return readLock(block)?.terms ?? null
}

function lockAmount(block: HalfBlock): number {
  return readLock(block)?.amount ?? 0
}
