/**
 * Virtual time: a Clock whose time moves only when the simulation says so, and a scheduler that
 * runs what is due in time order. 10,000 peers exchanging frames for a simulated minute need
 * millions of events; so the queue is a binary heap over parallel arrays (no object per event),
 * and an event is a static task function with two arguments (no closure per frame).
 *
 * Order: by due time, then by the order events were scheduled (FIFO among equals). Both are
 * deterministic, so a run replays exactly from the same inputs.
 *
 * Promises: the code under simulation is async (stores, agents). Between two distinct due times
 * the scheduler yields one macrotask, so every promise continuation started at time t runs, and
 * may schedule more events, while `now()` is still t. Async work that never touches real I/O thus
 * completes "instantly" in virtual time, as the latency model intends.
 * @module
 */
import type { Clock, TimerHandle } from '@tally/core'

/**
 * An event's work: a static function called with the two values given to `schedule`. Using one
 * function for many events (e.g. "deliver frame b to endpoint a") saves a closure per event.
 */
export type Task = (a: any, b: any) => void // eslint-disable-line @typescript-eslint/no-explicit-any

/** Options of createVirtualClock. */
export interface VirtualClockOptions {
  /** The time `now()` starts at (default 0). Use an epoch time when blocks need real timestamps. */
  start?: number
  /**
   * How the scheduler yields to pending promise continuations between due times (default: a
   * MessageChannel round trip, ~4 µs, on every platform). Must resolve after the microtask queue drains.
   */
  yieldMacrotask?: () => Promise<void>
}

/** What the run functions may stop on. */
export interface RunOptions {
  /** Stop before events due after this time (default: no bound). */
  until?: number
  /** Stop after this many events (default: no bound): a guard against simulations that never go idle. */
  maxEvents?: number
}

/** A Clock on virtual time, with its scheduler. */
export interface VirtualClock extends Clock {
  /** Events (timers and tasks) waiting to run, cleared timers excluded. */
  readonly pending: number
  /** Events run so far. */
  readonly executed: number
  /**
   * Schedule a task `delay` ms from now (not cancellable; use setTimeout for that).
   * @param delay milliseconds, ≥ 0
   * @param task the function to call
   * @param a first argument
   * @param b second argument
   */
  schedule(delay: number, task: Task, a?: unknown, b?: unknown): void
  /**
   * Run every event due up to `time`, then set now() to `time` (if later).
   * @returns the number of events run
   */
  runUntil(time: number): Promise<number>
  /** runUntil(now() + ms). */
  runFor(ms: number): Promise<number>
  /**
   * Run until no event is left (after a final yield, so that continuations may still add some),
   * or a bound in `options` is reached. now() stays at the last event's time.
   * @returns the number of events run
   */
  runUntilIdle(options?: RunOptions): Promise<number>
}

/**
 * A new virtual clock at `options.start` (default 0), with nothing scheduled.
 * @param options start time and how to yield to promise continuations
 * @returns the clock
 * @throws TypeError when start is not a finite number
 * @example
 * const clock = createVirtualClock()
 * clock.setTimeout(() => console.log(clock.now()), 50)
 * await clock.runUntilIdle() // logs 50
 */
export function createVirtualClock(options: VirtualClockOptions = {}): VirtualClock {
  const start = options.start ?? 0
  if (typeof start !== 'number' || !Number.isFinite(start)) throw new TypeError(`"start" expected a finite number, got ${String(start)}`)
  return new Scheduler(start, options.yieldMacrotask)
}

// ## The scheduler

/** A timer's handle: its callback, and whether it was cleared. */
interface Timer {
  callback: (() => void) | undefined
}

class Scheduler implements VirtualClock {
  #now: number
  #executed = 0
  #cancelled = 0
  #seq = 0
  // the heap, as parallel arrays: entry i is (times[i], seqs[i], tasks[i], as[i], bs[i])
  #size = 0
  readonly #times: number[] = []
  readonly #seqs: number[] = []
  readonly #tasks: Task[] = []
  readonly #as: unknown[] = []
  readonly #bs: unknown[] = []
  readonly #yield: (() => Promise<void>) | undefined

  constructor(start: number, yieldMacrotask: (() => Promise<void>) | undefined) {
    this.#now = start
    this.#yield = yieldMacrotask
  }

  get pending(): number {
    return this.#size - this.#cancelled
  }

  get executed(): number {
    return this.#executed
  }

  now(): number {
    return this.#now
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    if (typeof callback !== 'function') throw new TypeError('"callback" expected a function')
    const timer: Timer = { callback }
    this.#push(this.#now + delayOf(ms), runTimer, timer, undefined)
    return timer
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = handle as Timer | undefined
    if (typeof timer !== 'object' || timer === null || timer.callback === undefined) return
    timer.callback = undefined
    this.#cancelled++
  }

  schedule(delay: number, task: Task, a?: unknown, b?: unknown): void {
    this.#push(this.#now + delayOf(delay), task, a, b)
  }

  async runUntil(time: number): Promise<number> {
    if (typeof time !== 'number' || Number.isNaN(time)) throw new TypeError(`"time" expected a number, got ${String(time)}`)
    const n = await this.#run(time, Number.POSITIVE_INFINITY)
    if (time > this.#now && Number.isFinite(time)) this.#now = time
    return n
  }

  runFor(ms: number): Promise<number> {
    return this.runUntil(this.#now + delayOf(ms))
  }

  async runUntilIdle(options: RunOptions = {}): Promise<number> {
    return this.#run(options.until ?? Number.POSITIVE_INFINITY, options.maxEvents ?? Number.POSITIVE_INFINITY)
  }

  async #run(limit: number, maxEvents: number): Promise<number> {
    const channel = this.#yield === undefined ? openChannel() : undefined
    const yieldNow = this.#yield ?? channel!.yield
    let n = 0
    try {
      // let continuations the caller started (a connect(), a send) schedule their events first
      await yieldNow()
      for (;;) {
        this.#dropCancelledTop()
        if (this.#size === 0) {
          // idle: but a continuation of the last batch may still schedule something
          await yieldNow()
          this.#dropCancelledTop()
          if (this.#size === 0) break
        }
        const t = this.#times[0]!
        if (t > limit || n >= maxEvents) break
        if (t > this.#now) this.#now = t
        // one batch: every event due at exactly t, including those the batch itself adds at t
        while (this.#size > 0 && this.#times[0] === t && n < maxEvents) {
          const task = this.#tasks[0]!
          const a = this.#as[0]
          const b = this.#bs[0]
          this.#pop()
          if (task === runTimer && (a as Timer).callback === undefined) {
            this.#cancelled--
            continue
          }
          n++
          this.#executed++
          task(a, b)
        }
        await yieldNow()
      }
    } finally {
      channel?.close()
    }
    return n
  }

  #dropCancelledTop(): void {
    while (this.#size > 0 && this.#tasks[0] === runTimer && (this.#as[0] as Timer).callback === undefined) {
      this.#pop()
      this.#cancelled--
    }
  }

  // ## Binary heap on (time, seq)

  #push(time: number, task: Task, a: unknown, b: unknown): void {
    let i = this.#size++
    const seq = this.#seq++
    const times = this.#times
    const seqs = this.#seqs
    const tasks = this.#tasks
    const as = this.#as
    const bs = this.#bs
    // sift up: move parents down until the slot for the new entry is found
    while (i > 0) {
      const p = (i - 1) >> 1
      const pt = times[p]!
      if (pt < time || (pt === time && seqs[p]! < seq)) break
      times[i] = pt
      seqs[i] = seqs[p]!
      tasks[i] = tasks[p]!
      as[i] = as[p]
      bs[i] = bs[p]
      i = p
    }
    times[i] = time
    seqs[i] = seq
    tasks[i] = task
    as[i] = a
    bs[i] = b
  }

  #pop(): void {
    const n = --this.#size
    const times = this.#times
    const seqs = this.#seqs
    const tasks = this.#tasks
    const as = this.#as
    const bs = this.#bs
    if (n === 0) {
      as[0] = undefined
      bs[0] = undefined
      return
    }
    // move the last entry to the root and sift it down
    const time = times[n]!
    const seq = seqs[n]!
    const task = tasks[n]!
    const a = as[n]
    const b = bs[n]
    as[n] = undefined // release references for the garbage collector
    bs[n] = undefined
    let i = 0
    for (;;) {
      let c = 2 * i + 1
      if (c >= n) break
      const r = c + 1
      if (r < n && (times[r]! < times[c]! || (times[r] === times[c] && seqs[r]! < seqs[c]!))) c = r
      const ct = times[c]!
      if (time < ct || (time === ct && seq < seqs[c]!)) break
      times[i] = ct
      seqs[i] = seqs[c]!
      tasks[i] = tasks[c]!
      as[i] = as[c]
      bs[i] = bs[c]
      i = c
    }
    times[i] = time
    seqs[i] = seq
    tasks[i] = task
    as[i] = a
    bs[i] = b
  }
}

// ## Private helpers

function runTimer(timer: Timer): void {
  const callback = timer.callback
  timer.callback = undefined
  callback?.()
}

function delayOf(ms: number): number {
  return typeof ms === 'number' && ms > 0 && Number.isFinite(ms) ? ms : 0
}

/** A MessageChannel used to yield one macrotask at a time; closed after the run. */
function openChannel(): { yield: () => Promise<void>; close: () => void } {
  const channel = new MessageChannel()
  let resolve: (() => void) | undefined
  const onMessage = (): void => {
    const r = resolve
    resolve = undefined
    r?.()
  }
  channel.port1.addEventListener('message', onMessage)
  channel.port1.start() // addEventListener, unlike onmessage, does not start a port in browsers
  return {
    yield: () =>
      new Promise<void>((r) => {
        resolve = r
        channel.port2.postMessage(null)
      }),
    close: () => {
      channel.port1.removeEventListener('message', onMessage)
      channel.port1.close()
      channel.port2.close()
    },
  }
}
