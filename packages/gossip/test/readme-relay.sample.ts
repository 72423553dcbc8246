import { createBlockTypes, createMemoryStore, generateIdentity } from '@tally/core'
import { createNode, relayAddress } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'

const types = createBlockTypes([{ name: 'note' }]), rId = generateIdentity()
const make = (identity = generateIdentity(), relay = {}) => createNode({ identity, store: createMemoryStore(), transport: createWsTransport({ port: 0 }), types, relay })
const r = make(rId, { serve: true })                // a relay: any node with relay.serve
const a = make(undefined, { via: [rId.publicKey] }), b = make()
const address = await r.listen()
await a.connect(address); await b.connect(address)   // a and b never listen: no socket of their own
const { agreement } = await a.transact(b.publicKey, 'note', 'hi') // no address for b: tried through r (relay.via)
console.log(agreement.payload, a.peers.find((p) => p.address === relayAddress(rId.publicKey, b.publicKey)) !== undefined) // 'hi' true
await Promise.all([a.close(), b.close(), r.close()])
