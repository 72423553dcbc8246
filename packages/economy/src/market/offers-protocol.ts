/**
 * Offers by gossip (`tally/market/offers/1`): a seller pushes its offer (and later its end) to
 * its peers; a node that learns something new from a push keeps it in its market view and pushes
 * it on, once, to every other peer that speaks the protocol; a node that joins asks a peer for its
 * listing, page by page. A node pushes only to peers it was told of (`peers`: the community
 * witnesses, say) and peers that spoke the protocol to it: a node that does not host it would
 * take the frame as misbehaviour and close the session.
 * Every block is checked alone (signature and form) by the view before it is kept or relayed, and
 * the view's limits bound what a peer can make us hold.
 *
 *   kind     body                                      max bytes  cost  reply
 *   offer    [offer block, offer-end block | null]          4096     4  (one-way)
 *   list     [from: uint]                                      16     2  listing
 *   listing  [[offer or offer-end block...] ≤ 24, next | null]  60000   1
 *
 * Refusal reasons: 'invalid' (a pushed offer whose signature or form is wrong: the sender is
 * charged the push, and nothing is relayed).
 * @module
 */
import { RefusedError, equalBytes, toHex, type HalfBlock, type PeerContext, type Protocol, type ProtocolHandle, type ProtocolHost } from '@tally/core'
import { block, blockValue, fields, kind, list, uint } from '../net/codec.js'
import type { MarketView } from './market-view.js'
import { OFFER, OFFER_END } from './offer.js'

/** The protocol's name. */
export const OFFERS_PROTOCOL = 'tally/market/offers/1'

/** Blocks per listing page. */
const PAGE = 24
const MAX_BLOCK = 2048

/** The offers protocol's messages. */
export type OfferMessages = {
  offer: { readonly offer: HalfBlock; readonly end: HalfBlock | undefined }
  list: { readonly from: number }
  listing: { readonly blocks: readonly HalfBlock[]; readonly next: number | undefined }
}

/** A node's part in spreading offers. */
export interface OfferSpread {
  /** Push an offer (with its end, once ended) to every peer; keep it in the view first. */
  publish(offer: HalfBlock, end?: HalfBlock): void
  /** Pull a peer's listing into the view. @returns blocks newly kept */
  sync(peer: Uint8Array): Promise<number>
  /** Stop hosting the protocol. */
  close(): void
}

/**
 * Host the offers protocol over a market view.
 * @param options host, view, peers (whom to push to besides the peers that spoke the protocol to us)
 * @returns publish, sync, close
 * @throws RangeError when the protocol is hosted already
 * @example const spread = createOfferSpread({ host: node, view }); spread.publish(offerBlock)
 */
export function createOfferSpread(options: { host: ProtocolHost; view: MarketView; peers?: () => readonly Uint8Array[] }): OfferSpread {
  const { view } = options
  let handle: ProtocolHandle<OfferMessages> | undefined
  /** Peers that spoke the protocol to us (bounded: the first 1,024). */
  const speakers = new Map<string, Uint8Array>()
  const heard = (peer: Uint8Array): void => {
    if (speakers.size < 1_024) speakers.set(toHex(peer), peer)
  }
  const keep = (offer: HalfBlock, end: HalfBlock | undefined): boolean => {
    const a = view.add(offer)
    if (a === 'invalid') throw new RefusedError('the offer block does not verify', { reason: 'invalid' })
    const b = end === undefined ? undefined : view.end(end)
    if (b === 'invalid' || b === 'unknown-offer') throw new RefusedError('the offer-end block does not verify or is not of this offer', { reason: 'invalid' })
    return a === 'added' || b === 'added'
  }
  const relay = (offer: HalfBlock, end: HalfBlock | undefined, except?: Uint8Array): void => {
    const targets = new Map(speakers)
    for (const k of options.peers?.() ?? []) targets.set(toHex(k), k)
    for (const key of targets.values()) {
      if (handle === undefined || (except !== undefined && equalBytes(key, except))) continue
      handle.peer(key).then((ctx) => ctx.send('offer', { offer, end }), () => {}) // unreachable: it syncs later
    }
  }
  const protocol: Protocol<OfferMessages> = {
    name: OFFERS_PROTOCOL,
    messages: {
      offer: kind(4096, 4, (m) => [blockValue(m.offer), m.end === undefined ? null : blockValue(m.end)], (body) => {
        const [o, e] = fields(body, 2, 'offer')
        const offer = block(o, 'offer.offer', MAX_BLOCK)
        const end = e === null ? undefined : block(e, 'offer.end', MAX_BLOCK)
        if (offer.type !== OFFER || (end !== undefined && end.type !== OFFER_END)) throw new RangeError('offer carries an offer and, optionally, its offer-end')
        return { offer, end }
      }),
      list: kind(16, 2, (m) => [m.from], (body) => ({ from: uint(fields(body, 1, 'list')[0], 'list.from') })),
      listing: kind(60_000, 1, (m) => [m.blocks.map(blockValue), m.next ?? null], (body) => {
        const [bs, next] = fields(body, 2, 'listing')
        return { blocks: list(bs, 'listing.blocks', PAGE, (x, what) => block(x, what, MAX_BLOCK)), next: next === null ? undefined : uint(next, 'listing.next') }
      }),
    },
    handlers: {
      offer(m, ctx: PeerContext<OfferMessages>) {
        heard(ctx.peer)
        if (keep(m.offer, m.end)) relay(m.offer, m.end, ctx.peer)
      },
      list(m, ctx: PeerContext<OfferMessages>) {
        heard(ctx.peer)
        const all = view.blocks()
        const page = all.slice(m.from, m.from + PAGE)
        return { kind: 'listing', message: { blocks: page, next: m.from + PAGE < all.length ? m.from + PAGE : undefined } }
      },
    },
  }
  handle = options.host.host(protocol)
  return {
    publish(offer, end) {
      keep(offer, end)
      relay(offer, end)
    },
    async sync(peer) {
      if (handle === undefined) return 0
      const ctx = await handle.peer(peer)
      heard(peer)
      let from: number | undefined = 0
      let kept = 0
      for (let pages = 0; from !== undefined && pages < 10_000; pages++) {
        const reply: { kind: string; message: unknown } = await ctx.request('list', { from })
        if (reply.kind !== 'listing') break
        const page = reply.message as OfferMessages['listing']
        // offers first, then ends (a page may hold an end whose offer came on an earlier page)
        for (const b of page.blocks) if (b.type === OFFER && view.add(b) === 'added') kept++
        for (const b of page.blocks) if (b.type === OFFER_END && view.end(b) === 'added') kept++
        from = page.next
      }
      return kept
    },
    close() {
      handle?.close()
      handle = undefined
    },
  }
}
