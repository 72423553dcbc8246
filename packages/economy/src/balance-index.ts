/**
 * The latest balance block of each community in a chain, kept beside the store (payload version 2,
 * see payload.ts). A chain that holds several communities' tokens has, for a community missing
 * from its latest blocks, its latest balance block far back: walking back to it reads the chain.
 * This index remembers, per chain, where it has read up to (seq and hash) and each community's
 * latest balance there; a lookup reads forward only the blocks appended since, checking that they
 * chain to what was read. Every lookup is so O(blocks appended since the last one): O(1) amortized
 * when the chain grows through the balance rule (which looks up each new balance block's
 * community). The first lookup of a chain that needs it reads the chain once, from genesis.
 *
 * What it reads is what balanceOf's walk back would read: the balance in the latest block of the
 * community, a malformed balance block hiding everything before it, undefined when the chain has a
 * gap (then the caller walks back as before). It lives in memory, per store object (a WeakMap), for
 * at most MAX_CHAINS chains per store and MAX_BUCKETS communities per chain: a chain naming more is
 * not indexed (its lookups walk back).
 * @module
 */
import { blockHash, equalBytes, type BlockStore, type CryptoProvider, type HalfBlock } from '@tally/core'
import { BALANCE_TYPES, balanceEntry, bucketOf } from './payload.js'
import { keyString } from './util.js'

/** Most chains indexed per store (least recently used dropped first). */
export const MAX_CHAINS = 4096
/** Most communities indexed per chain: a chain naming more is not indexed. */
export const MAX_BUCKETS = 64

/** Where the index of one chain has read up to. */
interface ChainMark {
  readonly seq: number
  readonly hash: Uint8Array
  /** per bucket (bucketOf): the seq and balance of its latest balance block */
  readonly latest: ReadonlyMap<string, { readonly seq: number; readonly balance: number }>
  /** the seq of the latest malformed balance block (0: none): nothing is read past it */
  readonly malformed: number
}

const indexes = new WeakMap<BlockStore, Map<string, ChainMark>>()

/**
 * A chain's balance in one bucket as of its block `tip` (the store's latest or the one a new block
 * follows), from the index: undefined when the chain is not readable from genesis up to `tip`.
 * @param store the store holding the chain
 * @param tip the chain's block the balance is read at (held in the store)
 * @param bucket the community's bucket (bucketOf)
 * @param crypto provider for hash links
 * @returns `{ balance }` (balance undefined behind a malformed balance block), or undefined when not indexable
 * @internal
 */
export async function indexedBalance(
  store: BlockStore,
  tip: HalfBlock,
  bucket: string,
  crypto: CryptoProvider,
): Promise<{ balance: number | undefined; seq: number } | undefined> {
  const mark = await markAt(store, tip, crypto)
  if (mark === undefined) return undefined
  const l = mark.latest.get(bucket)
  if (mark.malformed > (l?.seq ?? 0)) return { balance: undefined, seq: mark.malformed }
  return l === undefined ? { balance: 0, seq: 0 } : { balance: l.balance, seq: l.seq }
}

/**
 * True when the index holds a mark for this chain (a lookup then costs what was appended since).
 * @internal
 */
export function isIndexed(store: BlockStore, publicKey: Uint8Array): boolean {
  return indexes.get(store)?.has(keyString(publicKey)) === true
}

/** The chain's mark at `tip`, read forward from the last mark (or from genesis). */
async function markAt(store: BlockStore, tip: HalfBlock, crypto: CryptoProvider): Promise<ChainMark | undefined> {
  let chains = indexes.get(store)
  if (chains === undefined) indexes.set(store, (chains = new Map()))
  const key = keyString(tip.publicKey)
  const tipHash = blockHash(tip, crypto)
  const known = chains.get(key)
  if (known !== undefined && known.seq === tip.seq && equalBytes(known.hash, tipHash)) return touch(chains, key, known)
  // forward from the mark when the tip is beyond it, else from genesis (a different chain there: eviction, a fork)
  const from = known !== undefined && known.seq < tip.seq ? known : undefined
  let mark = await readForward(store, tip, from, crypto)
  if (mark === undefined && from !== undefined) mark = await readForward(store, tip, undefined, crypto)
  if (mark === undefined || !equalBytes(mark.hash, tipHash)) {
    chains.delete(key)
    return undefined
  }
  // a concurrent lookup may have read further: keep the furthest
  const now = chains.get(key)
  if (now === undefined || now.seq <= mark.seq) touch(chains, key, mark)
  return mark
}

/** Read the blocks after `from` (or from genesis) up to `tip`, checking that they chain. */
async function readForward(store: BlockStore, tip: HalfBlock, from: ChainMark | undefined, crypto: CryptoProvider): Promise<ChainMark | undefined> {
  let seq = from?.seq ?? 0
  let hash: Uint8Array | undefined = from?.hash
  const latest = new Map(from?.latest ?? [])
  let malformed = from?.malformed ?? 0
  while (seq < tip.seq) {
    const chunk = await store.range(tip.publicKey, { from: seq + 1, to: tip.seq, limit: 256 })
    if (chunk.length === 0) return undefined
    for (const b of chunk) {
      if (b.seq !== seq + 1 || (hash !== undefined && !equalBytes(b.previousHash, hash))) return undefined
      if (BALANCE_TYPES.has(b.type)) {
        const entry = balanceEntry(b)
        if (entry === undefined) malformed = b.seq
        else {
          latest.set(bucketOf(entry.community), { seq: b.seq, balance: entry.balance })
          if (latest.size > MAX_BUCKETS) return undefined
        }
      }
      seq = b.seq
      hash = blockHash(b, crypto)
    }
  }
  return hash === undefined ? undefined : { seq, hash, latest, malformed }
}

/** Mark a chain as recently used, dropping the least recently used beyond MAX_CHAINS. */
function touch(chains: Map<string, ChainMark>, key: string, mark: ChainMark): ChainMark {
  chains.delete(key)
  chains.set(key, mark)
  if (chains.size > MAX_CHAINS) chains.delete(chains.keys().next().value!)
  return mark
}
