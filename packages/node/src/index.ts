/**
 * @tally/node — the Node-only parts of Tally: native crypto providers (node:crypto, and
 * sodium-native when installed), a worker-thread verification pool, and the LevelDB block store.
 * @module
 */
export { nodeCrypto } from './node-crypto.js'
export { loadSodiumCrypto } from './sodium-crypto.js'
export { cryptoProviders, defaultCrypto } from './crypto.js'
export { blockSignatureValid } from './block-signature.js'
export { createVerifyPool, type MessageVerifier, type SignedMessage, type VerifyPool, type VerifyPoolOptions } from './verify-pool.js'
export { LEVEL_STORE_VERSION, openLevelStore, type LevelStoreOptions } from './level-store.js'
