/**
 * libsodium's Noise primitives (`loadSodiumCrypto().noise` in @tally/node) against @noble's, the
 * portable default of packages/gossip/src/wire/noise.ts: the flynn/noise XX vectors byte for byte
 * through NoiseHandshake with sodium's X25519 and ChaCha20-Poly1305, a handshake with one side on
 * each, random inputs giving identical results, and the same refusals (a low-order point, a tag
 * that does not verify). A node on sodium speaks with a browser on @noble, so they must never differ.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { fromHex, toHex } from '@tally/core'
import { loadSodiumCrypto } from '@tally/node'
import { NoiseHandshake, keyPairFromSecret } from '../packages/gossip/src/wire/noise.ts'
import { nobleNoise } from '../packages/gossip/src/wire/noble-noise.ts'
import { noiseVectors } from '../packages/gossip/test/fixtures/noise-vectors.ts'

const vectors = noiseVectors
const sodium = loadSodiumCrypto()?.noise
const Sodium = suite('noise primitives: libsodium against @noble')

Sodium('sodium-native loads here and its provider carries Noise primitives', () => {
  assert.ok(sodium !== undefined, 'loadSodiumCrypto().noise')
  assert.is(sodium!.name, 'sodium')
})

Sodium('the flynn/noise XX vectors, handshake and transport, byte for byte on sodium', () => {
  const p = sodium!
  for (const [n, v] of vectors.entries()) {
    const prologue = fromHex(v.prologue)
    const key = (hex: string): ReturnType<typeof keyPairFromSecret> => keyPairFromSecret(fromHex(hex), p)
    const i = new NoiseHandshake({ initiator: true, prologue, staticKey: key(v.initStatic), ephemeralKey: key(v.initEphemeral), primitives: p })
    const r = new NoiseHandshake({ initiator: false, prologue, staticKey: key(v.respStatic), ephemeralKey: key(v.respEphemeral), primitives: p })
    const sides = [i, r]
    for (let m = 0; m < 3; m++) {
      const { payload, ciphertext } = v.messages[m]!
      assert.is(toHex(sides[m % 2]!.writeMessage(fromHex(payload))!), ciphertext, `vector ${n}, handshake message ${m}`)
      assert.is(toHex(sides[(m + 1) % 2]!.readMessage(fromHex(ciphertext))!), payload)
    }
    const ciphers = [i.split(), r.split()]
    for (let m = 3; m < v.messages.length; m++) {
      const { payload, ciphertext } = v.messages[m]!
      assert.is(toHex(ciphers[(m - 3) % 2]!.seal(fromHex(payload))), ciphertext, `vector ${n}, transport message ${m}`)
      assert.is(toHex(ciphers[(m - 2) % 2]!.open(fromHex(ciphertext))!), payload)
    }
  }
})

Sodium('an initiator on @noble and a responder on sodium agree (and the reverse)', () => {
  for (const [a, b] of [[nobleNoise, sodium!], [sodium!, nobleNoise]] as const) {
    const fresh = (): Uint8Array => crypto.getRandomValues(new Uint8Array(32))
    const i = new NoiseHandshake({ initiator: true, prologue: new Uint8Array([1]), staticKey: keyPairFromSecret(fresh(), a), primitives: a })
    const r = new NoiseHandshake({ initiator: false, prologue: new Uint8Array([1]), staticKey: keyPairFromSecret(fresh(), b), primitives: b })
    assert.ok(r.readMessage(i.writeMessage()!) !== undefined)
    assert.ok(i.readMessage(r.writeMessage()!) !== undefined)
    assert.ok(r.readMessage(i.writeMessage()!) !== undefined)
    assert.is(toHex(i.handshakeHash), toHex(r.handshakeHash))
    const [ci, cr] = [i.split(), r.split()]
    assert.is(toHex(cr.open(ci.seal(new Uint8Array([7, 8, 9])))!), '070809')
    assert.is(toHex(ci.open(cr.seal(new Uint8Array(1000).fill(3)))!), '03'.repeat(1000))
  }
})

Sodium('property: X25519 and ChaCha20-Poly1305 give the same bytes on random inputs', () => {
  const p = sodium!
  const b32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
  fc.assert(
    fc.property(b32, b32, (secret, other) => {
      assert.is(toHex(p.x25519PublicKey(secret)), toHex(nobleNoise.x25519PublicKey(secret)))
      const pub = nobleNoise.x25519PublicKey(other)
      assert.is(toHex(p.x25519(secret, pub)), toHex(nobleNoise.x25519(secret, pub)))
    }),
    { numRuns: 50 },
  )
  fc.assert(
    fc.property(b32, fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 2000 }), (key, nonce, ad, text) => {
      const sealed = p.seal(key, nonce, ad, text)
      assert.is(toHex(sealed), toHex(nobleNoise.seal(key, nonce, ad, text)))
      assert.is(toHex(p.open(key, nonce, ad, sealed)!), toHex(text))
      const flipped = Uint8Array.from(sealed)
      flipped[flipped.length >> 1]! ^= 1
      assert.is(p.open(key, nonce, ad, flipped), undefined, 'a flipped bit fails')
      assert.is(nobleNoise.open(key, nonce, ad, flipped), undefined)
    }),
    { numRuns: 100 },
  )
})

Sodium('both refuse a low-order point and a frame shorter than the tag', () => {
  const p = sodium!
  const secret = crypto.getRandomValues(new Uint8Array(32))
  for (const point of [new Uint8Array(32), Uint8Array.from([1, ...new Uint8Array(31)])]) {
    assert.throws(() => p.x25519(secret, point))
    assert.throws(() => nobleNoise.x25519(secret, point))
  }
  assert.is(p.open(new Uint8Array(32), new Uint8Array(12), new Uint8Array(0), new Uint8Array(15)), undefined)
  assert.is(nobleNoise.open(new Uint8Array(32), new Uint8Array(12), new Uint8Array(0), new Uint8Array(15)), undefined)
})

Sodium('property: openInPlace opens as open does, into the sealed frame\'s own bytes, and refuses what open refuses', () => {
  const p = sodium!
  assert.ok(typeof p.openInPlace === 'function', 'sodium carries openInPlace')
  const b32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
  fc.assert(
    fc.property(b32, fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 5000 }), fc.nat(), (key, nonce, ad, text, at) => {
      const sealed = nobleNoise.seal(key, nonce, ad, text)
      // the frame as a view inside a larger buffer (as ws hands it): bytes around it untouched
      const around = new Uint8Array(sealed.length + 8).fill(0xaa)
      around.set(sealed, 4)
      const frame = around.subarray(4, 4 + sealed.length)
      const out = p.openInPlace!(key, nonce, ad, frame)
      assert.ok(out !== undefined)
      assert.is(toHex(out!), toHex(text))
      assert.is(out!.buffer, around.buffer, 'no new buffer')
      assert.is(out!.byteOffset, 4)
      assert.is(toHex(around.subarray(0, 4)) + toHex(around.subarray(4 + sealed.length)), 'aa'.repeat(8))
      const flipped = Uint8Array.from(sealed)
      flipped[at % flipped.length]! ^= 1
      assert.is(p.openInPlace!(key, nonce, ad, flipped), undefined, 'a flipped bit fails')
      assert.is(p.openInPlace!(key, nonce, ad, sealed.subarray(0, Math.min(15, sealed.length))), undefined, 'shorter than the tag')
    }),
    { numRuns: 100 },
  )
})

Sodium('a transport cipher on sodium opens in place only when asked, and then in order as before', () => {
  const p = sodium!
  const fresh = (): Uint8Array => crypto.getRandomValues(new Uint8Array(32))
  const i = new NoiseHandshake({ initiator: true, prologue: new Uint8Array(0), staticKey: keyPairFromSecret(fresh(), p), primitives: p })
  const r = new NoiseHandshake({ initiator: false, prologue: new Uint8Array(0), staticKey: keyPairFromSecret(fresh(), p), primitives: p })
  r.readMessage(i.writeMessage()!)
  i.readMessage(r.writeMessage()!)
  r.readMessage(i.writeMessage()!)
  const [ci, cr] = [i.split(), r.split()]
  const one = ci.seal(new Uint8Array(100).fill(1))
  const kept = Uint8Array.from(one)
  assert.is(toHex(cr.open(one)!), '01'.repeat(100))
  assert.is(toHex(one), toHex(kept), 'not in place unless asked: the frame is unchanged')
  const two = ci.seal(new Uint8Array(4000).fill(2))
  const plain = cr.open(two, true)!
  assert.is(toHex(plain), '02'.repeat(4000))
  assert.is(plain.buffer, two.buffer, 'in place: a view of the frame')
  // replaying the second frame (its bytes now the plaintext's) or the first fails; the next honest one opens
  assert.is(cr.open(kept, true), undefined)
  assert.is(toHex(cr.open(ci.seal(new Uint8Array([3])), true)!), '03')
})

Sodium.run()
