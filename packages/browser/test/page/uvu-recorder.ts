/**
 * Stands in for 'uvu' in the page bundles (test/harness.ts swaps it in): the real uvu runs every
 * suite, and each test's outcome is noted here, by suite and name, for the Node side.
 */
import './defer.js'
import { exec, suite as uvuSuite } from 'uvu'
import type { Test } from 'uvu'

/** One in-page test's outcome. */
export interface Recorded {
  suite: string
  name: string
  ok: boolean
  error?: string
}

export const recorded: Recorded[] = []

export { exec }

/** uvu's suite(), with each test's outcome recorded. */
export function suite<T = Record<string, unknown>>(name = '', state?: T): Test<T> {
  const real = uvuSuite<T>(name, state)
  const wrap =
    (title: string, handler: (ctx: T) => unknown) =>
    async (ctx: T): Promise<void> => {
      try {
        await handler(ctx)
        recorded.push({ suite: name, name: title, ok: true })
      } catch (err) {
        recorded.push({ suite: name, name: title, ok: false, error: describe(err) })
        throw err
      }
    }
  const test = ((title: string, handler: (ctx: T) => unknown) => real(title, wrap(title, handler))) as Test<T>
  test.only = (title, handler) => real.only(title, wrap(title, handler as (ctx: T) => unknown))
  test.skip = real.skip
  test.before = real.before
  test.after = real.after
  test.run = real.run
  return test
}

export const test = suite()

function describe(err: unknown): string {
  const e = err as { message?: string; stack?: string; details?: string }
  // the stack starts with the message; uvu's assertions add a diff in `details`
  const text = [e?.stack ?? String(err), e?.details ?? ''].filter((s) => s !== '').join('\n')
  return text.slice(0, 4000)
}
