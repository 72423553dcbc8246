/**
 * The block store interface, and the batch collector its implementations share.
 * Implementations: `createMemoryStore` here, the LevelDB store in @tally/node, the IndexedDB store
 * in @tally/browser. All pass `storeSuite` from '@tally/core/testing'.
 *
 * Rules every implementation keeps:
 * - one block per (key, seq), the first one stored; a different block there is a ConflictError
 *   and the whole batch is refused (forks are kept as fraud proofs, not as blocks);
 * - a batch is committed atomically: after a crash either all of it is there or none of it;
 * - when `commit()` resolves, the batch is durable (for durable stores) and visible to reads;
 * - blocks leave only through `evict` (optional): a node keeps other agents' blocks within quotas
 *   and drops what it does not need. Fraud proofs are never evicted.
 * @module
 */
import type { FraudProof } from './fraud-proof.js'
import type { HalfBlock } from './half-block.js'

/** Options of `range`. Bounds are inclusive. */
export interface RangeOptions {
  /** Lowest seq (default 1). */
  from?: number
  /** Highest seq (default: no bound). */
  to?: number
  /** At most this many blocks (default: no limit). */
  limit?: number
  /** Highest seq first. */
  reverse?: boolean
}

/** Seqs of one chain to evict (`BlockStore.evict`). Bounds are inclusive. */
export interface EvictRange {
  /** Lowest seq removed (default 1). */
  from?: number
  /** Highest seq removed (default: no bound). */
  to?: number
}

/** Writes committed together. */
export interface StoreBatch {
  /** Add a block (a no-op at commit when the same block is already stored). */
  put(block: HalfBlock): StoreBatch
  /** Add a fraud proof (verified by the caller). */
  putFraudProof(proof: FraudProof): StoreBatch
  /**
   * Commit every write at once.
   * @throws ConflictError when a different block already occupies one of the (key, seq); nothing is written
   */
  commit(): Promise<void>
  /**
   * Commit, and say apart when the batch has its place in the store's write order and when it is
   * durable. Optional: a store whose commits are durable (or lost) at once needs none, and callers
   * then use `commit()`. An agent uses it to sign its next block on top of one whose sync is still
   * running, and hands neither out before its `durable` resolves.
   *
   * Promises a store that has it keeps:
   * - `ordered` resolves once the batch is checked (a ConflictError rejects it, and `durable`, with
   *   nothing written) and written after every batch whose `ordered` resolved before; reads need
   *   not see it yet;
   * - `durable` resolves once it would survive a power cut (for durable stores) and reads see it,
   *   never before the `durable` of any batch ordered before it; when one fails, every batch
   *   ordered after it fails too, so nothing built on a lost batch is ever called durable.
   * @returns the two promises (a rejection that nobody awaits is not reported as unhandled)
   */
  commitOrdered?(): OrderedCommit
}

/** The two moments of a commit (StoreBatch.commitOrdered). */
export interface OrderedCommit {
  /** The batch is checked and next in the store's write order. */
  readonly ordered: Promise<void>
  /** The batch is durable and visible, and so is every batch ordered before it. */
  readonly durable: Promise<void>
}

/** Where blocks and fraud proofs are kept. */
export interface BlockStore {
  /** The block at (publicKey, seq). */
  get(publicKey: Uint8Array, seq: number): Promise<HalfBlock | undefined>
  /** The block with this hash. */
  getByHash(hash: Uint8Array): Promise<HalfBlock | undefined>
  /** The highest-seq block of a chain. */
  latest(publicKey: Uint8Array): Promise<HalfBlock | undefined>
  /** Blocks of one chain in seq order (or reverse), within bounds. */
  range(publicKey: Uint8Array, options?: RangeOptions): Promise<HalfBlock[]>
  /**
   * The agreement signed by `signer` that answers the proposal at (proposalKey, proposalSeq).
   */
  findAgreement(proposalKey: Uint8Array, proposalSeq: number, signer: Uint8Array): Promise<HalfBlock | undefined>
  /** Every fraud proof held, or those accusing `publicKey`. */
  fraudProofs(publicKey?: Uint8Array): Promise<FraudProof[]>
  /** True iff a fraud proof against `publicKey` is held. */
  hasFraud(publicKey: Uint8Array): Promise<boolean>
  /** Public keys of every chain with at least one stored block. */
  agents(): Promise<Uint8Array[]>
  /** A new batch of writes. */
  batch(): StoreBatch
  /**
   * Remove the stored blocks of one chain whose seq is within `range` (inclusive; default the whole
   * chain), with everything that indexes them (by hash, agreements, the chain in `agents()`).
   * Fraud proofs stay. Optional: a store without it keeps everything, and a node then cannot evict.
   * Runs in order with commits: a commit before it is evicted too, one after it is kept.
   * @param publicKey the chain's owner
   * @param range lowest and highest seq to remove (default 1 and no bound)
   * @returns how many blocks were removed
   * @throws TypeError / RangeError on a malformed key or range; ClosedError after close
   * @example await store.evict?.(stranger)                  // the whole chain
   * @example await store.evict?.(stranger, { to: 40 })      // its blocks 1..40, keeping the tip
   */
  evict?(publicKey: Uint8Array, range?: EvictRange): Promise<number>
  /** Release resources. Later calls reject with ClosedError. */
  close(): Promise<void>
}

/**
 * A StoreBatch that collects writes and hands them to `commit` at once: the part of a batch every
 * store implementation shares. The arrays passed to `commit` are copies, so writes added after
 * `commit()` was called are not part of it.
 * @param commit writes the collected blocks and proofs atomically
 * @returns the batch
 * @example batch(): StoreBatch { return collectBatch((blocks, proofs) => this.#commit(blocks, proofs)) }
 */
export function collectBatch(
  commit: (blocks: HalfBlock[], proofs: FraudProof[]) => Promise<void>,
  commitOrdered?: (blocks: HalfBlock[], proofs: FraudProof[]) => OrderedCommit,
): StoreBatch {
  const blocks: HalfBlock[] = []
  const proofs: FraudProof[] = []
  const batch: StoreBatch = {
    put: (block) => (blocks.push(block), batch),
    putFraudProof: (proof) => (proofs.push(proof), batch),
    commit: () => commit(blocks.slice(), proofs.slice()),
  }
  if (commitOrdered !== undefined) batch.commitOrdered = () => commitOrdered(blocks.slice(), proofs.slice())
  return batch
}

// ## Reads answered at once (inside core only)

/**
 * What `validate` reads of a store, answered without a promise. A store that holds everything in
 * memory offers it under READ_NOW, and validation then runs without awaiting: an await per read
 * made the promises and async frames the largest allocation per validated block (about 5 KB per
 * ingested block, most of the garbage collector's work). Not part of the public API.
 */
export interface ReadNow {
  /** The block at (publicKey, seq). */
  getNow(publicKey: Uint8Array, seq: number): HalfBlock | undefined
  /** The highest-seq block of the chain below `seq`. */
  beforeNow(publicKey: Uint8Array, seq: number): HalfBlock | undefined
  /** The lowest-seq block of the chain above `seq`. */
  afterNow(publicKey: Uint8Array, seq: number): HalfBlock | undefined
  /** As BlockStore.findAgreement. */
  agreementNow(proposalKey: Uint8Array, proposalSeq: number, signer: Uint8Array): HalfBlock | undefined
  /** As BlockStore.fraudProofs(publicKey). */
  fraudProofsNow(publicKey: Uint8Array): FraudProof[]
}

/** The key under which a store hands out its ReadNow (a method; undefined when it has none now). */
export const READ_NOW: unique symbol = Symbol('tally.read-now')

/** The store's reads answered at once, if it has them. */
export function readNow(store: BlockStore): ReadNow | undefined {
  const of = (store as { [READ_NOW]?: () => ReadNow | undefined })[READ_NOW]
  return typeof of === 'function' ? of.call(store) : undefined
}

// ## Reads answered from a cache when they can be (inside core only)

/** A cached read that cannot answer now: the caller reads the store (with a promise) instead. */
// (registered symbols: @tally/node's LevelDB store offers these reads without a public export)
export const MISS: unique symbol = Symbol.for('tally.miss')
/** The answer of a cached read: the same as the store's read, or MISS. */
export type Cached<T> = T | typeof MISS

/**
 * What `validate` reads of a store, answered at once from what the store holds in memory, or MISS
 * when that does not say. A store that keeps most of its data on disk (LevelDB) offers it under
 * READ_CACHED: validation then needs no promise while its reads hit the caches (in an ingest, all
 * but a few of them), and reads the store as before when one misses. Not part of the public API.
 */
export interface ReadCached {
  /** As ReadNow.getNow, or MISS. */
  getCached(publicKey: Uint8Array, seq: number): Cached<HalfBlock | undefined>
  /** As ReadNow.beforeNow, or MISS. */
  beforeCached(publicKey: Uint8Array, seq: number): Cached<HalfBlock | undefined>
  /** As ReadNow.afterNow, or MISS. */
  afterCached(publicKey: Uint8Array, seq: number): Cached<HalfBlock | undefined>
  /** As ReadNow.agreementNow, or MISS. */
  agreementCached(proposalKey: Uint8Array, proposalSeq: number, signer: Uint8Array): Cached<HalfBlock | undefined>
}

/** The key under which a store hands out its ReadCached (a method; undefined when it has none). */
export const READ_CACHED: unique symbol = Symbol.for('tally.read-cached')

/** The store's reads answered from its caches, if it has them. */
export function readCached(store: BlockStore): ReadCached | undefined {
  const of = (store as { [READ_CACHED]?: () => ReadCached | undefined })[READ_CACHED]
  return typeof of === 'function' ? of.call(store) : undefined
}

// ## Commits made at once (inside core only)

/**
 * A store that writes in memory commits a batch within the call. Offered under WRITE_NOW, it lets
 * an agent sign and store its block in one turn, with no batch object and no promise of `commit()`:
 * on a memory store those, with the async frames around them, were a third of what a transaction
 * allocated. Not part of the public API.
 */
export interface WriteNow {
  /**
   * As `batch()`, `put` of each block, `putFraudProof` of each proof and `commit()`, done now.
   * @throws what `commit()` rejects with (ConflictError, ClosedError); nothing is written then
   */
  commitNow(blocks: readonly HalfBlock[], proofs: readonly FraudProof[]): void
}

/** The key under which a store hands out its WriteNow (a method; undefined when it has none now). */
export const WRITE_NOW: unique symbol = Symbol('tally.write-now')

/** The store's commits made at once, if it has them. */
export function writeNow(store: BlockStore): WriteNow | undefined {
  const of = (store as { [WRITE_NOW]?: () => WriteNow | undefined })[WRITE_NOW]
  return typeof of === 'function' ? of.call(store) : undefined
}
