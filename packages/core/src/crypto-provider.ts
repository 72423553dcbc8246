/**
 * The crypto provider interface (type-only). Implementations: `nobleCrypto` here (portable),
 * `nodeCrypto` and `loadSodiumCrypto()` in @tally/node. Ed25519 is deterministic (RFC 8032), so every
 * provider must produce byte-identical signatures; the shared tests check it.
 * @module
 */

/**
 * A signing key held by a provider. The secret never leaves it: implementations keep it in a
 * closure or a native handle, and expose only the public key and `sign`.
 */
export interface SigningKey {
  /** 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
  /** Ed25519 signature (64 bytes) over `message`. */
  sign(message: Uint8Array): Uint8Array
}

/** Sign, verify and hash. Every method is synchronous: all three are CPU-bound and short. */
export interface CryptoProvider {
  /** Short name for benchmarks and logs: 'noble', 'node', 'sodium'. */
  readonly name: string
  /** A signing key from a 32-byte Ed25519 seed (the RFC 8032 secret key). */
  signingKey(seed: Uint8Array): SigningKey
  /** True iff `signature` is a valid Ed25519 signature of `message` by `publicKey`; never throws on bad input. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean
  /** SHA-256 digest. */
  sha256(data: Uint8Array): Uint8Array
  /** 32 bytes from a cryptographically secure source. */
  randomBytes(length: number): Uint8Array
}
