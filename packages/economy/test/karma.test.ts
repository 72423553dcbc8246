/**
 * Karma (FR1): per component the sum of its last n scores (n × the moving average), per owner the
 * sum over its active components; epochs recorded in order; a window change keeps what fits.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { createKarmaLedger } from '@tally/economy'
import { alice, bob, component, throwsLike, world } from './helpers.ts'

const Window = suite('karma: moving window')

Window('the window sum covers the last n epochs; missing epochs count 0', () => {
  const k = createKarmaLedger({ window: 3 })
  k.record(0, Uint32Array.of(1, 10))
  k.record(1, Uint32Array.of(2))
  k.record(2, Uint32Array.of(3, 30, 300))
  assert.equal([k.karma(0), k.karma(1), k.karma(2)], [6, 40, 300])
  k.record(3, Uint32Array.of(4, 0, 0))
  assert.equal([k.karma(0), k.karma(1), k.karma(2)], [9, 30, 300])
  assert.equal(k.history(0), [2, 3, 4])
  assert.is(k.average(0), 3)
  assert.is(k.lastEpoch, 3)
  assert.is(k.count, 3)
})

Window('epochs are recorded in order, none skipped or repeated', () => {
  const k = createKarmaLedger({ window: 2 })
  k.record(5, Uint32Array.of(1))
  throwsLike(() => k.record(5, Uint32Array.of(1)), RangeError, /expected 6/)
  throwsLike(() => k.record(7, Uint32Array.of(1)), RangeError, /expected 6/)
  throwsLike(() => createKarmaLedger({ window: 0 }), RangeError, /window/)
})

Window('a window change keeps the latest scores that fit', () => {
  const k = createKarmaLedger({ window: 4 })
  for (let e = 0; e < 6; e++) k.record(e, Uint32Array.of(e + 1))
  assert.equal(k.history(0), [3, 4, 5, 6])
  k.record(6, Uint32Array.of(7), 2)
  assert.equal(k.history(0), [6, 7])
  assert.is(k.karma(0), 13)
  k.record(7, Uint32Array.of(8), 3)
  assert.equal(k.history(0), [6, 7, 8])
  assert.is(k.karma(0), 21)
})

Window('property: equals a naive moving sum over random scores and windows', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { minLength: 0, maxLength: 5 }), { minLength: 1, maxLength: 15 }),
      (n, epochs) => {
        const k = createKarmaLedger({ window: n })
        epochs.forEach((scores, e) => k.record(e, Uint32Array.from(scores)))
        for (let c = 0; c < 5; c++) {
          const naive = epochs.slice(-n).reduce((s, scores) => s + (scores[c] ?? 0), 0)
          if (c < k.count && k.karma(c) !== naive) return false
        }
        return true
      },
    ),
  )
})

const Owners = suite('karma: owners')

Owners('an owner\'s karma is the sum over its active components', () => {
  const w = world([[alice, component(1)], [alice, component(2)], [bob, component(3)]])
  w.karma.record(0, Uint32Array.of(1, 2, 4))
  const t = w.directory.table()
  const byOwner = w.karma.ownerKarma(t)
  const ownerOf = (key: Uint8Array) => {
    for (let o = 0; o < t.ownerCount; o++) if (t.ownerKeys.subarray(o * 32, o * 32 + 32).every((b, i) => b === key[i])) return o
    return -1
  }
  assert.is(byOwner[ownerOf(alice.publicKey)], 3)
  assert.is(byOwner[ownerOf(bob.publicKey)], 4)
})

Window.run()
Owners.run()
