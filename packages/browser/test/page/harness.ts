/**
 * The page side of test/harness.ts: a page entry calls `serve` with its phases; the Node side
 * calls `__tally.run(phase, params)`, which registers that phase's suites, runs them with uvu and
 * returns what the recorder noted, what uvu wrote and what the tests put in `out`. A page may run
 * several phases one after another (state kept in the page between them).
 */
import { written } from './defer.js'
import { exec, recorded } from './uvu-recorder.js'

/** Values a phase's tests hand back to the Node side (JSON-able, or Uint8Arrays). */
export const out: Record<string, unknown> = {}

/** A phase: registers suites (each ends with `.run()`), given the Node side's params. */
export type Phase = (params: Record<string, unknown>) => void | Promise<void>

/** Make the page's phases callable from the Node side. */
export function serve(phases: Record<string, Phase>): void {
  let running = false
  ;(globalThis as { __tally?: unknown }).__tally = {
    ready: true,
    async run(name: string, params: Record<string, unknown>) {
      const phase = phases[name]
      if (phase === undefined) throw new Error(`no phase "${name}"; phases: ${Object.keys(phases).join(', ')}`)
      if (running) throw new Error('one phase at a time in a page')
      running = true
      try {
        // what the last phase queued, recorded and wrote is gone: this run reports its own
        const queue = (globalThis as unknown as { UVU_QUEUE: unknown[][] }).UVU_QUEUE
        queue.length = 0
        queue.push(['chromium'])
        recorded.length = 0
        written.length = 0
        for (const key of Object.keys(out)) delete out[key]
        await phase(params)
        await exec()
        return { results: [...recorded], log: written.join(''), out: { ...out } }
      } finally {
        running = false
      }
    },
  }
}
