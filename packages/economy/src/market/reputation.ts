/**
 * Reputation: a seller's record of certified outcomes, computed by anyone from outcome evidence —
 * nothing in it is taken on the seller's or a buyer's word. Each (offer, epoch) counts once; the
 * score is the share of passed epochs with one pass and one fail added beforehand (Laplace's rule),
 * so a new seller starts at 0.5 and one lucky epoch is not a perfect record.
 * @module
 */
import { toHex } from '@tally/core'
import type { Community } from '../community.js'
import type { OfferView } from './offer.js'
import { verifyOutcome, type OutcomeEvidence } from './outcome.js'
import type { Check } from '../util.js'

/** A seller's record. */
export interface Record {
  /** Offer-epochs certified passed. */
  readonly passed: number
  /** Offer-epochs certified failed. */
  readonly failed: number
  /** (passed + 1) / (passed + failed + 2). */
  readonly score: number
}

/** Reputation of sellers from certified outcomes. */
export interface Reputation {
  /**
   * Count one certified outcome after checking its evidence.
   * @returns ok (also when counted before), or why the evidence does not count
   */
  record(offer: OfferView, evidence: OutcomeEvidence): Check
  /** A seller's record (an empty one, score 0.5, when nothing is known). */
  of(seller: Uint8Array): Record
}

/**
 * A reputation table.
 * @param community the community whose witnesses certify outcomes
 * @returns the table
 * @example const rep = createReputation(community); rep.record(offer, evidence); rep.of(offer.seller).score
 */
export function createReputation(community: Community): Reputation {
  const counted = new Set<string>()
  const bySeller = new Map<string, { passed: number; failed: number }>()
  return {
    record(offer, evidence) {
      const key = `${toHex(offer.id)}:${evidence?.certificate?.epoch}`
      if (counted.has(key)) return { ok: true }
      const check = verifyOutcome(offer.id, evidence.certificate.epoch, evidence, community)
      if (!check.ok) return check
      counted.add(key)
      const seller = toHex(offer.seller)
      const r = bySeller.get(seller) ?? { passed: 0, failed: 0 }
      if (evidence.passed) r.passed++
      else r.failed++
      bySeller.set(seller, r)
      return check
    },
    of(seller) {
      const r = bySeller.get(toHex(seller)) ?? { passed: 0, failed: 0 }
      return Object.freeze({ ...r, score: (r.passed + 1) / (r.passed + r.failed + 2) })
    },
  }
}
