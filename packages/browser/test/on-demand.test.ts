// What a wallet page loads on demand still loads and works, in Chromium (the bundles of
// test/harness.ts take the packages' `browser` fields, as a page's bundler does): the lock types'
// fraud verifiers, named at start and loaded with the lock rules when a proof is first verified.
// (The refund rules, loaded on the first refund met, run in wallet.test.ts's 'strand' phase: a
// transfer left in flight comes back as a refund the page's agent validates.)
import { join } from 'node:path'
import { encodeSignedConfig, signConfig, signedConfig } from '@tally/economy'
import { toHex } from '@tally/core'
import { genesis, witnesses } from '../../economy/test/helpers.ts'
import { browserSuite } from './harness.js'

const { config } = genesis()
const signed = encodeSignedConfig(signedConfig(config, witnesses.slice(0, 2).map((w) => signConfig(config, w))))

await browserSuite('@tally/browser: the code a wallet loads on demand', join(import.meta.dirname, 'page', 'on-demand.page.ts'), async (session) => {
  const page = await session.open()
  return [await session.run(page, 'lock-fraud', { config: toHex(signed) })]
})
