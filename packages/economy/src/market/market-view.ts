/**
 * The market view: the offers a node knows, searchable by component type, price and seller
 * reputation. Offers and their ends arrive as blocks (by gossip, from any peer): each is checked
 * alone — the seller's signature and the payload's form — before it is kept, and within limits per
 * seller and in total, so a peer cannot fill a node with listings. Withdrawn offers (their `last`
 * epoch passed) and expired ones (`until` passed) drop out of `active` and `search`, and `prune`
 * forgets them.
 * @module
 */
import { equalBytes, toHex, verifyBlock, type HalfBlock } from '@tally/core'
import type { Community } from '../community.js'
import { epochAt } from '../config.js'
import { OFFER_END, offerView, readOfferEnd, type OfferView } from './offer.js'
import type { Record, Reputation } from './reputation.js'

/** Options of createMarketView. */
export interface MarketViewOptions {
  community: Community
  /** Reputation shown beside offers (default: none, every seller 0.5). */
  reputation?: Reputation
  /** Offers kept in all (default 100,000). */
  maxOffers?: number
  /** Offers kept per seller (default 64). */
  maxPerSeller?: number
}

/** What `add` and `end` did. */
export type ListingResult = 'added' | 'known' | 'invalid' | 'full' | 'unknown-offer'

/** One row of a search. */
export interface Listing {
  readonly offer: OfferView
  /** The last epoch served, when the seller ended the offer. */
  readonly last: number | undefined
  readonly reputation: Record
}

/** A search. */
export interface MarketQuery {
  /** The epoch the offers must be on offer in. */
  readonly epoch: number
  /** Only offers on this component type. */
  readonly type?: string
  /** At most this price per cycle. */
  readonly maxPrice?: number
  /** At least this reputation score. */
  readonly minScore?: number
  /** Rows returned at most (default 100). */
  readonly limit?: number
}

/** The offers a node knows. */
export interface MarketView {
  /** Keep an offer block (its signature and form checked here). */
  add(block: HalfBlock): ListingResult
  /** Keep an offer-end block, for an offer held here (its signature, form and notice checked here). */
  end(block: HalfBlock): ListingResult
  /** The offer with this id. */
  get(id: Uint8Array): Listing | undefined
  /** Offers on offer in `epoch` (from ≤ epoch < until, not ended before it). */
  active(epoch: number): OfferView[]
  /** Offers matching the query, cheapest first, then best reputation. */
  search(query: MarketQuery): Listing[]
  /** Forget offers that expired or ended before `epoch`. @returns how many */
  prune(epoch: number): number
  /** Every offer block held, then every offer-end block (what a peer syncing from us needs). */
  blocks(): HalfBlock[]
  readonly size: number
}

/**
 * A market view.
 * @param options community, reputation, limits
 * @returns the view
 * @example const view = createMarketView({ community, reputation }); view.add(offerBlock); view.search({ epoch, type: 'gateway', maxPrice: 50 })
 */
export function createMarketView(options: MarketViewOptions): MarketView {
  const { community } = options
  if (community === undefined) throw new TypeError('"community" is required')
  const maxOffers = options.maxOffers ?? 100_000
  const maxPerSeller = options.maxPerSeller ?? 64
  const offers = new Map<string, { offer: OfferView; last?: number; end?: HalfBlock }>()
  const bySellerSeq = new Map<string, string>()
  const perSeller = new Map<string, number>()
  const rep = (seller: Uint8Array): Record => options.reputation?.of(seller) ?? { passed: 0, failed: 0, score: 0.5 }
  const listing = (e: { offer: OfferView; last?: number }): Listing => Object.freeze({ offer: e.offer, last: e.last, reputation: rep(e.offer.seller) })
  const on = (e: { offer: OfferView; last?: number }, epoch: number): boolean => epoch >= e.offer.from && epoch < e.offer.until && (e.last === undefined || epoch <= e.last)

  return {
    add(block) {
      const offer = offerView(block, community.crypto)
      if (offer === undefined || !verifyBlock(block, community.crypto)) return 'invalid'
      const id = toHex(offer.id)
      if (offers.has(id)) return 'known'
      const seller = toHex(offer.seller)
      if (offers.size >= maxOffers || (perSeller.get(seller) ?? 0) >= maxPerSeller) return 'full'
      offers.set(id, { offer })
      bySellerSeq.set(`${seller}:${offer.seq}`, id)
      perSeller.set(seller, (perSeller.get(seller) ?? 0) + 1)
      return 'added'
    },
    end(block) {
      const p = block?.type === OFFER_END ? readOfferEnd(block.payload) : undefined
      if (p === undefined || !verifyBlock(block, community.crypto)) return 'invalid'
      const id = bySellerSeq.get(`${toHex(block.publicKey)}:${p.offer}`)
      const e = id === undefined ? undefined : offers.get(id)
      if (e === undefined || !equalBytes(e.offer.seller, block.publicKey) || block.seq <= e.offer.seq) return 'unknown-offer'
      // the notice the offer promised (offer.ts's 'offer-end-notice'): an end without it is not kept
      if (p.last < Math.min(epochAt(community.current, block.timestamp) + e.offer.notice, e.offer.until - 1)) return 'invalid'
      if (e.last !== undefined && e.last <= p.last) return 'known'
      e.last = p.last
      e.end = block
      return 'added'
    },
    get(id) {
      const e = id instanceof Uint8Array ? offers.get(toHex(id)) : undefined
      return e === undefined ? undefined : listing(e)
    },
    active(epoch) {
      return [...offers.values()].filter((e) => on(e, epoch)).map((e) => e.offer)
    },
    search(query) {
      const rows = [...offers.values()]
        .filter((e) => on(e, query.epoch) && (query.type === undefined || e.offer.type === query.type) && (query.maxPrice === undefined || e.offer.price <= query.maxPrice))
        .map(listing)
        .filter((l) => query.minScore === undefined || l.reputation.score >= query.minScore)
      rows.sort((a, b) => a.offer.price - b.offer.price || b.reputation.score - a.reputation.score)
      return rows.slice(0, query.limit ?? 100)
    },
    prune(epoch) {
      let n = 0
      for (const [id, e] of offers) {
        if (epoch >= e.offer.until || (e.last !== undefined && epoch > e.last)) {
          offers.delete(id)
          const seller = toHex(e.offer.seller)
          bySellerSeq.delete(`${seller}:${e.offer.seq}`)
          perSeller.set(seller, (perSeller.get(seller) ?? 1) - 1)
          n++
        }
      }
      return n
    },
    blocks() {
      const all = [...offers.values()]
      return [...all.map((e) => e.offer.block), ...all.flatMap((e) => (e.end === undefined ? [] : [e.end]))]
    },
    get size() {
      return offers.size
    },
  }
}
