/**
 * The verify pool's shared queue: one SharedArrayBuffer that this thread writes signatures into
 * and every verifier (each worker, and this thread when it helps) takes them from, with no message
 * per job. A worker that has nothing to do sleeps in `Atomics.wait` until items are published, and
 * takes the next ones itself as soon as it is done: it never waits for this thread to hand it work,
 * however busy this thread is (the message-per-job pool left its worker idle a third of a run of
 * 64 transactions in flight, while this thread checked signatures itself).
 *
 * Layout (the byte offsets below; items are numbered by a wrapping int32 counter, slot = number & MASK):
 *
 *   ctrl     Int32 × 8    PUBLISHED (items written), CLAIMED (items taken by a verifier),
 *                         WAITING (1: this thread sleeps until item WAIT_FOR is answered), WAIT_FOR,
 *                         CLOSED (1: workers stop), SLEEPERS (workers in Atomics.wait, or about
 *                         to be), SLEEPS (times a worker went to sleep, wrapping)
 *   starts   Uint32 × SLOTS   where an item's bytes begin in `data`
 *   lengths  Int32 × SLOTS    its message length; -1: a key or signature of the wrong length
 *                             (never valid; nothing is written to data)
 *   answers  Uint8 × SLOTS    0 until answered, then 1 valid, 2 invalid; this thread sets it
 *                             back to 0 when it takes the answer
 *   data     Uint8 × DATA_BYTES   item = publicKey (32) ‖ signature (64) ‖ message
 *
 * Only this thread publishes (writes an item, then moves PUBLISHED) and takes answers; verifiers
 * claim a run of items by compare-and-swap on CLAIMED. Item bytes are never written while a
 * verifier may read them: a slot and its bytes are reused only after this thread took its answer.
 * @module
 */
import type { CryptoProvider } from '@tally/core'

/** Slots in the ring (a power of two): items published and not yet answered. */
export const SLOTS = 8192
export const MASK = SLOTS - 1
/** Bytes for the items' keys, signatures and messages. */
export const DATA_BYTES = 1 << 20
/** Items at most one claim takes: small enough that results flow and the verifiers share the work. */
export const MAX_CLAIM = 16

/** Indexes into ctrl. */
export const PUBLISHED = 0
export const CLAIMED = 1
export const WAITING = 2
export const WAIT_FOR = 3
export const CLOSED = 4
export const SLEEPERS = 5
export const SLEEPS = 6

const CTRL_BYTES = 8 * 4
const STARTS_AT = CTRL_BYTES
const LENGTHS_AT = STARTS_AT + SLOTS * 4
const ANSWERS_AT = LENGTHS_AT + SLOTS * 4
const DATA_AT = ANSWERS_AT + SLOTS

/** Views of the ring's shared memory. */
export interface Ring {
  readonly shared: SharedArrayBuffer
  readonly ctrl: Int32Array
  readonly starts: Uint32Array
  readonly lengths: Int32Array
  readonly answers: Uint8Array
  readonly data: Uint8Array
}

/**
 * The views of a ring in `shared` (a new one when not given).
 * @param shared the memory of a ring made by this function
 * @returns the views
 */
export function ringOf(shared: SharedArrayBuffer = new SharedArrayBuffer(DATA_AT + DATA_BYTES)): Ring {
  return {
    shared,
    ctrl: new Int32Array(shared, 0, 8),
    starts: new Uint32Array(shared, STARTS_AT, SLOTS),
    lengths: new Int32Array(shared, LENGTHS_AT, SLOTS),
    answers: new Uint8Array(shared, ANSWERS_AT, SLOTS),
    data: new Uint8Array(shared, DATA_AT, DATA_BYTES),
  }
}

/**
 * Take up to `most` published items nobody has taken.
 * @param ring the ring
 * @param most the most to take (at least 1)
 * @param sharers verifiers that take from the ring: a claim takes about its share of what waits
 * @returns the first item's number and how many (0: none waiting); the caller must answer each
 */
/**
 * Make the items written so far visible to the verifiers, and wake the sleeping ones. A notify
 * costs a system call (and wakes a thread): it is made once per sleep, not once per publish.
 * @param ring the ring
 * @param published the number of items written
 * @param woken the publisher's record of the last sleep it woke (updated here)
 */
export function publishUpTo(ring: Ring, published: number, woken: { sleeps: number }): void {
  const { ctrl } = ring
  Atomics.store(ctrl, PUBLISHED, published)
  // a verifier counts itself in SLEEPERS and SLEEPS before it compares PUBLISHED in Atomics.wait:
  // either it sees the store above and does not sleep, or the loads below see it and wake it
  if (Atomics.load(ctrl, SLEEPERS) === 0) return
  const sleeps = Atomics.load(ctrl, SLEEPS)
  if (sleeps === woken.sleeps) return // woken already: it takes every item published before it claims
  woken.sleeps = sleeps
  Atomics.notify(ctrl, PUBLISHED)
}

/**
 * Sleep until more items are published than `published` (or the pool closes and notifies).
 * @param ring the ring
 * @param published the number of items published when this verifier found none left to take
 */
export function sleep(ring: Ring, published: number): void {
  const { ctrl } = ring
  Atomics.add(ctrl, SLEEPERS, 1)
  Atomics.add(ctrl, SLEEPS, 1)
  Atomics.wait(ctrl, PUBLISHED, published)
  Atomics.sub(ctrl, SLEEPERS, 1)
}

export function claim(ring: Ring, most: number, sharers: number): { first: number; count: number } {
  const { ctrl } = ring
  for (;;) {
    const first = Atomics.load(ctrl, CLAIMED)
    const waiting = (Atomics.load(ctrl, PUBLISHED) - first) | 0
    if (waiting <= 0) return { first, count: 0 }
    const count = Math.min(waiting, most, Math.max(1, Math.ceil(waiting / sharers)))
    if (Atomics.compareExchange(ctrl, CLAIMED, first, (first + count) | 0) === first) return { first, count }
  }
}

/**
 * Checks items of a ring with one provider. The item is copied out of shared memory first: a
 * provider then reads private bytes (native ones need not accept shared memory).
 */
export class RingVerifier {
  readonly #ring: Ring
  readonly #crypto: CryptoProvider
  #scratch = new Uint8Array(96 + 256)
  #key = this.#scratch.subarray(0, 32)
  #signature = this.#scratch.subarray(32, 96)
  /** Views of the message in the scratch buffer, by length (most messages are 32-byte digests). */
  #messages = new Map<number, Uint8Array>()

  constructor(ring: Ring, crypto: CryptoProvider) {
    this.#ring = ring
    this.#crypto = crypto
  }

  /**
   * Check item `n` and publish its answer; returns true when this thread of the pool sleeps until
   * exactly this item is answered (the caller then wakes it).
   */
  verify(n: number): boolean {
    const { ctrl, starts, lengths, answers, data } = this.#ring
    const slot = n & MASK
    const length = lengths[slot]!
    let valid = false
    if (length >= 0) {
      const start = starts[slot]!
      if (96 + length > this.#scratch.length) this.#grow(96 + length)
      this.#scratch.set(data.subarray(start, start + 96 + length))
      let message = this.#messages.get(length)
      if (message === undefined) {
        message = this.#scratch.subarray(96, 96 + length)
        if (this.#messages.size < 64) this.#messages.set(length, message)
      }
      valid = this.#crypto.verify(this.#signature, message, this.#key)
    }
    Atomics.store(answers, slot, valid ? 1 : 2)
    return Atomics.load(ctrl, WAIT_FOR) === n && Atomics.compareExchange(ctrl, WAITING, 1, 0) === 1
  }

  #grow(size: number): void {
    this.#scratch = new Uint8Array(Math.max(size, 2 * this.#scratch.length))
    this.#key = this.#scratch.subarray(0, 32)
    this.#signature = this.#scratch.subarray(32, 96)
    this.#messages.clear()
  }
}
