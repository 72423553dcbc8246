/**
 * Sealed boxes for key delivery, and the domain tags of data streams.
 *
 * A sealed box carries a small secret (a period's stream key) to the holder of an X25519 key, as
 * libsodium's `crypto_box_seal` does, from audited primitives only: X25519 from @noble/curves,
 * HKDF-SHA-256 from @noble/hashes, XChaCha20-Poly1305 from @noble/ciphers. Nothing is written here
 * but the composition:
 *
 *   e, E        = a fresh X25519 key pair, used once
 *   shared      = X25519(e, R)                      R: the recipient's public key
 *   okm         = HKDF-SHA-256(ikm = shared, salt = E ‖ R, info = streamTag('seal') ‖ context, 56)
 *   key, nonce  = okm[0..32), okm[32..56)
 *   box         = XChaCha20-Poly1305(key, nonce, aad = context).seal(plaintext)
 *   sealed      = E (32 bytes) ‖ box (plaintext + 16)
 *
 * Both public keys are bound into the key (the salt), and `context` (what the secret is for: a
 * stream, a period) into the key and the AEAD's associated data, so a box made for one stream and
 * period never opens as another's. The ephemeral key is never reused, so a nonce derived from it
 * is never reused under one key. An all-zero shared secret (a low-order R) is refused (@noble
 * throws; so do we, as a RangeError when sealing and `undefined` when opening).
 *
 * Domain tags: `streamTag(name)` = canonical CBOR text "tally/v1/stream-<name>", the same layout as
 * core's `domainTag`, kept here so the stream tags need no change to core's list.
 * @module
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { x25519 } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { abytes, concatBytes, encodeCanonical } from '@tally/core'

/** What the stream module hashes, signs or derives. */
export type StreamTagName = 'seal' | 'period-key' | 'message' | 'grant' | 'purchase' | 'key-commit'

const tags = new Map<StreamTagName, Uint8Array>()

/**
 * The domain tag of a stream purpose.
 * @param name what is hashed, signed or derived
 * @returns canonical CBOR of "tally/v1/stream-<name>"
 * @example sha256(concatBytes(streamTag('message'), body))
 */
export function streamTag(name: StreamTagName): Uint8Array {
  let tag = tags.get(name)
  if (tag === undefined) tags.set(name, (tag = encodeCanonical(`tally/v1/stream-${name}`)))
  return tag
}

/** An X25519 key pair for receiving sealed boxes. */
export interface BoxKeyPair {
  /** 32-byte X25519 secret: never logged, never sent (but in a 'stream-bad-key' proof, see fraud.ts). */
  readonly secretKey: Uint8Array
  /** 32-byte X25519 public key, sent with a purchase. */
  readonly publicKey: Uint8Array
}

/** Bytes a sealed box adds to its plaintext: the ephemeral key and the tag. */
export const SEAL_OVERHEAD = 48

/**
 * A fresh X25519 key pair (one per subscription: it may be revealed in a fraud proof).
 * @param secretKey a 32-byte secret to use (default: random)
 * @returns the pair
 * @throws RangeError when `secretKey` is not 32 bytes
 * @example const mine = boxKeyPair()
 */
export function boxKeyPair(secretKey?: Uint8Array): BoxKeyPair {
  const secret = secretKey === undefined ? x25519.utils.randomSecretKey() : Uint8Array.from(abytes('secretKey', secretKey, 32))
  return Object.freeze({ secretKey: secret, publicKey: x25519.getPublicKey(secret) })
}

/**
 * Seal `plaintext` to the holder of `recipient`'s secret.
 * @param recipient the recipient's X25519 public key (32 bytes)
 * @param plaintext the secret to carry
 * @param context what it is for (bound into the key and the associated data)
 * @returns ephemeral public key ‖ ciphertext ‖ tag (plaintext + 48 bytes)
 * @throws TypeError / RangeError on malformed arguments or a low-order recipient key
 * @example const sealed = seal(buyer.publicKey, periodKey, context)
 */
export function seal(recipient: Uint8Array, plaintext: Uint8Array, context: Uint8Array): Uint8Array {
  abytes('recipient', recipient, 32)
  abytes('plaintext', plaintext)
  abytes('context', context)
  const e = x25519.utils.randomSecretKey()
  const E = x25519.getPublicKey(e)
  let shared: Uint8Array
  try {
    shared = x25519.getSharedSecret(e, recipient)
  } catch {
    throw new RangeError('"recipient" is not a usable X25519 public key')
  }
  const { key, nonce } = boxKeys(shared, E, recipient, context)
  return concatBytes(E, xchacha20poly1305(key, nonce, context).encrypt(plaintext))
}

/**
 * Open a sealed box with the recipient's key pair.
 * @param keys the recipient's key pair
 * @param sealed what `seal` returned
 * @param context the same context it was sealed with
 * @returns the plaintext, or undefined when the box does not open (another recipient, another
 *   context, altered bytes); never throws on bad input
 * @example const periodKey = open(mine, grant.sealed, grantContext(grant))
 */
export function open(keys: BoxKeyPair, sealed: Uint8Array, context: Uint8Array): Uint8Array | undefined {
  if (!(sealed instanceof Uint8Array) || sealed.length < SEAL_OVERHEAD || !(context instanceof Uint8Array)) return undefined
  if (!(keys?.secretKey instanceof Uint8Array) || keys.secretKey.length !== 32 || !(keys.publicKey instanceof Uint8Array) || keys.publicKey.length !== 32) return undefined
  const E = sealed.subarray(0, 32)
  try {
    const shared = x25519.getSharedSecret(keys.secretKey, E)
    const { key, nonce } = boxKeys(shared, E, keys.publicKey, context)
    return xchacha20poly1305(key, nonce, context).decrypt(sealed.subarray(32))
  } catch {
    return undefined
  }
}

/**
 * The X25519 public key of a secret (to check a revealed secret against a purchase's key).
 * @param secretKey 32 bytes
 * @returns the public key, or undefined when not 32 bytes
 * @example equalBytes(boxPublicKey(secret)!, grant.recipient)
 */
export function boxPublicKey(secretKey: Uint8Array): Uint8Array | undefined {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) return undefined
  return x25519.getPublicKey(secretKey)
}

/**
 * SHA-256 over a stream tag and parts (the module's one hash).
 * @example streamHash('message', header, box)
 */
export function streamHash(name: StreamTagName, ...parts: Uint8Array[]): Uint8Array {
  return sha256(concatBytes(streamTag(name), ...parts))
}

// ## Private helpers

function boxKeys(shared: Uint8Array, E: Uint8Array, R: Uint8Array, context: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  const okm = hkdf(sha256, shared, concatBytes(E, R), concatBytes(streamTag('seal'), context), 56)
  return { key: okm.subarray(0, 32), nonce: okm.subarray(32, 56) }
}
