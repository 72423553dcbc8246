// Group `browser`: @tally/browser in headless Chromium (Debian's /usr/bin/chromium, never a
// downloaded build).
//
// - browser.bundle_gzip_bytes: a wallet entry importing @tally/browser (createBrowserWallet with
//   it: its client node (@tally/gossip's createClientNode), Noise, the economy's rules and network wallet) and the core functions a
//   wallet uses, bundled and minified by esbuild for browsers with code splitting, gzipped by zlib
//   (level 9, each file on its own, as a server sends them): what the page loads at start. Goal
//   ≤ 80 KB. The entry imports @tally/browser's subpaths (identity, wallet, idb-store), as the
//   README advises: the package index re-exports everything, which puts code a wallet loads on
//   demand back into the start. browser.bundle_gzip_bytes.on_demand.<module>: each chunk loaded
//   by a dynamic import() when first used (the recovery phrase's BIP-39 words and PBKDF2, at
//   creation or restore only; the economy's on-demand code — the lock types' rules and the
//   wallet's lock operations, the refund rules, the fraud kinds' verifiers — at the first lock,
//   redeem, release or refund validated, the first lock call, or the first fraud proof verified;
//   @noble/curves' X25519, only where WebCrypto has none). browser.bundle_gzip_bytes.with_on_demand:
//   the start and every chunk a wallet in Chromium loads once it has created its identity and met
//   a lock (all but X25519's):
//   what moving code on demand saves a page that uses everything is the difference between the
//   two. A note lists the 25 largest modules at start.
// - browser.sign_per_s / browser.verify_per_s per provider: webcrypto (a non-extractable CryptoKey
//   through BrowserIdentity.sign; createBrowserVerifier's verify, which the wallet's agent uses for
//   the blocks it meets, one at a time and 64 awaited together) and noble (BrowserIdentity backend
//   'noble'; core's nobleCrypto.verify, which synchronous validation uses), one at a time.
// - browser.append_per_s.idb: agent.append into the IndexedDB store (durability 'strict') against
//   the memory store, in the same page, in alternating slices: ratio_to_memory.
// - browser.ingest_blocks_per_s.idb: ingestBlocks of a received chain into IndexedDB against the
//   memory store (runs before and after it), same page: ratio_to_memory; noble verifying on this
//   thread. browser.ingest_blocks_per_s.idb.webcrypto_verify: the same with the WebCrypto verifier
//   as ingestBlocks' verifySignatures (what a wallet's agent uses).
//
// Knobs: BENCH_BROWSER_MS (default 2000, per figure), BENCH_BROWSER_INGEST_BLOCKS (default 2000).
// Without Chromium: a note and no figures (CI=true: exit 1).
import { execFileSync } from 'node:child_process'
import { gzipSync } from 'node:zlib'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { emit, knob, note } from './lib.js'
import { CHROMIUM, chromiumMissing, withBrowser } from '../packages/browser/test/harness.js'
import { bundleWallet } from '../packages/browser/test/wallet-bundle.js'
import type { BenchParams, PageFigure } from './_browser-page.js'

const MS = knob('BENCH_BROWSER_MS', 2000)
const INGEST_BLOCKS = knob('BENCH_BROWSER_INGEST_BLOCKS', 2000)
const GOAL_BYTES = 80 * 1024

// ## Bundle size

// what a wallet loads only when it uses it (a dynamic import()) goes into chunks of its own: the
// figure is what the page loads at start, the chunks are printed each on a line of their own
const { outputs, contents, entry, closure } = await bundleWallet(join(import.meta.dirname, '..'), join(tmpdir(), 'tally-bench-wallet'))
/** Minified and gzipped bytes of some outputs, and minified bytes by package and by module. */
const measure = (files: Iterable<string>) => {
  let raw = 0
  let gzipped = 0
  const byPackage = new Map<string, number>()
  const byModule = new Map<string, number>()
  for (const f of files) {
    const bytes = contents.get(f)!
    raw += bytes.length
    gzipped += gzipSync(bytes, { level: 9 }).length
    for (const [path, { bytesInOutput }] of Object.entries(outputs[f]!.inputs)) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? /packages\/([^/]+)/.exec(path)?.[1] ?? path
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + bytesInOutput)
      const module = path.replace(/^.*node_modules\//, '').replace(/^.*packages\/([^/]+)\/(?:dist|src)\//, '$1/').replace(/\.[jt]s$/, '')
      byModule.set(module, (byModule.get(module) ?? 0) + bytesInOutput)
    }
  }
  const list = (m: Map<string, number>, n = Infinity) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([p, b]) => `${p} ${b}`).join(', ')
  return { raw, gzipped, byPackage: list(byPackage), byModule: list(byModule, 25) }
}
const initial = closure(entry)
const start = measure(initial)
note(`browser bench: wallet bundle at start ${start.raw} bytes minified, ${start.gzipped} gzipped (${initial.size} file(s)); minified bytes by package: ${start.byPackage}`)
note(`browser bench: the 25 largest modules at start, minified bytes: ${start.byModule}`)
emit('browser.bundle_gzip_bytes', start.gzipped, 'bytes', { raw_bytes: start.raw, goal_bytes: GOAL_BYTES, within_goal: start.gzipped <= GOAL_BYTES, what: 'loaded at start (entry and the chunks it imports statically)', entry: 'createBrowserWallet, createBrowserIdentity, openBrowserIdentity, restoreBrowserIdentity, openIdbStore, createAgent, createBlockTypes, validate' })
// each chunk reached only by a dynamic import(), with what it imports statically beyond the start
const withOnDemand = { gzipped: start.gzipped, raw: start.raw, chunks: [] as string[] }
const dynamic = new Set(Object.values(outputs).flatMap((o) => o.imports.filter((i) => i.kind === 'dynamic-import' && i.path in outputs).map((i) => i.path)))
for (const chunk of [...dynamic].filter((c) => !initial.has(c)).sort()) {
  const files = [...closure(chunk)].filter((f) => !initial.has(f))
  const sources = Object.keys(outputs[chunk]!.inputs).filter((p) => p.includes('packages/')).map((p) => p.replace(/.*packages\/([^/]+)\/(?:dist|src)\/(.*)\.[jt]s$/, '$1/$2'))
  const name = (outputs[chunk]!.entryPoint ?? sources[0] ?? chunk).replace(/\.[jt]s$/, '').replace(/^.*\//, '').replace(/[^a-z0-9]+/gi, '_')
  const m = measure(files)
  if (!sources.includes('gossip/wire/noble-x25519')) {
    withOnDemand.gzipped += m.gzipped
    withOnDemand.raw += m.raw
    withOnDemand.chunks.push(name)
  }
  note(`browser bench: on demand (${sources.join(', ')}): ${m.raw} bytes minified, ${m.gzipped} gzipped; by package: ${m.byPackage}`)
  emit(`browser.bundle_gzip_bytes.on_demand.${name}`, m.gzipped, 'bytes', { raw_bytes: m.raw, files: files.length, modules: sources, what: 'loaded by a dynamic import() when first used, beyond what is loaded at start' })
}
emit('browser.bundle_gzip_bytes.with_on_demand', withOnDemand.gzipped, 'bytes', { raw_bytes: withOnDemand.raw, chunks: withOnDemand.chunks, what: 'the start and the chunks a wallet in Chromium loads once it created its identity and met a lock (not X25519\'s: Chromium has it in WebCrypto)' })

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
