/**
 * SLA settlement by fast-check. Random schedules: two sellers offer their gateways (2-epoch
 * cycles), three buyers subscribe to one of them or not, gateways report or go silent epoch by
 * epoch; every party follows the honest wallet's steps — renew once the previous cycle is decided,
 * redeem on certified outcomes, release decided leftovers after the expiry. After every epoch:
 *
 * - no honest party ever has more than one cycle at stake per subscription: undecided escrow ≤ the
 *   price, undecided penalty ≤ the penalty;
 * - at the end, on an observer holding every chain and the outcome evidence, supply is conserved
 *   (balances + locked = rewards), nothing is left locked once every expiry passed, every block is
 *   valid, and nobody holds a fraud proof against anyone.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { createAgent, createBlockTypes, createMemoryStore, type HalfBlock, type SeedIdentity } from '@tally/core'
import { auditSupply, economyTypes, lockView, voucherAuthority, type Wallet } from '@tally/economy'
import { atStake, cycleVerdict, offerTypes, redeemInstalment, redeemPenalty, subscribe, SLA_SETTLE_EPOCHS, type OfferView } from '@tally/economy/market'
import { carol, id, mallory } from './helpers.ts'
import { alice, bob, component, marketWorld } from './market-fixtures.ts'

const dave = id(15)

interface Schedule {
  /** Per buyer: the offer it subscribes to (0, 1) or none (2). */
  choice: number[]
  /** Per epoch, per seller: does its gateway report? */
  up: boolean[][]
}

const schedule = fc.record({
  choice: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 3, maxLength: 3 }),
  up: fc.array(fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }), { minLength: 3, maxLength: 8 }),
})

interface Sub {
  buyer: Wallet
  seller: Wallet
  offer: OfferView
  cycles: { start: number; escrow: HalfBlock; penalty: HalfBlock; settled: boolean; released: boolean }[]
  stopped: boolean
}

async function simulate(s: Schedule): Promise<void> {
  const m = await marketWorld({ extra: [carol, mallory, dave] })
  const wc = m.wallet(carol)
  const [wm, wd] = [m.wallet(mallory), m.wallet(dave)]
  for (const [who, wl] of [[carol, wc], [mallory, wm], [dave, wd]] as [SeedIdentity, Wallet][]) await m.claim(who, wl)
  const sellers: [Wallet, SeedIdentity, SeedIdentity][] = [[m.wa, alice, component(1)], [wc, carol, component(10)]]
  const offers = [await m.list(m.wa, alice), await m.list(wc, carol, { components: [component(10).publicKey] })]
  const buyers = [m.wb, wm, wd]
  const subs: Sub[] = []
  buyers.forEach((buyer, i) => {
    const c = s.choice[i]!
    if (c < 2) subs.push({ buyer, seller: sellers[c]![0], offer: offers[c]!, cycles: [], stopped: false })
  })
  for (const sub of subs) await sub.buyer.agent.receive(sub.offer.block)

  const step = async (e: number, up: readonly boolean[], renew: boolean) => {
    m.at(e)
    // releases of decided leftovers whose expiry has begun
    for (const sub of subs) {
      for (const c of sub.cycles) {
        if (c.released || !c.settled || e < c.start + sub.offer.cycle + SLA_SETTLE_EPOCHS) continue
        const v = cycleVerdict(sub.offer, c.start, m.outcomes)
        if (v.state === 'passed') await sub.seller.release(c.penalty)
        else await sub.buyer.release(c.escrow)
        c.released = true
      }
    }
    // renewals: only once the previous cycle is decided
    for (const sub of subs) {
      const last = sub.cycles[sub.cycles.length - 1]
      if (!renew || sub.stopped || (last !== undefined && !last.settled)) continue
      if (e + sub.offer.cycle > sub.offer.until) continue
      const escrow = await subscribe(sub.buyer, sub.offer, e)
      const penalty = await sub.seller.accept(escrow, await sub.buyer.agent.store.range(sub.buyer.agent.publicKey))
      await sub.buyer.complete(penalty)
      sub.cycles.push({ start: e, escrow, penalty, settled: false, released: false })
    }
    // the epoch closes; outcomes are certified beside the rewards
    m.epoch(sellers.flatMap(([, , gw], i) => (up[i] ? [[gw, [60_000, 1]] as [SeedIdentity, number[]]] : [])))
    // settlement on what is certified
    for (const sub of subs) {
      const c = sub.cycles[sub.cycles.length - 1]
      if (c === undefined || c.settled) continue
      const v = cycleVerdict(sub.offer, c.start, m.outcomes)
      if (v.state === 'passed') await redeemInstalment(sub.seller, c.escrow)
      else if (v.state === 'failed') {
        await redeemPenalty(sub.buyer, c.penalty, v.epoch)
        sub.stopped = true
      }
      if (v.state !== 'pending') c.settled = true
    }
    // at most one cycle at stake per subscription, on each side
    for (const sub of subs) {
      const escrow = sub.cycles.reduce((n, c) => n + atStake(lockView(c.escrow)!, sub.offer, m.outcomes), 0)
      const penalty = sub.cycles.reduce((n, c) => n + atStake(lockView(c.penalty)!, sub.offer, m.outcomes), 0)
      assert.ok(escrow <= sub.offer.price && penalty <= sub.offer.penalty, `at stake: ${escrow} escrow, ${penalty} penalty`)
    }
  }

  let e = 1
  for (const up of s.up) await step(e++, up, true)
  // wind down: nobody renews, every gateway reports, every expiry passes
  for (let i = 0; i < 2 + SLA_SETTLE_EPOCHS + 1; i++) await step(e++, [true, true], false)

  const observer = createAgent({ head: 'local', identity: id(16), store: createMemoryStore(), types: createBlockTypes([...economyTypes({ community: m.w.community, evidence: m.evidence, lock: m.lockOptions }), ...offerTypes(m.w.community)]) })
  const wallets = [m.wa, m.wb, wc, wm, wd]
  const all = (await Promise.all(wallets.map((wl) => wl.agent.store.range(wl.agent.publicKey)))).flat()
  for (const b of all.filter((x) => x.type === 'lock' || x.type === 'offer')) await observer.receive(b) // what redeems name travels with them
  for (const b of all) {
    const r = await observer.receive(b)
    assert.not.equal(r.level, 'invalid', `${b.type}: ${JSON.stringify(r.errors)}`)
  }
  const supply = await auditSupply(observer.store)
  assert.ok(supply.ok, JSON.stringify(supply))
  assert.equal([supply.locked, supply.unbacked, supply.overdrawn, supply.inFlight], [0, 0, 0, 0])
  assert.is(supply.balances, supply.rewards)
  for (const agent of [...wallets.map((wl) => wl.agent), observer]) assert.equal(await agent.store.fraudProofs(), [], 'nobody is accused')
}

const Props = suite('sla properties')

Props('honest schedules: one cycle at stake, supply conserved, nothing left locked, nobody accused', async () => {
  await fc.assert(fc.asyncProperty(schedule, simulate), { numRuns: 10, seed: 20261205 })
})

export { simulate }
if (process.env.MARKET_DEBUG === undefined) Props.run()
