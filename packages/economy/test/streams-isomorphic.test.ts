/**
 * @tally/economy/streams is isomorphic: esbuild bundles its built entry for the browser platform,
 * and nothing in the bundle's inputs is a `node:` module; the only packages it reaches are
 * @tally/core (with @noble/ed25519 and cbor-x) and @noble's ciphers, curves and hashes.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

const entry = fileURLToPath(new URL('../dist/streams/index.js', import.meta.url))

const Iso = suite('streams: isomorphic')

Iso('the streams entry bundles for a browser without a node: module', async () => {
  const result = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent' })
  const inputs = Object.keys(result.metafile.inputs)
  assert.not.ok(inputs.some((i) => i.startsWith('node:')), 'a node: module in the bundle')
  const packages = new Set(inputs.map((i) => /node_modules\/(@[^/]+\/[^/]+|[^/]+)/.exec(i)?.[1] ?? (i.includes('packages/core/') ? '@tally/core' : i.includes('packages/economy/') ? '@tally/economy' : i)))
  const allowed = new Set(['@noble/ciphers', '@noble/curves', '@noble/ed25519', '@noble/hashes', 'cbor-x', '@tally/core', '@tally/economy'])
  assert.equal([...packages].filter((p) => !allowed.has(p)), [], 'only core and @noble')
  assert.ok(packages.has('@noble/ciphers') && packages.has('@noble/curves') && packages.has('@noble/hashes'))
})

Iso.run()
