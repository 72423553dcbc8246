// In Chromium: the wallet's market calls against a networked economy on 127.0.0.1 (test/markets.test.ts
// runs it: three witnesses, a gateway that indexes stream listings, a shop on a listening Node node
// that sells two data streams and takes payment channels). Data streams — found through the
// gateway, bought by transfer and by lock + vouchers, read — and payment channels — opened, paid
// with receipts, recharged, released after the expiry — each with its state kept across a reload.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeBlock, encodeBlock, fromHex, toHex, type HalfBlock } from '@tally/core'
import { createCommunity, decodeSignedConfig, epochAt, type Community } from '@tally/economy'
import { streamTypes } from '@tally/economy/streams'
import { createBrowserIdentity, createBrowserWallet, openBrowserIdentity, openIdbStore, type BrowserIdentity, type BrowserWallet } from '../../src/index.js'
import { openWalletChannels, type WalletChannels } from '../../src/wallet-channels.js'
import { deriveBoxKeys, openWalletStreams, type WalletStreams } from '../../src/wallet-streams.js'
import { openWalletSla, slaWalletOptions, type SlaWalletOptions, type WalletSla } from '../../src/wallet-sla.js'
import { out, serve } from './harness.js'

interface Info {
  config: string
  gateway: { address: string; key: string }
  witnesses: { key: string; address: string }[]
  shop: { address: string; key: string }
}

const NAMES = { database: 'm-keys', label: 'buyer', chain: 'm-chain', wallet: 'm-evidence', channels: 'm-channels', streams: 'm-streams' }
let identity: BrowserIdentity | undefined
let theWallet: BrowserWallet | undefined
let community: Community | undefined
let theStreams: WalletStreams | undefined
const setStreams = (s: WalletStreams) => void (theStreams = s)
let channels: WalletChannels | undefined
const setChannels = (c: WalletChannels) => void (channels = c)
let slaOptions: SlaWalletOptions | undefined
let sla: WalletSla | undefined
const setSla = (x: WalletSla) => void (sla = x)

const info = (params: Record<string, unknown>): Info => params.info as Info
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)
const hexBlocks = (blocks: readonly HalfBlock[]): string[] => blocks.map((b) => toHex(encodeBlock(b)))

async function open(i: Info, created: boolean): Promise<BrowserWallet> {
  community = createCommunity(decodeSignedConfig(fromHex(i.config)))
  slaOptions = slaWalletOptions(community)
  if (created) identity = (await createBrowserIdentity({ database: NAMES.database, label: NAMES.label })).identity
  else identity = await openBrowserIdentity({ database: NAMES.database, label: NAMES.label })
  assert.ok(identity !== undefined, 'the identity is kept')
  const w = await createBrowserWallet({
    gateway: i.gateway.address,
    gatewayKey: fromHex(i.gateway.key),
    community,
    identity,
    store: await openIdbStore({ name: NAMES.chain }),
    database: NAMES.wallet,
    witnesses: i.witnesses.map((x) => [fromHex(x.key), x.address] as const),
    reconnect: { initialMs: 100, maxMs: 1_000 },
    // the shop's chain holds its stream listings and offers: a payee replaying it knows their
    // types; the lock types know the 'sla' authority (a failed cycle's penalty is redeemed here)
    types: [...streamTypes(), ...slaOptions.types],
    lock: slaOptions.lock,
  })
  w.addAddress(fromHex(i.shop.key), i.shop.address)
  await w.online()
  return w
}

/** The error `fn` rejects with (fails when it resolves). */
async function rejection(fn: () => Promise<unknown>): Promise<{ name?: string; reason?: string; message: string }> {
  try {
    await fn()
  } catch (err) {
    return err as { name?: string; reason?: string; message: string }
  }
  assert.unreachable('expected a rejection')
  throw new Error('unreachable')
}

serve({
  async open(params) {
    const test = suite('a wallet for the markets')
    test('created and online', async () => {
      theWallet = await open(info(params), true)
      out.publicKey = theWallet!.publicKeyHex
    })
    test.run()
  },

  async sign(params) {
    const test = suite('the owner signs its device registration')
    test('a signature of the digest', async () => {
      out.signature = toHex(await identity!.sign(fromHex(String(params.digest))))
    })
    test.run()
  },

  async claim(params) {
    const test = suite('claim')
    test('the reward of the certified epoch', async () => {
      await theWallet!.claim(Number(params.epoch))
      out.balance = await theWallet!.balance()
    })
    test.run()
  },

  async 'stream-buy'(params) {
    const i = info(params)
    const test = suite('data streams: find and buy by transfer')
    test('the gateway\'s catalog holds the shop\'s listings; search finds them', async () => {
      theStreams = await openWalletStreams(theWallet!, { database: NAMES.streams })
      // the catalog may have come already, when the session's protocols met: refresh asks again
      await theStreams.refresh()
      assert.ok(theStreams.service.index.size >= 2, `${theStreams.service.index.size} listings`)
      const found = theStreams.search({ kind: 'footfall', near: { lat: 45_070_000, lon: 7_686_000, meters: 50 } })
      assert.equal(found.map((e) => e.listing.device).sort(), ['shop-door-1', 'shop-door-2'])
      assert.ok(found.every((e) => toHex(e.owner) === i.shop.key))
      assert.is(theStreams.search({ kind: 'footfall', maxPrice: 9 }).length, 0)
    })
    test('bad arguments are refused before anything is signed', async () => {
      const [entry] = theStreams!.search({ kind: 'footfall' })
      const before = (await theWallet!.history()).length
      assert.is((await rejection(() => theStreams!.buy(entry!, { periods: 0 }))).name, 'RangeError')
      assert.is((await rejection(() => theStreams!.buy(entry!, { by: 'card' as 'lock' }))).name, 'TypeError')
      assert.is((await rejection(() => theStreams!.read(new Uint8Array(32)))).name, 'RangeError')
      assert.is((await theWallet!.history()).length, before)
    })
    test('buy two periods of shop-door-1 by transfer: the transfer, a purchase for the derived X25519 key, the grant', async () => {
      const wallet = theWallet!
      const before = await wallet.balance()
      theStreams!.dispose()
      // readme:streams
      const streams = await openWalletStreams(wallet, { database: 'm-streams' }) // hosts the streams protocol; subscriptions in IndexedDB
      await streams.refresh()                                     // the gateway's catalog of listings
      const entry = streams.search({ kind: 'footfall', maxPrice: 10 }).find((e) => e.listing.device === 'shop-door-1')!
      const sub = await streams.buy(entry, { periods: 2 })        // a transfer to the owner, a purchase for a derived X25519 key, the key
      // later, and after a reload: const { messages } = await streams.read(entry.listing.sensor)
      // readme:end
      setStreams(streams)
      assert.is(sub.by, 'transfer')
      assert.is(sub.payments.length, 1)
      assert.is(sub.periods.length, 1, 'the current period\'s key, granted')
      assert.is(await theWallet!.balance(), before - 20)
      const [last] = await theWallet!.history({ limit: 1 })
      assert.is(last!.kind, 'sent')
      assert.is(last!.counterparty, i.shop.key)
      out.sensor = toHex(entry.listing.sensor)
      out.payment = sub.payments[0]
      // the X25519 key: derived again, the same (the seller granted to it); derived for another
      // sensor or subscription, another
      const again = await deriveBoxKeys(theWallet!, entry.listing.sensor, 0)
      const other = await deriveBoxKeys(theWallet!, entry.listing.sensor, 1)
      out.recipient = toHex(again.publicKey)
      assert.not.equal(toHex(other.publicKey), toHex(again.publicKey))
    })
    test.run()
  },

  async 'stream-read'(params) {
    const test = suite('data streams: read')
    test('the readings the sensor published, checked and decrypted, in order', async () => {
      const sensor = fromHex(String(params.sensor))
      const r = await theStreams!.read(sensor)
      assert.equal(r.failures, [])
      assert.equal(r.messages.map((m) => text(m.plaintext)), params.expected)
      assert.is(r.next, r.messages.at(-1)!.seq + 1)
      const again = await theStreams!.read(sensor)
      assert.equal(again.messages, [], 'nothing new')
      out.next = r.next
    })
    test.run()
  },

  async 'stream-reload'(params) {
    const test = suite('data streams after a reload')
    test('the subscription and the reading position are kept; only the new readings come', async () => {
      theWallet = await open(info(params), false)
      theStreams = await openWalletStreams(theWallet!, { database: NAMES.streams })
      const sensor = fromHex(String(params.sensor))
      const sub = await theStreams.subscription(sensor)
      assert.ok(sub !== undefined, 'kept')
      assert.is(sub.next, Number(params.next))
      assert.equal(sub.payments, [Number(params.payment)])
      const r = await theStreams.read(sensor)
      assert.equal(r.failures, [])
      assert.equal(r.messages.map((m) => text(m.plaintext)), params.expected)
    })
    test('buy shop-door-2 by lock and voucher, then one more period by a higher voucher', async () => {
      await theStreams!.refresh()
      const entry = theStreams!.search({ kind: 'footfall' }).find((e) => e.listing.device === 'shop-door-2')!
      assert.ok(entry !== undefined)
      const before = await theWallet!.balance()
      const sub = await theStreams!.buy(entry, { by: 'lock', deposit: 50 })
      assert.is(sub.by, 'lock')
      assert.is(sub.vouchered, 10)
      assert.is(await theWallet!.balance(), before - 50, 'the deposit is locked')
      const more = await theStreams!.buy(entry, { by: 'lock' })
      assert.is(more.vouchered, 20)
      assert.is(more.lock, sub.lock)
      assert.is(await theWallet!.balance(), before - 50, 'a voucher moves nothing yet')
      const wrong = await rejection(() => theStreams!.buy(entry, { by: 'transfer' }))
      assert.match(wrong.message, /paid by lock/)
      out.sensor2 = toHex(entry.listing.sensor)
      out.lock = sub.lock
    })
    test.run()
  },

  async 'stream-lock-read'(params) {
    const test = suite('data streams: the stream bought by lock, after a reload')
    test('the voucher total is kept, the stream reads', async () => {
      theWallet = await open(info(params), false)
      theStreams = await openWalletStreams(theWallet!, { database: NAMES.streams })
      const sensor = fromHex(String(params.sensor2))
      const sub = await theStreams.subscription(sensor)
      assert.is(sub?.vouchered, 20)
      const r = await theStreams.read(sensor)
      assert.equal(r.failures, [])
      assert.equal(r.messages.map((m) => text(m.plaintext)), params.expected)
      assert.is((await theStreams.subscriptions()).length, 2)
      theStreams.dispose()
    })
    test.run()
  },

  async 'stream-unanswered'() {
    const test = suite('data streams: a purchase the seller could not answer yet')
    test('the transfer went, the seller did not find it yet (not-paid): the payment stays on record, unanswered', async () => {
      theStreams = await openWalletStreams(theWallet!, { database: NAMES.streams })
      await theStreams.refresh()
      const entry = theStreams.search({ kind: 'footfall' }).find((e) => e.listing.device === 'shop-door-1')!
      const before = await theWallet!.balance()
      const was = (await theStreams.subscription(entry.listing.sensor))!
      const err = await rejection(() => theStreams!.buy(entry, { periods: 1 }))
      assert.is(err.reason, 'not-paid')
      assert.is(await theWallet!.balance(), before - 10, 'paid once')
      assert.is((await theStreams.subscription(entry.listing.sensor))!.payments.length, was.payments.length + 1)
      out.balance = before - 10
      out.payments = was.payments.length + 1
    })
    test.run()
  },

  async 'stream-asked-again'(params) {
    const test = suite('data streams: the purchase asked for again (after a reload)')
    test('the same payment, no second transfer: the periods are granted', async () => {
      theWallet = await open(info(params), false)
      theStreams = await openWalletStreams(theWallet, { database: NAMES.streams })
      await theStreams.refresh()
      const entry = theStreams.search({ kind: 'footfall' }).find((e) => e.listing.device === 'shop-door-1')!
      const sub = await theStreams.buy(entry, { periods: 1 })
      assert.is(await theWallet.balance(), Number(params.balance), 'nothing paid again')
      assert.is(sub.payments.length, Number(params.payments))
      theStreams.dispose()
    })
    test.run()
  },

  async 'channel-open'(params) {
    const i = info(params)
    const test = suite('payment channels: open and pay')
    test('open a channel to the shop: a lock of the deposit; two receipts', async () => {
      const wallet = theWallet!
      const before = await wallet.balance()
      const shop = fromHex(i.shop.key)
      // readme:channels
      const channels = await openWalletChannels(wallet, { database: 'm-channels' }) // the books on IndexedDB
      const opened = await channels.open(shop, 10)                 // a lock of 10 for the shop: { channel, lock, history } for its payee.admit
      const receipts = [await channels.pay(opened.channel, 3), await channels.pay(opened.channel, 4)] // cumulative receipts: bytes for its payee.accept
      // readme:end
      setChannels(channels)
      assert.is(opened.lock.type, 'lock')
      assert.is(await wallet.balance(), before - 10)
      assert.ok(receipts.every((r) => r.length <= 119))
      const state = await channels.state(opened.channel)
      assert.is(state.paid, 7)
      assert.is(state.deposit, 10)
      assert.equal((await channels.list()).map(toHex), [toHex(opened.channel)])
      out.channel = toHex(opened.channel)
      out.lock = toHex(encodeBlock(opened.lock))
      out.history = hexBlocks(opened.history)
      out.receipts = receipts.map(toHex)
    })
    test('paying past the deposit, an unknown channel, a bad amount: refused, nothing signed', async () => {
      const channel = fromHex(String(out.channel))
      assert.match((await rejection(() => channels!.pay(channel, 4))).message, /past its deposit.*recharge first/)
      assert.is((await rejection(() => channels!.pay(new Uint8Array(32), 1))).name, 'RangeError')
      assert.is((await rejection(() => channels!.pay(channel, 0))).name, 'RangeError')
      assert.is((await rejection(() => channels!.open(fromHex(i.shop.key), 0))).name, 'RangeError')
      assert.is((await channels!.state(channel)).paid, 7)
    })
    test.run()
  },

  async 'channel-reload'(params) {
    const i = info(params)
    const test = suite('payment channels after a reload')
    test('the book kept the latest receipt: the next raises the same total; a recharge, a receipt across both locks', async () => {
      theWallet = await open(i, false)
      channels = await openWalletChannels(theWallet!, { database: NAMES.channels })
      const channel = fromHex(String(params.channel))
      assert.is((await channels.state(channel)).paid, 7, 'kept')
      const r1 = await channels.pay(channel, 2)
      const recharge = await channels.recharge(channel, 20)
      const r2 = await channels.pay(channel, 6)
      const state = await channels.state(channel)
      assert.is(state.paid, 15)
      assert.is(state.deposit, 30)
      assert.is(state.locks.length, 2)
      out.receipts = [toHex(r1), toHex(r2)]
      out.recharge = toHex(encodeBlock(recharge.lock))
      out.history = hexBlocks(recharge.history)
    })
    test('a channel whose expiry epoch has begun: closed, the deposit less the receipts comes back', async () => {
      const epoch = epochAt(community!.current, Date.now())
      const { channel } = await channels!.open(fromHex(i.shop.key), 12, { expiry: epoch })
      await channels!.pay(channel, 5)
      const before = await theWallet!.balance()
      const releases = await channels!.close(channel)
      assert.is(releases.length, 1)
      assert.is((releases[0]!.payload as { amount: number }).amount, 7, 'the lock of 12 less the receipt of 5')
      assert.is(await theWallet!.balance(), before + 7)
      assert.match((await rejection(() => channels!.pay(channel, 1))).message, /closed/)
      // a channel whose expiry is ahead: close releases nothing yet
      assert.equal(await channels!.close(fromHex(String(params.channel))), [])
      channels!.dispose()
    })
    test.run()
  },

  async 'sla-subscribe'(params) {
    const test = suite('SLA: find an offer, subscribe for a cycle')
    test('the gateway\'s offers synced; search by type and price; the escrow proposal with the chain and evidence for the seller', async () => {
      theWallet = await open(info(params), false)
      const wallet = theWallet
      const before = await wallet.balance()
      const options = slaOptions! // slaWalletOptions(community): its lock and types went to createBrowserWallet
      // readme:sla
      const sla = await openWalletSla(wallet, { outcomes: options.outcomes, database: 'm-sla' })
      await sla.refresh()                                         // the gateway's offers
      const [offer] = sla.search({ epoch: 1, type: 'gateway', maxPrice: 10 })
      const p = await sla.subscribe(offer!.offer.id, { start: 1 }) // the escrow lock: { proposal, history, evidence } for the seller
      // the seller's wallet.accept(proposal, history) answers; then: await sla.complete(agreement)
      // each epoch: await sla.check() (outcomes from the witnesses; a failed cycle's penalty redeemed)
      // readme:end
      setSla(sla)
      const found = sla.search({ epoch: 1, type: 'gateway', maxPrice: 10 })
      assert.is(found.length, 1)
      assert.is(toHex(offer!.offer.id), String(params.offer))
      assert.is(sla.search({ epoch: 1, maxPrice: 3 }).length, 0)
      assert.is(p.proposal.type, 'lock')
      assert.is(await theWallet!.balance(), before - 4, 'the escrow: the price of a cycle')
      assert.ok(p.evidence.length >= 1, 'the evidence of the reward')
      const sub = await sla.subscription(found[0]!.offer.id)
      assert.equal(sub!.cycles.map((c) => c.state), ['proposed'])
      const early = await rejection(() => sla!.subscribe(found[0]!.offer.id, { start: 2 }))
      assert.is(early.reason, 'sla-pending', 'one cycle at stake at a time')
      assert.is((await rejection(() => sla!.subscribe(new Uint8Array(32)))).name, 'RangeError')
      out.proposal = toHex(encodeBlock(p.proposal))
      out.history = hexBlocks(p.history)
      out.evidence = p.evidence.map((e) => [e.amount, toHex(e.evidence)])
    })
    test.run()
  },

  async 'sla-complete'(params) {
    const test = suite('SLA: the seller agreed (after a reload)')
    test('the penalty lock taken in: the cycle is pending on its outcome', async () => {
      theWallet = await open(info(params), false)
      sla = await openWalletSla(theWallet!, { outcomes: slaOptions!.outcomes, database: 'm-sla' })
      const sub = await sla.complete(decodeBlock(fromHex(String(params.agreement))))
      assert.equal(sub.cycles.map((c) => c.state), ['pending'])
      assert.is((sub.cycles[0]!.penalty!.payload as { amount: number }).amount, 2)
      const checked = await sla.check()
      assert.equal(checked[0]!.cycles.map((c) => c.state), ['pending'], 'epoch 1 is not closed yet')
    })
    test.run()
  },

  async 'sla-next'(params) {
    const test = suite('SLA: the first cycle passed; the next one')
    test('check: passed on the certified outcome; subscribe to the next cycle', async () => {
      const offer = fromHex(String(params.offer))
      const [sub] = await sla!.check()
      assert.equal(sub!.cycles.map((c) => c.state), ['passed'])
      assert.not.ok(sub!.ended)
      const p = await sla!.subscribe(offer, { start: 2 })
      out.proposal = toHex(encodeBlock(p.proposal))
      out.history = hexBlocks(p.history)
      out.evidence = p.evidence.map((e) => [e.amount, toHex(e.evidence)])
    })
    test.run()
  },

  async 'sla-failed'(params) {
    const test = suite('SLA: the second cycle failed (after a reload)')
    test('complete, then check: failed on the certified outcome, the seller\'s penalty redeemed, the subscription ended', async () => {
      theWallet = await open(info(params), false)
      sla = await openWalletSla(theWallet!, { outcomes: slaOptions!.outcomes, database: 'm-sla' })
      const offer = fromHex(String(params.offer))
      await sla.complete(decodeBlock(fromHex(String(params.agreement))))
      const before = await theWallet!.balance()
      const [sub] = await sla.check()
      assert.equal(sub!.cycles.map((c) => c.state), ['passed', 'failed'])
      assert.is(sub!.cycles[1]!.failedEpoch, 2)
      assert.ok(sub!.cycles[1]!.redeemed)
      assert.ok(sub!.ended, 'a failed cycle ends it')
      assert.is(await theWallet!.balance(), before + 2, 'the penalty')
      assert.is((await rejection(() => sla!.subscribe(offer, { start: 3 }))).reason, 'sla-ended')
      // the escrow of the failed cycle comes back after its expiry epoch, not before
      assert.equal(await sla.release(), [])
      assert.is(sub!.cycles[1]!.expiry, 2 + 1 + 2)
      // checked again: nothing redeemed twice
      await sla.check()
      assert.is(await theWallet!.balance(), before + 2)
      sla.dispose()
      await theWallet!.close()
    })
    test.run()
  },

  async 'channel-incoming'(params) {
    const test = suite('payment channels: this wallet as the payee')
    test('admit the shop\'s lock, accept its receipts, redeem: the balance rises', async () => {
      theWallet = await open(info(params), false)
      channels = await openWalletChannels(theWallet!, { database: NAMES.channels })
      // the shop's chain holds the SLA redeem of the passed cycle: this wallet's rules check it
      // against the outcome certificates, which the SLA records kept on IndexedDB
      sla = await openWalletSla(theWallet!, { outcomes: slaOptions!.outcomes, database: 'm-sla' })
      const lock = decodeBlock(fromHex(String(params.lock)))
      const history = (params.history as string[]).map((h) => decodeBlock(fromHex(h)))
      const state = await channels.incoming.admit(lock, history)
      assert.is(state.deposit, Number(params.deposit))
      for (const r of params.receipts as string[]) await channels.incoming.accept(fromHex(r))
      const stale = await rejection(() => channels!.incoming.accept(fromHex((params.receipts as string[])[0]!)))
      assert.is(stale.reason, 'receipt-stale')
      const before = await theWallet!.balance()
      const redeems = await channels.incoming.redeem(state.id)
      assert.is(redeems.length, 1)
      assert.is(await theWallet!.balance(), before + Number(params.total))
      assert.equal((await channels.incoming.list()).map(toHex), [toHex(state.id)])
      channels.dispose()
      sla.dispose()
      await theWallet!.close()
    })
    test.run()
  },
})
