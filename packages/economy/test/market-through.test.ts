/**
 * The market on a node's own transaction path (through.ts): a subscription cycle's escrow lock
 * and a trade's instalments are proposals delivered through a `TransactionPort` — here a double
 * that hands the proposal to the counterparty's agent, whose policy countersigns it (the seller's
 * penalty counter-lock, the receiver's transfer rules), as the gossip node's `node.transactions`
 * does over a socket (bench/market.ts runs that path between two processes). A trade between two
 * agents whose one chain each holds both communities' tokens (payload version 2) completes, each
 * side's balances move in their own community only, and each community's supply adds up.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { RefusedError, createAgent, createMemoryStore, type Agent, type HalfBlock, type TransactionPort } from '@tally/core'
import { auditSupply, createEconomyTypes, createEvidenceStore, createWallet, supplyOf, type Wallet } from '@tally/economy'
import { createTrade, payInstalment, signOrder, subscribeThrough } from '@tally/economy/market'
import { alice, bob, certificate, component, rejectsLike, runEpoch, world } from './helpers.ts'
import { marketWorld } from './market-fixtures.ts'

/** A port double: the counterparty's agent agrees by its own rules and policy; the proposer takes the agreement in. */
const port = (from: Agent, to: () => Agent): TransactionPort => ({
  async deliver(proposal: HalfBlock) {
    const counterparty = to()
    for (const b of await from.store.range(from.publicKey, { to: proposal.seq - 1 })) if ((await counterparty.store.get(b.publicKey, b.seq)) === undefined) await counterparty.receive(b)
    const agreement = await counterparty.agree(proposal)
    await from.complete(agreement)
    return agreement
  },
})

const Through = suite('market: through the transaction path')

Through('a subscription cycle: the buyer\'s escrow delivered, the seller\'s node countersigns with its penalty lock', async () => {
  const m = await marketWorld()
  const offer = await m.list(m.wa, alice)
  const { escrow, penalty } = await subscribeThrough(m.wb, port(m.wb.agent, () => m.wa.agent), offer, 1)
  assert.is(escrow.type, 'lock')
  assert.is(penalty.type, 'lock')
  assert.is((penalty.payload as { amount: number }).amount, offer.penalty)
  assert.ok(await m.wb.agent.store.findAgreement(escrow.publicKey, escrow.seq, escrow.linkPublicKey))
  // a cycle the seller's policy refuses (already begun) comes back refused, not agreed
  m.at(3)
  await rejectsLike(subscribeThrough(m.wb, port(m.wb.agent, () => m.wa.agent), offer, 2), RefusedError)
})

Through('a k = 10 trade between two one-chain traders, each instalment a transfer delivered through the port', async () => {
  const wA = world([[alice, component(1)]], { name: 'ttn' })
  const wB = world([[bob, component(2)]], { name: 'bandwidth', token: { name: 'Bandwidth', unit: 'BWT', decimals: 3 } })
  const [rA, rB] = [runEpoch(wA, [[component(1), [60_000, 1]]]), runEpoch(wB, [[component(2), [60_000, 1]]])]
  const [evA, evB] = [createEvidenceStore(wA.community), createEvidenceStore(wB.community)]
  const types = () => createEconomyTypes({ community: wA.community, evidence: evA, also: [{ community: wB.community, evidence: evB }] })
  const trader = (key: typeof alice) => {
    const agent = createAgent({ head: 'local', identity: key, store: createMemoryStore(), types: types() })
    return { agent, a: createWallet({ agent, community: wA.community, evidence: evA, key, named: true }), b: createWallet({ agent, community: wB.community, evidence: evB, key, named: true }) }
  }
  // alice (the maker) gives WVL of A; bob (the taker) pays BWT of B
  const maker = trader(alice)
  const taker = trader(bob)
  await maker.a.claim({ amount: rA.amountOf(alice.publicKey), certificate: certificate(rA), proof: rA.proofFor(alice.publicKey)! })
  await taker.b.claim({ amount: rB.amountOf(bob.publicKey), certificate: certificate(rB), proof: rB.proofFor(bob.publicKey)! })
  const order = signOrder(alice, { maker: alice.publicKey, receive: alice.publicKey, give: { community: wA.community.id, amount: 500 }, want: { community: wB.community.id, amount: 250 }, k: 10, expires: 10_000 })
  const trade = createTrade(order, bob.publicKey, { receive: bob.publicKey, timeoutMs: 1_000, now: 0 })
  const takerPort = port(taker.agent, () => maker.agent)
  const makerPort = port(maker.agent, () => taker.agent)
  await rejectsLike(payInstalment(trade, 'maker', maker.a, bob.publicKey, makerPort, 1), RangeError, /no instalment is due from the maker/)
  let n = 0
  for (let d = trade.due(); d !== undefined; d = trade.due()) {
    if (d.payer === 'taker') await payInstalment(trade, 'taker', taker.b, order.receive, takerPort, ++n)
    else await payInstalment(trade, 'maker', maker.a, bob.publicKey, makerPort, ++n)
  }
  assert.is(trade.state, 'done')
  assert.equal(trade.paid, { taker: 250, maker: 500 })
  const [ra, rb] = [rA.amountOf(alice.publicKey), rB.amountOf(bob.publicKey)]
  const balances = async (w: Wallet) => w.balance()
  assert.equal([await balances(maker.a), await balances(maker.b), await balances(taker.a), await balances(taker.b)], [ra - 500, 250, 500, rb - 250])
  const store = createMemoryStore()
  const batch = store.batch()
  for (const t of [maker, taker]) for (const b of await t.agent.store.range(t.agent.publicKey)) batch.put(b)
  await batch.commit()
  const report = await auditSupply(store)
  assert.ok(report.ok)
  assert.equal([supplyOf(report, wA.community.id).rewards, supplyOf(report, wB.community.id).rewards], [ra, rb])
})

Through.run()
