// The hand-written canonical unsigned integers agree with the general codec, both ways.
import fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cborUintSize, encodeCanonical, readCborUint, toHex, writeCborHead, writeCborUint } from '@tally/core'

const uints = fc.oneof(fc.nat(30), fc.nat(0x1_0000), fc.nat(0xffff_ffff), fc.maxSafeNat(), fc.constantFrom(23, 24, 255, 256, 65535, 65536, 0xffff_ffff, 0x1_0000_0000, Number.MAX_SAFE_INTEGER))

test('write and size agree with encodeCanonical, and read gives the value back', () => {
  fc.assert(fc.property(uints, fc.nat(4), (n, at) => {
    const expected = encodeCanonical(n)
    assert.is(cborUintSize(n), expected.length)
    const out = new Uint8Array(at + 9)
    assert.is(writeCborUint(out, at, n), at + expected.length)
    assert.is(toHex(out.subarray(at, at + expected.length)), toHex(expected))
    assert.equal(readCborUint(out, at), [n, at + expected.length])
  }))
})

test('read refuses what is not a shortest-form safe integer, or is cut short', () => {
  for (const bytes of [[0x18, 5], [0x19, 0, 200], [0x1a, 0, 0, 0xff, 0xff], [0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], [0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0x19, 1], [0x20], []]) {
    assert.is(readCborUint(Uint8Array.from(bytes), 0), undefined, toHex(Uint8Array.from(bytes)))
  }
})

test('a head of bytes, text or an array is what encodeCanonical writes before the content', () => {
  fc.assert(fc.property(fc.oneof(fc.nat(30), fc.nat(300), fc.constantFrom(23, 24, 255, 256, 65535, 65536, 70000)), fc.nat(4), (n, at) => {
    for (const [major, value] of [[2, new Uint8Array(n)], [3, 'a'.repeat(n)], [4, new Array<number>(n).fill(0)]] as const) {
      const expected = encodeCanonical(value).subarray(0, cborUintSize(n))
      const out = new Uint8Array(at + 9)
      assert.is(writeCborHead(out, at, major, n), at + expected.length)
      assert.is(toHex(out.subarray(at, at + expected.length)), toHex(expected), `major ${major}, ${n}`)
    }
  }), { numRuns: 60 })
})

test.run()
