// In Chromium: the WebCrypto Ed25519 verifier gives noble's verdict (libsodium's rules) on every
// signature: RFC 8032's vectors, flipped bits, wrong keys, wrong messages, the small-order,
// mixed-order and non-canonical cases of test/vectors/ed25519.ts, and random keys and messages; it
// verifies blocks for an agent; and what WebCrypto alone would answer is recorded, to show which
// classes the strict checks are needed for.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {
  createAgent,
  createBlockTypes,
  createMemoryStore,
  decodeBlock,
  encodeBlock,
  fromHex,
  generateIdentity,
  identityFromSeed,
  nobleCrypto,
  signBlock,
  GENESIS_HASH,
  UNILATERAL_KEY,
  type HalfBlock,
} from '@tally/core'
import { EDGES, EDGE_MESSAGE_TEXT, RFC8032 } from '../../../../test/vectors/ed25519.js'
import { VERIFY_KEYS, createBrowserVerifier, webCryptoVerifies, type BrowserVerifier } from '../../src/webcrypto-verify.js'
import { out, serve } from './harness.js'

const utf8 = (s: string) => new TextEncoder().encode(s)
const flip = (bytes: Uint8Array, bit: number) => {
  const copy = Uint8Array.from(bytes)
  copy[bit >> 3]! ^= 1 << (bit & 7)
  return copy
}

/** What WebCrypto answers on its own, without core's strict checks. */
async function webCryptoAlone(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean | 'throws'> {
  try {
    const key = await crypto.subtle.importKey('raw', Uint8Array.from(publicKey), 'Ed25519', false, ['verify'])
    return await crypto.subtle.verify('Ed25519', key, Uint8Array.from(signature), Uint8Array.from(message))
  } catch {
    return 'throws'
  }
}

function verdicts(): void {
  const test = suite('WebCrypto verifier: the same verdicts as noble')
  let web: BrowserVerifier
  let noble: BrowserVerifier

  test.before(async () => {
    web = await createBrowserVerifier({ backend: 'webcrypto' })
    noble = await createBrowserVerifier({ backend: 'noble' })
  })

  test('Chromium verifies Ed25519 in WebCrypto, and auto picks it', async () => {
    assert.ok(await webCryptoVerifies())
    assert.is(web.backend, 'webcrypto')
    assert.is(noble.backend, 'noble')
    assert.is((await createBrowserVerifier()).backend, 'webcrypto')
  })

  test('RFC 8032 §7.1 vectors: valid, and invalid with any one bit flipped in the signature, key or message', async () => {
    let checked = 0
    for (const v of RFC8032) {
      const signature = fromHex(v.signature), publicKey = fromHex(v.publicKey), message = fromHex(v.message)
      assert.ok(await web.verify(signature, message, publicKey), 'the vector verifies')
      const cases: [Uint8Array, Uint8Array, Uint8Array][] = []
      for (let bit = 0; bit < 512; bit++) cases.push([flip(signature, bit), message, publicKey])
      for (let bit = 0; bit < 256; bit++) cases.push([signature, message, flip(publicKey, bit)])
      for (let bit = 0; bit < message.length * 8; bit++) cases.push([signature, flip(message, bit), publicKey])
      for (const [s, m, k] of cases) {
        const want = nobleCrypto.verify(s, m, k)
        assert.is(await web.verify(s, m, k), want, `${v.publicKey.slice(0, 8)}: ${want}`)
        assert.is(want, false)
        checked++
      }
    }
    out.flipped = checked
  })

  test('small-order, mixed-order and non-canonical cases: noble\'s verdict, which WebCrypto alone does not give', async () => {
    const message = utf8(EDGE_MESSAGE_TEXT)
    const alone: Record<string, boolean | 'throws'> = {}
    for (const edge of EDGES) {
      const signature = fromHex(edge.signature), publicKey = fromHex(edge.publicKey)
      assert.is(nobleCrypto.verify(signature, message, publicKey), edge.valid, `noble: ${edge.name}`)
      assert.is(await web.verify(signature, message, publicKey), edge.valid, `webcrypto verifier: ${edge.name}`)
      alone[edge.name] = await webCryptoAlone(signature, message, publicKey)
    }
    out.webCryptoAlone = alone
    // the checks are there for a reason: WebCrypto alone takes a signature under the identity key for any message
    assert.is(alone['public key 0100…00 (identity), R = [S]B: valid for every message'], true)
  })

  test('S + L, a wrong key, a wrong message, malformed input: false, never a rejection', async () => {
    const key = identityFromSeed(new Uint8Array(32).fill(9))
    const other = identityFromSeed(new Uint8Array(32).fill(10))
    const message = utf8('m')
    const signature = key.sign(message)
    assert.ok(await web.verify(signature, message, key.publicKey))
    assert.not.ok(await web.verify(signature, message, other.publicKey))
    assert.not.ok(await web.verify(signature, utf8('n'), key.publicKey))
    // S + L: the same point equation, a non-canonical S
    let s = 0n
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i]!)
    s += 2n ** 252n + 27742317777372353535851937790883648493n
    const malleated = Uint8Array.from(signature)
    for (let i = 32; i < 64; i++, s >>= 8n) malleated[i] = Number(s & 255n)
    assert.ok(s === 0n, 'S + L fits in 32 bytes')
    assert.is(await web.verify(malleated, message, key.publicKey), nobleCrypto.verify(malleated, message, key.publicKey))
    assert.not.ok(await web.verify(malleated, message, key.publicKey))
    // a public key that is no point of the curve (y² has no square root: y = 2)
    const notAPoint = new Uint8Array(32)
    notAPoint[0] = 2
    assert.is(await web.verify(signature, message, notAPoint), nobleCrypto.verify(signature, message, notAPoint))
    for (const [sig, msg, pk] of [[signature.subarray(1), message, key.publicKey], [signature, message, key.publicKey.subarray(1)], [undefined, message, key.publicKey], [signature, 'm', key.publicKey]] as const) {
      assert.is(await web.verify(sig as Uint8Array, msg as Uint8Array, pk as Uint8Array), false)
    }
  })

  test('random keys, messages and bit flips: the same verdict', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), fc.option(fc.nat(64 * 8 - 1)), async (seed, message, bit) => {
        const key = nobleCrypto.signingKey(seed)
        const signature = bit === null ? key.sign(message) : flip(key.sign(message), bit)
        assert.is(await web.verify(signature, message, key.publicKey), nobleCrypto.verify(signature, message, key.publicKey))
      }),
      { numRuns: 300 },
    )
  })

  test(`more keys than the cache keeps (${VERIFY_KEYS}): each still verifies`, async () => {
    const keys = Array.from({ length: VERIFY_KEYS + 20 }, (_, i) => identityFromSeed(new Uint8Array(32).fill(0).map((_, j) => (i * 7 + j) & 255)))
    const message = utf8('cached')
    for (const round of [0, 1]) {
      for (const key of keys) assert.ok(await web.verify(key.sign(message), message, key.publicKey), `round ${round}`)
    }
  })

  test.run()
}

function blocks(): void {
  const test = suite('WebCrypto verifier: blocks for an agent')

  test('verifyBlocks: genuine blocks true, a block with a flipped signature bit false, in order', async () => {
    const web = await createBrowserVerifier()
    const alice = generateIdentity()
    const good = signBlock({ publicKey: alice.publicKey, seq: 1, previousHash: GENESIS_HASH, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, type: 'note', payload: 'a', timestamp: 1 }, alice) as HalfBlock
    const bad = { ...good, signature: flip(good.signature, 100) }
    assert.equal(await web.verifyBlocks([good, bad, good]), [true, false, true])
  })

  test('an agent given it takes genuine blocks and refuses a forged signature', async () => {
    const web = await createBrowserVerifier()
    let asked = 0
    const counting = async (bs: readonly HalfBlock[]) => {
      asked += bs.length
      return web.verifyBlocks(bs)
    }
    const types = createBlockTypes([{ name: 'note' }])
    const alice = generateIdentity()
    const bob = createAgent({ identity: generateIdentity(), store: createMemoryStore(), types, verifySignatures: counting, head: 'local' })
    const first = signBlock({ publicKey: alice.publicKey, seq: 1, previousHash: GENESIS_HASH, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, type: 'note', payload: 'a', timestamp: 1 }, alice) as HalfBlock
    assert.is.not((await bob.receive(first)).level, 'invalid')
    // decoded, as a block from a peer is (a well-formed block: the agent asks its verifier)
    const forged = decodeBlock(encodeBlock({ ...first, signature: flip(first.signature, 7) }))
    const result = await bob.receive(forged)
    assert.is(result.level, 'invalid')
    assert.ok(result.errors.some((e) => e.rule === 'signature'))
    assert.ok(asked >= 2, 'the agent asked the verifier')
  })

  test.run()
}

serve({
  verify() {
    verdicts()
    blocks()
  },
})
