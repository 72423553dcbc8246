/**
 * The libsodium crypto provider, through the optional native addon sodium-native: the fastest on
 * Node, and the reference for which signatures are valid (its strict RFC 8032 checks). It also
 * carries libsodium's X25519 and ChaCha20-Poly1305 as `noise`, for the sessions' Noise handshake
 * and frames in @tally/gossip: a handshake there costs four X25519 operations, ~0.1 ms each in
 * libsodium against 1-3 ms in @noble, which is what a node pays for every fresh key that dials it.
 * @module
 */
import { createRequire } from 'node:module'
import { abytes, auint } from '@tally/core'
import type { CryptoProvider, NoisePrimitives, SyncSigningKey } from '@tally/core'

type Sodium = typeof import('sodium-native')

// undefined: not tried yet; null: tried, sodium-native is not installed or does not load here.
let loaded: CryptoProvider | null | undefined

/**
 * Ed25519 + SHA-256 on libsodium, if the optional dependency sodium-native loads on this machine.
 * @returns the provider (the same object on every call), or undefined when sodium-native is absent
 *   or its native binary does not load
 * @example const crypto = loadSodiumCrypto() ?? nodeCrypto
 */
export function loadSodiumCrypto(): CryptoProvider | undefined {
  if (loaded === undefined) loaded = load()
  return loaded ?? undefined
}

// ## Helpers

function load(): CryptoProvider | null {
  let sodium: Sodium
  try {
    // An optional dependency is missing on some installs, and a prebuilt binary may not match
    // the platform: both are a normal outcome here, not an error.
    sodium = createRequire(import.meta.url)('sodium-native') as Sodium
  } catch {
    return null
  }
  return sodiumProvider(sodium)
}

function sodiumProvider(sodium: Sodium): CryptoProvider {
  return {
    name: 'sodium',
    noise: sodiumNoise(sodium),
    signingKey(seed: Uint8Array): SyncSigningKey {
      abytes('seed', seed, 32)
      const publicKey = new Uint8Array(32)
      // libsodium's 64-byte secret key is seed ‖ publicKey; it stays in this closure.
      const secretKey = new Uint8Array(64)
      sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed)
      return Object.freeze({
        publicKey,
        sign(message: Uint8Array): Uint8Array {
          abytes('message', message)
          const signature = new Uint8Array(64)
          sodium.crypto_sign_detached(signature, message, secretKey)
          return signature
        },
        // (a new array of 64 bytes is made off the heap the moment the addon writes to it: 0.4 us)
        signInto(message: Uint8Array, out: Uint8Array): void {
          abytes('message', message)
          abytes('out', out, 64)
          sodium.crypto_sign_detached(out, message, secretKey)
        },
      })
    },
    verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
      if (!(signature instanceof Uint8Array) || signature.length !== 64) return false
      if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false
      if (!(message instanceof Uint8Array)) return false
      try {
        return sodium.crypto_sign_verify_detached(signature, message, publicKey)
      } catch {
        return false
      }
    },
    sha256(data: Uint8Array): Uint8Array {
      abytes('data', data)
      const out = new Uint8Array(32)
      sodium.crypto_hash_sha256(out, data)
      return out
    },
    sha256Into(data: Uint8Array, out: Uint8Array): void {
      abytes('data', data)
      abytes('out', out, 32)
      sodium.crypto_hash_sha256(out, data)
    },
    randomBytes(length: number): Uint8Array {
      auint('length', length)
      const out = new Uint8Array(length)
      sodium.randombytes_buf(out)
      return out
    },
  }
}

/** X25519 and ChaCha20-Poly1305 (IETF) on libsodium: byte for byte @noble's (the Noise vectors check it). */
function sodiumNoise(sodium: Sodium): NoisePrimitives {
  const TAG = 16
  return Object.freeze({
    name: 'sodium',
    x25519PublicKey(secretKey: Uint8Array): Uint8Array {
      abytes('secretKey', secretKey, 32)
      const out = new Uint8Array(32)
      sodium.crypto_scalarmult_base(out, secretKey)
      return out
    },
    x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
      abytes('secretKey', secretKey, 32)
      abytes('publicKey', publicKey, 32)
      const out = new Uint8Array(32)
      // libsodium refuses an all-zero result (a low-order point) with -1: sodium-native throws
      sodium.crypto_scalarmult(out, secretKey, publicKey)
      return out
    },
    seal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
      const out = new Uint8Array(plaintext.length + TAG)
      sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, plaintext, ad.length > 0 ? ad : null, null, nonce, key)
      return out
    },
    open(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
      if (!(sealed instanceof Uint8Array) || sealed.length < TAG || key.length !== 32 || nonce.length !== 12) return undefined
      const out = new Uint8Array(sealed.length - TAG)
      try {
        sodium.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, sealed, ad.length > 0 ? ad : null, nonce, key)
      } catch {
        return undefined // the tag does not verify
      }
      return out
    },
    openInPlace(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
      if (!(sealed instanceof Uint8Array) || sealed.length < TAG || key.length !== 32 || nonce.length !== 12) return undefined
      // libsodium checks the tag before it decrypts, and may decrypt into the ciphertext's own bytes
      const out = sealed.subarray(0, sealed.length - TAG)
      try {
        sodium.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, sealed, ad.length > 0 ? ad : null, nonce, key)
      } catch {
        return undefined // the tag does not verify
      }
      return out
    },
  })
}
