/**
 * The memory store indexes blocks by the first 30 bits of their hash, a bucket holding the blocks
 * that share them: two real blocks whose hashes share those bits (found by search: the chains
 * differ in their timestamp only) are both found by their own hash, and evicting one leaves the
 * other findable.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { GENESIS_HASH, UNILATERAL_KEY, blockHash, createMemoryStore, type HalfBlock } from '@tally/core'
import { T0, alice, bob, chain } from './helpers.ts'

const prefix = (h: Uint8Array): number => (h[0]! << 22) | (h[1]! << 14) | (h[2]! << 6) | (h[3]! >> 2)

/** Two first blocks, one in alice's chain and one in bob's, whose hashes share their first 30 bits. */
function collidingPair(): [HalfBlock, HalfBlock] {
  const seen = new Map<number, HalfBlock>()
  for (let i = 0; ; i++) {
    // hand-built and frozen (the store does not check signatures): only the hash matters here
    const owner = i % 2 === 0 ? alice : bob
    const block: HalfBlock = Object.freeze({
      publicKey: owner.publicKey, seq: 1, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: GENESIS_HASH,
      type: 'note', payload: 0, timestamp: T0 + (i >> 1), signature: new Uint8Array(64),
    })
    const p = prefix(blockHash(block))
    const other = seen.get(p)
    if (other !== undefined && other.publicKey !== block.publicKey) return [other, block]
    seen.set(p, block)
  }
}

test('blocks whose hashes share the index prefix: each found by its own hash, and after evicting one, the other', async () => {
  const [a, b] = collidingPair()
  assert.is(prefix(blockHash(a)), prefix(blockHash(b)))
  const store = createMemoryStore()
  const batch = store.batch()
  batch.put(a)
  batch.put(b)
  await batch.commit()
  assert.is(await store.getByHash(blockHash(a)), a)
  assert.is(await store.getByHash(blockHash(b)), b)
  const miss = blockHash(a).slice()
  miss[31] = miss[31]! ^ 1
  assert.is(await store.getByHash(miss), undefined)
  assert.is(await store.evict!(a.publicKey), 1)
  assert.is(await store.getByHash(blockHash(a)), undefined)
  assert.is(await store.getByHash(blockHash(b)), b)
})

test('the index by hash, made at the first lookup, follows the commits and evictions before and after it', async () => {
  const blocks = chain(alice, 6)
  const store = createMemoryStore()
  const put = async (bs: HalfBlock[]): Promise<void> => {
    const batch = store.batch()
    for (const b of bs) batch.put(b)
    await batch.commit()
  }
  await put(blocks.slice(0, 3))
  assert.is(await store.evict!(alice.publicKey, { from: 3 }), 1) // before the index exists
  assert.is(await store.getByHash(blockHash(blocks[2]!)), undefined)
  assert.is(await store.getByHash(blockHash(blocks[0]!)), blocks[0])
  await put(blocks.slice(2)) // after it
  for (const b of blocks) assert.is(await store.getByHash(blockHash(b)), b)
  assert.is(await store.evict!(alice.publicKey, { from: 5 }), 2)
  assert.is(await store.getByHash(blockHash(blocks[5]!)), undefined)
  assert.is(await store.getByHash(blockHash(blocks[3]!)), blocks[3])
})

test.run()
