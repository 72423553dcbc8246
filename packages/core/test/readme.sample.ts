import { createAgent, createBlockTypes, createMemoryStore, generateIdentity } from '@tally/core'

const types = createBlockTypes([{ name: 'note' }])
const alice = createAgent({ identity: generateIdentity(), store: createMemoryStore(), types })
const bob = createAgent({ identity: generateIdentity(), store: createMemoryStore(), types })
const { proposal, agreement } = await alice.complete(await bob.agree(await alice.propose(bob.publicKey, 'note', 'hi')))
console.log(proposal.seq, agreement.seq, agreement.linkSeq, agreement.payload) // 1 1 1 'hi'
