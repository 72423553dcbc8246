/**
 * A pool of worker threads that check signatures on every core. Used by `ingestBlocks` (from
 * @tally/core) through `pool.verifyBlocks`: while workers verify one chunk, the main thread
 * validates and stores the previous one. `pool.verifySignatures` checks plain (message, signature,
 * key) triples the same way: it has the shape of @tally/economy's SignatureBatchVerifier, so a
 * monitor ingesting metric reports uses every core through it.
 *
 * A block is checked as the signature over its hash, which this thread computes (and caches on
 * the block, where validation finds it again). Items of every call go into one ring of shared
 * memory (verify-ring.ts), which the workers take from as they go; the answers come back in it,
 * one byte per item.
 * @module
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { ClosedError, blockHash, type CryptoProvider, type SignatureVerifier } from '@tally/core'
import { cryptoProviders, defaultCrypto } from './crypto.js'
import { CLAIMED, DATA_BYTES, MASK, MAX_CLAIM, PUBLISHED, RingVerifier, SLOTS, WAITING, WAIT_FOR, CLOSED, claim, publishUpTo, ringOf } from './verify-ring.js'

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

/** Items this thread checks at a time when it helps (mainThread): short, so it is soon back to its own work. */
const HELP = 4
/**
 * This thread helps only while more items than this wait untaken: the workers are then all busy
 * and behind. Fewer, and a worker takes them in a moment, while this thread has its own work (an
 * agent signing): checking them here would leave a worker idle and this thread the bottleneck.
 */
const HELP_ABOVE = 2 * MAX_CLAIM
/** An item bigger than this share of the ring's data is checked on this thread at once (rare: messages are digests). */
const INLINE_BYTES = DATA_BYTES / 4

/** One call waiting for its flags: `left` items are not answered yet. */
interface Call {
  readonly out: boolean[]
  left: number
  /** The number of its last item in the ring, once every item is published. */
  last: number | undefined
  resolve: (out: boolean[]) => void
  reject: (err: Error) => void
}

/** Items not published yet (the ring was full), in order. */
interface Backlog {
  readonly items: SignedMessage[]
  readonly calls: Call[]
  readonly indexes: number[]
}

/**
 * Start a verification pool.
 *
 * Items of every call go into one ring of shared memory (verify-ring.ts), in the order the calls
 * were made. Each worker takes the next few items whenever it is free, and sleeps when none wait:
 * publishing costs this thread a copy of the item (and an `Atomics.notify` when a worker sleeps);
 * no message carries work. A worker posts an empty message only to wake this thread when it sleeps until an
 * item that worker just answered (the oldest call's last one). With `mainThread`, this thread
 * takes a few items too at the end of a turn of its event loop while the workers are behind. Calls are
 * answered in the order they were made.
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
  const ring = ringOf()
  const helper = options.mainThread === true ? new RingVerifier(ring, provider) : undefined
  const sharers = size + (helper === undefined ? 0 : 1)
  const workers = Array.from({ length: size }, () => new Worker(new URL('./verify-worker.js', import.meta.url), { workerData: { crypto, shared: ring.shared, sharers } }))
  const { ctrl, starts, lengths, answers, data } = ring
  /** Per slot: the call its item belongs to, and the item's index in that call. */
  const slotCalls: (Call | undefined)[] = new Array(SLOTS).fill(undefined)
  const slotIndexes = new Int32Array(SLOTS)
  /** Calls not answered yet, in the order they were made: each is answered only after every earlier one. */
  const open: Call[] = []
  const backlog: Backlog = { items: [], calls: [], indexes: [] }
  /** Items published (a wrapping int32, as in ctrl) and answers taken. */
  let published = 0
  let answered = 0
  /** Where the next item's bytes go in the ring's data. */
  let dataAt = 0
  /** The last sleep of a worker that this thread woke (see publishUpTo). */
  const woken = { sleeps: -1 }
  let referenced = false
  let flushing = false
  /** Why calls are refused: the pool closed, or a worker died. */
  let broken: Error | undefined
  let terminated: Promise<unknown> | undefined

  for (const worker of workers) {
    worker.on('message', () => {
      take()
      settle()
    })
    worker.on('error', (err) => fail(err))
    worker.unref()
  }

  /** Take the answers of the items at the ring's head, in order, and answer the calls they complete. */
  function take(): void {
    let took = false
    while (answered !== published) {
      const slot = answered & MASK
      const answer = Atomics.load(answers, slot)
      if (answer === 0) break
      answers[slot] = 0
      const call = slotCalls[slot]!
      slotCalls[slot] = undefined
      call.out[slotIndexes[slot]!] = answer === 1
      call.left--
      answered = (answered + 1) | 0
      took = true
    }
    if (!took) return
    if (backlog.items.length > 0) publishBacklog()
    answer()
  }

  /** Answer the calls at the head of the order whose every item is checked. */
  function answer(): void {
    let done = 0
    while (done < open.length && open[done]!.left === 0) done++
    if (done === 0) return
    for (const call of open.splice(0, done)) call.resolve(call.out)
  }

  /**
   * After this thread's turn: keep the workers referenced while calls wait (a busy pool keeps the
   * process alive, an idle one must not), help when asked to, and otherwise sleep until the worker
   * that answers the oldest call's last item wakes this thread.
   */
  function settle(): void {
    if (broken !== undefined) return
    if (open.length === 0) {
      if (referenced) for (const worker of workers) worker.unref()
      referenced = false
      return
    }
    if (!referenced) for (const worker of workers) worker.ref()
    referenced = true
    if (helper !== undefined && untaken() > HELP_ABOVE) return later()
    // the item to be woken for: the oldest call's last one (or the last published), but one still
    // unanswered (an earlier one may be the one still checked when that is answered)
    if (published === answered) return
    const last = open[0]!.last
    let item = last === undefined || ((last - answered) | 0) < 0 ? (published - 1) | 0 : last
    while (item !== answered && answers[item & MASK] !== 0) item = (item - 1) | 0
    Atomics.store(ctrl, WAIT_FOR, item)
    Atomics.store(ctrl, WAITING, 1)
    // answered meanwhile: no worker saw WAITING; take it now
    if (Atomics.load(answers, item & MASK) !== 0 && Atomics.exchange(ctrl, WAITING, 0) === 1) {
      take()
      settle()
    }
  }

  /** At the end of this turn of the event loop: take answers, help (mainThread), settle. */
  function later(): void {
    if (flushing) return
    flushing = true
    setImmediate(() => {
      flushing = false
      if (broken !== undefined) return
      if (helper !== undefined && untaken() > HELP_ABOVE) help(helper)
      take()
      settle()
    })
  }

  /** Items published that no verifier has taken yet. */
  function untaken(): number {
    return (Atomics.load(ctrl, PUBLISHED) - Atomics.load(ctrl, CLAIMED)) | 0
  }

  /** This thread is idle: check a few waiting items here. */
  function help(verifier: RingVerifier): void {
    const { first, count } = claim(ring, HELP, 1)
    for (let i = 0; i < count; i++) verifier.verify((first + i) | 0)
  }

  /** Reject every call still waiting: a worker died, or the pool closed. */
  function fail(err: Error): void {
    broken ??= err
    Atomics.store(ctrl, CLOSED, 1)
    Atomics.notify(ctrl, PUBLISHED)
    // a failed pool must not keep the process alive
    if (referenced) for (const worker of workers) worker.unref()
    referenced = false
    const calls = open.splice(0)
    backlog.items.length = backlog.calls.length = backlog.indexes.length = 0
    slotCalls.fill(undefined)
    for (const call of calls) call.reject(err)
  }

  /**
   * Write one item into the ring; false when it has no room (the caller keeps the item for later).
   * An item with a key or signature of the wrong length takes a slot but no bytes: it is invalid.
   */
  function publish(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array, call: Call, index: number): boolean {
    if (((published - answered) | 0) >= SLOTS) return false
    const wellFormed = publicKey.length === 32 && signature.length === 64
    const size = wellFormed ? 96 + message.length : 0
    if (published === answered) dataAt = 0
    // the bytes of the oldest unanswered item, which must not be overwritten
    const tail = published === answered ? DATA_BYTES : starts[answered & MASK]!
    let at = dataAt
    if (at >= tail) {
      // free: [dataAt, DATA_BYTES) and [0, tail)
      if (at + size > DATA_BYTES) {
        if (size >= tail) return false
        at = 0
      }
    } else if (at + size >= tail) return false
    const slot = published & MASK
    if (wellFormed) {
      data.set(publicKey, at)
      data.set(signature, at + 32)
      data.set(message, at + 96)
    }
    starts[slot] = at
    lengths[slot] = wellFormed ? message.length : -1
    slotCalls[slot] = call
    slotIndexes[slot] = index
    dataAt = at + size
    published = (published + 1) | 0
    return true
  }

  /** Publish what the ring had no room for, in order, as far as it has now. */
  function publishBacklog(): void {
    const { items, calls, indexes } = backlog
    let i = 0
    while (i < items.length) {
      const { message, signature, publicKey } = items[i]!
      if (!publish(message, signature, publicKey, calls[i]!, indexes[i]!)) break
      if (indexes[i] === calls[i]!.out.length - 1) calls[i]!.last = (published - 1) | 0
      i++
    }
    if (i === 0) return
    items.splice(0, i)
    calls.splice(0, i)
    indexes.splice(0, i)
    publishUpTo(ring, published, woken)
  }

  /**
   * A call of `count` items, each given by `item(i)`; it resolves once every item is answered.
   * When `item` throws (a malformed block cannot be hashed), the call is dropped and rejects: the
   * items it published are answered to nobody, and the calls after it are not held up.
   */
  function enqueue(count: number, item: (i: number, call: Call) => SignedMessage | undefined): Promise<boolean[]> {
    return new Promise<boolean[]>((resolve, reject) => {
      const call: Call = { out: new Array<boolean>(count), left: count, last: undefined, resolve, reject }
      open.push(call)
      const backlogBefore = backlog.items.length
      try {
        for (let i = 0; i < count; i++) {
          const kept = item(i, call)
          if (kept === undefined) continue
          // no room (or items wait before it): in order, behind them
          backlog.items.push(kept)
          backlog.calls.push(call)
          backlog.indexes.push(i)
        }
      } catch (err) {
        open.pop()
        backlog.items.length = backlog.calls.length = backlog.indexes.length = backlogBefore
        publishUpTo(ring, published, woken)
        reject(err)
        return
      }
      if (backlog.items.length === 0 || backlog.calls[backlog.calls.length - 1] !== call) call.last = (published - 1) | 0
      publishUpTo(ring, published, woken)
      if (call.left === 0) answer()
      later()
    })
  }

  /** Publish one item of `call`; undefined when done (published, or checked here when too big), else the item to keep. */
  function place(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array, call: Call, index: number): SignedMessage | undefined {
    if (96 + message.length > INLINE_BYTES) {
      call.out[index] = signedMessageValid({ message, signature, publicKey }, provider)
      call.left--
      return undefined
    }
    if (backlog.items.length === 0 && publish(message, signature, publicKey, call, index)) return undefined
    return { message, signature, publicKey }
  }

  // (not an async function: its promise and the resolution of enqueue's promise through it were
  // two promises and three microtask turns more per call, two calls per transaction of an agent)
  const verifyBlocks: SignatureVerifier = (blocks) => {
    if (broken !== undefined) return Promise.reject(broken)
    if (blocks.length === 0) return Promise.resolve([])
    return enqueue(blocks.length, (i, call) => {
      const b = blocks[i]!
      return place(blockHash(b, provider), b.signature, b.publicKey, call, i)
    })
  }

  const verifySignatures: MessageVerifier = async (items) => {
    if (broken !== undefined) throw broken
    checkItems(items)
    if (items.length === 0) return []
    return enqueue(items.length, (i, call) => {
      const { message, signature, publicKey } = items[i]!
      return place(message, signature, publicKey, call, i)
    })
  }

  return {
    size,
    verifyBlocks,
    verifySignatures,
    async close() {
      fail(new ClosedError('verify pool is closed'))
      terminated ??= Promise.all(workers.map((w) => w.terminate()))
      await terminated
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
