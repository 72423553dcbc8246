/**
 * The BlockStore on IndexedDB (through `idb`). It passes the same compliance suite as the memory
 * and LevelDB stores, in a real browser.
 *
 * Schema version 1 (IndexedDB version 1; format record `{ format: 'tally-blocks', version: 1 }`):
 *
 *   blocks   key [publicKey(32, binary), seq(number)]
 *            value { block: encodeBlock(b), hash: blockHash(b) (32), answer?: [linkPublicKey, linkSeq, publicKey, seq] }
 *            index 'hash'   on hash, unique                   → getByHash
 *            index 'answer' on answer (agreements only)       → findAgreement: the lowest seq of the
 *                                                                signer's chain that answers (like LevelDB)
 *   proofs   key fraudProofId(p) (32, binary)
 *            value { proof: encodeFraudProof(p), accused: publicKey (32) }
 *            index 'accused' on accused                        → fraudProofs(key), hasFraud
 *   meta     'format' → { format: 'tally-blocks', version: 1 }
 *
 * IndexedDB compares array keys element by element, binary keys byte by byte and numbers as
 * numbers, so one chain is one contiguous key range in seq order (255 < 256 < 2^32 + 1). Blocks and
 * proofs are kept as their canonical encodings, the bytes pinned by the golden vectors, so what this
 * version writes stays readable whatever becomes of the in-memory types.
 *
 * Writes: one readwrite transaction per batch, with `durability: 'strict'` (the browser flushes it to
 * disk before `complete`: a committed block survives a power cut, DESIGN "The agent's promises").
 * The conflict check reads the batch's slots inside that same transaction, and IndexedDB runs
 * readwrite transactions on one store one at a time across every tab of the profile, so two tabs
 * can never both store a block at one (key, seq).
 *
 * Nothing is cached: other tabs write to the same database, and every read is its own readonly
 * transaction, so it sees each commit that completed before it. Commits are announced to the other
 * tabs on a BroadcastChannel (`watch`).
 * @module
 */
import type { IDBPDatabase } from 'idb'
import {
  ClosedError,
  ConflictError,
  abytes,
  auint,
  blockHash,
  decodeBlock,
  decodeFraudProof,
  encodeBlock,
  encodeFraudProof,
  equalBytes,
  fraudProofId,
  isAgreement,
  nobleCrypto,
  toHex,
  collectBatch,
  type BlockStore,
  type CryptoProvider,
  type EvictRange,
  type FraudProof,
  type HalfBlock,
  type RangeOptions,
  type StoreBatch,
} from '@tally/core'
import { bin } from './binary.js'
import { openVersioned } from './idb-open.js'

/** The schema version this code writes (IndexedDB's version of the database). */
export const IDB_STORE_VERSION = 1

/** The format name in the database's format record. */
export const IDB_STORE_FORMAT = 'tally-blocks'

/** Options of openIdbStore. */
export interface IdbStoreOptions {
  /** The IndexedDB database's name (default 'tally'). One store per name. */
  name?: string
  /** Provider for block hashes and fraud-proof ids (default nobleCrypto; all providers agree). */
  crypto?: CryptoProvider
}

/** What a commit changed, as told to `watch` listeners in this tab and in the others. */
export interface StoreChange {
  /** The slots of the blocks the batch held (some may have been stored before). */
  readonly blocks: readonly { readonly publicKey: Uint8Array; readonly seq: number }[]
  /** The keys accused by the fraud proofs the batch held. */
  readonly accused: readonly Uint8Array[]
}

/** A BlockStore in IndexedDB, shared by every tab of the origin. */
export interface IdbStore extends BlockStore {
  /** The IndexedDB database's name. */
  readonly name: string
  /**
   * Be told of every commit to this database, by this tab or another (through a BroadcastChannel).
   * A listener that throws does not affect the commit.
   * @param listener called after each commit, with what it held
   * @returns a function that stops the calls
   */
  watch(listener: (change: StoreChange) => void): () => void
}

/**
 * Open (or create) the block store kept in the IndexedDB database `options.name`.
 * @param options name, crypto provider
 * @returns the open store; `close()` it when done
 * @throws TypeError on a malformed option; StoreVersionError (ERR_STORE_VERSION) when the database
 *   was written by a newer version or is not a Tally block store
 * @example
 * const store = await openIdbStore({ name: 'wallet' })
 * const agent = createAgent({ identity, store, types })
 */
export async function openIdbStore(options: IdbStoreOptions = {}): Promise<IdbStore> {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected object')
  const { name = 'tally', crypto = nobleCrypto } = options
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('"name" expected a non-empty string')
  let store: Store | undefined
  let closedBeforeOpen: string | undefined
  const db = await openVersioned({
    name,
    format: IDB_STORE_FORMAT,
    version: IDB_STORE_VERSION,
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        const blocks = db.createObjectStore(BLOCKS)
        blocks.createIndex('hash', 'hash', { unique: true })
        blocks.createIndex('answer', 'answer')
        const proofs = db.createObjectStore(PROOFS)
        proofs.createIndex('accused', 'accused')
      }
      // a version 2 adds its migration here, reading version 1's records
    },
    onClosed(reason) {
      if (store === undefined) closedBeforeOpen = reason
      else store.lose(reason)
    },
  })
  store = new Store(db, name, crypto)
  if (closedBeforeOpen !== undefined) store.lose(closedBeforeOpen)
  return store
}

// ## The store

const BLOCKS = 'blocks'
const PROOFS = 'proofs'

/** The value of a record in `blocks`. */
interface BlockRecord {
  block: Uint8Array
  hash: Uint8Array
  answer?: [Uint8Array, number, Uint8Array, number]
}

/** The value of a record in `proofs`. */
interface ProofRecord {
  proof: Uint8Array
  accused: Uint8Array
}

/** A block of a batch, prepared outside the transaction. */
interface Pending {
  readonly block: HalfBlock
  readonly key: [Uint8Array<ArrayBuffer>, number]
  readonly record: BlockRecord
}

class Store implements IdbStore {
  readonly name: string
  readonly #db: IDBPDatabase<unknown>
  readonly #crypto: CryptoProvider
  readonly #listeners = new Set<(change: StoreChange) => void>()
  #channel: BroadcastChannel | undefined
  #closed: string | undefined

  constructor(db: IDBPDatabase<unknown>, name: string, crypto: CryptoProvider) {
    this.#db = db
    this.name = name
    this.#crypto = crypto
  }

  async get(publicKey: Uint8Array, seq: number): Promise<HalfBlock | undefined> {
    this.#open()
    abytes('publicKey', publicKey, 32)
    if (!Number.isSafeInteger(seq) || seq < 0) return undefined
    const record = (await this.#db.get(BLOCKS, [bin(publicKey), seq])) as BlockRecord | undefined
    return record === undefined ? undefined : decodeBlock(record.block)
  }

  async getByHash(hash: Uint8Array): Promise<HalfBlock | undefined> {
    this.#open()
    abytes('hash', hash, 32)
    const record = (await this.#db.getFromIndex(BLOCKS, 'hash', bin(hash))) as BlockRecord | undefined
    return record === undefined ? undefined : decodeBlock(record.block)
  }

  async latest(publicKey: Uint8Array): Promise<HalfBlock | undefined> {
    this.#open()
    abytes('publicKey', publicKey, 32)
    const cursor = await this.#db.transaction(BLOCKS).store.openCursor(chainRange(publicKey, 0, Infinity), 'prev')
    return cursor === null ? undefined : decodeBlock((cursor.value as BlockRecord).block)
  }

  async range(publicKey: Uint8Array, options: RangeOptions = {}): Promise<HalfBlock[]> {
    this.#open()
    abytes('publicKey', publicKey, 32)
    const from = options.from ?? 1
    const to = options.to ?? Infinity
    const limit = options.limit ?? Infinity
    if (limit <= 0 || from > to) return []
    const keys = chainRange(publicKey, from, to)
    let records: BlockRecord[]
    if (options.reverse !== true) {
      records = (await this.#db.getAll(BLOCKS, keys, Number.isFinite(limit) ? limit : undefined)) as BlockRecord[]
    } else {
      records = []
      const tx = this.#db.transaction(BLOCKS)
      for (let cursor = await tx.store.openCursor(keys, 'prev'); cursor !== null && records.length < limit; cursor = await cursor.continue()) {
        records.push(cursor.value as BlockRecord)
      }
    }
    return records.map((r) => decodeBlock(r.block))
  }

  async findAgreement(proposalKey: Uint8Array, proposalSeq: number, signer: Uint8Array): Promise<HalfBlock | undefined> {
    this.#open()
    abytes('proposalKey', proposalKey, 32)
    abytes('signer', signer, 32)
    if (!Number.isSafeInteger(proposalSeq) || proposalSeq < 0) return undefined
    const answers = IDBKeyRange.bound([bin(proposalKey), proposalSeq, bin(signer), 0], [bin(proposalKey), proposalSeq, bin(signer), Infinity])
    const record = (await this.#db.getFromIndex(BLOCKS, 'answer', answers)) as BlockRecord | undefined
    return record === undefined ? undefined : decodeBlock(record.block)
  }

  async fraudProofs(publicKey?: Uint8Array): Promise<FraudProof[]> {
    this.#open()
    let records: ProofRecord[]
    if (publicKey === undefined) {
      records = (await this.#db.getAll(PROOFS)) as ProofRecord[]
    } else {
      abytes('publicKey', publicKey, 32)
      records = (await this.#db.getAllFromIndex(PROOFS, 'accused', bin(publicKey))) as ProofRecord[]
    }
    return records.map((r) => decodeFraudProof(r.proof))
  }

  async hasFraud(publicKey: Uint8Array): Promise<boolean> {
    this.#open()
    abytes('publicKey', publicKey, 32)
    return (await this.#db.countFromIndex(PROOFS, 'accused', bin(publicKey))) > 0
  }

  async agents(): Promise<Uint8Array[]> {
    this.#open()
    const out: Uint8Array[] = []
    const tx = this.#db.transaction(BLOCKS)
    // one step per chain: after a chain's first key, jump past its last possible seq
    for (let cursor = await tx.store.openKeyCursor(); cursor !== null; ) {
      const owner = new Uint8Array((cursor.key as [ArrayBuffer, number])[0])
      out.push(owner)
      cursor = await cursor.continue([owner, Infinity])
    }
    return out
  }

  batch(): StoreBatch {
    return collectBatch((blocks, proofs) => this.#commit(blocks, proofs))
  }

  /**
   * Remove a chain's blocks from `from` to `to` (inclusive; default all), with their indexes, in one
   * strict transaction. IndexedDB runs transactions over the same store in the order they were
   * made, so a commit made before is evicted too and one made after is kept. Proofs stay.
   */
  async evict(publicKey: Uint8Array, range: EvictRange = {}): Promise<number> {
    this.#open()
    abytes('publicKey', publicKey, 32)
    const from = range.from ?? 1
    const to = range.to ?? Number.MAX_SAFE_INTEGER
    auint('range.from', from, 1)
    auint('range.to', to, 1)
    if (from > to) return 0
    const tx = this.#db.transaction(BLOCKS, 'readwrite', { durability: 'strict' })
    const keys = chainRange(publicKey, from, to)
    const count = await tx.store.count(keys)
    if (count > 0) await tx.store.delete(keys)
    await tx.done
    return count
  }

  watch(listener: (change: StoreChange) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('"listener" expected a function')
    this.#open()
    this.#listeners.add(listener)
    if (this.#channel === undefined && typeof BroadcastChannel === 'function') {
      this.#channel = new BroadcastChannel(channelName(this.name))
      this.#channel.onmessage = (event: MessageEvent<StoreChange>) => this.#tell(event.data)
    }
    return () => {
      this.#listeners.delete(listener)
    }
  }

  async close(): Promise<void> {
    if (this.#closed !== undefined) return
    this.#closed = 'the IndexedDB store is closed'
    this.#channel?.close()
    this.#channel = undefined
    this.#listeners.clear()
    // IndexedDB closes the connection once its running transactions have finished
    this.#db.close()
  }

  /** The connection was closed by someone else: every later call fails with this reason. */
  lose(reason: string): void {
    if (this.#closed === undefined) this.#closed = reason
    this.#channel?.close()
    this.#channel = undefined
  }

  async #commit(blocks: readonly HalfBlock[], proofs: readonly FraudProof[]): Promise<void> {
    this.#open()
    // Hash and encode before the transaction: a transaction with no request pending at the end of
    // a task commits by itself, so nothing but IndexedDB requests may be awaited inside it.
    const pending: Pending[] = []
    const inBatch = new Map<string, Pending>()
    for (const block of blocks) {
      const hash = blockHash(block, this.#crypto)
      const slot = `${toHex(block.publicKey)}:${block.seq}`
      const earlier = inBatch.get(slot)
      if (earlier !== undefined) {
        if (!equalBytes(earlier.record.hash, hash)) throw ConflictError.at(block)
        continue
      }
      // IndexedDB copies a view's whole buffer; a decoded block's bytes and keys are views of a
      // buffer shared with other blocks (core's decode slabs): store copies of just their bytes
      const record: BlockRecord = { block: encodeBlock(block).slice(), hash }
      if (isAgreement(block)) record.answer = [block.linkPublicKey.slice(), block.linkSeq, block.publicKey.slice(), block.seq]
      const item: Pending = { block, key: [bin(block.publicKey), block.seq], record }
      inBatch.set(slot, item)
      pending.push(item)
    }
    const proofRecords = proofs.map((proof) => ({ id: fraudProofId(proof, this.#crypto), record: { proof: encodeFraudProof(proof), accused: proof.publicKey } satisfies ProofRecord }))

    const tx = this.#db.transaction([BLOCKS, PROOFS], 'readwrite', { durability: 'strict' })
    const done = tx.done
    done.catch(() => undefined) // awaited below, or the transaction was aborted on purpose
    const blockStore = tx.objectStore(BLOCKS)
    const existing = (await Promise.all(pending.map((p) => blockStore.get(p.key)))) as (BlockRecord | undefined)[]
    for (let i = 0; i < pending.length; i++) {
      const found = existing[i]
      if (found !== undefined && !equalBytes(found.hash, pending[i]!.record.hash)) {
        tx.abort()
        throw ConflictError.at(pending[i]!.block)
      }
    }
    const writes: Promise<unknown>[] = []
    for (let i = 0; i < pending.length; i++) if (existing[i] === undefined) writes.push(blockStore.put(pending[i]!.record, pending[i]!.key))
    const proofStore = tx.objectStore(PROOFS)
    for (const { id, record } of proofRecords) writes.push(proofStore.put(record, bin(id)))
    await Promise.all(writes)
    await done
    const change: StoreChange = { blocks: pending.map((p) => ({ publicKey: p.block.publicKey, seq: p.block.seq })), accused: proofs.map((p) => p.publicKey) }
    this.#announce(change)
  }

  /** Tell this tab's listeners and the other tabs what a commit held. */
  #announce(change: StoreChange): void {
    if (change.blocks.length === 0 && change.accused.length === 0) return
    this.#tell(change)
    if (this.#channel !== undefined) {
      this.#channel.postMessage(change)
    } else if (typeof BroadcastChannel === 'function') {
      // nobody watches in this tab: post from a short-lived channel so the other tabs still hear it
      const channel = new BroadcastChannel(channelName(this.name))
      channel.postMessage(change)
      channel.close()
    }
  }

  #tell(change: StoreChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change)
      } catch {
        // a listener's failure is its own
      }
    }
  }

  #open(): void {
    if (this.#closed !== undefined) throw new ClosedError(this.#closed)
  }
}

// ## Private helpers

/** Keys of one chain from seq `from` to `to`, inclusive. */
function chainRange(publicKey: Uint8Array, from: number, to: number): IDBKeyRange {
  return IDBKeyRange.bound([bin(publicKey), Math.max(0, from)], [bin(publicKey), to])
}

function channelName(name: string): string {
  return `tally-idb-store:${name}`
}
