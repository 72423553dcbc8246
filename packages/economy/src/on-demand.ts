/**
 * The lock code loaded on demand, as one module: the rules of the lock types (lock-rules.ts) and
 * the wallet's lock operations (lock-wallet.ts). One module for both, because a wallet's first
 * lock call needs both anyway (the agent checks the block it makes by the rules), and a bundler
 * splits what they share with the start of a page into fewer files.
 * @module
 */
export { lockRules } from './lock-rules.js'
export { lockOperations } from './lock-wallet.js'
