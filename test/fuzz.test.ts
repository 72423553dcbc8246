/**
 * A seeded sample of the fuzzers in `npm test`:
 * - test/fuzz/harness.ts: 30,000 mutated blocks, fraud proofs of every kind, gossip messages and
 *   economy documents into every decoder; no crash, no invalid block stored, no honest chain accused;
 * - test/fuzz/fraud-kinds.ts: 20,000 mutated proofs of every fraud kind (core's and the
 *   economy's) and random byte strings into verifyFraudProof with every registered verifier; no
 *   throw, no proof verifying against evidence that could be an honest chain, bounded work.
 * The slow script (fuzz.slow.ts) runs 1,000,000+ and 500,000+.
 * Replay another sample: TALLY_FUZZ_SEED=<n> node --import tsx test/fuzz.test.ts
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeFraudProof, encodeFraudProof, verifyFraudProof } from '@tally/core'
import { defaultCrypto } from '@tally/node'
import { genesis } from '../packages/economy/test/helpers.ts'
import { createTargets, fuzz, fuzzSeed } from './fuzz/harness.ts'
import { FRAUD_KINDS, fuzzFraudKinds, honestChain, kindContext, provesNothing, registeredVerifiers } from './fuzz/fraud-kinds.ts'

const crypto = defaultCrypto()
const verifiers = registeredVerifiers(genesis().community)

const test = suite('fuzz (seeded sample)')

test('30,000 mutated inputs: every decoder refuses cleanly or accepts what is valid', async () => {
  const seed = fuzzSeed(20261121)
  const targets = await createTargets(crypto)
  const report = await fuzz(targets, 30_000, seed)
  assert.is(report.inputs, 30_000)
  assert.equal(report.crashes, [], `seed ${seed}: decoders crashed`)
  assert.equal(report.invalidAccepted, [], `seed ${seed}: invalid input accepted`)
  // the mutations reach past the first byte: some inputs are accepted, most are refused
  assert.ok(report.accepted > 300 && report.accepted < report.inputs / 2, `accepted ${report.accepted}`)
  for (const t of targets) assert.ok((report.perTarget[t.name] ?? 0) > 1000, t.name)
})

test.run()

const Kinds = suite('fuzz: every fraud-proof verifier')

/**
 * Kinds fuzzed by a dedicated harness target instead of a row here: their evidence carries
 * attachments (vouchers, the lock a redeem names) or tickets that the honest-chain judge cannot
 * read, so their targets judge by who the corpus's cheater is. The test below checks that each
 * target's corpus really holds valid proofs of the kind.
 */
const FUZZED_BY_TARGET: Readonly<Record<string, string>> = {
  'release-excess': 'economy.lock-proof',
  'release-twice': 'economy.lock-proof',
  'redeem-excess': 'economy.lock-proof',
  'channel-release': 'economy.lock-proof',
  'refund-twice': 'economy.refund-proof',
  'release-certified': 'market.release-proof',
}

Kinds('every kind a node verifies is fuzzed: core\'s three and every registered type\'s, by a row or a target', async () => {
  const kinds = FRAUD_KINDS.map((row) => row.kind)
  assert.is(new Set(kinds).size, kinds.length, 'one row a kind')
  const known = new Set(['double-sign', 'chain-break', 'double-countersign', ...verifiers.keys()])
  const covered = [...kinds, ...Object.keys(FUZZED_BY_TARGET)]
  assert.equal([...covered].sort(), [...known].sort(), 'a registered kind without a generator or target, or one for no kind')
  assert.ok(verifiers.has('balance') && verifiers.has('reward-claim'))
  const targets = await createTargets(crypto)
  for (const [kind, name] of Object.entries(FUZZED_BY_TARGET)) {
    const target = targets.find((t) => t.name === name)
    assert.ok(target !== undefined, `no target ${name}`)
    const valid = target.corpus.map((bytes) => decodeFraudProof(bytes)).filter((p) => p.kind === kind && verifyFraudProof(p, { crypto, verifiers }).ok)
    assert.ok(valid.length > 0, `${name} holds no valid ${kind} proof`)
  }
})

Kinds('each generator makes valid proofs, from their bytes too, and the judge sees the fraud in them', () => {
  const ctx = kindContext(fuzzSeed(7), crypto)
  for (const row of FRAUD_KINDS) {
    for (let i = 0; i < 40; i++) {
      const proof = row.valid(ctx)
      assert.is(proof.kind, row.kind)
      assert.equal(verifyFraudProof(proof, { crypto, verifiers }), { ok: true }, row.kind)
      assert.equal(verifyFraudProof(decodeFraudProof(encodeFraudProof(proof)), { crypto, verifiers }), { ok: true }, row.kind)
      assert.not.ok(provesNothing(proof, crypto), `the judge calls a ${row.kind} proof honest`)
    }
  }
})

Kinds('the judge clears honest chains, so that it can catch a false accusation', () => {
  const ctx = kindContext(fuzzSeed(8), crypto)
  for (let i = 0; i < 40; i++) {
    const chain = honestChain(ctx, ctx.cheater, 1 + (i % 16))
    assert.ok(new Set(chain.map((b) => b.type)).size >= Math.min(2, chain.length), 'chains mix block types')
    for (const kind of FRAUD_KINDS.map((row) => row.kind)) {
      assert.ok(provesNothing({ kind, publicKey: ctx.cheater.publicKey, blocks: chain }, crypto), `chain ${i}`)
      assert.ok(provesNothing({ kind, publicKey: ctx.cheater.publicKey, blocks: [...chain.slice(i % chain.length), chain[0]!].reverse() }, crypto))
    }
  }
})

Kinds('20,000 mutated proofs of every kind and random bytes: no throw, no false accusation, bounded work', () => {
  const seed = fuzzSeed(20261122)
  const report = fuzzFraudKinds(20_000, seed, crypto, verifiers)
  assert.equal(report.invalidGenerated, [], `seed ${seed}: a generator made a proof that does not verify`)
  assert.equal(report.crashes, [], `seed ${seed}: a verifier threw`)
  assert.equal(report.falseAccusations, [], `seed ${seed}: a proof against an honest chain verified`)
  assert.equal(report.overBudget, [], `seed ${seed}: a proof cost more signature checks or hashes than its evidence`)
  assert.ok(report.randomBytes >= 1000, 'random bytes')
  for (const row of FRAUD_KINDS) {
    const { inputs, accepted } = report.perKind[row.kind] ?? { inputs: 0, accepted: 0 }
    assert.ok(inputs >= 3000, `${row.kind}: ${inputs} inputs`)
    // both outcomes happen: some mutations keep the fraud (and verify), most do not
    assert.ok(accepted > inputs / 50 && accepted < inputs / 2, `${row.kind}: ${accepted} of ${inputs} verified`)
  }
})

Kinds.run()
