/**
 * Vouchers: a lock owner's signed promise that the lock's beneficiary may take, in total, `amount`
 * from the lock. Vouchers are cumulative: each one supersedes the ones before, so the payee keeps
 * only the latest and redeems the increment over what it has taken. They are made and checked off
 * line — a payment channel's receipts, one per payment — and carry nothing about transport: the
 * bytes below are all there is, small enough for an NFC-like link.
 *
 * Layout (signed, so fixed here):
 *
 *   body      = canonical CBOR array [lock: bstr(32), amount: uint, counter: uint]
 *   voucher   = canonical CBOR array [lock, amount, counter, signature: bstr(64)]     (104-119 bytes)
 *   signature = Ed25519 by the lock's owner over domainTag('voucher') ‖ body
 *
 * `lock` is the lock id (the lock block's hash): it names the owner (whose key is hashed into it),
 * the beneficiary, the amount and the terms, so a voucher cannot be replayed against another lock
 * or another payee. (Blocks do not name their community, so neither does a voucher: the lock it
 * names is one block of one chain, whichever community judges it.) `amount` is cumulative;
 * `counter` numbers the payer's vouchers for the lock (1, 2, ...), so both sides can tell the
 * latest and notice a lost one. The payee checks one signature to accept a voucher. Inside a redeem block a voucher travels without
 * its lock id (the redeem names the lock): `[amount, counter, signature]`.
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
  nobleCrypto,
  signThen,
  type CborValue,
  type CryptoProvider,
  type SignResult,
  type SigningKey,
} from '@tally/core'
import { isBytes, isUint } from '../util.js'

/** A signed voucher. */
export interface Voucher {
  /** The lock id (the lock block's hash). */
  readonly lock: Uint8Array
  /** The cumulative amount the beneficiary may take from the lock. */
  readonly amount: number
  /** The payer's number for this voucher, from 1. */
  readonly counter: number
  /** Ed25519 by the lock's owner (64 bytes). */
  readonly signature: Uint8Array
}

/** What a voucher says, before it is signed. */
export interface VoucherBody {
  readonly lock: Uint8Array
  readonly amount: number
  readonly counter: number
}

/** Largest voucher encoding: 1 + 34 + 9 + 9 + 66 bytes. */
export const VOUCHER_MAX_BYTES = 119

/**
 * Sign a voucher as the lock's owner.
 * @param key the lock owner's signing key (may sign asynchronously)
 * @param body lock id, cumulative amount, counter
 * @returns the voucher (a promise of it for an asynchronous key)
 * @throws TypeError / RangeError on a malformed field
 * @example const v = signVoucher(alice, { lock: lockId, amount: 30, counter: 3 })
 */
export function signVoucher<K extends SigningKey>(key: K, body: VoucherBody): SignResult<K, Voucher> {
  abytes('lock', body?.lock, 32)
  auint('amount', body.amount)
  auint('counter', body.counter, 1)
  const { lock, amount, counter } = body
  return signThen(key, voucherMessage(body), (signature): Voucher => Object.freeze({ lock: Uint8Array.from(lock), amount, counter, signature }))
}

/**
 * The bytes a voucher's signature covers.
 * @param body lock id, amount, counter
 * @returns domainTag('voucher') ‖ canonical [lock, amount, counter]
 * @example crypto.verify(v.signature, voucherMessage(v), owner)
 */
export function voucherMessage(body: VoucherBody): Uint8Array {
  return concatBytes(domainTag('voucher'), encodeCanonical([body.lock, body.amount, body.counter]))
}

/**
 * Check a voucher's signature.
 * @param voucher the voucher
 * @param owner the lock owner's public key
 * @param crypto provider (default nobleCrypto)
 * @returns true iff the lock's owner signed exactly this voucher
 * @example if (!verifyVoucher(v, lock.owner)) refuse()
 */
export function verifyVoucher(voucher: Voucher, owner: Uint8Array, crypto: CryptoProvider = nobleCrypto): boolean {
  if (!isBytes(voucher?.lock, 32) || !isUint(voucher.amount) || !isUint(voucher.counter) || voucher.counter < 1 || !isBytes(voucher.signature, 64)) return false
  return crypto.verify(voucher.signature, voucherMessage(voucher), owner)
}

/**
 * Encode a voucher for the wire.
 * @param voucher the voucher
 * @returns canonical CBOR [lock, amount, counter, signature]
 * @example link.send(encodeVoucher(v))
 */
export function encodeVoucher(voucher: Voucher): Uint8Array {
  return encodeCanonical([voucher.lock, voucher.amount, voucher.counter, voucher.signature])
}

/**
 * Decode a voucher from untrusted bytes (form only: verifyVoucher checks the signature).
 * @param bytes the encoding
 * @returns the voucher
 * @throws DecodeError when not a canonical voucher
 * @example const v = decodeVoucher(bytes); verifyVoucher(v, lock.owner)
 */
export function decodeVoucher(bytes: Uint8Array): Voucher {
  abytes('bytes', bytes)
  if (bytes.length > VOUCHER_MAX_BYTES) throw new DecodeError(`voucher of ${bytes.length} bytes exceeds ${VOUCHER_MAX_BYTES}`)
  const v = decodeCanonical(bytes, { maxBytes: VOUCHER_MAX_BYTES, maxDepth: 1 })
  if (!Array.isArray(v) || v.length !== 4) throw new DecodeError('a voucher must be [lock, amount, counter, signature]')
  const [lock, amount, counter, signature] = v as CborValue[]
  if (!isBytes(lock, 32)) throw new DecodeError('a voucher\'s lock must be 32 bytes')
  if (!isUint(amount) || !isUint(counter) || counter < 1) throw new DecodeError('a voucher\'s amount and counter must be integers, the counter from 1')
  if (!isBytes(signature, 64)) throw new DecodeError('a voucher\'s signature must be 64 bytes')
  return Object.freeze({ lock, amount, counter, signature })
}

/**
 * The value a redeem block carries for a voucher: the voucher without its lock id.
 * @param voucher the voucher
 * @returns [amount, counter, signature]
 * @example { by: ['voucher', voucherValue(v)], ... }
 */
export function voucherValue(voucher: Voucher): CborValue {
  return [voucher.amount, voucher.counter, voucher.signature]
}

/**
 * A voucher from the value inside a redeem block and the lock it names.
 * @param lock the lock id
 * @param value [amount, counter, signature]
 * @returns the voucher, or undefined when the value is malformed
 * @example const v = voucherFromValue(ref.hash, redeem.by.value)
 */
export function voucherFromValue(lock: Uint8Array, value: CborValue): Voucher | undefined {
  if (!Array.isArray(value) || value.length !== 3) return undefined
  const [amount, counter, signature] = value as CborValue[]
  if (!isUint(amount) || !isUint(counter) || counter < 1 || !isBytes(signature, 64)) return undefined
  return { lock, amount, counter, signature }
}
