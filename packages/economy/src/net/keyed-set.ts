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
import { nobleCrypto, type CryptoProvider } from '@tally/core'

/** Bytes of an element hash and of a bucket digest. */
export const DIGEST_BYTES = 16

/** One element: its key and content hash. */
export interface SetEntry {
  readonly key: Uint8Array
  readonly hash: Uint8Array
}

/**
 * A set of keyed elements with bucket digests, and optionally each element's bytes (a report, a
 * statement) beside it.
 *
 * Memory: a witness holds one element per report of the epoch (100,000s), so an element is not an
 * object: its key is one string (a character a byte), its slot numbers index flat arrays (hash,
 * chain of its 2-byte prefix, where its bytes are), and the bytes are packed in one growing
 * buffer. Keys are found through an open-addressing table of slots (an Int32Array, linear
 * probing, at most half full) with each slot's 32-bit key hash beside it, not a `Map`: a `Map` of
 * 100,000 strings was ~14% of a witness's thread taking reports (its ordered hash chains, an
 * entry per key in the heap, rehashing as it grows); a probe here reads two typed arrays and
 * compares the key string only when the 32-bit hashes agree. The hash is seeded per set, so keys
 * chosen to collide (a component key is anyone's choice) cannot be chosen in advance. Bytes replaced by another version stay in the buffer until the set is
 * dropped (a replacement needs a report that sorts first, so there are few).
 */
export class KeyedSet {
  /** Open-addressing table: slot + 1, 0 for empty, -1 for a deleted key (a tombstone). */
  #table = new Int32Array(128)
  /** Table entries not empty (keys held and tombstones): the table grows before half of it is. */
  #filled = 0
  /** Elements held. */
  #count = 0
  /** Slot → the 32-bit hash of its key (hashId). */
  #keyHash = new Int32Array(64)
  readonly #seed = (Math.random() * 0x1_0000_0000) | 0
  /** Slot → key, undefined once deleted. */
  #keyOf: (string | undefined)[] = []
  #hashes = new Uint8Array(64 * DIGEST_BYTES)
  /** Next slot with the same 2-byte prefix (-1: none); heads per prefix in #heads. */
  #next = new Int32Array(64)
  #heads: Int32Array | undefined
  /** Where each slot's bytes are in #data (offset, length); length 0: none kept. */
  #at = new Uint32Array(64)
  #len = new Uint32Array(64)
  #data = new Uint8Array(0)
  #used = 0
  readonly #top = new Uint8Array(256 * DIGEST_BYTES)
  /** Sub-bucket digests by first key byte (created on first use). */
  readonly #sub: (Uint8Array | undefined)[] = new Array(256).fill(undefined)

  /** Elements held. */
  get size(): number {
    return this.#count
  }

  /** The hash of the element with this key, if held (a copy). */
  get(key: Uint8Array): Uint8Array | undefined {
    const slot = this.#find(latin1(key))
    return slot < 0 ? undefined : this.#hashes.slice(slot * DIGEST_BYTES, (slot + 1) * DIGEST_BYTES)
  }

  /**
   * Add an element or replace its hash.
   * @throws RangeError on a key not of 2-64 bytes or a hash not of 16
   */
  set(key: Uint8Array, hash: Uint8Array): void {
    if (!(key instanceof Uint8Array) || key.length < 2 || key.length > 64) throw new RangeError('"key" expected 2-64 bytes')
    if (!(hash instanceof Uint8Array) || hash.length !== DIGEST_BYTES) throw new RangeError(`"hash" expected ${DIGEST_BYTES} bytes`)
    this.setId(latin1(key), hash)
  }

  /**
   * Add an element by its key string (a character a byte, as `idOf` makes it), with the bytes to
   * keep beside it (copied); replaces the hash and bytes of one held. The element hash is the
   * first 16 bytes of `hash`.
   * @throws RangeError on a key not of 2-64 characters or a hash shorter than 16 bytes
   */
  setId(id: string, hash: Uint8Array, bytes?: Uint8Array): void {
    checkElement(id, hash)
    const slot = this.#find(id)
    if (slot < 0) return this.#insert(id, hash, bytes)
    this.#toggle(id, slot)
    this.#setHash(id, slot, hash, bytes)
  }

  /**
   * setId for a key string not held (the caller has just found it absent with slotOf: one
   * look-up less). Adding a key that is held breaks the set: callers check first.
   * @throws RangeError as setId
   */
  insertId(id: string, hash: Uint8Array, bytes?: Uint8Array): void {
    checkElement(id, hash)
    this.#insert(id, hash, bytes)
  }

  #insert(id: string, hash: Uint8Array, bytes: Uint8Array | undefined): void {
    const slot = this.#keyOf.length
    if (slot === this.#next.length) this.#grow(slot * 2)
    this.#place(id, slot)
    this.#keyOf.push(id)
    const p = (id.charCodeAt(0) << 8) | id.charCodeAt(1)
    const heads = (this.#heads ??= new Int32Array(65536).fill(-1))
    this.#next[slot] = heads[p]!
    heads[p] = slot
    this.#setHash(id, slot, hash, bytes)
  }

  #setHash(id: string, slot: number, hash: Uint8Array, bytes: Uint8Array | undefined): void {
    const hashes = this.#hashes
    for (let k = 0, at = slot * DIGEST_BYTES; k < DIGEST_BYTES; k++) hashes[at + k] = hash[k]!
    this.#toggle(id, slot)
    if (bytes !== undefined) this.#keep(slot, bytes)
  }

  /** The bytes kept beside the element with this key string, if any (a view that never changes: do not change it). */
  bytesOf(id: string): Uint8Array | undefined {
    const slot = this.#find(id)
    if (slot < 0 || this.#len[slot] === 0) return undefined
    return this.#data.subarray(this.#at[slot]!, this.#at[slot]! + this.#len[slot]!)
  }

  /** The slot of the element with this key string, or -1: for bytesAt and insertId (one look-up). */
  slotOf(id: string): number {
    return this.#find(id)
  }

  /** The bytes kept in a slot from slotOf, if any (a view, as bytesOf). */
  bytesAt(slot: number): Uint8Array | undefined {
    const len = this.#len[slot]
    if (len === undefined || len === 0 || this.#keyOf[slot] === undefined) return undefined
    return this.#data.subarray(this.#at[slot]!, this.#at[slot]! + len)
  }

  /** True iff an element with this key string is held. */
  hasId(id: string): boolean {
    return this.#find(id) >= 0
  }

  /** Remove an element (a no-op when absent). */
  delete(key: Uint8Array): void {
    const id = latin1(key)
    const at = this.#position(id)
    if (at < 0) return
    const slot = this.#table[at]! - 1
    this.#toggle(id, slot)
    this.#table[at] = -1
    this.#count--
    this.#keyOf[slot] = undefined // its prefix chain skips it
    this.#len[slot] = 0
  }

  /**
   * The 256 digests under `prefix` (0 bytes: buckets by first key byte; 1 byte: sub-buckets of
   * that bucket by second key byte), 16 bytes each.
   * @throws RangeError on a longer prefix
   */
  digests(prefixBytes: Uint8Array): Uint8Array {
    if (prefixBytes.length === 0) return Uint8Array.from(this.#top)
    if (prefixBytes.length !== 1) throw new RangeError('"prefix" expected 0 or 1 bytes')
    return Uint8Array.from(this.#sub[prefixBytes[0]!] ?? new Uint8Array(256 * DIGEST_BYTES))
  }

  /** One digest of the whole set: SHA-256 of the 256 bucket digests. */
  root(crypto: CryptoProvider = nobleCrypto): Uint8Array {
    return crypto.sha256(this.#top)
  }

  /**
   * The elements whose key starts with the 2-byte `prefix`, by ascending key, after `after`.
   * @returns up to `limit` entries and whether more follow
   */
  entries(prefixBytes: Uint8Array, after: Uint8Array | undefined, limit: number): { entries: SetEntry[]; more: boolean } {
    if (prefixBytes.length !== 2) throw new RangeError('"prefix" expected 2 bytes')
    const ids: string[] = []
    for (let slot = this.#heads?.[(prefixBytes[0]! << 8) | prefixBytes[1]!] ?? -1; slot >= 0; slot = this.#next[slot]!) {
      const id = this.#keyOf[slot]
      if (id !== undefined) ids.push(id)
    }
    // one character a byte: string order is byte order
    ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    const from = after === undefined ? 0 : firstAbove(ids, latin1(after))
    if (from < 0) return { entries: [], more: false }
    return { entries: ids.slice(from, from + limit).map((id) => this.#entry(id)), more: from + limit < ids.length }
  }

  /** Every element (any order). */
  *values(): IterableIterator<SetEntry> {
    // slots in insertion order (a key deleted and added again takes a new slot at the end), as a Map's keys
    for (const id of this.#keyOf) if (id !== undefined) yield this.#entry(id)
  }

  /** Every key string, ascending (byte order). */
  sortedIds(): string[] {
    return this.#keyOf.filter((id): id is string => id !== undefined).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  }

  #entry(id: string): SetEntry {
    const slot = this.#find(id)
    return Object.freeze({ key: bytesOfId(id), hash: this.#hashes.slice(slot * DIGEST_BYTES, (slot + 1) * DIGEST_BYTES) })
  }

  /** The slot of a key string, or -1. */
  #find(id: string): number {
    const at = this.#position(id)
    return at < 0 ? -1 : this.#table[at]! - 1
  }

  /** The table position holding a key string, or -1. */
  #position(id: string): number {
    const h = hashId(id, this.#seed)
    const table = this.#table
    const mask = table.length - 1
    for (let at = h & mask; ; at = (at + 1) & mask) {
      const e = table[at]!
      if (e === 0) return -1
      if (e > 0 && this.#keyHash[e - 1] === h && this.#keyOf[e - 1] === id) return at
    }
  }

  /** Enter a key string that is not held at `slot` (the first free position of its probe: empty or a tombstone). */
  #place(id: string, slot: number): void {
    if (2 * (this.#filled + 1) > this.#table.length) this.#rehash()
    const h = hashId(id, this.#seed)
    this.#keyHash[slot] = h
    const table = this.#table
    const mask = table.length - 1
    let at = h & mask
    while (table[at]! > 0) at = (at + 1) & mask
    if (table[at] === 0) this.#filled++
    table[at] = slot + 1
    this.#count++
  }

  /** A new table for the keys held (tombstones dropped), room for twice as many. */
  #rehash(): void {
    let size = 128
    while (size < 4 * (this.#count + 1)) size *= 2
    const table = new Int32Array(size)
    const mask = size - 1
    const keyHash = this.#keyHash
    const keyOf = this.#keyOf
    for (let slot = 0; slot < keyOf.length; slot++) {
      if (keyOf[slot] === undefined) continue
      let at = keyHash[slot]! & mask
      while (table[at] !== 0) at = (at + 1) & mask
      table[at] = slot + 1
    }
    this.#table = table
    this.#filled = this.#count
  }

  #toggle(id: string, slot: number): void {
    const b0 = id.charCodeAt(0)
    const at = slot * DIGEST_BYTES
    xorInto(this.#top, b0 * DIGEST_BYTES, this.#hashes, at)
    let sub = this.#sub[b0]
    if (sub === undefined) this.#sub[b0] = sub = new Uint8Array(256 * DIGEST_BYTES)
    xorInto(sub, id.charCodeAt(1) * DIGEST_BYTES, this.#hashes, at)
  }

  #keep(slot: number, bytes: Uint8Array): void {
    // always appended: bytes once kept never change, so a view handed out stays what it was
    if (this.#used + bytes.length > this.#data.length) {
      const data = new Uint8Array(Math.max(64 * 1024, 2 * this.#data.length, this.#used + bytes.length))
      data.set(this.#data.subarray(0, this.#used))
      this.#data = data
    }
    this.#data.set(bytes, this.#used)
    this.#at[slot] = this.#used
    this.#len[slot] = bytes.length
    this.#used += bytes.length
  }

  #grow(capacity: number): void {
    const hashes = new Uint8Array(capacity * DIGEST_BYTES)
    hashes.set(this.#hashes)
    const next = new Int32Array(capacity)
    next.set(this.#next)
    const at = new Uint32Array(capacity)
    at.set(this.#at)
    const len = new Uint32Array(capacity)
    len.set(this.#len)
    const keyHash = new Int32Array(capacity)
    keyHash.set(this.#keyHash)
    this.#keyHash = keyHash
    this.#hashes = hashes
    this.#next = next
    this.#at = at
    this.#len = len
  }
}

/**
 * The key string of a key: one character a byte (the set's Map key; string order is byte order).
 * @param key 2-64 bytes
 */
export function idOf(key: Uint8Array): string {
  return latin1(key)
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

/** A seeded 32-bit hash of a key string (FNV-1a over its characters, then murmur3's finalizer). */
function hashId(id: string, seed: number): number {
  let h = seed ^ 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

function xorInto(target: Uint8Array, at: number, hashes: Uint8Array, from: number): void {
  for (let k = 0; k < DIGEST_BYTES; k++) target[at + k]! ^= hashes[from + k]!
}

function latin1(key: Uint8Array): string {
  return String.fromCharCode.apply(null, key as unknown as number[])
}

function bytesOfId(id: string): Uint8Array {
  const out = new Uint8Array(id.length)
  for (let i = 0; i < id.length; i++) out[i] = id.charCodeAt(i)
  return out
}

/** The index of the first id above `after` in ascending `ids`, or -1. */
function firstAbove(ids: readonly string[], after: string): number {
  let lo = 0
  let hi = ids.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (ids[mid]! <= after) lo = mid + 1
    else hi = mid
  }
  return lo < ids.length ? lo : -1
}

/** The checks of setId and insertId: a key string of 2-64 bytes, a hash of at least DIGEST_BYTES. */
function checkElement(id: string, hash: Uint8Array): void {
    if (id.length < 2 || id.length > 64) throw new RangeError('"key" expected 2-64 bytes')
    if (!(hash instanceof Uint8Array) || hash.length < DIGEST_BYTES) throw new RangeError(`"hash" expected ${DIGEST_BYTES} bytes`)
}
