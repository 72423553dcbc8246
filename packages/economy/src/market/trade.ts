/**
 * Trades between two communities' tokens by incremental settlement (XChange, seed 002): instead of
 * exchanging V_A for V_B at once, the trade is cut into k instalments per side that alternate —
 * the risk-taker (the taker, who asked) pays its first instalment, the maker answers with its
 * first, and so on — so at any moment the value one side has paid and not yet been answered for is
 * one instalment, at most ⌈V/k⌉. A party refuses a trade whose instalment, added to what it already
 * has at stake with that counterparty, passes its bound (bounded obligations), and may cancel when
 * the counterparty has not moved for the timeout: it then loses at most the one instalment it paid
 * last.
 *
 * Each instalment is an ordinary `transfer` of its own community's token, in that community's
 * chains; the trade record ties them: instalment i of each side names the transfer block's hash.
 * A trader holds one chain per community (see the README: balances per community inside one chain
 * need every economy block to name its community, a format change not made here).
 *
 * Order layout (signed by the maker, so fixed here):
 *
 *   body  = canonical CBOR ['trade-order', maker: bstr(32), receive: bstr(32), give: [community: bstr(32), amount: uint],
 *                           want: [community: bstr(32), amount: uint], k: uint, expires: uint (ms)]
 *   order = [...body fields, signature: bstr(64)]   signature = Ed25519 by maker over SHA-256(domainTag('statement') ‖ body)
 *
 * A trade's id is the hash of the order's digest and the taker's two keys (the one that pays in the
 * want community, the one that receives in the give community).
 * @module
 */
import { abytes, auint, encodeCanonical, equalBytes, nobleCrypto, signThen, toHex, type CryptoProvider, type SignResult, type SigningKey } from '@tally/core'
import { isBytes, isUint, taggedHash } from '../util.js'

/** One side of an order: a community's token and an amount of it. */
export interface TradeLeg {
  /** The community id. */
  readonly community: Uint8Array
  readonly amount: number
}

/** What a maker offers to trade. */
export interface OrderBody {
  /** The maker's key in the `give` community: it signs the order and pays the maker's instalments. */
  readonly maker: Uint8Array
  /** The maker's key in the `want` community, where the taker's instalments go. */
  readonly receive: Uint8Array
  /** What the maker gives. */
  readonly give: TradeLeg
  /** What the maker wants for it. */
  readonly want: TradeLeg
  /** Instalments per side, 1 to 1,000. */
  readonly k: number
  /** When the order lapses (ms since 1970). */
  readonly expires: number
}

/** A signed order. */
export interface Order extends OrderBody {
  readonly signature: Uint8Array
}

/** Most instalments per side. */
export const MAX_INSTALMENTS = 1_000

/**
 * Sign an order as its maker.
 * @param key the maker's key
 * @param body the order
 * @param crypto provider (default nobleCrypto)
 * @returns the order
 * @throws TypeError / RangeError on a malformed field
 */
export function signOrder<K extends SigningKey>(key: K, body: OrderBody, crypto: CryptoProvider = nobleCrypto): SignResult<K, Order> {
  const digest = orderDigest(body, crypto)
  if (!equalBytes(key.publicKey, body.maker)) throw new RangeError('"key" is not the maker\'s')
  return signThen(key, digest, (signature): Order => Object.freeze({ ...body, signature }))
}

/**
 * Check an order's signature and form.
 * @param order the order
 * @param crypto provider
 * @returns true iff the maker signed exactly this order
 */
export function verifyOrder(order: Order, crypto: CryptoProvider = nobleCrypto): boolean {
  try {
    return isBytes(order?.signature, 64) && crypto.verify(order.signature, orderDigest(order, crypto), order.maker)
  } catch {
    return false
  }
}

/** The digest an order's signature covers. */
export function orderDigest(body: OrderBody, crypto: CryptoProvider = nobleCrypto): Uint8Array {
  abytes('maker', body?.maker, 32)
  abytes('receive', body.receive, 32)
  abytes('give.community', body.give?.community, 32)
  abytes('want.community', body.want?.community, 32)
  auint('give.amount', body.give.amount, 1)
  auint('want.amount', body.want.amount, 1)
  auint('k', body.k, 1, MAX_INSTALMENTS)
  auint('expires', body.expires)
  if (body.k > body.give.amount || body.k > body.want.amount) throw new RangeError('"k" must not exceed either amount: every instalment moves at least one unit')
  return taggedHash('statement', crypto, encodeCanonical(['trade-order', body.maker, body.receive, [body.give.community, body.give.amount], [body.want.community, body.want.amount], body.k, body.expires]))
}

/**
 * The k instalments of `total`: instalment i is ⌊(i+1)·total/k⌋ − ⌊i·total/k⌋, so every prefix of
 * j instalments is within one unit of its exact share j·total/k (front-loading the remainder
 * would not be: a side could be ahead by nearly k/4 units mid-trade).
 * @param total the amount
 * @param k instalments
 * @returns the amounts, summing to total
 */
export function instalments(total: number, k: number): number[] {
  auint('total', total, 1)
  auint('k', k, 1, MAX_INSTALMENTS)
  if (k > total) throw new RangeError(`"k" ${k} exceeds "total" ${total}: every instalment moves at least one unit`)
  // total ≤ 2^53 and k ≤ 1000: (i+1)·total may pass 2^53, so split into quotient and remainder
  const q = Math.floor(total / k)
  const r = total % k
  const share = (i: number): number => i * q + Math.floor((i * r) / k)
  return Array.from({ length: k }, (_, i) => share(i + 1) - share(i))
}

/** Who moves. */
export type TradeSide = 'taker' | 'maker'

/** The next payment a trade expects. */
export interface Due {
  readonly payer: TradeSide
  /** Instalment index, 0 to k - 1. */
  readonly index: number
  readonly amount: number
}

/** A trade in progress, as either side tracks it. */
export interface Trade {
  readonly id: Uint8Array
  readonly order: Order
  /** The taker's key in the want community (it pays the taker's instalments). */
  readonly taker: Uint8Array
  /** The taker's key in the give community (the maker's instalments go there). */
  readonly receive: Uint8Array
  /** What each side has paid so far, in its own token. */
  readonly paid: Readonly<Record<TradeSide, number>>
  /** Transfer block hashes tying each instalment to the trade. */
  readonly receipts: Readonly<Record<TradeSide, readonly Uint8Array[]>>
  /** 'open', 'done', or 'cancelled' by one side. */
  readonly state: 'open' | 'done' | 'cancelled'
  /** The next payment, while open. */
  due(): Due | undefined
  /**
   * Record a payment (the transfer was made and agreed).
   * @throws RangeError when it is not the payment due
   */
  pay(side: TradeSide, amount: number, receipt: Uint8Array, now: number): void
  /**
   * What `side` has paid and not been answered for, in its own token: 0 or one instalment.
   */
  atStake(side: TradeSide): number
  /**
   * Cancel as `side`: allowed when the other side is due and has not moved for the timeout.
   * @returns what `side` loses (the instalment it paid that was not answered, or 0)
   * @throws RangeError when it is not allowed yet
   */
  cancel(side: TradeSide, now: number): number
}

/**
 * A trade from an order and its taker.
 * @param order the maker's order
 * @param taker the taker's key in the want community
 * @param options receive (the taker's key in the give community), timeout (ms without a move before the waiting side may cancel), now
 * @returns the trade, taker to pay first
 * @throws RangeError when the order does not verify or has lapsed
 */
export function createTrade(order: Order, taker: Uint8Array, options: { receive: Uint8Array; timeoutMs: number; now: number; crypto?: CryptoProvider }): Trade {
  const crypto = options.crypto ?? nobleCrypto
  if (!verifyOrder(order, crypto)) throw new RangeError('"order" is not signed by its maker')
  abytes('taker', taker, 32)
  abytes('receive', options.receive, 32)
  if (equalBytes(taker, order.maker)) throw new RangeError('"taker" is the maker')
  if (options.now > order.expires) throw new RangeError('the order has lapsed')
  const plan: Record<TradeSide, number[]> = { taker: instalments(order.want.amount, order.k), maker: instalments(order.give.amount, order.k) }
  const paid: Record<TradeSide, number> = { taker: 0, maker: 0 }
  const receipts: Record<TradeSide, Uint8Array[]> = { taker: [], maker: [] }
  let state: Trade['state'] = 'open'
  let last = options.now
  const id = crypto.sha256(encodeCanonical(['trade', orderDigest(order, crypto), taker, options.receive]))
  const due = (): Due | undefined => {
    if (state !== 'open') return undefined
    const t = receipts.taker.length
    const m = receipts.maker.length
    if (m === order.k) return undefined
    // the risk-taker first: the taker pays instalment i, then the maker answers it
    return t === m ? { payer: 'taker', index: t, amount: plan.taker[t]! } : { payer: 'maker', index: m, amount: plan.maker[m]! }
  }
  return {
    id,
    order,
    taker,
    receive: Uint8Array.from(options.receive),
    paid,
    receipts,
    get state() {
      return state
    },
    due,
    pay(side, amount, receipt, now) {
      const d = due()
      if (d === undefined || d.payer !== side || d.amount !== amount) throw new RangeError(`the payment due is ${d === undefined ? 'none' : `${d.payer} ${d.amount} (instalment ${d.index})`}, not ${side} ${amount}`)
      abytes('receipt', receipt, 32)
      receipts[side].push(Uint8Array.from(receipt))
      paid[side] += amount
      last = now
      if (receipts.maker.length === order.k) state = 'done'
    },
    atStake(side) {
      const d = due()
      if (state === 'done') return 0
      // the taker has paid instalment i and waits for the maker's: that one is at stake
      if (side === 'taker' && (d?.payer === 'maker' || (state === 'cancelled' && receipts.taker.length > receipts.maker.length))) return plan.taker[receipts.maker.length]!
      return 0
    },
    cancel(side, now) {
      const d = due()
      if (d === undefined) throw new RangeError('the trade is not open')
      if (d.payer === side) throw new RangeError('it is this side\'s turn: pay or walk away, there is nothing to cancel')
      if (now - last < options.timeoutMs) throw new RangeError(`the counterparty has ${options.timeoutMs - (now - last)} ms left`)
      state = 'cancelled'
      return side === 'taker' ? plan.taker[receipts.maker.length]! : 0
    },
  }
}

/** Bounded obligations: what a party allows at stake with each counterparty. */
export interface TradeBook {
  /** Whether a new trade fits: its largest instalment plus what is at stake with that counterparty stays within the bound. */
  allows(counterparty: Uint8Array, instalment: number): boolean
  /** Track an open trade where this party is `side`. */
  open(trade: Trade, side: TradeSide, counterparty: Uint8Array): void
  /** What is at stake with a counterparty across open trades. */
  atStake(counterparty: Uint8Array): number
}

/**
 * A book of open trades with a bound per counterparty.
 * @param bound units at stake allowed with one counterparty (a function for per-counterparty bounds)
 * @returns the book
 */
export function createTradeBook(bound: number | ((counterparty: Uint8Array) => number)): TradeBook {
  const trades = new Map<string, { trade: Trade; side: TradeSide }[]>()
  const limit = typeof bound === 'number' ? () => bound : bound
  const stake = (c: Uint8Array) => (trades.get(toHex(c)) ?? []).reduce((n, t) => n + t.trade.atStake(t.side), 0)
  return {
    allows: (c, instalment) => isUint(instalment) && stake(c) + instalment <= limit(c),
    open(trade, side, c) {
      const list = (trades.get(toHex(c)) ?? []).filter((t) => t.trade.state === 'open')
      list.push({ trade, side })
      trades.set(toHex(c), list)
    },
    atStake: stake,
  }
}
