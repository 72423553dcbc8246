/**
 * Karma (FR1): per component, the moving average of its last n epoch scores; per owner, the sum
 * over its components.
 *
 * To stay in integers the ledger keeps the window *sum* of each component — n times its moving
 * average, exactly. Allocation is proportional, and every component shares the same n, so
 * allocating by sums is allocating by averages, without a single division. An epoch a component
 * did not exist counts as a score of 0: a new component ramps up over n epochs (which also
 * takes the profit out of joining and leaving).
 *
 * Storage is flat: a ring of n 32-bit scores per component in one Uint32Array, and the sums in a
 * Float64Array (exact: a sum is at most 1024 × (2^32 - 1) < 2^53).
 * @module
 */
import { auint } from '@tally/core'
import type { ComponentTable } from './directory.js'
import { CONFIG_LIMITS } from './config.js'

/** The moving-average state of every component. */
export interface KarmaLedger {
  /** n, the window length in epochs. */
  readonly window: number
  /** The last epoch recorded, or -1. */
  readonly lastEpoch: number
  /** Components tracked (indexes 0 to count - 1). */
  readonly count: number
  /**
   * Record one epoch's scores and slide every window by one epoch.
   * @param epoch must be lastEpoch + 1 (any epoch for the first record)
   * @param scores score of each component by directory index (components beyond its length score 0)
   * @param window n for this epoch (default: unchanged); a change keeps the latest scores that fit
   * @throws RangeError on a skipped or repeated epoch, or a bad window
   */
  record(epoch: number, scores: Uint32Array, window?: number): void
  /** A component's karma: the sum of its last n scores (n × its moving average). */
  karma(index: number): number
  /** A component's moving average (for display: a float, never signed or allocated). */
  average(index: number): number
  /** A component's last n scores, oldest first. */
  history(index: number): number[]
  /**
   * Owner karma: the sum of the karma of each owner's active components.
   * @param table the directory's table
   * @returns karma by owner index (length table.ownerCount)
   */
  ownerKarma(table: ComponentTable): Float64Array
}

/**
 * An empty ledger.
 * @param options window n (1 to 1024)
 * @returns the ledger
 * @throws RangeError on a bad window
 * @example const karma = createKarmaLedger({ window: config.window })
 */
export function createKarmaLedger(options: { window: number }): KarmaLedger {
  return new RingLedger(auint('window', options?.window, 1, CONFIG_LIMITS.maxWindow))
}

class RingLedger implements KarmaLedger {
  #window: number
  #lastEpoch = -1
  #recorded = 0
  #count = 0
  #capacity = 0
  #ring = new Uint32Array(0)
  #sums = new Float64Array(0)

  constructor(window: number) {
    this.#window = window
  }

  get window(): number {
    return this.#window
  }

  get lastEpoch(): number {
    return this.#lastEpoch
  }

  get count(): number {
    return this.#count
  }

  record(epoch: number, scores: Uint32Array, window: number = this.#window): void {
    auint('epoch', epoch)
    if (this.#lastEpoch >= 0 && epoch !== this.#lastEpoch + 1) {
      throw new RangeError(`"epoch" expected ${this.#lastEpoch + 1} (epochs are recorded in order, none skipped), got ${epoch}`)
    }
    if (!(scores instanceof Uint32Array)) throw new TypeError('"scores" expected Uint32Array')
    auint('window', window, 1, CONFIG_LIMITS.maxWindow)
    if (window !== this.#window) this.#resize(window)
    if (scores.length > this.#count) this.#reserve(scores.length)
    const n = this.#window
    const slot = this.#recorded % n
    const ring = this.#ring
    const sums = this.#sums
    const count = this.#count
    const given = scores.length
    for (let c = 0; c < count; c++) {
      const at = c * n + slot
      const s = c < given ? scores[c]! : 0
      sums[c] = sums[c]! + s - ring[at]!
      ring[at] = s
    }
    this.#recorded++
    this.#lastEpoch = epoch
  }

  karma(index: number): number {
    return index >= 0 && index < this.#count ? this.#sums[index]! : 0
  }

  average(index: number): number {
    return this.karma(index) / this.#window
  }

  history(index: number): number[] {
    if (!(index >= 0 && index < this.#count)) return []
    const n = this.#window
    const filled = Math.min(this.#recorded, n)
    const out: number[] = []
    for (let k = filled; k >= 1; k--) out.push(this.#ring[index * n + ((this.#recorded - k) % n)]!)
    return out
  }

  ownerKarma(table: ComponentTable): Float64Array {
    const out = new Float64Array(table.ownerCount)
    const { owner, active } = table
    const count = Math.min(table.count, this.#count)
    const sums = this.#sums
    for (let c = 0; c < count; c++) {
      if (active[c] === 1) out[owner[c]!] = out[owner[c]!]! + sums[c]!
    }
    return out
  }

  #reserve(count: number): void {
    if (count > this.#capacity) {
      let capacity = Math.max(this.#capacity, 1024)
      while (capacity < count) capacity *= 2
      const ring = new Uint32Array(capacity * this.#window)
      ring.set(this.#ring)
      const sums = new Float64Array(capacity)
      sums.set(this.#sums)
      this.#ring = ring
      this.#sums = sums
      this.#capacity = capacity
    }
    this.#count = count
  }

  /** A new window length: keep each component's latest min(old, new) scores, at their new slots. */
  #resize(window: number): void {
    const old = this.#window
    const keep = Math.min(old, window, this.#recorded)
    const ring = new Uint32Array(Math.max(this.#capacity, 1) * window)
    const sums = new Float64Array(this.#sums.length)
    for (let c = 0; c < this.#count; c++) {
      let sum = 0
      for (let k = 1; k <= keep; k++) {
        const e = this.#recorded - k
        const s = this.#ring[c * old + (e % old)]!
        ring[c * window + (e % window)] = s
        sum += s
      }
      sums[c] = sum
    }
    this.#ring = ring
    this.#sums = sums
    this.#window = window
  }
}
