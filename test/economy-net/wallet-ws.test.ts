/**
 * The network wallet over real gossip nodes: three witnesses and two wallets, each on its own
 * node over ws on 127.0.0.1, the wallets' chains in LevelDB. Alice claims and sends to bob, who has
 * never seen her: bob fetches her history and reward evidence over the wallet protocol, obtains
 * the witnesses' accept ticket, and the proposal then travels through alice's node's own
 * transaction path (`node.transactions`): the agreement is validated and stored by both.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMemoryStore, type BlockStore } from '@tally/core'
import { auditSupply, readReward } from '@tally/economy'
import { createWitness, type Witness } from '@tally/economy/net'
import type { Node } from '@tally/gossip'
import { ALICE, BOB, WITNESSES, component, mesh, register, report, testCommunity, walletNode, witnessNode, type WalletNode } from '../fixtures/economy-net.ts'

const test = suite('economy-net: wallets over ws nodes')

test('claim, send and receive across two ws nodes with LevelDB stores; the receiver never saw the sender', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-econ-ws-'))
  const nodes: Node[] = []
  const wallets: WalletNode[] = []
  try {
    const community = testCommunity()
    const witnessNodes = WITNESSES.map((w) => witnessNode(community, w))
    nodes.push(...witnessNodes)
    for (const n of witnessNodes) await n.listen()
    await mesh(witnessNodes)
    const witnesses: Witness[] = WITNESSES.map((key, i) => createWitness({ key, community, host: witnessNodes[i]!, epoch: 0 }))
    const alice = await walletNode(community, ALICE, { path: join(dir, 'alice') })
    const bob = await walletNode(community, BOB, { path: join(dir, 'bob') })
    wallets.push(alice, bob)
    nodes.push(alice.node, bob.node)
    await bob.node.listen()
    for (const w of [alice, bob]) for (const n of witnessNodes) await w.node.connect(n.address!)

    assert.is(await register(alice.node, community, ALICE, component(1)), 3)
    assert.is(await register(bob.node, community, BOB, component(2)), 3)
    await report(alice.node, community, component(1), 0, [60_000, 30])
    await report(bob.node, community, component(2), 0, [5_000, 3])
    const outcomes = await Promise.all(witnesses.map((w) => w.close()))
    assert.ok(outcomes.some((o) => o.certificate !== undefined), 'a certificate by the end of the closes')

    const claimA = await alice.net.claim(0)
    await bob.net.claim(0)
    const rewardA = readReward(claimA.payload)!.amount
    assert.ok(rewardA > 0)
    assert.is((await bob.store.range(ALICE.publicKey)).length, 0, 'bob has never seen alice')

    // alice dials bob (he listens); bob fetches her history and evidence over the wallet protocol
    await alice.node.connect(bob.node.address!)
    const tx = await alice.net.send(BOB.publicKey, 100)
    assert.equal(tx.agreement.publicKey, BOB.publicKey)
    assert.ok(bob.evidence.size >= 2, 'bob holds alice\'s reward evidence beside his own')
    assert.is((await bob.store.range(ALICE.publicKey)).length, 2, 'bob holds alice\'s claim and proposal')
    assert.ok((await alice.store.findAgreement(ALICE.publicKey, tx.proposal.seq, BOB.publicKey)) !== undefined, 'alice\'s node stored the agreement')

    // and a second one: nothing more to fetch; then back from bob
    await alice.net.send(BOB.publicKey, 50)
    await bob.net.send(ALICE.publicKey, 30)
    assert.is(await alice.net.wallet.balance(), rewardA - 150 + 30)
    assert.equal(await alice.net.inFlight(), [])

    // a witness goes down: its quorum of seq witnesses (2 of 3) and of ticket signers still serves
    witnesses[2]!.stop()
    await witnessNodes[2]!.close()
    await alice.net.send(BOB.publicKey, 20)
    assert.is(await alice.net.wallet.balance(), rewardA - 150 + 30 - 20)

    const all: BlockStore = createMemoryStore()
    for (const w of wallets) {
      const batch = all.batch()
      for (const b of await w.store.range(w.identity.publicKey)) batch.put(b)
      await batch.commit()
    }
    const supply = await auditSupply(all)
    assert.ok(supply.ok, JSON.stringify(supply))
    assert.is(supply.inFlight, 0)
    for (const w of witnesses) w.stop()
  } finally {
    await Promise.all(nodes.map((n) => n.close().catch(() => undefined)))
    for (const w of wallets) await (w.store as BlockStore & { close?: () => Promise<void> }).close?.()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('wallets that never listen: offers, history, tickets and the agreement travel through a witness acting as relay', async () => {
  const nodes: Node[] = []
  try {
    const community = testCommunity()
    const witnessKeys = WITNESSES.map((w) => w.publicKey)
    const witnessNodes = WITNESSES.map((w) => witnessNode(community, w))
    nodes.push(...witnessNodes)
    for (const n of witnessNodes) await n.listen()
    await mesh(witnessNodes)
    const witnesses = WITNESSES.map((key, i) => createWitness({ key, community, host: witnessNodes[i]!, epoch: 0 }))
    const alice = await walletNode(community, ALICE, { node: { relay: { via: witnessKeys } } })
    const bob = await walletNode(community, BOB, { node: { relay: { via: witnessKeys } } })
    nodes.push(alice.node, bob.node)
    // no listen(): neither wallet has a socket anyone could dial
    for (const w of [alice, bob]) for (const n of witnessNodes) await w.node.connect(n.address!)
    assert.is(alice.node.address, undefined)
    assert.is(bob.node.address, undefined)
    await register(alice.node, community, ALICE, component(1))
    await register(bob.node, community, BOB, component(2))
    await report(alice.node, community, component(1), 0, [60_000, 30])
    await report(bob.node, community, component(2), 0, [5_000, 3])
    await Promise.all(witnesses.map((w) => w.close()))
    const claim = await alice.net.claim(0)
    await bob.net.claim(0)

    const tx = await alice.net.send(BOB.publicKey, 100)
    assert.equal(tx.agreement.publicKey, BOB.publicKey)
    assert.ok(alice.node.peers.some((p) => p.address.startsWith('tally-relay:')), 'alice reached bob through a tunnel')
    assert.ok(witnessNodes.some((n) => n.stats.relayedFrames > 0))
    // bob answers through the same tunnel; a decline comes back with its reason
    await bob.net.send(ALICE.publicKey, 40)
    assert.is(await alice.net.wallet.balance(), readReward(claim.payload)!.amount - 100 + 40)
    for (const w of witnesses) w.stop()
  } finally {
    await Promise.all(nodes.map((n) => n.close().catch(() => undefined)))
  }
})

test('a sender with a long chain (401 blocks, beyond the pacing burst): the receiver checks it all and is not cut off as a flood', async () => {
  const nodes: Node[] = []
  try {
    const community = testCommunity()
    const witnessNodes = WITNESSES.map((w) => witnessNode(community, w))
    nodes.push(...witnessNodes)
    for (const n of witnessNodes) await n.listen()
    await mesh(witnessNodes)
    const witnesses = WITNESSES.map((key, i) => createWitness({ key, community, host: witnessNodes[i]!, epoch: 0 }))
    // a long history takes the receiver a while to check: the offer waits for it
    const alice = await walletNode(community, ALICE, { wallet: { timeoutMs: 120_000 } })
    const bob = await walletNode(community, BOB)
    nodes.push(alice.node, bob.node)
    await bob.node.listen()
    for (const w of [alice, bob]) for (const n of witnessNodes) await w.node.connect(n.address!)
    await register(alice.node, community, ALICE, component(1))
    await report(alice.node, community, component(1), 0, [60_000, 30])
    await Promise.all(witnesses.map((w) => w.close()))
    await alice.net.claim(0)
    for (let i = 0; i < 400; i++) await alice.net.wallet.burn(1) // 401 blocks: beyond the burst of 240
    const cut: string[] = []
    bob.node.on('peer:close', (e) => void (e.misbehaviour !== undefined || e.code === 1008 ? cut.push(e.reason) : undefined))
    await alice.node.connect(bob.node.address!)
    const tx = await alice.net.send(BOB.publicKey, 100)
    assert.is(tx.proposal.seq, 402)
    assert.is((await bob.store.range(ALICE.publicKey)).length, 402)
    assert.equal(cut, [], 'no witness cut bob off')
    for (const w of witnesses) w.stop()
  } finally {
    await Promise.all(nodes.map((n) => n.close().catch(() => undefined)))
  }
})

test.run()
