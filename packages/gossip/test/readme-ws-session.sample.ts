import { generateIdentity } from '@tally/core'
import { openSession } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'

const alice = generateIdentity(), bob = generateIdentity()
const server = createWsTransport({ port: 0 }), client = createWsTransport()
const address = await server.listen((conn) => void openSession(conn, {
  identity: bob,
  onMessage: (m, s) => { if (m.type === 'heads-request') s.reply(m, { type: 'heads', heads: [] }) },
}))
const session = await openSession(await client.connect(address), { identity: alice, expectedPeer: bob.publicKey })
console.log((await session.request({ type: 'heads-request', publicKeys: [bob.publicKey] })).type) // 'heads'
await Promise.all([client.close(), server.close()])
