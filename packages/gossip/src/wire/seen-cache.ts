/**
 * The seen-message cache: a bounded set of ids (message hashes, block hashes, proof ids) so that a
 * message relayed by many peers is handled once. The oldest id is forgotten first, and optionally
 * ids expire after a time on the session's Clock (virtual time included), so memory stays bounded
 * whatever peers send.
 *
 * A Map in insertion order, and no more: an id is never refreshed (adding a held id changes
 * nothing, and `has` does not count as a use), so the first entry is always the oldest, and both
 * the size bound and the expiry take from the front. That is exactly what lru-cache did here, whose
 * general machinery (18.7 KB minified) was the largest module a browser wallet loaded for it; a
 * property test checks this one against lru-cache, step by step (test/seen-cache.test.ts).
 * @module
 */
import type { Clock } from '@tally/core'

/** A bounded set of byte-string ids. */
export interface SeenCache {
  /**
   * Record `id`.
   * @returns true when it was not in the cache (handle the message), false when it was (skip it)
   */
  add(id: Uint8Array): boolean
  /** True iff `id` is in the cache (does not refresh it). */
  has(id: Uint8Array): boolean
  /** Forget `id` (e.g. when handling it failed for a local reason and a copy should be handled). */
  delete(id: Uint8Array): void
  /** Ids currently held. */
  readonly size: number
  /** Forget everything. */
  clear(): void
}

/** Options of createSeenCache. */
export interface SeenCacheOptions {
  /** Most ids kept (default 100,000: ~10 MB; a node relays far fewer messages within an hour). */
  max?: number
  /** Forget ids after this many ms (default: only when evicted by `max`). */
  ttlMs?: number
  /** The clock that ttlMs counts on (default: the platform's performance.now). */
  clock?: Clock
}

const MAX_ID_BYTES = 64

/**
 * A new seen cache.
 * @param options size bound, expiry, clock
 * @returns the cache
 * @throws RangeError when max is not a positive integer or ttlMs not positive
 * @example
 * const seen = createSeenCache({ max: 50_000 })
 * if (seen.add(fraudProofId(proof))) relay(proof)
 */
export function createSeenCache(options: SeenCacheOptions = {}): SeenCache {
  const max = options.max ?? 100_000
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`"max" expected a positive integer, got ${String(max)}`)
  const ttl = options.ttlMs
  if (ttl !== undefined && !(typeof ttl === 'number' && ttl > 0 && Number.isFinite(ttl))) {
    throw new RangeError(`"ttlMs" expected a positive number, got ${String(ttl)}`)
  }
  const clock = options.clock
  const now = clock !== undefined ? () => clock.now() : () => performance.now()
  const ttlMs = ttl === undefined ? undefined : Math.ceil(ttl)
  const ids = new Map<string, number>() // id → when it was added, oldest first
  const stale = (added: number, at: number): boolean => ttlMs !== undefined && at - added > ttlMs
  const held = (k: string): boolean => {
    const added = ids.get(k)
    return added !== undefined && !stale(added, now())
  }
  return {
    add(id) {
      const k = keyOf(id)
      const at = now()
      const added = ids.get(k)
      if (added !== undefined) {
        if (!stale(added, at)) return false
        ids.delete(k) // expired: added again, as the newest
      }
      ids.set(k, at)
      for (const [old, when] of ids) {
        if (ids.size <= max && !stale(when, at)) break
        ids.delete(old)
      }
      return true
    },
    has: (id) => held(keyOf(id)),
    delete: (id) => void ids.delete(keyOf(id)),
    get size() {
      return ids.size
    },
    clear: () => ids.clear(),
  }
}

// A one-character-per-byte string: half the memory of hex, and the cache needs only equality.
function keyOf(id: Uint8Array): string {
  if (!(id instanceof Uint8Array)) throw new TypeError('"id" expected Uint8Array')
  if (id.length === 0 || id.length > MAX_ID_BYTES) throw new RangeError(`"id" expected 1-${MAX_ID_BYTES} bytes, got length=${id.length}`)
  return String.fromCharCode.apply(null, id as unknown as number[])
}
