/**
 * Nodes, each in its own process, on ws over loopback. Three connect, transact, and when one of
 * them forks its chain the other two catch it and refuse it. And a process killed outright, its
 * store directory deleted, restarted from its seed: it recovers its chain from the other process
 * before it signs, and signs at the next seq. Each child is `node --import tsx
 * fixtures/node-process.ts`, driven by JSON lines.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnNode, type ChildNode } from './fixtures/node-child.ts'
import { until } from './helpers.ts'

const Multi = suite('multiprocess: nodes in their own processes')

Multi('transact across processes; a fork is detected by both honest processes', async () => {
  const nodes: ChildNode[] = await Promise.all([spawnNode(31), spawnNode(32), spawnNode(33)])
  const [a, b, c] = nodes as [ChildNode, ChildNode, ChildNode]
  try {
    assert.is(new Set(nodes.map((n) => n.process.pid)).size, 3, 'three processes')
    await a.call('connect', { address: b.address })
    await a.call('connect', { address: c.address })
    await b.call('connect', { address: c.address })

    const ab = await a.call('transact', { key: b.key, payload: 'a pays b' })
    assert.is(ab['seq'], 1)
    const bc = await b.call('transact', { key: c.key, payload: 'b pays c' })
    assert.is(bc['seq'], 2, "b's second block (its first was the agreement to a)")

    // a signs another block at seq 1 for c: c refuses (it already holds a's seq 1 by gossip) or,
    // if it did not yet, the fork meets the original at b; either way both end with the proof
    const forked = await a.call('fork', { key: c.key })
    assert.ok(['RefusedError', 'agreed', 'RangeError'].includes(forked['outcome'] as string), `outcome ${String(forked['outcome'])}`)
    const caught = await until(async () => {
      const [atB, atC] = await Promise.all([b.call('hasFraud', { key: a.key }), c.call('hasFraud', { key: a.key })])
      return atB['result'] === true && atC['result'] === true
    }, 8000, 50)
    assert.ok(caught, 'both honest processes hold a proof against a')
    const refused = await b.call('transact', { key: a.key, payload: 'never' }).catch((e: Error) => e)
    assert.instance(refused, Error)
    assert.is((refused as Error).name, 'RefusedError')
    const honest = await c.call('transact', { key: b.key, payload: 'c pays b' })
    assert.ok((honest['seq'] as number) >= 2, 'honest peers still transact')
  } finally {
    const codes = await Promise.all(nodes.map((n) => n.stop()))
    assert.equal(codes, [0, 0, 0], 'every process closed its node and exited cleanly')
  }
})

Multi('SIGKILL, store deleted, restarted from the seed: the chain comes back from the other process, the next block is at the right seq', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-restore-'))
  const storeDir = join(dir, 'store')
  let a = await spawnNode(41, ['500', storeDir])
  const b = await spawnNode(42)
  try {
    await a.call('connect', { address: b.address })
    // a network's first boot: b holds nothing of a's chain, and says so
    assert.is((await a.call('transact', { key: b.key, payload: 'one' }))['seq'], 1)
    assert.is((await a.call('append', { payload: 'alone' }))['seq'], 2)
    assert.is((await a.call('append', { payload: 'alone again' }))['seq'], 3)
    assert.is((await a.call('transact', { key: b.key, payload: 'four' }))['seq'], 4)
    await b.call('crawl', { key: a.key, chain: a.key }) // b keeps a copy of the whole chain
    assert.is((await b.call('latest', { key: a.key }))['seq'], 4)

    await a.kill()
    rmSync(storeDir, { recursive: true, force: true })
    a = await spawnNode(41, ['500', storeDir])
    assert.is((await a.call('latest', { key: a.key }))['seq'], 0, 'the restarted process starts from an empty store')
    await a.call('connect', { address: b.address })
    assert.is((await a.call('transact', { key: b.key, payload: 'five' }))['seq'], 5, 'the next seq, not seq 1 again')
    assert.is((await a.call('latest', { key: a.key }))['seq'], 5, 'blocks 1..4 recovered below it')
    assert.is((await b.call('hasFraud', { key: a.key }))['result'], false, 'b saw no fork')
  } finally {
    const codes = await Promise.all([a.stop(), b.stop()])
    rmSync(dir, { recursive: true, force: true })
    assert.equal(codes, [0, 0], 'both processes closed their nodes and exited cleanly')
  }
})

Multi.run()
