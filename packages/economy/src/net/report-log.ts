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
import { KeyedSet } from './keyed-set.js'

/** What adding a report did. */
export type AddResult = 'added' | 'same' | 'kept' | 'replaced'

/**
 * The reports of one epoch. The bytes live in the set (one packed buffer, keyed-set.ts); per
 * report there is one key string and a few slots of flat arrays, no object.
 */
export class ReportLog {
  readonly epoch: number
  readonly set = new KeyedSet()
  /** True when the monitor's running sums may not equal the sums of this set. */
  dirty = false
  readonly #perComponent = new Map<string, number>()
  readonly #perPeer = new Map<string, number>()
  readonly #crypto: CryptoProvider

  constructor(epoch: number, crypto: CryptoProvider = nobleCrypto) {
    this.epoch = epoch
    this.#crypto = crypto
  }

  /** Reports held. */
  get size(): number {
    return this.set.size
  }

  /** Reports held of one component (its key, or its key string from keyString). */
  countOf(component: Uint8Array | string): number {
    return this.#perComponent.get(typeof component === 'string' ? component : keyString(component)) ?? 0
  }

  /** Reports taken from one peer (submissions, not reconciliation). */
  fromPeer(peer: Uint8Array): number {
    return this.#perPeer.get(keyString(peer)) ?? 0
  }

  /** Count `n` reports (default 1) against a peer's quota. */
  charge(peer: Uint8Array, n = 1): void {
    const k = keyString(peer)
    this.#perPeer.set(k, (this.#perPeer.get(k) ?? 0) + n)
  }

  /** The bytes held at (component, seq) (a view: do not change it). */
  get(component: Uint8Array, seq: number): Uint8Array | undefined {
    return this.set.bytesOf(keyString(component) + seqId(seq))
  }

  /** The bytes held under a set key (a view: do not change it). */
  item(key: Uint8Array): Uint8Array | undefined {
    return key.length === 40 ? this.set.bytesOf(keyString(key) + keyTail(key)) : undefined
  }

  /**
   * Add a checked report (its signature verified): a new one, the same again, or another version
   * of one held, of which the smaller encoding is kept.
   * @param componentId keyString(report.component), when the caller has it
   */
  add(report: SignedReport, bytes: Uint8Array, componentId: string = keyString(report.component)): AddResult {
    const id = componentId + seqId(report.seq)
    // one look-up of the key, and one insertion for a new report (the common case)
    const slot = this.set.slotOf(id)
    const held = slot < 0 ? undefined : this.set.bytesAt(slot)
    if (held !== undefined && equalBytes(held, bytes)) return 'same'
    if (held !== undefined && compareBytes(held, bytes) <= 0) return 'kept'
    if (slot < 0) this.set.insertId(id, this.#crypto.sha256(bytes), bytes)
    else this.set.setId(id, this.#crypto.sha256(bytes), bytes)
    if (held === undefined) {
      this.#perComponent.set(componentId, (this.#perComponent.get(componentId) ?? 0) + 1)
      return 'added'
    }
    return 'replaced'
  }

  /** Every report, by key (component, then seq); views, to be used before the next add. */
  sorted(): Uint8Array[] {
    return this.set.sortedIds().map((id) => this.set.bytesOf(id)!)
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

/** The last 8 characters of a report's key string: seq as u64 big-endian, a character a byte. */
function seqId(seq: number): string {
  const hi = Math.floor(seq / 0x1_0000_0000)
  const lo = seq >>> 0
  return String.fromCharCode(hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff)
}

function keyTail(key: Uint8Array): string {
  return String.fromCharCode(key[32]!, key[33]!, key[34]!, key[35]!, key[36]!, key[37]!, key[38]!, key[39]!)
}
