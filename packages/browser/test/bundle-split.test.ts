// What a wallet page loads at start and what it loads on demand: the wallet entry of
// bench/browser.ts (the subpaths a page should import), bundled by esbuild for browsers with code
// splitting as a page would be. The code that only some wallets use must stay out of the files
// loaded at start, each reached by a dynamic import() instead; and what only a full node needs
// (the wallet's node is @tally/gossip's client composition) must not be in the page at all: a
// static import added anywhere on the way would put either back silently (the sizes are the
// bench's business, not this test's).
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { bundleWallet } from './wallet-bundle.js'

const root = join(import.meta.dirname, '..', '..', '..')
/** Where each on-demand part's code lives (a path fragment of its modules). */
const ON_DEMAND: Record<string, RegExp> = {
  'the lock types\' rules': /economy\/dist\/lock\/lock-rules\.js$/,
  'the wallet\'s lock operations': /economy\/dist\/lock\/lock-wallet\.js$/,
  'the lock fraud kinds\' verifiers': /economy\/dist\/lock\/lock-fraud\.js$/,
  'the channel release\'s fraud verifier': /economy\/dist\/channels\/channel-fraud\.js$/,
  'the refund type\'s rules': /economy\/dist\/refund-rules\.js$/,
  'the reward type\'s rules (at the first claim or reward validated)': /economy\/dist\/reward-rules\.js$/,
  'the balance fraud verifier': /economy\/dist\/balance-fraud\.js$/,
  'the reward-claim fraud verifier': /economy\/dist\/reward-fraud\.js$/,
  'the refund-twice fraud verifier': /economy\/dist\/refund-fraud\.js$/,
  'the recovery phrase\'s BIP-39 words and PBKDF2': /@scure\/bip39\//,
  '@noble/curves (X25519 where WebCrypto has none)': /@noble\/curves\//,
}

/** What a page's client node and browser build leave out altogether: a full node's parts, Node's fast paths. */
const NOT_IN_THE_PAGE: Record<string, RegExp> = {
  'the full node\'s composition (createNode)': /gossip\/dist\/node\/node\.js$/,
  'the push ring\'s two-hop lists': /gossip\/dist\/node\/two-hop\.js$/,
  'the strangers\' quotas': /gossip\/dist\/node\/stranger-quota\.js$/,
  'the Merkle tree\'s specialised SHA-256 (Node\'s)': /economy\/dist\/tagged-sha256\.js$/,
}

const test = suite('wallet bundle split')

test('the start holds the wallet, and what only some wallets use is loaded by a dynamic import()', async () => {
  const { outputs, entry, closure } = await bundleWallet(root, join(root, 'tally-bundle-split-test'))
  const start = closure(entry)
  const atStart = [...start].flatMap((f) => Object.keys(outputs[f]!.inputs))
  // the wallet itself is at start (the test would pass vacuously on an empty bundle otherwise)
  for (const must of [
    /browser\/dist\/wallet\.js$/,
    /economy\/dist\/lock\/lock-type\.js$/,
    // the economy's fraud kinds are named at start (their verifiers load on demand)
    /economy\/dist\/lock\/lock-fraud-kinds\.browser\.js$/,
    /economy\/dist\/fraud-kinds\.browser\.js$/,
    /economy\/dist\/refund\.js$/,
    // the reward type is named at start, and a claim's evidence checked when stored (at open too)
    /economy\/dist\/reward\.js$/,
    // the blocks a wallet meets are verified in WebCrypto
    /browser\/dist\/webcrypto-verify\.js$/,
    /gossip\/dist\/node\/client\.js$/,
    /gossip\/dist\/node\/base-node\.js$/,
    /economy\/dist\/tagged-sha256\.browser\.js$/,
  ]) {
    assert.ok(atStart.some((p) => must.test(p)), `${must} is loaded at start`)
  }
  const dynamic = new Set(Object.values(outputs).flatMap((o) => o.imports.filter((i) => i.kind === 'dynamic-import').map((i) => i.path)))
  const onDemand = [...dynamic].filter((f) => !start.has(f)).flatMap((f) => Object.keys(outputs[f]!.inputs))
  for (const [part, where] of Object.entries(ON_DEMAND)) {
    const leaked = atStart.filter((p) => where.test(p))
    assert.equal(leaked, [], `${part}: not loaded at start`)
    assert.ok(onDemand.some((p) => where.test(p)), `${part}: in a chunk loaded by a dynamic import()`)
  }
  const everywhere = Object.values(outputs).flatMap((o) => Object.keys(o.inputs))
  for (const [part, where] of Object.entries(NOT_IN_THE_PAGE)) assert.equal(everywhere.filter((p) => where.test(p)), [], `${part}: not in the page`)
})

test.run()
