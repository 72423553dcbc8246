/**
 * ingestBlocks over a store that answers only through promises (as LevelDB and IndexedDB do),
 * where validation reads ingest's overlay through its async methods: the outcome must be the one
 * a memory store (read at once) gives, block for block, with transactions between chains, frauds
 * of every kind ingest meets, and blocks stored beforehand. (Before this test, an agreement whose
 * link did not match crashed such an ingest: validation read the overlay's proofs "at once".)
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { GENESIS_HASH, blockHash, createMemoryStore, ingestBlocks, toHex, type BlockStore, type HalfBlock } from '@tally/core'
import { T0, alice, block, bob, carol, rules } from './helpers.ts'

/** A memory store seen only through its BlockStore methods, each answering on a later turn. */
function promiseStore(): BlockStore {
  const store = createMemoryStore()
  const later = <T>(value: Promise<T>): Promise<T> => value.then((x) => new Promise<T>((resolve) => setImmediate(() => resolve(x))))
  return {
    get: (key, seq) => later(store.get(key, seq)),
    getByHash: (hash) => later(store.getByHash(hash)),
    latest: (key) => later(store.latest(key)),
    range: (key, options) => later(store.range(key, options)),
    findAgreement: (key, seq, signer) => later(store.findAgreement(key, seq, signer)),
    fraudProofs: (key) => later(store.fraudProofs(key)),
    hasFraud: (key) => later(store.hasFraud(key)),
    agents: () => later(store.agents()),
    batch: () => store.batch(),
    close: () => store.close(),
  }
}

/**
 * Alice proposes to bob and carol, they agree; then frauds: bob answers one proposal twice,
 * carol answers one with another payload, alice forks her chain and breaks it.
 */
function scenario(): HalfBlock[] {
  const heads = new Map<string, HalfBlock>()
  const next = (id: typeof alice, spec: Parameters<typeof block>[1]): HalfBlock => {
    const prev = heads.get(id.publicKeyHex)
    const b = block(id, { seq: (prev?.seq ?? 0) + 1, previousHash: prev === undefined ? GENESIS_HASH : blockHash(prev), timestamp: T0 + (prev?.seq ?? 0), ...spec })
    heads.set(id.publicKeyHex, b)
    return b
  }
  const out: HalfBlock[] = []
  const proposals: HalfBlock[] = []
  for (let i = 0; i < 24; i++) {
    const to = i % 3 === 0 ? carol : bob
    const p = next(alice, { link: to.publicKey, payload: ['pay', i] })
    proposals.push(p)
    out.push(p)
    if (i % 5 !== 4) out.push(next(to, { link: alice.publicKey, linkSeq: p.seq, payload: ['pay', i] }))
  }
  // bob answers proposal 1 a second time: a double countersign
  out.push(next(bob, { link: alice.publicKey, linkSeq: proposals[1]!.seq, payload: ['pay', 1] }))
  // carol answers proposal 6 with another payload: the link does not match
  out.push(next(carol, { link: alice.publicKey, linkSeq: proposals[6]!.seq, payload: ['pay', 999] }))
  // alice signs another block at seq 10: a fork
  out.push(block(alice, { seq: 10, previousHash: blockHash(proposals[8]!), link: bob.publicKey, payload: ['other', 10], timestamp: T0 + 9 }))
  // and a block that does not chain to her seq 24
  out.push(block(alice, { seq: 25, previousHash: new Uint8Array(32).fill(7), link: bob.publicKey, payload: ['pay', 25], timestamp: T0 + 25 }))
  return out
}

/** What an ingest did, comparable across stores: counts, refusals by rule, proofs, and the chains stored. */
async function outcome(store: BlockStore, input: readonly HalfBlock[], stored: readonly HalfBlock[], chunkSize: number): Promise<unknown> {
  const batch = store.batch()
  for (const b of stored) batch.put(b)
  await batch.commit()
  const result = await ingestBlocks(input, { store, chunkSize })
  const chains = []
  for (const id of [alice, bob, carol]) chains.push((await store.range(id.publicKey)).map((b) => toHex(blockHash(b))))
  return {
    accepted: result.accepted,
    rejected: result.rejected.map((r) => [r.index, rules(r.errors)]),
    fraud: result.fraud.map((f) => f.kind),
    chains,
    proofs: (await store.fraudProofs()).length,
  }
}

test('the same outcome as over a memory store: transactions, a double countersign, a mismatched link, a fork, a chain break', async () => {
  const input = scenario()
  for (const chunkSize of [3, 8, 64]) {
    for (const stored of [[], input.filter((_, i) => i % 7 === 2)]) {
      const expected = await outcome(createMemoryStore(), input, stored, chunkSize)
      const got = await outcome(promiseStore(), input, stored, chunkSize)
      assert.equal(got, expected, `chunk ${chunkSize}, ${stored.length} stored before`)
    }
  }
  // the scenario meets what it is meant to
  const { fraud, rejected } = (await outcome(createMemoryStore(), input, [], 8)) as { fraud: string[]; rejected: unknown[] }
  assert.ok(fraud.includes('double-sign') && fraud.includes('chain-break'), fraud.join(', '))
  assert.ok(rejected.length >= 3)
})

test('a chain ingested in chunks on top of what the store holds: every block accepted, the chain whole', async () => {
  const input = scenario().slice(0, 40)
  const store = promiseStore()
  const first = await ingestBlocks(input.slice(0, 17), { store, chunkSize: 5 })
  const second = await ingestBlocks(input, { store, chunkSize: 5 })
  assert.is(first.accepted + second.accepted - 17, 40)
  assert.equal(second.rejected, [])
  assert.equal(second.fraud, [])
})

test.run()
