/**
 * One chain, several communities' tokens (payload version 2): every balance block names its
 * community, balances and the balance rule are per community, one claim per epoch is per
 * community, a lock pays out only its own token, and the supply audit holds per community.
 * fast-check: over random schedules of claims, transfers, locks, vouchers, redeems, releases and
 * burns in two communities between three agents, supply is conserved in each community, no honest
 * party is accused, and a spend in one community beyond its balance there is refused whatever the
 * other community's balance (a transfer in A never spends B's tokens).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { InvalidBlockError, createAgent, createMemoryStore, toHex, type Agent, type HalfBlock, type SeedIdentity } from '@tally/core'
import {
  auditSupply,
  balanceOf,
  createEconomyTypes,
  createEvidenceStore,
  createWallet,
  redeemedLocks,
  rewardPayload,
  supplyOf,
  type Community,
  type EpochCertificate,
  type EpochResult,
  type EvidenceStore,
  type Wallet,
} from '@tally/economy'
import { alice, bob, carol, certificate, chainOf, component, rejectsLike, rules, runEpoch, world, type World } from './helpers.ts'

interface Side {
  world: World
  evidence: EvidenceStore
  result: EpochResult
  cert: EpochCertificate
}
const side = (name: string, unit: string, offset: number): Side => {
  const w = world([[alice, component(offset)], [bob, component(offset + 1)], [carol, component(offset + 2)]], { name, token: { name, unit, decimals: 0 } })
  const result = runEpoch(w, [[component(offset), [60_000, 1]], [component(offset + 1), [60_000, 1]], [component(offset + 2), [60_000, 1]]])
  return { world: w, evidence: createEvidenceStore(w.community), result, cert: certificate(result) }
}
const A = side('ttn', 'WVL', 1)
const B = side('bandwidth', 'BWT', 11)
const idOf = (s: Side): Uint8Array => s.world.community.id
const types = () => createEconomyTypes({ community: A.world.community, evidence: A.evidence, also: [{ community: B.world.community, evidence: B.evidence }] })

/** An agent with one named wallet per community over its one chain. */
interface Trader {
  key: SeedIdentity
  agent: Agent
  a: Wallet
  b: Wallet
}
const trader = (key: SeedIdentity): Trader => {
  const agent = createAgent({ head: 'local', identity: key, store: createMemoryStore(), types: types() })
  const wallet = (s: Side) => createWallet({ agent, community: s.world.community, evidence: s.evidence, key, named: true })
  return { key, agent, a: wallet(A), b: wallet(B) }
}
const claimBoth = async (t: Trader) => {
  for (const [s, w] of [[A, t.a], [B, t.b]] as const) await w.claim({ amount: s.result.amountOf(t.key.publicKey), certificate: s.cert, proof: s.result.proofFor(t.key.publicKey)! })
}
/** A trader's chain as a peer needs it: the locks its redeems name first (they travel with them). */
const history = async (t: Trader): Promise<HalfBlock[]> => {
  const chain = await t.agent.store.range(t.key.publicKey)
  return [...(await redeemedLocks(t.agent.store, chain)), ...chain]
}
const pay = async (from: Trader, to: Trader, wallet: 'a' | 'b', amount: number): Promise<HalfBlock> => {
  const p = await from[wallet].send(to.key.publicKey, amount)
  const agreement = await to[wallet].accept(p, await history(from))
  await from[wallet].complete(agreement)
  return agreement
}
const everything = async (traders: readonly Trader[]) => (await Promise.all(traders.map((t) => t.agent.store.range(t.key.publicKey)))).flat()
const observe = async (blocks: readonly HalfBlock[]) => {
  const store = createMemoryStore()
  const batch = store.batch()
  for (const b of blocks) batch.put(b)
  await batch.commit()
  return store
}

const Unit = suite('one chain, two communities (payload version 2)')

Unit('claims of the same epoch in two communities both stand; each balance counts its own; the audit holds per community', async () => {
  const al = trader(alice)
  await claimBoth(al)
  const [ra, rb] = [A.result.amountOf(alice.publicKey), B.result.amountOf(alice.publicKey)]
  assert.equal([await al.a.balance(), await al.b.balance()], [ra, rb])
  assert.is(await al.a.lastClaimedEpoch(), 0)
  // version 1's balance (no community named) is untouched
  assert.is(await balanceOf(al.agent.store, alice.publicKey), 0)
  const chain = await al.agent.store.range(alice.publicKey)
  assert.equal(chain.map((b) => toHex((b.payload as { community: Uint8Array }).community)), [toHex(idOf(A)), toHex(idOf(B))])
  const report = await auditSupply(await observe(chain))
  assert.ok(report.ok)
  assert.equal([supplyOf(report, idOf(A)).rewards, supplyOf(report, idOf(B)).rewards, report.rewards], [ra, rb, ra + rb])
  // a second claim of epoch 0 in A is refused, as before
  await rejectsLike(al.a.claim({ amount: ra, certificate: A.cert, proof: A.result.proofFor(alice.publicKey)! }), InvalidBlockError, /reward-epoch|already claimed/)
})

Unit('a transfer in one community never spends the other\'s tokens: the wallet refuses, and so do the rules', async () => {
  const [al, bo] = [trader(alice), trader(bob)]
  await claimBoth(al)
  const [ra, rb] = [await al.a.balance(), await al.b.balance()]
  await pay(al, bo, 'b', rb) // all of B
  assert.is(await al.b.balance(), 0)
  await rejectsLike(al.b.send(bob.publicKey, 1), RangeError, /exceeds the balance of 0/)
  // around the wallet: a B transfer claiming the balance A holds is refused before signing
  await rejectsLike(al.agent.propose(bob.publicKey, 'transfer', { amount: 1, balance: ra - 1, community: idOf(B) }), InvalidBlockError)
  // the receiver's agreement names B and its B balance
  assert.equal([await bo.b.balance(), await bo.a.balance()], [rb, 0])
  // a forged chain (B spent from A's balance), validated by a third party: a 'balance' proof, per community
  const forged = chainOf(alice, [
    { type: 'reward', payload: rewardPayload({ epoch: 0, amount: ra, before: 0, root: A.cert.root, community: idOf(A) }) },
    { type: 'transfer', payload: { amount: 1, balance: ra - 1, community: idOf(B) }, link: bob.publicKey },
  ])
  A.evidence.put(alice.publicKey, ra, { certificate: A.cert, proof: A.result.proofFor(alice.publicKey)! })
  const observer = createAgent({ head: 'local', identity: carol, store: createMemoryStore(), types: types() })
  assert.not.equal((await observer.receive(forged[0]!)).level, 'invalid')
  const verdict = await observer.receive(forged[1]!)
  assert.is(verdict.level, 'invalid')
  assert.ok(rules(verdict.errors).includes('balance-negative') || rules(verdict.errors).includes('balance'), rules(verdict.errors).join())
  assert.is((await auditSupply(await observe(await everything([al, bo])))).ok, true)
})

Unit('a lock holds and pays out its own community\'s token; a redeem naming another community is refused', async () => {
  const [al, bo] = [trader(alice), trader(bob)]
  await claimBoth(al)
  const [ra, rb] = [await al.a.balance(), await al.b.balance()]
  const lock = await al.b.lock({ to: bob.publicKey, amount: 10, expiry: 5 })
  assert.equal([await al.a.balance(), await al.b.balance()], [ra, rb - 10])
  const v = await al.b.voucher(lock, 4)
  // bob redeems through his A wallet: the redeem still names the lock's community, B
  await bo.a.acceptVoucher(lock, v, await al.agent.store.range(alice.publicKey))
  const redeem = await bo.a.redeem(lock)
  assert.equal(toHex((redeem.payload as { community: Uint8Array }).community), toHex(idOf(B)))
  assert.equal([await bo.a.balance(), await bo.b.balance()], [0, 4])
  // a redeem of the B lock naming A: refused
  const observer = createAgent({ head: 'local', identity: carol, store: createMemoryStore(), types: types() })
  for (const b of await al.agent.store.range(alice.publicKey)) await observer.receive(b)
  const wrong = chainOf(bob, [{ type: 'redeem', payload: { lock: [alice.publicKey, lock.seq, (await import('@tally/core')).blockHash(lock)], by: (redeem.payload as { by: unknown[] }).by as never, amount: 4, redeemed: 4, balance: 4, community: idOf(A) } }])
  const verdict = await observer.receive(wrong[0]!)
  assert.ok(rules(verdict.errors).includes('redeem-community'), rules(verdict.errors).join())
  const report = await auditSupply(await observe(await everything([al, bo])))
  assert.ok(report.ok)
  assert.equal([supplyOf(report, idOf(B)).locked, supplyOf(report, idOf(A)).locked], [6, 0])
})

Unit('a reward naming a community not known here is refused; version 1 and version 2 claims of one epoch conflict, with a proof', async () => {
  const other = world([[alice, component(21)]], { name: 'elsewhere' })
  const agent = createAgent({ head: 'local', identity: alice, store: createMemoryStore(), types: types() })
  await rejectsLike(agent.append('reward', rewardPayload({ epoch: 0, amount: 5, before: 0, root: A.cert.root, community: other.community.id })), InvalidBlockError, /community/)
  const amount = A.result.amountOf(alice.publicKey)
  A.evidence.put(alice.publicKey, amount, { certificate: A.cert, proof: A.result.proofFor(alice.publicKey)! })
  const chain = chainOf(alice, [
    { type: 'reward', payload: rewardPayload({ epoch: 0, amount, before: 0, root: A.cert.root }) },
    { type: 'reward', payload: rewardPayload({ epoch: 0, amount, before: 0, root: A.cert.root, community: idOf(A) }) },
  ])
  const observer = createAgent({ head: 'local', identity: carol, store: createMemoryStore(), types: types() })
  assert.not.equal((await observer.receive(chain[0]!)).level, 'invalid')
  const verdict = await observer.receive(chain[1]!)
  assert.ok(rules(verdict.errors).includes('reward-epoch'), rules(verdict.errors).join())
  assert.is((await observer.store.fraudProofs()).length, 1)
})

Unit('a wallet names its community by default (version 2); named: false goes on with a version-1 chain, whose balance a version-2 wallet does not spend', async () => {
  const plain = createAgent({ head: 'local', identity: bob, store: createMemoryStore(), types: types() })
  const wallet = createWallet({ agent: plain, community: A.world.community, evidence: A.evidence })
  const amount = A.result.amountOf(bob.publicKey)
  const reward = await wallet.claim({ amount, certificate: A.cert, proof: A.result.proofFor(bob.publicKey)! })
  const burn = await wallet.burn(1)
  for (const b of [reward, burn]) assert.equal(toHex((b.payload as { community: Uint8Array }).community), toHex(idOf(A)))
  // a chain begun in version 1 (as before version 2 was the default): its blocks name no community
  const old = createAgent({ head: 'local', identity: carol, store: createMemoryStore(), types: types() })
  A.evidence.put(carol.publicKey, A.result.amountOf(carol.publicKey), { certificate: A.cert, proof: A.result.proofFor(carol.publicKey)! })
  await old.append('reward', rewardPayload({ epoch: 0, amount: A.result.amountOf(carol.publicKey), before: 0, root: A.cert.root }))
  const v1 = createWallet({ agent: old, community: A.world.community, evidence: A.evidence, named: false })
  const v2 = createWallet({ agent: old, community: A.world.community, evidence: A.evidence })
  const had = A.result.amountOf(carol.publicKey)
  assert.equal([await v1.balance(), await v2.balance()], [had, 0])
  await rejectsLike(v2.burn(1), RangeError, /exceeds the balance/)
  const spent = await v1.burn(2)
  assert.not.ok(Object.hasOwn(spent.payload as object, 'community'), 'named: false writes version 1')
  assert.is(await v1.balance(), had - 2)
  const report = await auditSupply(await observe(await old.store.range(carol.publicKey)))
  assert.ok(report.ok)
  assert.equal([supplyOf(report, undefined).rewards, supplyOf(report, undefined).burned], [had, 2])
})

Unit.run()

// ## Property

type Op =
  | { op: 'send'; from: number; to: number; c: 0 | 1; amount: number }
  | { op: 'over'; from: number; c: 0 | 1 }
  | { op: 'lock'; from: number; to: number; c: 0 | 1; amount: number; vouch: number }
  | { op: 'burn'; from: number; c: 0 | 1; amount: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('send' as const), from: fc.nat(2), to: fc.nat(2), c: fc.constantFrom(0 as const, 1 as const), amount: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ op: fc.constant('over' as const), from: fc.nat(2), c: fc.constantFrom(0 as const, 1 as const) }),
  fc.record({ op: fc.constant('lock' as const), from: fc.nat(2), to: fc.nat(2), c: fc.constantFrom(0 as const, 1 as const), amount: fc.integer({ min: 1, max: 200 }), vouch: fc.nat(200) }),
  fc.record({ op: fc.constant('burn' as const), from: fc.nat(2), c: fc.constantFrom(0 as const, 1 as const), amount: fc.integer({ min: 1, max: 50 }) }),
)

const Property = suite('one chain, two communities: properties')

Property('supply conserved per community, no honest party accused, no spend beyond its own community\'s balance', async () => {
  const ran = { send: 0, over: 0, lock: 0, burn: 0 }
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 14 }), async (ops) => {
      const ts = [trader(alice), trader(bob), trader(carol)]
      for (const t of ts) await claimBoth(t)
      const wallet = (t: Trader, c: 0 | 1) => (c === 0 ? t.a : t.b)
      for (const o of ops) {
        const from = ts[o.from]!
        const w = wallet(from, o.c)
        const before = await w.balance()
        const otherBefore = await wallet(from, o.c === 0 ? 1 : 0).balance()
        if (o.op === 'send' || o.op === 'burn' || o.op === 'lock') {
          const to = ts['to' in o ? o.to : 0]!
          const fits = o.amount <= before && (o.op !== 'send' && o.op !== 'lock' ? true : to !== from)
          if (!fits) continue
          ran[o.op]++
          if (o.op === 'send') await pay(from, to, o.c === 0 ? 'a' : 'b', o.amount)
          else if (o.op === 'burn') await w.burn(o.amount)
          else {
            const lock = await w.lock({ to: to.key.publicKey, amount: o.amount, expiry: 0 })
            const vouched = Math.min(o.vouch, o.amount)
            if (vouched > 0) {
              await wallet(to, o.c).acceptVoucher(lock, await w.voucher(lock, vouched), await history(from))
              await wallet(to, o.c).redeem(lock)
            }
            await w.release(lock)
          }
        } else {
          // spending more than this community's balance is refused, even when the other holds enough
          ran.over++
          const amount = before + 1
          let refused = false
          try {
            await w.send(ts[(o.from + 1) % 3]!.key.publicKey, amount)
          } catch (err) {
            refused = err instanceof RangeError
          }
          assert.ok(refused, `a spend of ${amount} over a balance of ${before} (the other community holds ${otherBefore}) was not refused`)
          // and around the wallet, by the rules
          let ruled = false
          try {
            await from.agent.propose(ts[(o.from + 1) % 3]!.key.publicKey, 'transfer', { amount, balance: before + otherBefore - amount, community: o.c === 0 ? idOf(A) : idOf(B) })
          } catch (err) {
            ruled = err instanceof InvalidBlockError
          }
          assert.ok(ruled, 'the rules let a transfer spend the other community\'s balance')
        }
        assert.is(await wallet(from, o.c === 0 ? 1 : 0).balance(), otherBefore, 'an operation in one community moved the other\'s balance')
      }
      const store = await observe(await everything(ts))
      const report = await auditSupply(store)
      assert.ok(report.ok, JSON.stringify([...report.communities]))
      for (const s of [A, B]) {
        const sums = supplyOf(report, idOf(s))
        assert.ok(sums.ok)
        assert.is(sums.rewards, [alice, bob, carol].reduce((n, k) => n + s.result.amountOf(k.publicKey), 0))
      }
      assert.equal([report.unbacked, report.unmatched, report.truncated, report.inFlight], [0, 0, 0, 0])
      for (const t of ts) assert.is((await t.agent.store.fraudProofs()).length, 0, 'an honest party was accused')
    }),
    { numRuns: 12 },
  )
  // the schedules really moved tokens, in every way
  assert.ok(Object.values(ran).every((n) => n > 0), JSON.stringify(ran))
})

Property.run()
