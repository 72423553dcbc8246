// Helpers for the bench/<group>.ts scripts: time a function, print one JSON line per figure.
// bench/run.mjs collects every stdout line that is a JSON object with `metric`, `value` and `unit`;
// anything else a bench wants to say goes to stderr (`note`).
import { performance } from 'node:perf_hooks'

/**
 * One measured figure, as printed on stdout. Extra fields (`ratio`, `provider`, ...) are allowed.
 * `value` is null when there is no figure to give (a latency of something that did not happen):
 * a null must never be read as a good value, so a bench that emits one says why beside it.
 */
export interface Figure {
  metric: string
  value: number | null
  unit: string
  [extra: string]: unknown
}

/** Options for {@link measure} and {@link rate}. */
export interface MeasureOptions {
  /** Measure for at least this long, after the warm-up. Default 1000 ms. */
  minMs?: number
  /** Run `fn` for this long first and throw the result away (JIT, caches). Default minMs / 4, at most 500 ms. */
  warmupMs?: number
  /** Calls of `fn` between two clock reads. Default: chosen during warm-up so a batch takes about 5 ms. */
  batch?: number
  /** Operations one call of `fn` performs (e.g. 100 when `fn` appends 100 blocks). Default 1. */
  opsPerCall?: number
}

/** What {@link measure} found. */
export interface Measurement {
  /** Operations performed in the timed part (calls × opsPerCall). */
  ops: number
  /** Length of the timed part in milliseconds. */
  ms: number
  /** Operations per second. */
  perSecond: number
  /** Mean time per operation in microseconds. */
  usPerOp: number
}

/**
 * Print one figure as a JSON line on stdout, the format bench/run.mjs collects.
 * @param metric dotted name, e.g. `core.append_per_s`
 * @param value the number; printed as a whole number from 1000 up, else to 4 significant digits;
 *   null when there is none (say why in `extra`)
 * @param unit e.g. `ops/s`, `blocks/s`, `ms`, `bytes`
 * @param extra more fields for the same line, e.g. `{ provider: 'sodium', ratio: 1.8 }`
 * @returns the figure as printed
 * @throws {TypeError} if `value` is neither a finite number nor null
 * @example
 * emit('core.verify_per_s', 41230, 'ops/s', { provider: 'noble' })
 * // {"metric":"core.verify_per_s","value":41230,"unit":"ops/s","provider":"noble"}
 */
export function emit(metric: string, value: number | null, unit: string, extra: Record<string, unknown> = {}): Figure {
  if (value !== null && (typeof value !== 'number' || !Number.isFinite(value))) {
    throw new TypeError(`"value" expected a finite number or null for ${metric}, got ${String(value)}`)
  }
  const figure: Figure = { metric, value: value === null ? null : significant(value), unit, ...extra }
  process.stdout.write(JSON.stringify(figure) + '\n')
  return figure
}

/**
 * Print a human note on stderr (keeps stdout to JSON lines).
 * @param args anything `console.error` takes
 * @returns nothing
 * @example
 * note('building a chain of 10000 blocks')
 */
export function note(...args: unknown[]): void {
  console.error(...args)
}

/**
 * Call `fn` repeatedly (awaiting it when it returns a promise) for at least `minMs` after a warm-up.
 * @param fn the operation; sync or async
 * @param opts see {@link MeasureOptions}
 * @returns operations, elapsed time, ops/s and µs/op of the timed part
 * @throws {RangeError} if `minMs`, `batch` or `opsPerCall` is not positive
 * @example
 * const { perSecond } = await measure(() => sha256(block), { minMs: 2000 })
 */
export async function measure(fn: () => unknown, opts: MeasureOptions = {}): Promise<Measurement> {
  const minMs = opts.minMs ?? 1000
  const opsPerCall = opts.opsPerCall ?? 1
  const warmupMs = opts.warmupMs ?? Math.min(500, minMs / 4)
  if (!(minMs > 0)) throw new RangeError(`"minMs" expected a positive number, got ${minMs}`)
  if (!(opsPerCall > 0)) throw new RangeError(`"opsPerCall" expected a positive number, got ${opsPerCall}`)
  if (opts.batch !== undefined && !(Number.isInteger(opts.batch) && opts.batch > 0)) {
    throw new RangeError(`"batch" expected a positive integer, got ${opts.batch}`)
  }

  // Warm-up, which also tells how long one call takes so a batch can be sized to ~5 ms.
  let calls = 0
  const w0 = performance.now()
  do {
    const r = fn()
    if (isThenable(r)) await r
    calls++
  } while (performance.now() - w0 < warmupMs)
  const msPerCall = Math.max((performance.now() - w0) / calls, 1e-6)
  const batch = opts.batch ?? Math.max(1, Math.min(100_000, Math.round(5 / msPerCall)))

  calls = 0
  const t0 = performance.now()
  let ms = 0
  do {
    // Await only real promises, so a sync fn is not slowed by a microtask per call.
    for (let i = 0; i < batch; i++) {
      const r = fn()
      if (isThenable(r)) await r
    }
    calls += batch
    ms = performance.now() - t0
  } while (ms < minMs)

  const ops = calls * opsPerCall
  return { ops, ms, perSecond: (ops * 1000) / ms, usPerOp: (ms * 1000) / ops }
}

/**
 * Measure `fn` with {@link measure} and {@link emit} the result as `label` in ops/s.
 * @param label the metric name
 * @param fn the operation; sync or async
 * @param opts {@link MeasureOptions} plus `unit` (default `ops/s`) and `extra` fields for the line
 * @returns operations per second
 * @throws {RangeError} as {@link measure}
 * @example
 * await rate('core.append_per_s', () => chain.append(tx), { minMs: 3000 })
 * await rate('core.hash_per_s', () => hashBlocks(100), { opsPerCall: 100, extra: { provider: 'noble' } })
 */
export async function rate(
  label: string,
  fn: () => unknown,
  opts: MeasureOptions & { unit?: string; extra?: Record<string, unknown> } = {},
): Promise<number> {
  const m = await measure(fn, opts)
  emit(label, m.perSecond, opts.unit ?? 'ops/s', { ...opts.extra })
  return m.perSecond
}

/**
 * Time one run of `fn` (for things done once, like crawling a whole chain).
 * @param fn the work; sync or async
 * @returns elapsed milliseconds
 * @example
 * const ms = await time(() => crawl(peer, 10_000))
 * emit('node.crawl_10k_ms', ms, 'ms')
 */
export async function time(fn: () => unknown): Promise<number> {
  const t0 = performance.now()
  const r = fn()
  if (isThenable(r)) await r
  return performance.now() - t0
}

/** What a knob accepts. */
export type KnobKind = 'positive-integer' | 'non-negative-integer' | 'positive-number'

/**
 * A number from the environment, for a benchmark's size or duration.
 * @param name environment variable, e.g. `BENCH_CORE_TX_MS`
 * @param fallback the value when it is unset or empty
 * @param kind what it accepts (default a positive integer)
 * @returns the value
 * @throws {RangeError} when it is set to something else
 * @example const TX_MS = knob('BENCH_CORE_TX_MS', 3000)
 */
export function knob(name: string, fallback: number, kind: KnobKind = 'positive-integer'): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  const ok =
    kind === 'positive-number' ? Number.isFinite(value) && value > 0 : Number.isSafeInteger(value) && value >= (kind === 'positive-integer' ? 1 : 0)
  if (!ok) throw new RangeError(`"${name}" expected a ${kind.replace('-', ' ')}, got ${raw}`)
  return value
}

/**
 * `x` rounded to `digits` decimals, as a number (for JSON fields).
 * @example round(0.123456, 3) // 0.123
 */
export function round(x: number, digits = 0): number {
  return Number(x.toFixed(digits))
}

// ## Private helpers

function isThenable(r: unknown): r is PromiseLike<unknown> {
  return r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function'
}

// Whole numbers from 1000 up, 4 significant digits below: enough for a benchmark, short to read.
function significant(x: number): number {
  if (x === 0) return 0
  const digits = Math.max(0, 3 - Math.floor(Math.log10(Math.abs(x))))
  return Number(x.toFixed(Math.min(digits, 20)))
}
