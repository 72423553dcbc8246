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
  let committed = 0
  const verify = async (chunk: readonly HalfBlock[]): Promise<boolean[]> => {
    const index = (chunk[0]!.seq - 1) / CHUNK
    asked.push(index)
    await new Promise((resolve) => setImmediate(resolve))
    if (fail?.(index) === true) throw new Error(`verifier failed on chunk ${index}`)
    return chunk.map((b) => b.seq !== 7 && verifyBlock(b))
  }
  return { verify, asked, committed: () => committed, onCommit: () => committed++ }
}

test('the verifier is asked in order, at most two chunks beyond the one being validated, and decides the signature rule', async () => {
  const v = laterVerifier()
  const store = createMemoryStore()
  const inner = store.batch.bind(store)
  let aheadAtCommit = 0
  store.batch = () => {
    const batch = inner()
    const commit = batch.commit.bind(batch)
    batch.commit = async () => {
      // chunk k is being committed: the verifier has been asked up to chunk k + 2 (and no further)
      const k = v.committed()
      aheadAtCommit = Math.max(aheadAtCommit, v.asked.length - 1 - k)
      v.onCommit()
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
  let unhandled: unknown
  const onUnhandled = (reason: unknown): void => {
    unhandled = reason
  }
  process.on('unhandledRejection', onUnhandled)
  try {
    const v = laterVerifier((chunk) => chunk === 3)
    const store = createMemoryStore()
    let thrown: unknown
    try {
      await ingestBlocks(blocks, { store, verifySignatures: v.verify, chunkSize: CHUNK })
    } catch (err) {
      thrown = err
    }
    assert.match(String(thrown), /verifier failed on chunk 3/)
    // chunks 0-2 went in (seq 7 refused); nothing of chunk 3 or later
    assert.is((await store.latest(alice.publicKey))?.seq, 12)
    assert.is(await store.get(alice.publicKey, 7), undefined)
    await new Promise((resolve) => setTimeout(resolve, 20))
    assert.is(unhandled, undefined)
  } finally {
    process.off('unhandledRejection', onUnhandled)
  }
})

test('a verifier that fails while an earlier chunk is still validated: no unhandled rejection either', async () => {
  let unhandled: unknown
  const onUnhandled = (reason: unknown): void => {
    unhandled = reason
  }
  process.on('unhandledRejection', onUnhandled)
  try {
    // chunk 1 fails at once, while chunk 0 (answered later) is awaited
    const asked: number[] = []
    const verify = async (chunk: readonly HalfBlock[]): Promise<boolean[]> => {
      const index = (chunk[0]!.seq - 1) / CHUNK
      asked.push(index)
      if (index === 1) throw new Error('chunk 1 failed')
      await new Promise((resolve) => setTimeout(resolve, 10))
      return chunk.map(() => true)
    }
    const store = createMemoryStore()
    let thrown: unknown
    try {
      await ingestBlocks(blocks, { store, verifySignatures: verify, chunkSize: CHUNK })
    } catch (err) {
      thrown = err
    }
    assert.match(String(thrown), /chunk 1 failed/)
    assert.is((await store.latest(alice.publicKey))?.seq, 4)
    await new Promise((resolve) => setTimeout(resolve, 20))
    assert.is(unhandled, undefined)
  } finally {
    process.off('unhandledRejection', onUnhandled)
  }
})

test.run()
