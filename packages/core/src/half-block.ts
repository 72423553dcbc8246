/**
 * Half-blocks: one record in one agent's chain. A transaction is a proposal in one chain and an
 * agreement in the other, each signed by its owner and pointing at the other.
 *
 * Wire layout (documented here because it is signed):
 *
 *   block     = unsigned ‖ signature                       (signature: 64 raw bytes, last)
 *   unsigned  = canonical CBOR array(8) [
 *                 publicKey: bstr(32), seq: uint, linkPublicKey: bstr(32), linkSeq: uint,
 *                 previousHash: bstr(32), type: tstr, payload: any, timestamp: uint ]
 *   hash      = SHA-256(domainTag('block') ‖ unsigned)
 *   signature = Ed25519_sign(owner, hash)
 *
 * The unsigned part is a prefix of the block bytes, so hashing a received block needs no
 * re-encoding, and the signature costs 64 bytes rather than a 66-byte CBOR byte string.
 * @module
 */
import { abytes, auint, concatBytes, describe, equalBytes } from './bytes.js'
import { decodeCanonical, encodeCanonical, type CborValue } from './cbor.js'
import { cborUintSize, writeCborHead, writeCborUint } from './cbor-uint.js'
import type { CryptoProvider, SignResult, SigningKey, SyncSigningKey } from './crypto-provider.js'
import { domainTag } from './domain.js'
import { DecodeError } from './errors.js'
import { nobleCrypto } from './noble-crypto.js'
import { signThen } from './signing.js'

/** One record in one agent's chain. Blocks are frozen: never mutate one. */
export interface HalfBlock {
  /** The chain's owner (32 bytes). */
  readonly publicKey: Uint8Array
  /** Position in that chain, 1 for the first block. */
  readonly seq: number
  /** The counterparty (32 bytes); UNILATERAL_KEY for unilateral blocks. */
  readonly linkPublicKey: Uint8Array
  /** 0 in a proposal or unilateral block; in an agreement, the seq of the proposal it answers. */
  readonly linkSeq: number
  /** Hash of the block at seq - 1; GENESIS_HASH at seq 1. */
  readonly previousHash: Uint8Array
  /** Short name of the rule set that checks the payload ('transfer', 'reward', ...). */
  readonly type: string
  /** Canonical CBOR value checked by the type's rules. */
  readonly payload: CborValue
  /** Integer milliseconds, chosen by the owner. */
  readonly timestamp: number
  /** Ed25519 signature by publicKey over the block hash (64 bytes). */
  readonly signature: Uint8Array
}

/** A half-block before signing. */
export type UnsignedHalfBlock = Omit<HalfBlock, 'signature'>

/** Size and shape limits of a block. */
export const BLOCK_LIMITS: Readonly<{ maxBytes: number; maxTypeLength: number; maxDepth: number }> = Object.freeze({
  maxBytes: 16 * 1024,
  maxTypeLength: 32,
  maxDepth: 16,
})

/** previousHash of the first block of every chain: 32 zero bytes. */
export const GENESIS_HASH: Uint8Array = new Uint8Array(32)

/** linkPublicKey of a unilateral block (one with no counterparty): 32 zero bytes. */
export const UNILATERAL_KEY: Uint8Array = new Uint8Array(32)

const TYPE_PATTERN = /^[a-z0-9][a-z0-9._-]*$/
const SIGNATURE_BYTES = 64
const HASH_BYTES = 32

/**
 * What is kept beside a block: where its bytes are in one buffer holding the block tag, the
 * unsigned part and (once known) the signature, so that the hash input (tag ‖ unsigned) is one
 * piece of it and hashing needs no concatenation; views of it are made when asked for. A block
 * signed or decoded here has room for its hash right after its signature, where a provider with
 * sha256Into writes it. The buffer is mostly a slab shared with other blocks: the block keeps the
 * slab and offsets, not a view of its own part (a view is an object of 96 bytes per held block).
 */
interface Cached {
  /** from `start`: domainTag('block') ‖ unsigned ‖ (signature, when the block's is a view of this buffer) ‖ (room for the hash) */
  readonly buf: Uint8Array
  /** Where the block's tag starts in `buf`. */
  readonly start: number
  /** Where the unsigned part ends in `buf`. */
  readonly end: number
  /** The whole encoding, once asked for. */
  bytes: Uint8Array | undefined
  hash: Uint8Array | undefined
}
// (every Cached is made with all five fields, so that filling in the hash later changes no
// object's shape and allocates no out-of-object property store)
// Blocks are immutable, so their encoding and hash are computed once and kept beside them: on the
// block itself under a private symbol (not enumerable, so a spread copy never carries it) for the
// blocks made here, and in a WeakMap for frozen blocks built by hand. A WeakMap entry per decoded
// block made the garbage collector's work grow with every block held (ephemerons).
const CACHE: unique symbol = Symbol('tally.block-cache')
const cache = new WeakMap<HalfBlock, Cached>()
type Carrier = HalfBlock & { readonly [CACHE]?: Cached }

/** A frozen block with `c` kept under CACHE. */
function frozenWith<B extends object>(block: B, c: Cached): B {
  Object.defineProperty(block, CACHE, { value: c })
  return Object.freeze(block)
}

function cachedOf(block: HalfBlock): Cached | undefined {
  // validate and isWellFormed are handed anything, null and primitives included
  if (typeof block !== 'object' || block === null) return undefined
  return (block as Carrier)[CACHE] ?? cache.get(block)
}
/** domainTag('block'): the prefix of every block hash input. */
const TAG = domainTag('block')

/**
 * Sign a new half-block.
 * @param fields every field but the signature
 * @param key the owner's signing key; its public key must equal `fields.publicKey`
 * @param crypto provider used for the hash (default nobleCrypto)
 * @returns the frozen, signed block; a promise of it when `key` signs asynchronously
 * @throws TypeError / RangeError naming the first malformed field
 * @example const b = signBlock({ publicKey, seq: 1, linkPublicKey: bob, linkSeq: 0, previousHash: GENESIS_HASH, type: 'note', payload: 'hi', timestamp: Date.now() }, key)
 */
export function signBlock<K extends SigningKey>(fields: UnsignedHalfBlock, key: K, crypto: CryptoProvider = nobleCrypto): SignResult<K, HalfBlock> {
  checkFields(fields)
  auint('seq', fields.seq, 1)
  if (!equalBytes(key.publicKey, fields.publicKey)) {
    throw new RangeError('"key" does not belong to "publicKey": a chain is signed by its owner only')
  }
  // the whole block in one buffer after the hash's tag: unsigned part, then room for the
  // signature and the hash
  const buf = encodeUnsigned(fields, SIGNATURE_BYTES + HASH_BYTES)
  const start = carvedAt
  const end = encodedEnd
  const size = end + SIGNATURE_BYTES - TAG.length - start
  if (size > BLOCK_LIMITS.maxBytes) {
    throw new RangeError(`block of ${size} bytes exceeds the limit of ${BLOCK_LIMITS.maxBytes}`)
  }
  // decodeBlock counts the block array as one level: never sign a block that peers cannot decode
  // (an integer or an array of integers nests one level at most)
  if (smallPayloadSize(fields.payload) < 0 && nesting(fields.payload) >= BLOCK_LIMITS.maxDepth) {
    throw new RangeError(`"payload" nested deeper than ${BLOCK_LIMITS.maxDepth - 1} levels`)
  }
  const hash = hashInto(crypto, buf, start, end, true)
  // the block keeps a view of its buffer, not the key's array, and its encoding is made when asked
  // for (an agent's blocks kept in memory are mostly never encoded)
  const signature = buf.subarray(end, end + SIGNATURE_BYTES)
  const into = (key as Partial<SyncSigningKey>).signInto
  if (typeof into === 'function') {
    // a key that signs at once, into the block's buffer (a seed identity of a native provider)
    into.call(key, hash, signature)
    return signedBlock(fields, buf, start, end, signature, hash) as SignResult<K, HalfBlock>
  }
  return signThen(key, hash, (given) => {
    abytes('signature', given, SIGNATURE_BYTES)
    signature.set(given)
    return signedBlock(fields, buf, start, end, signature, hash)
  })
}

/** The frozen block of `fields` whose buffer `buf` holds its signature from `end` on. */
function signedBlock(fields: UnsignedHalfBlock, buf: Uint8Array, start: number, end: number, signature: Uint8Array, hash: Uint8Array): HalfBlock {
  return frozenWith({
    publicKey: fields.publicKey,
    seq: fields.seq,
    linkPublicKey: fields.linkPublicKey,
    linkSeq: fields.linkSeq,
    previousHash: fields.previousHash,
    type: fields.type,
    payload: fields.payload,
    timestamp: fields.timestamp,
    signature,
  }, { buf, start, end, bytes: undefined, hash })
}

/**
 * The block hash of buf[start, end) (tag ‖ unsigned): written into the room after the signature
 * when the block has it (`room`) and the provider has sha256Into, else the provider's own array.
 */
function hashInto(crypto: CryptoProvider, buf: Uint8Array, start: number, end: number, room: boolean): Uint8Array {
  const input = buf.subarray(start, end)
  if (crypto.sha256Into === undefined || !room) return crypto.sha256(input)
  const hash = buf.subarray(end + SIGNATURE_BYTES, end + SIGNATURE_BYTES + HASH_BYTES)
  crypto.sha256Into(input, hash)
  return hash
}

/**
 * The block's bytes: canonical unsigned part followed by the 64-byte signature.
 * @param block a half-block
 * @returns its encoding (do not mutate: it may be shared)
 * @example store.put(key, encodeBlock(block))
 */
export function encodeBlock(block: HalfBlock): Uint8Array {
  const c = cached(block)
  if (c.bytes !== undefined) return c.bytes
  // A block with a buffer of its own (a large one) gives a view of it. Other blocks signed or
  // decoded here are carved out of a shared slab: a copy, which does not pin the slab (and which
  // structured clone copies alone)
  const { buf, start, end } = c
  const follows = followsUnsigned(block, c)
  const own = follows && start === 0 && buf.byteOffset === 0 && buf.buffer.byteLength === buf.length && buf.length <= end + SIGNATURE_BYTES + HASH_BYTES
  const from = start + TAG.length
  const bytes = own ? buf.subarray(from, end + SIGNATURE_BYTES) : follows ? buf.slice(from, end + SIGNATURE_BYTES) : concatBytes(buf.subarray(from, end), block.signature)
  if (Object.isFrozen(block) && cachedOf(block) === c) c.bytes = bytes
  return bytes
}

/**
 * The block's encoding as a view wherever its signature follows its unsigned part in one buffer
 * (a block signed here, or decoded from a shared slab), else encodeBlock's. For a caller that hands
 * the bytes on at once to something that copies them (a LevelDB batch, a journal record): unlike
 * encodeBlock it may return a view of a shared 4 KB slab, which bytes kept for long would pin.
 * @param block the block
 * @returns its canonical bytes, possibly a view of a shared buffer: do not keep them
 * @internal
 */
export function encodedView(block: HalfBlock): Uint8Array {
  const c = cached(block)
  if (c.bytes !== undefined) return c.bytes
  return followsUnsigned(block, c) ? c.buf.subarray(c.start + TAG.length, c.end + SIGNATURE_BYTES) : encodeBlock(block)
}

/** True iff the block's signature is in its buffer right after the unsigned part (signed or decoded here). */
function followsUnsigned(block: HalfBlock, c: Cached): boolean {
  const sig = block.signature
  return sig.buffer === c.buf.buffer && sig.byteOffset === c.buf.byteOffset + c.end && sig.length === SIGNATURE_BYTES
}

/**
 * Decode a block from untrusted bytes. Checks form only (types, lengths, canonical bytes, size);
 * signature and chain rules are `validate`'s work.
 * @param bytes the encoding
 * @returns the frozen block
 * @throws DecodeError (ERR_DECODE) when the bytes are not a canonical block within the limits
 * @example const block = decodeBlock(bytes)
 */
export function decodeBlock(bytes: Uint8Array): HalfBlock {
  abytes('bytes', bytes)
  if (bytes.length > BLOCK_LIMITS.maxBytes) {
    throw new DecodeError(`block of ${bytes.length} bytes exceeds the limit of ${BLOCK_LIMITS.maxBytes}`)
  }
  if (bytes.length <= SIGNATURE_BYTES) throw new DecodeError('block too short')
  // one copy of the input after the hash's tag, shared by the hash input, the cached encoding, the
  // keys and the signature (views made when asked for), with room for the hash after it
  const buf = carve(TAG.length + bytes.length + HASH_BYTES)
  const start = carvedAt
  buf.set(TAG, start)
  buf.set(bytes, start + TAG.length)
  return parseUnsigned(buf, start + TAG.length, start + TAG.length + bytes.length - SIGNATURE_BYTES)
}

/**
 * The block hash: SHA-256 over the domain tag and the canonical encoding of every field but the
 * signature. Computed once per block object.
 * @param block a half-block
 * @param crypto provider for SHA-256 (default nobleCrypto; all providers agree)
 * @returns 32 bytes
 * @example const prev = blockHash(latest)
 */
export function blockHash(block: HalfBlock, crypto: CryptoProvider = nobleCrypto): Uint8Array {
  const c = cached(block)
  if (c.hash === undefined) c.hash = hashInto(crypto, c.buf, c.start, c.end, followsUnsigned(block, c))
  return c.hash
}

/**
 * True iff the signature is the owner's over the block hash.
 * @param block a half-block
 * @param crypto provider (default nobleCrypto)
 * @returns whether the signature verifies
 * @example if (!verifyBlock(block, crypto)) reject()
 */
export function verifyBlock(block: HalfBlock, crypto: CryptoProvider = nobleCrypto): boolean {
  return crypto.verify(block.signature, blockHash(block, crypto), block.publicKey)
}

/**
 * Size in bytes of the block's encoding.
 * @param block a half-block
 * @returns the encoded length
 * @example blockSize(block) <= 200
 */
export function blockSize(block: HalfBlock): number {
  const c = cached(block)
  return c.end - c.start - TAG.length + SIGNATURE_BYTES
}

/**
 * True iff the block was made by signBlock or decodeBlock (or already encoded once): its fields
 * have been checked and its encoding is cached, so validation need not check its form again.
 * @param block a half-block
 * @returns whether the form checks already passed
 */
export function isWellFormed(block: HalfBlock): boolean {
  return cachedOf(block) !== undefined
}

/**
 * True iff `type` is an allowed block type name: 1 to BLOCK_LIMITS.maxTypeLength characters of
 * [a-z0-9._-], starting with a letter or digit.
 * @param type a candidate `type` field
 * @returns whether it is allowed
 * @example isTypeName('transfer') // true
 */
export function isTypeName(type: unknown): boolean {
  return typeof type === 'string' && type.length > 0 && type.length <= BLOCK_LIMITS.maxTypeLength && TYPE_PATTERN.test(type)
}

/** True iff the block has no counterparty. */
export function isUnilateral(block: UnsignedHalfBlock): boolean {
  return equalBytes(block.linkPublicKey, UNILATERAL_KEY)
}

/** True iff the block proposes a transaction (links to a counterparty, linkSeq 0). */
export function isProposal(block: UnsignedHalfBlock): boolean {
  return block.linkSeq === 0 && !isUnilateral(block)
}

/** True iff the block agrees to a proposal (linkSeq > 0). */
export function isAgreement(block: UnsignedHalfBlock): boolean {
  return block.linkSeq > 0
}

// ## Private helpers

// Decoded and signed blocks are carved out of shared slabs rather than given an ArrayBuffer each:
// every ArrayBuffer is a heap object plus a malloc'd store the collector tracks and frees one by
// one, and ingest keeps every block it decodes (about 0.9 us per retained block, measured apart),
// a store every block an agent signs (0.6 us to allocate alone). A slab
// lives while any block carved from it does, so it is small: at most 16 blocks' worth held by one.
// Nothing here transfers or detaches a block's buffer; code that copies a block's bytes with
// structured clone (IndexedDB, postMessage) should copy the view first (`bytes.slice()`), or it
// copies the whole slab.
const SLAB_BYTES = 4096
let slab = new Uint8Array(0)
let slabAt = 0

/** Where the last carve's bytes start in the buffer it returned. */
let carvedAt = 0

/** `n` zeroed bytes: the current slab, from `carvedAt` on (a buffer of its own when large, from 0). */
function carve(n: number): Uint8Array {
  if (n > SLAB_BYTES >> 2) {
    carvedAt = 0
    return new Uint8Array(n)
  }
  if (slabAt + n > slab.length) {
    slab = new Uint8Array(SLAB_BYTES)
    slabAt = 0
  }
  carvedAt = slabAt
  slabAt += n
  return slab
}

function cached(block: HalfBlock): Cached {
  let c = cachedOf(block)
  if (c === undefined) {
    // a block built by hand (not by signBlock or decodeBlock): check it like any input
    checkFields(block)
    const buf = encodeUnsigned(block)
    c = { buf, start: carvedAt, end: encodedEnd, bytes: undefined, hash: undefined }
    if (Object.isFrozen(block)) cache.set(block, c)
  }
  return c
}

/** Levels of arrays and maps in a value that encodeCanonical accepted (so finite and acyclic). */
function nesting(value: unknown): number {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return 0
  let deepest = 0
  for (const v of value instanceof Map ? value.values() : Object.values(value)) deepest = Math.max(deepest, nesting(v))
  return 1 + deepest
}

// ## The fixed part of the layout, by hand
//
// Every field but the payload has one canonical form that is quick to write and to check by hand:
// bstr(32) is 0x58 0x20 ‖ 32 bytes, a uint is its shortest head (RFC 8949 §4.2.1), the type is a
// short ASCII tstr. Only the payload goes through the general canonical codec. The golden vectors
// and a property test (every mutation of a block decodes here iff the general codec accepts the
// whole array) keep this equal to encodeCanonical([8 fields]).

const ARRAY_8 = 0x88
const BSTR_32 = [0x58, 0x20] as const

/** Where the unsigned part that encodeUnsigned wrote last ends in its buffer. */
let encodedEnd = 0

/**
 * The block tag and the unsigned encoding, followed by `spare` zero bytes (room for the signature),
 * carved out of a slab like a decoded block (a buffer of its own cost 0.6 us a signed block): the
 * buffer, where they start in it is `carvedAt`, where the unsigned part ends `encodedEnd`.
 */
function encodeUnsigned(b: UnsignedHalfBlock, spare = 0): Uint8Array {
  // an integer or a short array of integers is written here (as decodeBlock reads it); any other
  // payload goes through the general codec
  const small = smallPayloadSize(b.payload)
  const payload = small < 0 ? encodeCanonical(b.payload) : undefined
  const payloadSize = payload === undefined ? small : payload.length
  const typeHead = b.type.length < 24 ? 1 : 2
  const size = 1 + 34 + cborUintSize(b.seq) + 34 + cborUintSize(b.linkSeq) + 34 + typeHead + b.type.length + payloadSize + cborUintSize(b.timestamp)
  const out = carve(TAG.length + size + spare)
  const start = carvedAt
  out.set(TAG, start)
  out[start + TAG.length] = ARRAY_8
  let at = writeKey(out, start + TAG.length + 1, b.publicKey)
  at = writeCborUint(out, at, b.seq)
  at = writeKey(out, at, b.linkPublicKey)
  at = writeCborUint(out, at, b.linkSeq)
  at = writeKey(out, at, b.previousHash)
  // types are 1-32 ASCII characters (isTypeName): a head of one byte below 24, else 0x78 ‖ length
  if (b.type.length < 24) out[at++] = 0x60 + b.type.length
  else {
    out[at++] = 0x78
    out[at++] = b.type.length
  }
  for (let i = 0; i < b.type.length; i++) out[at++] = b.type.charCodeAt(i)
  if (payload === undefined) writeSmallPayload(out, at, b.payload as number | readonly number[])
  else out.set(payload, at)
  encodedEnd = writeCborUint(out, at + payloadSize, b.timestamp)
  return out
}

/**
 * Bytes of the canonical encoding of a safe integer, or of an array of at most 23 of them (the
 * payloads smallPayload reads); -1 for any other value, which the general codec encodes.
 */
function smallPayloadSize(value: unknown): number {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? intSize(value) : -1
  if (!Array.isArray(value) || value.length >= 24) return -1
  let size = 1
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i]
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) return -1
    size += intSize(v)
  }
  return size
}

/** Bytes of a safe integer's canonical head (major type 0, or 1 for a negative one: -1 - n). */
function intSize(n: number): number {
  return cborUintSize(n < 0 ? -1 - n : n)
}

/** Write a payload that smallPayloadSize measured, at `at`. */
function writeSmallPayload(out: Uint8Array, at: number, value: number | readonly number[]): void {
  if (typeof value === 'number') {
    writeInt(out, at, value)
    return
  }
  out[at++] = 0x80 + value.length
  for (let i = 0; i < value.length; i++) at = writeInt(out, at, value[i]!)
}

function writeInt(out: Uint8Array, at: number, n: number): number {
  return n < 0 ? writeCborHead(out, at, 1, -1 - n) : writeCborUint(out, at, n)
}

function writeKey(out: Uint8Array, at: number, key: Uint8Array): number {
  out[at] = BSTR_32[0]
  out[at + 1] = BSTR_32[1]
  out.set(key, at + 2)
  return at + 34
}

/**
 * The frozen block whose unsigned part is buf[start, end) and whose signature follows it, or a
 * DecodeError saying what is wrong. Keys, hash and signature are views of `buf` (or an equal key
 * of a block decoded just before: a chain's blocks share their owner's key).
 */
function parseUnsigned(buf: Uint8Array, start: number, end: number): HalfBlock {
  if (buf[start] !== ARRAY_8) throw new DecodeError('block must be an array of 8 fields')
  const r: Reader = { bytes: buf, at: start + 1, end }
  const publicKey = readKey(r, 'publicKey')
  const seq = readUint(r, 'seq')
  const linkPublicKey = readKey(r, 'linkPublicKey')
  const linkSeq = readUint(r, 'linkSeq')
  const previousHash = readHash(r)
  const type = readType(r)
  const from = r.at
  const to = skipItem(buf, from, end, BLOCK_LIMITS.maxDepth - 1)
  // the block array is one level: the payload may nest one level less than a block
  const payload = smallPayload(buf, from, to) ?? decodeCanonical(buf.subarray(from, to), { maxBytes: BLOCK_LIMITS.maxBytes, maxDepth: BLOCK_LIMITS.maxDepth - 1 })
  r.at = to
  const timestamp = readUint(r, 'timestamp')
  if (r.at !== end) throw new DecodeError('block must be an array of 8 fields')
  const signature = buf.subarray(end, end + SIGNATURE_BYTES)
  return frozenWith({ publicKey, seq, linkPublicKey, linkSeq, previousHash, type, payload, timestamp, signature }, { buf, start: start - TAG.length, end, bytes: undefined, hash: undefined })
}

interface Reader {
  readonly bytes: Uint8Array
  at: number
  /** Where the unsigned part ends. */
  readonly end: number
}

// Keys decoded lately: the blocks of a chain share their owner's key and often a counterparty's,
// so an equal key is handed out again rather than a new view each time (fewer objects, and the
// stores' per-array key caches hit).
const recentKeys: Uint8Array[] = []
const RECENT_KEYS = 32

function readKey(r: Reader, name: string): Uint8Array {
  const { bytes, at } = r
  if (bytes[at] !== BSTR_32[0] || bytes[at + 1] !== BSTR_32[1] || at + 34 > r.end) {
    throw new DecodeError(`malformed block: "${name}" must be a canonical byte string of length 32`)
  }
  r.at = at + 34
  for (let k = 0; k < recentKeys.length; k++) {
    const key = recentKeys[k]!
    let i = 0
    while (i < 32 && key[i] === bytes[at + 2 + i]) i++
    if (i === 32) return key
  }
  const key = bytes.subarray(at + 2, at + 34)
  if (recentKeys.length >= RECENT_KEYS) recentKeys.pop()
  recentKeys.unshift(key)
  return key
}

function readHash(r: Reader): Uint8Array {
  const { bytes, at } = r
  if (bytes[at] !== BSTR_32[0] || bytes[at + 1] !== BSTR_32[1] || at + 34 > r.end) {
    throw new DecodeError('malformed block: "previousHash" must be a canonical byte string of length 32')
  }
  r.at = at + 34
  // a view of the block's private copy, like the signature: one buffer per decoded block
  return bytes.subarray(at + 2, at + 34)
}

function readUint(r: Reader, name: string): number {
  const { bytes, at } = r
  const head = at < r.end ? bytes[at]! : undefined
  if (head === undefined || head >> 5 !== 0 || (head & 31) > 27) throw new DecodeError(`malformed block: "${name}" must be an unsigned integer`)
  const ai = head & 31
  if (ai < 24) {
    r.at = at + 1
    return ai
  }
  const width = 1 << (ai - 24)
  if (at + 1 + width > r.end) throw new DecodeError(`malformed block: "${name}" is cut short`)
  let n = 0
  for (let i = 0; i < width; i++) n = n * 256 + bytes[at + 1 + i]!
  // RFC 8949 §4.2.1: the shortest head; above 2^53 - 1 a seq or time is not a safe integer
  const least = width === 1 ? 24 : width === 2 ? 0x100 : width === 4 ? 0x1_0000 : 0x1_0000_0000
  if (n < least) throw new DecodeError('not the canonical encoding of its value')
  if (!Number.isSafeInteger(n)) throw new DecodeError(`malformed block: "${name}" is not a safe integer`)
  r.at = at + 1 + width
  return n
}

// Type names decoded lately, with their bytes: a chain uses a handful of types.
const recentTypes: { bytes: Uint8Array; type: string }[] = []
const RECENT_TYPES = 8

function readType(r: Reader): string {
  const { bytes, at } = r
  const head = at < r.end ? bytes[at]! : undefined
  let length: number
  let start: number
  if (head !== undefined && head >= 0x60 && head < 0x78) [length, start] = [head - 0x60, at + 1]
  else if (head === 0x78 && at + 1 < r.end) {
    length = bytes[at + 1]!
    start = at + 2
    if (length < 24) throw new DecodeError('not the canonical encoding of its value')
  } else throw new DecodeError(`malformed block: "type" must be a text of 1-${BLOCK_LIMITS.maxTypeLength} characters`)
  if (start + length > r.end) throw new DecodeError('malformed block: "type" is cut short')
  r.at = start + length
  for (const known of recentTypes) {
    if (known.bytes.length !== length) continue
    let i = 0
    while (i < length && known.bytes[i] === bytes[start + i]) i++
    if (i === length) return known.type
  }
  const type = String.fromCharCode(...bytes.subarray(start, start + length))
  if (!isTypeName(type)) {
    throw new DecodeError(`malformed block: "type" expected 1-${BLOCK_LIMITS.maxTypeLength} characters of [a-z0-9._-], got ${JSON.stringify(type.slice(0, 40))}`)
  }
  if (recentTypes.length >= RECENT_TYPES) recentTypes.pop()
  recentTypes.unshift({ bytes: bytes.slice(start, start + length), type })
  return type
}

/**
 * The payload in buf[start, end) when it is an integer or an array of at most 23 integers, all
 * safe and in their shortest (canonical) form; otherwise undefined, and the general codec decides.
 * Such a value is canonical exactly when every head is the shortest for its value, so nothing
 * the codec would refuse gets through (a test compares both on every mutation of such payloads).
 */
function smallPayload(buf: Uint8Array, start: number, end: number): CborValue | undefined {
  const head = buf[start]!
  if (head >> 5 === 4) {
    const n = head & 31
    if (n >= 24) return undefined
    const out: number[] = []
    let at = start + 1
    for (let i = 0; i < n; i++) {
      const v = smallInt(buf, at, end)
      if (v === undefined) return undefined
      out.push(v)
      at = smallEnd
    }
    return at === end ? out : undefined
  }
  const v = smallInt(buf, start, end)
  return v !== undefined && smallEnd === end ? v : undefined
}

/** Where the last integer smallInt read ends. */
let smallEnd = 0

function smallInt(buf: Uint8Array, at: number, end: number): number | undefined {
  if (at >= end) return undefined
  const head = buf[at]!
  const major = head >> 5
  if (major > 1) return undefined
  const ai = head & 31
  let n: number
  if (ai < 24) {
    n = ai
    smallEnd = at + 1
  } else {
    if (ai > 27) return undefined
    const width = 1 << (ai - 24)
    if (at + 1 + width > end) return undefined
    n = 0
    for (let i = 0; i < width; i++) n = n * 256 + buf[at + 1 + i]!
    const least = width === 1 ? 24 : width === 2 ? 0x100 : width === 4 ? 0x1_0000 : 0x1_0000_0000
    // not shortest, or beyond what a number holds exactly: the codec's answer (refusal, or a bigint)
    if (n < least || n >= Number.MAX_SAFE_INTEGER) return undefined
    smallEnd = at + 1 + width
  }
  return major === 0 ? n : -1 - n
}

/**
 * The offset just past the CBOR item at `at`: enough parsing to find where the payload ends; the
 * general codec then checks it fully. Definite lengths only; nesting and counts are bounded by
 * `depth` and by the bytes left, so hostile heads cannot make it loop or recurse for long.
 */
function skipItem(bytes: Uint8Array, at: number, end: number, depth: number): number {
  const head = at < end ? bytes[at] : undefined
  if (head === undefined) throw new DecodeError('malformed block: cut short')
  const major = head >> 5
  const ai = head & 31
  let n = ai
  let next = at + 1
  if (ai >= 24) {
    if (ai > 27) throw new DecodeError('not the canonical encoding of its value') // reserved or indefinite
    const width = 1 << (ai - 24)
    if (next + width > end) throw new DecodeError('malformed block: cut short')
    n = 0
    for (let i = 0; i < width; i++) n = n * 256 + bytes[next + i]!
    next += width
  }
  switch (major) {
    case 2:
    case 3:
      if (n > end - next) throw new DecodeError('malformed block: cut short')
      return next + n
    case 4:
    case 5: {
      const items = major === 5 ? 2 * n : n
      if (items > end - next) throw new DecodeError('malformed block: cut short')
      if (depth <= 0 && items > 0) throw new DecodeError(`nesting deeper than ${BLOCK_LIMITS.maxDepth}`)
      for (let i = 0; i < items; i++) next = skipItem(bytes, next, end, depth - 1)
      return next
    }
    case 6:
      // the only tags a payload may hold are bignums (2, 3) around a byte string: a tag in a tag
      // is refused here, so that a run of tag heads cannot recurse deeply
      if (next < end && bytes[next]! >> 5 === 6) throw new DecodeError('tagged value is not allowed')
      return skipItem(bytes, next, end, depth)
    default:
      return next // 0, 1: integers; 7: simple values and floats, which the codec refuses
  }
}

// Form only: types and lengths. seq >= 1 and the other chain rules are validation rules, so that a
// decoded block breaking them is reported by `validate` rather than lost in a decode error.
function checkFields(block: object): void {
  if (typeof block !== 'object' || block === null) throw new TypeError(`"block" expected object, got ${describe(block)}`)
  const b = block as Record<string, unknown>
  abytes('publicKey', b['publicKey'], 32)
  auint('seq', b['seq'], 0)
  abytes('linkPublicKey', b['linkPublicKey'], 32)
  auint('linkSeq', b['linkSeq'], 0)
  abytes('previousHash', b['previousHash'], 32)
  const type = b['type']
  if (typeof type !== 'string') throw new TypeError(`"type" expected string, got ${describe(type)}`)
  if (!isTypeName(type)) {
    throw new RangeError(`"type" expected 1-${BLOCK_LIMITS.maxTypeLength} characters of [a-z0-9._-], got ${JSON.stringify(type.slice(0, 40))}`)
  }
  if (b['payload'] === undefined) throw new TypeError('"payload" expected a CBOR value, got undefined')
  auint('timestamp', b['timestamp'], 0)
}
