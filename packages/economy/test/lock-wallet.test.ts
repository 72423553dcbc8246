/**
 * The wallet's lock operations — lock, voucher, acceptVoucher, redeem, consent, release — and the
 * supply audit with locks: balances on both sides follow, mistakes are refused before anything is
 * signed, an honest wallet never signs what would accuse it, and a payee that holds a voucher
 * catches the release that contradicts it.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { InvalidBlockError, RefusedError, createAgent, createMemoryStore, verifyFraudProof, type HalfBlock, type SeedIdentity } from '@tally/core'
import {
  RELEASE_EXCESS_FRAUD,
  auditSupply,
  createEconomyTypes,
  createEvidenceStore,
  createVoucherBook,
  createWallet,
  encodeVoucher,
  readRedeem,
  readRelease,
  type VoucherBook,
  type Wallet,
} from '@tally/economy'
import { alice, bob, carol, certificate, chainOf, component, mallory, rejectsLike, runEpoch, world } from './helpers.ts'
import { HOUR, release } from './lock-fixtures.ts'

/** Alice and mallory earned 500 each in epoch 0; every wallet has its own voucher book, which its node's rules consult. */
async function setup() {
  const w = world([[alice, component(1)], [mallory, component(2)]])
  const r = runEpoch(w, [[component(1), [60_000, 1]], [component(2), [60_000, 1]]])
  const cert = certificate(r)
  const evidence = createEvidenceStore(w.community)
  let now = w.config.start + 10
  const clock = () => now
  const at = (epoch: number) => (now = w.config.start + epoch * HOUR + 10)
  const books = new Map<SeedIdentity, VoucherBook>()
  const wallet = (who: SeedIdentity, key = true): Wallet => {
    const vouchers = createVoucherBook()
    books.set(who, vouchers)
    const types = createEconomyTypes({ community: w.community, evidence, lock: { vouchers } })
    const agent = createAgent({ head: 'local', identity: who, store: createMemoryStore(), types, clock })
    return createWallet({ agent, community: w.community, evidence, vouchers, ...(key ? { key: who } : {}) })
  }
  const wa = wallet(alice)
  const wb = wallet(bob)
  const claim = await wa.claim({ amount: r.amountOf(alice.publicKey), certificate: cert, proof: r.proofFor(alice.publicKey)! })
  const claimMallory = async (wm: Wallet) => wm.claim({ amount: r.amountOf(mallory.publicKey), certificate: cert, proof: r.proofFor(mallory.publicKey)! })
  const observer = () => createAgent({ head: 'local', identity: carol, store: createMemoryStore(), types: createEconomyTypes({ community: w.community, evidence }) })
  const verifiers = createEconomyTypes({ community: w.community, evidence }).fraudVerifiers()
  return { w, wa, wb, claim, claimMallory, wallet, at, observer, books, verifiers }
}

const Flow = suite('lock wallet: a channel from open to release')

Flow('lock, vouchers, redeem, release: balances on both sides, and the audit on an observer', async () => {
  const { w, wa, wb, claim, at, observer } = await setup()
  const lock = await wa.lock({ to: bob.publicKey, amount: 300, expiry: 3, terms: { price: 10 } })
  assert.is(await wa.balance(), 200, 'the lock leaves the spendable balance')
  await rejectsLike(wa.send(carol.publicKey, 201), RangeError, /exceeds the balance/)
  const v1 = await wa.voucher(lock, 10)
  const v2 = await wa.voucher(lock, 30)
  assert.equal([v1.counter, v2.counter], [1, 2])
  await wb.acceptVoucher(lock, encodeVoucher(v1), [claim])
  await wb.acceptVoucher(lock, encodeVoucher(v2))
  await wb.acceptVoucher(lock, v1) // an older one changes nothing
  const r1 = await wb.redeem(lock)
  assert.equal([readRedeem(r1.payload)!.amount, await wb.balance()], [30, 30])
  await rejectsLike(wb.redeem(lock), RangeError, /nothing new/)
  const v3 = await wa.voucher(lock, 100)
  await wb.acceptVoucher(lock, v3)
  const r2 = await wb.redeem(lock)
  assert.equal(readRedeem(r2.payload), { ...readRedeem(r2.payload)!, amount: 70, redeemed: 100, balance: 100 })
  const v4 = await wa.voucher(lock, 120) // paid, not yet redeemed
  await wb.acceptVoucher(lock, v4)
  await rejectsLike(wa.release(lock), InvalidBlockError, /release/) // before epoch 3
  at(3)
  const rel = await wa.release(lock)
  assert.equal(readRelease(rel.payload), { lock: lock.seq, amount: 180, balance: 380, community: w.community.id })
  await rejectsLike(wa.voucher(lock, 130), RangeError, /released/)
  await rejectsLike(wa.release(lock), InvalidBlockError)
  // the payee redeems what was vouched, even after the release
  await wb.redeem(lock)
  assert.is(await wb.balance(), 120)
  const view = observer()
  for (const b of [claim, lock, rel, ...(await wb.agent.store.range(bob.publicKey))]) assert.not.equal((await view.receive(b)).level, 'invalid', b.type)
  const supply = await auditSupply(view.store)
  assert.ok(supply.ok, JSON.stringify(supply))
  assert.equal([supply.balances, supply.locked, supply.unbacked, supply.overdrawn], [500, 0, 0, 0])
})

Flow('before the last redeem the lock still holds what was vouched and not taken', async () => {
  const { wa, wb, claim, at, observer } = await setup()
  const lock = await wa.lock({ to: bob.publicKey, amount: 300, expiry: 1 })
  await wb.acceptVoucher(lock, await wa.voucher(lock, 50), [claim])
  const r = await wb.redeem(lock)
  await wb.acceptVoucher(lock, await wa.voucher(lock, 80))
  at(1)
  const rel = await wa.release(lock)
  const view = observer()
  for (const b of [claim, lock, r, rel]) await view.receive(b)
  const supply = await auditSupply(view.store)
  assert.ok(supply.ok)
  assert.equal([supply.balances, supply.locked], [500 - 30, 30])
  // a redeem whose lock is not in view is unbacked, and said so
  const blind = observer()
  await blind.receive(claim)
  const [orphan] = chainOf(bob, [{ type: 'redeem', payload: r.payload }])
  await blind.store.batch().put(orphan!).commit()
  const s2 = await auditSupply(blind.store)
  assert.equal([s2.unbacked, s2.ok], [50, true])
})

Flow('a lock proposed to the beneficiary: a channel open in one transaction', async () => {
  const { w, wa, wb, claim } = await setup()
  const proposal = await wa.lock({ to: bob.publicKey, amount: 200, expiry: 2, propose: true })
  const agreement = await wb.accept(proposal, [claim])
  await wa.complete(agreement)
  assert.equal(agreement.payload, { amount: 0, terms: null, expiry: 2, balance: 0, community: w.community.id })
  await wb.acceptVoucher(proposal, await wa.voucher(proposal, 25))
  await wb.redeem(proposal)
  assert.equal([await wa.balance(), await wb.balance()], [300, 25])
})

Flow('an early release with the beneficiary\'s consent, never past what it vouched', async () => {
  const { wa, wb, claim } = await setup()
  const lock = await wa.lock({ to: bob.publicKey, amount: 300, expiry: 9 })
  await wb.acceptVoucher(lock, await wa.voucher(lock, 40), [claim])
  await rejectsLike(wb.consent(lock, 261), RangeError, /latest voucher/)
  const consent = await wb.consent(lock, 260)
  await rejectsLike(wa.release(lock, { amount: 261, consent }), RangeError, /vouched/)
  await rejectsLike(wa.release(lock, { amount: 250, consent }), InvalidBlockError) // consent is for 260
  const rel = await wa.release(lock, { amount: 260, consent })
  assert.equal(readRelease(rel.payload)?.consent, consent)
  assert.is(await wa.balance(), 460)
})

const Refusals = suite('lock wallet: mistakes are refused before anything is signed')

Refusals('vouchers: only for own open locks, within the lock, never going down, with a key', async () => {
  const { wa, wb, wallet } = await setup()
  const lock = await wa.lock({ to: bob.publicKey, amount: 100, expiry: 0 })
  await rejectsLike(wb.voucher(lock, 5), RangeError, /not a lock of this agent/)
  await rejectsLike(wa.voucher(lock, 101), RangeError)
  await rejectsLike(wa.voucher(lock, 0), RangeError)
  const v = await wa.voucher(lock, 50)
  await rejectsLike(wa.voucher(lock, 49), RangeError, /cumulative/)
  assert.equal(await wa.voucher(lock, 50), v, 'the same amount: the same voucher')
  const carols = wallet(carol)
  await rejectsLike(carols.voucher(lock, 1), RangeError, /not a lock of this agent/)
  await rejectsLike(carols.consent(lock, 1), RangeError, /not a lock for this agent/)
  await rejectsLike(carols.redeem(lock, v), RangeError, /not a lock for this agent/)
  await rejectsLike(wa.release({ ...lock, type: 'note' }), RangeError, /not a lock/)
})

Refusals('accepting: a voucher by someone else, for another lock or beyond it, or without the payer\'s history', async () => {
  const { wa, wb, claim } = await setup()
  const lock = await wa.lock({ to: bob.publicKey, amount: 100, expiry: 0 })
  const other = await wa.lock({ to: bob.publicKey, amount: 50, expiry: 0 })
  const good = await wa.voucher(lock, 10)
  await rejectsLike(wb.acceptVoucher(lock, good), RefusedError, /payer's chain|not held/)
  await rejectsLike(wb.acceptVoucher(other, good, [claim]), RefusedError, /another lock/)
  await rejectsLike(wb.acceptVoucher(lock, { ...good, amount: 11 }, [claim]), RefusedError, /not signed/)
  await rejectsLike(wb.acceptVoucher(lock, { ...good, amount: 101 }, [claim]), RefusedError)
  assert.ok(await wb.acceptVoucher(lock, good, [claim, lock]))
})

Refusals('a wallet without its key cannot sign vouchers or consents', async () => {
  const { claimMallory, wallet } = await setup()
  const wm = wallet(mallory, false)
  await claimMallory(wm)
  const lock = await wm.lock({ to: bob.publicKey, amount: 10, expiry: 0 })
  await rejectsLike(wm.voucher(lock, 1), TypeError, /"key"/)
})

Refusals('concurrent operations still add up: a lock and a voucher while the node agrees to a transfer', async () => {
  const { wa, wb, claim, claimMallory, wallet } = await setup()
  const wm = wallet(mallory)
  const mc = await claimMallory(wm)
  const incoming = await wm.send(alice.publicKey, 7)
  await wa.agent.receive(mc)
  const [lock] = await Promise.all([wa.lock({ to: bob.publicKey, amount: 100, expiry: 0 }), wa.agent.agree(incoming)])
  assert.is(await wa.balance(), 407)
  const [v] = await Promise.all([wa.voucher(lock, 5), wa.lock({ to: bob.publicKey, amount: 7, expiry: 0 })])
  assert.ok(await wb.acceptVoucher(lock, v, [claim, ...(await wa.agent.store.range(alice.publicKey))]))
  assert.is(await wa.balance(), 400)
})

const Cheats = suite('lock wallet: a payee catches the release that contradicts its voucher')

Cheats('a payer that releases what it vouched is proven a cheater by the payee\'s node', async () => {
  const { w, wb, claimMallory, wallet, observer, verifiers } = await setup()
  const wm = wallet(mallory)
  const mc = await claimMallory(wm)
  const lock = await wm.lock({ to: bob.publicKey, amount: 300, expiry: 0 })
  await wb.acceptVoucher(lock, await wm.voucher(lock, 120), [mc])
  const r = await wb.redeem(lock)
  // mallory's wallet would refuse; she signs by hand a release of everything
  const [greedy] = chainOf(mallory, [{ ...release(lock.seq, 300, 500), payload: { lock: lock.seq, amount: 300, balance: 500, community: w.community.id } }], lock)
  // any node without the voucher sees a valid release ...
  const view = observer()
  for (const b of [mc, lock, greedy!, r] as HalfBlock[]) assert.not.equal((await view.receive(b)).level, 'invalid')
  const supply = await auditSupply(view.store)
  assert.equal([supply.overdrawn, supply.ok], [120, false], 'the audit shows the value created')
  // ... bob's node holds the voucher: the release is invalid, and the proof verifies alone
  const result = await wb.agent.receive(greedy!)
  assert.is(result.level, 'invalid')
  const proof = result.fraud.find((p) => p.kind === RELEASE_EXCESS_FRAUD)
  assert.ok(proof !== undefined)
  assert.ok(verifyFraudProof(proof!, { verifiers }).ok)
  assert.ok(await wb.agent.refuses(mallory.publicKey), 'and refuses mallory from then on')
  await rejectsLike(wm.send(bob.publicKey, 1).then((p) => wb.accept(p)), RefusedError)
})

Flow.run()
Refusals.run()
Cheats.run()
