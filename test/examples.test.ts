// The README's example and the `npm start` transcript are promises to a first-time user: run both
// as a user would, and check they say what the README says they say.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'

const root = join(import.meta.dirname, '..')

function runTs(file: string, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } })
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

examples('the TTN community (200 gateways, 4 epochs) certifies every epoch and its supply adds up', () => {
  const { status, stdout, stderr } = runTs(join(root, 'examples/ttn-gateways/main.ts'), { TALLY_TTN_GATEWAYS: '200', TALLY_TTN_EPOCHS: '4', TALLY_TTN_SEED: '3' })
  assert.is(status, 0, stderr)
  assert.match(stdout, /200 gateways of 17 owners/)
  assert.match(stdout, /Top contributors after 4 hours/)
  assert.match(stdout, /refused: \d+ late, \d+ unregistered, \d+ duplicate, \d+ signature/)
  assert.match(stdout, /the three witnesses computed the same root every hour: ✓/)
  assert.match(stdout, /allocated {2}4 × 1,000\.000 = 4,000\.000 WVL: every certificate and every witness's table allocate exactly 1,000\.000 ✓/)
  assert.match(stdout, /balances {3}[\d,.]+ WVL = claimed − burned ✓; the auditor's replay agrees .* ✓/)
  assert.match(stdout, /chains {5}\d+ chains, [\d,]+ blocks validated by the auditor: 0 invalid, 0 fraud proofs ✓/)
  assert.match(stdout, /\nsupply check: OK\n/)
  // not a terminal here: the progress falls back to one plain line per epoch, on stderr
  assert.match(stderr, /4\/4 epochs {2}03:00 {2}[\d.]+ h airtime {2}\d+ reports \(\d+ refused\) {2}certified [ABC]\+[ABC]/)
  assert.not.match(stderr, /\x1b\[2K/)
})

examples('the TTN SLA market settles every cycle on certified outcomes, its supply adds up, and a trade loses at most one instalment', () => {
  const { status, stdout, stderr } = runTs(join(root, 'examples/ttn-sla/main.ts'))
  assert.is(status, 0, stderr)
  assert.match(stdout, /20 gateway owners, 30 application owners, 3 witnesses \(quorum 2\) on ws over 127\.0\.0\.1/)
  assert.match(stdout, /20 offers listed, seen by witnesses A:20 B:20 C:20/)
  const summary = /20 offers, 30 subscriptions, (\d+) cycles: (\d+) passed, (\d+) failed; (\d+) instalments .* (\d+) penalties .*; 0 decided locks not yet released/.exec(stdout)
  assert.ok(summary !== null, 'the summary line')
  const [cycles, passed, failed, instalments, penalties] = summary.slice(1).map(Number) as [number, number, number, number, number]
  assert.ok(passed > 0 && failed > 0 && passed + failed === cycles && instalments === passed && penalties === failed)
  assert.match(stdout, /locked 0\.000 = claimed [\d,.]+ − burned 0\.000 WVL ✓; \d+ blocks audited, 0 invalid, 0 fraud proofs/)
  assert.match(stdout, /\nsupply check: OK\n/)
  assert.match(stdout, /orders by gossip, takes over ws/)
  assert.match(stdout, /trade 1: done; .* 10 instalments, the taker 2\.500 BWT in 10; most at stake 0\.250 BWT/)
  assert.match(stdout, /lost 0\.250 BWT — one instalment \(0\.250\)/)
  assert.match(stdout, /\ntrade check: OK\n/)
  // one progress line per epoch, on stderr; one with a witness down, certified by the other two
  assert.is(stderr.match(/^ {2}epoch +\d+\/12 /gm)?.length, 12)
  assert.match(stderr, /certified by A\+B \(C down\)/)
  assert.match(stderr, /C closed epoch 6 late: it holds both certificates/)
})

examples.run()
