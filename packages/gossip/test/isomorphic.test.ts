/**
 * The package's main entry and its browser WebSocket build are isomorphic: following every
 * import from the built files, nothing reaches a `node:` module or `ws`; the only packages used
 * are @tally/core, lru-cache (which picks its own browser build) and @noble's ciphers, curves and
 * hashes for Noise, whose own files reach no `node:` module either. The public API is what the
 * README documents.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as gossip from '@tally/gossip'

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '../dist')
const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[\s;])import\s+['"]([^'"]+)['"]/g

/** Every module reached from `entry` inside dist (or from an absolute path), and every specifier that leaves it. */
function graph(entry: string): { files: string[]; external: Set<string> } {
  const files: string[] = []
  const external = new Set<string>()
  const todo = [entry.startsWith('/') ? entry : join(dist, entry)]
  while (todo.length > 0) {
    const file = todo.pop()!
    if (files.includes(file)) continue
    files.push(file)
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3]!
      if (spec.startsWith('.')) todo.push(resolve(dirname(file), spec))
      else external.add(spec)
    }
  }
  return { files, external }
}

const Iso = suite('isomorphic entry points')

Iso('the built files exist (run `npx tsc -b packages/gossip` first)', () => {
  assert.ok(existsSync(join(dist, 'index.js')))
  assert.ok(existsSync(join(dist, 'transport/ws-transport.browser.js')))
})

Iso('index.js reaches no node: module and no ws', () => {
  const { files, external } = graph('index.js')
  assert.ok(files.length >= 10, `followed ${files.length} files`)
  assert.ok(!files.some((f) => f.includes('ws-transport') || f.includes('ws-connection')), 'no WebSocket code in the main entry')
  const packages = [...external].map((s) => s.split('/').slice(0, s.startsWith('@') ? 2 : 1).join('/'))
  assert.equal([...new Set(packages)].sort(), ['@noble/ciphers', '@noble/curves', '@noble/hashes', '@tally/core'])
})

Iso('the @noble modules that Noise uses reach no node: module, and no package beyond @noble', () => {
  const { external } = graph('index.js')
  const todo = [...external].filter((s) => s.startsWith('@noble/'))
  assert.ok(todo.length >= 3, todo.join(', '))
  const done = new Set<string>()
  for (let spec = todo.pop(); spec !== undefined; spec = todo.pop()) {
    if (done.has(spec)) continue
    done.add(spec)
    const reached = graph(fileURLToPath(import.meta.resolve(spec)))
    const outside = [...reached.external].filter((s) => !s.startsWith('@noble/'))
    assert.equal(outside, [], `${spec} imports ${outside.join(', ')}`)
    todo.push(...reached.external)
  }
})

Iso('ws-transport.browser.js reaches no node: module and no ws', () => {
  const { files, external } = graph('transport/ws-transport.browser.js')
  assert.ok(files.some((f) => f.endsWith('ws-connection.js')), 'it uses the shared connection code')
  assert.equal([...external].sort(), ['@tally/core'])
})

Iso('the Node build is the one that imports ws', () => {
  const { external } = graph('transport/ws-transport.js')
  assert.ok(external.has('ws'))
})

Iso('the public API: factories and constants (types are erased)', () => {
  const names = Object.keys(gossip).sort()
  for (const name of [
    'createMemoryNetwork',
    'createVirtualClock',
    'createSession',
    'openSession',
    'performHandshake',
    'encodeMessage',
    'decodeMessage',
    'resolveCrawlRange',
    'createSeenCache',
    'systemClock',
    'DEFAULT_LIMITS',
    'resolveLimits',
    'PROTOCOL_VERSION',
    'SUPPORTED_VERSIONS',
    'HandshakeError',
    'MessageDecodeError',
  ]) {
    assert.ok(names.includes(name), `exports ${name}`)
  }
  assert.not.ok(names.includes('createWsTransport'), 'the ws transport lives in "@tally/gossip/ws"')
  assert.ok(Object.isFrozen(gossip.DEFAULT_LIMITS))
})

Iso.run()
