/**
 * Paying along a relay path (seed 002's Tor-like overlay, as ConTrib pays it): a download of `mb`
 * megabytes over [downloader, relay 1, …, relay h, seeder] is paid hop by hop — the downloader pays
 * relay 1 for the whole path, relay 1 keeps its share and pays relay 2 for the rest, and so on, so
 * that every relay and the seeder earn `mb` and the downloader pays mb × (h + 1): anonymity costs
 * bandwidth. Each hop knows only its neighbours, so each checks only its own payer's balance.
 * @module
 */
import { abytes } from '@tally/core'

/** One hop's payment. */
export interface HopPayment {
  readonly payer: Uint8Array
  readonly payee: Uint8Array
  readonly mb: number
}

/**
 * The payments of one download along a path.
 * @param path [downloader, relay 1, …, relay h, seeder]: at least two peers
 * @param mb megabytes downloaded
 * @returns payments from hop i to hop i + 1 of mb × (path.length − 1 − i)
 * @throws RangeError on a path of fewer than two peers or a non-positive amount; TypeError / RangeError on a key that is not 32 bytes
 * @example pathPayments([me, r1, r2, seeder], 700) // me→r1 2100, r1→r2 1400, r2→seeder 700
 */
export function pathPayments(path: readonly Uint8Array[], mb: number): HopPayment[] {
  if (!Array.isArray(path) || path.length < 2) throw new RangeError('"path" expected at least a downloader and a seeder')
  for (const [i, key] of path.entries()) abytes(`path[${i}]`, key, 32)
  if (!Number.isSafeInteger(mb) || mb < 1 || !Number.isSafeInteger(mb * path.length)) throw new RangeError(`"mb" expected a positive safe integer, got ${mb}`)
  const out: HopPayment[] = []
  for (let i = 0; i < path.length - 1; i++) out.push({ payer: path[i]!, payee: path[i + 1]!, mb: mb * (path.length - 1 - i) })
  return out
}
