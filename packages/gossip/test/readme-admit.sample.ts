import { createBlockTypes, createMemoryStore, generateIdentity } from '@tally/core'
import { createNode } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'

const types = createBlockTypes([{ name: 'note' }]), witness2 = generateIdentity()
const make = (identity = generateIdentity(), known: Uint8Array[] = []) =>
  createNode({ identity, store: createMemoryStore(), transport: createWsTransport({ port: 0 }), types, known, maxAdmitted: 64 })
const w1 = make(undefined, [witness2.publicKey])      // its operator knows the other witness: admitted from the start
const w2 = make(witness2)
await w2.connect(await w1.listen())
const stranger = make()
await stranger.connect(w1.address!)
w1.admit(stranger.publicKey, 'relay')                 // admitted later: its open session leaves the strangers' budget now
console.log(w1.admitted.map((a) => a.reasons))        // [ [ 'operator' ], [ 'relay' ] ]
w1.unadmit(stranger.publicKey, 'relay')               // revoked: a stranger again, its session back behind the budget
console.log(w1.admitted.length)                       // 1
await Promise.all([w1.close(), w2.close(), stranger.close()])
