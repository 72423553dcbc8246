/**
 * A seeded sample of the fuzzer (test/fuzz/harness.ts) in `npm test`: 30,000 mutated blocks,
 * fraud proofs, gossip messages and economy documents into every decoder; no crash, no invalid
 * block stored, no honest key accused. The slow script (fuzz.slow.ts) runs 1,000,000+.
 * Replay another sample: TALLY_FUZZ_SEED=<n> node --import tsx test/fuzz.test.ts
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { defaultCrypto } from '@tally/node'
import { createTargets, fuzz, fuzzSeed } from './fuzz/harness.ts'

const test = suite('fuzz (seeded sample)')

test('30,000 mutated inputs: every decoder refuses cleanly or accepts what is valid', async () => {
  const seed = fuzzSeed(20261121)
  const targets = await createTargets(defaultCrypto())
  const report = await fuzz(targets, 30_000, seed)
  assert.is(report.inputs, 30_000)
  assert.equal(report.crashes, [], `seed ${seed}: decoders crashed`)
  assert.equal(report.invalidAccepted, [], `seed ${seed}: invalid input accepted`)
  // the mutations reach past the first byte: some inputs are accepted, most are refused
  assert.ok(report.accepted > 300 && report.accepted < report.inputs / 2, `accepted ${report.accepted}`)
  for (const t of targets) assert.ok((report.perTarget[t.name] ?? 0) > 1000, t.name)
})

test.run()
