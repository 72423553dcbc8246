// The browser wallet's market calls in headless Chromium against a real networked economy on
// 127.0.0.1 (examples/browser-wallet/network.ts: three witnesses, a gateway that indexes stream
// listings, a shop on a listening Node node selling two data streams and taking payment
// channels, all over ws): the page finds the shop's streams through the gateway, buys one by
// transfer and one by lock and vouchers, reads what the sensors publish; opens a channel to the
// shop, pays receipts the shop accepts and redeems, recharges, releases a channel after its
// expiry; and is paid over a channel by the shop; subscribes to the shop's SLA offer on a device
// of its own, a cycle that passes (the shop redeems the instalment) and one that fails (the page
// redeems the penalty, the subscription ends), each verdict certified by the witnesses. Reloads in
// the middle of each: subscriptions, reading positions, voucher totals, channel books and SLA
// cycles come back from IndexedDB.
import { join } from 'node:path'
import * as assert from 'uvu/assert'
import { decodeBlock, encodeBlock, fromHex, toHex } from '@tally/core'
import { decodeRewardEvidence, epochAt } from '@tally/economy'
import { fetchOutcome, outcomesProtocol, redeemInstalment } from '@tally/economy/market'
import { startNetwork, type Network } from '../../../examples/browser-wallet/network.ts'
import { browserSuite, load, type PageRun } from './harness.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

let network: Network | undefined
try {
  network = await startNetwork({ shop: true, streams: true, sla: true })
  const net = network
  const shop = net.shop!
  await browserSuite('@tally/browser: the wallet\'s market calls (streams, channels, SLA)', join(import.meta.dirname, 'page', 'markets.page.ts'), async (session) => {
    // the shop's SLA offer on a device of its own: airtime ≥ 1,000 ms an epoch, 4 a cycle, penalty 2
    const { offer, component: shopDevice } = await net.shopOffer({ price: 4, penalty: 2, from: 1 })
    const info = net.info()
    const page = await session.open()
    const runs: PageRun[] = []
    const step = async (phase: string, params: Record<string, unknown> = {}) => {
      const run = await session.run(page, phase, { info, ...params })
      runs.push(run)
      return run
    }
    const opened = await step('open')
    if (opened.out.publicKey === undefined) return runs
    const owner = fromHex(String(opened.out.publicKey))
    const { component, digest } = net.newDevice(owner)
    const signed = await step('sign', { digest })
    await net.register(component, fromHex(String(signed.out.signature)))
    const closed = await net.closeEpoch()
    assert.ok(closed.certified)
    await step('claim', { epoch: closed.epoch })

    // ## Data streams
    const bought = await step('stream-buy')
    if (bought.out.sensor === undefined) return runs
    const [door1, door2] = shop.sold
    assert.is(toHex(door1!.sensor), bought.out.sensor)
    // the shop sold to the key the page derived: its subscription names it
    const sub = door1!.subscriptions()[0]!
    assert.is(toHex(sub.recipient), bought.out.recipient)
    assert.is(toHex(sub.buyer), toHex(owner))
    assert.is(sub.end - sub.first, 2, 'two periods bought')
    for (const r of ['in 3', 'in 1', 'out 2']) await door1!.publish(enc(r))
    const read = await step('stream-read', { sensor: bought.out.sensor, expected: ['in 3', 'in 1', 'out 2'] })
    for (const r of ['in 5', 'out 4']) await door1!.publish(enc(r))
    await load(page) // a reload mid-stream
    const reloaded = await step('stream-reload', { sensor: bought.out.sensor, next: read.out.next, payment: bought.out.payment, expected: ['in 5', 'out 4'] })
    if (reloaded.out.sensor2 !== undefined) {
      assert.is(toHex(door2!.sensor), reloaded.out.sensor2)
      assert.is(door2!.subscriptions()[0]!.end - door2!.subscriptions()[0]!.first, 2, 'two vouchers of one period each')
      for (const r of ['in 7', 'in 8']) await door2!.publish(enc(r))
      await load(page)
      await step('stream-lock-read', { sensor2: reloaded.out.sensor2, expected: ['in 7', 'in 8'] })
    }

    // a purchase the seller cannot answer yet (its chain lags): asked for again, not paid again
    net.holdPayments(true)
    const unanswered = await step('stream-unanswered')
    net.holdPayments(false)
    if (unanswered.out.balance !== undefined) {
      await load(page)
      await step('stream-asked-again', { balance: unanswered.out.balance, payments: unanswered.out.payments })
      const sub = door1!.subscriptions()[0]!
      assert.is(sub.end - sub.first, 3, 'two periods, then one more on the payment asked for again')
    }

    // ## Payment channels: the page pays the shop
    const shopBefore = await shop.net.wallet.balance()
    const ch = await step('channel-open')
    if (ch.out.channel !== undefined) {
      await shop.payee.admit(decodeBlock(fromHex(String(ch.out.lock))), (ch.out.history as string[]).map((h) => decodeBlock(fromHex(h))))
      for (const r of ch.out.receipts as string[]) await shop.payee.accept(fromHex(r))
      await load(page)
      const again = await step('channel-reload', { channel: ch.out.channel })
      if (again.out.recharge !== undefined) {
        await shop.payee.admit(decodeBlock(fromHex(String(again.out.recharge))), (again.out.history as string[]).map((h) => decodeBlock(fromHex(h))))
        for (const r of again.out.receipts as string[]) await shop.payee.accept(fromHex(r))
        await shop.payee.redeem(fromHex(String(ch.out.channel)))
        assert.is(await shop.net.wallet.balance(), shopBefore + 15, 'the shop redeemed 15 across both locks, a receipt signed after the reload included')
      }
    }

    // ## SLA: the page subscribes to the shop's offer, cycle by cycle
    const outcomesHandle = shop.node.host(outcomesProtocol())
    /** The seller's side of a cycle: the buyer's reward evidence, then its wallet agrees (slaPolicy locks the penalty). */
    const agree = async (run: PageRun) => {
      for (const [amount, e] of run.out.evidence as [number, string][]) assert.ok(shop.evidence.put(owner, amount, decodeRewardEvidence(fromHex(e))).ok, 'the evidence checks out')
      const proposal = decodeBlock(fromHex(String(run.out.proposal)))
      return { proposal, agreement: await shop.wallet.accept(proposal, (run.out.history as string[]).map((h) => decodeBlock(fromHex(h)))) }
    }
    await load(page)
    const sub1 = await step('sla-subscribe', { offer: toHex(offer.id) })
    if (sub1.out.proposal !== undefined) {
      const cycle1 = await agree(sub1)
      await load(page) // a reload between the proposal and the seller's answer
      await step('sla-complete', { agreement: toHex(encodeBlock(cycle1.agreement)) })
      await net.report(shopDevice, 5_000) // epoch 1: the device meets the criterion
      assert.ok((await net.closeEpoch()).certified)
      const sub2 = await step('sla-next', { offer: toHex(offer.id) })
      // the seller redeems the passed cycle's instalment on the certified outcome
      await fetchOutcome(outcomesHandle, net.community.current.witnesses, shop.outcomes, offer.id, 1)
      const shopBefore = await shop.net.wallet.balance()
      await redeemInstalment(shop.wallet, cycle1.proposal)
      assert.is(await shop.net.wallet.balance(), shopBefore + 4, 'the instalment')
      if (sub2.out.proposal !== undefined) {
        const cycle2 = await agree(sub2)
        await net.report(shopDevice, 10) // epoch 2: below the criterion
        assert.ok((await net.closeEpoch()).certified)
        await load(page)
        await step('sla-failed', { offer: toHex(offer.id), agreement: toHex(encodeBlock(cycle2.agreement)) })
      }
    }

    // ## Payment channels: the shop pays the page
    const expiry = epochAt(net.community.current, Date.now()) + 24
    const { channel, lock } = await shop.payer.open({ to: owner, deposit: 30, expiry })
    const history = await shop.node.store.range(shop.node.publicKey, { to: lock.seq - 1 })
    const receipts = [await shop.payer.pay(channel, 5), await shop.payer.pay(channel, 6)]
    await load(page)
    await step('channel-incoming', { lock: toHex(encodeBlock(lock)), history: history.map((b) => toHex(encodeBlock(b))), deposit: 30, receipts: receipts.map(toHex), total: 11 })
    return runs
  })
} finally {
  await network?.close()
}
