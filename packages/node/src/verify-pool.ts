/**
 * A pool of worker threads that check signatures on every core. Used by `ingestBlocks` (from
 * @tally/core) through `pool.verifyBlocks`: while workers verify one chunk, the main thread
 * validates and stores the previous one. `pool.verifySignatures` checks plain (message, signature,
 * key) triples the same way: it has the shape of @tally/economy's SignatureBatchVerifier, so a
 * monitor ingesting metric reports uses every core through it.
 *
 * A block is checked as the signature over its hash, which this thread computes (and caches on
 * the block, where validation finds it again). Items of every call wait in one queue, and the
 * workers take their share of it (see createVerifyPool); a share travels as one transferable
 * buffer of packed items and their end offsets (layout above `packSignatures`), and comes back as
 * one byte per item.
 * @module
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { ClosedError, blockHash, type CryptoProvider, type SignatureVerifier } from '@tally/core'
import { cryptoProviders, defaultCrypto } from './crypto.js'

/** Options of createVerifyPool. */
export interface VerifyPoolOptions {
  /** Worker threads (default: available parallelism, at least 1). */
  size?: number
  /** Provider name used in the workers: 'sodium', 'node' or 'noble' (default: defaultCrypto()). */
  crypto?: string
  /**
   * Let this thread check signatures too, when it has nothing else to do and every worker has
   * its fill (default false). With one worker fewer than cores, this keeps every core busy
   * without running more threads than cores.
   */
  mainThread?: boolean
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

/**
 * Jobs a worker may have at once: while it checks one, the next ones are already in its port, so
 * it goes on while this thread is busy for a few milliseconds and cannot hand it work.
 */
const DEPTH = 4
/**
 * Items per job while the queue is short. Small jobs return their first flags early, so this
 * thread validates and signs while the workers check the rest, rather than both taking turns
 * waiting on each other. A long queue (ingest's chunk) is cut into size × DEPTH jobs instead, so
 * that all of it is with the workers at once.
 */
const SMALL_JOB = 8

/** One call waiting for its flags: `left` items are still with the workers or in the queue. */
interface Call {
  readonly out: boolean[]
  left: number
  resolve: (out: boolean[]) => void
  reject: (err: Error) => void
}

/** Items waiting for a worker, each with the call and the index its flag goes to. */
interface Queue {
  /**
   * Calls not answered yet, in the order they were made: each is answered only after every
   * earlier one, so checking never reorders the blocks an agent then validates and stores.
   */
  readonly open: Call[]
  readonly items: SignedMessage[]
  readonly calls: Call[]
  readonly indexes: number[]
}

/** A job sent to a worker: which call each flag of its answer belongs to. */
interface Sent {
  readonly calls: Call[]
  readonly indexes: number[]
}

/**
 * Start a verification pool.
 *
 * Items of every call join one queue. Each worker is given jobs from it, up to DEPTH at a
 * time: small ones (SMALL_JOB items) while the queue is short, size × DEPTH equal parts of it
 * when it is long. A big call (ingest's chunk) goes out at once, split across every worker; small
 * calls made while the workers are busy (an agent checking one block per transaction, with many
 * transactions in flight) wait for the end of the event loop's turn or a worker's answer, and so
 * travel as a few batches. Calls are answered in the order they were made.
 * @param options size and provider
 * @returns the pool; close it when done
 * @throws RangeError on a size below 1, or a provider name not available on this machine;
 *   TypeError on a mainThread that is not boolean
 * @example
 * const pool = createVerifyPool()
 * await ingestBlocks(blocks, { store, verifySignatures: pool.verifyBlocks })
 * const agent = createAgent({ identity, store, types, verifySignatures: pool.verifyBlocks })
 * const monitor = createMonitor({ directory, epoch, verify: pool.verifySignatures }) // @tally/economy
 * await pool.close()
 */
export function createVerifyPool(options: VerifyPoolOptions = {}): VerifyPool {
  const size = options.size ?? Math.max(1, availableParallelism())
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`"size" expected a positive integer, got ${size}`)
  if (options.mainThread !== undefined && typeof options.mainThread !== 'boolean') throw new TypeError(`"mainThread" expected boolean, got ${typeof options.mainThread}`)
  const crypto = options.crypto ?? defaultCrypto().name
  // a name no worker could load is the caller's error here, not a crashed worker later
  const provider = providerNamed(crypto)
  const local = options.mainThread === true ? provider : undefined
  const workers = Array.from({ length: size }, () => new Worker(new URL('./verify-worker.js', import.meta.url), { workerData: { crypto } }))
  /** Jobs sent to each worker and not answered yet. */
  const outstanding = workers.map(() => 0)
  const sent = new Map<number, Sent>()
  const queue: Queue = { open: [], items: [], calls: [], indexes: [] }
  let nextId = 0
  let flushing = false
  let closed = false

  workers.forEach((worker, w) => {
    worker.on('message', ({ id, out }: { id: number; out: Uint8Array }) => {
      const job = sent.get(id)
      if (job === undefined) return
      sent.delete(id)
      record(job.calls, job.indexes, (i) => out[i] === 1)
      // an idle pool must not keep the process alive; a busy one must
      if (--outstanding[w]! === 0) worker.unref()
      dispatch()
    })
    worker.on('error', (err) => fail(err))
    worker.unref()
  })

  /** Give each item's call its flag, then answer the calls whose every item is checked. */
  function record(calls: readonly Call[], indexes: readonly number[], valid: (i: number) => boolean): void {
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i]!
      call.out[indexes[i]!] = valid(i)
      call.left--
    }
    answer()
  }

  /** Answer the calls at the head of the queue's order whose every item is checked. */
  function answer(): void {
    let done = 0
    while (done < queue.open.length && queue.open[done]!.left === 0) done++
    for (const call of queue.open.splice(0, done)) call.resolve(call.out)
  }

  /** Reject every call still waiting: a worker died, or the pool closed. */
  function fail(err: Error): void {
    const calls = new Set<Call>()
    for (const job of sent.values()) for (const call of job.calls) calls.add(call)
    for (const call of queue.open) calls.add(call)
    queue.items.length = queue.calls.length = queue.indexes.length = queue.open.length = 0
    sent.clear()
    for (const call of calls) call.reject(err)
  }

  function enqueue(items: readonly SignedMessage[]): Promise<boolean[]> {
    return new Promise<boolean[]>((resolve, reject) => {
      const call: Call = { out: new Array<boolean>(items.length), left: items.length, resolve, reject }
      queue.open.push(call)
      for (let i = 0; i < items.length; i++) {
        queue.items.push(items[i]!)
        queue.calls.push(call)
        queue.indexes.push(i)
      }
      // A worker with nothing to do, or a job's worth of items, goes out now: a busy caller (ingest
      // validating the previous chunk) may not let the event loop turn for a while. Otherwise the
      // calls made in this turn of the event loop travel together, at its end.
      if (items.length >= SMALL_JOB || outstanding.includes(0)) dispatch()
      later()
    })
  }

  /** Dispatch once this turn of the event loop has run its course. */
  function later(): void {
    if (flushing) return
    flushing = true
    setImmediate(() => {
      flushing = false
      dispatch()
      if (local !== undefined && !closed) help(local)
    })
  }

  /** This thread is idle and the workers are full: check one small job's worth here. */
  function help(provider: CryptoProvider): void {
    if (queue.items.length === 0) return
    const count = Math.min(SMALL_JOB, queue.items.length)
    const items = queue.items.splice(0, count)
    record(queue.calls.splice(0, count), queue.indexes.splice(0, count), (i) => signedMessageValid(items[i]!, provider))
    if (queue.items.length > 0) later()
  }

  /** Give each worker with room its share of the waiting items. */
  function dispatch(): void {
    for (let round = 0; round < DEPTH && !closed; round++) {
      for (let w = 0; w < size; w++) {
        if (outstanding[w]! > round) continue
        const length = queue.items.length
        if (length === 0) return
        send(w, Math.max(Math.min(SMALL_JOB, Math.ceil(length / size)), Math.ceil(length / (size * DEPTH))))
      }
    }
    // every worker has its fill and items still wait: this thread checks some once it is idle
    if (local !== undefined && queue.items.length > 0) later()
  }

  function send(w: number, count: number): void {
    const { data, ends } = packSignatures(queue.items, count)
    const id = nextId++
    sent.set(id, { calls: queue.calls.splice(0, count), indexes: queue.indexes.splice(0, count) })
    queue.items.splice(0, count)
    const worker = workers[w]!
    if (outstanding[w]!++ === 0) worker.ref()
    worker.postMessage({ id, data, ends }, [data.buffer, ends.buffer])
  }

  const verifyBlocks: SignatureVerifier = async (blocks) => {
    if (closed) throw new ClosedError('verify pool is closed')
    if (blocks.length === 0) return []
    return enqueue(blocks.map((b) => ({ message: blockHash(b, provider), signature: b.signature, publicKey: b.publicKey })))
  }

  const verifySignatures: MessageVerifier = async (items) => {
    if (closed) throw new ClosedError('verify pool is closed')
    checkItems(items)
    if (items.length === 0) return []
    return enqueue(items)
  }

  return {
    size,
    verifyBlocks,
    verifySignatures,
    async close() {
      if (closed) return
      closed = true
      fail(new ClosedError('verify pool is closed'))
      await Promise.all(workers.map((w) => w.terminate()))
    },
  }
}

function providerNamed(name: string): CryptoProvider {
  const provider = cryptoProviders().find((p) => p.name === name)
  if (provider === undefined) throw new RangeError(`"crypto" names no provider available here: ${name}`)
  return provider
}

function signedMessageValid({ message, signature, publicKey }: SignedMessage, provider: CryptoProvider): boolean {
  return publicKey.length === 32 && signature.length === 64 && provider.verify(signature, message, publicKey)
}

// ## Packing

/** Items packed back to back in one buffer, and the offset where each ends. */
interface Packed {
  data: Uint8Array<ArrayBuffer>
  ends: Uint32Array<ArrayBuffer>
}

/**
 * The first `count` items as one buffer:
 *
 *   data    = item_0 ‖ item_1 ‖ ...,  item = publicKey (32) ‖ signature (64) ‖ message
 *   ends[i] = offset just past item i
 *
 * An item whose key is not 32 bytes or whose signature is not 64 cannot verify: it is packed
 * empty (ends[i] = ends[i - 1]) and the worker answers 0 for it.
 */
function packSignatures(items: readonly SignedMessage[], count: number): Packed {
  const ends = new Uint32Array(count)
  let total = 0
  for (let i = 0; i < count; i++) {
    const { message, signature, publicKey } = items[i]!
    ends[i] = total += publicKey.length === 32 && signature.length === 64 ? 96 + message.length : 0
  }
  const data = new Uint8Array(total)
  let at = 0
  for (let i = 0; i < count; i++) {
    const { message, signature, publicKey } = items[i]!
    if (ends[i]! > at) {
      data.set(publicKey, at)
      data.set(signature, at + 32)
      data.set(message, at + 96)
    }
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
