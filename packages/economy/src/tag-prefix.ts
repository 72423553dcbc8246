/**
 * The prefix of the economy's tagged hashes, shared by tagged-sha256.ts (Node) and its browser
 * variant (tagged-sha256.browser.ts): taggedHash(name, data) = SHA-256(prefix ‖ data).
 * @module
 */
import { concatBytes, domainTag, nobleCrypto, type DomainName } from '@tally/core'

/**
 * The 64-byte prefix of a tag: SHA-256(domainTag(name)) twice.
 * @param name the domain tag
 * @returns 64 bytes
 * @example tagPrefix('merkle-leaf').length // 64
 * @internal
 */
export function tagPrefix(name: DomainName): Uint8Array {
  const t = nobleCrypto.sha256(domainTag(name))
  return concatBytes(t, t)
}
