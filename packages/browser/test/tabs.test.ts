// One wallet in two tabs of one Chromium profile: only the tab holding the signing lock signs, the
// other is refused and follows the chain, and takes over when the first tab closes. Both tabs
// append at once; the chain, read from a third tab, never forks.
import { join } from 'node:path'
import { browserSuite } from './harness.js'

const n = 8

await browserSuite('@tally/browser: one signing tab at a time', join(import.meta.dirname, 'page', 'tabs.page.ts'), async (session) => {
  const a = await session.open()
  const b = await session.open()
  const runs = [await session.run(a, 'a-open'), await session.run(b, 'b-open')]
  // both tabs append at once; B's phase waits (for the lock) until A's tab is closed
  const bAppends = session.run(b, 'b-append', { n })
  runs.push(await session.run(a, 'a-append', { n }))
  await a.close()
  runs.push(await bAppends)
  const c = await session.open()
  runs.push(await session.run(c, 'check', { n }))
  return runs
})
