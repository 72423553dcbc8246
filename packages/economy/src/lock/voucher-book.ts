/**
 * A wallet's voucher book: the latest voucher per lock, those it signed as a payer and those it
 * accepted as a payee. Vouchers are cumulative, so the latest (the highest amount) is all that
 * matters: it is what a payee redeems and consents around, and what a payer's release must leave.
 *
 * A payer's book must be as durable as its chain: a wallet that forgot a voucher it signed would
 * release what it had promised, and the payee's voucher would prove that fraud. The interface is
 * asynchronous-capable so a durable store can back it; createVoucherBook keeps it in memory.
 * @module
 */
import { toHex } from '@tally/core'
import type { VoucherSource } from './authority.js'
import type { Voucher } from './voucher.js'

/** The latest voucher per lock. */
export interface VoucherBook extends VoucherSource {
  /**
   * Keep `voucher` if it is above the one held for its lock (a higher amount, or the same amount
   * and a higher counter). The caller has checked its signature.
   */
  keep(voucher: Voucher): void | Promise<void>
}

/**
 * An in-memory voucher book.
 * @returns the book
 * @example const vouchers = createVoucherBook(); const wallet = createWallet({ agent, community, evidence, key, vouchers })
 */
export function createVoucherBook(): VoucherBook {
  const latest = new Map<string, Voucher>()
  return {
    best(lock) {
      return lock instanceof Uint8Array ? latest.get(toHex(lock)) : undefined
    },
    keep(voucher) {
      const id = toHex(voucher.lock)
      const held = latest.get(id)
      if (held === undefined || voucher.amount > held.amount || (voucher.amount === held.amount && voucher.counter > held.counter)) latest.set(id, voucher)
    },
  }
}
