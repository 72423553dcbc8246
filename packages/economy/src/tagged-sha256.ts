/**
 * Tagged SHA-256 for the Merkle tree's hot path (a million leaves and a million nodes per epoch
 * close), in the style of BIP-340's tagged hashes:
 *
 *   taggedHash(name, data) = SHA-256(prefix ‖ data),  prefix = SHA-256(domainTag(name)) ‖ SHA-256(domainTag(name))
 *
 * The 64-byte prefix fills exactly one SHA-256 block, so the state after it is computed once per
 * tag and copied for each message; digests are written straight into the caller's array. On Node
 * the hashing is libsodium's, through the optional sodium-native (as @tally/node's fastest
 * provider), when it loads: about twice the speed of @noble/hashes for a 40-byte leaf. Otherwise,
 * and in browsers (tagged-sha256.browser.ts), @noble/hashes. No SHA-256 of our own: both are
 * checked against @noble/hashes' one-shot digest in the tests.
 * @module
 */
import { createRequire } from 'node:module'
import type { DomainName } from '@tally/core'
import { checkTaggedLength, nobleTaggedSha256, type TaggedSha256 } from './tagged-sha256-noble.js'
import { tagPrefix } from './tag-prefix.js'

export type { TaggedSha256 }

export { tagPrefix }

/**
 * A hasher of prefix(name) ‖ data, for data of exactly `length` bytes.
 * @param name the domain tag
 * @param length bytes of data per message, 0 to 119
 * @returns the hasher: libsodium's SHA-256 when sodium-native loads, else @noble/hashes'
 * @throws RangeError on another length
 * @internal
 */
export function taggedSha256(name: DomainName, length: number): TaggedSha256 {
  const sodium = loadSodium()
  return sodium === null ? nobleTaggedSha256(name, length) : sodiumTaggedSha256(sodium, name, length)
}

/**
 * The same hasher on @noble/hashes whether or not sodium-native loads (for tests and comparisons).
 * @internal
 */
export { nobleTaggedSha256 }

// ## Private helpers

/** The incremental SHA-256 of sodium-native (v5) that this module calls. */
interface SodiumSha256 {
  readonly crypto_hash_sha256_STATEBYTES: number
  crypto_hash_sha256_init(state: Uint8Array): void
  crypto_hash_sha256_update(state: Uint8Array, input: Uint8Array): void
  crypto_hash_sha256_final(state: Uint8Array, out: Uint8Array): void
}

// undefined: not tried yet; null: sodium-native is not installed or does not load here
let sodiumLoaded: SodiumSha256 | null | undefined

function loadSodium(): SodiumSha256 | null {
  if (sodiumLoaded === undefined) {
    try {
      // an optional dependency: missing on some installs, or without a binary for the platform
      sodiumLoaded = createRequire(import.meta.url)('sodium-native') as SodiumSha256
    } catch {
      sodiumLoaded = null
    }
  }
  return sodiumLoaded
}

function sodiumTaggedSha256(sodium: SodiumSha256, name: DomainName, length: number): TaggedSha256 {
  checkTaggedLength(length)
  const afterPrefix = new Uint8Array(sodium.crypto_hash_sha256_STATEBYTES)
  sodium.crypto_hash_sha256_init(afterPrefix)
  sodium.crypto_hash_sha256_update(afterPrefix, tagPrefix(name))
  const state = new Uint8Array(afterPrefix.length)
  const digest = new Uint8Array(32)
  return {
    hashInto(data: Uint8Array, at: number, out: Uint8Array, outAt: number): void {
      state.set(afterPrefix)
      sodium.crypto_hash_sha256_update(state, at === 0 && data.length === length ? data : data.subarray(at, at + length))
      sodium.crypto_hash_sha256_final(state, digest)
      out.set(digest, outAt)
    },
  }
}
