/**
 * The outbox: where a component keeps what it has signed and not yet delivered, so that nothing
 * it measured is lost to a crash, a restart or a witness that is down for an hour.
 *
 * `OutboxStore` is the contract (type-only here; a memory implementation beside it; a durable
 * one — LevelDB in @tally/node, IndexedDB in a browser — implements the same three calls and
 * passes the same suite, test/outbox-suite.ts):
 *
 * - `put(id, record)` stores `record` under `id`, replacing what was there. When the promise
 *   resolves the record is durable: it survives the process, and for a durable store a power cut
 *   (fsync; many puts may share one). Puts to one id are applied in call order.
 * - `list()` returns every record, by ascending `id` (ids are ASCII, compared as strings), as it
 *   was last put. Records put after `list` was called may or may not be included.
 * - `remove(id)` deletes the record; removing an absent id is a no-op. Durable when resolved.
 *
 * Records are opaque bytes (their owner's canonical CBOR), ids at most 128 characters of
 * `[a-z0-9:._-]`. The store never interprets either, so one store can hold a reporter's reports
 * and its cursor side by side, and a durable store is a key-value table and nothing more.
 * @module
 */

/** A stored record. */
export interface OutboxRecord {
  readonly id: string
  readonly record: Uint8Array
}

/** Where undelivered work is kept until it is delivered (see the module comment for the contract). */
export interface OutboxStore {
  /**
   * Store or replace a record; durable when resolved.
   * @throws RangeError on a malformed id
   */
  put(id: string, record: Uint8Array): Promise<void>
  /** Every record, by ascending id. */
  list(): Promise<OutboxRecord[]>
  /** Delete a record (a no-op when absent); durable when resolved. */
  remove(id: string): Promise<void>
}

/** How deliveries are retried: exponential backoff from `baseMs`, capped at `maxMs`, `attempts` in all. */
export interface RetryPolicy {
  /** Delay after the first failed attempt (ms). */
  readonly baseMs: number
  /** Longest delay (ms). */
  readonly maxMs: number
  /** Attempts before giving up (the first included). */
  readonly attempts: number
}

/** 1 s, doubling to 5 min, 12 attempts (about 25 minutes in all). */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ baseMs: 1_000, maxMs: 300_000, attempts: 12 })

const ID = /^[a-z0-9:._-]{1,128}$/

/**
 * The delay before attempt `attempt + 1`, after `attempt` failed ones.
 * @param policy the retry policy
 * @param attempt failed attempts so far (≥ 1)
 * @returns milliseconds
 * @example backoff(DEFAULT_RETRY, 3) // 4000
 */
export function backoff(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 40)))
}

/**
 * Check an outbox id.
 * @param id the id
 * @throws RangeError unless 1-128 characters of [a-z0-9:._-]
 * @internal
 */
export function checkId(id: string): void {
  if (typeof id !== 'string' || !ID.test(id)) throw new RangeError(`"id" expected 1-128 characters of [a-z0-9:._-], got ${JSON.stringify(String(id).slice(0, 40))}`)
}

/**
 * An outbox in memory: it survives a reporter's restart within the process (hand the same store
 * to the new reporter), not the process. Records are copied in and out.
 * @returns the store
 * @example const reporter = createReporter({ ..., outbox: createMemoryOutbox() })
 */
export function createMemoryOutbox(): OutboxStore {
  const records = new Map<string, Uint8Array>()
  return Object.freeze({
    async put(id: string, record: Uint8Array) {
      checkId(id)
      if (!(record instanceof Uint8Array)) throw new TypeError('"record" expected Uint8Array')
      records.set(id, Uint8Array.from(record))
    },
    async list() {
      return [...records.keys()].sort().map((id) => ({ id, record: Uint8Array.from(records.get(id)!) }))
    },
    async remove(id: string) {
      checkId(id)
      records.delete(id)
    },
  })
}
