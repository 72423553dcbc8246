/**
 * The README's data-stream sample (readme-streams.sample.ts) runs and prints what the README says,
 * and the README quotes it character for character.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { assertReadmeQuotes, runSample } from '../../../test/readme-blocks.ts'

const Readme = suite('readme: data streams')
const sample = new URL('./readme-streams.sample.ts', import.meta.url)

Readme('the streams sample runs: the buyer reads period 0 and has no key for period 1', async () => {
  const printed = await runSample(sample)
  assert.equal(printed, [[true, 87], [{ ok: false, reason: 'no-key', seq: 2, period: 1 }]])
})

Readme('the README quotes the sample verbatim', () => {
  assertReadmeQuotes(new URL('../README.md', import.meta.url), { after: '## Data streams' }, sample)
})

Readme.run()
