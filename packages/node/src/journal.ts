/**
 * The level store's write-ahead journal: a commit's LevelDB writes are appended here, and the
 * store hands them to LevelDB afterwards, many commits in one LevelDB batch. Without `sync` a
 * commit's record is written at once, with one `write` system call; with `sync`, the records of
 * one turn of the event loop are written together at its end, with one `write`, just before
 * their group's fdatasync (none of them is acknowledged before that sync).
 *
 * Why: a LevelDB batch costs a hop to libuv's thread pool and back, about 200 µs on the CI
 * machine, so one batch per append capped durable appends near 4,000/s.
 *
 * **Group commit.** With `sync`, a commit is durable once an fdatasync that started after its
 * write has finished (`synced()`). The commits written in one turn of the event loop share one
 * group of syncs, started at the end of that turn on libuv's pool; up to MAX_SYNCS groups run at
 * once, and groups are acknowledged in the order they started. So the number of syncs follows
 * the disk, not the number of commits, and this thread keeps signing and writing while the disk
 * syncs. A new file's name is made durable by a directory fsync in the next group, before any
 * record in it is acknowledged.
 *
 * Files live in the LevelDB directory (LevelDB leaves names it does not recognize alone) and are
 * covered by its LOCK: `TALLY-JOURNAL-<n>`, n counting up from 1, 12 decimal digits. A new file
 * is started once the next record would not fit in FILE_BYTES; a file is deleted once LevelDB
 * holds every record in it. With `sync`, files are preallocated (zeros after the last record);
 * each is made and synced while the one before fills (a run's first is small, 64 KiB, and made at
 * open). Format 2 (written since group commit):
 *
 *   file   = "tallyj2\n" ‖ salt(16, random) ‖ record* ‖ zeros
 *   record = payloadLength u32le ‖ synced u32le ‖ crc32(payload) u32le
 *            ‖ crc32(salt ‖ the 12 bytes before) u32le ‖ payload
 *   payload = op*,  op = keyLength u16le ‖ key ‖ valueLength u32le ‖ value
 *
 * `synced` is how many bytes of the file an fdatasync had covered when the record was written
 * (0 without `sync`): the record's witness that everything before that offset was acknowledged.
 *
 * **Replay** keeps every intact record, in file order: a damaged record never hides the ones
 * after it. Its header check finds where the next record starts when only its payload is damaged;
 * when its header is damaged, the next record is found by scanning for a header that checks. The
 * salt, unknown outside this file, keeps a block's payload (chosen by whoever signed it) from
 * passing for a record header in that scan. Every op is a put (blocks, proofs and indexes are
 * never deleted), so replaying a record twice changes nothing.
 *
 * What a damaged record is decides what replay does with it:
 * - bytes that no sync had covered when a later intact record was written: a write the power cut
 *   tore (the disk may keep later pages of an unsynced write and lose earlier ones). Nobody was
 *   told they were durable: they are skipped.
 * - bytes that a later intact record says were synced: the disk changed acknowledged data.
 *   Skipping them could drop the agent's latest block and let it sign that seq again, so `open`
 *   throws CorruptError (ERR_CORRUPT) instead; the operator moves the file away and the agent
 *   learns its head from its peers (see the agent's promises in DESIGN.md).
 *
 * Files of format 1 ("tallyj1\n", records without the header check and `synced`) are still read,
 * as they always were: up to the first torn or corrupt record.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { CorruptError, StoreVersionError } from '@tally/core'
import { nodeFiles, type FileHandle, type JournalFiles } from './journal-files.js'

/** A LevelDB put. */
export interface PutOp {
  readonly type: 'put'
  readonly key: Uint8Array
  readonly value: Uint8Array
}

/** How to open a journal. */
export interface JournalOptions {
  /** Make appends durable against power loss: `synced()` waits for an fdatasync. */
  readonly sync: boolean
  /** The file layer (default node:fs). */
  readonly files?: JournalFiles
  /** Bytes of a journal file (default FILE_BYTES; tests make them small, to rotate often). */
  readonly fileBytes?: number
}

/** What earlier runs left: the files found and the ops of their intact records, oldest first. */
export interface Replay {
  readonly ids: number[]
  /** Every op of `records`, in order. */
  readonly ops: PutOp[]
  /** The intact records (one commit each), each saying whether a damaged record came before it. */
  readonly records: ReplayRecord[]
}

/** One intact record found by `Journal.open`. */
export interface ReplayRecord {
  readonly ops: PutOp[]
  /**
   * A damaged record (in this file or an earlier one) was skipped before it. With a disk that
   * keeps what it acknowledged, nothing written after a torn record was acknowledged either (every
   * acknowledgement waits for an fdatasync that covers all earlier writes); the level store uses
   * this to drop blocks whose chain the skipped record would have continued.
   */
  readonly afterDamage: boolean
}

const MAGIC_V1 = ascii('tallyj1\n')
const MAGIC = ascii('tallyj2\n')
const SALT_BYTES = 16
const FILE_HEADER = MAGIC.length + SALT_BYTES
const RECORD_HEADER = 16
const PREFIX = 'TALLY-JOURNAL-'
/** A record larger than this is corrupt: no commit writes one (a block is at most 16 KiB). */
const MAX_RECORD = 256 * 1024 * 1024
/**
 * A new file is started once the next record would not fit in this many bytes. Files are
 * deleted whole, once LevelDB holds all their records, so this bounds what a restart replays
 * beyond what was not in LevelDB yet; in sync mode each file is preallocated (written as zeros
 * once), and costs a directory fsync.
 */
const FILE_BYTES = 1024 * 1024
/** The record buffer's size at first; one grown past MAX_KEPT_BUFFER is dropped once written. */
const BUFFER_BYTES = 64 * 1024
const MAX_KEPT_BUFFER = 1024 * 1024
/** With `sync`, a run's first file is preallocated to this many bytes only; the next ones to FILE_BYTES. */
const FIRST_FILE_BYTES = 64 * 1024
/**
 * Groups syncing at once. A second group can start while the first one's fdatasync runs, so that
 * commits written meanwhile do not wait for the first to end and then for their own. With 64
 * appends in flight, runs interleaved on the CI machine (noisy: ±15% between runs) put two ahead
 * of one in five of six; four did no better than two.
 */
const MAX_SYNCS = 2

/** A journal file this run has open or has not deleted yet. */
interface JournalFile {
  readonly id: number
  readonly handle: FileHandle
  readonly saltCrc: number
  /** Bytes the file holds (zeros past `size` when preallocated). */
  length: number
  /** A record that would end past this goes to the next file (unless this one is empty). */
  readonly capacity: number
  /** Bytes written, or appended and waiting to be written (the journal's buffer): the header and the records. */
  size: number
  /** Bytes an fdatasync has covered. */
  durable: number
  /** Bytes the syncs started so far cover. */
  requested: number
  /** fdatasyncs running on it: it stays open meanwhile. */
  syncing: number
  /** Records appended and not yet in LevelDB (see `stored`). */
  live: number
  /** No longer appended to. */
  retired: boolean
  handleClosed: boolean
}

/** The append side of the journal. */
export class Journal {
  readonly #dir: string
  readonly #files: JournalFiles
  readonly #sync: boolean
  readonly #fileBytes: number
  /** Files not deleted yet, by id: the current one, older ones, and the spare. */
  readonly #open = new Map<number, JournalFile>()
  #current: JournalFile
  /** With `sync`: the next file, preallocated and synced ahead of its use (made once the current one is half full). */
  #spare: JournalFile | undefined
  #preparing = false
  #closed = false
  /** The first failed write or sync: later appends and syncs fail with it. */
  #failure: { error: unknown } | undefined
  /** A file was created since the directory was last synced. */
  #dirDirty = false
  /** Groups whose fdatasyncs are running. */
  #syncing = 0
  /** The last group started: groups are acknowledged in the order they started. */
  #lastGroup: Promise<void> = Promise.resolve()
  /** Commits written since the last group started, waiting for the next one. */
  #waiting: Deferred | undefined
  /** A group start is queued for the end of this turn of the event loop. */
  #scheduled = false
  /**
   * Records are encoded here, then written: at once without `sync`; with it, those of one turn
   * together at its end (`#buffered` bytes, all of the current file). Reused, so that a commit
   * allocates no buffer of its own.
   */
  #buffer: Uint8Array = new Uint8Array(BUFFER_BYTES)
  #view: DataView = new DataView(this.#buffer.buffer)
  #buffered = 0

  private constructor(dir: string, options: JournalOptions, id: number) {
    this.#dir = dir
    this.#files = options.files ?? nodeFiles
    this.#sync = options.sync
    this.#fileBytes = options.fileBytes ?? FILE_BYTES
    // a small first file: a store opened briefly writes few zeros
    const first = this.#sync ? Math.min(FIRST_FILE_BYTES, this.#fileBytes) : this.#fileBytes
    this.#current = this.#create(id, this.#sync ? first : 0, first)
  }

  /**
   * Read what earlier runs left (every file's intact records, oldest first), and start a new file.
   * @param dir the LevelDB directory
   * @param options sync, file layer
   * @returns the journal and the files found (apply their ops, then `release` them)
   * @throws StoreVersionError on a journal file of another format; CorruptError when synced
   *   records are damaged
   */
  static open(dir: string, options: JournalOptions): { journal: Journal; found: Replay } {
    const files = options.files ?? nodeFiles
    const ids = files
      .list(dir)
      .filter((name) => name.startsWith(PREFIX))
      .map((name) => Number(name.slice(PREFIX.length)))
      .filter((id) => Number.isSafeInteger(id) && id > 0)
      .sort((a, b) => a - b)
    const records: ReplayRecord[] = []
    let damaged = false
    for (const id of ids) {
      const path = join(dir, fileName(id))
      const read = readFile(files.read(path), path)
      for (const record of read.records) records.push({ ops: record.ops, afterDamage: damaged || record.afterDamage })
      damaged ||= read.damaged
    }
    const found: Replay = {
      ids,
      records,
      get ops() {
        return records.flatMap((r) => r.ops)
      },
    }
    return { journal: new Journal(dir, options, (ids.at(-1) ?? 0) + 1), found }
  }

  /** True after a write or sync failed: nothing more is appended. */
  get failed(): boolean {
    return this.#failure !== undefined
  }

  /**
   * Append one commit's ops. Without `sync`, written at once (one write), and durable against a
   * process crash on return. With `sync`, the records of one turn of the event loop are written
   * together at its end (one write), and are durable against power loss once `synced()` resolves:
   * nobody is told before that, so a record not written yet is one that no promise was kept on.
   * @returns the id of the file written to: tell `stored` once LevelDB holds the ops
   * @throws the file system's error (and every later append throws it too)
   */
  append(ops: readonly PutOp[]): number {
    this.#usable()
    const length = recordLength(ops)
    if (this.#current.size > FILE_HEADER && this.#current.size + length > this.#current.capacity) this.#rotate()
    const file = this.#current
    // encoded into the buffer after the records of this turn not written yet (all of this file:
    // a rotation writes them out first), with this file's salt and sync witness
    const at = this.#buffered
    this.#reserve(at + length)
    writeRecord(this.#buffer, this.#view, at, ops, file.durable, file.saltCrc)
    this.#buffered = at + length
    file.size += length
    file.length = Math.max(file.length, file.size)
    file.live++
    if (this.#sync) this.#atTurnEnd()
    // part of the record may be in the file when this throws: #fail keeps a later one from following it
    else this.#writeOut()
    if (this.#sync && this.#spare === undefined && file.size >= file.capacity / 2 && !this.#preparing) {
      this.#preparing = true
      setImmediate(() => this.#prepareSpare())
    }
    return file.id
  }

  /**
   * Resolves once everything appended before the call is durable (at once without `sync`).
   * Calls made in one turn of the event loop share one group of fdatasyncs.
   */
  synced(): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure.error)
    if (!this.#sync) return Promise.resolve()
    const waiting = (this.#waiting ??= deferred())
    this.#schedule()
    return waiting.promise
  }

  /** LevelDB holds the records appended to these files (one id per record). */
  stored(ids: readonly number[]): void {
    const touched = new Set<JournalFile>()
    for (const id of ids) {
      const file = this.#open.get(id)
      if (file === undefined) continue
      file.live--
      touched.add(file)
    }
    for (const file of touched) this.#settle(file)
  }

  /** Delete files an earlier run left, once their ops are in LevelDB. */
  release(ids: readonly number[]): void {
    for (const id of ids) this.#files.remove(join(this.#dir, fileName(id)))
  }

  /**
   * Close every file. With `empty`, everything is in LevelDB and the files are deleted too
   * (unless a write or sync failed: then what they hold is replayed by the next open).
   */
  close(empty: boolean): void {
    if (this.#closed) return
    if (this.#failure === undefined) quietly(() => this.#writeOut())
    this.#closed = true
    for (const file of this.#open.values()) {
      if (!file.handleClosed) quietly(() => this.#files.close(file.handle))
      file.handleClosed = true
      if (empty && this.#failure === undefined) quietly(() => this.#files.remove(this.#path(file.id)))
    }
    this.#open.clear()
  }

  // ## Private helpers

  #usable(): void {
    if (this.#closed) throw new Error('journal is closed')
    if (this.#failure !== undefined) throw this.#failure.error
  }

  #fail(error: unknown): unknown {
    this.#failure ??= { error }
    return this.#failure.error
  }

  #path(id: number): string {
    return join(this.#dir, fileName(id))
  }

  /**
   * A new file with its header written, preallocated to `length` bytes: zeros written out, so
   * that an fdatasync of records inside them has no file size to commit (as PostgreSQL zero-fills
   * its WAL segments). Alone, an fdatasync after an 11 KB write took ~200 µs against ~350 µs at
   * the end of a growing file; one agent appending synced did 25–58% more appends per second
   * into a preallocated first file than into a growing one (three interleaved runs on the loaded
   * CI machine); with 64 in flight the difference was within the noise. Its name is synced by
   * the next group.
   */
  #create(id: number, length: number, capacity = this.#fileBytes): JournalFile {
    const handle = this.#files.create(this.#path(id), length)
    const salt = new Uint8Array(randomBytes(SALT_BYTES))
    const header = new Uint8Array(FILE_HEADER)
    header.set(MAGIC)
    header.set(salt, MAGIC.length)
    try {
      this.#files.write(handle, header, 0)
    } catch (err) {
      quietly(() => this.#files.close(handle))
      throw err
    }
    const file: JournalFile = {
      id,
      handle,
      saltCrc: crc32(salt),
      length: Math.max(length, header.length),
      capacity,
      size: header.length,
      durable: 0,
      requested: 0,
      syncing: 0,
      live: 0,
      retired: false,
      handleClosed: false,
    }
    this.#open.set(id, file)
    if (this.#sync) this.#dirDirty = true
    return file
  }

  /** With `sync`: make the next file now and sync its zeros, off the path of any commit. */
  #prepareSpare(): void {
    this.#preparing = false
    if (!this.#sync || this.#spare !== undefined || this.#closed || this.#failure !== undefined) return
    let spare: JournalFile
    try {
      spare = this.#spare = this.#create(this.#current.id + 1, this.#fileBytes)
    } catch {
      return // rotation tries again, and reports the error then
    }
    spare.requested = spare.size
    this.#syncFile(spare).then(
      () => (spare.durable = Math.max(spare.durable, FILE_HEADER)),
      (err: unknown) => this.#fail(err),
    )
  }

  #rotate(): void {
    const old = this.#current
    this.#writeOut() // the buffer holds records of the current file only
    try {
      this.#current = this.#spare ?? this.#create(old.id + 1, this.#sync ? this.#fileBytes : 0)
    } catch (err) {
      throw this.#fail(err)
    }
    this.#spare = undefined
    old.retired = true
    this.#settle(old)
  }

  /**
   * A retired file is closed once synced and no fdatasync runs on it, and deleted once LevelDB
   * holds all its records. Errors are ignored: a file left behind is replayed by the next open,
   * and replaying puts twice changes nothing.
   */
  #settle(file: JournalFile): void {
    if (!file.retired || this.#closed) return
    if (!file.handleClosed && file.syncing === 0 && (!this.#sync || file.durable >= file.size)) {
      file.handleClosed = true
      quietly(() => this.#files.close(file.handle))
    }
    if (file.handleClosed && file.live === 0) {
      this.#open.delete(file.id)
      quietly(() => this.#files.remove(this.#path(file.id)))
    }
  }

  /** fdatasync one file, keeping it open meanwhile. */
  #syncFile(file: JournalFile): Promise<void> {
    file.syncing++
    return attempt(() => this.#files.sync(file.handle)).finally(() => {
      file.syncing--
      this.#settle(file)
    })
  }

  /**
   * Start a group at the end of this turn of the event loop, so that every commit this turn
   * writes joins it; when MAX_SYNCS groups are syncing, once one of them is done.
   */
  #schedule(): void {
    if (this.#waiting === undefined || this.#syncing >= MAX_SYNCS) return
    this.#atTurnEnd()
  }

  /**
   * At the end of this turn of the event loop: write the records appended in it (one write per
   * file), and start a group when commits wait for one and a sync slot is free.
   */
  #atTurnEnd(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      if (!this.#closed) {
        try {
          this.#writeOut()
        } catch {
          // #fail has it: the waiting group is refused with it below, and every later append
        }
      }
      if (this.#waiting !== undefined && this.#syncing < MAX_SYNCS) this.#startGroup()
    })
  }

  /**
   * Write every record appended and not written yet, one write per file: a syscall per turn
   * instead of one per commit (with 64 transactions in flight, ~20 commits share a turn).
   * @throws the file system's error (and every later append and sync fails with it)
   */
  #writeOut(): void {
    if (this.#failure !== undefined) throw this.#failure.error
    const length = this.#buffered
    if (length === 0) return
    this.#buffered = 0
    const file = this.#current
    try {
      this.#files.write(file.handle, this.#buffer.subarray(0, length), file.size - length)
    } catch (err) {
      // part of them may be in the file: a later record must not follow
      throw this.#fail(err)
    }
    // a buffer grown for a big commit (an ingest's chunk) is not kept
    if (this.#buffer.length > MAX_KEPT_BUFFER) this.#setBuffer(new Uint8Array(BUFFER_BYTES))
  }

  /** Make the buffer hold at least `bytes` bytes, keeping what it holds. */
  #reserve(bytes: number): void {
    if (bytes <= this.#buffer.length) return
    const grown = new Uint8Array(Math.max(bytes, 2 * this.#buffer.length))
    grown.set(this.#buffer.subarray(0, this.#buffered))
    this.#setBuffer(grown)
  }

  #setBuffer(buffer: Uint8Array): void {
    this.#buffer = buffer
    this.#view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength)
  }

  /**
   * One group: fdatasync every file with bytes no running group covers (and the directory when
   * a file is new). It is acknowledged once its syncs and every group started before it are done.
   */
  #startGroup(): void {
    const group = this.#waiting!
    this.#waiting = undefined
    // what a sync is to cover must be written first
    if (this.#failure === undefined && !this.#closed) quietly(() => this.#writeOut())
    if (this.#failure !== undefined || this.#closed) {
      group.reject(this.#failure?.error ?? new Error('journal is closed'))
      return
    }
    const files = [...this.#open.values()].filter((f) => f.requested < f.size)
    const targets = files.map((f) => f.size)
    const work = files.map((f) => {
      f.requested = f.size
      return this.#syncFile(f)
    })
    if (this.#dirDirty) {
      this.#dirDirty = false
      work.push(attempt(() => this.#files.syncDir(this.#dir)))
    }
    this.#syncing++
    void Promise.allSettled(work).then(() => {
      this.#syncing--
      this.#schedule()
    })
    Promise.all([this.#lastGroup, ...work]).then(
      () => {
        files.forEach((f, i) => {
          f.durable = Math.max(f.durable, targets[i]!)
          this.#settle(f)
        })
        group.resolve()
      },
      // after a failed fsync the kernel may have dropped the pages: nothing written since the
      // last good sync can be called durable, now or later (PostgreSQL's "fsyncgate")
      (err: unknown) => group.reject(this.#fail(err)),
    )
    this.#lastGroup = group.promise
  }
}

// ## Encoding

function fileName(id: number): string {
  return PREFIX + String(id).padStart(12, '0')
}

/** Bytes of the record holding `ops`. */
function recordLength(ops: readonly PutOp[]): number {
  let size = RECORD_HEADER
  for (const op of ops) size += 2 + op.key.length + 4 + op.value.length
  return size
}

/** Encode the record holding `ops` at `start` of `out` (`view` over it); recordLength(ops) bytes. */
function writeRecord(out: Uint8Array, view: DataView, start: number, ops: readonly PutOp[], synced: number, saltCrc: number): void {
  let at = start + RECORD_HEADER
  for (const { key, value } of ops) {
    view.setUint16(at, key.length, true)
    out.set(key, at + 2)
    at += 2 + key.length
    view.setUint32(at, value.length, true)
    out.set(value, at + 4)
    at += 4 + value.length
  }
  const payload = out.subarray(start + RECORD_HEADER, at)
  view.setUint32(start, payload.length, true)
  // a smaller witness only claims less: files are rotated long before 4 GiB
  view.setUint32(start + 4, Math.min(synced, 0xffff_ffff), true)
  view.setUint32(start + 8, crc32(payload), true)
  view.setUint32(start + 12, crc32(out.subarray(start, start + 12), saltCrc), true)
}

/** A file's intact records (see the module comment for what is skipped), and whether any was damaged. */
function readFile(bytes: Uint8Array, path: string): { records: ReplayRecord[]; damaged: boolean } {
  // a file cut before its header was complete, or whose header never reached the disk (zeros),
  // holds nothing that was acknowledged: no sync covered it
  if (bytes.length < MAGIC.length || bytes.subarray(0, MAGIC.length).every((b) => b === 0)) return { records: [], damaged: false }
  if (startsWith(bytes, MAGIC_V1)) return { records: [{ ops: readFileV1(bytes), afterDamage: false }], damaged: false }
  if (!startsWith(bytes, MAGIC)) throw new StoreVersionError(`${path} is not a journal this version of @tally/node can read`)
  if (bytes.length < FILE_HEADER) return { records: [], damaged: false }
  const saltCrc = crc32(bytes.subarray(MAGIC.length, FILE_HEADER))
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const records: ReplayRecord[] = []
  /** Where the first damaged record starts. */
  let damaged: number | undefined
  // the preallocated end of the file: zeros from here on are no record, and no damage
  let zeros = bytes.length
  while (zeros > FILE_HEADER && bytes[zeros - 1] === 0) zeros--
  let at = FILE_HEADER
  while (at + RECORD_HEADER <= bytes.length && at < zeros) {
    const length = view.getUint32(at, true)
    const synced = view.getUint32(at + 4, true)
    // cheap checks first: an intact header never claims more than the file, nor a sync past itself
    const header =
      length <= MAX_RECORD && synced <= at && at + RECORD_HEADER + length <= bytes.length &&
      crc32(bytes.subarray(at, at + 12), saltCrc) === view.getUint32(at + 12, true)
    if (!header) {
      damaged ??= at
      at = nextCandidate(bytes, at) // scan for the next header that checks
      continue
    }
    const end = at + RECORD_HEADER + length
    const payload = bytes.subarray(at + RECORD_HEADER, end)
    const record = crc32(payload) === view.getUint32(at + 8, true) ? decodeRecord(payload, view, at + RECORD_HEADER) : undefined
    if (record === undefined) {
      damaged ??= at
      at = end // the header is intact: the next record starts here
      continue
    }
    if (damaged !== undefined && synced > damaged) {
      throw new CorruptError(
        `${path}: the journal record at byte ${damaged} is damaged, but a later record says the first ${synced} bytes were synced, ` +
          'so it was acknowledged: the disk changed it. Move this file out of the store directory to open the store without ' +
          'that record, and let the agent learn its head from its peers before it signs again.',
      )
    }
    records.push({ ops: record, afterDamage: damaged !== undefined })
    at = end
  }
  // a damaged record at the end (a torn last write) hides nothing, but marks the files after it
  return { records, damaged: damaged !== undefined }
}

/**
 * Where to look for a record header after `at`: the next byte, or past a run of zeros (the
 * preallocated end of a file). A header holds its record's length, never 0, so it ends at or
 * past the first non-zero byte.
 */
function nextCandidate(bytes: Uint8Array, at: number): number {
  let end = at
  while (end < bytes.length && bytes[end] === 0) end++
  return Math.max(at + 1, end - (RECORD_HEADER - 1))
}

/** Format 1: every intact record up to the first torn or corrupt one. */
function readFileV1(bytes: Uint8Array): PutOp[] {
  const ops: PutOp[] = []
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let at = MAGIC_V1.length
  while (at + 8 <= bytes.length) {
    const length = view.getUint32(at, true)
    if (length > MAX_RECORD || at + 8 + length > bytes.length) break
    const payload = bytes.subarray(at + 8, at + 8 + length)
    if (crc32(payload) !== view.getUint32(at + 4, true)) break
    const record = decodeRecord(payload, view, at + 8)
    if (record === undefined) break
    for (const op of record) ops.push(op)
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

// ## Private helpers

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false
  return true
}

interface Deferred {
  readonly promise: Promise<void>
  resolve(): void
  reject(err: unknown): void
}

function deferred(): Deferred {
  let resolve!: () => void
  let reject!: (err: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  // a group nobody awaits any more (its commits failed earlier) must not be an unhandled rejection
  promise.catch(() => undefined)
  return { promise, resolve, reject }
}

/** `fn()`, with a synchronous throw turned into a rejection. */
function attempt(fn: () => Promise<void>): Promise<void> {
  try {
    return fn()
  } catch (err) {
    return Promise.reject(err)
  }
}

/** Run a cleanup step whose failure changes nothing (see #settle). */
function quietly(fn: () => void): void {
  try {
    fn()
  } catch {
    // ignored on purpose
  }
}
