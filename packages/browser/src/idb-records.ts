/**
 * An id → bytes table on IndexedDB: the economy's `RecordTable` (@tally/economy/channels), so a
 * page's channel book — its locks and the latest receipt of each channel — outlives the page.
 * A payer that forgot its latest receipt would sign the next one from a lower total, which the
 * payee refuses ('receipt-stale'); a payee that forgot what it acknowledged could be paid twice.
 *
 * Schema, version 1: database `<name>` (default 'tally-records'), object store `records` keyed
 * by the record's id (a string) holding its bytes; `meta` → `{ format: 'tally-records',
 * version: 1 }` (idb-open.ts). Every put is its own readwrite transaction with `durability:
 * 'strict'`: resolved means flushed.
 * @module
 */
import type { RecordTable } from '@tally/economy/channels'
import { openVersioned } from './idb-open.js'

/** The record table's schema version. */
export const IDB_RECORDS_VERSION = 1

const RECORDS = 'records'

/** A RecordTable on IndexedDB, with `close`. */
export interface IdbRecords extends RecordTable {
  /** The database's name. */
  readonly name: string
  /** Close the database (later calls reject). */
  close(): void
}

/**
 * Open (creating) a record table on IndexedDB.
 * @param options name (default 'tally-records')
 * @returns the table
 * @throws StoreVersionError for a database of a newer version or another format
 * @example const book = createChannelBook(await openIdbRecords({ name: 'channels' }))
 */
export async function openIdbRecords(options: { name?: string } = {}): Promise<IdbRecords> {
  const name = options.name ?? 'tally-records'
  if (typeof name !== 'string' || name === '') throw new TypeError('"name" expected a non-empty string')
  let closedBy: string | undefined
  const db = await openVersioned({
    name,
    format: 'tally-records',
    version: IDB_RECORDS_VERSION,
    upgrade(d, oldVersion) {
      if (oldVersion < 1) d.createObjectStore(RECORDS)
    },
    onClosed: (reason) => void (closedBy = reason),
  })
  const open = () => {
    if (closedBy !== undefined) throw new Error(closedBy)
  }
  return {
    name,
    async get(id) {
      open()
      const record = (await db.get(RECORDS, id)) as unknown
      return record instanceof Uint8Array ? record : undefined
    },
    async put(id, record) {
      open()
      if (typeof id !== 'string') throw new TypeError('"id" expected a string')
      if (!(record instanceof Uint8Array)) throw new TypeError('"record" expected a Uint8Array')
      const tx = db.transaction(RECORDS, 'readwrite', { durability: 'strict' })
      await Promise.all([tx.store.put(Uint8Array.from(record), id), tx.done])
    },
    async list() {
      open()
      const tx = db.transaction(RECORDS, 'readonly')
      // IndexedDB orders string keys by code unit: ascending ids, as RecordTable.list promises
      const [ids, records] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll(), tx.done])
      return ids.map((id, i) => ({ id: String(id), record: records[i] as Uint8Array }))
    },
    close() {
      closedBy ??= `the record table "${name}" is closed`
      db.close()
    },
  }
}
