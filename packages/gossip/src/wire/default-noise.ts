/**
 * The Noise primitives a handshake uses when its crypto provider brings none: @noble's, synchronous.
 * Bundlers for browsers take default-noise.browser.ts instead (the package's `browser` field).
 * @module
 */
import type { MaybeAsyncNoise } from './noise.js'
import { nobleNoise } from './noble-noise.js'

/** The default Noise primitives: nobleNoise. */
export const defaultNoise: MaybeAsyncNoise = nobleNoise
