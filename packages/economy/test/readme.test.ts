/**
 * The README's first example is readme.sample.ts, character for character: it must run and end
 * with alice and bob holding what it prints. (The Locks example continues it: readme-locks.test.ts.)
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { assertReadmeQuotes, runSample } from '../../../test/readme-blocks.ts'

const readme = new URL('../README.md', import.meta.url)
const sample = new URL('./readme.sample.ts', import.meta.url)
const Readme = suite('readme')

Readme("the README's first block is readme.sample.ts", () => {
  assertReadmeQuotes(readme, { index: 0 }, sample)
})

Readme('the example runs: alice claimed 1,000,000 and sent bob 100', async () => {
  assert.equal(await runSample(sample), [[1_000_000 - 100, 100]])
})

Readme.run()
