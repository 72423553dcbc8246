/**
 * The README's Markets example, as written there: the lines between the markers must appear in
 * README.md verbatim, and they must run and leave the seller paid one instalment.
 */
import { readFileSync } from 'node:fs'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { closeEpoch } from '@tally/economy'
import { certifyOutcomes, closeOutcomes, cycleVerdict, offerPayload, offerView, redeemInstalment, signOutcomes, subscribe } from '@tally/economy/market'
import { witnesses } from './helpers.ts'
import { alice, bob, component, marketWorld } from './market-fixtures.ts'

const Readme = suite('readme: markets')

Readme('the Markets example runs, and the README quotes it verbatim', async () => {
  const m = await marketWorld()
  const [seller, buyer, view, market, outcomes] = [m.wa, m.wb, m.views.get(alice)!, m.market, m.outcomes]
  const [gateway, buyerChain, directory, monitor, karma] = [component(1), [m.claims.get(bob)!], m.w.directory, m.w.monitor, m.w.karma]
  // --- from the README (Markets) ---
  const offer = offerView(await seller.agent.append('offer', offerPayload({ type: 'gateway', components: [gateway.publicKey],
    criteria: [{ metric: 'airtime', op: 'ge', value: 1_000 }], price: 50, cycle: 1, penalty: 20, notice: 2, from: 1, until: 30 })))!
  view.add(offer.block); market.add(offer.block)                    // the seller's view (its policy reads it), the market's
  await buyer.agent.receive(offer.block)                            // the buyer holds the offer its locks name
  const escrow = await subscribe(buyer, offer, 1)                   // lock proposal: the price, for the cycle at epoch 1
  await buyer.complete(await seller.accept(escrow, buyerChain))     // the seller's agreement locks the penalty
  // epoch 1 closes; each witness, from the very metrics of its reward table:
  const metrics = monitor.close(), rewards = closeEpoch({ directory, karma, metrics }).body.root
  const o = closeOutcomes({ directory, metrics, offers: market.active(1), rewards })
  const cert = certifyOutcomes(o.body, witnesses.slice(0, 2).map((w) => signOutcomes(o.body, w, o.config)), o.config)
  outcomes.put(offer.id, o.evidenceFor(offer.id, cert)!)            // evidence: checked, kept beside the redeem
  if (cycleVerdict(offer, 1, outcomes).state === 'passed') await redeemInstalment(seller, escrow)
  // --- end ---
  assert.is(o.outcomeOf(offer.id), false, 'no report from the gateway in epoch 1: the cycle failed')
  assert.is(await seller.balance(), 500 - 20)
  // the same with a report: the instalment is paid
  const escrow2 = await subscribe(buyer, offer, 2)
  await buyer.complete(await seller.accept(escrow2, await buyer.agent.store.range(bob.publicKey)))
  m.at(2)
  m.epoch([[gateway, [60_000, 1]]])
  assert.equal(cycleVerdict(offer, 2, outcomes), { state: 'passed' })
  await redeemInstalment(seller, escrow2)
  assert.is(await seller.balance(), 500 - 40 + 50)

  const source = readFileSync(new URL(import.meta.url), 'utf8')
  const sample = source.split('// --- from the README (Markets) ---\n')[1]!.split('  // --- end ---')[0]!
  const dedented = sample.split('\n').map((line) => line.replace(/^ {2}/, '')).join('\n').trimEnd()
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  assert.ok(readme.includes(dedented), `README.md does not quote the Markets example:\n${dedented}`)
})

Readme.run()
