/**
 * The agent's promises (DESIGN.md): know your own head before signing, and never sign what your own
 * rules reject. A restored seed on an empty or stale store recovers its chain from a head source
 * before its first signature and then signs at the right seq; with nobody to ask it refuses to
 * sign; a source cannot make up a head; a block the type's rules reject is never signed.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  HeadUnknownError,
  InvalidBlockError,
  blockHash,
  createAgent,
  createBlockTypes,
  equalBytes,
  createMemoryStore,
  generateIdentity,
  identityFromSeed,
  isNewIdentity,
  validate,
  type Agent,
  type BlockStore,
  type HalfBlock,
  type HeadSource,
} from '@tally/core'
import { rejectsLike } from './helpers.ts'

const types = createBlockTypes([{ name: 'note' }])
const seed = new Uint8Array(32).fill(0x5e)

/** A head source backed by another store (the peers' copies of the chain), counting its calls. */
function sourceOf(store: BlockStore, options: { hide?: number[] } = {}): HeadSource & { asked: number } {
  const source = {
    asked: 0,
    async head(publicKey: Uint8Array) {
      source.asked++
      return store.latest(publicKey)
    },
    async fetch(publicKey: Uint8Array, start: number, end: number) {
      const blocks = await store.range(publicKey, { from: start, to: end })
      return blocks.filter((b) => !(options.hide ?? []).includes(b.seq))
    },
  }
  return source
}

/** An agent that made `n` blocks (proposals to a counterparty and unilateral notes). */
async function history(n: number): Promise<{ old: Agent; peer: Agent }> {
  const old = createAgent({ identity: identityFromSeed(seed), store: createMemoryStore(), types, head: 'local' })
  const peer = createAgent({ identity: identityFromSeed(new Uint8Array(32).fill(0x77)), store: createMemoryStore(), types, head: 'local' })
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) await peer.agree(await old.propose(peer.publicKey, 'note', i))
    else await old.append('note', i)
  }
  // the peer holds every block of old's chain (as witnesses and gossip would)
  for (const b of await old.store.range(old.publicKey)) await peer.receive(b)
  return { old, peer }
}

const Head = suite('agent: know your own head before signing')

Head('a restored seed on an empty store with no head source refuses to sign (ERR_HEAD_UNKNOWN)', async () => {
  const agent = createAgent({ identity: identityFromSeed(seed), store: createMemoryStore(), types })
  const err = await rejectsLike(agent.append('note', 1), HeadUnknownError, 'ERR_HEAD_UNKNOWN')
  assert.match((err as Error).message, /head source|head: 'local'/)
  await rejectsLike(agent.propose(new Uint8Array(32).fill(1), 'note', 1), HeadUnknownError)
  assert.is(await agent.store.latest(agent.publicKey), undefined, 'nothing signed')
})

Head('a brand-new identity says so: generateIdentity() or head: local', async () => {
  const fresh = generateIdentity()
  assert.ok(isNewIdentity(fresh))
  assert.not.ok(isNewIdentity(identityFromSeed(fresh.exportSecretSeed())), 'a seed restored is not new')
  assert.is((await createAgent({ identity: fresh, store: createMemoryStore(), types }).append('note', 1)).seq, 1)
  assert.is((await createAgent({ identity: identityFromSeed(seed), store: createMemoryStore(), types, head: 'local' }).append('note', 1)).seq, 1)
})

Head('a store that holds the chain is trusted without a source', async () => {
  const { old } = await history(3)
  const again = createAgent({ identity: identityFromSeed(seed), store: old.store, types })
  assert.is((await again.append('note', 'x')).seq, 4)
})

Head('a restored seed recovers its whole chain (unilateral blocks too) before signing, then signs at the right seq', async () => {
  const { old, peer } = await history(7)
  const source = sourceOf(peer.store)
  const restored = createAgent({ identity: identityFromSeed(seed), store: createMemoryStore(), types, head: source })
  const next = await restored.append('note', 'after restore')
  assert.is(next.seq, 8)
  assert.is(source.asked, 1)
  const chain = await restored.store.range(restored.publicKey)
  assert.equal(chain.map((b) => b.seq), [1, 2, 3, 4, 5, 6, 7, 8])
  // the new block chains to the recovered head: the old device's store accepts it as the next one
  const result = await validate(next, { store: old.store, types })
  assert.is.not(result.level, 'invalid')
  assert.equal(result.fraud, [])
  // the head is learnt once per agent object
  await restored.append('note', 'again')
  assert.is(source.asked, 1)
})

Head('a stale backup (a prefix of the chain) catches up before signing', async () => {
  const { old, peer } = await history(6)
  const backup = createMemoryStore()
  for (const b of (await old.store.range(old.publicKey)).slice(0, 2)) await backup.batch().put(b).commit()
  const restored = createAgent({ identity: identityFromSeed(seed), store: backup, types, head: sourceOf(peer.store) })
  assert.is(await restored.recover(), 6)
  assert.is((await restored.propose(peer.publicKey, 'note', 'x')).seq, 7)
})

Head('with no peer reachable it refuses, and tries again at the next attempt', async () => {
  const { peer } = await history(3)
  let reachable = false
  const flaky: HeadSource = {
    head: async (k) => {
      if (!reachable) throw new Error('no peer reachable')
      return peer.store.latest(k)
    },
    fetch: async (k, start, end) => peer.store.range(k, { from: start, to: end }),
  }
  const restored = createAgent({ identity: identityFromSeed(seed), store: createMemoryStore(), types, head: flaky })
  const err = await rejectsLike(restored.append('note', 1), HeadUnknownError)
  assert.match((err as Error).message, /no peer reachable/)
  assert.is(await restored.store.latest(restored.publicKey), undefined)
  reachable = true
  assert.is((await restored.append('note', 1)).seq, 4)
})

Head('a missing block in the middle stops recovery: nothing is signed', async () => {
  const { peer } = await history(5)
  const restored = createAgent({ identity: identityFromSeed(seed), store: createMemoryStore(), types, head: sourceOf(peer.store, { hide: [3] }) })
  const err = await rejectsLike(restored.append('note', 1), HeadUnknownError)
  assert.match((err as Error).message, /no block at seq 3/)
  assert.is((await restored.store.latest(restored.publicKey))?.seq ?? 0, 2, 'only the verified prefix is kept')
})

Head('a source cannot make up a head: a block not signed by the identity is refused', async () => {
  const { peer } = await history(2)
  const liar: HeadSource = {
    head: async () => {
      const real = (await peer.store.latest(peer.publicKey))!
      return { ...real, seq: 1_000_000 } as HalfBlock
    },
    fetch: async () => [],
  }
  const restored = createAgent({ identity: identityFromSeed(seed), store: createMemoryStore(), types, head: liar })
  const err = await rejectsLike(restored.append('note', 1), HeadUnknownError)
  assert.match((err as Error).message, /not a block it signed/)
})

Head('a head option that is neither local nor a source is a TypeError', () => {
  assert.throws(() => createAgent({ identity: identityFromSeed(seed), store: createMemoryStore(), head: 'new' as never }), TypeError)
  assert.throws(() => createAgent({ identity: identityFromSeed(seed), store: createMemoryStore(), head: { head: async () => undefined } as never }), TypeError)
})

Head.run()

const Rules = suite('agent: never sign what your own rules reject')

const counter = createBlockTypes([
  {
    name: 'counter',
    validate: (block, ctx) => {
      const before = (ctx.previous?.payload as number | undefined) ?? 0
      return { errors: block.payload === before + 1 ? [] : [{ rule: 'counter-step', message: `expected ${before + 1}` }] }
    },
  },
])

Rules('a payload the type rejects is refused with InvalidBlockError and nothing is signed', async () => {
  const agent = createAgent({ identity: generateIdentity(), store: createMemoryStore(), types: counter })
  await agent.append('counter', 1)
  const err = await rejectsLike(agent.append('counter', 5), InvalidBlockError, 'ERR_INVALID_BLOCK')
  assert.equal((err as InvalidBlockError).errors.map((e) => e.rule), ['counter-step'])
  assert.is((await agent.store.latest(agent.publicKey))?.seq, 1)
})

Rules('a payload computed under the lock from the latest block is always right, however many race', async () => {
  const agent = createAgent({ identity: generateIdentity(), store: createMemoryStore(), types: counter })
  const blocks = await Promise.all(Array.from({ length: 30 }, () => agent.append('counter', (latest) => ((latest?.payload as number | undefined) ?? 0) + 1)))
  assert.equal(blocks.map((b) => b.payload).sort((a, b) => (a as number) - (b as number)), Array.from({ length: 30 }, (_, i) => i + 1))
})

Rules('an append made from inside a payload function waits for the block being signed (the lock holds within a turn too)', async () => {
  // on a memory store a step runs within the call: a call made from inside it must still queue
  for (const later of [false, true]) {
    const agent = createAgent({ identity: generateIdentity(), store: createMemoryStore(), types: counter })
    let inner: Promise<HalfBlock> | undefined
    const outer = await agent.append('counter', (latest) => {
      inner ??= agent.append('counter', (top) => ((top?.payload as number | undefined) ?? 0) + 1)
      const next = ((latest?.payload as number | undefined) ?? 0) + 1
      // the outer step goes on asynchronously after the inner call queued, or finishes at once
      return later ? new Promise<number>((resolve) => setTimeout(() => resolve(next), 5)) : next
    })
    const second = await inner!
    assert.equal([outer.seq, outer.payload, second.seq, second.payload], [1, 1, 2, 2], `later: ${later}`)
    const chain = await agent.store.range(agent.publicKey)
    assert.equal(chain.map((b) => b.seq), [1, 2])
    assert.ok(equalBytes(chain[1]!.previousHash, blockHash(chain[0]!)))
  }
})

Rules('refuses() checks its argument', async () => {
  const agent = createAgent({ identity: generateIdentity(), store: createMemoryStore(), types })
  await rejectsLike(agent.refuses(new Uint8Array(31)), RangeError)
})

Rules.run()
