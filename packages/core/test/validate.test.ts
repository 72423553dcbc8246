/**
 * Validation, one test per rule (named after py-ipv8's TrustChain checks, plus the holes Tally
 * fixes), each asserting the exact rule codes and the level; the block-type registry's hooks; and
 * the agent's proposal/agreement protocol on top of it.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  BLOCK_LIMITS,
  FraudError,
  GENESIS_HASH,
  InvalidBlockError,
  RefusedError,
  signBlock,
  UNILATERAL_KEY,
  blockHash,
  createAgent,
  createBlockTypes,
  createFraudProof,
  decodeBlock,
  encodeBlock,
  fraudProofId,
  toHex,
  validate,
  verifyFraudProof,
  type BlockType,
  type BlockTypes,
  type FraudProof,
  type HalfBlock,
  type SeedIdentity,
  type TypeContext,
  type ValidationResult,
} from '@tally/core'
import { T0, alice, block, bob, carol, chain, createMemoryStore, fields, mallory, rejectsLike, rules, signRaw, storeWith } from './helpers.ts'

const note: BlockType = { name: 'note' }
const noteTypes = (): BlockTypes => createBlockTypes([note])

/** Assert the level and the exact list of broken rules. */
function expect(result: ValidationResult, level: string, expectedRules: string[] = []): void {
  assert.equal(rules(result.errors), expectedRules, `rules: ${result.errors.map((e) => `${e.rule} (${e.message})`).join('; ')}`)
  assert.is(result.level, level)
}

/** Assert that `proofs` holds exactly one proof of `kind`, that it verifies alone, and accuses `who`. */
function expectProof(proofs: readonly FraudProof[], kind: string, who: SeedIdentity): FraudProof {
  assert.is(proofs.length, 1, `expected one proof, got ${proofs.map((p) => p.kind).join(', ') || 'none'}`)
  const proof = proofs[0]!
  assert.is(proof.kind, kind)
  assert.is(toHex(proof.publicKey), who.publicKeyHex)
  assert.equal(verifyFraudProof(proof), { ok: true })
  return proof
}

const withSignature = (b: HalfBlock, signature: Uint8Array): HalfBlock => Object.freeze({ ...b, signature })

// ## (1) The block alone

const Alone = suite('validate: invariants of the block alone')

Alone('signature: a block whose signature does not verify is invalid (rule "signature")', async () => {
  const b = block(alice)
  const flipped = Uint8Array.from(b.signature)
  flipped[10]! ^= 0x01
  expect(await validate(withSignature(b, flipped), { store: createMemoryStore() }), 'invalid', ['signature'])
  // a valid signature by another key over the same hash
  expect(await validate(withSignature(b, bob.sign(blockHash(b))), { store: createMemoryStore() }), 'invalid', ['signature'])
  expect(await validate(b, { store: createMemoryStore() }), 'partial-next')
})

Alone('seq ≥ 1: a validly signed block at seq 0 is invalid (rule "seq")', async () => {
  // signBlock refuses seq 0, so sign it as an attacker with the key would
  const zero = signRaw(fields(alice, { seq: 0, previousHash: GENESIS_HASH }), alice)
  expect(await validate(zero, { store: createMemoryStore() }), 'invalid', ['seq'])
  // decodeBlock lets it through (a rule, not a form error), so validate reports it
  expect(await validate(decodeBlock(encodeBlock(zero)), { store: createMemoryStore() }), 'invalid', ['seq'])
})

Alone('link seq ≥ 0: a negative linkSeq is invalid (rule "link-seq")', async () => {
  const negative = Object.freeze({ ...fields(alice), linkSeq: -1, signature: new Uint8Array(64) })
  expect(await validate(negative, { store: createMemoryStore() }), 'invalid', ['link-seq'])
})

Alone('link seq of a unilateral block is 0 (rule "link-seq")', async () => {
  const b = block(alice, { link: UNILATERAL_KEY, linkSeq: 3 })
  expect(await validate(b, { store: createMemoryStore() }), 'invalid', ['link-seq'])
})

Alone('genesis hash at seq 1: a first block with another previousHash is invalid (rule "genesis-hash")', async () => {
  const b = block(alice, { seq: 1, previousHash: new Uint8Array(32).fill(1) })
  expect(await validate(b, { store: createMemoryStore() }), 'invalid', ['genesis-hash'])
})

Alone('genesis hash only at seq 1: a later block with the genesis previousHash is invalid (rule "genesis-hash")', async () => {
  const b = block(alice, { seq: 2, previousHash: GENESIS_HASH })
  expect(await validate(b, { store: createMemoryStore() }), 'invalid', ['genesis-hash'])
})

Alone('self-link: a block linking to its own chain is invalid (rule "self-link")', async () => {
  const b = block(alice, { link: alice.publicKey })
  expect(await validate(b, { store: createMemoryStore() }), 'invalid', ['self-link'])
})

Alone('valid keys: wrong lengths of publicKey, linkPublicKey, previousHash and signature are each reported', async () => {
  const b = block(alice)
  const store = createMemoryStore()
  expect(await validate({ ...b, publicKey: b.publicKey.subarray(0, 31) }, { store }), 'invalid', ['public-key'])
  expect(await validate({ ...b, linkPublicKey: new Uint8Array(33) }, { store }), 'invalid', ['link-public-key'])
  expect(await validate({ ...b, previousHash: new Uint8Array(31) }, { store }), 'invalid', ['previous-hash-form'])
  expect(await validate({ ...b, signature: b.signature.subarray(0, 63) }, { store }), 'invalid', ['signature'])
  expect(await validate({ ...b, publicKey: 'aa' as unknown as Uint8Array, signature: new Uint8Array(65) }, { store }), 'invalid', ['public-key', 'signature'])
})

Alone('form: a malformed type, payload or timestamp is reported by name', async () => {
  const b = block(alice)
  const store = createMemoryStore()
  expect(await validate({ ...b, type: 'Not A Type' }, { store }), 'invalid', ['type'])
  expect(await validate({ ...b, payload: 0.5 }, { store }), 'invalid', ['payload'])
  expect(await validate({ ...b, timestamp: -1 }, { store }), 'invalid', ['timestamp'])
  expect(await validate({ ...b, seq: 1.5 }, { store }), 'invalid', ['seq'])
})

Alone('size: a validly signed block over the size limit is invalid (rule "size")', async () => {
  const big = signRaw(fields(alice, { payload: new Uint8Array(BLOCK_LIMITS.maxBytes) }), alice)
  expect(await validate(big, { store: createMemoryStore() }), 'invalid', ['size'])
})

Alone('trustSignature skips the signature check and nothing else', async () => {
  const b = block(alice)
  const bad = withSignature(b, new Uint8Array(64))
  expect(await validate(bad, { store: createMemoryStore(), trustSignature: true }), 'partial-next')
  const selfLinked = withSignature(block(alice, { link: alice.publicKey }), new Uint8Array(64))
  expect(await validate(selfLinked, { store: createMemoryStore(), trustSignature: true }), 'invalid', ['self-link'])
})

Alone.run()

// ## (2) A stored block at the same (key, seq)

const Stored = suite('validate: consistency with the stored block at the same (key, seq)')

Stored('the same block again is fine and proves nothing', async () => {
  const b = block(alice)
  const result = await validate(decodeBlock(encodeBlock(b)), { store: await storeWith([b]) })
  expect(result, 'partial-next')
  assert.is(result.fraud.length, 0)
})

Stored('link key differs: rules stored-link-public-key, stored-signature, fork, and a double-sign proof', async () => {
  const stored = block(alice, { link: bob.publicKey })
  const other = block(alice, { link: carol.publicKey })
  const result = await validate(other, { store: await storeWith([stored]) })
  expect(result, 'invalid', ['stored-link-public-key', 'stored-signature', 'fork'])
  const proof = expectProof(result.fraud, 'double-sign', alice)
  assert.equal(proof.blocks.map((b) => toHex(blockHash(b))).sort(), [toHex(blockHash(stored)), toHex(blockHash(other))].sort())
})

Stored('link seq differs: rules stored-link-seq, stored-signature, fork, and a double-sign proof', async () => {
  const stored = block(alice, { link: bob.publicKey, linkSeq: 1 })
  const other = block(alice, { link: bob.publicKey, linkSeq: 2 })
  const result = await validate(other, { store: await storeWith([stored]) })
  expect(result, 'invalid', ['stored-link-seq', 'stored-signature', 'fork'])
  expectProof(result.fraud, 'double-sign', alice)
})

Stored('previous hash differs: rules stored-previous-hash, stored-signature, fork, and a double-sign proof', async () => {
  const stored = block(alice, { seq: 2, previousHash: new Uint8Array(32).fill(1) })
  const other = block(alice, { seq: 2, previousHash: new Uint8Array(32).fill(2) })
  const result = await validate(other, { store: await storeWith([stored]) })
  expect(result, 'invalid', ['stored-previous-hash', 'stored-signature', 'fork'])
  expectProof(result.fraud, 'double-sign', alice)
})

Stored('hash differs (payload only): rules stored-signature, fork, and a double-sign proof', async () => {
  const stored = block(alice, { payload: 'one' })
  const other = block(alice, { payload: 'two' })
  const result = await validate(other, { store: await storeWith([stored]) })
  expect(result, 'invalid', ['stored-signature', 'fork'])
  expectProof(result.fraud, 'double-sign', alice)
})

Stored('signature differs on the same hash (only reachable with trustSignature): rule stored-signature, no fraud', async () => {
  const stored = block(alice)
  const resigned = withSignature(stored, new Uint8Array(64).fill(7))
  const result = await validate(resigned, { store: await storeWith([stored]), trustSignature: true })
  expect(result, 'invalid', ['stored-signature'])
  assert.is(result.fraud.length, 0, 'an unverified signature must never make a proof')
  // without trustSignature, the bad signature is all there is to say
  expect(await validate(resigned, { store: await storeWith([stored]) }), 'invalid', ['signature'])
})

Stored.run()

// ## (3) The linked half

const Linked = suite('validate: consistency with the linked half')

Linked('an agreement that repeats its proposal is fine, whichever half is stored', async () => {
  const proposal = block(alice, { link: bob.publicKey, payload: { amount: 3 } })
  const agreement = block(bob, { link: alice.publicKey, linkSeq: 1, payload: { amount: 3 } })
  expect(await validate(agreement, { store: await storeWith([proposal]) }), 'partial-next')
  expect(await validate(proposal, { store: await storeWith([agreement]) }), 'partial-next')
})

Linked('link key mismatch: an agreement to a proposal addressed to someone else (rule link-public-key-mismatch)', async () => {
  const proposal = block(alice, { link: carol.publicKey })
  const agreement = block(bob, { link: alice.publicKey, linkSeq: 1 })
  expect(await validate(agreement, { store: await storeWith([proposal]) }), 'invalid', ['link-public-key-mismatch'])
})

Linked('link type: an agreement of another type than its proposal (rule link-type)', async () => {
  const proposal = block(alice, { link: bob.publicKey, type: 'note' })
  const agreement = block(bob, { link: alice.publicKey, linkSeq: 1, type: 'memo' })
  expect(await validate(agreement, { store: await storeWith([proposal]) }), 'invalid', ['link-type'])
})

Linked('payload mismatch: an agreement that does not repeat the proposal (rule link-payload)', async () => {
  const proposal = block(alice, { link: bob.publicKey, payload: { amount: 3 } })
  const agreement = block(bob, { link: alice.publicKey, linkSeq: 1, payload: { amount: 4 } })
  expect(await validate(agreement, { store: await storeWith([proposal]) }), 'invalid', ['link-payload'])
})

Linked('an honest agreement to one branch of a proven fork is checked against that branch, from the proof', async () => {
  // alice signed two blocks at seq 1: a proposal to bob, and a proposal to carol
  const toBob = block(alice, { link: bob.publicKey, payload: { amount: 3 } })
  const toCarol = block(alice, { link: carol.publicKey, payload: { amount: 9 } })
  const agreement = block(bob, { link: alice.publicKey, linkSeq: 1, payload: { amount: 3 } })
  const store = await storeWith([toCarol])
  // without the proof the agreement cannot be told from one answering nothing: invalid
  expect(await validate(agreement, { store }), 'invalid', ['link-public-key-mismatch', 'link-payload'])
  // with the proof (both branches, signed by alice) bob's agreement is checked against its own branch
  await store.batch().putFraudProof(createFraudProof('double-sign', [toBob, toCarol])).commit()
  const result = await validate(agreement, { store })
  assert.equal(result.errors, [])
  assert.equal(result.fraud, [])
  // and an agreement that matches neither branch is still invalid
  const greedy = block(bob, { link: alice.publicKey, linkSeq: 1, payload: { amount: 30 } })
  expect(await validate(greedy, { store }), 'invalid', ['link-public-key-mismatch', 'link-payload'])
})

Linked('payload mismatch seen from the proposal: the stored agreement differs (rules linked-payload, linked-type)', async () => {
  const proposal = block(alice, { link: bob.publicKey, payload: 'x' })
  const wrongPayload = block(bob, { link: alice.publicKey, linkSeq: 1, payload: 'y' })
  expect(await validate(proposal, { store: await storeWith([wrongPayload]) }), 'invalid', ['linked-payload'])
  const wrongType = block(bob, { link: alice.publicKey, linkSeq: 1, payload: 'x', type: 'memo' })
  expect(await validate(proposal, { store: await storeWith([wrongType]) }), 'invalid', ['linked-type'])
})

Linked('agreement to a non-proposal: answering a unilateral block or another agreement (rule link-target)', async () => {
  const unilateral = block(alice, { link: UNILATERAL_KEY })
  const agreement = block(bob, { link: alice.publicKey, linkSeq: 1 })
  expect(await validate(agreement, { store: await storeWith([unilateral]) }), 'invalid', ['link-target'])
  const aliceAgrees = block(alice, { link: carol.publicKey, linkSeq: 1 })
  expect(await validate(agreement, { store: await storeWith([aliceAgrees]) }), 'invalid', ['link-target'])
})

Linked('one agreement per proposal: a second, different agreement (rule double-countersign, with proof)', async () => {
  const proposal = block(alice, { link: bob.publicKey, payload: 'deal' })
  const first = block(bob, { seq: 1, link: alice.publicKey, linkSeq: 1, payload: 'deal' })
  const second = block(bob, { seq: 2, link: alice.publicKey, linkSeq: 1, payload: 'deal', previousHash: blockHash(first), timestamp: T0 + 1 })
  const result = await validate(second, { store: await storeWith([proposal, first]) })
  expect(result, 'invalid', ['double-countersign'])
  const proof = expectProof(result.fraud, 'double-countersign', bob)
  assert.equal(proof.blocks.map((b) => b.seq), [1, 2])
})

Linked('an unknown proposal: the agreement is judged on its own chain only', async () => {
  const agreement = block(bob, { link: alice.publicKey, linkSeq: 9 })
  expect(await validate(agreement, { store: createMemoryStore() }), 'partial-next')
})

Linked.run()

// ## (4) The neighbours

const Neighbours = suite('validate: consistency with the neighbours in the chain')

Neighbours('previous hash mismatch with the stored block at seq - 1: rule previous-hash and a chain-break proof', async () => {
  const [one] = chain(alice, 1)
  const two = block(alice, { seq: 2, link: UNILATERAL_KEY, previousHash: new Uint8Array(32).fill(5) })
  const result = await validate(two, { store: await storeWith([one!]) })
  expect(result, 'invalid', ['previous-hash'])
  const proof = expectProof(result.fraud, 'chain-break', alice)
  assert.equal(proof.blocks.map((b) => b.seq), [1, 2])
})

Neighbours('a stored next block that does not chain to this one: rule next-previous-hash and a chain-break proof', async () => {
  const honest = chain(alice, 2)
  const fork = block(alice, { seq: 1, link: UNILATERAL_KEY, payload: 'other history' })
  const result = await validate(fork, { store: await storeWith([honest[1]!]) })
  expect(result, 'invalid', ['next-previous-hash'])
  const proof = expectProof(result.fraud, 'chain-break', alice)
  assert.is(toHex(blockHash(proof.blocks[0]!)), toHex(blockHash(fork)))
  assert.is(toHex(blockHash(proof.blocks[1]!)), toHex(blockHash(honest[1]!)))
})

Neighbours('a gap is not a break: a non-adjacent stored block is not compared', async () => {
  const honest = chain(alice, 3)
  const unrelated = block(alice, { seq: 3, link: UNILATERAL_KEY, previousHash: new Uint8Array(32).fill(8), payload: 'x' })
  const result = await validate(unrelated, { store: await storeWith([honest[0]!]) })
  expect(result, 'partial')
  assert.is(result.fraud.length, 0)
})

Neighbours.run()

// ## Levels

const Levels = suite('validate: levels')

const five = chain(alice, 5)
const at = (seq: number): HalfBlock => five[seq - 1]!

Levels('valid: both neighbours known and consistent', async () => {
  expect(await validate(at(2), { store: await storeWith([at(1), at(3)]) }), 'valid')
  expect(await validate(at(1), { store: await storeWith([at(2)]) }), 'valid') // genesis needs no previous
})

Levels('partial-next: the previous block known (or genesis), the next one not', async () => {
  expect(await validate(at(2), { store: await storeWith([at(1)]) }), 'partial-next')
  expect(await validate(at(1), { store: createMemoryStore() }), 'partial-next')
  expect(await validate(at(2), { store: await storeWith([at(1), at(4)]) }), 'partial-next')
})

Levels('partial-previous: the next block known, the previous one not', async () => {
  expect(await validate(at(2), { store: await storeWith([at(3)]) }), 'partial-previous')
})

Levels('partial: some blocks of the chain known, neither neighbour', async () => {
  expect(await validate(at(3), { store: await storeWith([at(1), at(5)]) }), 'partial')
})

Levels('no-info: nothing known of this chain', async () => {
  expect(await validate(at(3), { store: createMemoryStore() }), 'no-info')
  expect(await validate(at(3), { store: await storeWith(chain(bob, 2)) }), 'no-info')
})

Levels('errors are empty and fraud is empty at every level but invalid', async () => {
  const result = await validate(at(2), { store: await storeWith([at(1), at(3)]) })
  assert.equal(result.errors, [])
  assert.equal(result.fraud, [])
})

Levels.run()

// ## (5) Block types

const Types = suite('validate: block-type rules')

Types('a type\'s validate errors show up after the core checks, and it sees previous and linked', async () => {
  let seen: TypeContext | undefined
  const counted: BlockType = {
    name: 'counted',
    validate(b, ctx) {
      seen = ctx
      const n = (b.payload as { n: number }).n
      return { errors: n < 0 ? [{ rule: 'counted-negative', message: 'n must be >= 0' }] : [] }
    },
  }
  const types = createBlockTypes([counted])
  const proposal = block(alice, { seq: 1, link: bob.publicKey, type: 'counted', payload: { n: -1 } })
  const prev = block(bob, { seq: 1, link: UNILATERAL_KEY, type: 'counted', payload: { n: 0 } })
  const agreement = block(bob, { seq: 2, link: alice.publicKey, linkSeq: 1, type: 'counted', payload: { n: -1 }, previousHash: blockHash(prev) })
  const result = await validate(agreement, { store: await storeWith([proposal, prev]), types })
  expect(result, 'invalid', ['counted-negative'])
  assert.ok(seen !== undefined)
  assert.is(toHex(blockHash(seen.previous!)), toHex(blockHash(prev)))
  assert.is(toHex(blockHash(seen.linked!)), toHex(blockHash(proposal)))
  expect(await validate(block(alice, { type: 'counted', payload: { n: 2 }, link: UNILATERAL_KEY }), { store: createMemoryStore(), types }), 'partial-next')
})

Types('a type\'s fraud proof shows up, and verifies with the type\'s own verifier', async () => {
  // a toy rule: payload.balance must equal the previous block's balance plus payload.delta
  const balanced: BlockType = {
    name: 'balanced',
    validate(b, ctx) {
      const p = b.payload as { balance: number; delta: number }
      if (ctx.previous === undefined) return { errors: [] }
      const before = (ctx.previous.payload as { balance: number }).balance
      if (before + p.delta === p.balance) return { errors: [] }
      return { errors: [{ rule: 'balance', message: 'balance does not follow' }], fraud: createFraudProof('bad-balance', [ctx.previous, b]) }
    },
    fraudKinds: {
      'bad-balance': (blocks) => {
        const [a, b] = blocks
        if (a === undefined || b === undefined || b.seq !== a.seq + 1) return 'needs two consecutive blocks'
        const pa = a.payload as { balance: number }
        const pb = b.payload as { balance: number; delta: number }
        return pa.balance + pb.delta === pb.balance ? 'the balance follows' : undefined
      },
    },
  }
  const types = createBlockTypes([balanced])
  const one = block(alice, { seq: 1, link: UNILATERAL_KEY, type: 'balanced', payload: { balance: 10, delta: 10 } })
  const two = block(alice, { seq: 2, link: UNILATERAL_KEY, type: 'balanced', payload: { balance: 50, delta: 5 }, previousHash: blockHash(one) })
  const result = await validate(two, { store: await storeWith([one]), types })
  expect(result, 'invalid', ['balance'])
  assert.is(result.fraud.length, 1)
  const proof = result.fraud[0]!
  assert.is(proof.kind, 'bad-balance')
  assert.equal(verifyFraudProof(proof, { verifiers: types.fraudVerifiers() }), { ok: true })
  assert.is(verifyFraudProof(proof).ok, false, 'without the type\'s verifier the kind is unknown')
})

Types('a type\'s matches replaces payload equality, called as matches(proposal, agreement)', async () => {
  const calls: [number, number][] = []
  const loose: BlockType = {
    name: 'loose',
    matches(p, a) {
      calls.push([p.linkSeq, a.linkSeq])
      return (p.payload as string[])[0] === (a.payload as string[])[0]
    },
  }
  const types = createBlockTypes([loose])
  const proposal = block(alice, { link: bob.publicKey, type: 'loose', payload: ['same', 'alice extra'] })
  const agreement = block(bob, { link: alice.publicKey, linkSeq: 1, type: 'loose', payload: ['same', 'bob extra'] })
  const store = await storeWith([proposal])
  expect(await validate(agreement, { store, types }), 'partial-next')
  assert.equal(calls, [[0, 1]])
  // the default rule (no type registered) says the payloads differ
  expect(await validate(agreement, { store }), 'invalid', ['link-payload'])
  const mismatched = block(bob, { link: alice.publicKey, linkSeq: 1, type: 'loose', payload: ['other', 'x'] })
  expect(await validate(mismatched, { store, types }), 'invalid', ['link-payload'])
})

Types('the registry refuses a duplicate type name or fraud kind', () => {
  const types = createBlockTypes([note])
  let thrown: unknown
  try {
    types.define({ name: 'note' })
  } catch (err) {
    thrown = err
  }
  assert.instance(thrown, RangeError)
  types.define({ name: 'a', fraudKinds: { k: () => undefined } })
  thrown = undefined
  try {
    types.define({ name: 'b', fraudKinds: { k: () => undefined } })
  } catch (err) {
    thrown = err
  }
  assert.instance(thrown, RangeError)
  assert.is(types.get('b'), undefined, 'a refused type is not half-registered')
})

Types('a type that reports fraud but no broken rule still makes the block invalid', async () => {
  const quiet: BlockType = {
    name: 'quiet',
    validate: (b, ctx) => (ctx.previous === undefined ? { errors: [] } : { errors: [], fraud: createFraudProof('quiet-fraud', [ctx.previous, b]) }),
    fraudKinds: { 'quiet-fraud': () => undefined },
  }
  const types = createBlockTypes([quiet])
  const one = block(alice, { seq: 1, link: UNILATERAL_KEY, type: 'quiet', payload: 1 })
  const two = block(alice, { seq: 2, link: UNILATERAL_KEY, type: 'quiet', payload: 2, previousHash: blockHash(one) })
  const result = await validate(two, { store: await storeWith([one]), types })
  expect(result, 'invalid', ['type-fraud'])
  assert.is(result.fraud.length, 1)
})

Types.run()

// ## The agent

const Agents = suite('agent: the proposal/agreement protocol')

function makeAgent(identity: SeedIdentity, types: BlockTypes = noteTypes()) {
  let tick = 0
  return createAgent({ head: 'local', identity, store: createMemoryStore(), types, clock: () => T0 + tick++ })
}

Agents('propose → agree → complete: both halves in both stores, linked, validating elsewhere', async () => {
  const a = makeAgent(alice)
  const b = makeAgent(bob)
  const p = await a.propose(bob.publicKey, 'note', { text: 'hi' })
  assert.is(p.seq, 1)
  assert.is(p.linkSeq, 0)
  const ag = await b.agree(p)
  assert.is(toHex(ag.linkPublicKey), alice.publicKeyHex)
  assert.is(ag.linkSeq, p.seq)
  assert.equal(ag.payload, { text: 'hi' })
  const tx = await a.complete(ag)
  assert.is(toHex(blockHash(tx.proposal)), toHex(blockHash(p)))
  assert.is(toHex(blockHash(tx.agreement)), toHex(blockHash(ag)))
  for (const store of [a.store, b.store]) {
    assert.ok(await store.get(alice.publicKey, 1))
    assert.ok(await store.get(bob.publicKey, 1))
  }
  const observer = await storeWith([p])
  expect(await validate(ag, { store: observer, types: noteTypes() }), 'partial-next')
  // a second transaction chains to the first
  const p2 = await a.propose(bob.publicKey, 'note', 'again')
  assert.is(p2.seq, 2)
  assert.is(toHex(p2.previousHash), toHex(blockHash(p)))
})

Agents('agree is idempotent: the same proposal, even re-decoded, gets the same agreement and one block', async () => {
  const a = makeAgent(alice)
  const b = makeAgent(bob)
  const p = await a.propose(bob.publicKey, 'note', 'once')
  const first = await b.agree(p)
  const again = await b.agree(p)
  const redecoded = await b.agree(decodeBlock(encodeBlock(p)))
  assert.is(toHex(blockHash(again)), toHex(blockHash(first)))
  assert.is(toHex(blockHash(redecoded)), toHex(blockHash(first)))
  assert.is((await b.store.latest(bob.publicKey))?.seq, 1)
  // concurrent calls too: one agreement, whoever wins the race
  const p2 = await a.propose(bob.publicKey, 'note', 'twice at once')
  const [x, y] = await Promise.all([b.agree(p2), b.agree(p2)])
  assert.is(toHex(blockHash(x)), toHex(blockHash(y)))
  assert.is((await b.store.latest(bob.publicKey))?.seq, 2)
})

Agents('an unknown type is refused with RefusedError (ERR_REFUSED) and nothing is appended', async () => {
  const a = makeAgent(alice)
  const b = makeAgent(bob, createBlockTypes())
  // the proposer refuses to sign a type it has no rules for
  const own = await rejectsLike(a.propose(bob.publicKey, 'mystery', 1), RefusedError, 'ERR_REFUSED')
  assert.is((own as RefusedError).reason, 'unknown-type')
  await rejectsLike(a.append('mystery', 1), RefusedError, 'ERR_REFUSED')
  assert.is(await a.store.latest(alice.publicKey), undefined)
  // and the counterparty refuses one signed elsewhere
  const p = signBlock(fields(alice, { type: 'mystery', link: bob.publicKey, payload: 1 }), alice)
  await rejectsLike(b.agree(p), RefusedError, 'ERR_REFUSED')
  assert.is(await b.store.latest(bob.publicKey), undefined)
})

Agents('a type\'s shouldSign policy can decline (RefusedError), and agreementPayload shapes the answer', async () => {
  const picky: BlockType = {
    name: 'picky',
    shouldSign: (p) => (p.payload as number) < 10,
    agreementPayload: (p) => [p.payload, 'ok'],
    matches: (p, a) => (a.payload as unknown[])[0] === p.payload,
  }
  const a = makeAgent(alice, createBlockTypes([picky]))
  const b = makeAgent(bob, createBlockTypes([picky]))
  await rejectsLike(b.agree(await a.propose(bob.publicKey, 'picky', 50)), RefusedError, 'ERR_REFUSED')
  const ag = await b.agree(await a.propose(bob.publicKey, 'picky', 5))
  assert.equal(ag.payload, [5, 'ok'])
  const tx = await a.complete(ag)
  assert.is(tx.proposal.seq, 2)
})

Agents('a proposal from a key with a stored fraud proof is refused, and so is proposing to it', async () => {
  const a = makeAgent(alice)
  const b = makeAgent(bob)
  const p = await a.propose(bob.publicKey, 'note', 'trust me')
  const forkA = block(alice, { seq: 7, link: UNILATERAL_KEY, previousHash: new Uint8Array(32).fill(1), payload: 1 })
  const forkB = block(alice, { seq: 7, link: UNILATERAL_KEY, previousHash: new Uint8Array(32).fill(1), payload: 2 })
  const proof = createFraudProof('double-sign', [forkA, forkB])
  assert.equal(verifyFraudProof(proof), { ok: true })
  await b.addFraudProof(proof)
  assert.ok(await b.refuses(alice.publicKey))
  assert.not.ok(await b.refuses(carol.publicKey))
  await rejectsLike(b.agree(p), RefusedError, 'ERR_REFUSED')
  await rejectsLike(b.propose(alice.publicKey, 'note', 'x'), RefusedError, 'ERR_REFUSED')
  assert.is(await b.store.latest(bob.publicKey), undefined)
})

Agents('a forking proposer (two proposals at one seq to the same agent): FraudError with a stored proof that verifies', async () => {
  const a = makeAgent(alice)
  const b = makeAgent(bob)
  const p = await a.propose(bob.publicKey, 'note', 'pay 5')
  // the same seq and previous hash, another payload: alice's key signs a second history
  const fork = block(alice, { seq: 1, link: bob.publicKey, payload: 'pay 500', timestamp: p.timestamp })
  await b.agree(p)
  const err = await rejectsLike(b.agree(fork), FraudError, 'ERR_FRAUD')
  const proof = (err as FraudError).proof as FraudProof
  expectProof([proof], 'double-sign', alice)
  const stored = await b.store.fraudProofs(alice.publicKey)
  assert.equal(stored.map((x) => toHex(fraudProofId(x))), [toHex(fraudProofId(proof))])
  assert.ok(await b.refuses(alice.publicKey))
  assert.is((await b.store.latest(bob.publicKey))?.seq, 1, 'no agreement to the fork')
})

Agents('the fork seen first is caught as well: the honest proposal arriving second is the fraud evidence', async () => {
  const b = makeAgent(bob)
  const one = block(alice, { seq: 1, link: bob.publicKey, payload: 'a' })
  const two = block(alice, { seq: 1, link: bob.publicKey, payload: 'b' })
  await b.agree(two)
  const err = await rejectsLike(b.agree(one), FraudError, 'ERR_FRAUD')
  expectProof([(err as FraudError).proof as FraudProof], 'double-sign', alice)
})

Agents('complete refuses an agreement that does not repeat the proposal (InvalidBlockError, ERR_INVALID_BLOCK)', async () => {
  const a = makeAgent(alice)
  const p = await a.propose(bob.publicKey, 'note', 'x')
  const wrong = block(bob, { link: alice.publicKey, linkSeq: p.seq, payload: 'y' })
  const err = await rejectsLike(a.complete(wrong), InvalidBlockError, 'ERR_INVALID_BLOCK')
  assert.equal(rules((err as InvalidBlockError).errors), ['link-payload'])
  assert.is(await a.store.get(bob.publicKey, 1), undefined)
})

Agents('receive stores what is not invalid, drops what is, and keeps the proofs', async () => {
  const observer = makeAgent(carol)
  const honest = chain(mallory, 2)
  expect(await observer.receive(honest[0]!), 'partial-next')
  const fork = block(mallory, { seq: 2, link: UNILATERAL_KEY, previousHash: blockHash(honest[0]!), payload: 'rewrite' })
  expect(await observer.receive(honest[1]!), 'partial-next')
  const result = await observer.receive(fork)
  expect(result, 'invalid', ['stored-signature', 'fork'])
  assert.is(toHex(blockHash((await observer.store.get(mallory.publicKey, 2))!)), toHex(blockHash(honest[1]!)))
  assert.ok(await observer.refuses(mallory.publicKey))
})

Agents('a fork received concurrently (two peers relaying both halves at once) is caught, not lost in a ConflictError', async () => {
  const observer = makeAgent(carol)
  const one = block(mallory, { link: UNILATERAL_KEY, payload: 1 })
  const two = block(mallory, { link: UNILATERAL_KEY, payload: 2 })
  const results = await Promise.allSettled([observer.receive(one), observer.receive(two)])
  for (const r of results) assert.is(r.status, 'fulfilled', `receive threw: ${r.status === 'rejected' ? String(r.reason) : ''}`)
  const levels = results.map((r) => (r as PromiseFulfilledResult<ValidationResult>).value.level).sort()
  assert.equal(levels, ['invalid', 'partial-next'])
  assert.ok(await observer.refuses(mallory.publicKey), 'the fork must leave a proof behind')
  expectProof(await observer.store.fraudProofs(mallory.publicKey), 'double-sign', mallory)
})

Agents('50 concurrent append/propose calls give 50 distinct consecutive seqs that chain', async () => {
  const a = makeAgent(alice)
  const calls = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a.append('note', i) : a.propose(bob.publicKey, 'note', i)))
  const blocks = await Promise.all(calls)
  const bySeq = [...blocks].sort((x, y) => x.seq - y.seq)
  assert.equal(bySeq.map((b) => b.seq), Array.from({ length: 50 }, (_, i) => i + 1))
  assert.is(new Set(blocks.map((b) => toHex(blockHash(b)))).size, 50)
  for (let i = 1; i < bySeq.length; i++) assert.is(toHex(bySeq[i]!.previousHash), toHex(blockHash(bySeq[i - 1]!)), `seq ${i + 1} chains`)
  assert.is(toHex(bySeq[0]!.previousHash), toHex(GENESIS_HASH))
  assert.is((await a.store.latest(alice.publicKey))?.seq, 50)
})

Agents.run()
