// The level store's write-ahead journal: records survive reopening, a torn or corrupt tail is
// dropped whole (never half a record), foreign files are refused, and a store replays what it
// journaled but had not handed to LevelDB.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { blockHash, checkBlock, equalBytes, identityFromSeed, toHex } from '@tally/core'
import { Journal, type PutOp } from '../src/journal.js'
import { openLevelStore } from '../src/level-store.js'

const root = mkdtempSync(join(tmpdir(), 'tally-journal-'))
process.on('exit', () => rmSync(root, { recursive: true, force: true }))
const freshDir = (): string => mkdtempSync(join(root, 'j-'))
const op = (i: number): PutOp => ({ type: 'put', key: Uint8Array.of(1, i), value: new Uint8Array(i * 7).fill(i) })
const journalFiles = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('TALLY-JOURNAL-'))

const test = suite('journal')

test('records come back in order after reopening, and a new file is started', () => {
  const dir = freshDir()
  const { journal, found } = Journal.open(dir, false)
  assert.equal(found.ops, [])
  for (let i = 0; i < 10; i++) journal.append([op(i), op(i + 100)])
  journal.close(false)
  const again = Journal.open(dir, false)
  assert.equal(again.found.ops.map((o) => o.key[1]), [0, 100, 1, 101, 2, 102, 3, 103, 4, 104, 5, 105, 6, 106, 7, 107, 8, 108, 9, 109])
  assert.ok(equalBytes(again.found.ops[2]!.value, op(1).value))
  assert.is(again.journal.current, 2)
  again.journal.release(again.found.ids)
  again.journal.close(true)
  assert.equal(journalFiles(dir), [])
})

test('a file cut at any byte yields whole records only, a prefix of what was written', () => {
  const dir = freshDir()
  const { journal } = Journal.open(dir, false)
  const records = [[op(1)], [op(2), op(3)], [op(4)]]
  for (const r of records) journal.append(r)
  journal.close(false)
  const file = join(dir, journalFiles(dir)[0]!)
  const full = readFileSync(file)
  for (let cut = 0; cut <= full.length; cut++) {
    writeFileSync(file, full.subarray(0, cut))
    const { journal: j, found } = Journal.open(dir, false)
    j.release([j.current])
    j.close(false)
    const keys = found.ops.map((o) => o.key[1])
    const prefixes = [[], [1], [1, 2, 3], [1, 2, 3, 4]]
    assert.ok(prefixes.some((p) => JSON.stringify(p) === JSON.stringify(keys)), `cut at ${cut}: ${keys}`)
    if (cut === full.length) assert.equal(keys, [1, 2, 3, 4])
  }
})

test('a corrupt record ends the replay there; a foreign file is refused', () => {
  const dir = freshDir()
  const { journal } = Journal.open(dir, false)
  journal.append([op(1)])
  journal.append([op(2)])
  journal.close(false)
  const file = join(dir, journalFiles(dir)[0]!)
  const bytes = readFileSync(file)
  bytes[bytes.length - 1]! ^= 1 // last byte of the second record's payload
  writeFileSync(file, bytes)
  const { journal: j, found } = Journal.open(dir, false)
  assert.equal(found.ops.map((o) => o.key[1]), [1])
  j.close(false)
  writeFileSync(file, 'not a journal at all')
  assert.throws(() => Journal.open(dir, false), (err: Error) => (err as { code?: string }).code === 'ERR_STORE_VERSION')
})

test('a store replays what a process journaled before it exited without close', async () => {
  const path = join(freshDir(), 'store')
  // the child appends and exits at once: nothing flushed to LevelDB, everything journaled
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
    import { createAgent, createBlockTypes, identityFromSeed, toHex, blockHash } from '@tally/core'
    import { openLevelStore } from ${JSON.stringify(join(import.meta.dirname, '../src/level-store.ts'))}
    const store = await openLevelStore({ path: ${JSON.stringify(path)} })
    const agent = createAgent({ head: 'local', identity: identityFromSeed(new Uint8Array(32).fill(9)), store, types: createBlockTypes([{ name: 'note' }]) })
    for (let i = 0; i < 50; i++) await agent.append('note', i)
    process.stdout.write(toHex(blockHash(await store.latest(agent.publicKey))))
    process.exit(0)
  `], { encoding: 'utf8', cwd: import.meta.dirname })
  assert.is(child.status, 0, child.stderr)
  assert.ok(journalFiles(path).length > 0, 'the child left its journal')
  const store = await openLevelStore({ path })
  const key = identityFromSeed(new Uint8Array(32).fill(9)).publicKey
  const chain = await store.range(key)
  assert.is(chain.length, 50)
  assert.is(toHex(blockHash(chain[49]!)), child.stdout)
  for (const block of chain) assert.ok(checkBlock(block).length === 0)
  assert.is((await store.getByHash(blockHash(chain[20]!)))?.seq, 21)
  await store.close()
  assert.equal(journalFiles(path), [], 'close leaves no journal behind')
})

test('a closed store leaves no journal; reopening finds everything in LevelDB', async () => {
  const path = join(freshDir(), 'store')
  const store = await openLevelStore({ path })
  const { createAgent, createBlockTypes } = await import('@tally/core')
  const agent = createAgent({ head: 'local', identity: identityFromSeed(new Uint8Array(32).fill(4)), store, types: createBlockTypes([{ name: 'note' }]) })
  for (let i = 0; i < 3000; i++) await agent.append('note', i)
  await store.close()
  assert.equal(journalFiles(path), [])
  const again = await openLevelStore({ path })
  assert.is((await again.latest(agent.publicKey))?.seq, 3000)
  await again.close()
})

test.run()
