/**
 * A crypto provider for simulations only: "signatures" are SHA-256 MACs under a per-key secret
 * kept in the provider's memory, so signing and verifying cost two hashes instead of an Ed25519
 * operation (~40x cheaper with a native SHA-256). It keeps what the simulated protocol relies on:
 * only the holder of a seed can sign for its key (a simulated adversary that does not hold the
 * seed cannot forge a block or a proof), a changed byte breaks the signature, and SHA-256 stays
 * real SHA-256 (block hashes, proof ids).
 *
 * NOT SECURE: anyone with the provider object can sign for every key it has seen, and its keys and
 * signatures are not Ed25519 (other providers reject them). Never use it outside a simulation.
 *
 *   publicKey(seed)     = SHA-256(tag("sim-key") ‖ seed)
 *   secret(seed)        = SHA-256(tag("sim-secret") ‖ seed)
 *   sign(secret, m)     = SHA-256(secret ‖ m) ‖ SHA-256(m ‖ secret)          (64 bytes)
 *   verify(s, m, key)   = the key's secret is known and s = sign(secret, m)
 *   tag(x)              = canonical CBOR text "tally/v1/<x>" (core's domain-tag layout)
 * @module
 */
import { concatBytes, encodeCanonical, equalBytes, nobleCrypto, toHex, type CryptoProvider, type SyncSigningKey } from '@tally/core'

const KEY_TAG = encodeCanonical('tally/v1/sim-key')
const SECRET_TAG = encodeCanonical('tally/v1/sim-secret')

/**
 * A simulation-only provider (see the module comment: not secure).
 * @param base provider of SHA-256 and random bytes (default nobleCrypto; a native one is faster)
 * @returns a provider named 'sim'
 * @example const crypto = createSimCrypto(defaultCrypto()); const id = identityFromSeed(seed, crypto)
 */
export function createSimCrypto(base: CryptoProvider = nobleCrypto): CryptoProvider {
  const secrets = new Map<string, Uint8Array>()
  const sha256 = (data: Uint8Array): Uint8Array => base.sha256(data)
  const mac = (secret: Uint8Array, message: Uint8Array): Uint8Array =>
    concatBytes(sha256(concatBytes(secret, message)), sha256(concatBytes(message, secret)))
  return Object.freeze({
    name: 'sim',
    signingKey(seed: Uint8Array): SyncSigningKey {
      if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new RangeError(`"seed" expected Uint8Array of length 32, got length=${(seed as Uint8Array)?.length}`)
      const publicKey = sha256(concatBytes(KEY_TAG, seed))
      const secret = sha256(concatBytes(SECRET_TAG, seed))
      secrets.set(toHex(publicKey), secret)
      return Object.freeze({ publicKey, sign: (message: Uint8Array) => mac(secret, message) })
    },
    verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
      if (!(signature instanceof Uint8Array) || signature.length !== 64 || !(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false
      const secret = secrets.get(toHex(publicKey))
      return secret !== undefined && equalBytes(mac(secret, message), signature)
    },
    sha256,
    randomBytes: (length: number) => base.randomBytes(length),
  })
}
