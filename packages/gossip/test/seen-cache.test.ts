// The seen cache: bounded by `max`, ids expire after `ttlMs` on the given clock, and step by step
// the same answers as the lru-cache configuration it replaced (the model, below).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { LRUCache } from 'lru-cache'
import type { Clock } from '@tally/core'
import { createSeenCache } from '../src/wire/seen-cache.js'

const test = suite('seen-cache')
const id = (n: number): Uint8Array => Uint8Array.of(n & 0xff, n >> 8)
/** A clock the test moves by hand (the cache only reads it). */
const manualClock = (t: number): Clock & { t: number } => ({
  t,
  now() {
    return this.t
  },
  setTimeout: () => {
    throw new Error('the seen cache sets no timers')
  },
  clearTimeout: () => undefined,
})

test('an id is new once; the oldest is forgotten first, and has() does not keep one', () => {
  const seen = createSeenCache({ max: 3 })
  assert.is(seen.add(id(1)), true)
  assert.is(seen.add(id(1)), false)
  seen.add(id(2))
  seen.add(id(3))
  assert.is(seen.has(id(1)), true) // looked at, not used
  seen.add(id(4))
  assert.is(seen.size, 3)
  assert.is(seen.has(id(1)), false)
  assert.is(seen.add(id(1)), true)
  assert.is(seen.has(id(2)), false)
  seen.delete(id(3))
  assert.is(seen.has(id(3)), false)
  seen.clear()
  assert.is(seen.size, 0)
})

test('ids expire after ttlMs on the given clock, and are new again', () => {
  const clock = manualClock(1000)
  const seen = createSeenCache({ ttlMs: 100, clock })
  seen.add(id(1))
  clock.t += 50
  seen.add(id(2))
  clock.t += 50 // id 1 is 100 ms old: still held
  assert.is(seen.has(id(1)), true)
  clock.t += 1
  assert.is(seen.has(id(1)), false)
  assert.is(seen.has(id(2)), true)
  assert.is(seen.add(id(3)), true)
  assert.is(seen.size, 2) // id 1 went when id 3 came
  assert.is(seen.add(id(1)), true)
  clock.t += 60
  assert.is(seen.has(id(2)), false)
  assert.is(seen.has(id(1)), true)
})

test('bad arguments are refused by name', () => {
  assert.throws(() => createSeenCache({ max: 0 }), (e: unknown) => e instanceof RangeError && /"max"/.test((e as Error).message))
  assert.throws(() => createSeenCache({ ttlMs: -1 }), (e: unknown) => e instanceof RangeError && /"ttlMs"/.test((e as Error).message))
  const seen = createSeenCache()
  assert.throws(() => seen.add(new Uint8Array(0)), RangeError)
  assert.throws(() => seen.add(new Uint8Array(65)), RangeError)
  assert.throws(() => seen.has('x' as unknown as Uint8Array), TypeError)
})

type Op = { op: 'add' | 'has' | 'delete'; n: number } | { op: 'tick'; ms: number } | { op: 'clear' }
const ops = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constantFrom('add' as const, 'has' as const, 'delete' as const), n: fc.integer({ min: 0, max: 12 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 40 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
  ),
  { maxLength: 120 },
)

test('property: the same answers as the lru-cache configuration it replaced', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }), ops, (max, ttlMs, steps: Op[]) => {
      // the clock starts above 0: lru-cache takes a start time of 0 for "no expiry"
      const clock = manualClock(1)
      const seen = createSeenCache({ max, ...(ttlMs !== undefined ? { ttlMs, clock } : { clock }) })
      const model = new LRUCache<string, true>({ max, ...(ttlMs !== undefined ? { ttl: ttlMs } : {}), ttlResolution: 0, perf: { now: () => clock.now() } })
      const add = (k: string): boolean => {
        if (model.has(k)) return false
        model.set(k, true)
        return true
      }
      for (const s of steps) {
        if (s.op === 'tick') clock.t += s.ms
        else if (s.op === 'clear') {
          seen.clear()
          model.clear()
        } else if (s.op === 'add') assert.is(seen.add(id(s.n)), add(String(s.n)), `add ${s.n}`)
        else if (s.op === 'has') assert.is(seen.has(id(s.n)), model.has(String(s.n)), `has ${s.n}`)
        else {
          seen.delete(id(s.n))
          model.delete(String(s.n))
        }
        if (ttlMs === undefined) assert.is(seen.size, model.size)
        else assert.ok(seen.size <= max)
      }
    }),
    { numRuns: 500 },
  )
})

test.run()
