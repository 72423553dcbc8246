/**
 * An index of each chain's latest redeem per lock, so that checking a redeem does not walk the
 * redeemer's chain back to genesis every time (a first redeem of a lock has no earlier one, and
 * proving that used to mean reading the whole chain: a payee with thousands of locks paid O(n)
 * per redeem, O(n²) in all).
 *
 * Per chain it keeps a *point* — a seq and the hash of the block there — and, for every lock
 * redeemed at or below it, the seq of the latest redeem. A lookup for a block at seq n walks back
 * from n − 1 only to the point, checking hash links on the way, and requires the block it meets
 * there to hash to the point's hash: hash links commit to everything below, so the prefix is the
 * one indexed, in whatever store holds it (a fork below the point fails the check, and the lookup
 * starts over from genesis). Then the point moves to n − 1. Bounded: 4,096 chains (the least
 * recently used are dropped), each chain's locks kept in full (a redeem block each is what they
 * index).
 * @module
 */
import { blockHash, equalBytes, type BlockStore, type CryptoProvider, type HalfBlock } from '@tally/core'
import { walkBack } from '../balance.js'
import { keyString } from '../util.js'
import { REDEEM, readRedeem, sameLock, type LockRef, type RedeemPayload } from './lock-payload.js'

/** The previous redeem of a lock in a chain, none, or undecidable from this store. */
export type PreviousRedeem = { readonly status: 'found'; readonly block: HalfBlock; readonly payload: RedeemPayload } | { readonly status: 'none' } | { readonly status: 'unknown' }

/** Chains indexed at most. */
const MAX_CHAINS = 4_096

interface ChainIndex {
  seq: number
  hash: Uint8Array
  /** lock id (as a key string) → seq of the latest redeem of it at or below `seq`. */
  readonly latest: Map<string, number>
}

/** The index (one per lock-type registry, one per wallet). */
export class RedeemIndex {
  readonly #chains = new Map<string, ChainIndex>()

  /**
   * The latest redeem of `lock` in `owner`'s chain below `seq`.
   * @param store where the chain is
   * @param owner the redeemer
   * @param seq look below this seq
   * @param lock the lock
   * @param previous the block at seq − 1, when the caller has it
   * @param crypto provider for hashes
   */
  async previous(store: BlockStore, owner: Uint8Array, seq: number, lock: LockRef, previous: HalfBlock | undefined, crypto: CryptoProvider): Promise<PreviousRedeem> {
    const key = keyString(owner)
    let index = this.#chains.get(key)
    if (index !== undefined && index.seq >= seq) index = undefined // a lookup below the point: start over
    let result = await this.#walk(store, owner, seq, lock, previous, crypto, index)
    if (result === 'stale') {
      index = undefined
      result = await this.#walk(store, owner, seq, lock, previous, crypto, undefined)
    }
    if (result === 'stale' || result.status === 'unknown') return { status: 'unknown' }
    return result
  }

  async #walk(store: BlockStore, owner: Uint8Array, seq: number, lock: LockRef, previous: HalfBlock | undefined, crypto: CryptoProvider, index: ChainIndex | undefined): Promise<PreviousRedeem | 'stale'> {
    const found = new Map<string, number>() // redeems above the point, newest first wins
    let top: HalfBlock | undefined
    let pointOk = index === undefined
    let target: { block: HalfBlock; payload: RedeemPayload } | undefined
    const walk = await walkBack(store, owner, seq, (b) => {
      top ??= b
      if (index !== undefined && b.seq === index.seq) {
        pointOk = equalBytes(blockHash(b, crypto), index.hash)
        return true
      }
      const r = b.type === REDEEM ? readRedeem(b.payload) : undefined
      if (r !== undefined) {
        // the lock's own latest redeem ends the walk, as before the index: what lies below it does not matter
        if (sameLock(r.lock, lock)) {
          target = { block: b, payload: r }
          return true
        }
        const id = keyString(r.lock.hash)
        if (!found.has(id)) found.set(id, b.seq)
      }
      return false
    }, previous, crypto)
    if (walk.status === 'unknown') return { status: 'unknown' }
    if (target !== undefined) return { status: 'found', ...target } // the point stays: the walk did not reach it
    if (!pointOk) return 'stale'
    // the new point: seq − 1, with everything at or below it. The old point is superseded, so its
    // map is extended in place: a copy per lookup made n redeems of distinct locks cost O(n²)
    const merged = index?.latest ?? new Map<string, number>()
    for (const [id, at] of found) if ((merged.get(id) ?? 0) < at) merged.set(id, at)
    if (top !== undefined) {
      const key = keyString(owner)
      this.#chains.delete(key)
      this.#chains.set(key, { seq: top.seq, hash: blockHash(top, crypto), latest: merged })
      if (this.#chains.size > MAX_CHAINS) this.#chains.delete(this.#chains.keys().next().value!)
    }
    const at = merged.get(keyString(lock.hash))
    if (at === undefined) return { status: 'none' }
    const block = at === previous?.seq && equalBytes(previous.publicKey, owner) ? previous : await store.get(owner, at)
    const payload = block?.type === REDEEM ? readRedeem(block.payload) : undefined
    // a redeem of another lock with the same id prefix cannot happen (full 32-byte ids); a missing block is undecidable
    if (block === undefined || payload === undefined) return 'stale'
    return sameLock(payload.lock, lock) ? { status: 'found', block, payload } : { status: 'none' }
  }
}
