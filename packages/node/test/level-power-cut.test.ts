// The level store through power cuts. Its journal runs on a file layer that forgets what was not
// synced (fixtures/power-cut-files.ts); at the cut, LevelDB's directory is copied as it is (the
// store writes LevelDB synced), and the store reopened on both must hold every block whose append
// resolved. Also: a commit is neither visible nor resolved before its sync, commits in flight
// share syncs, and the sync: false opt-out does lose an acknowledged append to a cut.
//
// Each agent has several appends in flight: it signs its next block while the commit of the one
// below still waits for its sync (StoreBatch.commitOrdered), and hands none out before it is
// synced. After the cut, every block any append resolved with is there, each chain runs from 1 to
// its head without a hole (a torn record below a signed-ahead one does not leave its successor
// standing alone), and a restarted agent signs above it.
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { blockHash, checkBlock, createAgent, createBlockTypes, createMemoryStore, identityFromSeed, toHex, type BlockStore, type HalfBlock, type Identity } from '@tally/core'
import { defaultCrypto } from '../src/crypto.js'
import { openLevelStoreOn } from '../src/level-store.js'
import { PowerCutFiles, type DiskImage } from './fixtures/power-cut-files.js'

/** The appends' block type (an agent signs only registered types). */
const noteTypes = createBlockTypes([{ name: 'note' }])

const root = mkdtempSync(join(tmpdir(), 'tally-power-cut-'))
process.on('exit', () => rmSync(root, { recursive: true, force: true }))
const freshDir = (): string => mkdtempSync(join(root, 'cut-'))

const IN_FLIGHT = 64
/** Appends each agent has in flight in the cut trials: it signs ahead of its syncs. */
const LANES = 3
const crypto = defaultCrypto()
const identities: Identity[] = Array.from({ length: IN_FLIGHT }, (_, i) => identityFromSeed(new Uint8Array(32).fill(i + 1), crypto))

const test = suite('level store: power cut')

// ## Every acknowledged append survives

/** Totals over the trials: acknowledged blocks, and those only the journal had at the cut. */
const totals = { acked: 0, fromJournal: 0 }

for (let trial = 1; trial <= 12; trial++) {
  const torn = trial % 2 === 0
  // every third trial starts a new journal file each 16 KiB: files synced, closed and deleted
  // while commits are in flight
  const fileBytes = trial % 3 === 0 ? 16 * 1024 : undefined
  const name = `${torn ? 'unsynced bytes torn' : 'unsynced bytes lost'}${fileBytes === undefined ? '' : ', small journal files'}`
  test(`cut ${trial}: ${IN_FLIGHT} agents appending, ${name}`, async () => {
    const seed = 0x5eed + trial
    const where = `trial ${trial} (seed ${seed})`
    const { acked, path, image } = await cutWhileAppending(seed, torn, fileBytes)
    assert.ok(acked.length > 0, `${where}: nothing acknowledged before the cut`)
    totals.acked += acked.length
    totals.fromJournal += await missingFromLevel(path, acked)

    const store = await openLevelStoreOn({ files: new PowerCutFiles(path, image) }, { path, crypto })
    try {
      for (const block of acked) {
        const stored = await store.get(block.publicKey, block.seq)
        assert.ok(stored !== undefined, `${where}: acknowledged block ${block.seq} of agent ${toHex(block.publicKey).slice(0, 8)} lost`)
        assert.is(toHex(blockHash(stored, crypto)), toHex(blockHash(block)), `${where}: block ${block.seq} changed`)
      }
      for (const identity of identities) await checkChain(store, identity, where)
    } finally {
      await store.close()
    }
  })
}

test('the trials recovered acknowledged appends from the journal, not only from LevelDB', () => {
  assert.ok(totals.acked > 1000, `only ${totals.acked} appends acknowledged`)
  assert.ok(totals.fromJournal > 0, 'every acknowledged block was in LevelDB already: the journal went untested')
})

// ## Group commit, deterministically: syncs finish only when the test says so

/**
 * A store on a file layer about to hold its syncs: every agent's chain is one block long already
 * (its head cached), and the first journal file (64 KiB) is past half full, so the next one is
 * made, and its name synced, before the test starts; the test's appends fit in the first file.
 */
async function heldStore(): Promise<{ store: BlockStore; files: PowerCutFiles; agents: ReturnType<typeof createAgent>[]; path: string }> {
  const files = new PowerCutFiles()
  const path = join(freshDir(), 'store')
  const store = await openLevelStoreOn({ files }, { path, crypto })
  const agents = identities.map((identity) => createAgent({ head: 'local', types: noteTypes, identity, store }))
  await Promise.all(agents.map((agent) => agent.append('note', 'first')))
  await agents[0]!.append('note', 'x'.repeat(12_000))
  await agents[0]!.append('note', 'and one more group')
  files.hold = true
  return { store, files, agents, path }
}

/**
 * True iff the journal files, as the OS has them (written, synced or not), hold a block with each
 * of these notes: the commits are written. (Commits of one turn share one write, so counting
 * writes does not say how many commits were written.)
 */
function journaled(files: PowerCutFiles, dir: string, notes: readonly string[]): boolean {
  const contents = files.list(dir).filter((name) => name.startsWith('TALLY-JOURNAL-')).map((name) => Buffer.from(files.read(join(dir, name))))
  return notes.every((note) => contents.some((bytes) => bytes.includes(note)))
}

test('commits written in one turn share one fdatasync, and are neither visible nor resolved before it', async () => {
  const { store, files, agents } = await heldStore()
  try {
    const { syncs, writes } = files
    const before = await Promise.all(identities.map(async (identity) => (await store.latest(identity.publicKey))!.seq))
    const resolved = new Set<number>()
    const appends = agents.map((agent, i) => agent.append('note', 'second').then(() => resolved.add(i)))
    await until(() => files.syncs > syncs)
    assert.is(files.writes - writes, 1, 'one write for the commits of one turn')
    assert.is(files.syncs - syncs, 1, `${IN_FLIGHT} commits, one fdatasync`)
    await turns(50) // nothing may resolve
    assert.is(resolved.size, 0, 'resolved before its sync')
    for (const [i, identity] of identities.entries()) assert.is((await store.latest(identity.publicKey))?.seq, before[i], 'visible before its sync')

    files.release()
    await Promise.all(appends)
    for (const [i, identity] of identities.entries()) assert.is((await store.latest(identity.publicKey))?.seq, before[i]! + 1)
  } finally {
    files.hold = false
    files.release()
    await store.close()
  }
})

test('an agent signs ahead while its sync runs, and hands out nothing before it: not resolved, not visible', async () => {
  const { store, files, agents, path } = await heldStore()
  try {
    const agent = agents[0]!
    const identity = identities[0]!
    const before = (await store.latest(identity.publicKey))!.seq
    const resolved: number[] = []
    const notes = [0, 1, 2].map((n) => `ahead ${n}`)
    const appends = notes.map((note) => agent.append('note', note).then((block) => (resolved.push(block.seq), block)))
    // three records written while the first sync is held: each block signed on the one below
    await until(() => journaled(files, path, notes))
    await turns(50)
    assert.is(resolved.length, 0, 'an append resolved before its sync')
    assert.is((await store.latest(identity.publicKey))!.seq, before, 'a block not synced yet is visible')
    files.release()
    const blocks = await Promise.all(appends)
    assert.equal(blocks.map((b) => b.seq), [before + 1, before + 2, before + 3])
    assert.equal(resolved, [before + 1, before + 2, before + 3], 'handed out in chain order')
    for (let i = 1; i < blocks.length; i++) assert.is(toHex(blocks[i]!.previousHash), toHex(blockHash(blocks[i - 1]!)))
    assert.is((await store.latest(identity.publicKey))!.seq, before + 3)
  } finally {
    files.hold = false
    files.release()
    await store.close()
  }
})

test('a sync that fails fails every block signed on top of it, and the agent signs nothing more', async () => {
  const { store, files, agents, path } = await heldStore()
  try {
    const agent = agents[1]!
    const notes = [0, 1].map((n) => `doomed ${n}`)
    const appends = notes.map((note) => agent.append('note', note).then(() => 'resolved', (err: Error) => err.message))
    await until(() => journaled(files, path, notes) && files.held > 0)
    files.cut() // the power goes: the held sync fails with EIO
    files.release()
    const outcomes = await Promise.all(appends)
    for (const outcome of outcomes) assert.match(outcome, /EIO/, 'a block on a failed sync was handed out')
    const after = await agent.append('note', 'after').then(() => 'signed', (err: Error) => err.message)
    assert.match(after, /EIO/, 'the agent signed on after a lost sync')
  } finally {
    files.hold = false
    files.release()
    await store.close().catch(() => undefined)
  }
})

test('groups are acknowledged in the order they started, and at most two sync at once', async () => {
  const { store, files, agents } = await heldStore()
  try {
    const order: number[] = []
    const first = agents[0]!.append('note', 'a').then(() => order.push(0))
    await until(() => files.held === 1)
    const second = agents[1]!.append('note', 'b').then(() => order.push(1))
    await until(() => files.held === 2)
    const third = agents[2]!.append('note', 'c').then(() => order.push(2))
    await turns(50)
    assert.is(files.held, 2, 'a third group started while two were syncing')

    files.release(1) // the second group's fdatasync ends first
    await turns(50)
    assert.equal(order, [], 'the second group was acknowledged before the first')
    await until(() => files.held === 2) // the third group starts: a sync slot is free
    files.release(0)
    await Promise.all([first, second])
    assert.equal(order, [0, 1])
    files.release()
    await third
    assert.equal(order, [0, 1, 2])
  } finally {
    files.hold = false
    files.release()
    await store.close()
  }
})

test('the same block committed again while its first commit awaits the sync resolves only after it', async () => {
  const { store, files } = await heldStore()
  try {
    const block = await createAgent({ head: 'local', types: noteTypes, identity: identityFromSeed(new Uint8Array(32).fill(200), crypto), store: createMemoryStore() }).append('note', 'x')
    const order: string[] = []
    const one = store.batch().put(block).commit().then(() => order.push('first'))
    await until(() => files.held === 1)
    const two = store.batch().put(block).commit().then(() => order.push('again'))
    await turns(50)
    assert.equal(order, [], 'a commit of a block still waiting for its sync resolved')
    files.release()
    await Promise.all([one, two])
    assert.equal(order, ['first', 'again'])
  } finally {
    files.hold = false
    files.release()
    await store.close()
  }
})

test('evict waits for a commit ahead of it that awaits its sync: the block is evicted, and does not come back', async () => {
  const { store, files } = await heldStore()
  try {
    const owner = identityFromSeed(new Uint8Array(32).fill(201), crypto)
    const mine = createAgent({ head: 'local', types: noteTypes, identity: owner, store: createMemoryStore() })
    const chain: HalfBlock[] = []
    for (let i = 0; i < 3; i++) chain.push(await mine.append('note', `n${i}`))
    files.hold = false
    await store.batch().put(chain[0]!).put(chain[1]!).commit()
    files.hold = true
    const commit = store.batch().put(chain[2]!).commit()
    await until(() => files.held === 1)
    const evicted = store.evict!(owner.publicKey)
    // the sync stays held until the evict is done, or for half a second: an evict that did not
    // wait for it would delete what LevelDB holds (2 blocks) and return, and the third block
    // would reach LevelDB after the deletes
    await Promise.race([evicted, new Promise((resolve) => setTimeout(resolve, 500))])
    files.release()
    await commit
    assert.is(await evicted, 3, 'the commit queued before the evict is evicted with the rest')
    await turns(50)
    assert.is(await store.latest(owner.publicKey), undefined)
    assert.is(await store.get(owner.publicKey, 3), undefined, 'the synced block did not reach LevelDB after the deletes')
  } finally {
    files.hold = false
    files.release()
    await store.close()
  }
})

// ## The opt-out

test('sync: false acknowledges before the disk has it: a cut right after loses the block, and the agent signs its seq again', async () => {
  const lost = await cutRightAfterOneAppend(false)
  assert.is(lost.after, undefined, 'the unsynced append survived the cut')
  assert.is(lost.resigned.seq, lost.acked.seq, 'a restarted agent signs the same seq again')
  assert.is.not(toHex(blockHash(lost.resigned)), toHex(blockHash(lost.acked)), 'two blocks at one seq: a double sign')

  const kept = await cutRightAfterOneAppend(true)
  assert.is(kept.after && toHex(blockHash(kept.after)), toHex(blockHash(kept.acked)), 'sync: true lost the block')
  assert.is(kept.resigned.seq, kept.acked.seq + 1)
})

test.run()

// ## Helpers

/**
 * Append from every agent until the power is cut at a random call of the file layer, once 400 to
 * 1,900 appends are acknowledged. (Counted in appends, not in calls: the commits of one turn share
 * one write and one sync, so a few hundred calls hold thousands of appends, and LevelDB, copied
 * at the cut while its background thread may be compacting, would hold many times the data.)
 */
async function cutWhileAppending(seed: number, torn: boolean, fileBytes: number | undefined): Promise<{ acked: HalfBlock[]; path: string; image: DiskImage }> {
  const random = mulberry32(seed)
  const dir = freshDir()
  const live = join(dir, 'store')
  const path = join(dir, 'after-cut')
  const files = new PowerCutFiles()
  const store = await openLevelStoreOn({ files, fileBytes }, { path: live, crypto })
  const acked: HalfBlock[] = []
  const cutAfter = 400 + Math.floor(random() * 1500)
  const callsAfter = Math.floor(random() * 8)
  let armedAt: number | undefined
  let image: DiskImage | undefined
  files.onCall = (call) => {
    if (image !== undefined) return
    if (armedAt === undefined) {
      if (acked.length < cutAfter) return
      armedAt = call
    }
    if (call < armedAt + callsAfter) return
    // the machine stops here: LevelDB's files as they are, the journal as the disk has it
    cpSync(live, path, { recursive: true, filter: (src) => basename(src) !== 'LOCK' })
    image = files.cut(torn, random)
  }
  await Promise.all(
    identities.flatMap((identity, i) => {
      const agent = createAgent({ head: 'local', types: noteTypes, identity, store })
      return Array.from({ length: LANES }, async (_, lane) => {
        try {
          for (let n = lane; ; n += LANES) acked.push(await agent.append('note', { n, pad: 'x'.repeat((n * 131 + i * 17) % 700) }))
        } catch (err) {
          if (!files.isCut) throw err
        }
      })
    }),
  )
  await store.close().catch(() => undefined)
  assert.ok(image !== undefined, 'the power was not cut')
  return { acked, path, image }
}

/** How many of `blocks` LevelDB's copy lacks: those must come back from the journal. */
async function missingFromLevel(path: string, blocks: readonly HalfBlock[]): Promise<number> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
  try {
    const keys = blocks.map((b) => {
      const key = new Uint8Array(41)
      key[0] = 0x62 // 'b' ‖ publicKey ‖ seq (8 bytes, big-endian)
      key.set(b.publicKey, 1)
      new DataView(key.buffer).setBigUint64(33, BigInt(b.seq))
      return key
    })
    return (await db.getMany(keys)).filter((v) => v === undefined).length
  } finally {
    await db.close()
  }
}

/** The chain runs from 1 to its latest block, linked; a restarted agent continues after it. */
async function checkChain(store: BlockStore, identity: Identity, where: string): Promise<void> {
  const blocks = await store.range(identity.publicKey)
  let previous: HalfBlock | undefined
  for (const block of blocks) {
    assert.is(block.seq, (previous?.seq ?? 0) + 1, `${where}: gap before ${block.seq}`)
    if (previous !== undefined) assert.is(toHex(block.previousHash), toHex(blockHash(previous)), `${where}: block ${block.seq} does not link`)
    assert.equal(checkBlock(block, crypto), [], `${where}: block ${block.seq} invalid`)
    previous = block
  }
  const next = await createAgent({ head: 'local', types: noteTypes, identity, store }).append('note', 'after the cut')
  assert.is(next.seq, (previous?.seq ?? 0) + 1, `${where}: a restarted agent signed at ${next.seq}`)
}

/** One append, the power cut as soon as it resolves, the store reopened and the agent restarted. */
async function cutRightAfterOneAppend(sync: boolean): Promise<{ acked: HalfBlock; after: HalfBlock | undefined; resigned: HalfBlock }> {
  const dir = freshDir()
  const live = join(dir, 'store')
  const path = join(dir, 'after-cut')
  const files = new PowerCutFiles()
  const store = await openLevelStoreOn({ files }, { path: live, sync, crypto })
  const identity = identities[0]!
  const acked = await createAgent({ head: 'local', types: noteTypes, identity, store }).append('note', 'acknowledged')
  // nothing ran in between: no timer, no LevelDB write
  cpSync(live, path, { recursive: true, filter: (src) => basename(src) !== 'LOCK' })
  const image = files.cut()
  await store.close().catch(() => undefined)
  const again = await openLevelStoreOn({ files: new PowerCutFiles(path, image) }, { path, sync, crypto })
  try {
    const after = await again.get(identity.publicKey, acked.seq)
    const resigned = await createAgent({ head: 'local', types: noteTypes, identity, store: again }).append('note', 'after the cut')
    return { acked, after, resigned }
  } finally {
    await again.close()
  }
}

/** Let the event loop turn until `ready()`; fail after 100,000 turns (no clock). */
async function until(ready: () => boolean): Promise<void> {
  for (let i = 0; !ready(); i++) {
    if (i === 100_000) throw new Error(`not ready after ${i} turns of the event loop: ${String(ready)}`)
    await turn()
  }
}

/** Let the event loop turn `n` times (nothing that waits for I/O of this process is due). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await turn()
}

function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** A small seeded PRNG (mulberry32): the same trial cuts at the same call every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
