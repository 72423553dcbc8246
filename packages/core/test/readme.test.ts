/**
 * The README's example is readme.sample.ts, character for character: it must run and leave both
 * halves of the transaction in both stores.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { assertReadmeQuotes, runSample } from '../../../test/readme-blocks.ts'

const readme = new URL('../README.md', import.meta.url)
const sample = new URL('./readme.sample.ts', import.meta.url)
const Readme = suite('readme')

Readme("the README's block is readme.sample.ts", () => {
  assertReadmeQuotes(readme, { index: 0 }, sample)
})

Readme('the sample runs and prints what its comment says', async () => {
  assert.equal(await runSample(sample), [[1, 1, 1, 'hi']])
})

Readme.run()
