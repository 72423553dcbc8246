// The README's wallet sample runs as printed in a page served by examples/browser-wallet (whose
// /api/network it reads), against that example's gateway and witnesses, and prints what the
// README says it prints.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startExample } from '../../../examples/browser-wallet/server.ts'
import { CHROMIUM, CHROMIUM_ARGS, skippedWithoutChromium } from './harness.js'

const dir = join(import.meta.dirname, '..')
const readme = readFileSync(join(dir, 'README.md'), 'utf8')
const code = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).find((c) => c.includes('createBrowserWallet({\n'))

const test = suite('@tally/browser README: the wallet sample')

test('the README has a wallet sample of about ten lines', () => {
  assert.ok(code !== undefined, 'a ts block calling createBrowserWallet')
  assert.ok(code.split('\n').filter((l) => l.trim() !== '').length <= 15)
})

if (code === undefined) test.run()
else if (!skippedWithoutChromium(test, '@tally/browser README wallet sample')) {
  const lines: string[] = []
  const errors: string[] = []
  const example = await startExample({ page: { contents: code, resolveDir: dir } })
  const profile = mkdtempSync(join(tmpdir(), 'tally-chromium-'))
  try {
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
    try {
      const page = context.pages()[0] ?? (await context.newPage())
      page.on('pageerror', (err) => errors.push(err.message))
      page.on('console', (m) => void (m.type() === 'log' && lines.push(m.text())))
      // generous: a safety stop on a loaded machine, never a speed check
      await page.goto(example.url, { timeout: 90_000 })
      const until = Date.now() + 90_000
      while (lines.length < 3 && errors.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
    } catch (err) {
      errors.push(String((err as Error)?.stack ?? err))
    } finally {
      await context.close()
    }
  } finally {
    await example.close()
    rmSync(profile, { recursive: true, force: true })
  }
  test('the page ran without errors', () => {
    assert.equal(errors, [])
  })
  test('it prints connecting, online, then a balance of 0 and an empty history', () => {
    assert.equal(lines.slice(0, 3), ['connecting', 'online', '0 0'])
  })
  test.run()
}
