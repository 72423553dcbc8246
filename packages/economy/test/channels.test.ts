/**
 * Payment channels: open, pay with receipts over bytes, accept off line, redeem keeping the channel
 * open, recharge with a second lock, close by release after the expiry — and the refusals that keep
 * each side whole, the 'channel-release' proof of a release that a receipt contradicts, and the
 * supply audit with channels.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { InvalidBlockError, RefusedError, blockHash, concatBytes, decodeCanonical, domainTag, encodeCanonical, verifyFraudProof, type HalfBlock } from '@tally/core'
import { RELEASE_EXCESS_FRAUD, auditSupply, readRedeem, readRelease, verifyVoucher } from '@tally/economy'
import {
  CHANNEL_RELEASE_FRAUD,
  RECEIPT_MAX_BYTES,
  channelReleaseProof,
  covered,
  decodeReceipt,
  encodeReceipt,
  receiptMessage,
  signReceipt,
  verifyChannelRelease,
  verifyReceipt,
} from '@tally/economy/channels'
import { alice, bob, mallory, rejectsLike, id } from './helpers.ts'

const carolKey = id(17)
import { channelWorld } from './channel-fixtures.ts'

async function refused(p: Promise<unknown>, reason: string): Promise<void> {
  const err = (await rejectsLike(p, RefusedError)) as RefusedError
  assert.is(err.reason, reason, err.message)
}

const Receipts = suite('channel receipts: bytes, signature, domain')

Receipts('encode → decode is identity, at most 119 bytes, and a receipt is never a voucher', () => {
  const channel = new Uint8Array(32).fill(7)
  for (const [amount, counter] of [[0, 1], [1, 1], [2 ** 53 - 1, 2 ** 53 - 1], [123_456, 789]] as const) {
    const r = signReceipt(alice, { channel, amount, counter })
    const bytes = encodeReceipt(r)
    assert.ok(bytes.length <= RECEIPT_MAX_BYTES && RECEIPT_MAX_BYTES <= 120, `${bytes.length} bytes`)
    const back = decodeReceipt(bytes)
    assert.equal([back.amount, back.counter], [amount, counter])
    assert.ok(verifyReceipt(back, alice.publicKey))
    assert.not.ok(verifyReceipt(back, bob.publicKey))
    assert.not.ok(verifyVoucher({ lock: channel, amount, counter, signature: r.signature }, alice.publicKey), 'the receipt tag is not the voucher tag')
  }
  assert.equal(covered(150, 100, 100), 50)
  assert.equal(covered(50, 100, 100), 0)
  assert.equal(covered(250, 100, 100), 100)
})

Receipts('the hand-written layout is exactly canonical CBOR, and decoding agrees with the general decoder on mutated bytes', () => {
  const uint = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: 0, max: 2 ** 33 }), fc.maxSafeNat())
  const body = fc.record({ channel: fc.uint8Array({ minLength: 32, maxLength: 32 }), amount: uint, counter: uint.map((n) => Math.max(1, n)), signature: fc.uint8Array({ minLength: 64, maxLength: 64 }) })
  fc.assert(fc.property(body, (r) => {
    const bytes = encodeReceipt(r)
    assert.equal(bytes, encodeCanonical([r.channel, r.amount, r.counter, r.signature]))
    assert.equal(receiptMessage(r), concatBytes(domainTag('receipt'), encodeCanonical([r.channel, r.amount, r.counter])))
    const back = decodeReceipt(bytes)
    assert.equal([back.channel, back.amount, back.counter, back.signature], [r.channel, r.amount, r.counter, r.signature])
  }), { numRuns: 500, seed: 42 })
  const reference = (bytes: Uint8Array) => {
    const v = decodeCanonical(bytes, { maxBytes: RECEIPT_MAX_BYTES, maxDepth: 1 }) as unknown[]
    if (!Array.isArray(v) || v.length !== 4 || !(v[0] instanceof Uint8Array) || v[0].length !== 32 || !Number.isSafeInteger(v[1]) || (v[1] as number) < 0 || !Number.isSafeInteger(v[2]) || (v[2] as number) < 1 || !(v[3] instanceof Uint8Array) || v[3].length !== 64) throw new Error('not a receipt')
    return v
  }
  const outcome = (f: () => unknown) => {
    try {
      return f()
    } catch {
      return 'refused'
    }
  }
  fc.assert(fc.property(body, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), fc.integer({ min: -2, max: 2 }), (r, flips, cut) => {
    const bytes = Uint8Array.from(encodeReceipt(r))
    for (const [at, value] of flips) bytes[at % bytes.length] = value
    const mutated = cut < 0 ? bytes.slice(0, cut) : cut > 0 ? concatBytes(bytes, new Uint8Array(cut)) : bytes
    const mine = outcome(() => { const d = decodeReceipt(mutated); return [d.channel, d.amount, d.counter, d.signature] })
    assert.equal(mine, outcome(() => reference(mutated)))
  }), { numRuns: 3000, seed: 43 })
})

const Flow = suite('channels: open, pay, redeem, recharge, close')

Flow('a channel from open to close: balances, refusals, and the supply audit on an observer', async () => {
  const { at, payerOf, payeeOf, claimOf, observer } = await channelWorld()
  const a = payerOf(alice)
  const b = payeeOf(bob)
  const claim = await claimOf(a.wallet, alice)
  const { channel, lock } = await a.payer.open({ to: bob.publicKey, deposit: 100, expiry: 2 })
  assert.equal(channel, blockHash(lock))
  await refused(b.payee.accept(await a.payer.pay(channel, 2)), 'channel-unknown')
  await b.payee.admit(lock, [claim])
  const r2 = await a.payer.pay(channel, 2) // total 4: the first receipt (total 2) never arrived
  assert.ok(r2.length <= 120)
  assert.equal(decodeCanonical(await b.payee.accept(r2, { price: 2 })), ['ack', 2, 4])
  await refused(b.payee.accept(r2), 'receipt-stale')
  await refused(b.payee.accept(await a.payer.pay(channel, 1), { price: 2 }), 'receipt-short')
  await refused(b.payee.accept(Uint8Array.of(1, 2, 3)), 'receipt-malformed')
  await refused(b.payee.accept(encodeReceipt(signReceipt(mallory, { channel, amount: 50, counter: 9 }))), 'receipt-signature')
  await refused(b.payee.accept(encodeReceipt(signReceipt(alice, { channel, amount: 101, counter: 9 }))), 'receipt-deposit')
  await rejectsLike(a.payer.pay(channel, 97), RangeError, /past its deposit/)
  for (let i = 0; i < 10; i++) await b.payee.accept(await a.payer.pay(channel, 2), { price: 2 })
  assert.is((await b.payee.state(channel)).paid, 25)

  // redeem keeps the channel open
  const [red1] = await b.payee.redeem(channel)
  assert.is(readRedeem(red1!.payload)!.amount, 25)
  assert.equal(await b.payee.redeem(channel), [], 'nothing new')
  await b.payee.accept(await a.payer.pay(channel, 5))

  // recharge: a second lock at offset 100; receipts run past the first lock
  const lock2 = await a.payer.recharge(channel, 200, 4)
  await refused(b.payee.accept(encodeReceipt(signReceipt(alice, { channel, amount: 120, counter: 99 }))), 'receipt-deposit')
  await b.payee.admit(lock2)
  assert.is((await b.payee.state(channel)).deposit, 300)
  await b.payee.accept(await a.payer.pay(channel, 100)) // total 130: 100 of lock 1, 30 of lock 2
  const reds = await b.payee.redeem(channel)
  assert.equal(reds.map((x) => readRedeem(x.payload)!.amount), [75, 30])
  assert.is(await b.wallet.balance(), 130)
  assert.is(await a.wallet.balance(), 200)

  // the first lock's expiry: offline payments that would draw on it are refused, lock 2 is fine
  at(2)
  await b.payee.accept(await a.payer.pay(channel, 10))
  // close before lock 2 expires: lock 1 is released (fully covered: 0 back), then no more receipts
  const closed = await a.payer.close(channel)
  assert.equal(closed.map((x) => readRelease(x.payload)!.amount), [0])
  await rejectsLike(a.payer.pay(channel, 1), RangeError, /closed/)
  at(4)
  const rel2 = await a.payer.close(channel)
  assert.equal(rel2.map((x) => readRelease(x.payload)!.amount), [160]) // 200 − 40 covered
  for (const r of [...closed, ...rel2]) assert.is(await b.payee.check(r), undefined, 'an honest release proves nothing')
  await b.payee.redeem(channel) // what the last receipt covers, after the release
  assert.is(await b.wallet.balance(), 140)
  assert.is(await a.wallet.balance(), 360)

  const view = observer()
  const blocks: HalfBlock[] = [...(await a.wallet.agent.store.range(alice.publicKey)), ...(await b.wallet.agent.store.range(bob.publicKey))]
  for (const x of blocks) assert.not.equal((await view.receive(x)).level, 'invalid', x.type)
  const supply = await auditSupply(view.store)
  assert.ok(supply.ok, JSON.stringify(supply))
  assert.equal([supply.balances, supply.locked, supply.unbacked, supply.overdrawn], [500, 0, 0, 0])
})

Flow('close by the payee\'s final redeem: before the expiry, with its consent, the payer takes back the rest', async () => {
  const { w, payerOf, payeeOf, claimOf, observer } = await channelWorld()
  const a = payerOf(alice)
  const b = payeeOf(bob)
  const claim = await claimOf(a.wallet, alice)
  const { channel, lock } = await a.payer.open({ to: bob.publicKey, deposit: 100, expiry: 5 })
  await b.payee.admit(lock, [claim])
  await b.payee.admit(await a.payer.recharge(channel, 50, 6))
  await b.payee.accept(await a.payer.pay(channel, 60))
  const late = await a.payer.pay(channel, 10) // still on its way when the payee closes
  const consents = await b.payee.close(channel)
  assert.equal(consents.map((c) => c.amount), [40, 50])
  assert.is(await b.wallet.balance(), 60)
  await refused(b.payee.accept(late), 'channel-closed')
  // the payer's total (70) is past what the first lock's consent was for (40; it leaves 30): that
  // one is not used; the second lock's (50: untouched by the late receipt) is
  assert.equal((await a.payer.close(channel, consents)).map((x) => readRelease(x.payload)), [{ lock: 3, amount: 50, balance: 400, consent: consents[1]!.consent, community: w.community.id }])
  // with a payee that saw every receipt, the consents match and the locks come back early
  const c = payeeOf(carolKey)
  const d = payerOf(mallory)
  const claimD = await claimOf(d.wallet, mallory)
  const ch2 = await d.payer.open({ to: carolKey.publicKey, deposit: 100, expiry: 5 })
  await c.payee.admit(ch2.lock, [claimD])
  await c.payee.accept(await d.payer.pay(ch2.channel, 30))
  const rel = await d.payer.close(ch2.channel, await c.payee.close(ch2.channel))
  assert.equal(rel.map((x) => readRelease(x.payload)!.amount), [70])
  assert.is(await d.wallet.balance(), 470)
  assert.is(await c.wallet.balance(), 30)
  const view = observer()
  for (const x of [...(await d.wallet.agent.store.range(mallory.publicKey)), ...(await c.wallet.agent.store.range(carolKey.publicKey))]) assert.not.equal((await view.receive(x)).level, 'invalid', x.type)
  const supply = await auditSupply(view.store)
  assert.ok(supply.ok && supply.locked === 0, JSON.stringify(supply))
})

Flow('a channel opened as a transaction: the payee countersigns the lock, then it works as any', async () => {
  const { payerOf, payeeOf, claimOf } = await channelWorld()
  const a = payerOf(alice)
  const b = payeeOf(bob)
  const claim = await claimOf(a.wallet, alice)
  const { channel, lock } = await a.payer.open({ to: bob.publicKey, deposit: 100, expiry: 3, propose: true })
  await b.payee.admit(lock, [claim])
  await a.wallet.agent.complete(await b.wallet.agent.agree(lock)) // the terms and expiry, in both chains
  await b.payee.accept(await a.payer.pay(channel, 40))
  const [redeemed] = await b.payee.redeem(channel)
  assert.is(readRedeem(redeemed!.payload)!.amount, 40)
  assert.is(await b.wallet.balance(), 40)
})

Flow('a payment drawing on an expired lock is refused off line', async () => {
  const { at, payerOf, payeeOf, claimOf } = await channelWorld()
  const a = payerOf(alice)
  const b = payeeOf(bob)
  const claim = await claimOf(a.wallet, alice)
  const { channel, lock } = await a.payer.open({ to: bob.publicKey, deposit: 100, expiry: 1 })
  await b.payee.admit(lock, [claim])
  await b.payee.accept(await a.payer.pay(channel, 10))
  at(1)
  await refused(b.payee.accept(await a.payer.pay(channel, 10)), 'channel-expired')
})

Flow('a recharge at the wrong offset, or a lock for someone else, is not admitted', async () => {
  const { payerOf, payeeOf, claimOf } = await channelWorld()
  const a = payerOf(alice)
  const b = payeeOf(bob)
  const claim = await claimOf(a.wallet, alice)
  const { channel, lock } = await a.payer.open({ to: bob.publicKey, deposit: 100, expiry: 2 })
  const other = await a.payer.open({ to: mallory.publicKey, deposit: 50, expiry: 2 })
  await refused(b.payee.admit(other.lock, [claim, lock]), 'channel-lock')
  await refused(b.payee.admit(await a.payer.recharge(channel, 10, 3), [claim, lock, other.lock]), 'channel-recharge')
  await refused(b.payee.admit(lock, new Array(65_537).fill(claim)), 'history-too-long')
})

const Fraud = suite('channels: a release contradicted by a receipt')

Fraud('an honest payer\'s own node refuses to sign a release that its book contradicts', async () => {
  const { at, payerOf, payeeOf, claimOf } = await channelWorld()
  const a = payerOf(alice)
  const b = payeeOf(bob)
  const claim = await claimOf(a.wallet, alice)
  const { channel, lock } = await a.payer.open({ to: bob.publicKey, deposit: 100, expiry: 1 })
  await b.payee.admit(lock, [claim])
  await b.payee.accept(await a.payer.pay(channel, 40))
  at(1)
  await rejectsLike(a.wallet.release(lock), InvalidBlockError, /release-receipt/)
  assert.equal((await a.payer.close(channel)).map((x) => readRelease(x.payload)!.amount), [60])
})

Fraud('the payee refuses the release with a channel-release proof that verifies alone; release-excess does not fit', async () => {
  const { at, payerOf, payeeOf, claimOf, verifiers } = await channelWorld()
  const a = payerOf(alice, false) // her node's rules do not consult her book: she can sign the cheat
  const b = payeeOf(bob)
  const claim = await claimOf(a.wallet, alice)
  const { channel, lock } = await a.payer.open({ to: bob.publicKey, deposit: 100, expiry: 1 })
  await b.payee.admit(lock, [claim])
  await b.payee.accept(await a.payer.pay(channel, 40))
  at(1)
  // the cheater releases everything, as if no receipt existed
  const cheat = await a.wallet.release(lock)
  assert.is(readRelease(cheat.payload)!.amount, 100)
  const proof = await b.payee.check(cheat)
  assert.ok(proof !== undefined)
  assert.is(proof!.kind, CHANNEL_RELEASE_FRAUD)
  assert.ok(verifyFraudProof(proof!, { verifiers }).ok)
  // the node refuses the release on receipt, with the proof
  const result = await b.wallet.agent.receive(cheat)
  assert.is(result.level, 'invalid')
  assert.ok(result.errors.some((e) => e.rule === 'release-receipt'), JSON.stringify(result.errors))
  assert.ok(await b.wallet.agent.refuses(alice.publicKey))
  // a forged receipt, one for another channel, or an honest release prove nothing
  const forged = signReceipt(mallory, { channel, amount: 40, counter: 1 })
  assert.is(channelReleaseProof(lock, cheat, forged), undefined)
  assert.is(channelReleaseProof(lock, cheat, signReceipt(alice, { channel: new Uint8Array(32), amount: 40, counter: 1 })), undefined)
  assert.ok(verifyChannelRelease([lock, cheat], undefined as never, []) !== undefined)
  assert.ok(verifiers.get(RELEASE_EXCESS_FRAUD)!([lock, cheat], (await import('@tally/core')).nobleCrypto, [encodeReceipt((await b.book.latest(channel))!)]) !== undefined, 'a receipt is no voucher')
})

Receipts.run()
Flow.run()
Fraud.run()
