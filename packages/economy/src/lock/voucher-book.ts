/**
 * A wallet's voucher book: the latest voucher per lock, those it signed as a payer and those it
 * accepted as a payee. Vouchers are cumulative, so the latest (the highest amount) is all that
 * matters: it is what a payee redeems and consents around, and what a payer's release must leave.
 *
 * A payer's book must be as durable as its chain: a wallet that forgot a voucher it signed would
 * release what it had promised, and the payee's voucher would prove that fraud. The interface is
 * asynchronous-capable so a durable store can back it: createVoucherBook keeps it in memory, or on
 * a durable table.
 * @module
 */
import { toHex } from '@tally/core'
import type { VoucherSource } from './authority.js'
import type { RecordTable } from '../channels/receipt-store.js'
import { decodeVoucher, encodeVoucher, type Voucher } from './voucher.js'

/** The latest voucher per lock. */
export interface VoucherBook extends VoucherSource {
  /**
   * Keep `voucher` if it is above the one held for its lock (a higher amount, or the same amount
   * and a higher counter). The caller has checked its signature.
   */
  keep(voucher: Voucher): void | Promise<void>
}

/**
 * A voucher book: in memory, or on a durable table (each `keep` resolves once the voucher is on
 * disk with @tally/node's `openLevelRecords`; records `v.<lock id hex>` → encodeVoucher).
 * @param table where vouchers live (default: in memory; nothing survives the process)
 * @returns the book
 * @example const vouchers = createVoucherBook(await openLevelRecords({ path: './vouchers' })); const wallet = createWallet({ agent, community, evidence, key, vouchers })
 */
export function createVoucherBook(table?: RecordTable): VoucherBook {
  const above = (v: Voucher, held: Voucher | undefined) => held === undefined || v.amount > held.amount || (v.amount === held.amount && v.counter > held.counter)
  if (table !== undefined) {
    return {
      async best(lock) {
        if (!(lock instanceof Uint8Array)) return undefined
        const bytes = await table.get(`v.${toHex(lock)}`)
        return bytes === undefined ? undefined : decodeVoucher(bytes)
      },
      async keep(voucher) {
        const id = `v.${toHex(voucher.lock)}`
        const bytes = await table.get(id)
        if (above(voucher, bytes === undefined ? undefined : decodeVoucher(bytes))) await table.put(id, encodeVoucher(voucher))
      },
    }
  }
  const latest = new Map<string, Voucher>()
  return {
    best(lock) {
      return lock instanceof Uint8Array ? latest.get(toHex(lock)) : undefined
    },
    keep(voucher) {
      const id = toHex(voucher.lock)
      if (above(voucher, latest.get(id))) latest.set(id, voucher)
    },
  }
}
