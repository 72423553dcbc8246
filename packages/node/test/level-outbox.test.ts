/**
 * The LevelDB outbox passes economy's shared OutboxStore suite (a reopen is close, then open of
 * the same directory), and refuses what it must: a directory open twice, other LevelDB data,
 * calls after close.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ClosedError, LockedError, StoreVersionError } from '@tally/core'
import type { OutboxStore } from '@tally/economy/net'
import { outboxSuite } from '../../economy/test/outbox-suite.ts'
import { openLevelOutbox, openLevelRecords, openLevelStore, type LevelOutbox } from '../src/index.js'

const paths = new WeakMap<OutboxStore, string>()
const open = async (path: string): Promise<LevelOutbox> => {
  const store = await openLevelOutbox({ path })
  paths.set(store, path)
  return store
}

outboxSuite('level', {
  open: async () => open(await mkdtemp(join(tmpdir(), 'tally-outbox-'))),
  reopen: async (store) => {
    await (store as LevelOutbox).close()
    return open(paths.get(store)!)
  },
  teardown: async (store) => {
    await (store as LevelOutbox).close()
    await rm(paths.get(store)!, { recursive: true })
  },
})

const test = suite('level records')

const rejects = async (promise: Promise<unknown>, type: Function, what: string) => {
  try {
    await promise
  } catch (err) {
    assert.instance(err, type, what)
    return
  }
  assert.unreachable(`${what}: expected ${type.name}`)
}

test('a directory open twice: LockedError; released by close', async () => {
  const path = await mkdtemp(join(tmpdir(), 'tally-records-'))
  const first = await openLevelRecords({ path })
  await rejects(openLevelRecords({ path }), LockedError, 'second open')
  await first.put('a', Uint8Array.of(1))
  await first.close()
  const again = await openLevelRecords({ path })
  assert.equal(await again.get('a'), Uint8Array.of(1))
  assert.is(await again.get('b'), undefined)
  await again.close()
  await rm(path, { recursive: true })
})

test('other LevelDB data is refused: StoreVersionError', async () => {
  const path = await mkdtemp(join(tmpdir(), 'tally-records-'))
  const blocks = await openLevelStore({ path })
  await blocks.close()
  await rejects(openLevelRecords({ path }), StoreVersionError, 'a block store directory')
  await rm(path, { recursive: true })
})

test('bad options, ids and records; calls after close', async () => {
  await rejects(openLevelRecords({ path: '' }), TypeError, 'empty path')
  await rejects(openLevelRecords(null as never), TypeError, 'no options')
  const path = await mkdtemp(join(tmpdir(), 'tally-records-'))
  const records = await openLevelRecords({ path })
  await rejects(records.get('UP'), RangeError, 'get of a bad id')
  await rejects(records.remove('a/b'), RangeError, 'remove of a bad id')
  await rejects(records.put('a', [1] as never), TypeError, 'a record that is not bytes')
  await records.close()
  await records.close() // twice is fine
  await rejects(records.put('a', Uint8Array.of(1)), ClosedError, 'put after close')
  await rejects(records.list(), ClosedError, 'list after close')
  await rm(path, { recursive: true })
})

test('puts in flight together: one id ends with the last put, all resolve', async () => {
  const path = await mkdtemp(join(tmpdir(), 'tally-records-'))
  const records = await openLevelRecords({ path })
  await Promise.all(Array.from({ length: 50 }, (_, i) => records.put(i % 2 === 0 ? 'x' : `y:${i}`, Uint8Array.of(i))))
  assert.equal(await records.get('x'), Uint8Array.of(48))
  assert.is((await records.list()).length, 26)
  await records.close()
  await rm(path, { recursive: true })
})

test.run()
