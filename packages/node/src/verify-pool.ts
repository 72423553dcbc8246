/**
 * A pool of worker threads that check signatures on every core. Used by `ingestBlocks` (from
 * @tally/core) through `pool.verifyBlocks`: while workers verify one chunk, the main thread
 * validates and stores the previous one. `pool.verifySignatures` checks plain (message, signature,
 * key) triples the same way: it has the shape of @tally/economy's SignatureBatchVerifier, so a
 * monitor ingesting metric reports uses every core through it.
 *
 * A call is split into one slice per worker; each slice travels as one transferable buffer of
 * packed items and their end offsets (layouts above `packBlocks` and `packSignatures`), and comes
 * back as one byte per item.
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

/** One Ed25519 signature to check: `signature` by `publicKey` over `message`. */
export interface SignedMessage {
  readonly message: Uint8Array
  readonly signature: Uint8Array
  readonly publicKey: Uint8Array
}

/**
 * Checks many signatures at once; result[i] is true iff items[i] verifies. The same shape as
 * @tally/economy's SignatureBatchVerifier.
 */
export type MessageVerifier = (items: readonly SignedMessage[]) => Promise<boolean[]>

/** Worker threads checking signatures. */
export interface VerifyPool {
  /** Number of workers. */
  readonly size: number
  /** Check the signatures of `blocks`; result[i] is true iff blocks[i] is validly signed. */
  readonly verifyBlocks: SignatureVerifier
  /**
   * Check (message, signature, publicKey) triples; result[i] is true iff items[i] verifies. A key
   * that is not 32 bytes or a signature that is not 64 is answered false, not thrown.
   * Rejects with TypeError when `items` is not an array of { message, signature, publicKey }
   * Uint8Arrays, and with ClosedError after close().
   */
  readonly verifySignatures: MessageVerifier
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
 * const monitor = createMonitor({ directory, epoch, verify: pool.verifySignatures }) // @tally/economy
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

  function run(worker: Worker, kind: JobKind, { data, ends }: Packed): Promise<Uint8Array> {
    const id = nextId++
    return new Promise<Uint8Array>((resolve, reject) => {
      pending.set(id, { resolve, reject, worker })
      const jobs = busy.get(worker) ?? 0
      if (jobs === 0) worker.ref()
      busy.set(worker, jobs + 1)
      worker.postMessage({ id, kind, data, ends }, [data.buffer, ends.buffer])
    })
  }

  /** One slice per worker, so every core gets an equal share; flags back in input order. */
  async function split(count: number, kind: JobKind, pack: (start: number, end: number) => Packed): Promise<boolean[]> {
    const share = Math.ceil(count / size)
    const parts = await Promise.all(workers.map((w, i) => (i * share < count ? run(w, kind, pack(i * share, Math.min(count, (i + 1) * share))) : Promise.resolve(new Uint8Array(0)))))
    const out: boolean[] = new Array(count)
    let at = 0
    for (const part of parts) for (const flag of part) out[at++] = flag === 1
    return out
  }

  const verifyBlocks: SignatureVerifier = async (blocks) => {
    if (closed) throw new ClosedError('verify pool is closed')
    if (blocks.length === 0) return []
    return split(blocks.length, 'blocks', (start, end) => packBlocks(blocks, start, end))
  }

  const verifySignatures: MessageVerifier = async (items) => {
    if (closed) throw new ClosedError('verify pool is closed')
    checkItems(items)
    if (items.length === 0) return []
    return split(items.length, 'signatures', (start, end) => packSignatures(items, start, end))
  }

  return {
    size,
    verifyBlocks,
    verifySignatures,
    async close() {
      if (closed) return
      closed = true
      for (const job of pending.values()) job.reject(new ClosedError('verify pool is closed'))
      pending.clear()
      await Promise.all(workers.map((w) => w.terminate()))
    },
  }
}

// ## Packing

/** What a worker is asked to check (see verify-worker.ts). */
type JobKind = 'blocks' | 'signatures'

/** Items packed back to back in one buffer, and the offset where each ends. */
interface Packed {
  data: Uint8Array<ArrayBuffer>
  ends: Uint32Array<ArrayBuffer>
}

/**
 * blocks[start .. end) as one buffer:
 *
 *   data    = encodeBlock(b_0) ‖ encodeBlock(b_1) ‖ ...
 *   ends[i] = offset just past block i
 */
function packBlocks(blocks: readonly HalfBlock[], start: number, end: number): Packed {
  const encoded: Uint8Array[] = []
  for (let i = start; i < end; i++) encoded.push(encodeBlock(blocks[i]!))
  return pack(encoded.length, (i) => encoded[i]!.length, (i, data, at) => data.set(encoded[i]!, at))
}

/**
 * items[start .. end) as one buffer:
 *
 *   data    = item_0 ‖ item_1 ‖ ...,  item = publicKey (32) ‖ signature (64) ‖ message
 *   ends[i] = offset just past item i
 *
 * An item whose key is not 32 bytes or whose signature is not 64 cannot verify: it is packed
 * empty (ends[i] = ends[i - 1]) and the worker answers 0 for it.
 */
function packSignatures(items: readonly SignedMessage[], start: number, end: number): Packed {
  const length = (i: number): number => {
    const { message, signature, publicKey } = items[start + i]!
    return publicKey.length === 32 && signature.length === 64 ? 96 + message.length : 0
  }
  return pack(end - start, length, (i, data, at) => {
    const { message, signature, publicKey } = items[start + i]!
    data.set(publicKey, at)
    data.set(signature, at + 32)
    data.set(message, at + 96)
  })
}

function pack(count: number, length: (i: number) => number, write: (i: number, data: Uint8Array, at: number) => void): Packed {
  const ends = new Uint32Array(count)
  let total = 0
  for (let i = 0; i < count; i++) ends[i] = total += length(i)
  const data = new Uint8Array(total)
  let at = 0
  for (let i = 0; i < count; i++) {
    if (ends[i]! > at) write(i, data, at)
    at = ends[i]!
  }
  return { data, ends }
}

/** The API boundary of verifySignatures: an array of { message, signature, publicKey } byte arrays. */
function checkItems(items: readonly SignedMessage[]): void {
  if (!Array.isArray(items)) throw new TypeError(`"items" expected an array of { message, signature, publicKey }, got ${typeof items}`)
  for (let i = 0; i < items.length; i++) {
    const item = items[i]
    if (!(item?.message instanceof Uint8Array) || !(item.signature instanceof Uint8Array) || !(item.publicKey instanceof Uint8Array)) {
      throw new TypeError(`"items[${i}]" expected { message, signature, publicKey } of Uint8Array`)
    }
  }
}
