/**
 * @tally/browser — Tally in the browser: a BlockStore on IndexedDB, Ed25519 keys kept as WebCrypto
 * keys that cannot be exported, a recovery phrase as their only backup, and one signing tab at a
 * time. Browser-only (IndexedDB, WebCrypto, Web Locks, BroadcastChannel).
 * @module
 */
export { IDB_STORE_FORMAT, IDB_STORE_VERSION, openIdbStore, type IdbStore, type IdbStoreOptions, type StoreChange } from './idb-store.js'
export {
  createBrowserIdentity,
  deleteBrowserIdentity,
  openBrowserIdentity,
  restoreBrowserIdentity,
  type BrowserIdentity,
  type BrowserIdentityOptions,
  type CreateBrowserIdentityOptions,
  type CreatedBrowserIdentity,
  type NewBrowserIdentityOptions,
} from './browser-identity.js'
export { KEY_STORE_VERSION, type IdentityOrigin, type KeyBackend } from './key-store.js'
export { generatePhrase, normalizePhrase, seedFromPhrase, type RecoveryPhrase } from './recovery-phrase.js'
export { lockName, type SignerRole } from './signer-lock.js'
export { webCryptoEd25519 } from './webcrypto-ed25519.js'
export { VERIFY_KEYS, createBrowserVerifier, webCryptoVerifies, type BrowserVerifier, type BrowserVerifierOptions, type VerifyBackend } from './webcrypto-verify.js'
export { createBrowserWallet, type BrowserWallet, type BrowserWalletOptions, type TransferEvent, type WalletEvents } from './wallet.js'
export { DEFAULT_RECONNECT, reconnectDelay, type ConnectionEvent, type ConnectionState, type ReconnectOptions } from './gateway-link.js'
export { WALLET_DB_VERSION } from './evidence-db.js'
export type { HistoryEntry, HistoryKind } from './history.js'
export type { Events } from './events.js'
export { IDB_RECORDS_VERSION, openIdbRecords, type IdbRecords } from './idb-records.js'
