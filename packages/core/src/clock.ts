/**
 * The clock interface (type-only). Everything in Tally that waits or measures time takes a Clock,
 * so that a simulation can replace real time with virtual time and run 10,000 peers for a minute
 * of network time in seconds, deterministically. Implementations: `systemClock` and
 * `createVirtualClock()` in @tally/gossip.
 * @module
 */

/** An opaque handle returned by `Clock.setTimeout`, only good for `Clock.clearTimeout`. */
export type TimerHandle = unknown

/** A source of time and timers. */
export interface Clock {
  /**
   * Milliseconds. Never decreases. A real clock counts from the Unix epoch; a virtual clock from its
   * chosen start (0 unless told otherwise), so compare differences, not absolute values.
   */
  now(): number
  /**
   * Call `callback` once, `ms` milliseconds from now (0 when negative or not finite). Callbacks due at
   * the same time run in the order they were set.
   * @returns a handle for clearTimeout
   */
  setTimeout(callback: () => void, ms: number): TimerHandle
  /** Cancel a timer; a no-op when it already ran, was cleared, or the handle is unknown. */
  clearTimeout(handle: TimerHandle): void
}
