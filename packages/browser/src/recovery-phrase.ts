/**
 * The recovery phrase: the only backup of a browser identity. Shown once, when the identity is
 * created, and never stored; the key kept in IndexedDB cannot be exported, so losing both the
 * browser's data and the phrase loses the identity.
 *
 * Phrase: BIP-39, English wordlist (@scure/bip39), 12 words (128 bits of entropy, Ed25519's
 * security level) or 24 (256 bits), with BIP-39's checksum.
 *
 * Derivation of the 32-byte Ed25519 seed (the RFC 8032 secret key):
 *
 *   bip39Seed = PBKDF2-HMAC-SHA512(password = NFKD(phrase), salt = "mnemonic", 2048 rounds, 64 bytes)  (BIP-39, no passphrase)
 *   seed      = SHA-256(domainTag('recovery-seed') ‖ bip39Seed)
 *
 * domainTag('recovery-seed') is core's tag: canonical CBOR of the text "tally/v1/recovery-seed".
 * The tag makes the key a Tally identity's own: a cryptocurrency wallet given the same phrase
 * (SLIP-10 and the like) derives other keys from the same BIP-39 seed, and no key of one can sign
 * for the other.
 * @module
 */
import { bip39Seed } from './phrase-words.js'
import { tallySeed } from './recovery-seed.js'

export { generatePhrase, normalizePhrase, type RecoveryPhrase } from './phrase-words.js'

/**
 * The Ed25519 seed of a recovery phrase (see the module's derivation). Deterministic: the same
 * phrase gives the same seed, so `identityFromSeed(await seedFromPhrase(p))` is the identity that
 * a browser restores from `p`, in Node as well.
 * @param phrase a recovery phrase (normalized first)
 * @returns 32 secret bytes; the caller wipes them when done
 * @throws TypeError / RangeError as normalizePhrase
 * @example const seed = await seedFromPhrase(phrase)
 */
export async function seedFromPhrase(phrase: string): Promise<Uint8Array> {
  return tallySeed(await bip39Seed(phrase))
}
