/**
 * @tally/node — the Node-only parts of Tally: native crypto providers (node:crypto, and
 * sodium-native when installed), a worker-thread verification pool, the LevelDB block store, and
 * durable LevelDB records (an outbox and ticket decisions, for @tally/economy).
 * @module
 */
export { nodeCrypto } from './node-crypto.js'
export { loadSodiumCrypto } from './sodium-crypto.js'
export { cryptoProviders, defaultCrypto } from './crypto.js'
export { blockSignatureValid } from './block-signature.js'
export { createVerifyPool, type MessageVerifier, type SignedMessage, type VerifyPool, type VerifyPoolOptions } from './verify-pool.js'
export { LEVEL_STORE_VERSION, openLevelStore, type LevelStoreOptions } from './level-store.js'
export {
  LEVEL_RECORDS_VERSION,
  openLevelDecisions,
  openLevelOutbox,
  openLevelRecords,
  type LevelDecision,
  type LevelDecisions,
  type LevelOutbox,
  type LevelRecord,
  type LevelRecords,
  type LevelRecordsOptions,
} from './level-records.js'
