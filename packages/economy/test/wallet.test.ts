/**
 * The wallet: claim, send, accept, complete, burn — each block's balance follows from the last,
 * even when operations are started concurrently; mistakes are refused before anything is signed.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { InvalidBlockError, createAgent, createMemoryStore, validate } from '@tally/core'
import { auditSupply, createEconomyTypes, createEvidenceStore, createWallet, type Claim, type Wallet } from '@tally/economy'
import { alice, bob, carol, certificate, component, rejectsLike, runEpoch, world } from './helpers.ts'

function setup() {
  const w = world([[alice, component(1)], [bob, component(2)]])
  const results = [0, 1, 2].map((e) => runEpoch(w, [[component(1), [60_000, 1]], [component(2), [10_000 * (e + 1), 1]]]))
  const certs = results.map((r) => certificate(r))
  const claimOf = (who: typeof alice, e: number): Claim => ({ amount: results[e]!.amountOf(who.publicKey), certificate: certs[e]!, proof: results[e]!.proofFor(who.publicKey)! })
  const evidence = createEvidenceStore(w.community)
  const types = createEconomyTypes({ community: w.community, evidence })
  const wallet = (who: typeof alice): Wallet => createWallet({ agent: createAgent({ head: 'local', identity: who, store: createMemoryStore(), types }), community: w.community, evidence })
  return { w, results, certs, claimOf, evidence, types, wallet }
}

const Wallet = suite('wallet')

Wallet('claim, send, accept, complete, burn: balances on both sides', async () => {
  const { claimOf, wallet, types } = setup()
  const wa = wallet(alice)
  const wb = wallet(bob)
  const c0 = claimOf(alice, 0)
  const r = await wa.claim(c0)
  assert.is(await wa.balance(), c0.amount)
  assert.is(await wa.lastClaimedEpoch(), 0)
  const p = await wa.send(bob.publicKey, 100)
  const agreement = await wb.accept(p, [r])
  await wa.complete(agreement)
  assert.is(await wa.balance(), c0.amount - 100)
  assert.is(await wb.balance(), 100)
  await wb.burn(40)
  assert.is(await wb.balance(), 60)
  // an observer that validates everything sees the same
  const observer = createAgent({ head: 'local', identity: carol, store: createMemoryStore(), types })
  for (const b of [r, p, agreement, ...(await wb.agent.store.range(bob.publicKey))]) assert.not.equal((await observer.receive(b)).level, 'invalid')
  const supply = await auditSupply(observer.store)
  assert.ok(supply.ok)
  assert.is(supply.balances, c0.amount - 40)
  assert.is(supply.burned, 40)
})

Wallet('a send and an agreement the node makes at the same moment still add up', async () => {
  const { claimOf, wallet, types } = setup()
  const wa = wallet(alice)
  const wb = wallet(bob)
  const ra = await wa.claim(claimOf(alice, 0))
  const rb = await wb.claim(claimOf(bob, 0))
  const incoming = await wb.send(alice.publicKey, 7)
  await wa.agent.receive(rb)
  // the node answers Bob's transfer directly through the agent while Alice's wallet sends
  const [sent, agreed] = await Promise.all([wa.send(carol.publicKey, 100), wa.agent.agree(incoming)])
  const observer = createAgent({ head: 'local', identity: carol, store: createMemoryStore(), types })
  for (const b of [ra, rb, incoming, ...(await wa.agent.store.range(alice.publicKey))]) {
    const result = await observer.receive(b)
    assert.not.equal(result.level, 'invalid', `${b.type} at seq ${b.seq}: ${result.errors.map((e) => e.rule)}`)
  }
  assert.ok(sent.seq !== agreed.seq)
  assert.is(await wa.balance(), claimOf(alice, 0).amount + 7 - 100)
})

Wallet('claims are refused before signing: a claimed epoch, a wrong amount; a late certificate is still claimed', async () => {
  const { claimOf, wallet } = setup()
  const wa = wallet(alice)
  await wa.claim(claimOf(alice, 1))
  const twice = await rejectsLike(wa.claim(claimOf(alice, 1)), InvalidBlockError)
  assert.ok((twice as InvalidBlockError).errors.some((e) => e.rule === 'reward-epoch'))
  await rejectsLike(wa.claim({ ...claimOf(alice, 2), amount: claimOf(alice, 2).amount + 1 }), InvalidBlockError)
  await rejectsLike(wa.claim({ ...claimOf(bob, 2) }), InvalidBlockError)
  assert.is((await wa.agent.store.latest(alice.publicKey))!.seq, 1, 'nothing was signed')
  // epoch 0's certificate arrived late: it is not lost
  const late = await wa.claim(claimOf(alice, 0))
  assert.is(late.seq, 2)
  assert.is(await wa.balance(), claimOf(alice, 1).amount + claimOf(alice, 0).amount)
})

Wallet('a claim with fewer than k certificate signatures is refused', async () => {
  const { claimOf, wallet } = setup()
  const c = claimOf(alice, 0)
  const err = await rejectsLike(wallet(alice).claim({ ...c, certificate: { ...c.certificate, signatures: c.certificate.signatures.slice(0, 1) } }), InvalidBlockError)
  assert.match(err.message, /reward-certificate/)
})

Wallet('spending beyond the balance, or nothing, is refused', async () => {
  const { claimOf, wallet } = setup()
  const wa = wallet(alice)
  await rejectsLike(wa.send(bob.publicKey, 1), RangeError, /exceeds the balance of 0/)
  await wa.claim(claimOf(alice, 0))
  await rejectsLike(wa.send(bob.publicKey, 0), RangeError, /amount/)
  await rejectsLike(wa.burn(claimOf(alice, 0).amount + 1), RangeError, /exceeds/)
  await rejectsLike(wa.send(new Uint8Array(3), 1), RangeError, /to/)
})

Wallet('concurrent operations still make a chain whose balances add up', async () => {
  const { claimOf, wallet, types } = setup()
  const wa = wallet(alice)
  const wb = wallet(bob)
  await Promise.all([wa.claim(claimOf(alice, 0)), wb.claim(claimOf(bob, 0))])
  const sends = await Promise.all([wa.send(bob.publicKey, 10), wa.send(bob.publicKey, 20), wa.burn(5), wa.claim(claimOf(alice, 1)), wa.send(bob.publicKey, 30)])
  const chain = await wa.agent.store.range(alice.publicKey)
  const store = createMemoryStore()
  for (const block of chain) {
    const result = await validate(block, { store, types })
    assert.equal(result.errors, [], `block ${block.seq}`)
    await store.batch().put(block).commit()
  }
  // bob accepts the three transfers concurrently too
  const history = chain
  await Promise.all(sends.filter((b) => b.type === 'transfer').map((p) => wb.accept(p, history)))
  assert.is(await wb.balance(), claimOf(bob, 0).amount + 60)
})

Wallet.run()
