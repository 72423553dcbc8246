/**
 * Metric reports and the monitor: the report encoding, then every reason a report is refused
 * (malformed, late, early, unregistered, revoked, duplicate, signature), per-component sums, and
 * batch ingest through a pluggable signature verifier.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { DecodeError, encodeCanonical, concatBytes, nobleCrypto } from '@tally/core'
import {
  approveRevocation,
  createMonitor,
  decodeReport,
  reportMessage,
  signReport,
  sortSignatures,
  type SignatureBatchVerifier,
  type SignedMessage,
} from '@tally/economy'
import { alice, bob, component, genesis, throwsLike, witnesses, world } from './helpers.ts'

const gw = component(1)
const router = component(2)

// ## Reports

const Reports = suite('monitor: reports')

Reports('sign → decode keeps every field; the signature covers tag, community and body', () => {
  const { community } = genesis()
  const bytes = signReport({ component: gw.publicKey, epoch: 7, seq: 3, metrics: [52_000, 140] }, gw, community.id)
  assert.ok(bytes.length < 128, `a report is small: ${bytes.length} bytes`)
  const r = decodeReport(bytes)
  assert.equal([r.epoch, r.seq, [...r.metrics]], [7, 3, [52_000, 140]])
  assert.ok(nobleCrypto.verify(r.signature, reportMessage(community.id, r.body), gw.publicKey))
  assert.not.ok(nobleCrypto.verify(r.signature, reportMessage(new Uint8Array(32), r.body), gw.publicKey), 'bound to its community')
})

Reports('signing refuses malformed fields and a key that is not the component', () => {
  const { community } = genesis()
  throwsLike(() => signReport({ component: gw.publicKey, epoch: 0, seq: 0, metrics: [1] }, alice, community.id), RangeError, /component's key/)
  throwsLike(() => signReport({ component: gw.publicKey, epoch: -1, seq: 0, metrics: [1] }, gw, community.id), RangeError, /epoch/)
  throwsLike(() => signReport({ component: gw.publicKey, epoch: 0, seq: 0, metrics: [] }, gw, community.id), RangeError, /metrics/)
  throwsLike(() => signReport({ component: gw.publicKey, epoch: 0, seq: 0, metrics: [2 ** 32] }, gw, community.id), RangeError, /metrics\[0\]/)
  throwsLike(() => signReport({ component: gw.publicKey, epoch: 0, seq: 0, metrics: [0.5] }, gw, community.id), TypeError)
})

Reports('decode refuses malformed bytes', () => {
  const sig = new Uint8Array(64)
  const cases: Uint8Array[] = [
    new Uint8Array(10),
    concatBytes(encodeCanonical([gw.publicKey, 0, 0]), sig),
    concatBytes(encodeCanonical([gw.publicKey, 0, 0, []]), sig),
    concatBytes(encodeCanonical([gw.publicKey, 0, 0, [2 ** 32]]), sig),
    concatBytes(encodeCanonical([new Uint8Array(31), 0, 0, [1]]), sig),
    concatBytes(encodeCanonical([gw.publicKey, -1, 0, [1]]), sig),
    new Uint8Array(300),
  ]
  for (const bytes of cases) throwsLike(() => decodeReport(bytes), DecodeError)
})

Reports('property: any report round-trips', () => {
  const { community } = genesis()
  fc.assert(
    fc.property(fc.nat(), fc.nat(), fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { minLength: 1, maxLength: 8 }), (epoch, seq, metrics) => {
      const r = decodeReport(signReport({ component: gw.publicKey, epoch, seq, metrics }, gw, community.id))
      return r.epoch === epoch && r.seq === seq && r.metrics.every((m, i) => m === metrics[i])
    }),
    { numRuns: 50 },
  )
})

// ## The monitor

const Monitor = suite('monitor: ingest')

const setup = () => world([[alice, gw], [bob, router, 'router']])
const report = (w: ReturnType<typeof setup>, comp = gw, fields: Partial<{ epoch: number; seq: number; metrics: number[] }> = {}) =>
  signReport({ component: comp.publicKey, epoch: w.monitor.epoch, seq: 0, metrics: comp === router ? [60] : [1_000, 2], ...fields }, comp, w.community.id)

Monitor('accepted reports are summed per component and metric', () => {
  const w = setup()
  assert.equal(w.monitor.submit(report(w, gw, { seq: 0, metrics: [1_000, 2] })), { ok: true, component: 0 })
  assert.equal(w.monitor.submit(report(w, gw, { seq: 1, metrics: [500, 1] })), { ok: true, component: 0 })
  assert.equal(w.monitor.submit(report(w, router, { seq: 5 })), { ok: true, component: 1 })
  assert.equal(w.monitor.current(gw.publicKey), { reports: 2, metrics: [1_500, 3] })
  const m = w.monitor.close()
  assert.is(m.epoch, 0)
  assert.is(m.accepted, 3)
  assert.equal([m.sums[0], m.sums[1], m.sums[m.width]], [1_500, 3, 60])
  assert.equal([m.reports[0], m.reports[1]], [2, 1])
  assert.is(w.monitor.epoch, 1)
  assert.is(w.monitor.current(gw.publicKey), undefined)
})

const rejections: [string, (w: ReturnType<typeof setup>) => Uint8Array, string][] = [
  ['malformed bytes', () => new Uint8Array([1, 2, 3]), 'malformed'],
  ['a gateway report with one metric', (w) => report(w, gw, { metrics: [5] }), 'malformed'],
  ['a late report (epoch closed)', (w) => (w.monitor.close(), report(w, gw, { epoch: 0 })), 'late'],
  ['an early report', (w) => report(w, gw, { epoch: 1 }), 'early'],
  ['an unregistered component', (w) => report(w, component(9)), 'unregistered'],
  ['a duplicate (replayed seq)', (w) => (w.monitor.submit(report(w, gw, { seq: 4 })), report(w, gw, { seq: 4 })), 'duplicate'],
  ['an older seq', (w) => (w.monitor.submit(report(w, gw, { seq: 4 })), report(w, gw, { seq: 2 })), 'duplicate'],
  ['a forged signature', (w) => {
    const bytes = report(w)
    bytes[bytes.length - 1]! ^= 1
    return bytes
  }, 'signature'],
  ['a report signed under another community', (w) => signReport({ component: gw.publicKey, epoch: 0, seq: 0, metrics: [1, 1] }, gw, new Uint8Array(32)), 'signature'],
]
for (const [what, make, code] of rejections) {
  Monitor(`refused: ${what} → '${code}'`, async () => {
    const w = setup()
    const bytes = make(w)
    const verdict = w.monitor.submit(bytes)
    assert.is(verdict.ok, false)
    assert.is((verdict as { code: string }).code, code)
    assert.is(w.monitor.stats.rejected[code as 'late'], 1)
    // the batch path gives the same verdict
    const w2 = setup()
    const [batched] = await w2.monitor.ingest([make(w2)])
    assert.is((batched as { code: string }).code, code)
  })
}

Monitor('refused: a revoked component → \'revoked\'', () => {
  const w = setup()
  const r = { community: w.community.id, component: gw.publicKey }
  assert.ok(w.directory.revoke({ ...r, witnesses: sortSignatures(witnesses.slice(0, 2).map((x) => approveRevocation(r, x, w.config))) }).ok)
  assert.is((w.monitor.submit(report(w)) as { code: string }).code, 'revoked')
})

Monitor('a refused report changes no sum and no seq', () => {
  const w = setup()
  const forged = report(w, gw, { seq: 9 })
  forged[forged.length - 1]! ^= 1
  w.monitor.submit(forged)
  assert.is(w.monitor.current(gw.publicKey), undefined)
  assert.ok(w.monitor.submit(report(w, gw, { seq: 1 })).ok, 'a forged high seq did not advance the seq')
})

Monitor('a component registered mid-epoch can report at once', () => {
  const w = setup()
  w.directory.addVerified({ component: component(3).publicKey, owner: alice.publicKey, type: 'gateway' })
  assert.ok(w.monitor.submit(report(w, component(3))).ok)
  assert.is(w.monitor.close().count, 3)
})

Monitor('ingest hands the signatures of a batch to the pluggable verifier, once', async () => {
  const { directory, community } = setup()
  const batches: SignedMessage[][] = []
  const verify: SignatureBatchVerifier = async (items) => {
    batches.push([...items])
    return items.map((i) => nobleCrypto.verify(i.signature, i.message, i.publicKey))
  }
  const monitor = createMonitor({ directory, epoch: 0, verify })
  const reports = [0, 1, 2].map((seq) => signReport({ component: gw.publicKey, epoch: 0, seq, metrics: [10, 1] }, gw, community.id))
  const verdicts = await monitor.ingest([...reports, new Uint8Array(3), reports[1]!])
  assert.equal(verdicts.map((v) => v.ok), [true, true, true, false, false])
  assert.is((verdicts[4] as { code: string }).code, 'duplicate')
  assert.is(batches.length, 1)
  assert.is(batches[0]!.length, 4, 'the malformed report never reaches the verifier')
  assert.equal(monitor.current(gw.publicKey), { reports: 3, metrics: [30, 3] })
})

Monitor('a report whose epoch closes while its signature is checked is late', async () => {
  const { directory, community } = setup()
  let release: () => void = () => {}
  const gate = new Promise<void>((r) => (release = r))
  const monitor = createMonitor({ directory, epoch: 0, verify: async (items) => (await gate, items.map(() => true)) })
  const pending = monitor.ingest([signReport({ component: gw.publicKey, epoch: 0, seq: 0, metrics: [1, 1] }, gw, community.id)])
  monitor.close()
  release()
  const [verdict] = await pending
  assert.is((verdict as { code: string }).code, 'late')
})

Monitor('a verifier returning the wrong number of results is a caller error', async () => {
  const { directory, community } = setup()
  const monitor = createMonitor({ directory, epoch: 0, verify: async () => [] })
  let thrown: unknown
  try {
    await monitor.ingest([signReport({ component: gw.publicKey, epoch: 0, seq: 0, metrics: [1, 1] }, gw, community.id)])
  } catch (err) {
    thrown = err
  }
  assert.ok(thrown instanceof TypeError)
})

Reports.run()
Monitor.run()
