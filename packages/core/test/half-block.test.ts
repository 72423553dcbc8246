/**
 * Half-blocks: signing, the wire layout, the domain-tagged hash, what decodeBlock refuses, the size
 * of a transfer, "flipping any byte makes a block invalid"; and the identity that signs them.
 */
import { createHash } from 'node:crypto'
import { inspect } from 'node:util'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {
  BLOCK_LIMITS,
  DecodeError,
  GENESIS_HASH,
  UNILATERAL_KEY,
  blockHash,
  blockSize,
  checkBlock,
  concatBytes,
  createAgent,
  createMemoryStore,
  decodeBlock,
  decodeCanonical,
  decodeFraudProof,
  domainTag,
  encodeBlock,
  encodeCanonical,
  encodedView,
  fromHex,
  generateIdentity,
  identityFromSeed,
  isAgreement,
  isProposal,
  isUnilateral,
  nobleCrypto,
  signBlock,
  toHex,
  validate,
  verifyBlock,
  type CborValue,
  type HalfBlock,
  type UnsignedHalfBlock,
} from '@tally/core'
import { T0, alice, bob, block, fields, seedOf, throwsLike } from './helpers.ts'

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** The unsigned part as the module documents it: canonical CBOR of the 8 fields in order. */
function unsignedOf(f: UnsignedHalfBlock): Uint8Array {
  return encodeCanonical([f.publicKey, f.seq, f.linkPublicKey, f.linkSeq, f.previousHash, f.type, f.payload, f.timestamp])
}

/** Decoding must fail with DecodeError (and nothing else). */
function refused(bytes: Uint8Array, pattern?: RegExp): void {
  let thrown: unknown
  try {
    decodeBlock(bytes)
  } catch (err) {
    thrown = err
  }
  assert.ok(thrown instanceof DecodeError, `expected DecodeError, got ${String(thrown)}`)
  if (pattern !== undefined) assert.match((thrown as Error).message, pattern)
}

/** A block's fields as an array of 8, with `patch` applied at index `i`, followed by a signature. */
function withField(b: HalfBlock, i: number, value: unknown): Uint8Array {
  const arr: unknown[] = [b.publicKey, b.seq, b.linkPublicKey, b.linkSeq, b.previousHash, b.type, b.payload, b.timestamp]
  arr[i] = value
  return concatBytes(encodeCanonical(arr), b.signature)
}

// ## Round trip and layout

const RoundTrip = suite('half-block: sign, encode, decode')

const proposal = block(alice, { seq: 1, link: bob.publicKey, payload: { amount: 5, memo: 'tea' } })

RoundTrip('decodeBlock(encodeBlock(b)) gives back every field and the same bytes, hash and signature', () => {
  const bytes = encodeBlock(proposal)
  const back = decodeBlock(bytes)
  assert.is(toHex(back.publicKey), alice.publicKeyHex)
  assert.is(back.seq, 1)
  assert.is(toHex(back.linkPublicKey), bob.publicKeyHex)
  assert.is(back.linkSeq, 0)
  assert.is(toHex(back.previousHash), toHex(GENESIS_HASH))
  assert.is(back.type, 'note')
  assert.equal(back.payload, { amount: 5, memo: 'tea' })
  assert.is(back.timestamp, T0)
  assert.is(toHex(back.signature), toHex(proposal.signature))
  assert.is(toHex(encodeBlock(back)), toHex(bytes))
  assert.is(toHex(blockHash(back)), toHex(blockHash(proposal)))
  assert.ok(verifyBlock(back))
})

RoundTrip('signed and decoded blocks are frozen', () => {
  assert.ok(Object.isFrozen(proposal))
  assert.ok(Object.isFrozen(decodeBlock(encodeBlock(proposal))))
})

RoundTrip('the wire layout is canonical CBOR array(8) of the fields followed by the 64 raw signature bytes', () => {
  const bytes = encodeBlock(proposal)
  const unsigned = unsignedOf(proposal)
  assert.is(bytes.length, unsigned.length + 64)
  assert.is(toHex(bytes.subarray(0, unsigned.length)), toHex(unsigned))
  assert.is(toHex(bytes.subarray(unsigned.length)), toHex(proposal.signature))
  assert.is(bytes[0], 0x88)
  assert.is(blockSize(proposal), bytes.length)
})

RoundTrip('the signature is the owner\'s Ed25519 signature over the block hash', () => {
  assert.ok(nobleCrypto.verify(proposal.signature, blockHash(proposal), alice.publicKey))
  assert.is(toHex(proposal.signature), toHex(alice.sign(blockHash(proposal))))
  assert.not.ok(nobleCrypto.verify(proposal.signature, blockHash(proposal), bob.publicKey))
})

RoundTrip('signing is deterministic: the same fields give the same bytes', () => {
  const again = block(alice, { seq: 1, link: bob.publicKey, payload: { memo: 'tea', amount: 5 } })
  assert.is(toHex(encodeBlock(again)), toHex(encodeBlock(proposal)))
})

RoundTrip('signBlock refuses a key that does not own the chain, and seq 0', () => {
  throwsLike(() => signBlock(fields(alice), bob), RangeError, /"key"/)
  throwsLike(() => signBlock(fields(alice, { seq: 0 }), alice), RangeError, /"seq"/)
})

RoundTrip('signBlock names the first malformed field (TypeError for a type, RangeError for a length or range)', () => {
  const f = fields(alice)
  throwsLike(() => signBlock({ ...f, publicKey: alice.publicKey.subarray(0, 31) }, alice), RangeError, /"publicKey".*length=31/)
  throwsLike(() => signBlock({ ...f, linkPublicKey: new Uint8Array(33) }, alice), RangeError, /"linkPublicKey"/)
  throwsLike(() => signBlock({ ...f, previousHash: '00' as unknown as Uint8Array }, alice), TypeError, /"previousHash"/)
  throwsLike(() => signBlock({ ...f, seq: 1.5 }, alice), TypeError, /"seq"/)
  throwsLike(() => signBlock({ ...f, linkSeq: -1 }, alice), RangeError, /"linkSeq"/)
  throwsLike(() => signBlock({ ...f, type: 'Transfer' }, alice), RangeError, /"type"/)
  throwsLike(() => signBlock({ ...f, type: 'x'.repeat(BLOCK_LIMITS.maxTypeLength + 1) }, alice), RangeError, /"type"/)
  throwsLike(() => signBlock({ ...f, payload: undefined as unknown as CborValue }, alice), TypeError, /"payload"/)
  throwsLike(() => signBlock({ ...f, payload: 0.5 }, alice), TypeError)
  throwsLike(() => signBlock({ ...f, timestamp: -1 }, alice), RangeError, /"timestamp"/)
})

RoundTrip('proposal / agreement / unilateral are told apart by linkPublicKey and linkSeq', () => {
  const agreement = block(bob, { seq: 1, link: alice.publicKey, linkSeq: 1 })
  const unilateral = block(alice, { seq: 1, link: UNILATERAL_KEY })
  assert.ok(isProposal(proposal) && !isAgreement(proposal) && !isUnilateral(proposal))
  assert.ok(isAgreement(agreement) && !isProposal(agreement) && !isUnilateral(agreement))
  assert.ok(isUnilateral(unilateral) && !isProposal(unilateral) && !isAgreement(unilateral))
})

RoundTrip('blocks decoded one after another keep their own bytes, keys and hashes (decode shares buffers between blocks)', () => {
  // blocks of every size around the shared buffers' bounds: small ones share, large ones do not
  const sent = Array.from({ length: 120 }, (_, i) => block(alice, { seq: i + 1, link: i % 2 === 0 ? bob.publicKey : UNILATERAL_KEY, payload: 'x'.repeat((i * 37) % 1500) }))
  const wire = sent.map((b) => encodeBlock(b).slice())
  const got = wire.map(decodeBlock)
  for (let i = 0; i < sent.length; i++) {
    assert.equal(encodeBlock(got[i]!), wire[i]!)
    assert.is(toHex(blockHash(got[i]!)), toHex(blockHash(sent[i]!)))
    assert.equal(got[i]!.signature, sent[i]!.signature)
    assert.equal(got[i]!.previousHash, sent[i]!.previousHash)
    assert.equal(got[i]!.linkPublicKey, sent[i]!.linkPublicKey)
  }
})

RoundTrip('encodedView: the same bytes as encodeBlock; a view of a decoded block\'s buffer, while encodeBlock copies it', () => {
  const signed = block(alice)
  const bytes = encodeBlock(signed)
  // decoded from a larger buffer, as blocks decoded into shared slabs are
  const padded = concatBytes(new Uint8Array(5), bytes, new Uint8Array(7))
  const decoded = decodeBlock(padded.subarray(5, 5 + bytes.length))
  for (const b of [signed, decoded]) assert.equal(toHex(encodedView(b)), toHex(bytes))
  const view = encodedView(decoded)
  const copy = encodeBlock(decoded)
  assert.equal(toHex(copy), toHex(bytes))
  assert.ok(copy.buffer.byteLength === copy.length, 'encodeBlock of a decoded block owns its buffer (pins no slab)')
  assert.ok(view.buffer.byteLength > view.length, 'encodedView of a decoded block is a view of the buffer it was decoded into')
})

RoundTrip.run()

// ## Hash

const Hash = suite('half-block: hash')

Hash('the hash is SHA-256 over the "tally/v1/block" domain tag and the unsigned bytes', () => {
  const unsigned = unsignedOf(proposal)
  assert.is(toHex(domainTag('block')), toHex(encodeCanonical('tally/v1/block')))
  assert.is(toHex(blockHash(proposal)), sha256(concatBytes(domainTag('block'), unsigned)))
})

Hash('the hash is not the plain SHA-256 of the unsigned bytes (it is domain-tagged)', () => {
  assert.is.not(toHex(blockHash(proposal)), sha256(unsignedOf(proposal)))
  assert.is.not(toHex(blockHash(proposal)), sha256(encodeBlock(proposal)))
})

Hash('every field but the signature changes the hash', () => {
  const base = fields(alice, { seq: 2, link: bob.publicKey, previousHash: new Uint8Array(32).fill(1), payload: [1, 2] })
  const h = toHex(blockHash(signBlock(base, alice)))
  const variants: Partial<UnsignedHalfBlock>[] = [
    { seq: 3 },
    { linkPublicKey: UNILATERAL_KEY },
    { linkSeq: 1 },
    { previousHash: new Uint8Array(32).fill(2) },
    { type: 'notf' },
    { payload: [1, 3] },
    { timestamp: T0 + 1 },
  ]
  for (const patch of variants) assert.is.not(toHex(blockHash(signBlock({ ...base, ...patch }, alice))), h, JSON.stringify(Object.keys(patch)))
})

Hash('a hand-built, unfrozen block hashes like the signed one', () => {
  const loose = { ...proposal }
  assert.is(toHex(blockHash(loose)), toHex(blockHash(proposal)))
  assert.ok(verifyBlock(loose))
})

Hash.run()

// ## decodeBlock refuses

const Refuse = suite('half-block: decodeBlock refuses malformed bytes')

Refuse('an array of 7 or 9 fields, or a map, or a bare value', () => {
  const b = proposal
  const all = [b.publicKey, b.seq, b.linkPublicKey, b.linkSeq, b.previousHash, b.type, b.payload, b.timestamp]
  refused(concatBytes(encodeCanonical(all.slice(0, 7)), b.signature), /8 fields/)
  refused(concatBytes(encodeCanonical([...all, 0]), b.signature), /8 fields/)
  refused(concatBytes(encodeCanonical({ publicKey: b.publicKey }), b.signature), /8 fields/)
  refused(concatBytes(encodeCanonical('block'), b.signature), /8 fields/)
})

Refuse('fields of the wrong type (text key, text seq, bytes linkSeq, numeric type, text timestamp, bigint seq)', () => {
  refused(withField(proposal, 0, alice.publicKeyHex), /publicKey/)
  refused(withField(proposal, 1, '1'), /seq/)
  refused(withField(proposal, 2, 0), /linkPublicKey/)
  refused(withField(proposal, 3, new Uint8Array(1)), /linkSeq/)
  refused(withField(proposal, 4, null), /previousHash/)
  refused(withField(proposal, 5, 7), /type/)
  refused(withField(proposal, 7, '1700000000000'), /timestamp/)
  refused(withField(proposal, 1, 2n ** 60n), /seq/)
  refused(withField(proposal, 1, -1), /seq/)
  refused(withField(proposal, 7, -5), /timestamp/)
})

Refuse('keys and hashes of 31 or 33 bytes', () => {
  for (const n of [0, 31, 33, 64]) {
    refused(withField(proposal, 0, new Uint8Array(n).fill(7)), /publicKey/)
    refused(withField(proposal, 2, new Uint8Array(n).fill(7)), /linkPublicKey/)
    refused(withField(proposal, 4, new Uint8Array(n).fill(7)), /previousHash/)
  }
})

Refuse('a type that is empty, uppercase, too long or has other characters', () => {
  for (const t of ['', 'Note', 'x'.repeat(BLOCK_LIMITS.maxTypeLength + 1), 'a b', '-x', 'é']) refused(withField(proposal, 5, t), /type/)
})

Refuse('a non-canonical unsigned part (non-shortest seq)', () => {
  const bytes = encodeBlock(proposal)
  // seq 1 is the byte after the 34-byte public key; write it as 1801 instead of 01
  assert.is(bytes[35], 0x01)
  refused(concatBytes(bytes.subarray(0, 35), Uint8Array.of(0x18, 0x01), bytes.subarray(36)), /canonical/)
})

Refuse('every truncation of a valid block', () => {
  const bytes = encodeBlock(proposal)
  for (let n = 0; n < bytes.length; n++) refused(bytes.subarray(0, n))
})

Refuse('trailing bytes after the signature (they shift the signature into the fields)', () => {
  const bytes = encodeBlock(proposal)
  refused(concatBytes(bytes, Uint8Array.of(0)))
})

Refuse('blocks over the size limit; a block exactly at the limit decodes', () => {
  const f = fields(alice, { payload: new Uint8Array(0) })
  const overhead = encodeBlock(signBlock(f, alice)).length
  // payload bstr head grows from 1 to 3 bytes for lengths 256..65535
  const fill = BLOCK_LIMITS.maxBytes - overhead - 2
  const atLimit = signBlock({ ...f, payload: new Uint8Array(fill) }, alice)
  assert.is(blockSize(atLimit), BLOCK_LIMITS.maxBytes)
  assert.is(decodeBlock(encodeBlock(atLimit)).seq, 1)
  throwsLike(() => signBlock({ ...f, payload: new Uint8Array(fill + 1) }, alice), RangeError, /exceeds/)
  refused(new Uint8Array(BLOCK_LIMITS.maxBytes + 1), /exceeds/)
  // the oversize block's own bytes (built by hand, signed by the owner) are refused too
  const bigUnsigned = unsignedOf({ ...f, payload: new Uint8Array(fill + 1) })
  refused(concatBytes(bigUnsigned, new Uint8Array(64)), /exceeds/)
})

Refuse('a payload nested deeper than the block limit; signBlock refuses to sign what peers could not decode', () => {
  const nest = (n: number): CborValue => {
    let v: CborValue = 0
    for (let i = 0; i < n; i++) v = [v]
    return v
  }
  // the block array is one level: the payload may nest maxDepth - 1 levels
  const deepest = block(alice, { payload: nest(BLOCK_LIMITS.maxDepth - 1) })
  assert.is(decodeBlock(encodeBlock(deepest)).seq, 1)
  refused(concatBytes(unsignedOf(fields(alice, { payload: nest(BLOCK_LIMITS.maxDepth) })), new Uint8Array(64)), /nesting/)
  throwsLike(() => block(alice, { payload: nest(BLOCK_LIMITS.maxDepth) }), RangeError, /"payload"/)
})

Refuse('a non-Uint8Array argument is a TypeError naming "bytes"', () => {
  for (const v of [undefined, null, 'ff', [1, 2], new ArrayBuffer(8), 42]) throwsLike(() => decodeBlock(v as unknown as Uint8Array), TypeError, /"bytes"/)
})

Refuse.run()

// ## Size

const Size = suite('half-block: size')

Size('a transfer-like agreement with realistic values fits in 200 bytes', () => {
  const b = signBlock(
    {
      publicKey: bob.publicKey,
      seq: 12_345,
      linkPublicKey: alice.publicKey,
      linkSeq: 54_321,
      previousHash: new Uint8Array(32).fill(0xab),
      type: 'transfer',
      payload: [65_535, 2 ** 32 - 1], // [amount < 2^16, balance < 2^32]
      timestamp: Date.now(),
    },
    bob,
  )
  const size = encodeBlock(b).length
  console.log(`    transfer-like block: ${size} bytes (limit 200)`)
  assert.ok(size <= 200, `${size} bytes`)
})

Size('every transfer-like block within those ranges fits in 200 bytes (seq, linkSeq < 2^16; amount < 2^16; balance < 2^32)', () => {
  const now = Date.now()
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 65_535 }),
      fc.integer({ min: 0, max: 65_535 }),
      fc.integer({ min: 0, max: 65_535 }),
      fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      fc.integer({ min: now, max: now + 100 * 365 * 86_400_000 }),
      (seq, linkSeq, amount, balance, timestamp) => {
        // blockSize needs no signature: a hand-built block with a placeholder one
        const b = { ...fields(bob, { seq, linkSeq, type: 'transfer', payload: [amount, balance], timestamp, previousHash: seq === 1 ? GENESIS_HASH : new Uint8Array(32).fill(1) }), signature: new Uint8Array(64) }
        return blockSize(b) <= 200
      },
    ),
    { numRuns: 500 },
  )
})

Size.run()

// ## Any flipped bit makes a block invalid

const Flip = suite('half-block: tamper evidence')

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const payloadArb: fc.Arbitrary<CborValue> = fc.oneof(
  fc.integer(),
  fc.string({ maxLength: 20 }),
  fc.uint8Array({ maxLength: 20 }),
  fc.array(fc.integer({ min: 0, max: 2 ** 32 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 3 }),
)
const blockArb = fc
  .record({
    seq: fc.integer({ min: 1, max: 1_000_000 }),
    kind: fc.constantFrom('proposal', 'agreement', 'unilateral'),
    link: key32,
    linkSeq: fc.integer({ min: 1, max: 1_000_000 }),
    previous: key32,
    type: fc.constantFrom('note', 'transfer', 'reward', 'a.b-c_9'),
    payload: payloadArb,
    timestamp: fc.integer({ min: 0, max: 2 ** 48 }),
  })
  .map((r) =>
    signBlock(
      {
        publicKey: alice.publicKey,
        seq: r.seq,
        linkPublicKey: r.kind === 'unilateral' ? UNILATERAL_KEY : r.link.some((x) => x !== 0) ? r.link : bob.publicKey,
        linkSeq: r.kind === 'agreement' ? r.linkSeq : 0,
        previousHash: r.seq === 1 ? GENESIS_HASH : r.previous.some((x) => x !== 0) ? r.previous : new Uint8Array(32).fill(9),
        type: r.type,
        payload: r.payload,
        timestamp: r.timestamp,
      },
      alice,
    ),
  )

Flip('flipping any single bit of an encoded block: decodeBlock fails or validate says invalid', async () => {
  await fc.assert(
    fc.asyncProperty(blockArb, fc.nat(), fc.integer({ min: 0, max: 7 }), async (b, index, bit) => {
      const bytes = encodeBlock(b)
      const store = createMemoryStore()
      assert.is.not((await validate(decodeBlock(bytes), { store })).level, 'invalid', 'the untampered block must be valid')
      const tampered = Uint8Array.from(bytes)
      const i = index % tampered.length
      tampered[i] = tampered[i]! ^ (1 << bit)
      let decoded: HalfBlock
      try {
        decoded = decodeBlock(tampered)
      } catch (err) {
        return err instanceof DecodeError
      }
      const result = await validate(decoded, { store })
      // usually the signature; a flip in seq or linkSeq can break an invariant first (genesis-hash, link-seq)
      return result.level === 'invalid' && result.errors.length > 0 && checkBlock(decoded).length > 0
    }),
    { numRuns: 60 },
  )
})

Flip('a block survives decode → encode byte for byte (no malleable encodings)', () => {
  fc.assert(
    fc.property(blockArb, (b) => {
      const bytes = encodeBlock(b)
      return toHex(encodeBlock(decodeBlock(bytes))) === toHex(bytes)
    }),
    { numRuns: 50 },
  )
})

Flip.run()

// ## SeedIdentity

const Id = suite('identity')

const SEED = seedOf(0x5e)
const SEED_HEX = toHex(SEED)

Id('identityFromSeed is deterministic: the same seed gives the same key and signatures', () => {
  const a = identityFromSeed(SEED)
  const b = identityFromSeed(Uint8Array.from(SEED))
  assert.is(a.publicKeyHex, b.publicKeyHex)
  assert.is(toHex(a.publicKey), a.publicKeyHex)
  const msg = new TextEncoder().encode('tally')
  assert.is(toHex(a.sign(msg)), toHex(b.sign(msg)))
  assert.is.not(identityFromSeed(seedOf(0x5f)).publicKeyHex, a.publicKeyHex)
})

Id('the key and signature of RFC 8032 test 1 come out of identityFromSeed', () => {
  const id = identityFromSeed(fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'))
  assert.is(id.publicKeyHex, 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
  assert.is(
    toHex(id.sign(new Uint8Array(0))),
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  )
})

Id('the seed is copied in and out: mutating either copy changes nothing', () => {
  const seed = Uint8Array.from(SEED)
  const id = identityFromSeed(seed)
  seed.fill(0)
  assert.is(toHex(id.exportSecretSeed()), SEED_HEX)
  const out = id.exportSecretSeed()
  out.fill(1)
  assert.is(toHex(id.exportSecretSeed()), SEED_HEX)
  assert.is(id.publicKeyHex, identityFromSeed(SEED).publicKeyHex)
})

Id('toString, JSON.stringify, util.inspect and template strings never show the seed', () => {
  const id = identityFromSeed(SEED)
  const shown = [
    String(id),
    `${id}`,
    JSON.stringify(id),
    JSON.stringify({ nested: [id] }),
    inspect(id),
    inspect(id, { showHidden: true, depth: Infinity, customInspect: false }),
    inspect({ id }, { depth: Infinity }),
    Object.keys(id).join(','),
    JSON.stringify(Object.entries(id), (_k, v) => (v instanceof Uint8Array ? toHex(v) : v)),
  ]
  for (const s of shown) {
    assert.not.ok(s.includes(SEED_HEX), `seed shown in: ${s.slice(0, 80)}`)
    assert.not.ok(s.includes(Buffer.from(SEED).toString('base64')), 'seed shown as base64')
  }
  assert.is(String(id), `Identity(${id.publicKeyHex})`)
  assert.equal(JSON.parse(JSON.stringify(id)), { publicKey: id.publicKeyHex })
})

Id('an agent built on an identity does not show the seed either', () => {
  const id = identityFromSeed(SEED)
  const agent = createAgent({ head: 'local', identity: id, store: createMemoryStore() })
  const shown = [inspect(agent, { showHidden: true, depth: 4 }), JSON.stringify(agent, (_k, v) => (v instanceof Uint8Array ? toHex(v) : v))]
  for (const s of shown) assert.not.ok(s.includes(SEED_HEX), `seed shown in: ${s.slice(0, 80)}`)
})

Id('errors about seeds and keys never include the seed bytes', () => {
  const errors: unknown[] = []
  const attempt = (fn: () => unknown): void => {
    try {
      fn()
    } catch (err) {
      errors.push(err)
    }
  }
  attempt(() => identityFromSeed(SEED.subarray(0, 31)))
  attempt(() => identityFromSeed(Uint8Array.of(...SEED, 0)))
  attempt(() => nobleCrypto.signingKey(SEED.subarray(1)))
  attempt(() => signBlock(fields(alice), identityFromSeed(SEED)))
  attempt(() => identityFromSeed(SEED_HEX as unknown as Uint8Array))
  assert.is(errors.length, 5)
  const seedPrefixHex = SEED_HEX.slice(0, 16) // 8 bytes of the seed, in any message, would leak it
  for (const err of errors) {
    const text = [String(err), (err as Error).message, inspect(err), (err as Error).stack ?? ''].join('\n')
    if (err instanceof TypeError && text.includes(SEED_HEX)) {
      // the string-seed case: the message must describe the type, not echo the value
      assert.unreachable(`a TypeError echoed its argument: ${String(err)}`)
    }
    assert.not.ok(text.includes(seedPrefixHex), `error shows seed bytes: ${String(err)}`)
  }
})

Id('bad seeds throw TypeError (not bytes) or RangeError (not 32 bytes), naming "seed"', () => {
  for (const v of [undefined, null, SEED_HEX, Array.from(SEED), SEED.buffer, new Uint16Array(16), 42]) {
    throwsLike(() => identityFromSeed(v as unknown as Uint8Array), TypeError, /"seed"/)
  }
  for (const n of [0, 16, 31, 33, 64]) throwsLike(() => identityFromSeed(new Uint8Array(n)), RangeError, /"seed".*32/)
})

Id('generateIdentity gives fresh keys each time', () => {
  const a = generateIdentity()
  const b = generateIdentity()
  assert.is.not(a.publicKeyHex, b.publicKeyHex)
  assert.is(a.publicKey.length, 32)
  assert.is(a.exportSecretSeed().length, 32)
  assert.is(identityFromSeed(a.exportSecretSeed()).publicKeyHex, a.publicKeyHex)
})

Id.run()

// ## A shared table of bad inputs fed to every public decoder and checker

const Bad = suite('bad inputs: every decoder throws only its documented errors')

const BAD_INPUTS: unknown[] = [
  undefined,
  null,
  0,
  -1,
  1.5,
  Number.NaN,
  1n,
  '',
  'ff',
  true,
  [],
  [1, 2, 3],
  {},
  { length: 32 },
  new ArrayBuffer(32),
  new Uint16Array(16),
  new Uint8Array(0),
  new Uint8Array(1),
  new Uint8Array(31),
  new Uint8Array(32),
  new Uint8Array(64),
  new Uint8Array(65).fill(0xff),
  fromHex('f6'),
  fromHex('80'),
  encodeBlock(proposal).subarray(1),
  () => 1,
  Symbol('x'),
]

Bad('decodeCanonical, decodeBlock, decodeFraudProof, identityFromSeed: TypeError, RangeError or DecodeError only', () => {
  const fns: [string, (x: unknown) => unknown][] = [
    ['decodeCanonical', (x) => decodeCanonical(x as Uint8Array)],
    ['decodeBlock', (x) => decodeBlock(x as Uint8Array)],
    ['decodeFraudProof', (x) => decodeFraudProof(x as Uint8Array)],
    ['identityFromSeed', (x) => identityFromSeed(x as Uint8Array)],
  ]
  for (const [name, fn] of fns) {
    for (const x of BAD_INPUTS) {
      try {
        const out = fn(x)
        // only decodeCanonical has inputs here that are valid (f6 → null, 80 → []), and 32 bytes are a seed
        assert.ok(name === 'decodeCanonical' || (name === 'identityFromSeed' && x instanceof Uint8Array && x.length === 32), `${name} accepted ${String(x)}: ${String(out)}`)
      } catch (err) {
        assert.ok(err instanceof TypeError || err instanceof RangeError || err instanceof DecodeError, `${name} threw ${String(err)}`)
      }
    }
  }
})

Bad('validate and checkBlock report a malformed value as invalid and never throw', async () => {
  const store = createMemoryStore()
  const malformed: unknown[] = [
    ...BAD_INPUTS.filter((x) => typeof x !== 'symbol'),
    { ...proposal, publicKey: undefined },
    { ...proposal, seq: '1' },
    { ...proposal, signature: new Uint8Array(63) },
    { ...proposal, payload: undefined },
    { ...proposal, payload: 1.5 },
    { ...proposal, type: 42 },
    { ...proposal, timestamp: -1 },
    { ...proposal, linkSeq: Number.NaN },
  ]
  for (const x of malformed) {
    const result = await validate(x as HalfBlock, { store })
    assert.is(result.level, 'invalid', `validate(${inspect(x).slice(0, 60)})`)
    assert.ok(result.errors.length > 0)
    if (x !== null && typeof x === 'object') assert.ok(checkBlock(x as HalfBlock).length > 0)
  }
})

Bad.run()
