/**
 * Golden vectors: the current code must reproduce test/vectors/core-v1.json byte for byte (made by
 * test/vectors/generate.ts). A failure here means the wire format changed: old blocks would no
 * longer verify. Change the format on purpose only, with a new vectors file.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  DecodeError,
  blockHash,
  createFraudProof,
  decodeBlock,
  decodeCanonical,
  decodeFraudProof,
  domainTag,
  encodeBlock,
  encodeCanonical,
  encodeFraudProof,
  fraudProofId,
  fromHex,
  identityFromSeed,
  signBlock,
  toHex,
  verifyBlock,
  verifyFraudProof,
  type CborValue,
  type HalfBlock,
} from '@tally/core'

// ## The file

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

interface BlockVector {
  name: string
  signer: string
  fields: { publicKey: string; seq: number; linkPublicKey: string; linkSeq: number; previousHash: string; type: string; payload: Json; timestamp: number }
  unsigned: string
  hash: string
  signature: string
  encoded: string
}

interface Vectors {
  version: number
  domainTags: Record<string, string>
  identities: { name: string; seed: string; publicKey: string }[]
  cbor: { name: string; value: Json; hex: string }[]
  cborRejected: { hex: string; why: string }[]
  blocks: BlockVector[]
  fraudProofs: { name: string; kind: string; accused: string; evidence: string[]; encoded: string; id: string }[]
}

const path = join(import.meta.dirname, '..', '..', '..', 'test', 'vectors', 'core-v1.json')
const vectors = JSON.parse(readFileSync(path, 'utf8')) as Vectors

/** The file's tagged JSON back to a CBOR value: {"$bytes": hex}, {"$bigint": decimal}. */
function fromJson(j: Json): CborValue {
  if (Array.isArray(j)) return j.map(fromJson)
  if (j !== null && typeof j === 'object') {
    const keys = Object.keys(j)
    if (keys.length === 1 && keys[0] === '$bytes') return fromHex(j['$bytes'] as string)
    if (keys.length === 1 && keys[0] === '$bigint') return BigInt(j['$bigint'] as string)
    return Object.fromEntries(keys.map((k) => [k, fromJson(j[k]!)]))
  }
  return j
}

const seedOf = (signer: string): Uint8Array => fromHex(vectors.identities.find((i) => i.name === signer)!.seed)

// ## Checks

const File = suite('vectors: the file')

File('the vectors file is version 1 and holds every kind of vector', () => {
  assert.is(vectors.version, 1)
  assert.ok(vectors.cbor.length >= 30)
  assert.ok(vectors.cborRejected.length >= 10)
  assert.ok(vectors.blocks.length >= 5)
  assert.equal(vectors.fraudProofs.map((p) => p.kind).sort(), ['chain-break', 'double-countersign', 'double-sign'])
  const blocks = vectors.blocks.map((v) => v.fields)
  assert.ok(blocks.some((f) => f.seq === 1), 'a genesis block')
  assert.ok(blocks.some((f) => f.seq > 1), 'a block at seq > 1')
  assert.ok(blocks.some((f) => f.linkSeq === 0 && /[^0]/.test(f.linkPublicKey)), 'a proposal')
  assert.ok(blocks.some((f) => f.linkSeq > 0), 'an agreement')
  assert.ok(blocks.some((f) => !/[^0]/.test(f.linkPublicKey)), 'a unilateral block')
})

File('domain tags are the pinned bytes', () => {
  for (const [name, hex] of Object.entries(vectors.domainTags)) assert.is(toHex(domainTag(name as 'block')), hex, name)
})

File('identities: each seed gives the pinned public key', () => {
  for (const { name, seed, publicKey } of vectors.identities) assert.is(identityFromSeed(fromHex(seed)).publicKeyHex, publicKey, name)
})

File.run()

const Cbor = suite('vectors: canonical CBOR')

Cbor('every value encodes to the pinned bytes', () => {
  for (const { name, value, hex } of vectors.cbor) assert.is(toHex(encodeCanonical(fromJson(value))), hex, name)
})

Cbor('every pinned encoding decodes to its value and re-encodes to itself', () => {
  for (const { name, value, hex } of vectors.cbor) {
    const decoded = decodeCanonical(fromHex(hex))
    assert.is(toHex(encodeCanonical(decoded)), hex, name)
    assert.is(toHex(encodeCanonical(decoded)), toHex(encodeCanonical(fromJson(value))), name)
  }
})

Cbor('every pinned non-canonical encoding is refused with DecodeError', () => {
  for (const { hex, why } of vectors.cborRejected) {
    let thrown: unknown
    try {
      decodeCanonical(fromHex(hex))
    } catch (err) {
      thrown = err
    }
    assert.ok(thrown instanceof DecodeError, `${why} (${hex}) was accepted`)
  }
})

Cbor.run()

const Blocks = suite('vectors: half-blocks')

function fieldsOf(v: BlockVector): Omit<HalfBlock, 'signature'> {
  const f = v.fields
  return {
    publicKey: fromHex(f.publicKey),
    seq: f.seq,
    linkPublicKey: fromHex(f.linkPublicKey),
    linkSeq: f.linkSeq,
    previousHash: fromHex(f.previousHash),
    type: f.type,
    payload: fromJson(f.payload),
    timestamp: f.timestamp,
  }
}

Blocks('every pinned block decodes to its fields and re-encodes to the same bytes', () => {
  for (const v of vectors.blocks) {
    const b = decodeBlock(fromHex(v.encoded))
    const f = fieldsOf(v)
    assert.is(toHex(b.publicKey), v.fields.publicKey, v.name)
    assert.is(b.seq, f.seq, v.name)
    assert.is(toHex(b.linkPublicKey), v.fields.linkPublicKey, v.name)
    assert.is(b.linkSeq, f.linkSeq, v.name)
    assert.is(toHex(b.previousHash), v.fields.previousHash, v.name)
    assert.is(b.type, f.type, v.name)
    assert.is(toHex(encodeCanonical(b.payload)), toHex(encodeCanonical(f.payload)), v.name)
    assert.is(b.timestamp, f.timestamp, v.name)
    assert.is(toHex(b.signature), v.signature, v.name)
    assert.is(toHex(encodeBlock(b)), v.encoded, v.name)
    assert.is(v.encoded, v.unsigned + v.signature, `${v.name}: encoded = unsigned ‖ signature`)
  }
})

Blocks('every pinned block has the pinned hash and a signature that verifies', () => {
  for (const v of vectors.blocks) {
    const b = decodeBlock(fromHex(v.encoded))
    assert.is(toHex(blockHash(b)), v.hash, v.name)
    assert.ok(verifyBlock(b), `${v.name}: signature`)
  }
})

Blocks('signing the pinned fields with the pinned seed gives the same bytes and signature', () => {
  for (const v of vectors.blocks) {
    const b = signBlock(fieldsOf(v), identityFromSeed(seedOf(v.signer)))
    assert.is(toHex(encodeCanonical([b.publicKey, b.seq, b.linkPublicKey, b.linkSeq, b.previousHash, b.type, b.payload, b.timestamp])), v.unsigned, v.name)
    assert.is(toHex(blockHash(b)), v.hash, v.name)
    assert.is(toHex(b.signature), v.signature, v.name)
    assert.is(toHex(encodeBlock(b)), v.encoded, v.name)
  }
})

Blocks('the pinned chains link: each previousHash is the pinned hash of the block before, or genesis', () => {
  const byKeySeq = new Map(vectors.blocks.map((v) => [`${v.fields.publicKey}:${v.fields.seq}`, v]))
  let linked = 0
  for (const v of vectors.blocks) {
    if (v.fields.seq === 1) {
      assert.is(v.fields.previousHash, '00'.repeat(32), v.name)
      continue
    }
    const prev = byKeySeq.get(`${v.fields.publicKey}:${v.fields.seq - 1}`)
    if (prev !== undefined && !v.name.includes('fork')) {
      assert.is(v.fields.previousHash, prev.hash, v.name)
      linked++
    }
  }
  assert.ok(linked >= 2)
})

Blocks.run()

const Proofs = suite('vectors: fraud proofs')

Proofs('every pinned proof decodes, re-encodes to the same bytes, has the pinned id and verifies', () => {
  for (const v of vectors.fraudProofs) {
    const proof = decodeFraudProof(fromHex(v.encoded))
    assert.is(proof.kind, v.kind, v.name)
    assert.is(toHex(proof.publicKey), v.accused, v.name)
    assert.is(toHex(encodeFraudProof(proof)), v.encoded, v.name)
    assert.is(toHex(fraudProofId(proof)), v.id, v.name)
    assert.equal(verifyFraudProof(proof), { ok: true }, v.name)
  }
})

Proofs('rebuilding each proof from its pinned evidence blocks, in either order, gives the pinned bytes and id', () => {
  const byName = new Map(vectors.blocks.map((v) => [v.name, decodeBlock(fromHex(v.encoded))]))
  for (const v of vectors.fraudProofs) {
    const evidence = v.evidence.map((n) => byName.get(n)!)
    for (const order of [evidence, [...evidence].reverse()]) {
      const proof = createFraudProof(v.kind, order)
      assert.is(toHex(encodeFraudProof(proof)), v.encoded, v.name)
      assert.is(toHex(fraudProofId(proof)), v.id, v.name)
    }
  }
})

Proofs.run()
