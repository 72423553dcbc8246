/**
 * Several nodes on real WebSocket sockets on loopback (port 0), in one process: handshakes,
 * transactions around a ring, a fork caught by gossip and its proof held by every node, and a
 * clean close that leaves no socket open.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { RefusedError, createMemoryStore, equalBytes } from '@tally/core'
import { createNode, type Node } from '@tally/gossip'
import { createWsTransport, type WsTransport } from '@tally/gossip/ws'
import { crypto, forkOf, identity, noteTypes } from './fixtures/node-kit.ts'
import { until } from './helpers.ts'

const Ws = suite('node: ws on loopback')

async function wsNodes(count: number): Promise<{ nodes: Node[]; transports: WsTransport[] }> {
  const transports = Array.from({ length: count }, () => createWsTransport({ port: 0 }))
  const nodes = transports.map((transport, i) =>
    createNode({
      identity: identity(200 + i),
      store: createMemoryStore({ crypto }),
      transport,
      types: noteTypes(),
      cacheSize: 4096,
      gossip: { pullIntervalMs: 300 },
      transact: { timeoutMs: 5000, retryMs: 300 },
    }),
  )
  await Promise.all(nodes.map((n) => n.listen()))
  return { nodes, transports }
}

Ws('four nodes: handshakes, a ring of transactions, a fork proved everywhere, a clean close', async () => {
  const { nodes, transports } = await wsNodes(4)
  try {
    for (let i = 0; i < 4; i++) {
      for (let j = i + 1; j < 4; j++) {
        const key = await nodes[i]!.connect(nodes[j]!.address!, { expectedPeer: nodes[j]!.publicKey })
        assert.ok(equalBytes(key, nodes[j]!.publicKey))
      }
    }
    assert.ok(await until(() => nodes.every((n) => n.peers.length === 3)), 'a full mesh')
    assert.ok(nodes[0]!.address!.startsWith('ws://127.0.0.1:'))

    // a ring of transactions, all at once
    const txs = await Promise.all(nodes.map((n, i) => n.transact(nodes[(i + 1) % 4]!.publicKey, 'note', `from ${i}`)))
    txs.forEach((tx, i) => assert.ok(equalBytes(tx.agreement.publicKey, nodes[(i + 1) % 4]!.publicKey)))
    // every block reached every node by push
    assert.ok(
      await until(async () => {
        for (const m of nodes) {
          const top = (await m.store.latest(m.publicKey))!.seq
          for (const n of nodes) if ((await n.store.latest(m.publicKey))?.seq !== top) return false
        }
        return true
      }),
      'every chain is known everywhere, to its last block',
    )

    // node 0 forks its last block to node 2, which already holds the original: refused, proved, spread
    const latest = (await nodes[0]!.store.latest(nodes[0]!.publicKey))!
    const fork = forkOf(identity(200), latest, nodes[2]!.publicKey, 'again')
    const err = await nodes[0]!.deliver(fork).catch((e: unknown) => e)
    assert.instance(err, RefusedError)
    assert.ok(await until(async () => (await Promise.all(nodes.slice(1).map((n) => n.store.hasFraud(nodes[0]!.publicKey)))).every(Boolean)), 'every honest node holds the proof')
    const refused = await nodes[1]!.transact(nodes[0]!.publicKey, 'note', 'no').catch((e: unknown) => e)
    assert.instance(refused, RefusedError)
  } finally {
    await Promise.all(nodes.map((n) => n.close()))
  }
  assert.ok(await until(() => transports.every((t) => t.connections === 0), 3000), 'no socket left open')
})

Ws('a node dials a peer it only has an address for, and survives the peer going away', async () => {
  const { nodes, transports } = await wsNodes(2)
  try {
    nodes[0]!.addAddress(nodes[1]!.publicKey, nodes[1]!.address!)
    const tx = await nodes[0]!.transact(nodes[1]!.publicKey, 'note', 'dialled')
    assert.is(tx.agreement.seq, 1)
    await nodes[1]!.close()
    assert.ok(await until(() => nodes[0]!.peers.length === 0), 'the closed peer is gone')
    const err = await nodes[0]!.transact(nodes[1]!.publicKey, 'note', 'gone', { timeoutMs: 1500 }).catch((e: unknown) => e)
    assert.ok(err instanceof Error && ['UnreachableError', 'TransactTimeoutError'].includes(err.name), `got ${String(err)}`)
  } finally {
    await Promise.all(nodes.map((n) => n.close()))
  }
  assert.ok(await until(() => transports.every((t) => t.connections === 0), 3000), 'no socket left open')
})

Ws.run()
