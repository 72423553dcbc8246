// The IndexedDB store in Chromium: core's BlockStore compliance suite, the format (schema version,
// format record, golden fixture, strict durability) and two connections as two tabs would have.
import { join } from 'node:path'
import { browserSuite } from './harness.js'

await browserSuite('@tally/browser IndexedDB store', join(import.meta.dirname, 'page', 'store.page.ts'), async (session) => {
  const page = await session.open()
  return [await session.run(page, 'store')]
})
