/**
 * One-way payment channels (seed 004): a payer locks a deposit for a payee; each payment is a
 * receipt the payer signs off line (receipt.ts); the payee checks it with one signature, keeps the
 * latest durably, and redeems when it likes, keeping the channel open; the payer recharges by adding
 * a lock, and closes by releasing its locks after their expiry, returning only what no receipt
 * covers. Everything here is bytes in, bytes out: a receipt reaches the payee over any link.
 *
 * What keeps each side whole:
 * - the payee never accepts more than the deposit it holds locks for, nor a receipt that does not
 *   raise the total, nor one that draws on a lock whose expiry has begun (the payer could have
 *   released it); it acknowledges a payment only once the receipt is durable in its book;
 * - the payer keeps every receipt in its book before it hands it out, signs none once it has
 *   released a lock of the channel, and releases lock k returning amount_k − covered_k(latest), so
 *   no receipt it signed contradicts a release ('channel-release', channel-fraud.ts);
 * - the locks do the rest: locked value is not spendable, a redeem never passes its lock.
 * @module
 */
import {
  RefusedError,
  abytes,
  auint,
  blockHash,
  cborUintSize,
  equalBytes,
  signThen,
  writeCborUint,
  type CborValue,
  type FraudProof,
  type HalfBlock,
  type SigningKey,
} from '@tally/core'
import { balanceOf, replayBalance, walkBack } from '../balance.js'
import type { Community } from '../community.js'
import { RELEASE, lockView, readRelease, type LockView } from '../lock/lock-payload.js'
import { signReleaseConsent, verifyReleaseConsent } from '../lock/consent.js'
import { epochStart } from '../lock/lock-type.js'
import type { Wallet } from '../wallet.js'
import { channelReleaseProof } from './channel-fraud.js'
import { channelPlace, channelTerms, covered, type ChannelPlace } from './channel-terms.js'
import { RECEIPT, receiptValue } from './receipt-authority.js'
import { keyString } from '../util.js'
import { createChannelBook, type ChannelBook } from './receipt-store.js'
import { decodeReceipt, encodeReceipt, receiptScratch, type Receipt } from './receipt.js'

/** What one side knows of a channel. */
export interface ChannelState {
  /** The channel id: the opening lock's hash. */
  readonly id: Uint8Array
  readonly payer: Uint8Array
  readonly payee: Uint8Array
  /** The channel's locks, the opening lock first. */
  readonly locks: readonly LockView[]
  /** Σ of the locks' amounts. */
  readonly deposit: number
  /** The latest receipt, if any. */
  readonly latest: Receipt | undefined
  /** Its cumulative amount (0 before any). */
  readonly paid: number
}

/** Options of createPayer and createPayee. */
export interface ChannelSideOptions {
  /** The wallet (its agent's types must hold the economy's lock types, with receipts among the authorities — the default). */
  wallet: Wallet
  /** The agent's signing key (receipts are signed with it; the payee needs none). */
  key?: SigningKey
  /** Locks and the latest receipt per channel (default: in memory). A payee's must be durable to keep what it acknowledged. */
  book?: ChannelBook
  /** The community (whose epochs the locks' expiries count). */
  community: Community
  /** Milliseconds since 1970 (default Date.now). */
  clock?: () => number
}

/** A channel's payer. */
export interface Payer {
  /**
   * Open a channel: lock `deposit` for `to` until epoch `expiry`.
   * @param request.propose lock in a transaction the payee countersigns (default: a unilateral lock)
   * @returns the channel id and the lock block (show the payee the lock and your chain up to it)
   * @throws RangeError when the deposit exceeds the balance
   */
  open(request: { to: Uint8Array; deposit: number; expiry: number; propose?: boolean }): Promise<{ channel: Uint8Array; lock: HalfBlock }>
  /**
   * Pay `amount` more over the channel: a receipt for the new total, kept in the book before it is returned.
   * @returns the receipt's bytes (at most RECEIPT_MAX_BYTES)
   * @throws RangeError when the total would pass the deposit, or the channel is unknown or closed
   */
  pay(channel: Uint8Array, amount: number): Promise<Uint8Array>
  /**
   * Recharge: lock `amount` more for the channel's payee, until epoch `expiry`.
   * @returns the new lock (the payee admits it)
   */
  recharge(channel: Uint8Array, amount: number, expiry: number): Promise<HalfBlock>
  /**
   * Close: sign no more receipts, and release every lock of the channel whose expiry has begun —
   * or, before it, whose payee consented (Payee.close) — each returning what the latest receipt
   * does not cover. Call again for locks that expire later.
   * @param consents the payee's consents (Payee.close); one for another amount is not used (a
   *   receipt was still on its way when the payee closed: wait for the expiry, or close again)
   * @returns the releases appended by this call
   */
  close(channel: Uint8Array, consents?: readonly ClosingConsent[]): Promise<HalfBlock[]>
  /** The channel as this payer knows it. */
  state(channel: Uint8Array): Promise<ChannelState>
}

/** A payee's consent to the early release of one lock of a closed channel. */
export interface ClosingConsent {
  /** The lock's seq in the payer's chain. */
  readonly lock: number
  /** What the release returns: the lock minus what the latest receipt covers. */
  readonly amount: number
  /** The payee's signature (see signReleaseConsent). */
  readonly consent: Uint8Array
}

/** A channel's payee. */
export interface Payee {
  /**
   * Take in a channel's lock — the opening lock or a recharge — with the payer's chain up to it
   * (`history`; what this agent holds already may be left out), and check the chain backs it.
   * @throws RefusedError ('channel-lock': not a channel lock for this agent; 'channel-recharge': a
   *   recharge of an unknown channel or at the wrong offset; 'history-missing', 'balance': the chain does not back it;
   *   'history-too-long': more than `maxHistory` blocks, default 65,536)
   */
  admit(lock: HalfBlock, history?: readonly HalfBlock[]): Promise<ChannelState>
  /**
   * Accept a receipt off line: one signature check; durable in the book before the acknowledgement is returned.
   * @param bytes the receipt as it came over the link
   * @param options.price the least increment expected (a cup's price; default 1)
   * @returns the acknowledgement: canonical ['ack', counter, amount]
   * @throws RefusedError with reason 'receipt-malformed', 'channel-unknown', 'receipt-signature',
   *   'receipt-stale' (does not raise the total), 'receipt-short' (raises it by less than the price),
   *   'receipt-deposit' (passes the deposit), 'channel-expired' (draws on a lock whose expiry began),
   *   'channel-closed' (the payee closed it)
   */
  accept(bytes: Uint8Array, options?: { price?: number }): Promise<Uint8Array>
  /**
   * Redeem what the latest receipt covers beyond what was redeemed, lock by lock; the channel stays open.
   * @returns the redeem blocks appended (none when nothing is new)
   */
  redeem(channel: Uint8Array): Promise<HalfBlock[]>
  /**
   * Check a release of one of the channel's locks against the latest receipt.
   * @returns a 'channel-release' proof when the release takes back what the receipt covers
   */
  check(release: HalfBlock): Promise<FraudProof | undefined>
  /**
   * Close by a final redeem: accept no more receipts, redeem what the latest covers, and consent
   * to the payer releasing the rest of each lock now, before its expiry (needs `key`).
   * @returns the consents to hand the payer (Payer.close)
   */
  close(channel: Uint8Array): Promise<ClosingConsent[]>
  /** The channel as this payee knows it. */
  state(channel: Uint8Array): Promise<ChannelState>
  /** Every channel in the book. */
  channels(): Promise<Uint8Array[]>
}

/**
 * A payer: opens, pays over, recharges and closes channels.
 * @param options wallet, key, book, community, clock
 * @returns the payer (its operations run one at a time)
 * @throws TypeError without a wallet, community or key
 * @example const payer = createPayer({ wallet, key: aliceId, community }); const receipt = await payer.pay(channel, 2)
 */
export function createPayer(options: ChannelSideOptions): Payer {
  const { wallet, community } = options
  if (wallet === undefined || community === undefined) throw new TypeError('"wallet" and "community" are required')
  const key = options.key
  if (key === undefined || !equalBytes(key.publicKey, wallet.agent.publicKey)) throw new TypeError('"key" (the payer agent\'s signing key) is required to sign receipts')
  const book = options.book ?? createChannelBook()
  const agent = wallet.agent
  const crypto = community.crypto
  const cache = new Map<string, Known>()
  const run = serializer()
  const load = (channel: Uint8Array): Known | undefined | Promise<Known | undefined> => (channel instanceof Uint8Array && channel.length === 32 && cache.get(keyString(channel))) || loaded(cache, book, channel, crypto)
  const scratch = receiptScratch() // pay's message: payer operations run one at a time

  const payer: Payer = {
    open: (request) => run(async () => {
      abytes('to', request?.to, 32)
      const lock = await wallet.lock({ to: request.to, amount: request.deposit, expiry: request.expiry, terms: channelTerms(), ...(request.propose === true ? { propose: true } : {}) })
      const channel = blockHash(lock, crypto)
      await book.addLock(channel, lock, 0)
      cache.delete(keyString(channel))
      return { channel, lock }
    }),

    pay: (channel, amount) => run(async () => {
      const found = load(channel)
      const known = found instanceof Promise ? await found : found // a payment's path awaits only what is pending
      if (known === undefined) throw new RangeError('"channel" is not a channel of this payer')
      auint('amount', amount, 1)
      if (known.closed === undefined) known.closed = (await releasedLocks(known)).size > 0
      if (known.closed) throw new RangeError('the channel is closed: a lock of it was released')
      const total = known.paid + amount
      if (total > known.deposit) throw new RangeError(`"amount" ${amount} would bring the channel to ${total}, past its deposit of ${known.deposit}: recharge first`)
      const counter = (known.latest?.counter ?? 0) + 1
      const signed = signThen(key, scratch.message({ channel: known.id, amount: total, counter }), (signature): Receipt => Object.freeze({ channel: known.id, amount: total, counter, signature }))
      const receipt = isPending(signed) ? await signed : signed
      const bytes = encodeReceipt(receipt)
      await book.keep(receipt, bytes) // the promise is on record before it leaves
      known.latest = receipt
      known.paid = total
      return bytes
    }),

    recharge: (channel, amount, expiry) => run(async () => {
      const known = await load(channel)
      if (known === undefined) throw new RangeError('"channel" is not a channel of this payer')
      if (known.closed === true) throw new RangeError('the channel is closed')
      const place: ChannelPlace = { channel: known.id, offset: known.deposit }
      const lock = await wallet.lock({ to: known.payee, amount, expiry, terms: channelTerms(place) })
      await book.addLock(channel, lock, known.locks.length)
      known.locks.push(lockView(lock, crypto)!)
      known.deposit += amount
      return lock
    }),

    close: (channel, consents = []) => run(async () => {
      const known = await load(channel)
      if (known === undefined) throw new RangeError('"channel" is not a channel of this payer')
      known.closed = true // no receipt from here on, even if no lock can be released yet
      const released = await releasedLocks(known)
      const now = (options.clock ?? Date.now)()
      const out: HalfBlock[] = []
      for (const lock of known.locks) {
        if (released.has(lock.seq)) continue
        const place = channelPlace(lock)!
        const amount = lock.amount - covered(known.paid, place.offset, lock.amount)
        const early = epochStart(community, lock.expiry) > now
        const consent = early ? consents.find((c) => c.lock === lock.seq && c.amount === amount && verifyReleaseConsent(c.consent, lock.id, amount, lock.beneficiary, crypto)) : undefined
        if (early && consent === undefined) continue
        out.push(await agent.append(RELEASE, async (): Promise<CborValue> => {
          const before = await balanceOf(agent.store, agent.publicKey, crypto)
          if (before === undefined) throw new RangeError('the agent\'s balance is unknown: its own chain has a gap')
          const payload = { lock: lock.seq, amount, balance: before + amount }
          return consent === undefined ? payload : { ...payload, consent: consent.consent }
        }))
      }
      return out
    }),

    state: async (channel) => stateOf(await load(channel)),
  }
  return Object.freeze(payer)

  /** Seqs of the channel's locks that this chain released (read from the chain: a crash between append and book cannot hide one). */
  async function releasedLocks(known: Known): Promise<Set<number>> {
    const out = new Set<number>()
    const head = await agent.store.latest(agent.publicKey)
    const first = known.locks[0]!.seq
    if (head === undefined || head.seq <= first) return out
    const seqs = new Set(known.locks.map((l) => l.seq))
    await walkBack(agent.store, agent.publicKey, head.seq + 1, (b) => {
      const r = b.type === RELEASE ? readRelease(b.payload) : undefined
      if (r !== undefined && seqs.has(r.lock)) out.add(r.lock)
      return b.seq <= first
    }, undefined, crypto)
    return out
  }
}

/**
 * A payee: admits channel locks, accepts receipts off line, redeems, and checks releases.
 * For its node to refuse a contradicted release with the proof, give its lock types the same book:
 * `createEconomyTypes({ community, evidence, lock: { receipts: book } })`.
 * @param options wallet, book (durable), community, clock
 * @returns the payee (accepts for one channel run one at a time, other calls one at a time)
 * @throws TypeError without a wallet or community
 * @example const ack = await payee.accept(bytesFromNfc, { price: 2 })
 */
export function createPayee(options: ChannelSideOptions & { margin?: number; maxHistory?: number }): Payee {
  const { wallet, community } = options
  if (wallet === undefined || community === undefined) throw new TypeError('"wallet" and "community" are required')
  const book = options.book ?? createChannelBook()
  const agent = wallet.agent
  const me = agent.publicKey
  const crypto = community.crypto
  const clock = options.clock ?? Date.now
  const margin = options.margin ?? 0
  auint('margin', margin)
  const maxHistory = options.maxHistory ?? MAX_HISTORY
  auint('maxHistory', maxHistory)
  const cache = new Map<string, Known>()
  const run = serializer()
  // accepts for one channel run one at a time; different channels' run side by side, so a durable
  // book's puts for many machines' customers share its fsyncs. A call on an idle lane starts at
  // once (no hop through the queue: a payment is a few microseconds of work besides its verify).
  // A known channel's lane stays (as its entry in `cache` does); another's goes when idle, so ids
  // made up by a peer leave nothing behind.
  interface Lane { tail: Promise<unknown>; waiting: number; done: () => void }
  const lanes = new Map<string, Lane>()
  const lane = <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    let l = lanes.get(id)
    if (l === undefined) {
      const fresh: Lane = {
        tail: RESOLVED,
        waiting: 0,
        done: () => {
          if (--fresh.waiting === 0 && !cache.has(id)) lanes.delete(id)
        },
      }
      lanes.set(id, (l = fresh))
    }
    const next = l.waiting++ === 0 ? start(fn) : l.tail.then(fn, fn)
    l.tail = next.then(l.done, l.done)
    return next
  }
  const load = (channel: Uint8Array): Known | undefined | Promise<Known | undefined> => (channel instanceof Uint8Array && channel.length === 32 && cache.get(keyString(channel))) || loaded(cache, book, channel, crypto)
  const scratch = receiptScratch() // accept's verify: filled and used with no await between
  /** When lock k's expiry epoch begins, under the configuration current now (recomputed when it changes). */
  const startOf = (known: Known, k: number): number => {
    if (known.starts === undefined || known.startsUnder !== community.current) {
      known.starts = []
      known.startsUnder = community.current
    }
    return (known.starts![k] ??= epochStart(community, known.locks[k]!.expiry))
  }

  const redeemAll = async (known: Known): Promise<HalfBlock[]> => {
    const latest = known.latest
    if (latest === undefined) return []
    const out: HalfBlock[] = []
    for (const lock of known.locks) {
      const place = channelPlace(lock)!
      if (covered(latest.amount, place.offset, lock.amount) === 0) continue
      try {
        out.push(await wallet.redeem(lock.block, { kind: RECEIPT, value: receiptValue(latest, place, lock.amount) }))
      } catch (err) {
        if (err instanceof RangeError && /nothing new to redeem/.test(err.message)) continue
        throw err
      }
    }
    return out
  }

  const payee: Payee = {
    admit: (lock, history = []) => run(async () => {
      if (!Array.isArray(history)) throw new TypeError('"history" expected an array of blocks')
      if (history.length > maxHistory) throw new RefusedError(`a history of ${history.length} blocks exceeds the ${maxHistory} this payee takes`, { reason: 'history-too-long' })
      const view = lockView(lock, crypto)
      const place = view === undefined ? undefined : channelPlace(view)
      if (view === undefined || place === undefined || !equalBytes(view.beneficiary, me)) throw new RefusedError('not a channel lock for this agent', { reason: 'channel-lock' })
      const known = await load(place.channel)
      if (known?.locks.some((l) => equalBytes(l.id, view.id))) return stateOf(known)
      if (place.offset > 0 && (known === undefined || place.offset !== known.deposit || !equalBytes(known.payer, view.owner))) {
        throw new RefusedError(`a recharge must extend a known channel of its payer at offset ${known?.deposit ?? '?'}; it says ${place.offset}`, { reason: 'channel-recharge' })
      }
      for (const block of [...history, lock]) {
        const held = await agent.store.get(block.publicKey, block.seq)
        if (held === undefined) await agent.receive(block)
      }
      const held = await agent.store.get(lock.publicKey, lock.seq)
      if (held === undefined || !equalBytes(blockHash(held, crypto), view.id)) throw new RefusedError('the lock is not held here (a different block at its seq, or it was invalid)', { reason: 'channel-lock' })
      const replay = await replayBalance(agent.store, view.owner, view.seq, crypto)
      if (!replay.ok) throw new RefusedError(`the payer's chain does not back the lock: ${replay.reason} at seq ${replay.seq}`, { reason: replay.reason })
      await book.addLock(place.channel, lock, known?.locks.length ?? 0)
      if (known === undefined) return stateOf(await load(place.channel))
      // in place: an accept running on this channel meanwhile keeps one view of it
      known.locks.push(view)
      known.deposit += view.amount
      return stateOf(known)
    }),

    accept: async (bytes, opts) => {
      let receipt: Receipt
      try {
        receipt = decodeReceipt(bytes)
      } catch (err) {
        throw new RefusedError(`not a receipt: ${(err as Error).message}`, { reason: 'receipt-malformed', cause: err })
      }
      const price = opts?.price ?? 1
      auint('price', price, 1)
      const id = keyString(receipt.channel)
      return lane(id, async () => {
        const found = cache.get(id) ?? loaded(cache, book, receipt.channel, crypto)
        const known = found instanceof Promise ? await found : found
        if (known === undefined) throw new RefusedError('no lock of this channel was admitted here', { reason: 'channel-unknown' })
        if (known.closed === true) throw new RefusedError('the payee closed the channel', { reason: 'channel-closed' })
        // verifyReceipt's check (decodeReceipt checked the fields' form), on the scratch buffers
        if (!crypto.verify(scratch.signature(receipt.signature), scratch.message(receipt), known.payer)) {
          throw new RefusedError('the receipt is not signed by the channel\'s payer', { reason: 'receipt-signature' })
        }
        const before = known.latest
        if (before !== undefined && (receipt.amount <= before.amount || receipt.counter <= before.counter)) {
          throw new RefusedError(`the receipt (${receipt.amount}, #${receipt.counter}) does not raise the total of ${before.amount} (#${before.counter})`, { reason: 'receipt-stale' })
        }
        if (receipt.amount - known.paid < price) throw new RefusedError(`the receipt pays ${receipt.amount - known.paid}, less than the price of ${price}`, { reason: 'receipt-short' })
        if (receipt.amount > known.deposit) throw new RefusedError(`the receipt's total ${receipt.amount} passes the deposit of ${known.deposit}`, { reason: 'receipt-deposit' })
        const now = clock()
        // admitted locks tile the channel: lock k starts where the ones before it end
        for (let k = 0, offset = 0; k < known.locks.length; offset += known.locks[k]!.amount, k++) {
          const lock = known.locks[k]!
          const touched = offset < receipt.amount && offset + lock.amount > known.paid
          if (touched && startOf(known, k) <= now + margin) {
            throw new RefusedError(`the payment draws on a lock whose expiry (epoch ${lock.expiry}) has begun: the payer may have released it`, { reason: 'channel-expired' })
          }
        }
        const kept: Receipt = { channel: known.id, amount: receipt.amount, counter: receipt.counter, signature: receipt.signature }
        await book.keep(kept, bytes) // durable before the acknowledgement exists
        known.latest = kept
        known.paid = receipt.amount
        return ackBytes(receipt)
      })
    },

    redeem: (channel) => run(async () => {
      const known = await load(channel)
      if (known === undefined) throw new RangeError('"channel" is not a channel of this payee')
      return redeemAll(known)
    }),

    check: async (release) => {
      const r = release?.type === RELEASE ? readRelease(release.payload) : undefined
      if (r === undefined) return undefined
      for (const channel of await book.channels()) {
        const known = await load(channel)
        const lock = known?.locks.find((l) => l.seq === r.lock && equalBytes(l.owner, release.publicKey))
        if (lock === undefined || known?.latest === undefined) continue
        return channelReleaseProof(lock.block, release, known.latest, crypto)
      }
      return undefined
    },

    close: (channel) => lane(channel instanceof Uint8Array && channel.length === 32 ? keyString(channel) : '', () => run(async () => {
      const known = await load(channel)
      if (known === undefined) throw new RangeError('"channel" is not a channel of this payee')
      const key = options.key
      if (key === undefined || !equalBytes(key.publicKey, me)) throw new TypeError('"key" (the payee agent\'s signing key) is required to consent')
      known.closed = true // from here on, receipts are refused
      await redeemAll(known)
      const out: ClosingConsent[] = []
      for (const lock of known.locks) {
        const amount = lock.amount - covered(known.paid, channelPlace(lock)!.offset, lock.amount)
        out.push({ lock: lock.seq, amount, consent: await signReleaseConsent(key, lock.id, amount, crypto) })
      }
      return out
    })),

    state: async (channel) => stateOf(await load(channel)),
    channels: () => book.channels(),
  }
  return Object.freeze(payee)
}

// ## Private helpers

/** Most blocks of a payer's chain a payee takes in with one lock (a peer's input is bounded). */
const MAX_HISTORY = 65_536

/** A side's working copy of one channel (the book is the durable record). */
interface Known {
  id: Uint8Array
  payer: Uint8Array
  payee: Uint8Array
  locks: LockView[]
  deposit: number
  latest: Receipt | undefined
  paid: number
  closed?: boolean
  /** Lock k's expiry start (ms), cached under one configuration. */
  starts?: number[]
  startsUnder?: unknown
}

async function loaded(cache: Map<string, Known>, book: ChannelBook, channel: Uint8Array, crypto: Community['crypto']): Promise<Known | undefined> {
  abytes('channel', channel, 32)
  const id = keyString(channel)
  const hit = cache.get(id)
  if (hit !== undefined) return hit
  const locks = (await book.locks(channel)).map((b) => lockView(b, crypto)).filter((v): v is LockView => v !== undefined)
  if (locks.length === 0) return undefined
  const latest = await book.latest(channel)
  const known: Known = {
    id: Uint8Array.from(channel),
    payer: locks[0]!.owner,
    payee: locks[0]!.beneficiary,
    locks,
    deposit: locks.reduce((s, l) => s + l.amount, 0),
    latest,
    paid: latest?.amount ?? 0,
  }
  cache.set(id, known)
  return known
}

/** canonical ['ack', counter, amount], written directly: one per payment. */
function ackBytes(receipt: Receipt): Uint8Array {
  const out = new Uint8Array(5 + cborUintSize(receipt.counter) + cborUintSize(receipt.amount))
  out.set(ACK_HEAD)
  writeCborUint(out, writeCborUint(out, 5, receipt.counter), receipt.amount)
  return out
}
const ACK_HEAD = Uint8Array.of(0x83, 0x63, 0x61, 0x63, 0x6b) // array(3), text(3) "ack"

function stateOf(known: Known | undefined): ChannelState {
  if (known === undefined) throw new RangeError('"channel" is not known here')
  return Object.freeze({ id: known.id, payer: known.payer, payee: known.payee, locks: [...known.locks], deposit: known.deposit, latest: known.latest, paid: known.paid })
}

/** Runs async calls one at a time, in call order; a call made while none runs starts at once. */
function serializer(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = RESOLVED
  let pending = 0
  const done = (): void => {
    pending--
  }
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const next = pending++ === 0 ? start(fn) : tail.then(fn, fn)
    tail = next.then(done, done)
    return next
  }
}

const RESOLVED: Promise<unknown> = Promise.resolve()

/** fn(), with a synchronous throw as a rejection. */
function start<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn()
  } catch (err) {
    return Promise.reject(err)
  }
}

/** Whether a sign result is still to come (an asynchronous key's). */
function isPending<T>(x: T | Promise<T>): x is Promise<T> {
  return typeof (x as { then?: unknown } | undefined)?.then === 'function'
}
