/**
 * Bandwidth vouchers (seed 002): a peer's signed, cumulative statement that it has taken `mb`
 * megabytes of service from another peer in total — the downloader's (or a relay's) IOU in
 * bandwidth tokens. Unlike a channel receipt it is backed by no lock: a peer's balance
 * (megabytes uploaded − downloaded) may go negative, down to the threshold below which providers
 * refuse it (policy.ts). Cumulative, so the provider keeps only the latest per payer and a lost or
 * replayed voucher changes nothing.
 *
 * Layout (signed, so fixed here):
 *
 *   body      = canonical CBOR array [payer: bstr(32), payee: bstr(32), mb: uint, counter: uint]
 *   voucher   = canonical CBOR array [payer, payee, mb, counter, signature: bstr(64)]   (138-153 bytes)
 *   signature = Ed25519 by the payer over domainTag('bandwidth') ‖ body
 * @module
 */
import {
  DecodeError,
  abytes,
  auint,
  concatBytes,
  decodeCanonical,
  domainTag,
  encodeCanonical,
  equalBytes,
  nobleCrypto,
  type CborValue,
  type CryptoProvider,
  type SyncSigningKey,
} from '@tally/core'
import { isBytes, isUint } from '../util.js'

/** A signed bandwidth voucher. */
export interface BandwidthVoucher {
  /** Who took the service (and signs). */
  readonly payer: Uint8Array
  /** Who gave it. */
  readonly payee: Uint8Array
  /** Megabytes taken from the payee in total. */
  readonly mb: number
  /** The payer's number for its vouchers to this payee, from 1. */
  readonly counter: number
  readonly signature: Uint8Array
}

/** Largest voucher encoding: 1 + 34 + 34 + 9 + 9 + 66 bytes. */
export const BANDWIDTH_VOUCHER_MAX_BYTES = 153

/**
 * Sign a bandwidth voucher as the payer.
 * @param key the payer's signing key
 * @param body payee, cumulative megabytes, counter
 * @returns the voucher
 * @throws TypeError / RangeError on a malformed field, or a payee equal to the payer
 * @example const v = signBandwidthVoucher(me, { payee: relay, mb: 700, counter: 3 })
 */
export function signBandwidthVoucher(key: SyncSigningKey, body: { payee: Uint8Array; mb: number; counter: number }): BandwidthVoucher {
  abytes('payee', body?.payee, 32)
  auint('mb', body.mb)
  auint('counter', body.counter, 1)
  if (equalBytes(body.payee, key.publicKey)) throw new RangeError('"payee" is the payer itself')
  const v = { payer: key.publicKey, payee: Uint8Array.from(body.payee), mb: body.mb, counter: body.counter }
  return Object.freeze({ ...v, signature: key.sign(bandwidthVoucherMessage(v)) })
}

/**
 * The bytes a bandwidth voucher's signature covers.
 * @param v payer, payee, mb, counter
 * @returns domainTag('bandwidth') ‖ canonical [payer, payee, mb, counter]
 * @example crypto.verify(v.signature, bandwidthVoucherMessage(v), v.payer)
 */
export function bandwidthVoucherMessage(v: { payer: Uint8Array; payee: Uint8Array; mb: number; counter: number }): Uint8Array {
  return concatBytes(domainTag('bandwidth'), encodeCanonical([v.payer, v.payee, v.mb, v.counter]))
}

/**
 * Check a bandwidth voucher's signature (by the payer it names).
 * @param v the voucher
 * @param crypto provider (default nobleCrypto)
 * @returns true iff its payer signed exactly this voucher
 * @example if (!verifyBandwidthVoucher(v)) refuse()
 */
export function verifyBandwidthVoucher(v: BandwidthVoucher, crypto: CryptoProvider = nobleCrypto): boolean {
  if (!isBytes(v?.payer, 32) || !isBytes(v.payee, 32) || !isUint(v.mb) || !isUint(v.counter) || v.counter < 1 || !isBytes(v.signature, 64)) return false
  return crypto.verify(v.signature, bandwidthVoucherMessage(v), v.payer)
}

/**
 * Encode a bandwidth voucher.
 * @param v the voucher
 * @returns canonical CBOR [payer, payee, mb, counter, signature]
 * @example link.send(encodeBandwidthVoucher(ledger.pay(relay, 700)))
 */
export function encodeBandwidthVoucher(v: BandwidthVoucher): Uint8Array {
  return encodeCanonical(bandwidthVoucherValue(v))
}

/**
 * The voucher as a CBOR value (inside a payout).
 * @param v the voucher
 * @returns [payer, payee, mb, counter, signature]
 * @example encodeCanonical(vouchers.map(bandwidthVoucherValue))
 */
export function bandwidthVoucherValue(v: BandwidthVoucher): CborValue {
  return [v.payer, v.payee, v.mb, v.counter, v.signature]
}

/**
 * Decode a bandwidth voucher from untrusted bytes (form only).
 * @param bytes the encoding
 * @returns the voucher
 * @throws DecodeError when not a canonical voucher
 * @example ledger.receive(decodeBandwidthVoucher(bytes))
 */
export function decodeBandwidthVoucher(bytes: Uint8Array): BandwidthVoucher {
  abytes('bytes', bytes)
  if (bytes.length > BANDWIDTH_VOUCHER_MAX_BYTES) throw new DecodeError(`bandwidth voucher of ${bytes.length} bytes exceeds ${BANDWIDTH_VOUCHER_MAX_BYTES}`)
  const v = bandwidthVoucherFromValue(decodeCanonical(bytes, { maxBytes: BANDWIDTH_VOUCHER_MAX_BYTES, maxDepth: 1 }))
  if (v === undefined) throw new DecodeError('a bandwidth voucher is [payer, payee, mb, counter >= 1, signature (64 bytes)]')
  return v
}

/**
 * The voucher in a CBOR value (form only).
 * @param value [payer, payee, mb, counter, signature]
 * @returns the voucher, or undefined when malformed
 * @example const v = bandwidthVoucherFromValue(list[0])
 */
export function bandwidthVoucherFromValue(value: CborValue): BandwidthVoucher | undefined {
  if (!Array.isArray(value) || value.length !== 5) return undefined
  const [payer, payee, mb, counter, signature] = value as CborValue[]
  if (!isBytes(payer, 32) || !isBytes(payee, 32) || !isUint(mb) || !isUint(counter) || counter < 1 || !isBytes(signature, 64)) return undefined
  return Object.freeze({ payer, payee, mb, counter, signature })
}
