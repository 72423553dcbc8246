/**
 * The compliance suite every BlockStore must pass: memory, LevelDB and IndexedDB alike
 * (libp2p's interface-compliance-tests do the same for transports).
 * @module
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createAgent } from '../agent.js'
import { createBlockTypes } from '../block-types.js'
import { equalBytes, toHex } from '../bytes.js'
import { createFraudProof, fraudProofId } from '../fraud-proof.js'
import { GENESIS_HASH, UNILATERAL_KEY, blockHash, signBlock, type HalfBlock } from '../half-block.js'
import { identityFromSeed, type SeedIdentity } from '../identity.js'
import type { BlockStore } from '../store.js'

/** How the suite gets a fresh store and disposes of it. */
export interface StoreSuiteOptions {
  /** A new, empty store. */
  setup: () => Promise<BlockStore>
  /** Dispose of a store (default: close it). */
  teardown?: (store: BlockStore) => Promise<void>
  /** Reopen a store after close, when the implementation is durable: the suite then checks persistence. */
  reopen?: (closed: BlockStore) => Promise<BlockStore>
  /** Whether the store implements the optional `evict` (default true: the suite checks it; false skips those cases). */
  evicts?: boolean
  /** Whether its batches have the optional `commitOrdered` (default false; true: the suite checks it). */
  ordered?: boolean
}

/**
 * Run the BlockStore compliance suite with uvu.
 * @param name the implementation's name, shown in the output
 * @param options setup and teardown
 * @example storeSuite('memory', { setup: async () => createMemoryStore() })
 */
export function storeSuite(name: string, options: StoreSuiteOptions): void {
  const test = suite<{ store: BlockStore }>(`BlockStore compliance: ${name}`, { store: undefined as unknown as BlockStore })
  const teardown = options.teardown ?? ((s: BlockStore) => s.close())
  test.before.each(async (ctx) => {
    ctx.store = await options.setup()
  })
  test.after.each(async (ctx) => {
    await teardown(ctx.store)
  })

  test('get returns what a batch put, and undefined elsewhere', async ({ store }) => {
    const chain = makeChain(alice(), 3)
    await putAll(store, chain)
    for (const b of chain) assertSame((await store.get(b.publicKey, b.seq))!, b)
    assert.is(await store.get(alice().publicKey, 4), undefined)
    assert.is(await store.get(bob().publicKey, 1), undefined)
  })

  test('latest is the highest seq, also when blocks arrive out of order', async ({ store }) => {
    const chain = makeChain(alice(), 5)
    await putAll(store, [chain[4]!, chain[0]!, chain[2]!])
    assert.is((await store.latest(alice().publicKey))!.seq, 5)
    assert.is(await store.latest(bob().publicKey), undefined)
  })

  test('range honours from, to, limit and reverse, in seq order', async ({ store }) => {
    const chain = makeChain(alice(), 10)
    await putAll(store, chain.filter((b) => b.seq !== 6))
    const seqs = async (o: Parameters<BlockStore['range']>[1]) => (await store.range(alice().publicKey, o)).map((b) => b.seq)
    assert.equal(await seqs(undefined), [1, 2, 3, 4, 5, 7, 8, 9, 10])
    assert.equal(await seqs({ from: 4, to: 8 }), [4, 5, 7, 8])
    assert.equal(await seqs({ from: 2, limit: 3 }), [2, 3, 4])
    assert.equal(await seqs({ to: 7, limit: 2, reverse: true }), [7, 5])
    assert.equal(await seqs({ reverse: true, limit: 1 }), [10])
    assert.equal(await seqs({ from: 11 }), [])
    assert.equal(await seqs({ from: 5, to: 4 }), [])
    assert.equal(await seqs({ limit: 0 }), [])
    assert.equal(await store.range(bob().publicKey), [])
  })

  test('chains of different keys do not mix, whatever the key bytes', async ({ store }) => {
    const keys = [alice(), bob(), carol()]
    for (const id of keys) await putAll(store, makeChain(id, 4))
    for (const id of keys) {
      const blocks = await store.range(id.publicKey)
      assert.is(blocks.length, 4)
      assert.ok(blocks.every((b) => equalBytes(b.publicKey, id.publicKey)))
    }
    const agents = (await store.agents()).map(toHex).sort()
    assert.equal(agents, keys.map((k) => k.publicKeyHex).sort())
  })

  test('seq order is numeric across byte boundaries (255, 256, 65536)', async ({ store }) => {
    const id = alice()
    const seqs = [1, 2, 255, 256, 257, 65535, 65536, 2 ** 32 + 1]
    for (const seq of seqs) await store.batch().put(looseBlock(id, seq)).commit()
    assert.equal((await store.range(id.publicKey)).map((b) => b.seq), seqs)
    assert.is((await store.latest(id.publicKey))!.seq, 2 ** 32 + 1)
    assert.equal((await store.range(id.publicKey, { from: 256, to: 65536 })).map((b) => b.seq), [256, 257, 65535, 65536])
  })

  test('getByHash finds every stored block', async ({ store }) => {
    const chain = makeChain(alice(), 3)
    await putAll(store, chain)
    for (const b of chain) assertSame((await store.getByHash(blockHash(b)))!, b)
    assert.is(await store.getByHash(new Uint8Array(32).fill(7)), undefined)
  })

  test('findAgreement finds the agreement by its signer, not by anyone else', async ({ store }) => {
    const types = createBlockTypes([{ name: 'note' }])
    const a = createAgent({ head: 'local', identity: alice(), store, types, clock: () => 1 })
    const b = createAgent({ head: 'local', identity: bob(), store: await options.setup(), types, clock: () => 2 })
    const proposal = await a.propose(bob().publicKey, 'note', 'hi')
    const agreement = await b.agree(proposal)
    await a.complete(agreement)
    assertSame((await store.findAgreement(alice().publicKey, proposal.seq, bob().publicKey))!, agreement)
    assert.is(await store.findAgreement(alice().publicKey, proposal.seq, carol().publicKey), undefined)
    assert.is(await store.findAgreement(alice().publicKey, proposal.seq + 1, bob().publicKey), undefined)
    await teardown(b.store)
  })

  test('a batch is all or nothing: a conflict at one slot writes nothing', async ({ store }) => {
    const chain = makeChain(alice(), 3)
    await putAll(store, chain.slice(0, 2))
    const fork = makeChain(alice(), 2, 'fork')[1]!
    const proof = createFraudProof('double-sign', [chain[1]!, fork])
    let error: unknown
    try {
      await store.batch().put(chain[2]!).put(makeChain(bob(), 1)[0]!).putFraudProof(proof).put(fork).commit()
    } catch (err) {
      error = err
    }
    assert.is((error as { code?: string })?.code, 'ERR_CONFLICT')
    assert.is(await store.get(alice().publicKey, 3), undefined)
    assert.is(await store.latest(bob().publicKey), undefined)
    assert.is(await store.hasFraud(alice().publicKey), false)
    assertSame((await store.get(alice().publicKey, 2))!, chain[1]!)
  })

  test('a conflict inside one batch is refused too', async ({ store }) => {
    const one = makeChain(alice(), 1)[0]!
    const other = makeChain(alice(), 1, 'other')[0]!
    let code: string | undefined
    try {
      await store.batch().put(one).put(other).commit()
    } catch (err) {
      code = (err as { code?: string }).code
    }
    assert.is(code, 'ERR_CONFLICT')
    assert.is(await store.get(alice().publicKey, 1), undefined)
  })

  test('a conflict inside a large batch is refused wherever the two blocks are; a repeated block is not one', async ({ store }) => {
    const chain = makeChain(alice(), 12)
    const other = makeChain(alice(), 12, 'other')[4]!
    const bobs = makeChain(bob(), 12)
    const mixed = chain.flatMap((b, i) => [b, bobs[i]!])
    for (const blocks of [[...chain, other], [other, ...chain], [...mixed.slice(0, 9), other, ...mixed.slice(9)], [...chain.slice(6), ...chain.slice(0, 6), other]]) {
      let code: string | undefined
      try {
        const batch = store.batch()
        for (const b of blocks) batch.put(b)
        await batch.commit()
      } catch (err) {
        code = (err as { code?: string }).code
      }
      assert.is(code, 'ERR_CONFLICT')
      assert.is(await store.latest(alice().publicKey), undefined)
    }
    const batch = store.batch()
    for (const b of [...chain.slice(6), ...chain, chain[3]!]) batch.put(b)
    await batch.commit()
    assert.is((await store.range(alice().publicKey)).length, 12)
  })

  if (options.ordered === true) test('commitOrdered: in order, then durable and visible in write order; a conflict rejects both', async ({ store }) => {
    assert.type(store.batch().commitOrdered, 'function')
    const chain = makeChain(alice(), 3)
    const commits = chain.map((b) => store.batch().put(b).commitOrdered!())
    const durable: number[] = []
    const done = commits.map((c, i) => c.durable.then(() => durable.push(i)))
    for (const c of commits) await c.ordered
    await Promise.all(done)
    assert.equal(durable, [0, 1, 2], 'durable out of write order')
    assertSame((await store.latest(alice().publicKey))!, chain[2]!)
    const fork = makeChain(alice(), 1, 'fork')[0]!
    const rival = store.batch().put(fork).commitOrdered!()
    for (const p of [rival.ordered, rival.durable]) {
      const outcome = await p.then(() => 'resolved', (err: Error) => err.name)
      assert.is(outcome, 'ConflictError')
    }
  })

  test('putting the same block again is a no-op', async ({ store }) => {
    const chain = makeChain(alice(), 2)
    await putAll(store, chain)
    await putAll(store, chain)
    assert.is((await store.range(alice().publicKey)).length, 2)
  })

  test('fraud proofs are kept, listed per accused key, and deduplicated', async ({ store }) => {
    const chain = makeChain(alice(), 2)
    const fork = makeChain(alice(), 2, 'fork')[1]!
    const proof = createFraudProof('double-sign', [chain[1]!, fork])
    await store.batch().putFraudProof(proof).commit()
    await store.batch().putFraudProof(createFraudProof('double-sign', [fork, chain[1]!])).commit()
    assert.is(await store.hasFraud(alice().publicKey), true)
    assert.is(await store.hasFraud(bob().publicKey), false)
    const mine = await store.fraudProofs(alice().publicKey)
    assert.is(mine.length, 1)
    assert.is(toHex(fraudProofId(mine[0]!)), toHex(fraudProofId(proof)))
    assert.is((await store.fraudProofs()).length, 1)
    assert.equal(await store.fraudProofs(bob().publicKey), [])
  })

  test('closed store refuses calls with ClosedError', async () => {
    const fresh = await options.setup()
    await fresh.close()
    for (const call of [() => fresh.get(alice().publicKey, 1), () => fresh.latest(alice().publicKey), () => fresh.batch().put(makeChain(alice(), 1)[0]!).commit()]) {
      let code: string | undefined
      try {
        await call()
      } catch (err) {
        code = (err as { code?: string }).code
      }
      assert.is(code, 'ERR_CLOSED')
    }
  })

  // ## Eviction (optional: a store without `evict` says so with `evicts: false`)

  const evicts = options.evicts ?? true
  /** The store's evict, which it must have. */
  const evictOf = (store: BlockStore): NonNullable<BlockStore['evict']> => {
    assert.type(store.evict, 'function', 'the store implements evict (or the suite is told evicts: false)')
    return store.evict!.bind(store)
  }
  if (evicts) {
    test('evict removes a whole chain and its indexes; its proofs and the other chains stay', async ({ store }) => {
      const evict = evictOf(store)
      const types = createBlockTypes([{ name: 'note' }])
      const a = createAgent({ head: 'local', identity: alice(), store, types, clock: () => 1 })
      const b = createAgent({ head: 'local', identity: bob(), store: await options.setup(), types, clock: () => 2 })
      const proposal = await a.propose(bob().publicKey, 'note', 'hi')
      const agreement = await b.agree(proposal)
      await a.complete(agreement)
      await putAll(store, makeChain(carol(), 3))
      const fork = makeChain(carol(), 2, 'fork')[1]!
      await store.batch().putFraudProof(createFraudProof('double-sign', [(await store.get(carol().publicKey, 2))!, fork])).commit()
      assert.is(await evict(bob().publicKey), 1)
      assert.is(await store.get(bob().publicKey, agreement.seq), undefined)
      assert.is(await store.latest(bob().publicKey), undefined)
      assert.equal(await store.range(bob().publicKey), [])
      assert.is(await store.getByHash(blockHash(agreement)), undefined)
      assert.is(await store.findAgreement(alice().publicKey, proposal.seq, bob().publicKey), undefined)
      assert.equal((await store.agents()).map(toHex).sort(), [alice().publicKeyHex, carol().publicKeyHex].sort())
      assertSame((await store.get(alice().publicKey, proposal.seq))!, proposal)
      assert.is(await evict(carol().publicKey), 3)
      assert.is(await store.hasFraud(carol().publicKey), true, 'proofs are never evicted')
      assert.is((await store.fraudProofs(carol().publicKey)).length, 1)
      await teardown(b.store)
    })

    test('evict a range: the rest of the chain stays, latest follows, and evicted blocks can come back', async ({ store }) => {
      const evict = evictOf(store)
      const chain = makeChain(alice(), 6)
      await putAll(store, chain)
      assert.is(await evict(alice().publicKey, { to: 3 }), 3)
      assert.equal((await store.range(alice().publicKey)).map((b) => b.seq), [4, 5, 6])
      assert.is((await store.latest(alice().publicKey))!.seq, 6)
      assert.is(await evict(alice().publicKey, { from: 6 }), 1)
      assert.is((await store.latest(alice().publicKey))!.seq, 5)
      assert.is(await store.get(alice().publicKey, 6), undefined)
      assert.is(await store.getByHash(blockHash(chain[0]!)), undefined)
      await putAll(store, [chain[0]!, chain[5]!])
      assert.equal((await store.range(alice().publicKey)).map((b) => b.seq), [1, 4, 5, 6])
      assertSame((await store.getByHash(blockHash(chain[0]!)))!, chain[0]!)
      // a block evicted is no longer there to conflict with: a fork of it is stored (forks are caught
      // by validation against what is held, not by the store)
      await evict(alice().publicKey, { from: 6, to: 6 })
      const other = makeChain(alice(), 6, 'other')[5]!
      await putAll(store, [other])
      assertSame((await store.get(alice().publicKey, 6))!, other)
    })

    test('evict of nothing removes nothing; a malformed key or range is the caller mistake', async ({ store }) => {
      const evict = evictOf(store)
      await putAll(store, makeChain(alice(), 3))
      assert.is(await evict(bob().publicKey), 0)
      assert.is(await evict(alice().publicKey, { from: 4 }), 0)
      assert.is(await evict(alice().publicKey, { from: 3, to: 2 }), 0)
      assert.is((await store.range(alice().publicKey)).length, 3)
      for (const bad of [() => evict(new Uint8Array(31)), () => evict(alice().publicKey, { from: -1 }), () => evict(alice().publicKey, { to: 1.5 })]) {
        let error: unknown
        try {
          await bad()
        } catch (err) {
          error = err
        }
        assert.ok(error instanceof TypeError || error instanceof RangeError, String(error))
      }
    })

    test('evict runs in order with commits: a block committed just before is evicted too', async ({ store }) => {
      const evict = evictOf(store)
      const chain = makeChain(alice(), 4)
      await putAll(store, chain.slice(0, 2))
      const commit = putAll(store, chain.slice(2))
      const evicted = evict(alice().publicKey)
      await commit
      assert.is(await evicted, 4)
      assert.is(await store.latest(alice().publicKey), undefined)
      await putAll(store, chain.slice(0, 1))
      assert.is((await store.latest(alice().publicKey))!.seq, 1)
    })

    if (options.reopen !== undefined) {
      const reopen = options.reopen
      test('evicted blocks stay gone after close and reopen', async (ctx) => {
        const evict = evictOf(ctx.store)
        const chain = makeChain(alice(), 4)
        await putAll(ctx.store, [...chain, ...makeChain(bob(), 2)])
        await evict(alice().publicKey, { to: 2 })
        await evict(bob().publicKey)
        await ctx.store.close()
        ctx.store = await reopen(ctx.store)
        assert.equal((await ctx.store.range(alice().publicKey)).map((b) => b.seq), [3, 4])
        assert.is(await ctx.store.latest(bob().publicKey), undefined)
        assert.equal((await ctx.store.agents()).map(toHex), [alice().publicKeyHex])
        assert.is(await ctx.store.getByHash(blockHash(chain[0]!)), undefined)
      })
    }
  }

  // every store checks key lengths (memory, LevelDB, IndexedDB)
  test('a public key of a wrong length is a RangeError naming the argument', async ({ store }) => {
    await putAll(store, makeChain(alice(), 1))
    const key = alice().publicKey
    for (const bad of [new Uint8Array(31), new Uint8Array(33), new Uint8Array(0)]) {
      const calls: [string, () => Promise<unknown>][] = [
        ['publicKey', () => store.get(bad, 1)],
        ['publicKey', () => store.latest(bad)],
        ['publicKey', () => store.range(bad)],
        ['publicKey', () => store.range(bad, { reverse: true, limit: 1 })],
        ['proposalKey', () => store.findAgreement(bad, 1, key)],
        ['signer', () => store.findAgreement(key, 1, bad)],
        ['publicKey', () => store.hasFraud(bad)],
        ['publicKey', () => store.fraudProofs(bad)],
      ]
      for (const [name, call] of calls) {
        let error: unknown
        try {
          await call()
        } catch (err) {
          error = err
        }
        assert.instance(error, RangeError, `${name} of length ${bad.length}: ${String(error)}`)
        assert.match((error as Error).message, `"${name}"`)
      }
    }
  })

  if (options.reopen !== undefined) {
    const reopen = options.reopen
    test('everything committed is there after close and reopen', async (ctx) => {
      const chain = makeChain(alice(), 4)
      await putAll(ctx.store, chain)
      const fork = makeChain(alice(), 2, 'fork')[1]!
      await ctx.store.batch().putFraudProof(createFraudProof('double-sign', [chain[1]!, fork])).commit()
      await ctx.store.close()
      ctx.store = await reopen(ctx.store)
      for (const b of chain) assertSame((await ctx.store.get(b.publicKey, b.seq))!, b)
      assert.is((await ctx.store.latest(alice().publicKey))!.seq, 4)
      assert.is(await ctx.store.hasFraud(alice().publicKey), true)
    })
  }

  test.run()
}

// ## Private helpers

const ids = new Map<string, SeedIdentity>()
function id(name: string): SeedIdentity {
  let identity = ids.get(name)
  if (identity === undefined) {
    const seed = new Uint8Array(32)
    for (let i = 0; i < name.length; i++) seed[i] = name.charCodeAt(i)
    ids.set(name, (identity = identityFromSeed(seed)))
  }
  return identity
}
const alice = () => id('alice')
const bob = () => id('bob')
const carol = () => id('carol')

/** An honest chain of unilateral blocks; `variant` changes the payloads (a fork of another variant). */
function makeChain(owner: SeedIdentity, length: number, variant = ''): HalfBlock[] {
  const out: HalfBlock[] = []
  for (let seq = 1; seq <= length; seq++) {
    const previousHash = seq === 1 ? GENESIS_HASH : blockHash(out[seq - 2]!)
    out.push(signBlock({ publicKey: owner.publicKey, seq, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash, type: 'note', payload: `${variant}${seq}`, timestamp: 1000 + seq }, owner))
  }
  return out
}

/** A validly signed block at any seq, not chained to anything (stores do not validate). */
function looseBlock(owner: SeedIdentity, seq: number): HalfBlock {
  const previousHash = seq === 1 ? GENESIS_HASH : new Uint8Array(32).fill(1)
  return signBlock({ publicKey: owner.publicKey, seq, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash, type: 'note', payload: seq, timestamp: 1 }, owner)
}

async function putAll(store: BlockStore, blocks: readonly HalfBlock[]): Promise<void> {
  const batch = store.batch()
  for (const b of blocks) batch.put(b)
  await batch.commit()
}

function assertSame(actual: HalfBlock, expected: HalfBlock): void {
  assert.ok(actual !== undefined, 'block missing')
  assert.is(toHex(blockHash(actual)), toHex(blockHash(expected)))
  assert.is(toHex(actual.signature), toHex(expected.signature))
}
