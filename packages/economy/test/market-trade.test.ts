/**
 * Trades between two communities' tokens by incremental settlement: orders signed by their maker,
 * instalments that alternate with the risk-taker first, at most one instalment at stake, bounded
 * obligations per counterparty, cancel after a timeout; then a k = 10 trade paid with real
 * transfers in two communities' chains, one trader walking away, and the supply of each community
 * audited on its own. fast-check: whatever the amounts, k and the moment one side walks away, the
 * honest side never has more than ⌈V/k⌉ at stake nor loses more than one instalment.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { blockHash, createAgent, createMemoryStore, type SeedIdentity } from '@tally/core'
import { auditSupply, createEconomyTypes, createEvidenceStore, createWallet, type Wallet } from '@tally/economy'
import { createTrade, createTradeBook, instalments, signOrder, verifyOrder, type Order, type Trade } from '@tally/economy/market'
import { alice, bob, carol, certificate, component, id, mallory, runEpoch, world } from './helpers.ts'

const A = new Uint8Array(32).fill(0xa)
const B = new Uint8Array(32).fill(0xb)
const T0 = 1_000
const order = (fields: Partial<Parameters<typeof signOrder>[1]> = {}): Order =>
  signOrder(alice, { maker: alice.publicKey, receive: carol.publicKey, give: { community: A, amount: 1_000 }, want: { community: B, amount: 500 }, k: 10, expires: T0 + 60_000, ...fields })
const trade = (o = order()) => createTrade(o, bob.publicKey, { receive: mallory.publicKey, timeoutMs: 5_000, now: T0 })

const Unit = suite('trade: orders, alternation, stake, cancel, bounds')

Unit('instalments split exactly; orders verify and break when changed', () => {
  assert.equal(instalments(1_000, 10), Array(10).fill(100))
  assert.equal(instalments(17, 5), [3, 3, 4, 3, 4])
  assert.equal(instalments(50, 18).reduce((a, b) => a + b), 50)
  assert.throws(() => instalments(3, 5), RangeError)
  const o = order()
  assert.ok(verifyOrder(o))
  assert.not.ok(verifyOrder({ ...o, give: { ...o.give, amount: 1_001 } }))
  assert.not.ok(verifyOrder({ ...o, receive: bob.publicKey }))
  assert.throws(() => order({ k: 501 }), RangeError)
  assert.throws(() => signOrder(bob, { ...o }), RangeError)
  assert.throws(() => createTrade(o, bob.publicKey, { receive: mallory.publicKey, timeoutMs: 1, now: o.expires + 1 }), RangeError)
  assert.throws(() => createTrade(o, alice.publicKey, { receive: mallory.publicKey, timeoutMs: 1, now: T0 }), RangeError)
})

Unit('the taker pays first, the sides alternate, one instalment at stake at most, done after k each', () => {
  const t = trade()
  const r = new Uint8Array(32)
  assert.equal(t.due(), { payer: 'taker', index: 0, amount: 50 })
  assert.throws(() => t.pay('maker', 100, r, T0), RangeError)
  assert.throws(() => t.pay('taker', 49, r, T0), RangeError)
  for (let i = 0; i < 10; i++) {
    t.pay('taker', 50, r, T0 + i)
    assert.is(t.atStake('taker'), 50)
    assert.is(t.atStake('maker'), 0)
    t.pay('maker', 100, r, T0 + i)
    assert.is(t.atStake('taker'), 0)
  }
  assert.is(t.state, 'done')
  assert.equal(t.paid, { taker: 500, maker: 1_000 })
  assert.is(t.due(), undefined)
})

Unit('cancel only when the other side is due and silent for the timeout; the taker loses at most one instalment', () => {
  const t = trade()
  const r = new Uint8Array(32)
  t.pay('taker', 50, r, T0)
  assert.throws(() => t.cancel('maker', T0 + 10_000), RangeError, 'the maker is due: nothing to cancel')
  assert.throws(() => t.cancel('taker', T0 + 4_999), RangeError)
  assert.is(t.cancel('taker', T0 + 5_000), 50)
  assert.is(t.state, 'cancelled')
  assert.is(t.due(), undefined)
  const u = trade()
  u.pay('taker', 50, r, T0)
  u.pay('maker', 100, r, T0)
  assert.is(u.cancel('maker', T0 + 5_000), 0, 'the maker walks away even')
})

Unit('bounded obligations: a trade whose instalment would pass the bound with that counterparty is refused', () => {
  const book = createTradeBook((c) => (c[0] === bob.publicKey[0] ? 60 : 1_000))
  const t = trade()
  assert.ok(book.allows(alice.publicKey, 50))
  book.open(t, 'taker', alice.publicKey)
  t.pay('taker', 50, new Uint8Array(32), T0)
  assert.is(book.atStake(alice.publicKey), 50)
  assert.ok(book.allows(alice.publicKey, 950))
  assert.not.ok(book.allows(alice.publicKey, 951))
  assert.not.ok(book.allows(bob.publicKey, 61))
  t.pay('maker', 100, new Uint8Array(32), T0)
  assert.is(book.atStake(alice.publicKey), 0)
})

const Props = suite('trade: properties')

Props('whatever the amounts, k and who walks away when: stake ≤ ⌈V/k⌉, the honest side loses at most one instalment', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 50, max: 100_000 }), fc.integer({ min: 50, max: 100_000 }), fc.integer({ min: 0, max: 120 }), fc.constantFrom('taker', 'maker'), (k, give, want, stop, walker) => {
      const t = createTrade(order({ k, give: { community: A, amount: give }, want: { community: B, amount: want } }), bob.publicKey, { receive: mallory.publicKey, timeoutMs: 10, now: T0 })
      const bound = { taker: Math.ceil(want / k), maker: Math.ceil(give / k) }
      let now = T0
      let moves = 0
      for (let d = t.due(); d !== undefined; d = t.due()) {
        if (moves === stop && d.payer === walker) break // the walker does not pay
        t.pay(d.payer, d.amount, new Uint8Array(32), now++)
        moves++
        assert.ok(t.atStake('taker') <= bound.taker && t.atStake('maker') === 0)
      }
      if (t.state === 'open') {
        const honest = walker === 'taker' ? 'maker' : 'taker'
        const loss = t.cancel(honest, now + 10)
        assert.ok(loss <= bound[honest], `${honest} lost ${loss}`)
        // value: what the honest side paid minus what it got, at the order's rate, is one instalment at most
        // (each prefix of instalments is within one unit of its exact share, on either side)
        const [vh, vw] = honest === 'taker' ? [want, give] : [give, want]
        assert.ok(t.paid[honest] / vh - t.paid[walker] / vw <= 1 / k + 1 / vh + 1 / vw + 1e-12)
      } else assert.equal(t.paid, { taker: want, maker: give })
    }),
    { numRuns: 300, seed: 20261205 },
  )
})

const Wallets = suite('trade: k = 10 with real transfers in two communities')

async function communityWith(name: string, owner: SeedIdentity, gateway: SeedIdentity) {
  const w = world([[owner, gateway]], { name })
  const r = runEpoch(w, [[gateway, [60_000, 1]]])
  const evidence = createEvidenceStore(w.community)
  const types = createEconomyTypes({ community: w.community, evidence })
  const wallet = (who: SeedIdentity): Wallet => createWallet({ agent: createAgent({ head: 'local', identity: who, store: createMemoryStore(), types }), community: w.community, evidence })
  const ownerWallet = wallet(owner)
  await ownerWallet.claim({ amount: r.amountOf(owner.publicKey), certificate: certificate(r), proof: r.proofFor(owner.publicKey)! })
  return { w, wallet, ownerWallet, types }
}

/** Pay one instalment: an ordinary transfer, countersigned by the receiver after it replays the sender's chain. */
async function pay(from: Wallet, to: Wallet, amount: number): Promise<Uint8Array> {
  const proposal = await from.send(to.agent.publicKey, amount)
  const agreement = await to.accept(proposal, await from.agent.store.range(from.agent.publicKey))
  await from.complete(agreement)
  return blockHash(proposal)
}

Wallets('a full trade, then one where the maker walks away after the taker\'s 4th instalment: the taker loses one', async () => {
  // alice makes in community A (WVL) with key alice, receives in B with key carol; bob takes in B with bob, receives in A with mallory
  const a = await communityWith('wavelets', alice, component(1))
  const b = await communityWith('bandwidth', bob, component(2))
  const makerA = a.ownerWallet
  const takerInA = a.wallet(mallory)
  const takerB = b.ownerWallet
  const makerInB = b.wallet(carol)
  const wallets = { maker: makerA, taker: takerB }
  const receivers = { maker: takerInA, taker: makerInB }
  const run = async (o: Order, walkAfter?: number): Promise<Trade> => {
    const t = createTrade(o, bob.publicKey, { receive: mallory.publicKey, timeoutMs: 5_000, now: T0 })
    let n = 0
    for (let d = t.due(); d !== undefined; d = t.due()) {
      if (walkAfter !== undefined && n === walkAfter) break
      t.pay(d.payer, d.amount, await pay(wallets[d.payer], receivers[d.payer], d.amount), T0 + n++)
    }
    return t
  }
  const full = await run(order({ give: { community: a.w.community.id, amount: 200 }, want: { community: b.w.community.id, amount: 100 } }))
  assert.is(full.state, 'done')
  assert.equal([await makerA.balance(), await takerInA.balance(), await takerB.balance(), await makerInB.balance()], [800, 200, 900, 100])
  const walked = await run(order({ give: { community: a.w.community.id, amount: 200 }, want: { community: b.w.community.id, amount: 100 } }), 7) // taker paid 4, maker 3
  assert.is(walked.atStake('taker'), 10)
  assert.is(walked.cancel('taker', T0 + 60_000), 10)
  assert.equal([await makerA.balance(), await takerInA.balance(), await takerB.balance(), await makerInB.balance()], [740, 260, 860, 140])
  assert.is(walked.receipts.taker.length, 4)
  // each community's supply, audited on its own chains
  for (const [c, ws] of [[a, [makerA, takerInA]], [b, [takerB, makerInB]]] as const) {
    const observer = createAgent({ head: 'local', identity: id(20), store: createMemoryStore(), types: c.types })
    for (const wl of ws) for (const x of await wl.agent.store.range(wl.agent.publicKey)) await observer.receive(x)
    const s = await auditSupply(observer.store)
    assert.ok(s.ok && s.balances === 1_000, JSON.stringify(s))
  }
})

Unit.run()
Props.run()
Wallets.run()
