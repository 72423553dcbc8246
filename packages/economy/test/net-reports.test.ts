/**
 * Report submission over the protocol host: a component's reporter signs, keeps in its outbox and
 * delivers its reports to the witnesses, retrying with backoff on the host's clock; each witness
 * says why a report was refused or late; malformed input is refused and nothing is stored.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { DecodeError, RefusedError, decodeCanonical, encodeCanonical, toHex, type MessageKind } from '@tally/core'
import { signReport } from '@tally/economy'
import { createMemoryOutbox, createReporter, createSharedHost, reportsProtocol, REPORTS_PROTOCOL, type ReportMessages, type ReportOutcome } from '@tally/economy/net'
import { alice, bob, carol, component, rejectsLike, witnesses } from './helpers.ts'
import { network, register, reporter } from './net-fixtures.ts'

const test = suite('reports over the network')

test('a registered component\'s report reaches every witness, and it is told so', async () => {
  const net = network()
  await register(net, alice, component(1))
  const { reporter: r, outcomes, party } = reporter(net, component(1))
  assert.equal(await r.report({ epoch: 0, metrics: [60_000, 5] }), { epoch: 0, seq: 0 })
  await r.flush()
  assert.equal(outcomes.map((o) => [o.status, o.code]), [['accepted', 'ok'], ['accepted', 'ok'], ['accepted', 'ok']])
  assert.equal(net.witnesses.map((w) => w.reportCount(0)), [1, 1, 1])
  assert.is(await r.pending(), 0)
  // a submit costs its sender 16 tokens at each witness
  assert.is(net.harness.charged.get(toHex(party.key)), 48)
})

test('a witness admits the host that delivers a registered component\'s reports, one host a component, bounded', async () => {
  const net = network()
  await register(net, alice, component(1))
  await register(net, alice, component(2))
  // a host's reporters share its reports handle, as a gateway host's do (createSharedHost)
  const hostA = createSharedHost(net.harness.party(bob))
  const hostB = createSharedHost(net.harness.party(carol))
  const admittedBy = (host: Uint8Array) => net.witnesses.map((w) => [...(net.harness.admitted.get(toHex(w.publicKey))?.get(toHex(host)) ?? [])].sort().join(','))
  // a gateway host is no owner: before it delivers an accepted report, it is a stranger
  assert.equal(admittedBy(bob.publicKey), ['', '', ''])
  const outbox1 = createMemoryOutbox()
  const outbox2 = createMemoryOutbox()
  const one = { reporter: createReporter({ key: component(1), community: net.community, host: hostA, outbox: outbox1 }) }
  await one.reporter.report({ epoch: 0, metrics: [60_000, 5] })
  await one.reporter.flush()
  assert.equal(admittedBy(bob.publicKey), ['host', 'host', 'host'], 'every witness admits the host of an accepted report')
  const two = { reporter: createReporter({ key: component(2), community: net.community, host: hostA, outbox: outbox2 }) }
  await two.reporter.report({ epoch: 0, metrics: [60_000, 5] })
  await two.reporter.flush()
  // component 1 moves to host B (with its outbox: its seq goes on): A still carries component 2, so both are admitted
  one.reporter.close()
  const moved = { reporter: createReporter({ key: component(1), community: net.community, host: hostB, outbox: outbox1 }) }
  await moved.reporter.report({ epoch: 0, metrics: [60_000, 6] })
  await moved.reporter.flush()
  assert.equal(admittedBy(carol.publicKey), ['host', 'host', 'host'])
  assert.equal(admittedBy(bob.publicKey), ['host', 'host', 'host'])
  // component 2 moves too: host A carries nothing any more and is withdrawn
  two.reporter.close()
  const moved2 = { reporter: createReporter({ key: component(2), community: net.community, host: hostB, outbox: outbox2 }) }
  await moved2.reporter.report({ epoch: 0, metrics: [60_000, 6] })
  await moved2.reporter.flush()
  assert.equal(admittedBy(bob.publicKey), ['', '', ''], 'a host that carries no component is a stranger again')
  // a refused report (unregistered component) admits nobody
  const dave = createSharedHost(net.harness.party(component(9)))
  const stray = { reporter: createReporter({ key: component(3), community: net.community, host: dave, outbox: createMemoryOutbox() }) }
  await stray.reporter.report({ epoch: 0, metrics: [60_000, 5] })
  await stray.reporter.flush()
  assert.equal(admittedBy(component(9).publicKey), ['', '', ''])
})

test('refusals carry the monitor\'s reason: late, signature, malformed; nothing is stored', async () => {
  const net = network()
  await register(net, alice, component(1))
  const report = signReport({ component: component(1).publicKey, epoch: 0, seq: 0, metrics: [60_000, 5] }, component(1), net.community.id)
  const forged = Uint8Array.from(report)
  forged[forged.length - 1]! ^= 1
  const sender = net.harness.party(bob)
  sender.host(reportsProtocol())
  const reply = await net.harness.inject(bob.publicKey, witnesses[0]!.publicKey, REPORTS_PROTOCOL, 'submit', [[forged, new Uint8Array([1, 2, 3])]])
  assert.is(reply!.kind, 'verdicts')
  const verdicts = (reply!.message as { verdicts: { code: string; reason: string }[] }).verdicts
  assert.equal(verdicts.map((v) => v.code), ['signature', 'malformed'])
  assert.ok(verdicts.every((v) => v.reason.length > 0))
  assert.is(net.witnesses[0]!.reportCount(0), 0)
  // bodies the codec refuses never reach the witness
  for (const body of [[[42]], [['not bytes']], [], [Array.from({ length: 33 }, () => report)]]) {
    const err = (await rejectsLike(net.harness.inject(bob.publicKey, witnesses[0]!.publicKey, REPORTS_PROTOCOL, 'submit', body), RefusedError)) as RefusedError
    assert.ok(err.reason === 'malformed' || err.reason === 'too-large', String(err.reason))
  }
  assert.is(net.witnesses[0]!.reportCount(0), 0)
  assert.ok((net.harness.charged.get(toHex(sender.key)) ?? 0) >= 40, 'malformed frames cost their sender')
  // a report for a closed epoch is late, and the reporter says so
  for (const w of net.witnesses) await w.close()
  const { reporter: r, outcomes } = reporter(net, component(1))
  await r.report({ epoch: 0, metrics: [1, 1] })
  await r.flush()
  assert.equal(outcomes.map((o) => o.status), ['late', 'late', 'late'])
  assert.match(outcomes[0]!.reason, /closed/)
  assert.is(await r.pending(), 0)
})

test('quotas: per peer and per component in an epoch', async () => {
  const net = network({ limits: { reportsPerPeer: 2, reportsPerComponent: 64 } })
  await register(net, alice, component(1))
  await register(net, bob, component(2))
  const reports = [0, 1, 2].map((seq) => signReport({ component: component(1).publicKey, epoch: 0, seq, metrics: [1, 1] }, component(1), net.community.id))
  net.harness.party(alice).host(reportsProtocol())
  const reply = await net.harness.inject(alice.publicKey, witnesses[0]!.publicKey, REPORTS_PROTOCOL, 'submit', [reports])
  assert.equal((reply!.message as { verdicts: { code: string }[] }).verdicts.map((v) => v.code), ['ok', 'ok', 'quota'])
  const tight = network({ limits: { reportsPerComponent: 1 } })
  await register(tight, bob, component(2))
  const two = [0, 1].map((seq) => signReport({ component: component(2).publicKey, epoch: 0, seq, metrics: [1, 1] }, component(2), tight.community.id))
  tight.harness.party(bob).host(reportsProtocol())
  const r2 = await tight.harness.inject(bob.publicKey, witnesses[1]!.publicKey, REPORTS_PROTOCOL, 'submit', [two])
  assert.equal((r2!.message as { verdicts: { code: string }[] }).verdicts.map((v) => v.code), ['ok', 'quota'])
})

test('many submissions at once: a few are checked at a time, the rest wait their turn in order, every one is answered', async () => {
  let checking = 0
  let most = 0
  // a slow verifier (a busy pool): submissions pile up behind it
  // (one report a submission: the items in flight are the submissions being checked, whether the
  // witness sends their signatures to the verifier one call each or several in one call)
  const verify = async (items: readonly { message: Uint8Array; signature: Uint8Array; publicKey: Uint8Array }[]): Promise<boolean[]> => {
    checking += items.length
    most = Math.max(most, checking)
    await new Promise((r) => setTimeout(r, 2))
    checking -= items.length
    return items.map(() => true)
  }
  const net = network({ verify })
  await register(net, bob, component(2))
  await register(net, bob, component(3))
  // 100 submissions, more than are checked at once (48), within each component's quota (64)
  const reports = Array.from({ length: 100 }, (_, i) => signReport({ component: component(2 + (i % 2)).publicKey, epoch: 0, seq: i >> 1, metrics: [1, 1] }, component(2 + (i % 2)), net.community.id))
  net.harness.party(bob).host(reportsProtocol())
  const replies = await Promise.all(reports.map((r) => net.harness.inject(bob.publicKey, witnesses[0]!.publicKey, REPORTS_PROTOCOL, 'submit', [[r]])))
  // in the order they came: each seq above the last, so every one is taken
  assert.equal(replies.map((reply) => (reply!.message as { verdicts: { code: string }[] }).verdicts.map((v) => v.code)), reports.map(() => ['ok']))
  assert.is(net.witnesses[0]!.reportCount(0), 100)
  assert.ok(most >= 2 && most <= 48, `${most} submissions checked at once`)
})

test('full submissions at once: their signatures go to the verifier in calls of at most 512, several in flight, every report answered', async () => {
  const sizes: number[] = []
  let open = 0
  let mostOpen = 0
  const verify = async (items: readonly { message: Uint8Array; signature: Uint8Array; publicKey: Uint8Array }[]): Promise<boolean[]> => {
    sizes.push(items.length)
    mostOpen = Math.max(mostOpen, ++open)
    await new Promise((r) => setTimeout(r, 2))
    open--
    return items.map(() => true)
  }
  const net = network({ verify })
  const parts = Array.from({ length: 64 }, (_, i) => component(100 + i))
  for (const c of parts) await register(net, bob, c)
  net.harness.party(bob).host(reportsProtocol())
  // 64 submissions of 32 reports (one component each): more than are checked at once
  const replies = await Promise.all(
    parts.map((c) => net.harness.inject(bob.publicKey, witnesses[0]!.publicKey, REPORTS_PROTOCOL, 'submit', [Array.from({ length: 32 }, (_, seq) => signReport({ component: c.publicKey, epoch: 0, seq, metrics: [1, 1] }, c, net.community.id))])),
  )
  assert.ok(replies.every((reply) => (reply!.message as { verdicts: { code: string }[] }).verdicts.every((v) => v.code === 'ok')))
  assert.is(net.witnesses[0]!.reportCount(0), 64 * 32)
  assert.ok(Math.max(...sizes) <= 512, `calls of ${Math.max(...sizes)} items`)
  assert.ok(mostOpen >= 2, `${mostOpen} calls in flight at once`)
})

test('a submit body read from its bytes (readBytes, as @tally/gossip\'s host does) is exactly what the generic decoder reads: the same bodies accepted, the same reports', () => {
  const submit = reportsProtocol().messages.submit as MessageKind<ReportMessages['submit']> & { readBytes(body: Uint8Array): ReportMessages['submit'] }
  const generic = (body: Uint8Array): ReportMessages['submit'] => submit.decode(decodeCanonical(body, { maxBytes: submit.maxBytes, maxDepth: 32 }))
  const outcome = (read: (body: Uint8Array) => ReportMessages['submit'], body: Uint8Array): string => {
    try {
      return read(body).reports.map(toHex).join(',')
    } catch (err) {
      assert.instance(err, DecodeError, `only DecodeError: ${(err as Error).message}`)
      return 'refused'
    }
  }
  // bodies: canonical submits (0-40 items of 0-300 bytes: over both limits), any CBOR value, and
  // those with a byte changed, cut or added
  const item = fc.uint8Array({ minLength: 0, maxLength: 300 })
  const valid = fc.array(fc.oneof(item, fc.uint8Array({ minLength: 100, maxLength: 120 })), { maxLength: 40 }).map((reports) => encodeCanonical([reports]))
  const other = fc.oneof(fc.constant(encodeCanonical([])), fc.constant(encodeCanonical([[], []])), fc.constant(encodeCanonical([['text']])), fc.constant(encodeCanonical([[1, 2]])), fc.constant(encodeCanonical({ reports: [] })), fc.uint8Array({ maxLength: 64 }))
  const body = fc.oneof(valid, other)
  const mutated = fc.tuple(body, fc.nat(), fc.nat(255), fc.integer({ min: 0, max: 3 })).map(([b, at, byte, how]) => {
    if (b.length === 0) return Uint8Array.of(byte)
    const i = at % b.length
    if (how === 0) return b
    if (how === 1) return Uint8Array.from(b, (x, j) => (j === i ? byte : x))
    if (how === 2) return b.subarray(0, i)
    return Uint8Array.from([...b.subarray(0, i), byte, ...b.subarray(i)])
  })
  let accepted = 0
  fc.assert(
    fc.property(mutated, (b) => {
      if (b.length > submit.maxBytes) return // the host refuses those before either reader
      const a = outcome(submit.readBytes, b)
      assert.is(a, outcome(generic, b), `body ${toHex(b).slice(0, 80)}`)
      if (a !== 'refused') accepted++
    }),
    { numRuns: 3000 },
  )
  assert.ok(accepted > 500, `${accepted} bodies accepted by both`)
  // the heads at their limits, by hand: 23 and 24 items, 23/24/255/256/257-byte reports
  for (const n of [0, 23, 24, 32, 33]) assert.is(outcome(submit.readBytes, encodeCanonical([Array.from({ length: n }, () => new Uint8Array(1))])), outcome(generic, encodeCanonical([Array.from({ length: n }, () => new Uint8Array(1))])))
  for (const len of [23, 24, 255, 256, 257]) assert.is(outcome(submit.readBytes, encodeCanonical([[new Uint8Array(len)]])), outcome(generic, encodeCanonical([[new Uint8Array(len)]])))
  // a non-shortest head (24 as 0x98 0x18 is canonical; 3 items as 0x98 0x03 is not)
  assert.is(outcome(submit.readBytes, Uint8Array.of(0x81, 0x98, 0x03, 0x40, 0x40, 0x40)), 'refused')
  assert.is(outcome(generic, Uint8Array.of(0x81, 0x98, 0x03, 0x40, 0x40, 0x40)), 'refused')
})

test('golden bodies of tally/economy/reports/1: the byte codecs and the CBOR codecs write these bytes and read them back', () => {
  type Kind<T> = MessageKind<T> & { readBytes(body: Uint8Array): T; writeBytes(m: T): Uint8Array }
  const { submit, verdicts } = reportsProtocol().messages as unknown as { submit: Kind<ReportMessages['submit']>; verdicts: Kind<ReportMessages['verdicts']> }
  const golden = [
    // [[h'010203', h'ab' × 24]]: a 3-byte report (head 0x43), a 24-byte one (head 0x58 0x18)
    [submit, { reports: [Uint8Array.of(1, 2, 3), new Uint8Array(24).fill(0xab)] }, '8182430102035818' + 'ab'.repeat(24)],
    // [[['ok', ''], ['late', 'epoch 3 is closed (open: 4)']]]
    [verdicts, { verdicts: [{ code: 'ok', reason: '' }, { code: 'late', reason: 'epoch 3 is closed (open: 4)' }] }, '818282626f6b6082646c617465781b65706f6368203320697320636c6f73656420286f70656e3a203429'],
  ] as const
  for (const [k, message, hex] of golden) {
    const kind = k as Kind<unknown>
    assert.is(toHex(kind.writeBytes(message)), hex)
    assert.is(toHex(encodeCanonical(kind.encode(message))), hex)
    const body = Uint8Array.from(Buffer.from(hex, 'hex'))
    assert.equal(kind.readBytes(body), message)
    assert.equal(kind.decode(decodeCanonical(body)), message)
  }
})

test('the byte codecs of submit and verdicts (writeBytes, and readBytes of verdicts) write and read exactly what the CBOR codecs do', () => {
  type Kind<T> = MessageKind<T> & { readBytes(body: Uint8Array): T; writeBytes(m: T): Uint8Array }
  const { submit, verdicts } = reportsProtocol().messages as unknown as { submit: Kind<ReportMessages['submit']>; verdicts: Kind<ReportMessages['verdicts']> }
  const generic = <T>(k: Kind<T>, body: Uint8Array): T => k.decode(decodeCanonical(body, { maxBytes: k.maxBytes, maxDepth: 32 }))
  const outcome = <T>(read: (body: Uint8Array) => T, body: Uint8Array): string => {
    try {
      return JSON.stringify(read(body), (_, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v))
    } catch (err) {
      assert.instance(err, DecodeError, `only DecodeError: ${(err as Error).message}`)
      return 'refused'
    }
  }
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 32 }), (reports) => {
      assert.equal(submit.writeBytes({ reports }), encodeCanonical(submit.encode({ reports })))
    }),
    { numRuns: 500 },
  )
  const code = fc.oneof({ arbitrary: fc.constantFrom('ok', 'malformed', 'late', 'early', 'unregistered', 'revoked', 'duplicate', 'signature', 'quota'), weight: 30 }, { arbitrary: fc.string({ maxLength: 20 }), weight: 1 })
  const reason = fc.oneof(fc.constant(''), fc.string({ maxLength: 210, unit: 'grapheme' }), fc.string({ maxLength: 30, unit: 'binary' }), fc.constantFrom('\uFEFF', '\uFEFFok', 'é', '€'.repeat(70), '\u{1F600}'.repeat(101)))
  const list = fc.array(fc.record({ code, reason }), { maxLength: 34 })
  let read = 0
  fc.assert(
    fc.property(list, fc.nat(), fc.nat(255), fc.integer({ min: 0, max: 3 }), (vs, at, byte, how) => {
      const m = { verdicts: vs as { code: ReportMessages['verdicts']['verdicts'][number]['code']; reason: string }[] }
      let body: Uint8Array
      try {
        body = encodeCanonical(verdicts.encode(m))
      } catch {
        assert.throws(() => verdicts.writeBytes(m))
        return
      }
      assert.equal(verdicts.writeBytes(m), body, 'written as the CBOR codec writes')
      const i = body.length === 0 ? 0 : at % body.length
      const b = how === 0 ? body : how === 1 ? Uint8Array.from(body, (x, j) => (j === i ? byte : x)) : how === 2 ? body.subarray(0, i) : Uint8Array.from([...body.subarray(0, i), byte, ...body.subarray(i)])
      if (b.length > verdicts.maxBytes) return
      const a = outcome((x) => verdicts.readBytes(x), b)
      assert.is(a, outcome((x) => generic(verdicts, x), b), `body ${toHex(b).slice(0, 120)}`)
      if (a !== 'refused') read++
    }),
    { numRuns: 1500 },
  )
  assert.ok(read > 100, `${read} verdict bodies read by both`)
  // text that is not UTF-8, a BOM kept, a reason of 200 and 201 characters
  for (const b of [Uint8Array.of(0x81, 0x81, 0x82, 0x62, 0x6f, 0x6b, 0x61, 0xff), Uint8Array.of(0x81, 0x81, 0x82, 0x62, 0x6f, 0x6b, 0x63, 0xef, 0xbb, 0xbf)]) {
    assert.is(outcome((x) => verdicts.readBytes(x), b), outcome((x) => generic(verdicts, x), b))
  }
  for (const n of [200, 201]) {
    const b = encodeCanonical([[['late', 'x'.repeat(n)]]])
    assert.is(outcome((x) => verdicts.readBytes(x), b), outcome((x) => generic(verdicts, x), b))
  }
})

test('a witness that is down gets the report at the retry, after the backoff on the host\'s clock', async () => {
  const net = network()
  await register(net, alice, component(1))
  const { reporter: r, outcomes } = reporter(net, component(1))
  net.harness.down(witnesses[0]!.publicKey)
  await r.report({ epoch: 0, metrics: [60_000, 5] })
  await r.flush()
  assert.is(outcomes.length, 2)
  net.harness.down(witnesses[0]!.publicKey, false)
  await net.harness.clock.advance(900)
  assert.is(outcomes.length, 2, 'not retried before the 1 s backoff')
  await net.harness.clock.advance(200)
  assert.is(outcomes.length, 3)
  assert.equal(outcomes[2]!.witness, witnesses[0]!.publicKey)
  assert.is(net.witnesses[0]!.reportCount(0), 1)
  r.close()
})

test('the outbox survives a restart: undelivered reports go out, and no seq is used twice', async () => {
  const net = network()
  await register(net, alice, component(1))
  const outbox = createMemoryOutbox()
  for (const w of witnesses) net.harness.down(w.publicKey)
  const first = reporter(net, component(1), outbox)
  await first.reporter.report({ epoch: 0, metrics: [10_000, 1] })
  await first.reporter.report({ epoch: 0, metrics: [20_000, 1] })
  await first.reporter.flush()
  assert.is(first.outcomes.length, 0)
  first.reporter.close()
  for (const w of witnesses) net.harness.down(w.publicKey, false)
  const second = reporter(net, component(1), outbox)
  assert.is(await second.reporter.pending(), 2)
  assert.equal(await second.reporter.report({ epoch: 0, metrics: [30_000, 1] }), { epoch: 0, seq: 2 })
  await second.reporter.flush()
  assert.is(second.outcomes.length, 3, 'the new report goes out at once; the old ones wait for their backoff')
  await net.harness.clock.advance(1000)
  assert.is(second.outcomes.filter((o) => o.status === 'accepted').length, 9)
  assert.equal(net.witnesses.map((w) => w.reportCount(0)), [3, 3, 3])
  second.reporter.close()
})

test('early and unregistered are retried; after the last attempt the reporter gives up and says why', async () => {
  const net = network()
  const outcomes: ReportOutcome[] = []
  const r = createReporter({ key: component(3), community: net.community, host: net.harness.party(component(3)), outbox: createMemoryOutbox(), retry: { baseMs: 1000, maxMs: 2000, attempts: 3 }, onOutcome: (o) => outcomes.push(o) })
  await r.report({ epoch: 0, metrics: [1, 1] })
  await r.flush()
  assert.is(outcomes.length, 0, 'unregistered: the directory may lag, so it is retried')
  await net.harness.clock.advance(1000)
  assert.is(outcomes.length, 0)
  await net.harness.clock.advance(2000)
  assert.equal(outcomes.map((o) => [o.status, o.code]), [['gave-up', 'unregistered'], ['gave-up', 'unregistered'], ['gave-up', 'unregistered']])
  assert.is(await r.pending(), 0)
  // early: a report for the next epoch waits until the witnesses open it
  await register(net, alice, component(1))
  const e = reporter(net, component(1))
  await e.reporter.report({ epoch: 1, metrics: [60_000, 1] })
  await e.reporter.flush()
  assert.is(e.outcomes.length, 0)
  for (const w of net.witnesses) await w.close()
  await net.harness.clock.advance(1000)
  assert.equal(e.outcomes.map((o) => o.status), ['accepted', 'accepted', 'accepted'])
  assert.equal(net.witnesses.map((w) => w.reportCount(1)), [1, 1, 1])
  r.close()
  e.reporter.close()
})

test.run()
