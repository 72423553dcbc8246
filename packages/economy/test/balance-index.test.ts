/**
 * The per-community balance index (balance-index.ts): on a long chain holding two communities'
 * tokens, the balance of the community absent from the chain's recent blocks is read without
 * walking back through the chain. Blocks are counted as the store hands them out: the figures are
 * reads, not times (nothing here depends on the machine's speed).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { InvalidBlockError, createAgent, createMemoryStore, type BlockStore, type HalfBlock } from '@tally/core'
import { balanceOf, createEconomyTypes, createEvidenceStore, rewardPayload } from '@tally/economy'
import { T0, alice, chainOf, rejectsLike, rules, world, type Step } from './helpers.ts'

const A = world([], { name: 'ttn' }).community
const B = world([], { name: 'bandwidth' }).community
const root = new Uint8Array(32)
const N = 10_000

/** A store that counts the blocks it hands out. */
const counting = (store: BlockStore) => {
  let reads = 0
  const counted = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver)
      if (typeof v !== 'function') return v
      if (prop === 'range') return async (...args: Parameters<BlockStore['range']>) => { const r = await target.range(...args); reads += r.length; return r }
      if (prop === 'get' || prop === 'latest') return async (...args: unknown[]) => { const r = await (v as (...a: unknown[]) => Promise<HalfBlock | undefined>).apply(target, args); if (r !== undefined) reads++; return r }
      return v.bind(target)
    },
  })
  return { store: counted, reads: () => reads }
}

/**
 * Rewards alternating between the two communities in runs of `run` blocks (one epoch a block), with
 * the balances they reach: signed blocks that chain, as an honest wallet would write them.
 */
const alternating = (n: number, run: number) => {
  const balance = new Map<string, number>([['A', 0], ['B', 0]])
  const steps: Step[] = []
  const after: { A: number; B: number }[] = []
  for (let i = 0; i < n; i++) {
    const which = Math.floor(i / run) % 2 === 0 ? 'A' : 'B'
    const before = balance.get(which)!
    steps.push({ type: 'reward', payload: rewardPayload({ epoch: i, amount: 1 + (i % 7), before, root, community: (which === 'A' ? A : B).id }) })
    balance.set(which, before + 1 + (i % 7))
    after.push({ A: balance.get('A')!, B: balance.get('B')! })
  }
  return { blocks: chainOf(alice, steps), after }
}

const built = alternating(N, 1_000)

const Index = suite('balance index: a 10,000-block chain alternating two communities')

Index('each community\'s balance after every block, growing the chain one block at a time: a few reads a lookup, not a walk through the run', async () => {
  const { store, reads } = counting(createMemoryStore())
  let worst = 0
  for (const [i, b] of built.blocks.entries()) {
    await store.batch().put(b).commit()
    const before = reads()
    const a = await balanceOf(store, alice.publicKey, undefined, A.id)
    const bb = await balanceOf(store, alice.publicKey, undefined, B.id)
    worst = Math.max(worst, reads() - before)
    assert.equal({ A: a, B: bb }, built.after[i], `after block ${i + 1}`)
  }
  // a walk back would read up to a whole run (1,000 blocks) for the community not in the latest
  // run; the bounded walk reads at most 32 (+ latest), then the index reads the blocks since its last lookup
  assert.ok(worst <= 2 * (32 + 2) + 2, `at most ${worst} blocks read for the two lookups after one append`)
  assert.is(await balanceOf(store, alice.publicKey), 0, 'no version-1 balance: every block names its community')
})

Index('a cold lookup on the finished chain reads it once; the next lookups read only what was appended', async () => {
  // the last run is B's: A's latest block is 1,000 blocks back
  const { store, reads } = counting(createMemoryStore())
  const batch = store.batch()
  for (const b of built.blocks) batch.put(b)
  await batch.commit()
  const last = built.after[N - 1]!
  assert.is(await balanceOf(store, alice.publicKey, undefined, A.id), last.A)
  const cold = reads()
  assert.ok(cold <= N + 64, `the first lookup reads the chain at most once (${cold})`)
  const before = reads()
  for (let i = 0; i < 100; i++) assert.is(await balanceOf(store, alice.publicKey, undefined, A.id), last.A)
  assert.ok(reads() - before <= 100 * (32 + 2), `100 warm lookups read ${reads() - before} blocks`)
})

Index('the balance rule reads the index too: a burn of the far community follows from its balance 1,000 blocks back, a wrong one is refused', async () => {
  const evidence = createEvidenceStore(A)
  const { store, reads } = counting(createMemoryStore())
  const batch = store.batch()
  for (const b of built.blocks) batch.put(b)
  await batch.commit()
  const types = createEconomyTypes({ community: A, evidence, also: [{ community: B, evidence: createEvidenceStore(B) }] })
  const agent = createAgent({ head: 'local', identity: alice, store, types, clock: () => T0 + N + 100 })
  const last = built.after[N - 1]!
  // the last run is B's: A's latest block is 1,000 blocks back
  await rejectsLike(agent.append('burn', { amount: 1, balance: last.A, community: A.id }), InvalidBlockError)
  const start = reads()
  const burned = await agent.append('burn', { amount: 1, balance: last.A - 1, community: A.id })
  assert.is(burned.seq, N + 1)
  assert.ok(reads() - start <= 64, `the index built by the refused burn serves the next one (${reads() - start} blocks read)`)
  const before = reads()
  await agent.append('burn', { amount: 2, balance: last.B - 2, community: B.id })
  await agent.append('burn', { amount: 2, balance: last.A - 3, community: A.id })
  const wrong = await agent.append('burn', { amount: 1, balance: last.B, community: B.id }).catch((e: unknown) => e)
  assert.instance(wrong, InvalidBlockError)
  assert.equal(rules((wrong as InvalidBlockError).errors), ['balance'])
  assert.ok(reads() - before <= 3 * 64, `three appends after a warm index read ${reads() - before} blocks`)
  assert.is(await balanceOf(store, alice.publicKey, undefined, B.id), last.B - 2)
  assert.is(await balanceOf(store, alice.publicKey, undefined, A.id), last.A - 3)
})

Index('a chain with a gap below the tip: unknown, as the walk back says', async () => {
  const store = createMemoryStore()
  const batch = store.batch()
  for (const b of built.blocks.slice(0, 2_500)) if (b.seq !== 10) batch.put(b)
  await batch.commit()
  // B's blocks are 1,001..2,000; A's latest (2,500) is the tip: B is read back past the run
  assert.is(await balanceOf(store, alice.publicKey, undefined, B.id), built.after[1_999]!.B)
  assert.is(await balanceOf(store, alice.publicKey, undefined, A.id), built.after[2_499]!.A)
  // a third community, never named: its lookup reaches the gap
  assert.is(await balanceOf(store, alice.publicKey, undefined, new Uint8Array(32).fill(7)), undefined)
})

Index.run()
