/**
 * Opening a versioned IndexedDB database: the part the block store and the key store share.
 *
 * Two version marks, for two reasons:
 * - IndexedDB's own version number is the schema version: a database created by newer code has a
 *   higher one, and IndexedDB itself refuses to open it at a lower one (a `VersionError`, turned
 *   here into core's `StoreVersionError`), so old code can never write into a layout it does not
 *   know. An older database is upgraded in `upgrade` (IndexedDB runs it in its versionchange
 *   transaction: all of it or nothing).
 * - A `meta` object store holds the record `'format'` → `{ format, version }`: it tells a Tally
 *   database from another application's database of the same name (refused, never written to).
 *
 * Another tab that opens the database with a newer version asks this connection to close
 * (`versionchange`); it is closed at once and the owner is told (`onClosed`), so the upgrade is not
 * blocked by a tab that is still open.
 * @module
 */
import { openDB, type IDBPDatabase, type IDBPTransaction } from 'idb'
import { StoreVersionError } from '@tally/core'

/** The name of the object store that holds the format record, in every Tally database. */
export const META = 'meta'

/** The key of the format record in `meta`. */
const FORMAT_KEY = 'format'

/** The format record of a Tally database. */
export interface FormatRecord {
  /** What the database is, e.g. 'tally-blocks'. */
  readonly format: string
  /** Schema version, equal to IndexedDB's version of the database. */
  readonly version: number
}

/** How to open one kind of Tally database. */
export interface VersionedOptions {
  /** The database's name. */
  readonly name: string
  /** The format name written in its format record. */
  readonly format: string
  /** The schema version this code writes. */
  readonly version: number
  /**
   * Create the object stores of `version` from those of `oldVersion` (0: a new database). Runs in
   * the versionchange transaction; the `meta` store and the format record are written after it.
   */
  readonly upgrade: (db: IDBPDatabase<unknown>, oldVersion: number, tx: IDBPTransaction<unknown, string[], 'versionchange'>) => void
  /** Called once when the connection is closed by someone else (an upgrade in another tab, the browser). */
  readonly onClosed: (reason: string) => void
}

/**
 * Open (creating or upgrading) a Tally database of one format.
 * @param options name, format, version, upgrade, onClosed
 * @returns the open connection
 * @throws StoreVersionError when the database is newer than `version`, or is not a database of this format
 * @example const db = await openVersioned({ name, format: 'tally-blocks', version: 1, upgrade, onClosed })
 */
export async function openVersioned(options: VersionedOptions): Promise<IDBPDatabase<unknown>> {
  const { name, format, version } = options
  let foreign = false
  let db: IDBPDatabase<unknown>
  try {
    db = await openDB(name, version, {
      upgrade(db, oldVersion, _newVersion, tx) {
        if (oldVersion > 0 && !db.objectStoreNames.contains(META)) {
          // another application's database of this name: leave it as it was (a database of another
          // Tally format is refused after opening, by its format record; a migration from a Tally
          // version reads that record first)
          foreign = true
          tx.abort()
          return
        }
        options.upgrade(db, oldVersion, tx)
        if (!db.objectStoreNames.contains(META)) db.createObjectStore(META)
        void tx.objectStore(META).put({ format, version } satisfies FormatRecord, FORMAT_KEY)
      },
      blocking() {
        db.close()
        options.onClosed(`another tab opened IndexedDB database "${name}" with a newer schema: reload this page`)
      },
      terminated() {
        options.onClosed(`the browser closed IndexedDB database "${name}" (storage cleared or a disk error)`)
      },
    })
  } catch (err) {
    if (foreign) throw new StoreVersionError(`IndexedDB database "${name}" is not a ${format} database; it was left as it was`)
    if ((err as { name?: string })?.name === 'VersionError') {
      throw new StoreVersionError(`IndexedDB database "${name}" was written by a newer version of this code (schema above ${version}); update it to open the database`)
    }
    throw err
  }
  const found = db.objectStoreNames.contains(META) ? ((await db.get(META, FORMAT_KEY)) as FormatRecord | undefined) : undefined
  if (found?.format !== format || found.version !== version) {
    db.close()
    throw new StoreVersionError(
      found === undefined
        ? `IndexedDB database "${name}" is not a ${format} database`
        : `IndexedDB database "${name}" holds ${found.format} version ${found.version}; this code reads ${format} version ${version}`,
    )
  }
  return db
}
