/**
 * SLA subscriptions end to end on wallets: an offer in the seller's chain, a subscription as a lock
 * transaction (the buyer's escrow, the seller's penalty), outcomes certified beside the rewards,
 * and settlement cycle by cycle — a passed cycle pays one instalment, a failed one pays the penalty
 * and stops — with the rules that refuse every other redeem, and the supply audit after it all.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { InvalidBlockError, RefusedError, nobleCrypto, createAgent, createBlockTypes, createMemoryStore, validate, verifyFraudProof, type HalfBlock, type SeedIdentity } from '@tally/core'
import { REDEEM_EXCESS_FRAUD, auditSupply, economyTypes, lockView, readRedeem, voucherAuthority } from '@tally/economy'
import { RELEASE_CERTIFIED_FRAUD, cycleVerdict, offerTypes, readSlaTerms, redeemInstalment, redeemPenalty, releaseCertifiedProof, releaseCertifiedVerifier, slaEntitlement, slaValue, subscribe, atStake } from '@tally/economy/market'
import { carol, chainOf, rejectsLike, rules, storeWith } from './helpers.ts'
import { alice, bob, component, cycle, marketWorld } from './market-fixtures.ts'

const up: [SeedIdentity, number[]] = [component(1), [60_000, 1]]
const others: [SeedIdentity, number[]] = [component(2), [60_000, 1]]

const Flow = suite('sla: subscribe, certify, settle cycle by cycle')

Flow('two passed cycles pay two instalments; a failed one pays the penalty and stops; leftovers are released', async () => {
  const m = await marketWorld()
  const { wa, wb, at } = m
  const offer = await m.list(wa, alice)
  const history = [m.claims.get(bob)!]
  await wb.agent.receive(offer.block) // the buyer holds the offer its locks name

  // cycle 1: epochs 1-2
  const p1 = await subscribe(wb, offer, 1)
  const c1 = await cycle(wb, wa, p1, history)
  assert.equal([await wb.balance(), await wa.balance()], [450, 480], 'price and penalty leave the spendable balances')
  assert.equal(readSlaTerms(lockView(c1.penalty)!.terms)?.start, 1)
  assert.is(atStake(lockView(p1)!, offer, m.outcomes), 50)
  at(1); m.epoch([up, others])
  assert.equal(cycleVerdict(offer, 1, m.outcomes), { state: 'pending', epoch: 2 })
  await rejectsLike(redeemInstalment(wa, p1), InvalidBlockError, /redeem/) // epoch 2 is not certified yet
  at(2); m.epoch([up, others])
  assert.equal(cycleVerdict(offer, 1, m.outcomes), { state: 'passed' })
  assert.is(atStake(lockView(p1)!, offer, m.outcomes), 0)
  const i1 = await redeemInstalment(wa, p1)
  assert.equal([readRedeem(i1.payload)!.amount, await wa.balance()], [50, 530])
  await rejectsLike(redeemInstalment(wa, p1), RangeError, /nothing new/) // once
  await rejectsLike(redeemPenalty(wb, c1.penalty, 1), InvalidBlockError) // the cycle passed

  // cycle 2: epochs 3-4, renewed once cycle 1 is decided; epoch 3 fails
  at(3)
  const p2 = await subscribe(wb, offer, 3)
  const c2 = await cycle(wb, wa, p2, [])
  m.epoch([others]) // the gateway sends nothing in epoch 3
  assert.equal(cycleVerdict(offer, 3, m.outcomes), { state: 'failed', epoch: 3 })
  await rejectsLike(redeemInstalment(wa, p2), InvalidBlockError)
  const pen = await redeemPenalty(wb, c2.penalty, 3)
  assert.equal([readRedeem(pen.payload)!.amount, await wb.balance()], [20, 420])

  // leftovers: the seller's first penalty, the buyer's second escrow, after their expiries
  await rejectsLike(wa.release(c1.penalty), InvalidBlockError, /release/) // expiry 5 not begun
  at(5)
  await wa.release(c1.penalty)
  at(7)
  await wb.release(p2)
  assert.equal([await wa.balance(), await wb.balance()], [500 + 50 - 20, 500 - 50 + 20])

  // an observer holding every chain and the evidence audits the supply
  const view = createAgent({ head: 'local', identity: carol, store: createMemoryStore(), types: createBlockTypes([...economyTypes({ community: m.w.community, evidence: m.evidence, lock: m.lockOptions }), ...offerTypes(m.w.community)]) })
  const all = [...(await wa.agent.store.range(alice.publicKey)), ...(await wb.agent.store.range(bob.publicKey))]
  // locks before the redeems that name them
  for (const b of all.filter((x) => x.type === 'lock')) await view.receive(b)
  for (const b of all) assert.not.equal((await view.receive(b)).level, 'invalid', b.type)
  const supply = await auditSupply(view.store)
  assert.ok(supply.ok, JSON.stringify(supply))
  assert.equal([supply.balances, supply.locked, supply.unbacked, supply.overdrawn], [1_000, 0, 0, 0])
})

Flow('the reputation of a seller follows its certified outcomes, and the market view shows it', async () => {
  const m = await marketWorld()
  const offer = await m.list(m.wa, alice)
  m.at(1); m.epoch([up])
  m.at(2); m.epoch([])
  m.at(3); m.epoch([up])
  assert.equal(m.reputation.of(alice.publicKey), { passed: 2, failed: 1, score: 3 / 5 })
  assert.equal(m.market.search({ epoch: 3, type: 'gateway' }).map((l) => [l.offer.price, l.reputation.score]), [[offer.price, 0.6]])
})

const Policy = suite('sla: the seller agrees only to what its offer says')

Policy('a wrong price, a cycle begun, a cycle past the offer or its end, another expiry: declined', async () => {
  const m = await marketWorld()
  const { wa, wb } = m
  const offer = await m.list(wa, alice)
  await wb.agent.receive(offer.block)
  const history = () => wb.agent.store.range(bob.publicKey)
  const terms = (start: number) => ['sla', offer.seller, offer.seq, offer.id, start]
  const cases: [string, Parameters<typeof wb.lock>[0]][] = [
    ['a price other than the offer\'s', { to: alice.publicKey, amount: 49, expiry: 5, terms: terms(1), propose: true }],
    ['a cycle beyond the offer', { to: alice.publicKey, amount: 50, expiry: 31, terms: terms(29), propose: true }],
    ['an expiry other than cycle + settle', { to: alice.publicKey, amount: 50, expiry: 9, terms: terms(1), propose: true }],
  ]
  for (const [what, request] of cases) {
    const p = await wb.lock(request)
    const err = await rejectsLike(wa.accept(p, await history()), RefusedError)
    assert.is((err as RefusedError).reason, 'declined', what)
    m.at(offer.until + 5) // give the escrow back
    await wb.release(p)
    m.at(0)
  }
  // a cycle that has begun
  m.at(2)
  const begun = await subscribe(wb, offer, 1)
  await rejectsLike(wa.accept(begun, await history()), RefusedError)
  // after the seller's end
  const end = await wa.agent.append('offer-end', { offer: offer.seq, last: 5 })
  assert.is(m.views.get(alice)!.end(end), 'added')
  const late = await subscribe(wb, offer, 5)
  await rejectsLike(wa.accept(late, await history()), RefusedError) // [5, 7) passes the last epoch 5
  const ok = await subscribe(wb, offer, 4)
  const c = await cycle(wb, wa, ok, await history())
  assert.equal((c.penalty.payload as { amount: number }).amount, 20)
})

const Rules = suite('sla: redeem rules on certified outcomes')

Rules('forged redeems are invalid: a failed cycle\'s instalment, a passed cycle\'s penalty, the wrong amount, a second time', async () => {
  const m = await marketWorld()
  const { wa, wb, at } = m
  const offer = await m.list(wa, alice)
  await wb.agent.receive(offer.block)
  const p1 = await subscribe(wb, offer, 1)
  const c1 = await cycle(wb, wa, p1, [m.claims.get(bob)!])
  at(1); m.epoch([up]); at(2); m.epoch([]) // epoch 2 failed
  const sellerChain = await wa.agent.store.range(alice.publicKey)
  const head = sellerChain[sellerChain.length - 1]!
  const ref = (l: HalfBlock) => [l.publicKey, l.seq, lockView(l)!.id]
  const redeemStep = (lock: HalfBlock, value: ReturnType<typeof slaValue>, amount: number, redeemed: number, balance: number) => ({ type: 'redeem', payload: { lock: ref(lock), by: ['sla', value], amount, redeemed, balance, community: m.w.community.id } })
  const balanceA = await wa.balance()
  const store = async (blocks: HalfBlock[]) => storeWith([...sellerChain, p1, offer.block, ...blocks])
  const types = createBlockTypes([...economyTypes({ community: m.w.community, evidence: m.evidence, lock: m.lockOptions }), ...offerTypes(m.w.community)])
  const check = async (b: HalfBlock) => validate(b, { store: await store([]), types })

  const [instalment] = chainOf(alice, [redeemStep(p1, slaValue({ passed: true, epoch: 1, amount: 50 }), 50, 50, balanceA + 50)], head)
  assert.ok(rules((await check(instalment!)).errors).includes('redeem-authority'), 'an instalment for a failed cycle')
  // the buyer's side: the penalty on the failed epoch is valid, on the passed one is not
  const bobChain = await wb.agent.store.range(bob.publicKey)
  const bobHead = bobChain[bobChain.length - 1]!
  const bBal = await wb.balance()
  const checkB = async (b: HalfBlock) => validate(b, { store: await storeWith([...bobChain, c1.penalty, offer.block]), types })
  const [onPass] = chainOf(bob, [redeemStep(c1.penalty, slaValue({ passed: false, epoch: 1, amount: 20 }), 20, 20, bBal + 20)], bobHead)
  assert.ok(rules((await checkB(onPass!)).errors).includes('redeem-authority'), 'a penalty on a passed epoch')
  const [wrongAmount] = chainOf(bob, [redeemStep(c1.penalty, slaValue({ passed: false, epoch: 2, amount: 19 }), 19, 19, bBal + 19)], bobHead)
  assert.ok(rules((await checkB(wrongAmount!)).errors).includes('redeem-authority'), 'a penalty of another amount')
  const [good, twice] = chainOf(bob, [redeemStep(c1.penalty, slaValue({ passed: false, epoch: 2, amount: 20 }), 20, 20, bBal + 20), redeemStep(c1.penalty, slaValue({ passed: false, epoch: 2, amount: 20 }), 20, 40, bBal + 40)], bobHead)
  assert.equal((await checkB(good!)).errors, [])
  const second = await validate(twice!, { store: await storeWith([...bobChain, c1.penalty, offer.block, good!]), types })
  assert.ok(rules(second.errors).includes('redeem-replay'), rules(second.errors).join())
  assert.is(second.fraud[0]?.kind, REDEEM_EXCESS_FRAUD)
  assert.equal(verifyFraudProof(second.fraud[0]!, { verifiers: types.fraudVerifiers() }), { ok: true })
  // without the outcome evidence, a validator cannot take the redeem
  const blind = createBlockTypes([...economyTypes({ community: m.w.community, evidence: m.evidence, lock: { authorities: [voucherAuthority(), (await import('@tally/economy/market')).slaAuthority({ community: m.w.community, outcomes: { get: () => undefined } })] } }), ...offerTypes(m.w.community)])
  const r = await validate(good!, { store: await storeWith([...bobChain, c1.penalty, offer.block]), types: blind })
  assert.ok(rules(r.errors).includes('redeem-authority'))
  // without the offer block either
  const r2 = await validate(good!, { store: await storeWith([...bobChain, c1.penalty]), types })
  assert.ok(rules(r2.errors).includes('redeem-authority'))
})

const Fraud = suite('sla: a release that takes back what a certificate gave is fraud')

Fraud('the buyer releasing a passed escrow, the seller a failed penalty: refused on receipt with a proof that verifies alone; honest releases pass', async () => {
  const m = await marketWorld()
  const { wa, wb, at } = m
  const offer = await m.list(wa, alice)
  await wb.agent.receive(offer.block)
  const c1 = await cycle(wb, wa, await subscribe(wb, offer, 1), [m.claims.get(bob)!])
  at(1); m.epoch([up]); at(2); m.epoch([up]) // cycle 1 passed
  at(3)
  const c2 = await cycle(wb, wa, await subscribe(wb, offer, 3), await wb.agent.store.range(bob.publicKey))
  m.epoch([]); at(4); m.epoch([up]) // cycle 2 failed in epoch 3
  at(7)
  // the honest wallets' own rules refuse to sign the cheat
  await rejectsLike(wb.release(c1.escrow), InvalidBlockError, /release-certified/)
  await rejectsLike(wa.release(c2.penalty), InvalidBlockError, /release-certified/)
  // a cheater holding the keys signs anyway: any validator holding the outcomes refuses it, with the proof
  const types = createBlockTypes([...economyTypes({ community: m.w.community, evidence: m.evidence, lock: m.lockOptions }), ...offerTypes(m.w.community)])
  const verifiers = types.fraudVerifiers()
  for (const [who, chainOwner, lock, amount] of [[bob, wb, c1.escrow, 50], [alice, wa, c2.penalty, 20]] as const) {
    const chain = await chainOwner.agent.store.range(who.publicKey)
    const before = (chain[chain.length - 1]!.payload as { balance: number }).balance
    const [cheat] = chainOf(who, [{ type: 'release', payload: { lock: lock.seq, amount, balance: before + amount } }], chain[chain.length - 1])
    const r = await validate(cheat!, { store: await storeWith([...chain, offer.block]), types })
    assert.ok(rules(r.errors).includes('release-certified'), rules(r.errors).join())
    assert.is(r.fraud[0]?.kind, RELEASE_CERTIFIED_FRAUD)
    assert.equal(verifyFraudProof(r.fraud[0]!, { verifiers }), { ok: true })
  }
  // the honest releases: the failed cycle's escrow, the passed cycle's penalty
  await wb.release(c2.escrow)
  await wa.release(c1.penalty)
  await redeemInstalment(wa, c1.escrow)
  await redeemPenalty(wb, c2.penalty, 3)
  assert.equal([await wa.balance(), await wb.balance()], [530, 470])
})

Fraud('the verifier accuses only with the evidence: consent, a missing epoch, another offer, forged bytes prove nothing', async () => {
  const m = await marketWorld()
  const { wa, wb, at } = m
  const offer = await m.list(wa, alice)
  const other = await m.list(wa, alice, { price: 51 })
  await wb.agent.receive(offer.block)
  const c1 = await cycle(wb, wa, await subscribe(wb, offer, 1), [m.claims.get(bob)!])
  at(1); m.epoch([up])
  const lock = lockView(c1.escrow)!
  assert.is(slaEntitlement(lock, offer, m.outcomes), undefined, 'one epoch of two is not a passed cycle')
  at(2); m.epoch([up])
  const evidence = slaEntitlement(lock, offer, m.outcomes)!
  assert.is(evidence.length, 2)
  const chain = await wb.agent.store.range(bob.publicKey)
  const before = (chain[chain.length - 1]!.payload as { balance: number }).balance
  const [cheat] = chainOf(bob, [{ type: 'release', payload: { lock: c1.escrow.seq, amount: 50, balance: before + 50 } }], chain[chain.length - 1])
  const proof = releaseCertifiedProof(c1.escrow, cheat!, offer.block, evidence, m.w.community)!
  const verify = releaseCertifiedVerifier(m.w.community)
  assert.is(verify(proof.blocks, nobleCrypto, proof.attachments), undefined)
  assert.is(releaseCertifiedProof(c1.escrow, cheat!, offer.block, evidence.slice(0, 1), m.w.community), undefined, 'one epoch missing')
  assert.is(releaseCertifiedProof(c1.escrow, cheat!, other.block, evidence, m.w.community), undefined, 'another offer')
  // the seller, the escrow's beneficiary, consents to giving it back: the release is its choice
  const consent = await wa.consent(c1.escrow, 50)
  const [withConsent] = chainOf(bob, [{ type: 'release', payload: { lock: c1.escrow.seq, amount: 50, balance: before + 50, consent } }], chain[chain.length - 1])
  assert.match(verify([c1.escrow, withConsent!], nobleCrypto, proof.attachments) ?? '', /consented/)
  const crypto = nobleCrypto
  let refuted = 0
  for (let i = 0; i < proof.attachments![1]!.length; i += 7) {
    const bad = Uint8Array.from(proof.attachments![1]!)
    bad[i]! ^= 1
    if (verify(proof.blocks, crypto, [proof.attachments![0]!, bad]) !== undefined) refuted++
  }
  assert.is(refuted, Math.ceil(proof.attachments![1]!.length / 7), 'every changed byte of the evidence refutes the proof')
})

Flow.run()
Policy.run()
Rules.run()
Fraud.run()
