/**
 * Copies of one request on one session, each open until a deadline beside the resends: over a
 * session that loses nothing a copy is late because it waits behind others (a stranger's frames
 * wait for the peer's strangers' budget), and its answer, when it comes, is as good as a resend's.
 * Used by transact (a proposal's copies) and head recovery (a head request's copies).
 * @module
 */
import type { NodeContext } from './context.js'

/**
 * The first answer to any of `copies` (copies of one proposal on one session), or a TimeoutError
 * after `ms` when none came (they stay open: a later call waits for them again); rejects with the
 * last copy's error when every copy failed (the session closed).
 */
export function firstAnswer<T>(ctx: NodeContext, copies: readonly Promise<T>[], ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let failed = 0
    let done = false
    const timer = ctx.clock.setTimeout(() => {
      if (done) return
      done = true
      reject(new DOMException(`no answer within ${Math.round(ms)} ms`, 'TimeoutError'))
    }, ms)
    for (const copy of copies) {
      copy.then(
        (answer) => {
          if (done) return
          done = true
          ctx.clock.clearTimeout(timer)
          resolve(answer)
        },
        (err: unknown) => {
          if (done || ++failed < copies.length) return
          done = true
          ctx.clock.clearTimeout(timer)
          reject(err)
        },
      )
    }
  })
}

