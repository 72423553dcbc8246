/**
 * Scripted scenarios on the simulator, and what they measure. `runContrib` reproduces the setup of
 * ConTrib's fraud-detection experiments (de Vos & Pouwelse, Computer Networks 192, 2021) so that the
 * figures compare:
 *
 * - each peer knows `knows` (100) random peers and links to them;
 * - every peer proposes a transaction to a random peer it knows once per `txIntervalMs` (1 s), at
 *   its own random phase;
 * - each peer is a forker with probability `forkProbability` (10%): once, at a random time in the
 *   fork window, right after a transaction of its own completed, it signs a second block at the
 *   seq of that last block and proposes it to another peer it knows ("reusing its last sequence
 *   number"), without spreading it itself (it waits until that last block is complete and held by
 *   its counterparty: a fork of a block nobody else holds contradicts nothing and is no fork);
 * - links: the memory network's model (default 50 ms one way + uniform 0..20 ms jitter), with
 *   `loss` of every frame dropped (0% and 20% in ConTrib's runs).
 *
 * A fork whose second block no honest peer ever received (every send of it lost: 0.2^4 at 20%
 * loss) contradicts nothing anyone holds, as a fork of a block nobody holds would not: it is
 * counted apart (`unreleased`) and left out of the figures below.
 *
 * Measured, per fork, from the moment its second block is sent (its release):
 * - the time until 99% of honest peers (peers that never fork, withhold or spam) hold a proof
 *   against the forker, and until the first one does; forks whose proof never reaches 99% are
 *   counted apart;
 * - forks that no honest peer ever holds a proof of (undetected);
 * - honest peers that any peer holds a verified proof against (must be 0);
 * - bytes sent per peer per second over the run (every frame of every kind), and the share of
 *   fraud proofs in them.
 * @module
 */
import { equalBytes, toHex, type CryptoProvider, type PublicKeyHex } from '@tally/core'
import { detectionStats } from './detection.js'
import { ACCUSED_ID_BYTES, encodeMessage } from '../wire/messages.js'
import type { LinkModel } from '../transport/memory-transport.js'
import type { GossipOptions } from '../node/node.js'
import type { Role, Simulator, SimulatorOptions } from './simulator.js'
import { createSimulator } from './simulator.js'

/** Options of runContrib. */
export interface ContribOptions {
  /** Peers. */
  nodes: number
  /** Random peers each knows (default min(100, nodes - 1)). */
  knows?: number
  /** Fraction of frames lost (default 0). */
  loss?: number
  /** The rest of the link model (default 50 ms + 0..20 ms jitter). */
  link?: Partial<LinkModel>
  /** Milliseconds peers transact (default 30,000). */
  durationMs?: number
  /** Milliseconds between a peer's proposals (default 1000). */
  txIntervalMs?: number
  /** Probability that a peer forks once (default 0.1). */
  forkProbability?: number
  /** When forks happen, ms from the start: [from, to) (default [3000, durationMs - 5000)). */
  forkWindow?: readonly [number, number]
  /** Milliseconds of gossip after the last transaction before counting (default 10,000). */
  settleMs?: number
  /** Fraction of peers that withhold (never push, relay, pull) (default 0). */
  withholders?: number
  /** Fraction of peers that spam (default 0), flooding every `spamIntervalMs` (default 1000). */
  spammers?: number
  spamIntervalMs?: number
  /** Seed (default 1). */
  seed?: number
  /** Gossip settings (default DEFAULT_GOSSIP). */
  gossip?: Partial<GossipOptions>
  /** Simulator shortcuts (see SimulatorOptions): 'attach' sessions, a cheap crypto provider. */
  sessions?: SimulatorOptions['sessions']
  crypto?: CryptoProvider
  /** Seen-cache entries per node (default 2048). */
  cacheSize?: number
  /** Stores share one copy of each block and proof (see SimulatorOptions.shareBlocks; default false). */
  shareBlocks?: boolean
  /** Called every simulated second with progress (for long runs). */
  onProgress?: (p: { simulatedMs: number; forks: number; transactions: number }) => void
  /** Called at the end, before the simulator closes (to look into a run: which peer holds what). */
  inspect?: (sim: Simulator) => Promise<void>
}

/** What runContrib measured (times in seconds of virtual time). */
export interface ContribResult {
  readonly nodes: number
  readonly honest: number
  readonly loss: number
  readonly durationS: number
  readonly transactions: number
  /** Forks whose second block reached an honest peer (the figures below are over these). */
  readonly forks: number
  /** Forks whose second block no honest peer ever received (counted apart). */
  readonly unreleased: number
  /** Per fork that reached 99% of honest peers: seconds from release to 99%. */
  readonly detectP99: readonly number[]
  /** Forks whose proof never reached 99% of honest peers. */
  readonly under99: number
  /** Per fork that reached half of the honest peers: seconds from release to half of them. */
  readonly detectP50: readonly number[]
  /** Forks whose proof never reached half of the honest peers. */
  readonly under50: number
  /** Per detected fork: seconds from release to the first honest holder. */
  readonly detectFirst: readonly number[]
  /** Mean over every (fork, honest peer that got the proof) of the seconds to get it. */
  readonly detectMeanS: number
  /** Forks no honest peer holds a proof of. */
  readonly undetected: number
  /** Honest peers accused by anyone (must be 0). */
  readonly honestAccused: number
  /** Bytes sent per peer per second over the run, every frame. */
  readonly bytesPerPeerS: number
  /** Of which fraud-proof frames. */
  readonly proofBytesPerPeerS: number
  /**
   * Frames sent per peer per second (every kind). Simulated frames are counted in the clear (attached
   * sessions); sealed, on a handshaked session, each is 16 bytes more (the Noise tag).
   */
  readonly framesPerPeerS: number
  /** Bytes per peer per second by kind of frame (transact, push, fraud, pull), where measured. */
  readonly bytesPerPeerSByKind?: Readonly<Record<string, number>>
  /** Sealed bytes (16 more a frame) per peer per second by frame (message type; resent copies apart), where measured. */
  readonly sealedBytesPerPeerSByFrame?: Readonly<Record<string, number>>
  /** Wall-clock milliseconds the run took. */
  readonly wallMs: number
}

/**
 * Run ConTrib's fork-detection setup on the simulator (see the module comment).
 * @param options size, loss, durations, fork probability, adversaries, shortcuts
 * @returns the measurements
 * @example const r = await runContrib({ nodes: 1000, loss: 0.2, sessions: 'attach' })
 */
export async function runContrib(options: ContribOptions): Promise<ContribResult> {
  const t0 = performance.now()
  const durationMs = options.durationMs ?? 30_000
  const interval = options.txIntervalMs ?? 1000
  const settleMs = options.settleMs ?? 10_000
  const forkP = options.forkProbability ?? 0.1
  const window = options.forkWindow ?? [Math.min(3000, durationMs / 4), Math.max(durationMs - 5000, durationMs / 2)]
  const withholders = options.withholders ?? 0
  const spammers = options.spammers ?? 0
  const sim = createSimulator({
    nodes: options.nodes,
    ...(options.knows !== undefined ? { knows: options.knows } : {}),
    link: { ...options.link, loss: options.loss ?? 0 },
    seed: options.seed ?? 1,
    ...(options.sessions !== undefined ? { sessions: options.sessions } : {}),
    ...(options.crypto !== undefined ? { crypto: options.crypto } : {}),
    ...(options.gossip !== undefined ? { gossip: options.gossip } : {}),
    cacheSize: options.cacheSize ?? 2048,
    ...(options.shareBlocks === true ? { shareBlocks: true } : {}),
    roles: (_, random): Role => {
      const r = random()
      if (r < spammers) return 'spammer'
      if (r < spammers + withholders) return 'withholder'
      return random() < forkP ? 'forker' : 'honest'
    },
  })
  await sim.connect()
  const start = sim.clock.now()
  const bytesAtStart = sim.network.stats.bytesSent
  const framesAtStart = sim.network.stats.framesSent
  const proofFrames = countProofFrames(sim)

  // the transaction load, each peer at its own phase; forkers fork once in the window
  let transactions = 0
  let running = true
  for (const p of sim.peers) {
    if (p.node === undefined) continue
    const forkAt = p.role === 'forker' ? window[0] + sim.random() * (window[1] - window[0]) : Number.POSITIVE_INFINITY
    let forked = false
    let inFlight = 0
    const tick = (): void => {
      if (!running) return
      const elapsed = sim.clock.now() - start
      if (!forked && elapsed >= forkAt) {
        forked = true
        void forkAfterLastCompleted(sim, p.index)
      } else if (inFlight < 4) {
        inFlight++
        void sim.transact(p.index).then((r) => {
          inFlight--
          if (!(r instanceof Error)) transactions++
        })
      }
      sim.schedule(interval, tick)
    }
    sim.schedule(Math.floor(sim.random() * interval), tick)
  }
  const spamPeers = sim.peers.filter((p) => p.role === 'spammer')
  if (spamPeers.length > 0) {
    const spamTick = (): void => {
      if (!running) return
      for (const p of spamPeers) sim.spam(p.index, { pushes: 20, proofs: 2 })
      sim.schedule(options.spamIntervalMs ?? 1000, spamTick)
    }
    sim.schedule(500, spamTick)
  }

  for (let t = 0; t < durationMs; t += 1000) {
    await sim.run(Math.min(1000, durationMs - t))
    options.onProgress?.({ simulatedMs: t + 1000, forks: sim.forks.length, transactions })
  }
  running = false
  for (let t = 0; t < settleMs; t += 1000) await sim.run(Math.min(1000, settleMs - t))
  const elapsedS = (sim.clock.now() - start) / 1000
  const bytes = sim.network.stats.bytesSent - bytesAtStart
  const frames = sim.network.stats.framesSent - framesAtStart
  const proofBytes = proofFrames.stop()

  // ## Measures
  const honest = sim.peers.filter((p) => p.role === 'honest' || (p.role === 'forker' && !sim.forks.some((f) => f.index === p.index)))
  const honestSet = new Set(honest.map((p) => p.index))
  const perFork: number[][] = []
  let unreleased = 0
  for (const f of sim.forks) {
    const proofs = [...sim.proofTimes(sim.peers[f.index]!.publicKey).entries()].filter(([i]) => honestSet.has(i))
    const atVictim = await sim.peers[f.victim]!.node?.store.get(f.second.publicKey, f.second.seq)
    if (proofs.length === 0 && (atVictim === undefined || !equalBytes(atVictim.signature, f.second.signature))) unreleased++
    else perFork.push(proofs.map(([, t]) => Math.max(0, t - f.releasedAt) / 1000))
  }
  const stats = detectionStats(perFork, honest.length)
  const honestKeys = new Set<PublicKeyHex>(honest.map((p) => toHex(p.publicKey)))
  let honestAccused = 0
  for (const key of sim.accused().keys()) if (honestKeys.has(key)) honestAccused++
  await options.inspect?.(sim)
  await sim.close()
  return {
    nodes: options.nodes,
    honest: honest.length,
    loss: options.loss ?? 0,
    durationS: elapsedS,
    transactions,
    forks: sim.forks.length - unreleased,
    unreleased,
    ...stats,
    honestAccused,
    bytesPerPeerS: bytes / options.nodes / elapsedS,
    proofBytesPerPeerS: proofBytes / options.nodes / elapsedS,
    framesPerPeerS: frames / options.nodes / elapsedS,
    wallMs: performance.now() - t0,
  }
}

// ## Private helpers

/**
 * Fork right after the peer's latest transaction completed and its counterparty holds the block:
 * a fork of a block nobody else holds contradicts nothing anyone knows.
 */
async function forkAfterLastCompleted(sim: Simulator, i: number): Promise<void> {
  const node = sim.peers[i]!.node!
  for (let tries = 0; tries < 20; tries++) {
    const latest = await node.store.latest(node.publicKey)
    const counterparty = latest === undefined ? undefined : sim.peers.find((p) => equalBytes(p.publicKey, latest.linkPublicKey))?.node
    const done =
      latest !== undefined &&
      (latest.linkSeq > 0 || (await node.store.findAgreement(latest.publicKey, latest.seq, latest.linkPublicKey)) !== undefined) &&
      (await counterparty?.store.get(latest.publicKey, latest.seq)) !== undefined
    if (done) {
      await sim.fork(i)
      return
    }
    await new Promise<void>((resolve) => sim.schedule(250, resolve))
  }
}

/**
 * Count the bytes of the frames nodes send about proofs: the proofs themselves, and with
 * proofRelay 'announce' the fraud-have and fraud-want frames (from the nodes' counters).
 * @returns stop(): the bytes since the start
 */
function countProofFrames(sim: Simulator): { stop(): number } {
  const nodes = sim.peers.flatMap((p) => (p.node === undefined ? [] : [p.node]))
  const counters = (): { proofs: number; haves: number; wants: number } => {
    const c = { proofs: 0, haves: 0, wants: 0 }
    for (const n of nodes) {
      c.proofs += n.stats.proofsSent
      c.haves += n.stats.proofAnnouncements
      c.wants += n.stats.proofWants
    }
    return c
  }
  const before = counters()
  // one fork per forker in these scenarios: proof frames differ only in their blocks' payloads,
  // so each accused key's frame is encoded once, and the sizes averaged over the nodes' events
  const sizeOf = new Map<string, number>()
  let proofSizes = 0
  let proofCount = 0
  const offs = nodes.map((n) =>
    n.on('fraud', ({ proof }) => {
      const key = toHex(proof.publicKey)
      let size = sizeOf.get(key)
      if (size === undefined) sizeOf.set(key, (size = encodeMessage({ type: 'fraud', proof }).length))
      proofSizes += size
      proofCount++
    }),
  )
  // the simulator's sessions speak the newest version: haves and wants name the accused by its id
  const id = new Uint8Array(ACCUSED_ID_BYTES)
  const haveSize = encodeMessage({ type: 'fraud-have', publicKey: id }).length
  const wantSize = encodeMessage({ type: 'fraud-want', publicKey: id }).length
  return {
    stop: () => {
      offs.forEach((off) => off())
      const after = counters()
      const proofSize = proofCount === 0 ? 0 : proofSizes / proofCount
      return (after.proofs - before.proofs) * proofSize + (after.haves - before.haves) * haveSize + (after.wants - before.wants) * wantSize
    },
  }
}
