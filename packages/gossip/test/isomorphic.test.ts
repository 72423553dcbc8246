/**
 * The package's main entry and its browser WebSocket build are isomorphic: following every
 * import from the built files, nothing reaches a `node:` module or `ws`; the only packages used
 * are @tally/core and lru-cache (which picks its own browser build). The public API is what the
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

/** Every module reached from `entry` inside dist, and every specifier that leaves it. */
function graph(entry: string): { files: string[]; external: Set<string> } {
  const files: string[] = []
  const external = new Set<string>()
  const todo = [join(dist, entry)]
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
  assert.equal([...external].sort(), ['@tally/core', 'lru-cache'])
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
