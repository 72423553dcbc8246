/**
 * Signing ahead (StoreBatch.commitOrdered): an agent over a store whose commits are in order before
 * they are durable signs its next block on top of one still syncing, and hands out nothing before
 * it is durable. The store here is a memory store whose durability the test releases by hand.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  blockHash,
  collectBatch,
  createAgent,
  createBlockTypes,
  createMemoryStore,
  identityFromSeed,
  toHex,
  type BlockStore,
  type HalfBlock,
} from '@tally/core'

/**
 * A memory store whose `commitOrdered` is in order at once and durable (written to the memory
 * store, so visible) only when the test calls `release`; `fail` makes the held ones fail instead,
 * and every later one too, as a failed fdatasync does.
 */
function heldStore(options: { slowRange?: { wait: Promise<void> } } = {}): { store: BlockStore; held: () => number; release: () => Promise<void>; fail: (err: Error) => void } {
  const inner = createMemoryStore()
  const queue: { blocks: HalfBlock[]; done: () => void; failed: (err: unknown) => void }[] = []
  let lost: Error | undefined
  const store: BlockStore = {
    get: (k, s) => inner.get(k, s),
    getByHash: (h) => inner.getByHash(h),
    latest: (k) => inner.latest(k),
    // slowRange: the answer is read at the call, and given once the promise resolves (a read
    // that a commit overtakes)
    range: async (k, o) => {
      const answer = await inner.range(k, o)
      if (options.slowRange !== undefined) await options.slowRange.wait
      return answer
    },
    findAgreement: (k, s, signer) => inner.findAgreement(k, s, signer),
    fraudProofs: (k) => inner.fraudProofs(k),
    hasFraud: (k) => inner.hasFraud(k),
    agents: () => inner.agents(),
    close: () => inner.close(),
    batch: () =>
      collectBatch(
        async (blocks, proofs) => {
          const batch = inner.batch()
          for (const b of blocks) batch.put(b)
          for (const p of proofs) batch.putFraudProof(p)
          await batch.commit()
        },
        (blocks) => {
          if (lost !== undefined) {
            const failed = Promise.reject(lost)
            failed.catch(() => undefined)
            return { ordered: failed, durable: failed }
          }
          let done!: () => void
          let failed!: (err: unknown) => void
          const durable = new Promise<void>((resolve, reject) => ((done = resolve), (failed = reject)))
          durable.catch(() => undefined)
          queue.push({ blocks, done, failed })
          return { ordered: Promise.resolve(), durable }
        },
      ),
  }
  return {
    store,
    held: () => queue.length,
    async release() {
      for (const entry of queue.splice(0)) {
        const batch = inner.batch()
        for (const b of entry.blocks) batch.put(b)
        await batch.commit()
        entry.done()
      }
    },
    fail(err) {
      lost = err
      for (const entry of queue.splice(0)) entry.failed(err)
    },
  }
}

/** `rules` of the note type: a block above seq 1 must find the one below it through the store it is given. */
const seen: number[] = []
const types = createBlockTypes([
  {
    name: 'note',
    validate: async (block, ctx) => {
      if (block.seq > 1) {
        const below = await ctx.store.get(block.publicKey, block.seq - 1)
        if (below === undefined) return { errors: [{ rule: 'below', message: `no block below ${block.seq}` }] }
        seen.push(block.seq)
      }
      return { errors: [] }
    },
  },
])

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
}

const test = suite('agent: signing ahead of the store\'s sync')

test('appends are signed on top of blocks still syncing, and each resolves only once durable', async () => {
  const { store, held, release } = heldStore()
  const agent = createAgent({ head: 'local', identity: identityFromSeed(new Uint8Array(32).fill(1)), store, types })
  const resolved: number[] = []
  const appends = [0, 1, 2].map((n) => agent.append('note', n).then((b) => (resolved.push(b.seq), b)))
  await turns(20)
  assert.is(held(), 3, 'all three signed while the first is not durable')
  assert.equal(resolved, [], 'handed out before durable')
  assert.is(await store.latest(agent.publicKey), undefined, 'the store shows nothing not durable')
  await release()
  const blocks = await Promise.all(appends)
  assert.equal(blocks.map((b) => b.seq), [1, 2, 3])
  assert.equal(resolved, [1, 2, 3])
  for (let i = 1; i < 3; i++) assert.is(toHex(blocks[i]!.previousHash), toHex(blockHash(blocks[i - 1]!)))
  assert.ok(seen.includes(2) && seen.includes(3), "the type's rules read the blocks below through the agent's view")
})

test('a block that turns durable while the next append reads the head is seen by it: no seq signed twice', async () => {
  const gate = { wait: Promise.resolve() }
  const { store, held, release } = heldStore({ slowRange: gate })
  const agent = createAgent({ head: 'local', identity: identityFromSeed(new Uint8Array(32).fill(5)), store, types })
  const first = agent.append('note', 'first')
  await turns(20)
  assert.is(held(), 1, 'seq 1 signed, not durable')
  let open!: () => void
  gate.wait = new Promise((resolve) => (open = resolve))
  // the next append reads the head: the store's answer (nothing yet) is read now, given later
  const second = agent.append('note', 'second')
  await turns(20)
  assert.is(held(), 1, 'the second append is still reading the head')
  await release() // seq 1 durable: the store shows it, the agent's view lets go of it
  await first
  open() // the stale answer arrives
  await turns(20)
  await release()
  const b = await second
  assert.is(b.seq, 2, 'seq 1 signed a second time')
  assert.is(toHex(b.previousHash), toHex(blockHash(await first)))
})

test('a proposal sent twice while its agreement syncs gets that agreement, once durable, and no second one', async () => {
  const a = createAgent({ head: 'local', identity: identityFromSeed(new Uint8Array(32).fill(2)), store: createMemoryStore(), types })
  const { store, held, release } = heldStore()
  const b = createAgent({ head: 'local', identity: identityFromSeed(new Uint8Array(32).fill(3)), store, types })
  const proposals = [await a.propose(b.publicKey, 'note', 'x'), await a.propose(b.publicKey, 'note', 'y')]
  let done = 0
  // the second proposal is validated against the first, which b holds only in its view so far
  const agreements = [b.agree(proposals[0]!), b.agree(proposals[0]!), b.agree(proposals[1]!)].map((p) => p.then((x) => (done++, x)))
  await turns(20)
  assert.is(held(), 2, 'two agreements signed, the resent proposal answered from the view')
  assert.is(done, 0, 'an agreement handed out before durable')
  await release()
  const [first, again, second] = await Promise.all(agreements)
  assert.is(toHex(blockHash(again!)), toHex(blockHash(first!)), 'a second agreement to one proposal')
  assert.equal([first!.seq, second!.seq], [1, 2])
  await a.complete(first!)
  await a.complete(second!)
})

test('a commit that fails to become durable fails every block signed on it, and nothing more is signed', async () => {
  const { store, held, fail } = heldStore()
  const agent = createAgent({ head: 'local', identity: identityFromSeed(new Uint8Array(32).fill(4)), store, types })
  const appends = [0, 1].map((n) => agent.append('note', n).then(() => 'resolved', (err: Error) => err.message))
  await turns(20)
  assert.is(held(), 2)
  fail(new Error('EIO: fsync failed'))
  assert.equal(await Promise.all(appends), ['EIO: fsync failed', 'EIO: fsync failed'])
  const after = await agent.append('note', 'after').then(() => 'signed', (err: Error) => err.message)
  assert.is(after, 'EIO: fsync failed')
  assert.is(await store.latest(agent.publicKey), undefined)
})

test.run()
