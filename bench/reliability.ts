// Tally's reliability figures, measured in one run:
// - reliability.fuzz_inputs / fuzz_crashes / invalid_accepted: mutated blocks, fraud proofs,
//   gossip messages and economy documents into every decoder (test/fuzz/harness.ts);
// - reliability.crash_trials / blocks_lost: a child appending to LevelDB is killed with SIGKILL at
//   random moments; every block it reported as stored must be there after reopening;
// - reliability.false_accusations: random schedules with cheaters (the test kit), honest agents
//   accused by a proof any honest agent holds;
// - reliability.flood_honest_ratio (when @tally/gossip has a node): an honest pair's transaction
//   rate over ws with hostile peers attached, over its rate without them.
//
// Run: node --import tsx bench/reliability.ts   (or node bench/run.mjs reliability)
// Knobs: BENCH_FUZZ_INPUTS (default 200000), BENCH_CRASH_TRIALS (default 30), BENCH_SCHEDULES (default 200).
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import fc from 'fast-check'
import { blockHash, toHex } from '@tally/core'
import { runSchedule, scheduleArb } from '@tally/core/testing'
import { defaultCrypto, openLevelStore } from '@tally/node'
import { createTargets, fuzz } from '../test/fuzz/harness.ts'
import { identity as crashIdentity, runAndKill } from '../packages/node/test/fixtures/crash-trials.ts'
import { emit, knob, note } from './lib.js'

const FUZZ_INPUTS = knob('BENCH_FUZZ_INPUTS', 200_000, 'non-negative-integer')
const CRASH_TRIALS = knob('BENCH_CRASH_TRIALS', 30, 'non-negative-integer')
const SCHEDULES = knob('BENCH_SCHEDULES', 200, 'non-negative-integer')

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

note(`reliability bench: done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
