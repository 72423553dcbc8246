/**
 * A witness's report set for one epoch: every report it took, by (component, seq), with the
 * bucketed digests that reconciliation compares (keyed-set.ts).
 *
 * Key = component (32 bytes) ‖ seq (8 bytes, big-endian), so buckets follow the component key
 * and a component's reports sort by seq. Element hash = the first 16 bytes of SHA-256 of the
 * report's bytes: two reports of one (component, seq) — a component that signed two — differ, and
 * every holder keeps the one whose bytes sort first, so all witnesses converge on one set
 * whatever order the reports reached them in.
 *
 * The monitor sums reports as they arrive and refuses a seq below one it has applied, so a report
 * that reconciliation brings in out of order, or that replaces another, marks the set `dirty`: the
 * close then re-sums the whole set in key order (signatures were checked when each came in).
 * @module
 */
import { compareBytes, equalBytes, nobleCrypto, type CryptoProvider } from '@tally/core'
import type { SignedReport } from '../report.js'
import { keyString } from '../util.js'
import { DIGEST_BYTES, KeyedSet } from './keyed-set.js'

/** What adding a report did. */
export type AddResult = 'added' | 'same' | 'kept' | 'replaced'

/** The reports of one epoch. */
export class ReportLog {
  readonly epoch: number
  readonly set = new KeyedSet()
  /** True when the monitor's running sums may not equal the sums of this set. */
  dirty = false
  readonly #bytes = new Map<string, Uint8Array>()
  readonly #perComponent = new Map<string, number>()
  readonly #perPeer = new Map<string, number>()
  readonly #crypto: CryptoProvider

  constructor(epoch: number, crypto: CryptoProvider = nobleCrypto) {
    this.epoch = epoch
    this.#crypto = crypto
  }

  /** Reports held. */
  get size(): number {
    return this.#bytes.size
  }

  /** Reports held of one component. */
  countOf(component: Uint8Array): number {
    return this.#perComponent.get(keyString(component)) ?? 0
  }

  /** Reports taken from one peer (submissions, not reconciliation). */
  fromPeer(peer: Uint8Array): number {
    return this.#perPeer.get(keyString(peer)) ?? 0
  }

  /** Count one report against a peer's quota. */
  charge(peer: Uint8Array): void {
    const k = keyString(peer)
    this.#perPeer.set(k, (this.#perPeer.get(k) ?? 0) + 1)
  }

  /** The bytes held at (component, seq). */
  get(component: Uint8Array, seq: number): Uint8Array | undefined {
    return this.#bytes.get(latin1(reportKey(component, seq)))
  }

  /** The bytes held under a set key. */
  item(key: Uint8Array): Uint8Array | undefined {
    return this.#bytes.get(latin1(key))
  }

  /**
   * Add a checked report (its signature verified): a new one, the same again, or another version
   * of one held, of which the smaller encoding is kept.
   */
  add(report: SignedReport, bytes: Uint8Array): AddResult {
    const key = reportKey(report.component, report.seq)
    const id = latin1(key)
    const held = this.#bytes.get(id)
    if (held !== undefined && equalBytes(held, bytes)) return 'same'
    if (held !== undefined && compareBytes(held, bytes) <= 0) return 'kept'
    this.#bytes.set(id, Uint8Array.from(bytes))
    this.set.set(key, this.#crypto.sha256(bytes).subarray(0, DIGEST_BYTES))
    if (held === undefined) {
      const c = keyString(report.component)
      this.#perComponent.set(c, (this.#perComponent.get(c) ?? 0) + 1)
      return 'added'
    }
    return 'replaced'
  }

  /** Every report, by key (component, then seq). */
  sorted(): Uint8Array[] {
    return [...this.set.values()].sort((a, b) => compareBytes(a.key, b.key)).map((e) => this.#bytes.get(latin1(e.key))!)
  }
}

/**
 * The set key of a report.
 * @param component its component key
 * @param seq its seq
 * @returns component ‖ seq (u64 big-endian)
 */
export function reportKey(component: Uint8Array, seq: number): Uint8Array {
  const key = new Uint8Array(40)
  key.set(component, 0)
  const view = new DataView(key.buffer)
  view.setUint32(32, Math.floor(seq / 0x1_0000_0000))
  view.setUint32(36, seq >>> 0)
  return key
}

function latin1(key: Uint8Array): string {
  return String.fromCharCode(...key)
}
