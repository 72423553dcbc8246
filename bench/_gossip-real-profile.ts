// The real node code at 10,000 peers for a few simulated seconds, alone, for a CPU profile of the
// check (bench/gossip.ts part check10k): node --cpu-prof --import tsx bench/_gossip-real-profile.ts
// Knobs: PROFILE_NODES (10,000), PROFILE_S (3), PROFILE_LOSS (0.2), PROFILE_KNOWS (20).
import { performance } from 'node:perf_hooks'
import { Session } from 'node:inspector/promises'
import { writeFileSync } from 'node:fs'
import { createSimCrypto, runContrib } from '@tally/gossip/sim'
import { defaultCrypto } from '@tally/node'

const nodes = Number(process.env['PROFILE_NODES'] ?? 10_000)
const seconds = Number(process.env['PROFILE_S'] ?? 3)
// PROFILE_OUT: a CPU profile of the simulated seconds after the first (the steady state), written there
const out = process.env['PROFILE_OUT']
const inspector = out === undefined ? undefined : new Session()
inspector?.connect()
await inspector?.post('Profiler.enable')
const t0 = performance.now()
let last = t0
const r = await runContrib({
  nodes,
  knows: Number(process.env['PROFILE_KNOWS'] ?? 20),
  loss: Number(process.env['PROFILE_LOSS'] ?? 0.2),
  durationMs: seconds * 1000,
  settleMs: 0,
  txIntervalMs: 1000,
  forkProbability: 0.005,
  forkWindow: [0, seconds * 1000],
  seed: 1,
  gossip: { fraudFanout: 8 },
  sessions: 'attach',
  crypto: createSimCrypto(defaultCrypto()),
  cacheSize: 256,
  onProgress: (p) => {
    const now = performance.now()
    process.stderr.write(`${p.simulatedMs / 1000} s simulated: ${((now - last) / 1000).toFixed(1)} s wall, ${p.transactions} tx, heap ${Math.round(process.memoryUsage().heapUsed / 1e6)} MB\n`)
    last = now
    if (p.simulatedMs === 1000) void inspector?.post('Profiler.start')
  },
})
if (inspector !== undefined) writeFileSync(out!, JSON.stringify((await inspector.post('Profiler.stop')).profile))
process.stderr.write(`total ${((performance.now() - t0) / 1000).toFixed(1)} s wall; ${JSON.stringify({ ...r, detectP99: r.detectP99.length, detectFirst: r.detectFirst.length })}\n`)
