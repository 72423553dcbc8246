/**
 * Forks cannot create tokens, across processes: the community's three witnesses run in three
 * processes and serve as seq witnesses (seqWitnesses / seqWitnessTypes, the default wiring). Alice
 * claims her reward and pays bob; then she forks her chain — a second node with her key and an
 * empty store — claims the same epoch again and pays carol from that branch, at the same seq, and
 * from a third branch, longer by one block, pays dave. Both are refused ('cheater') before any
 * ticket or countersign: the witnesses hold the first branch's blocks, and each receiver checks
 * every block of the sender it takes in. The receivers keep the double-sign proof; no honest party
 * is accused; the honest views add up and hold no token the forker made.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RefusedError, createMemoryStore, equalBytes, type BlockStore } from '@tally/core'
import { auditSupply } from '@tally/economy'
import type { Node } from '@tally/gossip'
import { killAll, startChild } from '../fixtures/economy-children.ts'
import { ALICE, BOB, CAROL, component, key, register, report, testCommunity, walletNode, wsNode, type WalletNode } from '../fixtures/economy-net.ts'

const test = suite('economy-net: a forked double claim and double spend')
const DAVE = key(13)

test('refused before it is countersigned, with the witnesses in other processes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-econ-fork-'))
  const community = testCommunity()
  const nodes: Node[] = []
  try {
    const ws = await Promise.all([0, 1, 2].map((index) => startChild('economy-witness.ts', { index, dir: join(dir, `w${index}`) })))
    const addresses = ws.map((w) => w.ready['address'] as string)
    await ws[0]!.call('connect', { addresses: [addresses[1], addresses[2]] })
    await ws[1]!.call('connect', { addresses: [addresses[2]] })
    const gw = wsNode(key(51), createMemoryStore())
    nodes.push(gw)
    for (const a of addresses) await gw.connect(a)
    await register(gw, community, ALICE, component(1))
    await report(gw, community, component(1), 0, [60_000, 30])
    await Promise.all(ws.map((w) => w.call('close')))

    const wallet = async (id: typeof ALICE): Promise<WalletNode> => {
      const w = await walletNode(community, id)
      nodes.push(w.node)
      for (const a of addresses) await w.node.connect(a)
      return w
    }
    const [bob, carol, dave] = [await wallet(BOB), await wallet(CAROL), await wallet(DAVE)]
    const receivers = [bob, carol, dave]
    for (const r of receivers) await r.node.listen()

    // the first branch: claim, pay bob
    const honest = await wallet(ALICE)
    await honest.node.connect(bob.node.address!)
    const claim = await honest.net.claim(0)
    await honest.net.send(BOB.publicKey, 100)
    assert.is(await bob.net.wallet.balance(), 100)

    // the second branch, same length: the same epoch claimed again, carol paid at seq 2
    const fork = await wallet(ALICE)
    await fork.node.connect(carol.node.address!)
    const claim2 = await fork.net.claim(0)
    assert.is(claim2.seq, claim.seq)
    assert.not.ok(equalBytes(claim2.signature, claim.signature), 'two blocks at one seq')
    const e1 = await fork.net.send(CAROL.publicKey, 100).catch((e: unknown) => e)
    assert.instance(e1, RefusedError)
    assert.is((e1 as RefusedError).reason, 'cheater')
    assert.is(await carol.net.wallet.balance(), 0)

    // a third branch, one block longer: claim, a burn, then dave paid at seq 3 (no slot shared with bob's proposal)
    const longer = await wallet(ALICE)
    await longer.node.connect(dave.node.address!)
    await longer.net.claim(0)
    await longer.net.wallet.burn(1)
    const e2 = await longer.net.send(DAVE.publicKey, 100).catch((e: unknown) => e)
    assert.instance(e2, RefusedError)
    assert.is((e2 as RefusedError).reason, 'cheater')
    assert.is(await dave.net.wallet.balance(), 0)

    // the receivers that were shown a second branch hold the proof against alice; nobody else is accused
    assert.ok(await carol.store.hasFraud(ALICE.publicKey))
    assert.ok(await dave.store.hasFraud(ALICE.publicKey))
    for (const r of receivers) for (const who of [BOB, CAROL, DAVE]) assert.not.ok(await r.store.hasFraud(who.publicKey), 'no honest party accused')
    // the honest views: each receiver's store holds no branch-2 block and adds up
    for (const r of receivers) {
      const view: BlockStore = createMemoryStore()
      const batch = view.batch()
      for (const b of await r.store.range(ALICE.publicKey)) batch.put(b)
      for (const b of await r.store.range(r.identity.publicKey)) batch.put(b)
      await batch.commit()
      const supply = await auditSupply(view)
      assert.ok(supply.ok, JSON.stringify(supply))
      const held = await r.store.get(ALICE.publicKey, 1)
      assert.ok(held === undefined || equalBytes(held.signature, claim.signature), 'only the first branch is held')
    }
  } finally {
    await Promise.all(nodes.map((n) => n.close().catch(() => undefined)))
    await killAll()
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
