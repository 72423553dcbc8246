/**
 * A discrete-event simulation of bandwidth tokens (seed 002), in simulated time: peers download
 * over relay paths, pay hop by hop with real signed vouchers, publish deferred aggregated payouts,
 * and refuse free riders by the policy. Free riders download like everyone and never upload (they
 * neither seed nor relay). What it measures: how soon free riders are refused, how much service
 * honest peers get, and the balance distribution — to set beside Tribler's exit-node trial (median
 * balance of all users −713 MB; free riders refused at a median of −181 GB).
 *
 * What it models: each peer's downloads as a Poisson process; sizes exponential; a path of 0-3
 * relays; seeders weighted by capacity (a fifth of the honest peers seed eight times as much), and
 * an honest peer below zero seeds `mining` times as much (Tribler's credit mining);
 * downloaders pick relays in good standing as their own ledger sees them; every hop checks its
 * own payer against its own ledger (the published payouts + its own unpublished vouchers); payouts once a period, each published at a uniformly random moment within
 * the next period, and seen by every peer `spreadMs` later (one shared view: the gossip's spread is
 * not simulated link by link). What it leaves out: transfer durations (a download is paid when it
 * starts), churn, peers buying tokens, and Sybils (a free rider that rejoins under a new key starts
 * at 0 again: the threshold bounds what each identity takes).
 * @module
 */
import { identityFromSeed, nobleCrypto, type CryptoProvider, type SeedIdentity } from '@tally/core'
import { createBandwidthLedger, type BandwidthLedger } from './ledger.js'
import { createPayoutView } from './payout.js'
import { DEFAULT_THRESHOLD_MB, thresholdPolicy, type FreeRiderPolicy } from './policy.js'
import { pathPayments } from './relay.js'

/** Options of simulateBandwidth. */
export interface BandwidthSimOptions {
  /** Peers (default 1,000). */
  peers?: number
  /** Share of free riders (default 0.1). */
  freeRiders?: number
  /** Simulated hours (default 96). */
  hours?: number
  /** Mean minutes between a peer's downloads (default 240). */
  intervalMin?: number
  /** Mean download size in MB (default 500). */
  meanMb?: number
  /** Weights of paths with 0, 1, 2, 3 relays (default [4, 3, 2, 1]). */
  hops?: readonly number[]
  /** How many times more an honest peer below zero seeds (default 4; 1: no mining). */
  mining?: number
  /** Threshold in MB for the default policy (default −5,000). */
  threshold?: number
  /** The policy every honest peer runs (default thresholdPolicy(threshold)). */
  policy?: FreeRiderPolicy
  /** Payout period in minutes (default 60); each payout goes out at a random moment within the next one. */
  payoutMin?: number
  /** Delay from a payout's publication to every peer knowing it (default 30 s). */
  spreadMs?: number
  /** PRNG seed (default 1). */
  seed?: number
  /** Provider for keys, signatures and checks (default nobleCrypto: slow; give a native one). */
  crypto?: CryptoProvider
  /** Called every simulated hour. */
  onProgress?: (p: { hour: number; hours: number; downloads: number; refused: number }) => void
}

/** What the simulation found (megabytes, simulated seconds). */
export interface BandwidthSimResult {
  readonly peers: number
  readonly freeRiders: number
  readonly hours: number
  readonly threshold: number
  /** Simulated seconds until 95% of free riders had been refused at least once (Infinity if never). */
  readonly refusedAfterS: number
  /** Median simulated seconds from a free rider's first download to its first refusal. */
  readonly medianRefusalDelayS: number
  /** Share of free riders ever refused. */
  readonly freeRidersRefused: number
  /** A free rider's true balance when first refused (median), and what the refusing provider saw. */
  readonly medianFreeRiderBalanceAtRefusal: number
  readonly medianSeenAtRefusal: number
  /** Honest downloads asked for and served; served ÷ asked. */
  readonly honestAsked: number
  readonly honestServed: number
  readonly honestServiceRatio: number
  /** Honest downloads refused because the downloader itself was below the policy, and because a relay on its path was. */
  readonly honestRefusedOwn: number
  readonly honestRefusedRelay: number
  /** Free riders' downloads asked for and served. */
  readonly freeRiderAsked: number
  readonly freeRiderServed: number
  /** True balances at the end (index = peer; free riders are the last ones), their median (all users), Σ (always 0). */
  readonly balances: readonly number[]
  readonly medianBalance: number
  readonly medianHonestBalance: number
  readonly sum: number
  /** Σ of the published view's balances (always 0), vouchers signed, payouts published. */
  readonly viewSum: number
  readonly vouchers: number
  readonly payouts: number
}

/**
 * Run the simulation.
 * @param options see BandwidthSimOptions
 * @returns the figures
 * @example const r = simulateBandwidth({ peers: 200, hours: 6, crypto: defaultCrypto() })
 */
export function simulateBandwidth(options: BandwidthSimOptions = {}): BandwidthSimResult {
  const n = options.peers ?? 1_000
  const share = options.freeRiders ?? 0.1
  const hours = options.hours ?? 96
  const intervalMs = (options.intervalMin ?? 240) * 60_000
  const meanMb = options.meanMb ?? 500
  const hopWeights = options.hops ?? [4, 3, 2, 1]
  const threshold = options.threshold ?? DEFAULT_THRESHOLD_MB
  const policy = options.policy ?? thresholdPolicy(threshold)
  const payoutMs = (options.payoutMin ?? 60) * 60_000
  const spreadMs = options.spreadMs ?? 30_000
  const crypto = options.crypto ?? nobleCrypto
  if (!Number.isSafeInteger(n) || n < 5) throw new RangeError('"peers" expected an integer ≥ 5')
  if (!(share >= 0 && share < 0.9)) throw new RangeError('"freeRiders" expected a share in [0, 0.9)')
  const random = prng(options.seed ?? 1)
  const end = hours * 3_600_000

  const free = Math.round(n * share)
  const honest = n - free
  const isFree = (i: number) => i >= honest
  const keys: SeedIdentity[] = Array.from({ length: n }, (_, i) => identityFromSeed(seedOf(i), crypto))
  const view = createPayoutView(crypto)
  const ledgers: BandwidthLedger[] = keys.map((key) => createBandwidthLedger({ key, view, policy, crypto }))
  const truth = new Float64Array(n)
  // seeders weighted by capacity (a fifth of the honest peers seed 8x), and honest peers below
  // zero seed `mining` times as much: Tribler's credit mining, how an honest peer climbs back
  const capacity = Array.from({ length: honest }, () => (random() < 0.2 ? 8 : 1))
  const mining = options.mining ?? 4
  const most = 8 * Math.max(1, mining)
  const pickSeeder = (not: number): number => {
    for (;;) {
      const i = Math.floor(random() * honest)
      const w = capacity[i]! * (truth[i]! < 0 ? Math.max(1, mining) : 1)
      if (i !== not && random() * most < w) return i
    }
  }
  const hopTotal = hopWeights.reduce((a, b) => a + b, 0)
  const pickHops = (): number => {
    let r = random() * hopTotal
    for (const [h, w] of hopWeights.entries()) if ((r -= w) < 0) return h
    return 0
  }

  const queue = createQueue()
  for (let i = 0; i < n; i++) queue.push(exp(random, intervalMs), 0, i)
  for (let p = 0; (p + 1) * payoutMs <= end; p++) for (let i = 0; i < honest; i++) queue.push((p + 1 + random()) * payoutMs, 1, i, p)

  const firstDownload = new Float64Array(n).fill(-1)
  const firstRefusal = new Float64Array(n).fill(-1)
  const balanceAtRefusal: number[] = []
  const seenAtRefusal: number[] = []
  let honestAsked = 0
  let honestServed = 0
  let honestRefusedOwn = 0
  let honestRefusedRelay = 0
  let freeAsked = 0
  let freeServed = 0
  let vouchers = 0
  let payouts = 0
  let hour = 0
  let downloads = 0
  let refusedCount = 0
  for (;;) {
    const e = queue.pop()
    if (e === undefined || e.t > end) break
    while (e.t >= (hour + 1) * 3_600_000) {
      hour++ // not inside the optional call: its arguments are not evaluated without onProgress
      options.onProgress?.({ hour, hours, downloads, refused: refusedCount })
    }
    if (e.kind === 1) {
      // a payout of the period just ended, published now (deferred), seen by all spreadMs later
      const payout = ledgers[e.i]!.payout(e.extra)
      if (payout !== undefined) {
        payouts++
        queue.push(e.t + spreadMs, 2, e.i, 0, payout)
      }
      continue
    }
    if (e.kind === 2) {
      view.learn(e.payload as never)
      continue
    }
    // a download
    const d = e.i
    queue.push(e.t + exp(random, intervalMs), 0, d)
    downloads++
    if (firstDownload[d]! < 0) firstDownload[d] = e.t
    const mb = Math.max(1, Math.round(exp(random, meanMb)))
    const seeder = pickSeeder(d)
    const path = [d]
    // relays in good standing, as the downloader's ledger sees them (a relay below the threshold
    // would be refused by the next hop, and the download with it): up to 32 tries per hop
    for (let h = pickHops(); h > 0; h--) {
      for (let tries = 0; tries < 32; tries++) {
        const r = Math.floor(random() * honest)
        if (path.includes(r) || r === seeder || !ledgers[d]!.admit(keys[r]!.publicKey, mb).ok) continue
        path.push(r)
        break
      }
    }
    path.push(seeder)
    if (isFree(d)) freeAsked++
    else honestAsked++
    // every hop checks its own payer
    let refusedBy = -1
    let seen = 0
    for (let k = 1; k < path.length; k++) {
      const a = ledgers[path[k]!]!.admit(keys[path[k - 1]!]!.publicKey, mb)
      if (!a.ok) {
        refusedBy = k
        seen = a.balance
        break
      }
    }
    if (refusedBy >= 0) {
      refusedCount++
      if (!isFree(d)) {
        if (refusedBy === 1) honestRefusedOwn++
        else honestRefusedRelay++
      }
      if (firstRefusal[d]! < 0 && path[refusedBy - 1] === d) {
        firstRefusal[d] = e.t
        if (isFree(d)) {
          balanceAtRefusal.push(truth[d]!)
          seenAtRefusal.push(seen)
        }
      }
      continue
    }
    if (isFree(d)) freeServed++
    else honestServed++
    for (const pay of pathPayments(path.map((i) => keys[i]!.publicKey), mb)) {
      const from = path[path.findIndex((i) => keys[i]!.publicKey === pay.payer)]!
      const to = path[path.findIndex((i) => keys[i]!.publicKey === pay.payee)]!
      ledgers[to]!.receive(ledgers[from]!.pay(pay.payee, pay.mb))
      vouchers++
      truth[from] = truth[from]! - pay.mb
      truth[to] = truth[to]! + pay.mb
    }
  }
  while (hour < hours) {
    hour++
    options.onProgress?.({ hour, hours, downloads, refused: refusedCount })
  }

  const freeIdx = Array.from({ length: free }, (_, k) => honest + k)
  const refusedTimes = freeIdx.map((i) => firstRefusal[i]!).filter((t) => t >= 0).sort((a, b) => a - b)
  const need = Math.ceil(0.95 * free)
  const delays = freeIdx.filter((i) => firstRefusal[i]! >= 0).map((i) => (firstRefusal[i]! - firstDownload[i]!) / 1000)
  const balances = Array.from(truth)
  return Object.freeze({
    peers: n,
    freeRiders: free,
    hours,
    threshold,
    refusedAfterS: free === 0 ? 0 : refusedTimes.length >= need ? refusedTimes[need - 1]! / 1000 : Infinity,
    medianRefusalDelayS: median(delays),
    freeRidersRefused: free === 0 ? 1 : refusedTimes.length / free,
    medianFreeRiderBalanceAtRefusal: median(balanceAtRefusal),
    medianSeenAtRefusal: median(seenAtRefusal),
    honestAsked,
    honestServed,
    honestServiceRatio: honestAsked === 0 ? 1 : honestServed / honestAsked,
    honestRefusedOwn,
    honestRefusedRelay,
    freeRiderAsked: freeAsked,
    freeRiderServed: freeServed,
    balances,
    medianBalance: median(balances),
    medianHonestBalance: median(balances.slice(0, honest)),
    sum: balances.reduce((a, b) => a + b, 0),
    viewSum: view.balances().sum,
    vouchers,
    payouts,
  })
}

/**
 * A text histogram of balances in GB, one row per bucket.
 * @param balances megabytes
 * @param options bucket edges in GB (ascending) and bar width
 * @returns the lines
 */
export function balanceHistogram(balances: readonly number[], options: { edgesGb?: readonly number[]; width?: number } = {}): string[] {
  const edges = options.edgesGb ?? [-50, -20, -10, -5, -2, -1, 0, 1, 2, 5, 10, 20, 50]
  const width = options.width ?? 40
  const counts = new Array<number>(edges.length + 1).fill(0)
  for (const b of balances) {
    const gb = b / 1000
    let k = 0
    while (k < edges.length && gb >= edges[k]!) k++
    counts[k]!++
  }
  const most = Math.max(1, ...counts)
  const label = (k: number) => (k === 0 ? `< ${edges[0]}` : k === edges.length ? `≥ ${edges[k - 1]}` : `${edges[k - 1]} … ${edges[k]}`)
  return counts.map((c, k) => `${label(k).padStart(12)} GB │${'█'.repeat(Math.round((c / most) * width)).padEnd(width)}│ ${c}`)
}

// ## Private helpers

function seedOf(i: number): Uint8Array {
  const s = new Uint8Array(32)
  s[0] = 0xb4
  new DataView(s.buffer).setUint32(28, i + 1)
  return s
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

function exp(random: () => number, mean: number): number {
  return -Math.log(1 - random()) * mean
}

/** mulberry32: small, seeded, good enough for a simulation's choices. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface SimEvent { t: number; kind: 0 | 1 | 2; i: number; extra: number; payload?: unknown; order: number }

/** A binary min-heap of events by time (ties in insertion order, so runs are deterministic). */
function createQueue() {
  const heap: SimEvent[] = []
  let order = 0
  const less = (a: SimEvent, b: SimEvent) => a.t < b.t || (a.t === b.t && a.order < b.order)
  return {
    push(t: number, kind: 0 | 1 | 2, i: number, extra = 0, payload?: unknown) {
      const e: SimEvent = { t, kind, i, extra, payload, order: order++ }
      heap.push(e)
      let k = heap.length - 1
      while (k > 0) {
        const p = (k - 1) >> 1
        if (!less(heap[k]!, heap[p]!)) break
        ;[heap[k], heap[p]] = [heap[p]!, heap[k]!]
        k = p
      }
    },
    pop(): SimEvent | undefined {
      const top = heap[0]
      const last = heap.pop()
      if (heap.length > 0 && last !== undefined) {
        heap[0] = last
        let k = 0
        for (;;) {
          const l = 2 * k + 1
          const r = l + 1
          let m = k
          if (l < heap.length && less(heap[l]!, heap[m]!)) m = l
          if (r < heap.length && less(heap[r]!, heap[m]!)) m = r
          if (m === k) break
          ;[heap[k], heap[m]] = [heap[m]!, heap[k]!]
          k = m
        }
      }
      return top
    },
  }
}
