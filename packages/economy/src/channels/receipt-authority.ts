/**
 * The redeem authority of channel receipts (kind 'receipt'). A payee redeems each lock of a channel
 * on the channel's latest receipt; what the receipt entitles it to from that lock depends on where
 * the lock sits, so the value carries it beside the receipt:
 *
 *   value = [amount, counter, signature, offset, cap]     (the receipt without its channel id)
 *
 * `read` (pure, for fraud verifiers) gives slot 0 and level clamp(amount − offset, 0, cap);
 * `check` ties the value to the lock: offset and channel from the lock's terms, cap = the lock's
 * amount, and the payer's signature over the channel id. A value that lies about offset or cap
 * is refused by `check`, and the lock rules cap what any redeem takes at the lock's amount.
 * @module
 */
import type { CborValue } from '@tally/core'
import type { AuthorityContext, Entitlement, RedeemAuthority } from '../lock/authority.js'
import type { LockView } from '../lock/lock-payload.js'
import { isBytes, isUint } from '../util.js'
import { channelPlace, covered, type ChannelPlace } from './channel-terms.js'
import { verifyReceipt, type Receipt } from './receipt.js'

/** The kind name of receipt authorities. */
export const RECEIPT = 'receipt'

/**
 * The receipt authority.
 * @returns the authority, for lockTypes' and createWallet's `authorities`
 * @example createEconomyTypes({ community, evidence, lock: { authorities: [voucherAuthority(), receiptAuthority()] } })
 */
export function receiptAuthority(): RedeemAuthority {
  return Object.freeze({
    kind: RECEIPT,
    read(value: CborValue): Entitlement | undefined {
      const v = readValue(value)
      return v === undefined ? undefined : { slot: 0, level: covered(v.amount, v.offset, v.cap) }
    },
    check(value: CborValue, lock: LockView, ctx: AuthorityContext): string | undefined {
      const v = readValue(value)
      if (v === undefined) return 'a receipt value is [amount, counter, signature, offset, cap]'
      const place = channelPlace(lock)
      if (place === undefined) return 'the lock is not a channel\'s'
      if (v.offset !== place.offset || v.cap !== lock.amount) return `the value places the lock at offset ${v.offset} with ${v.cap}; it is at ${place.offset} with ${lock.amount}`
      const receipt: Receipt = { channel: place.channel, amount: v.amount, counter: v.counter, signature: v.signature }
      return verifyReceipt(receipt, lock.owner, ctx.crypto) ? undefined : 'the receipt is not signed by the lock\'s owner for this channel'
    },
  })
}

/**
 * The value a redeem of one channel lock carries.
 * @param receipt the channel's receipt
 * @param place the lock's place in the channel
 * @param cap the lock's amount
 * @returns [amount, counter, signature, offset, cap]
 * @example wallet.redeem(lock, { kind: RECEIPT, value: receiptValue(latest, place, view.amount) })
 */
export function receiptValue(receipt: Receipt, place: ChannelPlace, cap: number): CborValue {
  return [receipt.amount, receipt.counter, receipt.signature, place.offset, cap]
}

// ## Private helpers

function readValue(value: CborValue): { amount: number; counter: number; signature: Uint8Array; offset: number; cap: number } | undefined {
  if (!Array.isArray(value) || value.length !== 5) return undefined
  const [amount, counter, signature, offset, cap] = value as CborValue[]
  if (!isUint(amount) || !isUint(counter) || counter < 1 || !isBytes(signature, 64) || !isUint(offset) || !isUint(cap)) return undefined
  return { amount, counter, signature, offset, cap }
}
