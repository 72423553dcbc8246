/**
 * A peer's bandwidth ledger: the vouchers it signs for service it takes, the vouchers it receives
 * for service it gives, its payouts, and the free-rider check it runs before serving anyone.
 *
 * A peer's balance as this ledger knows it = its balance in the published payouts (the view) +
 * what this ledger knows beyond them: vouchers this peer received from it and has not published
 * yet (the peer paid more), and vouchers this peer signed to it that its payee has not published
 * yet (the peer earned more). So a provider refuses a free rider on its own evidence at once, and
 * on everyone's once their payouts are out.
 * @module
 */
import { RefusedError, abytes, auint, equalBytes, nobleCrypto, type CryptoProvider, type SyncSigningKey } from '@tally/core'
import { keyString } from '../util.js'
import { createPayoutView, signPayout, type Payout, type PayoutView } from './payout.js'
import { thresholdPolicy, type FreeRiderPolicy } from './policy.js'
import { signBandwidthVoucher, verifyBandwidthVoucher, type BandwidthVoucher } from './voucher.js'

/** Options of createBandwidthLedger. */
export interface BandwidthLedgerOptions {
  /** This peer's signing key. */
  key: SyncSigningKey
  /** Published payouts as this peer learns them (default: a view of its own). */
  view?: PayoutView
  /** Whether to serve a peer (default thresholdPolicy(): refuse below −5 GB). */
  policy?: FreeRiderPolicy
  /** Provider for voucher checks (default nobleCrypto). */
  crypto?: CryptoProvider
}

/** The outcome of a free-rider check. */
export type Admission = { readonly ok: true; readonly balance: number } | { readonly ok: false; readonly reason: 'free-rider'; readonly balance: number }

/** One peer's bandwidth accounting. */
export interface BandwidthLedger {
  /** This peer's key. */
  readonly publicKey: Uint8Array
  /**
   * Pay `payee` for `mb` more megabytes: the next cumulative voucher (hand it over any link).
   * @throws RangeError on a non-positive amount or paying oneself
   */
  pay(payee: Uint8Array, mb: number): BandwidthVoucher
  /**
   * Take a voucher for service given.
   * @returns the megabytes it adds over the latest held (0 for an old or repeated one)
   * @throws RefusedError ('voucher-payee': to someone else; 'voucher-signature': not its payer's)
   */
  receive(voucher: BandwidthVoucher): number
  /** Whether to serve `peer` for `mb` megabytes, by the policy. */
  admit(peer: Uint8Array, mb: number): Admission
  /** A peer's balance (megabytes up − down) as this ledger knows it. */
  balance(peer: Uint8Array): number
  /**
   * The payout of every voucher received that rose since the last payout (undefined when none did).
   * Publish it later, at a random moment: that is what keeps the ledger from dating downloads.
   */
  payout(period: number): Payout | undefined
}

/**
 * A bandwidth ledger.
 * @param options key, view, policy, crypto
 * @returns the ledger
 * @throws TypeError without a key
 * @example const ledger = createBandwidthLedger({ key: me, policy: thresholdPolicy(-5_000) })
 */
export function createBandwidthLedger(options: BandwidthLedgerOptions): BandwidthLedger {
  const key = options?.key
  if (key === undefined || !(key.publicKey instanceof Uint8Array)) throw new TypeError('"key" is required')
  const crypto = options.crypto ?? nobleCrypto
  const view = options.view ?? createPayoutView(crypto)
  const policy = options.policy ?? thresholdPolicy()
  const me = key.publicKey
  /** Latest voucher signed, per payee. */
  const signed = new Map<string, BandwidthVoucher>()
  /** Latest voucher received, per payer, and what of it went into a payout. */
  const received = new Map<string, BandwidthVoucher>()
  const published = new Map<string, number>()

  const balance = (peer: Uint8Array): number => {
    const k = keyString(peer)
    let b = view.balance(peer)
    const got = received.get(k) // it paid me beyond what the view shows
    if (got !== undefined) b -= Math.max(0, got.mb - view.paid(peer, me))
    const gave = signed.get(k) // I paid it beyond what the view shows
    if (gave !== undefined) b += Math.max(0, gave.mb - view.paid(me, peer))
    return b
  }

  const ledger: BandwidthLedger = {
    publicKey: me,
    pay(payee, mb) {
      abytes('payee', payee, 32)
      auint('mb', mb, 1)
      const k = keyString(payee)
      const last = signed.get(k)
      const v = signBandwidthVoucher(key, { payee, mb: (last?.mb ?? 0) + mb, counter: (last?.counter ?? 0) + 1 })
      signed.set(k, v)
      return v
    },
    receive(voucher) {
      if (!equalBytes(voucher?.payee, me)) throw new RefusedError('the voucher pays someone else', { reason: 'voucher-payee' })
      if (!verifyBandwidthVoucher(voucher, crypto)) throw new RefusedError('the voucher is not signed by its payer', { reason: 'voucher-signature' })
      const k = keyString(voucher.payer)
      const held = received.get(k)
      if (held !== undefined && voucher.mb <= held.mb) return 0
      received.set(k, voucher)
      return voucher.mb - (held?.mb ?? 0)
    },
    admit(peer, mb) {
      const b = balance(peer)
      return policy({ peer, balance: b, mb }) ? { ok: true, balance: b } : { ok: false, reason: 'free-rider', balance: b }
    },
    balance,
    payout(period) {
      const rose: BandwidthVoucher[] = []
      for (const [k, v] of received) if (v.mb > (published.get(k) ?? 0)) rose.push(v)
      if (rose.length === 0) return undefined
      for (const v of rose) published.set(keyString(v.payer), v.mb)
      return signPayout(key, period, rose)
    },
  }
  return Object.freeze(ledger)
}
