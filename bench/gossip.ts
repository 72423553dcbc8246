// Tally's gossip figures: how fast a fork is caught and known everywhere in ConTrib's setup, what
// it costs in bytes, the model checked against the real code at 10,000 peers, transactions over ws
// between two processes, memory per ws connection, and double spends accepted in witness mode.
//
// ConTrib's setup (see packages/gossip/src/sim/scenario.ts): each peer knows 100 random peers, every
// peer proposes to a random one of them once per second, each peer forks once with probability
// 10% (a second block at the seq of its last block, proposed to another peer), links of 50 ms one
// way plus uniform 0..20 ms jitter, 0% and 20% of frames dropped for good (datagrams). Proofs are
// relayed to 8 random neighbours (fraudFanout 8; relaying to all ~200 would cost ~100 KB per peer
// per fork).
//
// What runs where (each figure's `mode` says 'real' or 'model', `what` says more):
// - 1,000 peers: the real node code (node.ts, sessions, codec, validation, memory stores) on the
//   memory transport and virtual time, with two simulator shortcuts: sessions attached without the
//   handshake, and the simulation crypto provider (keyed SHA-256 instead of Ed25519);
// - 10,000 peers: the gossip model (gossip-model.ts), which calls the node's own rule code
//   (node/gossip-rules.ts, two-hop.ts), because the real code handles ~10,000 frames per second
//   of wall time and this setup is ~700,000 frames per simulated second;
// - the check (part `check10k`, not in the default parts: `BENCH_GOSSIP_PARTS=check10k node
//   bench/run.mjs gossip`): the real code at 10,000 peers for 30 simulated seconds + 10 s settle,
//   at 0% and 20% loss side by side (one process and one core each), then the model on the same
//   setup, on what fits this machine (knows 20: ~400,000 sessions, ~4 GB each; knows 50 passed
//   18 GB while connecting; forks 0.5%, so that ~50 proof floods of 10,000 peers fit in the run).
//   Its cost is frames: connecting is ~2.6 million (~257 a peer: each newcomer gets the peer's
//   neighbour list at once, every peer sends its list to all ~40 neighbours again a second later,
//   each acknowledged, some sent again at 20% loss), and the load 34 (0% loss) to 42 (20%) frames
//   per peer per simulated second, ~15 million; each costs the real code ~85 µs of CPU at 1,000
//   peers and ~140 µs at 10,000 (encoding, decoding and its canonical re-encode, sessions,
//   validation; the garbage collector, with every frame, timer and promise in flight for thousands
//   of events of virtual time and so promoted before it dies). Measured here at 10,000: connecting
//   366 CPU-s, then 53 to 139 CPU-s per simulated second over the first 8 at 20% loss, growing with
//   the heap. The real runs' stores share blocks (shareBlocks, sim/shared-blocks.ts): each node
//   still decodes, validates and verifies what it receives, and its memory store then keeps the
//   process-wide first copy with the same bytes (a proof: the same id) instead of its own, so a
//   block 50 nodes hold is one object. Same seed, same run: every figure, byte count and store's
//   contents are equal with and without it (packages/gossip/test/sim-shared-blocks.test.ts; at 2,000 peers too).
//   What a stored block costs each node, evicting everything at the end of a run (live heap after
//   a full GC): 839 B without sharing, 603 B with; the rest is the node's own index in core's
//   memory store (a chain record, its agreements map and a hex key per chain held, a node holding
//   ~1.5 blocks a chain, and a map per proposer of each agreement). At 2,000 peers (knows 20, 20%
//   loss, 0.5% forks, 6 s, live heap after a full GC each second): 307 MB once connected, then
//   +63 MB a simulated second before the forks (31 KB a node; the same with sharing), +79-86 MB
//   while proofs flood (+55-67 MB shared: a proof is one object, not one a node); 662 MB
//   unshared, 612 MB shared after 6 s; CPU unchanged (45 CPU-s connecting, 7-16 per simulated
//   second). Carried to 10,000 peers × 40 s: ~1.5-1.9 GB connected + ~0.3 GB a simulated second,
//   ~13 GB a run (~12 GB shared): one run fits a 17 GB budget, two side by side do not; and
//   2,500 to 4,400 CPU-s, 42 to 73 minutes of a whole core, more than this machine's 2 shared
//   cores give in an hour (a 4,000-peer run got 9% of a core at load 13-16). So here it runs at
//   1,000 peers (BENCH_GOSSIP_CHECK_NODES=1000 BENCH_GOSSIP_CHECK_FORK_P=0.05: ~3 CPU-minutes a
//   run) and a few thousand; at 10,000 it needs ~14 GB of heap a run
//   (BENCH_GOSSIP_CHECK_HEAP_MB, default 14,000) and about 1.5 hours of CPU each
//   (progress every simulated second from 2,000 peers on). Measured at 10,000 peers, 20% loss
//   (c6bccd4, shared blocks, BENCH_GOSSIP_CHECK_HEAP_MB=16000, the check at nice -10 beside other
//   work): connecting ~7 minutes, then 40 to 290 s of wall a simulated second, growing with the heap
//   while transactions run and faster while settling; 5,521 s of wall, 5,464 CPU-s, heap 7.5 GB,
//   RSS 11.5 GB; the model after it 37 s; within 6.7% (41 and 49 forks, none undetected). It
//   fits one run at a time on this machine, not the two losses side by side. With shared blocks: at 2,000
//   peers within 1.6% (0% loss) and 4.2% (20%), 389 and 466 CPU-s a run; at 3,000 peers within
//   3.3% at 0% loss (593 CPU-s), and at 20% (806 CPU-s) 0.44: the model's seed-1 draw had 3 slow
//   forks of 34 (its seeds 2-6 within 16%; both on seed 2 within 3.5%, 565 CPU-s: the gossip
//   README's Speed section). With knows 20 a
//   peer's two-hop neighbourhood is ~16% of the network, so the two blocks of a fork often miss each other's targets and pulls find what they find:
//   the check tests the pull rules as much as the push rules.
// Simulations run two at a time (one per core): their figures are in virtual time, so running side
// by side does not change them. The ws figures run alone.
//
// Detection figures: `gossip.detect_p99_s.N` is, per fork, the time from the fork's release until
// 99% of honest peers hold a proof, averaged over the forks; its value is null unless every fork
// got there (`undetected`: forks nobody proved; `under_99`: forks that never reached 99%), so that
// a run that caught fewer forks never reads faster. `detected_forks_p99` averages the ones that did.
// `unreleased`: forks whose second block no honest peer ever received (every send lost), which
// contradict nothing anyone holds; they are counted apart, not in `forks`.
//
// Run: node --import tsx bench/gossip.ts   (or node bench/run.mjs gossip)
// Run length at 10,000 peers: ConTrib's setup fixes forks per peer (10% fork once), not per
// second, so bytes per peer per second depend on how long the run spreads those ~1,000 forks over:
// every honest peer must receive every proof (~400 B) at least once, ~400 KB per peer in all. The
// default 150 s of transactions (+ 8 s settle) is ~7 forks per second network-wide; the bytes
// figure also prints each fork's cost per peer and the bytes by kind, to carry to other rates.
// The ws transactions are encrypted (Noise, as every handshaked session) and their figure carries
// ratio_to_in_process: the ws rate over the rate of the same two-party transactions between two
// agents in this process (memory stores, same provider, one at a time on one thread), measured in
// the same run just before and just after the ws burst (the mean of the two), so that the ratio
// says what the network (sockets, codec, sessions, encryption, two processes) costs or gains.
// Knobs: BENCH_GOSSIP_10K_S (simulated seconds of transactions at 10,000 peers, default 150),
// BENCH_GOSSIP_10K_FORK_P (each peer's chance to fork there, default 0.1; a shorter run can keep
// the forks per second of the 150 s one with 0.1 × (its fork window / 142 s): 30 s → 0.0155),
// BENCH_GOSSIP_10K_LOSS (its losses, default 0,0.2),
// BENCH_GOSSIP_1K_S (at 1,000, default 4: the real code spends ~0.5 ms per peer per fork on the
// proof, so the run's cost is the 100 forks' floods, ~3 minutes), BENCH_GOSSIP_CHECK_S (the
// check's seconds of transactions, default 30), BENCH_GOSSIP_CHECK_LOSS (its losses, default
// 0.2,0), BENCH_GOSSIP_WS_TX (default 20,000 transactions), BENCH_GOSSIP_CONNS (default 1,000
// connections), BENCH_GOSSIP_IN_PROCESS_MS (default 2000 each, before and after),
// BENCH_GOSSIP_CHECK_NODES (default 10,000: a smaller check runs the same code, for a try),
// BENCH_GOSSIP_SEED (every simulation's seed, default 1),
// BENCH_GOSSIP_CHECK_FORK_P (default 0.005), BENCH_GOSSIP_CHECK_HEAP_MB (each real run's heap
// limit, default 14,000; the losses run side by side), BENCH_GOSSIP_FRAUD_FANOUT (default 8),
// BENCH_GOSSIP_HEADS_PER_PULL (default: the node's 8), BENCH_GOSSIP_PARTS (default sim,ws,witness;
// sim is model10k and real1k, ws-tx is the ws transactions alone; check10k on request).
// The check's `gossip.model_check.N` line compares p50 and p99 (null when a fork never got
// there: null matches only null), the share of forks undetected and the sealed bytes per peer,
// each within 20% for `within_20pct`.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { createAgent, createBlockTypes, createMemoryStore, identityFromSeed, signBlock } from '@tally/core'
import { NOISE_PROTOCOL, createSession, performHandshake, type Session } from '@tally/gossip'
import { createSimCrypto, createSimulator, runContrib, runGossipModel, type ContribResult } from '@tally/gossip/sim'
import { createWsTransport } from '@tally/gossip/ws'
import { defaultCrypto } from '@tally/node'
import { emit, knob, measure, note, round } from './lib.js'

const SECONDS_10K = knob('BENCH_GOSSIP_10K_S', 150, 'positive-number')
/** Each peer's probability to fork once at 10,000 peers (ConTrib: 10%; a shorter run may scale it to keep forks per second). */
const FORK_P_10K = knob('BENCH_GOSSIP_10K_FORK_P', 0.1, 'positive-number')
/** Losses of the model at 10,000 peers (default 0,0.2). */
const LOSSES_10K = (process.env['BENCH_GOSSIP_10K_LOSS'] ?? '0,0.2').split(',').map(Number)
const SECONDS_1K = knob('BENCH_GOSSIP_1K_S', 4, 'positive-number')
const SECONDS_CHECK = knob('BENCH_GOSSIP_CHECK_S', 30, 'positive-number')
const CHECK_LOSSES = (process.env['BENCH_GOSSIP_CHECK_LOSS'] ?? '0.2,0').split(',').map(Number)
/** Heap limit of each real run of the check, MB (default 14,000; the runs go side by side: their sum must fit the machine). */
const CHECK_HEAP_MB = knob('BENCH_GOSSIP_CHECK_HEAP_MB', 14_000, 'positive-number')
const WS_TX = knob('BENCH_GOSSIP_WS_TX', 20_000, 'positive-number')
const CONNS = knob('BENCH_GOSSIP_CONNS', 1000, 'positive-number')
const IN_PROCESS_MS = knob('BENCH_GOSSIP_IN_PROCESS_MS', 2000)
const PARTS = new Set((process.env['BENCH_GOSSIP_PARTS'] ?? 'sim,ws,witness').split(','))
const SETTLE_MS = { model: 8000, real: 5000 } as const
/**
 * Gossip settings of every simulation: proofs announced to BENCH_GOSSIP_FRAUD_FANOUT random
 * neighbours (default 8), pulls naming BENCH_GOSSIP_HEADS_PER_PULL chains (default: the node's, 8).
 */
const GOSSIP = {
  fraudFanout: knob('BENCH_GOSSIP_FRAUD_FANOUT', 8),
  ...(process.env['BENCH_GOSSIP_HEADS_PER_PULL'] !== undefined ? { headsPerPull: knob('BENCH_GOSSIP_HEADS_PER_PULL', 8) } : {}),
}
/** The check at 10,000 peers: what the real code can carry here in memory and time. */
const CHECK = { nodes: knob('BENCH_GOSSIP_CHECK_NODES', 10_000), knows: 20, txIntervalMs: 1000, forkProbability: knob('BENCH_GOSSIP_CHECK_FORK_P', 0.005, 'positive-number'), settleMs: 10_000 } as const
const self = fileURLToPath(import.meta.url)

interface Job {
  kind: 'model' | 'real'
  nodes: number
  loss: number
  seconds: number
  settleMs?: number
  knows?: number
  txIntervalMs?: number
  forkProbability?: number
  /** Real runs: the stores share one copy of each block and proof (sim/shared-blocks.ts). */
  shareBlocks?: boolean
}

if (process.argv[2] === 'worker') {
  // ## A simulation in a child process: print its result as one JSON line
  const job = JSON.parse(process.argv[3]!) as Job
  const settleMs = job.settleMs ?? (job.kind === 'model' ? SETTLE_MS.model : SETTLE_MS.real)
  const common = {
    nodes: job.nodes,
    knows: job.knows ?? 100,
    loss: job.loss,
    durationMs: job.seconds * 1000,
    settleMs,
    seed: knob('BENCH_GOSSIP_SEED', 1, 'positive-integer'),
    gossip: GOSSIP,
    ...(job.txIntervalMs !== undefined ? { txIntervalMs: job.txIntervalMs } : {}),
    ...(job.forkProbability !== undefined ? { forkProbability: job.forkProbability } : {}),
  }
  const t0 = performance.now()
  const every = job.kind === 'real' && job.nodes >= 2000 ? 1000 : 5000
  const progress = (p: { simulatedMs: number; forks: number; transactions: number }): void => {
    if (p.simulatedMs % every !== 0) return
    const cpu = process.cpuUsage()
    note(`  ${job.kind} ${job.nodes} loss ${job.loss}: ${p.simulatedMs / 1000} s simulated, ${p.forks} forks, ${p.transactions} tx; ${((performance.now() - t0) / 1000).toFixed(0)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(0)} CPU-s, heap ${Math.round(process.memoryUsage().heapUsed / 1e6)} MB`)
  }
  const result =
    job.kind === 'model'
      ? runGossipModel({ ...common, onProgress: progress })
      : await runContrib({ ...common, sessions: 'attach', crypto: createSimCrypto(defaultCrypto()), cacheSize: job.nodes >= 10_000 ? 256 : 1024, shareBlocks: job.shareBlocks === true, onProgress: progress })
  const cpu = process.cpuUsage()
  process.stdout.write(JSON.stringify({ result, heapMB: Math.round(process.memoryUsage().heapUsed / 1e6), rssMB: Math.round(process.memoryUsage().rss / 1e6), cpuS: (cpu.user + cpu.system) / 1e6 }) + '\n')
  process.exit(0)
}

// ## Main

note(`gossip bench: node ${process.version}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`)
const started = performance.now()

if (PARTS.has('sim') || PARTS.has('model10k')) {
  note(`gossip bench: 10,000 peers (model), ${SECONDS_10K} s of transactions + ${SETTLE_MS.model / 1000} s settle, forks ${FORK_P_10K * 100}%, loss ${LOSSES_10K.map(pct).join(' and ')}, side by side`)
  const big = await Promise.all(LOSSES_10K.map((loss) => simulate({ kind: 'model', nodes: 10_000, loss, seconds: SECONDS_10K, forkProbability: FORK_P_10K })))
  for (const { result } of big) {
    report(result, 'model', `gossip-model.ts: the node rule code (gossip-rules.ts, two-hop.ts) on abstract state; ${SECONDS_10K} s of load, forks ${FORK_P_10K * 100}%`)
  }
}

if (PARTS.has('sim') || PARTS.has('real1k')) {
  note(`gossip bench: 1,000 peers, real node code, ${SECONDS_1K} s of transactions + ${SETTLE_MS.real / 1000} s settle, loss 0% and 20%`)
  const real = await Promise.all([0, 0.2].map((loss) => simulate({ kind: 'real', nodes: 1000, loss, seconds: SECONDS_1K })))
  for (const { result } of real) report(result, 'real', 'real node code; simulator shortcuts: attached sessions (no handshake), sim crypto (keyed SHA-256)')
  note('gossip bench: the model at 1,000 peers, same setup, for comparison')
  for (const loss of [0, 0.2]) {
    const { result: m } = await simulate({ kind: 'model', nodes: 1000, loss, seconds: SECONDS_1K, settleMs: SETTLE_MS.real })
    compare('1000', real.find((r) => r.result.loss === loss)!.result, m, { seconds: SECONDS_1K, knows: 100 })
  }
}

if (PARTS.has('check10k')) {
  note(`gossip bench: the model against the real code at ${CHECK.nodes} peers, ${SECONDS_CHECK} s of transactions + ${CHECK.settleMs / 1000} s settle, knows ${CHECK.knows}, forks ${CHECK.forkProbability * 100}%, loss ${CHECK_LOSSES.map(pct).join(' and ')}`)
  const jobOf = (loss: number) => ({ nodes: CHECK.nodes, knows: CHECK.knows, txIntervalMs: CHECK.txIntervalMs, forkProbability: CHECK.forkProbability, settleMs: CHECK.settleMs, loss, seconds: SECONDS_CHECK })
  // the real runs side by side, one core each (each is one thread: its virtual time is one event
  // queue), then the models side by side (minutes)
  const reals = await Promise.all(CHECK_LOSSES.map((loss) => simulate({ ...jobOf(loss), kind: 'real', shareBlocks: true }, CHECK_HEAP_MB)))
  const models = await Promise.all(CHECK_LOSSES.map((loss) => simulate({ ...jobOf(loss), kind: 'model' })))
  CHECK_LOSSES.forEach((_, i) => {
    const real = reals[i]!
    const model = models[i]!
    report(real.result, 'real', `real node code at ${CHECK.nodes} peers in one process (heap ${real.heapMB} MB, RSS ${real.rssMB} MB, ${Math.round(real.cpuS)} CPU-s); attached sessions, sim crypto; knows ${CHECK.knows}, forks ${CHECK.forkProbability * 100}%`, 'gossip.check.')
    report(model.result, 'model', `gossip-model.ts on the same setup: knows ${CHECK.knows}, forks ${CHECK.forkProbability * 100}%`, 'gossip.check.')
    compare(String(CHECK.nodes), real.result, model.result, { seconds: SECONDS_CHECK, knows: CHECK.knows, fork_probability: CHECK.forkProbability, real_wall_s: Math.round(real.result.wallMs / 1000), real_cpu_s: Math.round(real.cpuS) })
  })
}

if (PARTS.has('ws') || PARTS.has('ws-tx')) {
  note(`gossip bench: ws on loopback, two processes, ${WS_TX} transactions, encrypted; in process before and after`)
  await wsTransactions()
}

if (PARTS.has('ws')) {
  note(`gossip bench: memory per ws connection, ${CONNS} connections to one node`)
  await wsConnections()
}

if (PARTS.has('witness')) {
  note('gossip bench: witness mode, double spends with one honest witness of three')
  await witnessDoubleSpends()
}

note(`gossip bench: done in ${((performance.now() - started) / 1000).toFixed(1)} s`)

// ## Simulations

interface Simulated {
  result: ContribResult
  heapMB: number
  rssMB: number
  /** CPU seconds of the child (every thread: the garbage collector's helpers too). */
  cpuS: number
}

async function simulate(job: Job, heapMB = 8000): Promise<Simulated> {
  // a larger young generation: frames, timers and promises live for many events of virtual time,
  // and fewer of them reach the old generation before they die (~7% less CPU at 2,000 peers)
  const child = spawn(process.execPath, [`--max-old-space-size=${heapMB}`, '--max-semi-space-size=64', '--import', 'tsx', self, 'worker', JSON.stringify(job)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let line = ''
  child.stdout.on('data', (d) => (line += d))
  const code = await new Promise<number | null>((r) => child.on('exit', r))
  if (code !== 0) throw new Error(`${job.kind} simulation of ${job.nodes} (loss ${job.loss}) exited with ${code}`)
  const out = JSON.parse(line) as Simulated
  const r = out.result
  note(`  ${job.kind} ${job.nodes} loss ${pct(job.loss)}: ${r.forks} forks, ${r.undetected} undetected, ${r.transactions} tx, ${(r.wallMs / 1000).toFixed(1)} s wall, heap ${out.heapMB} MB`)
  return out
}

/** p99 of a run: the mean over forks of the time to 99% of honest peers; null unless every fork got there. */
function p99Of(r: ContribResult): number | null {
  return r.undetected === 0 && r.under99 === 0 && r.forks > 0 ? mean(r.detectP99) : null
}

/** p50 of a run: the mean over forks of the time to half of the honest peers; null unless every fork got there. */
function p50Of(r: ContribResult): number | null {
  return r.undetected === 0 && r.under50 === 0 && r.forks > 0 ? mean(r.detectP50) : null
}

function report(r: ContribResult, mode: 'real' | 'model', what: string, prefix = 'gossip.'): void {
  const extra = { mode, loss: pct(r.loss), forks: r.forks, undetected: r.undetected, unreleased: r.unreleased, honest: r.honest, simulated_s: r.durationS, gossip: GOSSIP, what }
  const n = r.nodes
  emit(`${prefix}detect_p99_s.${n}`, p99Of(r), 's', {
    ...extra,
    under_99: r.under99,
    detected_forks_p99: r.detectP99.length === 0 ? null : round(mean(r.detectP99), 3),
    max: r.detectP99.length === 0 ? null : round(Math.max(...r.detectP99), 3),
    p50_over_forks: r.detectP99.length === 0 ? null : round(quantile(r.detectP99, 0.5), 3),
    first_holder_mean: r.detectFirst.length === 0 ? null : round(mean(r.detectFirst), 3),
  })
  emit(`${prefix}detect_p50_s.${n}`, p50Of(r), 's', {
    ...extra,
    under_50: r.under50,
    detected_forks_p50: r.detectP50.length === 0 ? null : round(mean(r.detectP50), 3),
    what_p50: 'per fork, the time from its release until half of the honest peers hold a proof, averaged over the forks; null unless every fork got there',
  })
  emit(`${prefix}undetected.${n}`, r.undetected, 'forks', { ...extra, under_99: r.under99 })
  emit(`${prefix}detect_mean_s.${n}`, r.detectFirst.length === 0 ? null : r.detectMeanS, 's', { ...extra, of: 'every (fork, honest peer) that got the proof' })
  const kinds = r.bytesPerPeerSByKind
  emit(`${prefix}bytes_per_peer_s.${n}`, r.bytesPerPeerS, 'B/s', {
    ...extra,
    proofs: Math.round(r.proofBytesPerPeerS),
    without_proofs: Math.round(r.bytesPerPeerS - r.proofBytesPerPeerS),
    ...(kinds === undefined ? {} : { by_kind: Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, Math.round(v)])) }),
    ...(r.sealedBytesPerPeerSByFrame === undefined ? {} : { sealed_by_frame: Object.fromEntries(Object.entries(r.sealedBytesPerPeerSByFrame).map(([k, v]) => [k, Math.round(v)])) }),
    // what a fork costs each peer (proof frames, announcements and requests): the figure above
    // scales with forks per second, so this is the one to carry to another fork rate
    proof_bytes_per_peer_per_fork: r.forks === 0 ? 0 : Math.round((r.proofBytesPerPeerS * r.durationS) / r.forks),
    forks_per_s: round(r.forks / r.durationS, 2),
    frames_per_peer_s: Math.round(r.framesPerPeerS),
    // the simulations count frames in the clear (attached sessions); on a handshaked session each
    // frame is sealed, 16 bytes more (the Noise tag; ws framing, 2-6 bytes, not counted either)
    sealed_bytes_per_peer_s: Math.round(r.bytesPerPeerS + 16 * r.framesPerPeerS),
  })
  if (mode === 'real') emit(`${prefix}honest_accused.${n}`, r.honestAccused, 'peers', extra)
}

/**
 * The model beside the real code on one setup: detection p50 and p99 (null, that is never, when a
 * fork did not get there: a run that caught fewer forks never reads faster), undetected forks
 * (as a share of the forks), bytes per peer (sealed, every frame) and the parts of those, each as
 * model / real; within_20pct when every one is within 20% (a null p50 or p99 matches only a null).
 */
function compare(size: string, real: ContribResult, model: ContribResult, setup: Record<string, unknown>): void {
  const perFork = (r: ContribResult): number => (r.forks === 0 ? 0 : (r.proofBytesPerPeerS * r.durationS) / r.forks)
  const sealed = (r: ContribResult): number => r.bytesPerPeerS + 16 * r.framesPerPeerS
  const undetectedShare = (r: ContribResult): number => (r.forks === 0 ? 0 : r.undetected / r.forks)
  const figures: Record<string, [number | null, number | null]> = {
    p50_s: [p50Of(real), p50Of(model)],
    p99_s: [p99Of(real), p99Of(model)],
    undetected_share: [undetectedShare(real), undetectedShare(model)],
    sealed_bytes_per_peer_s: [sealed(real), sealed(model)],
    detected_forks_p50_s: [mean(real.detectP50), mean(model.detectP50)],
    detected_forks_p99_s: [mean(real.detectP99), mean(model.detectP99)],
    detect_mean_s: [real.detectMeanS, model.detectMeanS],
    bytes_without_proofs_per_peer_s: [real.bytesPerPeerS - real.proofBytesPerPeerS, model.bytesPerPeerS - model.proofBytesPerPeerS],
    proof_bytes_per_peer_per_fork: [perFork(real), perFork(model)],
  }
  const gap = ([r, m]: [number | null, number | null]): number => {
    if (r === null || m === null) return r === m ? 0 : Number.POSITIVE_INFINITY
    if (r === 0) return m === 0 ? 0 : Number.POSITIVE_INFINITY
    return Math.abs(m - r) / r
  }
  const ratios = Object.fromEntries(Object.entries(figures).map(([k, [r, m]]) => [k, { real: r === null ? null : round(r, 3), model: m === null ? null : round(m, 3), ratio: r === null || m === null || r === 0 ? null : round(m / r, 3) }]))
  const worst = Math.max(...Object.values(figures).map(gap))
  emit(`gossip.model_check.${size}`, Number.isFinite(worst) ? worst : null, 'ratio', {
    what: 'largest |model - real| / real over the figures below (null: a fork reached p50 or p99 in one and not the other, or one found none; the model on its own random draws: forks and counts differ)',
    loss: pct(real.loss),
    within_20pct: worst <= 0.2,
    real_forks: real.forks,
    model_forks: model.forks,
    real_unreleased: real.unreleased,
    model_unreleased: model.unreleased,
    real_undetected: real.undetected,
    model_undetected: model.undetected,
    real_under_50: real.under50,
    model_under_50: model.under50,
    real_under_99: real.under99,
    model_under_99: model.under99,
    ...ratios,
    ...setup,
  })
}

// ## ws between processes

interface Peer {
  key: string
  address: string
  call(cmd: string, args?: Record<string, unknown>): Promise<Record<string, unknown>>
  stop(): Promise<void>
}

function peer(seed: number, flags: string[] = []): Promise<Peer> {
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', fileURLToPath(new URL('./_gossip-peer.ts', import.meta.url)), String(seed)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const waiting = new Map<number, (m: Record<string, unknown>) => void>()
  let id = 0
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = JSON.parse(line) as Record<string, unknown>
      if (m['ready'] === true) {
        resolve({
          key: m['key'] as string,
          address: m['address'] as string,
          call: (cmd, args = {}) => {
            const n = ++id
            child.stdin.write(JSON.stringify({ id: n, cmd, ...args }) + '\n')
            return new Promise((res) => waiting.set(n, res))
          },
          stop: () => {
            child.stdin.end()
            return new Promise((res) => child.on('exit', () => res()))
          },
        })
        return
      }
      const w = waiting.get(m['id'] as number)
      waiting.delete(m['id'] as number)
      if (m['error'] !== undefined) throw new Error(String(m['error']))
      w?.(m)
    })
  })
}

async function wsTransactions(): Promise<void> {
  const [a, b] = await Promise.all([peer(41), peer(42)])
  try {
    await a.call('connect', { address: b.address })
    await a.call('burst', { key: b.key, count: 2000, parallel: 64 }) // warm-up: JIT, socket buffers
    const before = await inProcessTransactions() // the peers are idle meanwhile
    const cpu = async (): Promise<number> => ((await a.call('cpu'))['us'] as number) + ((await b.call('cpu'))['us'] as number)
    const cpu0 = await cpu()
    const r = await a.call('burst', { key: b.key, count: WS_TX, parallel: 64 })
    const wsCpuUs = (await cpu()) - cpu0
    const after = await inProcessTransactions()
    const ms = r['ms'] as number
    const ws = (WS_TX * 1000) / ms
    const inProcess = (before.perSecond + after.perSecond) / 2
    const inProcessCpuUs = (before.cpuUsPerTx + after.cpuUsPerTx) / 2
    emit('gossip.ws_tx_per_s', ws, 'tx/s', {
      processes: 2,
      in_flight: 64,
      transactions: WS_TX,
      provider: defaultCrypto().name,
      store: 'memory',
      encryption: NOISE_PROTOCOL,
      in_process_tx_per_s: Math.round(inProcess),
      in_process_drift: round(after.perSecond / before.perSecond, 3),
      ratio_to_in_process: round(ws / inProcess, 3),
      // CPU time per transaction, both processes together: steadier than rates on a shared machine
      cpu_us_per_tx: Math.round(wsCpuUs / WS_TX),
      in_process_cpu_us_per_tx: Math.round(inProcessCpuUs),
      what: 'transact() resolved (proposal out, agreement back, both validated and stored) over one encrypted ws session; in process: the same transactions between two agents on one thread',
    })
  } finally {
    await Promise.all([a.stop(), b.stop()])
  }
}

/**
 * Two-party transactions between two agents in this process, one at a time on one thread, as
 * bench/core.ts's `core.tx_per_s.memory.serial` measures them: propose (A), agree (B validates and
 * countersigns), complete (A validates and stores); the block type of the ws peers, no rules.
 * @returns transactions per second over IN_PROCESS_MS (after a warm-up), and CPU µs per transaction
 */
async function inProcessTransactions(): Promise<{ perSecond: number; cpuUsPerTx: number }> {
  const crypto = defaultCrypto()
  const types = createBlockTypes([{ name: 'tx' }])
  const agent = (n: number) => createAgent({ head: 'local', identity: identityFromSeed(new Uint8Array(32).fill(n), crypto), store: createMemoryStore({ crypto }), types })
  const a = agent(51)
  const b = agent(52)
  let n = 0
  const transact = async (): Promise<void> => void (await a.complete(await b.agree(await a.propose(b.publicKey, 'tx', ++n))))
  for (let i = 0; i < 500; i++) await transact() // warm-up (measure's own is not in the CPU count below)
  const start = n
  const cpu0 = process.cpuUsage()
  const m = await measure(transact, { minMs: IN_PROCESS_MS, warmupMs: 1 })
  const cpu = process.cpuUsage(cpu0)
  return { perSecond: m.perSecond, cpuUsPerTx: (cpu.user + cpu.system) / (n - start) }
}

async function wsConnections(): Promise<void> {
  const server = await peer(43, ['--expose-gc'])
  const crypto = defaultCrypto()
  const transport = createWsTransport({ maxConnections: CONNS + 10 })
  const sessions: Session[] = []
  try {
    const before = await server.call('memory')
    for (let i = 0; i < CONNS; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, CONNS - i) }, async (_, k) => {
          const seed = new Uint8Array(32)
          new DataView(seed.buffer).setUint32(0, 1_000_000 + i + k)
          const identity = identityFromSeed(seed, crypto)
          const conn = await transport.connect(server.address)
          const r = await performHandshake(conn, { identity })
          sessions.push(createSession(conn, { peerKey: r.peerKey, cipher: r.cipher, onMessage: () => undefined }))
        }),
      )
    }
    await new Promise((r) => setTimeout(r, 500))
    const after = await server.call('memory')
    const peers = after['peers'] as number
    if (peers !== CONNS) note(`  warning: the server holds ${peers} peers, expected ${CONNS}`)
    const rss = ((after['rss'] as number) - (before['rss'] as number)) / peers
    const heap = ((after['heap'] as number) - (before['heap'] as number)) / peers
    emit('gossip.ws_conn_bytes', rss, 'B', {
      connections: peers,
      heap_and_external: Math.round(heap),
      what: 'server RSS growth per authenticated session (ws socket, session, peer table), after GC',
    })
  } finally {
    for (const s of sessions) s.close()
    await transport.close()
    await server.stop()
  }
}

// ## Witness mode

async function witnessDoubleSpends(): Promise<void> {
  let attempts = 0
  let accepted = 0
  let firstSpends = 0
  const crypto = defaultCrypto()
  for (const seed of [1, 2, 3]) {
    // peers 0 and 1 are liars (witnesses that vouch for anything), peer 2 the one honest witness
    const sim = createSimulator({
      nodes: 30,
      knows: 6,
      seed,
      crypto,
      roles: (i) => (i < 2 ? 'liar' : 'honest'),
      witnesses: { count: 1, k: 3, timeoutMs: 3000 },
      gossip: { pullIntervalMs: 0 },
      cacheSize: 1024,
    })
    await sim.connect()
    // every attempt makes its proposer a proven cheater: proposers are never counterparties later
    const cheaters = new Set<number>()
    for (let i = 3; i < sim.peers.length; i++) {
      const a = sim.peers[i]!
      const others = a.neighbours.filter((k) => k >= 3 && !cheaters.has(k))
      if (others.length < 2) continue
      cheaters.add(i)
      const [bi, ci] = [others[0]!, others[1]!]
      const b = sim.peers[bi]!.node!
      const c = sim.peers[ci]!.node!
      const x = await a.node!.agent.propose(b.publicKey, 'tx', 1)
      // the same seq, another counterparty: a double spend of the slot
      const y = signBlock(
        { publicKey: x.publicKey, seq: x.seq, linkPublicKey: c.publicKey, linkSeq: 0, previousHash: x.previousHash, type: x.type, payload: 2, timestamp: x.timestamp + 1 },
        a.identity,
        crypto,
      )
      const delays = [Math.floor(sim.random() * 300), Math.floor(sim.random() * 300)]
      const runs = [x, y].map((p, k) => new Promise<void>((r) => sim.schedule(delays[k]!, r)).then(() => a.node!.deliver(p)).then(() => 1, () => 0))
      let done = false
      const all = Promise.all(runs).then(() => (done = true))
      for (let t = 0; t < 20_000 && !done; t += 100) await sim.run(100)
      await all
      attempts++
      const signedB = (await b.store.findAgreement(a.publicKey, x.seq, b.publicKey)) !== undefined
      const signedC = (await c.store.findAgreement(a.publicKey, x.seq, c.publicKey)) !== undefined
      if (signedB && signedC) accepted++
      if (signedB || signedC) firstSpends++
    }
    await sim.close()
  }
  emit('gossip.witness_double_spend_accepted', accepted, 'double spends', {
    attempts,
    one_spend_countersigned: firstSpends,
    witnesses: 'k = 3: one honest, two that vouch for anything',
    what: 'both conflicting proposals countersigned (must be 0)',
  })
}

// ## Helpers

function mean(a: readonly number[]): number {
  return a.length === 0 ? 0 : a.reduce((x, y) => x + y, 0) / a.length
}

function quantile(a: readonly number[], q: number): number {
  if (a.length === 0) return 0
  const s = [...a].sort((x, y) => x - y)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}
function pct(loss: number): string {
  return `${Math.round(loss * 100)}%`
}
