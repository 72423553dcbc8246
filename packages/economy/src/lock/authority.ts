/**
 * Redeem authorities: what entitles a lock's beneficiary to take from it. A redeem block carries
 * its authority as `by: [kind, value]`; the kind is looked up in the registry the lock types were
 * made with. Vouchers are built in ('voucher'); a market adds its own — a witness certificate
 * that an SLA cycle passed or failed — by implementing this interface.
 *
 * Every authority says what it entitles as a *slot* and a *level*: the beneficiary may have taken,
 * in total, `level` from that slot of the lock. A voucher has one slot (0) and its cumulative
 * amount as level, so a later voucher raises the level and the redeem takes the increment. A
 * certificate of cycle n is slot n with the cycle's instalment as level, redeemable once. The
 * rules then need only the previous redeem of the same lock: slots never go back, and within a
 * slot the level only rises (see lock-type.ts). A market whose certificate for a cycle comes late
 * redeems it before the next cycle's, or forfeits it.
 * @module
 */
import type { BlockStore, CborValue, CryptoProvider } from '@tally/core'
import type { Community } from '../community.js'
import type { LockView } from './lock-payload.js'
import { verifyVoucher, voucherFromValue, type Voucher } from './voucher.js'

/** The kind name of voucher authorities. */
export const VOUCHER = 'voucher'

/** What an authority entitles: the total the beneficiary may have taken from one slot of a lock. */
export interface Entitlement {
  /** The slot (0 for vouchers; a cycle or epoch for certificates). */
  readonly slot: number
  /** The total the slot allows. */
  readonly level: number
}

/** What an authority's check may look at. */
export interface AuthorityContext {
  /** The provider in use. */
  readonly crypto: CryptoProvider
  /** The validator's store (read only). */
  readonly store: BlockStore
  /** The community (its witnesses certify outcomes). */
  readonly community: Community
}

/** One kind of redeem authority. */
export interface RedeemAuthority {
  /** Its name in `by: [kind, value]`: 1-32 characters. */
  readonly kind: string
  /**
   * Slot and level from the value's form alone — no signature, no store. Fraud verifiers call it,
   * so it must be pure, cheap and never throw.
   * @returns undefined when the value is malformed
   */
  read(value: CborValue): Entitlement | undefined
  /**
   * Whether the value authorizes taking from `lock`: signatures, certificates, the lock's terms.
   * @returns undefined when it does, else the reason it does not
   */
  check(value: CborValue, lock: LockView, ctx: AuthorityContext): string | undefined | Promise<string | undefined>
}

/** Where the lock rules find the latest voucher known for a lock (a wallet's voucher book). */
export interface VoucherSource {
  /**
   * The voucher with the highest amount known for this lock, signed or received.
   * @param lock the lock id
   */
  best(lock: Uint8Array): Voucher | undefined | Promise<Voucher | undefined>
}

/**
 * The voucher authority: `value = [amount, counter, signature]`, signed by the lock's owner over
 * the lock id; slot 0, level = the cumulative amount.
 * @returns the authority
 * @example createLockTypes({ community, authorities: [voucherAuthority(), slaAuthority] })
 */
export function voucherAuthority(): RedeemAuthority {
  return Object.freeze({
    kind: VOUCHER,
    read(value: CborValue): Entitlement | undefined {
      const v = voucherFromValue(ZERO, value)
      return v === undefined ? undefined : { slot: 0, level: v.amount }
    },
    check(value: CborValue, lock: LockView, ctx: AuthorityContext): string | undefined {
      const v = voucherFromValue(lock.id, value)
      if (v === undefined) return 'a voucher is [amount, counter, signature]'
      return verifyVoucher(v, lock.owner, ctx.crypto) ? undefined : 'the voucher is not signed by the lock\'s owner for this lock'
    },
  })
}

// ## Private helpers

const ZERO = new Uint8Array(32)
