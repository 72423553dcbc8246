/**
 * A wallet killed mid-transfer settles afterwards with nothing lost. Three witness processes, the
 * sender's wallet in a fourth (its chain in LevelDB, no listening socket), the receiver here.
 * Neither wallet listens: the transfer travels through a witness process acting as relay.
 * The sender is SIGKILLed twice: once after the receiver accepted and before the proposal went
 * through the node's transaction path (after the restart, the witnesses say it was accepted and
 * settle() delivers it again: the transfer completes), and once right after a proposal was made
 * durable, before anyone saw it (after the restart and the expiry, settle() collects the void
 * ticket and refunds it). Restarted once more, it pays carol, who never saw it: its reward
 * evidence, kept in memory, is fetched again from the witnesses. Then a supply audit over the sender's store (read from the restarted
 * process) and the receiver's: every token accounted for, nothing in flight.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMemoryStore, decodeBlock, fromHex, toHex, type BlockStore } from '@tally/core'
import { auditSupply } from '@tally/economy'
import type { Node } from '@tally/gossip'
import { killAll, startChild, type Child } from '../fixtures/economy-children.ts'
import { ALICE, BOB, CAROL, component, register, report, testCommunity, walletNode, wsNode, key, type WalletNode } from '../fixtures/economy-net.ts'

const test = suite('economy-net: a wallet killed mid-transfer')
const TTL_MS = 2500

test('killed after the receiver accepted, and after a proposal was made durable: settled afterwards, supply intact', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-econ-restart-'))
  const community = testCommunity()
  const nodes: Node[] = []
  try {
    const ws = await Promise.all([0, 1, 2].map((index) => startChild('economy-witness.ts', { index, dir: join(dir, `w${index}`) })))
    const addresses = ws.map((w) => w.ready['address'] as string)
    await ws[0]!.call('connect', { addresses: [addresses[1], addresses[2]] })
    await ws[1]!.call('connect', { addresses: [addresses[2]] })
    // bob never listens either: alice's process reaches him through a witness process acting as relay
    const bob: WalletNode = await walletNode(community, BOB)
    nodes.push(bob.node)
    for (const a of addresses) await bob.node.connect(a)
    const gw = wsNode(key(50), createMemoryStore())
    nodes.push(gw)
    for (const a of addresses) await gw.connect(a)
    await register(gw, community, ALICE, component(1))
    await report(gw, community, component(1), 0, [60_000, 30])
    await Promise.all(ws.map((w) => w.call('close')))

    const walletArgs = { seed: 10 /* ALICE */, dir: join(dir, 'alice'), witnesses: addresses, ttlMs: TTL_MS }
    const start = async (crash?: 'proposed' | 'deliver', ttlMs = TTL_MS): Promise<Child> => {
      return startChild('economy-wallet.ts', { ...walletArgs, ttlMs, ...(crash === undefined ? {} : { crash }) })
    }
    let alice = await start('deliver')
    const claimed = (await alice.call('claim', { epoch: 0 }))['seq']
    assert.is(claimed, 1)
    const reward = (await alice.call('balance'))['balance'] as number
    assert.ok(reward > 0)

    // 1. killed after bob accepted (he holds the accept ticket), before the agreement
    const delivering = alice.notice((l) => l['delivering'] !== undefined)
    void alice.call('send', { to: toHex(BOB.publicKey), amount: 100 }).catch(() => undefined)
    assert.is((await delivering)['delivering'], 2)
    await alice.kill()
    alice = await start()
    const mid = await alice.call('balance')
    assert.is(mid['balance'], reward - 100, 'the proposal survived the kill')
    assert.is(mid['inFlight'], 1)
    await new Promise((r) => setTimeout(r, TTL_MS + 200))
    const settled = await alice.call('settle')
    assert.is(settled['completed'], 1, 'the witnesses said accepted: delivered again, completed')
    assert.is(await bob.net.wallet.balance(), 100)

    // 2. killed right after the proposal was made durable, before the offer
    await alice.kill()
    alice = await start('proposed')
    const proposed = alice.notice((l) => l['proposed'] !== undefined)
    void alice.call('send', { to: toHex(BOB.publicKey), amount: 50 }).catch(() => undefined)
    assert.is((await proposed)['proposed'], 3)
    await alice.kill()
    alice = await start()
    assert.is((await alice.call('balance'))['inFlight'], 1)
    await new Promise((r) => setTimeout(r, TTL_MS + 200))
    const refunded = await alice.call('settle')
    assert.is(refunded['refunded'], 1, 'expired and unseen: voided by the witnesses, refunded')
    const after = await alice.call('balance')
    assert.is(after['balance'], reward - 100)
    assert.is(after['inFlight'], 0)


    // 3. after all this, a receiver that never saw alice: her restarted wallet lost its reward
    // evidence (kept in memory) and fetches it again from the witnesses when carol asks for it
    await alice.kill()
    alice = await start(undefined, 600_000)
    const carol: WalletNode = await walletNode(community, CAROL)
    nodes.push(carol.node)
    for (const a of addresses) await carol.node.connect(a)
    await alice.call('send', { to: toHex(CAROL.publicKey), amount: 10 })
    assert.is(await carol.net.wallet.balance(), 10)
    assert.is(carol.evidence.size, 1, 'carol holds the evidence of alice\'s reward')

    const relayed = await Promise.all(ws.map(async (w) => ((await w.call('state', { epoch: 0 }))['stats'] as Record<string, number>)['relayedFrames']!))
    assert.ok(relayed.some((n) => n > 0), 'alice reached bob through a witness acting as relay')
    // the audit over both stores
    const all: BlockStore = createMemoryStore()
    const batch = all.batch()
    for (const hex of (await alice.call('chain'))['blocks'] as string[]) batch.put(decodeBlock(fromHex(hex)))
    for (const b of await bob.store.range(BOB.publicKey)) batch.put(b)
    for (const b of await carol.store.range(CAROL.publicKey)) batch.put(b)
    await batch.commit()
    const supply = await auditSupply(all)
    assert.ok(supply.ok, JSON.stringify(supply))
    assert.is(supply.inFlight, 0)
    assert.is(supply.rewards, reward)
    await alice.call('quit')
  } finally {
    await Promise.all(nodes.map((n) => n.close().catch(() => undefined)))
    await killAll()
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
