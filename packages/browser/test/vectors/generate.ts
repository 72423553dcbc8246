/**
 * Writes test/vectors/idb-v1.json: the golden fixture of @tally/browser's IndexedDB block store,
 * schema version 1 — every object store, index and record that this version writes for core's
 * golden vectors (blocks and fraud proofs of test/vectors/core-v1.json), dumped from Chromium.
 * Deterministic: running it again gives the same file byte for byte.
 *
 * packages/browser/test/store.test.ts loads this dump into a fresh database below the store's code
 * and opens it with openIdbStore (what version 1 wrote stays readable by every later version), and
 * checks that this version still writes exactly these records. A change to them is a new schema
 * version: a migration in openIdbStore and a new file (idb-v2.json), keeping this one.
 *
 * Run from the repository root (after `npm run build`): node --import tsx packages/browser/test/vectors/generate.ts
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { withBrowser } from '../harness.js'

const dump = await withBrowser(join(import.meta.dirname, 'generate.page.ts'), async (session) => {
  const page = await session.open()
  const run = await session.run(page, 'dump')
  if (!run.results.every((r) => r.ok)) throw new Error(run.results.map((r) => r.error).join('\n'))
  return run.out.dump
})
const file = {
  format: 'tally idb store fixture',
  version: 1,
  generator: 'packages/browser/test/vectors/generate.ts',
  source: 'test/vectors/core-v1.json (blocks one batch each, the fork refused; fraud proofs in one batch)',
  conventions: 'byte strings (binary keys, Uint8Array values) as {"$bytes": lowercase hex}; records in key order',
  database: dump,
}
const path = join(import.meta.dirname, 'idb-v1.json')
writeFileSync(path, JSON.stringify(file, null, 2) + '\n')
console.log(`wrote ${path}`)
