/**
 * Receipts: a payment channel's payments. A receipt is the payer's signed statement that the payee
 * may take, in total, `amount` from the channel — cumulative, like a lock's voucher, so each one
 * supersedes the ones before and the payee keeps only the latest. It is made and checked off line,
 * one signature to pay and one check to accept, and knows nothing about transport: the bytes below
 * are all there is, small enough for one NFC frame.
 *
 * Layout (signed, so fixed here):
 *
 *   body      = canonical CBOR array [channel: bstr(32), amount: uint, counter: uint]
 *   receipt   = canonical CBOR array [channel, amount, counter, signature: bstr(64)]    (104-119 bytes)
 *   signature = Ed25519 by the payer over domainTag('receipt') ‖ body
 *
 * `channel` is the channel id: the hash of the lock block that opened it. A channel grows by more
 * locks (recharges), so its cumulative amount spans them all (channel-terms.ts says how). The tag is
 * not the voucher's: a receipt never verifies as a voucher for the opening lock, whose id it shares,
 * so a rule or proof about vouchers can never misread one. `counter` numbers the payer's receipts
 * for the channel from 1, so both sides can tell the latest and notice a lost one.
 * @module
 */
import {
  DecodeError,
  cborUintSize,
  readCborUint,
  writeCborUint,
  abytes,
  auint,
  decodeCanonical,
  domainTag,
  nobleCrypto,
  signThen,
  type CborValue,
  type CryptoProvider,
  type SignResult,
  type SigningKey,
} from '@tally/core'
import { isBytes, isUint } from '../util.js'

/** A signed receipt. */
export interface Receipt {
  /** The channel id (the opening lock block's hash). */
  readonly channel: Uint8Array
  /** The cumulative amount the payee may take from the channel. */
  readonly amount: number
  /** The payer's number for this receipt, from 1. */
  readonly counter: number
  /** Ed25519 by the payer (64 bytes). */
  readonly signature: Uint8Array
}

/** What a receipt says, before it is signed. */
export interface ReceiptBody {
  readonly channel: Uint8Array
  readonly amount: number
  readonly counter: number
}

/** Largest receipt encoding: 1 + 34 + 9 + 9 + 66 bytes. */
export const RECEIPT_MAX_BYTES = 119

/**
 * Sign a receipt as the channel's payer.
 * @param key the payer's signing key (may sign asynchronously)
 * @param body channel id, cumulative amount, counter
 * @returns the receipt (a promise of it for an asynchronous key)
 * @throws TypeError / RangeError on a malformed field
 * @example const r = signReceipt(alice, { channel, amount: 30, counter: 3 })
 */
export function signReceipt<K extends SigningKey>(key: K, body: ReceiptBody): SignResult<K, Receipt> {
  abytes('channel', body?.channel, 32)
  auint('amount', body.amount)
  auint('counter', body.counter, 1)
  const { channel, amount, counter } = body
  return signThen(key, receiptMessage(body), (signature): Receipt => Object.freeze({ channel: Uint8Array.from(channel), amount, counter, signature }))
}

/**
 * The bytes a receipt's signature covers.
 * @param body channel, amount, counter
 * @returns domainTag('receipt') ‖ canonical [channel, amount, counter]
 * @example crypto.verify(r.signature, receiptMessage(r), payer)
 */
export function receiptMessage(body: ReceiptBody): Uint8Array {
  const tag = domainTag('receipt')
  const out = new Uint8Array(tag.length + 1 + 34 + cborUintSize(body.amount) + cborUintSize(body.counter))
  out.set(tag)
  let at = tag.length
  out[at++] = 0x83
  at = putBody(out, at, body)
  return out
}

/**
 * Reusable buffers for the hot path of one payer or payee: the bytes a receipt's signature covers
 * and the signature, written into buffers allocated once. A native verifier (libsodium through
 * sodium-native) given a freshly allocated array must give it a backing store of its own first,
 * and a receipt's path would otherwise make three such arrays (its message twice, its signature
 * once) for the garbage collector, about as much work as everything else a payment does besides
 * its two signatures. The bytes are those of receiptMessage; a view is valid until the next call,
 * so each use is synchronous (a verify) or one at a time (a payer's operations are serialized).
 */
export interface ReceiptScratch {
  /** receiptMessage(body), in the scratch buffer. */
  message(body: ReceiptBody): Uint8Array
  /** A copy of a 64-byte signature, in the scratch buffer. */
  signature(signature: Uint8Array): Uint8Array
}

/**
 * A scratch for one side's receipts (see ReceiptScratch).
 * @returns the scratch
 * @example const s = receiptScratch(); crypto.verify(s.signature(r.signature), s.message(r), payer)
 */
export function receiptScratch(): ReceiptScratch {
  const tag = domainTag('receipt')
  const start = tag.length + 1 // the body's array header, then its fields
  const buffer = new Uint8Array(64 + start + 34 + 9 + 9)
  const sig = buffer.subarray(0, 64)
  const message = buffer.subarray(64)
  message.set(tag)
  message[tag.length] = 0x83
  const views: Uint8Array[] = [] // by length: a message's length takes one of a few values
  return {
    message(body) {
      const end = putBody(message, start, body)
      return (views[end] ??= message.subarray(0, end))
    },
    signature(signature) {
      sig.set(signature)
      return sig
    },
  }
}

/**
 * Check a receipt's signature.
 * @param receipt the receipt
 * @param payer the payer's public key (the channel's locks' owner)
 * @param crypto provider (default nobleCrypto)
 * @returns true iff the payer signed exactly this receipt
 * @example if (!verifyReceipt(r, payer)) refuse()
 */
export function verifyReceipt(receipt: Receipt, payer: Uint8Array, crypto: CryptoProvider = nobleCrypto): boolean {
  if (!isBytes(receipt?.channel, 32) || !isUint(receipt.amount) || !isUint(receipt.counter) || receipt.counter < 1 || !isBytes(receipt.signature, 64)) return false
  return crypto.verify(receipt.signature, receiptMessage(receipt), payer)
}

/**
 * Encode a receipt for any byte link.
 * @param receipt the receipt
 * @returns canonical CBOR [channel, amount, counter, signature], at most RECEIPT_MAX_BYTES
 * @example nfc.send(encodeReceipt(r))
 */
export function encodeReceipt(receipt: Receipt): Uint8Array {
  const out = new Uint8Array(1 + 34 + cborUintSize(receipt.amount) + cborUintSize(receipt.counter) + 66)
  out[0] = 0x84
  let at = putBody(out, 1, receipt)
  out[at++] = 0x58
  out[at++] = 64
  out.set(receipt.signature, at)
  return out
}

/**
 * Decode a receipt from untrusted bytes (form only: verifyReceipt checks the signature).
 * @param bytes the encoding
 * @returns the receipt
 * @throws DecodeError when not a canonical receipt (or longer than RECEIPT_MAX_BYTES)
 * @example const r = decodeReceipt(bytes); verifyReceipt(r, payer)
 */
export function decodeReceipt(bytes: Uint8Array): Receipt {
  abytes('bytes', bytes)
  if (bytes.length > RECEIPT_MAX_BYTES) throw new DecodeError(`receipt of ${bytes.length} bytes exceeds ${RECEIPT_MAX_BYTES}`)
  const fast = readFixed(bytes)
  if (fast !== undefined) return fast
  // anything but the exact layout: the general decoder names what is wrong
  const v = decodeCanonical(bytes, { maxBytes: RECEIPT_MAX_BYTES, maxDepth: 1 })
  if (!Array.isArray(v) || v.length !== 4) throw new DecodeError('a receipt must be [channel, amount, counter, signature]')
  const [channel, amount, counter, signature] = v as CborValue[]
  if (!isBytes(channel, 32)) throw new DecodeError('a receipt\'s channel must be 32 bytes')
  if (!isUint(amount) || !isUint(counter) || counter < 1) throw new DecodeError('a receipt\'s amount and counter must be integers, the counter from 1')
  if (!isBytes(signature, 64)) throw new DecodeError('a receipt\'s signature must be 64 bytes')
  if (bytes.length !== encodeReceipt({ channel, amount, counter, signature }).length) throw new DecodeError('not a canonical receipt')
  return Object.freeze({ channel, amount, counter, signature })
}

// ## Private helpers
//
// A receipt has one layout, so it is written and read by hand (4-10x faster than the general
// codec, which matters at one receipt per payment on a machine's small CPU). The bytes are exactly
// the canonical CBOR of the array — RFC 8949 §4.2.1, integers in their shortest form — which a
// fast-check property checks against encodeCanonical / decodeCanonical (test/channels.test.ts).

/** channel (bstr 32), amount, counter — after the array header. */
function putBody(out: Uint8Array, at: number, body: ReceiptBody): number {
  out[at++] = 0x58
  out[at++] = 32
  out.set(body.channel, at)
  return writeCborUint(out, writeCborUint(out, at + 32, body.amount), body.counter)
}

/** The receipt, when `bytes` are exactly its canonical layout; else undefined. */
function readFixed(b: Uint8Array): Receipt | undefined {
  if (b.length < 104 || b[0] !== 0x84 || b[1] !== 0x58 || b[2] !== 32) return undefined
  const amount = readCborUint(b, 35)
  const counter = amount === undefined ? undefined : readCborUint(b, amount[1])
  if (amount === undefined || counter === undefined || counter[0] < 1) return undefined
  const at = counter[1]
  if (b.length !== at + 66 || b[at] !== 0x58 || b[at + 1] !== 64) return undefined
  return Object.freeze({ channel: b.slice(3, 35), amount: amount[0], counter: counter[0], signature: b.slice(at + 2) })
}
