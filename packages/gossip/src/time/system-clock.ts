/**
 * The real clock: wall time and the platform's timers, behind the Clock interface so that the
 * same session code runs on virtual time in the simulator.
 * @module
 */
import type { Clock, TimerHandle } from '@tally/core'

let last = 0

/**
 * Real time: `now()` is Date.now() made non-decreasing (a wall clock stepped back by NTP must not
 * refill a rate limiter or expire a timer early); timers are the platform's setTimeout.
 * @example createSession(conn, { peerKey, clock: systemClock })
 */
export const systemClock: Clock = Object.freeze({
  now(): number {
    const t = Date.now()
    if (t > last) last = t
    return last
  },
  setTimeout(callback: () => void, ms: number): TimerHandle {
    return globalThis.setTimeout(callback, Number.isFinite(ms) && ms > 0 ? ms : 0)
  },
  clearTimeout(handle: TimerHandle): void {
    globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0])
  },
})
