/**
 * The streams service: one `Protocol` (`tally/economy/streams/1`, codec.ts) that a node hosts to
 * take part in the data-stream market in any of its roles —
 *
 * - **everyone** keeps a listing index (listing-index.ts), fed by announcements that spread
 *   through the peers (each new listing or withdrawal passed on to `fanout` peers) and by a
 *   catalog fetched from each peer when its session opens;
 * - a **seller** (the sensor's owner) publishes its sensors' streams (message.ts), answers
 *   purchases with key grants after finding the payment in its own chain (purchase.ts), and
 *   grants each later period's key while the subscription runs;
 * - a **relay** follows a stream from another node, checks every message's signature and chain,
 *   and serves it on — without any key, so it reads nothing;
 * - a **reader** fetches from a position and follows live, from the seller or any relay.
 *
 * Limits on what a peer can ask: fetches of at most 64 messages (and 120 kB) at once, 16 streams
 * followed per peer and 1,024 followers in all, the protocol's body limits and costs (codec.ts),
 * the index's and the message store's bounds. A follower that stops reading is the host's
 * business (its send buffer): pushes to it are dropped and it sees the gap.
 * @module
 */
import {
  RefusedError,
  abytes,
  auint,
  equalBytes,
  nobleCrypto,
  toHex,
  type CryptoProvider,
  type HalfBlock,
  type PeerContext,
  type Protocol,
  type ProtocolHandle,
  type ProtocolHost,
  type SigningKey,
} from '@tally/core'
import { STREAMS_CODECS, STREAMS_LIMITS, STREAMS_PROTOCOL, type StreamsMessages } from './codec.js'
import { openGrant, signGrant, verifyGrant, type KeyGrant } from './grant.js'
import { createListingIndex, type ListingIndex, type ListingIndexOptions, type ListingQuery, type ListingEntry } from './listing-index.js'
import { listingOf, periodAt, type Listing } from './listing.js'
import { createMessageStore, type MessageStore } from './message-store.js'
import { STREAM_GENESIS, createPublisher, verifyMessage, type Published, type Publisher, type StreamMessage, type StreamPosition } from './message.js'
import { verifyPurchase, type PaymentSource, type Purchase } from './purchase.js'
import type { BoxKeyPair } from './seal.js'

type Ctx = PeerContext<StreamsMessages>
type Messages = StreamsMessages['messages']

/** Options of createStreamService. */
export interface StreamServiceOptions {
  /** The node (or test double) that hosts the protocol. */
  readonly host: ProtocolHost
  /** Where payments are found (a seller needs it): transferPayments(node.store, node.publicKey). */
  readonly payments?: PaymentSource
  /**
   * Payment channels (a seller that takes channel receipts): check a buyer's lock for the owner and
   * its voucher, keep the voucher, and give its cumulative amount — the owner's wallet does it:
   * `{ accept: (lock, voucher, history) => wallet.acceptVoucher(lock, voucher, history) }`.
   */
  readonly channels?: { accept(lock: HalfBlock, voucher: Uint8Array, history: readonly HalfBlock[]): Promise<{ readonly amount: number; readonly lock: Uint8Array }> }
  /** Provider for signatures (default nobleCrypto). */
  readonly crypto?: CryptoProvider
  /** The listing index's options, or an index of your own. */
  readonly index?: ListingIndex | ListingIndexOptions
  /** Where served messages are kept (default: memory, 4,096 a stream). */
  readonly messages?: MessageStore
  /** Fetch every peer's catalog when its session opens (default true). */
  readonly syncOnConnect?: boolean
  /** Limits (defaults in brackets). */
  readonly limits?: {
    /** Streams one peer may follow here [16]. */
    readonly maxFollowsPerPeer?: number
    /** Followers in all [1,024]. */
    readonly maxFollowers?: number
    /** Peers a new listing is passed on to [8]. */
    readonly fanout?: number
    /** Catalog pages fetched from one peer [64]. */
    readonly maxCatalogPages?: number
    /** Messages a follow buffers ahead of a gap [256]. */
    readonly maxAhead?: number
  }
}

/** A sensor this node sells. */
export interface SellOptions<K extends SigningKey> {
  /** The sensor's signing key and public key (the listing's `sensor`). */
  readonly sensor: K & { readonly publicKey: Uint8Array }
  /** The stream's 32-byte secret (keep it with the key; every period's key comes from it). */
  readonly secret: Uint8Array
  /** The owner's listing block for it (in this node's chain). */
  readonly listing: HalfBlock
  /** Where to resume publishing (the last head `persist` was given). */
  readonly resume?: StreamPosition & { readonly period?: number }
  /** Make each new head durable before its message leaves (see PublisherOptions.persist). */
  readonly persist?: (head: StreamPosition & { readonly period: number }) => void | Promise<void>
}

/** A subscription as the seller keeps it. */
export interface Subscription {
  readonly buyer: Uint8Array
  readonly recipient: Uint8Array
  /** First period bought. */
  readonly first: number
  /** The period after the last one bought. */
  readonly end: number
  /** The periods bought, as [start, end) ranges in order (a renewal after a lapse leaves a gap). */
  readonly ranges: readonly (readonly [number, number])[]
}

/** A sensor's stream on its seller's node. */
export interface SoldStream {
  readonly sensor: Uint8Array
  readonly listing: Listing
  readonly publisher: Publisher
  /**
   * Publish a reading: encrypt, chain and sign it, keep it, push it to followers.
   * @param plaintext the reading
   * @param time when (default the host's clock): picks the key period
   */
  publish(plaintext: Uint8Array, time?: number): Promise<Published>
  /** The subscriptions sold. */
  subscriptions(): Subscription[]
}

/** A live follow of a stream. */
export interface Follow {
  /** Stop following (tells the server). */
  close(): void
  /** The next seq expected. */
  readonly next: number
}

/** The service. */
export interface StreamService {
  readonly index: ListingIndex
  readonly handle: ProtocolHandle<StreamsMessages>
  /** Add listing or withdrawal blocks and spread them to `fanout` peers (known ones too). @returns how many were new here */
  announce(blocks: readonly HalfBlock[]): number
  /** Search the index. */
  search(query: ListingQuery): ListingEntry[]
  /** Sell a sensor's stream from this node. @throws RangeError when the listing is malformed or not for this sensor */
  sell<K extends SigningKey>(options: SellOptions<K>): SoldStream
  /**
   * Buy: send the purchase to the seller, get the grant, check it and open it.
   * @returns the grant and the period's key
   * @throws RefusedError ('not-paid', 'underpaid', 'payment-used', ...; 'bad-grant' when the answer does not open)
   */
  subscribe(seller: Uint8Array, purchase: Purchase, keys: BoxKeyPair): Promise<{ grant: KeyGrant; key: Uint8Array }>
  /**
   * Buy (or renew) through a payment channel: the purchase names the lock's seq; the voucher is the
   * latest cumulative receipt; `history` the buyer's chain the owner needs the first time.
   * @throws RefusedError as subscribe, and 'bad-receipt' when the owner refuses the lock or voucher
   */
  subscribeByReceipt(seller: Uint8Array, receipt: StreamsMessages['receipt'], keys: BoxKeyPair): Promise<{ grant: KeyGrant; key: Uint8Array }>
  /** Ask for another period's key of a subscription. @throws RefusedError ('lapsed', 'not-paid', 'bad-grant', ...) */
  requestKey(seller: Uint8Array, sensor: Uint8Array, period: number, keys: BoxKeyPair): Promise<{ grant: KeyGrant; key: Uint8Array }>
  /** Fetch messages from a position. */
  fetch(peer: Uint8Array, sensor: Uint8Array, from: number, max?: number): Promise<Messages>
  /**
   * Follow a stream live from a position: `onMessage` gets each message once, in seq order (gaps
   * are fetched); messages are not verified here (the reader does that).
   */
  follow(peer: Uint8Array, sensor: Uint8Array, from: number, onMessage: (message: StreamMessage, from: Uint8Array) => void): Promise<Follow>
  /**
   * Relay a stream: follow it from `upstream`, check each message in its place, keep and serve it.
   * @returns the follow (close it to stop)
   */
  relay(upstream: Uint8Array, sensor: Uint8Array, from?: number): Promise<Follow>
  /** Stop hosting. */
  close(): void
}

/**
 * Host the streams protocol.
 * @param options the host and the roles' needs
 * @returns the service
 * @example const streams = createStreamService({ host: node, payments: transferPayments(node.store, node.publicKey) })
 */
export function createStreamService(options: StreamServiceOptions): StreamService {
  const crypto = options.crypto ?? nobleCrypto
  const index: ListingIndex = isIndex(options.index) ? options.index : createListingIndex({ crypto, ...(options.index ?? {}) })
  const store = options.messages ?? createMessageStore()
  const maxFollowsPerPeer = auint('limits.maxFollowsPerPeer', options.limits?.maxFollowsPerPeer ?? 16, 1)
  const maxFollowers = auint('limits.maxFollowers', options.limits?.maxFollowers ?? 1024, 1)
  const fanout = auint('limits.fanout', options.limits?.fanout ?? 8, 0)
  const maxCatalogPages = auint('limits.maxCatalogPages', options.limits?.maxCatalogPages ?? 64, 0)
  const maxAhead = auint('limits.maxAhead', options.limits?.maxAhead ?? 256, 1)

  // credited: payment key → the amount of it already turned into periods
  interface Sold { stream: SoldStream; sign: (body: Parameters<typeof signGrant>[1]) => Promise<KeyGrant>; subs: Map<string, Subscription>; credited: Map<string, number> }
  const sold = new Map<string, Sold>()
  // server side: sensor hex → peer hex → context
  const followers = new Map<string, Map<string, Ctx>>()
  let followerCount = 0
  // client side: peer hex + sensor hex → the follow's receiver
  const following = new Map<string, (m: Messages) => void>()
  let handle: ProtocolHandle<StreamsMessages>

  // streams relayed here: where each stands (so they are served before their first message)
  const relayed = new Map<string, () => StreamPosition>()
  const rangeOf = (sensor: Uint8Array, from: number, max: number) => {
    const range = store.range(sensor, from, max, STREAMS_LIMITS.maxMessagesBytes - 256)
    if (range !== undefined) return range
    const hex = toHex(sensor)
    const head = sold.get(hex)?.stream.publisher.head ?? relayed.get(hex)?.()
    if (head === undefined) throw new RefusedError('no such stream here', { reason: 'unknown-stream' })
    return { from: head.seq, prev: head.prev, messages: [], head: head.seq }
  }
  // everything served comes from the store, live pushes included
  const push = (sensor: Uint8Array, seq: number): void => {
    const peers = followers.get(toHex(sensor))
    if (peers === undefined) return
    const range = store.range(sensor, seq, 1)
    if (range === undefined || range.messages[0]?.seq !== seq) return
    const body: Messages = { sensor, ...range }
    for (const ctx of peers.values()) ctx.send('messages', body)
  }
  const spread = (blocks: HalfBlock[], except?: Uint8Array): void => {
    if (blocks.length === 0 || fanout === 0) return
    const peers = handle.peers().filter((p) => except === undefined || !equalBytes(p.peer, except))
    shuffle(peers)
    for (const ctx of peers.slice(0, fanout)) {
      for (let i = 0; i < blocks.length; i += STREAMS_LIMITS.maxAnnounce) ctx.send('announce', blocks.slice(i, i + STREAMS_LIMITS.maxAnnounce))
    }
  }
  const take = (blocks: readonly HalfBlock[]): HalfBlock[] => blocks.filter((b) => {
    const r = index.add(b)
    return r === 'added' || r === 'superseded' || r === 'withdrawn'
  })
  const grantFor = async (s: Sold, sub: Subscription, period: number): Promise<KeyGrant> =>
    s.sign({ period, recipient: sub.recipient, from: s.stream.publisher.head, key: s.stream.publisher.periodKey(period) })

  const checkPurchase = (purchase: Purchase, ctx: Ctx): Sold => {
    const s = sold.get(toHex(purchase.sensor))
    if (s === undefined) throw new RefusedError('this node sells no such stream', { reason: 'unknown-stream' })
    if (!equalBytes(purchase.buyer, ctx.peer)) throw new RefusedError('a purchase comes from its buyer', { reason: 'not-buyer' })
    if (!verifyPurchase(purchase, crypto)) throw new RefusedError('the purchase is not signed by its buyer', { reason: 'bad-purchase' })
    const before = s.subs.get(toHex(purchase.recipient))
    if (before !== undefined && !equalBytes(before.buyer, purchase.buyer)) throw new RefusedError('that key belongs to another buyer', { reason: 'not-buyer' })
    return s
  }
  /** Turn what a payment has not yet bought into periods for the purchase's key, and grant the current one. */
  const credit = async (s: Sold, purchase: Purchase, paymentKey: string, amount: number, time: number, now: number): Promise<KeyGrant> => {
    const price = s.stream.listing.price
    const done = s.credited.get(paymentKey) ?? 0
    const periods = Math.floor((amount - done) / price)
    if (periods < 1) {
      throw done > 0
        ? new RefusedError('this payment bought its periods already', { reason: 'payment-used' })
        : new RefusedError(`the payment is below one period's price (${price})`, { reason: 'underpaid' })
    }
    s.credited.set(paymentKey, done + periods * price)
    // the periods bought follow on from the ones before, or start when the payment was made
    const recipient = toHex(purchase.recipient)
    const before = s.subs.get(recipient)
    const paidAt = periodAt(s.stream.listing, time)
    const from = before === undefined ? paidAt : Math.max(before.end, paidAt)
    const ranges = before === undefined ? [] : [...before.ranges]
    const last = ranges.at(-1)
    if (last !== undefined && last[1] === from) ranges[ranges.length - 1] = [last[0], from + periods]
    else ranges.push([from, from + periods])
    const sub: Subscription = Object.freeze({ buyer: purchase.buyer, recipient: purchase.recipient, first: ranges[0]![0], end: from + periods, ranges: Object.freeze(ranges) })
    s.subs.set(recipient, sub)
    const current = periodAt(s.stream.listing, now)
    const period = Math.min(Math.max(current, from), sub.end - 1)
    if (period < current) throw new RefusedError('the periods this payment bought are over', { reason: 'lapsed' })
    return grantFor(s, sub, period)
  }

  const protocol: Protocol<StreamsMessages> = {
    name: STREAMS_PROTOCOL,
    messages: STREAMS_CODECS,
    handlers: {
      announce(blocks, ctx) {
        spread(take(blocks), ctx.peer)
      },
      catalog({ after, max }) {
        const page = index.page(after, max, STREAMS_LIMITS.maxMessagesBytes - 1024)
        return { kind: 'listings', message: { blocks: page.entries.map((e) => e.block), next: page.next } }
      },
      fetch({ sensor, from, max }) {
        return { kind: 'messages', message: { sensor, ...rangeOf(sensor, from, max) } }
      },
      follow({ sensor, from }, ctx) {
        const key = toHex(sensor)
        const range = rangeOf(sensor, from, STREAMS_LIMITS.maxFetch)
        const peer = toHex(ctx.peer)
        let peers = followers.get(key)
        if (peers?.has(peer) !== true) {
          let mine = 0
          for (const p of followers.values()) if (p.has(peer)) mine++
          if (mine >= maxFollowsPerPeer || followerCount >= maxFollowers) throw new RefusedError('too many streams followed', { reason: 'too-many-follows' })
          if (peers === undefined) followers.set(key, (peers = new Map()))
          peers.set(peer, ctx)
          followerCount++
        }
        return { kind: 'messages', message: { sensor, ...range } }
      },
      unfollow(sensor, ctx) {
        const peers = followers.get(toHex(sensor))
        if (peers?.delete(toHex(ctx.peer)) === true) followerCount--
      },
      messages(m, ctx) {
        following.get(`${toHex(ctx.peer)}:${toHex(m.sensor)}`)?.(m)
      },
      async subscribe(purchase, ctx) {
        const s = checkPurchase(purchase, ctx)
        const payment = await options.payments?.payment(purchase.buyer, purchase.payment)
        if (payment === undefined) throw new RefusedError('no payment from the buyer at that seq', { reason: 'not-paid' })
        return { kind: 'grant', message: await credit(s, purchase, `transfer:${toHex(purchase.buyer)}:${purchase.payment}`, payment.amount, payment.time, ctx.clock.now()) }
      },
      async receipt({ purchase, lock, voucher, history }, ctx) {
        const s = checkPurchase(purchase, ctx)
        if (options.channels === undefined) throw new RefusedError('this seller takes no channel receipts', { reason: 'no-channels' })
        if (!equalBytes(lock.publicKey, purchase.buyer) || lock.seq !== purchase.payment) throw new RefusedError('the lock is not the purchase\'s payment', { reason: 'bad-receipt' })
        let accepted: { amount: number }
        try {
          accepted = await options.channels.accept(lock, voucher, history)
        } catch (err) {
          throw new RefusedError(`the receipt does not check out: ${(err as Error)?.message ?? err}`, { reason: 'bad-receipt' })
        }
        // a voucher is cumulative: what it adds over the amount already credited buys periods from now
        const now = ctx.clock.now()
        return { kind: 'grant', message: await credit(s, purchase, `lock:${toHex(purchase.buyer)}:${purchase.payment}`, accepted.amount, now, now) }
      },
      async key({ sensor, period, recipient }, ctx) {
        const s = sold.get(toHex(sensor))
        if (s === undefined) throw new RefusedError('this node sells no such stream', { reason: 'unknown-stream' })
        const sub = s.subs.get(toHex(recipient))
        if (sub === undefined) throw new RefusedError('no subscription for that key', { reason: 'not-paid' })
        if (!equalBytes(sub.buyer, ctx.peer)) throw new RefusedError('a key goes to its buyer', { reason: 'not-buyer' })
        if (period >= sub.end) throw new RefusedError(`the subscription ended with period ${sub.end - 1}`, { reason: 'lapsed' })
        if (!sub.ranges.some(([a, b]) => period >= a && period < b)) throw new RefusedError(`period ${period} was not paid for`, { reason: 'not-paid' })
        const now = periodAt(s.stream.listing, ctx.clock.now())
        if (period > now + 1) throw new RefusedError('keys are granted for this period and the next', { reason: 'too-early' })
        return { kind: 'grant', message: await grantFor(s, sub, period) }
      },
    },
    onPeer(ctx) {
      if (options.syncOnConnect === false || maxCatalogPages === 0) return
      const sleep = (ms: number): Promise<void> => new Promise((resolve) => ctx.clock.setTimeout(resolve, ms))
      void (async () => {
        let after = 0
        for (let page = 0, retries = 0; page < maxCatalogPages; page++) {
          let reply
          try {
            reply = await ctx.request('catalog', { after, max: STREAMS_LIMITS.maxCatalog })
          } catch (err) {
            // a dialler's first request can reach the other side before its session takes
            // requests ('not-found', 'no handler'): try again a little later, a few times
            if ((err as RefusedError).reason !== 'not-found' || ++retries > 3) throw err
            await sleep(100 * retries)
            page--
            continue
          }
          if (reply.kind !== 'listings') return
          spread(take(reply.message.blocks), ctx.peer)
          if (reply.message.next <= after) return
          after = reply.message.next
        }
      })().catch(() => {}) // a peer that does not host the protocol, or left: its listings come by announcements
    },
    onPeerGone(peer) {
      const hex = toHex(peer)
      for (const peers of followers.values()) if (peers.delete(hex)) followerCount--
    },
  }
  handle = options.host.host(protocol)

  const openAnswer = (grant: KeyGrant, sensor: Uint8Array, keys: BoxKeyPair): { grant: KeyGrant; key: Uint8Array } => {
    if (!equalBytes(grant.sensor, sensor) || !equalBytes(grant.recipient, keys.publicKey) || !verifyGrant(grant, crypto)) {
      throw new RefusedError('the grant is not the sensor\'s, or not for this key', { reason: 'bad-grant' })
    }
    const key = openGrant(keys, grant)
    if (key === undefined) throw new RefusedError('the grant does not open with this key', { reason: 'bad-grant' })
    return { grant, key }
  }

  const follow = async (peer: Uint8Array, sensor: Uint8Array, from: number, onMessage: (message: StreamMessage, from: Uint8Array) => void): Promise<Follow> => {
    abytes('peer', peer, 32)
    abytes('sensor', sensor, 32)
    auint('from', from, 1)
    const ctx = await handle.peer(peer)
    const key = `${toHex(peer)}:${toHex(sensor)}`
    let next = from
    let closed = false
    let fetching = false
    const ahead = new Map<number, StreamMessage>()
    const drain = (): void => {
      for (let m = ahead.get(next); m !== undefined && !closed; m = ahead.get(next)) {
        ahead.delete(next)
        next++
        onMessage(m, peer)
      }
      if (ahead.size > 0 && !fetching && !closed) {
        fetching = true
        // a gap: fetch it (the pushes after it wait in `ahead`)
        ctx.request('fetch', { sensor, from: next, max: STREAMS_LIMITS.maxFetch }).then((r) => {
          fetching = false
          if (r.kind === 'messages') receive(r.message)
        }, () => {
          fetching = false
        })
      }
    }
    const receive = (m: Messages): void => {
      if (closed) return
      for (const message of m.messages) {
        if (message.seq < next || ahead.size >= maxAhead) continue
        ahead.set(message.seq, message)
      }
      drain()
    }
    following.set(key, receive)
    const reply = await ctx.request('follow', { sensor, from })
    if (reply.kind === 'messages') receive(reply.message)
    return {
      get next() {
        return next
      },
      close() {
        if (closed) return
        closed = true
        if (following.get(key) === receive) following.delete(key)
        ctx.send('unfollow', sensor)
      },
    }
  }

  const fetchFrom = async (peer: Uint8Array, sensor: Uint8Array, from: number, max: number): Promise<Messages> => {
    const ctx = await handle.peer(peer)
    const reply = await ctx.request('fetch', { sensor, from, max })
    if (reply.kind !== 'messages') throw new RefusedError(`the peer answered ${reply.kind}`, { reason: 'unexpected' })
    return reply.message
  }

  return {
    index,
    handle,
    announce(blocks) {
      // what the caller announces goes out even when this index knew it (its own listings)
      let fresh = 0
      const valid = blocks.filter((b) => {
        const r = index.add(b)
        if (r === 'added' || r === 'superseded' || r === 'withdrawn') fresh++
        return r !== 'invalid' && r !== 'older' && r !== 'full'
      })
      spread(valid)
      return fresh
    },
    search: (query) => index.search(query),
    sell(o) {
      const listing = listingOf(o.listing)
      if (listing === undefined) throw new RangeError('"listing" expected a stream-listing block')
      if (!equalBytes(listing.sensor, o.sensor.publicKey)) throw new RangeError('"listing" names another sensor')
      const publisher = createPublisher({ sensor: o.sensor, secret: o.secret, crypto, ...(o.resume === undefined ? {} : { resume: o.resume }), ...(o.persist === undefined ? {} : { persist: o.persist }) })
      const sensorKey = Uint8Array.from(o.sensor.publicKey)
      const s: Sold = {
        subs: new Map(),
        credited: new Map(),
        sign: async (body) => await (signGrant(o.sensor, body) as KeyGrant | Promise<KeyGrant>),
        stream: {
          sensor: sensorKey,
          listing,
          publisher,
          async publish(plaintext, time = handle.clock.now()) {
            const published = await publisher.publish(plaintext, periodAt(listing, time))
            store.put(sensorKey, published.message, published.hash, published.prev)
            push(sensorKey, published.message.seq)
            return published
          },
          subscriptions: () => [...s.subs.values()],
        },
      }
      sold.set(toHex(sensorKey), s)
      spread(take([o.listing]))
      return s.stream
    },
    async subscribe(seller, purchase, keys) {
      const ctx = await handle.peer(seller)
      const reply = await ctx.request('subscribe', purchase)
      if (reply.kind !== 'grant') throw new RefusedError(`the seller answered ${reply.kind}`, { reason: 'bad-grant' })
      return openAnswer(reply.message, purchase.sensor, keys)
    },
    async subscribeByReceipt(seller, receipt, keys) {
      const ctx = await handle.peer(seller)
      const reply = await ctx.request('receipt', receipt)
      if (reply.kind !== 'grant') throw new RefusedError(`the seller answered ${reply.kind}`, { reason: 'bad-grant' })
      return openAnswer(reply.message, receipt.purchase.sensor, keys)
    },
    async requestKey(seller, sensor, period, keys) {
      const ctx = await handle.peer(seller)
      const reply = await ctx.request('key', { sensor, period, recipient: keys.publicKey })
      if (reply.kind !== 'grant') throw new RefusedError(`the seller answered ${reply.kind}`, { reason: 'bad-grant' })
      if (reply.message.period !== period) throw new RefusedError('the grant is for another period', { reason: 'bad-grant' })
      return openAnswer(reply.message, sensor, keys)
    },
    fetch: (peer, sensor, from, max = STREAMS_LIMITS.maxFetch) => fetchFrom(peer, sensor, from, max),
    follow,
    async relay(upstream, sensor, from = 1) {
      let position: StreamPosition | undefined = store.head(sensor)
      if (position === undefined) {
        // where to start: the genesis, or (joining mid-stream) the upstream's word for the first
        // prev — every later link is checked against the sensor's signature
        const r = await fetchFrom(upstream, sensor, from, 1)
        const prev = r.from === 1 ? STREAM_GENESIS : r.prev
        if (prev === null) throw new RefusedError('the upstream does not know where the stream stands', { reason: 'unavailable' })
        position = { seq: r.from, prev }
      }
      let at = position
      relayed.set(toHex(sensor), () => at)
      const f = await follow(upstream, sensor, at.seq, (message) => {
        if (message.seq !== at.seq) return
        const hash = verifyMessage(sensor, message, at.prev, crypto)
        if (hash === undefined) {
          f.close() // the upstream serves what the sensor did not sign here: stop taking from it
          return
        }
        store.put(sensor, message, hash, at.prev)
        push(sensor, message.seq)
        at = { seq: message.seq + 1, prev: hash }
      })
      return f
    },
    close() {
      for (const key of [...following.keys()]) following.delete(key)
      handle.close()
    },
  }
}

// ## Private helpers

function isIndex(x: unknown): x is ListingIndex {
  return typeof (x as ListingIndex | undefined)?.search === 'function' && typeof (x as ListingIndex).add === 'function'
}

function shuffle<T>(a: T[]): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[a[i], a[j]] = [a[j]!, a[i]!]
  }
}
