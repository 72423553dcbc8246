// The WebCrypto Ed25519 verifier in Chromium: noble's verdict (libsodium's rules) on every vector
// and edge case, blocks verified for an agent (page/verify.page.ts).
import { join } from 'node:path'
import { browserSuite } from './harness.js'

await browserSuite('@tally/browser verifier', join(import.meta.dirname, 'page', 'verify.page.ts'), async (session) => {
  const page = await session.open()
  const run = await session.run(page, 'verify')
  console.log(`  WebCrypto alone, without the strict checks: ${JSON.stringify(run.out.webCryptoAlone)}`)
  return [run]
})
