/**
 * Ingest: validate and store many received blocks (a crawled chain) fast.
 *
 * Blocks are taken in chunks. Signatures of a chunk are checked by `verifySignatures` (by default
 * one by one on this thread; @tally/node's worker pool checks them on every core) a few
 * chunks ahead of the one being validated, so both overlap. Each block is then validated by the same
 * `validate` as any other block, against an overlay of the store that also sees the chunk's
 * pending blocks, and the chunk is committed in one batch. Rules are never skipped: only the
 * signature check moves elsewhere.
 * @module
 */
import type { BlockTypes, RuleViolation } from './block-types.js'
import { equalBytes, keyHex, toHex } from './bytes.js'
import type { CryptoProvider } from './crypto-provider.js'
import { fraudProofId, type FraudProof } from './fraud-proof.js'
import { blockHash, isAgreement, verifyBlock, type HalfBlock } from './half-block.js'
import { ConflictError } from './errors.js'
import { nobleCrypto } from './noble-crypto.js'
import { MISS, READ_CACHED, READ_NOW, readCached, readNow, type BlockStore, type Cached, type RangeOptions, type ReadCached, type ReadNow, type StoreBatch } from './store.js'
import { validate, validateCached, validateNow } from './validate.js'

/** Chunks whose signatures are being checked beyond the one being validated. */
const VERIFY_AHEAD = 2

/** Checks the signatures of many blocks; result[i] is true iff blocks[i]'s signature is valid. */
export type SignatureVerifier = (blocks: readonly HalfBlock[]) => Promise<boolean[]>

/** Options of ingestBlocks. */
export interface IngestOptions {
  /** Where validated blocks go. */
  store: BlockStore
  /** Provider (default nobleCrypto). */
  crypto?: CryptoProvider
  /** Block-type rules. */
  types?: BlockTypes
  /** Batch signature check (default: crypto.verify one by one). */
  verifySignatures?: SignatureVerifier
  /** Blocks per chunk and per committed batch (default 1024). */
  chunkSize?: number
}

/** What ingestBlocks did. */
export interface IngestResult {
  /** Blocks stored (or already stored). */
  accepted: number
  /** Blocks refused, by input index, with the broken rules. */
  rejected: { index: number; errors: readonly RuleViolation[] }[]
  /** Fraud proofs produced (and stored). */
  fraud: FraudProof[]
}

/**
 * Validate and store `blocks` in order.
 * @param blocks received blocks, typically a chain segment in seq order
 * @param options store, provider, types, signature verifier, chunk size
 * @returns counts, refusals and fraud proofs
 * @example await ingestBlocks(crawled, { store, verifySignatures: pool.verifyBlocks })
 */
export async function ingestBlocks(blocks: readonly HalfBlock[], options: IngestOptions): Promise<IngestResult> {
  const crypto = options.crypto ?? nobleCrypto
  const chunkSize = options.chunkSize ?? 1024
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new RangeError(`"chunkSize" expected a positive integer, got ${chunkSize}`)
  const verifySignatures = options.verifySignatures ?? (async (bs: readonly HalfBlock[]) => bs.map((b) => verifyBlock(b, crypto)))
  const result: IngestResult = { accepted: 0, rejected: [], fraud: [] }

  const chunks: HalfBlock[][] = []
  for (let i = 0; i < blocks.length; i += chunkSize) chunks.push(blocks.slice(i, i + chunkSize))
  // signatures of the next chunks are checked while this one is validated: with one chunk ahead,
  // validation often waited for the pool (the main thread was idle ~15% of an ingest)
  const verdicts: Promise<boolean[]>[] = []
  for (let c = 0; c < chunks.length; c++) {
    const chunk = chunks[c]!
    while (verdicts.length <= c + VERIFY_AHEAD && verdicts.length < chunks.length) {
      const checking = verifySignatures(chunks[verdicts.length]!)
      checking.catch(() => undefined) // awaited in its turn; not unhandled if an earlier chunk throws
      verdicts.push(checking)
    }
    const valid = await verdicts[c]!
    // a conflicting block stored by someone else meanwhile fails the commit: validate the chunk
    // again against it, so the conflict becomes a fraud proof rather than an error
    for (let attempt = 1; ; attempt++) {
      const outcome = await validateChunk(chunk, c * chunkSize, valid, options.store, crypto, options.types)
      try {
        await outcome.overlay.commit()
      } catch (err) {
        if (!(err instanceof ConflictError) || attempt >= 3) throw err
        continue
      }
      result.accepted += outcome.accepted
      result.rejected.push(...outcome.rejected)
      result.fraud.push(...outcome.fraud)
      break
    }
  }
  return result
}

async function validateChunk(
  chunk: readonly HalfBlock[],
  offset: number,
  verdicts: readonly boolean[],
  store: BlockStore,
  crypto: CryptoProvider,
  types: BlockTypes | undefined,
): Promise<IngestResult & { overlay: Overlay }> {
  const overlay = new Overlay(store, crypto)
  const options = { store: overlay, crypto, ...(types ? { types } : {}), trustSignature: true }
  // over a memory store every read is answered at once: no promise per read, nor per block; over
  // a LevelDB store the reads that hit its caches are answered at once too
  const reads = readNow(overlay)
  const cached = reads === undefined ? readCached(overlay) : undefined
  const outcome = { accepted: 0, rejected: [] as IngestResult['rejected'], fraud: [] as FraudProof[], overlay }
  for (let i = 0; i < chunk.length; i++) {
    const block = chunk[i]!
    if (verdicts[i] !== true) {
      outcome.rejected.push({ index: offset + i, errors: [{ rule: 'signature', message: 'signature does not verify' }] })
      continue
    }
    let verdict = reads !== undefined ? validateNow(block, options, reads) : cached !== undefined ? validateCached(block, options, cached) : validate(block, options)
    if (verdict instanceof Promise) verdict = await verdict
    for (const proof of verdict.fraud) overlay.addProof(proof)
    outcome.fraud.push(...verdict.fraud)
    if (verdict.level === 'invalid') {
      outcome.rejected.push({ index: offset + i, errors: verdict.errors })
    } else {
      overlay.addBlock(block)
      outcome.accepted++
    }
  }
  return outcome
}

// ## The overlay: a store view that also sees pending writes

/** A chain's pending blocks in seq order (found by search: a map by seq per chunk was garbage that outlived a scavenge or two). */
interface Pending {
  readonly list: HalfBlock[]
}

/** The pending block at `seq`. */
function pendingAt(chain: Pending | undefined, seq: number): HalfBlock | undefined {
  if (chain === undefined) return undefined
  const { list } = chain
  const last = list[list.length - 1]
  if (last !== undefined && last.seq === seq) return last
  const found = list[firstAtLeast(list, seq)]
  return found !== undefined && found.seq === seq ? found : undefined
}

// Maps are keyed by a key's hex (remembered for the last keys) and then by numbers: a string
// built per lookup ("<hex>:<seq>") cost a concatenation and a hash of a new string each time.
//
// Also the agent's view of its own blocks that are in the store's write order but not durable yet
// (`collect: false`, and `removeBlock` once they are): its next block is signed on top of them.
export class Overlay implements BlockStore, ReadNow, ReadCached {
  readonly #base: BlockStore
  readonly #baseNow: ReadNow | undefined
  readonly #baseCached: ReadCached | undefined
  readonly #crypto: CryptoProvider
  readonly #byChain = new Map<string, Pending>()
  /** proposer key hex → proposal seq → agreements to it */
  readonly #agreements = new Map<string, Map<number, HalfBlock[]>>()
  readonly #proofs: FraudProof[] = []
  readonly #accused = new Set<string>()
  readonly #batch: StoreBatch | undefined
  /** Blocks held (an agent drops its view when none is left). */
  size = 0

  /**
   * @param base the store read under the pending blocks
   * @param crypto hashes of getByHash
   * @param collect true: every added block and proof goes to a batch of `base`, written by `commit`
   */
  constructor(base: BlockStore, crypto: CryptoProvider, collect = true) {
    this.#base = base
    this.#crypto = crypto
    this.#batch = collect ? base.batch() : undefined
    this.#baseNow = readNow(base)
    this.#baseCached = this.#baseNow === undefined ? readCached(base) : undefined
  }

  // ## Reads from the base store's caches, when it has them (MISS when the base's cache misses)

  [READ_CACHED](): ReadCached | undefined {
    return this.#baseCached === undefined ? undefined : this
  }

  getCached(publicKey: Uint8Array, seq: number): Cached<HalfBlock | undefined> {
    const theirs = this.#baseCached!.getCached(publicKey, seq)
    if (theirs === MISS) return MISS
    return theirs ?? pendingAt(this.#byChain.get(keyHex(publicKey)), seq)
  }

  beforeCached(publicKey: Uint8Array, seq: number): Cached<HalfBlock | undefined> {
    const theirs = this.#baseCached!.beforeCached(publicKey, seq)
    if (theirs === MISS) return MISS
    return this.#before(theirs, publicKey, seq)
  }

  afterCached(publicKey: Uint8Array, seq: number): Cached<HalfBlock | undefined> {
    const theirs = this.#baseCached!.afterCached(publicKey, seq)
    if (theirs === MISS) return MISS
    return this.#after(theirs, publicKey, seq)
  }

  agreementCached(proposalKey: Uint8Array, proposalSeq: number, signer: Uint8Array): Cached<HalfBlock | undefined> {
    const stored = this.#baseCached!.agreementCached(proposalKey, proposalSeq, signer)
    if (stored === MISS) return MISS
    return stored ?? this.#pendingAgreement(proposalKey, proposalSeq, signer)
  }

  // ## Reads at once, when the base store has them (the same answers as the async reads below)

  [READ_NOW](): ReadNow | undefined {
    return this.#baseNow === undefined ? undefined : this
  }

  getNow(publicKey: Uint8Array, seq: number): HalfBlock | undefined {
    return this.#baseNow!.getNow(publicKey, seq) ?? pendingAt(this.#byChain.get(keyHex(publicKey)), seq)
  }

  beforeNow(publicKey: Uint8Array, seq: number): HalfBlock | undefined {
    return this.#before(this.#baseNow!.beforeNow(publicKey, seq), publicKey, seq)
  }

  /** The nearer of the stored block below seq (`theirs`) and the pending one. */
  #before(theirs: HalfBlock | undefined, publicKey: Uint8Array, seq: number): HalfBlock | undefined {
    const pending = this.#byChain.get(keyHex(publicKey))?.list
    if (pending === undefined) return theirs
    const i = firstAtLeast(pending, seq) - 1
    const mine = i >= 0 && pending[i]!.seq >= 1 ? pending[i] : undefined
    // the nearer of the two, the stored one at an equal seq
    return mine === undefined || (theirs !== undefined && theirs.seq >= mine.seq) ? theirs : mine
  }

  afterNow(publicKey: Uint8Array, seq: number): HalfBlock | undefined {
    return this.#after(this.#baseNow!.afterNow(publicKey, seq), publicKey, seq)
  }

  /** The nearer of the stored block above seq (`theirs`) and the pending one. */
  #after(theirs: HalfBlock | undefined, publicKey: Uint8Array, seq: number): HalfBlock | undefined {
    const pending = this.#byChain.get(keyHex(publicKey))?.list
    if (pending === undefined || pending.length === 0 || pending[pending.length - 1]!.seq <= seq) return theirs
    const mine = pending[firstAtLeast(pending, seq + 1)]!
    return theirs !== undefined && theirs.seq <= mine.seq ? theirs : mine
  }

  agreementNow(proposalKey: Uint8Array, proposalSeq: number, signer: Uint8Array): HalfBlock | undefined {
    return this.#baseNow!.agreementNow(proposalKey, proposalSeq, signer) ?? this.#pendingAgreement(proposalKey, proposalSeq, signer)
  }

  #pendingAgreement(proposalKey: Uint8Array, proposalSeq: number, signer: Uint8Array): HalfBlock | undefined {
    return this.#agreements.get(keyHex(proposalKey))?.get(proposalSeq)?.find((b) => equalBytes(b.publicKey, signer))
  }

  fraudProofsNow(publicKey: Uint8Array): FraudProof[] {
    return this.#mergeProofs(this.#baseNow!.fraudProofsNow(publicKey), publicKey)
  }

  addBlock(block: HalfBlock): void {
    const key = keyHex(block.publicKey)
    let chain = this.#byChain.get(key)
    if (chain === undefined) this.#byChain.set(key, (chain = { list: [] }))
    const { list } = chain
    const last = list[list.length - 1]
    if (last === undefined || last.seq < block.seq) list.push(block)
    else {
      const i = firstAtLeast(list, block.seq)
      if (list[i]!.seq === block.seq) return
      list.splice(i, 0, block)
    }
    this.size++
    if (isAgreement(block)) {
      const proposer = keyHex(block.linkPublicKey)
      let bySeq = this.#agreements.get(proposer)
      if (bySeq === undefined) this.#agreements.set(proposer, (bySeq = new Map()))
      const answers = bySeq.get(block.linkSeq)
      if (answers === undefined) bySeq.set(block.linkSeq, [block])
      else {
        // the latest agreement by a signer wins, as a map keyed by signer would have it
        const i = answers.findIndex((b) => equalBytes(b.publicKey, block.publicKey))
        if (i === -1) answers.push(block)
        else answers[i] = block
      }
    }
    this.#batch?.put(block)
  }

  /** Forget a block added before (the base store holds it now). */
  removeBlock(block: HalfBlock): void {
    const key = keyHex(block.publicKey)
    const chain = this.#byChain.get(key)
    if (chain === undefined) return
    const i = firstAtLeast(chain.list, block.seq)
    if (chain.list[i] !== block) return
    chain.list.splice(i, 1)
    if (chain.list.length === 0) this.#byChain.delete(key)
    this.size--
    if (isAgreement(block)) {
      const proposer = keyHex(block.linkPublicKey)
      const bySeq = this.#agreements.get(proposer)
      const answers = bySeq?.get(block.linkSeq)
      if (bySeq === undefined || answers === undefined) return
      const at = answers.indexOf(block)
      if (at !== -1) answers.splice(at, 1)
      if (answers.length === 0) bySeq.delete(block.linkSeq)
      if (bySeq.size === 0) this.#agreements.delete(proposer)
    }
  }

  addProof(proof: FraudProof): void {
    this.#proofs.push(proof)
    this.#accused.add(keyHex(proof.publicKey))
    this.#batch?.putFraudProof(proof)
  }

  async commit(): Promise<void> {
    if (this.#batch === undefined) throw new Error('this overlay collects no batch')
    await this.#batch.commit()
  }

  // The async reads take what is pending before they await the base store: a block removed
  // meanwhile (the agent's view drops a block once the store shows it) is then in one or the other.

  async get(publicKey: Uint8Array, seq: number): Promise<HalfBlock | undefined> {
    const mine = pendingAt(this.#byChain.get(keyHex(publicKey)), seq)
    return (await this.#base.get(publicKey, seq)) ?? mine
  }

  async getByHash(hash: Uint8Array): Promise<HalfBlock | undefined> {
    const hex = toHex(hash)
    let mine: HalfBlock | undefined
    for (const chain of this.#byChain.values()) for (const b of chain.list) if (mine === undefined && toHex(blockHash(b, this.#crypto)) === hex) mine = b
    return (await this.#base.getByHash(hash)) ?? mine
  }

  async latest(publicKey: Uint8Array): Promise<HalfBlock | undefined> {
    const [top] = await this.range(publicKey, { reverse: true, limit: 1 })
    return top
  }

  async range(publicKey: Uint8Array, options: RangeOptions = {}): Promise<HalfBlock[]> {
    const list = this.#byChain.get(keyHex(publicKey))?.list
    if (list === undefined) return this.#base.range(publicKey, options)
    const pending = list.slice()
    const base = await this.#base.range(publicKey, options)
    const from = options.from ?? 1
    const to = options.to ?? Number.MAX_SAFE_INTEGER
    const limit = Math.max(0, options.limit ?? Number.MAX_SAFE_INTEGER)
    const reverse = options.reverse === true
    // pending is sorted by seq: take at most `limit` from the end of [from, to] the range starts at
    const lo = firstAtLeast(pending, from)
    const hi = firstAtLeast(pending, to + 1)
    if (limit === 1) {
      // validate's neighbour queries: the nearer of the stored and the pending candidate, the
      // stored one at an equal seq
      if (lo >= hi) return base
      const mine = pending[reverse ? hi - 1 : lo]!
      const theirs = base[0]
      if (theirs === undefined) return [mine]
      return theirs.seq === mine.seq || (reverse ? theirs.seq > mine.seq : theirs.seq < mine.seq) ? base : [mine]
    }
    const window = reverse ? pending.slice(Math.max(lo, hi - limit), hi).reverse() : pending.slice(lo, Math.min(hi, lo + limit))
    if (window.length === 0) return base
    if (base.length === 0) return window
    // both in the order asked for: merge them, stored blocks winning at an equal seq
    const before = reverse ? (x: number, y: number) => x > y : (x: number, y: number) => x < y
    const merged: HalfBlock[] = []
    let i = 0
    let j = 0
    while (merged.length < limit && (i < base.length || j < window.length)) {
      if (j >= window.length || (i < base.length && !before(window[j]!.seq, base[i]!.seq))) {
        if (j < window.length && window[j]!.seq === base[i]!.seq) j++
        merged.push(base[i++]!)
      } else merged.push(window[j++]!)
    }
    return merged
  }

  async findAgreement(proposalKey: Uint8Array, proposalSeq: number, signer: Uint8Array): Promise<HalfBlock | undefined> {
    const mine = this.#pendingAgreement(proposalKey, proposalSeq, signer)
    return (await this.#base.findAgreement(proposalKey, proposalSeq, signer)) ?? mine
  }

  async fraudProofs(publicKey?: Uint8Array): Promise<FraudProof[]> {
    return this.#mergeProofs(await this.#base.fraudProofs(publicKey), publicKey)
  }

  #mergeProofs(base: FraudProof[], publicKey: Uint8Array | undefined): FraudProof[] {
    if (this.#proofs.length === 0) return base
    const key = publicKey === undefined ? undefined : toHex(publicKey)
    const ids = new Set(base.map((p) => toHex(fraudProofId(p, this.#crypto))))
    for (const p of this.#proofs) {
      if (key !== undefined && toHex(p.publicKey) !== key) continue
      if (!ids.has(toHex(fraudProofId(p, this.#crypto)))) base.push(p)
    }
    return base
  }

  async hasFraud(publicKey: Uint8Array): Promise<boolean> {
    return this.#accused.has(keyHex(publicKey)) || this.#base.hasFraud(publicKey)
  }

  async agents(): Promise<Uint8Array[]> {
    const keys = new Map((await this.#base.agents()).map((k) => [toHex(k), k]))
    for (const { list } of this.#byChain.values()) if (list.length > 0) keys.set(toHex(list[0]!.publicKey), list[0]!.publicKey)
    return [...keys.values()]
  }

  batch(): StoreBatch {
    throw new Error('the ingest overlay is read-only to validation')
  }

  async close(): Promise<void> {}
}

/** First index i with chain[i].seq >= seq (chain sorted by seq). */
function firstAtLeast(chain: readonly HalfBlock[], seq: number): number {
  let lo = 0
  let hi = chain.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (chain[mid]!.seq < seq) lo = mid + 1
    else hi = mid
  }
  return lo
}
