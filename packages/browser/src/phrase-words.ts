/**
 * The BIP-39 half of the recovery phrase (recovery-phrase.ts says the derivation): the words,
 * their checksum, and PBKDF2. Loaded on demand, when an identity is created or restored, and
 * kept apart from @tally/core (the tagged hash that ends the derivation is recovery-seed.ts's),
 * so a page's bundler has one file fewer to split at start.
 * @module
 */
import { generateMnemonic, mnemonicToSeed, mnemonicToSeedWebcrypto, validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'

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
 * BIP-39's seed of a phrase: PBKDF2-HMAC-SHA512 of the normalized phrase, salt "mnemonic", 2048
 * rounds, 64 bytes.
 * @param phrase a recovery phrase (normalized first)
 * @returns 64 secret bytes; the caller wipes them when done
 * @throws TypeError / RangeError as normalizePhrase
 * @internal
 */
export async function bip39Seed(phrase: string): Promise<Uint8Array> {
  const normalized = normalizePhrase(phrase)
  const subtle = (globalThis as { crypto?: { subtle?: unknown } }).crypto?.subtle
  // WebCrypto's PBKDF2 where there is one (every browser in a secure context): far faster than JS
  return subtle !== undefined ? await mnemonicToSeedWebcrypto(normalized) : await mnemonicToSeed(normalized)
}
