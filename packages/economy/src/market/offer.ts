/**
 * SLA offers (FR5): a seller lists a service level on its components in its own chain, and ends
 * the listing with a notice period. Both are unilateral blocks that carry no balance.
 *
 *   offer      { type: tstr, components: [bstr(32), 1..16], criteria: [[metric: tstr, op: 'ge'|'le', value: uint], 1..8],
 *                price: uint ≥ 1, cycle: uint ≥ 1, penalty: uint, notice: uint, from: uint, until: uint > from }
 *   offer-end  { offer: uint ≥ 1, last: uint }                              the seller's chain
 *
 * An offer covers `components` of one component `type` (registered to the seller: the witnesses
 * only certify offers whose components are); each epoch it *passes* when every component's summed
 * metric of that epoch meets every criterion (`ge`: at least `value`, `le`: at most), and fails
 * otherwise — a component that sent no report has sums of 0. A subscription runs in cycles of
 * `cycle` epochs; the buyer pays `price` per cycle, the seller stands `penalty` per cycle. The
 * offer is open from epoch `from` to `until` (exclusive): its natural expiry.
 *
 * `offer-end` names the offer by its seq in the same chain and the `last` epoch it serves. Its
 * timestamp's epoch plus the offer's `notice` must not be after `last`: a seller can end a listing
 * but not a cycle its buyers were promised within the notice. An offer's id is its block hash.
 *
 * Rule codes: 'offer-payload', 'offer-unilateral'; 'offer-end-payload', 'offer-end-unilateral',
 * 'offer-end-offer' (the seq is not an earlier offer of this chain), 'offer-end-notice'. None of
 * them accuses anyone: a broken offer is invalid, never fraud (nothing is taken on its strength
 * alone: value moves only through locks, whose rules are lock/lock-type.ts').
 * @module
 */
import { blockHash, isUnilateral, nobleCrypto, type BlockType, type CborValue, type CryptoProvider, type HalfBlock, type TypeContext, type TypeVerdict } from '@tally/core'
import type { Community } from '../community.js'
import { epochAt } from '../config.js'
import { asMap, hasExactKeys, isBytes, isUint, violation } from '../util.js'
import { RELEASE_CERTIFIED_FRAUD, releaseCertifiedVerifier } from './release-certified.js'

/** The block type names of the market. */
export const OFFER = 'offer'
export const OFFER_END = 'offer-end'

/** Limits on an offer. */
export const OFFER_LIMITS: Readonly<{ maxComponents: number; maxCriteria: number; maxNameLength: number }> = Object.freeze({
  maxComponents: 16,
  maxCriteria: 8,
  /** Component type and metric names, in characters. */
  maxNameLength: 32,
})

/** One criterion on a certified metric of one epoch. */
export interface Criterion {
  /** A metric name of the component type. */
  readonly metric: string
  /** 'ge': at least `value`; 'le': at most. */
  readonly op: 'ge' | 'le'
  readonly value: number
}

/** An offer's payload. */
export interface OfferPayload {
  /** The component type the offer covers. */
  readonly type: string
  /** Component keys (32 bytes each), all of `type`, all the seller's. */
  readonly components: readonly Uint8Array[]
  readonly criteria: readonly Criterion[]
  /** Units the buyer pays per passed cycle. */
  readonly price: number
  /** Epochs per cycle. */
  readonly cycle: number
  /** Units the seller stands per cycle, the buyer's on a failed cycle. */
  readonly penalty: number
  /** Epochs of notice the seller gives before ending the offer. */
  readonly notice: number
  /** First epoch on offer. */
  readonly from: number
  /** The offer's expiry: the first epoch no longer on offer. */
  readonly until: number
}

/** An offer as markets see it. */
export interface OfferView extends OfferPayload {
  readonly block: HalfBlock
  readonly seller: Uint8Array
  readonly seq: number
  /** The offer id: the block's hash. */
  readonly id: Uint8Array
}

/** An offer-end payload. */
export interface OfferEndPayload {
  /** The offer's seq in the same chain. */
  readonly offer: number
  /** The last epoch served. */
  readonly last: number
}

/**
 * Read an offer payload.
 * @param payload a block's payload
 * @returns the fields, or undefined when malformed
 * @example const o = readOffer(block.payload)
 */
export function readOffer(payload: CborValue): OfferPayload | undefined {
  const m = asMap(payload)
  if (m === undefined || !hasExactKeys(m, ['type', 'components', 'criteria', 'price', 'cycle', 'penalty', 'notice', 'from', 'until'])) return undefined
  const { type, components, criteria, price, cycle, penalty, notice, from, until } = m
  if (!isName(type) || !isUint(price) || price < 1 || !isUint(cycle) || cycle < 1 || !isUint(penalty) || !isUint(notice) || !isUint(from) || !isUint(until) || until <= from) return undefined
  if (!Array.isArray(components) || components.length < 1 || components.length > OFFER_LIMITS.maxComponents || !components.every((c) => isBytes(c, 32))) return undefined
  if (!Array.isArray(criteria) || criteria.length < 1 || criteria.length > OFFER_LIMITS.maxCriteria) return undefined
  const read: Criterion[] = []
  for (const c of criteria as CborValue[]) {
    if (!Array.isArray(c) || c.length !== 3) return undefined
    const [metric, op, value] = c as CborValue[]
    if (!isName(metric) || (op !== 'ge' && op !== 'le') || !isUint(value)) return undefined
    read.push({ metric, op, value })
  }
  return { type, components: components as Uint8Array[], criteria: read, price, cycle, penalty, notice, from, until }
}

/**
 * The payload value of an offer (what Market.offer appends).
 * @param offer the fields
 * @returns the canonical map
 * @throws TypeError / RangeError when a field is malformed
 * @example agent.append(OFFER, offerPayload({ type: 'gateway', components: [gw], ... }))
 */
export function offerPayload(offer: OfferPayload): CborValue {
  const value: CborValue = {
    type: offer?.type,
    components: [...(offer.components ?? [])],
    criteria: (offer.criteria ?? []).map((c) => [c.metric, c.op, c.value]),
    price: offer.price,
    cycle: offer.cycle,
    penalty: offer.penalty,
    notice: offer.notice,
    from: offer.from,
    until: offer.until,
  }
  if (readOffer(value) === undefined) {
    throw new RangeError(`"offer" is malformed: type and metric names of 1-${OFFER_LIMITS.maxNameLength} characters, 1-${OFFER_LIMITS.maxComponents} 32-byte components, 1-${OFFER_LIMITS.maxCriteria} criteria [metric, 'ge'|'le', uint], price >= 1, cycle >= 1, penalty, notice, from < until`)
  }
  return value
}

/**
 * Read an offer-end payload.
 * @param payload a block's payload
 * @returns the fields, or undefined when malformed
 */
export function readOfferEnd(payload: CborValue): OfferEndPayload | undefined {
  const m = asMap(payload)
  if (m === undefined || !hasExactKeys(m, ['offer', 'last'])) return undefined
  const { offer, last } = m
  return isUint(offer) && offer >= 1 && isUint(last) ? { offer, last } : undefined
}

/**
 * An offer block as markets see it.
 * @param block a block
 * @param crypto provider for its hash (default nobleCrypto)
 * @returns the view, or undefined unless it is a well-formed unilateral `offer` block
 * @example const offer = offerView(block)
 */
export function offerView(block: HalfBlock, crypto: CryptoProvider = nobleCrypto): OfferView | undefined {
  if (block?.type !== OFFER || !isUnilateral(block)) return undefined
  const p = readOffer(block.payload)
  return p === undefined ? undefined : Object.freeze({ ...p, block, seller: block.publicKey, seq: block.seq, id: blockHash(block, crypto) })
}

/**
 * The `offer` and `offer-end` block types.
 * @param community the community (its configuration dates an offer-end's notice)
 * @returns the two types, with the fraud kind 'release-certified' (release-certified.ts)
 * @example createBlockTypes([...economyTypes(opts), ...offerTypes(community)])
 */
export function offerTypes(community: Community): BlockType[] {
  if (community === undefined) throw new TypeError('"community" is required')
  const offer: BlockType = Object.freeze({
    name: OFFER,
    // the market's fraud kind rides on the offer type: a node that knows offers verifies it
    fraudKinds: Object.freeze({ [RELEASE_CERTIFIED_FRAUD]: releaseCertifiedVerifier(community) }),
    validate(block: HalfBlock): TypeVerdict {
      if (readOffer(block.payload) === undefined) return { errors: [violation('offer-payload', 'an offer payload is { type, components, criteria, price >= 1, cycle >= 1, penalty, notice, from, until > from }')] }
      if (!isUnilateral(block)) return { errors: [violation('offer-unilateral', 'an offer is a unilateral block')] }
      return { errors: [] }
    },
  })
  const end: BlockType = Object.freeze({
    name: OFFER_END,
    async validate(block: HalfBlock, ctx: TypeContext): Promise<TypeVerdict> {
      const p = readOfferEnd(block.payload)
      if (p === undefined) return { errors: [violation('offer-end-payload', 'an offer-end payload is { offer: seq, last: epoch }')] }
      if (!isUnilateral(block)) return { errors: [violation('offer-end-unilateral', 'an offer-end is a unilateral block')] }
      if (p.offer >= block.seq) return { errors: [violation('offer-end-offer', `seq ${p.offer} is not an earlier block of this chain`)] }
      const held = p.offer === block.seq - 1 && ctx.previous !== undefined ? ctx.previous : await ctx.store.get(block.publicKey, p.offer)
      if (held === undefined) return { errors: [] } // partial view: the offer is not known here
      const o = held.type === OFFER ? readOffer(held.payload) : undefined
      if (o === undefined) return { errors: [violation('offer-end-offer', `the block at seq ${p.offer} is not an offer`)] }
      const config = community.current
      const now = epochAt(config, block.timestamp)
      if (p.last < Math.min(now + o.notice, o.until - 1)) return { errors: [violation('offer-end-notice', `the offer gives ${o.notice} epochs of notice: dated in epoch ${now}, it serves at least until ${Math.min(now + o.notice, o.until - 1)}`)] }
      return { errors: [] }
    },
  })
  return [offer, end]
}

// ## Private helpers

function isName(x: unknown): x is string {
  return typeof x === 'string' && x.length >= 1 && x.length <= OFFER_LIMITS.maxNameLength
}
