/**
 * Noise's X25519 and ChaCha20-Poly1305 from @noble (x25519 from @noble/curves, chacha20poly1305 from
 * @noble/ciphers): the portable primitives, synchronous, for Node and for any provider without
 * `noise` of its own. Browsers default to default-noise.browser.ts, which loads noble-x25519.ts
 * only where WebCrypto has no X25519.
 * @module
 */
import type { NoisePrimitives } from '@tally/core'
import { nobleOpen, nobleSeal } from './noble-aead.js'
import { nobleX25519, nobleX25519PublicKey } from './noble-x25519.js'

/** X25519 and ChaCha20-Poly1305 from @noble: the portable default (Node, any provider without `noise`). */
export const nobleNoise: NoisePrimitives = Object.freeze({
  name: 'noble',
  x25519PublicKey: nobleX25519PublicKey,
  x25519: nobleX25519,
  seal: nobleSeal,
  open: nobleOpen,
})
