/**
 * An IndexedDB database as JSON and back, below the store's code: the golden fixture of the block
 * store's format (test/vectors/idb-v1.json) is such a dump. Byte strings (binary keys, Uint8Array
 * values) are {"$bytes": hex}.
 */
import { deleteDB, openDB } from 'idb'
import { fromHex, toHex } from '@tally/core'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

export interface IndexSchema {
  name: string
  keyPath: string | string[]
  unique: boolean
  multiEntry: boolean
}

export interface StoreSchema {
  name: string
  keyPath: string | string[] | null
  autoIncrement: boolean
  indexes: IndexSchema[]
}

export interface Dump {
  version: number
  stores: StoreSchema[]
  /** store name → its records in key order */
  records: Record<string, { key: Json; value: Json }[]>
}

/** Every object store, index and record of database `name`. */
export async function dumpDatabase(name: string): Promise<Dump> {
  const db = await openDB(name)
  try {
    const names = [...db.objectStoreNames].sort()
    const stores: StoreSchema[] = []
    const records: Dump['records'] = {}
    const tx = db.transaction(names)
    for (const storeName of names) {
      const store = tx.objectStore(storeName)
      const indexes = [...store.indexNames].sort().map((n) => {
        const index = store.index(n)
        return { name: n, keyPath: index.keyPath, unique: index.unique, multiEntry: index.multiEntry }
      })
      stores.push({ name: storeName, keyPath: store.keyPath, autoIncrement: store.autoIncrement, indexes })
      const rows: { key: Json; value: Json }[] = []
      for (let cursor = await store.openCursor(); cursor !== null; cursor = await cursor.continue()) {
        rows.push({ key: toJson(cursor.key), value: toJson(cursor.value) })
      }
      records[storeName] = rows
    }
    await tx.done
    return { version: db.version, stores, records }
  } finally {
    db.close()
  }
}

/** Write `dump` as database `name` (deleted first), with exactly its schema and records. */
export async function loadDatabase(name: string, dump: Dump): Promise<void> {
  await deleteDB(name)
  const db = await openDB(name, dump.version, {
    upgrade(db) {
      for (const s of dump.stores) {
        const store = db.createObjectStore(s.name, { keyPath: s.keyPath, autoIncrement: s.autoIncrement })
        for (const i of s.indexes) store.createIndex(i.name, i.keyPath, { unique: i.unique, multiEntry: i.multiEntry })
      }
    },
  })
  try {
    const names = dump.stores.map((s) => s.name)
    const tx = db.transaction(names, 'readwrite')
    for (const s of dump.stores) {
      const store = tx.objectStore(s.name)
      for (const row of dump.records[s.name] ?? []) {
        if (s.keyPath === null) void store.put(fromJson(row.value), fromJson(row.key) as IDBValidKey)
        else void store.put(fromJson(row.value))
      }
    }
    await tx.done
  } finally {
    db.close()
  }
}

export function toJson(value: unknown): Json {
  if (value instanceof ArrayBuffer) return { $bytes: toHex(new Uint8Array(value)) }
  if (value instanceof Uint8Array) return { $bytes: toHex(value) }
  if (Array.isArray(value)) return value.map(toJson)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, toJson((value as Record<string, unknown>)[k])]))
  }
  if (value === null || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') return value
  throw new TypeError(`cannot dump a ${typeof value}`)
}

export function fromJson(json: Json): unknown {
  if (Array.isArray(json)) return json.map(fromJson)
  if (json !== null && typeof json === 'object') {
    const keys = Object.keys(json)
    if (keys.length === 1 && keys[0] === '$bytes') return fromHex(json['$bytes'] as string)
    return Object.fromEntries(keys.map((k) => [k, fromJson(json[k]!)]))
  }
  return json
}
