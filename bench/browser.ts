// Group `browser`: @tally/browser in headless Chromium (Debian's /usr/bin/chromium, never a
// downloaded build).
//
// - browser.bundle_gzip_bytes: a wallet entry importing @tally/browser (createBrowserWallet with
//   it: the gossip node, Noise, the economy's rules and network wallet) and the core functions a
//   wallet uses, bundled and minified by esbuild for browsers, gzipped by zlib (level 9). Goal
//   ≤ 80 KB.
// - browser.sign_per_s / browser.verify_per_s per provider: webcrypto (a non-extractable CryptoKey
//   through BrowserIdentity.sign; crypto.subtle.verify) and noble (BrowserIdentity backend 'noble';
//   core's nobleCrypto.verify, which validation uses), one at a time.
// - browser.append_per_s.idb: agent.append into the IndexedDB store (durability 'strict') against
//   the memory store, in the same page, in alternating slices: ratio_to_memory.
// - browser.ingest_blocks_per_s.idb: ingestBlocks of a received chain into IndexedDB against the
//   memory store (runs before and after it), same page: ratio_to_memory.
//
// Knobs: BENCH_BROWSER_MS (default 2000, per figure), BENCH_BROWSER_INGEST_BLOCKS (default 2000).
// Without Chromium: a note and no figures (CI=true: exit 1).
import { execFileSync } from 'node:child_process'
import { gzipSync } from 'node:zlib'
import { join } from 'node:path'
import { build } from 'esbuild'
import { emit, knob, note } from './lib.js'
import { CHROMIUM, chromiumMissing, withBrowser } from '../packages/browser/test/harness.js'
import type { BenchParams, PageFigure } from './_browser-page.js'

const MS = knob('BENCH_BROWSER_MS', 2000)
const INGEST_BLOCKS = knob('BENCH_BROWSER_INGEST_BLOCKS', 2000)
const GOAL_BYTES = 80 * 1024

// ## Bundle size

const wallet = `
export { createBrowserIdentity, createBrowserWallet, openBrowserIdentity, restoreBrowserIdentity, openIdbStore } from '@tally/browser'
export { createAgent, createBlockTypes, validate } from '@tally/core'
`
const bundle = await build({
  stdin: { contents: wallet, resolveDir: join(import.meta.dirname, '..'), loader: 'ts' },
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  logLevel: 'silent',
  metafile: true,
})
const raw = bundle.outputFiles[0]!.contents
const gzipped = gzipSync(raw, { level: 9 }).length
const inputs = Object.entries(bundle.metafile!.outputs)[0]![1].inputs
const byPackage = new Map<string, number>()
for (const [path, { bytesInOutput }] of Object.entries(inputs)) {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? /packages\/([^/]+)/.exec(path)?.[1] ?? path
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + bytesInOutput)
}
note(`browser bench: wallet bundle ${raw.length} bytes minified, ${gzipped} gzipped; minified bytes by package: ${[...byPackage].sort((a, b) => b[1] - a[1]).map(([p, n]) => `${p} ${n}`).join(', ')}`)
emit('browser.bundle_gzip_bytes', gzipped, 'bytes', { raw_bytes: raw.length, goal_bytes: GOAL_BYTES, within_goal: gzipped <= GOAL_BYTES, entry: 'createBrowserWallet, createBrowserIdentity, openBrowserIdentity, restoreBrowserIdentity, openIdbStore, createAgent, createBlockTypes, validate' })

// ## In Chromium

const missing = chromiumMissing()
if (missing !== undefined) {
  note(`SKIPPED: browser bench in Chromium: ${missing}; install it with \`apt-get install -y chromium\``)
  process.exit(process.env.CI === 'true' ? 1 : 0)
}
const { figures, version } = await withBrowser(join(import.meta.dirname, '_browser-page.ts'), async (session) => {
  const page = await session.open()
  const params: BenchParams = { ms: MS, ingestBlocks: INGEST_BLOCKS }
  // the user agent says 156.0.0.0 only: ask the binary
  const version = /([\d.]+)/.exec(execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))?.[1] ?? 'unknown'
  note(`browser bench: Chromium ${version}, ${MS} ms per figure, ingest of ${INGEST_BLOCKS} blocks`)
  const figures = await page.evaluate((p) => (globalThis as unknown as { __tally: { bench(p: BenchParams): Promise<PageFigure[]> } }).__tally.bench(p), params)
  return { figures, version }
})
for (const { metric, value, unit, ...extra } of figures) {
  emit(metric, value, unit, { ...extra, browser: `chromium ${version}` })
}
