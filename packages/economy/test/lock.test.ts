/**
 * The `lock`, `redeem` and `release` rules, one test per rule code: a lock never exceeds the
 * balance; redemptions never exceed the lock or their authority; a voucher or certificate is
 * redeemed at most once (a cumulative voucher never below what was taken); locked value is never
 * spendable twice (the balance excludes open locks, a release returns only what is not vouched and
 * happens once); a lock can be a transaction, with a counter-lock; a market's authority plugs in.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  FraudError,
  RefusedError,
  UNILATERAL_KEY,
  blockHash,
  blockSize,
  concatBytes,
  createAgent,
  createMemoryStore,
  domainTag,
  encodeCanonical,
  equalBytes,
  nobleCrypto,
  signBlock,
  validate,
  verifyFraudProof,
  type CborValue,
  type HalfBlock,
} from '@tally/core'
import {
  LOCK_LIMITS,
  REDEEM_EXCESS_FRAUD,
  RELEASE_EXCESS_FRAUD,
  RELEASE_TWICE_FRAUD,
  createEconomyTypes,
  createVoucherBook,
  lockView,
  signReleaseConsent,
  voucherAuthority,
  type RedeemAuthority,
} from '@tally/economy'
import { alice, bob, carol, chainOf, rejectsLike, rules, storeWith, witnesses, type Step } from './helpers.ts'
import { HOUR, aliceChain, check, evidence, lock, lockProposal, redeem, release, reward, types, verifiers, voucher, w } from './lock-fixtures.ts'

const send = (to: Uint8Array, amount: number, balance: number): Step => ({ type: 'transfer', payload: { amount, balance }, link: to })
const note: Step = { type: 'note', payload: 'unrelated' }

async function expectRule(result: Awaited<ReturnType<typeof check>>, rule: string): Promise<void> {
  assert.is(result.level, 'invalid', `expected '${rule}', the block is ${result.level}`)
  assert.ok(rules(result.errors).includes(rule), `expected '${rule}', got ${rules(result.errors).join(', ')}`)
}

function expectProof(result: Awaited<ReturnType<typeof check>>, kind: string, using = verifiers): void {
  assert.ok(result.fraud.length > 0, `expected a ${kind} proof`)
  const proof = result.fraud[0]!
  assert.is(proof.kind, kind)
  assert.equal(verifyFraudProof(proof, { verifiers: using }), { ok: true })
}

// ## lock

const Locks = suite('lock: rules')

Locks('a lock that follows is valid; the balance excludes it; sizes', async () => {
  const blocks = aliceChain(lock(bob.publicKey, 300, 700, { terms: { price: 5 } }))
  assert.equal((await check(blocks)).errors, [])
  assert.ok(blockSize(blocks[1]!) <= 270, `lock of ${blockSize(blocks[1]!)} bytes`)
  // locked value is never spendable twice: 700 are left, not 1000
  const over = aliceChain(lock(bob.publicKey, 300, 700), send(carol.publicKey, 800, -100))
  await expectRule(await check(over), 'balance-negative')
  assert.equal((await check(aliceChain(lock(bob.publicKey, 300, 700), send(carol.publicKey, 700, 0)))).errors, [])
})

const brokenLocks: [string, Step, string][] = [
  ['a lock beyond the balance', lock(bob.publicKey, 1_200, -200), 'balance-negative'],
  ['a lock whose balance does not follow', lock(bob.publicKey, 300, 800), 'balance'],
  ['a lock of nothing', lock(bob.publicKey, 0, 1_000), 'lock-payload'],
  ['a lock without an expiry', { type: 'lock', payload: { amount: 1, to: bob.publicKey, terms: null, balance: 999 } }, 'lock-payload'],
  ['a proposed lock that names `to` too', { ...lockProposal(bob.publicKey, 1, 999), payload: { amount: 1, to: bob.publicKey, terms: null, expiry: 0, balance: 999 } }, 'lock-payload'],
  ['terms over the limit', lock(bob.publicKey, 1, 999, { terms: 'x'.repeat(LOCK_LIMITS.maxTermsBytes) }), 'lock-terms'],
  ['a lock for its own owner', lock(alice.publicKey, 1, 999), 'lock-beneficiary'],
  ['a lock for the unilateral marker', lock(UNILATERAL_KEY, 1, 999), 'lock-beneficiary'],
]
for (const [what, step, rule] of brokenLocks) Locks(`${what} → '${rule}'`, async () => expectRule(await check(aliceChain(step)), rule))

Locks('a lock whose balance is wrong yields a balance proof', async () => {
  expectProof(await check(aliceChain(lock(bob.publicKey, 300, 800))), 'balance')
})

// ## lock as a transaction

const Tx = suite('lock: as a transaction')

async function parties(options: { counterLock?: number } = {}) {
  const bobTypes = createEconomyTypes({ community: w.community, evidence, lock: options.counterLock === undefined ? {} : { counterLock: () => options.counterLock! } })
  const a = createAgent({ head: 'local', identity: alice, store: createMemoryStore(), types })
  const b = createAgent({ head: 'local', identity: bob, store: createMemoryStore(), types: bobTypes })
  const r = await a.append('reward', reward.payload)
  return { a, b, r }
}

Tx('the beneficiary countersigns after replaying the payer\'s chain; its agreement repeats terms and expiry', async () => {
  const { a, b, r } = await parties()
  const p = await a.propose(bob.publicKey, 'lock', { amount: 300, terms: { offer: 7 }, expiry: 4, balance: 700 })
  await rejectsLike(b.agree(p), RefusedError, /not known here/)
  await b.receive(r)
  const agreement = await b.agree(p)
  assert.equal(agreement.payload, { amount: 0, terms: { offer: 7 }, expiry: 4, balance: 0 })
  await a.complete(agreement)
  const view = lockView(p)!
  assert.ok(equalBytes(view.beneficiary, bob.publicKey))
  assert.ok(equalBytes(lockView(agreement)!.beneficiary, alice.publicKey), 'the agreement is bob\'s (empty) lock for alice')
})

Tx('the beneficiary can lock a counter-deposit in its agreement (an SLA seller\'s penalty)', async () => {
  const { a, b, r } = await parties({ counterLock: 50 })
  const t = await a.propose(bob.publicKey, 'transfer', { amount: 200, balance: 800 })
  await b.receive(r)
  await a.complete(await b.agree(t))
  const p = await a.propose(bob.publicKey, 'lock', { amount: 300, terms: null, expiry: 4, balance: 500 })
  const agreement = await b.agree(p)
  assert.equal(agreement.payload, { amount: 50, terms: null, expiry: 4, balance: 150 })
  // a counter-lock beyond the balance is refused
  const poor = await parties({ counterLock: 50 })
  await poor.b.receive(poor.r)
  const p2 = await poor.a.propose(bob.publicKey, 'lock', { amount: 10, terms: null, expiry: 4, balance: 990 })
  await rejectsLike(poor.b.agree(p2), RefusedError, /exceeds the balance/)
})

Tx('an agreement with other terms or expiry does not match → \'link-payload\'', async () => {
  const [r, p] = aliceChain(lockProposal(bob.publicKey, 300, 700, { expiry: 4, terms: 'a' }))
  for (const payload of [{ amount: 0, terms: 'b', expiry: 4, balance: 0 }, { amount: 0, terms: 'a', expiry: 5, balance: 0 }]) {
    const [agreement] = chainOf(bob, [{ type: 'lock', payload, link: alice.publicKey, linkSeq: p!.seq }])
    await expectRule(await validate(agreement!, { store: await storeWith([r!, p!]), types }), 'link-payload')
  }
})

Tx('a proposal whose balance does not follow is refused with its proof', async () => {
  const { b, r } = await parties()
  const [p] = chainOf(alice, [lockProposal(bob.publicKey, 300, 900)], r)
  await b.receive(r)
  const err = await rejectsLike(b.agree(p!), FraudError)
  assert.is(((err as FraudError).proof as { kind: string }).kind, 'balance')
})

// ## release

const Releases = suite('release: rules')

Releases('after the expiry the owner releases the lock; before it, with the beneficiary\'s consent', async () => {
  const blocks = aliceChain(lock(bob.publicKey, 300, 700), release(2, 300, 1_000))
  assert.equal((await check(blocks)).errors, [])
  assert.ok(blockSize(blocks[2]!) <= 220, `release of ${blockSize(blocks[2]!)} bytes`)
  const early = aliceChain(lock(bob.publicKey, 300, 700, { expiry: 5 }))
  const consent = signReleaseConsent(bob, blockHash(early[1]!), 200)
  const withConsent = chainOf(alice, [release(2, 200, 900, consent)], early[1])
  assert.equal((await check([...early, ...withConsent])).errors, [])
  // released at the very start of the expiry epoch
  const [r, l] = aliceChain(lock(bob.publicKey, 300, 700, { expiry: 5 }))
  const at = chainOf(alice, [release(2, 300, 1_000)], l)
  const { signature: _s, ...fields } = at[0]!
  const signed = signBlock({ ...fields, timestamp: w.config.start + 5 * HOUR }, alice)
  assert.equal((await validate(signed, { store: await storeWith([r!, l!]), types })).errors, [])
})

const brokenReleases: [string, () => HalfBlock[], string][] = [
  ['a malformed release', () => aliceChain(lock(bob.publicKey, 300, 700), { type: 'release', payload: { lock: 2, amount: 300 } }), 'release-payload'],
  ['a release with a counterparty', () => aliceChain(lock(bob.publicKey, 300, 700), { ...release(2, 300, 1_000), link: bob.publicKey }), 'release-unilateral'],
  ['a release of a block that is not a lock', () => aliceChain(lock(bob.publicKey, 300, 700), release(1, 300, 1_000)), 'release-lock'],
  ['a release of itself', () => aliceChain(lock(bob.publicKey, 300, 700), release(3, 300, 1_000)), 'release-lock'],
  ['a release of a lock released before', () => aliceChain(lock(bob.publicKey, 300, 700), release(2, 100, 800), release(2, 200, 1_000)), 'release-twice'],
  ['a release of more than the lock', () => aliceChain(lock(bob.publicKey, 300, 700), release(2, 400, 1_100)), 'release-excess'],
  ['a release before the expiry, without consent', () => aliceChain(lock(bob.publicKey, 300, 700, { expiry: 5 }), release(2, 300, 1_000)), 'release-early'],
  ['a release whose balance does not follow', () => aliceChain(lock(bob.publicKey, 300, 700), release(2, 300, 1_001)), 'balance'],
]
for (const [what, blocks, rule] of brokenReleases) Releases(`${what} → '${rule}'`, async () => expectRule(await check(blocks()), rule))

Releases('a consent by someone else, or for another amount → \'release-consent\'', async () => {
  const early = aliceChain(lock(bob.publicKey, 300, 700, { expiry: 5 }))
  const id = blockHash(early[1]!)
  for (const consent of [signReleaseConsent(carol, id, 200), signReleaseConsent(bob, id, 199), signReleaseConsent(bob, new Uint8Array(32), 200)]) {
    await expectRule(await check([...early, ...chainOf(alice, [release(2, 200, 900, consent)], early[1])]), 'release-consent')
  }
})

Releases('two releases, or one of more than the lock, are fraud proven by the owner\'s blocks', async () => {
  expectProof(await check(aliceChain(lock(bob.publicKey, 300, 700), release(2, 100, 800), note, release(2, 200, 1_000))), RELEASE_TWICE_FRAUD)
  expectProof(await check(aliceChain(lock(bob.publicKey, 300, 700), release(2, 400, 1_100))), RELEASE_EXCESS_FRAUD)
})

Releases('a release that returns what a voucher promised → \'release-voucher\', proven with the voucher', async () => {
  const blocks = aliceChain(lock(bob.publicKey, 300, 700))
  const book = createVoucherBook()
  book.keep(voucher(blocks[1]!, 120, 2))
  const watching = createEconomyTypes({ community: w.community, evidence, lock: { vouchers: book } })
  const greedy = await check([...blocks, ...chainOf(alice, [release(2, 300, 1_000)], blocks[1])], [], watching)
  await expectRule(greedy, 'release-voucher')
  expectProof(greedy, RELEASE_EXCESS_FRAUD, watching.fraudVerifiers())
  assert.is(greedy.fraud[0]!.attachments?.length, 1)
  // what leaves the voucher whole is fine
  assert.equal((await check([...blocks, ...chainOf(alice, [release(2, 180, 880)], blocks[1])], [], watching)).errors, [])
  // a voucher the owner did not sign accuses nobody
  const forged = createVoucherBook()
  forged.keep({ ...voucher(blocks[1]!, 120, 2), amount: 290 })
  const fooled = createEconomyTypes({ community: w.community, evidence, lock: { vouchers: forged } })
  assert.equal((await check([...blocks, ...chainOf(alice, [release(2, 180, 880)], blocks[1])], [], fooled)).errors, [])
})

Releases('the chain between lock and release must be known → \'release-history\'; a voucher proves excess without it', async () => {
  const blocks = aliceChain(lock(bob.publicKey, 300, 700), note, release(2, 300, 1_000))
  const result = await validate(blocks[3]!, { store: await storeWith([blocks[0]!, blocks[2]!]), types })
  await expectRule(result, 'release-history')
  // the lock is held, the block between is not: the voucher still proves the release took it back
  const book = createVoucherBook()
  book.keep(voucher(blocks[1]!, 50, 1))
  const watching = createEconomyTypes({ community: w.community, evidence, lock: { vouchers: book } })
  const proven = await validate(blocks[3]!, { store: await storeWith([blocks[0]!, blocks[1]!]), types: watching })
  await expectRule(proven, 'release-history')
  await expectRule(proven, 'release-voucher')
  expectProof(proven, RELEASE_EXCESS_FRAUD, watching.fraudVerifiers())
})

// ## redeem

const Redeems = suite('redeem: rules')

const A = aliceChain(lock(bob.publicKey, 300, 700))
const L = A[1]!
const v100 = voucher(L, 100, 1)
const v150 = voucher(L, 150, 2)
const without = (payload: CborValue, key: string): CborValue => Object.fromEntries(Object.entries(payload as Record<string, CborValue>).filter(([k]) => k !== key))

Redeems('the increment of a later voucher over the earlier: valid; sizes', async () => {
  const blocks = chainOf(bob, [redeem(L, v100, 100, 100, 100), note, redeem(L, v150, 50, 150, 150)])
  for (let i = 1; i <= blocks.length; i++) assert.equal((await check(blocks.slice(0, i), A)).errors, [], `block ${i}`)
  assert.ok(blockSize(blocks[0]!) <= 380, `redeem of ${blockSize(blocks[0]!)} bytes`)
})

const brokenRedeems: [string, () => HalfBlock[], string, string?][] = [
  ['a malformed redeem (no running total)', () => chainOf(bob, [{ type: 'redeem', payload: without(redeem(L, v100, 100, 100, 100).payload, 'redeemed') }]), 'redeem-payload'],
  ['a redeem with a counterparty', () => chainOf(bob, [{ ...redeem(L, v100, 100, 100, 100), link: alice.publicKey }]), 'redeem-unilateral'],
  ['an unknown authority kind', () => chainOf(bob, [{ type: 'redeem', payload: { ...(redeem(L, v100, 100, 100, 100).payload as Record<string, CborValue>), by: ['sla', [1, 100]] } }]), 'redeem-authority'],
  ['a voucher value that is not [amount, counter, signature]', () => chainOf(bob, [{ type: 'redeem', payload: { ...(redeem(L, v100, 100, 100, 100).payload as Record<string, CborValue>), by: ['voucher', [100, 1]] } }]), 'redeem-authority'],
  ['a voucher signed by someone else', () => chainOf(bob, [redeem(L, voucher(L, 100, 1, carol), 100, 100, 100)]), 'redeem-authority'],
  ['a voucher for another lock', () => chainOf(bob, [redeem(L, { ...voucher(A[0]!, 100, 1), lock: blockHash(L) }, 100, 100, 100)]), 'redeem-authority'],
  ['a redeem from a lock for someone else', () => chainOf(carol, [redeem(L, v100, 100, 100, 100)]), 'redeem-beneficiary', REDEEM_EXCESS_FRAUD],
  ['a redeem beyond the lock', () => chainOf(bob, [redeem(L, voucher(L, 400, 1), 400, 400, 400)]), 'redeem-exceeds-lock', REDEEM_EXCESS_FRAUD],
  ['a voucher redeemed twice', () => chainOf(bob, [redeem(L, v100, 100, 100, 100), redeem(L, v100, 100, 200, 200)]), 'redeem-replay', REDEEM_EXCESS_FRAUD],
  ['an older voucher after a newer', () => chainOf(bob, [redeem(L, v150, 150, 150, 150), redeem(L, v100, 100, 250, 250)]), 'redeem-replay', REDEEM_EXCESS_FRAUD],
  ['more than the voucher', () => chainOf(bob, [redeem(L, v100, 120, 120, 120)]), 'redeem-amount', REDEEM_EXCESS_FRAUD],
  ['more than the increment', () => chainOf(bob, [redeem(L, v100, 100, 100, 100), redeem(L, v150, 80, 180, 180)]), 'redeem-amount', REDEEM_EXCESS_FRAUD],
  ['less than the increment', () => chainOf(bob, [redeem(L, v100, 100, 100, 100), redeem(L, v150, 30, 130, 130)]), 'redeem-amount'],
  ['a running total that forgets what was taken', () => chainOf(bob, [redeem(L, v100, 100, 100, 100), redeem(L, v150, 50, 120, 150)]), 'redeem-total', REDEEM_EXCESS_FRAUD],
  ['a running total that overstates it', () => chainOf(bob, [redeem(L, v100, 100, 100, 100), redeem(L, v150, 50, 170, 150)]), 'redeem-total'],
  ['a redeem whose balance does not follow', () => chainOf(bob, [redeem(L, v100, 100, 100, 101)]), 'balance', 'balance'],
]
for (const [what, blocks, rule, kind] of brokenRedeems) {
  Redeems(`${what} → '${rule}'${kind === undefined ? '' : ` (${kind} proof)`}`, async () => {
    const result = await check(blocks(), A)
    await expectRule(result, rule)
    if (kind !== undefined) expectProof(result, kind)
  })
}

Redeems('the lock must be held here → \'redeem-lock\'; the chain back to the previous redeem → \'redeem-history\'', async () => {
  await expectRule(await check(chainOf(bob, [redeem(L, v100, 100, 100, 100)])), 'redeem-lock')
  // a lock held at that seq but a different block (alice forked it) is not the lock named
  const [, other] = aliceChain(lock(bob.publicKey, 200, 800))
  await expectRule(await check(chainOf(bob, [redeem(L, v100, 100, 100, 100)]), [A[0]!, other!]), 'redeem-lock')
  const blocks = chainOf(bob, [redeem(L, v100, 100, 100, 100), note, redeem(L, v150, 50, 150, 150)])
  await expectRule(await validate(blocks[2]!, { store: await storeWith([...A, blocks[1]!]), types }), 'redeem-history')
})

// ## a market's authority: an SLA cycle certified by a witness (a test double of the certificate proof)

const Authority = suite('redeem: a pluggable authority')

const witness = witnesses[0]!
const cycleDigest = (lockId: Uint8Array, cycle: number, amount: number): Uint8Array =>
  nobleCrypto.sha256(concatBytes(domainTag('statement'), encodeCanonical(['sla-cycle', lockId, cycle, amount])))
/** value = [cycle, amount, witness signature]: "cycle n of this lock passed; the seller takes its instalment". */
const slaCycle: RedeemAuthority = {
  kind: 'sla-cycle',
  read(value) {
    if (!Array.isArray(value) || value.length !== 3) return undefined
    const [cycle, amount] = value as number[]
    return Number.isSafeInteger(cycle) && Number.isSafeInteger(amount) ? { slot: cycle!, level: amount! } : undefined
  },
  check(value, lock) {
    const [cycle, amount, signature] = value as [number, number, Uint8Array]
    if (!nobleCrypto.verify(signature, cycleDigest(lock.id, cycle, amount), witness.publicKey)) return 'not certified by the witness'
    return amount === (lock.terms as { instalment: number }).instalment ? undefined : 'not the instalment of the terms'
  },
}
const slaTypes = createEconomyTypes({ community: w.community, evidence, lock: { authorities: [voucherAuthority(), slaCycle] } })
const S = aliceChain(lock(bob.publicKey, 300, 700, { terms: { instalment: 100 } }))
const cycle = (n: number, amount = 100, signer = witness): CborValue => [n, amount, signer.sign(cycleDigest(blockHash(S[1]!), n, amount))]
const byCycle = (n: number, amount: number, redeemed: number, balance: number, value = cycle(n)): Step => ({
  type: 'redeem',
  payload: { lock: [S[1]!.publicKey, S[1]!.seq, blockHash(S[1]!)], by: ['sla-cycle', value], amount, redeemed, balance },
})

Authority('each certified cycle is redeemed once, in order, one instalment each', async () => {
  const blocks = chainOf(bob, [byCycle(1, 100, 100, 100), byCycle(2, 100, 200, 200), byCycle(4, 100, 300, 300)])
  for (let i = 1; i <= blocks.length; i++) assert.equal((await check(blocks.slice(0, i), S, slaTypes)).errors, [], `block ${i}`)
  // a node without the kind cannot accept it
  await expectRule(await check(blocks.slice(0, 1), S), 'redeem-authority')
})

const brokenCycles: [string, () => HalfBlock[], string, string?][] = [
  ['a cycle redeemed twice', () => chainOf(bob, [byCycle(1, 100, 100, 100), byCycle(1, 100, 200, 200)]), 'redeem-replay', REDEEM_EXCESS_FRAUD],
  ['an earlier cycle after a later', () => chainOf(bob, [byCycle(2, 100, 100, 100), byCycle(1, 100, 200, 200)]), 'redeem-replay', REDEEM_EXCESS_FRAUD],
  ['a cycle the witness did not certify', () => chainOf(bob, [byCycle(1, 100, 100, 100, cycle(1, 100, carol))]), 'redeem-authority'],
  ['an amount other than the instalment', () => chainOf(bob, [byCycle(1, 150, 150, 150, cycle(1, 150))]), 'redeem-authority'],
  ['a voucher after certificates: one kind per lock', () => chainOf(bob, [byCycle(1, 100, 100, 100), redeem(S[1]!, voucher(S[1]!, 50, 1), 50, 150, 150)]), 'redeem-authority'],
]
for (const [what, blocks, rule, kind] of brokenCycles) {
  Authority(`${what} → '${rule}'`, async () => {
    const result = await check(blocks(), S, slaTypes)
    await expectRule(result, rule)
    if (kind !== undefined) expectProof(result, kind, slaTypes.fraudVerifiers())
  })
}

Locks.run()
Tx.run()
Releases.run()
Redeems.run()
Authority.run()
