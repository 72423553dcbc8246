/**
 * The lock fraud kinds — 'release-excess', 'release-twice', 'redeem-excess' — verified alone from
 * their bytes; forged, misfiled or honest evidence never verifies; and a property: random honest
 * lock histories (several locks, rising vouchers, redeems of the increments, releases of what is
 * not vouched) never yield a proof, whichever blocks and vouchers are combined.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {
  createFraudProof,
  decodeFraudProof,
  encodeBlock,
  encodeFraudProof,
  nobleCrypto,
  verifyFraudProof,
  type FraudProof,
  type HalfBlock,
} from '@tally/core'
import {
  BALANCE_FRAUD,
  REDEEM_EXCESS_FRAUD,
  RELEASE_EXCESS_FRAUD,
  RELEASE_TWICE_FRAUD,
  REWARD_CLAIM_FRAUD,
  encodeVoucher,
  releaseExcessProof,
  verifyRedeemExcess,
  verifyReleaseExcess,
  verifyReleaseTwice,
  type Voucher,
} from '@tally/economy'
import { alice, bob, carol, chainOf, type Step } from './helpers.ts'
import { aliceChain, check, evidence, lock, redeem, release, verifiers, voucher, w } from './lock-fixtures.ts'
import { createBlockTypes, allFraudVerifiers } from '@tally/core'
import { economyTypes, lockTypes } from '@tally/economy'
import { lockFraudKinds as browserLockFraudKinds } from '../src/lock/lock-fraud-kinds.browser.ts'

const note: Step = { type: 'note', payload: 'unrelated' }

function verifies(proof: FraudProof): boolean {
  const back = decodeFraudProof(encodeFraudProof(proof))
  return verifyFraudProof(back, { verifiers }).ok
}
function reasonOf(proof: FraudProof): string {
  const result = verifyFraudProof(decodeFraudProof(encodeFraudProof(proof)), { verifiers })
  assert.is(result.ok, false, `the ${proof.kind} proof must not verify`)
  return (result as { reason: string }).reason
}

const A = aliceChain(lock(bob.publicKey, 300, 700), note, release(2, 180, 880))
const [, L, , R] = A as [HalfBlock, HalfBlock, HalfBlock, HalfBlock]
const v120 = voucher(L, 120, 2)

const Kinds = suite('lock fraud: each kind, from its bytes alone')

Kinds('release-excess: a release that takes back what a voucher promised', () => {
  const greedy = chainOf(alice, [release(2, 300, 1_000)], A[2])[0]!
  const proof = releaseExcessProof(L, greedy, v120)!
  assert.ok(proof !== undefined)
  assert.ok(verifies(proof))
  assert.is(proof.attachments?.length, 1)
  // and without a voucher, a release of more than the lock
  const over = chainOf(alice, [release(2, 301, 1_001)], A[2])[0]!
  assert.ok(verifies(createFraudProof(RELEASE_EXCESS_FRAUD, [L, over])))
})

Kinds('release-twice: two releases of one lock', () => {
  const again = chainOf(alice, [release(2, 0, 880)], R)[0]!
  assert.ok(verifies(createFraudProof(RELEASE_TWICE_FRAUD, [R, again])))
})

Kinds('redeem-excess: beyond the voucher, beyond the lock, a voucher twice, a total understated', () => {
  const v400 = voucher(L, 400, 3)
  const cases: [HalfBlock[], Uint8Array[]][] = [
    [chainOf(bob, [redeem(L, v120, 121, 121, 121)]), []],
    [chainOf(bob, [redeem(L, v400, 400, 400, 400)]), [encodeBlock(L)]],
    [chainOf(carol, [redeem(L, v120, 120, 120, 120)]), [encodeBlock(L)]],
    [chainOf(bob, [redeem(L, v120, 120, 120, 120), note, redeem(L, v120, 120, 240, 240)]).filter((b) => b.type === 'redeem'), []],
    [chainOf(bob, [redeem(L, v120, 120, 120, 120), redeem(L, voucher(L, 150, 3), 30, 140, 150)]), []],
  ]
  for (const [blocks, attachments] of cases) assert.ok(verifies(createFraudProof(REDEEM_EXCESS_FRAUD, blocks, attachments)), `${blocks.length} blocks`)
})

const Forged = suite('lock fraud: forged, misfiled or honest evidence never verifies')

Forged('release-excess', () => {
  const cases: [FraudProof, RegExp][] = [
    [createFraudProof(RELEASE_EXCESS_FRAUD, [L, R]), /no more than the lock/],
    [createFraudProof(RELEASE_EXCESS_FRAUD, [L, R], [encodeVoucher(v120)]), /leaves what the voucher promised/],
    [createFraudProof(RELEASE_EXCESS_FRAUD, [L, R], [encodeVoucher(voucher(L, 290, 3, carol))]), /not signed by the lock's owner/],
    [createFraudProof(RELEASE_EXCESS_FRAUD, [L, R], [encodeVoucher({ ...voucher(L, 290, 3), amount: 291 })]), /not signed/],
    [createFraudProof(RELEASE_EXCESS_FRAUD, [L, R], [encodeVoucher(voucher(A[0]!, 290, 3))]), /another lock/],
    [createFraudProof(RELEASE_EXCESS_FRAUD, [L, R], [encodeBlock(L)]), /not a voucher/],
    [createFraudProof(RELEASE_EXCESS_FRAUD, [L, R], [encodeVoucher(v120), encodeVoucher(v120)]), /at most one attachment/],
    [createFraudProof(RELEASE_EXCESS_FRAUD, [A[0]!, R]), /not a well-formed lock/],
    [createFraudProof(RELEASE_EXCESS_FRAUD, [L, A[2]!]), /not a well-formed release/],
    [createFraudProof(RELEASE_EXCESS_FRAUD, [L]), /lock and its release/],
  ]
  for (const [proof, reason] of cases) assert.match(reasonOf(proof), reason)
  // a release of another lock of the same chain
  const two = aliceChain(lock(bob.publicKey, 300, 700), lock(bob.publicKey, 100, 600), release(3, 200, 800))
  assert.match(reasonOf(createFraudProof(RELEASE_EXCESS_FRAUD, [two[1]!, two[3]!])), /not of this lock/)
  // blocks by two keys: core refuses before the kind is asked
  const bobs = chainOf(bob, [note])[0]!
  assert.match(reasonOf(createFraudProof(RELEASE_EXCESS_FRAUD, [L, bobs])), /different keys/)
})

Forged('release-twice', () => {
  assert.match(reasonOf(createFraudProof(RELEASE_TWICE_FRAUD, [R, R])), /same block/)
  const two = aliceChain(lock(bob.publicKey, 300, 700), lock(bob.publicKey, 100, 600), release(2, 300, 900), release(3, 100, 1_000))
  assert.match(reasonOf(createFraudProof(RELEASE_TWICE_FRAUD, [two[3]!, two[4]!])), /different locks/)
  assert.match(reasonOf(createFraudProof(RELEASE_TWICE_FRAUD, [L, R])), /well-formed releases/)
  assert.match(reasonOf(createFraudProof(RELEASE_TWICE_FRAUD, [R, chainOf(alice, [release(2, 0, 880)], R)[0]!], [encodeVoucher(v120)])), /no attachments/)
})

Forged('redeem-excess', () => {
  const honest = chainOf(bob, [redeem(L, voucher(L, 100, 1), 100, 100, 100), note, redeem(L, v120, 20, 120, 120)])
  const [r1, , r2] = honest as [HalfBlock, HalfBlock, HalfBlock]
  const otherLock = aliceChain(lock(bob.publicKey, 100, 900))[1]!
  const cases: [FraudProof, RegExp][] = [
    [createFraudProof(REDEEM_EXCESS_FRAUD, [r1, r2]), /follows from the earlier/],
    [createFraudProof(REDEEM_EXCESS_FRAUD, [r2]), /no more than its authority/],
    [createFraudProof(REDEEM_EXCESS_FRAUD, [r2], [encodeBlock(L)]), /stays within the lock/],
    // a lock block that is not the one the redeem names: another lock of alice's at the same seq (a fork)
    [createFraudProof(REDEEM_EXCESS_FRAUD, [r2], [encodeBlock(otherLock)]), /not the lock the redeem names/],
    [createFraudProof(REDEEM_EXCESS_FRAUD, [r2], [encodeBlock(L).subarray(1)]), /not a block/],
    [createFraudProof(REDEEM_EXCESS_FRAUD, [r2], [encodeVoucher(v120)]), /not a block/],
    [createFraudProof(REDEEM_EXCESS_FRAUD, [r1, r2], [encodeBlock(L)]), /only beside one redeem/],
    [createFraudProof(REDEEM_EXCESS_FRAUD, [r1, honest[1]!]), /well-formed redeem/],
  ]
  for (const [proof, reason] of cases) assert.match(reasonOf(proof), reason)
  // two redeems of different locks
  const L2 = aliceChain(lock(bob.publicKey, 300, 700), lock(bob.publicKey, 100, 600))[2]!
  const mixed = chainOf(bob, [redeem(L, voucher(L, 100, 1), 100, 100, 100), redeem(L2, voucher(L2, 100, 1), 100, 100, 200)])
  assert.match(reasonOf(createFraudProof(REDEEM_EXCESS_FRAUD, mixed)), /different locks/)
  // a lock block whose signature was forged, re-hashed into a redeem that names it
  const forgedLock = { ...L, signature: new Uint8Array(64) }
  const [named] = chainOf(bob, [redeem(forgedLock, v120, 120, 400, 120)])
  assert.match(reasonOf(createFraudProof(REDEEM_EXCESS_FRAUD, [named!], [encodeBlock(forgedLock)])), /signature does not verify/)
})

Forged('the economy\'s kinds without attachments refuse any', () => {
  const over = aliceChain(lock(bob.publicKey, 300, 800))
  const balance = createFraudProof(BALANCE_FRAUD, over)
  assert.ok(verifies(balance))
  assert.match(reasonOf(createFraudProof(BALANCE_FRAUD, over, [encodeVoucher(v120)])), /no attachments/)
  assert.match(reasonOf(createFraudProof(REWARD_CLAIM_FRAUD, [A[0]!, A[0]!], [encodeVoucher(v120)])), /no attachments/)
})

// ## Property: honest histories are never accused

const Honest = suite('lock fraud: honest histories are never accused')

type Op = { kind: 'lock'; amount: number } | { kind: 'pay'; lock: number; amount: number } | { kind: 'redeem'; lock: number } | { kind: 'release'; lock: number } | { kind: 'note' }
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('lock' as const), amount: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ kind: fc.constant('pay' as const), lock: fc.nat(3), amount: fc.integer({ min: 1, max: 120 }) }),
  fc.record({ kind: fc.constant('redeem' as const), lock: fc.nat(3) }),
  fc.record({ kind: fc.constant('release' as const), lock: fc.nat(3) }),
  fc.constant({ kind: 'note' as const }),
)

Honest('no pair of an honest payer\'s or payee\'s blocks, with any voucher, proves anything', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 14 }), async (ops) => {
      let payer = aliceChain()
      let payee: HalfBlock[] = []
      let aBalance = 1_000
      let bBalance = 0
      const locks: { block: HalfBlock; amount: number; vouched: Voucher | undefined; redeemed: number; released: boolean }[] = []
      const allVouchers: Voucher[] = []
      for (const o of ops) {
        if (o.kind === 'lock') {
          if (o.amount > aBalance) continue
          aBalance -= o.amount
          payer = [...payer, ...chainOf(alice, [lock(bob.publicKey, o.amount, aBalance)], payer.at(-1))]
          locks.push({ block: payer.at(-1)!, amount: o.amount, vouched: undefined, redeemed: 0, released: false })
        } else if (o.kind === 'note') {
          payer = [...payer, ...chainOf(alice, [note], payer.at(-1))]
        } else {
          const l = locks[o.lock % Math.max(locks.length, 1)]
          if (l === undefined) continue
          if (o.kind === 'pay') {
            const next = (l.vouched?.amount ?? 0) + o.amount
            if (l.released || next > l.amount) continue
            l.vouched = voucher(l.block, next, (l.vouched?.counter ?? 0) + 1)
            allVouchers.push(l.vouched)
          } else if (o.kind === 'redeem') {
            if (l.vouched === undefined || l.vouched.amount === l.redeemed) continue
            const amount = l.vouched.amount - l.redeemed
            l.redeemed += amount
            bBalance += amount
            payee = [...payee, ...chainOf(bob, [redeem(l.block, l.vouched, amount, l.redeemed, bBalance)], payee.at(-1))]
          } else if (!l.released) {
            l.released = true
            const amount = l.amount - (l.vouched?.amount ?? 0)
            aBalance += amount
            payer = [...payer, ...chainOf(alice, [release(l.block.seq, amount, aBalance)], payer.at(-1))]
          }
        }
      }
      // every block is valid where it stands
      for (let i = 1; i <= payer.length; i++) if ((await check(payer.slice(0, i))).errors.length > 0) return false
      for (let i = 1; i <= payee.length; i++) if ((await check(payee.slice(0, i), payer)).errors.length > 0) return false
      // no combination proves fraud (the kinds' own checks: the signatures are genuine)
      const attach = [[], ...allVouchers.map((v) => [encodeVoucher(v)])]
      for (const a of payer) {
        for (const b of payer) {
          if (a.seq >= b.seq) continue
          for (const extra of attach) if (verifyReleaseExcess([a, b], nobleCrypto, extra) === undefined) return false
          if (verifyReleaseTwice([a, b], nobleCrypto) === undefined) return false
        }
      }
      const lockBlocks = locks.map((l) => [encodeBlock(l.block)])
      for (const a of payee) {
        for (const extra of [[], ...lockBlocks]) if (verifyRedeemExcess([a], nobleCrypto, extra) === undefined) return false
        for (const b of payee) if (a.seq < b.seq && verifyRedeemExcess([a, b], nobleCrypto) === undefined) return false
      }
      return true
    }),
    { numRuns: 60 },
  )
})

// What a page gets (the package's `browser` field): the kinds named at once, their verifiers loaded
// with the lock rules on the first proof verified. The same proofs verify as with Node's.
const OnDemand = suite('lock fraud: the browser\'s kinds, verifiers on demand')

OnDemand('named at start, not loaded; once loaded, the same verdicts as the verifiers loaded at once', async () => {
  let loads = 0
  const loaded = await import('../src/on-demand.ts')
  const kinds = browserLockFraudKinds(undefined, async () => {
    loads++
    return loaded.lockCode({ community: w.community }, undefined).verifiers
  })
  // the economy's types with the browser's lock kinds in place of Node's
  const types = createBlockTypes(
    economyTypes({ community: w.community, evidence }).map((t) => (t.name === 'redeem' ? { ...t, fraudKinds: undefined, ...kinds.redeem } : t.name === 'release' ? { ...t, fraudKinds: undefined, ...kinds.release } : t)),
  )
  for (const kind of [REDEEM_EXCESS_FRAUD, RELEASE_EXCESS_FRAUD, RELEASE_TWICE_FRAUD, 'channel-release']) assert.not.ok(types.fraudVerifiers().has(kind), `${kind} not loaded at start`)
  assert.is(loads, 0)
  const all = await allFraudVerifiers(types)
  assert.is(loads, 4, 'each kind asked once')
  assert.equal([...all.keys()].sort(), [...verifiers.keys()].sort())
  const again = chainOf(alice, [release(2, 0, 880)], R)[0]!
  const greedy = chainOf(alice, [release(2, 300, 1_000)], A[2])[0]!
  const proofs = [
    createFraudProof(RELEASE_TWICE_FRAUD, [R, again]),
    releaseExcessProof(L, greedy, v120)!,
    createFraudProof(REDEEM_EXCESS_FRAUD, chainOf(bob, [redeem(L, v120, 121, 121, 121)])),
    createFraudProof(REDEEM_EXCESS_FRAUD, chainOf(bob, [redeem(L, v120, 120, 120, 120)])),
    createFraudProof(RELEASE_TWICE_FRAUD, [R, R]),
  ]
  for (const proof of proofs) assert.equal(verifyFraudProof(proof, { verifiers: all }), verifyFraudProof(proof, { verifiers }))
  assert.ok(verifyFraudProof(proofs[0]!, { verifiers: all }).ok)
  assert.not.ok(verifyFraudProof(proofs[3]!, { verifiers: all }).ok)
  // Node's lock types register the same kinds with their verifiers at once
  assert.equal(Object.keys(lockTypes({ community: w.community })[2]!.fraudKinds ?? {}).sort(), [RELEASE_EXCESS_FRAUD, RELEASE_TWICE_FRAUD, 'channel-release'].sort())
})

Kinds.run()
Forged.run()
Honest.run()
OnDemand.run()
