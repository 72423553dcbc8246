/**
 * The Noise primitives of a handshake in a browser (chosen by the package's `browser` field): X25519
 * from the browser's WebCrypto, ChaCha20-Poly1305 from @noble/ciphers (WebCrypto has none). So a
 * page does not load @noble/curves (~26 KB minified) to connect: where WebCrypto has no X25519,
 * @noble's X25519 (noble-x25519.ts) is loaded then, on first use.
 *
 * Which browsers: X25519 in WebCrypto (Secure Curves) ships in Chromium 133+, Firefox 130+ and
 * Safari 17+. It is found by trying RFC 7748's test vector once (§6.1: Alice's key pair), never by
 * the user agent; a browser that fails it gets @noble's.
 *
 * WebCrypto answers through Promises, so the handshake waits for each DH (noise.ts runs a message's
 * tokens through `write` / `read`, which return a Promise only when a primitive did). A public key
 * is the DH of the secret with the base point u = 9 (RFC 7748 §6.1), so no key is ever exported,
 * and no secret is kept: each DH imports the secret for that one operation. The all-zero output of
 * a low-order point is refused here too, as every implementation of NoisePrimitives must.
 * @module
 */
import { fromHex, toHex } from '@tally/core'
import type { MaybeAsyncNoise } from './noise.js'
import { nobleOpen, nobleSeal } from './noble-aead.js'

// RFC 8410 §7: a PKCS#8 OneAsymmetricKey for X25519 (OID 1.3.101.110) is this 16-byte header and
// the 32-byte secret as an OCTET STRING in an OCTET STRING
const PKCS8_X25519 = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20)
const X25519 = { name: 'X25519' } as const
/** RFC 7748 §4.1: the base point, u = 9. */
const BASE_POINT = Uint8Array.of(9, ...new Uint8Array(31))

/** What `subtle` is asked for (the global's type differs between DOM and Node typings). */
interface Subtle {
  importKey(format: 'pkcs8' | 'raw', data: Uint8Array<ArrayBuffer>, algorithm: { name: string }, extractable: boolean, usages: string[]): Promise<unknown>
  deriveBits(algorithm: { name: string; public: unknown }, key: unknown, length: number): Promise<ArrayBuffer>
}

/**
 * Noise primitives with X25519 on `subtle` (default: the page's `crypto.subtle`), @noble's X25519
 * where it fails RFC 7748's test vector or is missing.
 * @param subtle a WebCrypto SubtleCrypto
 * @returns the primitives (name 'webcrypto'; their X25519 falls back to @noble's by itself)
 * @example const primitives = browserNoise(crypto.subtle)
 */
export function browserNoise(subtle: Subtle | undefined = (globalThis as { crypto?: { subtle?: Subtle } }).crypto?.subtle): MaybeAsyncNoise {
  let backend: Promise<(secretKey: Uint8Array, publicKey: Uint8Array) => Uint8Array | Promise<Uint8Array>> | undefined
  const webCrypto = async (secretKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> => {
    const pkcs8 = new Uint8Array(PKCS8_X25519.length + 32)
    pkcs8.set(PKCS8_X25519)
    pkcs8.set(secretKey, PKCS8_X25519.length)
    let secret: unknown
    try {
      secret = await subtle!.importKey('pkcs8', pkcs8, X25519, false, ['deriveBits'])
    } finally {
      pkcs8.fill(0)
    }
    const peer = await subtle!.importKey('raw', Uint8Array.from(publicKey), X25519, true, [])
    const shared = new Uint8Array(await subtle!.deriveBits({ name: 'X25519', public: peer }, secret, 256))
    // a low-order point gives all zeros (RFC 7748 §6.1); the Secure Curves spec refuses it, say so anyway
    if (shared.every((b) => b === 0)) throw new RangeError('X25519: the peer key is a low-order point')
    return shared
  }
  const dh = (secretKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> => {
    backend ??= (async () => {
      try {
        if (subtle !== undefined && toHex(await webCrypto(fromHex(RFC7748_ALICE.secret), BASE_POINT)) === RFC7748_ALICE.public) return webCrypto
      } catch {
        // no X25519 in this WebCrypto: @noble's below
      }
      const { nobleX25519 } = await import('./noble-x25519.js')
      return nobleX25519
    })()
    return backend.then((x25519) => x25519(secretKey, publicKey))
  }
  return Object.freeze({
    name: 'webcrypto',
    x25519PublicKey: (secretKey: Uint8Array) => dh(secretKey, BASE_POINT),
    x25519: dh,
    seal: nobleSeal,
    open: nobleOpen,
  })
}

/** The default Noise primitives in a browser: browserNoise() on the page's WebCrypto. */
export const defaultNoise: MaybeAsyncNoise = /* @__PURE__ */ browserNoise()

// ## Private helpers

/** RFC 7748 §6.1: Alice's private key and public key. */
const RFC7748_ALICE = {
  secret: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
  public: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
}
