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
 * report there is one key string and a few slots of flat arrays, no object. A component's count
 * is a slot of a flat array too, at its number (`indexOf`: a witness's directory index, which
 * never changes once registered), so taking a report probes one map of the epoch's reports (its
 * key's insertion) rather than four.
 */
export class ReportLog {
  readonly epoch: number
  readonly set = new KeyedSet()
  /** True when the monitor's running sums may not equal the sums of this set. */
  dirty = false
  /** Reports held per component, by its number. */
  #counts = new Uint32Array(0)
  readonly #perPeer = new Map<string, number>()
  readonly #crypto: CryptoProvider
  readonly #indexOf: (component: Uint8Array) => number

  /**
   * @param epoch the epoch
   * @param crypto SHA-256 of the element hashes
   * @param indexOf a component's number: at least 0 for any component whose reports are added,
   *   the same number for the same key (default: numbers given in the order keys are first seen)
   */
  constructor(epoch: number, crypto: CryptoProvider = nobleCrypto, indexOf: (component: Uint8Array) => number = numbering()) {
    this.epoch = epoch
    this.#crypto = crypto
    this.#indexOf = indexOf
  }

  /** Reports held. */
  get size(): number {
    return this.set.size
  }

  /** Reports held of one component. */
  countOf(component: Uint8Array): number {
    return this.countAt(this.#indexOf(component))
  }

  /** Reports held of the component numbered `index` (`indexOf`'s; 0 for a negative one: none is ever added). */
  countAt(index: number): number {
    return index >= 0 && index < this.#counts.length ? this.#counts[index]! : 0
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
    return this.set.bytesOf(idOf(component, seq))
  }

  /** The bytes held under a set key (a view: do not change it). */
  item(key: Uint8Array): Uint8Array | undefined {
    return key.length === 40 ? this.set.bytesOf(keyString(key) + keyTail(key)) : undefined
  }

  /**
   * Add a checked report (its signature verified): a new one, the same again, or another version
   * of one held, of which the smaller encoding is kept.
   * @param index indexOf(report.component), when the caller has it
   * @throws RangeError for a component that `indexOf` numbers below 0 (a caller's mistake: a
   *   witness adds only reports of registered components)
   */
  add(report: SignedReport, bytes: Uint8Array, index: number = this.#indexOf(report.component)): AddResult {
    if (!(index >= 0)) throw new RangeError('"report" is of a component without a number (not registered)')
    const id = idOf(report.component, report.seq)
    // a component with no report held has no key in the set: the first report of each (the
    // common case) is inserted without a look-up
    const slot = this.countAt(index) === 0 ? -1 : this.set.slotOf(id)
    const held = slot < 0 ? undefined : this.set.bytesAt(slot)
    if (held !== undefined && equalBytes(held, bytes)) return 'same'
    if (held !== undefined && compareBytes(held, bytes) <= 0) return 'kept'
    if (slot < 0) this.set.insertId(id, this.#crypto.sha256(bytes), bytes)
    else this.set.setId(id, this.#crypto.sha256(bytes), bytes)
    if (held === undefined) {
      if (index >= this.#counts.length) {
        const counts = new Uint32Array(Math.max(1024, 2 * this.#counts.length, index + 1))
        counts.set(this.#counts)
        this.#counts = counts
      }
      this.#counts[index]!++
      return 'added'
    }
    return 'replaced'
  }

  /** Every report, by key (component, then seq); views, to be used before the next add. */
  sorted(): Uint8Array[] {
    return this.set.sortedIds().map((id) => this.set.bytesOf(id)!)
  }
}

/** Numbers for keys in the order they are first seen (ReportLog's default `indexOf`). */
function numbering(): (component: Uint8Array) => number {
  const numbers = new Map<string, number>()
  return (component) => {
    const k = keyString(component)
    let n = numbers.get(k)
    if (n === undefined) numbers.set(k, (n = numbers.size))
    return n
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

/**
 * A report's key string (its set key, a character a byte): component ‖ seq as u64 big-endian, in
 * one call (a string made whole, rather than two joined that the set's map must flatten).
 */
function idOf(c: Uint8Array, seq: number): string {
  const hi = Math.floor(seq / 0x1_0000_0000)
  const lo = seq >>> 0
  return String.fromCharCode(
    c[0]!, c[1]!, c[2]!, c[3]!, c[4]!, c[5]!, c[6]!, c[7]!, c[8]!, c[9]!, c[10]!, c[11]!, c[12]!, c[13]!, c[14]!, c[15]!,
    c[16]!, c[17]!, c[18]!, c[19]!, c[20]!, c[21]!, c[22]!, c[23]!, c[24]!, c[25]!, c[26]!, c[27]!, c[28]!, c[29]!, c[30]!, c[31]!,
    hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff,
  )
}

function keyTail(key: Uint8Array): string {
  return String.fromCharCode(key[32]!, key[33]!, key[34]!, key[35]!, key[36]!, key[37]!, key[38]!, key[39]!)
}
