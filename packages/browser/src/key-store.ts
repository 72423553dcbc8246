/**
 * Where browser identities are kept: an IndexedDB database of their keys, by label.
 *
 * Schema version 1 (IndexedDB version 1; format record `{ format: 'tally-keys', version: 1 }`):
 *
 *   identities  key label (string)
 *               value KeyRecord: { label, publicKey (32), backend, key?: CryptoKey, seed?: (32), origin, createdAt }
 *   meta        'format' → { format: 'tally-keys', version: 1 }
 *
 * A 'webcrypto' record holds a non-extractable CryptoKey (IndexedDB stores it by structured clone
 * and gives back a key that is still non-extractable) and no seed. A 'noble' record, for browsers
 * without Ed25519 in WebCrypto, holds the 32-byte seed itself: weaker, since any script running on
 * the origin can read it and copy the identity elsewhere.
 * @module
 */
import type { IDBPDatabase } from 'idb'
import { RefusedError } from '@tally/core'
import { openVersioned } from './idb-open.js'

/** The schema version of the key database. */
export const KEY_STORE_VERSION = 1

/** How an identity signs: a WebCrypto key that cannot be exported, or a noble key from a stored seed. */
export type KeyBackend = 'webcrypto' | 'noble'

/** Whether the identity was created on this device (its chain began here) or restored from its phrase. */
export type IdentityOrigin = 'created' | 'restored'

/** One stored identity. */
export interface KeyRecord {
  readonly label: string
  readonly publicKey: Uint8Array
  readonly backend: KeyBackend
  /** The non-extractable private key ('webcrypto'). */
  readonly key?: CryptoKey
  /** The 32-byte seed ('noble' only). */
  readonly seed?: Uint8Array
  readonly origin: IdentityOrigin
  /** Milliseconds since the epoch. */
  readonly createdAt: number
}

const IDENTITIES = 'identities'

/**
 * Run `fn` on the open key database `name`, then close it.
 * @throws StoreVersionError when the database is newer or not a key database
 */
export async function withKeyStore<T>(name: string, fn: (db: IDBPDatabase<unknown>) => Promise<T>): Promise<T> {
  const db = await openVersioned({
    name,
    format: 'tally-keys',
    version: KEY_STORE_VERSION,
    upgrade(db, oldVersion) {
      if (oldVersion < 1) db.createObjectStore(IDENTITIES)
    },
    onClosed: () => undefined, // used for one call at a time: nothing to tell
  })
  try {
    return await fn(db)
  } finally {
    db.close()
  }
}

/** The record stored under `label`, if any. */
export async function readKey(db: IDBPDatabase<unknown>, label: string): Promise<KeyRecord | undefined> {
  return (await db.get(IDENTITIES, label)) as KeyRecord | undefined
}

/**
 * Store a new record; never overwrites one (it may be the only copy of a key).
 * @throws RefusedError (reason 'identity-exists') when the label is taken
 */
export async function addKey(db: IDBPDatabase<unknown>, record: KeyRecord): Promise<void> {
  const tx = db.transaction(IDENTITIES, 'readwrite', { durability: 'strict' })
  try {
    await tx.store.add(record, record.label)
    await tx.done
  } catch (err) {
    tx.done.catch(() => undefined)
    if ((err as { name?: string })?.name === 'ConstraintError') throw labelTaken(record.label)
    throw err
  }
}

/** Delete the record under `label`; true if there was one. */
export async function deleteKey(db: IDBPDatabase<unknown>, label: string): Promise<boolean> {
  const tx = db.transaction(IDENTITIES, 'readwrite', { durability: 'strict' })
  const found = (await tx.store.count(label)) > 0
  if (found) await tx.store.delete(label)
  await tx.done
  return found
}

/** The refusal for a label that already holds an identity. */
export function labelTaken(label: string): RefusedError {
  return new RefusedError(`an identity is already stored as "${label}" in this browser: open it, or delete it first`, { reason: 'identity-exists' })
}
