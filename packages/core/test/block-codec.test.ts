/**
 * The half-block codec writes and parses the fixed fields by hand, and only the payload through
 * the general canonical codec. It must stay exactly the canonical encoding of the 8-field array:
 * - encodeBlock(block) = encodeCanonical([8 fields]) ‖ signature, for random fields;
 * - for random blocks and random mutations of their bytes (flips, cuts, insertions, changed
 *   heads), decodeBlock accepts iff the general codec accepts the whole array with the block's
 *   form rules, and then both give the same fields.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {
  BLOCK_LIMITS,
  UNILATERAL_KEY,
  concatBytes,
  decodeBlock,
  decodeCanonical,
  encodeBlock,
  encodeCanonical,
  equalBytes,
  isTypeName,
  signBlock,
  type CborValue,
  type HalfBlock,
} from '@tally/core'
import { T0, alice } from './helpers.ts'

/** The reference: the general codec over the whole unsigned array, then the form rules. */
function referenceDecode(bytes: Uint8Array): CborValue[] | undefined {
  if (bytes.length <= 64 || bytes.length > BLOCK_LIMITS.maxBytes) return undefined
  let value: CborValue
  try {
    value = decodeCanonical(bytes.subarray(0, bytes.length - 64), { maxBytes: BLOCK_LIMITS.maxBytes, maxDepth: BLOCK_LIMITS.maxDepth })
  } catch {
    return undefined
  }
  if (!Array.isArray(value) || value.length !== 8) return undefined
  const [publicKey, seq, linkPublicKey, linkSeq, previousHash, type, , timestamp] = value
  const key = (x: CborValue): boolean => x instanceof Uint8Array && x.length === 32
  const uint = (x: CborValue): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
  if (!key(publicKey!) || !uint(seq!) || !key(linkPublicKey!) || !uint(linkSeq!) || !key(previousHash!) || !isTypeName(type) || !uint(timestamp!)) return undefined
  return value
}

const payloadArb: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    fc.bigInt({ min: -(2n ** 64n) + 1n, max: 2n ** 64n - 1n }),
    fc.string({ maxLength: 30 }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__'), tie('v'), { maxKeys: 4 }),
  ),
})).v

const typeArb = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,31}$/)
const uintArb = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }))

const blockArb: fc.Arbitrary<HalfBlock> = fc
  .record({
    seq: uintArb.map((n) => Math.max(1, n)),
    linkSeq: uintArb,
    link: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    previousHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    type: typeArb,
    payload: payloadArb,
    timestamp: uintArb,
  })
  .map((f) =>
    signBlock(
      { publicKey: alice.publicKey, seq: f.seq, linkPublicKey: f.link, linkSeq: f.linkSeq, previousHash: f.previousHash, type: f.type, payload: f.payload, timestamp: f.timestamp },
      alice,
    ),
  )

type Mutation = { kind: 'flip'; at: number; bit: number } | { kind: 'cut'; at: number } | { kind: 'insert'; at: number; byte: number } | { kind: 'set'; at: number; byte: number }

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.nat(255) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.constantFrom(0x18, 0x19, 0x1a, 0x1b, 0x58, 0x59, 0x78, 0x79, 0x9f, 0xbf, 0xc2, 0xf7, 0xfb, 0xff) }),
)

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  // mutations land in the unsigned part (the signature is opaque bytes to the codec)
  const at = m.at % (bytes.length - 64)
  switch (m.kind) {
    case 'flip': {
      const out = bytes.slice()
      out[at]! ^= 1 << m.bit
      return out
    }
    case 'cut':
      return concatBytes(bytes.subarray(0, at), bytes.subarray(bytes.length - 64))
    case 'insert':
      return concatBytes(bytes.subarray(0, at), Uint8Array.of(m.byte), bytes.subarray(at))
    case 'set': {
      const out = bytes.slice()
      out[at] = m.byte
      return out
    }
  }
}

function sameFields(block: HalfBlock, value: CborValue[]): boolean {
  return equalBytes(encodeCanonical([block.publicKey, block.seq, block.linkPublicKey, block.linkSeq, block.previousHash, block.type, block.payload, block.timestamp]), encodeCanonical(value))
}

const test = suite('block codec')

test('encodeBlock is the canonical encoding of the 8-field array, then the signature', () => {
  fc.assert(
    fc.property(blockArb, (block) => {
      const reference = concatBytes(
        encodeCanonical([block.publicKey, block.seq, block.linkPublicKey, block.linkSeq, block.previousHash, block.type, block.payload, block.timestamp]),
        block.signature,
      )
      assert.ok(equalBytes(encodeBlock(block), reference))
      // and a block built by hand (no cached encoding) encodes the same
      assert.ok(equalBytes(encodeBlock({ ...block }), reference))
    }),
    { numRuns: 300 },
  )
})

test('integer payloads (written by hand): signBlock writes what the general codec writes', () => {
  // signBlock writes an integer or an array of at most 23 integers itself; the codec the rest
  const edges = [0, -0, 23, 24, -24, -25, 255, 256, -256, -257, 65_535, 65_536, -65_537, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, 2 ** 53 - 1, -(2 ** 53) + 1]
  const intArb = fc.oneof(fc.constantFrom(...edges), fc.integer(), fc.maxSafeInteger(), fc.integer({ min: -70_000, max: 70_000 }))
  const payload = fc.oneof(intArb, fc.array(intArb, { maxLength: 25 }))
  fc.assert(
    fc.property(payload, (payload) => {
      const block = signBlock({ publicKey: alice.publicKey, seq: 3, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: new Uint8Array(32).fill(7), type: 'reward', payload, timestamp: T0 }, alice)
      const unsigned = encodeCanonical([block.publicKey, 3, UNILATERAL_KEY, 0, block.previousHash, 'reward', payload, T0])
      assert.ok(equalBytes(encodeBlock(block), concatBytes(unsigned, block.signature)))
      assert.equal(decodeBlock(encodeBlock(block)).payload, Object.is(payload, -0) ? 0 : payload)
    }),
    { numRuns: 500 },
  )
  // not integers: the general codec's refusal, as before
  for (const bad of [1.5, [1, 0.5], [1, Number.MAX_SAFE_INTEGER + 1], [, 1]]) {
    assert.throws(() => signBlock({ publicKey: alice.publicKey, seq: 1, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: new Uint8Array(32), type: 'reward', payload: bad as CborValue, timestamp: T0 }, alice), TypeError)
  }
})

test('decodeBlock accepts exactly what the general codec accepts, with the same fields', () => {
  let accepted = 0
  let refused = 0
  fc.assert(
    fc.property(blockArb, fc.array(mutationArb, { maxLength: 3 }), (block, mutations) => {
      let bytes = encodeBlock(block)
      for (const m of mutations) bytes = mutate(bytes, m)
      const reference = referenceDecode(bytes)
      let decoded: HalfBlock | undefined
      try {
        decoded = decodeBlock(bytes)
      } catch (err) {
        assert.is((err as { code?: string }).code, 'ERR_DECODE', (err as Error).message)
      }
      assert.is(decoded !== undefined, reference !== undefined, `hand ${decoded !== undefined}, general ${reference !== undefined}`)
      if (decoded !== undefined && reference !== undefined) {
        accepted++
        assert.ok(sameFields(decoded, reference))
        assert.ok(equalBytes(encodeBlock(decoded), bytes))
      } else refused++
    }),
    { numRuns: 2000 },
  )
  assert.ok(accepted > 100 && refused > 100, `both outcomes exercised: ${accepted} accepted, ${refused} refused`)
})

test('payload nesting: the deepest payload signBlock allows decodes, one level more is refused', () => {
  let payload: CborValue = 1
  for (let i = 0; i < BLOCK_LIMITS.maxDepth - 1; i++) payload = [payload]
  const fields = { publicKey: alice.publicKey, seq: 1, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: new Uint8Array(32), type: 'note', payload, timestamp: T0 }
  const ok = signBlock(fields, alice)
  assert.ok(equalBytes(encodeBlock(decodeBlock(encodeBlock(ok))), encodeBlock(ok)))
  const deeper = concatBytes(
    encodeCanonical([fields.publicKey, 1, fields.linkPublicKey, 0, fields.previousHash, 'note', [payload], T0]),
    new Uint8Array(64),
  )
  assert.throws(() => decodeBlock(deeper), (err: Error) => (err as { code?: string }).code === 'ERR_DECODE')
  assert.is(referenceDecode(deeper), undefined)
})

test('hostile heads: a long run of tags or array heads is a DecodeError, not a stack overflow', () => {
  for (const filler of [0xc2, 0x81, 0xa1]) {
    const head = encodeCanonical([alice.publicKey, 1, UNILATERAL_KEY, 0, new Uint8Array(32), 'note']).subarray(1)
    const bytes = concatBytes(Uint8Array.of(0x88), head, new Uint8Array(15_000).fill(filler), Uint8Array.of(0), new Uint8Array(64))
    // a RangeError (stack overflow) or any other error than ERR_DECODE fails this
    assert.throws(() => decodeBlock(bytes), (err: Error) => (err as { code?: string }).code === 'ERR_DECODE')
  }
})

test('integer payloads (read by hand): canonical heads decode as the general codec decodes them, every longer head is refused by both', () => {
  // decodeBlock reads an integer or a short array of integers itself; the codec decides the rest
  const edges = [0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 2, 2 ** 53 - 1, 2 ** 53, 2 ** 60]
  const intArb = fc.oneof(fc.constantFrom(...edges), fc.integer({ min: 0, max: 70_000 }), fc.maxSafeNat())
  /** Head bytes of major type `major` holding n, `width` bytes after the first (0: in the first). */
  const head = (major: number, n: bigint, width: 0 | 1 | 2 | 4 | 8): number[] => {
    if (width === 0) return [(major << 5) | Number(n)]
    const out = [(major << 5) | { 1: 24, 2: 25, 4: 26, 8: 27 }[width]]
    for (let i = width - 1; i >= 0; i--) out.push(Number((n >> BigInt(8 * i)) & 0xffn))
    return out
  }
  /** Every head of n in major type `major`: the shortest first, then each longer one. */
  const heads = (major: number, n: bigint): number[][] =>
    ([0, 1, 2, 4, 8] as const).filter((w) => (w === 0 ? n < 24n : n < 1n << BigInt(8 * w))).map((w) => head(major, n, w))
  const fixed = concatBytes(
    Uint8Array.of(0x88),
    ...[alice.publicKey, 5, UNILATERAL_KEY, 0, new Uint8Array(32).fill(1), 'reward'].map((x) => encodeCanonical(x)),
  )
  const blockWith = (payload: number[]): Uint8Array => concatBytes(fixed, Uint8Array.from(payload), encodeCanonical(T0), new Uint8Array(64))
  const check = (payload: number[], canonical: boolean): void => {
    const bytes = blockWith(payload)
    const reference = referenceDecode(bytes)
    if (!canonical) {
      assert.is(reference, undefined)
      assert.throws(() => decodeBlock(bytes), (err: Error) => (err as { code?: string }).code === 'ERR_DECODE')
      return
    }
    assert.ok(reference !== undefined)
    assert.equal(decodeBlock(bytes).payload, reference[6])
  }
  fc.assert(
    fc.property(intArb, fc.boolean(), intArb, (a, negative, b) => {
      const major = negative ? 1 : 0
      const [shortest, ...longer] = heads(major, BigInt(a))
      check(shortest!, true)
      for (const h of longer) check(h, false)
      // in an array of two, each element and the array head itself in every form
      const second = heads(0, BigInt(b))
      check([0x82, ...shortest!, ...second[0]!], true)
      for (const h of longer) check([0x82, ...h, ...second[0]!], false)
      for (const h of second.slice(1)) check([0x82, ...shortest!, ...h], false)
      check([0x98, 0x02, ...shortest!, ...second[0]!], false)
    }),
    { numRuns: 300 },
  )
})

test.run()
