/**
 * What a node keeps for others: a stranger cannot fill its store.
 *
 * Always kept, never counted, never evicted:
 * - the node's own chain;
 * - its counterparties' chains: keys its own chain names as counterparty (it proposed to them or
 *   agreed to their proposal), learnt as its blocks are stored and, at start, from the last
 *   COUNTERPARTY_SCAN blocks of its chain;
 * - the slots it is a seq witness of (witness mode, its key among the witnesses, and it is among
 *   the k chosen for (key, seq)): a witness must keep the first block it saw at a slot;
 * - whatever `keep.pin(block)` says (an application's own: a community's members, say);
 * - fraud proofs (the store keeps them apart from blocks, and evict never touches them).
 *
 * Party data, counted apart from strangers' and within its own quota (`partyBytes`): the chains of
 * keys this node is about to be a party with — a sender whose history it fetched to check an offer
 * (a hosted protocol's `ProtocolHandle.keepChain`), or a chain it learnt from an admitted peer
 * (admission.ts). They are not trimmed to `perKeyBytes`, and a flood of strangers never evicts
 * them; over `partyBytes`, the party chain marked longest ago is a stranger's again (counted, trimmed
 * and evicted as any). Once this node signs a block naming the key it is a counterparty (kept,
 * uncounted). The marks live in memory: after a restart such a chain is a stranger's until marked
 * again (a receiver fetches what it lacks on the next offer).
 *
 * Every other block is a stranger's. Blocks of a type this node has no rules for never reach the
 * store (ingest.ts refuses them). The rest is kept within two quotas, in bytes of encoded blocks:
 * - per key (`perKeyBytes`): a chain over it loses its lowest blocks (the tip, where forks show
 *   and pull gossip compares, stays);
 * - in total (`totalBytes`): over it, whole chains are evicted, least recently useful first, in
 *   two tiers (a segmented LRU, as 2Q and SLRU caches resist scans): a chain starts on
 *   probation, ordered by its last block's arrival, and moves to the useful tier the first time
 *   it is of use — a peer asked for it (a crawl, a heads request, a witness query answered from
 *   it), or this node holds both halves of one of its transactions. Probation is evicted first,
 *   oldest first; the useful tier only when probation is empty, least recently useful first. A
 *   flood of fresh keys so churns probation and never reaches a chain that was of use.
 *
 * The table lives in memory; at start (before the first block from a peer is stored) it is
 * rebuilt from the store, one scan of every stranger chain. A store without `evict` cannot drop
 * anything: then stranger blocks over a quota are refused instead of stored.
 * @module
 */
import {
  UNILATERAL_KEY,
  blockSize,
  equalBytes,
  isAgreement,
  isProposal,
  toHex,
  type BlockStore,
  type CryptoProvider,
  type HalfBlock,
  type PublicKeyHex,
} from '@tally/core'
import { definedOnly } from './options.js'
import { chooseWitnesses } from './rendezvous.js'
import type { WitnessOptions } from './witness.js'
import { remember, type Keep } from './keep.js'

/** What a node keeps for others (node option `keep`). */
export interface KeepOptions {
  /** Bytes of one stranger's chain (encoded blocks) kept; beyond, its lowest blocks go (default 256 KiB). */
  readonly perKeyBytes: number
  /** Bytes of all strangers' chains together; beyond, whole chains go, least recently useful first (default 32 MiB). */
  readonly totalBytes: number
  /** Blocks always kept besides the node's own, its counterparties' and its witnessed slots (default: none). */
  readonly pin: ((block: HalfBlock) => boolean) | undefined
  /** Bytes of party data (chains of keys this node is about to transact with, or learnt from admitted peers; default 64 MiB). */
  readonly partyBytes: number
}

/** The default quotas. */
export const DEFAULT_KEEP: Readonly<KeepOptions> = Object.freeze({ perKeyBytes: 256 * 1024, totalBytes: 32 * 1024 * 1024, pin: undefined, partyBytes: 64 * 1024 * 1024 })

/** Blocks of the node's own chain read at start to learn its counterparties. */
export const COUNTERPARTY_SCAN = 4096
/** Counterparties remembered (the least recently seen are forgotten first: their chains become strangers'). */
const MAX_COUNTERPARTIES = 65_536
/** Blocks read at a time when a chain is trimmed or evicted around pinned blocks. */
const READ_CHUNK = 64

/** Counters the quota keeps up to date (the node's stats). */
export interface QuotaStats {
  strangerBytes: number
  strangerChains: number
  evicted: number
}

/** What the quota needs from the node. */
export interface QuotaContext {
  readonly self: Uint8Array
  readonly store: BlockStore
  readonly crypto: CryptoProvider
  readonly witnesses: WitnessOptions | undefined
  readonly stats: QuotaStats
  /** A whole chain was evicted (forget it for pull gossip). */
  readonly onEvicted: (hex: PublicKeyHex) => void
}

interface Entry {
  readonly key: Uint8Array
  bytes: number
}

/**
 * The accounting of strangers' blocks, and their eviction. Its async methods run on the node's
 * write queue.
 * @example
 * const quota = new StrangerQuota({ self, store, crypto, witnesses, stats, onEvicted }, { totalBytes: 1 << 20 })
 * if (!quota.kept(block) && quota.admits(block) && (await agent.receive(block)).level !== 'invalid') await quota.stored(block)
 */
export class StrangerQuota implements Keep {
  readonly options: Readonly<KeepOptions>
  readonly #ctx: QuotaContext
  /** Chains never of use, by the arrival of their last block, oldest first. */
  readonly #probation = new Map<PublicKeyHex, Entry>()
  /** Chains that were of use, least recently first. */
  readonly #useful = new Map<PublicKeyHex, Entry>()
  readonly #counterparties = new Map<PublicKeyHex, true>()
  /** Party chains (see the module comment), least recently marked first. */
  readonly #parties = new Map<PublicKeyHex, Entry>()
  #partyBytes = 0
  /** Party chains just made strangers' again, to trim to perKeyBytes. */
  readonly #demoted = new Set<PublicKeyHex>()
  /** This node is in the witness set: some slots are its to keep. */
  readonly #witness: boolean
  #bytes = 0
  #loading: Promise<void> | undefined
  #loaded = false

  /**
   * @param ctx the node's side
   * @param options the quotas
   * @throws RangeError on a quota that is not a positive integer
   */
  constructor(ctx: QuotaContext, options: Partial<KeepOptions> = {}) {
    const o = { ...DEFAULT_KEEP, ...definedOnly(options) }
    for (const key of ['perKeyBytes', 'totalBytes', 'partyBytes'] as const) {
      if (!Number.isSafeInteger(o[key]) || o[key] < 1) throw new RangeError(`"keep.${key}" expected a positive integer, got ${String(o[key])}`)
    }
    if (o.pin !== undefined && typeof o.pin !== 'function') throw new TypeError('"keep.pin" expected a function')
    this.options = Object.freeze(o)
    this.#ctx = ctx
    this.#witness = ctx.witnesses?.keys.some((k) => equalBytes(k, ctx.self)) ?? false
  }

  /** Bytes of strangers' blocks stored now. */
  get bytes(): number {
    return this.#bytes
  }

  /** Bytes of party data stored now (counted as blocks arrive through the node). */
  get partyBytes(): number {
    return this.#partyBytes
  }

  /** True when `publicKey`'s chain is party data now. */
  isParty(publicKey: Uint8Array): boolean {
    return this.#parties.has(toHex(publicKey))
  }

  /**
   * `publicKey`'s chain is party data from now on (not a counterparty's yet): its bytes move out
   * of the strangers' count into the party quota. A chain marked again is the most recent.
   * @returns true when it was not party data before
   */
  party(publicKey: Uint8Array): boolean {
    if (equalBytes(publicKey, UNILATERAL_KEY) || equalBytes(publicKey, this.#ctx.self)) return false
    const hex = toHex(publicKey)
    if (this.#counterparties.has(hex)) return false
    const held = this.#parties.get(hex)
    if (held !== undefined) {
      this.#parties.delete(hex)
      this.#parties.set(hex, held)
      return false
    }
    const stranger = this.#entry(hex)
    const entry: Entry = { key: publicKey, bytes: stranger?.bytes ?? 0 }
    if (stranger !== undefined) {
      this.#probation.delete(hex)
      this.#useful.delete(hex)
      this.#add(-stranger.bytes)
      this.#ctx.stats.strangerChains--
    }
    this.#parties.set(hex, entry)
    this.#partyBytes += entry.bytes
    this.#overParty(hex)
    return true
  }

  /** True once `load` has rebuilt the table. */
  get loaded(): boolean {
    return this.#loaded
  }

  /** True for a block the node always keeps: its own chain, a counterparty's, a slot it witnesses, a pinned one. */
  kept(block: HalfBlock): boolean {
    return equalBytes(block.publicKey, this.#ctx.self) || this.#counterparties.has(toHex(block.publicKey)) || this.#pinned(block)
  }

  /**
   * Rebuild the table from the store, once (later calls return the same promise).
   * @returns when done
   */
  load(): Promise<void> {
    return (this.#loading ??= this.#load().finally(() => {
      this.#loaded = true
    }))
  }

  /**
   * `block` is going to be stored: may it be? Only a store that cannot evict says no (over a quota).
   * @returns false when it must not be stored
   */
  admits(block: HalfBlock): boolean {
    if (this.#ctx.store.evict !== undefined || this.kept(block)) return true
    const size = blockSize(block)
    const entry = this.#entry(toHex(block.publicKey))
    return this.#bytes + size <= this.options.totalBytes && (entry?.bytes ?? 0) + size <= this.options.perKeyBytes
  }

  /**
   * A stranger's block was stored: count it, then trim its chain and evict others to the quotas.
   * @param block the block (not kept: see `kept`)
   */
  async stored(block: HalfBlock): Promise<void> {
    const hex = toHex(block.publicKey)
    const size = blockSize(block)
    const party = this.#parties.get(hex)
    if (party !== undefined) {
      party.bytes += size
      this.#partyBytes += size
      this.#overParty(hex)
      // this very chain may be the one demoted (its bytes, this block's included, are a stranger's now)
      await this.#trimDemoted()
      await this.#fit()
      return
    }
    let entry = this.#useful.get(hex)
    if (entry === undefined) {
      entry = this.#probation.get(hex) ?? { key: block.publicKey, bytes: 0 }
      if (entry.bytes === 0) this.#ctx.stats.strangerChains++
      // probation is ordered by the last arrival
      this.#probation.delete(hex)
      this.#probation.set(hex, entry)
    }
    entry.bytes += size
    this.#add(size)
    if (await this.#completes(block)) {
      this.useful(block.publicKey)
      this.useful(block.linkPublicKey)
    }
    if (entry.bytes > this.options.perKeyBytes) await this.#trim(hex, entry)
    await this.#trimDemoted()
    await this.#fit()
  }

  /** Trim the chains demoted from party data to perKeyBytes. */
  async #trimDemoted(): Promise<void> {
    for (const hex of [...this.#demoted]) {
      this.#demoted.delete(hex)
      const entry = this.#probation.get(hex)
      if (entry !== undefined && entry.bytes > this.options.perKeyBytes) await this.#trim(hex, entry)
    }
  }

  /** Evict strangers' chains until they are within totalBytes. */
  async #fit(): Promise<void> {
    while (this.#bytes > this.options.totalBytes) {
      const victim = this.#oldest()
      if (victim === undefined) break
      await this.#evictChain(victim[0], victim[1])
    }
  }

  /**
   * Over partyBytes: the party chains marked longest ago become strangers' (newest on probation),
   * the one just marked or grown (`current`) last. They are trimmed by the next `stored` (or
   * `load`), and evicted as strangers' chains are.
   */
  #overParty(current: PublicKeyHex): void {
    while (this.#partyBytes > this.options.partyBytes && this.#parties.size > 0) {
      let hex = this.#parties.keys().next().value!
      if (hex === current && this.#parties.size > 1) hex = [...this.#parties.keys()][1]!
      const entry = this.#parties.get(hex)!
      this.#parties.delete(hex)
      this.#partyBytes -= entry.bytes
      if (entry.bytes === 0) continue
      this.#probation.set(hex, entry)
      this.#ctx.stats.strangerChains++
      this.#add(entry.bytes)
      this.#demoted.add(hex)
    }
  }

  /** A stranger's chain was of use (a peer asked for it, or both halves of a transaction are held): keep it longer. */
  useful(publicKey: Uint8Array): void {
    const hex = toHex(publicKey)
    const entry = this.#useful.get(hex) ?? this.#probation.get(hex)
    if (entry === undefined) return
    this.#probation.delete(hex)
    this.#useful.delete(hex)
    this.#useful.set(hex, entry)
  }

  /** True when `publicKey` is a counterparty (this node's chain names it; the most recent MAX_COUNTERPARTIES). */
  isCounterparty(publicKey: Uint8Array): boolean {
    return this.#counterparties.has(toHex(publicKey))
  }

  /**
   * `publicKey` is a counterparty now (this node signed a block naming it): its chain is kept, and
   * no longer counted.
   * @returns true when it was not one before
   */
  counterparty(publicKey: Uint8Array): boolean {
    if (equalBytes(publicKey, UNILATERAL_KEY) || equalBytes(publicKey, this.#ctx.self)) return false
    const hex = toHex(publicKey)
    const fresh = remember(this.#counterparties, hex, MAX_COUNTERPARTIES)
    const party = this.#parties.get(hex)
    if (party !== undefined) {
      this.#parties.delete(hex)
      this.#partyBytes -= party.bytes
    }
    const entry = this.#entry(hex)
    if (entry === undefined) return fresh
    this.#probation.delete(hex)
    this.#useful.delete(hex)
    this.#add(-entry.bytes)
    this.#ctx.stats.strangerChains--
    return fresh
  }

  // ## Helpers

  async #load(): Promise<void> {
    const { store, self } = this.#ctx
    for (const b of await store.range(self, { reverse: true, limit: COUNTERPARTY_SCAN })) this.counterparty(b.linkPublicKey)
    for (const key of await store.agents()) {
      const hex = toHex(key)
      if (equalBytes(key, self) || this.#counterparties.has(hex) || this.#entry(hex) !== undefined) continue
      let bytes = 0
      for (const b of await store.range(key)) if (!this.#pinned(b)) bytes += blockSize(b)
      if (bytes === 0) continue
      const party = this.#parties.get(hex)
      if (party !== undefined) {
        // marked before the first block from a peer (a protocol fetched it): party data, not a stranger's
        party.bytes += bytes
        this.#partyBytes += bytes
        this.#overParty(hex)
        if (store.evict !== undefined) await this.#trimDemoted()
        continue
      }
      const entry: Entry = { key, bytes }
      this.#probation.set(hex, entry)
      this.#ctx.stats.strangerChains++
      this.#add(bytes)
      if (bytes > this.options.perKeyBytes && store.evict !== undefined) await this.#trim(hex, entry)
    }
    while (this.#bytes > this.options.totalBytes && store.evict !== undefined) {
      const victim = this.#oldest()
      if (victim === undefined) break
      await this.#evictChain(victim[0], victim[1])
    }
  }

  #entry(hex: PublicKeyHex): Entry | undefined {
    return this.#useful.get(hex) ?? this.#probation.get(hex)
  }

  /** The chain to evict next: probation's oldest, else the least recently useful. */
  #oldest(): [PublicKeyHex, Entry] | undefined {
    const first = this.#probation.entries().next()
    if (first.done !== true) return first.value
    const useful = this.#useful.entries().next()
    return useful.done === true ? undefined : useful.value
  }

  #add(bytes: number): void {
    this.#bytes += bytes
    this.#ctx.stats.strangerBytes = this.#bytes
  }

  /** A witnessed slot or a pinned block: kept whoever's chain it is in. */
  #pinned(block: HalfBlock): boolean {
    if (this.options.pin?.(block) === true) return true
    const w = this.#ctx.witnesses
    if (!this.#witness || w === undefined || !isProposal(block)) return false
    const chosen = chooseWitnesses(block.publicKey, block.seq, w.keys, Math.min(w.k ?? 3, w.keys.length), this.#ctx.crypto)
    return chosen.some((k) => equalBytes(k, this.#ctx.self))
  }

  /** This node holds the other half of `block`'s transaction. */
  async #completes(block: HalfBlock): Promise<boolean> {
    const store = this.#ctx.store
    if (isProposal(block)) return (await store.findAgreement(block.publicKey, block.seq, block.linkPublicKey)) !== undefined
    if (!isAgreement(block)) return false
    const proposal = await store.get(block.linkPublicKey, block.linkSeq)
    return proposal !== undefined && equalBytes(proposal.linkPublicKey, block.publicKey)
  }

  /** Drop a chain's lowest blocks (not pinned ones) until it is within perKeyBytes. */
  async #trim(hex: PublicKeyHex, entry: Entry): Promise<void> {
    const store = this.#ctx.store
    if (store.evict === undefined) return
    let from = 1
    while (entry.bytes > this.options.perKeyBytes) {
      const blocks = await store.range(entry.key, { from, limit: READ_CHUNK })
      if (blocks.length === 0) break
      let run: { from: number; to: number; bytes: number } | undefined
      for (const b of blocks) {
        if (entry.bytes - (run?.bytes ?? 0) <= this.options.perKeyBytes) break
        if (this.#pinned(b)) {
          if (run !== undefined) await this.#evictRun(entry, run)
          run = undefined
          continue
        }
        run ??= { from: b.seq, to: b.seq, bytes: 0 }
        run.to = b.seq
        run.bytes += blockSize(b)
      }
      if (run !== undefined) await this.#evictRun(entry, run)
      from = blocks.at(-1)!.seq + 1
    }
    if (entry.bytes <= 0) this.#forget(hex)
  }

  /** Evict a whole chain but its pinned blocks. */
  async #evictChain(hex: PublicKeyHex, entry: Entry): Promise<void> {
    const store = this.#ctx.store
    if (store.evict === undefined) return this.#forget(hex) // cannot: stop counting it, so the loop ends
    if (!this.#witness && this.options.pin === undefined) {
      this.#ctx.stats.evicted += await store.evict(entry.key)
    } else {
      // around the pinned blocks: read the chain a chunk at a time, evict the runs between them
      let from = 1
      for (;;) {
        const blocks = await store.range(entry.key, { from, limit: READ_CHUNK })
        if (blocks.length === 0) break
        let run: { from: number; to: number; bytes: number } | undefined
        for (const b of blocks) {
          if (this.#pinned(b)) {
            if (run !== undefined) await this.#evictRun(entry, run)
            run = undefined
          } else {
            run ??= { from: b.seq, to: b.seq, bytes: 0 }
            run.to = b.seq
          }
        }
        if (run !== undefined) await this.#evictRun(entry, run)
        from = blocks.at(-1)!.seq + 1
      }
    }
    this.#forget(hex)
    this.#ctx.onEvicted(hex)
  }

  async #evictRun(entry: Entry, run: { from: number; to: number; bytes: number }): Promise<void> {
    const removed = await this.#ctx.store.evict!(entry.key, { from: run.from, to: run.to })
    this.#ctx.stats.evicted += removed
    entry.bytes -= run.bytes
    this.#add(-run.bytes)
  }

  /** Stop counting a chain (evicted, or nothing of it left). */
  #forget(hex: PublicKeyHex): void {
    const entry = this.#entry(hex)
    if (entry === undefined) return
    this.#probation.delete(hex)
    this.#useful.delete(hex)
    this.#add(-entry.bytes)
    this.#ctx.stats.strangerChains--
  }
}
