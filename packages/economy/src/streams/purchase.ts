/**
 * Purchases: a buyer pays the sensor's owner with a `transfer` (its own chain's proposal, which the
 * owner countersigns), then asks for the stream with a purchase statement that binds that payment
 * to the buyer's X25519 key. The seller checks the payment in its own chain and answers with a key
 * grant (grant.ts). No payment, no key; each payment buys floor(amount / price) periods from the
 * period in which the owner countersigned it, once.
 *
 * Layout (signed, so fixed here):
 *
 *   body      = canonical CBOR [buyer: bstr(32), sensor: bstr(32), payment: uint ≥ 1, recipient: bstr(32)]
 *   signature = Ed25519 by the buyer over streamTag('purchase') ‖ body
 *   purchase  = canonical CBOR [...body, signature: bstr(64)]             (~180 bytes)
 *
 * `payment` is the seq of the buyer's transfer proposal to the owner. Why a statement beside the
 * transfer rather than a field inside it: a transfer's payload is the transfer rules' own exact
 * map (one encoding, checked by every node that replays balances); binding the key to the
 * payment by the payer's signature gives the same guarantee — only the payer can say which key a
 * payment is for — and leaves the money's rules untouched. A renewal is another transfer with a
 * purchase for the same recipient key: its periods follow on from the ones already bought.
 * @module
 */
import {
  DecodeError,
  abytes,
  auint,
  concatBytes,
  decodeCanonical,
  encodeCanonical,
  nobleCrypto,
  signThen,
  type BlockStore,
  type CborValue,
  type CryptoProvider,
  type SignResult,
  type SigningKey,
} from '@tally/core'
import { TRANSFER, readTransfer } from '../payload.js'
import { isBytes, isUint } from '../util.js'
import { streamTag } from './seal.js'

/** Largest encoded purchase, in bytes. */
export const PURCHASE_MAX_BYTES = 200

/** A buyer's signed purchase statement. */
export interface Purchase {
  readonly buyer: Uint8Array
  readonly sensor: Uint8Array
  /** The seq of the buyer's transfer proposal to the owner. */
  readonly payment: number
  /** The buyer's X25519 key for this subscription. */
  readonly recipient: Uint8Array
  readonly signature: Uint8Array
}

/**
 * Sign a purchase as the buyer.
 * @param buyer the buyer's signing key and public key (the payer of the transfer)
 * @param body sensor, the payment's seq, the recipient key
 * @returns the purchase (a promise for an asynchronous key)
 * @throws TypeError / RangeError on malformed fields
 * @example const p = await signPurchase(me, { sensor, payment: tx.proposal.seq, recipient: keys.publicKey })
 */
export function signPurchase<K extends SigningKey>(buyer: K & { readonly publicKey: Uint8Array }, body: { sensor: Uint8Array; payment: number; recipient: Uint8Array }): SignResult<K, Purchase> {
  const key = Uint8Array.from(abytes('buyer.publicKey', buyer?.publicKey, 32))
  abytes('sensor', body?.sensor, 32)
  auint('payment', body.payment, 1)
  abytes('recipient', body.recipient, 32)
  const unsigned = { buyer: key, sensor: Uint8Array.from(body.sensor), payment: body.payment, recipient: Uint8Array.from(body.recipient) }
  return signThen(buyer, purchaseMessage(unsigned), (signature): Purchase => Object.freeze({ ...unsigned, signature }))
}

/**
 * The bytes a purchase's signature covers.
 * @example crypto.verify(p.signature, purchaseMessage(p), p.buyer)
 */
export function purchaseMessage(p: Omit<Purchase, 'signature'>): Uint8Array {
  return concatBytes(streamTag('purchase'), encodeCanonical([p.buyer, p.sensor, p.payment, p.recipient]))
}

/**
 * True iff the named buyer signed exactly this purchase.
 * @example if (!verifyPurchase(p)) refuse()
 */
export function verifyPurchase(p: Purchase, crypto: CryptoProvider = nobleCrypto): boolean {
  return crypto.verify(p.signature, purchaseMessage(p), p.buyer)
}

/**
 * The purchase as a CBOR value.
 * @example ctx.request('subscribe', p) // the codec encodes purchaseValue(p)
 */
export function purchaseValue(p: Purchase): CborValue {
  return [p.buyer, p.sensor, p.payment, p.recipient, p.signature]
}

/**
 * Encode a purchase: canonical CBOR [buyer, sensor, payment, recipient, signature].
 * @example const bytes = encodePurchase(p)
 */
export function encodePurchase(p: Purchase): Uint8Array {
  return encodeCanonical(purchaseValue(p))
}

/**
 * Decode a purchase from untrusted bytes (form only).
 * @throws DecodeError when malformed
 * @example const p = decodePurchase(bytes); verifyPurchase(p)
 */
export function decodePurchase(bytes: Uint8Array): Purchase {
  abytes('bytes', bytes)
  if (bytes.length > PURCHASE_MAX_BYTES) throw new DecodeError(`purchase of ${bytes.length} bytes exceeds ${PURCHASE_MAX_BYTES}`)
  return purchaseFromValue(decodeCanonical(bytes, { maxBytes: PURCHASE_MAX_BYTES, maxDepth: 1 }))
}

/**
 * A purchase from a decoded CBOR value.
 * @throws DecodeError when malformed
 * @example const p = purchaseFromValue(decodeCanonical(bytes))
 */
export function purchaseFromValue(v: CborValue): Purchase {
  if (!Array.isArray(v) || v.length !== 5) throw new DecodeError('a purchase is [buyer, sensor, payment, recipient, signature]')
  const [buyer, sensor, payment, recipient, signature] = v as CborValue[]
  if (!isBytes(buyer, 32) || !isBytes(sensor, 32) || !isBytes(recipient, 32)) throw new DecodeError('a purchase\'s buyer, sensor and recipient must be 32 bytes')
  if (!isUint(payment) || payment < 1) throw new DecodeError('a purchase\'s payment must be a seq from 1')
  if (!isBytes(signature, 64)) throw new DecodeError('a purchase\'s signature must be 64 bytes')
  return Object.freeze({ buyer, sensor, payment, recipient, signature })
}

/** A payment the owner holds: how much, and when it was countersigned. */
export interface Payment {
  readonly amount: number
  /** The owner's agreement's timestamp (ms). */
  readonly time: number
}

/** Where a seller looks up payments. */
export interface PaymentSource {
  /**
   * The payment the buyer's proposal at `seq` made to the owner, when the owner countersigned it.
   * @returns the amount and time, or undefined when there is none
   */
  payment(buyer: Uint8Array, seq: number): Promise<Payment | undefined>
}

/**
 * Payments as `transfer` transactions in the owner's own chain: the owner's agreement to the
 * buyer's proposal at `seq` (validated by the owner's agent when it countersigned: balances,
 * signatures), its amount and timestamp.
 * @param store the owner's store
 * @param owner the owner's key (who was paid)
 * @returns the source
 * @example createStreamService({ host: node, payments: transferPayments(node.store, node.publicKey), ... })
 */
export function transferPayments(store: BlockStore, owner: Uint8Array): PaymentSource {
  const me = Uint8Array.from(abytes('owner', owner, 32))
  return {
    async payment(buyer, seq) {
      const agreement = await store.findAgreement(buyer, seq, me)
      if (agreement === undefined || agreement.type !== TRANSFER) return undefined
      const t = readTransfer(agreement.payload, true)
      return t === undefined ? undefined : { amount: t.amount, time: agreement.timestamp }
    },
  }
}
