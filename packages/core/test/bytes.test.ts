/**
 * Hex, the string form of keys and hashes (map keys everywhere): toHex against a reference on any
 * bytes, including lengths past its scratch buffer, and fromHex as its inverse.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { fromHex, toHex } from '@tally/core'

const reference = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

test('toHex writes two lowercase digits a byte, for every byte value', () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i)
  assert.is(toHex(all), reference(all))
  assert.is(toHex(new Uint8Array(0)), '')
  assert.is(toHex(Uint8Array.of(0, 1, 15, 16, 171, 255)), '00010f10abff')
})

test('toHex of any bytes (up to 300) is the reference hex, and fromHex reads it back', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const hex = toHex(bytes)
      assert.is(hex, reference(bytes))
      assert.equal(fromHex(hex), bytes)
    }),
    { numRuns: 500 },
  )
})

test('toHex of a view hexes only the view, and consecutive calls do not share output', () => {
  const bytes = Uint8Array.from({ length: 96 }, (_, i) => i)
  const first = toHex(bytes.subarray(32, 64))
  const second = toHex(bytes.subarray(0, 2))
  assert.is(first, reference(bytes.subarray(32, 64)))
  assert.is(second, '0001')
})

test.run()
