/**
 * SLA subscriptions as locks. A subscription is settled cycle by cycle: for each cycle the buyer
 * proposes a `lock` of the offer's price to the seller, and the seller's agreement is its own lock
 * of the offer's penalty for the buyer — one transaction, two locks, both with these terms:
 *
 *   terms = ['sla', seller: bstr(32), offer seq: uint, offer id: bstr(32), start: uint]     (≤ 90 bytes)
 *
 * naming the offer and the cycle's first epoch; the cycle is epochs [start, start + offer.cycle).
 * Both locks expire at start + cycle + `settle` epochs (SLA_SETTLE_EPOCHS unless agreed otherwise):
 * the time the certificates take to arrive and the winner to redeem.
 *
 * Value leaves them on the authority of outcome certificates (kind 'sla', value
 * [verdict: 0|1, epoch: uint, amount: uint]):
 * - **passed** (1, start, price): every epoch of the cycle certified passed → the seller redeems
 *   the buyer's lock, the cycle's instalment; the seller releases its penalty lock after the expiry.
 * - **failed** (0, e, penalty): epoch e of the cycle certified failed → the buyer redeems the
 *   seller's penalty lock, and releases its own lock after the expiry; the subscription stops.
 * One slot and one level per lock: a certificate is redeemed at most once (the lock rules'
 * 'redeem-replay').
 *
 * Why a cycle at a time and not all n cycles at once. All-at-once is one round trip for the whole
 * subscription but ties up n × price of the buyer's tokens for n cycles, and puts n cycles at stake
 * on the witnesses' outcome at once: after a failed cycle the rest stays locked until the common
 * expiry (no seller consent can be counted on from the seller who just failed). Cycle by cycle costs
 * one transaction (two blocks, one round trip with the seller online) per cycle, and gives the
 * Fig. 5 semantics directly: neither side ever has more than one cycle's price or penalty whose
 * outcome is undecided; a failed cycle simply is not renewed; a buyer ends by not renewing (the
 * cycle under way completes: that is the buyer's notice). The capital tied up is at most two
 * cycles' worth per subscription (a decided cycle waiting for its expiry, beside the running one).
 * @module
 */
import { equalBytes, type CborValue } from '@tally/core'
import type { AuthorityContext, RedeemAuthority } from '../lock/authority.js'
import type { LockView } from '../lock/lock-payload.js'
import type { Community } from '../community.js'
import { isBytes, isUint } from '../util.js'
import { offerView, type OfferView } from './offer.js'
import type { OutcomeSource } from './outcome.js'
import { outcomeCertificateCache, verifyOutcomeWith } from './outcome.js'

/** The authority kind of SLA outcome certificates. */
export const SLA = 'sla'

/** Epochs after a cycle's last epoch until its locks expire, by default. */
export const SLA_SETTLE_EPOCHS = 2

/** What SLA terms name. */
export interface SlaTerms {
  readonly seller: Uint8Array
  /** The offer's seq in the seller's chain. */
  readonly seq: number
  /** The offer id. */
  readonly offer: Uint8Array
  /** The cycle's first epoch. */
  readonly start: number
}

/**
 * The terms of one cycle's locks.
 * @param offer the offer
 * @param start the cycle's first epoch
 * @returns the CBOR value for the lock's `terms`
 */
export function slaTerms(offer: OfferView, start: number): CborValue {
  return [SLA, offer.seller, offer.seq, offer.id, start]
}

/**
 * Read SLA terms.
 * @param terms a lock's terms
 * @returns the fields, or undefined unless they are SLA terms
 */
export function readSlaTerms(terms: CborValue): SlaTerms | undefined {
  if (!Array.isArray(terms) || terms.length !== 5) return undefined
  const [tag, seller, seq, offer, start] = terms as CborValue[]
  if (tag !== SLA || !isBytes(seller, 32) || !isUint(seq) || seq < 1 || !isBytes(offer, 32) || !isUint(start)) return undefined
  return { seller, seq, offer, start }
}

/** An SLA authority value: [verdict, epoch, amount]. */
export interface SlaVerdict {
  /** True: the cycle passed (epoch = its start); false: epoch `epoch` of it failed. */
  readonly passed: boolean
  readonly epoch: number
  /** The whole lock. */
  readonly amount: number
}

/**
 * The value a redeem carries under kind 'sla'.
 * @param verdict passed, epoch, amount
 * @returns [1|0, epoch, amount]
 */
export function slaValue(verdict: SlaVerdict): CborValue {
  return [verdict.passed ? 1 : 0, verdict.epoch, verdict.amount]
}

/** Read an 'sla' authority value. */
export function readSlaValue(value: CborValue): SlaVerdict | undefined {
  if (!Array.isArray(value) || value.length !== 3) return undefined
  const [v, epoch, amount] = value as CborValue[]
  if ((v !== 0 && v !== 1) || !isUint(epoch) || !isUint(amount) || amount < 1) return undefined
  return { passed: v === 1, epoch, amount }
}

/**
 * The 'sla' redeem authority, backed by outcome certificates: the seller takes the buyer's lock
 * when every epoch of the cycle passed; the buyer takes the seller's penalty lock when one epoch of
 * it failed. The offer block must be held by the validator (it travels with the subscription) and
 * the evidence found in `outcomes` (it travels beside the redeem, as reward evidence does).
 * @param options community (whose witnesses certify), outcomes (where the evidence is)
 * @returns the authority, for createEconomyTypes({ lock: { authorities: [voucherAuthority(), it] } })
 * @example const sla = slaAuthority({ community, outcomes })
 */
export function slaAuthority(options: { community: Community; outcomes: OutcomeSource }): RedeemAuthority {
  const { community, outcomes } = options
  if (community === undefined || outcomes === undefined) throw new TypeError('"community" and "outcomes" are required')
  const verifyCertificate = outcomeCertificateCache(community)
  return Object.freeze({
    kind: SLA,
    read(value: CborValue) {
      const v = readSlaValue(value)
      return v === undefined ? undefined : { slot: 0, level: v.amount }
    },
    async check(value: CborValue, lock: LockView, ctx: AuthorityContext): Promise<string | undefined> {
      const v = readSlaValue(value)
      if (v === undefined) return 'an sla value is [verdict 0|1, epoch, amount >= 1]'
      const terms = readSlaTerms(lock.terms)
      if (terms === undefined) return 'the lock is not an SLA subscription\'s'
      const held = await ctx.store.get(terms.seller, terms.seq)
      const offer = held === undefined ? undefined : offerView(held, ctx.crypto)
      if (offer === undefined || !equalBytes(offer.id, terms.offer)) return 'the offer the lock names is not held here'
      if (v.amount !== lock.amount) return `an SLA redeem takes the whole lock (${lock.amount}), not ${v.amount}`
      const sellerLock = equalBytes(lock.owner, terms.seller)
      if (!sellerLock && !equalBytes(lock.beneficiary, terms.seller)) return 'the lock is neither the seller\'s nor for the seller'
      const end = terms.start + offer.cycle
      if (sellerLock) {
        if (v.passed) return 'the seller\'s penalty is taken on a failed epoch only'
        if (v.epoch < terms.start || v.epoch >= end) return `epoch ${v.epoch} is not in the cycle [${terms.start}, ${end})`
        return certified(offer, v.epoch, false)
      }
      if (!v.passed) return 'the buyer\'s instalment is taken on a passed cycle only'
      if (v.epoch !== terms.start) return `a passed cycle is named by its first epoch ${terms.start}`
      for (let e = terms.start; e < end; e++) {
        const reason = certified(offer, e, true)
        if (reason !== undefined) return reason
      }
      return undefined
    },
  })

  function certified(offer: OfferView, epoch: number, passed: boolean): string | undefined {
    const evidence = outcomes.get(offer.id, epoch)
    if (evidence === undefined) return `no outcome certificate of epoch ${epoch} is held here`
    const check = verifyOutcomeWith(verifyCertificate, offer.id, epoch, evidence)
    if (!check.ok) return `the outcome of epoch ${epoch}: ${check.reason}`
    return evidence.passed === passed ? undefined : `epoch ${epoch} is certified ${evidence.passed ? 'passed' : 'failed'}`
  }
}
