/**
 * Party data (node/stranger-quota.ts): the history of a key this node is about to transact with,
 * marked by a hosted protocol (ProtocolHandle.keepChain, as the economy's wallet does before it
 * fetches a sender's history), and what an admitted peer hands it, are kept within their own
 * quota (keep.partyBytes): not trimmed to a stranger's perKeyBytes, not evicted by a flood of
 * strangers; over partyBytes the chain marked longest ago is a stranger's again.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { GENESIS_HASH, UNILATERAL_KEY, blockHash, blockSize, signBlock, type HalfBlock, type Protocol, type SeedIdentity } from '@tally/core'
import { crypto, identity, memoryNodes, rawPeer, settle } from './fixtures/node-kit.ts'

function chain(id: SeedIdentity, n: number): HalfBlock[] {
  const out: HalfBlock[] = []
  for (let seq = 1; seq <= n; seq++) {
    const previousHash = seq === 1 ? GENESIS_HASH : blockHash(out[seq - 2]!, crypto)
    out.push(signBlock({ publicKey: id.publicKey, seq, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash, type: 'note', payload: ['history', seq], timestamp: 1000 + seq }, id, crypto))
  }
  return out
}

const noop: Protocol<{ x: number }> = { name: 'test/party/1', messages: { x: { maxBytes: 8, cost: 1, encode: (n) => n, decode: (v) => Number(v) } }, handlers: {} }
const keep = { perKeyBytes: 1024, totalBytes: 8 * 1024 }

async function pushAll(net: Awaited<ReturnType<typeof memoryNodes>>['net'], send: (blocks: HalfBlock[]) => void, blocks: readonly HalfBlock[]): Promise<void> {
  for (let i = 0; i < blocks.length; i += 16) {
    send(blocks.slice(i, i + 16))
    await net.clock.runFor(100)
  }
  await net.clock.runFor(1000)
}

const Party = suite('quota: party data')

Party('a chain a protocol keeps stays whole past perKeyBytes and a flood; an unmarked one is trimmed', async () => {
  const { net, nodes } = await memoryNodes(1, { node: { head: 'local', keep } })
  const node = nodes[0]!
  const [sender, other] = [identity(30), identity(31)]
  const handle = node.host(noop)
  handle.keepChain!(sender.publicKey) // before the history arrives, as the wallet does
  // the history stored through the agent (the wallet's path), before any block from a peer
  for (const b of [...chain(sender, 40), ...chain(other, 40)]) await node.agent.receive(b)
  const flooder = await rawPeer(net, node, 200)
  await pushAll(net, (blocks) => flooder.session.send({ type: 'push', blocks }), Array.from({ length: 60 }, (_, i) => chain(identity(100 + i), 3)).flat())
  assert.is((await node.store.range(sender.publicKey)).length, 40, 'the party chain is whole')
  const left = (await node.store.range(other.publicKey)).length
  assert.ok(left < 40, `the stranger's chain was trimmed (${left} of 40 left)`)
  assert.ok(node.stats.evicted > 0)
})

Party("what an admitted peer pushes is party data; a stranger's push of the same is trimmed", async () => {
  const { net, nodes } = await memoryNodes(1, { node: { head: 'local', keep } })
  const node = nodes[0]!
  const friend = await rawPeer(net, node, 201)
  const stranger = await rawPeer(net, node, 202)
  node.admit(friend.mallory.publicKey, 'gateway')
  await pushAll(net, (blocks) => friend.session.send({ type: 'push', blocks }), chain(identity(32), 40))
  await pushAll(net, (blocks) => stranger.session.send({ type: 'push', blocks }), chain(identity(33), 40))
  assert.is((await node.store.range(identity(32).publicKey)).length, 40)
  assert.ok((await node.store.range(identity(33).publicKey)).length < 40)
})

Party('over partyBytes the chain marked longest ago is a stranger\'s again, trimmed as any', async () => {
  const history = chain(identity(34), 40)
  const size = history.reduce((n, b) => n + blockSize(b), 0)
  const { net, nodes } = await memoryNodes(1, { node: { head: 'local', keep: { ...keep, partyBytes: Math.floor(1.5 * size) } } })
  const node = nodes[0]!
  const friend = await rawPeer(net, node, 203)
  node.admit(friend.mallory.publicKey, 'gateway')
  await pushAll(net, (blocks) => friend.session.send({ type: 'push', blocks }), history) // within partyBytes
  assert.is((await node.store.range(identity(34).publicKey)).length, 40)
  await pushAll(net, (blocks) => friend.session.send({ type: 'push', blocks }), chain(identity(35), 40)) // over: the first goes back
  await pushAll(net, (blocks) => friend.session.send({ type: 'push', blocks }), chain(identity(36), 2)) // a stranger's block stored: trimming runs
  assert.ok((await node.store.range(identity(34).publicKey)).length < 40, 'the chain marked first was demoted and trimmed')
  assert.is((await node.store.range(identity(35).publicKey)).length, 40, 'the newer party chain is whole')
  await settle(net, node.close())
})

Party.run()
