// Browser identities in Chromium: WebCrypto Ed25519 signs as core's noble provider does, keys cannot
// be exported, the recovery phrase restores the same key (not "new": the agent recovers its head
// first), one signer at a time; and a reload of the page keeps the keys and the chain.
import { join } from 'node:path'
import { browserSuite, load } from './harness.js'

await browserSuite('@tally/browser identity', join(import.meta.dirname, 'page', 'identity.page.ts'), async (session) => {
  const page = await session.open()
  const identity = await session.run(page, 'identity')
  await load(page) // a fresh page load for the next phase
  const before = await session.run(page, 'persist-write')
  await load(page) // the reload
  const after = await session.run(page, 'persist-read', before.out)
  return [identity, before, after]
})
