/**
 * Domain tags: every hash and signature in Tally covers a tag naming what is hashed, so a signature
 * made for one purpose can never be replayed as another (hypercore `caps.js` does the same).
 *
 * Layout: tag(name) = canonical CBOR text string "tally/v1/<name>". The CBOR length header makes
 * the tag self-delimiting, so no tag is a prefix of another tag followed by a message.
 * @module
 */
import { encodeCanonical } from './cbor.js'

/** The names of everything Tally hashes or signs. */
export type DomainName =
  | 'block'
  | 'fraud-proof'
  | 'handshake'
  | 'certificate'
  | 'statement'
  | 'merkle-leaf'
  | 'merkle-node'
  | 'config'
  | 'report'
  | 'account-token'
  // @tally/economy locks: a payer's cumulative voucher
  | 'voucher'
  // @tally/economy/channels: a payer's cumulative channel receipt (never a voucher: its own tag)
  | 'receipt'
  // @tally/economy/bandwidth: a downloader's cumulative bandwidth voucher, and a provider's payout
  | 'bandwidth'
  | 'bandwidth-payout'
  // @tally/browser: the Ed25519 seed hashed from a recovery phrase's BIP-39 seed
  | 'recovery-seed'

const cache = new Map<DomainName, Uint8Array>()

/**
 * The domain tag bytes for `name`.
 * @param name what is being hashed or signed
 * @returns canonical CBOR of "tally/v1/<name>"
 * @example sha256(concatBytes(domainTag('block'), body))
 */
export function domainTag(name: DomainName): Uint8Array {
  let tag = cache.get(name)
  if (tag === undefined) {
    tag = encodeCanonical(`tally/v1/${name}`)
    cache.set(name, tag)
  }
  return tag
}
