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
import type { CryptoProvider, SigningKey } from './crypto-provider.js'
import { domainTag } from './domain.js'
import { DecodeError } from './errors.js'
import { nobleCrypto } from './noble-crypto.js'

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

interface Cached {
  unsigned: Uint8Array
  /** The whole encoding (`unsigned` is a view of its start), once known. */
  bytes?: Uint8Array
  hash?: Uint8Array
}
// Blocks are immutable, so their encoding and hash are computed once and kept beside them.
const cache = new WeakMap<HalfBlock, Cached>()

/**
 * Sign a new half-block.
 * @param fields every field but the signature
 * @param key the owner's signing key; its public key must equal `fields.publicKey`
 * @param crypto provider used for the hash (default nobleCrypto)
 * @returns the frozen, signed block
 * @throws TypeError / RangeError naming the first malformed field
 * @example const b = signBlock({ publicKey, seq: 1, linkPublicKey: bob, linkSeq: 0, previousHash: GENESIS_HASH, type: 'note', payload: 'hi', timestamp: Date.now() }, key)
 */
export function signBlock(fields: UnsignedHalfBlock, key: SigningKey, crypto: CryptoProvider = nobleCrypto): HalfBlock {
  checkFields(fields)
  auint('seq', fields.seq, 1)
  if (!equalBytes(key.publicKey, fields.publicKey)) {
    throw new RangeError('"key" does not belong to "publicKey": a chain is signed by its owner only')
  }
  const unsigned = encodeUnsigned(fields)
  if (unsigned.length + SIGNATURE_BYTES > BLOCK_LIMITS.maxBytes) {
    throw new RangeError(`block of ${unsigned.length + SIGNATURE_BYTES} bytes exceeds the limit of ${BLOCK_LIMITS.maxBytes}`)
  }
  // decodeBlock counts the block array as one level: never sign a block that peers cannot decode
  if (nesting(fields.payload) >= BLOCK_LIMITS.maxDepth) {
    throw new RangeError(`"payload" nested deeper than ${BLOCK_LIMITS.maxDepth - 1} levels`)
  }
  const hash = crypto.sha256(concatBytes(domainTag('block'), unsigned))
  const block: HalfBlock = Object.freeze({
    publicKey: fields.publicKey,
    seq: fields.seq,
    linkPublicKey: fields.linkPublicKey,
    linkSeq: fields.linkSeq,
    previousHash: fields.previousHash,
    type: fields.type,
    payload: fields.payload,
    timestamp: fields.timestamp,
    signature: key.sign(hash),
  })
  const bytes = new Uint8Array(unsigned.length + SIGNATURE_BYTES)
  bytes.set(unsigned)
  bytes.set(block.signature, unsigned.length)
  cache.set(block, { unsigned: bytes.subarray(0, unsigned.length), bytes, hash })
  return block
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
  const bytes = concatBytes(c.unsigned, block.signature)
  if (Object.isFrozen(block) && cache.get(block) === c) c.bytes = bytes
  return bytes
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
  // one copy of the input, shared by the cached encoding, the unsigned part and the signature
  const own = bytes.slice()
  const unsigned = own.subarray(0, own.length - SIGNATURE_BYTES)
  const value = decodeCanonical(unsigned, { maxBytes: BLOCK_LIMITS.maxBytes, maxDepth: BLOCK_LIMITS.maxDepth })
  if (!Array.isArray(value) || value.length !== 8) throw new DecodeError('block must be an array of 8 fields')
  const [publicKey, seq, linkPublicKey, linkSeq, previousHash, type, payload, timestamp] = value as CborValue[]
  const fields = { publicKey, seq, linkPublicKey, linkSeq, previousHash, type, payload, timestamp }
  try {
    checkFields(fields)
  } catch (err) {
    throw new DecodeError(`malformed block: ${(err as Error).message}`, { cause: err })
  }
  const block = Object.freeze({ ...(fields as UnsignedHalfBlock), signature: own.subarray(own.length - SIGNATURE_BYTES) })
  cache.set(block, { unsigned, bytes: own })
  return block
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
  if (c.hash === undefined) c.hash = crypto.sha256(concatBytes(domainTag('block'), c.unsigned))
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
  return unsignedBytes(block).length + SIGNATURE_BYTES
}

/**
 * True iff the block was made by signBlock or decodeBlock (or already encoded once): its fields
 * have been checked and its encoding is cached, so validation need not check its form again.
 * @param block a half-block
 * @returns whether the form checks already passed
 */
export function isWellFormed(block: HalfBlock): boolean {
  return cache.has(block)
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

function unsignedBytes(block: HalfBlock): Uint8Array {
  return cached(block).unsigned
}

function cached(block: HalfBlock): Cached {
  let c = cache.get(block)
  if (c === undefined) {
    // a block built by hand (not by signBlock or decodeBlock): check it like any input
    checkFields(block)
    c = { unsigned: encodeUnsigned(block) }
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

function encodeUnsigned(b: UnsignedHalfBlock): Uint8Array {
  return encodeCanonical([b.publicKey, b.seq, b.linkPublicKey, b.linkSeq, b.previousHash, b.type, b.payload, b.timestamp])
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
