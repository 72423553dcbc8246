/**
 * @exclusive (scripts/test.mjs runs it alone: its attackers must not share the machine with another test's)
 * Hostile peers on real ws sockets: a flooder, an oversize peer, a crawl-range abuser and a forger,
 * two of each, each kind in its own process at normal priority, each attacker dialling from its own
 * loopback address (127.0.0.2 ... 127.0.0.9; test/fixtures/hostile-peers.ts), all aimed at one
 * honest node while it countersigns an honest client's transactions in this process, in
 * alternating windows without and with the attack (B A B ... A B). Afterwards:
 * - the target is open and reported no error; no honest transaction failed, and honest
 *   transactions completed in every attacked window;
 * - what the target read from the strangers stayed within their shared budget (read-gate.ts;
 *   counted in the target's stats, not timed): at most the budget's rate over the attacked
 *   windows, its burst, and a few frames per session per turn, against the tens of thousands of
 *   frames they sent; and they were held (paused) for it;
 * - every kind was cut off or held: disconnected for its misbehaviour (the oversize peer and the
 *   forger always; the flooder and the crawler when their own rate runs out before their share
 *   of the budget does), and a banned key that dialled again was refused at the handshake;
 * - the forged proofs cost their sender and none was kept or relayed: neither honest node holds a
 *   proof against an honest key, and the target sent no proof at all;
 * - every block the target stored verifies and links to the one before.
 *
 * Why no rate ratio here: the figure the issue asks for (the honest rate under attack >= 0.8 of
 * the rate without, and per CPU second) is wall-clock or CPU-clock speed, and this test runs on a
 * shared 2-core CI machine where other jobs take the cores: at a load average of 20 the honest
 * pair's windows without an attack ranged from 100 to 990 tx/s in one run, and its CPU per
 * transaction moved with the load too. A threshold on it would fail for the machine's sake, or be
 * set low enough to mean nothing. So the ratio, with the load average beside it, is
 * bench/reliability.ts's (`reliability.flood_honest_ratio`, target 0.8, two ratios taken in one
 * run); this test asserts the mechanism that makes it hold, by counting work. The summary line
 * prints the ratios of this run for the record.
 */
import { loadavg } from 'node:os'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Clock, Connection, RefusedConnection } from '@tally/core'
import { createReadGate, systemClock } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'
import { HOSTILE_KINDS, runFloodTrial } from './fixtures/hostile-peers.ts'

/** The target's strangers' budget: the node's default, twice a stranger's default rate (200/s). */
const BUDGET_PER_S = 400

const Hostile = suite('hostile peers on ws')

Hostile('flood, oversize, crawl and forge from eight addresses: each cut off or held, within the strangers\' budget, nothing forged kept', async () => {
  // windows of 2 s: a stranger that dials in while the budget is in debt starts held for up to 1 s
  const trial = await runFloodTrial({ windowMs: 2000, rounds: 4 })
  const summary =
    `without ${trial.baseline.map(Math.round).join('/')} tx/s, with ${trial.attacked.map(Math.round).join('/')} tx/s: ` +
    `ratio ${trial.ratio.toFixed(2)}, per CPU second ${trial.cpuRatio.toFixed(2)}, load average ${loadavg()[0]!.toFixed(1)}`
  console.log(`\n  hostile peers on ws: ${summary}${trial.honestCloses.length > 0 ? `; the target closed the client's sessions: ${JSON.stringify(trial.honestCloses)}` : ''}`) // the runner shows it when the file fails

  assert.ok(trial.targetOpen, 'the target is still open')
  assert.equal(trial.errors.map(String), [], 'no error event on the honest nodes')
  assert.is(trial.failed, 0, `no honest transaction failed (${trial.failures.join('; ')}; the target closed the client's sessions: ${JSON.stringify(trial.honestCloses)})`)
  assert.ok(trial.attackedTransactions.every((n) => n > 0), `honest transactions completed in every attacked window: ${trial.attackedTransactions.join('/')}`)

  // the strangers' share, counted: the budget over the attacked windows and a burst per window,
  // plus four frames a second (and four at once) of each hostile session (session.ts's
  // GATE_QUANTUM)
  const seconds = trial.attackedMs / 1000
  const sessions = trial.reports.reduce((n, r) => n + r.sessions, 0)
  const bound = BUDGET_PER_S * (seconds + trial.attackedTransactions.length) + 4 * sessions * Math.ceil(seconds + 1)
  const share = `the target read ${trial.strangerFrames} frames from strangers in ${seconds.toFixed(1)} s (bound ${Math.round(bound)}); they sent ${trial.hostileFramesOut}`
  assert.ok(trial.strangerFrames > 0 && trial.strangerFrames <= bound, share)
  assert.ok(trial.strangerPauses > 0, `strangers were held for the budget: ${share}`)
  assert.ok(trial.hostileFramesOut > 5 * trial.strangerFrames, `the attack sent far more than it got read: ${share}`)

  for (const kind of HOSTILE_KINDS) {
    const r = trial.reports.find((x) => x.kind === kind)!
    assert.ok(r.sessions > 0, `${kind}: opened a session`)
  }
  const d = trial.disconnects
  for (const kind of ['oversize', 'forge'] as const) {
    assert.ok(d[kind].punished > 0, `${kind}: disconnected for misbehaviour (${d[kind].closed} closed: ${d[kind].reasons.join('; ')})`)
  }
  const refusals = trial.reports.map((r) => `${r.kind}: ${r.refused} refused, ${r.dropped} dropped`).join('; ')
  assert.ok(trial.reports.reduce((n, r) => n + r.refused, 0) > 0, `a banned key that dialled again was refused at the handshake (${refusals})`)
  // the flooder and the crawler: held to their share (above), and when cut off, for the right reason
  if (d.flood.punished > 0) assert.match(d.flood.reasons.join(';'), /rate limit/)
  if (d.crawl.punished > 0) assert.match(d.crawl.reasons.join(';'), /rate limit|malformed/)
  assert.match(d.oversize.reasons.join(';'), /too-many|too-large|over the limit|1009/)
  assert.match(d.forge.reasons.join(';'), /fraud proof|malformed|invalid block/)

  assert.ok(trial.targetStats.forgedProofs > 0, 'forged proofs were verified and refused')
  assert.is(trial.targetStats.proofs, 0, 'no proof was accepted')
  assert.is(trial.targetStats.proofsSent, 0, 'no proof was relayed')
  assert.is(trial.honestAccused, 0, 'no honest key is accused, on either honest node')
  assert.is(trial.invalidStored, 0, 'every stored block verifies and links')
})

Hostile('admission: upgrades wait for the strangers\' budget before any handshake, in order, each at most a second', async () => {
  // a budget of one admission (ADMIT_TOKENS = 16) and then one a second: the first of three
  // dials goes in at once, the two others wait ('strangers-busy'), none longer than a second
  const gate = createReadGate({ messagesPerSecond: 16, bytesPerSecond: 1 << 20, messageBurst: 16, clock: systemClock })
  const server = createWsTransport({ port: 0 })
  const refused: RefusedConnection[] = []
  const accepted: Connection[] = []
  server.onRefuse((info) => void refused.push(info))
  server.admitWith!(gate)
  const address = await server.listen((conn) => void accepted.push(conn))
  const dialler = createWsTransport()
  try {
    const conns = await Promise.all([1, 2, 3].map(() => dialler.connect(address)))
    assert.is(conns.length, 3, 'every dial got in')
    assert.is(accepted.length, 3, 'and reached the node only once admitted')
    const a = server.admission!
    assert.is(a.admitted, 1, `one at once (${JSON.stringify(a)})`)
    assert.is(a.waited + a.forced, 2, `two waited for the budget (${JSON.stringify(a)})`)
    const busy = refused.filter((r) => r.reason === 'strangers-busy')
    assert.is(busy.length, 2, 'each wait was told')
    assert.ok(busy.every((r) => r.delayMs !== undefined && r.delayMs > 0 && r.delayMs <= 1000), `waits of at most a second: ${busy.map((r) => r.delayMs).join(', ')}`)
    assert.ok(gate.readyIn(16) > 0, 'the admissions took the budget')
    // without a budget, upgrades go in at once
    server.admitWith!(undefined)
    await dialler.connect(address)
    assert.is(server.admission!.admitted, 2)
    assert.is(refused.filter((r) => r.reason === 'strangers-busy').length, 2, 'no more waits')
  } finally {
    await dialler.close()
    await server.close()
  }
})

Hostile('the strangers\' budget refills by the CPU the node gets: at a tenth of a core, a tenth of the rate', () => {
  let t = 0
  const clock: Clock = { now: () => t, setTimeout: () => 0, clearTimeout: () => undefined }
  const advance = (ms: number): void => void (t += ms)
  let share = 1
  const gate = createReadGate({ messagesPerSecond: 100, bytesPerSecond: 1 << 20, messageBurst: 100, clock, share: () => share })
  assert.ok(gate.tryCharge(100, 0), 'the burst')
  assert.is(gate.readyIn(10), 100, 'ten tokens in 100 ms at the full rate')
  share = 0.1
  assert.is(gate.readyIn(10), 1000, 'and in a second at a tenth of a core')
  advance(500)
  assert.not.ok(gate.tryCharge(10, 0), 'half a second at a tenth of a core: 5 tokens, not 10')
  advance(500)
  assert.ok(gate.tryCharge(10, 0), 'a second: 10')
  share = 1
  advance(100)
  assert.ok(gate.tryCharge(10, 0), 'the full rate again')
  // a session in debt is held until the debt is paid at the scaled rate, up to 5 x maxWaitMs
  assert.is(gate.charge(10, 0), 100, 'ten tokens of debt: 100 ms at the full rate')
  share = 0.1
  assert.is(gate.charge(10, 0), 2000, 'twenty: 2 s at a tenth of a core')
  assert.is(gate.charge(100, 0), 5000, 'a pause stretches at most five times the longest (1 s)')
})

Hostile.run()
