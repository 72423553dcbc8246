// The README's example and the `npm start` transcript are promises to a first-time user: run both
// as a user would, and check they say what the README says they say.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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

examples('the smart-city data market: found by area, paid by transfer or channel, read live; a lapse cut off; a tampering relay caught', () => {
  const { status, stdout, stderr } = runTs(join(root, 'examples/smart-city/main.ts'))
  assert.is(status, 0, stderr + stdout)
  assert.match(stdout, /12 listings spread: every buyer's index holds 12 \/ 12 \/ 12/)
  assert.is(stdout.match(/key of period \d+ sealed to its X25519 key/g)?.length, 6)
  assert.is(stdout.match(/paid \d+ DTM \(transfer, seq \d\) → [a-z-]+\d: key of period/g)?.length, 4)
  assert.is(stdout.match(/MobilityApp locked \d+ DTM for parking-\d \(lock, seq \d\) and sent a \d+ DTM voucher/g)?.length, 2)
  assert.match(stdout, /MobilityApp signs a \d+ DTM voucher \(cumulative\) for parking-\d → key of period \d/)
  assert.match(stdout, /NoiseMap: key of period \d of noise-\d refused \(lapsed\)/)
  assert.match(stdout, /NoiseMap cannot read noise-\d #\d+ \(period \d\): no key/)
  assert.match(stdout, /HealthLab: message #\d+ of air-quality-\d from the relay fails the sensor's signature: tampering caught/)
  assert.match(stdout, /the relay held \d+ messages of air-quality-\d and could read 0 of them/)
  assert.match(stdout, /\nmarket check: OK\n/)
})

examples('the coffee machines: receipts over NFC, an offline morning redeemed later, recharges, a ledger per machine, and the supply check', () => {
  const { status, stdout, stderr } = runTs(join(root, 'examples/coffee-machines/main.ts'))
  assert.is(status, 0, stderr)
  assert.match(stdout, /Lobby \(1F\) loses its network: it keeps serving and accepting receipts off line/)
  assert.match(stdout, /Lobby \(1F\) is back on line after [1-9]\d* receipts taken off line\n.*Lobby \(1F\) redeems [\d.]+ BEAN \(catching up/)
  assert.match(stdout, /the company recharges .*: a second lock of 40\.00 BEAN/)
  assert.match(stdout, /receipt #1 \((\d+) bytes/)
  assert.ok(Number(/largest (\d+) bytes/.exec(stdout)?.[1]) <= 120, 'a receipt fits one small NFC frame')
  const ledger = [...stdout.matchAll(/^ {2}(Espresso bar \(2F\)|Kitchen \(3F\)|Lobby \(1F\)) +(\d+) +(\d+) +(\d+) +([\d.]+) +([\d.]+) +([\d.]+) /gm)]
  assert.is(ledger.length, 3, 'a ledger line per machine')
  for (const row of ledger) assert.is(row[6], row[7], `${row[1]}: everything paid was redeemed`)
  assert.match(stdout, /auditor: 4 chains, 0 invalid blocks, 0 parties accused; balances 1000\.00 \+ locked 0\.00 = claimed 1000\.00/)
  assert.match(stdout, /\nsupply check: OK\n/)
})

examples('bandwidth tokens: a download paid hop by hop, then free riders refused and the balances conserved', () => {
  const { status, stdout, stderr } = runTs(join(root, 'examples/bandwidth-tokens/main.ts'), { TALLY_BW_PEERS: '100', TALLY_BW_HOURS: '72' })
  assert.is(status, 0, stderr)
  assert.match(stdout, /Dana {5}→ relay 1 {5}2100 MB/)
  assert.match(stdout, /relay 2 {2}→ the seeder {3}700 MB/)
  assert.match(stdout, /Dana -2100 MB, relays \+700 \/ \+700, seeder \+700; Σ = 0/)
  assert.match(stdout, /free riders: \d+% refused/)
  assert.match(stdout, /honest peers: served \d+ of \d+ downloads/)
  assert.match(stdout, /-10 … -5 GB │/)
  assert.match(stdout, /conservation: Σ balances = 0 MB, Σ in the published payouts = 0 MB .* ✓/)
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

examples('the browser wallet in npm start: two wallets in headless Chromium claim, pay each other and use a payment channel; without Chromium, a loud skip that fails nothing', () => {
  const missing = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'examples/browser-wallet/main.ts'), '--demo'], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, TALLY_CHROMIUM: join(root, 'no-chromium-here'), CI: '' } })
  assert.is(missing.status, 0, missing.stderr)
  assert.match(missing.stdout, /SKIPPED: examples\/browser-wallet --demo needs Chromium, not found at .*no-chromium-here/)
  assert.match(missing.stdout, /apt-get install chromium/)
  assert.not.match(missing.stdout, /wallet page:/, 'nothing started')
  if (!existsSync(process.env.TALLY_CHROMIUM || '/usr/bin/chromium')) {
    // as the browser suites: in CI a missing browser fails
    assert.ok(process.env.CI !== 'true', 'Chromium is installed (CI=true): apt-get install chromium')
    console.log('\nSKIPPED: the browser-wallet demo itself: Chromium not found; install it with `apt-get install chromium`\n')
    return
  }
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'examples/browser-wallet/main.ts'), '--demo'], { cwd: root, encoding: 'utf8', timeout: 180_000 })
  assert.is(r.status, 0, r.stderr + r.stdout)
  assert.match(r.stdout, /alice claim: ok claimed epoch 0: 500\.000 WVL/)
  assert.match(r.stdout, /bob send: ok sent 20\.250 WVL to alice/)
  assert.match(r.stdout, /alice channel-open: ok channel to bob .* opened: 50\.000 WVL locked/)
  assert.match(r.stdout, /bob channel-redeem: ok redeemed 5\.000 WVL/)
  assert.match(r.stdout, /alice: balance 349\.750 WVL; history lock, received, sent, reward/)
  assert.match(r.stdout, /bob: balance 605\.250 WVL; history redeem, sent, received, reward/)
  assert.match(r.stdout, /browser-wallet demo: OK in [\d.]+ s/)
})

examples.run()
