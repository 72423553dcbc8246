/**
 * The durable BlockStore on LevelDB (classic-level). One directory per store; LevelDB's LOCK file
 * keeps it to one open store at a time, so this process is the only writer and may cache.
 *
 * Key layout (binary keys, a 1-byte table prefix; seq as 8-byte big-endian, so byte order is
 * public key then seq — 255 < 256 < 65536 — and one chain is one contiguous key range):
 *
 *   'v'                                                → format version (canonical CBOR uint)
 *   'b' ‖ publicKey(32) ‖ seq(8)                       → encoded block (encodeBlock)
 *   'h' ‖ blockHash(32)                                → publicKey(32) ‖ seq(8)
 *   'a' ‖ proposalKey(32) ‖ proposalSeq(8) ‖ signer(32) ‖ seq(8)
 *                                                      → '' (the signer's agreement is 'b' ‖ signer ‖ seq)
 *   'f' ‖ proofId(32)                                  → encoded fraud proof (encodeFraudProof)
 *   'x' ‖ accused(32) ‖ proofId(32)                    → ''
 *   'k' ‖ publicKey(32)                                → ''  (a chain with at least one block)
 *
 * The agreement's own seq ends its 'a' key, so a commit never reads to keep the index: when a
 * signer (a cheater) has stored two agreements to one proposal, `findAgreement` answers the
 * one lowest in its chain, whatever order they arrived in.
 *
 * The 'k' table makes `agents()` one scan of one key per chain. It costs no write on the append
 * path: a commit adds 'k' ‖ publicKey only when it does not know the chain to be non-empty (its
 * head is not cached), and an agent's append finds its own head cached. Seeking over the 'b'
 * table instead needs no table but one LevelDB round trip per chain: 5,000 chains took ~400 ms
 * that way, against ~50 ms for the scan (2 busy cores).
 *
 * Format versions: 1 is the layout above. A store written by an older version is opened (and
 * migrated here when a version 2 exists); a newer one is refused with ERR_STORE_VERSION.
 * @module
 */
import { ClassicLevel } from 'classic-level'
import {
  ClosedError,
  ConflictError,
  LockedError,
  StoreVersionError,
  abytes,
  collectBatch,
  keyHex,
  auint,
  blockHash,
  blockSize,
  concatBytes,
  decodeBlock,
  decodeCanonical,
  decodeFraudProof,
  encodeBlock,
  encodedView,
  encodeCanonical,
  encodeFraudProof,
  fraudProofId,
  isAgreement,
  nobleCrypto,
  toHex,
  type BlockStore,
  type CryptoProvider,
  type EvictRange,
  type FraudProof,
  type HalfBlock,
  type PublicKeyHex,
  type RangeOptions,
  type StoreBatch,
} from '@tally/core'
import { Journal, type PutOp, type ReplayRecord } from './journal.js'
import { nodeFiles, type JournalFiles } from './journal-files.js'

/** Options of openLevelStore. */
export interface LevelStoreOptions {
  /** Directory of the database; created when missing. */
  path: string
  /** Provider for block hashes and fraud-proof ids (default nobleCrypto; all providers agree). */
  crypto?: CryptoProvider
  /**
   * Default true: a commit resolves once an fdatasync covers it, so every resolved commit survives
   * a power cut or an OS crash. Commits in flight together share one fdatasync (group commit).
   * false: a commit resolves once written to the OS; that survives a killed process, not a
   * power cut (an agent could then sign its last seq again: a double sign).
   */
  sync?: boolean
  /**
   * How many chains' latest blocks (and highest answered proposal seqs) to keep in memory
   * (default 1024; 0 turns these caches off).
   */
  headCacheSize?: number
  /** How many recently written or read blocks to keep in memory (default 4096; 0 turns the cache off). */
  blockCacheSize?: number
}

/** @tally/core's cached reads (registered symbols: not part of its public API). */
const READ_CACHED: unique symbol = Symbol.for('tally.read-cached')
const MISS: unique symbol = Symbol.for('tally.miss')

/** The format version this code writes. */
export const LEVEL_STORE_VERSION = 1

/**
 * Open (or create) a durable block store in the directory `options.path`.
 * @param options path, crypto provider, sync
 * @returns the open store; `close()` it to release the directory
 * @throws TypeError on a malformed option; LockedError (ERR_LOCKED) when another store, in this
 *   process or another, has the directory open; StoreVersionError (ERR_STORE_VERSION) when the
 *   directory holds a store of a newer format or a LevelDB database that is not a Tally store;
 *   CorruptError (ERR_CORRUPT) when journal records that were synced are damaged
 * @example
 * const store = await openLevelStore({ path: './tally-db' })
 * const alice = createAgent({ identity, store })
 * await alice.append('note', 'hello')
 * await store.close()
 */
export function openLevelStore(options: LevelStoreOptions): Promise<BlockStore> {
  return openLevelStoreOn({ files: nodeFiles }, options)
}

/**
 * openLevelStore with the journal on another file layer: tests put one there that can lose what
 * was not synced, as a power cut does, and make its files small. Not exported from the package.
 * @param journal the journal's file operations, and when it starts a new file
 * @param options as openLevelStore
 * @returns the open store
 */
export async function openLevelStoreOn(journal: { files: JournalFiles; fileBytes?: number }, options: LevelStoreOptions): Promise<BlockStore> {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected object')
  const { path, crypto = nobleCrypto, sync = true, headCacheSize = 1024, blockCacheSize = 4096 } = options
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('"path" expected a non-empty string')
  if (typeof sync !== 'boolean') throw new TypeError('"sync" expected boolean')
  auint('headCacheSize', headCacheSize)
  auint('blockCacheSize', blockCacheSize)
  const db = new ClassicLevel<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
  try {
    await db.open()
  } catch (err) {
    if ((err as { cause?: { code?: unknown } }).cause?.code === 'LEVEL_LOCKED') {
      throw new LockedError(`${path} is open already, in this process or another: a store directory has one writer at a time`, { cause: err })
    }
    throw err
  }
  let accused: Accused
  let opened: ReturnType<typeof Journal.open> | undefined
  try {
    await checkVersion(db, path)
    // what the last run journaled but had not handed to LevelDB yet: in LevelDB before anything else
    opened = Journal.open(path, { ...journal, sync })
    const replayed = await linkedRecords(db, opened.found.records)
    if (replayed.length > 0) await db.batch(withAgents(replayed), { sync: true })
    opened.journal.release(opened.found.ids)
    accused = await loadAccused(db)
  } catch (err) {
    opened?.journal.close(false)
    await db.close()
    throw err
  }
  return new LevelStore(db, opened.journal, crypto, sync, headCacheSize, blockCacheSize, accused)
}

type Db = ClassicLevel<Uint8Array, Uint8Array>
type Op = PutOp

/** A block of a batch, encoded, at its slot. */
interface Pending {
  readonly block: HalfBlock
  readonly bytes: Uint8Array
  readonly key: Uint8Array
  readonly owner: PublicKeyHex
  /** slotId(owner, seq) */
  readonly slot: string
}

/** A commit written to the journal: what it changes in the caches once it is synced. */
interface Written {
  readonly ops: Op[]
  /** The journal file it went to (undefined: written to LevelDB directly, see DIRECT_OPS). */
  readonly file: number | undefined
  /** Its blocks for free slots. */
  readonly fresh: Pending[]
  /**
   * The head of each chain it touches before it, counting every commit written before it (null:
   * no blocks); missing when not known. Once this commit is synced, all those are too (syncs end
   * in write order), so these are then exact for what the caches describe.
   */
  readonly heads: Map<PublicKeyHex, HalfBlock | null>
  readonly accused: readonly PublicKeyHex[]
}

/** A commit checked and written: `done` resolves once it is synced and applied (undefined: nothing to wait for). */
interface Outcome {
  readonly done: Promise<void> | undefined
}

/** What #check found of a commit's slots (see there). */
interface Check {
  readonly checked: Pending[]
  /** The head of each chain of `checked` as far as known (null: no blocks), raised by #withUnsynced. */
  readonly heads: Map<PublicKeyHex, HalfBlock | null>
  /** Heads of chains of `checked` written and not synced yet (undefined: none). */
  readonly unsyncedHeads: Map<PublicKeyHex, HalfBlock> | undefined
  /** Chains of `checked` whose head is not cached (undefined: none). */
  readonly lookups: Map<PublicKeyHex, Uint8Array> | undefined
  /** A block of the commit is written by an earlier commit not synced yet. */
  readonly waitsForSync: boolean
}

/** No proof ops, no accused keys: most commits carry no fraud proof. */
const NONE: readonly never[] = Object.freeze([])
/** A batch of up to this many blocks finds a slot taken twice by comparing its blocks in turn. */
const SMALL_BATCH = 8

/** The pending block at `slot`, if any. */
function atSlot(pending: readonly Pending[], slot: string): Pending | undefined {
  for (const p of pending) if (p.slot === slot) return p
  return undefined
}

/** A settled promise for commits with nothing to wait for. */
const RESOLVED: Promise<void> = Promise.resolve()

/** The keys accused by a stored fraud proof, as far as known: `complete` when it is all of them. */
interface Accused {
  readonly keys: Set<PublicKeyHex>
  complete: boolean
}

/** At most this many accused keys are kept in memory; beyond it, hasFraud reads what it misses. */
const ACCUSED_CACHE_SIZE = 65_536
/** The block cache holds at most this many encoded bytes, whatever its entry count. */
const BLOCK_CACHE_BYTES = 8 * 1024 * 1024
/** A commit looks up at most this many uncached chain heads (one seek each) instead of its slots. */
const HEAD_LOOKUPS = 16
/**
 * Journaled ops beyond this start handing them to LevelDB in the background... A batch to
 * LevelDB costs a hop to libuv's pool and, with sync, an fsync of LevelDB's log: fewer, larger
 * batches (up to 4096 ops, or every 20 ms) left more of both cores to the synced transaction
 * benchmark than batches every 5 ms (~300 against ~320 µs of CPU a transaction, A/B in one run).
 */
const FLUSH_SOON = 4096
/** ...and beyond this a commit waits for LevelDB first, so memory stays bounded. */
const FLUSH_NOW = 16_384
/** A commit of this many ops or more, without sync, goes to LevelDB directly (see #write). */
const DIRECT_OPS = 1024
/** A commit of more blocks than this caches none of them in the block cache (see #apply). */
const REMEMBER_BLOCKS = 64
/** Idle stores hand journaled ops to LevelDB after this many milliseconds (a read that needs LevelDB does not wait for it). */
const FLUSH_DELAY_MS = 20

class LevelStore implements BlockStore {
  readonly #db: Db
  readonly #journal: Journal
  readonly #crypto: CryptoProvider
  readonly #sync: boolean
  // Reads see synced commits only: a block that a power cut could still take away is never handed
  // out (see #apply). Commits are checked and written one at a time (#write; the directory lock
  // makes this store the only writer), then wait for the journal's group sync, and are applied
  // (caches, then LevelDB) in write order once synced. Until then the blocks they wrote are known
  // to the commits that follow (#unsynced), so that those cannot take their slots.
  //
  // The caches below describe the synced commits. They are coherent because a commit updates
  // every entry it affects when it is applied, and a read caches an answer that a commit may
  // change only when no commit was applied while it ran (see #commits). A read that raced a
  // commit but finished first is corrected by that commit's update, which runs after it. A
  // refused batch changes nothing.
  //
  // Latest block of recently used chains (null: known empty), least recently used first. It makes
  // an append one LevelDB write: latest() needs no iterator and the conflict check knows that seq
  // latest+1 is free. It also answers get() above or at the head, and the neighbour range queries
  // of validation that touch the head.
  readonly #heads = new Map<PublicKeyHex, HalfBlock | null>()
  // Per proposer (linkPublicKey of an agreement): the highest proposal seq with an agreement in
  // the 'a' table (null: none), least recently used first. findAgreement above it is undefined.
  readonly #answered = new Map<PublicKeyHex, number | null>()
  readonly #headCacheSize: number
  // Recently written or read blocks by `${owner}:${seq}`. A stored block never changes, so an entry
  // is never stale.
  readonly #blocks: RecentBlocks | undefined
  // Keys accused by a stored proof (a subset, all of them while complete): hasFraud without a read.
  readonly #accused: Accused
  /** Commits applied so far. */
  #commits = 0
  /** The last commit queued: commits are written one at a time, so check-then-write cannot interleave. */
  #tail: Promise<unknown> = Promise.resolve()
  /** Commits (and evictions) queued on #tail and not finished: while none is, a commit may be written at once (#writeNow). */
  #queued = 0
  /** The last commit's sync and apply: close waits for it. */
  #lastSync: Promise<unknown> = Promise.resolve()
  /** Commits written for the journal's next sync group (`synced`), applied together once it is synced (`done`). */
  #group: { readonly synced: Promise<void>; readonly written: Written[]; readonly done: Promise<void> } | undefined
  // Written and not synced yet: blocks by slot, and the highest such block of each chain.
  readonly #unsynced = { blocks: new Map<string, Uint8Array>(), heads: new Map<PublicKeyHex, HalfBlock>() }
  #closed = false
  // Applied (synced) ops not yet in LevelDB, and the journal file of each of their commits. A
  // read that goes to LevelDB first waits until they are there (#settled), so reads see every
  // resolved commit; reads answered from the caches above do not wait.
  #unflushed: Op[] = []
  #unflushedFiles: number[] = []
  #flushing: Promise<void> | undefined
  #flushTimer: ReturnType<typeof setTimeout> | undefined

  constructor(db: Db, journal: Journal, crypto: CryptoProvider, sync: boolean, headCacheSize: number, blockCacheSize: number, accused: Accused) {
    this.#db = db
    this.#journal = journal
    this.#crypto = crypto
    this.#sync = sync
    this.#headCacheSize = headCacheSize
    this.#blocks = blockCacheSize > 0 ? new RecentBlocks(blockCacheSize, BLOCK_CACHE_BYTES) : undefined
    this.#accused = accused
  }

  // ## Reads from the caches, at once (READ_CACHED: validation in @tally/core uses them; MISS when
  // the caches do not say). The same answers as the reads below give when they hit the caches.

  [READ_CACHED](): LevelStore | undefined {
    return this.#closed || this.#headCacheSize === 0 ? undefined : this
  }

  getCached(publicKey: Uint8Array, seq: number): HalfBlock | undefined | typeof MISS {
    if (this.#closed) return MISS
    const owner = keyHex(publicKey)
    const head = this.#heads.get(owner)
    if (head === undefined) return MISS
    if (head === null || seq > head.seq) return undefined
    if (seq === head.seq) return head
    return this.#blocks?.get(slotId(owner, seq)) ?? MISS
  }

  beforeCached(publicKey: Uint8Array, seq: number): HalfBlock | undefined | typeof MISS {
    if (this.#closed) return MISS
    const owner = keyHex(publicKey)
    const head = this.#heads.get(owner)
    if (head === undefined) return MISS
    if (head === null || seq <= 1) return undefined
    if (seq > head.seq) return head
    // the nearest below is seq - 1 when it is stored; when it is not cached, nothing says
    return this.#blocks?.get(slotId(owner, seq - 1)) ?? MISS
  }

  afterCached(publicKey: Uint8Array, seq: number): HalfBlock | undefined | typeof MISS {
    if (this.#closed) return MISS
    const owner = keyHex(publicKey)
    const head = this.#heads.get(owner)
    if (head === undefined) return MISS
    if (head === null || seq >= head.seq) return undefined
    if (seq + 1 === head.seq) return head
    return this.#blocks?.get(slotId(owner, seq + 1)) ?? MISS
  }

  agreementCached(proposalKey: Uint8Array, proposalSeq: number, _signer: Uint8Array): HalfBlock | undefined | typeof MISS {
    if (this.#closed) return MISS
    const answered = this.#answered.get(keyHex(proposalKey))
    if (answered === null || (answered !== undefined && proposalSeq > answered)) return undefined
    return MISS
  }

  // The hot reads answer from the caches first, outside #read: a cache hit costs no extra promise.

  async get(publicKey: Uint8Array, seq: number): Promise<HalfBlock | undefined> {
    abytes('publicKey', publicKey, 32)
    auint('seq', seq)
    this.#open()
    const owner = keyHex(publicKey)
    const head = this.#heads.get(owner)
    if (head === null || (head !== undefined && seq > head.seq)) return undefined
    if (head !== undefined && seq === head.seq) return head
    const cached = this.#blocks?.get(slotId(owner, seq))
    if (cached !== undefined) return cached
    const key = blockKey(publicKey, seq)
    return this.#read(async () => {
      if (head === undefined && this.#headCacheSize > 0) {
        // learn the chain's head (one seek), as latest() does: then reads at or above it, and
        // every read of a chain with no blocks, need no LevelDB round trip. Validating agreements
        // asks for proposals in chains this store has never seen; each such get waited for the
        // journal to reach LevelDB and read it (a pooled ingest into LevelDB idled ~25%).
        const found = await this.#learnHead(publicKey, owner)
        if (found === undefined || seq > found.seq) return undefined
        if (seq === found.seq) return found
      }
      await this.#settled()
      const bytes = await this.#db.get(key)
      if (bytes === undefined) return undefined
      const block = decode(bytes)
      this.#remember(owner, block, bytes.length)
      return block
    })
  }

  async getByHash(hash: Uint8Array): Promise<HalfBlock | undefined> {
    const key = concatBytes(TABLE.hash, abytes('hash', hash, 32))
    return this.#read(async () => {
      await this.#settled()
      const slot = await this.#db.get(key)
      if (slot === undefined) return undefined
      // blocks are never deleted, so the slot an index entry names is always there
      const bytes = await this.#db.get(tableKey(TABLE.block, slot))
      return bytes === undefined ? undefined : decode(bytes)
    })
  }

  async latest(publicKey: Uint8Array): Promise<HalfBlock | undefined> {
    abytes('publicKey', publicKey, 32)
    this.#open()
    const owner = keyHex(publicKey)
    const head = this.#heads.get(owner)
    if (head !== undefined) {
      this.#touch(this.#heads, owner, head)
      return head ?? undefined
    }
    return this.#read(() => this.#learnHead(publicKey, owner))
  }

  async range(publicKey: Uint8Array, options: RangeOptions = {}): Promise<HalfBlock[]> {
    abytes('publicKey', publicKey, 32)
    const from = Math.max(0, optionalInt('from', options.from) ?? 1)
    const to = Math.min(MAX_SEQ, optionalInt('to', options.to) ?? MAX_SEQ)
    const limit = optionalInt('limit', options.limit)
    const reverse = options.reverse === true
    return this.#read(async () => {
      if (from > to || (limit !== undefined && limit <= 0)) return []
      const owner = toHex(publicKey)
      const head = this.#heads.get(owner)
      // nothing is stored above the head: the neighbour queries of validation end here
      if (head === null || (head !== undefined && from > head.seq)) return []
      if (limit === 1) {
        if (reverse && head !== undefined && to >= head.seq) return [head]
        // the first block in range is the one at its near end, when that one is known
        const cached = this.#blocks?.get(slotId(owner, reverse ? to : from))
        if (cached !== undefined) return [cached]
      }
      await this.#settled()
      const values = await this.#db.values({ ...chainBounds(publicKey, from, to), reverse, ...(limit === undefined ? {} : { limit }) }).all()
      const blocks = values.map(decode)
      if (limit === 1 && blocks[0] !== undefined) this.#remember(owner, blocks[0], values[0]!.length)
      return blocks
    })
  }

  async findAgreement(proposalKey: Uint8Array, proposalSeq: number, signer: Uint8Array): Promise<HalfBlock | undefined> {
    abytes('proposalKey', proposalKey, 32)
    auint('proposalSeq', proposalSeq)
    abytes('signer', signer, 32)
    this.#open()
    const proposer = keyHex(proposalKey)
    const answered = this.#answered.get(proposer)
    if (answered === null || (answered !== undefined && proposalSeq > answered)) return undefined
    return this.#read(async () => {
      const prefix = agreementKey(proposalKey, proposalSeq, signer)
      // counted before waiting for the journal: a commit that resolves after this point may be
      // missed by the read below, and then its answer is not cached
      const commits = this.#commits
      await this.#settled()
      let keys: Uint8Array[]
      if (answered !== undefined || this.#headCacheSize === 0) {
        keys = await this.#db.keys({ gte: prefix, lte: concatBytes(prefix, MAX_SEQ_BYTES), limit: 1 }).all()
      } else {
        // learn the proposer's highest answered seq alongside: the next proposal is then answered from memory
        const table = concatBytes(TABLE.agreement, proposalKey)
        const [found, [last]] = await Promise.all([
          this.#db.keys({ gte: prefix, lte: concatBytes(prefix, MAX_SEQ_BYTES), limit: 1 }).all(),
          this.#db.keys({ ...prefixBounds(table), reverse: true, limit: 1 }).all(),
        ])
        keys = found
        if (commits === this.#commits) this.#touch(this.#answered, proposer, last === undefined ? null : readSeq(last, table.length))
      }
      const [key] = keys
      if (key === undefined) return undefined
      const slot = key.subarray(1 + 32 + 8)
      const owner = toHex(slot.subarray(0, 32))
      const seq = readSeq(slot, 32)
      const cached = this.#blocks?.get(slotId(owner, seq))
      if (cached !== undefined) return cached
      await this.#settled()
      const bytes = await this.#db.get(tableKey(TABLE.block, slot))
      if (bytes === undefined) return undefined
      const block = decode(bytes)
      this.#remember(owner, block, bytes.length)
      return block
    })
  }

  async fraudProofs(publicKey?: Uint8Array): Promise<FraudProof[]> {
    if (publicKey !== undefined) abytes('publicKey', publicKey, 32)
    return this.#read(async () => {
      await this.#settled()
      if (publicKey === undefined) {
        const values = await this.#db.values(prefixBounds(TABLE.proof)).all()
        return values.map((v) => decodeFraudProof(view(v)))
      }
      const prefix = concatBytes(TABLE.accused, publicKey)
      const keys = await this.#db.keys(prefixBounds(prefix)).all()
      if (keys.length === 0) return []
      const values = await this.#db.getMany(keys.map((k) => concatBytes(TABLE.proof, k.subarray(prefix.length))))
      return values.filter((v) => v !== undefined).map((v) => decodeFraudProof(view(v)))
    })
  }

  async hasFraud(publicKey: Uint8Array): Promise<boolean> {
    abytes('publicKey', publicKey, 32)
    this.#open()
    // from memory, outside #read (an agent asks twice a transaction): a key accused, or every accused key known
    const accused = keyHex(publicKey)
    if (this.#accused.keys.has(accused)) return true
    if (this.#accused.complete) return false
    return this.#read(async () => {
      await this.#settled()
      const keys = await this.#db.keys({ ...prefixBounds(concatBytes(TABLE.accused, publicKey)), limit: 1 }).all()
      // proofs are never deleted: a key found accused stays accused
      if (keys.length > 0 && this.#accused.keys.size < ACCUSED_CACHE_SIZE) this.#accused.keys.add(accused)
      return keys.length > 0
    })
  }

  async agents(): Promise<Uint8Array[]> {
    return this.#read(async () => {
      await this.#settled()
      const keys = await this.#db.keys(prefixBounds(TABLE.agent)).all()
      return keys.map((key) => Uint8Array.prototype.slice.call(view(key), 1))
    })
  }

  batch(): StoreBatch {
    return collectBatch(
      (blocks, proofs) => {
        const written = this.#enqueue(blocks, proofs)
        return written instanceof Promise ? written.then(({ done }) => done) : (written.done ?? RESOLVED)
      },
      // in order once written to the journal (checked, after every commit written before it);
      // durable once synced and applied (syncs end in write order, and a failed one fails every
      // later one: see Journal.synced). Without sync a commit is done once written: nothing to
      // sign ahead of
      !this.#sync ? undefined : (blocks, proofs) => {
        const written = this.#enqueue(blocks, proofs)
        // written at once: in order now (its `done` has a handler already, see #record)
        if (!(written instanceof Promise)) return { ordered: RESOLVED, durable: written.done ?? RESOLVED }
        const ordered = written.then(() => undefined)
        const durable = written.then(({ done }) => done)
        ordered.catch(() => undefined)
        durable.catch(() => undefined)
        return { ordered, durable }
      },
    )
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // commits accepted before close() still finish, and reach LevelDB
    await this.#tail
    await this.#lastSync
    let flushed = true
    try {
      await this.#settled()
    } catch {
      flushed = false // the journal keeps them; the next open replays it
    }
    clearTimeout(this.#flushTimer)
    this.#journal.close(flushed)
    this.#heads.clear()
    this.#answered.clear()
    this.#blocks?.clear()
    this.#accused.keys.clear()
    this.#accused.complete = false
    this.#unsynced.blocks.clear()
    this.#unsynced.heads.clear()
    await this.#db.close()
  }

  // ## Writes

  /**
   * Check and write a commit: at once when nothing is queued ahead of it and that needs no read
   * (an agent's append to a chain whose head is cached, and blocks of others above their cached
   * heads), else queued behind the commits ahead of it. Written at once, a commit costs no
   * promise until its sync, and its caller learns that it is in order without a turn of the
   * microtask queue.
   */
  #enqueue(blocks: readonly HalfBlock[], proofs: readonly FraudProof[]): Outcome | Promise<Outcome> {
    if (this.#closed) return Promise.reject(new ClosedError('level store is closed'))
    // encode before queueing: a malformed block is the caller's TypeError, and costs no lock time
    let pending: Pending[]
    let proofOps: readonly Op[]
    let accused: readonly PublicKeyHex[]
    try {
      pending = this.#pending(blocks)
      proofOps = proofs.length === 0 ? NONE : proofs.flatMap((p) => this.#proofOps(p))
      accused = proofs.length === 0 ? NONE : proofs.map((p) => toHex(p.publicKey))
    } catch (err) {
      return Promise.reject(err)
    }
    if (this.#queued === 0) {
      try {
        const now = this.#writeNow(pending, proofOps, accused)
        if (now !== undefined) return now
      } catch (err) {
        return Promise.reject(this.#closedError(err))
      }
    }
    // the next commit is checked and written as soon as this one is written; its sync is shared
    return this.#queue(() => this.#write(pending, proofOps, accused))
  }

  /** Run `step` once everything queued before it has finished; later commits wait for it. */
  #queue<T>(step: () => Promise<T>): Promise<T> {
    this.#queued++
    const run = this.#tail.then(step).finally(() => this.#queued--)
    this.#tail = run.catch(() => undefined)
    return run
  }

  /** The batch's blocks, one per slot; two different blocks at one slot conflict already here. */
  #pending(blocks: readonly HalfBlock[]): Pending[] {
    const pending: Pending[] = []
    // a large batch (an ingest's chunk) finds its slots in a Map; a few blocks are compared in turn
    const bySlot = blocks.length > SMALL_BATCH ? new Map<string, Pending>() : undefined
    for (const block of blocks) {
      // a view, not a copy, of a decoded block's slab: the bytes live until the commit reaches
      // LevelDB (the journal and the batch copy them), never longer
      const bytes = encodedView(block)
      const owner = keyHex(block.publicKey)
      const slot = slotId(owner, block.seq)
      const earlier = bySlot !== undefined ? bySlot.get(slot) : atSlot(pending, slot)
      if (earlier !== undefined) {
        if (!sameUnsigned(earlier.bytes, bytes)) throw ConflictError.at(block)
        continue
      }
      const p: Pending = { block, bytes, key: blockKey(block.publicKey, block.seq), owner, slot }
      pending.push(p)
      bySlot?.set(slot, p)
    }
    return pending
  }

  #proofOps(proof: FraudProof): Op[] {
    abytes('proof.publicKey', proof?.publicKey, 32)
    const id = fraudProofId(proof, this.#crypto)
    return [
      { type: 'put', key: concatBytes(TABLE.proof, id), value: encodeFraudProof(proof) },
      { type: 'put', key: concatBytes(TABLE.accused, proof.publicKey, id), value: EMPTY },
    ]
  }

  /**
   * Check every slot and append the commit to the journal, reading LevelDB where the caches do
   * not say. Runs under the commit lock; `done` resolves once the commit is synced and applied
   * (undefined: nothing to wait for).
   */
  async #write(pending: readonly Pending[], proofOps: readonly Op[], accused: readonly PublicKeyHex[]): Promise<Outcome> {
    try {
      const check = this.#check(pending)
      const commits = this.#commits
      const { lookups, heads } = check
      if (lookups !== undefined && lookups.size <= HEAD_LOOKUPS && this.#headCacheSize > 0) {
        const found = await Promise.all([...lookups.values()].map((publicKey) => this.#readHead(publicKey)))
        let i = 0
        for (const owner of lookups.keys()) heads.set(owner, found[i++] ?? null)
      }
      this.#withUnsynced(check)
      const { fresh, unknown } = this.#classify(check)
      if (unknown !== undefined) {
        await this.#settled()
        const stored = await this.#db.getMany(unknown.map((p) => p.key))
        unknown.forEach((p, i) => {
          const bytes = stored[i]
          if (bytes === undefined) fresh.push(p)
          else if (!sameUnsigned(bytes, p.bytes)) throw ConflictError.at(p.block)
          // else: the same block is stored already, a no-op
        })
      }
      const ops = this.#opsOf(fresh, heads, proofOps)
      if (!this.#sync && ops.length >= DIRECT_OPS) {
        // a large commit without sync (an ingest's chunk): one LevelDB batch of its own, not the
        // journal and then a batch (each op written twice on this thread); LevelDB's log keeps it
        // through a killed process, as the journal would. Its puts may reach LevelDB before
        // journaled ones of earlier commits: every op is a put of a value that never changes,
        // so the order changes nothing
        const batch = this.#db.batch()
        for (const op of ops) batch.put(op.key, op.value)
        await batch.write()
        this.#apply({ ops: [], file: undefined, fresh, heads, accused })
        return { done: undefined }
      }
      if (ops.length > 0 && this.#unflushed.length >= FLUSH_NOW) await this.#settled()
      return this.#record(check, fresh, ops, commits, accused)
    } catch (err) {
      throw this.#closedError(err)
    }
  }

  /**
   * #write without waiting: the commit written, or undefined when that needs a read first (a
   * chain whose head is not cached, a slot below a head and not cached) or LevelDB to catch up.
   * Changes nothing when it returns undefined (the caches' recency aside). Only when nothing is
   * queued: it runs in the caller's turn, not under the commit lock.
   * @throws ConflictError; the journal's error
   */
  #writeNow(pending: readonly Pending[], proofOps: readonly Op[], accused: readonly PublicKeyHex[]): Outcome | undefined {
    if (this.#unflushed.length >= FLUSH_NOW) return undefined
    // a large commit without sync goes to LevelDB directly (two ops at least a block), an await
    if (!this.#sync && 2 * pending.length + proofOps.length >= DIRECT_OPS) return undefined
    const check = this.#check(pending)
    if (check.lookups !== undefined && check.lookups.size <= HEAD_LOOKUPS && this.#headCacheSize > 0) return undefined
    this.#withUnsynced(check)
    const { fresh, unknown } = this.#classify(check)
    if (unknown !== undefined) return undefined
    const ops = this.#opsOf(fresh, check.heads, proofOps)
    if (!this.#sync && ops.length >= DIRECT_OPS) return undefined
    return this.#record(check, fresh, ops, this.#commits, accused)
  }

  /**
   * A commit's slots against those of commits written and not synced yet, and what is known of
   * the heads of the other slots' chains. Slots written by commits not synced yet are checked
   * against those first. The rest is checked against the head of its chain, exact under the
   * commit lock: the highest of what is cached or looked up (one seek per chain, for a few
   * chains; the lookup sees synced commits) and what is written but not synced. Both are taken
   * here, before any await: a commit synced meanwhile leaves #unsynced but is then in what the
   * lookup reads.
   */
  #check(pending: readonly Pending[]): Check {
    let waitsForSync = false
    const heads = new Map<PublicKeyHex, HalfBlock | null>()
    // (made when needed: most commits have neither)
    let unsyncedHeads: Map<PublicKeyHex, HalfBlock> | undefined
    let lookups: Map<PublicKeyHex, Uint8Array> | undefined
    const checked: Pending[] = []
    for (const p of pending) {
      const written = this.#unsynced.blocks.get(p.slot)
      if (written !== undefined) {
        if (!sameUnsigned(written, p.bytes)) throw ConflictError.at(p.block)
        waitsForSync = true // the same block, written by a commit not synced yet: wait for it
        continue
      }
      checked.push(p)
      const top = this.#unsynced.heads.get(p.owner)
      if (top !== undefined) (unsyncedHeads ??= new Map()).set(p.owner, top)
      const head = this.#heads.get(p.owner)
      if (head !== undefined) heads.set(p.owner, head)
      else (lookups ??= new Map()).set(p.owner, p.block.publicKey)
    }
    return { checked, heads, unsyncedHeads, lookups, waitsForSync }
  }

  /** Raise the heads known (cached or looked up) to the blocks written and not synced yet. */
  #withUnsynced({ heads, unsyncedHeads }: Check): void {
    if (unsyncedHeads === undefined) return
    for (const [owner, top] of unsyncedHeads) {
      const head = heads.get(owner)
      if (head === null || (head !== undefined && top.seq > head.seq)) heads.set(owner, top)
    }
  }

  /** The checked blocks above their chain's known head (fresh), and those the caches cannot place (unknown). */
  #classify({ checked, heads }: Check): { fresh: Pending[]; unknown: Pending[] | undefined } {
    const fresh: Pending[] = []
    let unknown: Pending[] | undefined
    for (const p of checked) {
      const head = heads.get(p.owner)
      if (head === null || (head !== undefined && p.block.seq > head.seq)) fresh.push(p)
      else if (head !== undefined && p.block.seq === head.seq) {
        if (!sameUnsigned(encodeBlock(head), p.bytes)) throw ConflictError.at(p.block)
      } else {
        const cached = this.#blocks?.get(p.slot)
        if (cached === undefined) (unknown ??= []).push(p)
        else if (!sameUnsigned(encodeBlock(cached), p.bytes)) throw ConflictError.at(p.block)
      }
    }
    return { fresh, unknown }
  }

  /** The LevelDB puts of the fresh blocks (with their indexes) and of the proofs. */
  #opsOf(fresh: readonly Pending[], heads: ReadonlyMap<PublicKeyHex, HalfBlock | null>, proofOps: readonly Op[]): Op[] {
    const ops: Op[] = []
    let listed: Set<PublicKeyHex> | undefined
    for (const { block, bytes, key, owner } of fresh) {
      const slot = key.subarray(1)
      // a chain with a known head is listed already: its head is stored, and was listed with it
      if (!(heads.get(owner) ?? false) && !(listed?.has(owner) ?? false)) {
        ops.push({ type: 'put', key: tableKey(TABLE.agent, block.publicKey), value: EMPTY })
        ;(listed ??= new Set()).add(owner)
      }
      ops.push({ type: 'put', key, value: bytes })
      ops.push({ type: 'put', key: tableKey(TABLE.hash, blockHash(block, this.#crypto)), value: slot })
      if (isAgreement(block)) {
        ops.push({ type: 'put', key: agreementKey(block.linkPublicKey, block.linkSeq, slot), value: EMPTY })
      }
    }
    for (const op of proofOps) ops.push(op)
    return ops
  }

  /**
   * Append the checked commit to the journal (nothing to append: keep the heads looked up). With
   * sync, its blocks are known to later commits until synced, and its `done` is its sync group's
   * (Journal.synced: the commits written until the group starts) then #apply of the group's
   * commits, with a handler attached (#lastSync): a caller that drops it is no unhandled rejection.
   * `commits`: #commits when the heads were read.
   */
  #record({ heads, unsyncedHeads, lookups, waitsForSync }: Check, fresh: Pending[], ops: Op[], commits: number, accused: readonly PublicKeyHex[]): Outcome {
    if (ops.length === 0) {
      // nothing to write, but a head looked up is exact for what is synced when no commit was
      // applied since and none of the chain is waiting for a sync: keep it
      if (commits === this.#commits && lookups !== undefined) {
        for (const owner of lookups.keys()) {
          const head = heads.get(owner)
          if (head !== undefined && !(unsyncedHeads?.has(owner) ?? false)) this.#touch(this.#heads, owner, head)
        }
      }
      // durable after every commit written before it (StoreBatch.commitOrdered)
      return { done: waitsForSync || this.#unsynced.blocks.size > 0 ? this.#journal.synced() : undefined }
    }
    const written: Written = { ops, file: this.#journal.append(ops), fresh, heads, accused }
    if (!this.#sync) {
      this.#apply(written)
      return { done: undefined }
    }
    for (const p of fresh) {
      this.#unsynced.blocks.set(p.slot, p.bytes)
      const top = this.#unsynced.heads.get(p.owner)
      if (top === undefined || p.block.seq > top.seq) this.#unsynced.heads.set(p.owner, p.block)
    }
    // the commits of one sync group are applied together, in write order, by one reaction, and
    // share its promise: one promise a group rather than two a commit
    const synced = this.#journal.synced()
    let group = this.#group
    if (group?.synced !== synced) {
      const written: Written[] = []
      const done = synced.then(() => {
        for (const w of written) this.#apply(w)
        if (this.#group?.synced === synced) this.#group = undefined
      })
      group = this.#group = { synced, written, done }
      this.#lastSync = done.catch(() => undefined)
    }
    group.written.push(written)
    return { done: group.done }
  }

  /** A written commit is synced: bring every cache up to date, and queue its ops for LevelDB. */
  #apply({ ops, file, fresh, heads, accused }: Written): void {
    if (file !== undefined) {
      for (const op of ops) this.#unflushed.push(op)
      this.#unflushedFiles.push(file)
      this.#scheduleFlush()
    }
    // a large commit (an ingest's chunk) leaves the block cache to smaller ones: its chain's head
    // is cached, and that is what validating the next chunk reads
    const remember = fresh.length <= REMEMBER_BLOCKS
    // (and correct a read that raced the commit)
    for (const { block, bytes, owner, slot } of fresh) {
      const known = heads.get(owner)
      if (known === null || (known !== undefined && block.seq > known.seq)) heads.set(owner, block)
      const head = this.#heads.get(owner)
      if (head === null || (head !== undefined && block.seq > head.seq)) this.#heads.set(owner, block)
      if (remember) this.#blocks?.set(slot, block, bytes.length)
      if (isAgreement(block)) {
        const proposer = keyHex(block.linkPublicKey)
        const answered = this.#answered.get(proposer)
        if (answered === null || (answered !== undefined && block.linkSeq > answered)) this.#answered.set(proposer, block.linkSeq)
      }
      this.#unsynced.blocks.delete(slot)
      if (this.#unsynced.heads.get(owner) === block) this.#unsynced.heads.delete(owner)
    }
    // every commit written before this one is applied now: these heads are exact
    for (const [owner, head] of heads) if (head !== this.#heads.get(owner)) this.#touch(this.#heads, owner, head)
    for (const key of accused) {
      if (this.#accused.keys.has(key)) continue
      if (this.#accused.keys.size < ACCUSED_CACHE_SIZE) this.#accused.keys.add(key)
      else this.#accused.complete = false
    }
    this.#commits++
  }

  // ## Journal to LevelDB

  /**
   * Wait until every applied op is in LevelDB (undefined when they are: no await needed). A
   * read that caches what it finds counts #commits before calling this, as an await lets commits in.
   */
  #settled(): Promise<void> | undefined {
    if (this.#unflushed.length === 0 && this.#flushing === undefined) return undefined
    return this.#flush()
  }

  #scheduleFlush(): void {
    if (this.#unflushed.length >= FLUSH_SOON) {
      void this.#flush().catch(() => undefined) // a failed flush keeps its ops; a read reports the error
    } else if (this.#flushTimer === undefined && this.#flushing === undefined) {
      this.#flushTimer = setTimeout(() => void this.#flush().catch(() => undefined), FLUSH_DELAY_MS)
      // the journal holds the ops: an idle store need not keep the process alive to flush them
      this.#flushTimer.unref?.()
    }
  }

  #flush(): Promise<void> {
    if (this.#flushTimer !== undefined) {
      clearTimeout(this.#flushTimer)
      this.#flushTimer = undefined
    }
    this.#flushing ??= this.#drain().finally(() => {
      this.#flushing = undefined
    })
    // ops applied after the drain's last round are taken by the next drain
    return this.#flushing.then(() => (this.#unflushed.length > 0 ? this.#flush() : undefined))
  }

  /** Hand applied ops to LevelDB, one batch per round; the journal then deletes files it holds whole. */
  async #drain(): Promise<void> {
    while (this.#unflushed.length > 0) {
      const ops = this.#unflushed
      const files = this.#unflushedFiles
      this.#unflushed = []
      this.#unflushedFiles = []
      try {
        // a chained batch: abstract-level's array batch copies every op into a new object on
        // this thread, several times the cost of one native put per op (measured: 30,000 ops
        // took ~120 ms as an array, ~70 ms chained, ~25 ms of it on this thread)
        const batch = this.#db.batch()
        for (const op of ops) batch.put(op.key, op.value)
        // synced when the store syncs: the journal files holding these ops are deleted next
        await batch.write({ sync: this.#sync })
      } catch (err) {
        // the journal still has them, too
        this.#unflushed = ops.concat(this.#unflushed)
        this.#unflushedFiles = files.concat(this.#unflushedFiles)
        throw this.#closedError(err)
      }
      this.#journal.stored(files)
    }
  }

  // ## Private helpers

  #open(): void {
    if (this.#closed) throw new ClosedError('level store is closed')
  }

  async #read<T>(fn: () => Promise<T>): Promise<T> {
    this.#open()
    try {
      return await fn()
    } catch (err) {
      throw this.#closedError(err)
    }
  }

  /** Keep a stored block (its encoding `size` bytes long) in the block cache. */
  #remember(owner: PublicKeyHex, block: HalfBlock, size: number): void {
    this.#blocks?.set(slotId(owner, block.seq), block, size)
  }

  /**
   * The chain's head read from LevelDB, and cached (null: no blocks) unless a commit finished
   * meanwhile: that commit may have moved the head past what was read.
   */
  async #learnHead(publicKey: Uint8Array, owner: PublicKeyHex): Promise<HalfBlock | undefined> {
    const commits = this.#commits
    const block = await this.#readHead(publicKey)
    if (commits === this.#commits) this.#touch(this.#heads, owner, block ?? null)
    return block
  }

  /** The highest-seq block of a chain, read from LevelDB. */
  async #readHead(publicKey: Uint8Array): Promise<HalfBlock | undefined> {
    await this.#settled()
    const [bytes] = await this.#db.values({ ...chainBounds(publicKey, 0, MAX_SEQ), reverse: true, limit: 1 }).all()
    return bytes === undefined ? undefined : decode(bytes)
  }

  /** A LevelDB error caused by close() racing a read becomes a ClosedError. */
  #closedError(err: unknown): unknown {
    const code = (err as { code?: unknown } | undefined)?.code
    if (this.#closed && typeof code === 'string' && code.startsWith('LEVEL_')) {
      return new ClosedError('level store is closed')
    }
    return err
  }

  /** Remember an entry as most recently used, evicting the least recently used. */
  #touch<V>(cache: Map<PublicKeyHex, V>, key: PublicKeyHex, value: V): void {
    if (this.#headCacheSize === 0) return
    cache.delete(key)
    cache.set(key, value)
    if (cache.size > this.#headCacheSize) {
      const oldest = cache.keys().next()
      if (oldest.done !== true) cache.delete(oldest.value)
    }
  }

  // ## Eviction (BlockStore.evict)

  /**
   * Remove a chain's blocks in `range`, with their 'h' and 'a' keys, and its 'k' key when nothing of
   * the chain is left. Runs on the commit queue, once every journaled op is in LevelDB: the deletes
   * then go to LevelDB directly, in one batch, and no journal file holds a put they undo (the
   * journal stays put-only: a replay after a crash never brings an evicted block back).
   */
  async evict(publicKey: Uint8Array, range: EvictRange = {}): Promise<number> {
    abytes('publicKey', publicKey, 32)
    const from = auint('range.from', range.from ?? 1)
    const to = auint('range.to', range.to ?? MAX_SEQ)
    this.#open()
    // queued like a commit: none is written at once meanwhile
    return this.#queue(() => this.#evict(publicKey, from, to))
  }

  async #evict(publicKey: Uint8Array, from: number, to: number): Promise<number> {
    try {
      if (from > to) return 0
      // a commit ahead of this on the queue is written but applied (queued for LevelDB) only once
      // synced: wait for that, or its blocks would reach LevelDB after the deletes and come back
      await this.#lastSync
      await this.#settled()
      const entries = await this.#db.iterator(chainBounds(publicKey, from, to)).all()
      if (entries.length === 0) return 0
      const owner = toHex(publicKey)
      const batch = this.#db.batch()
      for (const [key, bytes] of entries) {
        const block = decode(bytes)
        batch.del(key)
        batch.del(tableKey(TABLE.hash, blockHash(block, this.#crypto)))
        if (isAgreement(block)) {
          batch.del(agreementKey(block.linkPublicKey, block.linkSeq, key.subarray(1)))
          this.#answered.delete(toHex(block.linkPublicKey)) // its highest answered seq is learnt again
        }
        this.#blocks?.delete(slotId(owner, block.seq))
      }
      const [below] = from > 0 ? await this.#db.keys({ ...chainBounds(publicKey, 0, from - 1), limit: 1 }).all() : []
      const [above] = to < MAX_SEQ ? await this.#db.keys({ ...chainBounds(publicKey, to + 1, MAX_SEQ), limit: 1 }).all() : []
      if (below === undefined && above === undefined) batch.del(tableKey(TABLE.agent, publicKey))
      await batch.write({ sync: this.#sync })
      this.#heads.delete(owner) // learnt again on the next read
      this.#commits++ // a read that raced this must not cache what it read before
      return entries.length
    } catch (err) {
      throw this.#closedError(err)
    }
  }
}

/** Every accused key in the 'x' table, up to ACCUSED_CACHE_SIZE of them. */
async function loadAccused(db: Db): Promise<Accused> {
  const keys = new Set<PublicKeyHex>()
  const iterator = db.keys(prefixBounds(TABLE.accused))
  try {
    for (;;) {
      const batch = await iterator.nextv(1024)
      if (batch.length === 0) return { keys, complete: true }
      for (const key of batch) {
        const accused = toHex(key.subarray(1, 33))
        if (keys.has(accused)) continue
        if (keys.size >= ACCUSED_CACHE_SIZE) return { keys, complete: false }
        keys.add(accused)
      }
    }
  } finally {
    await iterator.close()
  }
}

/**
 * Recently written or read blocks by slot: at most `max` of them, and at most `maxBytes` of their
 * encodings. Two generations of Maps instead of a least-recently-used list: a block goes into the
 * young one; a block found in the old one moves to the young one; when the young one holds half
 * the limits, it becomes the old one and the old one is dropped. What is dropped was not used for
 * at least half the capacity's worth of blocks. (lru-cache's set, with sizes, took ~2% of the main
 * thread in the synced transaction benchmark; a Map set is a fraction of that.)
 */
class RecentBlocks {
  readonly #max: number
  readonly #half: number
  readonly #halfBytes: number
  #young = new Map<string, HalfBlock>()
  #old = new Map<string, HalfBlock>()
  #youngBytes = 0

  constructor(max: number, maxBytes: number) {
    this.#max = max
    this.#half = Math.max(1, Math.floor(max / 2))
    this.#halfBytes = Math.floor(maxBytes / 2)
  }

  get(slot: string): HalfBlock | undefined {
    const young = this.#young.get(slot)
    if (young !== undefined) return young
    const old = this.#old.get(slot)
    if (old !== undefined) {
      this.#old.delete(slot)
      this.set(slot, old, blockSize(old))
    }
    return old
  }

  /** Keep `block` (its encoding `size` bytes long) under `slot`. */
  set(slot: string, block: HalfBlock, size: number): void {
    if (this.#young.has(slot)) return // a stored block never changes
    if (this.#young.size >= this.#half || this.#youngBytes + size > this.#halfBytes) {
      // (a cache of one block keeps no old generation)
      this.#old = this.#half * 2 <= this.#max ? this.#young : new Map()
      this.#young = new Map()
      this.#youngBytes = 0
    }
    this.#young.set(slot, block)
    this.#youngBytes += size
  }

  delete(slot: string): void {
    // the young generation's byte count keeps the deleted block: it only starts a generation sooner
    this.#young.delete(slot)
    this.#old.delete(slot)
  }

  clear(): void {
    this.#young.clear()
    this.#old.clear()
    this.#youngBytes = 0
  }
}

function slotId(owner: PublicKeyHex, seq: number): string {
  return `${owner}:${seq}`
}

/** The seq of 8 big-endian bytes at `offset`. */
function readSeq(bytes: Uint8Array, offset: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 8)
  return view.getUint32(0) * 0x1_0000_0000 + view.getUint32(4)
}

// ## Keys

const TABLE = {
  version: ascii('v'),
  block: ascii('b'),
  hash: ascii('h'),
  agreement: ascii('a'),
  proof: ascii('f'),
  accused: ascii('x'),
  agent: ascii('k'),
} as const

const EMPTY = new Uint8Array(0)
const MAX_SEQ = Number.MAX_SAFE_INTEGER
const MAX_SEQ_BYTES = seqBytes(MAX_SEQ)

function ascii(c: string): Uint8Array {
  return Uint8Array.of(c.charCodeAt(0))
}

/** seq as 8 bytes big-endian, so that byte order is numeric order. */
function seqBytes(seq: number): Uint8Array {
  const out = new Uint8Array(8)
  writeSeq(out, 0, seq)
  return out
}

/** Write seq as 8 bytes big-endian at `at` (no DataView: these keys are made on every write). */
function writeSeq(out: Uint8Array, at: number, seq: number): void {
  const high = Math.floor(seq / 0x1_0000_0000)
  const low = seq >>> 0
  out[at] = high >>> 24
  out[at + 1] = (high >>> 16) & 0xff
  out[at + 2] = (high >>> 8) & 0xff
  out[at + 3] = high & 0xff
  out[at + 4] = low >>> 24
  out[at + 5] = (low >>> 16) & 0xff
  out[at + 6] = (low >>> 8) & 0xff
  out[at + 7] = low & 0xff
}

/**
 * Keys are views of shared 16 KiB slabs rather than arrays of their own: an array over 64 bytes
 * (an agreement's key is 81) gets a backing store outside V8's heap, allocated with malloc and
 * swept by the collector. A slab lives while a key of it does: until its commit is in LevelDB.
 */
const SLAB_BYTES = 16 * 1024
let slab = new Uint8Array(SLAB_BYTES)
let slabUsed = 0

/** `n` bytes of a slab (contents unspecified: the caller writes them all). */
function carve(n: number): Uint8Array {
  if (slabUsed + n > slab.length) {
    slab = new Uint8Array(SLAB_BYTES)
    slabUsed = 0
  }
  const out = slab.subarray(slabUsed, slabUsed + n)
  slabUsed += n
  return out
}

function blockKey(publicKey: Uint8Array, seq: number): Uint8Array {
  const key = carve(1 + 32 + 8)
  key[0] = TABLE.block[0]!
  key.set(publicKey, 1)
  writeSeq(key, 33, seq)
  return key
}

/** 'a' ‖ proposalKey ‖ proposalSeq ‖ the agreement's slot (its key without the table byte). */
function agreementKey(proposalKey: Uint8Array, proposalSeq: number, slot: Uint8Array): Uint8Array {
  const key = carve(1 + 32 + 8 + slot.length)
  key[0] = TABLE.agreement[0]!
  key.set(proposalKey, 1)
  writeSeq(key, 33, proposalSeq)
  key.set(slot, 41)
  return key
}

/** A one-byte table tag followed by `bytes`. */
function tableKey(table: Uint8Array, bytes: Uint8Array): Uint8Array {
  const key = carve(1 + bytes.length)
  key[0] = table[0]!
  key.set(bytes, 1)
  return key
}

function chainBounds(publicKey: Uint8Array, from: number, to: number): { gte: Uint8Array; lte: Uint8Array } {
  return { gte: blockKey(publicKey, from), lte: blockKey(publicKey, to) }
}

/** Every key that starts with `prefix` and is longer: above it, below its successor. */
function prefixBounds(prefix: Uint8Array): { gt: Uint8Array; lt: Uint8Array } {
  // the successor of a prefix: drop trailing 0xff bytes, add one to the last byte left
  let end = prefix.length
  while (end > 0 && prefix[end - 1] === 0xff) end--
  const lt = prefix.slice(0, end)
  if (end > 0) lt[end - 1]! += 1
  return { gt: prefix, lt }
}

// ## Values

/**
 * classic-level hands out Buffers; callers get plain Uint8Arrays, as from every other store
 * (a Buffer's `slice` shares memory and its `toJSON` differs).
 */
function view(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function decode(bytes: Uint8Array): HalfBlock {
  return decodeBlock(view(bytes))
}

/** Same unsigned part (so the same hash); the signature is the last 64 bytes of a block. */
function sameUnsigned(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length - 64; i++) if (a[i] !== b[i]) return false
  return true
}


function optionalInt(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new TypeError(`"${name}" expected a safe integer, got ${typeof value === 'number' ? value : typeof value}`)
  return value
}

/**
 * The ops of the journal's records to replay: every record, but one after a damaged record that
 * holds a block whose chain has no block right below it, neither in LevelDB nor in a record kept
 * (and every such record after it, in turn). An agent signs its next block while the commit of
 * the one below syncs; a power cut can tear that commit's record and keep the next one (the disk
 * wrote a later page first). Neither was acknowledged (the next one's sync would have covered
 * the torn one), so neither was handed out; keeping the next one would leave a hole in the chain
 * below the agent's head, which it could never fill. Records before any damage are all kept.
 */
async function linkedRecords(db: Db, records: readonly ReplayRecord[]): Promise<Op[]> {
  const ops: Op[] = []
  const kept = new Set<string>()
  for (const record of records) {
    const blocks = record.ops.filter((op) => op.key[0] === TABLE.block[0] && op.key.length === 1 + 32 + 8)
    let linked = true
    if (record.afterDamage) {
      for (const { key } of blocks) {
        const seq = readSeq(key, 33)
        if (seq <= 1) continue
        const below = blockKey(key.subarray(1, 33), seq - 1)
        if (kept.has(toHex(below)) || blocks.some((b) => equalKeys(b.key, below))) continue
        if ((await db.get(below)) === undefined) {
          linked = false
          break
        }
      }
    }
    if (!linked) continue
    for (const { key } of blocks) kept.add(toHex(key))
    for (const op of record.ops) ops.push(op)
  }
  return ops
}

function equalKeys(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * The journal's ops, and a 'k' entry for every chain they hold a block of. A commit lists a chain
 * only with its first block; replay may have skipped the record that did (a write the power cut
 * tore), and then a later record of that chain would be stored unlisted.
 */
function withAgents(ops: readonly Op[]): Op[] {
  const agents = new Map<string, Op>()
  for (const { key } of ops) {
    if (key[0] !== TABLE.block[0] || key.length !== 1 + 32 + 8) continue
    const publicKey = key.subarray(1, 33)
    agents.set(toHex(publicKey), { type: 'put', key: tableKey(TABLE.agent, publicKey), value: EMPTY })
  }
  return [...ops, ...agents.values()]
}

async function checkVersion(db: Db, path: string): Promise<void> {
  const stored = await db.get(TABLE.version)
  if (stored === undefined) {
    const [any] = await db.keys({ limit: 1 }).all()
    if (any !== undefined) throw new StoreVersionError(`${path} holds a LevelDB database that is not a Tally block store (no format version)`)
    await db.put(TABLE.version, encodeCanonical(LEVEL_STORE_VERSION), { sync: true })
    return
  }
  let version: unknown
  try {
    version = decodeCanonical(stored)
  } catch {
    version = undefined
  }
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new StoreVersionError(`${path} has an unreadable format version`)
  }
  if (version > LEVEL_STORE_VERSION) {
    throw new StoreVersionError(`${path} was written by a newer Tally (store format ${version}; this version reads up to ${LEVEL_STORE_VERSION}): upgrade @tally/node`)
  }
}
