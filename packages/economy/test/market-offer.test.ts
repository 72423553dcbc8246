/**
 * Offers, outcome certificates and the market view, one rule at a time: an offer's form, the
 * notice an offer-end must give, outcomes evaluated from sealed metrics and certified beside the
 * rewards (never readable as a reward certificate), evidence that verifies alone and breaks when
 * any byte changes, and a view that checks what it keeps, searches, and drops what ended.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { compareBytes, concatBytes, createBlockTypes, encodeCanonical, equalBytes, toHex, validate } from '@tally/core'
import fc from 'fast-check'
import { approveRevocation, buildMerkleTree, certificateDigest, closeEpoch, encodeCertificate, sortSignatures, verifyMerkleProof, type Directory, type EpochMetrics } from '@tally/economy'
import {
  certifyOutcomes,
  closeOutcomes,
  createMarketView,
  createOutcomeStore,
  decodeOutcomeEvidence,
  encodeOutcomeEvidence,
  offerPayload,
  offerTypes,
  offerView,
  outcomeDigest,
  outcomeLeaf,
  signOutcomes,
  verifyOutcome,
  type OfferView,
} from '@tally/economy/market'
import { alice, bob, carol, chainOf, component, rules, storeWith, witnesses, world, T0 } from './helpers.ts'
import { baseOffer } from './market-fixtures.ts'

const w = world([[alice, component(1)], [alice, component(2)], [bob, component(3)], [carol, component(4), 'router']])
const types = createBlockTypes(offerTypes(w.community))
const offerStep = (fields = {}) => ({ type: 'offer', payload: offerPayload({ ...baseOffer([component(1).publicKey]), from: 0, ...fields }) })
const [o1] = chainOf(alice, [offerStep()])
const HOUR = 3_600_000

const Offers = suite('offer: form and notice')

Offers('a well-formed offer is valid; every broken field is offer-payload', async () => {
  assert.equal((await validate(o1!, { store: await storeWith([]), types })).errors, [])
  const bad: Record<string, unknown>[] = [
    { price: 0 }, { cycle: 0 }, { until: 0 }, { components: [] }, { components: [new Uint8Array(31)] },
    { criteria: [] }, { criteria: [['airtime', 'gt', 1]] }, { type: '' }, { type: 'x'.repeat(33) },
  ]
  for (const fields of bad) {
    const payload = { ...(offerStep().payload as Record<string, unknown>), ...fields }
    if (fields['criteria'] !== undefined) payload['criteria'] = fields['criteria']
    const [b] = chainOf(alice, [{ type: 'offer', payload: payload as never }])
    assert.ok(rules((await validate(b!, { store: await storeWith([]), types })).errors).includes('offer-payload'), JSON.stringify(fields))
  }
  assert.throws(() => offerPayload({ ...baseOffer([component(1).publicKey]), price: 0 }), RangeError)
  const [, transaction] = chainOf(alice, [offerStep(), { ...offerStep(), link: bob.publicKey }])
  assert.ok(rules((await validate(transaction!, { store: await storeWith([o1!]), types })).errors).includes('offer-unilateral'))
})

Offers('an offer-end gives the notice: last ≥ its epoch + notice (or the offer\'s end)', async () => {
  // chainOf dates seq s at T0 + s ms: epoch 0, notice 2 → last ≥ 2
  const [a, early] = chainOf(alice, [offerStep(), { type: 'offer-end', payload: { offer: 1, last: 1 } }])
  assert.ok(rules((await validate(early!, { store: await storeWith([a!]), types })).errors).includes('offer-end-notice'))
  const [, ok] = chainOf(alice, [offerStep(), { type: 'offer-end', payload: { offer: 1, last: 2 } }])
  assert.equal((await validate(ok!, { store: await storeWith([a!]), types })).errors, [])
  const [, , notOffer] = chainOf(alice, [offerStep(), { type: 'note', payload: 1 }, { type: 'offer-end', payload: { offer: 2, last: 9 } }])
  const held = chainOf(alice, [offerStep(), { type: 'note', payload: 1 }])
  assert.ok(rules((await validate(notOffer!, { store: await storeWith(held), types })).errors).includes('offer-end-offer'))
  const [, self] = chainOf(alice, [offerStep(), { type: 'offer-end', payload: { offer: 2, last: 9 } }])
  assert.ok(rules((await validate(self!, { store: await storeWith([a!]), types })).errors).includes('offer-end-offer'))
  const [, malformed] = chainOf(alice, [offerStep(), { type: 'offer-end', payload: { offer: 1 } }])
  assert.ok(rules((await validate(malformed!, { store: await storeWith([a!]), types })).errors).includes('offer-end-payload'))
})

const Outcomes = suite('outcomes: evaluated from the sealed metrics, certified beside the rewards')

function close(reports: [number, number[]][], offers = [offerView(o1!)!]) {
  for (const [c, metrics] of reports) w.monitor.submit(signReportFor(c, metrics))
  const metrics = w.monitor.close()
  const result = closeEpoch({ directory: w.directory, karma: w.karma, metrics })
  const o = closeOutcomes({ directory: w.directory, metrics, offers, rewards: result.body.root })
  const cert = certifyOutcomes(o.body, [signOutcomes(o.body, witnesses[0]!, o.config), signOutcomes(o.body, witnesses[2]!, o.config)], o.config)
  return { result, o, cert }
}
import { signReport } from '@tally/economy'
function signReportFor(c: number, metrics: number[]) {
  return signReport({ component: component(c).publicKey, epoch: w.monitor.epoch, seq: 0, metrics }, component(c), w.community.id)
}

Outcomes('pass and fail by criteria; offers on others\' or unknown components, of another type, or naming unknown metrics are left out', async () => {
  const two = offerView(chainOf(alice, [offerStep({ components: [component(1).publicKey, component(2).publicKey], criteria: [{ metric: 'airtime', op: 'ge', value: 1_000 }, { metric: 'messages', op: 'le', value: 5 }] })])[0]!)!
  const stolen = offerView(chainOf(alice, [offerStep({ components: [component(3).publicKey] })])[0]!)!
  const wrongType = offerView(chainOf(carol, [offerStep({ components: [component(4).publicKey] })])[0]!)!
  const unknownMetric = offerView(chainOf(alice, [offerStep({ criteria: [{ metric: 'uptime', op: 'ge', value: 1 }] })])[0]!)!
  const notYet = offerView(chainOf(alice, [offerStep({ from: 5 })])[0]!)!
  const { o, cert } = close([[1, [2_000, 1]], [2, [2_000, 9]]], [offerView(o1!)!, two, stolen, wrongType, unknownMetric, notYet])
  assert.is(o.body.leaves, 2)
  assert.is(o.outcomeOf(offerView(o1!)!.id), true)
  assert.is(o.outcomeOf(two.id), false, 'component 2 sent 9 messages, the offer allows 5')
  for (const left of [stolen, wrongType, unknownMetric, notYet]) assert.is(o.outcomeOf(left.id), undefined)
  const ev = o.evidenceFor(two.id, cert)!
  assert.equal(verifyOutcome(two.id, o.epoch, ev, w.community), { ok: true })
  // a component that sent nothing fails a 'ge' criterion
  const next = close([[2, [2_000, 1]]])
  assert.is(next.o.outcomeOf(offerView(o1!)!.id), false)
})

Outcomes('evidence verifies alone, round-trips, and any changed byte, epoch, outcome or signer breaks it', async () => {
  const { o, cert, result } = close([[1, [2_000, 1]]])
  const id = offerView(o1!)!.id
  const ev = o.evidenceFor(id, cert)!
  const bytes = encodeOutcomeEvidence(ev)
  assert.equal(verifyOutcome(id, o.epoch, decodeOutcomeEvidence(bytes), w.community), { ok: true })
  assert.not.ok(verifyOutcome(id, o.epoch + 1, ev, w.community).ok)
  assert.not.ok(verifyOutcome(id, o.epoch, { ...ev, passed: !ev.passed }, w.community).ok)
  assert.not.ok(verifyOutcome(new Uint8Array(32), o.epoch, ev, w.community).ok)
  let broken = 0
  for (let i = 0; i < bytes.length; i++) {
    const flipped = Uint8Array.from(bytes)
    flipped[i]! ^= 1
    let ok = false
    try {
      ok = verifyOutcome(id, o.epoch, decodeOutcomeEvidence(flipped), w.community).ok
    } catch {
      ok = false
    }
    if (!ok) broken++
  }
  assert.is(broken, bytes.length)
  // one witness is not a quorum
  assert.throws(() => certifyOutcomes(o.body, [signOutcomes(o.body, witnesses[0]!, o.config)], o.config), RangeError)
  // the outcome body names the reward root; its digest is not a reward certificate's
  assert.equal(o.body.rewards, result.body.root)
  assert.not.equal(outcomeDigest(o.body), certificateDigest({ configId: o.body.configId, epoch: o.body.epoch, root: o.body.root, leaves: o.body.leaves, total: 0 }))
  assert.ok(encodeCertificate.length >= 0)
  // the store keeps checked evidence only
  const store = createOutcomeStore(w.community)
  assert.not.ok(store.put(id, { ...ev, passed: !ev.passed }).ok)
  assert.ok(store.put(id, ev).ok)
  assert.is(store.get(id, o.epoch), ev)
  assert.is(encodeCanonical(1).length, 1)
})

Outcomes('the fast leaves of a close are outcomeLeaf\'s, at every size of epoch head', () => {
  const offers = [offerView(o1!)!, offerView(chainOf(alice, [offerStep({ components: [component(2).publicKey] })])[0]!)!]
  for (const epoch of [0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32]) {
    const metrics = { epoch, count: 0, width: 2, sums: new Float64Array(0), reports: new Uint32Array(0), accepted: 0 }
    const o = closeOutcomes({ directory: w.directory, metrics, offers: offers.map((x) => ({ ...x, until: 2 ** 40 })), rewards: new Uint8Array(32) })
    const sorted = [...o.ids]
    const expected = buildMerkleTree(concatBytes(...sorted.map((id) => outcomeLeaf(id, epoch, o.outcomeOf(id)!))))
    assert.equal(o.body.root, expected.root, `epoch ${epoch}`)
    assert.is(o.body.leaves, 2)
  }
})

Outcomes('a close agrees with the plain rule: offers by id (ids sharing their first bytes, repeated ids: the last certified counts), sums of the sealed metrics, registrations of the directory at hand', () => {
  // a second world with the same component keys at other indexes, one revoked: the close looks
  // components up in the directory it is given, whatever it was given before
  const v = world([[bob, component(3)], [alice, component(2)], [alice, component(1)], [carol, component(4), 'router']])
  const rev = { community: v.community.id, component: component(2).publicKey }
  assert.ok(v.directory.revoke({ ...rev, witnesses: sortSignatures(witnesses.slice(0, 2).map((x) => approveRevocation(rev, x, v.config))) }).ok)
  const keys = [1, 2, 3, 4, 5].map((n) => component(n).publicKey) // component(5) is registered nowhere
  // ids: a few share their first 4 bytes (the order falls to later bytes), one sorts first, one last
  const ids = [0, 1, 2, 3, 4, 5].map((n) => Uint8Array.from({ length: 32 }, (_, i) => (i < 4 ? 0x7f : (n * 37 + i * 11) & 0xff)))
  ids.push(new Uint8Array(32), new Uint8Array(32).fill(0xff), Uint8Array.from({ length: 32 }, (_, i) => (i === 3 ? 0x80 : 0x7f)))
  // mostly offers a witness certifies (a seller's own components, their type, its metrics), some not
  const sellers = [
    { seller: alice.publicKey, type: 'gateway', keys: [keys[0]!, keys[1]!], metrics: ['airtime', 'messages'] },
    { seller: bob.publicKey, type: 'gateway', keys: [keys[2]!], metrics: ['airtime', 'messages'] },
    { seller: carol.publicKey, type: 'router', keys: [keys[3]!], metrics: ['uptime'] },
  ]
  const offerOf = fc
    .record({
      id: fc.integer({ min: 0, max: ids.length - 1 }),
      seller: fc.integer({ min: 0, max: 2 }),
      type: fc.integer({ min: 0, max: 9 }),
      components: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 3 }),
      criteria: fc.array(fc.record({ metric: fc.integer({ min: 0, max: 9 }), op: fc.constantFrom('ge' as const, 'le' as const), value: fc.integer({ min: 0, max: 3_000 }) }), { minLength: 1, maxLength: 3 }),
      from: fc.integer({ min: 0, max: 3 }),
    })
    .map((p) => {
      const s = sellers[p.seller]!
      return {
        id: p.id,
        seller: s.seller,
        // 0: a type nobody has; 1: the other type
        type: p.type === 0 ? 'relay' : p.type === 1 ? (s.type === 'gateway' ? 'router' : 'gateway') : s.type,
        // 8: a component registered nowhere; 9: someone else's
        components: p.components.map((c) => (c < 8 ? s.keys[c % s.keys.length]! : c === 8 ? keys[4]! : keys[(p.seller + 2) % 4]!)),
        // 9: a metric of the other type
        criteria: p.criteria.map((c) => ({ ...c, metric: c.metric < 9 ? s.metrics[c.metric % s.metrics.length]! : s.type === 'gateway' ? 'uptime' : 'airtime' })),
        from: p.from,
      }
    })
  let certified = 0
  let repeated = 0
  fc.assert(
    fc.property(fc.array(offerOf, { maxLength: 40, size: 'max' }), fc.boolean(), fc.integer({ min: 0, max: 4 }), fc.array(fc.integer({ min: 0, max: 3_000 }), { minLength: 8, maxLength: 8 }), fc.constantFrom(0, 2, 300, 70_000), (picks, second, count, sums, epoch) => {
      const directory = (second ? v : w).directory
      const offers = picks.map((p) => ({ ...offerView(o1!)!, ...p, id: ids[p.id]!, from: epoch + p.from - 1, until: epoch + 2 }))
      const metrics = { epoch, count, width: 2, sums: Float64Array.from(sums.slice(0, count * 2)), reports: new Uint32Array(count), accepted: count }
      const o = closeOutcomes({ directory, metrics, offers, rewards: new Uint8Array(32) })
      const expected = plainOutcomes(directory, metrics, offers)
      // offers from any iterable: forty rounds of them from a generator (the close's buffers grow past 256)
      const rounds = function* () {
        for (let r = 0; r < 40; r++) yield* offers
      }
      assert.equal(closeOutcomes({ directory, metrics, offers: rounds(), rewards: new Uint8Array(32) }).body.root, o.body.root)
      certified += expected.length
      repeated += expected.filter((r) => r.of > 1).length
      assert.equal(o.ids.map(toHex), expected.map((r) => toHex(r.id)))
      assert.equal(o.ids.map((id) => o.outcomeOf(id)), expected.map((r) => r.passed))
      assert.equal(o.body.root, buildMerkleTree(concatBytes(...expected.map((r) => outcomeLeaf(r.id, epoch, r.passed)))).root)
      assert.is(o.body.leaves, expected.length)
      const cert = { ...o.body, signatures: [] }
      o.ids.forEach((id, i) => {
        const ev = o.evidenceFor(id, cert)!
        assert.is(ev.proof.index, i)
        assert.ok(verifyMerkleProof(outcomeLeaf(id, epoch, ev.passed), ev.proof, o.body.leaves, o.body.root))
      })
      for (const id of ids) if (!expected.some((r) => equalBytes(r.id, id))) assert.is(o.outcomeOf(id), undefined)
    }),
    { numRuns: 300 },
  )
  // the runs did reach the cases that matter
  assert.ok(certified > 400 && repeated > 30, `${certified} certified, ${repeated} of repeated ids with differing outcomes`)
})

/** The module doc's rule, written plainly: which offers the epoch certifies and whether each passed, by ascending id. */
function plainOutcomes(directory: Directory, metrics: EpochMetrics, offers: readonly OfferView[]): { id: Uint8Array; passed: boolean; of: number }[] {
  const config = directory.community.configAt(metrics.epoch)!
  const chosen = new Map<string, { id: Uint8Array; passed: boolean; of: number }>()
  for (const offer of offers) {
    if (metrics.epoch < offer.from || metrics.epoch >= offer.until) continue
    const metricNames = Object.hasOwn(config.components, offer.type) ? config.components[offer.type]!.metrics : undefined
    if (metricNames === undefined || offer.criteria.some((c) => !metricNames.includes(c.metric))) continue
    let certified = true
    let passed = true
    for (const key of offer.components) {
      const info = directory.find(key)
      if (info === undefined || !info.active || info.type !== offer.type || !equalBytes(info.owner, offer.seller)) certified = false
      else {
        for (const c of offer.criteria) {
          const sum = info.index < metrics.count ? metrics.sums[info.index * metrics.width + metricNames.indexOf(c.metric)]! : 0
          if (c.op === 'ge' ? sum < c.value : sum > c.value) passed = false
        }
      }
    }
    if (!certified) continue
    // of: how many certified offers with this id disagreed so far (the last one counts)
    const before = chosen.get(toHex(offer.id))
    chosen.set(toHex(offer.id), { id: offer.id, passed, of: before === undefined ? 1 : before.of + (before.passed !== passed ? 1 : 0) })
  }
  return [...chosen.values()].sort((a, b) => compareBytes(a.id, b.id))
}

const View = suite('market view: checked, searchable, and it drops what ended')

View('search by type, price and reputation; withdrawn and expired offers drop out; forged blocks are refused; limits hold', () => {
  const view = createMarketView({ community: w.community, maxPerSeller: 2, reputation: { record: () => ({ ok: true }), of: (s) => ({ passed: 0, failed: 0, score: s[0]! / 255 }) } })
  const [a1, a2, a3] = chainOf(alice, [offerStep({ price: 30 }), offerStep({ price: 10, until: 5 }), offerStep({ price: 5 })])
  const [b1] = chainOf(bob, [offerStep({ price: 20, components: [component(3).publicKey] })])
  const [c1] = chainOf(carol, [offerStep({ type: 'router', price: 1, components: [component(4).publicKey], criteria: [{ metric: 'uptime', op: 'ge', value: 990 }] })])
  assert.equal([view.add(a1!), view.add(a2!), view.add(a3!), view.add(b1!), view.add(c1!), view.add(a1!)], ['added', 'added', 'full', 'added', 'added', 'known'])
  assert.is(view.add({ ...b1!, timestamp: b1!.timestamp + 1 }), 'invalid', 'a block whose signature does not cover it')
  assert.equal(view.search({ epoch: 2, type: 'gateway' }).map((l) => l.offer.price), [10, 20, 30])
  assert.equal(view.search({ epoch: 2, type: 'gateway', maxPrice: 20 }).map((l) => l.offer.price), [10, 20])
  assert.equal(view.search({ epoch: 2, type: 'router' }).map((l) => l.offer.price), [1])
  const minScore = Math.min(alice.publicKey[0]!, bob.publicKey[0]!) / 255 + 1e-9
  assert.ok(view.search({ epoch: 2, minScore }).every((l) => l.reputation.score >= minScore))
  assert.equal(view.search({ epoch: 6, type: 'gateway' }).map((l) => l.offer.price), [20, 30], 'the offer until 5 expired')
  const [, , early] = chainOf(alice, [offerStep({ price: 30 }), offerStep({ price: 10, until: 5 }), { type: 'offer-end', payload: { offer: 1, last: 1 } }])
  assert.is(view.end(early!), 'invalid', 'an end that does not give the notice')
  const [, , end] = chainOf(alice, [offerStep({ price: 30 }), offerStep({ price: 10, until: 5 }), { type: 'offer-end', payload: { offer: 1, last: 3 } }])
  assert.is(view.end(end!), 'added')
  assert.equal(view.search({ epoch: 3, type: 'gateway' }).map((l) => l.offer.price), [10, 20, 30])
  assert.equal(view.search({ epoch: 4, type: 'gateway' }).map((l) => l.offer.price), [10, 20])
  assert.is(view.get(offerView(a1!)!.id)?.last, 3)
  assert.is(view.prune(5), 2)
  assert.is(view.size, 2)
  assert.is(T0 > 0 && HOUR > 0, true)
})

Offers.run()
Outcomes.run()
View.run()
