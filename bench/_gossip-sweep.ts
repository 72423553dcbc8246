// The gossip model on one setup with several gossip settings, for choosing bench settings: one
// JSON line per (setting, loss). Not a bench group (underscore): node --import tsx bench/_gossip-sweep.ts
// Knobs: SWEEP_NODES (1000), SWEEP_S (30), SWEEP_FORK_P (0.255: 6.7 forks per second over the run
// at 1,000 peers, ConTrib's rate at 10,000), SWEEP_SETTINGS ('8/32,6/16': fraudFanout/headsPerPull).
import { runGossipModel } from '@tally/gossip/sim'

const nodes = Number(process.env['SWEEP_NODES'] ?? 1000)
const seconds = Number(process.env['SWEEP_S'] ?? 30)
const forkP = Number(process.env['SWEEP_FORK_P'] ?? 0.255)
const settings = (process.env['SWEEP_SETTINGS'] ?? '8/32,6/16').split(',').map((s) => s.split('/').map(Number) as [number, number])
for (const loss of (process.env['SWEEP_LOSS'] ?? '0.2,0').split(',').map(Number)) {
  for (const [fraudFanout, headsPerPull] of settings) {
    const r = runGossipModel({ nodes, loss, durationMs: seconds * 1000, settleMs: 8000, forkProbability: forkP, seed: 1, gossip: { fraudFanout, headsPerPull } })
    const mean = (a: readonly number[]): number => (a.length === 0 ? 0 : a.reduce((x, y) => x + y, 0) / a.length)
    console.log(JSON.stringify({
      fraudFanout, headsPerPull, loss, forks: r.forks, forks_per_s: +(r.forks / r.durationS).toFixed(2), undetected: r.undetected, under99: r.under99,
      p99: r.undetected === 0 && r.under99 === 0 ? +mean(r.detectP99).toFixed(3) : null, p99_max: +Math.max(0, ...r.detectP99).toFixed(3),
      bytes: Math.round(r.bytesPerPeerS), sealed: Math.round(r.bytesPerPeerS + 16 * r.framesPerPeerS), proofs: Math.round(r.proofBytesPerPeerS),
      by_kind: Object.fromEntries(Object.entries(r.bytesPerPeerSByKind ?? {}).map(([k, v]) => [k, Math.round(v)])), frames: Math.round(r.framesPerPeerS), wall_s: Math.round(r.wallMs / 1000),
    }))
  }
}
