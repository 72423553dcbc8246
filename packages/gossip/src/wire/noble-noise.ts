/**
 * Noise's X25519 and ChaCha20-Poly1305 from @noble (x25519 from @noble/curves, chacha20poly1305 from
 * @noble/ciphers): the portable primitives, synchronous, for Node and for any provider without
 * `noise` of its own. Browsers default to default-noise.browser.ts, which loads this module only
 * where WebCrypto has no X25519.
 * @module
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { x25519 } from '@noble/curves/ed25519.js'
import type { NoisePrimitives } from '@tally/core'

/** X25519 and ChaCha20-Poly1305 from @noble: the portable default (Node, any provider without `noise`). */
export const nobleNoise: NoisePrimitives = Object.freeze({
  name: 'noble',
  x25519PublicKey: (secretKey: Uint8Array): Uint8Array => x25519.getPublicKey(secretKey),
  // @noble refuses low-order points (an all-zero shared secret) by throwing
  x25519: (secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array => x25519.getSharedSecret(secretKey, publicKey),
  seal: (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array => chacha20poly1305(key, nonce, ad).encrypt(plaintext),
  open(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
    try {
      return chacha20poly1305(key, nonce, ad).decrypt(sealed)
    } catch {
      return undefined // the tag does not match: @noble throws
    }
  },
})
