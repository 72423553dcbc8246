/**
 * The in-memory BlockStore: for tests, simulations and short-lived agents. Commits are
 * synchronous inside `commit()`, so every read sees a consistent view.
 * @module
 */
import { abytes, auint, equalBytes, fromHex, type PublicKeyHex } from './bytes.js'
import type { CryptoProvider } from './crypto-provider.js'
import { ClosedError, ConflictError } from './errors.js'
import { fraudProofId, type FraudProof } from './fraud-proof.js'
import { blockHash, isAgreement, type HalfBlock } from './half-block.js'
import { nobleCrypto } from './noble-crypto.js'
import { keyHex as toHex } from './bytes.js'
import { READ_NOW, WRITE_NOW, collectBatch, type BlockStore, type EvictRange, type RangeOptions, type ReadNow, type StoreBatch, type WriteNow } from './store.js'

/** Options of createMemoryStore. */
export interface MemoryStoreOptions {
  /** Provider for block hashes (default nobleCrypto). */
  crypto?: CryptoProvider
}

// A chain is two arrays in seq order rather than a map by seq: a map entry per block was a third
// of what the store kept per block, and its rehashes copied every entry as the chain grew. Chains
// are mostly without gaps, so a seq is usually found at once (at seq - first seq), else by search.
interface Chain {
  /** stored seqs, ascending */
  readonly seqs: number[]
  /** the blocks, list[i].seq === seqs[i] */
  readonly list: HalfBlock[]
  /** this chain's agreements: proposer key hex → proposal seq → agreement */
  readonly answers: Map<PublicKeyHex, Answers>
}

/**
 * One signer's agreements to one proposer's proposals, by proposal seq: two arrays in seq order,
 * like a chain (indexOfSeq, putAtSeq), rather than a map by seq. Proposals are answered about in their order, so a seq is
 * mostly at or past the end, found or added there without a search; a map of tens of thousands
 * of entries cost a cache miss or two per lookup, three lookups a transaction.
 */
class Answers {
  /** proposal seqs, ascending */
  readonly #seqs: number[] = []
  /** the agreements, at the same places */
  readonly #blocks: HalfBlock[] = []

  get size(): number {
    return this.#seqs.length
  }

  get(seq: number): HalfBlock | undefined {
    const i = indexOfSeq(this.#seqs, seq)
    return i < 0 ? undefined : this.#blocks[i]
  }

  has(seq: number): boolean {
    return this.get(seq) !== undefined
  }

  set(seq: number, block: HalfBlock): void {
    putAtSeq(this.#seqs, this.#blocks, seq, block, true)
  }

  delete(seq: number): void {
    const i = indexOfSeq(this.#seqs, seq)
    if (i < 0) return
    this.#seqs.splice(i, 1)
    this.#blocks.splice(i, 1)
  }
}

/**
 * A BlockStore in memory.
 * @param options provider for hashing
 * @returns the store
 * @example const store = createMemoryStore()
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): BlockStore {
  return new MemoryStore(options.crypto ?? nobleCrypto)
}

class MemoryStore implements BlockStore, ReadNow, WriteNow {
  readonly #crypto: CryptoProvider
  readonly #chains = new Map<PublicKeyHex, Chain>()
  /**
   * hash prefix (hashKey) → the block, or the blocks, whose hash starts so. Built at the first
   * getByHash and kept up to date from then on: a store that is never asked by hash (an ingest)
   * does not pay a random insert into a table as large as itself per block.
   */
  #byHash: Map<number, HalfBlock | HalfBlock[]> | undefined
  readonly #proofs = new Map<string, FraudProof>()
  readonly #accused = new Map<PublicKeyHex, Set<string>>()
  #closed = false

  constructor(crypto: CryptoProvider) {
    this.#crypto = crypto
  }

  async get(publicKey: Uint8Array, seq: number): Promise<HalfBlock | undefined> {
    this.#open()
    abytes('publicKey', publicKey, 32)
    return blockAt(this.#chains.get(toHex(publicKey)), seq)
  }

  // validation reads these without a promise (READ_NOW); the async reads above and below answer the same
  [READ_NOW](): ReadNow {
    return this
  }

  getNow(publicKey: Uint8Array, seq: number): HalfBlock | undefined {
    this.#open()
    return blockAt(this.#chains.get(toHex(publicKey)), seq)
  }

  beforeNow(publicKey: Uint8Array, seq: number): HalfBlock | undefined {
    this.#open()
    const chain = this.#chains.get(toHex(publicKey))
    if (chain === undefined) return undefined
    // an agent signing asks for its head (seq Infinity): the last block, without a search
    const { seqs } = chain
    const n = seqs.length
    if (n > 0 && seqs[n - 1]! < seq) return seqs[n - 1]! < 1 ? undefined : chain.list[n - 1]
    const i = lowerBound(seqs, seq) - 1
    // as range({ to: seq - 1 }): seqs from 1
    return i < 0 || chain.seqs[i]! < 1 ? undefined : chain.list[i]
  }

  afterNow(publicKey: Uint8Array, seq: number): HalfBlock | undefined {
    this.#open()
    const chain = this.#chains.get(toHex(publicKey))
    if (chain === undefined) return undefined
    const { seqs } = chain
    // ingest asks for the block after the newest one far more often than for any other
    if (seqs.length === 0 || seqs[seqs.length - 1]! <= seq) return undefined
    return chain.list[lowerBound(seqs, seq + 1)]
  }

  agreementNow(proposalKey: Uint8Array, proposalSeq: number, signer: Uint8Array): HalfBlock | undefined {
    this.#open()
    return this.#chains.get(toHex(signer))?.answers.get(toHex(proposalKey))?.get(proposalSeq)
  }

  fraudProofsNow(publicKey: Uint8Array): FraudProof[] {
    this.#open()
    const ids = this.#accused.get(toHex(publicKey))
    return ids === undefined ? [] : [...ids].map((id) => this.#proofs.get(id)!)
  }

  async getByHash(hash: Uint8Array): Promise<HalfBlock | undefined> {
    this.#open()
    abytes('hash', hash, 32)
    if (this.#byHash === undefined) {
      this.#byHash = new Map()
      for (const chain of this.#chains.values()) for (const block of chain.list) this.#hash(block)
    }
    const found = this.#byHash.get(hashKey(hash))
    if (found === undefined) return undefined
    for (const block of Array.isArray(found) ? found : [found]) if (equalBytes(blockHash(block, this.#crypto), hash)) return block
    return undefined
  }

  async latest(publicKey: Uint8Array): Promise<HalfBlock | undefined> {
    this.#open()
    abytes('publicKey', publicKey, 32)
    const chain = this.#chains.get(toHex(publicKey))
    if (chain === undefined || chain.seqs.length === 0) return undefined
    return chain.list[chain.list.length - 1]
  }

  async range(publicKey: Uint8Array, options: RangeOptions = {}): Promise<HalfBlock[]> {
    this.#open()
    abytes('publicKey', publicKey, 32)
    const chain = this.#chains.get(toHex(publicKey))
    if (chain === undefined) return []
    const from = options.from ?? 1
    const to = options.to ?? Number.MAX_SAFE_INTEGER
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER
    const out: HalfBlock[] = []
    if (limit <= 0 || from > to) return out
    const { seqs, list } = chain
    if (options.reverse === true) {
      for (let i = lowerBound(seqs, to + 1) - 1; i >= 0 && seqs[i]! >= from && out.length < limit; i--) out.push(list[i]!)
    } else {
      for (let i = lowerBound(seqs, from); i < seqs.length && seqs[i]! <= to && out.length < limit; i++) out.push(list[i]!)
    }
    return out
  }

  async findAgreement(proposalKey: Uint8Array, proposalSeq: number, signer: Uint8Array): Promise<HalfBlock | undefined> {
    this.#open()
    abytes('proposalKey', proposalKey, 32)
    abytes('signer', signer, 32)
    return this.#chains.get(toHex(signer))?.answers.get(toHex(proposalKey))?.get(proposalSeq)
  }

  async fraudProofs(publicKey?: Uint8Array): Promise<FraudProof[]> {
    this.#open()
    if (publicKey === undefined) return [...this.#proofs.values()]
    abytes('publicKey', publicKey, 32)
    const ids = this.#accused.get(toHex(publicKey))
    return ids === undefined ? [] : [...ids].map((id) => this.#proofs.get(id)!)
  }

  async hasFraud(publicKey: Uint8Array): Promise<boolean> {
    this.#open()
    abytes('publicKey', publicKey, 32)
    return this.#accused.has(toHex(publicKey))
  }

  async agents(): Promise<Uint8Array[]> {
    this.#open()
    return [...this.#chains.keys()].map(fromHex)
  }

  batch(): StoreBatch {
    return collectBatch(async (blocks, proofs) => this.#commit(blocks, proofs))
  }

  // an agent commits its own blocks through this, without a batch or a promise (WRITE_NOW)
  [WRITE_NOW](): WriteNow {
    return this
  }

  commitNow(blocks: readonly HalfBlock[], proofs: readonly FraudProof[]): void {
    this.#commit(blocks, proofs)
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  async evict(publicKey: Uint8Array, range: EvictRange = {}): Promise<number> {
    abytes('publicKey', publicKey, 32)
    const from = auint('range.from', range.from ?? 1)
    const to = auint('range.to', range.to ?? Number.MAX_SAFE_INTEGER)
    this.#open()
    const key = toHex(publicKey)
    const chain = this.#chains.get(key)
    if (chain === undefined || from > to) return 0
    const { seqs, list } = chain
    const start = lowerBound(seqs, from)
    const end = lowerBound(seqs, to + 1)
    let unindexed = false
    for (let i = start; i < end; i++) {
      const block = list[i]!
      this.#unhash(block)
      if (isAgreement(block)) {
        const proposer = toHex(block.linkPublicKey)
        const answers = chain.answers.get(proposer)
        if (answers?.get(block.linkSeq) === block) {
          answers.delete(block.linkSeq)
          if (answers.size === 0) chain.answers.delete(proposer)
          unindexed = true
        }
      }
    }
    seqs.splice(start, end - start)
    list.splice(start, end - start)
    if (seqs.length === 0) this.#chains.delete(key)
    // a cheater's second agreement to the same proposal may remain: it answers now (rare, so a scan)
    else if (unindexed) for (const block of list) this.#index(chain, block, false)
    return end - start
  }

  #commit(blocks: readonly HalfBlock[], proofs: readonly FraudProof[]): void {
    this.#open()
    // check everything first, then write: a refused batch leaves no trace
    // most batches are a block or two: a scan of the earlier ones beats building an index. A large
    // one is mostly chain segments in seq order, and a block above the highest seq its chain had so
    // far in the batch repeats none of them: only from the first block out of that order on are the
    // batch's blocks indexed (key hex → seq → the first block there)
    const small = blocks.length <= 8
    const top = small ? undefined : new Map<PublicKeyHex, number>()
    let earlier: Map<PublicKeyHex, Map<number, HalfBlock>> | undefined
    for (let i = 0; i < blocks.length; i++) {
      const block = blocks[i]!
      const key = toHex(block.publicKey)
      let existing = blockAt(this.#chains.get(key), block.seq)
      if (top !== undefined) {
        const highest = top.get(key)
        if (highest === undefined || block.seq > highest) top.set(key, block.seq)
        else if (earlier === undefined) earlier = indexBatch(blocks, i)
        if (earlier !== undefined) {
          let seqs = earlier.get(key)
          if (seqs === undefined) earlier.set(key, (seqs = new Map()))
          existing ??= seqs.get(block.seq)
          if (!seqs.has(block.seq)) seqs.set(block.seq, block)
        }
      }
      for (let j = 0; small && j < i && existing === undefined; j++) {
        const other = blocks[j]!
        if (other.seq === block.seq && equalBytes(other.publicKey, block.publicKey)) existing = other
      }
      if (existing !== undefined && existing !== block && !equalBytes(blockHash(existing, this.#crypto), blockHash(block, this.#crypto))) {
        throw ConflictError.at(block)
      }
    }
    for (const block of blocks) this.#insert(block)
    for (const proof of proofs) {
      const id = toHex(fraudProofId(proof, this.#crypto))
      this.#proofs.set(id, proof)
      const key = toHex(proof.publicKey)
      let ids = this.#accused.get(key)
      if (ids === undefined) this.#accused.set(key, (ids = new Set()))
      ids.add(id)
    }
  }

  #insert(block: HalfBlock): void {
    const key = toHex(block.publicKey)
    let chain = this.#chains.get(key)
    if (chain === undefined) this.#chains.set(key, (chain = { seqs: [], list: [], answers: new Map() }))
    if (!putAtSeq(chain.seqs, chain.list, block.seq, block, false)) return
    if (this.#byHash !== undefined) this.#hash(block)
    this.#index(chain, block, true)
  }

  #hash(block: HalfBlock): void {
    const byHash = this.#byHash!
    const prefix = hashKey(blockHash(block, this.#crypto))
    const found = byHash.get(prefix)
    if (found === undefined) byHash.set(prefix, block)
    else if (Array.isArray(found)) found.push(block)
    else byHash.set(prefix, [found, block])
  }

  #unhash(block: HalfBlock): void {
    const byHash = this.#byHash
    if (byHash === undefined) return
    const key = hashKey(blockHash(block, this.#crypto))
    const found = byHash.get(key)
    if (found === block) byHash.delete(key)
    else if (Array.isArray(found)) {
      const rest = found.filter((b) => b !== block)
      if (rest.length === 1) byHash.set(key, rest[0]!)
      else byHash.set(key, rest)
    }
  }

  /** Index an agreement under its proposal; `replace`: over one indexed already. */
  #index(chain: Chain, block: HalfBlock, replace: boolean): void {
    if (!isAgreement(block)) return
    const proposer = toHex(block.linkPublicKey)
    let answers = chain.answers.get(proposer)
    if (answers === undefined) chain.answers.set(proposer, (answers = new Answers()))
    if (replace || !answers.has(block.linkSeq)) answers.set(block.linkSeq, block)
  }

  #open(): void {
    if (this.#closed) throw new ClosedError('memory store is closed')
  }
}

// ## Private helpers

/**
 * The first 30 bits of a hash, a small integer: the by-hash index is keyed by it (a bucket holds
 * the rare blocks that share it) rather than by a 64-character hex string made per stored block.
 */
function hashKey(hash: Uint8Array): number {
  return (hash[0]! << 22) | (hash[1]! << 14) | (hash[2]! << 6) | (hash[3]! >> 2)
}

/** blocks[0, end) by key hex and seq, the first block at each (key, seq). */
function indexBatch(blocks: readonly HalfBlock[], end: number): Map<PublicKeyHex, Map<number, HalfBlock>> {
  const index = new Map<PublicKeyHex, Map<number, HalfBlock>>()
  for (let i = 0; i < end; i++) {
    const block = blocks[i]!
    const key = toHex(block.publicKey)
    let seqs = index.get(key)
    if (seqs === undefined) index.set(key, (seqs = new Map()))
    if (!seqs.has(block.seq)) seqs.set(block.seq, block)
  }
  return index
}

/** The chain's block at `seq`. */
function blockAt(chain: Chain | undefined, seq: number): HalfBlock | undefined {
  if (chain === undefined) return undefined
  const i = indexOfSeq(chain.seqs, seq)
  return i < 0 ? undefined : chain.list[i]
}

// A chain's blocks and a signer's agreements to one proposer are each two arrays in seq order
// (seqs ascending, the items at the same places): added mostly at the end, read mostly near it.

/**
 * Where `seq` is in `seqs`, or -1: none past the last; at seq - first seq when there is no gap
 * below it; else found by search.
 */
function indexOfSeq(seqs: readonly number[], seq: number): number {
  const n = seqs.length
  if (n === 0 || seq > seqs[n - 1]!) return -1
  let i = seq - seqs[0]!
  if (i >= 0 && i < n && seqs[i] === seq) return i
  i = lowerBound(seqs, seq)
  return seqs[i] === seq ? i : -1
}

/**
 * Put `item` at `seq`: appended past the last seq, else inserted in order. An item already at
 * `seq` is replaced when `replace`, else kept.
 * @returns false when an item at `seq` was kept
 */
function putAtSeq<T>(seqs: number[], items: T[], seq: number, item: T, replace: boolean): boolean {
  const n = seqs.length
  if (n === 0 || seqs[n - 1]! < seq) {
    seqs.push(seq)
    items.push(item)
    return true
  }
  const i = lowerBound(seqs, seq)
  if (seqs[i] === seq) {
    if (!replace) return false
    items[i] = item
    return true
  }
  seqs.splice(i, 0, seq)
  items.splice(i, 0, item)
  return true
}

/** First index i with seqs[i] >= x. */
function lowerBound(seqs: readonly number[], x: number): number {
  let lo = 0
  let hi = seqs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (seqs[mid]! < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

