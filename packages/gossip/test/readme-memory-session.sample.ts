import { generateIdentity } from '@tally/core'
import { createMemoryNetwork, openSession } from '@tally/gossip'

const net = createMemoryNetwork({ latencyMs: 50, jitterMs: 10, seed: 1 })
const alice = generateIdentity(), bob = generateIdentity()
await net.transport('mem://bob').listen((conn) => void openSession(conn, {
  identity: bob, clock: net.clock,
  onMessage: (m, s) => { if (m.type === 'heads-request') s.reply(m, { type: 'heads', heads: [] }) },
}))
const opening = net.transport().connect('mem://bob')
  .then((conn) => openSession(conn, { identity: alice, clock: net.clock, expectedPeer: bob.publicKey }))
await net.clock.runUntilIdle()
const reply = (await opening).request({ type: 'heads-request', publicKeys: [bob.publicKey] })
await net.clock.runUntilIdle()
console.log((await reply).type, net.clock.now()) // 'heads' 369 (virtual ms)
