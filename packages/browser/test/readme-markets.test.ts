// The README's market samples (streams, channels, SLA) are lines of test/page/markets.page.ts,
// which runs them in Chromium against a networked economy (test/markets.test.ts): here each
// marked region must appear in the README verbatim, so the README shows what runs.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'

const dir = join(import.meta.dirname, '..')
const readme = readFileSync(join(dir, 'README.md'), 'utf8')
const page = readFileSync(join(import.meta.dirname, 'page', 'markets.page.ts'), 'utf8')
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)

/** The lines between `// readme:<name>` and `// readme:end`, their common indent removed. */
function region(name: string): string {
  const m = new RegExp(`\\n( *)// readme:${name}\\n([\\s\\S]*?)\\n *// readme:end\\n`).exec(page)
  assert.ok(m !== null, `markets.page.ts marks a readme:${name} region`)
  const indent = m![1]!.length
  return m![2]!.split('\n').map((l) => l.slice(indent)).join('\n')
}

const test = suite('@tally/browser README: the market samples run in markets.page.ts')
for (const name of ['streams', 'channels', 'sla']) {
  test(`the ${name} sample is quoted verbatim`, () => {
    const lines = region(name)
    assert.ok(lines.split('\n').length >= 3, 'a sample of a few lines')
    assert.ok(blocks.some((b) => b.includes(lines)), `README.md quotes the readme:${name} lines of test/page/markets.page.ts:\n${lines}`)
  })
}
test.run()
