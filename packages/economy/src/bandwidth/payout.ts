/**
 * Deferred, aggregated payouts (seed 002, after "Paying the guard"): a provider does not publish a
 * record per download; once a period it publishes one payout holding, for each peer that paid it
 * during the period, only that peer's latest cumulative voucher — at a random moment after the
 * period ends. The ledger then shows per-period totals between neighbours on a path, never which
 * download, when within the period, or (with relays) from whom the content came.
 *
 * Layout (signed, so fixed here):
 *
 *   body      = canonical CBOR array [payee: bstr(32), period: uint, [voucher, ...]]   (vouchers by ascending payer)
 *   payout    = canonical CBOR array [payee, period, [voucher, ...], signature: bstr(64)]
 *   signature = Ed25519 by the payee over domainTag('bandwidth-payout') ‖ body
 *
 * A payout view (what a peer learns from published payouts) keeps the highest voucher per
 * (payer, payee) and from them every peer's balance: Σ received − Σ paid. Vouchers are cumulative,
 * so a payout published twice, late or out of order changes nothing; and the balances of a view
 * always sum to zero — bandwidth tokens move, they are never made.
 * @module
 */
import { DecodeError, abytes, auint, concatBytes, decodeCanonical, domainTag, encodeCanonical, equalBytes, nobleCrypto, type CborValue, type CryptoProvider, type SyncSigningKey } from '@tally/core'
import { isBytes, isUint, keyString } from '../util.js'
import { bandwidthVoucherFromValue, bandwidthVoucherValue, verifyBandwidthVoucher, type BandwidthVoucher } from './voucher.js'

/** A provider's payout for one period. */
export interface Payout {
  readonly payee: Uint8Array
  readonly period: number
  /** The latest voucher of each payer that rose during the period, by ascending payer. */
  readonly vouchers: readonly BandwidthVoucher[]
  readonly signature: Uint8Array
}

/** Limits on a payout. */
export const PAYOUT_LIMITS: Readonly<{ maxVouchers: number; maxBytes: number }> = Object.freeze({ maxVouchers: 4096, maxBytes: 4096 * 154 + 128 })

/**
 * Sign a payout as the payee.
 * @param key the payee's key
 * @param period the period it covers
 * @param vouchers vouchers naming the payee, at most one per payer (sorted here)
 * @returns the payout
 * @throws RangeError on a voucher for someone else, two of one payer, or too many
 * @example const payout = signPayout(me, period, latestPerPayer)
 */
export function signPayout(key: SyncSigningKey, period: number, vouchers: readonly BandwidthVoucher[]): Payout {
  auint('period', period)
  if (vouchers.length > PAYOUT_LIMITS.maxVouchers) throw new RangeError(`a payout holds at most ${PAYOUT_LIMITS.maxVouchers} vouchers`)
  const sorted = [...vouchers].sort((a, b) => (keyString(a.payer) < keyString(b.payer) ? -1 : 1))
  for (const [i, v] of sorted.entries()) {
    if (!equalBytes(v.payee, key.publicKey)) throw new RangeError('a payout holds only vouchers to its payee')
    if (i > 0 && equalBytes(sorted[i - 1]!.payer, v.payer)) throw new RangeError('a payout holds one voucher per payer')
  }
  const body = { payee: key.publicKey, period, vouchers: sorted }
  return Object.freeze({ ...body, signature: key.sign(payoutMessage(body)) })
}

/**
 * The bytes a payout's signature covers.
 * @param p payee, period, vouchers
 * @returns domainTag('bandwidth-payout') ‖ canonical [payee, period, [voucher, ...]]
 * @example crypto.verify(p.signature, payoutMessage(p), p.payee)
 */
export function payoutMessage(p: { payee: Uint8Array; period: number; vouchers: readonly BandwidthVoucher[] }): Uint8Array {
  return concatBytes(domainTag('bandwidth-payout'), encodeCanonical([p.payee, p.period, p.vouchers.map(bandwidthVoucherValue)]))
}

/**
 * Check a payout: the payee's signature, every voucher to the payee and signed by its payer, one per payer.
 * @param p the payout
 * @param crypto provider (default nobleCrypto)
 * @returns undefined when it checks, else the reason
 * @example const reason = checkPayout(decodePayout(bytes))
 */
export function checkPayout(p: Payout, crypto: CryptoProvider = nobleCrypto): string | undefined {
  if (!isBytes(p?.payee, 32) || !isUint(p.period) || !Array.isArray(p.vouchers) || !isBytes(p.signature, 64)) return 'malformed payout'
  if (p.vouchers.length > PAYOUT_LIMITS.maxVouchers) return 'too many vouchers'
  if (!crypto.verify(p.signature, payoutMessage(p), p.payee)) return 'not signed by its payee'
  for (const [i, v] of p.vouchers.entries()) {
    if (!equalBytes(v.payee, p.payee)) return 'a voucher to someone else'
    if (i > 0 && keyString(p.vouchers[i - 1]!.payer) >= keyString(v.payer)) return 'vouchers not by strictly ascending payer'
    if (!verifyBandwidthVoucher(v, crypto)) return 'a voucher not signed by its payer'
  }
  return undefined
}

/**
 * Encode a payout.
 * @param p the payout
 * @returns canonical CBOR [payee, period, [voucher, ...], signature]
 * @example gossip.publish(encodePayout(ledger.payout(period)!))
 */
export function encodePayout(p: Payout): Uint8Array {
  return encodeCanonical([p.payee, p.period, p.vouchers.map(bandwidthVoucherValue), p.signature])
}

/**
 * Decode a payout from untrusted bytes (form only: checkPayout checks signatures).
 * @param bytes the encoding
 * @returns the payout
 * @throws DecodeError when not a canonical payout within PAYOUT_LIMITS
 * @example view.learn(decodePayout(bytes))
 */
export function decodePayout(bytes: Uint8Array): Payout {
  abytes('bytes', bytes)
  if (bytes.length > PAYOUT_LIMITS.maxBytes) throw new DecodeError(`payout of ${bytes.length} bytes exceeds ${PAYOUT_LIMITS.maxBytes}`)
  const v = decodeCanonical(bytes, { maxBytes: PAYOUT_LIMITS.maxBytes, maxDepth: 3 })
  if (!Array.isArray(v) || v.length !== 4) throw new DecodeError('a payout is [payee, period, vouchers, signature]')
  const [payee, period, list, signature] = v as CborValue[]
  if (!isBytes(payee, 32) || !isUint(period) || !Array.isArray(list) || list.length > PAYOUT_LIMITS.maxVouchers || !isBytes(signature, 64)) throw new DecodeError('a payout is [payee, period, vouchers, signature]')
  const vouchers = list.map(bandwidthVoucherFromValue)
  if (vouchers.some((x) => x === undefined)) throw new DecodeError('a payout holds a malformed voucher')
  return Object.freeze({ payee, period, vouchers: vouchers as BandwidthVoucher[], signature })
}

/** What a peer knows from published payouts. */
export interface PayoutView {
  /**
   * Take in a payout: each voucher raises its pair's total if it is higher.
   * @param checked skip checkPayout (the caller checked it)
   * @returns the reason it was refused, or undefined
   */
  learn(payout: Payout, checked?: boolean): string | undefined
  /** A peer's balance in megabytes: received − paid, as published. */
  balance(peer: Uint8Array): number
  /** The published total of one pair (what `payer` has paid `payee`). */
  paid(payer: Uint8Array, payee: Uint8Array): number
  /** Every peer with a balance, and the sum of all balances (always 0). */
  balances(): { peers: Map<string, number>; sum: number }
}

/**
 * An empty payout view.
 * @param crypto provider for checks (default nobleCrypto)
 * @returns the view
 * @example const view = createPayoutView(); view.learn(decodePayout(bytes))
 */
export function createPayoutView(crypto: CryptoProvider = nobleCrypto): PayoutView {
  const pairs = new Map<string, number>()
  const bal = new Map<string, number>()
  const add = (k: string, d: number) => bal.set(k, (bal.get(k) ?? 0) + d)
  return {
    learn(payout, checked = false) {
      const reason = checked ? undefined : checkPayout(payout, crypto)
      if (reason !== undefined) return reason
      const to = keyString(payout.payee)
      for (const v of payout.vouchers) {
        const from = keyString(v.payer)
        const pair = from + to
        const held = pairs.get(pair) ?? 0
        if (v.mb <= held) continue
        pairs.set(pair, v.mb)
        add(to, v.mb - held)
        add(from, held - v.mb)
      }
      return undefined
    },
    balance: (peer) => bal.get(keyString(peer)) ?? 0,
    paid: (payer, payee) => pairs.get(keyString(payer) + keyString(payee)) ?? 0,
    balances() {
      let sum = 0
      for (const b of bal.values()) sum += b
      return { peers: new Map(bal), sum }
    },
  }
}
