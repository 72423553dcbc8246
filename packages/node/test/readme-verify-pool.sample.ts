import { availableParallelism } from 'node:os'
import { createAgent, createBlockTypes, createMemoryStore, generateIdentity } from '@tally/core'
import { createVerifyPool } from '@tally/node'

const pool = createVerifyPool({ size: Math.max(1, availableParallelism() - 1), mainThread: true })
const types = createBlockTypes([{ name: 'note' }])
const make = () => createAgent({ identity: generateIdentity(), store: createMemoryStore(), types, verifySignatures: pool.verifyBlocks })
const alice = make(), bob = make()
// propose/agree/complete as usual: signatures of received blocks are checked by the pool, before
// the append lock, so 64 transactions in flight overlap their checks with this thread's signing
await Promise.all(Array.from({ length: 64 }, async (_, i) => alice.complete(await bob.agree(await alice.propose(bob.publicKey, 'note', i)))))
console.log((await alice.store.range(alice.publicKey)).length, (await bob.store.range(bob.publicKey)).length) // 64 64
await pool.close()
