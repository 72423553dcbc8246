// The simulated community: who owns how many gateways, and how much airtime each gateway carries
// in each hour. Deterministic for a seed, so a run can be repeated.
//
// The shape follows what public TTN statistics show: ownership is skewed (a few organisations run
// many gateways, most people one or two), traffic is heavy-tailed (log-normal: most gateways hear
// a few seconds of airtime an hour, a few hear many minutes), some gateways are silent (offline,
// or in a place nobody transmits), and everything follows the day (devices report more in
// daytime).

/** A deterministic PRNG in [0, 1) (mulberry32). */
export type Random = () => number

/**
 * A PRNG for a seed.
 * @param seed any integer
 * @returns a function returning floats in [0, 1)
 */
export function random(seed: number): Random {
  let a = (seed ^ 0x9e3779b9) >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

/** A standard normal variate (Box–Muller). */
export function normal(rng: Random): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng())
}

/** One gateway's character. */
export interface GatewayProfile {
  /** Index of its owner. */
  readonly owner: number
  /** Median airtime in ms per hour at the daily mean (log-normal across gateways). */
  readonly median: number
  /** Mean airtime of one message in ms (its region's spreading factors). */
  readonly msPerMessage: number
  /** Silent all day: offline, or nobody near it transmits. */
  readonly silent: boolean
  /** Chance of missing any given hour (flaky backhaul). */
  readonly outage: number
  /** Reports per hour: 1, or 2 half-hourly ones. */
  readonly parts: 1 | 2
}

/**
 * How many gateways each owner holds: every owner one, the rest by a Zipf law (weight 1 / rank^1.2),
 * so the largest owner holds a tenth or more of the network and most hold one or two.
 * @param gateways gateways in all
 * @param owners owners in all (at most `gateways`)
 * @param rng the PRNG
 * @returns gateway counts by owner index, largest first
 */
export function ownership(gateways: number, owners: number, rng: Random): number[] {
  const counts = new Array<number>(owners).fill(1)
  const weights = counts.map((_, i) => 1 / (i + 1) ** 1.2)
  const total = weights.reduce((a, b) => a + b, 0)
  for (let g = owners; g < gateways; g++) {
    let x = rng() * total
    let i = 0
    while (i < owners - 1 && (x -= weights[i]!) > 0) i++
    counts[i]!++
  }
  return counts
}

/**
 * Gateway profiles for an ownership table.
 * @param counts gateways by owner
 * @param rng the PRNG
 * @returns one profile per gateway, grouped by owner
 */
export function profiles(counts: readonly number[], rng: Random): GatewayProfile[] {
  const out: GatewayProfile[] = []
  counts.forEach((n, owner) => {
    for (let g = 0; g < n; g++) {
      out.push({
        owner,
        // median 15 s of airtime an hour, σ = 1.5: the busiest gateways carry minutes
        median: 15_000 * Math.exp(1.5 * normal(rng)),
        msPerMessage: 40 + rng() * 120,
        silent: rng() < 0.07,
        outage: rng() < 0.2 ? 0.15 : 0.01,
        parts: rng() < 0.1 ? 2 : 1,
      })
    }
  })
  return out
}

/**
 * A gateway's traffic in one hour.
 * @param gateway its profile
 * @param hour hour of the day, 0-23
 * @param rng the PRNG
 * @returns airtime (ms) and messages of each report it sends this hour; empty when it is silent or down
 */
export function hourOf(gateway: GatewayProfile, hour: number, rng: Random): [airtime: number, messages: number][] {
  if (gateway.silent || rng() < gateway.outage) return []
  // the day: lowest around 03:00, highest around 15:00, a factor of about 5 between them
  const diurnal = 0.3 + 1.4 * (0.5 - 0.5 * Math.cos((2 * Math.PI * (hour - 3)) / 24))
  const airtime = Math.min(3_600_000, Math.round(gateway.median * diurnal * Math.exp(0.35 * normal(rng))))
  const messages = Math.round(airtime / gateway.msPerMessage)
  if (gateway.parts === 1) return [[airtime, messages]]
  const first = Math.round(airtime * (0.3 + 0.4 * rng()))
  const firstMessages = Math.round(first / gateway.msPerMessage)
  return [
    [first, firstMessages],
    [airtime - first, Math.max(0, messages - firstMessages)],
  ]
}

const PLACES = ['Amsterdam', 'Rotterdam', 'Utrecht', 'Delft', 'Leiden', 'Zwolle', 'Groningen', 'Eindhoven', 'Gent', 'Leuven', 'Antwerpen', 'Aachen', 'Münster', 'Zürich', 'Lyon', 'Porto', 'Bristol', 'Oslo', 'Tartu', 'Graz']
const KINDS = ['iot-lab', 'makers', 'university', 'municipality', 'farms', 'harbour', 'water-board', 'hackerspace', 'coop', 'sensors']

/**
 * A TTN-style account name for owner `i` (the larger owners are organisations, the rest people).
 * @param i owner index (0 = largest)
 * @param rng the PRNG
 * @returns e.g. `delft-university` or `jdevries-42`
 */
export function accountName(i: number, rng: Random): string {
  if (i < 40) return `${PLACES[i % PLACES.length]!.toLowerCase().replace('ü', 'u')}-${KINDS[(i * 7) % KINDS.length]!}`
  const first = 'abcdefghjklmnprstvw'[Math.floor(rng() * 19)]!
  const last = ['devries', 'jansen', 'peeters', 'muller', 'bakker', 'visser', 'smit', 'meyer', 'dubois', 'silva'][Math.floor(rng() * 10)]!
  return `${first}${last}-${i}`
}
