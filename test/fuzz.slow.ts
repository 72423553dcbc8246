/**
 * The long fuzz run of `npm run test:slow`: TALLY_FUZZ_INPUTS (default 1,000,000) mutated inputs
 * into every decoder (see test/fuzz/harness.ts).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { defaultCrypto } from '@tally/node'
import { createTargets, fuzz, fuzzSeed } from './fuzz/harness.ts'

const test = suite('fuzz (long)')
const inputs = Number(process.env['TALLY_FUZZ_INPUTS'] ?? 1_000_000)

test(`${inputs} mutated inputs: no crash, nothing invalid accepted`, async () => {
  const seed = fuzzSeed(Date.now() % 1_000_000)
  const report = await fuzz(await createTargets(defaultCrypto()), inputs, seed)
  console.error(`fuzz: seed ${seed}, ${report.inputs} inputs, ${report.accepted} accepted, ${report.crashes.length} crashes, ${report.invalidAccepted.length} invalid accepted`)
  assert.equal(report.crashes, [], `seed ${seed}`)
  assert.equal(report.invalidAccepted, [], `seed ${seed}`)
})

test.run()
