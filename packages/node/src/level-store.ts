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
  abytes,
  auint,
  blockHash,
  concatBytes,
  decodeBlock,
  decodeCanonical,
  decodeFraudProof,
  encodeBlock,
  encodeCanonical,
  encodeFraudProof,
  fraudProofId,
  isAgreement,
  nobleCrypto,
  toHex,
  type BlockStore,
  type CryptoProvider,
  type FraudProof,
  type HalfBlock,
  type PublicKeyHex,
  type RangeOptions,
  type StoreBatch,
} from '@tally/core'

/** Options of openLevelStore. */
export interface LevelStoreOptions {
  /** Directory of the database; created when missing. */
  path: string
  /** Provider for block hashes and fraud-proof ids (default nobleCrypto; all providers agree). */
  crypto?: CryptoProvider
  /**
   * fsync every commit. Default false: a resolved commit survives a process crash (SIGKILL),
   * because LevelDB has written it to its log before the write returns; set true to also survive
   * power loss and OS crashes, at the cost of an fsync per commit.
   */
  sync?: boolean
  /** How many chains' latest blocks to keep in memory (default 1024; 0 turns the cache off). */
  headCacheSize?: number
}

/** The format version this code writes. */
export const LEVEL_STORE_VERSION = 1

/**
 * Open (or create) a durable block store in the directory `options.path`.
 * @param options path, crypto provider, sync
 * @returns the open store; `close()` it to release the directory
 * @throws TypeError on a malformed option; an error with code ERR_STORE_VERSION when the directory
 *   holds a store of a newer format or a LevelDB database that is not a Tally store; classic-level's
 *   LEVEL_DATABASE_NOT_OPEN (cause LEVEL_LOCKED) when another store has the directory open
 * @example
 * const store = await openLevelStore({ path: './tally-db' })
 * const alice = createAgent({ identity, store })
 * await alice.append('note', 'hello')
 * await store.close()
 */
export async function openLevelStore(options: LevelStoreOptions): Promise<BlockStore> {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected object')
  const { path, crypto = nobleCrypto, sync = false, headCacheSize = 1024 } = options
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('"path" expected a non-empty string')
  if (typeof sync !== 'boolean') throw new TypeError('"sync" expected boolean')
  auint('headCacheSize', headCacheSize)
  const db = new ClassicLevel<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  try {
    await checkVersion(db, path)
  } catch (err) {
    await db.close()
    throw err
  }
  return new LevelStore(db, crypto, sync, headCacheSize)
}

/** The directory holds a store this code cannot read. */
class StoreVersionError extends Error {
  readonly code = 'ERR_STORE_VERSION'
  constructor(message: string) {
    super(message)
    this.name = 'StoreVersionError'
  }
}

type Db = ClassicLevel<Uint8Array, Uint8Array>
type Op = { type: 'put'; key: Uint8Array; value: Uint8Array }

/** A block of a batch, encoded, at its slot. */
interface Pending {
  readonly block: HalfBlock
  readonly bytes: Uint8Array
  readonly key: Uint8Array
  readonly owner: PublicKeyHex
}

class LevelStore implements BlockStore {
  readonly #db: Db
  readonly #crypto: CryptoProvider
  readonly #sync: boolean
  // Latest block of recently used chains (null: known empty), least recently used first. Coherent
  // because every write goes through #commit: a commit raises a cached head it passes, and a read
  // that raced a commit is not cached (see #commits). It makes an append one LevelDB write:
  // latest() needs no iterator and the conflict check knows that seq latest+1 is free.
  readonly #heads = new Map<PublicKeyHex, HalfBlock | null>()
  readonly #headCacheSize: number
  /** Commits written so far. */
  #commits = 0
  /** The last commit queued: commits run one at a time, so check-then-write cannot interleave. */
  #tail: Promise<unknown> = Promise.resolve()
  #closed = false

  constructor(db: Db, crypto: CryptoProvider, sync: boolean, headCacheSize: number) {
    this.#db = db
    this.#crypto = crypto
    this.#sync = sync
    this.#headCacheSize = headCacheSize
  }

  async get(publicKey: Uint8Array, seq: number): Promise<HalfBlock | undefined> {
    const key = blockKey(abytes('publicKey', publicKey, 32), auint('seq', seq))
    return this.#read(async () => {
      const bytes = await this.#db.get(key)
      return bytes === undefined ? undefined : decode(bytes)
    })
  }

  async getByHash(hash: Uint8Array): Promise<HalfBlock | undefined> {
    const key = concatBytes(TABLE.hash, abytes('hash', hash, 32))
    return this.#read(async () => {
      const slot = await this.#db.get(key)
      if (slot === undefined) return undefined
      // blocks are never deleted, so the slot an index entry names is always there
      const bytes = await this.#db.get(concatBytes(TABLE.block, slot))
      return bytes === undefined ? undefined : decode(bytes)
    })
  }

  async latest(publicKey: Uint8Array): Promise<HalfBlock | undefined> {
    abytes('publicKey', publicKey, 32)
    return this.#read(async () => {
      const owner = toHex(publicKey)
      const head = this.#heads.get(owner)
      if (head !== undefined) {
        this.#touch(owner, head)
        return head ?? undefined
      }
      const commits = this.#commits
      const [bytes] = await this.#db.values({ ...chainBounds(publicKey, 0, MAX_SEQ), reverse: true, limit: 1 }).all()
      const block = bytes === undefined ? undefined : decode(bytes)
      if (commits === this.#commits) this.#touch(owner, block ?? null)
      return block
    })
  }

  async range(publicKey: Uint8Array, options: RangeOptions = {}): Promise<HalfBlock[]> {
    abytes('publicKey', publicKey, 32)
    const from = Math.max(0, optionalInt('from', options.from) ?? 1)
    const to = Math.min(MAX_SEQ, optionalInt('to', options.to) ?? MAX_SEQ)
    const limit = optionalInt('limit', options.limit)
    return this.#read(async () => {
      if (from > to || (limit !== undefined && limit <= 0)) return []
      const values = await this.#db
        .values({ ...chainBounds(publicKey, from, to), reverse: options.reverse === true, ...(limit === undefined ? {} : { limit }) })
        .all()
      return values.map(decode)
    })
  }

  async findAgreement(proposalKey: Uint8Array, proposalSeq: number, signer: Uint8Array): Promise<HalfBlock | undefined> {
    abytes('proposalKey', proposalKey, 32)
    auint('proposalSeq', proposalSeq)
    abytes('signer', signer, 32)
    const prefix = concatBytes(TABLE.agreement, proposalKey, seqBytes(proposalSeq), signer)
    return this.#read(async () => {
      const [key] = await this.#db.keys({ gte: prefix, lte: concatBytes(prefix, MAX_SEQ_BYTES), limit: 1 }).all()
      if (key === undefined) return undefined
      const bytes = await this.#db.get(concatBytes(TABLE.block, key.subarray(1 + 32 + 8)))
      return bytes === undefined ? undefined : decode(bytes)
    })
  }

  async fraudProofs(publicKey?: Uint8Array): Promise<FraudProof[]> {
    if (publicKey !== undefined) abytes('publicKey', publicKey, 32)
    return this.#read(async () => {
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
    return this.#read(async () => {
      const keys = await this.#db.keys({ ...prefixBounds(concatBytes(TABLE.accused, publicKey)), limit: 1 }).all()
      return keys.length > 0
    })
  }

  async agents(): Promise<Uint8Array[]> {
    return this.#read(async () => {
      const keys = await this.#db.keys(prefixBounds(TABLE.agent)).all()
      return keys.map((key) => Uint8Array.prototype.slice.call(view(key), 1))
    })
  }

  batch(): StoreBatch {
    const blocks: HalfBlock[] = []
    const proofs: FraudProof[] = []
    const batch: StoreBatch = {
      put: (block) => (blocks.push(block), batch),
      putFraudProof: (proof) => (proofs.push(proof), batch),
      commit: async () => this.#enqueue(blocks.slice(), proofs.slice()),
    }
    return batch
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // commits accepted before close() still finish
    await this.#tail
    this.#heads.clear()
    await this.#db.close()
  }

  // ## Writes

  #enqueue(blocks: readonly HalfBlock[], proofs: readonly FraudProof[]): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('level store is closed'))
    // encode before queueing: a malformed block is the caller's TypeError, and costs no lock time
    let pending: Map<string, Pending>
    let proofOps: Op[]
    try {
      pending = this.#pending(blocks)
      proofOps = proofs.map((p) => this.#proofOps(p)).flat()
    } catch (err) {
      return Promise.reject(err)
    }
    const run = this.#tail.then(() => this.#commit(pending, proofOps))
    this.#tail = run.catch(() => undefined)
    return run
  }

  /** The batch's blocks by slot; two different blocks at one slot conflict already here. */
  #pending(blocks: readonly HalfBlock[]): Map<string, Pending> {
    const pending = new Map<string, Pending>()
    for (const block of blocks) {
      const bytes = encodeBlock(block)
      const owner = toHex(block.publicKey)
      const slot = `${owner}:${block.seq}`
      const earlier = pending.get(slot)
      if (earlier !== undefined) {
        if (!sameUnsigned(earlier.bytes, bytes)) throw conflict(block)
        continue
      }
      pending.set(slot, { block, bytes, key: blockKey(block.publicKey, block.seq), owner })
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

  /** Check every slot, then write everything in one LevelDB batch. Runs under the commit lock. */
  async #commit(pending: Map<string, Pending>, proofOps: Op[]): Promise<void> {
    try {
      const fresh: Pending[] = []
      const unknown: Pending[] = []
      for (const p of pending.values()) {
        const head = this.#heads.get(p.owner)
        if (head === null || (head !== undefined && p.block.seq > head.seq)) fresh.push(p)
        else if (head !== undefined && p.block.seq === head.seq) {
          if (!sameUnsigned(encodeBlock(head), p.bytes)) throw conflict(p.block)
        } else unknown.push(p)
      }
      if (unknown.length > 0) {
        const stored = await this.#db.getMany(unknown.map((p) => p.key))
        unknown.forEach((p, i) => {
          const bytes = stored[i]
          if (bytes === undefined) fresh.push(p)
          else if (!sameUnsigned(bytes, p.bytes)) throw conflict(p.block)
          // else: the same block is stored already, a no-op
        })
      }
      const ops: Op[] = []
      const listed = new Set<PublicKeyHex>()
      for (const { block, bytes, key, owner } of fresh) {
        const slot = key.subarray(1)
        // a chain whose head is cached is listed already: its head is stored, and was listed with it
        if (!listed.has(owner) && !(this.#heads.get(owner) ?? false)) {
          ops.push({ type: 'put', key: concatBytes(TABLE.agent, block.publicKey), value: EMPTY })
          listed.add(owner)
        }
        ops.push({ type: 'put', key, value: bytes })
        ops.push({ type: 'put', key: concatBytes(TABLE.hash, blockHash(block, this.#crypto)), value: slot })
        if (isAgreement(block)) {
          ops.push({ type: 'put', key: concatBytes(TABLE.agreement, block.linkPublicKey, seqBytes(block.linkSeq), slot), value: EMPTY })
        }
      }
      ops.push(...proofOps)
      if (ops.length === 0) return
      await this.#db.batch(ops, { sync: this.#sync })
      for (const { block, owner } of fresh) {
        const head = this.#heads.get(owner)
        if (head === null || (head !== undefined && block.seq > head.seq)) this.#heads.set(owner, block)
      }
      this.#commits++
    } catch (err) {
      throw this.#closedError(err)
    }
  }

  // ## Private helpers

  async #read<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new ClosedError('level store is closed')
    try {
      return await fn()
    } catch (err) {
      throw this.#closedError(err)
    }
  }

  /** A LevelDB error caused by close() racing a read becomes a ClosedError. */
  #closedError(err: unknown): unknown {
    const code = (err as { code?: unknown } | undefined)?.code
    if (this.#closed && typeof code === 'string' && code.startsWith('LEVEL_')) {
      return new ClosedError('level store is closed')
    }
    return err
  }

  /** Remember a chain's head as most recently used, evicting the least recently used. */
  #touch(owner: PublicKeyHex, head: HalfBlock | null): void {
    if (this.#headCacheSize === 0) return
    this.#heads.delete(owner)
    this.#heads.set(owner, head)
    if (this.#heads.size > this.#headCacheSize) {
      const oldest = this.#heads.keys().next()
      if (oldest.done !== true) this.#heads.delete(oldest.value)
    }
  }
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
  const view = new DataView(out.buffer)
  view.setUint32(0, Math.floor(seq / 0x1_0000_0000))
  view.setUint32(4, seq >>> 0)
  return out
}

function blockKey(publicKey: Uint8Array, seq: number): Uint8Array {
  const key = new Uint8Array(1 + 32 + 8)
  key[0] = TABLE.block[0]!
  key.set(publicKey, 1)
  key.set(seqBytes(seq), 33)
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

function conflict(block: HalfBlock): ConflictError {
  return new ConflictError(`a different block is already stored at seq ${block.seq} of ${toHex(block.publicKey).slice(0, 16)}…`)
}

function optionalInt(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new TypeError(`"${name}" expected a safe integer, got ${typeof value === 'number' ? value : typeof value}`)
  return value
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
