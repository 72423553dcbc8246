// Tally's reliability figures, measured in one run:
// - reliability.fuzz_inputs / fuzz_crashes / invalid_accepted: mutated blocks, fraud proofs,
//   gossip messages and economy documents into every decoder (test/fuzz/harness.ts);
// - reliability.crash_trials / blocks_lost: a child appending to LevelDB is killed with SIGKILL at
//   random moments; every block it reported as stored must be there after reopening;
// - reliability.false_accusations: random schedules with cheaters (the test kit), honest agents
//   accused by a proof any honest agent holds;
// - reliability.flood_honest_ratio: an honest pair's transaction rate over ws on loopback (two
//   nodes in this process on 127.0.0.1, 4 transactions in flight) while eight hostile peers attack
//   the node that countersigns — two flooders, two oversize peers, two crawl-range abusers and two
//   forgers, each kind in its own process at normal priority (not niced), each attacker dialling
//   from its own address (127.0.0.2 ... 127.0.0.9) and again under a fresh key whenever it is cut
//   off — over its rate without them (test/fixtures/hostile-peers.ts). Windows alternate
//   without/with the attack; the figure is the median over the attacked windows of each one's
//   rate over the mean of the two windows without around it (cpu_ratio: the same of transactions
//   per CPU second of this process). The target is 0.8. The target runs the ws transport's and
//   the node's defaults: strangers get the default rates and share one budget (read-gate.ts);
//   `stranger_frames` is what it read from them in the attacked windows, `hostile_frames` what
//   they sent, `hostile_cpu_s` the attackers' own CPU time (on the same 2 cores; per attacked
//   second: hostile_cpu_s_per_s). `load` is the load average at the end: the ratio is taken
//   within the run, the rates are the machine's. Where the loss comes from, load-independent:
//   `attack_cpu_s_per_s`, the CPU-seconds per second the target's process spent beyond its honest
//   transactions (the work the attackers made it do; per hostile session and per stranger frame
//   read beside it), `honest_cpu_share` what that left of its CPU, and `ratio_if_attack_free` the
//   CPU the process got attacked over without: the ratio had the attackers cost the target
//   nothing, i.e. what the machine took (the attackers' own processes, which share this
//   process's scheduling group unless BENCH_FLOOD_ATTACKER_SESSION=own; see hostile-peers.ts);
//   `cpu_wait_share` the share of the window its event loop waited for a CPU;
// - reliability.quota_bytes: bytes of strangers' blocks a node stores after 10,000 junk blocks
//   from 1,000 fresh keys were pushed at it on the memory network (half of unknown types, half
//   proposals nobody agreed to, chained) while two honest counterparties transacted with it
//   (packages/gossip/test/fixtures/stranger-flood.ts), measured in its store, with its quota beside
//   it; honest_problems must be 0 (every honest chain whole, on its owner and on the node).
//
// Run: node --import tsx bench/reliability.ts   (or node bench/run.mjs reliability)
// Knobs: BENCH_FUZZ_INPUTS (default 200000), BENCH_CRASH_TRIALS (default 30), BENCH_SCHEDULES (default 200),
// BENCH_FLOOD_S (seconds of measured windows for the flood figure, half of them attacked; default 40),
// BENCH_QUOTA_KEYS (fresh keys of the stranger flood, 10 blocks each; default 1000),
// BENCH_FLOOD_PROFILE (a directory: CPU profiles of this process per flood window, attacked-N and
// quiet-N, and of each hostile process), BENCH_FLOOD_ATTACKER_SESSION (shared: the default; own).
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import fc from 'fast-check'
import { blockHash, toHex } from '@tally/core'
import { runSchedule, scheduleArb } from '@tally/core/testing'
import { defaultCrypto, openLevelStore } from '@tally/node'
import { createTargets, fuzz } from '../test/fuzz/harness.ts'
import { HOSTILE_KINDS, attackerAddresses, runFloodTrial } from '../test/fixtures/hostile-peers.ts'
import { runStrangerFlood } from '../packages/gossip/test/fixtures/stranger-flood.ts'
import { identity as crashIdentity, runAndKill } from '../packages/node/test/fixtures/crash-trials.ts'
import { emit, knob, note, round } from './lib.js'

const FUZZ_INPUTS = knob('BENCH_FUZZ_INPUTS', 200_000, 'non-negative-integer')
const CRASH_TRIALS = knob('BENCH_CRASH_TRIALS', 30, 'non-negative-integer')
const SCHEDULES = knob('BENCH_SCHEDULES', 200, 'non-negative-integer')
const FLOOD_S = knob('BENCH_FLOOD_S', 40, 'non-negative-integer')
const QUOTA_KEYS = knob('BENCH_QUOTA_KEYS', 1000, 'non-negative-integer')
/** Each measured window of the flood figure. */
const FLOOD_WINDOW_MS = 2500
/** Attackers of each kind, each from its own loopback address. */
const FLOOD_PER_KIND = 2

note(`reliability bench: node ${process.version}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`)
const started = performance.now()
const crypto = defaultCrypto()

// ## Fuzzing
{
  const seed = 20261121
  note(`reliability bench: fuzzing ${FUZZ_INPUTS} inputs (seed ${seed})`)
  const t0 = performance.now()
  const report = await fuzz(await createTargets(crypto), FUZZ_INPUTS, seed)
  const seconds = (performance.now() - t0) / 1000
  emit('reliability.fuzz_inputs', report.inputs, 'inputs', { seed, accepted: report.accepted, targets: Object.keys(report.perTarget).length, inputs_per_s: Math.round(report.inputs / seconds) })
  emit('reliability.fuzz_crashes', report.crashes.length, 'crashes', { target: 0 })
  emit('reliability.invalid_accepted', report.invalidAccepted.length, 'inputs', { target: 0 })
  for (const c of report.crashes.slice(0, 3)) note(`crash in ${c.target}: ${c.error.split('\n')[0]} — input ${c.input.slice(0, 80)}`)
}

// ## Crashes
{
  note(`reliability bench: ${CRASH_TRIALS} SIGKILLs of an appending process`)
  const dir = mkdtempSync(join(tmpdir(), 'tally-reliability-'))
  const path = join(dir, 'store')
  let reportedTotal = 0
  let lost = 0
  let trials = 0
  try {
    for (let trial = 1; trial <= CRASH_TRIALS; trial++) {
      const { reported, signal } = await runAndKill(path, 20 + Math.floor(Math.random() * 281))
      if (signal !== 'SIGKILL') throw new Error(`trial ${trial}: the child was not killed (${signal})`)
      trials++
      const store = await openLevelStore({ path })
      try {
        for (const [seq, hash] of reported) {
          reportedTotal++
          const block = await store.get(crashIdentity.publicKey, seq)
          if (block === undefined || toHex(blockHash(block)) !== hash) lost++
        }
      } finally {
        await store.close()
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  emit('reliability.crash_trials', trials, 'kills', { blocks_reported: reportedTotal })
  emit('reliability.blocks_lost', lost, 'blocks', { target: 0 })
}

// ## False accusations
{
  note(`reliability bench: ${SCHEDULES} random schedules, 10 agents of which 3 cheat`)
  const schedules = fc.sample(scheduleArb({ agents: 10, cheaters: 3, maxSteps: 40 }), { numRuns: SCHEDULES, seed: 99 })
  let accused = 0
  let forks = 0
  for (const schedule of schedules) {
    const result = await runSchedule(schedule, { crypto })
    forks += result.forks.length
    const honest = new Set(result.views.filter((v) => v.honest).map((v) => toHex(v.publicKey)))
    for (const view of result.views) if (view.honest) for (const key of view.accused) if (honest.has(key)) accused++
  }
  emit('reliability.false_accusations', accused, 'accusations', { schedules: SCHEDULES, forks_released: forks, target: 0 })
}

// ## Hostile peers on ws
if (FLOOD_S > 0) {
  const rounds = Math.max(1, Math.round((FLOOD_S * 1000) / (2 * FLOOD_WINDOW_MS)))
  note(`reliability bench: ${rounds} windows of ${FLOOD_WINDOW_MS / 1000} s with ${HOSTILE_KINDS.length * FLOOD_PER_KIND} hostile peers (${FLOOD_PER_KIND} each of ${HOSTILE_KINDS.join(', ')}), each between two without`)
  const floodLoad = loadavg()[0]!
  const profileDir = process.env.BENCH_FLOOD_PROFILE
  const attackerSession = process.env.BENCH_FLOOD_ATTACKER_SESSION === 'own' ? 'own' : 'shared'
  const trial = await runFloodTrial({ windowMs: FLOOD_WINDOW_MS, rounds, perKind: FLOOD_PER_KIND, attackerSession, log: (line) => note(`  ${line}`), ...(profileDir ? { profileDir } : {}) })
  const sum = (f: (r: (typeof trial.reports)[number]) => number): number => trial.reports.reduce((n, r) => n + f(r), 0)
  const disconnects = HOSTILE_KINDS.reduce((n, k) => n + trial.disconnects[k].punished, 0)
  if (!trial.targetOpen || trial.honestAccused > 0 || trial.invalidStored > 0 || trial.failed > 0 || trial.errors.length > 0) {
    note(`hostile peers: target open ${trial.targetOpen}, honest keys accused ${trial.honestAccused}, invalid blocks stored ${trial.invalidStored}, honest transactions failed ${trial.failed}, errors ${trial.errors.length}`)
  }
  for (const r of trial.reports) {
    note(`  ${r.kind}: ${r.sessions} sessions, ${r.refused} refused, ${r.dropped} dropped, ${r.framesOut} frames (${(r.bytesOut / 1e6).toFixed(1)} MB) out, ${r.framesIn} in, ${(r.cpuMs / 1000).toFixed(1)} s CPU in all`)
  }
  emit('reliability.flood_honest_ratio', trial.ratio, 'ratio', {
    cpu_ratio: round(trial.cpuRatio, 3),
    attack_cpu_s_per_s: round(trial.cpu.attackCpuPerS, 4),
    attack_cpu_ms_per_session: round(trial.cpu.attackCpuMsPerSession, 2),
    attack_cpu_us_per_stranger_frame: round(trial.cpu.attackCpuUsPerFrame, 0),
    ratio_if_attack_free: round(trial.cpu.cpuGotRatio, 3),
    honest_cpu_share: round(trial.cpu.honestShare, 3),
    ...(trial.cpu.waitShare !== undefined ? { cpu_wait_share: round(trial.cpu.waitShare, 2), cpu_wait_share_without: round(trial.cpu.baselineWaitShare ?? 0, 2) } : {}),
    baseline_tx_per_s: Math.round(trial.baselineRate),
    attacked_tx_per_s: Math.round(trial.attackedRate),
    attackers: trial.reports.length * FLOOD_PER_KIND,
    attacker_addresses: attackerAddresses(HOSTILE_KINDS.length * FLOOD_PER_KIND).join(','),
    attacker_priority: 'normal',
    attacker_session: attackerSession,
    hostile_cpu_s_per_s: round(trial.hostileCpuMs / trial.attackedMs, 3),
    hostile_cpu_s: round(trial.hostileCpuMs / 1000, 1),
    hostile_frames: trial.hostileFramesOut,
    stranger_frames: trial.strangerFrames,
    stranger_pauses: trial.strangerPauses,
    load: round(loadavg()[0]!, 2),
    load_at_start: round(floodLoad, 2),
    disconnects,
    disconnects_by_kind: Object.fromEntries(HOSTILE_KINDS.map((k) => [k, trial.disconnects[k].punished])),
    hostile_sessions: sum((r) => r.sessions),
    refused_reconnects: sum((r) => r.refused),
    dropped_dials: sum((r) => r.dropped),
    forged_proofs_refused: trial.targetStats.forgedProofs,
    honest_accused: trial.honestAccused,
    invalid_stored: trial.invalidStored,
    honest_failed: trial.failed,
    attacked_windows: rounds,
    window_s: FLOOD_WINDOW_MS / 1000,
    target: 0.8,
  })
}

// ## Strangers: what a node keeps for others
if (QUOTA_KEYS > 0) {
  note(`reliability bench: ${QUOTA_KEYS * 10} junk blocks from ${QUOTA_KEYS} fresh keys at one node (memory network)`)
  const t0 = performance.now()
  const r = await runStrangerFlood({ transport: 'memory', keys: QUOTA_KEYS, blocksPerKey: 10, attackers: 10 })
  emit('reliability.quota_bytes', r.storedStrangerBytes, 'bytes', {
    quota_bytes: r.totalBytes,
    per_key_quota_bytes: r.perKeyBytes,
    largest_stranger_chain_bytes: r.largestStrangerChain,
    max_counted_bytes: r.maxStrangerBytes,
    junk_blocks: r.junk,
    junk_keys: r.junkKeys,
    junk_blocks_left: r.junkStored,
    evicted: r.evicted,
    unknown_type_refused: r.unknownRefused,
    honest_transactions: r.transactions,
    honest_failed: r.failed,
    honest_blocks_checked: r.honestBlocks,
    honest_problems: r.honestProblems.length,
    seconds: round((performance.now() - t0) / 1000, 1),
  })
  for (const p of r.honestProblems.slice(0, 3)) note(`honest chain: ${p}`)
}

note(`reliability bench: done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
