// The README's example and the `npm start` transcript are promises to a first-time user: run both
// as a user would, and check they say what the README says they say.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'

const root = join(import.meta.dirname, '..')

function runTs(file: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const examples = suite('examples')

examples('the README example runs and prints the levels it documents', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
  assert.ok(code !== undefined, 'README has a ts example')
  assert.ok(code.split('\n').filter((l) => l.trim() !== '').length <= 14, 'the example stays about ten lines')
  // inside the repo so that '@tally/core' resolves through the workspace
  const dir = mkdtempSync(join(root, 'test', '.readme-'))
  try {
    const file = join(dir, 'example.ts')
    writeFileSync(file, code)
    const { status, stdout, stderr } = runTs(file)
    assert.is(status, 0, stderr)
    assert.equal(stdout.trim().split('\n'), ['partial-next', 'partial-next'])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

examples('the npm start transcript catches, proves and refuses the double spend', () => {
  const { status, stdout, stderr } = runTs(join(root, 'examples/fraud-demo/main.ts'))
  assert.is(status, 0, stderr)
  assert.match(stdout, /holds a 'double-sign' fraud proof against Alice/)
  assert.match(stdout, /verifyFraudProof → valid/)
  assert.is(stdout.match(/refuses Alice's next proposal: RefusedError ERR_REFUSED/g)?.length, 2)
  assert.match(stdout, /built from Alice's blocks → rejected/)
  assert.match(stdout, /refuses Carol\? false/)
})

examples.run()
