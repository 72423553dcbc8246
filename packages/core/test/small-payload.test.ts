/**
 * signBlock writes a payload of small integers (a safe integer, or an array of at most 23 of them)
 * by hand instead of through the general codec: its bytes must be the codec's, for every such
 * value and for the values just outside it (-0, 24 elements, unsafe integers, a float in the
 * array), which go through the codec; and the block must decode back to the same fields.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { GENESIS_HASH, UNILATERAL_KEY, decodeBlock, encodeBlock, encodeCanonical, equalBytes, identityFromSeed, signBlock, type CborValue } from '../src/index.js'

const test = suite('small payloads')
const identity = identityFromSeed(new Uint8Array(32).fill(7))

function unsignedEncoding(payload: CborValue, timestamp: number): Uint8Array {
  return encodeCanonical([identity.publicKey, 3, UNILATERAL_KEY, 0, GENESIS_HASH, 'transfer', payload, timestamp])
}

function check(payload: CborValue): void {
  const block = signBlock({ publicKey: identity.publicKey, seq: 3, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: GENESIS_HASH, type: 'transfer', payload, timestamp: 1_700_000_000_000 }, identity)
  const bytes = encodeBlock(block)
  const expected = unsignedEncoding(payload, 1_700_000_000_000)
  assert.ok(equalBytes(bytes.subarray(0, bytes.length - 64), expected), `payload ${JSON.stringify(payload, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}`)
  assert.ok(equalBytes(bytes.subarray(bytes.length - 64), block.signature))
  const back = decodeBlock(bytes)
  assert.ok(equalBytes(encodeCanonical(back.payload), encodeCanonical(payload)))
}

const safeInt = fc.oneof(
  fc.integer({ min: -30, max: 30 }),
  fc.integer({ min: -70_000, max: 70_000 }),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.maxSafeNat(),
  fc.constantFrom(0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, -1, -24, -25, -256, -257, -(2 ** 32), -(2 ** 32) - 1, Number.MIN_SAFE_INTEGER),
)

test('a safe integer or an array of up to 30 of them: the codec\'s bytes', () => {
  fc.assert(fc.property(fc.oneof(safeInt, fc.array(safeInt, { maxLength: 30 })), (payload) => check(payload)), { numRuns: 400 })
})

test('values beside the fast path go through the codec and encode as it does', () => {
  for (const payload of [-0, [-0], [1, 2.5].slice(0, 1), [1, 'a'], [1, [2]], 2n ** 60n, [2n ** 60n, 1], Array.from({ length: 24 }, (_, i) => i), [], [true, null]] as CborValue[]) check(payload)
})

test.run()
