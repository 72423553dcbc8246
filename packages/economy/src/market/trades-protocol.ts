/**
 * Orders by gossip and the agreement of a trade (`tally/market/trades/1`): a maker pushes its
 * signed order to its peers; a node that learns a new order keeps it in its order book and pushes
 * it on, once, to the peers it was told of or that spoke the protocol; a taker asks the maker to
 * trade (`take`), and the maker agrees or refuses with a reason. The instalments are ordinary
 * transfers in each community's chains, paid by the parties' wallets (trade.ts's state machine
 * says who pays what next); this protocol carries the listing and the agreement only.
 *
 *   kind     body                                                         max bytes  cost  reply
 *   order    [order]                                                            400     4  (one-way)
 *   list     [from: uint]                                                        16     2  orders
 *   orders   [[order...] ≤ 128, next | null]                                 60000     1
 *   take     [order digest(32), taker(32), receive(32)]                        110     4  taken
 *   taken    [trade id(32)]                                                      40     1
 *
 *   order = [maker, receive, [give community, amount], [want community, amount], k, expires, signature]
 *
 * Refusals of `take`: 'unknown-order' (not held, or lapsed), 'declined' (the maker's policy),
 * 'bound' (the maker has as many open trades with this taker as it allows). Bounded obligations
 * on the taker's side are its own TradeBook's: it asks only when the trade's largest instalment
 * fits what it allows at stake with that maker.
 * @module
 */
import { DecodeError, RefusedError, equalBytes, toHex, type CborValue, type PeerContext, type Protocol, type ProtocolHandle, type ProtocolHost } from '@tally/core'
import { bytes, fields, kind, list, uint } from '../net/codec.js'
import { MAX_INSTALMENTS, createTrade, orderDigest, verifyOrder, type Order, type Trade } from './trade.js'

/** The protocol's name. */
export const TRADES_PROTOCOL = 'tally/market/trades/1'

/** The trades protocol's messages. */
export type TradeMessages = {
  order: { readonly order: Order }
  list: { readonly from: number }
  orders: { readonly orders: readonly Order[]; readonly next: number | undefined }
  take: { readonly order: Uint8Array; readonly taker: Uint8Array; readonly receive: Uint8Array }
  taken: { readonly trade: Uint8Array }
}

/** The orders a node knows. */
export interface OrderBook {
  /** Keep an order (signature checked, not lapsed by `now`). @returns 'added', 'known', 'invalid', 'lapsed' or 'full' */
  add(order: Order, now: number): 'added' | 'known' | 'invalid' | 'lapsed' | 'full'
  /** The order with this digest. */
  get(digest: Uint8Array): Order | undefined
  /** Orders between two communities (either way round when `either`), not lapsed by `now`, the best rate for the taker first. */
  find(query: { give: Uint8Array; want: Uint8Array; now: number }): Order[]
  /** Every order held. */
  all(): Order[]
  /** Forget lapsed orders. @returns how many */
  prune(now: number): number
  readonly size: number
}

/**
 * An order book.
 * @param options limits: orders in all (default 100,000), per maker (default 64)
 * @returns the book
 */
export function createOrderBook(options: { maxOrders?: number; maxPerMaker?: number } = {}): OrderBook {
  const max = options.maxOrders ?? 100_000
  const perMaker = options.maxPerMaker ?? 64
  const orders = new Map<string, Order>()
  const count = new Map<string, number>()
  return {
    add(order, now) {
      if (!verifyOrder(order)) return 'invalid'
      if (order.expires < now) return 'lapsed'
      const d = toHex(orderDigest(order))
      if (orders.has(d)) return 'known'
      const m = toHex(order.maker)
      if (orders.size >= max || (count.get(m) ?? 0) >= perMaker) return 'full'
      orders.set(d, order)
      count.set(m, (count.get(m) ?? 0) + 1)
      return 'added'
    },
    get: (digest) => (digest instanceof Uint8Array ? orders.get(toHex(digest)) : undefined),
    find({ give, want, now }) {
      return [...orders.values()]
        .filter((o) => o.expires >= now && equalBytes(o.give.community, give) && equalBytes(o.want.community, want))
        .sort((a, b) => a.want.amount / a.give.amount - b.want.amount / b.give.amount)
    },
    all: () => [...orders.values()],
    prune(now) {
      let n = 0
      for (const [d, o] of orders) {
        if (o.expires >= now) continue
        orders.delete(d)
        const m = toHex(o.maker)
        count.set(m, (count.get(m) ?? 1) - 1)
        n++
      }
      return n
    },
    get size() {
      return orders.size
    },
  }
}

/** Options of createTradeDesk. */
export interface TradeDeskOptions {
  host: ProtocolHost
  book: OrderBook
  /** The node's clock (ms). */
  now: () => number
  /** Whom to push orders to besides the peers that spoke the protocol. */
  peers?: () => readonly Uint8Array[]
  /** As a maker: the timeout after which a trade's waiting side may cancel (default 60 s). */
  timeoutMs?: number
  /** As a maker: whether to trade this order with this taker (default: yes). */
  accept?: (order: Order, taker: Uint8Array) => boolean
  /** As a maker: open trades allowed with one taker (default 4). */
  maxOpenPerTaker?: number
  /** As a maker: told of each trade it agreed to (the caller runs its instalments). */
  onTrade?: (trade: Trade) => void
}

/** A node's trading desk: orders by gossip, takes and their agreements. */
export interface TradeDesk {
  /** Push an own order to peers (kept in the book first). */
  publish(order: Order): void
  /** Pull a peer's orders into the book. @returns orders newly kept */
  sync(peer: Uint8Array): Promise<number>
  /**
   * As the taker: ask the maker to trade; on its agreement, the trade (the taker pays first).
   * @throws RefusedError with the maker's reason
   */
  take(order: Order, taker: Uint8Array, receive: Uint8Array): Promise<Trade>
  /** Trades this desk agreed to as a maker, open or not. */
  readonly made: readonly Trade[]
  close(): void
}

/**
 * Host the trades protocol.
 * @param options host, book, clock, peers, the maker's policy
 * @returns the desk
 */
export function createTradeDesk(options: TradeDeskOptions): TradeDesk {
  const { book, now } = options
  const timeoutMs = options.timeoutMs ?? 60_000
  const made: Trade[] = []
  const speakers = new Map<string, Uint8Array>()
  const heard = (p: Uint8Array): void => void (speakers.size < 1_024 && speakers.set(toHex(p), p))
  let handle: ProtocolHandle<TradeMessages> | undefined
  const relay = (order: Order, except?: Uint8Array): void => {
    const targets = new Map(speakers)
    for (const k of options.peers?.() ?? []) targets.set(toHex(k), k)
    for (const key of targets.values()) {
      if (handle === undefined || (except !== undefined && equalBytes(key, except))) continue
      handle.peer(key).then((ctx) => ctx.send('order', { order }), () => {})
    }
  }
  const protocol: Protocol<TradeMessages> = {
    name: TRADES_PROTOCOL,
    messages: MESSAGES,
    handlers: {
      order(m, ctx: PeerContext<TradeMessages>) {
        heard(ctx.peer)
        if (book.add(m.order, now()) === 'added') relay(m.order, ctx.peer)
      },
      list(m, ctx: PeerContext<TradeMessages>) {
        heard(ctx.peer)
        const all = book.all()
        return { kind: 'orders', message: { orders: all.slice(m.from, m.from + 128), next: m.from + 128 < all.length ? m.from + 128 : undefined } }
      },
      take(m, ctx: PeerContext<TradeMessages>) {
        const order = book.get(m.order)
        if (order === undefined || order.expires < now()) throw new RefusedError('no such order, or it has lapsed', { reason: 'unknown-order' })
        if (!equalBytes(ctx.peer, m.taker) && !equalBytes(ctx.peer, m.receive)) throw new RefusedError('the session is not the taker\'s', { reason: 'declined' })
        if (options.accept !== undefined && !options.accept(order, m.taker)) throw new RefusedError('the maker declines', { reason: 'declined' })
        const open = made.filter((t) => t.state === 'open' && equalBytes(t.taker, m.taker)).length
        if (open >= (options.maxOpenPerTaker ?? 4)) throw new RefusedError(`${open} trades with this taker are open`, { reason: 'bound' })
        const trade = createTrade(order, m.taker, { receive: m.receive, timeoutMs, now: now() })
        made.push(trade)
        options.onTrade?.(trade)
        return { kind: 'taken', message: { trade: trade.id } }
      },
    },
  }
  handle = options.host.host(protocol)
  return {
    publish(order) {
      book.add(order, now())
      relay(order)
    },
    async sync(peer) {
      if (handle === undefined) return 0
      const ctx = await handle.peer(peer)
      heard(peer)
      let from: number | undefined = 0
      let kept = 0
      for (let pages = 0; from !== undefined && pages < 1_000; pages++) {
        const reply: { kind: string; message: unknown } = await ctx.request('list', { from })
        if (reply.kind !== 'orders') break
        const page = reply.message as TradeMessages['orders']
        for (const o of page.orders) if (book.add(o, now()) === 'added') kept++
        from = page.next
      }
      return kept
    },
    async take(order, taker, receive) {
      if (handle === undefined) throw new RefusedError('the desk is closed', { reason: 'closed' })
      const trade = createTrade(order, taker, { receive, timeoutMs, now: now() })
      const reply: { kind: string; message: unknown } = await (await handle.peer(order.maker)).request('take', { order: orderDigest(order), taker, receive })
      if (reply.kind !== 'taken' || !equalBytes((reply.message as TradeMessages['taken']).trade, trade.id)) throw new RefusedError('the maker answered with another trade', { reason: 'protocol' })
      return trade
    },
    made,
    close() {
      handle?.close()
      handle = undefined
    },
  }
}

// ## Codecs

const orderValue = (o: Order): CborValue => [o.maker, o.receive, [o.give.community, o.give.amount], [o.want.community, o.want.amount], o.k, o.expires, o.signature]
function orderFrom(v: CborValue | undefined, what: string): Order {
  const [maker, receive, give, want, k, expires, signature] = fields(v ?? null, 7, what)
  const [gc, ga] = fields(give ?? null, 2, `${what}.give`)
  const [wc, wa] = fields(want ?? null, 2, `${what}.want`)
  const order: Order = {
    maker: bytes(maker, `${what}.maker`, 32), receive: bytes(receive, `${what}.receive`, 32),
    give: { community: bytes(gc, `${what}.give.community`, 32), amount: uint(ga, `${what}.give.amount`) },
    want: { community: bytes(wc, `${what}.want.community`, 32), amount: uint(wa, `${what}.want.amount`) },
    k: uint(k, `${what}.k`, MAX_INSTALMENTS), expires: uint(expires, `${what}.expires`), signature: bytes(signature, `${what}.signature`, 64),
  }
  if (order.k < 1 || order.give.amount < order.k || order.want.amount < order.k) throw new DecodeError(`${what}: k must be 1 to either amount`)
  return order
}

const MESSAGES: Protocol<TradeMessages>['messages'] = Object.freeze({
  order: kind<TradeMessages['order']>(400, 4, (m) => [orderValue(m.order)], (b) => ({ order: orderFrom(fields(b, 1, 'order')[0], 'order') })),
  list: kind<TradeMessages['list']>(16, 2, (m) => [m.from], (b) => ({ from: uint(fields(b, 1, 'list')[0], 'list.from') })),
  orders: kind<TradeMessages['orders']>(60_000, 1, (m) => [m.orders.map(orderValue), m.next ?? null], (b) => {
    const [os, next] = fields(b, 2, 'orders')
    return { orders: list(os, 'orders', 128, (x, what) => orderFrom(x, what)), next: next === null ? undefined : uint(next, 'orders.next') }
  }),
  take: kind<TradeMessages['take']>(110, 4, (m) => [m.order, m.taker, m.receive], (b) => {
    const [o, t, r] = fields(b, 3, 'take')
    return { order: bytes(o, 'take.order', 32), taker: bytes(t, 'take.taker', 32), receive: bytes(r, 'take.receive', 32) }
  }),
  taken: kind<TradeMessages['taken']>(40, 1, (m) => [m.trade], (b) => ({ trade: bytes(fields(b, 1, 'taken')[0], 'taken.trade', 32) })),
})
