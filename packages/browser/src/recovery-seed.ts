/**
 * The last step of a recovery phrase's derivation (recovery-phrase.ts): the Ed25519 seed is
 * SHA-256(domainTag('recovery-seed') ‖ bip39Seed).
 * @module
 */
import { concatBytes, domainTag, nobleCrypto } from '@tally/core'

/**
 * The Ed25519 seed of a BIP-39 seed.
 * @param bip39Seed the phrase's BIP-39 seed (64 bytes); wiped here
 * @returns 32 secret bytes; the caller wipes them when done
 * @internal
 */
export function tallySeed(bip39Seed: Uint8Array): Uint8Array {
  const input = concatBytes(domainTag('recovery-seed'), bip39Seed)
  try {
    return nobleCrypto.sha256(input)
  } finally {
    bip39Seed.fill(0)
    input.fill(0)
  }
}
