/**
 * Data streams from the browser wallet (@tally/economy/streams, seed 003): find listings, buy a
 * stream — by a transfer to its owner, or by a lock for the owner and cumulative vouchers — and
 * read its messages, the period keys sealed to this wallet's X25519 key.
 *
 * The rules are the economy's (the streams protocol and service, purchases, grants, the reader);
 * this module adds the page's part:
 *
 * **The X25519 key is derived, never stored.** A grant is sealed to an X25519 key whose secret the
 * economy's `openGrant` needs as bytes, and WebCrypto keeps no X25519 key that @noble could use
 * without exporting it. So the secret of subscription n to a sensor is derived from the wallet's
 * own non-extractable Ed25519 key, on demand:
 *
 *   message = canonical CBOR "tally/v1/wallet-stream-box" ‖ canonical CBOR [sensor, n]
 *   secret  = HKDF-SHA-256(ikm = Ed25519 signature of `message` by the wallet's key,
 *                          salt = empty, info = "tally/v1/wallet-stream-box", 32 bytes)   (WebCrypto)
 *
 * Ed25519 signatures are deterministic (RFC 8032 §5.1.6; every provider gives the same bytes), so
 * the same key re-derives the same secret after a reload and after a restore from the recovery
 * phrase on another device: nothing but the phrase needs a backup. The message is under its own
 * domain tag and longer than the 32-byte block hashes the key signs, so the signature can stand
 * for no block or statement. Each subscription gets its own secret: a 'stream-bad-key' proof, which
 * reveals the subscription's secret, reveals nothing else. The secret lives in the page's memory
 * while a call needs it, and in no database, log or message.
 *
 * **Durable subscriptions.** Each stream bought is a record on IndexedDB (openIdbRecords,
 * database `<database>`, default 'tally-streams'; one record per sensor): the listing's terms, the
 * payments (transfer seqs, or the lock and the cumulative voucher total, written before the
 * voucher leaves), the grants as they came (sealed: useless without the derived key), and where
 * reading stands (next seq and the hash before it). A reload resumes reading where it stopped.
 *
 * Record layout (version 1), canonical CBOR:
 *   [1, sensor, owner, price, periodMs, startMs, n, payments: [seq…], lock: seq | 0,
 *    vouchered: uint, grants: [grant bytes…] (the latest 64), next: uint, prev: bytes | null,
 *    unanswered: the seq of a payment whose purchase has no answer yet | 0]
 * @module
 */
import { RefusedError, abytes, auint, concatBytes, decodeCanonical, encodeCanonical, equalBytes, toHex, type CborValue, type HalfBlock } from '@tally/core'
import { encodeVoucher, epochAt } from '@tally/economy'
import {
  boxKeyPair,
  createReader,
  createStreamService,
  decodeGrant,
  encodeGrant,
  openGrant,
  signPurchase,
  type BoxKeyPair,
  type KeyGrant,
  type ListingEntry,
  type ListingQuery,
  type StreamService,
} from '@tally/economy/streams'
import { openIdbRecords, type IdbRecords } from './idb-records.js'
import type { BrowserWallet } from './wallet.js'

/** The derivation's domain tag (see the module comment). */
const BOX_TAG = 'tally/v1/wallet-stream-box'

/** Grants kept per subscription (the latest). */
const MAX_GRANTS = 64

/** A seller's refusals that settle a payment for good ('not-paid' may be a seller that has not seen it yet: asked again). */
const FINAL = new Set(['underpaid', 'payment-used', 'lapsed', 'not-buyer', 'bad-purchase', 'unknown-stream', 'bad-grant'])

/** Blocks of history a 'receipt' request carries at most (@tally/economy/streams codec). */
const MAX_RECEIPT_HISTORY = 8

/** Most catalog pages fetched by one refresh. */
const MAX_CATALOG_PAGES = 64

/** A stream this wallet bought, as kept. */
export interface StreamSubscription {
  readonly sensor: Uint8Array
  readonly owner: Uint8Array
  /** Price per period, period length (ms) and when period 0 began (ms since 1970), from the listing. */
  readonly price: number
  readonly periodMs: number
  readonly startMs: number
  /** How it is paid: 'transfer' (seqs of this wallet's transfers to the owner) or 'lock' (the lock's seq, and the vouchers' total). */
  readonly by: 'transfer' | 'lock'
  readonly payments: readonly number[]
  readonly lock: number | undefined
  readonly vouchered: number
  /** The periods whose key is held (from the grants kept). */
  readonly periods: readonly number[]
  /** The next message to read. */
  readonly next: number
}

/** A message read. */
export interface StreamReading {
  readonly seq: number
  readonly period: number
  readonly plaintext: Uint8Array
}

/** What a read gave: the messages in order, and what did not read (with the economy's reasons). */
export interface StreamRead {
  readonly messages: readonly StreamReading[]
  readonly failures: readonly { readonly seq?: number; readonly period?: number; readonly reason: string }[]
  /** The next seq to read. */
  readonly next: number
}

/** The wallet's data streams. */
export interface WalletStreams {
  /** The streams protocol on the wallet's node (relay, fetch, follow, the listing index). */
  readonly service: StreamService
  /**
   * Fetch a peer's catalog of listings into the index (default: the gateway's).
   * @returns listings new to the index
   * @throws RefusedError when the peer cannot be reached or does not serve the protocol
   */
  refresh(peer?: Uint8Array): Promise<number>
  /** Search the listings known (economy's ListingQuery: box, near, kind, maxPrice, limit). */
  search(query: ListingQuery): ListingEntry[]
  /**
   * Buy `periods` periods of a stream (or more: a renewal follows on from what was bought).
   * @param entry a listing from `search`
   * @param options.periods periods to pay for (default 1); options.by: 'transfer' (default) or
   *   'lock' (the first purchase locks `deposit`, default 10 periods' price, until `expiry`;
   *   later ones raise the voucher)
   * @returns the subscription
   * @throws RangeError for bad arguments or a short balance; RefusedError with the seller's
   *   reason ('not-paid', 'underpaid', 'payment-used', 'lapsed', 'bad-receipt', 'bad-grant',
   *   'unknown-stream', 'unreachable') or 'not-signer' / 'closed'
   */
  buy(entry: ListingEntry, options?: { periods?: number; by?: 'transfer' | 'lock'; deposit?: number; expiry?: number }): Promise<StreamSubscription>
  /**
   * Read the stream from where reading stopped: fetch from its owner, check and decrypt each
   * message (asking the owner for the key of a period bought but not yet granted); the position
   * is kept.
   * @param options.max messages at most (default 64); options.from: a peer that serves the stream (default its owner)
   * @throws RangeError when this wallet bought no such stream
   */
  read(sensor: Uint8Array, options?: { max?: number; from?: Uint8Array }): Promise<StreamRead>
  /** The streams bought. */
  subscriptions(): Promise<StreamSubscription[]>
  /** One stream bought, or undefined. */
  subscription(sensor: Uint8Array): Promise<StreamSubscription | undefined>
  /** Stop hosting the protocol and close the database (the wallet stays open). */
  dispose(): void
}

/**
 * Open the wallet's data streams: host the streams protocol on its node, open its subscriptions' database.
 * @param wallet the browser wallet
 * @param options database (default 'tally-streams')
 * @returns the streams
 * @throws StoreVersionError when the database is of a newer version or another format
 * @example
 * const streams = await openWalletStreams(wallet)
 * await streams.refresh()
 * const [air] = streams.search({ kind: 'air-quality', maxPrice: 10 })
 * await streams.buy(air, { periods: 2 })
 * const { messages } = await streams.read(air.listing.sensor)
 */
export async function openWalletStreams(wallet: BrowserWallet, options: { database?: string } = {}): Promise<WalletStreams> {
  const database = options.database ?? 'tally-streams'
  if (typeof database !== 'string' || database === '') throw new TypeError('"database" expected a non-empty string')
  const table: IdbRecords = await openIdbRecords({ name: database })
  const service = createStreamService({ host: wallet.node, crypto: wallet.community.crypto })
  const keys = new Map<string, Promise<BoxKeyPair>>()
  // one call per sensor at a time: a purchase and a read must not write the record over each other
  const lanes = new Map<string, Promise<unknown>>()
  const lane = <T>(sensor: Uint8Array, fn: () => Promise<T>): Promise<T> => {
    const id = toHex(sensor)
    const next = (lanes.get(id) ?? Promise.resolve()).then(fn, fn)
    const tail = next.catch(() => undefined)
    lanes.set(id, tail)
    void tail.then(() => lanes.get(id) === tail && lanes.delete(id))
    return next
  }
  const boxKeys = (sensor: Uint8Array, n: number): Promise<BoxKeyPair> => {
    const id = `${toHex(sensor)}:${n}`
    let k = keys.get(id)
    if (k === undefined) {
      k = deriveBoxKeys(wallet, sensor, n)
      keys.set(id, k)
      k.catch(() => keys.delete(id))
    }
    return k
  }
  const load = async (sensor: Uint8Array): Promise<Kept | undefined> => {
    const bytes = await table.get(toHex(sensor))
    return bytes === undefined ? undefined : decodeKept(bytes)
  }
  const save = (k: Kept): Promise<void> => table.put(toHex(k.sensor), encodeKept(k))

  const streams: WalletStreams = {
    service,
    async refresh(peer) {
      const from = peer ?? wallet.gateway
      if (from === undefined) throw new RefusedError('the wallet is not connected to its gateway yet', { reason: 'offline' })
      abytes('peer', from, 32)
      const ctx = await service.handle.peer(from)
      let fresh = 0
      let after = 0
      for (let page = 0; page < MAX_CATALOG_PAGES; page++) {
        const reply = await ctx.request('catalog', { after, max: 128 })
        if (reply.kind !== 'listings') break
        for (const block of reply.message.blocks) {
          const r = service.index.add(block)
          if (r === 'added' || r === 'superseded' || r === 'withdrawn') fresh++
        }
        if (reply.message.next <= after) break
        after = reply.message.next
      }
      return fresh
    },
    search: (query) => service.search(query),
    buy(entry, o = {}) {
      if (typeof entry !== 'object' || entry === null || entry.listing === undefined) throw new TypeError('"entry" expected a listing from search()')
      const periods = o.periods ?? 1
      auint('periods', periods, 1)
      const by = o.by ?? 'transfer'
      if (by !== 'transfer' && by !== 'lock') throw new TypeError('"by" expected "transfer" or "lock"')
      const { sensor, price } = entry.listing
      const owner = entry.owner
      if (equalBytes(owner, wallet.publicKey)) throw new RangeError('"entry" is a listing of this wallet')
      return wallet.signing(() =>
        lane(sensor, async () => {
          let kept = (await load(sensor)) ?? fresh(entry)
          if (!equalBytes(kept.owner, owner)) throw new RangeError('a stream of this sensor was bought from another owner')
          if (kept.lock !== 0 && by === 'transfer') throw new RangeError('this stream is paid by lock: buy more with { by: "lock" }')
          if (kept.payments.length > 0 && by === 'lock') throw new RangeError('this stream is paid by transfer: buy more with { by: "transfer" }')
          await wallet.reach(owner)
          const box = await boxKeys(sensor, kept.n)
          let answer: { grant: KeyGrant; key: Uint8Array }
          if (by === 'transfer') {
            // a payment whose purchase was never answered (the page closed, the seller was
            // unreachable) is asked for again, not paid again
            let payment = kept.unanswered
            if (payment === 0) {
              const t = await wallet.send(owner, price * periods)
              payment = t.proposal.seq
              kept = { ...kept, payments: [...kept.payments, payment], unanswered: payment }
              // the payment is on record before it is used: a reload can still ask for its key
              await save(kept)
            }
            const purchase = await signPurchase(wallet.identity, { sensor, payment, recipient: box.publicKey })
            try {
              answer = await service.subscribe(owner, purchase, box)
            } catch (err) {
              // the seller's final word on this payment: the next purchase pays anew
              if (FINAL.has((err as RefusedError)?.reason ?? '')) await save({ ...kept, unanswered: 0 })
              throw err
            }
            kept = { ...kept, unanswered: 0 }
          } else {
            let lock: HalfBlock | undefined = kept.lock === 0 ? undefined : await wallet.node.store.get(wallet.publicKey, kept.lock)
            if (lock === undefined) {
              const deposit = o.deposit ?? price * Math.max(10, periods)
              auint('deposit', deposit, 1)
              lock = await wallet.wallet.lock({ to: owner, amount: deposit, expiry: o.expiry ?? expiryFor(wallet) })
              kept = { ...kept, lock: lock.seq }
              await save(kept)
            }
            const total = kept.vouchered + price * periods
            const voucher = await wallet.wallet.voucher(lock, total)
            // the promise is on record before it leaves: the next voucher raises this total
            kept = { ...kept, vouchered: total }
            await save(kept)
            const purchase = await signPurchase(wallet.identity, { sensor, payment: lock.seq, recipient: box.publicKey })
            // the protocol carries at most 8 blocks of history: a seller that never saw this
            // chain further back refuses ('bad-receipt'); one paid by transfer before holds it
            const history = await wallet.node.store.range(wallet.publicKey, { from: Math.max(1, lock.seq - MAX_RECEIPT_HISTORY), to: lock.seq - 1 })
            answer = await service.subscribeByReceipt(owner, { purchase, lock, voucher: encodeVoucher(voucher), history }, box)
          }
          kept = withGrant(kept, answer.grant)
          await save(kept)
          return view(kept)
        }),
      )
    },
    read(sensor, o = {}) {
      abytes('sensor', sensor, 32)
      const max = o.max ?? 64
      auint('max', max, 1)
      return lane(sensor, async () => {
        let kept = await load(sensor)
        if (kept === undefined) throw new RangeError('"sensor" is not a stream this wallet bought')
        const first = kept.grants[0]
        if (first === undefined) throw new RefusedError('no key was granted for this stream yet: buy it again', { reason: 'not-paid' })
        const box = await boxKeys(sensor, kept.n)
        const from = kept.prev === null ? { seq: first.start, prev: first.prev } : { seq: kept.next, prev: kept.prev }
        const reader = createReader({ sensor, from, crypto: wallet.community.crypto })
        for (const g of kept.grants) {
          const key = openGrant(box, g)
          if (key !== undefined) reader.addKey(g.period, key)
        }
        const peer = o.from ?? kept.owner
        await wallet.reach(peer)
        const got = await service.fetch(peer, sensor, from.seq, max)
        const messages: StreamReading[] = []
        const failures: { seq?: number; period?: number; reason: string }[] = []
        // where reading stands: after the last message read in order (a message held for want of
        // its key is fetched and read again next time)
        let at = from
        const take = (r: ReturnType<typeof reader.read>): boolean => {
          if (r.ok) {
            messages.push({ seq: r.seq, period: r.period, plaintext: r.plaintext })
            if (r.seq === at.seq) at = { seq: r.seq + 1, prev: r.hash }
            return true
          }
          if (r.reason === 'no-key') return true
          failures.push({ ...(r.seq === undefined ? {} : { seq: r.seq }), ...(r.period === undefined ? {} : { period: r.period }), reason: r.reason })
          return false
        }
        for (const m of got.messages) {
          const r = reader.read(m)
          if (!r.ok && r.reason === 'no-key' && r.period !== undefined) {
            // a period whose key this page does not hold yet: ask the owner (refused 'lapsed' /
            // 'not-paid' when it was not bought, 'too-early' ahead of time)
            try {
              const { grant, key } = await service.requestKey(kept.owner, sensor, r.period, box)
              kept = withGrant(kept, grant)
              if (!reader.addKey(grant.period, key).every(take)) break
            } catch (err) {
              failures.push({ seq: r.seq ?? m.seq, period: r.period, reason: (err as RefusedError)?.reason ?? 'no-key' })
              break
            }
            continue
          }
          if (!take(r)) break
        }
        kept = { ...kept, next: at.seq, prev: at.prev }
        await save(kept)
        return { messages, failures, next: at.seq }
      })
    },
    async subscriptions() {
      const rows = await table.list()
      const out: StreamSubscription[] = []
      for (const r of rows) {
        try {
          out.push(view(decodeKept(r.record)))
        } catch {
          // a record this version cannot read is left as it is
        }
      }
      return out
    },
    async subscription(sensor) {
      abytes('sensor', sensor, 32)
      const k = await load(sensor)
      return k === undefined ? undefined : view(k)
    },
    dispose() {
      service.close()
      table.close()
    },
  }
  return streams
}

/**
 * The X25519 key pair of subscription `n` to `sensor`, derived from the wallet's signing key (see
 * the module comment).
 * @returns the key pair (its secret only in memory)
 */
export async function deriveBoxKeys(wallet: Pick<BrowserWallet, 'identity'>, sensor: Uint8Array, n: number): Promise<BoxKeyPair> {
  abytes('sensor', sensor, 32)
  auint('n', n)
  const message = concatBytes(encodeCanonical(BOX_TAG), encodeCanonical([sensor, n]))
  const signature = await wallet.identity.sign(message)
  const subtle = globalThis.crypto.subtle
  const ikm = await subtle.importKey('raw', signature as Uint8Array<ArrayBuffer>, 'HKDF', false, ['deriveBits'])
  const bits = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new TextEncoder().encode(BOX_TAG) }, ikm, 256)
  return boxKeyPair(new Uint8Array(bits))
}

// ## The record

interface Kept {
  readonly sensor: Uint8Array
  readonly owner: Uint8Array
  readonly price: number
  readonly periodMs: number
  readonly startMs: number
  readonly n: number
  readonly payments: readonly number[]
  readonly lock: number
  readonly vouchered: number
  readonly grants: readonly KeyGrant[]
  readonly next: number
  readonly prev: Uint8Array | null
  /** A transfer's seq whose purchase has no answer yet (0: none). */
  readonly unanswered: number
}

function fresh(entry: ListingEntry): Kept {
  const l = entry.listing
  return { sensor: l.sensor, owner: entry.owner, price: l.price, periodMs: l.period, startMs: l.start, n: 0, payments: [], lock: 0, vouchered: 0, grants: [], next: 0, prev: null, unanswered: 0 }
}

function withGrant(k: Kept, grant: KeyGrant): Kept {
  const others = k.grants.filter((g) => g.period !== grant.period)
  return { ...k, grants: [...others, grant].sort((a, b) => a.period - b.period).slice(-MAX_GRANTS) }
}

function view(k: Kept): StreamSubscription {
  return Object.freeze({
    sensor: k.sensor,
    owner: k.owner,
    price: k.price,
    periodMs: k.periodMs,
    startMs: k.startMs,
    by: k.lock === 0 ? 'transfer' : 'lock',
    payments: k.payments,
    lock: k.lock === 0 ? undefined : k.lock,
    vouchered: k.vouchered,
    periods: k.grants.map((g) => g.period),
    next: k.prev === null ? (k.grants[0]?.start ?? 1) : k.next,
  })
}

function encodeKept(k: Kept): Uint8Array {
  return encodeCanonical([1, k.sensor, k.owner, k.price, k.periodMs, k.startMs, k.n, [...k.payments], k.lock, k.vouchered, k.grants.map(encodeGrant), k.next, k.prev, k.unanswered] as CborValue)
}

function decodeKept(bytes: Uint8Array): Kept {
  const v = decodeCanonical(bytes) as unknown[]
  if (!Array.isArray(v) || v[0] !== 1 || v.length !== 14) throw new RangeError('not a stream subscription record of version 1')
  const [, sensor, owner, price, periodMs, startMs, n, payments, lock, vouchered, grants, next, prev, unanswered] = v as [number, Uint8Array, Uint8Array, number, number, number, number, number[], number, number, Uint8Array[], number, Uint8Array | null, number]
  return { sensor, owner, price, periodMs, startMs, n, payments, lock, vouchered, grants: grants.map(decodeGrant), next, prev, unanswered }
}

/** A lock's default expiry for a stream bought by lock: 24 epochs from now. */
function expiryFor(wallet: BrowserWallet): number {
  return epochAt(wallet.community.current, Date.now()) + 24
}
