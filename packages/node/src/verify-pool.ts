/**
 * A pool of worker threads that check block signatures on every core. Used by `ingestBlocks`
 * (from @tally/core) through `pool.verifyBlocks`: while workers verify one chunk, the main thread
 * validates and stores the previous one.
 * @module
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { ClosedError, encodeBlock, type HalfBlock, type SignatureVerifier } from '@tally/core'
import { defaultCrypto } from './crypto.js'

/** Options of createVerifyPool. */
export interface VerifyPoolOptions {
  /** Worker threads (default: available parallelism, at least 1). */
  size?: number
  /** Provider name used in the workers: 'sodium', 'node' or 'noble' (default: defaultCrypto()). */
  crypto?: string
}

/** Worker threads checking block signatures. */
export interface VerifyPool {
  /** Number of workers. */
  readonly size: number
  /** Check the signatures of `blocks`; result[i] is true iff blocks[i] is validly signed. */
  readonly verifyBlocks: SignatureVerifier
  /** Stop the workers; pending calls reject with ClosedError. */
  close(): Promise<void>
}

interface Pending {
  resolve: (out: Uint8Array) => void
  reject: (err: Error) => void
}

/**
 * Start a verification pool.
 * @param options size and provider
 * @returns the pool; close it when done
 * @throws RangeError on a size below 1
 * @example
 * const pool = createVerifyPool()
 * await ingestBlocks(blocks, { store, verifySignatures: pool.verifyBlocks })
 * await pool.close()
 */
export function createVerifyPool(options: VerifyPoolOptions = {}): VerifyPool {
  const size = options.size ?? Math.max(1, availableParallelism())
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`"size" expected a positive integer, got ${size}`)
  const crypto = options.crypto ?? defaultCrypto().name
  const workers = Array.from({ length: size }, () => new Worker(new URL('./verify-worker.js', import.meta.url), { workerData: { crypto } }))
  const pending = new Map<number, Pending & { worker: Worker }>()
  const busy = new Map<Worker, number>()
  let nextId = 0
  let closed = false

  for (const worker of workers) {
    worker.on('message', ({ id, out }: { id: number; out: Uint8Array }) => {
      const job = pending.get(id)
      pending.delete(id)
      if (job !== undefined) settle(job.worker)
      job?.resolve(out)
    })
    worker.on('error', (err) => {
      for (const job of pending.values()) job.reject(err)
      pending.clear()
    })
    // an idle pool must not keep the process alive; a busy one must
    worker.unref()
  }

  function settle(worker: Worker): void {
    const left = (busy.get(worker) ?? 1) - 1
    busy.set(worker, left)
    if (left === 0) worker.unref()
  }

  function run(worker: Worker, blocks: readonly HalfBlock[]): Promise<Uint8Array> {
    const encoded = blocks.map(encodeBlock)
    const ends = new Uint32Array(encoded.length)
    let length = 0
    encoded.forEach((b, i) => (ends[i] = length += b.length))
    const data = new Uint8Array(length)
    let offset = 0
    for (const b of encoded) {
      data.set(b, offset)
      offset += b.length
    }
    const id = nextId++
    return new Promise<Uint8Array>((resolve, reject) => {
      pending.set(id, { resolve, reject, worker })
      const jobs = busy.get(worker) ?? 0
      if (jobs === 0) worker.ref()
      busy.set(worker, jobs + 1)
      worker.postMessage({ id, data, ends }, [data.buffer, ends.buffer])
    })
  }

  const verifyBlocks: SignatureVerifier = async (blocks) => {
    if (closed) throw new ClosedError('verify pool is closed')
    if (blocks.length === 0) return []
    // one slice per worker, so every core gets an equal share of the chunk
    const share = Math.ceil(blocks.length / size)
    const parts = await Promise.all(workers.map((w, i) => (i * share < blocks.length ? run(w, blocks.slice(i * share, (i + 1) * share)) : Promise.resolve(new Uint8Array(0)))))
    const out: boolean[] = []
    for (const part of parts) for (const flag of part) out.push(flag === 1)
    return out
  }

  return {
    size,
    verifyBlocks,
    async close() {
      if (closed) return
      closed = true
      for (const job of pending.values()) job.reject(new ClosedError('verify pool is closed'))
      pending.clear()
      await Promise.all(workers.map((w) => w.terminate()))
    },
  }
}
