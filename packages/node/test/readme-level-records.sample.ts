import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openLevelDecisions, openLevelOutbox } from '@tally/node'

const dir = await mkdtemp(join(tmpdir(), 'tally-net-'))
// an OutboxStore for a reporter: a put is on disk (fsynced) when it resolves
const outbox = await openLevelOutbox({ path: join(dir, 'outbox') })
await outbox.put('r:0002', Uint8Array.of(2))
await outbox.put('r:0001', Uint8Array.of(1))
await outbox.close()
const reopened = await openLevelOutbox({ path: join(dir, 'outbox') })
console.log((await reopened.list()).map((r) => r.id)) // [ 'r:0001', 'r:0002' ]
await reopened.close()

// a DecisionStore for a ticket witness (its own directory): never forgets what it decided
const decisions = await openLevelDecisions({ path: join(dir, 'decisions') })
const proposal = new Uint8Array(32).fill(7) // a proposal's block hash
await decisions.put(proposal, { decision: 'accept', expires: Date.now() + 60_000 })
console.log((await decisions.get(proposal))?.decision) // accept
await decisions.close()
await rm(dir, { recursive: true })
