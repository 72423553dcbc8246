/**
 * A read gate: one budget of work shared by a group of sessions (a node's strangers), enforced by
 * reading less rather than by dropping or punishing. Each session in the group charges the gate
 * for every frame it handles (one message per frame, plus the message's weight beyond one, and
 * its bytes); when the gate is in debt, the session stops reading its connection for as long as
 * the debt takes to pay (at most maxWaitMs). On `ws`, that pauses the socket: the peer's frames
 * wait in its own send buffer and the kernel's, and a peer that writes as fast as it can waits for
 * its drain instead of running.
 *
 * Why a shared budget: per-session limits bound what one key can make a node do, but keys are
 * free, so N strangers get N times that. The gate bounds what all strangers together get, whatever
 * N is; the node's counterparties are outside it and keep their own limits, so a flood of strangers
 * takes its share of the gate and no more of the node's time.
 *
 * Fair between the group's sessions: the frame in hand is always handled (the debt grows), each
 * session handles a few frames per turn before it pauses (session.ts's GATE_QUANTUM), and every
 * session that pauses waits out the same debt, so each one gets a few frames per wait while the
 * group as a whole gets the budget: a stranger that sends a proposal is served at once, a flooder
 * waits behind its own frames. Nothing is dropped, no score changes.
 * @module
 */
import type { Clock } from '@tally/core'

/** A shared budget of work (see the module comment). */
export interface ReadGate {
  /**
   * Charge the gate for work just done.
   * @param messages message tokens (a frame is one; a heavier message its weight)
   * @param bytes bytes read
   * @returns milliseconds the session should stop reading for (0: go on)
   */
  charge(messages: number, bytes: number): number
  /**
   * Charge the gate for work that can wait (gossip to a stranger), only if it has the budget now.
   * @param messages message tokens
   * @param bytes bytes
   * @returns true when charged (do the work), false when the gate holds too little (skip it)
   */
  tryCharge(messages: number, bytes: number): boolean
  /** Counters: frames charged, pauses asked for, work that could wait skipped (tryCharge false). */
  readonly stats: { readonly charged: number; readonly pauses: number; readonly skipped: number }
}

/** Options of createReadGate. */
export interface ReadGateOptions {
  /** Message tokens per second for the whole group. */
  readonly messagesPerSecond: number
  /** Bytes per second for the whole group. */
  readonly bytesPerSecond: number
  /** Message tokens the group may spend at once before pauses start (default one second's worth). */
  readonly messageBurst?: number
  /** Bytes the group may read at once before pauses start (default one second's worth). */
  readonly byteBurst?: number
  /** The longest pause asked for (default 1000 ms). */
  readonly maxWaitMs?: number
  /** The clock (the node's). */
  readonly clock: Clock
  /** Where to count (default a new object): `charged` frames, `pauses` asked for, `skipped` tryCharges. */
  readonly stats?: { charged: number; pauses: number; skipped: number }
}

/**
 * A read gate on two token buckets that may go into debt.
 * @param options rates, bursts, the longest pause, the clock
 * @returns the gate
 * @throws RangeError on a rate that is not positive
 * @example
 * const gate = createReadGate({ messagesPerSecond: 400, bytesPerSecond: 2 << 20, clock: systemClock })
 * const waitMs = gate.charge(1, frame.length) // 0: read on
 */
export function createReadGate(options: ReadGateOptions): ReadGate {
  const { messagesPerSecond, bytesPerSecond, clock } = options
  for (const [name, v] of [['messagesPerSecond', messagesPerSecond], ['bytesPerSecond', bytesPerSecond]] as const) {
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new RangeError(`"${name}" expected a positive number, got ${String(v)}`)
  }
  const messageBurst = options.messageBurst ?? messagesPerSecond
  const byteBurst = options.byteBurst ?? bytesPerSecond
  const maxWait = options.maxWaitMs ?? 1000
  let messages = messageBurst
  let bytes = byteBurst
  let at = clock.now()
  const stats = options.stats ?? { charged: 0, pauses: 0, skipped: 0 }
  const refill = (): void => {
    const now = clock.now()
    if (now > at) {
      const s = (now - at) / 1000
      messages = Math.min(messageBurst, messages + s * messagesPerSecond)
      bytes = Math.min(byteBurst, bytes + s * bytesPerSecond)
      at = now
    }
  }
  return {
    stats,
    tryCharge(m: number, b: number): boolean {
      refill()
      if (messages < m || bytes < b) {
        stats.skipped++
        return false
      }
      messages -= m
      bytes -= b
      return true
    },
    charge(m: number, b: number): number {
      refill()
      stats.charged++
      // the debt is bounded: a pause never exceeds maxWait, so the debt need not either
      messages = Math.max(messages - m, -(maxWait / 1000) * messagesPerSecond)
      bytes = Math.max(bytes - b, -(maxWait / 1000) * bytesPerSecond)
      if (messages >= 0 && bytes >= 0) return 0
      stats.pauses++
      const wait = Math.max(messages < 0 ? (-messages / messagesPerSecond) * 1000 : 0, bytes < 0 ? (-bytes / bytesPerSecond) * 1000 : 0)
      return Math.min(maxWait, Math.max(1, Math.ceil(wait)))
    },
  }
}
