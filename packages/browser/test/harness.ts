/**
 * Runs uvu suites inside headless Chromium and reports each in-page test as a Node uvu test.
 * Not a test file itself (the runner only runs *.test.ts).
 *
 * How: esbuild bundles a page entry (test/page/*.page.ts) with 'uvu' swapped for a recorder that
 * notes every test's outcome (test/page/uvu-recorder.ts); a node:http server serves it on
 * 127.0.0.1; playwright-core drives Debian's Chromium (never a downloaded build) with a fresh
 * profile directory; each phase the page is asked to run returns its recorded results and uvu's
 * own totals. `browserSuite` then registers one Node test per in-page test, failing with the
 * in-page error, and one that checks the recorded results against uvu's totals (a failing hook
 * shows there), so `npm test` counts the real in-page tests.
 *
 * Without Chromium the suite is skipped, loudly, and counted as skipped; with CI=true a missing
 * browser fails instead. TALLY_CHROMIUM names another Chromium binary.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'esbuild'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { suite, type Test } from 'uvu'
import * as assert from 'uvu/assert'

const here = dirname(fileURLToPath(import.meta.url))

/** The Chromium binary: Debian's package, unless TALLY_CHROMIUM says otherwise. */
export const CHROMIUM = process.env.TALLY_CHROMIUM || '/usr/bin/chromium'

/** Flags for a headless Chromium on a machine with no network but loopback. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Terminal colours, which uvu also writes in a page. */
const ANSI = /\x1b\[[0-9;]*m/g

/** Longest wait for a page to load and start its harness: a safety stop, not a speed check. */
const LOAD_LIMIT_MS = 90_000

/** Longest wait for one in-page phase: a safety stop so a hung page cannot hang `npm test`. */
const PHASE_LIMIT_MS = 120_000

/** How the in-page tests ended. */
export interface PageResult {
  suite: string
  name: string
  ok: boolean
  error?: string
}

/** What one phase returned. */
export interface PageRun {
  /** Each in-page test, in the order it ran. */
  results: PageResult[]
  /** uvu's own totals in the page. */
  total: number
  passed: number
  skipped: number
  /** Values the phase's tests handed back (`out` in the page). */
  out: Record<string, unknown>
}

/** A running browser with the bundle served. */
export interface BrowserSession {
  /** The page URL. */
  readonly url: string
  readonly context: BrowserContext
  /** A new tab, loaded and ready. */
  open(): Promise<Page>
  /** Run a phase in a loaded tab. */
  run(page: Page, phase: string, params?: Record<string, unknown>): Promise<PageRun>
}

/** Why the browser suites cannot run here, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `Chromium not found at ${CHROMIUM}`
}

/** A page to bundle: a file, or module text whose imports resolve from `resolveDir`. */
export type PageEntry = string | { contents: string; resolveDir: string }

/**
 * Bundle a page entry for the browser, with uvu's suites recorded.
 * @param entry a file under test/page (or any path), or module text
 * @returns the ES module's text
 */
export async function bundlePage(entry: PageEntry): Promise<string> {
  const recorder = join(here, 'page', 'uvu-recorder.ts')
  const swapUvu: Plugin = {
    name: 'uvu-recorder',
    setup(b) {
      b.onResolve({ filter: /^uvu$/ }, (args) => (args.importer === recorder ? undefined : { path: recorder }))
    },
  }
  const result = await build({
    ...(typeof entry === 'string' ? { entryPoints: [entry] } : { stdin: { contents: entry.contents, resolveDir: entry.resolveDir, loader: 'ts' as const } }),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    sourcemap: 'inline',
    logLevel: 'silent',
    plugins: [swapUvu],
  })
  return result.outputFiles[0]!.text
}

/**
 * Bundle `entry`, serve it on 127.0.0.1, start Chromium with a fresh profile, run `fn`, and close
 * everything whatever happens.
 */
export async function withBrowser<T>(entry: PageEntry, fn: (session: BrowserSession) => Promise<T>): Promise<T> {
  const script = await bundlePage(entry)
  const server = await serve(script)
  const address = server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/`
  const profile = mkdtempSync(join(tmpdir(), 'tally-chromium-'))
  let context: BrowserContext | undefined
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
    const ctx = context
    const session: BrowserSession = {
      url,
      context: ctx,
      async open() {
        const page = ctx.pages().find((p) => p.url() === 'about:blank') ?? (await ctx.newPage())
        await load(page, url)
        return page
      },
      run: (page, phase, params = {}) => runPhase(page, phase, params),
    }
    return await fn(session)
  } finally {
    await context?.close().catch(() => undefined)
    await new Promise((done) => server.close(done))
    rmSync(profile, { recursive: true, force: true })
  }
}

/**
 * Load `url` in `page` (again, after a reload too) and wait until the page's harness is ready.
 * @throws with the page's own errors when it never gets ready
 */
export async function load(page: Page, url?: string): Promise<void> {
  const errors: string[] = []
  const onError = (err: Error) => errors.push(String(err.stack ?? err))
  page.on('pageerror', onError)
  try {
    // generous: a loaded machine has taken more than 30 s to load a page (never a speed check)
    if (url !== undefined) await page.goto(url, { timeout: LOAD_LIMIT_MS })
    else await page.reload({ timeout: LOAD_LIMIT_MS })
    await page.waitForFunction(() => (globalThis as { __tally?: { ready?: boolean } }).__tally?.ready === true, undefined, { timeout: LOAD_LIMIT_MS })
  } catch (err) {
    throw new Error(`the test page did not start: ${(err as Error).message}\n${errors.join('\n')}`)
  } finally {
    page.off('pageerror', onError)
  }
}

/** Run one phase of the page's tests and return what it recorded. */
async function runPhase(page: Page, phase: string, params: Record<string, unknown>): Promise<PageRun> {
  const errors: string[] = []
  const onError = (err: Error) => errors.push(String(err.stack ?? err))
  page.on('pageerror', onError)
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    const run = page.evaluate(
      ([p, a]) => (globalThis as unknown as { __tally: { run(p: string, a: unknown): Promise<unknown> } }).__tally.run(p, a),
      [phase, params] as const,
    ) as Promise<{ results: PageResult[]; log: string; out: Record<string, unknown> }>
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`phase "${phase}" did not finish within ${PHASE_LIMIT_MS / 1000} s\n${errors.join('\n')}`)), PHASE_LIMIT_MS)
    })
    const { results, log, out } = await Promise.race([run, limit])
    const text = log.replace(ANSI, '')
    const count = (label: string) => Number([...text.matchAll(new RegExp(`${label}:\\s+(\\d+)`, 'g'))].at(-1)?.[1] ?? NaN)
    return { results, total: count('Total'), passed: count('Passed'), skipped: count('Skipped'), out }
  } finally {
    clearTimeout(timer)
    page.off('pageerror', onError)
  }
}

/**
 * A Node uvu suite made of in-page tests: `drive` runs phases in the browser; each in-page test
 * becomes a Node test, plus one per phase checking the count against uvu's own totals. Skipped
 * loudly without Chromium (failing under CI=true).
 * @param title the Node suite's name
 * @param entry the page entry to bundle
 * @param drive runs the phases, in tabs it opens, and returns their runs in order
 */
export async function browserSuite(title: string, entry: PageEntry, drive: (session: BrowserSession) => Promise<PageRun[]>): Promise<void> {
  const test = suite(title)
  if (skippedWithoutChromium(test, title)) return
  let runs: PageRun[]
  try {
    runs = await withBrowser(entry, drive)
  } catch (err) {
    test('the browser run finished', () => {
      assert.unreachable(String((err as Error)?.stack ?? err))
    })
    test.run()
    return
  }
  runs.forEach((run, i) => {
    for (const r of run.results) {
      test(`[chromium] ${r.suite} › ${r.name}`, () => {
        assert.ok(r.ok, r.error?.replace(ANSI, ''))
      })
    }
    test(`[chromium] phase ${i + 1}: every in-page test was recorded (uvu counted ${run.total}, ${run.passed} passed)`, () => {
      assert.ok(run.results.length > 0, 'the phase ran no test')
      assert.is(run.results.length, run.total, 'tests recorded vs uvu total (a hook failed?)')
      assert.is(run.results.filter((r) => r.ok).length, run.passed, 'passes recorded vs uvu passed')
    })
  })
  test.run()
}

/**
 * When Chromium is missing: say so loudly and count `title` as skipped, or, with CI=true, fail it;
 * then run `test` (nothing else may be added to it).
 * @returns true when the caller must not go on
 */
export function skippedWithoutChromium(test: Test, title: string): boolean {
  const missing = chromiumMissing()
  if (missing === undefined) return false
  const how = 'install it with `apt-get install -y chromium` (Debian/Ubuntu), or point TALLY_CHROMIUM at a Chromium binary'
  if (process.env.CI === 'true') {
    test('Chromium is installed (CI=true: browser suites may not be skipped)', () => {
      assert.unreachable(`${missing}: ${how}`)
    })
  } else {
    console.log(`\nSKIPPED: ${title}: ${missing}; ${how}\n`)
    test.skip(`${title} (no Chromium)`)
  }
  test.run()
  return true
}

function serve(script: string): Promise<Server> {
  const html = '<!doctype html><meta charset="utf-8"><title>tally browser tests</title><script type="module" src="/page.js"></script>'
  const server = createServer((req, res) => {
    if (req.url === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' })
      res.end(script)
    } else if (req.url === '/' || req.url?.startsWith('/?')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      res.end(html)
    } else {
      res.writeHead(404).end()
    }
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
}
