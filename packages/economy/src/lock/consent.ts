/**
 * Release consent: the beneficiary's signature that lets the lock's owner release the lock before
 * its expiry, returning exactly `amount`. The beneficiary signs only what leaves it every voucher
 * it holds (amount ≤ lock − latest voucher), so an early release never takes what it was promised.
 *
 * Layout (signed, so fixed here):
 *
 *   statement = canonical CBOR array ['release', lock: bstr(32), amount: uint]
 *   digest    = SHA-256(domainTag('statement') ‖ statement)
 *   consent   = Ed25519 by the lock's beneficiary over digest (64 bytes, in the release payload)
 *
 * It is a statement like the registrations of statement.ts: the kind string comes first, so it can
 * never be read as another statement; the lock id names the lock's owner, beneficiary and amount.
 * @module
 */
import { abytes, auint, encodeCanonical, nobleCrypto, signThen, type CryptoProvider, type SignResult, type SigningKey } from '@tally/core'
import { isBytes, taggedHash } from '../util.js'

/**
 * The digest a release consent signs.
 * @param lock the lock id
 * @param amount what the release returns to the lock's owner
 * @param crypto provider (default nobleCrypto)
 * @returns 32 bytes
 * @example crypto.verify(consent, releaseConsentDigest(lock.id, 40), lock.beneficiary)
 */
export function releaseConsentDigest(lock: Uint8Array, amount: number, crypto: CryptoProvider = nobleCrypto): Uint8Array {
  return taggedHash('statement', crypto, encodeCanonical(['release', lock, amount]))
}

/**
 * Sign a consent to release `lock` now, returning `amount` to its owner.
 * @param key the beneficiary's signing key
 * @param lock the lock id
 * @param amount what the release returns
 * @param crypto provider for the digest (default nobleCrypto)
 * @returns the 64-byte signature (a promise of it for an asynchronous key)
 * @throws TypeError / RangeError on a malformed argument
 * @example const consent = signReleaseConsent(bob, lock.id, 40)
 */
export function signReleaseConsent<K extends SigningKey>(key: K, lock: Uint8Array, amount: number, crypto: CryptoProvider = nobleCrypto): SignResult<K, Uint8Array> {
  abytes('lock', lock, 32)
  auint('amount', amount)
  return signThen(key, releaseConsentDigest(lock, amount, crypto), (signature) => signature)
}

/**
 * Check a release consent.
 * @param consent the signature
 * @param lock the lock id
 * @param amount what the release returns
 * @param beneficiary the lock's beneficiary
 * @param crypto provider (default nobleCrypto)
 * @returns true iff the beneficiary consented to exactly this release
 * @example verifyReleaseConsent(release.consent, lock.id, release.amount, lock.beneficiary)
 */
export function verifyReleaseConsent(consent: Uint8Array, lock: Uint8Array, amount: number, beneficiary: Uint8Array, crypto: CryptoProvider = nobleCrypto): boolean {
  if (!isBytes(consent, 64) || !isBytes(lock, 32)) return false
  return crypto.verify(consent, releaseConsentDigest(lock, amount, crypto), beneficiary)
}
