/**
 * Writes test/vectors/core-v1.json: the golden vectors of @tally/core's wire format. Deterministic
 * (fixed seeds, fixed timestamps, Ed25519 is deterministic): running it again must give the same
 * file byte for byte. packages/core/test/vectors.test.ts checks that the current code reproduces
 * every vector; a change to these bytes is a change of the format, i.e. a new file (core-v2.json).
 *
 * Run from the repository root: node --import tsx test/vectors/generate.ts
 *
 * JSON conventions: byte strings are lowercase hex; inside CBOR values and payloads, a byte string
 * is {"$bytes": "<hex>"} and an integer beyond ±(2^53 - 1) is {"$bigint": "<decimal>"}.
 */
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  GENESIS_HASH,
  UNILATERAL_KEY,
  blockHash,
  createFraudProof,
  domainTag,
  encodeBlock,
  encodeCanonical,
  encodeFraudProof,
  fraudProofId,
  identityFromSeed,
  signBlock,
  toHex,
  verifyFraudProof,
  type CborValue,
  type HalfBlock,
  type SeedIdentity,
  type UnsignedHalfBlock,
} from '@tally/core'

// ## Tagged JSON for CBOR values

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

function toJson(v: CborValue): Json {
  if (v instanceof Uint8Array) return { $bytes: toHex(v) }
  if (typeof v === 'bigint') return { $bigint: v.toString() }
  if (Array.isArray(v)) return v.map(toJson)
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]))
  }
  return v as Json
}

// ## Identities: seeds are SHA-256 of a fixed label

const seedOf = (label: string): Uint8Array => new Uint8Array(createHash('sha256').update(`tally/v1/test-vector/${label}`).digest())
const names = ['alice', 'bob'] as const
const seeds = Object.fromEntries(names.map((n) => [n, seedOf(n)])) as Record<(typeof names)[number], Uint8Array>
const ids = Object.fromEntries(names.map((n) => [n, identityFromSeed(seeds[n])])) as Record<(typeof names)[number], SeedIdentity>

// ## CBOR values

const cbor: [string, CborValue][] = [
  ['uint 0', 0],
  ['uint 23 (largest in the head)', 23],
  ['uint 24 (smallest 1-byte)', 24],
  ['uint 255', 255],
  ['uint 256 (smallest 2-byte)', 256],
  ['uint 65535', 65535],
  ['uint 65536 (smallest 4-byte)', 65536],
  ['uint 2^32 - 1', 2 ** 32 - 1],
  ['uint 2^32 (smallest 8-byte)', 2 ** 32],
  ['uint 2^53 - 1 (largest number)', Number.MAX_SAFE_INTEGER],
  ['uint 2^53 (bigint)', 2n ** 53n],
  ['uint 2^64 - 1 (largest)', 2n ** 64n - 1n],
  ['nint -1', -1],
  ['nint -24', -24],
  ['nint -25', -25],
  ['nint -2^32', -(2 ** 32)],
  ['nint -2^32 - 1', -(2 ** 32) - 1],
  ['nint -(2^53 - 1)', -Number.MAX_SAFE_INTEGER],
  ['nint -2^53 (bigint)', -(2n ** 53n)],
  ['nint -2^64 + 1 (smallest allowed)', -(2n ** 64n) + 1n],
  ['timestamp 2023-11-14T22:13:20Z in ms', 1_700_000_000_000],
  ['false', false],
  ['true', true],
  ['null', null],
  ['empty text', ''],
  ['text ascii', 'IETF'],
  ['text 2-byte utf-8', '\u00fc'],
  ['text 3-byte utf-8', '\u6c34'],
  ['text 4-byte utf-8', '\ud800\udd51'],
  ['text of 24 bytes (1-byte length)', 'abcdefghijklmnopqrstuvwx'],
  ['empty bytes', new Uint8Array(0)],
  ['bytes', Uint8Array.of(1, 2, 3, 4)],
  ['bytes of 32', new Uint8Array(32).fill(0xab)],
  ['empty array', []],
  ['nested arrays', [1, [2, 3], [4, 5]]],
  ['array of 25 (1-byte length)', Array.from({ length: 25 }, (_, i) => i + 1)],
  ['empty map', {}],
  ['map: shorter key first', { b: 1, aa: 2 }],
  ['map: integer-like keys are text, sorted by length then bytes', { a: 2, 10: 1, 2: 3 }],
  ['map: utf-8 byte order, not utf-16', { 'a\uffffb': 1, 'a\u{10000}': 2 }],
  ['map: nested, mixed values', { memo: 'tea', amount: 250, nonce: Uint8Array.of(0xde, 0xad), big: 2n ** 60n, list: [true, null, -7], inner: { z: 0, y: 'x' } }],
]

/** Bytes every implementation must refuse: not the canonical encoding of an allowed value. */
const rejected: [string, string][] = [
  ['1800', 'non-shortest integer (0 in 1 extra byte)'],
  ['190017', 'non-shortest integer (23 in 2 bytes)'],
  ['1b0000000000000017', 'non-shortest integer (23 in 8 bytes)'],
  ['3bffffffffffffffff', '-2^64: outside the allowed range'],
  ['780161', 'non-shortest text length'],
  ['a2616201616102', 'map keys out of order'],
  ['a2616101616101', 'duplicate map keys'],
  ['a1016161', 'non-text map key'],
  ['f93c00', 'half float'],
  ['fb3ff0000000000000', 'double float'],
  ['f7', 'undefined'],
  ['c11a514b67b0', 'tag (epoch date)'],
  ['c24101', 'tag (bignum)'],
  ['9f01ff', 'indefinite-length array'],
  ['5f4101ff', 'indefinite-length byte string'],
  ['0000', 'trailing bytes'],
  ['62c328', 'invalid UTF-8'],
  ['', 'empty input'],
]

// ## Blocks

const T0 = 1_700_000_000_000
const signed = new Map<string, { block: HalfBlock; signer: (typeof names)[number] }>()
function add(name: string, signer: (typeof names)[number], fields: UnsignedHalfBlock): HalfBlock {
  const block = signBlock(fields, ids[signer])
  signed.set(name, { block, signer })
  return block
}

const alice = ids.alice.publicKey
const bob = ids.bob.publicKey

const a1 = add('alice-1: genesis, unilateral', 'alice', {
  publicKey: alice, seq: 1, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: GENESIS_HASH,
  type: 'reward', payload: { epoch: 7, amount: 1000 }, timestamp: T0,
})
const a2 = add('alice-2: proposal at seq > 1', 'alice', {
  publicKey: alice, seq: 2, linkPublicKey: bob, linkSeq: 0, previousHash: blockHash(a1),
  type: 'transfer', payload: [250, 750], timestamp: T0 + 1_000,
})
const b1 = add('bob-1: genesis, agreement to alice-2', 'bob', {
  publicKey: bob, seq: 1, linkPublicKey: alice, linkSeq: 2, previousHash: GENESIS_HASH,
  type: 'transfer', payload: [250, 750], timestamp: T0 + 2_000,
})
const a3 = add('alice-3: proposal with bytes, bigint and a nested map', 'alice', {
  publicKey: alice, seq: 3, linkPublicKey: bob, linkSeq: 0, previousHash: blockHash(a2),
  type: 'note.v1', payload: { memo: 'tea \u2615', nonce: Uint8Array.of(0, 1, 2, 254, 255), big: 2n ** 60n + 1n, neg: -5, tags: ['a', 'b'] },
  timestamp: 2 ** 42,
})
// evidence of fraud: alice forks at seq 3 and continues the fork; bob answers alice-2 twice
const a3fork = add('alice-3-fork: a second block at seq 3', 'alice', {
  ...a3, payload: { memo: 'coffee', nonce: Uint8Array.of(0), big: 2n ** 60n + 1n, neg: -5, tags: [] },
})
const a4fork = add('alice-4-fork: seq 4 chaining to the fork, not to alice-3', 'alice', {
  publicKey: alice, seq: 4, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: blockHash(a3fork),
  type: 'reward', payload: { epoch: 8, amount: 1000 }, timestamp: 2 ** 42 + 1,
})
const b2 = add('bob-2: a second agreement to alice-2', 'bob', {
  publicKey: bob, seq: 2, linkPublicKey: alice, linkSeq: 2, previousHash: blockHash(b1),
  type: 'transfer', payload: [250, 750], timestamp: T0 + 3_000,
})

const proofs = [
  { name: 'double-sign: alice-3 and alice-3-fork', kind: 'double-sign', evidence: [a3fork, a3] },
  { name: 'chain-break: alice-3 and alice-4-fork', kind: 'chain-break', evidence: [a4fork, a3] },
  { name: 'double-countersign: bob-1 and bob-2', kind: 'double-countersign', evidence: [b2, b1] },
]

const nameOf = (b: HalfBlock): string => [...signed].find(([, v]) => v.block === b)![0]

// ## The file

const file = {
  format: 'tally core vectors',
  version: 1,
  generator: 'test/vectors/generate.ts',
  conventions:
    'bytes as lowercase hex; in CBOR values and payloads {"$bytes": hex} is a byte string and {"$bigint": decimal} an integer beyond 2^53 - 1',
  domainTags: { block: toHex(domainTag('block')), 'fraud-proof': toHex(domainTag('fraud-proof')) },
  identities: names.map((n) => ({ name: n, seed: toHex(seeds[n]), publicKey: ids[n].publicKeyHex })),
  cbor: cbor.map(([name, value]) => ({ name, value: toJson(value), hex: toHex(encodeCanonical(value)) })),
  cborRejected: rejected.map(([hex, why]) => ({ hex, why })),
  blocks: [...signed].map(([name, { block, signer }]) => {
    const encoded = encodeBlock(block)
    return {
      name,
      signer,
      fields: {
        publicKey: toHex(block.publicKey),
        seq: block.seq,
        linkPublicKey: toHex(block.linkPublicKey),
        linkSeq: block.linkSeq,
        previousHash: toHex(block.previousHash),
        type: block.type,
        payload: toJson(block.payload),
        timestamp: block.timestamp,
      },
      unsigned: toHex(encoded.subarray(0, encoded.length - 64)),
      hash: toHex(blockHash(block)),
      signature: toHex(block.signature),
      encoded: toHex(encoded),
    }
  }),
  fraudProofs: proofs.map(({ name, kind, evidence }) => {
    const proof = createFraudProof(kind, evidence)
    if (!verifyFraudProof(proof).ok) throw new Error(`vector ${name} does not verify`)
    return {
      name,
      kind,
      accused: toHex(proof.publicKey),
      evidence: proof.blocks.map(nameOf), // canonical order
      encoded: toHex(encodeFraudProof(proof)),
      id: toHex(fraudProofId(proof)),
    }
  }),
}

const out = join(import.meta.dirname, 'core-v1.json')
writeFileSync(out, `${JSON.stringify(file, null, 2)}\n`)
console.log(`wrote ${out}: ${file.cbor.length} CBOR values, ${file.cborRejected.length} rejected encodings, ${file.blocks.length} blocks, ${file.fraudProofs.length} fraud proofs`)
