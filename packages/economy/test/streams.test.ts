/**
 * Data streams (@tally/economy/streams): sealed keys open only with the buyer's secret; messages
 * are read in order, and a tampered, reordered, dropped or replayed one is caught; keys rotate by
 * period; the service sells keys only for payments found in the owner's chain (a real `transfer`
 * countersigned by the owner's agent), so a non-payer and a lapsed subscriber read nothing; the
 * listing index searches by area, kind and price and drops withdrawn listings.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { RefusedError, createAgent, createMemoryStore, encodeBlock, identityFromSeed, signBlock, GENESIS_HASH, UNILATERAL_KEY, blockHash, type HalfBlock, type SeedIdentity } from '@tally/core'
import { createEconomyTypes, createEvidenceStore, createWallet, encodeVoucher, type Claim } from '@tally/economy'
import {
  STREAM_LISTING,
  STREAM_WITHDRAW,
  boxKeyPair,
  createListingIndex,
  createPublisher,
  createReader,
  createStreamService,
  decodeGrant,
  decodeMessage,
  encodeGrant,
  encodeMessage,
  listingPayload,
  open,
  openGrant,
  periodKey,
  seal,
  signGrant,
  signPurchase,
  streamTypes,
  transferPayments,
  type Listing,
  type Published,
} from '@tally/economy/streams'
import { createHarness } from './protocol-harness.ts'
import { alice, bob, carol, certificate, component, id, runEpoch, world } from './helpers.ts'

const sensorId = id(300)
const otherSensor = id(301)
const secret = new Uint8Array(32).fill(7)

function listingFields(over: Partial<Listing> = {}): Listing {
  return { device: 'air-1', sensor: sensorId.publicKey, lat: 45_070_000, lon: 7_686_000, kind: 'air-quality', price: 10, period: 60_000, start: 0, served: ['ws://127.0.0.1:1/'], ...over }
}

function listingBlock(owner: SeedIdentity, seq: number, over: Partial<Listing> = {}, prev?: HalfBlock): HalfBlock {
  return signBlock({ publicKey: owner.publicKey, seq, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: prev === undefined ? GENESIS_HASH : blockHash(prev), type: STREAM_LISTING, payload: listingPayload(listingFields(over)), timestamp: 1 + seq }, owner)
}

async function publishAll(n: number, period = (i: number) => 0): Promise<Published[]> {
  const pub = createPublisher({ sensor: sensorId, secret })
  const out: Published[] = []
  for (let i = 0; i < n; i++) out.push(await pub.publish(new TextEncoder().encode(`reading ${i}`), period(i)))
  return out
}

// ## Sealed keys

const Seal = suite('streams: sealed keys')

Seal('a sealed box opens with the recipient\'s secret only, and only in its context', () => {
  const buyer = boxKeyPair()
  const other = boxKeyPair()
  const secretKey = new Uint8Array(32).fill(9)
  const context = new Uint8Array([1, 2, 3])
  const sealed = seal(buyer.publicKey, secretKey, context)
  assert.is(sealed.length, 32 + 48)
  assert.equal(open(buyer, sealed, context), secretKey)
  assert.is(open(other, sealed, context), undefined)
  assert.is(open({ secretKey: other.secretKey, publicKey: buyer.publicKey }, sealed, context), undefined, 'the public key alone does not open it')
  assert.is(open(buyer, sealed, new Uint8Array([1, 2, 4])), undefined)
  for (let i = 0; i < sealed.length; i += 7) {
    const bad = sealed.slice()
    bad[i]! ^= 1
    assert.is(open(buyer, bad, context), undefined, `byte ${i}`)
  }
  assert.is(open(buyer, sealed.subarray(0, 40), context), undefined)
  assert.not.equal(seal(buyer.publicKey, secretKey, context), sealed, 'a fresh ephemeral key every time')
  assert.throws(() => seal(new Uint8Array(31), secretKey, context), RangeError)
  assert.throws(() => seal(new Uint8Array(32), secretKey, context), RangeError) // low-order point
})

Seal('a grant carries the period key to its recipient, signed by the sensor', async () => {
  const buyer = boxKeyPair()
  const key = periodKey(secret, sensorId.publicKey, 3)
  const grant = signGrant(sensorId, { period: 3, recipient: buyer.publicKey, from: { seq: 5, prev: new Uint8Array(32).fill(1) }, key })
  const bytes = encodeGrant(grant)
  assert.ok(bytes.length <= 320, `${bytes.length}`)
  const back = decodeGrant(bytes)
  assert.equal(openGrant(buyer, back), key)
  assert.is(openGrant(boxKeyPair(), back), undefined)
  assert.not.equal(periodKey(secret, sensorId.publicKey, 4), key, 'keys rotate')
})

Seal.run()

// ## Messages

const Messages = suite('streams: messages')

Messages('a reader with the key reads every message in order; overhead within 110 bytes', async () => {
  const published = await publishAll(6)
  const reader = createReader({ sensor: sensorId.publicKey, from: { seq: 1, prev: new Uint8Array(32) } })
  reader.addKey(0, periodKey(secret, sensorId.publicKey, 0))
  for (const [i, p] of published.entries()) {
    const r = reader.read(p.bytes)
    assert.ok(r.ok, JSON.stringify(r))
    if (r.ok) assert.is(new TextDecoder().decode(r.plaintext), `reading ${i}`)
    assert.ok(p.bytes.length - `reading ${i}`.length <= 110, `overhead ${p.bytes.length - `reading ${i}`.length}`)
  }
  assert.is(reader.position.seq, 7)
})

Messages('a tampered, reordered, dropped or replayed message is caught', async () => {
  const published = await publishAll(5)
  const fresh = () => {
    const r = createReader({ sensor: sensorId.publicKey, from: { seq: 1, prev: new Uint8Array(32) } })
    r.addKey(0, periodKey(secret, sensorId.publicKey, 0))
    return r
  }
  // tampered: any byte of the box or the signature
  for (const at of [5, 20, published[0]!.bytes.length - 1]) {
    const bad = published[0]!.bytes.slice()
    bad[at]! ^= 0x10
    const r = fresh().read(bad)
    assert.ok(!r.ok && (r.reason === 'tampered' || r.reason === 'malformed'), `byte ${at}: ${JSON.stringify(r)}`)
  }
  // the period changed by a relay (re-encoded): the signature covers it
  const m = decodeMessage(published[0]!.bytes)
  assert.equal(fresh().read({ ...m, period: 1 }), { ok: false, reason: 'tampered', seq: 1 })
  // reordered: 2 before 1
  const r1 = fresh()
  assert.equal(r1.read(published[1]!.bytes), { ok: false, reason: 'gap', seq: 2 })
  assert.ok(r1.read(published[0]!.bytes).ok)
  assert.ok(r1.read(published[1]!.bytes).ok)
  // dropped: 3 missing
  assert.equal(r1.read(published[3]!.bytes), { ok: false, reason: 'gap', seq: 4 })
  // replayed
  assert.equal(r1.read(published[0]!.bytes), { ok: false, reason: 'replay', seq: 1 })
  // a message of another chain at the right seq (a fork, or another stream's): tampered
  const other = await createPublisher({ sensor: sensorId, secret }).publish(new Uint8Array(3), 0)
  const r2 = fresh()
  assert.ok(r2.read(published[0]!.bytes).ok)
  const wrongPlace = { ...other.message, seq: 2 }
  assert.is((r2.read(wrongPlace) as { reason: string }).reason, 'tampered')
})

Messages('keys rotate: a reader holding period 0\'s key reads nothing of period 1', async () => {
  const published = await publishAll(4, (i) => (i < 2 ? 0 : 1))
  const reader = createReader({ sensor: sensorId.publicKey, from: { seq: 1, prev: new Uint8Array(32) } })
  reader.addKey(0, periodKey(secret, sensorId.publicKey, 0))
  assert.ok(reader.read(published[0]!.bytes).ok)
  assert.ok(reader.read(published[1]!.bytes).ok)
  assert.equal(reader.read(published[2]!.bytes), { ok: false, reason: 'no-key', seq: 3, period: 1 })
  // a wrong key for period 1 (period 0's, relabelled) does not open it
  reader.addKey(1, periodKey(secret, sensorId.publicKey, 0))
  const bad = reader.read(published[3]!.bytes)
  assert.equal({ ...bad, placed: undefined }, { ok: false, reason: 'undecryptable', seq: 4, period: 1, placed: undefined })
  assert.equal((bad as { placed: unknown }).placed, { prev: published[3]!.prev, message: published[3]!.message }, 'the evidence of a stream-bad-key proof')
  // and the period cannot go back
  const pub = createPublisher({ sensor: sensorId, secret })
  await pub.publish(new Uint8Array(1), 2)
  assert.throws(() => pub.publish(new Uint8Array(1), 1), RangeError)
})

Messages('an encoded message round-trips; malformed input is refused', async () => {
  const [p] = await publishAll(1)
  assert.equal(encodeMessage(decodeMessage(p!.bytes)), p!.bytes)
  for (const bad of [new Uint8Array(0), new Uint8Array([0x80]), p!.bytes.subarray(0, 20), new Uint8Array(20_000)]) {
    assert.throws(() => decodeMessage(bad), (e: Error) => (e as { code?: string }).code === 'ERR_DECODE')
  }
})

Messages('a sensor that persists its head resumes after a crash without forking; a failed persist signs nothing', async () => {
  let durable: { seq: number; prev: Uint8Array; period: number } | undefined
  const persist = async (head: { seq: number; prev: Uint8Array; period: number }) => {
    await new Promise((r) => setTimeout(r, 1))
    durable = head
  }
  const first = createPublisher({ sensor: sensorId, secret, persist })
  const out: Published[] = []
  for (let i = 0; i < 3; i++) out.push(await first.publish(new Uint8Array([i]), 0))
  // the process dies; a new one resumes from what was made durable
  const second = createPublisher({ sensor: sensorId, secret, persist, resume: durable! })
  for (let i = 3; i < 5; i++) out.push(await second.publish(new Uint8Array([i]), 1))
  const reader = createReader({ sensor: sensorId.publicKey, from: { seq: 1, prev: new Uint8Array(32) } })
  reader.addKey(0, periodKey(secret, sensorId.publicKey, 0))
  reader.addKey(1, periodKey(secret, sensorId.publicKey, 1))
  assert.equal(out.map((p) => reader.read(p.bytes).ok), [true, true, true, true, true], 'one chain across the restart')
  // a persist that fails: no message, and the position is given back
  let fail = true
  const flaky = createPublisher({ sensor: sensorId, secret, persist: () => { if (fail) throw new Error('disk full') } })
  assert.throws(() => flaky.publish(new Uint8Array(1), 0), /disk full/)
  assert.is(flaky.head.seq, 1)
  fail = false
  const ok = (await flaky.publish(new Uint8Array(1), 0)) as Published
  assert.is(ok.message.seq, 1)
})

Messages('a message that arrives before its period\'s key is held, and read when the key comes', async () => {
  const published = await publishAll(4, (i) => (i < 1 ? 0 : 1))
  const reader = createReader({ sensor: sensorId.publicKey, from: { seq: 1, prev: new Uint8Array(32) }, maxPending: 2 })
  reader.addKey(0, periodKey(secret, sensorId.publicKey, 0))
  assert.ok(reader.read(published[0]!.bytes).ok)
  assert.equal(published.slice(1).map((p) => (reader.read(p.bytes) as { reason: string }).reason), ['no-key', 'no-key', 'no-key'])
  assert.is(reader.pending, 2, 'bounded: the oldest went')
  const late = reader.addKey(1, periodKey(secret, sensorId.publicKey, 1))
  assert.equal(late.map((r) => r.ok && r.seq), [3, 4])
  assert.equal(late.map((r) => r.ok && new TextDecoder().decode(r.plaintext)), ['reading 2', 'reading 3'])
  assert.is(reader.pending, 0)
})

Messages.run()

// ## The index

const Index = suite('streams: listing index')

Index('search by box, distance, kind and price; withdrawn and superseded listings go', () => {
  const owner = id(310)
  const index = createListingIndex()
  const blocks: HalfBlock[] = []
  const kinds = ['air-quality', 'parking', 'noise']
  for (let i = 0; i < 30; i++) {
    const s = identityFromSeed(new Uint8Array(32).fill(100 + i))
    const b = listingBlock(owner, i + 1, { sensor: s.publicKey, device: `s-${i}`, lat: 45_000_000 + i * 1000, lon: 7_600_000 + i * 1000, kind: kinds[i % 3]!, price: 1 + i }, blocks.at(-1))
    blocks.push(b)
    assert.is(index.add(b), 'added')
  }
  assert.is(index.add(blocks[0]!), 'known')
  assert.is(index.size, 30)
  const box = index.search({ box: { south: 45_000_000, west: 7_600_000, north: 45_009_500, east: 7_609_500 } })
  assert.is(box.length, 10)
  assert.equal(box.map((e) => e.listing.price), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'cheapest first')
  assert.equal(index.search({ box: { south: 45_000_000, west: 7_600_000, north: 45_009_500, east: 7_609_500 }, kind: 'parking', maxPrice: 6 }).map((e) => e.listing.device), ['s-1', 's-4'])
  const near = index.search({ near: { lat: 45_010_000, lon: 7_610_000, meters: 300 } })
  assert.equal(near.map((e) => e.listing.device).slice(0, 1), ['s-10'], 'nearest first')
  assert.equal(near.map((e) => e.listing.device).slice(1, 3).sort(), ['s-11', 's-9'], '~136 m away')
  assert.equal(near.map((e) => e.listing.device).slice(3).sort(), ['s-12', 's-8'], '~272 m away')
  // a withdrawal drops it, and a late copy of the listing does not come back
  const withdraw = signBlock({ publicKey: owner.publicKey, seq: 31, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: blockHash(blocks[29]!), type: STREAM_WITHDRAW, payload: { listing: 11 }, timestamp: 50 }, owner)
  assert.is(index.add(withdraw), 'withdrawn')
  assert.equal(index.search({ near: { lat: 45_010_000, lon: 7_610_000, meters: 200 } }).map((e) => e.listing.device).sort(), ['s-11', 's-9'])
  assert.is(index.add(blocks[10]!), 'withdrawn')
  // a newer listing of the same sensor by the same owner supersedes (a new price)
  const s0 = identityFromSeed(new Uint8Array(32).fill(100))
  const relisted = signBlock({ publicKey: owner.publicKey, seq: 32, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: blockHash(withdraw), type: STREAM_LISTING, payload: listingPayload(listingFields({ sensor: s0.publicKey, device: 's-0', lat: 45_000_000, lon: 7_600_000, price: 99 })), timestamp: 60 }, owner)
  assert.is(index.add(relisted), 'superseded')
  assert.is(index.add(blocks[0]!), 'older', 'the superseded block does not come back')
  assert.equal(index.bySensor(s0.publicKey).map((e) => e.listing.price), [99])
  // forged and malformed blocks never enter
  const forged = { ...blocks[1]!, signature: new Uint8Array(64) }
  assert.is(createListingIndex().add(forged), 'invalid')
  // the whole world (more cells than listings): one pass
  assert.is(index.search({ box: { south: -90_000_000, west: -180_000_000, north: 90_000_000, east: 180_000_000 }, limit: 1000 }).length, 29)
  assert.throws(() => index.search({ box: { south: 2, west: 0, north: 1, east: 0 } }), RangeError)
  assert.throws(() => listingPayload(listingFields({ kind: 'Air Quality' })), RangeError)
  assert.throws(() => listingPayload(listingFields({ lat: 91_000_000 })), /lat/)
})

Index('bounded: one owner cannot fill the index', () => {
  const owner = id(311)
  const index = createListingIndex({ maxPerOwner: 3 })
  let prev: HalfBlock | undefined
  const results = []
  for (let i = 0; i < 5; i++) {
    const s = identityFromSeed(new Uint8Array(32).fill(200 + i))
    prev = listingBlock(owner, i + 1, { sensor: s.publicKey }, prev)
    results.push(index.add(prev))
  }
  assert.equal(results, ['added', 'added', 'added', 'full', 'full'])
})

Index('pages walk every listing once, skip the ones gone, and fit a byte budget', () => {
  const owner = id(312)
  const index = createListingIndex()
  let prev: HalfBlock | undefined
  const served = ['ws://' + 'x'.repeat(240) + '/', 'ws://' + 'y'.repeat(240) + '/', 'ws://' + 'z'.repeat(240) + '/']
  for (let i = 0; i < 300; i++) {
    const s = identityFromSeed(Uint8Array.from({ length: 32 }, (_, k) => (k === 0 ? i & 0xff : k === 1 ? i >> 8 : 7)))
    prev = listingBlock(owner, i + 1, { sensor: s.publicKey, device: `p-${i}`, served: i % 2 === 0 ? served : ['ws://h/'] }, prev)
    index.add(prev)
  }
  const gone = signBlock({ publicKey: owner.publicKey, seq: 301, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: blockHash(prev!), type: STREAM_WITHDRAW, payload: { listing: 5 }, timestamp: 400 }, owner)
  assert.is(index.add(gone), 'withdrawn')
  const seen: string[] = []
  let pages = 0
  for (let after = 0; ; pages++) {
    const page = index.page(after, 128, 20_000)
    const bytes = page.entries.reduce((n, e) => n + encodeBlock(e.block).length, 0)
    assert.ok(bytes <= 20_000, `page of ${bytes} bytes`)
    seen.push(...page.entries.map((e) => e.listing.device))
    if (page.next === 0) break
    assert.ok(page.next > after)
    after = page.next
  }
  assert.is(seen.length, 299)
  assert.is(new Set(seen).size, 299)
  assert.not.ok(seen.includes('p-4'), 'the withdrawn listing is not paged')
  assert.ok(pages >= 10, `${pages} pages: large listings make short pages`)
})

Index.run()

// ## The service: paid, unpaid, lapsed

const Service = suite('streams: selling keys over the protocol')

async function market() {
  const harness = createHarness(1_000_000)
  const w = world([[alice, component(1)], [carol, component(2)]])
  const r0 = runEpoch(w, [[component(1), [60_000, 1]], [component(2), [60_000, 1]]])
  const cert = certificate(r0)
  const claimOf = (who: SeedIdentity): Claim => ({ amount: r0.amountOf(who.publicKey), certificate: cert, proof: r0.proofFor(who.publicKey)! })
  const evidence = createEvidenceStore(w.community)
  const types = createEconomyTypes({ community: w.community, evidence })
  for (const t of streamTypes()) types.define(t)
  const clock = () => harness.clock.now()
  const wallet = (who: SeedIdentity) => createWallet({ agent: createAgent({ head: 'local', identity: who, store: createMemoryStore(), types, clock }), community: w.community, evidence, key: who })
  const owner = wallet(bob)
  const buyer = wallet(alice)
  const stranger = wallet(carol)
  const aliceClaim = await buyer.claim(claimOf(alice))
  await stranger.claim(claimOf(carol))
  // the owner lists the sensor in its own chain (period 60 s from the harness start)
  const listing = await owner.agent.append(STREAM_LISTING, listingPayload(listingFields({ start: 1_000_000, price: 10, period: 60_000 })))
  const ownerParty = harness.party(bob, owner.agent)
  const seller = createStreamService({
    host: ownerParty,
    payments: transferPayments(owner.agent.store, bob.publicKey),
    channels: { accept: (lock, voucher, history) => owner.acceptVoucher(lock, voucher, history) },
  })
  const stream = seller.sell({ sensor: sensorId, secret, listing })
  const buyerSvc = createStreamService({ host: harness.party(alice, buyer.agent) })
  const strangerSvc = createStreamService({ host: harness.party(carol, stranger.agent) })
  /** A transfer from `who` to the owner, countersigned by the owner's agent. */
  const pay = async (w: typeof buyer, amount: number, history: HalfBlock[] = []): Promise<HalfBlock> => {
    const proposal = await w.send(bob.publicKey, amount)
    await w.complete(await owner.accept(proposal, history))
    return proposal
  }
  return { harness, owner, buyer, stranger, aliceClaim, listing, seller, stream, buyerSvc, strangerSvc, pay }
}

const reading = (i: number) => new TextEncoder().encode(`{"pm25":${i}}`)

Service('a paying buyer gets the key and reads; a non-payer gets nothing', async () => {
  const m = await market()
  for (let i = 0; i < 3; i++) await m.stream.publish(reading(i))
  const payment = await m.pay(m.buyer, 20, [m.aliceClaim]) // two periods
  const keys = boxKeyPair()
  const { grant, key } = await m.buyerSvc.subscribe(bob.publicKey, await signPurchase(alice, { sensor: sensorId.publicKey, payment: payment.seq, recipient: keys.publicKey }), keys)
  assert.is(grant.period, 0)
  assert.is(grant.start, 4, 'starts at the sensor\'s head')
  const reader = createReader({ sensor: sensorId.publicKey, from: { seq: grant.start, prev: grant.prev } })
  reader.addKey(grant.period, key)
  const got: string[] = []
  const follow = await m.buyerSvc.follow(bob.publicKey, sensorId.publicKey, grant.start, (msg) => {
    const r = reader.read(msg)
    if (r.ok) got.push(new TextDecoder().decode(r.plaintext))
  })
  for (let i = 3; i < 6; i++) await m.stream.publish(reading(i))
  await m.harness.settle()
  assert.equal(got, ['{"pm25":3}', '{"pm25":4}', '{"pm25":5}'])
  follow.close()

  // the stranger: no payment of its own; alice's payment is not its to use; its keys would not open alice's grant
  const mine = boxKeyPair()
  const refusal = async (p: Promise<unknown>) => ((await p.then(() => undefined, (e) => e)) as RefusedError | undefined)?.reason
  assert.is(await refusal(m.strangerSvc.subscribe(bob.publicKey, await signPurchase(carol, { sensor: sensorId.publicKey, payment: 2, recipient: mine.publicKey }), mine)), 'not-paid')
  assert.is(await refusal(m.strangerSvc.subscribe(bob.publicKey, await signPurchase(alice, { sensor: sensorId.publicKey, payment: payment.seq, recipient: mine.publicKey }), mine)), 'not-buyer')
  assert.is(await refusal(m.strangerSvc.requestKey(bob.publicKey, sensorId.publicKey, 0, keys)), 'not-buyer')
  assert.is(await refusal(m.strangerSvc.requestKey(bob.publicKey, sensorId.publicKey, 0, mine)), 'not-paid')
  assert.is(openGrant(mine, grant), undefined)
  // a non-payer may still fetch and relay the ciphertext, and reads nothing
  const fetched = await m.strangerSvc.fetch(bob.publicKey, sensorId.publicKey, 1)
  assert.is(fetched.messages.length, 6)
  const blind = createReader({ sensor: sensorId.publicKey, from: { seq: 1, prev: new Uint8Array(32) } })
  assert.equal(fetched.messages.map((x) => (blind.read(x) as { reason: string }).reason), Array(6).fill('no-key'))
  // a payment is used once
  assert.is(await refusal(m.buyerSvc.subscribe(bob.publicKey, await signPurchase(alice, { sensor: sensorId.publicKey, payment: payment.seq, recipient: keys.publicKey }), keys)), 'payment-used')
})

Service('a subscription runs for the periods paid; renewed it gets the next key, lapsed it gets none', async () => {
  const m = await market()
  const payment = await m.pay(m.buyer, 25, [m.aliceClaim]) // 2 periods (25 / 10), the rest is a gift
  const keys = boxKeyPair()
  const { grant } = await m.buyerSvc.subscribe(bob.publicKey, await signPurchase(alice, { sensor: sensorId.publicKey, payment: payment.seq, recipient: keys.publicKey }), keys)
  assert.is(grant.period, 0)
  const reasonOf = async (p: Promise<unknown>) => ((await p.then(() => undefined, (e) => e)) as RefusedError | undefined)?.reason
  // period 1 is paid: its key comes (ahead of time, too)
  assert.is((await m.buyerSvc.requestKey(bob.publicKey, sensorId.publicKey, 1, keys)).grant.period, 1)
  assert.is(await reasonOf(m.buyerSvc.requestKey(bob.publicKey, sensorId.publicKey, 2, keys)), 'lapsed')
  // in period 2, the lapsed subscriber reads nothing new
  await m.harness.clock.advance(120_000)
  const published = await m.stream.publish(reading(1))
  assert.is(published.message.period, 2)
  const reader = createReader({ sensor: sensorId.publicKey, from: { seq: grant.start, prev: grant.prev } })
  reader.addKey(0, openGrant(keys, grant)!)
  assert.equal(reader.read(published.bytes), { ok: false, reason: 'no-key', seq: 1, period: 2 })
  // renewed (one more period from now): period 2's key
  const renewal = await m.pay(m.buyer, 10)
  const again = await m.buyerSvc.subscribe(bob.publicKey, await signPurchase(alice, { sensor: sensorId.publicKey, payment: renewal.seq, recipient: keys.publicKey }), keys)
  assert.is(again.grant.period, 2)
  assert.ok(createReader({ sensor: sensorId.publicKey, from: { seq: 1, prev: new Uint8Array(32) } }).read(published.bytes).ok === false)
  const r2 = createReader({ sensor: sensorId.publicKey, from: { seq: 1, prev: new Uint8Array(32) } })
  r2.addKey(2, again.key)
  assert.ok(r2.read(published.bytes).ok)
  assert.is(await reasonOf(m.buyerSvc.requestKey(bob.publicKey, sensorId.publicKey, 3, keys)), 'lapsed')
  assert.equal(m.stream.subscriptions().map((s) => [s.first, s.end]), [[0, 3]])
  // lapsed again, renewed in period 5: periods 3 and 4 stay unpaid, 5 and 6 are bought
  await m.harness.clock.advance(180_000)
  const late = await m.pay(m.buyer, 20)
  const back = await m.buyerSvc.subscribe(bob.publicKey, await signPurchase(alice, { sensor: sensorId.publicKey, payment: late.seq, recipient: keys.publicKey }), keys)
  assert.is(back.grant.period, 5)
  assert.is(await reasonOf(m.buyerSvc.requestKey(bob.publicKey, sensorId.publicKey, 4, keys)), 'not-paid')
  assert.is(await reasonOf(m.buyerSvc.requestKey(bob.publicKey, sensorId.publicKey, 3, keys)), 'not-paid')
  assert.is((await m.buyerSvc.requestKey(bob.publicKey, sensorId.publicKey, 6, keys)).grant.period, 6)
  assert.is((await m.buyerSvc.requestKey(bob.publicKey, sensorId.publicKey, 2, keys)).grant.period, 2, 'a period paid stays readable')
  assert.equal(m.stream.subscriptions()[0]!.ranges, [[0, 3], [5, 7]])
})

Service('an announced listing spreads and is searchable; the catalog serves it', async () => {
  const m = await market()
  const found = m.buyerSvc.search({ near: { lat: 45_070_000, lon: 7_686_000, meters: 100 } })
  assert.is(found.length, 0, 'nothing before the announcement')
  // sell() put it in the seller's index (and spread it to the peers of that moment: none)
  assert.is(m.seller.search({ kind: 'air-quality' }).length, 1)
  const page = await (await m.buyerSvc.handle.peer(bob.publicKey)).request('catalog', { after: 0, max: 128 })
  assert.is(page.kind, 'listings')
  if (page.kind === 'listings') {
    assert.is(m.buyerSvc.announce(page.message.blocks), 1)
    assert.is(page.message.next, 0)
  }
  assert.equal(m.buyerSvc.search({ near: { lat: 45_070_000, lon: 7_686_000, meters: 100 }, kind: 'air-quality' }).map((e) => e.listing.device), ['air-1'])
  // a listing announced by the owner reaches the others through the buyer
  const second = await m.owner.agent.append(STREAM_LISTING, listingPayload(listingFields({ sensor: otherSensor.publicKey, device: 'noise-1', kind: 'noise' })))
  m.seller.announce([second])
  await m.harness.settle()
  assert.equal(m.strangerSvc.search({ kind: 'noise' }).map((e) => e.listing.device), ['noise-1'])
  assert.ok(encodeBlock(second).length < 400)
})

Service('a payment channel: a lock for the owner, and each higher voucher buys the next periods', async () => {
  const m = await market()
  const lock = await m.buyer.lock({ to: bob.publicKey, amount: 50, expiry: 1_000 })
  const keys = boxKeyPair()
  const purchase = await signPurchase(alice, { sensor: sensorId.publicKey, payment: lock.seq, recipient: keys.publicKey })
  const receipt = async (amount: number) => ({ purchase, lock, voucher: encodeVoucher(await m.buyer.voucher(lock, amount)), history: [m.aliceClaim] })
  const first = await m.buyerSvc.subscribeByReceipt(bob.publicKey, await receipt(10), keys)
  assert.is(first.grant.period, 0)
  const reasonOf = async (p: Promise<unknown>) => ((await p.then(() => undefined, (e) => e)) as RefusedError | undefined)?.reason
  assert.is(await reasonOf(m.buyerSvc.requestKey(bob.publicKey, sensorId.publicKey, 1, keys)), 'lapsed')
  // the same voucher again buys nothing; a higher one buys one more period
  assert.is(await reasonOf(m.buyerSvc.subscribeByReceipt(bob.publicKey, await receipt(10), keys)), 'payment-used')
  await m.buyerSvc.subscribeByReceipt(bob.publicKey, await receipt(20), keys)
  assert.is((await m.buyerSvc.requestKey(bob.publicKey, sensorId.publicKey, 1, keys)).grant.period, 1)
  assert.equal(m.stream.subscriptions()[0]!.ranges, [[0, 2]])
  // a voucher the lock's owner did not sign, another's lock, a lock that is not the purchase's: refused
  const forged = encodeVoucher({ ...(await m.buyer.voucher(lock, 30)), amount: 40 })
  assert.is(await reasonOf(m.buyerSvc.subscribeByReceipt(bob.publicKey, { purchase, lock, voucher: forged, history: [] }, keys)), 'bad-receipt')
  const wrongSeq = await signPurchase(alice, { sensor: sensorId.publicKey, payment: lock.seq - 1, recipient: keys.publicKey })
  assert.is(await reasonOf(m.buyerSvc.subscribeByReceipt(bob.publicKey, { purchase: wrongSeq, lock, voucher: encodeVoucher(await m.buyer.voucher(lock, 40)), history: [] }, keys)), 'bad-receipt')
  const carolsKeys = boxKeyPair()
  const stolen = await signPurchase(carol, { sensor: sensorId.publicKey, payment: lock.seq, recipient: carolsKeys.publicKey })
  assert.is(await reasonOf(m.strangerSvc.subscribeByReceipt(bob.publicKey, { purchase: stolen, lock, voucher: encodeVoucher(await m.buyer.voucher(lock, 50)), history: [] }, carolsKeys)), 'bad-receipt')
})

Service.run()
