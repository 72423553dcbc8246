/**
 * Fixtures of the market tests: a community where alice (a gateway owner, the seller) and bob (an
 * application owner, the buyer) earned 500 each in epoch 0; wallets whose types know offers, the
 * 'sla' authority and the seller's policy; an epoch runner that certifies rewards and SLA outcomes
 * from the same sealed metrics. Not a test file itself.
 */
import { createAgent, createBlockTypes, createMemoryStore, type HalfBlock, type SeedIdentity } from '@tally/core'
import {
  closeEpoch,
  createEvidenceStore,
  createVoucherBook,
  createWallet,
  economyTypes,
  signReport,
  voucherAuthority,
  type Wallet,
} from '@tally/economy'
import {
  certifyOutcomes,
  closeOutcomes,
  createMarketView,
  createOutcomeStore,
  createReputation,
  offerPayload,
  offerTypes,
  offerView,
  signOutcomes,
  slaAuthority,
  slaCertified,
  slaPolicy,
  type MarketView,
  type OfferPayload,
  type OfferView,
  type OutcomeResult,
} from '@tally/economy/market'
import * as assert from 'uvu/assert'
import { alice, bob, certificate, component, witnesses, world, type World } from './helpers.ts'

export const HOUR = 3_600_000

/** A market world; `parties` more owners (with gateways component(10 + i)) earn too. */
export async function marketWorld(options: { extra?: readonly SeedIdentity[] } = {}) {
  const extra = options.extra ?? []
  const w: World = world([[alice, component(1)], [bob, component(2)], ...extra.map((p, i): [SeedIdentity, SeedIdentity] => [p, component(10 + i)])])
  const evidence = createEvidenceStore(w.community)
  const outcomes = createOutcomeStore(w.community)
  const reputation = createReputation(w.community)
  const sla = slaAuthority({ community: w.community, outcomes })
  const certified = slaCertified({ community: w.community, outcomes })
  /** The lock options every node here uses: vouchers and the 'sla' authority, releases checked against the outcomes held. */
  const lockOptions = { authorities: [voucherAuthority(), sla], certified }
  let now = w.config.start + 10
  const clock = () => now
  const at = (epoch: number) => (now = w.config.start + epoch * HOUR + 10)
  /** The witnesses' view of offers (as gossip gives them). */
  const market = createMarketView({ community: w.community, reputation })
  const views = new Map<SeedIdentity, MarketView>()

  const wallet = (who: SeedIdentity): Wallet => {
    const view = createMarketView({ community: w.community, reputation })
    views.set(who, view)
    const vouchers = createVoucherBook()
    const policy = slaPolicy({ community: w.community, seller: who.publicKey, view, now: clock })
    const types = createBlockTypes([...economyTypes({ community: w.community, evidence, lock: { vouchers, ...lockOptions, ...policy } }), ...offerTypes(w.community)])
    const agent = createAgent({ head: 'local', identity: who, store: createMemoryStore(), types, clock })
    return createWallet({ agent, community: w.community, evidence, vouchers, key: who, authorities: [voucherAuthority(), sla] })
  }

  /** Close the open epoch: `reports` per component; certify rewards and the outcomes of the market's active offers. */
  const epoch = (reports: readonly [SeedIdentity, number[]][]): { result: ReturnType<typeof closeEpoch>; outcomes: OutcomeResult } => {
    const e = w.monitor.epoch
    for (const [comp, metrics] of reports) {
      const verdict = w.monitor.submit(signReport({ component: comp.publicKey, epoch: e, seq: 0, metrics }, comp, w.community.id))
      assert.ok(verdict.ok, JSON.stringify(verdict))
    }
    const metrics = w.monitor.close()
    const result = closeEpoch({ directory: w.directory, karma: w.karma, metrics })
    const o = closeOutcomes({ directory: w.directory, metrics, offers: market.active(e), rewards: result.body.root })
    const cert = certifyOutcomes(o.body, witnesses.slice(0, 2).map((x) => signOutcomes(o.body, x, o.config)), o.config)
    for (const id of o.ids) {
      const ev = o.evidenceFor(id, cert)!
      assert.ok(outcomes.put(id, ev).ok)
      reputation.record(market.get(id)!.offer, ev)
    }
    return { result, outcomes: o }
  }

  const wa = wallet(alice)
  const wb = wallet(bob)
  // epoch 0: both gateways earn 500
  const { result: r0 } = epoch([[component(1), [60_000, 1]], [component(2), [60_000, 1]], ...extra.map((_, i): [SeedIdentity, number[]] => [component(10 + i), [60_000, 1]])])
  const cert0 = certificate(r0)
  const claims = new Map<SeedIdentity, HalfBlock>()
  const claim = async (who: SeedIdentity, wl: Wallet) => {
    const c = await wl.claim({ amount: r0.amountOf(who.publicKey), certificate: cert0, proof: r0.proofFor(who.publicKey)! })
    claims.set(who, c)
    return c
  }
  await claim(alice, wa)
  await claim(bob, wb)

  /** A seller lists an offer: its block, in its own view and the market's. */
  const list = async (seller: Wallet, who: SeedIdentity, fields: Partial<OfferPayload> = {}): Promise<OfferView> => {
    const block = await seller.agent.append('offer', offerPayload({ ...baseOffer(fields.components ?? [component(1).publicKey]), ...fields }))
    assert.is(views.get(who)!.add(block), 'added')
    assert.is(market.add(block), 'added')
    return offerView(block)!
  }
  return { w, wa, wb, wallet, epoch, at, clock, outcomes, reputation, market, views, list, claims, claim, evidence, sla, lockOptions }
}

/** An offer on gateway airtime: ≥ 1,000 per epoch, 50 per 2-epoch cycle, penalty 20, notice 2, epochs 1-29. */
export function baseOffer(components: readonly Uint8Array[]): OfferPayload {
  return { type: 'gateway', components, criteria: [{ metric: 'airtime', op: 'ge', value: 1_000 }], price: 50, cycle: 2, penalty: 20, notice: 2, from: 1, until: 30 }
}

/** Subscribe for one cycle through the transaction: the buyer proposes, the seller agrees, the buyer completes. */
export async function cycle(buyer: Wallet, seller: Wallet, proposal: HalfBlock, history: readonly HalfBlock[]): Promise<{ escrow: HalfBlock; penalty: HalfBlock }> {
  const agreement = await seller.accept(proposal, history)
  await buyer.complete(agreement)
  return { escrow: proposal, penalty: agreement }
}

export { alice, bob, component }
