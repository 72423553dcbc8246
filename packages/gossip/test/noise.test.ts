/**
 * Noise XX (wire/noise.ts): the Noise_XX_25519_ChaChaPoly_SHA256 vectors of flynn/noise reproduced
 * byte for byte (handshake and transport messages, with and without prologue and payloads); then
 * what a session relies on: a flipped byte, a replayed, reordered or injected message fails to open;
 * a handshake message altered or from another run fails to read; the nonce limit is refused.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { fromHex, toHex } from '@tally/core'
import { CipherState, MAX_NONCE, NOISE_PROTOCOL, NoiseHandshake, TAG_BYTES, keyPairFromSecret, type SessionCipher } from '../src/wire/noise.js'
import { noiseVectors } from './fixtures/noise-vectors.ts'

const vectors = noiseVectors

/** Both sides of a handshake with fresh keys, run to the end: their session ciphers. */
function pair(prologue: Uint8Array = new Uint8Array(0)): { i: NoiseHandshake; r: NoiseHandshake; ci: SessionCipher; cr: SessionCipher } {
  const i = new NoiseHandshake({ initiator: true, prologue, staticKey: keyPairFromSecret(fresh()) })
  const r = new NoiseHandshake({ initiator: false, prologue, staticKey: keyPairFromSecret(fresh()) })
  assert.ok(r.readMessage(i.writeMessage()!) !== undefined)
  assert.ok(i.readMessage(r.writeMessage()!) !== undefined)
  assert.ok(r.readMessage(i.writeMessage()!) !== undefined)
  return { i, r, ci: i.split(), cr: r.split() }
}

function fresh(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32))
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)

// ## Vectors

const Vectors = suite('noise: flynn/noise vectors')

Vectors('the vectors file holds XX vectors with and without prologue and payloads', () => {
  assert.is(vectors.length, 4)
  assert.ok(vectors.every((v) => v.protocol === NOISE_PROTOCOL))
  assert.ok(vectors.some((v) => v.prologue !== '') && vectors.some((v) => v.prologue === ''))
  assert.ok(vectors.some((v) => v.messages[0]!.payload !== ''))
})

Vectors('every handshake and transport message, both ways, byte for byte', () => {
  for (const [n, v] of vectors.entries()) {
    const prologue = fromHex(v.prologue)
    const i = new NoiseHandshake({ initiator: true, prologue, staticKey: keyPairFromSecret(fromHex(v.initStatic)), ephemeralKey: keyPairFromSecret(fromHex(v.initEphemeral)) })
    const r = new NoiseHandshake({ initiator: false, prologue, staticKey: keyPairFromSecret(fromHex(v.respStatic)), ephemeralKey: keyPairFromSecret(fromHex(v.respEphemeral)) })
    const sides = [i, r]
    for (let m = 0; m < 3; m++) {
      const { payload, ciphertext } = v.messages[m]!
      const writer = sides[m % 2]!
      const reader = sides[(m + 1) % 2]!
      assert.is(toHex(writer.writeMessage(fromHex(payload))!), ciphertext, `vector ${n}, handshake message ${m}`)
      assert.is(toHex(reader.readMessage(fromHex(ciphertext))!), payload, `vector ${n}, message ${m} read back`)
    }
    assert.ok(i.finished && r.finished)
    assert.is(toHex(i.handshakeHash), toHex(r.handshakeHash))
    assert.is(toHex(i.remoteStatic!), toHex(keyPairFromSecret(fromHex(v.respStatic)).publicKey))
    assert.is(toHex(r.remoteStatic!), toHex(keyPairFromSecret(fromHex(v.initStatic)).publicKey))
    // transport messages alternate, the initiator first (Split's first CipherState, then its second)
    const ciphers = [i.split(), r.split()]
    for (let m = 3; m < v.messages.length; m++) {
      const { payload, ciphertext } = v.messages[m]!
      const sender = ciphers[(m - 3) % 2]!
      const receiver = ciphers[(m - 2) % 2]!
      assert.is(toHex(sender.seal(fromHex(payload))), ciphertext, `vector ${n}, transport message ${m}`)
      assert.is(toHex(receiver.open(fromHex(ciphertext))!), payload)
    }
  }
})

// ## Transport messages

const Transport = suite('noise: transport messages')

Transport('a sealed frame opens once, in order, and is TAG_BYTES longer', () => {
  const { ci, cr } = pair()
  const frames = [bytes('one'), new Uint8Array(0), new Uint8Array(128 * 1024).fill(3)]
  const sealed = frames.map((f) => ci.seal(f))
  assert.equal(sealed.map((s) => s.length), frames.map((f) => f.length + TAG_BYTES))
  assert.is(ci.overhead, TAG_BYTES)
  for (const [k, s] of sealed.entries()) assert.equal(cr.open(s), frames[k])
  assert.is(cr.open(sealed[2]!), undefined, 'a replay fails')
  // and the other direction has its own keys and nonces
  const back = cr.seal(bytes('back'))
  assert.is(ci.open(sealed[0]!), undefined, 'our own frame does not open as the peer\'s')
  assert.equal(ci.open(back), bytes('back'), 'a failed open leaves the nonce where it was')
})

Transport('property: flipping any bit of a sealed frame makes it fail, and the next honest frame is not lost to it', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (frame, at, bit) => {
      const { ci, cr } = pair()
      const sealed = ci.seal(frame)
      const flipped = Uint8Array.from(sealed)
      flipped[at % flipped.length]! ^= 1 << bit
      assert.is(cr.open(flipped), undefined)
      assert.equal(cr.open(sealed), frame)
    }),
    { numRuns: 60 },
  )
})

Transport('reordered, replayed, truncated, injected and cross-session frames fail', () => {
  const { ci, cr } = pair()
  const a = ci.seal(bytes('first'))
  const b = ci.seal(bytes('second'))
  assert.is(cr.open(b), undefined, 'the second before the first')
  assert.equal(cr.open(a), bytes('first'))
  assert.is(cr.open(a), undefined, 'the first again')
  assert.is(cr.open(b.subarray(0, b.length - 1)), undefined, 'one byte short')
  assert.is(cr.open(bytes('plain text')), undefined, 'plaintext')
  assert.is(cr.open(new Uint8Array(5)), undefined, 'shorter than a tag')
  const other = pair()
  assert.is(cr.open(other.ci.seal(bytes('second'))), undefined, 'another session\'s frame at the same nonce')
  assert.equal(cr.open(b), bytes('second'))
})

Transport('nonces stop at 2^53 - 1: the last one works, the next is refused both ways', () => {
  const key = new Uint8Array(32).fill(7)
  const send = new CipherState(key, MAX_NONCE - 1)
  const receive = new CipherState(key, MAX_NONCE - 1)
  const ad = new Uint8Array(0)
  const last = send.encrypt(ad, bytes('last'))
  assert.equal(receive.decrypt(ad, last), bytes('last'))
  assert.is(send.nonce, MAX_NONCE)
  assert.throws(() => send.encrypt(ad, bytes('one more')), (e: Error) => e instanceof RangeError && /nonce exhausted/.test(e.message))
  assert.throws(() => receive.decrypt(ad, last), RangeError)
})

Transport('nonces are 64-bit little endian after 4 zero bytes: n = 2^32 differs from n = 0', () => {
  const key = new Uint8Array(32).fill(9)
  const high = new CipherState(key, 2 ** 32).encrypt(new Uint8Array(0), bytes('x'))
  const low = new CipherState(key, 0).encrypt(new Uint8Array(0), bytes('x'))
  assert.is.not(toHex(high), toHex(low))
  assert.equal(new CipherState(key, 2 ** 32).decrypt(new Uint8Array(0), high), bytes('x'))
})

// ## Handshake messages

const Handshake = suite('noise: handshake messages')

Handshake('both sides agree on the handshake hash and learn each other\'s static key', () => {
  const { i, r, ci, cr } = pair(bytes('prologue'))
  assert.is(toHex(i.handshakeHash), toHex(r.handshakeHash))
  assert.ok(i.remoteStatic !== undefined && r.remoteStatic !== undefined)
  assert.equal(cr.open(ci.seal(bytes('hi'))), bytes('hi'))
})

Handshake('a different prologue on each side: the responder\'s message fails to read', () => {
  const i = new NoiseHandshake({ initiator: true, prologue: bytes('hello as sent'), staticKey: keyPairFromSecret(fresh()) })
  const r = new NoiseHandshake({ initiator: false, prologue: bytes('hello as received'), staticKey: keyPairFromSecret(fresh()) })
  assert.ok(r.readMessage(i.writeMessage()!) !== undefined, 'message 1 carries no tag yet')
  assert.is(i.readMessage(r.writeMessage()!), undefined)
  assert.throws(() => i.writeMessage(), /failed/, 'a failed state is not used again')
})

Handshake('a flipped bit in message 2 or 3, a wrong length, or a message from another run fails', () => {
  for (const target of [1, 2]) {
    for (const at of [0, 31, 40, 63, 80, 95]) {
      const i = new NoiseHandshake({ initiator: true, prologue: new Uint8Array(0), staticKey: keyPairFromSecret(fresh()) })
      const r = new NoiseHandshake({ initiator: false, prologue: new Uint8Array(0), staticKey: keyPairFromSecret(fresh()) })
      r.readMessage(i.writeMessage()!)
      const m2 = r.writeMessage()!
      if (target === 1) {
        if (at >= m2.length) continue
        const bad = Uint8Array.from(m2)
        bad[at]! ^= 0x10
        assert.is(i.readMessage(bad), undefined, `message 2, byte ${at}`)
        continue
      }
      i.readMessage(m2)
      const m3 = i.writeMessage()!
      if (at >= m3.length) continue
      const bad = Uint8Array.from(m3)
      bad[at]! ^= 0x10
      assert.is(r.readMessage(bad), undefined, `message 3, byte ${at}`)
    }
  }
  const i = new NoiseHandshake({ initiator: true, prologue: new Uint8Array(0), staticKey: keyPairFromSecret(fresh()) })
  i.writeMessage()
  assert.is(i.readMessage(new Uint8Array(95)), undefined, 'a short message 2')
  // message 2 of another run, to an initiator with another ephemeral key
  const a = pair()
  const replayTo = new NoiseHandshake({ initiator: true, prologue: new Uint8Array(0), staticKey: keyPairFromSecret(fresh()) })
  replayTo.writeMessage()
  const other = new NoiseHandshake({ initiator: false, prologue: new Uint8Array(0), staticKey: keyPairFromSecret(fresh()) })
  other.readMessage(new NoiseHandshake({ initiator: true, prologue: new Uint8Array(0), staticKey: keyPairFromSecret(fresh()) }).writeMessage()!)
  assert.is(replayTo.readMessage(other.writeMessage()!), undefined)
  assert.ok(a.i.finished)
})

Handshake('a low-order ephemeral key from the peer fails the DH instead of giving a known secret', () => {
  const r = new NoiseHandshake({ initiator: false, prologue: new Uint8Array(0), staticKey: keyPairFromSecret(fresh()) })
  assert.ok(r.readMessage(new Uint8Array(32)) !== undefined, 'message 1 is only read, not used, yet')
  assert.is(r.writeMessage(), undefined, 'the ee DH with the point 0 is refused')
})

Handshake('out of turn is a caller mistake; split before the end too', () => {
  const i = new NoiseHandshake({ initiator: true, prologue: new Uint8Array(0), staticKey: keyPairFromSecret(fresh()) })
  assert.throws(() => i.readMessage(new Uint8Array(32)), /not our turn/)
  assert.throws(() => i.split(), /not finished/)
  assert.throws(() => keyPairFromSecret(new Uint8Array(31)), RangeError)
})

Vectors.run()
Transport.run()
Handshake.run()
