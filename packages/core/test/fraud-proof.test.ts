/**
 * Fraud proofs: each kind made, encoded, decoded and verified from its bytes alone; one fraud has
 * one id; and forged or misfiled evidence never verifies, so nobody honest can be framed.
 */
import { createHash } from 'node:crypto'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  DecodeError,
  allFraudVerifiers,
  createBlockTypes,
  FRAUD_PROOF_LIMITS,
  UNILATERAL_KEY,
  blockHash,
  concatBytes,
  createFraudProof,
  decodeFraudProof,
  describeFraudProof,
  domainTag,
  encodeBlock,
  encodeCanonical,
  encodeFraudProof,
  fraudProofId,
  toHex,
  verifyFraudProof,
  type FraudProof,
  type FraudVerifier,
  type CryptoProvider,
  type HalfBlock,
  nobleCrypto,
} from '@tally/core'
import fc from 'fast-check'
import { alice, block, bob, carol, chain, signRaw, fields, throwsLike } from './helpers.ts'

// ## Evidence: one instance of each fraud by alice, and bob's honest blocks

const honest = chain(alice, 4)
const at = (seq: number): HalfBlock => honest[seq - 1]!

/** double-sign: a second block at seq 3 with the same previous hash and another payload. */
const forkAt3 = block(alice, { seq: 3, link: UNILATERAL_KEY, previousHash: at(3).previousHash, payload: ['forked', 3] })
/** chain-break: a block at seq 4 that does not chain to the honest seq 3 (it chains to the fork). */
const afterFork = block(alice, { seq: 4, link: UNILATERAL_KEY, previousHash: blockHash(forkAt3), payload: ['forked', 4] })
/** double-countersign: two agreements by bob to alice's proposal at seq 1. */
const agree1 = block(bob, { seq: 1, link: alice.publicKey, linkSeq: 1, payload: 'ok' })
const agree2 = block(bob, { seq: 2, link: alice.publicKey, linkSeq: 1, payload: 'ok', previousHash: blockHash(agree1) })

const cases: [string, HalfBlock, HalfBlock][] = [
  ['double-sign', at(3), forkAt3],
  ['chain-break', at(3), afterFork],
  ['double-countersign', agree1, agree2],
]

function reasonOf(proof: FraudProof, verifiers?: ReadonlyMap<string, FraudVerifier>): string {
  const result = verifyFraudProof(proof, verifiers === undefined ? {} : { verifiers })
  assert.is(result.ok, false, `the ${proof.kind} proof must not verify`)
  return (result as { reason: string }).reason
}

// ## Each kind

const Kinds = suite('fraud-proof: each kind')

for (const [kind, a, b] of cases) {
  Kinds(`${kind}: created, encoded, decoded and verified from the bytes alone`, () => {
    const proof = createFraudProof(kind, [a, b])
    assert.equal(verifyFraudProof(proof), { ok: true })
    const bytes = encodeFraudProof(proof)
    const back = decodeFraudProof(bytes)
    assert.is(back.kind, kind)
    assert.is(toHex(back.publicKey), toHex(a.publicKey))
    assert.equal(verifyFraudProof(back), { ok: true })
    assert.is(toHex(encodeFraudProof(back)), toHex(bytes))
    assert.is(toHex(fraudProofId(back)), toHex(fraudProofId(proof)))
  })
}

Kinds('the layout is canonical CBOR [kind, [encoded blocks...]] and the id is SHA-256 over the domain tag and it', () => {
  const proof = createFraudProof('double-sign', [at(3), forkAt3])
  const bytes = encodeFraudProof(proof)
  assert.is(toHex(bytes), toHex(encodeCanonical(['double-sign', proof.blocks.map(encodeBlock)])))
  const expected = createHash('sha256').update(concatBytes(domainTag('fraud-proof'), bytes)).digest('hex')
  assert.is(toHex(fraudProofId(proof)), expected)
  assert.is.not(toHex(fraudProofId(proof)), createHash('sha256').update(bytes).digest('hex'))
})

Kinds('the proof id is stable whatever order the evidence comes in', () => {
  for (const [kind, a, b] of cases) {
    const one = createFraudProof(kind, [a, b])
    const two = createFraudProof(kind, [b, a])
    assert.is(toHex(encodeFraudProof(one)), toHex(encodeFraudProof(two)))
    assert.is(toHex(fraudProofId(one)), toHex(fraudProofId(two)))
  }
})

Kinds('different frauds have different ids', () => {
  const ids = new Set(cases.map(([kind, a, b]) => toHex(fraudProofId(createFraudProof(kind, [a, b])))))
  assert.is(ids.size, cases.length)
})

Kinds('describeFraudProof names the kind, a shortened key and the seqs', () => {
  const text = describeFraudProof(createFraudProof('chain-break', [afterFork, at(3)]))
  assert.match(text, /^chain-break by [0-9a-f]{16}… \(blocks at seq 3, 4\)$/)
  assert.ok(text.includes(alice.publicKeyHex.slice(0, 16)))
  assert.not.ok(text.includes(alice.publicKeyHex))
})

Kinds('createFraudProof refuses a malformed kind or evidence list with RangeError', () => {
  throwsLike(() => createFraudProof('Double-Sign', [at(1), at(2)]), RangeError, /"kind"/)
  throwsLike(() => createFraudProof('', [at(1)]), RangeError, /"kind"/)
  throwsLike(() => createFraudProof('x'.repeat(65), [at(1)]), RangeError, /"kind"/)
  throwsLike(() => createFraudProof('double-sign', []), RangeError, /"blocks"/)
  throwsLike(() => createFraudProof('double-sign', Array(FRAUD_PROOF_LIMITS.maxBlocks + 1).fill(at(1))), RangeError, /"blocks"/)
})

Kinds.run()

// ## Forged evidence

const Forged = suite('fraud-proof: forged evidence never verifies')

Forged('a tampered signature', () => {
  const sig = Uint8Array.from(forkAt3.signature)
  sig[0]! ^= 1
  const tampered = Object.freeze({ ...forkAt3, signature: sig })
  assert.is(reasonOf(createFraudProof('double-sign', [at(3), tampered])), 'a signature does not verify')
})

Forged('a block claiming alice\'s key but signed by another key', () => {
  const f = { ...forkAt3 }
  const framed = Object.freeze({ ...f, signature: carol.sign(blockHash(f)) })
  assert.is(reasonOf(createFraudProof('double-sign', [at(3), framed])), 'a signature does not verify')
})

Forged('blocks by two keys', () => {
  const bobs = chain(bob, 3)
  assert.is(reasonOf(createFraudProof('double-sign', [at(3), bobs[2]!])), 'evidence signed by different keys')
  assert.is(reasonOf(createFraudProof('chain-break', [at(2), bobs[2]!])), 'evidence signed by different keys')
})

Forged('a proof whose accused key is not the evidence\'s signer', () => {
  const proof = createFraudProof('double-sign', [at(3), forkAt3])
  assert.is(reasonOf({ ...proof, publicKey: bob.publicKey }), 'evidence signed by different keys')
})

Forged('the same block twice', () => {
  assert.is(reasonOf(createFraudProof('double-sign', [at(3), at(3)])), 'the same block twice')
  assert.is(reasonOf(createFraudProof('double-countersign', [agree1, agree1])), 'the same block twice')
})

Forged('double-sign at different seqs', () => {
  assert.is(reasonOf(createFraudProof('double-sign', [at(2), at(3)])), 'blocks at different seq')
  assert.is(reasonOf(createFraudProof('double-sign', [at(2), forkAt3])), 'blocks at different seq')
})

Forged('chain-break where the blocks do chain', () => {
  for (let s = 1; s < honest.length; s++) assert.is(reasonOf(createFraudProof('chain-break', [at(s), at(s + 1)])), 'the blocks do chain')
  assert.is(reasonOf(createFraudProof('chain-break', [forkAt3, afterFork])), 'the blocks do chain')
})

Forged('chain-break of non-consecutive blocks', () => {
  assert.is(reasonOf(createFraudProof('chain-break', [at(1), at(3)])), 'blocks are not consecutive')
  assert.is(reasonOf(createFraudProof('chain-break', [at(2), afterFork])), 'blocks are not consecutive')
  assert.is(reasonOf(createFraudProof('chain-break', [at(3), forkAt3])), 'blocks are not consecutive')
})

Forged('double-countersign of different proposals, or of blocks that are not agreements', () => {
  const toOther = block(bob, { seq: 2, link: alice.publicKey, linkSeq: 2, payload: 'ok', previousHash: blockHash(agree1) })
  assert.is(reasonOf(createFraudProof('double-countersign', [agree1, toOther])), 'agreements answer different proposals')
  const toCarol = block(bob, { seq: 2, link: carol.publicKey, linkSeq: 1, payload: 'ok', previousHash: blockHash(agree1) })
  assert.is(reasonOf(createFraudProof('double-countersign', [agree1, toCarol])), 'agreements answer different proposals')
  const proposal = block(bob, { seq: 2, link: alice.publicKey, linkSeq: 0, previousHash: blockHash(agree1) })
  assert.is(reasonOf(createFraudProof('double-countersign', [agree1, proposal])), 'both blocks must be agreements')
  assert.is(reasonOf(createFraudProof('double-countersign', [at(3), forkAt3])), 'both blocks must be agreements')
})

Forged('evidence of the wrong size: one block, or three', () => {
  for (const [kind, a, b] of cases) {
    assert.match(reasonOf(createFraudProof(kind, [a])), /exactly two blocks/)
    const third = block(a === agree1 ? bob : alice, { seq: 9, previousHash: new Uint8Array(32).fill(9), payload: 'third' })
    assert.match(reasonOf(createFraudProof(kind, [a, b, third])), /exactly two blocks/)
  }
  assert.is(reasonOf({ kind: 'double-sign', publicKey: alice.publicKey, blocks: [] }), 'no evidence')
})

Forged('an unknown kind', () => {
  assert.is(reasonOf(createFraudProof('made-up', [at(3), forkAt3])), 'unknown fraud kind made-up')
})

Forged('a type-supplied verifier cannot redefine a core kind to frame an honest chain', () => {
  const lenient = new Map<string, FraudVerifier>([['chain-break', () => undefined], ['double-sign', () => undefined]])
  assert.is(reasonOf(createFraudProof('chain-break', [at(1), at(2)]), lenient), 'the blocks do chain')
  assert.is(reasonOf(createFraudProof('double-sign', [at(1), at(1)]), lenient), 'the same block twice')
})

Forged.run()

// ## decodeFraudProof

const Decode = suite('fraud-proof: decodeFraudProof refuses malformed bytes')

function refused(bytes: Uint8Array, pattern?: RegExp): void {
  let thrown: unknown
  try {
    decodeFraudProof(bytes)
  } catch (err) {
    thrown = err
  }
  assert.ok(thrown instanceof DecodeError, `expected DecodeError, got ${String(thrown)}`)
  if (pattern !== undefined) assert.match((thrown as Error).message, pattern)
}

Decode('evidence in a non-canonical order (the same proof with its blocks swapped)', () => {
  const proof = createFraudProof('double-sign', [at(3), forkAt3])
  const swapped = encodeCanonical(['double-sign', [...proof.blocks].reverse().map(encodeBlock)])
  assert.is.not(toHex(swapped), toHex(encodeFraudProof(proof)))
  refused(swapped, /canonical order/)
  const chainSwapped = encodeCanonical(['chain-break', [afterFork, at(3)].map(encodeBlock)])
  refused(chainSwapped, /canonical order/)
})

Decode('not [kind, evidence]: a map, one element, four elements (three: see attachments)', () => {
  const blocks = [at(3), forkAt3].map(encodeBlock)
  refused(encodeCanonical({ kind: 'double-sign', evidence: blocks }), /\[kind, evidence\]/)
  refused(encodeCanonical(['double-sign']), /\[kind, evidence\]/)
  refused(encodeCanonical(['double-sign', blocks, [Uint8Array.of(1)], 0]), /\[kind, evidence\]/)
  refused(encodeCanonical(['double-sign', blocks, 0]), /attachments/)
})

Decode('a malformed kind', () => {
  const blocks = [at(3), forkAt3].map(encodeBlock)
  for (const kind of ['', 'Double', 'x'.repeat(65), 'a b', 7]) refused(encodeCanonical([kind, blocks]), /kind/)
})

Decode('evidence that is empty, too long, not byte strings, or not blocks', () => {
  refused(encodeCanonical(['double-sign', []]), /evidence/)
  refused(encodeCanonical(['double-sign', Array(FRAUD_PROOF_LIMITS.maxBlocks + 1).fill(encodeBlock(at(1)))]), /evidence/)
  refused(encodeCanonical(['double-sign', ['not bytes']]), /encoded blocks/)
  refused(encodeCanonical(['double-sign', [new Uint8Array(100)]]))
  refused(encodeCanonical(['double-sign', 'x']), /evidence/)
})

Decode('trailing bytes, truncation, oversize input, empty input', () => {
  const bytes = encodeFraudProof(createFraudProof('double-sign', [at(3), forkAt3]))
  refused(concatBytes(bytes, Uint8Array.of(0)))
  for (const n of [0, 1, 10, bytes.length - 1]) refused(bytes.subarray(0, n))
  refused(new Uint8Array(FRAUD_PROOF_LIMITS.maxBytes + 1), /exceeds/)
})

Decode('a flipped bit anywhere in a proof: decode refuses it, or the proof no longer verifies', () => {
  const bytes = encodeFraudProof(createFraudProof('chain-break', [at(3), afterFork]))
  // every bit of the kind and the first block's header; a sample of the rest (each verify is slow)
  const positions = [...Array(40).keys(), ...Array.from({ length: 30 }, (_, i) => 40 + Math.floor((i * (bytes.length - 41)) / 29))]
  for (const i of positions) {
    for (const bit of [0, 3, 7]) {
      const t = Uint8Array.from(bytes)
      t[i]! ^= 1 << bit
      let proof: FraudProof
      try {
        proof = decodeFraudProof(t)
      } catch (err) {
        assert.instance(err, DecodeError)
        continue
      }
      assert.is(verifyFraudProof(proof).ok, false, `flip at byte ${i} bit ${bit} still verifies`)
    }
  }
})

Decode.run()

// ## verifyFraudProof of malformed input

const Malformed = suite('fraud-proof: verifyFraudProof answers any value, never throws')

const cyclic: Record<string, unknown> = {}
cyclic['self'] = cyclic
const blocks = [at(3), forkAt3] as const
const proofOf = (over: Record<string, unknown>): unknown => ({ kind: 'double-sign', publicKey: alice.publicKey, blocks, ...over })
const blockWith = (over: Record<string, unknown>): unknown => ({ ...forkAt3, ...over })

/** A shared table of values that are not fraud proofs: each must come back { ok: false, reason }. */
const BAD_PROOFS: readonly [string, unknown][] = [
  ['undefined', undefined],
  ['null', null],
  ['a number', 0],
  ['a bigint', 1n],
  ['a string', 'double-sign'],
  ['a boolean', true],
  ['a symbol', Symbol('proof')],
  ['a function', () => 1],
  ['bytes', encodeFraudProof(createFraudProof('double-sign', [...blocks]))],
  ['an empty array', []],
  ['an array [kind, blocks]', ['double-sign', blocks]],
  ['an empty object', {}],
  ['{ kind, blocks: [] }', { kind: 'x', blocks: [] }],
  ['no kind', proofOf({ kind: undefined })],
  ['a numeric kind', proofOf({ kind: 42 })],
  ['a symbol kind', proofOf({ kind: Symbol('double-sign') })],
  ['a kind out of pattern', proofOf({ kind: 'Double Sign' })],
  ['a kind of 100 characters', proofOf({ kind: 'x'.repeat(100) })],
  ['no key', proofOf({ publicKey: undefined })],
  ['a key of 31 bytes', proofOf({ publicKey: alice.publicKey.subarray(1) })],
  ['a key in hex', proofOf({ publicKey: alice.publicKeyHex })],
  ['a key as a plain array', proofOf({ publicKey: [...alice.publicKey] })],
  ['no blocks', proofOf({ blocks: undefined })],
  ['blocks as a string', proofOf({ blocks: 'ab' })],
  ['blocks as an array-like', proofOf({ blocks: { length: 2, 0: blocks[0], 1: blocks[1] } })],
  ['empty evidence', proofOf({ blocks: [] })],
  ['17 blocks', proofOf({ blocks: Array(FRAUD_PROOF_LIMITS.maxBlocks + 1).fill(at(3)) })],
  ['10,000 blocks', proofOf({ blocks: Array(10_000).fill(at(3)) })],
  ['evidence of undefined', proofOf({ blocks: [undefined, undefined] })],
  ['evidence with a hole', proofOf({ blocks: [, at(3)] })],
  ['evidence of null and a block', proofOf({ blocks: [null, at(3)] })],
  ['evidence of numbers', proofOf({ blocks: [1, 2] })],
  ['evidence of encoded blocks', proofOf({ blocks: blocks.map(encodeBlock) })],
  ['evidence of empty objects', proofOf({ blocks: [{}, {}] })],
  ['a block without a signature', proofOf({ blocks: [at(3), blockWith({ signature: undefined })] })],
  ['a block with a 63-byte signature', proofOf({ blocks: [at(3), blockWith({ signature: forkAt3.signature.subarray(1) })] })],
  ['a block with a 31-byte key', proofOf({ blocks: [at(3), blockWith({ publicKey: alice.publicKey.subarray(1) })] })],
  ['a block without a payload', proofOf({ blocks: [at(3), blockWith({ payload: undefined })] })],
  ['a block with a function payload', proofOf({ blocks: [at(3), blockWith({ payload: () => 1 })] })],
  ['a block with a cyclic payload', proofOf({ blocks: [at(3), blockWith({ payload: cyclic })] })],
  ['a block with a float payload', proofOf({ blocks: [at(3), blockWith({ payload: 1.5 })] })],
  ['a block at seq -1', proofOf({ blocks: [at(3), blockWith({ seq: -1 })] })],
  ['a block at seq 1.5', proofOf({ blocks: [at(3), blockWith({ seq: 1.5 })] })],
  ['a block at seq "3"', proofOf({ blocks: [at(3), blockWith({ seq: '3' })] })],
  ['a block with a numeric type', proofOf({ blocks: [at(3), blockWith({ type: 42 })] })],
  ['a block with previousHash null', proofOf({ blocks: [at(3), blockWith({ previousHash: null })] })],
  ['a validly signed block over the size limit', proofOf({ blocks: [at(3), signRaw(fields(alice, { seq: 3, previousHash: at(3).previousHash, payload: new Uint8Array(20_000) }), alice)] })],
]

/** A provider that counts its work, to show where checking stops. */
function counting(): CryptoProvider & { verifies: number; hashes: number } {
  const c = {
    ...nobleCrypto,
    verifies: 0,
    hashes: 0,
    verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) {
      c.verifies++
      return nobleCrypto.verify(signature, message, publicKey)
    },
    sha256(data: Uint8Array) {
      c.hashes++
      return nobleCrypto.sha256(data)
    },
  }
  return c
}

Malformed('each value of the shared table of bad proofs comes back { ok: false, reason }, before any signature is checked', () => {
  // a lenient verifier for every kind: the shape checks come first, whatever a type would say
  const lenient = new Map<string, FraudVerifier>([['double-sign', () => undefined], ['x', () => undefined]])
  for (const [name, value] of BAD_PROOFS) {
    for (const verifiers of [undefined, lenient]) {
      const crypto = counting()
      let result: ReturnType<typeof verifyFraudProof> | undefined
      try {
        result = verifyFraudProof(value as FraudProof, verifiers === undefined ? { crypto } : { crypto, verifiers })
      } catch (err) {
        assert.unreachable(`${name}: threw ${String(err)}`)
      }
      assert.is(result?.ok, false, name)
      const reason = (result as { reason?: unknown }).reason
      assert.ok(typeof reason === 'string' && reason.length > 0 && reason.length < 100, `${name}: reason ${String(reason)}`)
      assert.is(crypto.verifies, 0, `${name}: a signature was checked`)
    }
  }
})

Malformed('the reasons say what is wrong', () => {
  const reason = (value: unknown): string => (verifyFraudProof(value as FraudProof) as { reason: string }).reason
  assert.is(reason(undefined), 'not a fraud proof')
  assert.is(reason({ kind: 'x', blocks: [] }), 'the accused key is not 32 bytes')
  assert.is(reason(proofOf({ kind: 7 })), 'malformed kind')
  assert.is(reason(proofOf({ blocks: 'ab' })), 'the evidence is not a list')
  assert.is(reason(proofOf({ blocks: [] })), 'no evidence')
  assert.is(reason(proofOf({ blocks: Array(10_000).fill(at(3)) })), `more than ${FRAUD_PROOF_LIMITS.maxBlocks} blocks of evidence`)
  assert.is(reason(proofOf({ blocks: [at(3), 'block'] })), 'the evidence holds something that is not a block')
  // and the well-formed proof these are variations of verifies
  assert.equal(verifyFraudProof(proofOf({}) as FraudProof), { ok: true })
})

Malformed('random values and random proof-shaped values never throw, and verify only as real fraud', () => {
  const real = new Set([at(3), forkAt3, afterFork, agree1, agree2])
  const kinds = ['double-sign', 'chain-break', 'double-countersign'] as const
  const value = fc.oneof(
    // the fixtures' blocks under any core kind and either key: now and then a real fraud
    fc.record({ kind: fc.constantFrom(...kinds), publicKey: fc.constantFrom(alice.publicKey, bob.publicKey), blocks: fc.array(fc.constantFrom(...real), { minLength: 1, maxLength: 3 }) }),
    fc.anything({ withBigInt: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true }),
    fc.record({
      kind: fc.oneof(fc.constantFrom(...kinds, 'made-up'), fc.anything()),
      publicKey: fc.oneof(fc.constantFrom(alice.publicKey, bob.publicKey), fc.uint8Array({ maxLength: 40 }), fc.anything()),
      blocks: fc.oneof(
        fc.array(fc.oneof(fc.constantFrom(...real), fc.anything({ withTypedArray: true }), fc.anything().map((seq) => ({ ...forkAt3, seq }))), { maxLength: 20 }),
        fc.anything(),
      ),
    }),
  )
  let verified = 0
  fc.assert(
    fc.property(value, (x) => {
      const result = verifyFraudProof(x as FraudProof)
      if (!result.ok) return typeof result.reason === 'string'
      verified++
      const proof = x as FraudProof
      // only the fixtures' frauds verify: two real blocks by one key
      return proof.blocks.length === 2 && proof.blocks.every((b) => real.has(b))
    }),
    { numRuns: 2000, seed: 17 },
  )
  assert.ok(verified > 0, 'some random proofs were real frauds')
})

Malformed.run()

// ## Attachments

const Attachments = suite('fraud-proof: attachments')

// a type kind that reads one attachment: it proves fraud when the attachment is the byte 1
const reads: FraudVerifier = (_blocks, _crypto, attachments = []) =>
  attachments.length === 1 && attachments[0]!.length === 1 && attachments[0]![0] === 1 ? undefined : 'the attachment does not prove it'
const withAttachment = new Map<string, FraudVerifier>([['reads-one', reads]])

Attachments('kept in order, encoded as a third element, decoded and verified from the bytes alone', () => {
  const proof = createFraudProof('reads-one', [at(2)], [Uint8Array.of(1)])
  assert.equal(proof.attachments, [Uint8Array.of(1)])
  const bytes = encodeFraudProof(proof)
  assert.is(toHex(bytes), toHex(encodeCanonical(['reads-one', [encodeBlock(at(2))], [Uint8Array.of(1)]])))
  const back = decodeFraudProof(bytes)
  assert.equal(back.attachments, [Uint8Array.of(1)])
  assert.equal(verifyFraudProof(back, { verifiers: withAttachment }), { ok: true })
  assert.match(describeFraudProof(back), /1 attachment/)
  // the attachment is part of the id: another attachment is another proof
  assert.is.not(toHex(fraudProofId(back)), toHex(fraudProofId(createFraudProof('reads-one', [at(2)], [Uint8Array.of(2)]))))
  const order = createFraudProof('reads-one', [at(2)], [Uint8Array.of(2), Uint8Array.of(1)])
  assert.equal(decodeFraudProof(encodeFraudProof(order)).attachments, [Uint8Array.of(2), Uint8Array.of(1)])
})

Attachments('without attachments a proof has none, and its encoding is the two-element one', () => {
  const proof = createFraudProof('double-sign', [at(3), forkAt3], [])
  assert.is(proof.attachments, undefined)
  assert.is(toHex(encodeFraudProof(proof)), toHex(encodeCanonical(['double-sign', [at(3), forkAt3].map(encodeBlock)])))
  assert.is(reasonOf(createFraudProof('reads-one', [at(2)]), withAttachment), 'the attachment does not prove it')
})

Attachments('core kinds take none: a genuine fork with an attachment does not verify', () => {
  assert.is(reasonOf(createFraudProof('double-sign', [at(3), forkAt3], [Uint8Array.of(1)])), 'double-sign takes no attachments')
})

Attachments('malformed attachments are refused by create, decode and verify', () => {
  throwsLike(() => createFraudProof('reads-one', [at(2)], Array(FRAUD_PROOF_LIMITS.maxAttachments + 1).fill(Uint8Array.of(1))), RangeError, /"attachments"/)
  throwsLike(() => createFraudProof('reads-one', [at(2)], ['x' as never]), TypeError, /"attachments"/)
  const evidence = [encodeBlock(at(2))]
  refused(encodeCanonical(['reads-one', evidence, []]), /attachments/)
  refused(encodeCanonical(['reads-one', evidence, ['text']]), /attachments/)
  refused(encodeCanonical(['reads-one', evidence, 7]), /attachments/)
  refused(encodeCanonical(['reads-one', evidence, Array(FRAUD_PROOF_LIMITS.maxAttachments + 1).fill(Uint8Array.of(1))]), /attachments/)
  const forged = { kind: 'reads-one', publicKey: alice.publicKey, blocks: [at(2)], attachments: ['x'] } as unknown as FraudProof
  assert.match(reasonOf(forged, withAttachment), /attachments/)
})

Attachments.run()

const OnDemand = suite('fraud-proof: a block type\'s kinds whose verifiers load on demand')

OnDemand('named at once, verified once loaded; loaded once; a failed load is tried again', async () => {
  let loads = 0
  let fail = true
  const types = createBlockTypes([
    {
      name: 'note',
      fraudKinds: { 'now-kind': reads },
      fraudKindsOnDemand: {
        'reads-one': async () => {
          loads++
          if (fail) throw new Error('offline')
          return reads
        },
      },
    },
  ])
  // the kind is taken at once: another type cannot define it again
  throwsLike(() => types.define({ name: 'other', fraudKinds: { 'reads-one': reads } }), RangeError, /already defined/)
  throwsLike(() => types.define({ name: 'twice', fraudKinds: { k: reads }, fraudKindsOnDemand: { k: async () => reads } }), RangeError, /twice/)
  // not loaded: the synchronous map holds only what is loaded
  assert.equal([...types.fraudVerifiers().keys()], ['now-kind'])
  const proof = createFraudProof('reads-one', [at(2)], [Uint8Array.of(1)])
  const failed = await allFraudVerifiers(types).then(() => undefined, (err: Error) => err)
  assert.match(String(failed?.message), /offline/)
  fail = false
  const verifiers = await allFraudVerifiers(types)
  assert.equal(verifyFraudProof(proof, { verifiers }), { ok: true })
  assert.equal(verifyFraudProof(createFraudProof('reads-one', [at(2)], [Uint8Array.of(2)]), { verifiers }).ok, false)
  assert.equal([...types.fraudVerifiers().keys()].sort(), ['now-kind', 'reads-one'])
  await allFraudVerifiers(types)
  assert.is(loads, 2, 'loaded once after the failure')
})

OnDemand('a registry without such kinds answers with its verifiers', async () => {
  const types = createBlockTypes([{ name: 'note', fraudKinds: { 'reads-one': reads } }])
  assert.is(await allFraudVerifiers(types), types.fraudVerifiers())
  // a registry of the caller's own without loadFraudVerifiers
  const own = { get: () => undefined, define: () => undefined, fraudVerifiers: () => withAttachment }
  assert.is(await allFraudVerifiers(own), withAttachment)
})

OnDemand.run()
