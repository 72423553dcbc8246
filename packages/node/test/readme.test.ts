/**
 * The README's examples are the readme-*.sample.ts files beside this one, character for
 * character: each must run and print what its comment says.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { assertReadmeQuotes, runSample } from '../../../test/readme-blocks.ts'

const readme = new URL('../README.md', import.meta.url)
const pool = new URL('./readme-verify-pool.sample.ts', import.meta.url)
const level = new URL('./readme-level-store.sample.ts', import.meta.url)
const records = new URL('./readme-level-records.sample.ts', import.meta.url)
const Readme = suite('readme')

Readme("the README's blocks are the sample files", () => {
  assertReadmeQuotes(readme, { index: 0 }, pool)
  assertReadmeQuotes(readme, { index: 1 }, level)
  assertReadmeQuotes(readme, { index: 2 }, records)
})

Readme('the verify pool sample: 64 transactions in flight, checked by the pool', async () => {
  assert.equal(await runSample(pool), [[64, 64]])
})

Readme('the LevelDB sample: the block is there after reopening', async () => {
  assert.equal(await runSample(level), [[['hello']]])
})

Readme('the records sample: the outbox by ascending id after reopening, the decision kept', async () => {
  assert.equal(await runSample(records), [[['r:0001', 'r:0002']], ['accept']])
})

Readme.run()
