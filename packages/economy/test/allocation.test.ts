/**
 * Issuance (FR2): the fixed reward split in proportion to karma, in integers, by largest
 * remainder with ties to the earlier row (the smaller owner key) — exactly the fixed amount.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { allocate } from '@tally/economy'
import { throwsLike } from './helpers.ts'

const Allocate = suite('allocation: largest remainder')

Allocate('proportional when it divides exactly', () => {
  assert.equal([...allocate(100, [1, 3])], [25, 75])
  assert.equal([...allocate(0, [1, 3])], [0, 0])
})

Allocate('left-over units go to the largest remainders', () => {
  // 10 × [5, 3, 2] / 10 exact; 7 × [5, 3, 2] / 10 = [3.5, 2.1, 1.4] → floors [3, 2, 1], one unit to 0.5
  assert.equal([...allocate(7, [5, 3, 2])], [4, 2, 1])
  // 100 × [1, 1, 1] / 3 = 33.33 each: one unit left, ties go to the first row
  assert.equal([...allocate(100, [1, 1, 1])], [34, 33, 33])
  assert.equal([...allocate(2, [1, 1, 1])], [1, 1, 0])
})

Allocate('nobody with karma: nothing allocated; zero karma gets nothing', () => {
  assert.equal([...allocate(1_000, [0, 0])], [0, 0])
  assert.equal([...allocate(1_000, [])], [])
  assert.equal([...allocate(10, [0, 1, 0])], [0, 10, 0])
})

Allocate('products beyond 2^53 are exact (bigint)', () => {
  const R = Number.MAX_SAFE_INTEGER
  const a = allocate(R, [2 ** 40, 2 ** 40 + 1, 3])
  assert.is(a.reduce((s, x) => s + x, 0), R)
  const expected = (BigInt(R) * BigInt(2 ** 40)) / BigInt(2 ** 41 + 4)
  assert.ok(BigInt(a[0]!) - expected <= 1n && BigInt(a[0]!) >= expected)
})

Allocate('bad inputs are refused', () => {
  throwsLike(() => allocate(1.5, [1]), RangeError, /total/)
  throwsLike(() => allocate(-1, [1]), RangeError, /total/)
  throwsLike(() => allocate(1, [0.5]), RangeError, /karma\[0\]/)
  throwsLike(() => allocate(1, [-1]), RangeError, /karma\[0\]/)
  throwsLike(() => allocate(1, [Number.MAX_SAFE_INTEGER, 1]), RangeError, /2\^53/)
  throwsLike(() => allocate(1, null as never), TypeError)
})

const Properties = suite('allocation: properties')

const karmas = fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { maxLength: 60 })
const totals = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })

Properties('exactly the fixed amount is allocated whenever someone has karma', () => {
  fc.assert(
    fc.property(totals, karmas, (total, karma) => {
      const sum = allocate(total, karma).reduce((s, x) => s + x, 0)
      return karma.some((k) => k > 0) ? sum === total : sum === 0
    }),
  )
})

Properties('each share is its exact quota rounded down or up, never further', () => {
  fc.assert(
    fc.property(totals, karmas, (total, karma) => {
      const K = BigInt(karma.reduce((s, k) => s + k, 0))
      if (K === 0n) return true
      const a = allocate(total, karma)
      return karma.every((k, i) => {
        const floor = (BigInt(total) * BigInt(k)) / K
        const got = BigInt(a[i]!)
        return got === floor || got === floor + 1n
      })
    }),
  )
})

Properties('the remainder rule is Hamilton\'s: every unit bumped beats every unit not bumped', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10_000 }), fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 30 }), (total, karma) => {
      const K = karma.reduce((s, k) => s + k, 0)
      if (K === 0) return true
      const a = allocate(total, karma)
      const rem = karma.map((k) => (total * k) % K)
      const bumped = karma.map((k, i) => a[i]! > Math.floor((total * k) / K))
      for (let i = 0; i < karma.length; i++) {
        for (let j = 0; j < karma.length; j++) {
          if (bumped[i] && !bumped[j] && karma[j]! > 0 && (rem[i]! < rem[j]! || (rem[i] === rem[j] && i > j))) return false
        }
      }
      return true
    }),
  )
})

Properties('deterministic: the same input gives the same table', () => {
  fc.assert(fc.property(totals, karmas, (total, karma) => allocate(total, karma).every((x, i) => x === allocate(total, karma)[i])), { numRuns: 30 })
})

Allocate.run()
Properties.run()
