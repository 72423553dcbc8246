/**
 * Hostile peers on real ws sockets: a flooder, an oversize peer, a crawl-range abuser and a forger,
 * each in its own process (test/fixtures/hostile-peers.ts), all aimed at one honest node while it
 * countersigns an honest client's transactions in this process. The honest pair's rate is measured
 * in alternating windows without and with the attack (B A B ... A B: each attacked window against
 * the two around it, the median of those ratios), and afterwards:
 * - the target is open and reported no error; no honest transaction failed;
 * - every kind was disconnected for misbehaviour at least once, and a banned key that dialled again
 *   was refused (later dials from their address, once its faults add up, are dropped as they come);
 * - the forged proofs cost their sender and none was kept or relayed: neither honest node holds a
 *   proof against an honest key, and the target sent no proof at all;
 * - every block the target stored verifies and links to the one before.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { HOSTILE_KINDS, runFloodTrial } from './fixtures/hostile-peers.ts'

/**
 * What the honest pair must keep under attack, as a share of what it does without. The target is
 * 0.8 of its rate, which bench/reliability.ts measures over a long run. This test's
 * windows are 1 s on a shared 2-core CI machine, where another job can take a core from one
 * window and not the next, and a major GC of the honest nodes lands in one window or another:
 * single attacked windows here range from 0.6 to 1.25 of the windows around them, also when the
 * attackers open only a session or two. So it asks for less, of the rate and of transactions per
 * CPU second (what the attack costs the node in CPU, blind to other jobs), and still fails a node
 * whose defences fail: a heads-request flood alone took the rate to 0.1 before the session weighed
 * requests by their work.
 */
const MIN_RATIO = 0.6
const MIN_CPU_RATIO = 0.7

const Hostile = suite('hostile peers on ws')

Hostile('flood, oversize, crawl and forge: each cut off, nothing forged kept, the honest rate held', async () => {
  const trial = await runFloodTrial({ windowMs: 1000, rounds: 6 })
  const summary =
    `without ${trial.baseline.map(Math.round).join('/')} tx/s, with ${trial.attacked.map(Math.round).join('/')} tx/s: ` +
    `ratio ${trial.ratio.toFixed(2)}, per CPU second ${trial.cpuRatio.toFixed(2)}`
  console.log(`\n  hostile peers on ws: ${summary}`) // the runner shows it when the file fails

  assert.ok(trial.targetOpen, 'the target is still open')
  assert.equal(trial.errors.map(String), [], 'no error event on the honest nodes')
  assert.is(trial.failed, 0, 'no honest transaction failed')
  assert.ok(trial.baselineRate > 0 && trial.attackedRate > 0, summary)

  for (const kind of HOSTILE_KINDS) {
    const d = trial.disconnects[kind]
    const r = trial.reports.find((x) => x.kind === kind)!
    assert.ok(r.sessions > 0, `${kind}: opened a session`)
    assert.ok(d.punished > 0, `${kind}: disconnected for misbehaviour (${d.closed} closed: ${d.reasons.join('; ')})`)
  }
  const refusals = trial.reports.map((r) => `${r.kind}: ${r.refused} refused, ${r.dropped} dropped`).join('; ')
  assert.ok(trial.reports.reduce((n, r) => n + r.refused, 0) > 0, `a banned key that dialled again was refused at the handshake (${refusals})`)
  assert.match(trial.disconnects.flood.reasons.join(';'), /rate limit/)
  assert.match(trial.disconnects.oversize.reasons.join(';'), /too-many|too-large|over the limit|1009/)
  assert.match(trial.disconnects.crawl.reasons.join(';'), /rate limit|malformed/)
  assert.match(trial.disconnects.forge.reasons.join(';'), /fraud proof|malformed|invalid block/)

  assert.ok(trial.targetStats.forgedProofs > 0, 'forged proofs were verified and refused')
  assert.is(trial.targetStats.proofs, 0, 'no proof was accepted')
  assert.is(trial.targetStats.proofsSent, 0, 'no proof was relayed')
  assert.is(trial.honestAccused, 0, 'no honest key is accused, on either honest node')
  assert.is(trial.invalidStored, 0, 'every stored block verifies and links')

  assert.ok(trial.ratio >= MIN_RATIO, `the honest pair keeps ${MIN_RATIO} of its rate: ${summary}`)
  assert.ok(trial.cpuRatio >= MIN_CPU_RATIO, `the attack costs the node less than ${1 - MIN_CPU_RATIO} of its CPU per transaction: ${summary}`)
})

Hostile.run()
