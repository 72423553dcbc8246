/**
 * The page side of test/harness.ts: a page entry calls `serve` with its phases; the Node side
 * calls `__tally.run(phase, params)`, which registers that phase's suites, runs them with uvu and
 * returns what the recorder noted, what uvu wrote and what the tests put in `out`.
 */
import { written } from './defer.js'
import { exec, recorded } from './uvu-recorder.js'

/** Values a phase's tests hand back to the Node side (JSON-able, or Uint8Arrays). */
export const out: Record<string, unknown> = {}

/** A phase: registers suites (each ends with `.run()`), given the Node side's params. */
export type Phase = (params: Record<string, unknown>) => void | Promise<void>

/** Make the page's phases callable from the Node side. */
export function serve(phases: Record<string, Phase>): void {
  let ran = false
  ;(globalThis as { __tally?: unknown }).__tally = {
    ready: true,
    async run(name: string, params: Record<string, unknown>) {
      if (ran) throw new Error('one phase per page load: reload the page for the next')
      ran = true
      const phase = phases[name]
      if (phase === undefined) throw new Error(`no phase "${name}"; phases: ${Object.keys(phases).join(', ')}`)
      await phase(params)
      await exec()
      return { results: recorded, log: written.join(''), out }
    },
  }
}
