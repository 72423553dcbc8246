/**
 * The crypto provider interface (type-only). Implementations: `nobleCrypto` here (portable),
 * `nodeCrypto` and `loadSodiumCrypto()` in @tally/node. Ed25519 is deterministic (RFC 8032), so every
 * provider must produce byte-identical signatures; the shared tests check it.
 * @module
 */

/**
 * A signing key. The secret never leaves it: implementations keep it in a closure, a native handle
 * or a key store (a non-extractable WebCrypto key), and expose only the public key and `sign`.
 *
 * Signing may be asynchronous: a WebCrypto key signs through a Promise. Every caller awaits the
 * result (`await key.sign(m)` costs nothing more than a microtask when it is a plain value);
 * verifying and hashing stay synchronous fast paths.
 */
export interface SigningKey {
  /** 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
  /** Ed25519 signature (64 bytes) over `message`, or a promise of it. */
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>
}

/**
 * A signing key that signs synchronously: every key a provider makes from a seed. Functions that
 * sign accept any `SigningKey` and answer synchronously when given one of these (see `SignResult`).
 */
export interface SyncSigningKey extends SigningKey {
  /** Ed25519 signature (64 bytes) over `message`. */
  sign(message: Uint8Array): Uint8Array
  /**
   * As `sign`, written into `out` (64 bytes) rather than a new array. Optional: for a caller that
   * keeps the signature beside other bytes (signBlock: in the block's buffer), which uses `sign`
   * when a key has none. A native provider's new array costs an allocation the collector tracks.
   */
  signInto?(message: Uint8Array, out: Uint8Array): void
}

/**
 * What a function that signs with a key of type `K` returns when it would return `T`: `T` itself
 * for a synchronous key, else `T` or a promise of it (await it).
 */
export type SignResult<K extends SigningKey, T> = K extends SyncSigningKey ? T : T | Promise<T>

/** Sign, verify and hash. Every method is synchronous: all three are CPU-bound and short. */
export interface CryptoProvider {
  /** Short name for benchmarks and logs: 'noble', 'node', 'sodium'. */
  readonly name: string
  /** A signing key from a 32-byte Ed25519 seed (the RFC 8032 secret key); it signs synchronously. */
  signingKey(seed: Uint8Array): SyncSigningKey
  /** True iff `signature` is a valid Ed25519 signature of `message` by `publicKey`; never throws on bad input. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean
  /** SHA-256 digest. */
  sha256(data: Uint8Array): Uint8Array
  /**
   * As `sha256`, written into `out` (32 bytes) rather than a new array. Optional, like
   * SyncSigningKey.signInto: callers that keep the digest beside other bytes (a block's hash in
   * its buffer) use `sha256` when a provider has none.
   */
  sha256Into?(data: Uint8Array, out: Uint8Array): void
  /** 32 bytes from a cryptographically secure source. */
  randomBytes(length: number): Uint8Array
  /**
   * X25519 and ChaCha20-Poly1305 for the sessions' Noise handshake and frames (@tally/gossip's
   * wire/noise.ts), when this provider has faster ones than the portable @noble code it uses
   * otherwise (libsodium's: ~30x faster for a DH, ~15x for a small frame). Optional: providers
   * without it get @noble's.
   */
  readonly noise?: NoisePrimitives
}

/**
 * The primitives of Noise_XX_25519_ChaChaPoly_SHA256 that are worth a native implementation.
 * Every implementation must give byte-identical results (the Noise test vectors check it).
 */
export interface NoisePrimitives {
  /** Short name for logs: 'noble', 'sodium'. */
  readonly name: string
  /** The X25519 public key of a 32-byte secret (clamped as RFC 7748 says). */
  x25519PublicKey(secretKey: Uint8Array): Uint8Array
  /** X25519(secretKey, publicKey); throws when the result is all zeros (a low-order point). */
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array
  /** ChaCha20-Poly1305 (RFC 8439: 32-byte key, 12-byte nonce): ciphertext ‖ 16-byte tag. */
  seal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array
  /** The plaintext of `ciphertext ‖ tag`, or undefined when the tag does not verify; never throws on bad input. */
  open(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined
  /**
   * As `open`, decrypting into `sealed`'s own bytes (no new buffer): the plaintext is
   * `sealed.subarray(0, sealed.length - 16)`. Optional: callers fall back to `open`. On failure
   * (undefined) `sealed`'s bytes are unspecified; never throws on bad input.
   */
  openInPlace?(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined
}
