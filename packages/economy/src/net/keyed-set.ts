/**
 * A keyed set with bucketed digests, for reconciliation: two holders of (nearly) the same set find
 * what differs by comparing digests top-down — 256 buckets by the key's first byte, 256
 * sub-buckets by its second — and then listing only the keys of the sub-buckets that differ.
 *
 * Each element is a key (2-64 bytes: a component key and seq, a statement id) and a 16-byte hash
 * of its content (so two versions of one element differ). A (sub-)bucket's digest is the XOR of
 * its elements' hashes: updated in O(1) per change, and equal for equal sets whatever the order
 * they were built in. XOR is not collision resistant against someone choosing the elements, but
 * a peer who crafts digests to look equal can only keep its own elements from us — which it can
 * do anyway by not answering — so this costs no safety, only what the peer withholds.
 * @module
 */
import { compareBytes, nobleCrypto, type CryptoProvider } from '@tally/core'

/** Bytes of an element hash and of a bucket digest. */
export const DIGEST_BYTES = 16

/** One element: its key and content hash. */
export interface SetEntry {
  readonly key: Uint8Array
  readonly hash: Uint8Array
}

/** A set of keyed elements with bucket digests. */
export class KeyedSet {
  readonly #items = new Map<string, SetEntry>()
  readonly #top = new Uint8Array(256 * DIGEST_BYTES)
  readonly #sub = new Map<number, Uint8Array>()
  readonly #byPrefix = new Map<number, Set<string>>()

  /** Elements held. */
  get size(): number {
    return this.#items.size
  }

  /** The hash of the element with this key, if held. */
  get(key: Uint8Array): Uint8Array | undefined {
    return this.#items.get(latin1(key))?.hash
  }

  /**
   * Add an element or replace its hash.
   * @throws RangeError on a key not of 2-64 bytes or a hash not of 16
   */
  set(key: Uint8Array, hash: Uint8Array): void {
    if (!(key instanceof Uint8Array) || key.length < 2 || key.length > 64) throw new RangeError('"key" expected 2-64 bytes')
    if (!(hash instanceof Uint8Array) || hash.length !== DIGEST_BYTES) throw new RangeError(`"hash" expected ${DIGEST_BYTES} bytes`)
    const id = latin1(key)
    const old = this.#items.get(id)
    if (old !== undefined) this.#toggle(key, old.hash)
    const entry = Object.freeze({ key: Uint8Array.from(key), hash: Uint8Array.from(hash) })
    this.#items.set(id, entry)
    this.#toggle(key, entry.hash)
    const p = prefix(key)
    let keys = this.#byPrefix.get(p)
    if (keys === undefined) this.#byPrefix.set(p, (keys = new Set()))
    keys.add(id)
  }

  /** Remove an element (a no-op when absent). */
  delete(key: Uint8Array): void {
    const id = latin1(key)
    const old = this.#items.get(id)
    if (old === undefined) return
    this.#toggle(key, old.hash)
    this.#items.delete(id)
    this.#byPrefix.get(prefix(key))?.delete(id)
  }

  /**
   * The 256 digests under `prefix` (0 bytes: buckets by first key byte; 1 byte: sub-buckets of
   * that bucket by second key byte), 16 bytes each.
   * @throws RangeError on a longer prefix
   */
  digests(prefixBytes: Uint8Array): Uint8Array {
    if (prefixBytes.length === 0) return Uint8Array.from(this.#top)
    if (prefixBytes.length !== 1) throw new RangeError('"prefix" expected 0 or 1 bytes')
    return Uint8Array.from(this.#sub.get(prefixBytes[0]!) ?? new Uint8Array(256 * DIGEST_BYTES))
  }

  /** One digest of the whole set: SHA-256 of the 256 bucket digests. */
  root(crypto: CryptoProvider = nobleCrypto): Uint8Array {
    return crypto.sha256(this.#top)
  }

  /** Elements whose key starts with the 1-byte `bucket` (a bucket's size, for choosing how to walk it). */
  countOf(bucket: number): number {
    let n = 0
    for (let s = 0; s < 256; s++) n += this.#byPrefix.get((bucket << 8) | s)?.size ?? 0
    return n
  }

  /**
   * The elements whose key starts with `prefix` (2 bytes: a sub-bucket; 1 byte: a whole bucket),
   * by ascending key, after `after`.
   * @returns up to `limit` entries and whether more follow
   * @throws RangeError on a prefix of another length
   */
  entries(prefixBytes: Uint8Array, after: Uint8Array | undefined, limit: number): { entries: SetEntry[]; more: boolean } {
    if (prefixBytes.length !== 2 && prefixBytes.length !== 1) throw new RangeError('"prefix" expected 1 or 2 bytes')
    const ids: string[] = []
    if (prefixBytes.length === 2) ids.push(...(this.#byPrefix.get((prefixBytes[0]! << 8) | prefixBytes[1]!) ?? []))
    else for (let s = 0; s < 256; s++) ids.push(...(this.#byPrefix.get((prefixBytes[0]! << 8) | s) ?? []))
    if (ids.length === 0) return { entries: [], more: false }
    const all = ids.map((id) => this.#items.get(id)!).sort((a, b) => compareBytes(a.key, b.key))
    const from = after === undefined ? 0 : all.findIndex((e) => compareBytes(e.key, after) > 0)
    if (from < 0) return { entries: [], more: false }
    return { entries: all.slice(from, from + limit), more: from + limit < all.length }
  }

  /** Every element (any order). */
  values(): IterableIterator<SetEntry> {
    return this.#items.values()
  }

  #toggle(key: Uint8Array, hash: Uint8Array): void {
    const b0 = key[0]!
    xorInto(this.#top, b0 * DIGEST_BYTES, hash)
    let sub = this.#sub.get(b0)
    if (sub === undefined) this.#sub.set(b0, (sub = new Uint8Array(256 * DIGEST_BYTES)))
    xorInto(sub, key[1]! * DIGEST_BYTES, hash)
  }
}

/**
 * The indexes (0-255) at which two digest lists differ.
 * @param a 256 digests
 * @param b 256 digests
 * @returns the differing indexes, ascending
 */
export function differing(a: Uint8Array, b: Uint8Array): number[] {
  const out: number[] = []
  for (let i = 0; i < 256; i++) {
    const at = i * DIGEST_BYTES
    for (let k = 0; k < DIGEST_BYTES; k++) {
      if (a[at + k] !== b[at + k]) {
        out.push(i)
        break
      }
    }
  }
  return out
}

// ## Private helpers

function xorInto(target: Uint8Array, at: number, hash: Uint8Array): void {
  for (let k = 0; k < DIGEST_BYTES; k++) target[at + k]! ^= hash[k]!
}

function prefix(key: Uint8Array): number {
  return (key[0]! << 8) | key[1]!
}

function latin1(key: Uint8Array): string {
  return String.fromCharCode(...key)
}
