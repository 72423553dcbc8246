// Every crypto provider on this machine (noble, node, sodium where it loads) must give the same
// keys and signatures and accept exactly the same signatures: a signature valid for one peer and
// invalid for another would split the view of a chain.
import { execFileSync } from 'node:child_process'
import { inspect } from 'node:util'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { GENESIS_HASH, UNILATERAL_KEY, blockHash, decodeBlock, encodeBlock, fromHex, identityFromSeed, nobleCrypto, signBlock, toHex } from '@tally/core'
import type { CryptoProvider } from '@tally/core'
import { cryptoProviders, defaultCrypto } from '../src/crypto.js'
import { nodeCrypto } from '../src/node-crypto.js'
import { loadSodiumCrypto } from '../src/sodium-crypto.js'
import { EDGES, EDGE_MESSAGE_TEXT, RFC8032 } from '../../../test/vectors/ed25519.js'

const providers = cryptoProviders()
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
const EDGE_MESSAGE = utf8(EDGE_MESSAGE_TEXT)

// ## Choice

const choice = suite('choice')

choice('cryptoProviders lists noble and node, and sodium when it loads', () => {
  const names = providers.map((p) => p.name)
  const sodium = loadSodiumCrypto()
  assert.equal(names, sodium === undefined ? ['noble', 'node'] : ['noble', 'node', 'sodium'])
  console.log(`  providers on this machine: ${names.join(', ')}`)
})

choice('defaultCrypto is sodium when it loads, else node', () => {
  assert.is(defaultCrypto(), loadSodiumCrypto() ?? nodeCrypto)
  assert.is(loadSodiumCrypto(), loadSodiumCrypto(), 'loaded once, the same object after')
})

choice('without sodium-native, defaultCrypto is node and cryptoProviders leaves sodium out', () => {
  // A child process in which resolving 'sodium-native' fails, as on a machine without it.
  const script = `
    import Module from 'node:module'
    const resolve = Module._resolveFilename
    Module._resolveFilename = function (request, ...rest) {
      if (request === 'sodium-native') throw Object.assign(new Error('absent'), { code: 'MODULE_NOT_FOUND' })
      return resolve.call(this, request, ...rest)
    }
    const { defaultCrypto, cryptoProviders } = await import(${JSON.stringify(new URL('../src/crypto.ts', import.meta.url).href)})
    console.log(JSON.stringify([defaultCrypto().name, ...cryptoProviders().map((p) => p.name)]))
  `
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { encoding: 'utf8' })
  assert.equal(JSON.parse(out), ['node', 'noble', 'node'])
})

choice.run()

// ## RFC 8032 vectors

const rfc = suite('RFC 8032 §7.1 vectors')

for (const [i, v] of RFC8032.entries()) {
  rfc(`test ${i + 1}: every provider derives the public key and the signature`, () => {
    for (const crypto of providers) {
      const key = crypto.signingKey(fromHex(v.seed))
      assert.is(toHex(key.publicKey), v.publicKey, crypto.name)
      assert.is(toHex(key.sign(fromHex(v.message))), v.signature, crypto.name)
      assert.ok(crypto.verify(fromHex(v.signature), fromHex(v.message), fromHex(v.publicKey)), crypto.name)
    }
  })
}

rfc.run()

// ## Agreement

const agreement = suite('agreement between providers')

agreement('same seed and message give byte-identical keys and signatures', () => {
  const seed = Uint8Array.from({ length: 32 }, (_, i) => i * 7)
  const message = utf8('transfer 10 to bob')
  const [first, ...rest] = providers.map((crypto) => signWith(crypto, seed, message))
  for (const other of rest) {
    assert.equal(other.publicKey, first!.publicKey)
    assert.equal(other.signature, first!.signature)
  }
})

agreement('each provider accepts every provider\'s signatures', () => {
  const seed = nobleCrypto.sha256(utf8('agreement seed'))
  const message = utf8('half-block')
  for (const signer of providers) {
    const { publicKey, signature } = signWith(signer, seed, message)
    for (const verifier of providers) {
      assert.ok(verifier.verify(signature, message, publicKey), `${signer.name} → ${verifier.name}`)
    }
  }
})

agreement('outputs are plain Uint8Arrays, not Buffers or views into a pool', () => {
  for (const crypto of providers) {
    const key = crypto.signingKey(new Uint8Array(32))
    for (const bytes of [key.publicKey, key.sign(utf8('x')), crypto.sha256(utf8('x')), crypto.randomBytes(16)]) {
      assert.is(Object.getPrototypeOf(bytes), Uint8Array.prototype, crypto.name)
      assert.is(bytes.byteOffset, 0, crypto.name)
      assert.is(bytes.buffer.byteLength, bytes.length, crypto.name)
    }
  }
})

agreement('signInto and sha256Into, where a provider has them, write what sign and sha256 return, into views of a larger buffer', () => {
  const seed = nobleCrypto.sha256(utf8('into seed'))
  for (const crypto of providers) {
    const key = crypto.signingKey(seed)
    for (let length = 0; length <= 130; length += 13) {
      const message = Uint8Array.from({ length }, (_, i) => (i * 17 + length) & 0xff)
      const room = new Uint8Array(300).fill(0xee)
      if (key.signInto !== undefined) {
        key.signInto(message, room.subarray(100, 164))
        assert.equal(room.subarray(100, 164), key.sign(message), `${crypto.name} signInto`)
        assert.ok(room.subarray(0, 100).every((b) => b === 0xee) && room.subarray(164).every((b) => b === 0xee), `${crypto.name} signInto wrote outside`)
      }
      if (crypto.sha256Into !== undefined) {
        room.fill(0xee)
        crypto.sha256Into(message, room.subarray(7, 39))
        assert.equal(room.subarray(7, 39), nobleCrypto.sha256(message), `${crypto.name} sha256Into`)
        assert.ok(room.subarray(0, 7).every((b) => b === 0xee) && room.subarray(39).every((b) => b === 0xee), `${crypto.name} sha256Into wrote outside`)
      }
    }
    if (key.signInto !== undefined) assert.throws(() => key.signInto!(utf8('x'), new Uint8Array(63)), RangeError)
    if (crypto.sha256Into !== undefined) assert.throws(() => crypto.sha256Into!(utf8('x'), new Uint8Array(31)), RangeError)
  }
  // sodium has both (the fast path of signBlock and blockHash); where it loads, say so
  const sodium = loadSodiumCrypto()
  if (sodium !== undefined) assert.ok(sodium.sha256Into !== undefined && sodium.signingKey(seed).signInto !== undefined)
})

agreement('a block signed with each provider has the same bytes, hash and signature', () => {
  const seed = nobleCrypto.sha256(utf8('block seed'))
  const made = providers.map((crypto) => {
    const identity = identityFromSeed(seed, crypto)
    const block = signBlock({ publicKey: identity.publicKey, seq: 1, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: GENESIS_HASH, type: 'note', payload: [1, 2], timestamp: 5 }, identity, crypto)
    return { name: crypto.name, bytes: toHex(encodeBlock(block)), hash: toHex(blockHash(block, crypto)), decodedHash: toHex(blockHash(decodeBlock(encodeBlock(block)), crypto)) }
  })
  for (const m of made) {
    assert.is(m.bytes, made[0]!.bytes, m.name)
    assert.is(m.hash, made[0]!.hash, m.name)
    assert.is(m.decodedHash, made[0]!.hash, m.name)
  }
})

agreement.run()

// ## Tampering

const tampering = suite('tampering')

tampering('flipping any bit of the signature, message or public key is rejected by all', () => {
  const key = nobleCrypto.signingKey(nobleCrypto.sha256(utf8('tampering seed')))
  const message = nobleCrypto.sha256(utf8('a 32-byte message'))
  const signature = key.sign(message)
  for (const crypto of providers) {
    assert.ok(crypto.verify(signature, message, key.publicKey), crypto.name)
    for (let bit = 0; bit < 64 * 8; bit++) {
      assert.not.ok(crypto.verify(flip(signature, bit), message, key.publicKey), `${crypto.name} signature bit ${bit}`)
    }
    for (let bit = 0; bit < 32 * 8; bit++) {
      assert.not.ok(crypto.verify(signature, flip(message, bit), key.publicKey), `${crypto.name} message bit ${bit}`)
      assert.not.ok(crypto.verify(signature, message, flip(key.publicKey, bit)), `${crypto.name} key bit ${bit}`)
    }
  }
})

tampering('a longer or shorter message is rejected by all', () => {
  const key = nobleCrypto.signingKey(new Uint8Array(32).fill(1))
  const message = utf8('exact')
  const signature = key.sign(message)
  for (const crypto of providers) {
    assert.not.ok(crypto.verify(signature, utf8('exact\0'), key.publicKey), crypto.name)
    assert.not.ok(crypto.verify(signature, utf8('exac'), key.publicKey), crypto.name)
    assert.not.ok(crypto.verify(signature, new Uint8Array(0), key.publicKey), crypto.name)
  }
})

tampering.run()

// ## Bad inputs

const badInputs = suite('bad inputs')

// Shared table of values that are not the bytes a function expects.
const NOT_BYTES: unknown[] = [undefined, null, 0, 64, 'ab'.repeat(32), [1, 2, 3], {}, new Uint16Array(32), new ArrayBuffer(64)]
const lengths = (n: number) => [0, 1, n - 1, n + 1, 2 * n].map((length) => new Uint8Array(length))

badInputs('verify returns false, never throws, on wrong types and lengths', () => {
  const key = nobleCrypto.signingKey(new Uint8Array(32).fill(2))
  const message = utf8('m')
  const signature = key.sign(message)
  for (const crypto of providers) {
    const verify = crypto.verify as (signature: unknown, message: unknown, publicKey: unknown) => boolean
    for (const bad of [...NOT_BYTES, ...lengths(64)]) {
      assert.is(verify(bad, message, key.publicKey), false, `${crypto.name} signature ${describe(bad)}`)
    }
    for (const bad of [...NOT_BYTES, ...lengths(32)]) {
      assert.is(verify(signature, message, bad), false, `${crypto.name} publicKey ${describe(bad)}`)
    }
    for (const bad of NOT_BYTES) {
      assert.is(verify(signature, bad, key.publicKey), false, `${crypto.name} message ${describe(bad)}`)
    }
    // A signature with 64 bytes inside a larger buffer is still just those 64 bytes.
    const padded = new Uint8Array(80)
    padded.set(signature, 8)
    assert.ok(crypto.verify(padded.subarray(8, 72), message, key.publicKey), `${crypto.name} subarray`)
    const paddedKey = new Uint8Array(40)
    paddedKey.set(key.publicKey, 5)
    assert.ok(crypto.verify(signature, message, paddedKey.subarray(5, 37)), `${crypto.name} key subarray`)
    assert.not.ok(crypto.verify(signature, message, paddedKey.subarray(4, 36)), `${crypto.name} shifted key`)
    assert.not.ok(crypto.verify(new Uint8Array(64), message, key.publicKey), `${crypto.name} zero signature`)
    assert.not.ok(crypto.verify(new Uint8Array(64).fill(0xff), message, new Uint8Array(32).fill(0xff)), crypto.name)
  }
})

badInputs('signingKey throws TypeError for a non-Uint8Array seed, RangeError for a wrong length', () => {
  for (const crypto of providers) {
    for (const bad of NOT_BYTES) {
      assert.throws(() => crypto.signingKey(bad as Uint8Array), TypeError, `${crypto.name} ${describe(bad)}`)
    }
    for (const bad of lengths(32)) {
      assert.throws(() => crypto.signingKey(bad), RangeError, `${crypto.name} ${describe(bad)}`)
    }
  }
})

badInputs('sign and sha256 throw TypeError for a non-Uint8Array', () => {
  for (const crypto of providers) {
    const key = crypto.signingKey(new Uint8Array(32))
    for (const bad of NOT_BYTES) {
      assert.throws(() => key.sign(bad as Uint8Array), TypeError, `${crypto.name} sign ${describe(bad)}`)
      assert.throws(() => crypto.sha256(bad as Uint8Array), TypeError, `${crypto.name} sha256 ${describe(bad)}`)
    }
  }
})

badInputs('randomBytes gives the length asked and throws on a bad one', () => {
  for (const crypto of providers) {
    for (const length of [0, 1, 32, 65536]) assert.is(crypto.randomBytes(length).length, length, crypto.name)
    assert.not.equal(crypto.randomBytes(32), crypto.randomBytes(32), crypto.name)
    for (const bad of [-1, 1.5, Number.NaN, '32']) {
      assert.throws(() => crypto.randomBytes(bad as number), undefined, `${crypto.name} ${String(bad)}`)
    }
  }
})

badInputs.run()

// ## SHA-256

const sha = suite('sha256')

sha('FIPS 180-2 vectors and agreement with noble on every length around the block size', () => {
  const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
  const empty = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
  for (const crypto of providers) {
    assert.is(toHex(crypto.sha256(utf8('abc'))), abc, crypto.name)
    assert.is(toHex(crypto.sha256(new Uint8Array(0))), empty, crypto.name)
    for (let length = 0; length <= 130; length++) {
      const data = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff)
      assert.equal(crypto.sha256(data), nobleCrypto.sha256(data), `${crypto.name} length ${length}`)
    }
    const big = new Uint8Array(1 << 20).fill(0x61)
    assert.equal(crypto.sha256(big), nobleCrypto.sha256(big), `${crypto.name} 1 MiB`)
  }
})

sha.run()

// ## Secrets

const secrets = suite('secrets stay inside')

secrets('JSON, String and util.inspect of a signing key never show the seed', () => {
  const seed = fromHex(RFC8032[0]!.seed)
  // The seed as hex, as inspect lists a Uint8Array, and as JSON.stringify writes one.
  const forms = [RFC8032[0]!.seed, [...seed.subarray(0, 6)].join(', '), '"0":157,"1":97']
  for (const crypto of providers) {
    const key = crypto.signingKey(seed)
    const views = [
      JSON.stringify(key),
      String(key),
      `${key.sign.toString()}`,
      inspect(key),
      inspect(key, { showHidden: true, depth: Infinity, getters: true }),
      inspect(key.sign, { showHidden: true, depth: Infinity }),
      `${key.signInto?.toString()}`,
      inspect(key.signInto, { showHidden: true, depth: Infinity }),
    ]
    for (const view of views) {
      for (const form of forms) assert.not.ok(view.includes(form), `${crypto.name}: ${view.slice(0, 80)}`)
    }
    assert.equal(Object.keys(key).sort(), key.signInto === undefined ? ['publicKey', 'sign'] : ['publicKey', 'sign', 'signInto'], crypto.name)
    assert.ok(Object.isFrozen(key), crypto.name)
  }
})

secrets('the key does not keep the caller\'s seed buffer: zeroing it afterwards changes nothing', () => {
  for (const crypto of providers) {
    const seed = fromHex(RFC8032[0]!.seed)
    const key = crypto.signingKey(seed)
    seed.fill(0)
    assert.is(toHex(key.sign(new Uint8Array(0))), RFC8032[0]!.signature, crypto.name)
  }
})

secrets.run()

// ## Properties

const properties = suite('properties')

properties('for random seeds and messages, all providers agree on keys, signatures and verification', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), (seed, message) => {
      const signed = providers.map((crypto) => signWith(crypto, seed, message))
      const { publicKey, signature } = signed[0]!
      for (const s of signed) {
        assert.equal(s.publicKey, publicKey)
        assert.equal(s.signature, signature)
      }
      for (const crypto of providers) assert.ok(crypto.verify(signature, message, publicKey), crypto.name)
    }),
    { numRuns: 100 },
  )
})

properties('for random tampering, all providers reject', () => {
  const key = nobleCrypto.signingKey(new Uint8Array(32).fill(3))
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 100 }),
      fc.nat({ max: 64 + 32 - 1 }),
      fc.integer({ min: 1, max: 255 }),
      (message, at, mask) => {
        const signature = Uint8Array.from(key.sign(message))
        const publicKey = Uint8Array.from(key.publicKey)
        if (at < 64) signature[at]! ^= mask
        else publicKey[at - 64]! ^= mask
        for (const crypto of providers) assert.not.ok(crypto.verify(signature, message, publicKey), crypto.name)
      },
    ),
    { numRuns: 100 },
  )
})

properties('random bytes as signature and key are rejected by all providers', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (signature, publicKey) => {
      const message = utf8('m')
      for (const crypto of providers) assert.not.ok(crypto.verify(signature, message, publicKey), crypto.name)
    }),
    { numRuns: 200 },
  )
})

properties.run()

// ## Edge cases

const edges = suite('edge cases: small-order and mixed-order points')

for (const edge of EDGES) {
  edges(`${edge.name}: ${edge.valid ? 'valid' : 'invalid'}`, () => {
    for (const crypto of providers) {
      assert.is(crypto.verify(fromHex(edge.signature), EDGE_MESSAGE, fromHex(edge.publicKey)), edge.valid, crypto.name)
    }
  })
}

edges('node:crypto on its own takes the small-order forgeries that nodeCrypto refuses', async () => {
  const { createPublicKey, verify } = await import('node:crypto')
  const spki = fromHex('302a300506032b6570032100')
  for (const edge of EDGES) {
    const key = createPublicKey({ key: Buffer.from([...spki, ...fromHex(edge.publicKey)]), format: 'der', type: 'spki' })
    assert.is(verify(null, EDGE_MESSAGE, key, fromHex(edge.signature)), edge.openssl, edge.name)
  }
})

edges.run()

// ## Helpers

function signWith(crypto: CryptoProvider, seed: Uint8Array, message: Uint8Array) {
  const key = crypto.signingKey(seed)
  return { publicKey: key.publicKey, signature: key.sign(message) }
}

function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(bytes)
  out[bit >> 3]! ^= 1 << (bit & 7)
  return out
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`
  return Object.prototype.toString.call(value)
}
