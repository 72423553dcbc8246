import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAgent, createBlockTypes, identityFromSeed } from '@tally/core'
import { defaultCrypto, openLevelStore } from '@tally/node'

const path = await mkdtemp(join(tmpdir(), 'tally-chain-'))  // a directory of your own
const seed = crypto.getRandomValues(new Uint8Array(32))      // keep it: the seed is the identity
const types = createBlockTypes([{ name: 'note' }])
const store = await openLevelStore({ path })
// head: 'local' — this store is the chain's only copy (a seed may have signed elsewhere before)
const agent = createAgent({ identity: identityFromSeed(seed, defaultCrypto()), store, types, head: 'local' })
await agent.append('note', 'hello')   // on disk when it resolves: survives a power cut
await store.close()

const reopened = await openLevelStore({ path })
console.log((await reopened.range(agent.publicKey)).map((block) => block.payload)) // [ 'hello' ]
await reopened.close()
await rm(path, { recursive: true })
