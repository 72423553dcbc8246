/**
 * SLA outcomes on the network (protocol harness): three community witnesses, each with a market
 * view fed by the offers protocol and an outcome witness wired into its close (`beside`), certify
 * every active offer's outcome from the same reports as the rewards; a wallet fetches the evidence
 * and it verifies alone. A witness that missed the offer's push syncs it before closing; a witness
 * down during certification does not stop the quorum; a seller whose gateway stops reporting is
 * certified failed.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { RefusedError } from '@tally/core'
import { createWitness, type Witness } from '@tally/economy/net'
import {
  createMarketView,
  createOfferSpread,
  createOutcomeStore,
  createOutcomeWitness,
  fetchOutcome,
  offerPayload,
  offerView,
  outcomesProtocol,
  type OfferSpread,
  type OutcomeWitness,
} from '@tally/economy/market'
import { alice, bob, chainOf, component, genesis, witnesses as keys, T0 } from './helpers.ts'
import { baseOffer } from './market-fixtures.ts'
import { closeAll, register, reportAll, type Net } from './net-fixtures.ts'
import { createHarness, type Party } from './protocol-harness.ts'

function marketNet() {
  const { community } = genesis()
  const harness = createHarness(T0)
  const parties: Party[] = []
  const ws: Witness[] = []
  const outcomes: OutcomeWitness[] = []
  const spreads: OfferSpread[] = []
  const views: ReturnType<typeof createMarketView>[] = []
  keys.forEach((key, i) => {
    const party = harness.party(key)
    parties[i] = party
    const view = createMarketView({ community })
    views[i] = view
    spreads[i] = createOfferSpread({ host: party, view, peers: () => keys.filter((k) => k !== key).map((k) => k.publicKey) })
    outcomes[i] = createOutcomeWitness({ key, community, host: party, view, spread: spreads[i] })
    ws[i] = createWitness({ key, community, host: party, epoch: 0, beside: outcomes[i]!.beside })
  })
  const net: Net = { harness, community, witnesses: ws, parties, restart: () => assert.unreachable('no restarts here') as never }
  return { net, outcomes, harness, community, views }
}

const Net = suite('sla outcomes on the network')

Net('witnesses certify outcomes beside the rewards; a wallet fetches evidence that verifies alone; a missed push is synced', async () => {
  const { net, outcomes, harness, community, views } = marketNet()
  await register(net, alice, component(1))
  const seller = harness.party(alice)
  const sellerView = createMarketView({ community })
  const spread = createOfferSpread({ host: seller, view: sellerView, peers: () => community.current.witnesses })
  const [block] = chainOf(alice, [{ type: 'offer', payload: offerPayload({ ...baseOffer([component(1).publicKey]), from: 0 }) }])
  const offer = offerView(block!)!
  harness.cut(alice.publicKey, keys[2]!.publicKey) // witness 2 misses the push…
  harness.cut(keys[0]!.publicKey, keys[2]!.publicKey)
  harness.cut(keys[1]!.publicKey, keys[2]!.publicKey)
  spread.publish(block!)
  await harness.settle()
  assert.equal(views.map((v) => v.size), [1, 1, 0])
  harness.cut(keys[0]!.publicKey, keys[2]!.publicKey, false) // …and syncs it from witness 0 before closing
  harness.cut(keys[1]!.publicKey, keys[2]!.publicKey, false)

  await reportAll(net, [[component(1), [60_000, 1]]], 0)
  await closeAll(net)
  const certs = outcomes.map((o) => o.certificate(0))
  assert.ok(certs.every((c) => c !== undefined && c.leaves === 1), 'every witness holds the certificate of one outcome')
  assert.equal(outcomes.map((o) => o.result(0)?.outcomeOf(offer.id)), [true, true, true])
  assert.equal(certs[0]!.rewards, net.witnesses[0]!.certificate(0)!.root, 'beside the reward certificate of the same epoch')
  assert.equal(outcomes.flatMap((o) => o.events.filter((e) => e.kind === 'root-mismatch')), [])
  assert.is(views[2]!.size, 1, 'synced before the close')

  // a buyer fetches the evidence from the witnesses; it verifies alone
  const buyer = harness.party(bob)
  const handle = buyer.host(outcomesProtocol())
  const store = createOutcomeStore(community)
  const ev = await fetchOutcome(handle, community.current.witnesses, store, offer.id, 0)
  assert.is(ev.passed, true)
  const none = await fetchOutcome(handle, community.current.witnesses, store, new Uint8Array(32), 0).catch((e: unknown) => e)
  assert.ok(none instanceof RefusedError && none.reason === 'no-outcome')

  // epoch 1: the gateway stops reporting, and witness 2 is down during certification
  harness.down(keys[2]!.publicKey)
  await closeAll(net, [0, 1])
  harness.down(keys[2]!.publicKey, false)
  assert.is(outcomes[0]!.certificate(1)?.leaves, 1)
  const failed = await fetchOutcome(handle, community.current.witnesses, store, offer.id, 1)
  assert.is(failed.passed, false)
  // the late witness closes too and agrees
  await net.witnesses[2]!.close()
  await harness.settle()
  assert.is(outcomes[2]!.result(1)?.outcomeOf(offer.id), false)
  assert.ok(outcomes[2]!.certificate(1) !== undefined)
})

Net.run()
