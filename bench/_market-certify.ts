// market.certify_s.100000, for bench/market.ts (files named _*.ts are not groups: bench/run.mjs
// skips them). In process: an epoch close of 100,000 components (each its own owner) with two
// witnesses' signatures and the certificate, plus — beside it, from the same sealed metrics — the
// outcomes of 10,000 active offers, their tree, two signatures and the outcome certificate.
// ratio_to_without_offers: the same close without the offers, same run, alternating which goes
// first; medians of 16 each (BENCH_MARKET_CERTIFY_RUNS, even), after 3 warm-up pairs.
// Two fixes to the measurement, which was 7 pairs after 1 warm-up close of each kind:
// - warm against warm: the outcome part reaches its steady speed only on its third or fourth
//   close (the first finds the components through the directory and leaves hints, the next
//   re-optimize for the hints: up to ~60 ms of CPU more than later), the close without offers on
//   its second. With one warm-up close, 2-3 of the 7 measured closes with offers were still cold
//   and the median sat on them: over three runs of the same code the CPU-time ratio read 1.11,
//   1.26 and 1.14 (1.12 to 1.14 with this warm-up), the wall-time ratio 1.13, 1.37 and 1.02.
// - an even number of pairs: the closes' CPU time is bimodal — a major collection lands on every
//   other close (~35 ms of ~190) — and with pairs alternating W o | o W | ..., each kind takes as
//   many heavy as light closes only over an even number of pairs; with an odd number the two
//   medians can fall on different sides of the gap. 16 pairs also make a close preempted on this
//   shared machine (6 workers, 2 cores) move a median less.
// cpu_ratio: the same ratio of medians over this process's CPU time, which preemption does not
// inflate; but it counts all the process's threads, and the collector's concurrent work lands in
// whichever close is running, so it moves between neighbours too (0.92 to 1.20 seen at load 5-17,
// mostly 1.08-1.12).
//
// The offers are the same objects every epoch, as a witness's market view hands them (its
// `active(epoch)` returns the offers it holds), so from the second close on the outcome part finds
// each component by the hint beside its key (outcome.ts); outcomes_fresh_keys_s is the outcome part
// when every offer's key arrays are new (a witness's first close of offers it just heard of), from
// 3 more closes after the measured ones.
//
// Run alone (no peer process, no socket): node --import tsx bench/_market-certify.ts
// (add --cpu-prof --cpu-prof-dir=DIR before --import to profile it).
import { fileURLToPath } from 'node:url'
import { certify, closeEpoch, createDirectory, createKarmaLedger, signCertificate, type Community, type Directory, type EpochMetrics } from '@tally/economy'
import { certifyOutcomes, closeOutcomes, signOutcomes, type OfferView } from '@tally/economy/market'
import { emit, knob, round } from './lib.ts'
import { crypto, markets, witnesses } from './_market-setup.ts'

const SIZE = 100_000
const OFFERS = 10_000
const RUNS = knob('BENCH_MARKET_CERTIFY_RUNS', 16)
const WARM_UP = 3

/**
 * Measure and print market.certify_s.100000.
 * @param c the community (its configuration has gateways with airtime and uptime)
 */
export function certifyBench(c: Community): void {
  const directory = syntheticDirectory(c, SIZE)
  const karma = createKarmaLedger({ window: 1 })
  const metrics = (epoch: number): EpochMetrics => {
    const sums = new Float64Array(SIZE * 2)
    for (let i = 0; i < SIZE; i++) {
      sums[i * 2] = 20_000 + ((i * 7919) % 50_000)
      sums[i * 2 + 1] = (i + epoch) % 50 === 0 ? 3_000 : 3_600
    }
    return { epoch, count: SIZE, width: 2, sums, reports: new Uint32Array(SIZE).fill(1), accepted: SIZE }
  }
  const offers: OfferView[] = []
  for (let i = 0; i < OFFERS; i++) {
    const info = directory.get(i * 10)!
    offers.push({ block: undefined as never, seller: info.owner, seq: 1, id: crypto.sha256(info.key), type: 'gateway', components: [info.key], criteria: [{ metric: 'uptime', op: 'ge', value: 3_597 }], price: 10, cycle: 1, penalty: 5, notice: 1, from: 0, until: 1_000_000 })
  }
  const phases = { outcomes: [] as number[], sign: [] as number[] }
  const cpu = { with: [] as number[], without: [] as number[] }
  const close = (epoch: number, withOffers: readonly OfferView[] | undefined): number => {
    const m = metrics(epoch)
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    const result = closeEpoch({ directory, karma, metrics: m })
    certify(result.body, witnesses.map((w) => signCertificate(result.body, w, result.config, crypto)), result.config, crypto)
    if (withOffers !== undefined) {
      const t1 = performance.now()
      const o = closeOutcomes({ directory, metrics: m, offers: withOffers, rewards: result.body.root })
      const t2 = performance.now()
      certifyOutcomes(o.body, witnesses.map((w) => signOutcomes(o.body, w, o.config, crypto)), o.config, crypto)
      const t3 = performance.now()
      if (o.body.leaves !== OFFERS) throw new Error(`${o.body.leaves} offers certified, not ${OFFERS}`)
      phases.outcomes.push((t3 - t1) / 1000)
      phases.sign.push((t3 - t2) / 1000)
    }
    const seconds = (performance.now() - t0) / 1000
    const used = process.cpuUsage(c0)
    ;(withOffers === undefined ? cpu.without : cpu.with).push((used.user + used.system) / 1e6)
    return seconds
  }
  let epoch = 0
  const withO: number[] = []
  const without: number[] = []
  // alternate which goes first, so a collection left by one lands on both alike
  const pair = (r: number) => {
    if (r % 2 === 0) {
      withO.push(close(epoch++, offers))
      without.push(close(epoch++, undefined))
    } else {
      without.push(close(epoch++, undefined))
      withO.push(close(epoch++, offers))
    }
  }
  // warm-up: sorts the owners, JIT, the hints beside the offers' keys (see above)
  for (let r = 0; r < WARM_UP; r++) pair(r)
  for (const xs of [withO, without, phases.outcomes, phases.sign, cpu.with, cpu.without]) xs.length = 0
  for (let r = 0; r < RUNS; r++) pair(r)
  const steady = { outcomes: [...phases.outcomes], sign: [...phases.sign], cpu: [...cpu.with] }
  phases.outcomes.length = 0
  for (let r = 0; r < 3; r++) {
    const fresh = offers.map((o) => ({ ...o, components: o.components.map((k) => Uint8Array.from(k)) }))
    close(epoch++, fresh)
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
  emit('market.certify_s.100000', round(median(withO), 3), 's', {
    ratio_to_without_offers: round(median(withO) / median(without), 2), without_offers_s: round(median(without), 3), cpu_ratio: round(median(steady.cpu) / median(cpu.without), 2),
    outcomes_only_s: round(median(steady.outcomes), 3), outcome_signatures_s: round(median(steady.sign), 4),
    outcomes_fresh_keys_s: round(median(phases.outcomes), 3),
    target_ratio: 1.3, offers: OFFERS, components: SIZE, runs: withO.length, crosses: 'no, in process',
  })
}

function syntheticDirectory(c: Community, size: number): Directory {
  const directory = createDirectory(c, { capacity: size })
  let x = 12345
  const key = (): Uint8Array => {
    const k = new Uint8Array(32)
    for (let i = 0; i < 32; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0
      k[i] = x >>> 24
    }
    return k
  }
  for (let i = 0; i < size; i++) directory.addVerified({ component: key(), owner: key(), type: 'gateway' })
  return directory
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) certifyBench(markets().ttn.community)
