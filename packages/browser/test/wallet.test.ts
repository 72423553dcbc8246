// createBrowserWallet in headless Chromium against a real networked economy on 127.0.0.1
// (examples/browser-wallet/network.ts: three witnesses, a gateway node, a shop on a listening
// Node node, all over ws): the page connects, its owner key signs its device's registration, the
// witnesses certify the epoch, the page claims, pays the shop and is paid back through the
// gateway's relay, the gateway drops its session and the page reconnects, after a reload key,
// chain and evidence are still there, a second tab of the wallet waits in standby until the
// first closes, a wallet restored from its phrase on an emptied profile gets its chain back and
// signs at the right seq, a transfer left in flight comes back by itself, and the page pays a
// Node payee over a payment channel.
import { join } from 'node:path'
import * as assert from 'uvu/assert'
import { decodeBlock, fromHex, toHex } from '@tally/core'
import { startNetwork, type Network } from '../../../examples/browser-wallet/network.ts'
import { browserSuite, load, type PageRun } from './harness.js'

let network: Network | undefined
try {
  network = await startNetwork({ shop: true })
  const net = network
  await browserSuite('@tally/browser: createBrowserWallet against a gateway', join(import.meta.dirname, 'page', 'wallet.page.ts'), async (session) => {
    const info = net.info()
    const page = await session.open()
    const runs: PageRun[] = []
    const step = async (phase: string, params: Record<string, unknown> = {}) => {
      const run = await session.run(page, phase, { info, ...params })
      runs.push(run)
      return run
    }
    const opened = await step('open')
    // a phase that failed shows its in-page errors; the later phases depend on it
    if (opened.out.publicKey === undefined) return runs
    const owner = fromHex(String(opened.out.publicKey))
    // the device: its key is here, the owner's in the page
    const { component, digest } = net.newDevice(owner)
    const signed = await step('sign', { digest })
    const registered = await net.register(component, fromHex(String(signed.out.signature)))
    assert.is(registered.applied, 3, 'every witness applied the registration')
    assert.is(registered.reported, 3, 'every witness took the report')
    const closed = await net.closeEpoch()
    assert.ok(closed.certified, 'the epoch is certified')
    const claimed = await step('claim', { epoch: closed.epoch })
    const amount = 1234
    const paid = await step('pay', { amount })
    assert.is(await net.shop!.net.wallet.balance(), amount, "the shop's balance")
    // the shop asked the seq witnesses before it countersigned: a quorum of them (2 of the example's
    // 3; witness mode shows a block to a quorum first, a spare only when one stalls) keeps the proposal
    const proposal = (await net.shop!.node.store.range(owner)).find((b) => b.type === 'transfer')!
    const holding = await Promise.all(net.witnessNodes.map(async (w) => (await w.store.get(owner, proposal.seq)) !== undefined))
    assert.ok(holding.filter(Boolean).length >= 2, `a quorum of seq witnesses holds the slot (held by ${holding.map(Number).join(', ')})`)
    // the shop (a Node wallet) pays the page back: the page cannot be dialled, so through the gateway
    const back = 234
    const receiving = step('receive', { amount: back, since: paid.out.transfers })
    const refund = await net.shop!.net.send(owner, back)
    assert.is(toHex(refund.agreement.publicKey), toHex(owner), "the page's agreement")
    const received = await receiving
    // the page showed every block of its chain, its reward included, to a quorum of the seq witnesses
    // (2 of 3: any two quorums share a witness, so a second block at one seq meets the first)
    const chain = await net.shop!.node.store.range(owner)
    for (let wait = Date.now() + 60_000; ; ) {
      const held = await Promise.all(chain.map(async (b) => (await Promise.all(net.witnessNodes.map(async (w) => (await w.store.get(owner, b.seq)) !== undefined))).filter(Boolean).length))
      if (held.every((n) => n >= 2)) break
      assert.ok(Date.now() < wait, `witnesses holding each of the page's ${chain.length} blocks: ${held.join(', ')} (a quorum is 2)`)
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.is(await net.shop!.net.wallet.balance(), amount - back, "the shop's balance after paying back")
    // the gateway drops the page's session: the page goes offline and comes back by itself
    const reconnect = step('await-reconnect', { since: received.out.states })
    net.gateway.disconnect(owner)
    await reconnect
    await step('close')
    await load(page) // a reload: the same profile
    const balance = Number(claimed.out.balance) - amount + back
    await step('reopen', { publicKey: toHex(owner), balance })
    // two tabs of the wallet: the second waits in standby until the first closes
    await load(page)
    runs.push(await session.run(page, 'hold', { info }))
    const second = await session.open()
    runs.push(await session.run(second, 'follow', { info, balance }))
    await page.close()
    runs.push(await session.run(second, 'take-over', { info }))
    await second.close()
    // restored from the phrase on an emptied profile: the chain comes back from the network
    const head = (await net.shop!.node.store.range(owner)).at(-1)!.seq
    const third = await session.open()
    runs.push(await session.run(third, 'restore', { info, phrase: opened.out.phrase, publicKey: toHex(owner), head, balance }))
    assert.is(await net.shop!.net.wallet.balance(), amount - back + 5, "the shop took the restored wallet's payment")
    runs.push(await session.run(third, 'strand', { info }))
    // a payment channel: the page locks a deposit and signs receipts; the shop admits the lock,
    // accepts the receipts off line and redeems them
    const channel = await session.run(third, 'channel', { info })
    runs.push(channel)
    if (channel.out.chain !== undefined) {
      // a reload: the page's book on IndexedDB still holds the latest receipt
      await load(third)
      const again = await session.run(third, 'channel-again', { info, channel: channel.out.channel })
      runs.push(again)
      const blocks = (channel.out.chain as string[]).map((h) => decodeBlock(fromHex(h)))
      const shopBefore = await net.shop!.net.wallet.balance()
      await net.shop!.payee.admit(blocks.at(-1)!, blocks.slice(0, -1))
      for (const r of [...(channel.out.receipts as string[]), String(again.out.receipt)]) await net.shop!.payee.accept(fromHex(r), { price: 1 })
      await net.shop!.payee.redeem(fromHex(String(channel.out.channel)))
      assert.is(await net.shop!.net.wallet.balance(), shopBefore + 9, 'the shop redeemed the receipts, the one signed after the reload included')
    }
    return runs
  })
} finally {
  await network?.close()
}
