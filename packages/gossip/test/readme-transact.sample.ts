import { createBlockTypes, createMemoryStore, describeFraudProof, generateIdentity } from '@tally/core'
import { createNode } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'

const types = createBlockTypes([{ name: 'note' }])   // countersign every 'note'
const make = () => createNode({ identity: generateIdentity(), store: createMemoryStore(), transport: createWsTransport({ port: 0 }), types })
const alice = make(), bob = make()
await bob.listen()
bob.on('fraud', ({ proof }) => console.log('cheater:', describeFraudProof(proof)))
const bobKey = await alice.connect(bob.address!)      // handshake: bob proves his key
const { proposal, agreement } = await alice.transact(bobKey, 'note', 'hello')
console.log(proposal.seq, agreement.linkSeq, agreement.payload) // 1 1 'hello'
await Promise.all([alice.close(), bob.close()])
