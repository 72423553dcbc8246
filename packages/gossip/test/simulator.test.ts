/**
 * The simulator runs real nodes (node.ts) on the memory network and virtual time. fast-check draws
 * random networks and schedules — transactions, forks, a withholding peer, a spammer, handshakes or
 * attached sessions, slow links — and after the gossip settles:
 * - every fork that reached two connected honest peers (one holds the first block, one the second,
 *   or one already holds a proof) is known to every honest peer connected to them;
 * - no honest peer is accused by anyone.
 * Plus: the ConTrib scenario runs end to end on real nodes, and the model agrees with it.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { blockHash, equalBytes, toHex } from '@tally/core'
import { createSimCrypto, createSimulator, runContrib, runGossipModel, type ContribResult, type Role, type Simulator } from '@tally/gossip/sim'
import { crypto } from './fixtures/node-kit.ts'

// ## Helpers

/** Run the simulation's virtual time while `p` is pending. */
async function during<T>(sim: Simulator, p: Promise<T>, maxMs = 60_000): Promise<T> {
  let done = false
  void p.then(() => (done = true))
  for (let t = 0; t < maxMs && !done; t += 100) await sim.run(100)
  return p
}

/** Components of the links among `members` (indices). */
function components(sim: Simulator, members: Set<number>): number[][] {
  const seen = new Set<number>()
  const out: number[][] = []
  for (const start of members) {
    if (seen.has(start)) continue
    const comp: number[] = []
    const stack = [start]
    seen.add(start)
    while (stack.length > 0) {
      const u = stack.pop()!
      comp.push(u)
      for (const v of sim.peers[u]!.neighbours) {
        if (members.has(v) && !seen.has(v)) {
          seen.add(v)
          stack.push(v)
        }
      }
    }
    out.push(comp)
  }
  return out
}

/** Nobody honest is accused, by anyone (withholders and spammers included). */
async function checkNoHonestAccused(sim: Simulator): Promise<void> {
  const forkers = new Set(sim.forks.map((f) => f.index))
  const accused = sim.accused()
  for (const p of sim.peers) {
    if (p.role === 'spammer' || forkers.has(p.index)) continue
    assert.not.ok(accused.has(toHex(p.publicKey)), `honest peer ${p.index} is accused`)
    for (const q of sim.peers) if (q.node !== undefined) assert.not.ok(await q.node.store.hasFraud(p.publicKey), `peer ${q.index} holds a proof against honest ${p.index}`)
  }
}

/** Check the two properties on a settled simulation; returns how many forks reached two honest peers. */
async function checkSettled(sim: Simulator): Promise<number> {
  const forkers = new Set(sim.forks.map((f) => f.index))
  const honest = new Set(sim.peers.filter((p) => p.role === 'honest' && !forkers.has(p.index)).map((p) => p.index))
  await checkNoHonestAccused(sim)
  let reached = 0
  for (const comp of components(sim, honest)) {
    for (const f of sim.forks) {
      const forker = sim.peers[f.index]!.publicKey
      const hx = blockHash(f.first, crypto)
      const hy = blockHash(f.second, crypto)
      let holdsX = false
      let holdsY = false
      let proof = false
      for (const i of comp) {
        const store = sim.peers[i]!.node!.store
        const b = await store.get(forker, f.first.seq)
        if (b !== undefined && equalBytes(blockHash(b, crypto), hx)) holdsX = true
        if (b !== undefined && equalBytes(blockHash(b, crypto), hy)) holdsY = true
        if (await store.hasFraud(forker)) proof = true
      }
      if (!((holdsX && holdsY) || proof)) continue
      reached++
      for (const i of comp) {
        assert.ok(await sim.peers[i]!.node!.store.hasFraud(forker), `fork by ${f.index} reached honest peers of a component of ${comp.length}, but peer ${i} holds no proof`)
      }
    }
  }
  return reached
}

// ## Properties

const Props = suite('simulator: properties over random schedules')

Props('every fork that reaches two connected honest peers is known to all of them; nobody honest is accused', async () => {
  let reachedTotal = 0
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        seed: fc.integer({ min: 1, max: 1_000_000 }),
        n: fc.integer({ min: 5, max: 11 }),
        knows: fc.integer({ min: 1, max: 3 }),
        sessions: fc.constantFrom('handshake' as const, 'attach' as const),
        slow: fc.boolean(),
        withholder: fc.boolean(),
        spammer: fc.boolean(),
        pushFanout: fc.constantFrom(0, 1, 5),
        actions: fc.array(
          fc.record({ at: fc.integer({ min: 0, max: 3000 }), i: fc.nat(), fork: fc.boolean() }),
          { minLength: 4, maxLength: 24 },
        ),
      }),
      async (c) => {
        const roles = (i: number): Role => (c.spammer && i === 0 ? 'spammer' : c.withholder && i === 1 ? 'withholder' : 'honest')
        const sim = createSimulator({
          nodes: c.n,
          knows: Math.min(c.knows, c.n - 1),
          seed: c.seed,
          sessions: c.sessions,
          crypto,
          roles,
          // TCP-like links (a lost frame is sent again later), slow or not
          link: c.slow ? { latencyMs: 80, jitterMs: 60, loss: 0.2, lossMode: 'retransmit' } : { latencyMs: 50, jitterMs: 20 },
          gossip: { pushFanout: c.pushFanout, pullIntervalMs: 500 },
          cacheSize: 512,
        })
        await sim.connect()
        const runs: Promise<unknown>[] = []
        for (const a of c.actions) {
          const i = a.i % c.n
          sim.schedule(a.at, () => {
            if (sim.peers[i]!.node === undefined) return
            if (a.fork && !sim.forks.some((f) => f.index === i)) runs.push(sim.fork(i))
            else runs.push(sim.transact(i))
          })
        }
        sim.schedule(1000, () => sim.spam(0, { pushes: 5, proofs: 3 }))
        await sim.run(4000)
        await during(sim, Promise.all(runs))
        // let the gossip settle: pulls every ~0.5 s, each with one audited slot
        await sim.run(60_000)
        reachedTotal += await checkSettled(sim)
        await sim.close()
      },
    ),
    { numRuns: 60, seed: 20240601, endOnFailure: true },
  )
  assert.ok(reachedTotal > 5, `the schedules produced forks that reached honest peers (${reachedTotal})`)
})

Props('under dropped frames (10–30% lost for good), no honest peer is ever accused, and forks are still proved', async () => {
  let proved = 0
  let forks = 0
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        seed: fc.integer({ min: 1, max: 1_000_000 }),
        n: fc.integer({ min: 5, max: 10 }),
        knows: fc.integer({ min: 1, max: 3 }),
        loss: fc.constantFrom(0.1, 0.2, 0.3),
        spammer: fc.boolean(),
        actions: fc.array(fc.record({ at: fc.integer({ min: 0, max: 3000 }), i: fc.nat(), fork: fc.boolean() }), { minLength: 4, maxLength: 20 }),
      }),
      async (c) => {
        const sim = createSimulator({
          nodes: c.n,
          knows: Math.min(c.knows, c.n - 1),
          seed: c.seed,
          sessions: 'attach',
          crypto,
          roles: (i) => (c.spammer && i === 0 ? 'spammer' : 'honest'),
          link: { latencyMs: 50, jitterMs: 20, loss: c.loss, lossMode: 'drop' },
          gossip: { pullIntervalMs: 500 },
          cacheSize: 512,
        })
        await sim.connect()
        const runs: Promise<unknown>[] = []
        for (const a of c.actions) {
          const i = a.i % c.n
          sim.schedule(a.at, () => {
            if (sim.peers[i]!.node === undefined) return
            if (a.fork && !sim.forks.some((f) => f.index === i)) runs.push(sim.fork(i))
            else runs.push(sim.transact(i))
          })
        }
        sim.schedule(1000, () => sim.spam(0, { pushes: 5, proofs: 3 }))
        await sim.run(4000)
        await during(sim, Promise.all(runs))
        await sim.run(30_000)
        await checkNoHonestAccused(sim)
        forks += sim.forks.length
        for (const f of sim.forks) if (sim.proofTimes(sim.peers[f.index]!.publicKey).size > 0) proved++
        await sim.close()
      },
    ),
    { numRuns: 30, seed: 20240817, endOnFailure: true },
  )
  assert.ok(proved > 5 && proved >= forks / 2, `forks proved under loss: ${proved} of ${forks}`)
})

// ## Scenarios

const Scenarios = suite('simulator: scenarios')

Scenarios('adversaries: a spammer is cut off, its forged proofs accuse nobody, and honest peers keep transacting', async () => {
  const sim = createSimulator({ nodes: 12, knows: 3, seed: 4, crypto, roles: (i) => (i === 0 ? 'spammer' : 'honest'), cacheSize: 512 })
  await sim.connect()
  const spammerLinks = sim.peers[0]!.neighbours.length
  for (let k = 0; k < 5; k++) {
    sim.spam(0, { pushes: 40, proofs: 4 })
    await sim.run(300)
  }
  await sim.run(2000)
  const stillLinked = sim.peers.filter((p) => p.node?.peers.some((q) => equalBytes(q.publicKey, sim.peers[0]!.publicKey)) === true).length
  assert.ok(stillLinked < spammerLinks, `honest peers dropped the spammer (${stillLinked} of ${spammerLinks} still linked)`)
  const forged = sim.peers.reduce((s, p) => s + (p.node?.stats.forgedProofs ?? 0), 0)
  assert.ok(forged > 0, 'forged proofs reached honest peers and were refused')
  const results = await during(sim, Promise.all([1, 2, 3, 4].map((i) => sim.transact(i))))
  assert.ok(results.filter((r) => !(r instanceof Error)).length >= 3, 'honest transactions still complete')
  await checkSettled(sim)
  await sim.close()
})

Scenarios('a withholding peer neither pushes nor relays, and the honest ones still catch a fork it saw', async () => {
  const sim = createSimulator({ nodes: 10, knows: 3, seed: 8, crypto, roles: (i) => (i === 1 ? 'withholder' : 'honest'), cacheSize: 512 })
  await sim.connect()
  await during(sim, Promise.all([0, 1, 2, 3].map((i) => sim.transact(i))))
  const withheld = sim.peers[1]!.node!.stats
  assert.is(withheld.pushesSent, 0)
  const f = await during(sim, sim.fork(2))
  assert.ok(f !== undefined)
  await sim.run(20_000)
  await checkSettled(sim)
  await sim.close()
})

Scenarios('ConTrib setup on real nodes (small): forks detected, none undetected, nobody honest accused', async () => {
  const r = await runContrib({ nodes: 60, knows: 10, durationMs: 8000, settleMs: 6000, seed: 3, sessions: 'attach', crypto: createSimCrypto(crypto), forkProbability: 0.2 })
  assert.ok(r.forks >= 4, `forks: ${r.forks}`)
  assert.is(r.undetected, 0)
  assert.is(r.honestAccused, 0)
  assert.is(r.under99, 0)
  assert.ok(r.transactions > 300, `transactions: ${r.transactions}`)
  assert.ok(r.bytesPerPeerS > 0 && r.proofBytesPerPeerS > 0)
})

Scenarios('ConTrib setup on real nodes at 20% dropped frames (small): every fork detected and known to 99%, nobody honest accused', async () => {
  const r = await runContrib({ nodes: 60, knows: 10, loss: 0.2, durationMs: 8000, settleMs: 6000, seed: 3, sessions: 'attach', crypto: createSimCrypto(crypto), forkProbability: 0.2 })
  assert.ok(r.forks >= 4, `forks: ${r.forks}`)
  assert.is(r.undetected, 0)
  assert.is(r.under99, 0)
  assert.is(r.honestAccused, 0)
})

Scenarios("frames dropped for good need attached sessions: an encrypted session cannot lose one", () => {
  // a dropped frame breaks the Noise nonce sequence and closes the session (session.test.ts):
  // datagram loss is simulated on attached sessions, where a frame is one whole message
  assert.throws(() => createSimulator({ nodes: 4, knows: 2, link: { loss: 0.2 } }), (e: unknown) => e instanceof RangeError && /sessions: 'attach'/.test(e.message))
  assert.throws(() => createSimulator({ nodes: 4, knows: 2, sessions: 'handshake', link: { loss: 0.1, lossMode: 'drop' } }), RangeError)
  createSimulator({ nodes: 4, knows: 2, sessions: 'attach', crypto, link: { loss: 0.2 } })
  createSimulator({ nodes: 4, knows: 2, crypto, link: { loss: 0.2, lossMode: 'retransmit' } })
})

for (const loss of [0, 0.2]) {
  Scenarios(`the model agrees with the real nodes on the same setup (${loss * 100}% of frames dropped)`, async () => {
    // not the same draws (the model uses its own random stream), and at 20% loss one run's mean
    // detection varies by ±30% from seed to seed (0.92–1.47 s for the real nodes over seeds 9–16,
    // whose pooled means are within 8% of the model's): four seeds, ~150 forks, pooled. Two left
    // the 20% bound to chance (seeds 9 and 10 gave 1.13 and 1.47 s on one build, 1.43 and 1.38 on
    // the next, against the model's 1.17 and 1.02)
    const real: ContribResult[] = []
    const model: ContribResult[] = []
    for (const seed of [9, 10, 11, 12]) {
      const setup = { nodes: 80, knows: 12, loss, durationMs: 8000, settleMs: 6000, seed, forkProbability: 0.5, gossip: { fraudFanout: 6 } }
      real.push(await runContrib({ ...setup, sessions: 'attach', crypto: createSimCrypto(crypto) }))
      model.push(runGossipModel(setup))
    }
    for (const r of [...real, ...model]) {
      assert.is(r.undetected, 0)
      assert.ok(r.forks > 20)
    }
    const pooled = (rs: ContribResult[], f: (r: ContribResult) => number): number => rs.reduce((s, r) => s + f(r), 0) / rs.length
    const p99 = (rs: ContribResult[]): number => mean(rs.flatMap((r) => r.detectP99))
    const gossipBytes = (r: ContribResult): number => r.bytesPerPeerS - r.proofBytesPerPeerS
    const proofPerFork = (r: ContribResult): number => (r.proofBytesPerPeerS * r.durationS) / r.forks
    const figures: [string, number, number][] = [
      ['p99 (s)', p99(real), p99(model)],
      ['mean detection (s)', pooled(real, (r) => r.detectMeanS), pooled(model, (r) => r.detectMeanS)],
      ['gossip bytes/s without proofs', pooled(real, gossipBytes), pooled(model, gossipBytes)],
      ['proof bytes per peer per fork', pooled(real, proofPerFork), pooled(model, proofPerFork)],
    ]
    for (const [name, r, m] of figures) assert.ok(Math.abs(m - r) / r < 0.2, `${name}: real ${r}, model ${m}`)
  })
}

function mean(a: readonly number[]): number {
  return a.reduce((x, y) => x + y, 0) / Math.max(1, a.length)
}

Props.run()
Scenarios.run()
