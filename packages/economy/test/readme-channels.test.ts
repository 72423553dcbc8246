/**
 * The README's payment-channel and bandwidth examples, as written there: the lines between each
 * pair of markers below must appear in README.md verbatim, and they must run and leave what the
 * README says.
 */
import { readFileSync } from 'node:fs'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createAgent, createMemoryStore, decodeCanonical, identityFromSeed } from '@tally/core'
import { auditSupply, createEconomyTypes, createEvidenceStore, createWallet, epochAt } from '@tally/economy'
import { createChannelBook, createPayee, createPayer } from '@tally/economy/channels'
import { createBandwidthLedger, createPayoutView, decodePayout, encodePayout, thresholdPolicy } from '@tally/economy/bandwidth'
import { alice as aliceId, bob as bobId, carol, certificate, component, runEpoch, world } from './helpers.ts'

const Readme = suite('readme: channels and bandwidth')

function quoted(marker: string): void {
  const source = readFileSync(new URL(import.meta.url), 'utf8')
  const sample = source.split(`// --- from the README (${marker}) ---\n`)[1]!.split('  // --- end ---')[0]!
  const dedented = sample.split('\n').map((line) => line.replace(/^ {2}/, '')).join('\n').trimEnd()
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  assert.ok(readme.includes(dedented), `README.md does not quote the ${marker} example:\n${dedented}`)
}

Readme('the Payment channels example runs, and the README quotes it verbatim', async () => {
  // the README's first example, in short: a community where alice claimed 1,000,000
  const w = world([[aliceId, component(1)]], { start: 0, rewardPerEpoch: 1_000_000 })
  const { config, community } = w
  const epoch = runEpoch(w, [[component(1), [75_000, 12]]])
  const evidence = createEvidenceStore(community)
  const types = createEconomyTypes({ community, evidence })
  const aliceAgent = createAgent({ head: 'local', identity: aliceId, store: createMemoryStore(), types })
  const alice = createWallet({ agent: aliceAgent, community, evidence, key: aliceId })
  const claim = await alice.claim({ amount: 1_000_000, certificate: certificate(epoch), proof: epoch.proofFor(aliceId.publicKey)! })
  // --- from the README (Payment channels) ---
  const book = createChannelBook()                  // bob's, in memory; on disk: createChannelBook(await openLevelRecords({ path }))
  const bobTypes = createEconomyTypes({ community, evidence, lock: { receipts: book } })  // his node refuses a release a receipt contradicts
  const bob = createWallet({ agent: createAgent({ head: 'local', identity: bobId, store: createMemoryStore(), types: bobTypes }), community, evidence })
  const payer = createPayer({ wallet: alice, key: aliceId, community })
  const payee = createPayee({ wallet: bob, book, community })
  const expiry = epochAt(config, Date.now()) + 24
  const { channel, lock } = await payer.open({ to: bobId.publicKey, deposit: 100, expiry })
  await payee.admit(lock, [claim])                     // once per lock: bob replays alice's chain up to it
  const receipt = await payer.pay(channel, 25)         // 104-119 bytes, for any byte link
  const ack = await payee.accept(receipt, { price: 25 })  // off line: one signature check; durable, then acked
  await payee.admit(await payer.recharge(channel, 200, expiry))  // a second lock, same channel
  await payee.accept(await payer.pay(channel, 95))     // total 120: 100 from the first lock, 20 from the second
  await payee.redeem(channel)                          // a `redeem` per lock the receipt covers; still open
  // --- end ---
  assert.equal(decodeCanonical(ack), ['ack', 1, 25])
  assert.ok(receipt.length >= 104 && receipt.length <= 119)
  assert.is(await bob.balance(), 120)
  assert.is(await alice.balance(), 1_000_000 - 300)
  const observer = createAgent({ head: 'local', identity: carol, store: createMemoryStore(), types })
  for (const b of [...(await aliceAgent.store.range(aliceId.publicKey)), ...(await bob.agent.store.range(bobId.publicKey))]) await observer.receive(b)
  const supply = await auditSupply(observer.store)
  assert.ok(supply.ok)
  assert.is(supply.locked, 180)
  quoted('Payment channels')
})

Readme('the Bandwidth tokens example runs, and the README quotes it verbatim', () => {
  const [danaId, relayId] = [identityFromSeed(new Uint8Array(32).fill(1)), identityFromSeed(new Uint8Array(32).fill(2))]
  // --- from the README (Bandwidth tokens) ---
  const view = createPayoutView()                      // what a peer learns from published payouts
  const dana = createBandwidthLedger({ key: danaId, view })
  const relay = createBandwidthLedger({ key: relayId, view, policy: thresholdPolicy(-5_000) })  // refuse below −5 GB
  if (relay.admit(danaId.publicKey, 700).ok) relay.receive(dana.pay(relayId.publicKey, 1_400))  // 700 MB over 2 hops
  const payout = relay.payout(0)!                      // later, once a period: one voucher per payer
  view.learn(decodePayout(encodePayout(payout)))       // any peer checks it alone
  console.log(view.balance(danaId.publicKey), view.balance(relayId.publicKey))  // -1400 1400
  // --- end ---
  assert.is(view.balance(danaId.publicKey), -1400)
  assert.is(view.balances().sum, 0)
  quoted('Bandwidth tokens')
})

Readme.run()
