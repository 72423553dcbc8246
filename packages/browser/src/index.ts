/**
 * @tally/browser — Tally in the browser: a BlockStore on IndexedDB. Browser-only (IndexedDB,
 * BroadcastChannel).
 * @module
 */
export { IDB_STORE_FORMAT, IDB_STORE_VERSION, openIdbStore, type IdbStore, type IdbStoreOptions, type StoreChange } from './idb-store.js'
