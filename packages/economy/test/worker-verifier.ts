/**
 * A SignatureBatchVerifier on worker threads: the way a Node caller lets the monitor check report
 * signatures on every core while it stays isomorphic itself. Test support (not a test file);
 * production code would use a native provider in the workers (see @tally/node's verify pool).
 */
import { Worker } from 'node:worker_threads'
import type { SignatureBatchVerifier } from '@tally/economy'

/** A pool of `size` workers and its verifier. */
export interface WorkerVerifier {
  readonly verify: SignatureBatchVerifier
  /** Batches each worker handled. */
  readonly jobs: number[]
  close(): Promise<void>
}

/**
 * Start `size` workers; `verify` splits a batch into one slice per worker.
 * @param size worker threads
 * @returns the pool
 */
export function createWorkerVerifier(size: number): WorkerVerifier {
  const workers = Array.from({ length: size }, () => new Worker(new URL('./verify-worker.mjs', import.meta.url)))
  const jobs = workers.map(() => 0)
  const pending = new Map<number, (ok: boolean[]) => void>()
  let next = 0
  for (const w of workers) w.on('message', ({ id, ok }: { id: number; ok: boolean[] }) => (pending.get(id)?.(ok), pending.delete(id)))
  const run = (i: number, items: Parameters<SignatureBatchVerifier>[0]): Promise<boolean[]> =>
    new Promise((resolve) => {
      const id = next++
      pending.set(id, resolve)
      jobs[i]!++
      workers[i]!.postMessage({ id, items: items.map((x) => [x.message, x.signature, x.publicKey]) })
    })
  return {
    jobs,
    async verify(items) {
      const share = Math.ceil(items.length / size)
      const parts = await Promise.all(workers.map((_, i) => (i * share < items.length ? run(i, items.slice(i * share, (i + 1) * share)) : Promise.resolve([]))))
      return parts.flat()
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()))
    },
  }
}
