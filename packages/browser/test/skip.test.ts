// Without Chromium the browser suites are skipped loudly and counted as skipped by `npm test`;
// with CI=true a missing browser fails. Runs scripts/test.mjs on a stand-in browser test file,
// with TALLY_CHROMIUM pointing nowhere (no browser is started).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'

const root = join(import.meta.dirname, '..', '..', '..')
const harness = join(import.meta.dirname, 'harness.ts')

function runSuites(env: Record<string, string>): { status: number | null; stdout: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tally-skip-'))
  try {
    const file = join(dir, 'browser.test.ts')
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n')
    writeFileSync(file, `import { browserSuite } from ${JSON.stringify(harness)}\nawait browserSuite('stand-in browser suite', 'unused.page.ts', async () => [])\n`)
    const { CI: _, ...rest } = process.env
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'test.mjs'), dir], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...rest, TALLY_CHROMIUM: join(dir, 'no-chromium-here'), ...env },
    })
    return { status: r.status, stdout: r.stdout + r.stderr }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const test = suite('browser suites without Chromium')

test('npm test says loudly that they were skipped and how to install Chromium, and counts them as skipped', () => {
  const { status, stdout } = runSuites({})
  assert.is(status, 0, stdout)
  assert.match(stdout, /^SKIP .*browser\.test\.ts \(0 passed, 0 failed, 1 skipped/m)
  assert.match(stdout, /1 test SKIPPED, not run:\n {2}SKIPPED: stand-in browser suite: Chromium not found at .*no-chromium-here; install it with `apt-get install -y chromium`/)
  assert.match(stdout, /!{100}\n0 passed, 0 failed, 1 skipped\n?$/)
})

test('with CI=true a missing browser fails the run', () => {
  const { status, stdout } = runSuites({ CI: 'true' })
  assert.is(status, 1)
  assert.match(stdout, /Chromium is installed \(CI=true: browser suites may not be skipped\)/)
  assert.match(stdout, /apt-get install -y chromium/)
  assert.match(stdout, /0 passed, 1 failed\n?$/)
})

test.run()
