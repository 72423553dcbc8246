/**
 * Identity: an agent's Ed25519 key pair. The 32-byte public key is the agent's identity.
 *
 * Two kinds: a `SeedIdentity` holds its secret seed in a private field and signs synchronously;
 * `createIdentity(key)` wraps a key held elsewhere (a non-extractable WebCrypto key, a hardware
 * token), which may sign through a Promise. `toString`, `toJSON` and `util.inspect` show only the
 * public key, and no error message ever includes a secret.
 * @module
 */
import { abytes, toHex, type PublicKeyHex } from './bytes.js'
import type { CryptoProvider, SigningKey, SyncSigningKey } from './crypto-provider.js'
import { nobleCrypto } from './noble-crypto.js'

/** An agent's key pair: what an agent, a node or a wallet signs with. */
export interface Identity extends SigningKey {
  /** 32-byte public key. */
  readonly publicKey: Uint8Array
  /** Public key as lowercase hex. */
  readonly publicKeyHex: PublicKeyHex
  /** The provider that verifies and hashes for this identity. */
  readonly crypto: CryptoProvider
  /** Ed25519 signature over `message`, or a promise of it (await it). */
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>
}

/** An identity made from a 32-byte seed: signs synchronously, and can give its seed back. */
export interface SeedIdentity extends Identity, SyncSigningKey {
  /** Ed25519 signature over `message`. */
  sign(message: Uint8Array): Uint8Array
  /**
   * The 32-byte secret seed, for the caller to store safely. Named loudly on purpose: it is the
   * only way the secret leaves the object.
   */
  exportSecretSeed(): Uint8Array
}

const INSPECT = Symbol.for('nodejs.util.inspect.custom')

/** What every identity shows of itself: its public key only (never a secret, in logs or JSON). */
abstract class ShownByPublicKey {
  abstract readonly publicKeyHex: PublicKeyHex

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

class KeyPairIdentity extends ShownByPublicKey implements SeedIdentity {
  readonly publicKey: Uint8Array
  readonly publicKeyHex: PublicKeyHex
  readonly crypto: CryptoProvider
  readonly #seed: Uint8Array
  readonly #key: SyncSigningKey

  constructor(seed: Uint8Array, crypto: CryptoProvider) {
    super()
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

  signInto(message: Uint8Array, out: Uint8Array): void {
    const key = this.#key
    if (key.signInto !== undefined) key.signInto(message, out)
    else out.set(key.sign(message))
  }

  exportSecretSeed(): Uint8Array {
    return Uint8Array.from(this.#seed)
  }

}

/**
 * A new identity with a fresh random seed.
 * @param crypto provider (default nobleCrypto)
 * @returns the identity
 * @example const alice = generateIdentity()
 */
export function generateIdentity(crypto: CryptoProvider = nobleCrypto): SeedIdentity {
  const seed = crypto.randomBytes(32)
  try {
    const identity = new KeyPairIdentity(seed, crypto)
    generated.add(identity)
    return identity
  } finally {
    seed.fill(0)
  }
}

// Identities made from fresh random bytes in this process: their chains cannot exist anywhere yet.
const generated = new WeakSet<Identity>()

/**
 * Whether `identity` was made by `generateIdentity()` in this process, so that its chain is
 * certainly empty (an agent needs no peer to learn its head).
 * @param identity any identity
 * @returns true for a freshly generated one
 * @example isNewIdentity(generateIdentity()) // true; identityFromSeed(seed) gives false
 */
export function isNewIdentity(identity: Identity): boolean {
  return generated.has(identity)
}

/**
 * The identity of a 32-byte seed (deterministic: the same seed gives the same keys).
 * @param seed 32 secret bytes
 * @param crypto provider (default nobleCrypto)
 * @returns the identity
 * @throws TypeError / RangeError when seed is not 32 bytes
 * @example const alice = identityFromSeed(savedSeed)
 */
export function identityFromSeed(seed: Uint8Array, crypto: CryptoProvider = nobleCrypto): SeedIdentity {
  abytes('seed', seed, 32)
  return new KeyPairIdentity(seed, crypto)
}

/**
 * An identity backed by a key held elsewhere: a non-extractable WebCrypto key, a hardware token.
 * Its `sign` may return a Promise; everything that signs for an agent awaits it.
 * @param key the signing key (its public key is the identity)
 * @param crypto the provider that verifies and hashes (default nobleCrypto)
 * @returns the identity
 * @throws TypeError when key has no sign function, RangeError when its public key is not 32 bytes
 * @example const id = createIdentity({ publicKey, sign: (m) => webCryptoSign(cryptoKey, m) })
 */
export function createIdentity(key: SigningKey, crypto: CryptoProvider = nobleCrypto): Identity {
  if (typeof key?.sign !== 'function') throw new TypeError('"key" expected a SigningKey with a sign function')
  abytes('key.publicKey', key.publicKey, 32)
  return new KeyIdentity(key, crypto)
}

class KeyIdentity extends ShownByPublicKey implements Identity {
  readonly publicKey: Uint8Array
  readonly publicKeyHex: PublicKeyHex
  readonly crypto: CryptoProvider
  readonly #key: SigningKey

  constructor(key: SigningKey, crypto: CryptoProvider) {
    super()
    this.#key = key
    this.crypto = crypto
    this.publicKey = Uint8Array.from(key.publicKey)
    this.publicKeyHex = toHex(this.publicKey)
    Object.freeze(this)
  }

  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array> {
    return this.#key.sign(message)
  }

}
