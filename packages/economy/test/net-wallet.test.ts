/**
 * The wallet over the protocol host: a claim fetches certificate and proof from a witness; a send
 * lets the receiver fetch only the sender's history and reward evidence it lacks, get the
 * witnesses' accept ticket, and countersign through the transaction port; a refusal comes back
 * with a stable reason and the amount with it; a receiver that never answers costs the sender
 * nothing once the proposal expires.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ClosedError, RefusedError, createMemoryStore, encodeBlock, type BlockStore, type HalfBlock } from '@tally/core'
import { auditSupply, readReward } from '@tally/economy'
import { TICKETS_PROTOCOL, WALLET_PROTOCOL } from '@tally/economy/net'
import { alice, bob, carol, chainOf, component, rejectsLike, witnesses } from './helpers.ts'
import { closeAll, network, register, reportAll, type Net } from './net-fixtures.ts'
import { members, type Member } from './net-wallets.ts'

const test = suite('wallet over the network')

/** Epoch 0 certified with alice's and bob's components; wallets for alice, bob and carol (who declines everything). */
async function economy(): Promise<{ net: Net; a: Member; b: Member; c: Member }> {
  const net = network()
  await register(net, alice, component(1))
  await register(net, bob, component(2))
  await reportAll(net, [[component(1), [60_000, 3]], [component(2), [10_000, 1]]])
  await closeAll(net)
  const [a, b] = members(net, [alice, bob])
  const [c] = members(net, [carol], () => false)
  return { net, a: a!, b: b!, c: c! }
}

async function audit(...ms: Member[]): Promise<Awaited<ReturnType<typeof auditSupply>>> {
  const all: BlockStore = createMemoryStore()
  for (const m of ms) {
    const batch = all.batch()
    for (const b of await m.agent.store.range(m.identity.publicKey)) batch.put(b)
    await batch.commit()
  }
  return auditSupply(all)
}

test('claim: certificate and proof from a witness; no reward and unknown epochs are refused with a reason', async () => {
  const { net, a, c } = await economy()
  const block = await a.net.claim(0)
  const amount = net.witnesses[0]!.result(0)!.amountOf(alice.publicKey)
  assert.is(readReward(block.payload)!.amount, amount)
  assert.is(await a.net.wallet.balance(), amount)
  const e1 = (await rejectsLike(c.net.claim(0), RefusedError)) as RefusedError
  assert.is(e1.reason, 'no-reward')
  const e2 = (await rejectsLike(a.net.claim(1), RefusedError)) as RefusedError
  assert.is(e2.reason, 'unknown-epoch')
})

test('send: the receiver fetches only what it lacks, gets the ticket, countersigns; supply adds up', async () => {
  const { net, a, b } = await economy()
  await a.net.claim(0)
  await b.net.claim(0)
  assert.is((await b.agent.store.range(alice.publicKey)).length, 0)
  const tx = await a.net.send(bob.publicKey, 100)
  assert.equal(tx.agreement.publicKey, bob.publicKey)
  assert.is(net.harness.frames.get(`${WALLET_PROTOCOL}/history`), 1)
  assert.is(net.harness.frames.get(`${WALLET_PROTOCOL}/evidence`), 1, 'the evidence of alice\'s reward travelled once')
  assert.is(b.evidence.size, 2)
  // the second transfer: bob holds alice's chain up to the new proposal, so nothing is fetched
  await a.net.send(bob.publicKey, 50)
  assert.is(net.harness.frames.get(`${WALLET_PROTOCOL}/history`), 1)
  assert.is(net.harness.frames.get(`${WALLET_PROTOCOL}/evidence`), 1)
  // and back: alice fetches bob's chain (his claim and two agreements)
  await b.net.send(alice.publicKey, 30)
  assert.is(net.harness.frames.get(`${WALLET_PROTOCOL}/history`), 2)
  const amountA = net.witnesses[0]!.result(0)!.amountOf(alice.publicKey)
  const amountB = net.witnesses[0]!.result(0)!.amountOf(bob.publicKey)
  assert.is(await a.net.wallet.balance(), amountA - 150 + 30)
  assert.is(await b.net.wallet.balance(), amountB + 150 - 30)
  const supply = await audit(a, b)
  assert.ok(supply.ok)
  assert.is(supply.inFlight, 0)
  assert.equal(await a.net.inFlight(), [])
})

test('a receiver that declines: a stable reason, and the amount is back at once', async () => {
  const { net, a, c } = await economy()
  await a.net.claim(0)
  const before = await a.net.wallet.balance()
  const err = (await rejectsLike(a.net.send(carol.publicKey, 70), RefusedError)) as RefusedError
  assert.is(err.reason, 'policy')
  assert.match(err.message, /came back/)
  assert.is(await a.net.wallet.balance(), before)
  assert.equal(await a.net.inFlight(), [])
  const supply = await audit(a, c)
  assert.ok(supply.ok)
  assert.is(supply.refunded, 70)
  // carol asked the witnesses to void it before she answered: she can no longer take it
  const proposal = (await a.agent.store.range(alice.publicKey)).find((b) => b.type === 'transfer')!
  for (const w of witnesses) {
    const e = (await rejectsLike(net.harness.inject(carol.publicKey, w.publicKey, TICKETS_PROTOCOL, 'accept', [encodeBlock(proposal)]), RefusedError)) as RefusedError
    assert.is(e.reason, 'voided')
  }
})

test('a receiver that never answers: no-answer, then after expiry the witnesses void it and it comes back', async () => {
  const { net, a, b } = await economy()
  await a.net.claim(0)
  const before = await a.net.wallet.balance()
  net.harness.silent(bob.publicKey)
  const sending = a.net.send(bob.publicKey, 40)
  sending.catch(() => {})
  await net.harness.clock.advance(30_000)
  const err = (await rejectsLike(sending, RefusedError)) as RefusedError
  assert.is(err.reason, 'no-answer')
  assert.is(await a.net.wallet.balance(), before - 40, 'in flight')
  const flying = await a.net.inFlight()
  assert.is(flying.length, 1)
  const early = await a.net.settle()
  assert.equal([early.refunded.length, early.waiting.length], [0, 1], 'before its expiry the witnesses do not void it')
  assert.is((await audit(a, b)).inFlight, 40)
  await net.harness.clock.advance(600_000)
  const late = await a.net.settle()
  assert.is(late.refunded.length, 1)
  assert.is(await a.net.wallet.balance(), before)
  const supply = await audit(a, b)
  assert.ok(supply.ok)
  assert.equal([supply.inFlight, supply.refunded], [0, 40])
  // bob comes back: the proposal is voided, he cannot take it any more
  net.harness.silent(bob.publicKey, false)
  const offer = await net.harness.inject(alice.publicKey, bob.publicKey, WALLET_PROTOCOL, 'offer', [encodeBlock(flying[0]!.proposal)])
  assert.equal(offer!.message, { accepted: false, reason: 'expired' })
})

test('offers that are malformed, not the sender\'s, or whose balance does not follow are declined with a reason', async () => {
  const { net, a, b } = await economy()
  const reward = await a.net.claim(0)
  const amount = readReward(reward.payload)!.amount
  const expires = net.harness.clock.now() + 60_000
  // alice's key signs a proposal whose balance claims more than she has
  const [greedy] = chainOf(alice, [{ type: 'transfer', payload: { amount: 10, balance: amount, expires, community: net.community.id }, link: bob.publicKey }], reward)
  const answer = await net.harness.inject(alice.publicKey, bob.publicKey, WALLET_PROTOCOL, 'offer', [encodeBlock(greedy!)])
  assert.equal(answer!.message, { accepted: false, reason: 'balance' })
  const [fine] = chainOf(alice, [{ type: 'transfer', payload: { amount: 10, balance: amount - 10, expires, community: net.community.id }, link: bob.publicKey }], reward)
  const notMine = await bobAnswers(net, carol.publicKey, fine!)
  assert.equal(notMine, { accepted: false, reason: 'not-sender' })
  const [plain] = chainOf(alice, [{ type: 'transfer', payload: { amount: 10, balance: amount - 10, community: net.community.id }, link: bob.publicKey }], reward)
  assert.equal(await bobAnswers(net, alice.publicKey, plain!), { accepted: false, reason: 'malformed' })
  for (const body of [[new Uint8Array([1, 2, 3])], [encodeBlock(fine!), 1], ['x']]) {
    const e = (await rejectsLike(net.harness.inject(alice.publicKey, bob.publicKey, WALLET_PROTOCOL, 'offer', body), RefusedError)) as RefusedError
    assert.is(e.reason, 'malformed')
  }
  const e = (await rejectsLike(net.harness.inject(alice.publicKey, bob.publicKey, WALLET_PROTOCOL, 'history', [0, 5]), RefusedError)) as RefusedError
  assert.is(e.reason, 'malformed')
  assert.is((await b.agent.store.range(bob.publicKey)).length, 0, 'bob signed nothing')
})

test('accepted but the agreement was lost on the way: settle() delivers the proposal again', async () => {
  const net = network()
  await register(net, alice, component(1))
  await reportAll(net, [[component(1), [60_000, 3]]])
  await closeAll(net)
  let lose = 1
  const [a, b] = members(net, [alice, bob], undefined, (port) => ({
    deliver: async (proposal) => {
      const agreement = await port.deliver(proposal)
      if (lose-- > 0) throw new ClosedError('the session closed before the agreement came back')
      return agreement
    },
  }))
  await a!.net.claim(0)
  const err = (await rejectsLike(a!.net.send(bob.publicKey, 25), RefusedError)) as RefusedError
  assert.is(err.reason, 'unreachable')
  assert.equal((await a!.net.inFlight()).map((f) => f.known), ['accepted'])
  const settled = await a!.net.settle()
  assert.is(settled.completed.length, 1)
  assert.equal(await a!.net.inFlight(), [])
  assert.is(await b!.net.wallet.balance(), 25)
  // the witnesses accepted it: the sender could never have voided it
  const ticket = await net.harness.inject(alice.publicKey, witnesses[0]!.publicKey, TICKETS_PROTOCOL, 'void', [encodeBlock(settled.completed[0]!.proposal)]).catch((e: unknown) => e)
  assert.ok(ticket instanceof RefusedError && ticket.reason === 'accepted')
})

test.run()

/** Bob's answer to an offer sent from `from`'s party (which hosts the wallet protocol). */
async function bobAnswers(net: Net, from: Uint8Array, proposal: HalfBlock): Promise<unknown> {
  const reply = await net.harness.inject(from, bob.publicKey, WALLET_PROTOCOL, 'offer', [encodeBlock(proposal)])
  return reply!.message
}
