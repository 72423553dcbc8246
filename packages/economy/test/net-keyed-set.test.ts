/**
 * The witness's keyed set (net/keyed-set.ts) and report log (net/report-log.ts) keep their
 * elements in flat arrays and one packed buffer, not an object each. Checked against a plain Map
 * model over random operations: the same elements, hashes, kept bytes, digests at both levels,
 * pages of entries, and the report log's versions (the smaller encoding kept).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { compareBytes, nobleCrypto } from '@tally/core'
import { DIGEST_BYTES, KeyedSet, idOf } from '../src/net/keyed-set.ts'
import { ReportLog, reportKey } from '../src/net/report-log.ts'
import type { SignedReport } from '../src/report.ts'

const test = suite('keyed set')

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** The model's digests under a prefix (0 or 1 bytes), as the set computes them. */
function modelDigests(model: Map<string, { key: Uint8Array; hash: Uint8Array }>, prefix: Uint8Array): Uint8Array {
  const out = new Uint8Array(256 * DIGEST_BYTES)
  for (const { key, hash } of model.values()) {
    if (prefix.length === 1 && key[0] !== prefix[0]) continue
    const at = (prefix.length === 0 ? key[0]! : key[1]!) * DIGEST_BYTES
    for (let k = 0; k < DIGEST_BYTES; k++) out[at + k]! ^= hash[k]!
  }
  return out
}

// small key alphabet so that prefixes collide and pages fill
const key = fc.uint8Array({ minLength: 2, maxLength: 6 }).map((k) => {
  k[0] = k[0]! % 3
  k[1] = k[1]! % 3
  return k
})
const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key, hash: fc.uint8Array({ minLength: 16, maxLength: 16 }), bytes: fc.option(fc.uint8Array({ minLength: 1, maxLength: 40 }), { nil: undefined }) }),
  fc.record({ kind: fc.constant('delete' as const), key }),
)

test('random sets and deletes: same elements, hashes, bytes, digests and pages as a Map', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), fc.integer({ min: 1, max: 5 }), (ops, limit) => {
      const set = new KeyedSet()
      const model = new Map<string, { key: Uint8Array; hash: Uint8Array; bytes: Uint8Array | undefined }>()
      for (const o of ops) {
        if (o.kind === 'set') {
          if (o.bytes === undefined) set.set(o.key, o.hash)
          else set.setId(idOf(o.key), o.hash, o.bytes)
          const old = model.get(hex(o.key))
          model.set(hex(o.key), { key: o.key, hash: o.hash, bytes: o.bytes ?? old?.bytes })
        } else {
          set.delete(o.key)
          model.delete(hex(o.key))
        }
      }
      assert.is(set.size, model.size)
      for (const { key, hash, bytes } of model.values()) {
        assert.equal(set.get(key), hash)
        assert.ok(set.hasId(idOf(key)))
        assert.equal(set.bytesOf(idOf(key)), bytes)
      }
      assert.equal(set.digests(new Uint8Array(0)), modelDigests(model, new Uint8Array(0)))
      for (let b = 0; b < 3; b++) assert.equal(set.digests(Uint8Array.of(b)), modelDigests(model, Uint8Array.of(b)))
      assert.equal(set.root(nobleCrypto), nobleCrypto.sha256(modelDigests(model, new Uint8Array(0))))
      // every page of every prefix, by ascending key
      for (let b0 = 0; b0 < 3; b0++) {
        for (let b1 = 0; b1 < 3; b1++) {
          const want = [...model.values()].filter((e) => e.key[0] === b0 && e.key[1] === b1).sort((x, y) => compareBytes(x.key, y.key))
          const got: { key: Uint8Array; hash: Uint8Array }[] = []
          let after: Uint8Array | undefined
          for (;;) {
            const page = set.entries(Uint8Array.of(b0, b1), after, limit)
            got.push(...page.entries)
            if (!page.more) break
            after = page.entries[page.entries.length - 1]!.key
          }
          assert.equal(got.map((e) => [hex(e.key), hex(e.hash)]), want.map((e) => [hex(e.key), hex(e.hash)]))
        }
      }
      assert.equal(set.sortedIds().map((id) => hex(Uint8Array.from(id, (c) => c.charCodeAt(0)))), [...model.values()].sort((x, y) => compareBytes(x.key, y.key)).map((e) => hex(e.key)))
    }),
    { numRuns: 300 },
  )
})

// few keys, many operations: the same keys deleted and added again, so the set's open-addressing
// table fills with tombstones, reuses them and is rebuilt; checked against a Map after every step
const fewKeys = fc.uint8Array({ minLength: 2, maxLength: 3 }).map((k) => k.map((b) => b % 4))
const churn = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), key: fewKeys, hash: fc.uint8Array({ minLength: 16, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('set' as const), key: fewKeys, hash: fc.uint8Array({ minLength: 16, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), key: fewKeys }),
)

test('churn: deletes and re-adds of the same keys behave as a Map (membership, slots, order of values)', () => {
  fc.assert(
    fc.property(fc.array(churn, { minLength: 1, maxLength: 1500 }), (ops) => {
      const set = new KeyedSet()
      const model = new Map<string, Uint8Array>()
      for (const o of ops) {
        const id = idOf(o.key)
        if (o.kind === 'insert') {
          // insertId only for a key found absent, as its callers do
          if (set.slotOf(id) < 0) set.insertId(id, o.hash, o.key)
          else set.setId(id, o.hash, o.key)
          model.set(id, o.hash)
        } else if (o.kind === 'set') {
          set.set(o.key, o.hash)
          model.set(id, o.hash)
        } else {
          set.delete(o.key)
          model.delete(id)
        }
        assert.is(set.size, model.size)
        assert.is(set.hasId(id), model.has(id))
      }
      // a Map's keys keep insertion order, a key deleted and added again going last: so do values()
      assert.equal([...set.values()].map((e) => hex(e.key) + ':' + hex(e.hash)), [...model].map(([id, h]) => hex(Uint8Array.from(id, (c) => c.charCodeAt(0))) + ':' + hex(h)))
      for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) {
        const id = idOf(Uint8Array.of(a, b))
        assert.is(set.hasId(id), model.has(id))
        assert.is(set.slotOf(id) >= 0, model.has(id))
      }
    }),
    { numRuns: 200 },
  )
})

test('many keys: 50,000 report keys added, half deleted, re-added: every look-up as a Map', () => {
  const set = new KeyedSet()
  const model = new Map<string, Uint8Array>()
  const hash = new Uint8Array(16)
  for (let i = 0; i < 50_000; i++) {
    const key = reportKey(nobleCrypto.sha256(Uint8Array.of(i & 0xff, i >>> 8, i >>> 16)), i % 7)
    hash[0] = i & 0xff
    hash[1] = i >>> 8
    set.set(key, hash)
    model.set(idOf(key), hash.slice())
  }
  let i = 0
  for (const id of [...model.keys()]) if (i++ % 2 === 0) {
    set.delete(Uint8Array.from(id, (c) => c.charCodeAt(0)))
    model.delete(id)
  }
  assert.is(set.size, 25_000)
  for (const id of [...model.keys()].slice(0, 5_000)) {
    model.delete(id)
    model.set(id, new Uint8Array(16).fill(7))
    set.delete(Uint8Array.from(id, (c) => c.charCodeAt(0)))
    set.setId(id, new Uint8Array(16).fill(7))
  }
  assert.is(set.size, model.size)
  for (const [id, h] of model) assert.equal(set.get(Uint8Array.from(id, (c) => c.charCodeAt(0))), h)
  assert.not.ok(set.hasId(idOf(reportKey(new Uint8Array(32), 1))))
  assert.equal(set.sortedIds(), [...model.keys()].sort())
})

test('report log: versions of one (component, seq) keep the smaller encoding; views never change', () => {
  const component = new Uint8Array(32).fill(9)
  const report = (seq: number): SignedReport => ({ component, epoch: 0, seq, metrics: [1], body: new Uint8Array(0), signature: new Uint8Array(64) })
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ minLength: 1, maxLength: 12 })), { maxLength: 60 }), (adds) => {
      const log = new ReportLog(0, nobleCrypto)
      const model = new Map<number, Uint8Array>()
      const views: [Uint8Array, Uint8Array][] = []
      for (const [seq, bytes] of adds) {
        const held = model.get(seq)
        const result = log.add(report(seq), bytes)
        const expected = held === undefined ? 'added' : compareBytes(held, bytes) === 0 ? 'same' : compareBytes(held, bytes) < 0 ? 'kept' : 'replaced'
        assert.is(result, expected)
        if (expected === 'added' || expected === 'replaced') model.set(seq, bytes)
        const view = log.get(component, seq)!
        views.push([view, view.slice()])
      }
      assert.is(log.size, model.size)
      assert.is(log.countOf(component), model.size)
      for (const [seq, bytes] of model) {
        assert.equal(log.get(component, seq), bytes)
        assert.equal(log.item(reportKey(component, seq)), bytes)
        assert.equal(log.set.get(reportKey(component, seq)), nobleCrypto.sha256(bytes).subarray(0, DIGEST_BYTES))
      }
      assert.equal(log.sorted(), [...model].sort((a, b) => a[0] - b[0]).map(([, b]) => b))
      for (const [view, copy] of views) assert.equal(view, copy)
    }),
    { numRuns: 300 },
  )
})

test.run()
