/**
 * Noise's X25519 and ChaCha20-Poly1305 from @noble (x25519 from @noble/curves, chacha20poly1305 from
 * @noble/ciphers): the portable primitives, synchronous, for Node and for any provider without
 * `noise` of its own. Browsers default to default-noise.browser.ts, which loads this module only
 * where WebCrypto has no X25519.
 * @module
 */
import { x25519 } from '@noble/curves/ed25519.js'
import type { NoisePrimitives } from '@tally/core'
import { nobleOpen, nobleSeal } from './noble-aead.js'

/** X25519 and ChaCha20-Poly1305 from @noble: the portable default (Node, any provider without `noise`). */
export const nobleNoise: NoisePrimitives = Object.freeze({
  name: 'noble',
  x25519PublicKey: (secretKey: Uint8Array): Uint8Array => x25519.getPublicKey(secretKey),
  // @noble refuses low-order points (an all-zero shared secret) by throwing
  x25519: (secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array => x25519.getSharedSecret(secretKey, publicKey),
  seal: nobleSeal,
  open: nobleOpen,
})
