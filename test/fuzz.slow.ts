/**
 * The long fuzz runs of `npm run test:slow`:
 * - TALLY_FUZZ_INPUTS (default 1,000,000) mutated inputs into every decoder (test/fuzz/harness.ts);
 * - TALLY_FUZZ_KIND_INPUTS (default 500,000) mutated proofs of every fraud kind and random bytes
 *   into verifyFraudProof with every registered verifier (test/fuzz/fraud-kinds.ts).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { defaultCrypto } from '@tally/node'
import { genesis } from '../packages/economy/test/helpers.ts'
import { createTargets, fuzz, fuzzSeed } from './fuzz/harness.ts'
import { FRAUD_KINDS, fuzzFraudKinds, registeredVerifiers } from './fuzz/fraud-kinds.ts'

const test = suite('fuzz (long)')
const inputs = Number(process.env['TALLY_FUZZ_INPUTS'] ?? 1_000_000)
const kindInputs = Number(process.env['TALLY_FUZZ_KIND_INPUTS'] ?? 500_000)

test(`${inputs} mutated inputs: no crash, nothing invalid accepted`, async () => {
  const seed = fuzzSeed(Date.now() % 1_000_000)
  const report = await fuzz(await createTargets(defaultCrypto()), inputs, seed)
  console.error(`fuzz: seed ${seed}, ${report.inputs} inputs, ${report.accepted} accepted, ${report.crashes.length} crashes, ${report.invalidAccepted.length} invalid accepted`)
  assert.equal(report.crashes, [], `seed ${seed}`)
  assert.equal(report.invalidAccepted, [], `seed ${seed}`)
})

test(`${kindInputs} mutated fraud proofs of every kind: no throw, no false accusation, bounded work`, () => {
  const seed = fuzzSeed(Date.now() % 1_000_000)
  const report = fuzzFraudKinds(kindInputs, seed, defaultCrypto(), registeredVerifiers(genesis().community))
  const kinds = Object.entries(report.perKind).map(([kind, { inputs, accepted }]) => `${kind} ${accepted}/${inputs}`).join(', ')
  console.error(`fuzz (fraud kinds): seed ${seed}, ${report.inputs} inputs (${kinds}, ${report.randomBytes} random byte strings), ${report.crashes.length} throws, ${report.falseAccusations.length} false accusations, ${report.overBudget.length} over budget`)
  assert.equal(report.invalidGenerated, [], `seed ${seed}`)
  assert.equal(report.crashes.slice(0, 5), [], `seed ${seed}`)
  assert.equal(report.falseAccusations.slice(0, 5), [], `seed ${seed}`)
  assert.equal(report.overBudget.slice(0, 5), [], `seed ${seed}`)
  assert.is(Object.keys(report.perKind).length, FRAUD_KINDS.length)
})

test.run()
