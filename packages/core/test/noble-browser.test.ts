/**
 * nobleCrypto as browsers run it: the package's `browser` field serves @noble/ed25519's API from
 * @noble/curves (src/noble-ed25519.browser.ts), so a page holds one Ed25519 implementation.
 * esbuild bundles nobleCrypto for the browser platform, as a page's build does, and the bundle
 * must give the same keys and signatures as Node's nobleCrypto and accept exactly the same
 * signatures: RFC 8032's vectors, every small-order point as key or R, non-canonical encodings
 * and S, every single-bit change of valid signatures, random keys and messages. (Node's
 * nobleCrypto is held to libsodium's answers by packages/node/test/crypto.test.ts.)
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build, type Metafile } from 'esbuild'
import { ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js'
import { concatBytes, fromHex, nobleCrypto, toHex, type CryptoProvider } from '@tally/core'

const here = import.meta.dirname
const dir = mkdtempSync(join(here, '..', '.noble-browser-'))
let browser: CryptoProvider
let inputs: string[]
try {
  const result = await build({
    stdin: { contents: `export { nobleCrypto } from '@tally/core'`, resolveDir: here, loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  })
  inputs = Object.keys((result.metafile as Metafile).inputs)
  const file = join(dir, 'noble.mjs')
  writeFileSync(file, result.outputFiles[0]!.contents)
  browser = ((await import(pathToFileURL(file).href)) as { nobleCrypto: CryptoProvider }).nobleCrypto
} finally {
  rmSync(dir, { recursive: true, force: true })
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
const L = 2n ** 252n + 27742317777372353535851937790883648493n
const le32 = (n: bigint): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn))
const fromLe = (b: Uint8Array): bigint => b.reduceRight((n, x) => (n << 8n) | BigInt(x), 0n)

/** Both providers' answers on one input must agree; returns the answer. */
function same(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array, what: string): boolean {
  const answer = nobleCrypto.verify(signature, message, publicKey)
  assert.is(browser.verify(signature, message, publicKey), answer, what)
  return answer
}

const Build = suite('nobleCrypto in browsers: the build')

Build('the bundle serves Ed25519 from @noble/curves and holds no @noble/ed25519', () => {
  assert.ok(inputs.some((p) => p.endsWith('core/dist/noble-ed25519.browser.js')))
  assert.ok(inputs.some((p) => p.includes('node_modules/@noble/curves/')))
  assert.not.ok(inputs.some((p) => p.includes('node_modules/@noble/ed25519/')))
})

Build.run()

const Same = suite('nobleCrypto in browsers: the same keys, signatures and verdicts as in Node')

// RFC 8032 §7.1, tests 1–3
const RFC8032 = [
  ['9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '', 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
  ['4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72', '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
  ['c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7', 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82', '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'],
] as const

Same('RFC 8032 §7.1 vectors 1-3: keys, signatures, verification', () => {
  for (const [seed, publicKey, message, signature] of RFC8032) {
    const key = browser.signingKey(fromHex(seed))
    assert.is(toHex(key.publicKey), publicKey)
    assert.is(toHex(key.sign(fromHex(message)) as Uint8Array), signature)
    assert.ok(same(fromHex(signature), fromHex(message), fromHex(publicKey), 'vector'))
  }
})

Same('random seeds and messages: byte-identical keys and signatures, each accepted by the other', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 200 }), (seed, message) => {
      const a = nobleCrypto.signingKey(seed)
      const b = browser.signingKey(seed)
      assert.is(toHex(b.publicKey), toHex(a.publicKey))
      const signature = b.sign(message) as Uint8Array
      assert.is(toHex(signature), toHex(a.sign(message) as Uint8Array))
      assert.ok(same(signature, message, a.publicKey, 'honest'))
    }),
    { numRuns: 150 },
  )
})

Same('every single-bit change of a valid signature, message or key gets the same verdict (false)', () => {
  const key = nobleCrypto.signingKey(nobleCrypto.sha256(utf8('bit flips')))
  const message = utf8('half-block')
  const signature = key.sign(message) as Uint8Array
  const flip = (b: Uint8Array, bit: number) => Uint8Array.from(b, (x, i) => (i === bit >> 3 ? x ^ (1 << (bit & 7)) : x))
  for (let bit = 0; bit < 512; bit++) assert.not.ok(same(flip(signature, bit), message, key.publicKey, `signature bit ${bit}`))
  for (let bit = 0; bit < 256; bit++) {
    assert.not.ok(same(signature, flip(message, bit % (message.length * 8)), key.publicKey, `message bit ${bit}`))
    assert.not.ok(same(signature, message, flip(key.publicKey, bit), `key bit ${bit}`))
  }
})

Same('small-order points as the key or as R, non-canonical encodings and S + L: the same verdicts', () => {
  const message = utf8('tally edge case')
  const torsion = ED25519_TORSION_SUBGROUP.map((h) => fromHex(h))
  // non-canonical encodings: y = p + 1 (the identity again), y = p - 1 with and without the x sign
  const nonCanonical = ['eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', '0100000000000000000000000000000000000000000000000000000000000080'].map(fromHex)
  const honest = nobleCrypto.signingKey(new Uint8Array(32).fill(7))
  const honestSig = honest.sign(message) as Uint8Array
  const rOf = honestSig.subarray(0, 32)
  const sOf = honestSig.subarray(32)
  let checked = 0
  for (const key of [...torsion, ...nonCanonical, honest.publicKey]) {
    for (const r of [...torsion, ...nonCanonical, rOf]) {
      for (const s of [0n, 1n, 3n, fromLe(sOf), fromLe(sOf) + L, L - 1n, L]) {
        same(concatBytes(r, le32(s)), message, key, `key ${toHex(key).slice(0, 8)} R ${toHex(r).slice(0, 8)} S ${s}`)
        checked++
      }
    }
  }
  assert.ok(same(honestSig, message, honest.publicKey, 'honest'))
  assert.not.ok(same(concatBytes(rOf, le32(fromLe(sOf) + L)), message, honest.publicKey, 'S + L'))
  assert.ok(checked > 100)
})

Same('random bytes as signature and key: the same verdict (false), never a throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (signature, publicKey) => {
      assert.not.ok(same(signature, utf8('m'), publicKey, 'random'))
    }),
    { numRuns: 300 },
  )
})

Same.run()
