/**
 * What a node keeps for others, as its parts see it (ingest.ts, pull.ts, transactions.ts,
 * admission.ts, protocol-host.ts): `Keep`. Two policies implement it:
 * - a full node's StrangerQuota (stranger-quota.ts): per-key and total quotas of strangers' bytes,
 *   two-tier eviction, party data, rebuilt from the store at start — a node that serves strangers
 *   and takes their pushes;
 * - a client's ClientKeep (here): a client (client.ts) dials only its gateway and takes no push
 *   gossip, so the blocks it stores are its own chain's, its counterparties', the chains it
 *   fetched (crawls it asked for, a sender's history a protocol marked with keepChain) and the
 *   context of proposals made to it. Those of others are counted, and once `totalBytes` of them
 *   were stored in this run, more are refused (ingest's 'refused'): nothing is evicted, the
 *   count starts again at the next run.
 * @module
 */
import { UNILATERAL_KEY, blockSize, equalBytes, toHex, type HalfBlock, type PublicKeyHex } from '@tally/core'

/** What a node keeps for others: the calls its parts make (see the module comment). */
export interface Keep {
  /** True once `load` has run (a full node rebuilds its table from the store first). */
  readonly loaded: boolean
  load(): Promise<void>
  /** True for a block always kept: the node's own chain, a counterparty's, a party chain's or pinned one. */
  kept(block: HalfBlock): boolean
  /** True when a stranger's block may be stored now. */
  admits(block: HalfBlock): boolean
  /** A stranger's block was stored. */
  stored(block: HalfBlock): Promise<void>
  /** `publicKey`'s chain is party data from now on; true when it was not before. */
  party(publicKey: Uint8Array): boolean
  /** A stranger's chain was of use (a peer asked for it). */
  useful(publicKey: Uint8Array): void
  isCounterparty(publicKey: Uint8Array): boolean
  /** `publicKey` is a counterparty now (this node signed a block naming it); true when it was not one before. */
  counterparty(publicKey: Uint8Array): boolean
}

/** Bytes of others' blocks a client stores in one run, by default (its option `keep.totalBytes`). */
export const CLIENT_KEEP_BYTES = 8 * 1024 * 1024
/** Counterparties and party chains a client remembers (the least recently named are forgotten first). */
const MAX_KEYS = 65_536

/** A client's Keep (see the module comment). */
export class ClientKeep implements Keep {
  readonly loaded = true
  readonly #self: Uint8Array
  readonly #totalBytes: number
  readonly #stats: { strangerBytes: number }
  readonly #counterparties = new Map<PublicKeyHex, true>()
  readonly #parties = new Map<PublicKeyHex, true>()

  /**
   * @param self the node's key
   * @param totalBytes bytes of others' blocks stored in this run at most
   * @param stats the node's stats (strangerBytes counts what was stored)
   * @throws RangeError when totalBytes is not a positive integer
   */
  constructor(self: Uint8Array, totalBytes: number, stats: { strangerBytes: number }) {
    if (!Number.isSafeInteger(totalBytes) || totalBytes < 1) throw new RangeError(`"keep.totalBytes" expected a positive integer, got ${String(totalBytes)}`)
    this.#self = self
    this.#totalBytes = totalBytes
    this.#stats = stats
  }

  load(): Promise<void> {
    return Promise.resolve()
  }

  kept(block: HalfBlock): boolean {
    const hex = toHex(block.publicKey)
    return equalBytes(block.publicKey, this.#self) || this.#counterparties.has(hex) || this.#parties.has(hex)
  }

  admits(block: HalfBlock): boolean {
    return this.#stats.strangerBytes + blockSize(block) <= this.#totalBytes
  }

  async stored(block: HalfBlock): Promise<void> {
    this.#stats.strangerBytes += blockSize(block)
  }

  party(publicKey: Uint8Array): boolean {
    if (this.#other(publicKey) === undefined || this.#counterparties.has(toHex(publicKey))) return false
    return remember(this.#parties, toHex(publicKey))
  }

  useful(): void {
    // nothing is evicted: nothing to keep longer
  }

  isCounterparty(publicKey: Uint8Array): boolean {
    return this.#counterparties.has(toHex(publicKey))
  }

  counterparty(publicKey: Uint8Array): boolean {
    const hex = this.#other(publicKey)
    if (hex === undefined) return false
    this.#parties.delete(hex)
    return remember(this.#counterparties, hex)
  }

  /** The key's hex, unless it is this node's or the unilateral key. */
  #other(publicKey: Uint8Array): PublicKeyHex | undefined {
    return equalBytes(publicKey, UNILATERAL_KEY) || equalBytes(publicKey, this.#self) ? undefined : toHex(publicKey)
  }
}

/**
 * Mark `hex` most recent in a set of at most `max` keys (the least recent one is forgotten); used
 * by both policies' counterparty sets.
 * @returns true when it was not there
 */
export function remember(set: Map<PublicKeyHex, true>, hex: PublicKeyHex, max = MAX_KEYS): boolean {
  const fresh = !set.delete(hex)
  set.set(hex, true)
  if (set.size > max) set.delete(set.keys().next().value!)
  return fresh
}
