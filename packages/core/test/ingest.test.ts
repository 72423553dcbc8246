/**
 * ingestBlocks with a signature verifier that answers later (as @tally/node's pool does): it is
 * asked a few chunks ahead of validation, never further, its answers decide the signature rule,
 * and when it fails the error comes back from ingestBlocks (not as an unhandled rejection) with
 * every chunk before the failing one stored.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createMemoryStore, ingestBlocks, verifyBlock, type HalfBlock } from '@tally/core'
import { alice, chain, rules } from './helpers.ts'

const blocks = chain(alice, 40)
const CHUNK = 4

/** A verifier that records when each chunk was asked for and answers on a later turn. */
function laterVerifier(fail?: (chunk: number) => boolean) {
  const asked: number[] = []
  const verify = async (chunk: readonly HalfBlock[]): Promise<boolean[]> => {
    const index = (chunk[0]!.seq - 1) / CHUNK
    asked.push(index)
    await new Promise((resolve) => setImmediate(resolve))
    if (fail?.(index) === true) throw new Error(`verifier failed on chunk ${index}`)
    return chunk.map((b) => b.seq !== 7 && verifyBlock(b))
  }
  return { verify, asked }
}

/** The error `promise` rejects with (undefined when it resolves). */
async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (err) {
    return err
  }
  return undefined
}

/** Run `fn`; fail if a promise rejection went unhandled during it or in the 20 ms after. */
async function withoutUnhandledRejections(fn: () => Promise<void>): Promise<void> {
  let unhandled: unknown
  const onUnhandled = (reason: unknown): void => {
    unhandled = reason
  }
  process.on('unhandledRejection', onUnhandled)
  try {
    await fn()
    await new Promise((resolve) => setTimeout(resolve, 20))
    assert.is(unhandled, undefined)
  } finally {
    process.off('unhandledRejection', onUnhandled)
  }
}

test('the verifier is asked in order, at most two chunks beyond the one being validated, and decides the signature rule', async () => {
  const v = laterVerifier()
  const store = createMemoryStore()
  const inner = store.batch.bind(store)
  let aheadAtCommit = 0
  let committed = 0
  store.batch = () => {
    const batch = inner()
    const commit = batch.commit.bind(batch)
    batch.commit = async () => {
      // chunk k is being committed: the verifier has been asked up to chunk k + 2 (and no further)
      aheadAtCommit = Math.max(aheadAtCommit, v.asked.length - 1 - committed++)
      return commit()
    }
    return batch
  }
  const result = await ingestBlocks(blocks, { store, verifySignatures: v.verify, chunkSize: CHUNK })
  assert.equal(v.asked, Array.from({ length: 10 }, (_, i) => i))
  assert.is(aheadAtCommit, 2)
  assert.is(result.accepted, 39)
  assert.equal(result.rejected.map((r) => r.index), [6])
  assert.equal(rules(result.rejected[0]!.errors), ['signature'])
})

test('a verifier that fails on a chunk ahead: ingestBlocks rejects with its error, earlier chunks are stored', async () => {
  await withoutUnhandledRejections(async () => {
    const v = laterVerifier((chunk) => chunk === 3)
    const store = createMemoryStore()
    const thrown = await errorOf(ingestBlocks(blocks, { store, verifySignatures: v.verify, chunkSize: CHUNK }))
    assert.match(String(thrown), /verifier failed on chunk 3/)
    // chunks 0-2 went in (seq 7 refused); nothing of chunk 3 or later
    assert.is((await store.latest(alice.publicKey))?.seq, 12)
    assert.is(await store.get(alice.publicKey, 7), undefined)
  })
})

test('a verifier that fails while an earlier chunk is still validated: no unhandled rejection either', async () => {
  await withoutUnhandledRejections(async () => {
    // chunk 1 fails at once, while chunk 0 (answered later) is awaited
    const verify = async (chunk: readonly HalfBlock[]): Promise<boolean[]> => {
      if ((chunk[0]!.seq - 1) / CHUNK === 1) throw new Error('chunk 1 failed')
      await new Promise((resolve) => setTimeout(resolve, 10))
      return chunk.map(() => true)
    }
    const store = createMemoryStore()
    const thrown = await errorOf(ingestBlocks(blocks, { store, verifySignatures: verify, chunkSize: CHUNK }))
    assert.match(String(thrown), /chunk 1 failed/)
    assert.is((await store.latest(alice.publicKey))?.seq, 4)
  })
})

test('blocks already stored here and there, the rest out of order within chunks: every one accepted, the chain whole, no fraud', async () => {
  // the overlay answers validation's range queries by merging stored and pending blocks
  const store = createMemoryStore()
  const batch = store.batch()
  for (const seq of [3, 4, 9, 15, 16, 30, 40]) batch.put(blocks[seq - 1]!)
  await batch.commit()
  const shuffled: HalfBlock[] = []
  for (let i = 0; i < blocks.length; i += 8) shuffled.push(...blocks.slice(i, i + 8).reverse())
  const result = await ingestBlocks(shuffled, { store, chunkSize: 8 })
  assert.is(result.accepted, 40)
  assert.equal(result.rejected, [])
  assert.equal(result.fraud, [])
  assert.equal((await store.range(alice.publicKey)).map((b) => b.seq), Array.from({ length: 40 }, (_, i) => i + 1))
})

test('a block whose pending successor does not chain to it is refused, though a later block is stored: the nearer neighbour is the pending one', async () => {
  // X: the chain; Y: another branch of the same chain from seq 10 (a fork by alice)
  const forked = chain(alice, 31, { tag: 'fork', start: blocks[8] })
  const store = createMemoryStore()
  const batch = store.batch()
  for (const seq of [9, 40]) batch.put(blocks[seq - 1]!)
  await batch.commit()
  // X11 first (pending, partial), then Y10: its next neighbour is X11 (pending), not X40 (stored)
  const result = await ingestBlocks([blocks[10]!, forked[0]!], { store, chunkSize: 8 })
  assert.is(result.accepted, 1)
  assert.equal(result.rejected.map((r) => r.index), [1])
  assert.equal(rules(result.rejected[0]!.errors), ['next-previous-hash'])
  assert.equal(result.fraud.map((p) => p.kind), ['chain-break'])
})

test.run()
