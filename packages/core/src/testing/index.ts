/**
 * @tally/core/testing — the tools Tally's own tests use, for users' test suites: the BlockStore
 * compliance suite (needs uvu installed).
 * @module
 */
export { storeSuite, type StoreSuiteOptions } from './store-suite.js'
