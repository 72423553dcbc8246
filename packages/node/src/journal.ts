/**
 * The level store's write-ahead journal: a commit is durable once its LevelDB writes are appended
 * here, with one `write` system call (and an fdatasync when the store syncs); the store hands them
 * to LevelDB afterwards, many commits in one LevelDB batch.
 *
 * Why: a LevelDB batch costs a hop to libuv's thread pool and back, about 200 µs on the CI
 * machine, so one batch per append capped durable appends near 4,000/s. LevelDB's own log gives
 * the same guarantee as this journal (written, not synced, unless `sync`), at that price.
 *
 * Files live in the LevelDB directory (LevelDB leaves names it does not recognize alone) and are
 * covered by its LOCK: `TALLY-JOURNAL-<n>`, n counting up from 1, 12 decimal digits. A file is
 *
 *   magic "tallyj1\n" ‖ record*
 *   record = payloadLength u32le ‖ crc32(payload) u32le ‖ payload
 *   payload = op*,  op = keyLength u16le ‖ key ‖ valueLength u32le ‖ value
 *
 * Every op is a put (blocks, proofs and indexes are never deleted), so replaying a record twice
 * changes nothing. Replay stops at the first torn or corrupt record: a process crash (SIGKILL)
 * cannot tear a completed `write`, so only records never acknowledged are dropped; after power
 * loss without `sync`, the tail not yet on disk is lost, as with LevelDB's own log.
 * @module
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, readFileSync, readdirSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { StoreVersionError } from '@tally/core'

/** A LevelDB put. */
export interface PutOp {
  readonly type: 'put'
  readonly key: Uint8Array
  readonly value: Uint8Array
}

const MAGIC = new TextEncoder().encode('tallyj1\n')
const PREFIX = 'TALLY-JOURNAL-'
/** A record larger than this is corrupt: no commit writes one (a block is at most 16 KiB). */
const MAX_RECORD = 256 * 1024 * 1024

/** The append side of the journal. */
export class Journal {
  readonly #dir: string
  readonly #sync: boolean
  #fd: number
  #id: number
  #closed = false

  private constructor(dir: string, sync: boolean, id: number) {
    this.#dir = dir
    this.#sync = sync
    this.#id = id
    this.#fd = createFile(dir, id, sync)
  }

  /**
   * Read what earlier runs left (every file's intact records, oldest first), and start a new file.
   * @param dir the LevelDB directory
   * @param sync fdatasync every append
   * @returns the journal and the files found (apply their ops, then `release` them)
   * @throws StoreVersionError on a journal file of another format
   */
  static open(dir: string, sync: boolean): { journal: Journal; found: { ids: number[]; ops: PutOp[] } } {
    const ids = readdirSync(dir)
      .filter((name) => name.startsWith(PREFIX))
      .map((name) => Number(name.slice(PREFIX.length)))
      .filter((id) => Number.isSafeInteger(id) && id > 0)
      .sort((a, b) => a - b)
    const ops: PutOp[] = []
    for (const id of ids) ops.push(...readFile(join(dir, fileName(id))))
    return { journal: new Journal(dir, sync, (ids.at(-1) ?? 0) + 1), found: { ids, ops } }
  }

  /** The file now being appended to. */
  get current(): number {
    return this.#id
  }

  /** Append one commit's ops; durable (against a process crash; with `sync`, a power loss) on return. */
  append(ops: readonly PutOp[]): void {
    if (this.#closed) throw new Error('journal is closed')
    writeAll(this.#fd, encodeRecord(ops))
    if (this.#sync) fdatasyncSync(this.#fd)
  }

  /**
   * Start a new file: what was appended so far is in files up to the returned id, which the store
   * releases once LevelDB holds those ops.
   */
  rotate(): number {
    const sealed = this.#id
    closeSync(this.#fd)
    this.#id++
    this.#fd = createFile(this.#dir, this.#id, this.#sync)
    return sealed
  }

  /** Delete files whose ops LevelDB holds now. */
  release(ids: readonly number[]): void {
    for (const id of ids) {
      try {
        unlinkSync(join(this.#dir, fileName(id)))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      }
    }
  }

  /** Close the current file; with `empty`, everything is in LevelDB and the file is deleted too. */
  close(empty: boolean): void {
    if (this.#closed) return
    this.#closed = true
    closeSync(this.#fd)
    if (empty) this.release([this.#id])
  }
}

/** Make a new file's directory entry durable too (a synced file is not enough after power loss). */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

// ## Encoding

function fileName(id: number): string {
  return PREFIX + String(id).padStart(12, '0')
}

function createFile(dir: string, id: number, sync: boolean): number {
  const fd = openSync(join(dir, fileName(id)), 'wx')
  writeAll(fd, MAGIC)
  if (sync) {
    fdatasyncSync(fd)
    syncDirectory(dir)
  }
  return fd
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done)
}

function encodeRecord(ops: readonly PutOp[]): Uint8Array {
  let size = 8
  for (const op of ops) size += 2 + op.key.length + 4 + op.value.length
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let at = 8
  for (const { key, value } of ops) {
    view.setUint16(at, key.length, true)
    out.set(key, at + 2)
    at += 2 + key.length
    view.setUint32(at, value.length, true)
    out.set(value, at + 4)
    at += 4 + value.length
  }
  const payload = out.subarray(8)
  view.setUint32(0, payload.length, true)
  view.setUint32(4, crc32(payload), true)
  return out
}

/** The ops of every intact record of one file, up to the first torn or corrupt one. */
function readFile(path: string): PutOp[] {
  const bytes = new Uint8Array(readFileSync(path))
  const ops: PutOp[] = []
  // a file cut before its magic was complete holds nothing yet
  if (bytes.length < MAGIC.length) return ops
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new StoreVersionError(`${path} is not a journal this version of @tally/node can read`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let at = MAGIC.length
  while (at + 8 <= bytes.length) {
    const length = view.getUint32(at, true)
    if (length > MAX_RECORD || at + 8 + length > bytes.length) break
    const payload = bytes.subarray(at + 8, at + 8 + length)
    if (crc32(payload) !== view.getUint32(at + 4, true)) break
    const record = decodeRecord(payload, view, at + 8)
    if (record === undefined) break
    ops.push(...record)
    at += 8 + length
  }
  return ops
}

function decodeRecord(payload: Uint8Array, view: DataView, base: number): PutOp[] | undefined {
  const ops: PutOp[] = []
  let at = 0
  while (at < payload.length) {
    if (at + 2 > payload.length) return undefined
    const keyLength = view.getUint16(base + at, true)
    const keyEnd = at + 2 + keyLength
    if (keyEnd + 4 > payload.length) return undefined
    const valueLength = view.getUint32(base + keyEnd, true)
    const valueEnd = keyEnd + 4 + valueLength
    if (valueEnd > payload.length) return undefined
    ops.push({ type: 'put', key: payload.slice(at + 2, keyEnd), value: payload.slice(keyEnd + 4, valueEnd) })
    at = valueEnd
  }
  return ops
}
