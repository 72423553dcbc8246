/**
 * Canonical CBOR as browsers run it: bundlers follow the package's `browser` field, which swaps
 * cbor.ts (on cbor-x) for src/cbor.browser.ts. esbuild bundles for the browser platform, as a
 * page's build does, and then:
 * - the whole of cbor.test.ts runs on that bundle (every known encoding, every refusal, every
 *   property), so the browser's codec passes the same suite as Node's;
 * - the two builds are compared on the same inputs: random values encode to the same bytes, and
 *   random or mutated bytes are accepted by both (with the same value) or refused by both.
 * The bundles are checked to hold the browser's codec and no cbor-x, and Node's build cbor-x.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build, type Metafile } from 'esbuild'
import * as node from '@tally/core'

const here = import.meta.dirname
// inside the repository, so that the bundles' external imports (uvu, fast-check) resolve
const dir = mkdtempSync(join(here, '..', '.cbor-browser-'))

/** Bundle `entry` for browsers (ESM), write it under `dir`, return its file and its inputs. */
async function bundle(name: string, entry: { file: string } | { contents: string }): Promise<{ file: string; inputs: string[] }> {
  const out = join(dir, `${name}.mjs`)
  const result = await build({
    ...('file' in entry ? { entryPoints: [entry.file] } : { stdin: { contents: entry.contents, resolveDir: here, loader: 'ts' as const } }),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // the test runner's own modules stay Node's: only the code under test is bundled
    external: ['uvu', 'uvu/assert', 'fast-check'],
    write: false,
    metafile: true,
    logLevel: 'silent',
  })
  writeFileSync(out, result.outputFiles[0]!.contents)
  return { file: out, inputs: Object.keys((result.metafile as Metafile).inputs) }
}

let browserCore: typeof node
let suiteInputs: string[]
try {
  const codec = await bundle('codec', { contents: `export { encodeCanonical, decodeCanonical, DecodeError } from '@tally/core'` })
  const whole = await bundle('cbor-suite', { file: join(here, 'cbor.test.ts') })
  suiteInputs = whole.inputs
  assert.ok(codec.inputs.some((p) => p.endsWith('core/dist/cbor.browser.js')), 'the browser bundle holds the browser\'s codec')
  assert.not.ok(codec.inputs.some((p) => p.includes('node_modules/cbor-x/')), 'the browser bundle holds no cbor-x')
  browserCore = (await import(pathToFileURL(codec.file).href)) as typeof node
  // cbor.test.ts's suites, on the browser build (they run as uvu runs every suite: queued now)
  await import(pathToFileURL(whole.file).href)
} finally {
  rmSync(dir, { recursive: true, force: true })
}

const Build = suite('cbor in browsers: the build')

Build("the suite's bundle runs on the browser's codec, not on cbor-x", () => {
  assert.ok(suiteInputs.some((p) => p.endsWith('core/dist/cbor.browser.js')))
  assert.not.ok(suiteInputs.some((p) => p.endsWith('core/dist/cbor.js')))
  assert.not.ok(suiteInputs.some((p) => p.includes('node_modules/cbor-x/')))
})

Build.run()

// ## The two codecs side by side

const Same = suite('cbor in browsers: the same bytes and the same refusals as in Node')

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const { value: cborValue } = fc.letrec<{ value: unknown; leaf: unknown; array: unknown[]; object: Record<string, unknown> }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 4 }, tie('leaf'), tie('array'), tie('object')),
  leaf: fc.oneof(
    fc.maxSafeInteger(),
    fc.constantFrom(0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -24, -25, -(2 ** 32), -(2 ** 32) - 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER),
    fc.bigInt({ min: -(2n ** 64n) + 1n, max: 2n ** 64n - 1n }),
    fc.bigInt({ min: -MAX_SAFE, max: MAX_SAFE }),
    fc.string({ unit: 'binary' }),
    fc.constantFrom('\ufeff', '\ufeffa', 'a\u0000b'),
    fc.uint8Array({ maxLength: 300 }),
    fc.boolean(),
    fc.constant(null),
  ),
  array: fc.array(tie('value'), { maxLength: 30 }),
  object: fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), tie('value'), { maxKeys: 30 }),
}))

/** What a codec makes of `bytes`: the hex of the value re-encoded, or the refusal. */
function outcome(core: typeof node, bytes: Uint8Array): string {
  try {
    return `ok ${node.toHex(node.encodeCanonical(core.decodeCanonical(bytes)))}`
  } catch (err) {
    assert.ok(err instanceof core.DecodeError, `a DecodeError, got ${String(err)}`)
    return 'refused'
  }
}

Same('every allowed value encodes to the same bytes, and decodes to the same value', () => {
  fc.assert(
    fc.property(cborValue, (v) => {
      const bytes = node.encodeCanonical(v)
      assert.is(node.toHex(browserCore.encodeCanonical(v)), node.toHex(bytes))
      assert.equal(browserCore.decodeCanonical(bytes), node.decodeCanonical(bytes))
    }),
    { numRuns: 1000 },
  )
})

Same('values the encoder refuses are refused by both, with the same error class', () => {
  const anything = fc.anything({ maxDepth: 3, withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withNullPrototype: true, withSet: true, withSparseArray: true, withTypedArray: true, stringUnit: 'binary', key: fc.oneof(fc.string(), fc.constantFrom('__proto__', '\ud800')) })
  const result = (encode: (v: unknown) => Uint8Array, v: unknown): string => {
    try {
      return node.toHex(encode(v))
    } catch (err) {
      return (err as Error).constructor.name
    }
  }
  fc.assert(
    fc.property(anything, (v) => {
      assert.is(result(browserCore.encodeCanonical, v), result(node.encodeCanonical, v))
    }),
    { numRuns: 1000 },
  )
})

Same('random bytes: accepted by both with the same value, or refused by both', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
      assert.is(outcome(browserCore, bytes), outcome(node, bytes))
    }),
    { numRuns: 5000 },
  )
})

Same('encodings with a byte changed, inserted or cut: the same verdict from both', () => {
  const mutated = fc.tuple(cborValue, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'cut')).map(([v, at, byte, how]) => {
    const b = node.encodeCanonical(v)
    const i = at % b.length
    if (how === 'set') return Uint8Array.from(b, (x, j) => (j === i ? byte : x))
    if (how === 'insert') return node.concatBytes(b.subarray(0, i), Uint8Array.of(byte), b.subarray(i))
    return b.subarray(0, i === 0 ? 1 : i)
  })
  fc.assert(
    fc.property(mutated, (bytes) => {
      assert.is(outcome(browserCore, bytes), outcome(node, bytes))
    }),
    { numRuns: 3000 },
  )
})

Same('known edge cases: 64-bit ends, a leading U+FEFF, long strings and byte strings, deep nesting', () => {
  const cases = ['1bffffffffffffffff', '3bfffffffffffffffe', '3b001fffffffffffff', '1b0020000000000000', '63efbbbf', '64efbbbf61', '1a00010000', '3a00000000', '19ffff', '8181818181818100']
  for (const h of cases) assert.is(outcome(browserCore, node.fromHex(h)), outcome(node, node.fromHex(h)), h)
  for (const v of ['x'.repeat(70_000), new Uint8Array(70_000).fill(7), Array.from({ length: 300 }, (_, i) => i)]) {
    assert.is(node.toHex(browserCore.encodeCanonical(v)), node.toHex(node.encodeCanonical(v)))
  }
})

Same.run()
