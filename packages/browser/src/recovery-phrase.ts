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
import { generateMnemonic, mnemonicToSeed, mnemonicToSeedWebcrypto, validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { concatBytes, domainTag, nobleCrypto } from '@tally/core'

/** A recovery phrase: 12 or 24 English BIP-39 words separated by single spaces. */
export type RecoveryPhrase = string

/**
 * A new random recovery phrase.
 * @param words 12 (default) or 24
 * @returns the phrase
 * @throws RangeError when words is neither
 * @example const phrase = generatePhrase() // 'legal winner thank year wave sausage ...'
 */
export function generatePhrase(words: 12 | 24 = 12): RecoveryPhrase {
  if (words !== 12 && words !== 24) throw new RangeError(`"words" expected 12 or 24, got ${String(words)}`)
  return generateMnemonic(wordlist, words === 12 ? 128 : 256)
}

/**
 * The phrase as BIP-39 reads it: lowercase, NFKD, words separated by single spaces.
 * @param phrase what the user typed
 * @returns the normalized phrase
 * @throws TypeError when phrase is not a string; RangeError when it is not 12 or 24 English BIP-39
 *   words with a valid checksum (a word misspelt or out of order)
 * @example normalizePhrase('  Legal winner ... ') // 'legal winner ...'
 */
export function normalizePhrase(phrase: string): RecoveryPhrase {
  if (typeof phrase !== 'string') throw new TypeError('"phrase" expected string')
  const words = phrase.normalize('NFKD').trim().toLowerCase().split(/\s+/)
  if (words.length !== 12 && words.length !== 24) throw new RangeError(`"phrase" expected 12 or 24 words, got ${words[0] === '' ? 0 : words.length}`)
  const normalized = words.join(' ')
  const unknown = words.findIndex((w) => !wordlist.includes(w))
  if (unknown >= 0) throw new RangeError(`"phrase" word ${unknown + 1} is not in the BIP-39 English wordlist`)
  if (!validateMnemonic(normalized, wordlist)) throw new RangeError('"phrase" has a wrong checksum: a word is misspelt or out of order')
  return normalized
}

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
  const normalized = normalizePhrase(phrase)
  const subtle = (globalThis as { crypto?: { subtle?: unknown } }).crypto?.subtle
  // WebCrypto's PBKDF2 where there is one (every browser in a secure context): far faster than JS
  const bip39Seed = subtle !== undefined ? await mnemonicToSeedWebcrypto(normalized) : await mnemonicToSeed(normalized)
  const input = concatBytes(domainTag('recovery-seed'), bip39Seed)
  try {
    return nobleCrypto.sha256(input)
  } finally {
    bip39Seed.fill(0)
    input.fill(0)
  }
}
