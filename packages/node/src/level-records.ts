/**
 * Small durable records on LevelDB (classic-level): an ordered id → bytes table whose writes
 * resolve once an fsync covers them (`sync: true`). It backs two contracts of @tally/economy's
 * network layer, matched structurally (this package does not depend on @tally/economy):
 *
 * - `openLevelOutbox` — an `OutboxStore` (put / list by ascending id / remove): what a reporter
 *   signed and has not delivered survives a crash, a restart and a power cut.
 * - `openLevelDecisions` — a `DecisionStore` (get / put / prune) for a ticket witness. Losing a
 *   decision would let the witness sign both tickets of one proposal (accept, then void), so a
 *   put resolves only once it is on disk.
 *
 * Ids are 1-128 characters of `[a-z0-9:._-]` (the outbox's id rule), stored as UTF-8 keys, so byte
 * order is string order. One more key, `V` (not a valid id), holds the format version: a
 * directory holding other LevelDB data (a block store, say) is refused rather than misread.
 *
 * Writes are queued: those waiting while one batch is written go together in the next batch, with
 * one fsync, in call order (so puts to one id apply in call order). One directory is open once at
 * a time (LevelDB's LOCK): a second open throws LockedError.
 * @module
 */
import { ClassicLevel } from 'classic-level'
import { ClosedError, CorruptError, LockedError, StoreVersionError, decodeCanonical, encodeCanonical, toHex } from '@tally/core'

/** Options of openLevelRecords, openLevelOutbox and openLevelDecisions. */
export interface LevelRecordsOptions {
  /** Directory of the database; created when missing. */
  path: string
}

/** A stored record (the shape of economy's OutboxRecord). */
export interface LevelRecord {
  readonly id: string
  readonly record: Uint8Array
}

/** The outbox calls, plus close (structurally an @tally/economy `OutboxStore`). */
export interface LevelOutbox {
  /**
   * Store or replace a record; durable (fsynced) when resolved. The bytes are copied.
   * @throws RangeError on a malformed id; TypeError unless `record` is a Uint8Array
   */
  put(id: string, record: Uint8Array): Promise<void>
  /** Every record, by ascending id (copies). */
  list(): Promise<LevelRecord[]>
  /** Delete a record (a no-op when absent); durable when resolved. */
  remove(id: string): Promise<void>
  /** Finish pending writes and release the directory; later calls reject with ClosedError. */
  close(): Promise<void>
}

/** A durable ordered id → bytes table. */
export interface LevelRecords extends LevelOutbox {
  /** The record under `id` (a copy), or undefined. */
  get(id: string): Promise<Uint8Array | undefined>
}

/** A witness's decision on one proposal (the shape of economy's `Decision`). */
export interface LevelDecision {
  readonly decision: 'accept' | 'void'
  /** The proposal's expiry (ms), for pruning. */
  readonly expires: number
}

/** Ticket decisions on disk (structurally an @tally/economy `DecisionStore`), plus close. */
export interface LevelDecisions {
  /** The decision on a proposal (by its hash, 1-64 bytes), or undefined. */
  get(proposal: Uint8Array): Promise<LevelDecision | undefined>
  /**
   * Keep a decision; durable (fsynced) when resolved.
   * @throws RangeError on a proposal hash of 0 or more than 64 bytes; TypeError on a malformed decision
   */
  put(proposal: Uint8Array, decision: LevelDecision): Promise<void>
  /** Forget decisions on proposals that expired before `before`; durable when resolved. */
  prune(before: number): Promise<void>
  /** Finish pending writes and release the directory. */
  close(): Promise<void>
}

/** The format version this code writes (under the key `V`). */
export const LEVEL_RECORDS_VERSION = 1

const ID = /^[a-z0-9:._-]{1,128}$/
const VERSION_KEY = 'V'
/** Longest proposal hash a decision store takes: its hex key must be a valid id. */
const MAX_PROPOSAL = 64

type Db = ClassicLevel<string, Uint8Array>
type Op = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }

/**
 * Open (or create) a durable record table in the directory `options.path`.
 * @param options the path
 * @returns the open table; `close()` it to release the directory
 * @throws TypeError on a malformed option; LockedError (ERR_LOCKED) when the directory is open
 *   already, in this process or another; StoreVersionError (ERR_STORE_VERSION) when it holds other
 *   LevelDB data or a newer format
 * @example
 * const records = await openLevelRecords({ path: './records' })
 * await records.put('cursor', Uint8Array.of(1)) // on disk when it resolves
 * await records.close()
 */
export async function openLevelRecords(options: LevelRecordsOptions): Promise<LevelRecords> {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected object')
  const { path } = options
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('"path" expected a non-empty string')
  const db: Db = new ClassicLevel<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' })
  try {
    await db.open()
  } catch (err) {
    if ((err as { cause?: { code?: unknown } }).cause?.code === 'LEVEL_LOCKED') {
      throw new LockedError(`${path} is open already, in this process or another: a records directory has one writer at a time`, { cause: err })
    }
    throw err
  }
  try {
    await checkVersion(db, path)
  } catch (err) {
    await db.close()
    throw err
  }
  return new Records(db)
}

/**
 * Open (or create) a durable outbox: an @tally/economy `OutboxStore` on LevelDB.
 * @param options the path (a directory of its own)
 * @returns the outbox; `close()` it to release the directory
 * @throws as openLevelRecords
 * @example const reporter = createReporter({ ..., outbox: await openLevelOutbox({ path: './outbox' }) })
 */
export async function openLevelOutbox(options: LevelRecordsOptions): Promise<LevelOutbox> {
  const records = await openLevelRecords(options)
  return Object.freeze({
    put: (id: string, record: Uint8Array) => records.put(id, record),
    list: () => records.list(),
    remove: (id: string) => records.remove(id),
    close: () => records.close(),
  })
}

/**
 * Open (or create) a witness's durable ticket decisions: an @tally/economy `DecisionStore` on
 * LevelDB. Each decision is canonical CBOR `{ decision, expires }` under the proposal hash in hex.
 * @param options the path (a directory of its own)
 * @returns the store; `close()` it to release the directory
 * @throws as openLevelRecords
 * @example ticketsProtocol({ key, community, decisions: await openLevelDecisions({ path: './decisions' }) })
 */
export async function openLevelDecisions(options: LevelRecordsOptions): Promise<LevelDecisions> {
  const records = await openLevelRecords(options)
  return Object.freeze({
    async get(proposal: Uint8Array) {
      const bytes = await records.get(proposalId(proposal))
      return bytes === undefined ? undefined : readDecision(bytes)
    },
    async put(proposal: Uint8Array, decision: LevelDecision) {
      const id = proposalId(proposal)
      await records.put(id, encodeCanonical(checkDecision(decision)))
    },
    async prune(before: number) {
      if (typeof before !== 'number' || Number.isNaN(before)) throw new TypeError('"before" expected a number')
      const stale: string[] = []
      for (const { id, record } of await records.list()) if (readDecision(record).expires < before) stale.push(id)
      await (records as Records).removeAll(stale)
    },
    close: () => records.close(),
  })
}

class Records implements LevelRecords {
  readonly #db: Db
  /** Writes waiting for the next batch. */
  #queue: Array<{ op: Op; resolve: () => void; reject: (err: unknown) => void }> = []
  /** The batch being written, if any. */
  #writing: Promise<void> | undefined
  #closed = false

  constructor(db: Db) {
    this.#db = db
  }

  async get(id: string): Promise<Uint8Array | undefined> {
    checkId(id)
    this.#open()
    const value = await this.#db.get(id).catch((err: unknown) => Promise.reject(this.#closedError(err)))
    return value === undefined ? undefined : Uint8Array.from(value)
  }

  async put(id: string, record: Uint8Array): Promise<void> {
    checkId(id)
    if (!(record instanceof Uint8Array)) throw new TypeError('"record" expected Uint8Array')
    return this.#write([{ type: 'put', key: id, value: Uint8Array.from(record) }])
  }

  async list(): Promise<LevelRecord[]> {
    this.#open()
    const entries = await this.#db.iterator().all().catch((err: unknown) => Promise.reject(this.#closedError(err)))
    return entries.filter(([key]) => key !== VERSION_KEY).map(([id, value]) => ({ id, record: Uint8Array.from(value) }))
  }

  async remove(id: string): Promise<void> {
    checkId(id)
    return this.#write([{ type: 'del', key: id }])
  }

  /** Remove many ids in one durable batch (prune). */
  async removeAll(ids: readonly string[]): Promise<void> {
    for (const id of ids) checkId(id)
    if (ids.length > 0) await this.#write(ids.map((key) => ({ type: 'del', key })))
    else this.#open()
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    while (this.#writing !== undefined) await this.#writing
    await this.#db.close()
  }

  #write(ops: Op[]): Promise<void> {
    this.#open()
    const written = Promise.all(ops.map((op) => new Promise<void>((resolve, reject) => this.#queue.push({ op, resolve, reject }))))
    this.#writing ??= this.#drain()
    return written.then(() => undefined)
  }

  /** Write what is queued, one synced batch at a time, until the queue is empty. */
  async #drain(): Promise<void> {
    // let the writes of this turn of the event loop join the first batch
    await Promise.resolve()
    while (this.#queue.length > 0) {
      const group = this.#queue
      this.#queue = []
      try {
        await this.#db.batch(group.map((g) => g.op), { sync: true })
        for (const g of group) g.resolve()
      } catch (err) {
        const error = this.#closedError(err)
        for (const g of group) g.reject(error)
      }
    }
    this.#writing = undefined
  }

  #open(): void {
    if (this.#closed) throw new ClosedError('level records are closed')
  }

  #closedError(err: unknown): unknown {
    const code = (err as { code?: unknown }).code
    return this.#closed || code === 'LEVEL_DATABASE_NOT_OPEN' ? new ClosedError('level records are closed') : err
  }
}

function checkId(id: string): void {
  if (typeof id !== 'string' || !ID.test(id)) throw new RangeError(`"id" expected 1-128 characters of [a-z0-9:._-], got ${JSON.stringify(String(id).slice(0, 40))}`)
}

function proposalId(proposal: Uint8Array): string {
  if (!(proposal instanceof Uint8Array)) throw new TypeError('"proposal" expected Uint8Array')
  if (proposal.length === 0 || proposal.length > MAX_PROPOSAL) throw new RangeError(`"proposal" expected a hash of 1-${MAX_PROPOSAL} bytes, got ${proposal.length}`)
  return toHex(proposal)
}

function checkDecision(d: LevelDecision): LevelDecision {
  if (typeof d !== 'object' || d === null) throw new TypeError('"decision" expected object')
  if (d.decision !== 'accept' && d.decision !== 'void') throw new TypeError(`"decision.decision" expected 'accept' or 'void', got ${JSON.stringify(d.decision)}`)
  if (typeof d.expires !== 'number' || !Number.isSafeInteger(d.expires)) throw new TypeError('"decision.expires" expected a safe integer')
  return { decision: d.decision, expires: d.expires }
}

function readDecision(bytes: Uint8Array): LevelDecision {
  let value: unknown
  try {
    value = decodeCanonical(bytes)
  } catch {
    value = undefined
  }
  const d = value as Partial<LevelDecision> | undefined
  if (typeof d !== 'object' || d === null || (d.decision !== 'accept' && d.decision !== 'void') || typeof d.expires !== 'number' || !Number.isSafeInteger(d.expires)) {
    throw new CorruptError('a stored ticket decision is unreadable')
  }
  return Object.freeze({ decision: d.decision, expires: d.expires })
}

async function checkVersion(db: Db, path: string): Promise<void> {
  const stored = await db.get(VERSION_KEY)
  if (stored === undefined) {
    const [any] = await db.keys({ limit: 1 }).all()
    if (any !== undefined) throw new StoreVersionError(`${path} holds a LevelDB database that is not a Tally record table (no format version)`)
    await db.put(VERSION_KEY, encodeCanonical(LEVEL_RECORDS_VERSION), { sync: true })
    return
  }
  let version: unknown
  try {
    version = decodeCanonical(stored)
  } catch {
    version = undefined
  }
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) throw new StoreVersionError(`${path} has an unreadable record table format version`)
  if (version > LEVEL_RECORDS_VERSION) throw new StoreVersionError(`${path} was written by a newer Tally (record table format ${version}; this version reads up to ${LEVEL_RECORDS_VERSION}): upgrade @tally/node`)
}
