export * from './bytes.js'
export * from './errors.js'
export type * from './crypto-provider.js'
export { nobleCrypto } from './noble-crypto.js'
