// The LevelDB block store: the shared BlockStore compliance suite, then what is particular to a
// durable store on an ordered key-value database (key order, reopening, format versions, the
// directory lock, the head cache staying coherent).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  GENESIS_HASH,
  UNILATERAL_KEY,
  blockHash,
  createAgent,
  createBlockTypes,
  createFraudProof,
  encodeCanonical,
  fraudProofId,
  isAgreement,
  identityFromSeed,
  LockedError,
  signBlock,
  toHex,
  type BlockStore,
  type HalfBlock,
  type SeedIdentity,
} from '@tally/core'
import { storeSuite } from '@tally/core/testing'
import { openLevelStore } from '../src/level-store.js'

const root = mkdtempSync(join(tmpdir(), 'tally-level-store-'))
process.on('exit', () => rmSync(root, { recursive: true, force: true }))
let dirs = 0
const freshPath = (): string => join(root, `db-${++dirs}`)

// ## The compliance suite

const paths = new WeakMap<BlockStore, string>()
storeSuite('LevelDB', {
  ordered: true,
  setup: async () => {
    const path = freshPath()
    const store = await openLevelStore({ path })
    paths.set(store, path)
    return store
  },
  teardown: async (store) => {
    await store.close()
    rmSync(paths.get(store)!, { recursive: true, force: true })
  },
  reopen: async (closed) => {
    const path = paths.get(closed)!
    const store = await openLevelStore({ path })
    paths.set(store, path)
    return store
  },
})

// ## Fixtures

const alice = identityFromSeed(new Uint8Array(32).fill(1))
const bob = identityFromSeed(new Uint8Array(32).fill(2))
const carol = identityFromSeed(new Uint8Array(32).fill(3))

/** A signed block at any seq; `previous` chains it, else it links to nothing in particular. */
function block(owner: SeedIdentity, seq: number, options: { previous?: HalfBlock; payload?: string; link?: Uint8Array; linkSeq?: number } = {}): HalfBlock {
  const previousHash = options.previous !== undefined ? blockHash(options.previous) : seq === 1 ? GENESIS_HASH : new Uint8Array(32).fill(9)
  return signBlock(
    {
      publicKey: owner.publicKey,
      seq,
      linkPublicKey: options.link ?? UNILATERAL_KEY,
      linkSeq: options.linkSeq ?? 0,
      previousHash,
      type: 'note',
      payload: options.payload ?? `#${seq}`,
      timestamp: 1_700_000_000_000 + (seq % 1000),
    },
    owner,
  )
}

function chain(owner: SeedIdentity, length: number, variant = ''): HalfBlock[] {
  const out: HalfBlock[] = []
  for (let seq = 1; seq <= length; seq++) {
    const previous = out[seq - 2]
    out.push(block(owner, seq, { payload: `${variant}${seq}`, ...(previous === undefined ? {} : { previous }) }))
  }
  return out
}

async function putAll(store: BlockStore, blocks: readonly HalfBlock[]): Promise<void> {
  const batch = store.batch()
  for (const b of blocks) batch.put(b)
  await batch.commit()
}

function same(actual: HalfBlock | undefined, expected: HalfBlock, message?: string): void {
  assert.ok(actual !== undefined, message ?? `block ${expected.seq} missing`)
  assert.is(toHex(blockHash(actual)), toHex(blockHash(expected)), message)
  assert.is(toHex(actual.signature), toHex(expected.signature), message)
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
  } catch (err) {
    return (err as { code?: string }).code ?? (err as Error).name
  }
  return undefined
}

const seqs = (blocks: readonly HalfBlock[]): number[] => blocks.map((b) => b.seq)

// ## LevelDB store

const test = suite<{ store: BlockStore; path: string }>('level store', { store: undefined as unknown as BlockStore, path: '' })
test.before.each(async (ctx) => {
  ctx.path = freshPath()
  ctx.store = await openLevelStore({ path: ctx.path })
})
test.after.each(async (ctx) => {
  await ctx.store.close()
  rmSync(ctx.path, { recursive: true, force: true })
})

test('put then get, latest and getByHash; unknown slots are undefined', async ({ store }) => {
  const blocks = chain(alice, 3)
  await putAll(store, blocks)
  for (const b of blocks) {
    same(await store.get(alice.publicKey, b.seq), b)
    same(await store.getByHash(blockHash(b)), b)
  }
  same(await store.latest(alice.publicKey), blocks[2]!)
  assert.is(await store.get(alice.publicKey, 0), undefined)
  assert.is(await store.get(alice.publicKey, 4), undefined)
  assert.is(await store.get(bob.publicKey, 1), undefined)
  assert.is(await store.latest(bob.publicKey), undefined)
  assert.is(await store.getByHash(new Uint8Array(32)), undefined)
})

test('an agent appends through the store, one seq after the other', async ({ store }) => {
  const agent = createAgent({ head: 'local', identity: alice, store, types: createBlockTypes([{ name: 'note' }]) })
  const appended = await Promise.all([0, 1, 2, 3, 4].map((i) => agent.append('note', i)))
  assert.equal(seqs(appended), [1, 2, 3, 4, 5])
  const stored = await store.range(alice.publicKey)
  assert.equal(seqs(stored), [1, 2, 3, 4, 5])
  for (let i = 1; i < stored.length; i++) assert.is(toHex(stored[i]!.previousHash), toHex(blockHash(stored[i - 1]!)))
})

test('latest follows writes that skip ahead and ignores writes behind', async ({ store }) => {
  await putAll(store, [block(alice, 3)])
  assert.is((await store.latest(alice.publicKey))!.seq, 3) // now cached
  await putAll(store, [block(alice, 1)])
  assert.is((await store.latest(alice.publicKey))!.seq, 3)
  await putAll(store, [block(alice, 10)])
  assert.is((await store.latest(alice.publicKey))!.seq, 10)
  assert.is(await store.latest(bob.publicKey), undefined) // cached as empty
  await putAll(store, [block(bob, 2)])
  assert.is((await store.latest(bob.publicKey))!.seq, 2)
})

test('latest read while a commit is in flight is never stale afterwards', async ({ store }) => {
  for (let round = 1; round <= 20; round++) {
    const commit = putAll(store, [block(alice, round)])
    const during = store.latest(alice.publicKey)
    await commit
    await during
    assert.is((await store.latest(alice.publicKey))!.seq, round)
  }
})

test('get on a chain not cached yet: below, at and above its head, and a chain with no blocks, after a reopen', async (ctx) => {
  const blocks = chain(alice, 5)
  const far = block(alice, 9)
  await putAll(ctx.store, [...blocks, far])
  await ctx.store.close()
  ctx.store = await openLevelStore({ path: ctx.path }) // every cache empty
  same(await ctx.store.get(alice.publicKey, 3), blocks[2]!)
  assert.is(await ctx.store.get(alice.publicKey, 7), undefined) // a gap below the head
  same(await ctx.store.get(alice.publicKey, 9), far)
  assert.is(await ctx.store.get(alice.publicKey, 10), undefined)
  assert.is(await ctx.store.get(bob.publicKey, 1), undefined) // learned empty...
  const bobs = chain(bob, 2)
  await putAll(ctx.store, bobs)
  same(await ctx.store.get(bob.publicKey, 1), bobs[0]!) // ...and a commit keeps that up to date
  same(await ctx.store.get(bob.publicKey, 2), bobs[1]!)
  assert.is(await ctx.store.get(bob.publicKey, 3), undefined)
})

test('get read while a commit to its chain is in flight is never stale afterwards', async ({ store }) => {
  for (let round = 1; round <= 12; round++) {
    // a new chain each round, so that get has to learn its head while the commit runs
    const owner = identityFromSeed(new Uint8Array(32).fill(100 + round))
    const first = block(owner, 1)
    const getFirst = round % 2 === 0
    const early = getFirst ? store.get(owner.publicKey, 1) : undefined
    const commit = putAll(store, [first])
    const during = getFirst ? early! : store.get(owner.publicKey, 1)
    await commit
    const seen = await during
    if (seen !== undefined) same(seen, first)
    same(await store.get(owner.publicKey, 1), first, `round ${round}`)
    assert.is(await store.get(owner.publicKey, 2), undefined)
  }
})

test('range: every option, alone and together, with gaps', async ({ store }) => {
  await putAll(store, chain(alice, 10).filter((b) => b.seq !== 6))
  await putAll(store, chain(bob, 3))
  const r = async (o?: Parameters<BlockStore['range']>[1]) => seqs(await store.range(alice.publicKey, o))
  assert.equal(await r(), [1, 2, 3, 4, 5, 7, 8, 9, 10])
  assert.equal(await r({}), [1, 2, 3, 4, 5, 7, 8, 9, 10])
  assert.equal(await r({ from: 5 }), [5, 7, 8, 9, 10])
  assert.equal(await r({ to: 3 }), [1, 2, 3])
  assert.equal(await r({ from: 4, to: 8 }), [4, 5, 7, 8])
  assert.equal(await r({ from: 6, to: 6 }), [])
  assert.equal(await r({ limit: 2 }), [1, 2])
  assert.equal(await r({ from: 5, limit: 2 }), [5, 7])
  assert.equal(await r({ reverse: true }), [10, 9, 8, 7, 5, 4, 3, 2, 1])
  assert.equal(await r({ reverse: true, limit: 3 }), [10, 9, 8])
  assert.equal(await r({ reverse: true, to: 6, limit: 2 }), [5, 4])
  assert.equal(await r({ reverse: true, from: 3, to: 7 }), [7, 5, 4, 3])
  assert.equal(await r({ reverse: false, from: 9, to: 100 }), [9, 10])
  assert.equal(await r({ to: 0 }), [])
  assert.equal(await r({ from: 11 }), [])
  assert.equal(await r({ from: 5, to: 4 }), [])
  assert.equal(await r({ limit: 0 }), [])
  assert.equal(await r({ from: -5, to: 2 }), [1, 2])
  assert.equal(seqs(await store.range(bob.publicKey, { reverse: true })), [3, 2, 1])
  assert.equal(await store.range(carol.publicKey), [])
})

test('key order is public key then numeric seq (255 < 256 < 65536 < 2^32 < 2^53-1)', async ({ store }) => {
  const order = [1, 2, 255, 256, 257, 511, 512, 65535, 65536, 65537, 2 ** 24, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER]
  // stored in a scrambled order, one batch each, so that no write order can explain the result
  for (const seq of [...order].reverse().sort((a, b) => (a * 7919) % 13 - (b * 7919) % 13)) await putAll(store, [block(alice, seq)])
  await putAll(store, [block(bob, 256), block(bob, 255)])
  assert.equal(seqs(await store.range(alice.publicKey)), order)
  assert.equal(seqs(await store.range(alice.publicKey, { reverse: true })), [...order].reverse())
  assert.equal(seqs(await store.range(alice.publicKey, { from: 256, to: 65536 })), [256, 257, 511, 512, 65535, 65536])
  assert.equal(seqs(await store.range(alice.publicKey, { from: 2 ** 32 - 1, limit: 2 })), [2 ** 32 - 1, 2 ** 32])
  assert.is((await store.latest(alice.publicKey))!.seq, Number.MAX_SAFE_INTEGER)
  assert.is((await store.get(alice.publicKey, 2 ** 32))!.seq, 2 ** 32)
  assert.is(await store.get(alice.publicKey, 2 ** 32 + 2), undefined)
  assert.equal(seqs(await store.range(bob.publicKey)), [255, 256])
  const agents = (await store.agents()).map(toHex)
  assert.equal(agents, [alice.publicKeyHex, bob.publicKeyHex].sort())
})

test('findAgreement: by proposal and signer; the lowest agreement when a signer answered twice', async ({ store }) => {
  const proposals = [1, 256].map((seq) => block(alice, seq, { link: bob.publicKey }))
  const agreeTo = (p: HalfBlock, seq: number, signer = bob) => block(signer, seq, { link: alice.publicKey, linkSeq: p.seq, payload: p.payload as string })
  const a1 = agreeTo(proposals[0]!, 7)
  const a256 = agreeTo(proposals[1]!, 3)
  await putAll(store, [...proposals, a1, a256])
  same(await store.findAgreement(alice.publicKey, 1, bob.publicKey), a1)
  same(await store.findAgreement(alice.publicKey, 256, bob.publicKey), a256)
  assert.is(await store.findAgreement(alice.publicKey, 2, bob.publicKey), undefined)
  assert.is(await store.findAgreement(alice.publicKey, 1, carol.publicKey), undefined)
  assert.is(await store.findAgreement(bob.publicKey, 1, alice.publicKey), undefined)
  // a double countersign stored anyway (stores do not validate): the earlier one in bob's chain
  await putAll(store, [agreeTo(proposals[0]!, 9)])
  await putAll(store, [agreeTo(proposals[0]!, 5)])
  assert.is((await store.findAgreement(alice.publicKey, 1, bob.publicKey))!.seq, 5)
  const byCarol = agreeTo(proposals[0]!, 1, carol)
  await putAll(store, [byCarol])
  same(await store.findAgreement(alice.publicKey, 1, carol.publicKey), byCarol)
})

test('fraud proofs: kept, listed per accused, deduplicated, in the batch that carried them', async ({ store }) => {
  const honest = chain(alice, 2)
  const fork = chain(alice, 2, 'fork')[1]!
  const proof = createFraudProof('double-sign', [honest[1]!, fork])
  const bobs = chain(bob, 1)[0]!
  const bobProof = createFraudProof('double-sign', [bobs, block(bob, 1, { payload: 'other' })])
  assert.equal(await store.fraudProofs(), [])
  assert.is(await store.hasFraud(alice.publicKey), false)
  await store.batch().putFraudProof(proof).put(honest[0]!).commit()
  await store.batch().putFraudProof(createFraudProof('double-sign', [fork, honest[1]!])).commit()
  await store.batch().putFraudProof(bobProof).commit()
  assert.is(await store.hasFraud(alice.publicKey), true)
  assert.is(await store.hasFraud(bob.publicKey), true)
  assert.is(await store.hasFraud(carol.publicKey), false)
  const ids = (proofs: readonly Parameters<typeof fraudProofId>[0][]) => proofs.map((p) => toHex(fraudProofId(p))).sort()
  assert.equal(ids(await store.fraudProofs(alice.publicKey)), ids([proof]))
  assert.equal(ids(await store.fraudProofs(bob.publicKey)), ids([bobProof]))
  assert.equal(ids(await store.fraudProofs()), ids([proof, bobProof]))
  assert.equal(await store.fraudProofs(carol.publicKey), [])
  const [kept] = await store.fraudProofs(alice.publicKey)
  assert.is(kept!.kind, 'double-sign')
  assert.equal(kept!.blocks.map((b) => toHex(blockHash(b))), proof.blocks.map((b) => toHex(blockHash(b))))
})

test('agents: each chain once, in key order, however long', async ({ store }) => {
  assert.equal(await store.agents(), [])
  await putAll(store, chain(alice, 40))
  await putAll(store, [block(bob, 1), block(bob, 2 ** 40)])
  await putAll(store, [block(carol, Number.MAX_SAFE_INTEGER)])
  const agents = (await store.agents()).map(toHex)
  assert.equal(agents, [alice, bob, carol].map((i) => i.publicKeyHex).sort())
})

test('agents lists a chain once however its blocks arrived: cold, cached empty, cached head', async (ctx) => {
  await putAll(ctx.store, [block(alice, 1)]) // head unknown
  assert.is(await ctx.store.latest(bob.publicKey), undefined)
  await putAll(ctx.store, [block(bob, 1)]) // head cached as empty
  await putAll(ctx.store, [block(bob, 2), block(alice, 2)]) // heads cached
  await ctx.store.close()
  ctx.store = await openLevelStore({ path: ctx.path })
  await putAll(ctx.store, [block(alice, 3), block(carol, 5)]) // cold again
  const all = [alice, bob, carol].map((i) => i.publicKeyHex).sort()
  assert.equal((await ctx.store.agents()).map(toHex), all)
  const none = await openLevelStore({ path: freshPath(), headCacheSize: 0 })
  await putAll(none, [block(alice, 1)])
  await putAll(none, [block(alice, 2)])
  assert.equal((await none.agents()).map(toHex), [alice.publicKeyHex])
  assert.is((await none.latest(alice.publicKey))!.seq, 2)
  assert.is(await codeOf(putAll(none, [block(alice, 2, { payload: 'other' })])), 'ERR_CONFLICT')
  await none.close()
})

test('a conflict refuses the whole batch: no block, no index, no proof written', async ({ store }) => {
  const honest = chain(alice, 3)
  await putAll(store, honest.slice(0, 2))
  const fork = chain(alice, 2, 'fork')[1]!
  const bobs = block(bob, 1)
  const proof = createFraudProof('double-sign', [honest[1]!, fork])
  const batch = store.batch().put(honest[2]!).put(bobs).putFraudProof(proof).put(fork)
  assert.is(await codeOf(batch.commit()), 'ERR_CONFLICT')
  assert.is(await store.get(alice.publicKey, 3), undefined)
  assert.is(await store.getByHash(blockHash(honest[2]!)), undefined)
  assert.is(await store.getByHash(blockHash(bobs)), undefined)
  assert.is(await store.getByHash(blockHash(fork)), undefined)
  assert.is(await store.latest(bob.publicKey), undefined)
  assert.equal(await store.agents(), [alice.publicKey])
  assert.is(await store.hasFraud(alice.publicKey), false)
  same(await store.get(alice.publicKey, 2), honest[1]!)
  same(await store.latest(alice.publicKey), honest[1]!)
})

test('conflicts are found whether the slot is the cached head, below it, or unknown', async (ctx) => {
  const honest = chain(alice, 5)
  await putAll(ctx.store, honest)
  const other = (seq: number) => block(alice, seq, { payload: 'forged' })
  assert.is((await ctx.store.latest(alice.publicKey))!.seq, 5)
  assert.is(await codeOf(putAll(ctx.store, [other(5)])), 'ERR_CONFLICT') // the cached head
  assert.is(await codeOf(putAll(ctx.store, [other(2)])), 'ERR_CONFLICT') // below it
  await ctx.store.close()
  ctx.store = await openLevelStore({ path: ctx.path }) // nothing cached
  assert.is(await codeOf(putAll(ctx.store, [other(5)])), 'ERR_CONFLICT')
  assert.is(await codeOf(putAll(ctx.store, [other(1)])), 'ERR_CONFLICT')
  assert.is(await codeOf(putAll(ctx.store, [block(alice, 6), block(alice, 6, { payload: 'twin' })])), 'ERR_CONFLICT') // inside one batch
  assert.is(await ctx.store.get(alice.publicKey, 6), undefined)
  for (const b of honest) same(await ctx.store.get(alice.publicKey, b.seq), b)
})

test('concurrent batches at one slot: exactly one wins', async ({ store }) => {
  for (let seq = 1; seq <= 10; seq++) {
    const rivals = ['x', 'y', 'z'].map((p) => block(alice, seq, { payload: p }))
    const results = await Promise.allSettled(rivals.map((b) => putAll(store, [b])))
    assert.is(results.filter((r) => r.status === 'fulfilled').length, 1)
    for (const r of results) if (r.status === 'rejected') assert.is((r.reason as { code?: string }).code, 'ERR_CONFLICT')
    const winner = rivals[results.findIndex((r) => r.status === 'fulfilled')]!
    same(await store.get(alice.publicKey, seq), winner)
  }
})

test('many batches at once (an agent with transactions in flight): rivals refused alone, every resolved batch readable and kept', async (ctx) => {
  const honest = chain(alice, 120)
  const rivals = [10, 40, 41, 90].map((seq) => block(alice, seq, { payload: 'rival' }))
  const others = chain(bob, 30)
  // all queued in one turn: they are checked and written one after another
  const batches = [...honest.map((b) => [b]), ...rivals.map((b) => [b]), [others[0]!, others[1]!], ...others.slice(2).map((b) => [b])]
  const results = await Promise.allSettled(batches.map(async (blocks) => {
    await putAll(ctx.store, blocks)
    // resolved means written: readable at once
    for (const b of blocks) same(await ctx.store.get(b.publicKey, b.seq), b)
  }))
  const refused = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []))
  // the honest block at each rival's seq was queued first, so every rival is the one refused
  assert.equal(refused, rivals.map((_, k) => honest.length + k))
  for (const i of refused) assert.is(((results[i] as PromiseRejectedResult).reason as { code?: string }).code, 'ERR_CONFLICT')
  await ctx.store.close()
  ctx.store = await openLevelStore({ path: ctx.path })
  assert.equal(seqs(await ctx.store.range(alice.publicKey)), honest.map((b) => b.seq))
  assert.equal(seqs(await ctx.store.range(bob.publicKey)), others.map((b) => b.seq))
  for (const b of [...honest, ...others]) same(await ctx.store.get(b.publicKey, b.seq), b)
})

test('a commit that could be written at once waits behind one queued for a read, and behind an eviction', async (ctx) => {
  const a = chain(alice, 4)
  const b = chain(bob, 2)
  await putAll(ctx.store, [a[0]!]) // alice's head is cached: her next block needs no read
  await ctx.store.close()
  ctx.store = await openLevelStore({ path: ctx.path }) // nothing cached
  await putAll(ctx.store, [a[0]!]) // a no-op that learns alice's head
  const order: string[] = []
  const ordered = (name: string, blocks: HalfBlock[]): Promise<void> => {
    const batch = ctx.store.batch()
    for (const x of blocks) batch.put(x)
    const commit = batch.commitOrdered!()
    return commit.ordered.then(() => void order.push(name)).then(() => commit.durable)
  }
  // in one turn: bob's head must be read first; alice's block, which alone would be written at
  // once, and a rival of bob's block must wait for it
  const results = await Promise.allSettled([
    ordered('bob', [b[0]!]),
    ordered('alice', [a[1]!]),
    ordered('rival', [block(bob, 1, { payload: 'rival' })]),
  ])
  assert.equal(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected'])
  assert.is(((results[2] as PromiseRejectedResult).reason as { code?: string }).code, 'ERR_CONFLICT')
  assert.equal(order, ['bob', 'alice'])
  // an eviction queued first is done before a later commit is written: that block stays
  const evicted = ctx.store.evict(alice.publicKey)
  const put = putAll(ctx.store, [a[2]!])
  assert.is(await evicted, 2)
  await put
  assert.equal(seqs(await ctx.store.range(alice.publicKey)), [3])
  await ctx.store.close()
  ctx.store = await openLevelStore({ path: ctx.path })
  assert.equal(seqs(await ctx.store.range(alice.publicKey)), [3])
  same(await ctx.store.get(bob.publicKey, 1), b[0]!)
})

test('putting the same block again is a no-op, alone, twice in a batch, or decoded', async ({ store }) => {
  const blocks = chain(alice, 3)
  await putAll(store, blocks)
  await putAll(store, blocks)
  await putAll(store, [blocks[1]!, blocks[1]!])
  const decoded = await store.get(alice.publicKey, 2)
  await putAll(store, [decoded!, blocks[2]!])
  assert.equal(seqs(await store.range(alice.publicKey)), [1, 2, 3])
  assert.equal(await store.agents(), [alice.publicKey])
})

test('reopening the same path returns everything', async (ctx) => {
  const blocks = chain(alice, 30)
  const proposal = block(bob, 1, { link: alice.publicKey })
  const agreement = block(carol, 1, { link: bob.publicKey, linkSeq: 1, payload: proposal.payload as string })
  const proof = createFraudProof('double-sign', [blocks[4]!, chain(alice, 5, 'fork')[4]!])
  await putAll(ctx.store, blocks.slice(0, 10))
  await putAll(ctx.store, blocks.slice(10))
  await ctx.store.batch().put(proposal).put(agreement).putFraudProof(proof).commit()
  await ctx.store.close()
  ctx.store = await openLevelStore({ path: ctx.path })
  for (const b of blocks) {
    same(await ctx.store.get(alice.publicKey, b.seq), b)
    same(await ctx.store.getByHash(blockHash(b)), b)
  }
  same(await ctx.store.latest(alice.publicKey), blocks[29]!)
  assert.equal(seqs(await ctx.store.range(alice.publicKey, { from: 28 })), [28, 29, 30])
  same(await ctx.store.findAgreement(bob.publicKey, 1, carol.publicKey), agreement)
  assert.is(await ctx.store.hasFraud(alice.publicKey), true)
  assert.is(toHex(fraudProofId((await ctx.store.fraudProofs(alice.publicKey))[0]!)), toHex(fraudProofId(proof)))
  assert.equal((await ctx.store.agents()).map(toHex), [alice, bob, carol].map((i) => i.publicKeyHex).sort())
  // and an agent picks up where its chain ends
  const agent = createAgent({ head: 'local', identity: alice, store: ctx.store, types: createBlockTypes([{ name: 'note' }]) })
  const next = await agent.append('note', 'after reopen')
  assert.is(next.seq, 31)
  assert.is(toHex(next.previousHash), toHex(blockHash(blocks[29]!)))
})

test('close: every later call rejects with ClosedError; close twice is fine', async (ctx) => {
  const b = block(alice, 1)
  await putAll(ctx.store, [b])
  const pending = ctx.store.batch().put(block(alice, 2))
  const inflight = putAll(ctx.store, [block(alice, 3)]) // accepted before close: it completes
  await ctx.store.close()
  await inflight
  const s = ctx.store
  const calls: (() => Promise<unknown>)[] = [
    () => s.get(alice.publicKey, 1),
    () => s.getByHash(blockHash(b)),
    () => s.latest(alice.publicKey),
    () => s.range(alice.publicKey),
    () => s.findAgreement(alice.publicKey, 1, bob.publicKey),
    () => s.fraudProofs(),
    () => s.fraudProofs(alice.publicKey),
    () => s.hasFraud(alice.publicKey),
    () => s.agents(),
    () => pending.commit(),
    () => s.batch().put(block(alice, 4)).commit(),
  ]
  for (const call of calls) {
    let error: unknown
    try {
      await call()
    } catch (err) {
      error = err
    }
    assert.is((error as Error | undefined)?.name, 'ClosedError', String(call))
    assert.is((error as { code?: string }).code, 'ERR_CLOSED')
  }
  await s.close()
  ctx.store = await openLevelStore({ path: ctx.path })
  assert.equal(seqs(await ctx.store.range(alice.publicKey)), [1, 3])
})

test('caller mistakes are TypeError or RangeError naming the argument', async ({ store }) => {
  const rejects = async (promise: Promise<unknown>, type: ErrorConstructor, name: string) => {
    try {
      await promise
      assert.unreachable('should reject')
    } catch (err) {
      assert.instance(err, type)
      assert.match((err as Error).message, `"${name}"`)
    }
  }
  await rejects(store.get(new Uint8Array(31), 1), RangeError, 'publicKey')
  await rejects(store.get('ab' as unknown as Uint8Array, 1), TypeError, 'publicKey')
  await rejects(store.get(alice.publicKey, -1), RangeError, 'seq')
  await rejects(store.get(alice.publicKey, 1.5), TypeError, 'seq')
  await rejects(store.getByHash(new Uint8Array(3)), RangeError, 'hash')
  await rejects(store.range(alice.publicKey, { limit: 1.5 }), TypeError, 'limit')
  await rejects(store.findAgreement(alice.publicKey, 1, new Uint8Array(0)), RangeError, 'signer')
  await rejects(store.batch().put({ seq: 1 } as unknown as HalfBlock).commit(), TypeError, 'publicKey')
  await rejects(openLevelStore({ path: '' }), TypeError, 'path')
})

test('the directory is locked while a store has it open: ERR_LOCKED, and the store keeps working', async ({ store, path }) => {
  let error: unknown
  try {
    await openLevelStore({ path })
  } catch (err) {
    error = err
  }
  assert.instance(error, LockedError)
  assert.is((error as LockedError).code, 'ERR_LOCKED')
  assert.match((error as Error).message, path)
  assert.is(((error as Error).cause as { code?: string }).code, 'LEVEL_DATABASE_NOT_OPEN')
  await putAll(store, chain(alice, 2))
  assert.is((await store.latest(alice.publicKey))?.seq, 2)
  await store.close()
  const again = await openLevelStore({ path }) // released on close
  assert.is((await again.latest(alice.publicKey))?.seq, 2)
  await again.close()
})

test('format version: written on create, newer versions and foreign databases refused', async ({ path }) => {
  // the store under test has the directory open; use others
  const newer = freshPath()
  const db = new ClassicLevel<Uint8Array, Uint8Array>(newer, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.put(Uint8Array.of(0x76), encodeCanonical(2))
  await db.close()
  assert.is(await codeOf(openLevelStore({ path: newer })), 'ERR_STORE_VERSION')

  const foreign = freshPath()
  const other = new ClassicLevel(foreign)
  await other.put('hello', 'world')
  await other.close()
  assert.is(await codeOf(openLevelStore({ path: foreign })), 'ERR_STORE_VERSION')

  const created = freshPath()
  await (await openLevelStore({ path: created })).close()
  const check = new ClassicLevel<Uint8Array, Uint8Array>(created, { keyEncoding: 'view', valueEncoding: 'view' })
  const version = await check.get(Uint8Array.of(0x76))
  await check.close()
  assert.equal(version === undefined ? undefined : [...version], [...encodeCanonical(1)])
  const reopened = await openLevelStore({ path: created })
  await reopened.close()
  void path
})

test('sync: false commits the same way', async () => {
  const path = freshPath()
  const store = await openLevelStore({ path, sync: false })
  const agent = createAgent({ head: 'local', identity: alice, store, types: createBlockTypes([{ name: 'note' }]) })
  for (let i = 0; i < 5; i++) await agent.append('note', i)
  await store.close()
  const again = await openLevelStore({ path })
  assert.is((await again.latest(alice.publicKey))!.seq, 5)
  await again.close()
})

test('sync: false, a large batch (an ingest chunk, written to LevelDB directly): conflicts refused, every index kept, reopened', async () => {
  const path = freshPath()
  const store = await openLevelStore({ path, sync: false })
  const blocks = chain(alice, 600)
  const rival = chain(alice, 600, 'fork')
  await store.batch().put(blocks[0]!).commit()
  // a large batch holding a block that conflicts with a stored one: nothing of it is written
  const refused = await store.batch().put(rival[0]!).put(rival[1]!).commit().then(() => 'written', (err: Error) => err.name)
  assert.is(refused, 'ConflictError')
  let batch = store.batch()
  for (const b of blocks.slice(1)) batch.put(b)
  await batch.commit()
  same(await store.latest(alice.publicKey), blocks[599]!)
  const bobs = chain(bob, 700)
  batch = store.batch()
  for (const b of bobs) batch.put(b)
  await batch.commit()
  same(await store.latest(bob.publicKey), bobs[699]!)
  same(await store.get(bob.publicKey, 350), bobs[349]!)
  same(await store.getByHash(blockHash(bobs[10]!)), bobs[10]!)
  // a second large batch with a different block at a stored slot is refused whole
  batch = store.batch()
  for (const b of chain(bob, 700, 'fork')) batch.put(b)
  assert.is(await batch.commit().then(() => 'written', (err: Error) => err.name), 'ConflictError')
  same(await store.get(bob.publicKey, 700), bobs[699]!)
  await store.close()
  const again = await openLevelStore({ path })
  assert.is((await again.latest(bob.publicKey))!.seq, 700)
  assert.is((await again.range(bob.publicKey)).length, 700)
  assert.is((await again.agents()).length, 2)
  await again.close()
})

// ## Caches: every answer from memory must equal what LevelDB holds

test('hasFraud: loaded at open, follows commits, unchanged by a refused batch', async (ctx) => {
  const honest = chain(alice, 2)
  const fork = chain(alice, 2, 'fork')[1]!
  const bobs = block(bob, 1)
  const bobFork = block(bob, 1, { payload: 'other' })
  assert.is(await ctx.store.hasFraud(alice.publicKey), false)
  await putAll(ctx.store, honest)
  // refused: the fork conflicts, so the proof that came with it is not stored either
  const refused = ctx.store.batch().putFraudProof(createFraudProof('double-sign', [bobs, bobFork])).put(fork)
  assert.is(await codeOf(refused.commit()), 'ERR_CONFLICT')
  assert.is(await ctx.store.hasFraud(bob.publicKey), false)
  await ctx.store.batch().putFraudProof(createFraudProof('double-sign', [honest[1]!, fork])).commit()
  assert.is(await ctx.store.hasFraud(alice.publicKey), true)
  assert.is(await ctx.store.hasFraud(bob.publicKey), false)
  await ctx.store.close()
  ctx.store = await openLevelStore({ path: ctx.path })
  assert.is(await ctx.store.hasFraud(alice.publicKey), true)
  assert.is(await ctx.store.hasFraud(bob.publicKey), false)
  await ctx.store.batch().putFraudProof(createFraudProof('double-sign', [bobs, bobFork])).commit()
  assert.is(await ctx.store.hasFraud(bob.publicKey), true)
})

test('findAgreement: a cached "none" follows commits, a lower double countersign, reopen', async (ctx) => {
  const proposals = chain(alice, 4).map((b, i) => block(alice, i + 1, { link: bob.publicKey, payload: b.payload as string }))
  const agreeTo = (seq: number, bobSeq: number, payload = `#${seq}`) => block(bob, bobSeq, { link: alice.publicKey, linkSeq: seq, payload })
  await putAll(ctx.store, proposals.slice(0, 2))
  await putAll(ctx.store, [agreeTo(1, 1)])
  same(await ctx.store.findAgreement(alice.publicKey, 1, bob.publicKey), agreeTo(1, 1))
  // none yet, above the highest answered proposal and below it
  assert.is(await ctx.store.findAgreement(alice.publicKey, 2, bob.publicKey), undefined)
  assert.is(await ctx.store.findAgreement(alice.publicKey, 3, bob.publicKey), undefined)
  assert.is(await ctx.store.findAgreement(alice.publicKey, 0, bob.publicKey), undefined)
  await putAll(ctx.store, [agreeTo(3, 5)])
  same(await ctx.store.findAgreement(alice.publicKey, 3, bob.publicKey), agreeTo(3, 5))
  assert.is(await ctx.store.findAgreement(alice.publicKey, 2, bob.publicKey), undefined)
  // refused: the agreement's slot is taken, so it answers nothing
  assert.is(await codeOf(putAll(ctx.store, [agreeTo(2, 5)])), 'ERR_CONFLICT')
  assert.is(await ctx.store.findAgreement(alice.publicKey, 2, bob.publicKey), undefined)
  await putAll(ctx.store, [agreeTo(3, 2, 'again')]) // a double countersign lower in bob's chain
  assert.is((await ctx.store.findAgreement(alice.publicKey, 3, bob.publicKey))!.seq, 2)
  await ctx.store.close()
  ctx.store = await openLevelStore({ path: ctx.path })
  assert.is(await ctx.store.findAgreement(alice.publicKey, 4, bob.publicKey), undefined)
  assert.is((await ctx.store.findAgreement(alice.publicKey, 3, bob.publicKey))!.seq, 2)
  await putAll(ctx.store, [agreeTo(4, 6)])
  same(await ctx.store.findAgreement(alice.publicKey, 4, bob.publicKey), agreeTo(4, 6))
})

test('get and neighbour ranges at and around the head follow commits, conflicts and reopen', async (ctx) => {
  const blocks = chain(alice, 6)
  const prev = async (seq: number) => seqs(await ctx.store.range(alice.publicKey, { to: seq - 1, limit: 1, reverse: true }))
  const next = async (seq: number) => seqs(await ctx.store.range(alice.publicKey, { from: seq + 1, limit: 1 }))
  assert.equal(await next(0), [])
  assert.equal(await prev(5), [])
  await putAll(ctx.store, blocks.slice(0, 3))
  assert.is((await ctx.store.latest(alice.publicKey))!.seq, 3)
  assert.is(await ctx.store.get(alice.publicKey, 4), undefined)
  assert.equal(await next(3), [])
  assert.equal(await prev(4), [3])
  assert.equal(await prev(9), [3])
  await putAll(ctx.store, [blocks[4]!]) // seq 5: a gap at 4
  same(await ctx.store.get(alice.publicKey, 5), blocks[4]!)
  assert.is(await ctx.store.get(alice.publicKey, 4), undefined)
  assert.equal(await next(3), [5])
  assert.equal(await prev(5), [3])
  assert.equal(await prev(6), [5])
  assert.is(await codeOf(putAll(ctx.store, [blocks[5]!, block(alice, 5, { payload: 'forged' })])), 'ERR_CONFLICT')
  assert.is(await ctx.store.get(alice.publicKey, 6), undefined)
  assert.equal(await next(5), [])
  await putAll(ctx.store, [blocks[3]!]) // fills the gap below the head
  assert.equal(await next(3), [4])
  assert.equal(await prev(5), [4])
  await ctx.store.close()
  ctx.store = await openLevelStore({ path: ctx.path })
  assert.equal(await next(4), [5])
  assert.equal(await prev(9), [5])
  assert.is(await ctx.store.get(alice.publicKey, 6), undefined)
  await putAll(ctx.store, [blocks[5]!])
  assert.equal(await next(5), [6])
  same(await ctx.store.get(alice.publicKey, 6), blocks[5]!)
})

test('findAgreement and get read while a commit is in flight are never stale afterwards', async ({ store }) => {
  for (let seq = 1; seq <= 20; seq++) {
    const proposal = block(alice, seq, { link: bob.publicKey })
    const agreement = block(bob, seq, { link: alice.publicKey, linkSeq: seq, payload: proposal.payload as string })
    const commit = putAll(store, [proposal, agreement])
    const during = [store.findAgreement(alice.publicKey, seq, bob.publicKey), store.get(alice.publicKey, seq), store.hasFraud(bob.publicKey)]
    await commit
    await Promise.all(during)
    same(await store.findAgreement(alice.publicKey, seq, bob.publicKey), agreement)
    same(await store.get(bob.publicKey, seq), agreement)
    assert.equal(seqs(await store.range(alice.publicKey, { from: seq, limit: 1 })), [seq])
  }
})

test('a first findAgreement for a proposer, racing the commit of its agreement, is never stale afterwards', async ({ store }) => {
  for (let round = 1; round <= 40; round++) {
    const proposer = identityFromSeed(new Uint8Array(32).fill(100 + round)) // not yet known to the store
    const agreement = block(bob, round, { link: proposer.publicKey, linkSeq: 1 })
    const commit = putAll(store, [agreement])
    const during = [store.findAgreement(proposer.publicKey, 1, bob.publicKey), store.findAgreement(proposer.publicKey, 2, bob.publicKey)]
    await commit
    await Promise.all(during)
    same(await store.findAgreement(proposer.publicKey, 1, bob.publicKey), agreement, `round ${round}`)
    assert.is(await store.findAgreement(proposer.publicKey, 2, bob.publicKey), undefined)
  }
})

/** Deterministic pseudo-random numbers in [0, 1). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Random batches (honest blocks, forks, double countersigns, fraud proofs; some refused) against a
 * store and a plain model of what it must hold, reading everything in a random order after each
 * step (so that every cache is warm when the next commit comes), sometimes during the commit,
 * sometimes after a reopen.
 */
async function modelCheck(ctx: { store: BlockStore; path: string }, options: { headCacheSize?: number; blockCacheSize?: number }, seed: number): Promise<void> {
  const open = () => openLevelStore({ path: ctx.path, ...options })
  await ctx.store.close()
  ctx.store = await open()
  const rand = random(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!
  const N = 10
  const candidates: HalfBlock[] = []
  const proofs: ReturnType<typeof createFraudProof>[] = []
  for (let seq = 1; seq <= N; seq++) {
    candidates.push(block(alice, seq, { link: bob.publicKey }))
    candidates.push(block(bob, seq, { link: alice.publicKey, linkSeq: seq, payload: `#${seq}` }))
    candidates.push(block(carol, seq))
  }
  for (const seq of [3, 7]) {
    const fork = block(alice, seq, { link: bob.publicKey, payload: 'fork' })
    candidates.push(fork)
    proofs.push(createFraudProof('double-sign', [candidates[(seq - 1) * 3]!, fork]))
  }
  const bobFork = block(bob, 4, { link: alice.publicKey, linkSeq: 6, payload: '#6' }) // a fork that is also an agreement
  const carolFork = block(carol, 2, { payload: 'fork' })
  candidates.push(bobFork, carolFork, block(bob, 11, { link: alice.publicKey, linkSeq: 2, payload: '#2' }), block(bob, 12, { link: alice.publicKey, linkSeq: 5, payload: '#5' }))
  proofs.push(createFraudProof('double-sign', [candidates[3 * 3 + 1]!, bobFork]), createFraudProof('double-sign', [candidates[1 * 3 + 2]!, carolFork]))

  // the model: slot → block, accused keys
  const held = new Map<string, HalfBlock>()
  const accused = new Set<string>()
  const slot = (b: HalfBlock) => `${toHex(b.publicKey)}:${b.seq}`
  const sameBlock = (a: HalfBlock, b: HalfBlock) => toHex(blockHash(a)) === toHex(blockHash(b))
  const chainOf = (key: Uint8Array) => [...held.values()].filter((b) => toHex(b.publicKey) === toHex(key)).sort((a, b) => a.seq - b.seq)
  const hashes = (blocks: readonly (HalfBlock | undefined)[]) => blocks.map((b) => (b === undefined ? '-' : toHex(blockHash(b))))
  const keys = [alice, bob, carol].map((i) => i.publicKey)

  const queries = (): { name: string; actual: () => Promise<unknown>; expected: () => unknown }[] => {
    const out: { name: string; actual: () => Promise<unknown>; expected: () => unknown }[] = []
    const s = ctx.store
    for (const key of keys) {
      const k = toHex(key).slice(0, 4)
      out.push({ name: `latest ${k}`, actual: async () => hashes([await s.latest(key)]), expected: () => hashes([chainOf(key).at(-1)]) })
      out.push({ name: `hasFraud ${k}`, actual: () => s.hasFraud(key), expected: () => accused.has(toHex(key)) })
      out.push({ name: `range ${k}`, actual: async () => hashes(await s.range(key)), expected: () => hashes(chainOf(key)) })
      for (let seq = 0; seq <= N + 3; seq++) {
        out.push({ name: `get ${k} ${seq}`, actual: async () => hashes([await s.get(key, seq)]), expected: () => hashes([held.get(`${toHex(key)}:${seq}`)]) })
        out.push({
          name: `prev ${k} ${seq}`,
          actual: async () => hashes(await s.range(key, { to: seq - 1, limit: 1, reverse: true })),
          expected: () => hashes(chainOf(key).filter((b) => b.seq <= seq - 1).slice(-1)),
        })
        out.push({
          name: `next ${k} ${seq}`,
          actual: async () => hashes(await s.range(key, { from: seq + 1, limit: 1 })),
          expected: () => hashes(chainOf(key).filter((b) => b.seq >= seq + 1).slice(0, 1)),
        })
        for (const signer of keys) {
          if (signer === key) continue
          out.push({
            name: `findAgreement ${k} ${seq} by ${toHex(signer).slice(0, 4)}`,
            actual: async () => hashes([await s.findAgreement(key, seq, signer)]),
            expected: () => hashes([chainOf(signer).find((b) => isAgreement(b) && b.linkSeq === seq && toHex(b.linkPublicKey) === toHex(key))]),
          })
        }
      }
    }
    out.push({ name: 'agents', actual: async () => (await s.agents()).map(toHex), expected: () => keys.filter((key) => chainOf(key).length > 0).map(toHex).sort() })
    return out
  }

  for (let step = 0; step < 60; step++) {
    const blocks = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(candidates))
    const proof = rand() < 0.15 ? pick(proofs) : undefined
    // the model's verdict
    let refused = false
    const inBatch = new Map<string, HalfBlock>()
    for (const b of blocks) {
      const existing = held.get(slot(b)) ?? inBatch.get(slot(b))
      if (existing !== undefined && !sameBlock(existing, b)) refused = true
      inBatch.set(slot(b), existing ?? b)
    }
    const batch = ctx.store.batch()
    for (const b of blocks) batch.put(b)
    if (proof !== undefined) batch.putFraudProof(proof)
    const commit = codeOf(batch.commit())
    // reads racing the commit may see either state; they must not leave a stale cache behind
    const racing = rand() < 0.3 ? queries().filter(() => rand() < 0.2).map((q) => q.actual().catch(() => undefined)) : []
    assert.is(await commit, refused ? 'ERR_CONFLICT' : undefined, `step ${step}`)
    await Promise.all(racing)
    if (!refused) {
      for (const [key, b] of inBatch) if (!held.has(key)) held.set(key, b)
      if (proof !== undefined) accused.add(toHex(proof.publicKey))
    }
    if (rand() < 0.1) {
      await ctx.store.close()
      ctx.store = await open()
    }
    const all = queries()
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1))
      ;[all[i], all[j]] = [all[j]!, all[i]!]
    }
    for (const q of all.filter(() => rand() < 0.7)) assert.equal(await q.actual(), q.expected(), `step ${step}: ${q.name}`)
  }
  // and everything again from a cold store
  await ctx.store.close()
  ctx.store = await open()
  for (const q of queries()) assert.equal(await q.actual(), q.expected(), `reopened: ${q.name}`)
}

test('caches agree with a model over random commits, conflicts, races and reopens', async (ctx) => {
  await modelCheck(ctx, {}, 1)
})

test('caches agree with the model when tiny (evictions) and when off', async (ctx) => {
  await modelCheck(ctx, { headCacheSize: 1, blockCacheSize: 2 }, 2)
  await ctx.store.close()
  rmSync(ctx.path, { recursive: true, force: true })
  ctx.store = await openLevelStore({ path: ctx.path })
  await modelCheck(ctx, { headCacheSize: 0, blockCacheSize: 0 }, 3)
})

test.run()
