/**
 * The `reward` block type: a claim is valid only with a certificate of k witnesses and a Merkle
 * proof of (owner, amount) under its root, a balance that follows, and an epoch above the chain's
 * previous claim. Each rejection has its rule code; double claims are fraud provable alone; the
 * block stays under 400 bytes.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DecodeError, blockSize, createMemoryStore, validate, verifyFraudProof, type HalfBlock } from '@tally/core'
import {
  REWARD_CLAIM_FRAUD,
  createEconomyTypes,
  createEvidenceStore,
  decodeRewardEvidence,
  encodeRewardEvidence,
  rewardPayload,
  verifyRewardClaim,
  verifyRewardClaimFraud,
  LATE_CLAIM_EPOCHS,
  type EpochCertificate,
  type EpochResult,
  type EvidenceSource,
} from '@tally/economy'
import { alice, bob, certificate, chainOf, component, rules, runEpoch, storeWith, throwsLike, world, type Step } from './helpers.ts'

// Three certified epochs: alice and bob each run a gateway.
const w = world([[alice, component(1)], [bob, component(2)]])
const results: EpochResult[] = []
const certs: EpochCertificate[] = []
for (let e = 0; e < 3; e++) {
  results.push(runEpoch(w, [[component(1), [60_000 + e, 1]], [component(2), [10_000 * (e + 1), 1]]]))
  certs.push(certificate(results[e]!))
}
const evidence = createEvidenceStore(w.community)
for (let e = 0; e < 3; e++) {
  for (const owner of [alice, bob]) {
    assert.ok(evidence.put(owner.publicKey, results[e]!.amountOf(owner.publicKey), { certificate: certs[e]!, proof: results[e]!.proofFor(owner.publicKey)! }).ok)
  }
}
const types = createEconomyTypes({ community: w.community, evidence })

const amount = (e: number, who = alice) => results[e]!.amountOf(who.publicKey)
const claim = (e: number, before: number, overrides: Record<string, unknown> = {}): Step => ({
  type: 'reward',
  payload: { ...rewardPayload({ epoch: e, amount: amount(e), before, root: certs[e]!.root }), ...overrides } as never,
})

async function check(blocks: readonly HalfBlock[], stored = blocks.slice(0, -1), source?: EvidenceSource) {
  const store = await storeWith(stored)
  const t = source === undefined ? types : createEconomyTypes({ community: w.community, evidence: source })
  return validate(blocks[blocks.length - 1]!, { store, types: t })
}

const Valid = suite('reward: valid claims')

Valid('a claim backed by certificate and proof is valid, and small', async () => {
  const [r0, r1] = chainOf(alice, [claim(0, 0), claim(1, amount(0))])
  const first = await check([r0!])
  assert.is(first.level, 'partial-next')
  assert.equal(first.errors, [])
  const second = await check([r0!, r1!])
  assert.equal(second.errors, [])
  assert.ok(blockSize(r1!) <= 400, `reward block of ${blockSize(r1!)} bytes`)
})

Valid('skipping an epoch is allowed (claims only need increasing epochs)', async () => {
  const blocks = chainOf(alice, [claim(0, 0), claim(2, amount(0))])
  assert.equal((await check(blocks)).errors, [])
})

Valid('verifyRewardClaim checks a claim alone from block and evidence bytes', () => {
  const [r0] = chainOf(alice, [claim(0, 0)])
  const bytes = encodeRewardEvidence({ certificate: certs[0]!, proof: results[0]!.proofFor(alice.publicKey)! })
  assert.equal(verifyRewardClaim(r0!, decodeRewardEvidence(bytes), w.community), [])
  assert.ok(bytes.length < 400)
  throwsLike(() => decodeRewardEvidence(new Uint8Array([0x80])), DecodeError)
})

const Store = suite('reward: evidence store')

Store('keeps only evidence that backs its claim, and finds it by the whole claim', () => {
  const store = createEvidenceStore(w.community)
  const good = { certificate: certs[0]!, proof: results[0]!.proofFor(alice.publicKey)! }
  const weak = { ...good, certificate: { ...certs[0]!, signatures: certs[0]!.signatures.slice(0, 1) } }
  assert.match((store.put(alice.publicKey, amount(0) + 1, good) as { reason: string }).reason, /proof/)
  assert.match((store.put(bob.publicKey, amount(0), good) as { reason: string }).reason, /proof/)
  assert.match((store.put(alice.publicKey, amount(0), weak) as { reason: string }).reason, /quorum is 2/)
  assert.is(store.size, 0, 'nothing bad was kept: nobody can poison a claim')
  assert.equal(store.put(alice.publicKey, amount(0), good), { ok: true })
  const key = { owner: alice.publicKey, epoch: 0, root: certs[0]!.root, amount: amount(0) }
  assert.ok(store.evidence(key) !== undefined)
  assert.is(store.evidence({ ...key, amount: amount(0) + 1 }), undefined)
  assert.is(store.evidence({ ...key, epoch: 1 }), undefined)
  assert.is(store.certificates(0).length, 1)
  throwsLike(() => store.put(alice.publicKey, 0, good), RangeError, /amount/)
})

Valid('a certificate that arrives late is claimed after a newer one', async () => {
  const blocks = chainOf(alice, [claim(1, 0), claim(0, amount(1))])
  const result = await check(blocks)
  assert.equal(result.errors, [])
  assert.equal(result.fraud, [])
})

const Invalid = suite('reward: each rule')

/** A source that hands over whatever evidence it was built with, checked or not: the rules must catch it. */
const handing = (proofOf: typeof alice): EvidenceSource => ({
  evidence: ({ epoch }) => ({ certificate: certs[epoch]!, proof: results[epoch]!.proofFor(proofOf.publicKey)! }),
})

const cases: [string, () => HalfBlock[], string, EvidenceSource?][] = [
  ['malformed payload (no root)', () => chainOf(alice, [{ type: 'reward', payload: { epoch: 0, amount: amount(0), balance: amount(0) } }]), 'reward-payload'],
  ['an extra payload key', () => chainOf(alice, [claim(0, 0, { note: 'x' })]), 'reward-payload'],
  ['amount 0', () => chainOf(alice, [claim(0, 0, { amount: 0, balance: 0 })]), 'reward-payload'],
  ['a reward with a counterparty', () => chainOf(alice, [{ ...claim(0, 0), link: bob.publicKey }]), 'reward-unilateral'],
  ['no evidence held for the root', () => chainOf(alice, [claim(0, 0, { root: new Uint8Array(32).fill(1) })]), 'reward-evidence'],
  ['a wrong amount (no evidence can back it)', () => chainOf(alice, [claim(0, 0, { amount: amount(0) + 1, balance: amount(0) + 1 })]), 'reward-evidence'],
  ['a wrong amount, with alice\'s genuine proof', () => chainOf(alice, [claim(0, 0, { amount: amount(0) + 1, balance: amount(0) + 1 })]), 'reward-proof', handing(alice)],
  ['a foreign proof (bob\'s row claimed by alice)', () => {
    const stolen = { type: 'reward', payload: rewardPayload({ epoch: 0, amount: amount(0, bob), before: 0, root: certs[0]!.root }) }
    return chainOf(alice, [stolen])
  }, 'reward-proof', handing(bob)],
  ['a balance that does not add the amount', () => chainOf(alice, [claim(0, 0, { balance: amount(0) + 5 })]), 'balance'],
  ['the same epoch claimed twice', () => chainOf(alice, [claim(0, 0), claim(0, amount(0))]), 'reward-epoch'],
  ['an epoch claimed twice with a late claim between', () => chainOf(alice, [claim(1, 0), claim(0, amount(1)), claim(1, amount(1) + amount(0))]), 'reward-epoch'],
  ['a claim more than LATE_CLAIM_EPOCHS behind a newer one', () => {
    const far: Step = { type: 'reward', payload: rewardPayload({ epoch: LATE_CLAIM_EPOCHS + 1, amount: 5, before: 0, root: certs[1]!.root }) }
    return chainOf(alice, [far, claim(1, 5)])
  }, 'reward-epoch'],
]
for (const [what, make, rule, source] of cases) {
  Invalid(`${what} → '${rule}'`, async () => {
    const blocks = make()
    const result = await check(blocks, blocks.slice(0, -1), source)
    assert.is(result.level, 'invalid')
    assert.ok(rules(result.errors).includes(rule), `expected ${rule}, got ${rules(result.errors).join(', ')}`)
  })
}

Invalid('a certificate with fewer than k signatures → \'reward-certificate\'', async () => {
  const weak = { ...certs[0]!, signatures: certs[0]!.signatures.slice(0, 1) }
  const source: EvidenceSource = { evidence: () => ({ certificate: weak, proof: results[0]!.proofFor(alice.publicKey)! }) }
  const result = await check(chainOf(alice, [claim(0, 0)]), [], source)
  assert.equal(rules(result.errors), ['reward-certificate'])
  assert.match(result.errors[0]!.message, /quorum is 2/)
})

Invalid('a certificate signed by non-witnesses → \'reward-certificate\'', async () => {
  const digestOf = certs[0]!.signatures[0]!
  const forged = { ...certs[0]!, signatures: [digestOf, { index: 2, signature: alice.sign(certs[0]!.root) }] }
  const source: EvidenceSource = { evidence: () => ({ certificate: forged, proof: results[0]!.proofFor(alice.publicKey)! }) }
  assert.equal(rules((await check(chainOf(alice, [claim(0, 0)]), [], source)).errors), ['reward-certificate'])
})

Invalid('evidence for another epoch → \'reward-certificate-mismatch\'', async () => {
  const source: EvidenceSource = { evidence: () => ({ certificate: certs[1]!, proof: results[1]!.proofFor(alice.publicKey)! }) }
  assert.equal(rules((await check(chainOf(alice, [claim(0, 0)]), [], source)).errors), ['reward-certificate-mismatch'])
})

Invalid('the chain not known back to the previous reward → \'reward-history\'', async () => {
  const blocks = chainOf(alice, [claim(0, 0), { type: 'note', payload: 'x' }, claim(1, amount(0))])
  const result = await check(blocks, [blocks[1]!])
  assert.ok(rules(result.errors).includes('reward-history'))
})

const Fraud = suite('reward: fraud')

Fraud('a double claim yields a reward-claim proof that verifies alone', async () => {
  const blocks = chainOf(alice, [claim(0, 0), { type: 'note', payload: 'between' }, claim(0, amount(0))])
  const result = await check(blocks)
  const proof = result.fraud.find((p) => p.kind === REWARD_CLAIM_FRAUD)
  assert.ok(proof !== undefined)
  assert.equal(verifyFraudProof(proof!, { verifiers: types.fraudVerifiers() }), { ok: true })
})

Fraud('honest claims never make a reward-claim proof, late ones within the window included', () => {
  const [a, b] = chainOf(alice, [claim(0, 0), claim(1, amount(0))])
  assert.match(verifyRewardClaimFraud([a!, b!], undefined as never)!, /within the window/)
  const [newer, late] = chainOf(alice, [claim(1, 0), claim(0, amount(1))])
  assert.match(verifyRewardClaimFraud([newer!, late!], undefined as never)!, /within the window/)
  const twice = chainOf(alice, [claim(0, 0), claim(0, amount(0))])
  assert.is(verifyRewardClaimFraud(twice, undefined as never), undefined, 'the same epoch twice is fraud')
  assert.match(verifyRewardClaimFraud([a!], undefined as never)!, /exactly two/)
  const [note] = chainOf(alice, [{ type: 'note', payload: 1 }])
  assert.match(verifyRewardClaimFraud([note!, b!], undefined as never)!, /rewards/)
})

Fraud('an honest agent claiming its epochs in order is never accused', async () => {
  const store = createMemoryStore()
  const blocks = chainOf(alice, [claim(0, 0), claim(1, amount(0)), claim(2, amount(0) + amount(1))])
  for (const b of blocks) {
    const result = await validate(b, { store, types })
    assert.equal(result.errors, [])
    assert.equal(result.fraud, [])
    await store.batch().put(b).commit()
  }
})

Valid.run()
Store.run()
Invalid.run()
Fraud.run()
