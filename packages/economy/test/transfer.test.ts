/**
 * The `transfer` and `burn` block types and the balance rule: each half carries its owner's
 * balance after it; balances follow from the previous balance block and stay >= 0; a chain whose
 * balances do not add up yields a 'balance' fraud proof verifiable alone from the blocks; the
 * receiver checks the sender can pay before countersigning; honest chains are never accused.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {
  FraudError,
  InvalidBlockError,
  RefusedError,
  blockSize,
  createAgent,
  createFraudProof,
  createMemoryStore,
  nobleCrypto,
  validate,
  verifyFraudProof,
  type HalfBlock,
} from '@tally/core'
import { BALANCE_FRAUD, balanceEntry, balanceOf, createEconomyTypes, createEvidenceStore, rewardPayload, verifyBalanceFraud } from '@tally/economy'
import { alice, bob, carol, certificate, chainOf, component, mallory, rejectsLike, rules, runEpoch, storeWith, world, type Step } from './helpers.ts'

// alice earns 1000 in epoch 0 (she is the only contributor)
const w = world([[alice, component(1)]])
const r0 = runEpoch(w, [[component(1), [60_000, 1]]])
const cert0 = certificate(r0)
const evidence = createEvidenceStore(w.community)
evidence.put(alice.publicKey, 1_000, { certificate: cert0, proof: r0.proofFor(alice.publicKey)! })
const types = createEconomyTypes({ community: w.community, evidence })
const verifiers = types.fraudVerifiers()

const reward: Step = { type: 'reward', payload: rewardPayload({ epoch: 0, amount: 1_000, before: 0, root: cert0.root }) }
const send = (to: Uint8Array, amount: number, balance: number): Step => ({ type: 'transfer', payload: { amount, balance }, link: to })
const burn = (amount: number, balance: number): Step => ({ type: 'burn', payload: { amount, balance } })
const note: Step = { type: 'note', payload: 'unrelated' }

async function check(blocks: readonly HalfBlock[]) {
  return validate(blocks[blocks.length - 1]!, { store: await storeWith(blocks.slice(0, -1)), types })
}

const Rules = suite('transfer: balance rules')

Rules('a transfer and a burn that follow are valid; other types leave the balance alone', async () => {
  const blocks = chainOf(alice, [reward, send(bob.publicKey, 300, 700), note, burn(200, 500)])
  for (let i = 1; i <= blocks.length; i++) assert.equal((await check(blocks.slice(0, i))).errors, [], `block ${i}`)
  assert.is(await balanceOf(await storeWith(blocks), alice.publicKey), 500)
  assert.ok(blockSize(blocks[1]!) < 240, `transfer proposal of ${blockSize(blocks[1]!)} bytes`)
})

const broken: [string, Step[], string][] = [
  ['a transfer that creates tokens', [reward, send(bob.publicKey, 300, 800)], 'balance'],
  ['spending more than the balance', [reward, send(bob.publicKey, 1_200, -200)], 'balance-negative'],
  ['a transfer from an empty chain', [send(bob.publicKey, 1, -1)], 'balance-negative'],
  ['a first block claiming a balance from nothing', [send(bob.publicKey, 1, 99)], 'balance'],
  ['a burn that does not subtract', [reward, burn(100, 1_000)], 'balance'],
  ['a balance carried wrongly across another type', [reward, note, note, send(bob.publicKey, 1, 998)], 'balance'],
  ['a malformed transfer payload', [reward, { type: 'transfer', payload: { amount: 0, balance: 1_000 }, link: bob.publicKey }], 'transfer-payload'],
  ['a transfer without a counterparty', [reward, { type: 'transfer', payload: { amount: 1, balance: 999 } }], 'transfer-unilateral'],
  ['a malformed burn payload', [reward, { type: 'burn', payload: { amount: 1 } }], 'burn-payload'],
  ['a burn with a counterparty', [reward, { ...burn(1, 999), link: bob.publicKey }], 'burn-unilateral'],
]
for (const [what, steps, rule] of broken) {
  Rules(`${what} → '${rule}'`, async () => {
    const result = await check(chainOf(alice, steps))
    assert.is(result.level, 'invalid')
    assert.ok(rules(result.errors).includes(rule), `expected ${rule}, got ${rules(result.errors).join(', ')}`)
  })
}

Rules('a partial view cannot check the balance and does not pretend to', async () => {
  const blocks = chainOf(alice, [reward, send(bob.publicKey, 300, 9_999)])
  const result = await validate(blocks[1]!, { store: createMemoryStore(), types })
  assert.equal(result.errors, [])
  assert.is(result.level, 'no-info')
})

const Fraud = suite('transfer: balance fraud')

Fraud('a balance that does not follow yields a proof that verifies alone', async () => {
  for (const steps of [[reward, send(bob.publicKey, 300, 800)], [reward, note, note, burn(1, 1_000)], [send(bob.publicKey, 1, 5)], [note, send(bob.publicKey, 1, -1)]]) {
    const result = await check(chainOf(alice, steps))
    const proof = result.fraud.find((p) => p.kind === BALANCE_FRAUD)
    assert.ok(proof !== undefined, 'a proof comes back')
    assert.equal(verifyFraudProof(proof!, { verifiers }), { ok: true })
  }
})

Fraud('forged or honest evidence never verifies', () => {
  const honest = chainOf(alice, [reward, send(bob.publicKey, 300, 700), note, burn(200, 500)])
  for (let i = 0; i < honest.length; i++) {
    for (let j = i; j < honest.length; j++) {
      const result = verifyFraudProof(createFraudProof(BALANCE_FRAUD, honest.slice(i, j + 1)), { verifiers })
      assert.is(result.ok, false, `segment ${i}..${j}`)
    }
  }
  const cheat = chainOf(alice, [reward, send(bob.publicKey, 300, 800)])
  // the cheat's blocks, but not consecutive in one chain
  const other = chainOf(alice, [note, send(bob.publicKey, 300, 800)])
  assert.match(verifyBalanceFraud([cheat[0]!, other[1]!], undefined as never)!, /consecutive/)
  // a balance block between the two
  const three = chainOf(alice, [reward, burn(1, 999), send(bob.publicKey, 300, 800)])
  assert.match(verifyBalanceFraud(three, undefined as never)!, /between/)
  // a segment that starts nowhere
  assert.match(verifyBalanceFraud(chainOf(alice, [note, note, send(bob.publicKey, 1, 5)]).slice(1), undefined as never)!, /neither/)
})

Fraud('property: honest random chains are never accused', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('send', 'burn', 'note'), fc.integer({ min: 1, max: 400 })), { maxLength: 8 }), async (ops) => {
      let balance = 1_000
      const steps: Step[] = [reward]
      for (const [op, amount] of ops) {
        if (op === 'note') steps.push(note)
        else if (amount <= balance) steps.push(op === 'send' ? send(bob.publicKey, amount, (balance -= amount)) : burn(amount, (balance -= amount)))
      }
      const blocks = chainOf(alice, steps)
      for (let i = 0; i < blocks.length; i++) {
        for (let j = i; j < Math.min(blocks.length, i + 16); j++) {
          // the kind's own check (the signatures are genuine: verifyFraudProof would only add their cost)
          if (verifyBalanceFraud(blocks.slice(i, j + 1), nobleCrypto) === undefined) return false
        }
      }
      const result = await check(blocks)
      return result.errors.length === 0 && result.fraud.length === 0
    }),
    { numRuns: 60 },
  )
})

const Protocol = suite('transfer: proposal and agreement')

async function agents() {
  const a = createAgent({ head: 'local', identity: alice, store: createMemoryStore(), types })
  const b = createAgent({ head: 'local', identity: bob, store: createMemoryStore(), types })
  const c = createAgent({ head: 'local', identity: carol, store: createMemoryStore(), types })
  await a.append('reward', reward.payload)
  return { a, b, c }
}

Protocol('the receiver adds its own balance; the agreement repeats amount and sender balance', async () => {
  const { a, b } = await agents()
  const p = await a.propose(bob.publicKey, 'transfer', { amount: 250, balance: 750 })
  await b.receive((await a.store.get(alice.publicKey, 1))!)
  const agreement = await b.agree(p)
  assert.equal(agreement.payload, { amount: 250, balance: 250, senderBalance: 750 })
  assert.equal(balanceEntry(agreement), { balance: 250, delta: 250 })
  await a.complete(agreement)
  // a second transfer to bob: bob's balance builds on the first
  const p2 = await a.propose(bob.publicKey, 'transfer', { amount: 50, balance: 700 })
  const a2 = await b.agree(p2)
  assert.equal(a2.payload, { amount: 50, balance: 300, senderBalance: 700 })
})

Protocol('the receiver refuses when it cannot see the sender\'s previous balance', async () => {
  const { a, c } = await agents()
  const p = await a.propose(carol.publicKey, 'transfer', { amount: 250, balance: 750 })
  await rejectsLike(c.agree(p), RefusedError)
})

Protocol('the receiver refuses an overspend with a fraud proof', async () => {
  const { a, b } = await agents()
  await b.receive((await a.store.get(alice.publicKey, 1))!)
  // an honest agent never signs it: its own rules reject the balance, and nothing is appended
  await rejectsLike(a.propose(bob.publicKey, 'transfer', { amount: 250, balance: 900 }), InvalidBlockError)
  assert.is((await a.store.latest(alice.publicKey))?.seq, 1)
  // a cheater signs it by hand
  const [p] = chainOf(alice, [{ type: 'transfer', payload: { amount: 250, balance: 900 }, link: bob.publicKey }], (await a.store.get(alice.publicKey, 1))!)
  const err = await rejectsLike(b.agree(p!), FraudError)
  assert.is(((err as FraudError).proof as { kind: string }).kind, BALANCE_FRAUD)
  assert.ok(await b.refuses(alice.publicKey), 'and refuses the cheater from then on')
})

Protocol('an agreement that changes the amount or the sender balance does not match', async () => {
  const { a, b } = await agents()
  const p = await a.propose(bob.publicKey, 'transfer', { amount: 250, balance: 750 })
  const [forged] = chainOf(bob, [{ type: 'transfer', payload: { amount: 251, balance: 251, senderBalance: 750 }, link: alice.publicKey, linkSeq: p.seq }])
  const result = await validate(forged!, { store: await storeWith([p]), types })
  assert.ok(rules(result.errors).includes('link-payload'))
  const [forged2] = chainOf(bob, [{ type: 'transfer', payload: { amount: 250, balance: 250, senderBalance: 751 }, link: alice.publicKey, linkSeq: p.seq }])
  assert.ok(rules((await validate(forged2!, { store: await storeWith([p]), types })).errors).includes('link-payload'))
  // and the genuine agreement matches
  await b.receive((await a.store.get(alice.publicKey, 1))!)
  assert.equal((await validate(await b.agree(p), { store: await storeWith([p]), types })).errors, [])
})

Protocol('the receiver replays the sender\'s whole chain: tokens from an invalid block behind a valid one are refused', async () => {
  // mallory's first block claims 1000 without evidence (invalid), then she spends from it
  const bogus: Step = { type: 'reward', payload: rewardPayload({ epoch: 0, amount: 1_000, before: 0, root: cert0.root }) }
  const blocks = chainOf(mallory, [bogus, send(carol.publicKey, 10, 990), send(bob.publicKey, 5, 985)])
  const b = createAgent({ head: 'local', identity: bob, store: createMemoryStore(), types })
  for (const block of blocks.slice(0, 2)) await b.receive(block)
  assert.is(await b.store.get(mallory.publicKey, 1), undefined, 'the bogus claim was refused')
  assert.ok((await b.store.get(mallory.publicKey, 2)) !== undefined, 'the next block was kept, unchecked: its predecessor is unknown')
  // block 3 follows from block 2, but the chain does not add up from genesis: block 1 is missing
  const err = await rejectsLike(b.agree(blocks[2]!), RefusedError)
  assert.is((err as RefusedError).reason, 'history-missing', 'the refusal says what the receiver lacks')
})

Protocol('history that proves fraud makes the receiver keep and throw the proof, not just refuse', async () => {
  // mallory's second block claims a balance that does not follow from her first
  const { a } = await agents()
  const r = (await a.store.get(alice.publicKey, 1))!
  const blocks = chainOf(alice, [send(mallory.publicKey, 10, 5_000)], r)
  const b = createAgent({ head: 'local', identity: bob, store: createMemoryStore(), types })
  // the bad block reaches bob before alice's reward, so it was stored unchecked
  await b.receive(blocks[0]!)
  await b.receive(r)
  const next = chainOf(alice, [send(bob.publicKey, 1, 4_999)], blocks[0]!)[0]!
  const err = await rejectsLike(b.agree(next), FraudError)
  assert.is(((err as FraudError).proof as { kind: string }).kind, BALANCE_FRAUD)
  assert.ok(await b.refuses(alice.publicKey), 'the proof is kept: alice is refused from then on')
  assert.ok(verifyFraudProof((err as FraudError).proof as never, { verifiers: types.fraudVerifiers() }).ok)
})

Protocol('a receiver policy can decline valid transfers', async () => {
  const strict = createEconomyTypes({ community: w.community, evidence, accept: (_p, amount) => amount <= 100 })
  const { a } = await agents()
  const b = createAgent({ head: 'local', identity: bob, store: createMemoryStore(), types: strict })
  await b.receive((await a.store.get(alice.publicKey, 1))!)
  const declined = await a.propose(bob.publicKey, 'transfer', { amount: 250, balance: 750 })
  const err = await rejectsLike(b.agree(declined), RefusedError)
  assert.is((err as RefusedError).reason, 'declined')
  // the declined proposal stays in alice's chain: its amount is in flight, her balance is 750
  await b.receive(declined)
  const ok = await b.agree(await a.propose(bob.publicKey, 'transfer', { amount: 100, balance: 650 }))
  assert.is((ok.payload as { balance: number }).balance, 100)
})

Rules.run()
Fraud.run()
Protocol.run()
