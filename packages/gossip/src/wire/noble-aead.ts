/**
 * Noise's ChaCha20-Poly1305 from @noble/ciphers, shared by the portable primitives (noble-noise.ts)
 * and the browsers' (default-noise.browser.ts): WebCrypto has no ChaCha20-Poly1305.
 * @module
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'

/** NoisePrimitives.seal: `plaintext` sealed under `key` and `nonce`, with `ad`; the tag appended. */
export function nobleSeal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return chacha20poly1305(key, nonce, ad).encrypt(plaintext)
}

/** NoisePrimitives.open: the plaintext, or undefined when the tag does not match. */
export function nobleOpen(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  try {
    return chacha20poly1305(key, nonce, ad).decrypt(sealed)
  } catch {
    return undefined // the tag does not match: @noble throws
  }
}
