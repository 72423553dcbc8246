/**
 * Canonical CBOR (RFC 8949 §4.2.1): known encodings, what the encoder refuses, what the decoder
 * refuses, and the invariants: encode→decode is identity, and decode never throws anything but
 * DecodeError, whatever the bytes.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { DEFAULT_DECODE_LIMITS, DecodeError, decodeCanonical, encodeCanonical, fromHex, toHex } from '@tally/core'
import { throwsLike } from './helpers.ts'

const hex = (v: unknown): string => toHex(encodeCanonical(v))

/** Decode must fail with DecodeError (code ERR_DECODE), never with anything else. */
function rejects(bytes: Uint8Array | string, pattern?: RegExp, limits = DEFAULT_DECODE_LIMITS): void {
  const input = typeof bytes === 'string' ? fromHex(bytes) : bytes
  let thrown: unknown
  try {
    decodeCanonical(input, limits)
  } catch (err) {
    thrown = err
  }
  assert.ok(thrown instanceof DecodeError, `expected DecodeError for ${typeof bytes === 'string' ? bytes : `${input.length} bytes`}, got ${String(thrown)}`)
  assert.is((thrown as DecodeError).code, 'ERR_DECODE')
  if (pattern !== undefined) assert.match((thrown as Error).message, pattern)
}

// ## Known encodings

const Known = suite('cbor: known encodings')

// RFC 8949 Appendix A, the examples within the allowed value set (no floats, tags, undefined)
const RFC_8949_APPENDIX_A: [unknown, string][] = [
  [0, '00'],
  [1, '01'],
  [10, '0a'],
  [23, '17'],
  [24, '1818'],
  [25, '1819'],
  [100, '1864'],
  [1000, '1903e8'],
  [1000000, '1a000f4240'],
  [1000000000000, '1b000000e8d4a51000'],
  [18446744073709551615n, '1bffffffffffffffff'],
  [-1, '20'],
  [-10, '29'],
  [-100, '3863'],
  [-1000, '3903e7'],
  [false, 'f4'],
  [true, 'f5'],
  [null, 'f6'],
  [new Uint8Array(0), '40'],
  [new Uint8Array([1, 2, 3, 4]), '4401020304'],
  ['', '60'],
  ['a', '6161'],
  ['IETF', '6449455446'],
  ['"\\', '62225c'],
  ['\u00fc', '62c3bc'],
  ['\u6c34', '63e6b0b4'],
  ['\ud800\udd51', '64f0908591'],
  [[], '80'],
  [[1, 2, 3], '83010203'],
  [[1, [2, 3], [4, 5]], '8301820203820405'],
  [Array.from({ length: 25 }, (_, i) => i + 1), '98190102030405060708090a0b0c0d0e0f101112131415161718181819'],
  [{}, 'a0'],
  [{ a: 1, b: [2, 3] }, 'a26161016162820203'],
  [['a', { b: 'c' }], '826161a161626163'],
  [{ a: 'A', b: 'B', c: 'C', d: 'D', e: 'E' }, 'a56161614161626142616361436164614461656145'],
]

Known('RFC 8949 Appendix A examples encode to the listed bytes', () => {
  for (const [value, expected] of RFC_8949_APPENDIX_A) assert.is(hex(value), expected, `encoding of ${String(value)}`)
})

Known('RFC 8949 Appendix A examples decode to values that re-encode to the same bytes', () => {
  for (const [, expected] of RFC_8949_APPENDIX_A) assert.is(toHex(encodeCanonical(decodeCanonical(fromHex(expected)))), expected)
})

Known('integers take the shortest head at every width boundary', () => {
  const cases: [number, string][] = [
    [255, '18ff'],
    [256, '190100'],
    [65535, '19ffff'],
    [65536, '1a00010000'],
    [2 ** 32 - 1, '1affffffff'],
    [-24, '37'],
    [-25, '3818'],
    [-256, '38ff'],
    [-257, '390100'],
    [-(2 ** 32), '3affffffff'],
  ]
  for (const [n, expected] of cases) assert.is(hex(n), expected, `encoding of ${n}`)
})

Known('numbers from 2^32 up to 2^53-1 are 9-byte integers, never float64', () => {
  assert.is(hex(2 ** 32), '1b0000000100000000')
  assert.is(hex(2 ** 53 - 1), '1b001fffffffffffff')
  assert.is(hex(-(2 ** 32) - 1), '3b0000000100000000')
  assert.is(hex(-(2 ** 53 - 1)), '3b001ffffffffffffe')
  assert.is(hex(Date.UTC(2025, 0, 1)), '1b000001941f297c00') // a millisecond timestamp
})

Known('bigints beyond 2^53 are 9-byte integers; small bigints take the shortest head', () => {
  assert.is(hex(2n ** 53n), '1b0020000000000000')
  assert.is(hex(2n ** 63n), '1b8000000000000000')
  assert.is(hex(-(2n ** 53n) - 1n), '3b0020000000000000')
  assert.is(hex(-(2n ** 64n) + 1n), '3bfffffffffffffffe')
  assert.is(hex(1n), '01')
  assert.is(hex(-1n), '20')
  assert.is(hex(2n ** 32n), '1b0000000100000000')
  assert.is(hex(65536n), '1a00010000')
})

Known('decoding gives numbers up to 2^53-1 and bigints beyond', () => {
  assert.is(decodeCanonical(fromHex('1b001fffffffffffff')), 2 ** 53 - 1)
  assert.is(decodeCanonical(fromHex('3b001ffffffffffffe')), -(2 ** 53 - 1))
  assert.is(decodeCanonical(fromHex('1b0020000000000000')), 2n ** 53n)
  assert.is(decodeCanonical(fromHex('1bffffffffffffffff')), 2n ** 64n - 1n)
  assert.is(decodeCanonical(fromHex('3b0020000000000000')), -(2n ** 53n) - 1n)
})

Known('byte strings decode as plain Uint8Array copies, not views of the input', () => {
  const input = fromHex('4401020304')
  const out = decodeCanonical(input) as Uint8Array
  assert.is(Object.getPrototypeOf(out), Uint8Array.prototype)
  assert.is(toHex(out), '01020304')
  input[1] = 0xff
  assert.is(toHex(out), '01020304')
})

Known('a Uint8Array view with an offset encodes only its own bytes', () => {
  const big = fromHex('00112233445566')
  assert.is(hex(big.subarray(2, 5)), '43223344')
})

// ## Map key order

Known.run()

const Keys = suite('cbor: map keys in canonical order')

Keys('shorter keys sort first: {"b":1,"aa":2} → a2 6162 01 626161 02', () => {
  assert.is(hex({ b: 1, aa: 2 }), 'a261620162616102')
  assert.is(hex({ aa: 2, b: 1 }), 'a261620162616102')
})

Keys('integer-like keys are ordinary text: "2" < "a" < "10" (length first, then bytes)', () => {
  // JS enumerates integer-like keys first ("2", "10", then "a"); RFC 8949 order is by encoded bytes
  assert.is(hex({ a: 2, 10: 1, 2: 3 }), 'a361320361610262313001')
})

Keys('a Map is encoded like the object with the same entries, whatever its insertion order', () => {
  assert.is(hex(new Map([['b', 1], ['a', 2]])), 'a2616102616201')
  assert.is(hex(new Map([['b', 1], ['a', 2]])), hex({ a: 2, b: 1 }))
})

Keys('keys compare by UTF-8 bytes, not UTF-16 code units', () => {
  // both keys are 5 UTF-8 bytes: 61 ef bf bf 62 < 61 f0 90 80 80, while JS string order says the reverse
  const k1 = 'a\uffffb'
  const k2 = 'a\u{10000}'
  assert.ok(k2 < k1, 'precondition: UTF-16 order puts the astral key first')
  const bytes = hex({ [k2]: 2, [k1]: 1 })
  assert.is(bytes, 'a265' + '61efbfbf62' + '01' + '65' + '61f0908080' + '02')
})

Keys('length headers sort across widths: a 23-byte key before a 24-byte key, 255 before 256', () => {
  const k23 = 'z'.repeat(23)
  const k24 = 'a'.repeat(24)
  assert.ok(hex({ [k24]: 1, [k23]: 2 }).startsWith('a277' + toHex(new TextEncoder().encode(k23))))
  const k255 = 'z'.repeat(255)
  const k256 = 'a'.repeat(256)
  assert.ok(hex({ [k256]: 1, [k255]: 2 }).startsWith('a278ff'))
})

Keys('nested maps are sorted too', () => {
  assert.is(hex([{ bb: { y: 1, x: 2 }, c: 0 }]), '81a2616300626262a2617802617901')
})

Keys.run()

// ## What the encoder refuses

const Refuse = suite('cbor: the encoder refuses values outside the allowed set')

Refuse('floats and non-finite numbers are refused with TypeError', () => {
  for (const n of [1.5, -0.25, Number.NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53), 1e300]) {
    throwsLike(() => encodeCanonical(n), TypeError, /float|safe integer/)
    throwsLike(() => encodeCanonical({ amount: n }), TypeError, /value\.amount/)
  }
})

Refuse('undefined, symbols, functions, Dates, Sets, class instances and other typed arrays are refused with TypeError', () => {
  class Point {
    x = 1
  }
  const bad: unknown[] = [undefined, Symbol('s'), () => 1, new Date(0), new Set([1]), new Point(), new Int8Array(2), new Uint16Array(1), new ArrayBuffer(2), /re/, new Map([[1, 'a']])]
  for (const v of bad) {
    throwsLike(() => encodeCanonical(v), TypeError)
    throwsLike(() => encodeCanonical([1, { k: v }]), TypeError, /\.k\b/)
  }
})

Refuse('an object holding undefined is refused, not silently dropped', () => {
  throwsLike(() => encodeCanonical({ a: 1, b: undefined }), TypeError, /value\.b/)
})

Refuse('a sparse array is refused: its holes would be written as CBOR undefined (f7)', () => {
  // eslint-disable-next-line no-sparse-arrays
  throwsLike(() => encodeCanonical([, 1]), TypeError)
  throwsLike(() => encodeCanonical(new Array(3)), TypeError)
})

Refuse('integers outside the CBOR 64-bit range are refused with RangeError', () => {
  throwsLike(() => encodeCanonical(2n ** 64n), RangeError)
  throwsLike(() => encodeCanonical(-(2n ** 64n) - 1n), RangeError)
})

Refuse('-2^64 is refused rather than written as a tag-3 bignum (cbor-x cannot write 3bffffffffffffffff)', () => {
  let out: string | undefined
  try {
    out = hex(-(2n ** 64n))
  } catch (err) {
    assert.instance(err, RangeError)
  }
  // either refused, or written as RFC 8949 writes it: never as a tag
  if (out !== undefined) assert.is(out, '3bffffffffffffffff')
})

Refuse('strings with a lone surrogate are refused: they have no UTF-8 encoding', () => {
  throwsLike(() => encodeCanonical('\ud800'), TypeError, /surrogate/)
  throwsLike(() => encodeCanonical({ ['\udc00']: 1 }), TypeError)
})

Refuse('nesting deeper than 64 is refused with RangeError', () => {
  let v: unknown = 0
  for (let i = 0; i < 65; i++) v = [v]
  throwsLike(() => encodeCanonical(v), RangeError, /nesting/)
})

Refuse('a "__proto__" key is either refused or decodes back to itself (never encodes to bytes nobody can decode)', () => {
  const v = JSON.parse('{"__proto__": 1, "a": 2}') as unknown // JSON.parse makes an own "__proto__" property
  let bytes: Uint8Array | undefined
  try {
    bytes = encodeCanonical(v)
  } catch (err) {
    assert.instance(err, TypeError)
  }
  if (bytes !== undefined) assert.is(toHex(encodeCanonical(decodeCanonical(bytes))), toHex(bytes))
})

Refuse('non-Uint8Array input to decodeCanonical is a TypeError naming "bytes"', () => {
  for (const v of [undefined, null, '00', [0], new ArrayBuffer(1), new Uint16Array(1), 0]) {
    throwsLike(() => decodeCanonical(v as unknown as Uint8Array), TypeError, /"bytes"/)
  }
})

Refuse.run()

// ## What the decoder refuses

const Decode = suite('cbor: the decoder accepts only canonical encodings')

Decode('non-shortest integers are refused (1800, 190017, 1a00000017, 1b0000000000000017, 3800)', () => {
  for (const h of ['1800', '1817', '190017', '1900ff', '1a00000017', '1a0000ffff', '1b0000000000000017', '1b00000000ffffffff', '3800', '390017']) rejects(h)
})

Decode('non-shortest lengths of strings, arrays and maps are refused', () => {
  // text "a", bytes 4a, array [1], map {"a": 1}, each with a 1-byte length where the head would do
  for (const h of ['780161', '58014a', '980101', 'b801616101']) rejects(h)
})

Decode('unsorted map keys are refused ({"b":..,"a":..} and {"aa":..,"b":..})', () => {
  rejects('a2616201616102')
  rejects('a262616102616201')
})

Decode('duplicate map keys are refused', () => {
  rejects('a2616101616101')
  rejects('a2616101616102')
})

Decode('non-text map keys are refused', () => {
  rejects('a1016161')
  rejects('a1416101')
})

Decode('floats are refused, even integral ones (f9, fa, fb)', () => {
  for (const h of ['f93c00', 'f90000', 'fa47c35000', 'fb3ff199999999999a', 'fb4000000000000000', 'f97e00', 'f97c00']) rejects(h)
})

Decode('tags are refused (c0, c1, bignums c2/c3, self-describe, shared refs, typed arrays, sets)', () => {
  for (const h of ['c074323031332d30332d32315432303a30343a30305a', 'c11a514b67b0', 'c24101', 'c349010000000000000000', 'd9d9f701', 'd81c8101', 'd84044010203', 'd9010281a0', 'c348ffffffffffffffff']) rejects(h)
})

Decode('simple values other than false/true/null are refused (undefined, simple(16), reserved)', () => {
  for (const h of ['f7', 'f0', 'f820', 'f8ff', 'fc', 'e0']) rejects(h)
})

Decode('indefinite lengths are refused (arrays, maps, byte and text strings, a lone break)', () => {
  for (const h of ['9f01ff', '9fff', 'bf616101ff', '5f4101ff', '7f6161ff', 'ff', '1c', '1f']) rejects(h)
})

Decode('trailing bytes are refused', () => {
  rejects('0000')
  rejects('a0a0')
  rejects('8101ff')
})

Decode('empty input is refused', () => {
  rejects(new Uint8Array(0), /empty/)
})

Decode('input over the size limit is refused before parsing', () => {
  rejects(new Uint8Array(DEFAULT_DECODE_LIMITS.maxBytes + 1), /exceeds/)
  rejects(fromHex('4401020304'), /exceeds/, { maxBytes: 4, maxDepth: 32 })
  assert.is(toHex(decodeCanonical(fromHex('4401020304'), { maxBytes: 5, maxDepth: 32 }) as Uint8Array), '01020304')
})

Decode('nesting beyond the limit is refused; nesting at the limit is accepted', () => {
  const nest = (n: number): unknown => {
    let v: unknown = 0
    for (let i = 0; i < n; i++) v = [v]
    return v
  }
  const at = encodeCanonical(nest(DEFAULT_DECODE_LIMITS.maxDepth))
  assert.is(toHex(encodeCanonical(decodeCanonical(at))), toHex(at))
  rejects(encodeCanonical(nest(DEFAULT_DECODE_LIMITS.maxDepth + 1)), /nesting/)
  rejects(encodeCanonical({ a: { b: { c: 1 } } }), /nesting/, { maxBytes: 1024, maxDepth: 2 })
  // 100 000 nested array heads: must not escape as a stack overflow
  rejects(new Uint8Array(100_000).fill(0x81))
  rejects(new Uint8Array(100_000).fill(0xa1))
})

Decode('a huge length header with no data behind it is refused quickly', () => {
  const t0 = performance.now()
  for (const h of ['9a06b00000', '9affffffff', '9bffffffffffffffff', 'baffffffff', 'bbffffffffffffffff', '5a7fffffff61', '7a7fffffff61', '7bffffffffffffffff']) rejects(h)
  assert.ok(performance.now() - t0 < 1000, 'took more than a second')
})

Decode('truncated data is refused', () => {
  for (const h of ['19', '1a0000', '1b00000000000001', '62', '6261', '4401', '82', '8201', 'a1', 'a16161', 'd8']) rejects(h)
})

Decode('invalid UTF-8 in text is refused (bad continuation, surrogate, overlong, truncated)', () => {
  for (const h of ['62c328', '63eda080', '62c0af', '61ff', '61c3', '64f4908080']) rejects(h)
})

Decode('integers beyond 2^53 written as 9-byte ints decode as bigint; -2^64 is not accepted as a tag', () => {
  assert.is(decodeCanonical(fromHex('3bfffffffffffffffe')), -(2n ** 64n) + 1n)
  rejects('c348ffffffffffffffff')
})

Decode.run()

// ## Invariants (fast-check)

const Props = suite('cbor: properties')

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/** Every value kind the encoder accepts, nested. */
const { value: cborValue } = fc.letrec<{ value: unknown; leaf: unknown; array: unknown[]; object: Record<string, unknown> }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 4 }, tie('leaf'), tie('array'), tie('object')),
  leaf: fc.oneof(
    fc.maxSafeInteger(),
    fc.integer(),
    fc.constantFrom(0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -24, -25, -(2 ** 32), -(2 ** 32) - 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER),
    fc.bigInt({ min: MAX_SAFE + 1n, max: 2n ** 64n - 1n }),
    fc.bigInt({ min: -(2n ** 64n) + 1n, max: -MAX_SAFE - 1n }),
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.uint8Array({ maxLength: 40 }),
    fc.boolean(),
    fc.constant(null),
  ),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), tie('value'), { maxKeys: 5 }),
}))

Props('encode → decode → encode gives the same bytes for every allowed value', () => {
  fc.assert(
    fc.property(cborValue, (v) => {
      const bytes = encodeCanonical(v)
      const again = encodeCanonical(decodeCanonical(bytes))
      return toHex(again) === toHex(bytes)
    }),
    { numRuns: 1000 },
  )
})

/** What decoding `v` should give: plain objects, bigints within ±(2^53 - 1) as numbers. */
function expectedDecoding(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v
  if (Array.isArray(v)) return v.map(expectedDecoding)
  if (v instanceof Uint8Array || v === null || typeof v !== 'object') return v
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expectedDecoding(x)]))
}

Props('decode(encode(v)) is v itself (same structure, strings, bytes and integers)', () => {
  fc.assert(
    fc.property(cborValue, (v) => {
      assert.equal(decodeCanonical(encodeCanonical(v)), expectedDecoding(v))
    }),
    { numRuns: 500 },
  )
})

Props('the encoder never writes bytes the decoder refuses: for any JS value, encode throws TypeError/RangeError or round-trips', () => {
  const anything = fc.anything({
    maxDepth: 3,
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withNullPrototype: true,
    withObjectString: true,
    withSet: true,
    withSparseArray: true,
    withTypedArray: true,
    stringUnit: 'binary',
    key: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', '\ud800', 'toString')),
  })
  fc.assert(
    fc.property(anything, (v) => {
      let bytes: Uint8Array
      try {
        bytes = encodeCanonical(v)
      } catch (err) {
        return err instanceof TypeError || err instanceof RangeError
      }
      return toHex(encodeCanonical(decodeCanonical(bytes))) === toHex(bytes)
    }),
    { numRuns: 2000 },
  )
})

Props('encoding ignores object key insertion order', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), fc.integer(), { maxKeys: 8 }), (obj) => {
      const reversed = Object.fromEntries(Object.entries(obj).reverse())
      return hex(obj) === hex(reversed) && hex(obj) === hex(new Map(Object.entries(obj)))
    }),
    { numRuns: 300 },
  )
})

Props('integers: a number and the bigint of the same value encode identically and decode to the same value', () => {
  fc.assert(
    fc.property(fc.maxSafeInteger(), (n) => {
      const bytes = encodeCanonical(n)
      return hex(BigInt(n)) === toHex(bytes) && decodeCanonical(bytes) === n
    }),
    { numRuns: 500 },
  )
})

/** The decoder's contract on one input: a value whose encoding is exactly the input, or DecodeError. */
function decodesCanonicallyOrRefuses(bytes: Uint8Array): boolean {
  let value: unknown
  try {
    value = decodeCanonical(bytes)
  } catch (err) {
    if (err instanceof DecodeError) return true
    throw err
  }
  return toHex(encodeCanonical(value)) === toHex(bytes)
}

Props('random bytes: either a value that re-encodes to exactly those bytes, or DecodeError', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 48 }), decodesCanonicallyOrRefuses), { numRuns: 3000 })
})

Props('random bytes behind a plausible head byte: the same contract', () => {
  // steer the first byte towards containers and multi-byte heads, where parsers go wrong
  const head = fc.constantFrom(0x18, 0x19, 0x1a, 0x1b, 0x38, 0x3b, 0x58, 0x5a, 0x78, 0x7b, 0x81, 0x82, 0x98, 0x9a, 0x9f, 0xa1, 0xa2, 0xb8, 0xbf, 0xc2, 0xd8, 0xf9, 0xfb)
  fc.assert(
    fc.property(head, fc.uint8Array({ maxLength: 24 }), (h, rest) => decodesCanonicallyOrRefuses(Uint8Array.of(h, ...rest))),
    { numRuns: 2000 },
  )
})

Props('mutated valid encodings (bit flip, insert, delete, truncate): the same contract', () => {
  const mutation = fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  )
  fc.assert(
    fc.property(cborValue, fc.array(mutation, { minLength: 1, maxLength: 3 }), (v, ms) => {
      let bytes = Array.from(encodeCanonical(v))
      for (const m of ms) {
        const at = bytes.length === 0 ? 0 : m.at % bytes.length
        if (m.op === 'flip' && bytes.length > 0) bytes[at] = bytes[at]! ^ (1 << m.bit)
        else if (m.op === 'set' && bytes.length > 0) bytes[at] = m.byte
        else if (m.op === 'insert') bytes.splice(at, 0, m.byte)
        else if (m.op === 'delete') bytes.splice(at, 1)
        else if (m.op === 'truncate') bytes = bytes.slice(0, at)
      }
      return decodesCanonicallyOrRefuses(Uint8Array.from(bytes))
    }),
    { numRuns: 2000 },
  )
})

Props('appending any byte to a valid encoding is refused (trailing data)', () => {
  fc.assert(
    fc.property(cborValue, fc.integer({ min: 0, max: 255 }), (v, b) => {
      const bytes = Uint8Array.of(...encodeCanonical(v), b)
      try {
        decodeCanonical(bytes)
        return false
      } catch (err) {
        return err instanceof DecodeError
      }
    }),
    { numRuns: 500 },
  )
})

Props.run()
