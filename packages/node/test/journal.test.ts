// The level store's write-ahead journal: records survive reopening; replay keeps every intact
// record (a file cut anywhere yields whole records, a damaged record never hides the ones after
// it), refuses synced records that the disk changed, and reads files of format 1; foreign files
// are refused; a store replays what it journaled but had not handed to LevelDB.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { crc32 } from 'node:zlib'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { blockHash, checkBlock, equalBytes, identityFromSeed, toHex } from '@tally/core'
import { defaultCrypto } from '../src/crypto.js'
import { Journal, type PutOp } from '../src/journal.js'
import { openLevelStore } from '../src/level-store.js'

const root = mkdtempSync(join(tmpdir(), 'tally-journal-'))
process.on('exit', () => rmSync(root, { recursive: true, force: true }))
const freshDir = (): string => mkdtempSync(join(root, 'j-'))
const op = (i: number): PutOp => ({ type: 'put', key: Uint8Array.of(1, i), value: new Uint8Array(i * 7).fill(i) })
const journalFiles = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('TALLY-JOURNAL-')).sort()
/** Byte offsets of a format-2 file's records: after the 24-byte file header, 16-byte record headers. */
const FILE_HEADER = 24
const RECORD_HEADER = 16
const recordSize = (ops: readonly PutOp[]): number => RECORD_HEADER + ops.reduce((n, o) => n + 6 + o.key.length + o.value.length, 0)

/** Open the journal in `dir`, return the keys' second bytes of what it replays, and close it. */
function replayed(dir: string): number[] {
  const { journal, found } = Journal.open(dir, { sync: false })
  journal.close(true)
  return found.ops.map((o) => o.key[1]!)
}

/**
 * Write `records` to a new journal in a fresh directory, synced after each when `sync` (the file
 * is then preallocated, 4 KiB here); the file's path.
 */
async function written(records: readonly PutOp[][], sync: boolean): Promise<string> {
  const dir = freshDir()
  const { journal } = Journal.open(dir, { sync, fileBytes: 4096 })
  for (const r of records) {
    journal.append(r)
    if (sync) await journal.synced()
  }
  journal.close(false)
  return join(dir, journalFiles(dir)[0]!)
}

const test = suite('journal')

test('records come back in order after reopening, and a new file is started', () => {
  const dir = freshDir()
  const { journal, found } = Journal.open(dir, { sync: false })
  assert.equal(found.ops, [])
  for (let i = 0; i < 10; i++) journal.append([op(i), op(i + 100)])
  journal.close(false)
  const again = Journal.open(dir, { sync: false })
  assert.equal(again.found.ops.map((o) => o.key[1]), [0, 100, 1, 101, 2, 102, 3, 103, 4, 104, 5, 105, 6, 106, 7, 107, 8, 108, 9, 109])
  assert.ok(equalBytes(again.found.ops[2]!.value, op(1).value))
  assert.equal(again.found.ids, [1])
  assert.equal(journalFiles(dir), ['TALLY-JOURNAL-000000000001', 'TALLY-JOURNAL-000000000002'])
  again.journal.release(again.found.ids)
  again.journal.close(true)
  assert.equal(journalFiles(dir), [])
})

test('a file cut at any byte yields whole records only, a prefix of what was written', async () => {
  const records = [[op(1)], [op(2), op(3)], [op(4)]]
  const file = await written(records, true)
  const dir = join(file, '..')
  const full = readFileSync(file)
  assert.is(full.length, 4096, 'preallocated')
  const end = FILE_HEADER + records.reduce((n, r) => n + recordSize(r), 0)
  const prefixes = [[], [1], [1, 2, 3], [1, 2, 3, 4]].map((p) => JSON.stringify(p))
  for (let cut = 0; cut <= full.length; cut = cut < end + RECORD_HEADER ? cut + 1 : cut + 97) {
    writeFileSync(file, full.subarray(0, cut))
    const keys = replayed(dir)
    assert.ok(prefixes.includes(JSON.stringify(keys)), `cut at ${cut}: ${keys}`)
    if (cut >= end) assert.equal(keys, [1, 2, 3, 4])
  }
})

test('a damaged record that no sync covered is skipped, and every intact record after it is kept', async () => {
  const records = [[op(1)], [op(2), op(3)], [op(4)], [op(5)]]
  const file = await written(records, false)
  const dir = join(file, '..')
  const clean = readFileSync(file)
  const second = FILE_HEADER + recordSize(records[0]!)
  const damage = (at: number, value?: number): void => {
    const bytes = Buffer.from(clean)
    if (value === undefined) bytes[at]! ^= 0x10
    else bytes.fill(value, at, at + recordSize(records[1]!))
    writeFileSync(file, bytes)
  }
  // payload damaged: the header says where the next record starts
  damage(second + RECORD_HEADER + 3)
  assert.equal(replayed(dir), [1, 4, 5])
  // length damaged: the next record is found by its header
  damage(second + 1)
  assert.equal(replayed(dir), [1, 4, 5])
  // a sector that never reached the disk
  damage(second, 0)
  assert.equal(replayed(dir), [1, 4, 5])
  // the last record damaged: a torn tail
  damage(clean.length - 1)
  assert.equal(replayed(dir), [1, 2, 3, 4])
})

test('a damaged record that a later record says was synced refuses the open with ERR_CORRUPT', async () => {
  const file = await written([[op(1)], [op(2)], [op(3)]], true)
  const dir = join(file, '..')
  const bytes = readFileSync(file)
  // the third record was written after a sync covered the first two
  const third = FILE_HEADER + recordSize([op(1)]) + recordSize([op(2)])
  assert.is(bytes.readUInt32LE(third + 4), third, 'the third record is the witness of a sync up to itself')
  bytes[FILE_HEADER + RECORD_HEADER + 4]! ^= 1 // the first record's payload
  writeFileSync(file, bytes)
  let error: unknown
  try {
    Journal.open(dir, { sync: true })
  } catch (err) {
    error = err
  }
  assert.is((error as { code?: string }).code, 'ERR_CORRUPT')
  assert.match((error as Error).message, basename(file))
})

test('a payload that holds a record header does not pass for one: the file salt is unknown to its author', async () => {
  // an op whose value is a well-formed record, framed as this code frames records, but with a
  // guessed salt: after a damaged header, the scan must not replay it
  const forged: PutOp = { type: 'put', key: Uint8Array.of(1, 66), value: new Uint8Array(8).fill(66) }
  const inner = new Uint8Array(recordSize([forged]))
  const view = new DataView(inner.buffer)
  view.setUint32(0, inner.length - RECORD_HEADER, true)
  view.setUint16(RECORD_HEADER, 2, true)
  inner.set(forged.key, RECORD_HEADER + 2)
  view.setUint32(RECORD_HEADER + 4, 8, true)
  inner.set(forged.value, RECORD_HEADER + 8)
  view.setUint32(8, crc32(inner.subarray(RECORD_HEADER)), true)
  view.setUint32(12, crc32(inner.subarray(0, 12), crc32(new Uint8Array(16))), true)
  const carrier: PutOp = { type: 'put', key: Uint8Array.of(1, 7), value: inner }
  const file = await written([[op(1)], [carrier], [op(2)]], false)
  const bytes = readFileSync(file)
  bytes[FILE_HEADER + recordSize([op(1)]) + 1]! ^= 0x40 // the carrier's length
  writeFileSync(file, bytes)
  assert.equal(replayed(join(file, '..')), [1, 2])
})

test('journal files of format 1 are read as before; foreign files are refused', () => {
  const dir = freshDir()
  const file = join(dir, 'TALLY-JOURNAL-000000000001')
  const v1 = formatOne([[op(1)], [op(2), op(3)], [op(4)]])
  writeFileSync(file, v1)
  assert.equal(replayed(dir), [1, 2, 3, 4])
  writeFileSync(file, v1.subarray(0, v1.length - 1))
  assert.equal(replayed(dir), [1, 2, 3])
  writeFileSync(file, 'not a journal at all')
  assert.throws(() => Journal.open(dir, { sync: false }), (err: Error) => (err as { code?: string }).code === 'ERR_STORE_VERSION')
})

test('a file whose header never reached the disk holds nothing', () => {
  const dir = freshDir()
  writeFileSync(join(dir, 'TALLY-JOURNAL-000000000001'), new Uint8Array(4096))
  assert.equal(replayed(dir), [])
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
  const store = await openLevelStore({ path, crypto: defaultCrypto() })
  const { createAgent, createBlockTypes } = await import('@tally/core')
  // 16 agents with an append each in flight share the syncs: 3,200 appends, many drains to LevelDB
  const types = createBlockTypes([{ name: 'note' }])
  const agents = Array.from({ length: 16 }, (_, i) => createAgent({ head: 'local', identity: identityFromSeed(new Uint8Array(32).fill(40 + i), defaultCrypto()), store, types }))
  await Promise.all(agents.map(async (agent) => {
    for (let i = 0; i < 200; i++) await agent.append('note', i)
  }))
  await store.close()
  assert.equal(journalFiles(path), [])
  const again = await openLevelStore({ path })
  for (const agent of agents) assert.is((await again.latest(agent.publicKey))?.seq, 200)
  await again.close()
})

test.run()

/** A journal file as format 1 wrote it: "tallyj1\n", then length u32le ‖ crc32(payload) u32le ‖ payload per record. */
function formatOne(records: readonly PutOp[][]): Uint8Array {
  const parts: Uint8Array[] = [new TextEncoder().encode('tallyj1\n')]
  for (const ops of records) {
    const payload = Buffer.concat(ops.flatMap((o) => {
      const head = Buffer.alloc(2)
      head.writeUInt16LE(o.key.length)
      const size = Buffer.alloc(4)
      size.writeUInt32LE(o.value.length)
      return [head, o.key, size, o.value]
    }))
    const header = Buffer.alloc(8)
    header.writeUInt32LE(payload.length, 0)
    header.writeUInt32LE(crc32(payload), 4)
    parts.push(header, payload)
  }
  return Buffer.concat(parts)
}
