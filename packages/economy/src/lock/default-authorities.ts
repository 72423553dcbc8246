/**
 * The redeem authorities the lock types and a wallet know when given none: vouchers and channel
 * receipts. Its own module, so that both the lock types' fraud kinds (in Node, at once) and the code
 * a page loads on demand (../on-demand.ts) take it from one place.
 * @module
 */
import { receiptAuthority } from '../channels/receipt-authority.js'
import { voucherAuthority, type RedeemAuthority } from './authority.js'

/**
 * The default redeem authorities.
 * @returns a fresh array: the voucher and channel-receipt authorities
 * @internal
 */
export function defaultAuthorities(): RedeemAuthority[] {
  return [voucherAuthority(), receiptAuthority()]
}
