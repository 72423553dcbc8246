/**
 * Keys a node refuses at the handshake for a while (a session of theirs closed for misbehaviour):
 * each until a time, at most `max` of them. Bans are kept in the order given, which is the order
 * they end in (every ban lasts the node's banMs), so ended ones are swept from the front as new
 * ones come, and when the list is full the ban nearest its end goes first. Why bounded: keys are
 * free, and an attacker that comes back under a fresh key each time it is cut off used to add an
 * entry per key, kept until that key came back (never).
 * @module
 */
import type { PublicKeyHex } from '@tally/core'

/**
 * A bounded list of banned keys, each until a time.
 * @example
 * const bans = new BanList(1024)
 * bans.ban(session.peerKeyHex, clock.now() + 60_000, clock.now())
 * if (bans.has(hex, clock.now())) refuse()
 */
export class BanList {
  /** Key → end of its ban, the earliest given first. */
  readonly #until = new Map<PublicKeyHex, number>()
  readonly #max: number

  /** @param max keys banned at once (more: the ban nearest its end is dropped) */
  constructor(max: number) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`"max" expected a positive integer, got ${String(max)}`)
    this.#max = max
  }

  /** Keys banned now, or whose ban ended and was not swept yet. */
  get size(): number {
    return this.#until.size
  }

  /**
   * Refuse `hex` until `until`.
   * @param hex the key
   * @param until when the ban ends (on the node's clock)
   * @param now the time now: bans ended by then are forgotten
   */
  ban(hex: PublicKeyHex, until: number, now: number): void {
    this.#until.delete(hex)
    this.#until.set(hex, until)
    for (const [key, end] of this.#until) {
      if (end > now && this.#until.size <= this.#max) break
      this.#until.delete(key)
    }
  }

  /** True while `hex` is banned at `now`. */
  has(hex: PublicKeyHex, now: number): boolean {
    const until = this.#until.get(hex)
    if (until === undefined) return false
    if (until > now) return true
    this.#until.delete(hex)
    return false
  }
}
