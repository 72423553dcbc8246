// The Noise primitives a page connects with, in Chromium: X25519 from WebCrypto (so a wallet loads
// no @noble/curves at start), byte for byte what @noble's gives, low-order points refused, and
// @noble's loaded instead where WebCrypto has no X25519. (The wallet tests run the handshake itself
// from the page against Node nodes, over real sockets.)
import { join } from 'node:path'
import { browserSuite } from './harness.js'

await browserSuite('@tally/gossip Noise primitives in a page', join(import.meta.dirname, 'page', 'noise.page.ts'), async (session) => {
  const page = await session.open()
  return [await session.run(page, 'noise')]
})
