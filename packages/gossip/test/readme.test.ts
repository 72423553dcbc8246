/**
 * The README's runnable examples are the readme-*.sample.ts files beside this one, character for
 * character: each must run and print what its comments say. ("Writing a protocol" has its own
 * test, readme-protocol.test.ts; the option listings are documentation, not samples.)
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DEFAULT_GOSSIP, DEFAULT_LIMITS } from '@tally/gossip'
import { assertReadmeQuotes, readmeBlock, runSample } from '../../../test/readme-blocks.ts'

const readme = new URL('../README.md', import.meta.url)
const sample = (name: string) => new URL(`./readme-${name}.sample.ts`, import.meta.url)
const Readme = suite('readme')

Readme("the README's blocks are the sample files", () => {
  assertReadmeQuotes(readme, { index: 0 }, sample('memory-session'))
  assertReadmeQuotes(readme, { after: 'Over real sockets' }, sample('ws-session'))
  assertReadmeQuotes(readme, { after: '## Node, witnesses, simulator' }, sample('transact'))
  assertReadmeQuotes(readme, { after: '### Relays' }, sample('relay'))
  assertReadmeQuotes(readme, { after: '### Admitting the peers a node knows' }, sample('admit'))
})

Readme('two nodes that never listen transact through a relay', async () => {
  assert.equal(await runSample(sample('relay')), [['hi', true]])
})

Readme('admitted peers: the operator\'s from the start, another admitted and revoked', async () => {
  assert.equal(await runSample(sample('admit')), [[[['operator'], ['relay']]], [1]])
})

Readme('a session on the memory network: heads after 369 virtual ms', async () => {
  assert.equal(await runSample(sample('memory-session')), [['heads', 369]])
})

Readme('a session over ws on loopback', async () => {
  assert.equal(await runSample(sample('ws-session')), [['heads']])
})

Readme('two nodes transact over ws, and nobody cheats', async () => {
  assert.equal(await runSample(sample('transact')), [[1, 1, 'hello']])
})

/** `name: literal` pairs of an option listing (comments dropped). */
function listed(text: string): Record<string, unknown> {
  const pairs = [...text.replace(/\/\/.*$/gm, '').matchAll(/(\w+): ([\w.'-]+)/g)]
  return Object.fromEntries(pairs.map(([, key, v]) => [key, v === 'Infinity' ? Infinity : v === 'true' ? true : v === 'false' ? false : v!.startsWith("'") ? v!.slice(1, -1) : Number(v!.replaceAll('_', ''))]))
}

Readme('the limits listing names every limit, with its default', () => {
  assert.equal(listed(readmeBlock(readme, { after: '## Limits' })), { ...DEFAULT_LIMITS })
})

Readme("the node options listing's gossip settings are DEFAULT_GOSSIP", () => {
  const options = readmeBlock(readme, { after: "const { proposal, agreement } = await alice.transact(bobKey, 'note', 'hello')" })
  assert.equal(listed(/gossip: \{([\s\S]*?)\n {2}\},/.exec(options)![1]!), { ...DEFAULT_GOSSIP })
})

Readme.run()
