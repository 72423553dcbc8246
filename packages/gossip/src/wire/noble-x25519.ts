/**
 * Noise's X25519 from @noble/curves, shared by the portable primitives (noble-noise.ts) and the
 * browsers' fallback where WebCrypto has no X25519 (default-noise.browser.ts loads this module
 * alone then: the ChaCha20-Poly1305 a page uses from the start stays out of the on-demand chunk,
 * so the bundler does not split it into a file of its own).
 * @module
 */
import { x25519 } from '@noble/curves/ed25519.js'

/** NoisePrimitives.x25519PublicKey. */
export function nobleX25519PublicKey(secretKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secretKey)
}

/** NoisePrimitives.x25519 (@noble refuses low-order points, an all-zero shared secret, by throwing). */
export function nobleX25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return x25519.getSharedSecret(secretKey, publicKey)
}
