/**
 * decodeReport reads the report layout by hand (a witness decodes thousands a second); the general
 * canonical decoder (decodeReportSlow) is the reference. For every input — valid reports, every
 * uint width, mutated and truncated ones, random bytes, non-canonical encodings — both accept
 * the same bytes with the same fields, or both refuse them.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { DecodeError, concatBytes, encodeCanonical } from '@tally/core'
import { decodeReport, decodeReportSlow, readReportBody, type SignedReport } from '../src/report.ts'

const test = suite('report decode')

type Outcome = { ok: true; report: SignedReport } | { ok: false; error: unknown }

function outcome(fn: () => SignedReport): Outcome {
  try {
    return { ok: true, report: fn() }
  } catch (error) {
    return { ok: false, error }
  }
}

/** Both decoders agree on `bytes`: same fields, or both refuse with DecodeError (or the same TypeError). */
function agree(bytes: Uint8Array): void {
  const fast = outcome(() => decodeReport(bytes))
  const slow = outcome(() => {
    // decodeReport's own length checks come first in both
    if (bytes.length > 256 || bytes.length <= 64) return decodeReport(bytes)
    return decodeReportSlow(bytes)
  })
  assert.is(fast.ok, slow.ok, `accept/refuse differs on ${Buffer.from(bytes).toString('hex')}`)
  // the hand-read layout takes every report the general decoder takes (it is not a fallback that never runs)
  if (bytes.length > 64 && bytes.length <= 256) assert.is(readReportBody(bytes.subarray(0, bytes.length - 64)) !== undefined, slow.ok, 'the hand-read layout and the general decoder differ')
  if (fast.ok && slow.ok) {
    const [a, b] = [fast.report, slow.report]
    assert.equal(a.component, b.component)
    assert.is(a.epoch, b.epoch)
    assert.is(a.seq, b.seq)
    assert.equal([...a.metrics], [...b.metrics])
    assert.equal(a.body, b.body)
    assert.equal(a.signature, b.signature)
    assert.ok(Object.isFrozen(a) && Object.isFrozen(a.metrics))
    // copies, never views of the caller's buffer (a witness keeps them after the frame is gone)
    assert.is.not(a.body.buffer, bytes.buffer)
    assert.is.not(a.component.buffer, bytes.buffer)
  }
  if (!fast.ok && !slow.ok) {
    assert.ok(fast.error instanceof DecodeError, String(fast.error))
    assert.ok(slow.error instanceof DecodeError, String(slow.error))
    assert.is((fast.error as Error).message, (slow.error as Error).message)
  }
}

const uint = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 0x1_0000 }), fc.integer({ min: 0, max: 0xffff_ffff }), fc.maxSafeNat())
const body = fc.record({
  component: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  epoch: uint,
  seq: uint,
  metrics: fc.array(uint, { minLength: 0, maxLength: 10 }),
})
const signature = fc.uint8Array({ minLength: 64, maxLength: 64 })
const report = fc.tuple(body, signature).map(([b, s]) => concatBytes(encodeCanonical([b.component, b.epoch, b.seq, b.metrics]), s))

test('valid and out-of-range reports: both decoders agree', () => {
  let valid = 0
  fc.assert(
    fc.property(report, (bytes) => {
      agree(bytes)
      if (readReportBody(bytes.subarray(0, bytes.length - 64)) !== undefined) valid++
    }),
    { numRuns: 3000 },
  )
  assert.ok(valid > 500, `only ${valid} valid reports generated`)
})

test('mutated, truncated and extended reports: both decoders agree', () => {
  const mutation = fc.tuple(report, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.integer({ min: -8, max: 8 }))
  fc.assert(
    fc.property(mutation, ([bytes, edits, cut]) => {
      const body = bytes.slice(0, bytes.length - 64)
      for (const [at, v] of edits) body[at % body.length] = v
      const cutBody = cut < 0 ? body.subarray(0, Math.max(0, body.length + cut)) : concatBytes(body, new Uint8Array(cut).fill(cut))
      agree(concatBytes(cutBody, bytes.subarray(bytes.length - 64)))
    }),
    { numRuns: 5000 },
  )
})

test('random bytes: both decoders agree', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 60, maxLength: 300 }), (bytes) => agree(bytes)), { numRuns: 3000 })
})

test('non-canonical encodings of a valid report are refused by both', () => {
  const sig = new Uint8Array(64).fill(7)
  const key = new Uint8Array(32).fill(1)
  const head = Uint8Array.of(0x84, 0x58, 0x20, ...key)
  const cases: number[][] = [
    [0x18, 5, 0, 0x81, 1], // epoch 5 in two bytes
    [0, 0x19, 0, 9, 0x81, 1], // seq 9 in three bytes
    [0, 0, 0x81, 0x1a, 0, 0, 0, 1], // metric 1 in five bytes
    [0, 0, 0x9f, 1, 0xff], // indefinite metrics
    [0, 0, 0x80], // no metrics
    [0, 0, 0x81, 0x1b, 0, 0, 0, 1, 0, 0, 0, 0], // metric 2^32
    [0x1b, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0x81, 1], // epoch 2^53: not a safe integer
  ]
  for (const tail of cases) {
    const bytes = concatBytes(head, Uint8Array.from(tail), sig)
    agree(bytes)
    assert.throws(() => decodeReport(bytes), (e: unknown) => e instanceof DecodeError, Buffer.from(tail).toString('hex'))
  }
  // a 32-byte key in a two-byte head (0x59 0x00 0x20) is not canonical either
  const long = concatBytes(Uint8Array.of(0x84, 0x59, 0x00, 0x20, ...key, 0, 0, 0x81, 1), sig)
  agree(long)
  assert.throws(() => decodeReport(long), (e: unknown) => e instanceof DecodeError)
})

test.run()
