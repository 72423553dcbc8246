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
 * session handles a few frames a second before it pauses (session.ts's GATE_QUANTUM), and every
 * session that pauses waits out the same debt, so each one gets a few frames a second while the
 * group as a whole gets the budget: a stranger that sends a proposal is served at once, a flooder
 * waits behind its own frames. Nothing is dropped, no score changes.
 *
 * Scaled by the CPU the node gets (`share`, createCpuShare): a budget in messages per wall second
 * costs a node a fixed amount of CPU per second, which is a small part of a core on a quiet
 * machine and most of what a node gets on a loaded one (measured: at a load average of 25 on 2
 * cores the flood of bench/reliability.ts cost the target 0.05-0.1 CPU-s a second, against the
 * 0.1-0.2 its honest pair got in all). With `share`, the gate refills at its rates times the share
 * of a core the node's thread actually gets while it has work, so strangers keep the same share
 * of the node's time however loaded the machine is.
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
  /**
   * How long until the gate holds `messages` tokens (and a byte), at its current refill rate.
   * @param messages message tokens wanted
   * @returns milliseconds (0: now)
   */
  readyIn(messages: number): number
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
  /** The longest pause asked for (default 1000 ms; with `share`, divided by it, at most 5 times as long). */
  readonly maxWaitMs?: number
  /** The clock (the node's). */
  readonly clock: Clock
  /** Where to count (default a new object): `charged` frames, `pauses` asked for, `skipped` tryCharges. */
  readonly stats?: { charged: number; pauses: number; skipped: number }
  /**
   * The share of a core the node gets, in (0, 1] (default: always 1): the gate refills at its
   * rates times this (see the module comment; createCpuShare measures it on Node).
   */
  readonly share?: () => number
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
  const share = options.share
  const refill = (): void => {
    const now = clock.now()
    if (now > at) {
      const s = ((now - at) / 1000) * (share === undefined ? 1 : share())
      messages = Math.min(messageBurst, messages + s * messagesPerSecond)
      bytes = Math.min(byteBurst, bytes + s * bytesPerSecond)
      at = now
    }
  }
  return {
    stats,
    readyIn(m: number): number {
      refill()
      const rate = messagesPerSecond * (share === undefined ? 1 : share())
      const wait = Math.max(messages >= m ? 0 : ((m - messages) / rate) * 1000, bytes >= 1 ? 0 : ((1 - bytes) / bytesPerSecond) * 1000)
      return wait === 0 ? 0 : Math.ceil(wait)
    },
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
      // the debt pays at the rates times the share, and a turn lasts as much longer (at most
      // MAX_SHARE_STRETCH times): the few frames a held session takes per turn are CPU too
      const sh = share === undefined ? 1 : share()
      const wait = Math.max(messages < 0 ? (-messages / (messagesPerSecond * sh)) * 1000 : 0, bytes < 0 ? (-bytes / (bytesPerSecond * sh)) * 1000 : 0)
      return Math.min(maxWait / sh, MAX_SHARE_STRETCH * maxWait, Math.max(1, Math.ceil(wait)))
    },
  }
}

/**
 * How much longer than maxWaitMs a pause may last when the node gets a small share of a core
 * (a held session's turn, and the debt it waits out, stretch by 1 / share up to this).
 */
const MAX_SHARE_STRETCH = 5

/** Options of createCpuShare. */
export interface CpuShareOptions {
  /** The least share it reports (default 0.05): strangers keep a twentieth of the budget whatever the load. */
  readonly min?: number
  /** Milliseconds between measurements (default 250); in between it answers the last one. */
  readonly intervalMs?: number
}

/**
 * A meter of the share of a core this process gets while its event loop has work: CPU time
 * (process.cpuUsage, every thread) over the time the event loop was not idle
 * (performance.eventLoopUtilization), smoothed, within [min, 1]. On a quiet machine a busy loop
 * runs all the time it is busy (1); on a loaded one it is runnable but waits for a CPU most of it
 * (a tenth, say). An interval with less than 5 ms of loop work keeps the last value. Where either
 * clock is missing (browsers), it answers 1.
 * @param options least share, interval
 * @returns a function answering the share
 * @example
 * const gate = createReadGate({ messagesPerSecond: 400, bytesPerSecond: 2 << 20, clock: systemClock, share: createCpuShare() })
 */
export function createCpuShare(options: CpuShareOptions = {}): () => number {
  const min = options.min ?? 0.05
  const interval = options.intervalMs ?? 250
  if (!(min > 0 && min <= 1)) throw new RangeError(`"min" expected a number in (0, 1], got ${String(options.min)}`)
  const proc = (globalThis as { process?: { cpuUsage?: (previous?: CpuUsage) => CpuUsage } }).process
  const perf = (globalThis as { performance?: { now(): number; eventLoopUtilization?: (a?: Elu, b?: Elu) => Elu } }).performance
  if (typeof proc?.cpuUsage !== 'function' || typeof perf?.eventLoopUtilization !== 'function') return () => 1
  const cpuUsage = proc.cpuUsage.bind(proc)
  const elu = perf.eventLoopUtilization.bind(perf)
  let lastCpu = cpuUsage()
  let lastElu = elu()
  let at = perf.now()
  let share = 1
  return () => {
    const now = perf.now()
    if (now - at < interval) return share
    const e = elu()
    const active = elu(e, lastElu).active
    const cpu = cpuUsage(lastCpu)
    lastElu = e
    lastCpu = cpuUsage()
    at = now
    if (active >= 5) {
      const measured = Math.min(1, Math.max(min, (cpu.user + cpu.system) / 1000 / active))
      share = (share + measured) / 2
    }
    return share
  }
}

interface CpuUsage {
  user: number
  system: number
}

interface Elu {
  idle: number
  active: number
  utilization: number
}
