/**
 * `app` frames are read by hand (wire/messages.ts readAppFrame) rather than by the general
 * canonical decoder: the same frames must be accepted, with the same message, and every other
 * frame must still be refused with the general decoder's reason. The reference here is the
 * general path written out: decodeCanonical, then the app schema's field checks.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { decodeCanonical, encodeCanonical, toHex, type CborValue } from '@tally/core'
import { DEFAULT_LIMITS, KIND_NAME, MAX_REQUEST_ID, PROTOCOL_NAME, decodeMessage, encodeMessage } from '@tally/gossip'

const test = suite('app frames read by hand')

/** What the general decoder gives for an app frame, or 'refused'. */
function reference(frame: Uint8Array): string {
  let v: CborValue
  try {
    v = decodeCanonical(frame, { maxBytes: DEFAULT_LIMITS.maxFrameBytes, maxDepth: 4 })
  } catch {
    return 'refused'
  }
  if (!Array.isArray(v) || v.length !== 5 || v[0] !== 5) return 'refused'
  const [, id, protocol, kind, body] = v as CborValue[]
  if (typeof id !== 'number' || id < -MAX_REQUEST_ID || id > MAX_REQUEST_ID) return 'refused'
  if (typeof protocol !== 'string' || !PROTOCOL_NAME.test(protocol) || typeof kind !== 'string' || !KIND_NAME.test(kind)) return 'refused'
  if (!(body instanceof Uint8Array)) return 'refused'
  return show({ type: 'app', requestId: Math.abs(id), reply: id < 0, protocol, kind, body })
}

function decoded(frame: Uint8Array): string {
  const r = decodeMessage(frame)
  return r.ok ? show(r.message) : 'refused'
}

const show = (m: unknown): string => JSON.stringify(m, (_, v: unknown) => (v instanceof Uint8Array ? `${v.constructor.name}:${toHex(v)}` : v))

const name = fc.oneof(
  { arbitrary: fc.constantFrom('tally/economy/reports/1', 'submit', 'verdicts', 'a', 'x'.repeat(23), 'x'.repeat(24), 'x'.repeat(64)), weight: 8 },
  { arbitrary: fc.constantFrom('x'.repeat(65), 'Upper', 'é', ''), weight: 1 },
  { arbitrary: fc.string({ minLength: 0, maxLength: 70 }).filter((s) => s.isWellFormed()), weight: 1 },
)
const id = fc.oneof(fc.constantFrom(0, 1, 23, 24, 255, 256, 65535, 65536, MAX_REQUEST_ID, MAX_REQUEST_ID + 1, -1, -24, -25, -256, -257, -MAX_REQUEST_ID, -MAX_REQUEST_ID - 1), fc.integer({ min: -(2 ** 33), max: 2 ** 33 }))
const body = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constantFrom(23, 24, 255, 256, 65535, 65536).map((n) => new Uint8Array(n).fill(7)))
/** An app frame as the general encoder writes it (whatever its fields), then maybe a byte changed, cut or added. */
const frame = fc.tuple(id, name, name, body, fc.nat(), fc.nat(255), fc.integer({ min: 0, max: 4 })).map(([i, p, k, b, at, byte, how]) => {
  const f = encodeCanonical([5, i, p, k, b])
  const j = at % f.length
  if (how <= 1) return f
  if (how === 2) return Uint8Array.from(f, (x, n) => (n === j ? byte : x))
  if (how === 3) return f.subarray(0, j)
  return Uint8Array.from([...f.subarray(0, j), byte, ...f.subarray(j)])
})

test('every frame: accepted by both with the same message, or refused by both', () => {
  let accepted = 0
  fc.assert(
    fc.property(frame, (f) => {
      const a = decoded(f)
      assert.is(a, reference(f), `frame ${toHex(f).slice(0, 100)}`)
      if (a !== 'refused') accepted++
    }),
    { numRuns: 3000 },
  )
  assert.ok(accepted > 300, `${accepted} frames accepted`)
})

test('heads not in their shortest form, and a refusal keeps the general decoder\'s reason', () => {
  // [5, 1, "p", "k", h''] with the id written as 0x18 0x01: valid CBOR, not canonical
  const bad = Uint8Array.of(0x85, 0x05, 0x18, 0x01, 0x61, 0x70, 0x61, 0x6b, 0x40)
  const r = decodeMessage(bad)
  assert.is(r.ok, false)
  assert.is(!r.ok && r.error.reason, 'malformed')
  const good = Uint8Array.of(0x85, 0x05, 0x01, 0x61, 0x70, 0x61, 0x6b, 0x40)
  assert.is(decoded(good), reference(good))
  assert.is(decoded(good), show({ type: 'app', requestId: 1, reply: false, protocol: 'p', kind: 'k', body: new Uint8Array(0) }))
  // a bad name: the general decoder's bad-field
  const upper = encodeCanonical([5, 1, 'P', 'k', new Uint8Array(0)])
  const u = decodeMessage(upper)
  assert.is(!u.ok && u.error.reason, 'bad-field')
})

test('the body is a copy, not a view of the frame', () => {
  const f = encodeMessage({ type: 'app', requestId: 7, reply: true, protocol: 'x/1', kind: 'y', body: Uint8Array.of(1, 2, 3) })
  const r = decodeMessage(f)
  assert.ok(r.ok)
  const m = r.message as { body: Uint8Array; requestId: number; reply: boolean }
  assert.equal([m.requestId, m.reply, [...m.body]], [7, true, [1, 2, 3]])
  f[f.length - 1] = 9
  assert.equal([...m.body], [1, 2, 3])
})

test.run()
