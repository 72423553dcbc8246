/**
 * Choosing a crypto provider on Node: libsodium where sodium-native loads, else node:crypto.
 * @module
 */
import { nobleCrypto } from '@tally/core'
import type { CryptoProvider } from '@tally/core'
import { nodeCrypto } from './node-crypto.js'
import { loadSodiumCrypto } from './sodium-crypto.js'

/**
 * The fastest provider on this machine. Both candidates give byte-identical keys and signatures
 * and accept the same signatures (libsodium's strict rules), so the choice changes only speed.
 * @returns `sodiumCrypto` when sodium-native loads, else `nodeCrypto`
 * @example const key = defaultCrypto().signingKey(seed)
 */
export function defaultCrypto(): CryptoProvider {
  return loadSodiumCrypto() ?? nodeCrypto
}

/**
 * Every provider available on this machine, for tests that compare them and for benchmarks.
 * @returns noble and node always, then sodium when sodium-native loads
 * @example for (const crypto of cryptoProviders()) console.log(crypto.name)
 */
export function cryptoProviders(): CryptoProvider[] {
  const sodium = loadSodiumCrypto()
  return sodium === undefined ? [nobleCrypto, nodeCrypto] : [nobleCrypto, nodeCrypto, sodium]
}
