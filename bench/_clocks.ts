// Not a group (the name starts with '_'): clocks shared by the core group and the speed profiles.
//
// - threadCpuMs: this thread's time on a CPU (Linux /proc/thread-self/schedstat, nanoseconds),
//   which waiting for a core does not inflate; undefined where there is no such file.
// - gcPauses: the collector's pauses on this thread (perf_hooks 'gc' entries), summed over the
//   intervals of `performance.now()` a figure was measured in. The entries arrive a timer turn
//   after the collection, so a figure reads them after `settle()`.
import { readFileSync, readdirSync } from 'node:fs'
import { PerformanceObserver, performance, type PerformanceEntry } from 'node:perf_hooks'

let threadClock = true

/** CPU milliseconds this thread has run so far, or undefined where the kernel does not say. */
export function threadCpuMs(): number | undefined {
  if (!threadClock) return undefined
  try {
    const text = readFileSync('/proc/thread-self/schedstat', 'utf8')
    return Number(text.slice(0, text.indexOf(' '))) / 1e6
  } catch {
    threadClock = false
    return undefined
  }
}

/** This process's CPU milliseconds so far, every thread (the collector's helpers included). */
export function processCpuMs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** The collector's pauses on this thread, from now on. */
export interface GcPauses {
  /** Milliseconds of pauses that started within [from, to) (`performance.now()` times); call settle() first. */
  within(from: number, to: number): number
  /** Pauses that started within any of `spans` ([from, to) pairs), in milliseconds. */
  withinAll(spans: readonly (readonly [number, number])[]): number
  /** Wait until the pauses so far have been reported (a timer turn or two). */
  settle(): Promise<void>
  stop(): void
}

export function gcPauses(): GcPauses {
  const entries: PerformanceEntry[] = []
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) entries.push(e)
  })
  observer.observe({ entryTypes: ['gc'] })
  const within = (from: number, to: number): number => {
    let ms = 0
    for (const e of entries) if (e.startTime >= from && e.startTime < to) ms += e.duration
    return ms
  }
  return {
    within,
    withinAll: (spans) => spans.reduce((sum, [from, to]) => sum + within(from, to), 0),
    async settle() {
      for (let i = 0; i < 2; i++) await new Promise((resolve) => setTimeout(resolve, 1))
    },
    stop: () => observer.disconnect(),
  }
}

/** Wall, this thread's CPU and the process's CPU, read together. */
export interface Clocks {
  wall: number
  thread: number | undefined
  process: number
}

export function clocks(): Clocks {
  return { wall: performance.now(), thread: threadCpuMs(), process: processCpuMs() }
}

/** Milliseconds on each clock from `a` to `b`. */
export function elapsed(a: Clocks, b: Clocks): Clocks {
  return { wall: b.wall - a.wall, thread: a.thread === undefined || b.thread === undefined ? undefined : b.thread - a.thread, process: b.process - a.process }
}

/** CPU milliseconds of every thread of this process so far, by thread id (Linux; undefined elsewhere). */
export function threadsCpuMs(): Map<string, number> | undefined {
  try {
    const out = new Map<string, number>()
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const text = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8')
        out.set(tid, Number(text.slice(0, text.indexOf(' '))) / 1e6)
      } catch {
        // the thread ended meanwhile
      }
    }
    return out
  } catch {
    return undefined
  }
}

/** CPU a stretch took: this thread's, the busiest other thread's (a verify worker) and the rest's. */
export interface ThreadSplit {
  main: number
  worker: number
  rest: number
}

/** The split of CPU milliseconds between two readings of threadsCpuMs. */
export function threadSplit(before: Map<string, number> | undefined, after: Map<string, number> | undefined): ThreadSplit | undefined {
  if (before === undefined || after === undefined) return undefined
  const used = [...after].map(([tid, ms]) => [tid, ms - (before.get(tid) ?? 0)] as const)
  const main = used.find(([tid]) => tid === String(process.pid))?.[1] ?? 0
  const others = used.filter(([tid]) => tid !== String(process.pid)).map(([, ms]) => ms).sort((a, b) => b - a)
  return { main, worker: others[0] ?? 0, rest: others.slice(1).reduce((a, b) => a + b, 0) }
}
