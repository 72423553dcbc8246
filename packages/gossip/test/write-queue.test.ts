/**
 * The node's write queue (node/write-queue.ts): one bounded lane per peer, taken in turn, so a
 * peer that floods the node with work cannot hold up another peer's; and on a node, a flood of
 * pushes that waits on a slow store does not stand between an honest peer and its agreement.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { GENESIS_HASH, UNILATERAL_KEY, createMemoryStore, signBlock, type BlockStore, type Clock } from '@tally/core'
import { createMemoryNetwork, createNode, type BusyError } from '@tally/gossip'
import { LOCAL_LANE, WriteQueue } from '../src/node/write-queue.js'
import { crypto, identity, noteTypes, rawPeer, settle } from './fixtures/node-kit.ts'

const Queue = suite('write queue: lanes')

Queue('jobs of one lane run in order, one at a time; lanes take turns', async () => {
  const q = new WriteQueue()
  const order: string[] = []
  let running = 0
  const job = (name: string) => async () => {
    running++
    assert.is(running, 1, 'one job at a time')
    await Promise.resolve()
    order.push(name)
    running--
  }
  await Promise.all([q.run(job('a1'), 'a'), q.run(job('a2'), 'a'), q.run(job('a3'), 'a'), q.run(job('b1'), 'b'), q.run(job('local'))])
  assert.equal(order, ['a1', 'b1', 'local', 'a2', 'a3'])
  assert.is(q.size, 0)
})

Queue("a full lane refuses at once with BusyError; other lanes and the node's own are not bounded by it", async () => {
  const q = new WriteQueue(2)
  const ran: string[] = []
  const job = (name: string) => async () => void ran.push(name)
  const a = [q.run(job('a1'), 'a'), q.run(job('a2'), 'a')]
  const refused = await q.run(job('a3'), 'a').catch((e: unknown) => e)
  // the class of ../src, not the package's build: the same name and code
  assert.is((refused as BusyError).name, 'BusyError')
  assert.is((refused as BusyError).code, 'ERR_BUSY')
  const local = Array.from({ length: 5 }, (_, i) => q.run(job(`l${i}`), LOCAL_LANE))
  await Promise.all([...a, q.run(job('b1'), 'b'), ...local])
  assert.equal(ran.filter((r) => r.startsWith('a')), ['a1', 'a2'])
  assert.is(ran.length, 8)
  // drained: the lane takes jobs again
  await q.run(job('a4'), 'a')
  assert.is(ran.at(-1), 'a4')
})

Queue('a job that throws rejects its caller alone; idle() waits for everything queued', async () => {
  const q = new WriteQueue()
  let done = 0
  const failing = q.run(async () => {
    throw new RangeError('boom')
  }, 'a')
  const fine = q.run(async () => void done++, 'a')
  const idle = q.idle()
  assert.instance(await failing.catch((e: unknown) => e), RangeError)
  await fine
  await idle
  assert.is(done, 1)
  await q.idle() // nothing queued: at once
})

const OnNode = suite('write queue: on a node')

/** `inner`, with every commit taking `ms` on `clock`: a store (or validation) that is slow. */
function slowStore(inner: BlockStore, clock: Clock, ms: number): BlockStore {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'batch') {
        return () => {
          const batch = target.batch()
          const commit = batch.commit.bind(batch)
          return Object.assign(batch, { commit: () => new Promise<void>((resolve) => clock.setTimeout(resolve, ms)).then(commit) })
        }
      }
      const value: unknown = Reflect.get(target, prop)
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    },
  })
}

OnNode("a peer's flood of pushes on a slow store does not stand between another peer and its agreement", async () => {
  const net = createMemoryNetwork({ seed: 5 })
  // new identities (head: 'local'): what is measured is the queue, not a head asked of a mute flooder
  const make = (seed: number, store: BlockStore) =>
    createNode({ identity: identity(seed), store, transport: net.transport(`mem://n${seed}`), types: noteTypes(), clock: net.clock, gossip: { pullIntervalMs: 0 }, head: 'local' })
  const target = make(30, slowStore(createMemoryStore({ crypto }), net.clock, 5))
  const honest = make(31, createMemoryStore({ crypto }))
  await Promise.all([target.listen(), honest.listen()])
  await settle(net, honest.connect(target.address!))
  const flooder = await rawPeer(net, target, 60)
  // 128 blocks of fresh keys in 8 frames: the node's 8 handlers queue all of them at once
  const blocks = Array.from({ length: 128 }, (_, i) => {
    const id = identity(100 + i)
    return signBlock({ publicKey: id.publicKey, seq: 1, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: GENESIS_HASH, type: 'note', payload: i, timestamp: 1 }, id, crypto)
  })
  let floodStoredAtAgreement = -1
  target.on('transaction', () => void (floodStoredAtAgreement = target.stats.blocksReceived))
  for (let i = 0; i < 128; i += 16) flooder.session.send({ type: 'push', blocks: blocks.slice(i, i + 16) })
  await net.clock.runFor(10) // the flood is on its way first
  const tx = await settle(net, honest.transact(target.publicKey, 'note', 'hello'))
  assert.is(tx.agreement.seq, 1)
  // one FIFO for every peer: all 128 (640 ms of commits) came first
  assert.ok(floodStoredAtAgreement >= 0 && floodStoredAtAgreement <= 8, `${floodStoredAtAgreement} flood blocks were stored before the agreement`)
  await net.clock.runFor(2000)
  assert.is(target.stats.blocksReceived, 128, 'the flood was stored too, in its turn')
  await settle(net, Promise.all([target.close(), honest.close()]))
})

Queue.run()
OnNode.run()
