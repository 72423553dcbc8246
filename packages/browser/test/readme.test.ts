// The README's example runs in a page as a user would write it (imports from '@tally/browser' and
// '@tally/core', bundled by esbuild) and prints what the README says; reloaded, it finds the key
// and the chain it left.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { load, skippedWithoutChromium, withBrowser } from './harness.js'

const dir = join(import.meta.dirname, '..')
const readme = readFileSync(join(dir, 'README.md'), 'utf8')
const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]

const test = suite('@tally/browser README')

test('the README has an example of about ten lines', () => {
  assert.ok(code !== undefined, 'README has a ts example')
  assert.ok(code.split('\n').filter((l) => l.trim() !== '').length <= 15)
})

/** What the page printed with console.log until the example finished. */
async function printed(page: Page, run: () => Promise<void>): Promise<string[]> {
  const lines: string[] = []
  const onConsole = (m: { type(): string; text(): string }) => void (m.type() === 'log' && lines.push(m.text()))
  page.on('console', onConsole)
  try {
    await run()
  } finally {
    page.off('console', onConsole)
  }
  return lines
}

if (code === undefined) test.run()
else if (!skippedWithoutChromium(test, '@tally/browser README example')) {
  // the page is ready once the example's top-level awaits are done
  const page = { contents: `${code}\n;(globalThis as { __tally?: unknown }).__tally = { ready: true }\n`, resolveDir: dir }
  const [first, second] = await withBrowser(page, async (session) => {
    const tab = session.context.pages()[0] ?? (await session.context.newPage())
    const first = await printed(tab, () => load(tab, session.url))
    const second = await printed(tab, () => load(tab))
    return [first, second]
  })
  test('first visit: a new identity, its 12-word phrase shown, block 1 signed', () => {
    assert.equal(first, ['write these 12 words down', 'signer 1 partial-next'])
  })
  test('after a reload: the same key and chain, block 2', () => {
    assert.equal(second, ['signer 2 partial-next'])
  })
  test.run()
}
