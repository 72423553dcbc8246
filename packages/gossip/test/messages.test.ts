/**
 * The wire messages: every type round-trips, the layout is pinned, every rule of the decoder
 * refuses what it should with the right reason, and the invariants hold: encode→decode is identity,
 * decode→encode gives back the same bytes, and no byte string makes decodeMessage throw.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {
  DecodeError,
  createFraudProof,
  encodeBlock,
  encodeCanonical,
  encodeFraudProof,
  fromHex,
  toHex,
  type HalfBlock,
} from '@tally/core'
import {
  DEFAULT_LIMITS,
  MESSAGE_CODES,
  MessageDecodeError,
  NOISE_AUTH_BYTES,
  NOISE_HELLO_BYTES,
  NOISE_WELCOME_BYTES,
  decodeMessage,
  encodeMessage,
  peekMessageType,
  resolveCrawlRange,
  resolveLimits,
  type DecodeReason,
  type Message,
} from '@tally/gossip'
import { alice, block, bob, chain } from './helpers.ts'

const key = (n: number): Uint8Array => new Uint8Array(32).fill(n)
const id8 = (n: number): Uint8Array => new Uint8Array(8).fill(n)
const aliceChain = chain(alice, 6)
const proposal = block(alice, { seq: 1 })
const agreement = block(bob, { seq: 1, link: alice.publicKey, linkSeq: 1 })
const forkA = block(alice, { seq: 3, payload: 'a' })
const forkB = block(alice, { seq: 3, payload: 'b' })
const proof = createFraudProof('double-sign', [forkA, forkB])

/** One message of every type. */
const SAMPLES: Message[] = [
  { type: 'hello', versions: [3, 1], publicKey: key(1), challenge: key(2), noise: key(10) },
  { type: 'welcome', versions: [2, 1], version: 2, publicKey: key(3), challenge: key(4), signature: new Uint8Array(64).fill(5), noise: new Uint8Array(96).fill(11) },
  { type: 'auth', signature: new Uint8Array(64).fill(6), noise: new Uint8Array(64).fill(12) },
  { type: 'error', requestId: 7, code: 'busy', reason: 'later' },
  { type: 'proposal', requestId: 1, block: proposal, context: [aliceChain[0]!] },
  { type: 'agreement', requestId: 1, block: agreement },
  { type: 'agreement', requestId: 0, block: agreement },
  { type: 'push', blocks: [proposal, agreement] },
  { type: 'push', blocks: [proposal], ack: 7 },
  { type: 'ack', id: 7 },
  { type: 'heads', requestId: 0, heads: [{ publicKey: alice.publicKey, seq: 6, hash: key(9) }, { publicKey: bob.publicKey, seq: 1, hash: key(8) }] },
  { type: 'crawl-request', requestId: 2, publicKey: alice.publicKey, start: -5, end: -1 },
  { type: 'crawl-answer', requestId: 2, publicKey: alice.publicKey, latest: 6, blocks: aliceChain.slice(1) },
  { type: 'fraud', proof },
  { type: 'witness-query', requestId: 3, publicKey: alice.publicKey, seq: 1 },
  { type: 'witness-answer', requestId: 3, publicKey: alice.publicKey, seq: 1, block: proposal },
  { type: 'witness-answer', requestId: 4, publicKey: alice.publicKey, seq: 9, block: null },
  { type: 'peers-request', requestId: 5, max: 10 },
  { type: 'peers', requestId: 5, peers: [{ publicKey: bob.publicKey, address: 'ws://127.0.0.1:4000/' }] },
  { type: 'peers', requestId: 0, peers: [] },
  { type: 'heads-request', requestId: 6, publicKeys: [alice.publicKey, bob.publicKey] },
  { type: 'heads', requestId: 6, heads: [] },
  { type: 'fraud-have', publicKey: alice.publicKey },
  { type: 'fraud-want', publicKey: alice.publicKey },
  { type: 'neighbours', ids: [id8(1), id8(2), alice.publicKey.slice(0, 8)] },
  { type: 'neighbours', ids: [] },
  { type: 'neighbours', ids: [id8(3)], ack: 2 ** 32 - 1 },
  { type: 'push-via', to: bob.publicKey.slice(0, 8), blocks: [proposal] },
  { type: 'app', requestId: 0, reply: false, protocol: 'tally/test/1', kind: 'note', body: encodeCanonical('hi') },
  { type: 'app', requestId: 8, reply: false, protocol: 'a.b/c_d-2', kind: 'getQuote', body: encodeCanonical({ item: 'x', n: 2 }) },
  { type: 'app', requestId: 8, reply: true, protocol: 'a.b/c_d-2', kind: 'quote', body: encodeCanonical(250) },
  { type: 'push-via', to: bob.publicKey.slice(0, 8), blocks: [proposal], ack: 300 },
  { type: 'relay', to: bob.publicKey, data: new Uint8Array([1, 2, 3]), reason: '' },
  { type: 'relay', to: bob.publicKey, data: new Uint8Array(0), reason: 'closed' },
  { type: 'relayed', from: alice.publicKey, data: new Uint8Array(40).fill(7), reason: '' },
  { type: 'relayed', from: alice.publicKey, data: new Uint8Array(0), reason: 'not-connected' },
]

/** A message with blocks, proofs and bytes as hex: comparable with assert.equal. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return toHex(value)
  if (Array.isArray(value)) return value.map(plain)
  if (typeof value === 'object' && value !== null) {
    if ('signature' in value && 'previousHash' in value) return `block:${toHex(encodeBlock(value as HalfBlock))}`
    if ('kind' in value && 'blocks' in value) return `proof:${toHex(encodeFraudProof(value as typeof proof))}`
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
  }
  return value
}

function refuses(frame: Uint8Array, reason: DecodeReason, note = ''): void {
  const r = decodeMessage(frame)
  assert.not.ok(r.ok, `expected a refusal (${reason}) ${note}`)
  if (!r.ok) {
    assert.instance(r.error, MessageDecodeError)
    assert.instance(r.error, DecodeError)
    assert.is(r.error.code, 'ERR_DECODE')
    assert.is(r.error.reason, reason, `${note}: ${r.error.message}`)
  }
}

// ## Round trips

const RoundTrip = suite('messages: round trip')

for (const m of SAMPLES) {
  RoundTrip(`${m.type} (${'requestId' in m ? `id ${m.requestId}` : 'no id'})`, () => {
    const frame = encodeMessage(m)
    const back = decodeMessage(frame)
    assert.ok(back.ok)
    if (back.ok) {
      assert.equal(plain(back.message), plain(m))
      assert.equal(toHex(encodeMessage(back.message)), toHex(frame), 're-encoding gives the same bytes')
    }
    assert.is(peekMessageType(frame), m.type, 'peek names the type without decoding')
    const code = MESSAGE_CODES[m.type]
    assert.equal(code < 24 ? [frame[1]] : [frame[1], frame[2]], code < 24 ? [code] : [0x18, code], 'the type code, one byte below 24, two from 24')
  })
}

RoundTrip('no two message types share a code', () => {
  const codes = Object.values(MESSAGE_CODES)
  assert.is(new Set(codes).size, codes.length)
})

RoundTrip('peek refuses a type code that is not canonical CBOR', () => {
  assert.is(peekMessageType(new Uint8Array([0x82, 0x18, 0x05, 0x00])), undefined, '5 in two bytes')
  assert.is(peekMessageType(new Uint8Array([0x82, 0x18])), undefined, 'cut after 0x18')
  assert.is(peekMessageType(new Uint8Array([0x82, 0x18, MESSAGE_CODES.relayed, 0x00])), 'relayed')
})

RoundTrip('every message type has a sample', () => {
  assert.equal(new Set(SAMPLES.map((m) => m.type)).size, Object.keys(MESSAGE_CODES).length)
})

// ## Layout

const Layout = suite('messages: layout')

Layout('auth is [3, bstr(64), bstr(64)]: 134 bytes, signature then Noise message 3', () => {
  const frame = encodeMessage({ type: 'auth', signature: new Uint8Array(64), noise: new Uint8Array(64).fill(1) })
  assert.is(toHex(frame), `8303${'5840'}${'00'.repeat(64)}${'5840'}${'01'.repeat(64)}`)
  assert.is(frame.length, 134)
})

Layout('the Noise messages of the handshake have fixed sizes: 32, 96 and 64 bytes', () => {
  assert.equal([NOISE_HELLO_BYTES, NOISE_WELCOME_BYTES, NOISE_AUTH_BYTES], [32, 96, 64])
  assert.throws(() => encodeMessage({ type: 'hello', versions: [1], publicKey: key(1), challenge: key(2), noise: new Uint8Array(33) }), /message\.noise/)
  const short = encodeCanonical([3, new Uint8Array(64), new Uint8Array(63)])
  const r = decodeMessage(short)
  assert.is(r.ok, false)
  assert.is(!r.ok && r.error.reason, 'bad-field')
})

Layout('a head announcement is [13, 0, [[key, seq, hash], ...]]: 74 bytes for one head', () => {
  const frame = encodeMessage({ type: 'heads', requestId: 0, heads: [{ publicKey: key(1), seq: 7, hash: key(2) }] })
  assert.is(toHex(frame), `830d008183${'5820'}${'01'.repeat(32)}07${'5820'}${'02'.repeat(32)}`)
  assert.is(frame.length, 74)
})

Layout('a crawl request with negative counts: [14, id, key, start, end]', () => {
  const frame = encodeMessage({ type: 'crawl-request', requestId: 1, publicKey: key(1), start: -5, end: -1 })
  assert.is(toHex(frame), `850e01${'5820'}${'01'.repeat(32)}2420`)
})

Layout('blocks travel as their own bytes: the block hash survives the trip', () => {
  const frame = encodeMessage({ type: 'push', blocks: [proposal] })
  const blockBytes = encodeBlock(proposal)
  assert.ok(toHex(frame).includes(toHex(blockBytes)))
})

Layout('fraud-have and fraud-want are [8 | 9, key]: 36 bytes', () => {
  const have = encodeMessage({ type: 'fraud-have', publicKey: key(1) })
  assert.is(toHex(have), `8208${'5820'}${'01'.repeat(32)}`)
  assert.is(encodeMessage({ type: 'fraud-want', publicKey: key(1) }).length, 36)
  assert.is(encodeMessage({ type: 'fraud-want', publicKey: key(1) })[1], 9)
})

Layout('a neighbour list is [22, [bstr8, ...]]: 9 bytes an id, 904 for 100', () => {
  assert.is(toHex(encodeMessage({ type: 'neighbours', ids: [id8(1)] })), `821681${'48'}${'01'.repeat(8)}`)
  const hundred = Array.from({ length: 100 }, (_, i) => id8(i))
  assert.is(encodeMessage({ type: 'neighbours', ids: hundred }).length, 904)
})

Layout('a push-via is [23, to, [block]]: a push plus the 9 bytes of its target id', () => {
  const via = encodeMessage({ type: 'push-via', to: id8(7), blocks: [proposal] })
  const push = encodeMessage({ type: 'push', blocks: [proposal] })
  assert.is(toHex(via.slice(0, 11)), `8317${'48'}${'07'.repeat(8)}`)
  assert.is(via.length, push.length + 9)
  assert.ok(toHex(via).includes(toHex(encodeBlock(proposal))))
})

Layout("an app message is [5, id, protocol, kind, body]: the id negated in a reply", () => {
  const body = encodeCanonical(7)
  const m = { type: 'app', requestId: 3, reply: false, protocol: 'p/1', kind: 'k', body } as const
  assert.is(toHex(encodeMessage(m)), `8505${'03'}${'63'}${toHex(new TextEncoder().encode('p/1'))}${'616b'}${'4107'}`)
  assert.is(toHex(encodeMessage({ ...m, reply: true }).slice(0, 3)), '850522', 'reply to 3: -3 (0x22)')
  assert.is(toHex(encodeMessage({ ...m, requestId: 0 }).slice(0, 3)), '850500', 'one-way: 0')
  assert.throws(() => encodeMessage({ ...m, requestId: 0, reply: true }), RangeError, 'a reply needs the id it answers')
  assert.throws(() => encodeMessage({ ...m, protocol: 'P/1' }), RangeError, 'protocol names are lowercase')
})

Layout('an app message written by hand is the canonical CBOR the general encoder writes, at every head size and id', () => {
  const names = fc.stringMatching(/^[a-z0-9/._-]{1,64}$/)
  const kinds = fc.stringMatching(/^[A-Za-z0-9/._-]{1,64}$/)
  const sizes = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 250, max: 260 }), fc.integer({ min: 65_530, max: 65_540 }))
  const ids = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 250, max: 70_000 }), fc.integer({ min: 2 ** 32 - 3, max: 2 ** 32 - 1 }))
  fc.assert(
    fc.property(ids, fc.boolean(), names, kinds, sizes, (requestId, reply, protocol, kind, size) => {
      if (reply && requestId === 0) return
      const body = new Uint8Array(size).fill(size & 0xff)
      const frame = encodeMessage({ type: 'app', requestId, reply, protocol, kind, body }, resolveLimits({ maxFrameBytes: 1 << 20 }))
      assert.equal(frame, encodeCanonical([5, reply ? -requestId : requestId, protocol, kind, body]))
      const back = decodeMessage(frame, resolveLimits({ maxFrameBytes: 1 << 20 }))
      assert.ok(back.ok && back.message.type === 'app' && back.message.requestId === requestId && back.message.reply === reply && back.message.protocol === protocol && back.message.kind === kind)
    }),
    { numRuns: 300 },
  )
  const m = { type: 'app', requestId: 1, reply: false, protocol: 'p', kind: 'k', body: new Uint8Array(DEFAULT_LIMITS.maxFrameBytes) } as const
  assert.throws(() => encodeMessage(m), RangeError, 'over the frame limit')
  assert.throws(() => encodeMessage({ ...m, body: [1, 2] as unknown as Uint8Array }), TypeError, 'a body that is no Uint8Array: the general path\'s error')
  assert.throws(() => encodeMessage({ ...m, requestId: 2 ** 32 }), RangeError, 'an id over 2^32 - 1')
  assert.throws(() => encodeMessage({ ...m, requestId: 1.5 }), TypeError, 'an id that is no integer')
})

Layout('version 2: an ack is [6, id]; a push, push-via or neighbour list asking for one ends with the id', () => {
  assert.is(toHex(encodeMessage({ type: 'ack', id: 7 })), '820607')
  assert.is(encodeMessage({ type: 'ack', id: 1000 }).length, 5)
  const push = encodeMessage({ type: 'push', blocks: [proposal] })
  const acked = encodeMessage({ type: 'push', blocks: [proposal], ack: 1000 })
  assert.is(acked.length, push.length + 3, 'three bytes more for id 1000')
  assert.is(toHex(acked.slice(0, 2)), '830c')
  assert.is(toHex(encodeMessage({ type: 'neighbours', ids: [], ack: 1 })), '83168001')
  // an id of 0 is no id: the version 1 layout, so a version 1 peer reads it
  assert.is(toHex(encodeMessage({ type: 'push', blocks: [proposal], ack: 0 })), toHex(push))
  assert.is(toHex(encodeMessage({ type: 'push-via', to: id8(7), blocks: [proposal], ack: 1 }).slice(0, 2)), '8417')
})

Layout('an error carries its code as a small uint', () => {
  assert.is(toHex(encodeMessage({ type: 'error', requestId: 0, code: 'refused', reason: '' })), '84040001' + '60')
})

// ## What the decoder refuses

const Refusals = suite('messages: refusals')

const enc = (v: unknown): Uint8Array => encodeCanonical(v)
const bytesOf = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill)

Refusals('bytes that are not canonical CBOR', () => {
  refuses(new Uint8Array(0), 'malformed', 'empty')
  refuses(fromHex('ff'), 'malformed', 'a break byte')
  refuses(fromHex('820d1805'), 'malformed', 'non-shortest integer')
  refuses(fromHex('9f0dff'), 'malformed', 'indefinite length')
  refuses(Uint8Array.from([...encodeMessage({ type: 'auth', signature: bytesOf(64), noise: bytesOf(64) }), 0]), 'malformed', 'trailing bytes')
  refuses(fromHex('8203fb3ff0000000000000'), 'malformed', 'a float')
  refuses(new Uint8Array(200).fill(0x81), 'malformed', 'nesting 200 deep')
})

Refusals('a frame over the limit, before decoding it', () => {
  refuses(new Uint8Array(DEFAULT_LIMITS.maxFrameBytes + 1), 'too-large')
  const small = resolveLimits({ maxFrameBytes: 70_000 })
  const r = decodeMessage(encodeMessage({ type: 'push', blocks: [proposal] }), small)
  assert.ok(r.ok, 'a small frame under a smaller limit')
})

Refusals('shapes: not an array, empty, unknown type, wrong arity', () => {
  refuses(enc('x'), 'bad-shape')
  refuses(enc({ type: 3 }), 'bad-shape')
  refuses(enc([]), 'bad-shape')
  refuses(enc([99]), 'unknown-type')
  refuses(enc(['auth']), 'unknown-type')
  refuses(enc([3]), 'bad-shape')
  refuses(enc([3, bytesOf(64)]), 'bad-shape', 'an auth without its Noise message')
  refuses(enc([3, bytesOf(64), bytesOf(64), 1]), 'bad-shape')
})

Refusals('fields of the wrong type, length or range', () => {
  refuses(enc([3, bytesOf(63), bytesOf(64)]), 'bad-field', 'short signature')
  refuses(enc([3, 'x', bytesOf(64)]), 'bad-field', 'signature as text')
  refuses(enc([3, bytesOf(64), bytesOf(63)]), 'bad-field', 'short Noise message')
  refuses(enc([14, 1, bytesOf(32), 0, 5]), 'bad-field', 'crawl start 0')
  refuses(enc([14, 1, bytesOf(32), 1, 2n ** 63n]), 'bad-field', 'crawl end beyond 2^53')
  refuses(enc([14, 1, bytesOf(32), -(2n ** 60n), 1]), 'bad-field', 'crawl start below -2^53')
  refuses(enc([14, 0, bytesOf(32), 1, 2]), 'bad-field', 'request id 0')
  refuses(enc([14, 2 ** 32, bytesOf(32), 1, 2]), 'bad-field', 'request id 2^32')
  refuses(enc([14, -1, bytesOf(32), 1, 2]), 'bad-field', 'negative request id')
  refuses(enc([14, 1, bytesOf(31), 1, 2]), 'bad-field', 'short key')
  refuses(enc([17, 1, bytesOf(32), 0]), 'bad-field', 'witness seq 0')
  refuses(enc([13, 0, [[bytesOf(32), 0, bytesOf(32)]]]), 'bad-field', 'head seq 0')
  refuses(enc([13, 0, [[bytesOf(32), 1]]]), 'bad-field', 'head of 2 fields')
  refuses(enc([13, 0, []]), 'inconsistent', 'an empty announcement')
  refuses(enc([21, 1, []]), 'bad-field', 'a heads request for no key')
  refuses(enc([21, 1, [bytesOf(31)]]), 'bad-field', 'a heads request for a short key')
  refuses(enc([12, []]), 'bad-field', 'empty push')
  refuses(enc([1, [1, 2], bytesOf(32), bytesOf(32), bytesOf(32)]), 'bad-field', 'versions not decreasing')
  refuses(enc([1, [], bytesOf(32), bytesOf(32), bytesOf(32)]), 'bad-field', 'no versions')
  refuses(enc([1, [70000], bytesOf(32), bytesOf(32), bytesOf(32)]), 'bad-field', 'version over 65535')
  refuses(enc([4, 0, 99, 'x']), 'bad-field', 'unknown error code')
  refuses(enc([19, 1, 0]), 'bad-field', 'peers-request max 0')
  refuses(enc([20, 0, [[bytesOf(32), 5]]]), 'bad-field', 'address not text')
  refuses(enc([8, bytesOf(31)]), 'bad-field', 'fraud-have with a short key')
  refuses(enc([9, 'x']), 'bad-field', 'fraud-want with a key as text')
  refuses(enc([22, [bytesOf(8), bytesOf(7)]]), 'bad-field', 'a neighbour id of 7 bytes')
  refuses(enc([22, [bytesOf(32)]]), 'bad-field', 'a whole key as a neighbour id')
  refuses(enc([22, bytesOf(8)]), 'bad-field', 'ids not a list')
  refuses(enc([23, bytesOf(8), []]), 'bad-field', 'a push-via of no block')
  refuses(enc([23, bytesOf(32), [encodeBlock(proposal)]]), 'bad-field', 'a push-via to a whole key')
  refuses(enc([23, [encodeBlock(proposal)]]), 'bad-shape', 'a push-via without its target')
  refuses(enc([5, 2 ** 32, 'p', 'k', enc(1)]), 'bad-field', 'an app id of 2^32')
  refuses(enc([5, -(2 ** 32), 'p', 'k', enc(1)]), 'bad-field', 'an app reply id below -(2^32 - 1)')
  refuses(enc([5, 1, 'P', 'k', enc(1)]), 'bad-field', 'an app protocol name in upper case')
  refuses(enc([5, 1, 'p'.repeat(65), 'k', enc(1)]), 'bad-field', 'an app protocol name of 65 characters')
  refuses(enc([5, 1, 'p', '', enc(1)]), 'bad-field', 'an empty app kind')
  refuses(enc([5, 1, 'p', 'a b', enc(1)]), 'bad-field', 'an app kind with a space')
  refuses(enc([5, 1, 'p', 'k', 1]), 'bad-field', 'an app body that is not a byte string')
  refuses(enc([5, 1, 'p', 'k']), 'bad-shape', 'an app message without its body')
  refuses(enc([12, [encodeBlock(proposal)], 0]), 'bad-field', 'an ack id of 0 (absent is the one encoding of none)')
  refuses(enc([12, [encodeBlock(proposal)], 1, 2]), 'bad-shape', 'a push with a field after its ack')
  refuses(enc([22, [], 2 ** 32]), 'bad-field', 'an ack id of 2^32')
  refuses(enc([6, 0]), 'bad-field', 'an ack of id 0')
  refuses(enc([6]), 'bad-shape', 'an ack without its id')
  refuses(enc([23, bytesOf(8)]), 'bad-shape', 'only the ack may be left out')
})

Refusals('lists and texts over their limits', () => {
  const blockBytes = encodeBlock(proposal)
  refuses(enc([12, Array.from({ length: DEFAULT_LIMITS.maxPushBlocks + 1 }, () => blockBytes)]), 'too-many', 'push')
  refuses(enc([13, 0, Array.from({ length: DEFAULT_LIMITS.maxHeads + 1 }, () => [bytesOf(32), 1, bytesOf(32)])]), 'too-many', 'heads')
  refuses(enc([21, 1, Array.from({ length: DEFAULT_LIMITS.maxHeads + 1 }, () => bytesOf(32))]), 'too-many', 'heads request')
  refuses(enc([15, 1, alice.publicKey, 100, Array.from({ length: DEFAULT_LIMITS.maxCrawlBlocks + 1 }, () => blockBytes)]), 'too-many', 'crawl answer')
  refuses(enc([10, 1, blockBytes, Array.from({ length: DEFAULT_LIMITS.maxContextBlocks + 1 }, () => blockBytes)]), 'too-many', 'context')
  refuses(enc([20, 0, Array.from({ length: DEFAULT_LIMITS.maxPeers + 1 }, () => [bytesOf(32), 'x'])]), 'too-many', 'peers')
  refuses(enc([20, 0, [[bytesOf(32), 'x'.repeat(DEFAULT_LIMITS.maxAddressLength + 1)]]]), 'too-many', 'address')
  refuses(enc([4, 0, 1, 'x'.repeat(DEFAULT_LIMITS.maxReasonLength + 1)]), 'too-many', 'reason')
  refuses(enc([1, Array.from({ length: 17 }, (_, i) => 100 - i), bytesOf(32), bytesOf(32), bytesOf(32)]), 'too-many', 'versions')
  refuses(enc([22, Array.from({ length: DEFAULT_LIMITS.maxNeighbourIds + 1 }, () => bytesOf(8))]), 'too-many', 'neighbour ids')
  refuses(enc([23, bytesOf(8), Array.from({ length: DEFAULT_LIMITS.maxPushBlocks + 1 }, () => blockBytes)]), 'too-many', 'push-via')
  const few = resolveLimits({ maxNeighbourIds: 2 })
  const three = encodeMessage({ type: 'neighbours', ids: [bytesOf(8, 1), bytesOf(8, 2), bytesOf(8, 3)] })
  const r = decodeMessage(three, few)
  assert.is(r.ok ? 'ok' : r.error.reason, 'too-many', 'a smaller maxNeighbourIds refuses a longer list')
  assert.throws(() => encodeMessage({ type: 'neighbours', ids: [bytesOf(8, 1), bytesOf(8, 2), bytesOf(8, 3)] }, few), /message\.ids/)
})

Refusals('embedded blocks and proofs are decoded in full', () => {
  refuses(enc([12, [bytesOf(100)]]), 'bad-block')
  refuses(enc([12, [encodeBlock(proposal).slice(0, 80)]]), 'bad-block', 'truncated block')
  refuses(enc([16, bytesOf(50)]), 'bad-proof')
  refuses(enc([23, bytesOf(8), [bytesOf(100)]]), 'bad-block', 'a push-via of a broken block')
  const reordered = enc(['double-sign', [...proof.blocks].reverse().map((b) => encodeBlock(b))])
  refuses(enc([16, reordered]), 'bad-proof', 'evidence out of canonical order')
})

Refusals('fields that contradict each other', () => {
  const blockBytes = (b: HalfBlock): Uint8Array => encodeBlock(b)
  refuses(enc([15, 1, bob.publicKey, 6, [blockBytes(aliceChain[0]!)]]), 'inconsistent', "another chain's block in a crawl answer")
  refuses(enc([15, 1, alice.publicKey, 1, [blockBytes(aliceChain[1]!)]]), 'inconsistent', 'a block beyond latest')
  refuses(enc([15, 1, alice.publicKey, 6, [blockBytes(aliceChain[2]!), blockBytes(aliceChain[1]!)]]), 'inconsistent', 'descending seqs')
  refuses(enc([18, 1, alice.publicKey, 2, blockBytes(aliceChain[0]!)]), 'inconsistent', 'witness answer at another seq')
  refuses(enc([2, [1], 2, bytesOf(32), bytesOf(32), bytesOf(64), bytesOf(96)]), 'inconsistent', 'chosen version not offered')
  refuses(enc([10, 1, blockBytes(agreement), []]), 'inconsistent', 'an agreement sent as a proposal')
  refuses(enc([11, 1, blockBytes(proposal)]), 'inconsistent', 'a proposal sent as an agreement')
})

Refusals('encodeMessage refuses caller mistakes, naming the field', () => {
  assert.throws(() => encodeMessage({ type: 'nope' } as unknown as Message), /type/)
  assert.throws(() => encodeMessage({ type: 'auth', signature: bytesOf(3), noise: bytesOf(64) }), /message\.signature/)
  assert.throws(() => encodeMessage({ type: 'crawl-request', requestId: 1, publicKey: key(1), start: 0, end: 1 }), /message\.start/)
  assert.throws(() => encodeMessage({ type: 'witness-query', requestId: 0, publicKey: key(1), seq: 1 }), /message\.requestId/)
  assert.throws(() => encodeMessage({ type: 'push', blocks: [] }), /message\.blocks/)
  assert.throws(() => encodeMessage({ type: 'hello', versions: [1, 2], publicKey: key(1), challenge: key(2), noise: key(3) }), /decreasing/)
  assert.throws(() => encodeMessage({ type: 'error', requestId: 0, code: 'nope' as 'busy', reason: '' }), /ErrorCode/)
  assert.throws(() => encodeMessage({ type: 'neighbours', ids: [bytesOf(8), bytesOf(9)] }), /message\.ids\[1\]/)
  assert.throws(() => encodeMessage({ type: 'push-via', to: bytesOf(32), blocks: [proposal] }), /message\.to/)
  assert.throws(() => encodeMessage({ type: 'fraud-have', publicKey: bytesOf(8) }), /message\.publicKey/)
})

// ## Crawl ranges

const Crawl = suite('messages: crawl ranges')

Crawl('positive, negative and mixed ranges (py-ipv8: -1 is the latest)', () => {
  assert.equal(resolveCrawlRange(-5, -1, 100), { from: 96, to: 100 })
  assert.equal(resolveCrawlRange(3, 7, 100), { from: 3, to: 7 })
  assert.equal(resolveCrawlRange(1, -1, 10), { from: 1, to: 10 })
  assert.equal(resolveCrawlRange(-1, -1, 1), { from: 1, to: 1 })
  assert.equal(resolveCrawlRange(-200, -1, 100), { from: 1, to: 32 })
})

Crawl('1..2^31 is clamped to the chain and capped at maxCrawlBlocks', () => {
  assert.equal(resolveCrawlRange(1, 2 ** 31, 1_000_000), { from: 1, to: DEFAULT_LIMITS.maxCrawlBlocks })
  assert.equal(resolveCrawlRange(1, 2 ** 31, 7), { from: 1, to: 7 })
  assert.equal(resolveCrawlRange(-(2 ** 31), 2 ** 31, 7, 5), { from: 1, to: 5 })
  assert.equal(resolveCrawlRange(1, Number.MAX_SAFE_INTEGER, 3), { from: 1, to: 3 })
})

Crawl('empty ranges are undefined', () => {
  assert.is(resolveCrawlRange(2 ** 31, 2 ** 31, 100), undefined)
  assert.is(resolveCrawlRange(5, 3, 100), undefined)
  assert.is(resolveCrawlRange(-1, -1, 0), undefined)
  assert.is(resolveCrawlRange(-5, -10, 100), undefined)
  assert.is(resolveCrawlRange(0, 5, 100), undefined)
  assert.is(resolveCrawlRange(1, 5, 100, 0), undefined)
})

Crawl('property: always within [1, latest] and at most the cap', () => {
  const bound = 2 ** 31
  const seqArb = fc.integer({ min: -bound, max: bound }).filter((n) => n !== 0)
  fc.assert(
    fc.property(seqArb, seqArb, fc.integer({ min: 0, max: bound }), fc.integer({ min: 1, max: 64 }), (start, end, latest, cap) => {
      const r = resolveCrawlRange(start, end, latest, cap)
      if (r === undefined) return true
      return r.from >= 1 && r.from <= r.to && r.to <= latest && r.to - r.from + 1 <= cap
    }),
    { numRuns: 2000 },
  )
})

// ## Properties

const Properties = suite('messages: properties')

const u8 = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n })
const requestIdArb = fc.integer({ min: 1, max: 2 ** 32 - 1 })
const replyIdArb = fc.integer({ min: 0, max: 2 ** 32 - 1 })
const seqArb = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })
const versionsArb = fc.uniqueArray(fc.integer({ min: 1, max: 0xffff }), { minLength: 1, maxLength: 16 }).map((v) => v.sort((a, b) => b - a))
const textArb = (max: number): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength: Math.floor(max / 2) })
const blockPool = [proposal, agreement, ...aliceChain, forkA, forkB]
const blockArb = fc.constantFrom(...blockPool)
const proposalArb = fc.constantFrom(proposal, forkA, forkB)
const errorCodes = ['refused', 'bad-request', 'rate-limited', 'busy', 'not-found', 'version', 'handshake', 'too-large', 'timeout', 'internal'] as const

const messageArb: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('hello' as const), versions: versionsArb, publicKey: u8(32), challenge: u8(32), noise: u8(32) }),
  versionsArb.chain((versions) =>
    fc.record({ type: fc.constant('welcome' as const), versions: fc.constant(versions), version: fc.constantFrom(...versions), publicKey: u8(32), challenge: u8(32), signature: u8(64), noise: u8(96) }),
  ),
  fc.record({ type: fc.constant('auth' as const), signature: u8(64), noise: u8(64) }),
  fc.record({ type: fc.constant('error' as const), requestId: replyIdArb, code: fc.constantFrom(...errorCodes), reason: textArb(256) }),
  fc.record({ type: fc.constant('proposal' as const), requestId: requestIdArb, block: proposalArb, context: fc.array(blockArb, { maxLength: 4 }) }),
  fc.record({ type: fc.constant('agreement' as const), requestId: replyIdArb, block: fc.constant(agreement) }),
  fc.record({ type: fc.constant('push' as const), blocks: fc.array(blockArb, { minLength: 1, maxLength: 16 }) }),
  fc.record({ type: fc.constant('push' as const), blocks: fc.array(blockArb, { minLength: 1, maxLength: 16 }), ack: requestIdArb }),
  fc.record({ type: fc.constant('ack' as const), id: requestIdArb }),
  fc.record({ type: fc.constant('heads' as const), requestId: fc.constant(0), heads: fc.array(fc.record({ publicKey: u8(32), seq: seqArb, hash: u8(32) }), { minLength: 1, maxLength: 64 }) }),
  fc.record({ type: fc.constant('heads' as const), requestId: requestIdArb, heads: fc.array(fc.record({ publicKey: u8(32), seq: seqArb, hash: u8(32) }), { maxLength: 64 }) }),
  fc.record({ type: fc.constant('heads-request' as const), requestId: requestIdArb, publicKeys: fc.array(u8(32), { minLength: 1, maxLength: 64 }) }),
  fc.record({
    type: fc.constant('crawl-request' as const),
    requestId: requestIdArb,
    publicKey: u8(32),
    start: fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }).filter((n) => n !== 0),
    end: fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }).filter((n) => n !== 0),
  }),
  fc.record({
    type: fc.constant('crawl-answer' as const),
    requestId: requestIdArb,
    publicKey: fc.constant(alice.publicKey),
    latest: fc.integer({ min: 6, max: Number.MAX_SAFE_INTEGER }),
    blocks: fc.subarray(aliceChain),
  }),
  fc.record({ type: fc.constant('fraud' as const), proof: fc.constant(proof) }),
  fc.record({ type: fc.constantFrom('fraud-have' as const, 'fraud-want' as const), publicKey: u8(32) }),
  // version 3: the accused named by the first 16 bytes of its key
  fc.record({ type: fc.constantFrom('fraud-have' as const, 'fraud-want' as const), publicKey: u8(16) }),
  fc.record({ type: fc.constant('neighbours' as const), ids: fc.array(u8(8), { maxLength: 256 }) }),
  fc.record({ type: fc.constant('neighbours' as const), ids: fc.array(u8(8), { maxLength: 256 }), ack: requestIdArb }),
  fc.record({ type: fc.constant('push-via' as const), to: u8(8), blocks: fc.array(blockArb, { minLength: 1, maxLength: 16 }) }),
  fc.record({ type: fc.constant('push-via' as const), to: u8(8), blocks: fc.array(blockArb, { minLength: 1, maxLength: 16 }), ack: requestIdArb }),
  fc.record({ type: fc.constant('witness-query' as const), requestId: requestIdArb, publicKey: u8(32), seq: seqArb }),
  fc.record({ type: fc.constant('relay' as const), to: u8(32), data: fc.uint8Array({ minLength: 1, maxLength: 300 }), reason: fc.constant('') }),
  fc.record({ type: fc.constant('relayed' as const), from: u8(32), data: fc.constant(new Uint8Array(0)), reason: textArb(256) }),
  fc.oneof(
    fc.record({ requestId: replyIdArb, reply: fc.constant(false) }),
    fc.record({ requestId: requestIdArb, reply: fc.constant(true) }),
  ).chain(({ requestId, reply }) =>
    fc.record({
      type: fc.constant('app' as const),
      requestId: fc.constant(requestId),
      reply: fc.constant(reply),
      protocol: fc.stringMatching(/^[a-z0-9/._-]{1,64}$/),
      kind: fc.stringMatching(/^[A-Za-z0-9/._-]{1,64}$/),
      body: u8(200),
    }),
  ),
  fc.oneof(
    fc.record({ type: fc.constant('witness-answer' as const), requestId: requestIdArb, publicKey: u8(32), seq: seqArb, block: fc.constant(null) }),
    blockArb.chain((b) =>
      fc.record({ type: fc.constant('witness-answer' as const), requestId: requestIdArb, publicKey: fc.constant(b.publicKey), seq: fc.constant(b.seq), block: fc.constant(b as HalfBlock | null) }),
    ),
  ),
  fc.record({ type: fc.constant('peers-request' as const), requestId: requestIdArb, max: fc.integer({ min: 1, max: 1000 }) }),
  fc.record({
    type: fc.constant('peers' as const),
    requestId: replyIdArb,
    peers: fc.array(fc.record({ publicKey: u8(32), address: textArb(256) }), { maxLength: 32 }),
  }),
) as fc.Arbitrary<Message>

Properties('encode → decode is identity, and decode → encode gives the same bytes', () => {
  fc.assert(
    fc.property(messageArb, (m) => {
      const frame = encodeMessage(m)
      const r = decodeMessage(frame)
      if (!r.ok) throw new Error(`${m.type} did not decode: ${r.error.message}`)
      assert.equal(plain(r.message), plain(m))
      assert.is(toHex(encodeMessage(r.message)), toHex(frame))
    }),
    { numRuns: 500 },
  )
})

/** decodeMessage on `bytes` must return, and what it accepts must be canonical. */
function neverThrows(bytes: Uint8Array): boolean {
  let r: ReturnType<typeof decodeMessage>
  try {
    r = decodeMessage(bytes)
  } catch (err) {
    throw new Error(`decodeMessage threw ${String(err)} on ${toHex(bytes.slice(0, 64))}`)
  }
  if (r.ok) return toHex(encodeMessage(r.message)) === toHex(bytes)
  return r.error instanceof MessageDecodeError && r.error.code === 'ERR_DECODE'
}

Properties('random bytes never throw out of decodeMessage', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), neverThrows), { numRuns: 3000 })
})

Properties('random bytes behind a valid header never throw', () => {
  // a valid array header and type code get the fuzz past the first checks into the field decoders
  const codes = Object.values(MESSAGE_CODES)
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 7 }), fc.constantFrom(...codes), fc.uint8Array({ maxLength: 400 }), (n, code, rest) =>
      neverThrows(Uint8Array.from([0x80 + n, code, ...rest])),
    ),
    { numRuns: 3000 },
  )
})

Properties('mutated valid frames never throw, and what still decodes is canonical', () => {
  fc.assert(
    fc.property(messageArb, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'truncate', 'insert', 'delete'), (m, at, byte, op) => {
      const frame = encodeMessage(m)
      const i = at % frame.length
      let mutated: Uint8Array
      if (op === 'flip') {
        mutated = frame.slice()
        mutated[i] = byte
      } else if (op === 'truncate') mutated = frame.slice(0, i)
      else if (op === 'insert') mutated = Uint8Array.from([...frame.slice(0, i), byte, ...frame.slice(i)])
      else mutated = Uint8Array.from([...frame.slice(0, i), ...frame.slice(i + 1)])
      return neverThrows(mutated)
    }),
    { numRuns: 1500 },
  )
})

Properties('structured garbage (random CBOR values) never throws', () => {
  const value = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      fc.integer(),
      fc.bigInt({ min: -(2n ** 64n) + 1n, max: 2n ** 64n - 1n }),
      fc.string(),
      fc.boolean(),
      fc.constant(null),
      fc.uint8Array({ maxLength: 70 }),
      fc.array(tie('v'), { maxLength: 5 }),
    ),
  })).v
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 25 }), fc.array(value, { maxLength: 6 }), (code, fields) => neverThrows(encodeCanonical([code, ...fields]))),
    { numRuns: 2000 },
  )
})

RoundTrip.run()
Layout.run()
Refusals.run()
Crawl.run()
Properties.run()
