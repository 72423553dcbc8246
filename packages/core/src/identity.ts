/**
 * Identity: an agent's Ed25519 key pair. The 32-byte public key is the agent's identity.
 * The secret seed lives in a private field; `toString`, `toJSON` and `util.inspect` show only the
 * public key, and no error message ever includes the seed.
 * @module
 */
import { abytes, toHex, type PublicKeyHex } from './bytes.js'
import type { CryptoProvider, SigningKey } from './crypto-provider.js'
import { nobleCrypto } from './noble-crypto.js'

/** An agent's key pair. */
export interface Identity extends SigningKey {
  /** 32-byte public key. */
  readonly publicKey: Uint8Array
  /** Public key as lowercase hex. */
  readonly publicKeyHex: PublicKeyHex
  /** The provider that signs for this identity. */
  readonly crypto: CryptoProvider
  /** Ed25519 signature over `message`. */
  sign(message: Uint8Array): Uint8Array
  /**
   * The 32-byte secret seed, for the caller to store safely. Named loudly on purpose: it is the
   * only way the secret leaves the object.
   */
  exportSecretSeed(): Uint8Array
}

const INSPECT = Symbol.for('nodejs.util.inspect.custom')

class KeyPairIdentity implements Identity {
  readonly publicKey: Uint8Array
  readonly publicKeyHex: PublicKeyHex
  readonly crypto: CryptoProvider
  readonly #seed: Uint8Array
  readonly #key: SigningKey

  constructor(seed: Uint8Array, crypto: CryptoProvider) {
    this.#seed = Uint8Array.from(seed)
    this.#key = crypto.signingKey(this.#seed)
    this.crypto = crypto
    this.publicKey = this.#key.publicKey
    this.publicKeyHex = toHex(this.publicKey)
    Object.freeze(this)
  }

  sign(message: Uint8Array): Uint8Array {
    return this.#key.sign(message)
  }

  exportSecretSeed(): Uint8Array {
    return Uint8Array.from(this.#seed)
  }

  toString(): string {
    return `Identity(${this.publicKeyHex})`
  }

  toJSON(): { publicKey: PublicKeyHex } {
    return { publicKey: this.publicKeyHex }
  }

  [INSPECT](): string {
    return this.toString()
  }
}

/**
 * A new identity with a fresh random seed.
 * @param crypto provider (default nobleCrypto)
 * @returns the identity
 * @example const alice = generateIdentity()
 */
export function generateIdentity(crypto: CryptoProvider = nobleCrypto): Identity {
  const seed = crypto.randomBytes(32)
  try {
    return new KeyPairIdentity(seed, crypto)
  } finally {
    seed.fill(0)
  }
}

/**
 * The identity of a 32-byte seed (deterministic: the same seed gives the same keys).
 * @param seed 32 secret bytes
 * @param crypto provider (default nobleCrypto)
 * @returns the identity
 * @throws TypeError / RangeError when seed is not 32 bytes
 * @example const alice = identityFromSeed(savedSeed)
 */
export function identityFromSeed(seed: Uint8Array, crypto: CryptoProvider = nobleCrypto): Identity {
  abytes('seed', seed, 32)
  return new KeyPairIdentity(seed, crypto)
}
