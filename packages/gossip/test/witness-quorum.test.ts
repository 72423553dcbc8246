/**
 * Witness mode with a quorum below k: the counterparty shows the proposal to `quorum` witnesses
 * only while they answer (bytes and work: a long history checked slot by slot costs quorum/k of
 * what asking all k did), asks a spare one when one of them stalls, and still refuses a double
 * spend (any two quorums share a witness). Counted, not timed.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { RefusedError, blockHash, createMemoryStore, equalBytes, type HalfBlock } from '@tally/core'
import { createNode } from '@tally/gossip'
import { crypto, forkOf, identity, memoryNodes, noteTypes, settle } from './fixtures/node-kit.ts'

const Quorum = suite('witness mode: quorum first')

/** How many witnesses hold `block` at its slot. */
async function holders(witnesses: readonly { store: { get(k: Uint8Array, s: number): Promise<HalfBlock | undefined> } }[], block: HalfBlock): Promise<number> {
  let n = 0
  for (const w of witnesses) {
    const b = await w.store.get(block.publicKey, block.seq)
    if (b !== undefined && equalBytes(blockHash(b, crypto), blockHash(block, crypto))) n++
  }
  return n
}

Quorum('all up: only the quorum is shown the proposal; one down: a spare is asked; a double spend is refused', async () => {
  const witnessKeys = [identity(90), identity(91), identity(92)].map((i) => i.publicKey)
  const base = await memoryNodes(3, { node: { head: 'local', gossip: { pushFanout: 0, pullIntervalMs: 0 } }, seedBase: 90 })
  const { net } = base
  const witnesses = base.nodes
  assert.ok(witnesses.every((w, i) => equalBytes(w.publicKey, witnessKeys[i]!)))
  const make = (seed: number, witnessMode: boolean) =>
    createNode({
      identity: identity(seed),
      store: createMemoryStore({ crypto }),
      transport: net.transport(`mem://q${seed}`),
      types: noteTypes(),
      clock: net.clock,
      head: 'local',
      gossip: { pushFanout: 0, pullIntervalMs: 0 },
      ...(witnessMode ? { witnesses: { keys: witnessKeys, k: 3, quorum: 2, timeoutMs: 5000, retryMs: 500 } } : {}),
    })
  const proposer = make(70, false)
  const bob = make(71, true)
  const carol = make(72, true)
  await Promise.all([bob.listen(), carol.listen()])
  for (const party of [bob, carol]) for (const w of witnesses) party.addAddress(w.publicKey, w.address!)
  proposer.addAddress(bob.publicKey, bob.address!)
  proposer.addAddress(carol.publicKey, carol.address!)

  const first = await settle(net, proposer.transact(bob.publicKey, 'note', 'one'))
  assert.is(await holders(witnesses, first.proposal), 2, 'two of the three witnesses were shown the proposal')

  // one witness down: the spare is asked when a chosen one stalls
  await witnesses[0]!.close()
  const second = await settle(net, proposer.transact(bob.publicKey, 'note', 'two'), 20_000)
  assert.is(await holders(witnesses.slice(1), second.proposal), 2, 'the two that are up vouched for it')

  // a double spend at the next slot: carol is refused once bob's branch is held by the quorum
  const third = await settle(net, proposer.transact(bob.publicKey, 'note', 'three'), 20_000)
  const fork = forkOf(identity(70), third.proposal, carol.publicKey, 'three again')
  const refused = await settle(net, proposer.deliver(fork).then(() => undefined, (e: unknown) => e), 20_000)
  assert.instance(refused, RefusedError, `the second branch was refused (${String(refused)})`)
  await Promise.all([proposer.close(), bob.close(), carol.close(), ...witnesses.slice(1).map((w) => w.close())])
})

Quorum.run()
