/**
 * Witnesses: the deterministic choice of k witnesses from (key, seq), and witness mode — a
 * counterparty countersigns only after k witnesses answered with the very proposal it holds. With
 * one honest witness among k (the others lying for the cheater), a double spend is refused before
 * the second countersign, whether the two proposals come one after the other or at once.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { RefusedError, createMemoryStore, equalBytes, toHex, type HalfBlock } from '@tally/core'
import { chooseWitnesses, createNode, createSession, performHandshake, type MemoryNetwork, type Node } from '@tally/gossip'
import { crypto, forkOf, identity, memoryNodes, noteTypes, settle } from './fixtures/node-kit.ts'

const keys = Array.from({ length: 12 }, (_, i) => identity(100 + i).publicKey)
const alice = identity(1).publicKey

// ## The choice

const Choice = suite('witness choice')

Choice('k distinct witnesses from the set, the same for everyone, whatever the order of the set', () => {
  const chosen = chooseWitnesses(alice, 7, keys, 3, crypto)
  assert.is(chosen.length, 3)
  assert.is(new Set(chosen.map(toHex)).size, 3)
  for (const w of chosen) assert.ok(keys.some((k) => equalBytes(k, w)))
  const shuffled = [...keys].reverse()
  assert.equal(chooseWitnesses(alice, 7, shuffled, 3, crypto).map(toHex), chosen.map(toHex))
  assert.equal(chooseWitnesses(alice, 7, [...keys, ...keys], 3, crypto).map(toHex), chosen.map(toHex), 'duplicates count once')
})

Choice('the choice depends on (key, seq), and spreads over the whole set', () => {
  const picks = new Map<string, number>()
  for (let seq = 1; seq <= 400; seq++) {
    for (const w of chooseWitnesses(alice, seq, keys, 3, crypto)) picks.set(toHex(w), (picks.get(toHex(w)) ?? 0) + 1)
  }
  assert.is(picks.size, keys.length, 'every witness serves some slots')
  for (const n of picks.values()) assert.ok(n > 40 && n < 170, `about 100 slots each, got ${n}`)
  const other = identity(2).publicKey
  assert.not.equal(chooseWitnesses(alice, 1, keys, 3, crypto).map(toHex), chooseWitnesses(other, 1, keys, 3, crypto).map(toHex))
})

Choice('removing a witness moves only the slots it held (rendezvous hashing)', () => {
  const fewer = keys.slice(1)
  let moved = 0
  for (let seq = 1; seq <= 200; seq++) {
    const before = chooseWitnesses(alice, seq, keys, 1, crypto)[0]!
    const after = chooseWitnesses(alice, seq, fewer, 1, crypto)[0]!
    if (!equalBytes(before, after)) {
      moved++
      assert.ok(equalBytes(before, keys[0]!), 'only slots of the removed witness move')
    }
  }
  assert.ok(moved > 0 && moved < 60)
})

Choice('k must be a positive integer; k above the set gives the whole set, best first', () => {
  assert.throws(() => chooseWitnesses(alice, 1, keys, 0, crypto), RangeError)
  const all = chooseWitnesses(alice, 1, keys.slice(0, 2), 5, crypto)
  assert.is(all.length, 2)
})

// ## Witness mode

const Mode = suite('witness mode')

/**
 * Nodes: 0 the cheater, 1 and 2 its counterparties (witness mode, no gossip between them), then
 * three witnesses. `liars` of the witnesses are raw peers that answer every query with whatever was
 * pushed to them last (they would vouch for any double spend).
 */
async function witnessWorld(liars: number, options: { offline?: boolean } = {}) {
  const witnessIds = [identity(50), identity(51), identity(52)]
  const honestCount = 3 - liars
  // a fresh network of new identities (head: 'local'): what is tested is the witnesses, whose lying
  // raw peers would not answer a head request either
  const { net, nodes, ids } = await memoryNodes(3 + honestCount, { node: { head: 'local', gossip: { pushFanout: 0, pullIntervalMs: 0 } } })
  const witnessNodes = nodes.slice(3)
  const witnessKeys = [...witnessNodes.map((n) => n.publicKey), ...witnessIds.slice(honestCount).map((w) => w.publicKey)]
  const lies: number[] = []
  for (const w of witnessIds.slice(honestCount)) {
    if (options.offline) continue
    const transport = net.transport(`mem://liar-${toHex(w.publicKey).slice(0, 8)}`)
    await transport.listen((conn) => {
      performHandshake(conn, { identity: w, clock: net.clock }).then((r) => {
        let last: HalfBlock | null = null
        const s = createSession(conn, {
          peerKey: r.peerKey,
          cipher: r.cipher,
          clock: net.clock,
          onMessage: (m) => {
            if (m.type === 'push') last = m.blocks[0] ?? null
            if (m.type === 'witness-query') {
              lies.push(1)
              s.reply(m, { type: 'witness-answer', publicKey: m.publicKey, seq: m.seq, block: last })
            }
          },
        })
      }, () => undefined)
    })
  }
  return { net, nodes, ids, witnessNodes, witnessKeys, witnessIds, lies }
}

/** Re-create nodes 1 and 2 in witness mode (options are fixed at creation). */
async function counterparties(world: Awaited<ReturnType<typeof witnessWorld>>, k = 3) {
  const made: Node[] = []
  for (const i of [1, 2]) {
    const node = createNode({
      identity: world.ids[i]!,
      store: createMemoryStore({ crypto }),
      transport: world.net.transport(),
      types: noteTypes(),
      clock: world.net.clock,
      cacheSize: 1024,
      head: 'local',
      gossip: { pushFanout: 0, pullIntervalMs: 0 },
      witnesses: { keys: world.witnessKeys, k, timeoutMs: 3000, retryMs: 500 },
    })
    await node.listen()
    // they find every witness through the address book
    world.witnessNodes.forEach((w) => node.addAddress(w.publicKey, w.address!))
    for (const w of world.witnessIds) node.addAddress(w.publicKey, `mem://liar-${toHex(w.publicKey).slice(0, 8)}`)
    made.push(node)
  }
  await world.nodes[1]!.close()
  await world.nodes[2]!.close()
  return made
}

async function dial(net: MemoryNetwork, from: Node, to: Node): Promise<void> {
  await settle(net, from.connect(to.address!))
}

/** How many of node 1 and node 2 countersigned a proposal of `cheater` at `seq`. */
async function countersigned(cheater: Uint8Array, seq: number, bs: readonly Node[]): Promise<number> {
  let n = 0
  for (const b of bs) if ((await b.store.findAgreement(cheater, seq, b.publicKey)) !== undefined) n++
  return n
}

/** Node 0 pays b, then delivers a fork of that proposal paying c: what c answered, and the rest. */
async function doubleSpend(liars: number) {
  const world = await witnessWorld(liars)
  const [b, c] = await counterparties(world)
  const a = world.nodes[0]!
  await dial(world.net, a, b!)
  await dial(world.net, a, c!)
  const tx = await settle(world.net, a.transact(b!.publicKey, 'note', 'pay b'))
  const y = forkOf(world.ids[0]!, tx.proposal, c!.publicKey, 'pay c too')
  const err = await settle(world.net, a.deliver(y).catch((e: unknown) => e))
  return { world, a, b: b!, c: c!, tx, err }
}

Mode('all witnesses honest: the first spend passes, the second is refused with a proof', async () => {
  const { world, a, b, c, tx, err } = await doubleSpend(0)
  assert.instance(err, RefusedError)
  assert.match(String((err as Error).message), /double spend|cheater|fraud/)
  assert.is(await countersigned(a.publicKey, tx.proposal.seq, [b, c]), 1)
  assert.ok(await c.store.hasFraud(a.publicKey), 'the refusing counterparty holds the proof')
  for (const w of world.witnessNodes) assert.ok(await w.store.get(a.publicKey, tx.proposal.seq), 'every witness keeps the first block')
})

Mode('one honest witness of three: the two liars cannot get the double spend through', async () => {
  const { world, a, b, c, tx, err } = await doubleSpend(2)
  assert.instance(err, RefusedError)
  assert.is(await countersigned(a.publicKey, tx.proposal.seq, [b, c]), 1)
  assert.ok(world.lies.length >= 2, 'the liars were asked and vouched')
})

Mode('both spends at once, one honest witness: at most one countersign', async () => {
  let oneSigned = 0
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 600 }), async (delayB, delayC) => {
      const world = await witnessWorld(2)
      const [b, c] = await counterparties(world)
      const a = world.nodes[0]!
      await dial(world.net, a, b!)
      await dial(world.net, a, c!)
      // sessions to the witnesses already open, so that only the delays decide the race
      for (const n of [b!, c!]) {
        for (const w of world.witnessNodes) await settle(world.net, n.connect(w.address!))
        for (const w of world.witnessIds.slice(1)) await settle(world.net, n.connect(`mem://liar-${toHex(w.publicKey).slice(0, 8)}`))
      }
      const x = await a.agent.propose(b!.publicKey, 'note', 'pay b')
      const y = forkOf(world.ids[0]!, x, c!.publicKey, 'pay c too')
      const sends = [
        new Promise<void>((r) => world.net.clock.setTimeout(r, delayB)).then(() => a.deliver(x)),
        new Promise<void>((r) => world.net.clock.setTimeout(r, delayC)).then(() => a.deliver(y)),
      ].map((p) => p.then(() => 'agreed', () => 'refused'))
      const outcomes = await settle(world.net, Promise.all(sends))
      const signed = await countersigned(a.publicKey, x.seq, [b!, c!])
      assert.ok(signed <= 1, `both countersigned (delays ${delayB}, ${delayC})`)
      if (signed === 1) oneSigned++
      // the honest proposal completes exactly when its counterparty countersigned it
      assert.is(outcomes[0] === 'agreed', (await b!.store.findAgreement(a.publicKey, x.seq, b!.publicKey)) !== undefined)
      await Promise.all([a, b!, c!, ...world.witnessNodes].map((n) => n.close()))
    }),
    { numRuns: 12, seed: 7 },
  )
  assert.ok(oneSigned > 0, 'some runs let the first spend through: the witnesses do not just refuse everything')
})

Mode('witnesses out of reach: nothing is countersigned', async () => {
  const world = await witnessWorld(2, { offline: true })
  const [b] = await counterparties(world)
  const a = world.nodes[0]!
  await dial(world.net, a, b!)
  const err = await settle(world.net, a.transact(b!.publicKey, 'note', 'anyone?').catch((e: unknown) => e))
  assert.instance(err, RefusedError)
  assert.match(String((err as Error).message), /witnesses unavailable/)
  assert.is(await b!.store.latest(b!.publicKey), undefined)
})

Mode('`require` limits witness mode to the proposals that need it', async () => {
  const world = await witnessWorld(0)
  const b = createNode({
    identity: identity(70),
    store: createMemoryStore({ crypto }),
    transport: world.net.transport(),
    types: noteTypes(),
    clock: world.net.clock,
    cacheSize: 1024,
    head: 'local',
    witnesses: { keys: [identity(71).publicKey], k: 1, timeoutMs: 1000, require: (p) => typeof p.payload === 'number' && p.payload >= 100 },
  })
  await b.listen()
  const a = world.nodes[0]!
  await dial(world.net, a, b)
  const small = await settle(world.net, a.transact(b.publicKey, 'note', 5))
  assert.is(small.agreement.seq, 1, 'small payments need no witness')
  const big = await settle(world.net, a.transact(b.publicKey, 'note', 500).catch((e: unknown) => e))
  assert.instance(big, RefusedError, 'a big one waits for a witness that is not there')
})

Choice.run()
Mode.run()
