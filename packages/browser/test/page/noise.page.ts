// In Chromium: the browser's default Noise primitives (@tally/gossip's wire/default-noise.browser.ts,
// which the package's `browser` field gives bundlers): WebCrypto's X25519 against RFC 7748's
// vectors and @noble's, the refusal of low-order points, the fallback to @noble's.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { fromHex, toHex } from '@tally/core'
import { browserNoise, defaultNoise } from '../../../gossip/src/wire/default-noise.browser.js'
import { nobleNoise } from '../../../gossip/src/wire/noble-noise.js'
import { serve } from './harness.js'

// RFC 7748 §6.1
const ALICE = { secret: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', public: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a' }
const BOB = { secret: '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb', public: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f' }
const SHARED = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'
// RFC 7748 §5: low-order u values (0, 1, and the order-8 point's u)
const LOW_ORDER = ['0000000000000000000000000000000000000000000000000000000000000000', '0100000000000000000000000000000000000000000000000000000000000000', 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800']

/** crypto.subtle, counting the X25519 operations asked of it. */
function countingSubtle(): { subtle: SubtleCrypto; derived: () => number } {
  let derived = 0
  const subtle = crypto.subtle
  return {
    subtle: {
      importKey: (...args: Parameters<SubtleCrypto['importKey']>) => subtle.importKey(...args),
      deriveBits: (...args: Parameters<SubtleCrypto['deriveBits']>) => {
        derived++
        return subtle.deriveBits(...args)
      },
    } as SubtleCrypto,
    derived: () => derived,
  }
}

/** A WebCrypto without X25519 (as in a browser that lacks Secure Curves). */
const noX25519 = {
  importKey: () => Promise.reject(new DOMException('Unrecognized name.', 'NotSupportedError')),
  deriveBits: () => Promise.reject(new DOMException('Unrecognized name.', 'NotSupportedError')),
} as unknown as SubtleCrypto

function noise(): void {
  const Noise = suite('Noise primitives in a page')

  Noise("the default is WebCrypto's X25519, and it gives RFC 7748 §6.1's keys and shared secret", async () => {
    assert.is(defaultNoise.name, 'webcrypto')
    const { subtle, derived } = countingSubtle()
    const p = browserNoise(subtle)
    assert.is(toHex(await p.x25519PublicKey(fromHex(ALICE.secret))), ALICE.public)
    assert.is(toHex(await p.x25519PublicKey(fromHex(BOB.secret))), BOB.public)
    assert.is(toHex(await p.x25519(fromHex(ALICE.secret), fromHex(BOB.public))), SHARED)
    assert.is(toHex(await p.x25519(fromHex(BOB.secret), fromHex(ALICE.public))), SHARED)
    assert.ok(derived() >= 5, `WebCrypto derived every one (and the probe): ${derived()}`)
  })

  Noise("random keys: WebCrypto's public keys and shared secrets are @noble's, byte for byte", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), async (a, b) => {
        const pub = nobleNoise.x25519PublicKey(b)
        assert.is(toHex(await defaultNoise.x25519PublicKey(a)), toHex(nobleNoise.x25519PublicKey(a)))
        assert.is(toHex(await defaultNoise.x25519(a, pub)), toHex(nobleNoise.x25519(a, pub)))
      }),
      { numRuns: 40 },
    )
  })

  Noise('low-order peer keys are refused (the all-zero shared secret), as @noble refuses them', async () => {
    const secret = fromHex(ALICE.secret)
    for (const u of LOW_ORDER) {
      assert.throws(() => nobleNoise.x25519(secret, fromHex(u)), undefined, `noble refuses ${u}`)
      let refused = false
      try {
        await defaultNoise.x25519(secret, fromHex(u))
      } catch {
        refused = true
      }
      assert.ok(refused, `WebCrypto's path refuses ${u}`)
    }
  })

  Noise("without X25519 in WebCrypto: @noble's, loaded then, with the same results", async () => {
    const p = browserNoise(noX25519)
    assert.is(toHex(await p.x25519PublicKey(fromHex(ALICE.secret))), ALICE.public)
    assert.is(toHex(await p.x25519(fromHex(BOB.secret), fromHex(ALICE.public))), SHARED)
    let refused = false
    await Promise.resolve(p.x25519(fromHex(ALICE.secret), fromHex(LOW_ORDER[0]!))).catch(() => (refused = true))
    assert.ok(refused)
  })

  Noise('ChaCha20-Poly1305 is @noble/ciphers: sealed by one, opened by the other', () => {
    const key = new Uint8Array(32).fill(3)
    const nonce = new Uint8Array(12).fill(1)
    const sealed = defaultNoise.seal(key, nonce, new Uint8Array(0), fromHex('00ff'))
    assert.is(toHex(nobleNoise.open(key, nonce, new Uint8Array(0), sealed)!), '00ff')
    assert.is(defaultNoise.open(key, nonce, new Uint8Array(1), sealed), undefined)
  })

  Noise.run()
}

serve({ noise })
