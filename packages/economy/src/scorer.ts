/**
 * Scorers (FR1): per component type, a function from one epoch's summed metrics to an integer
 * score. The configuration names a scorer kind and its settings for each component type; a
 * ScorerFactory turns the settings into a Scorer. Two kinds ship here:
 *
 * - 'airtime-tiers' (gatewayScorer): the paper's GatewayScorer — tiers by the airtime a gateway
 *   processed, more airtime a higher tier. Settings: { tiers: [[minAirtime, score], ...], metric? }.
 * - 'uptime' (routerUptimeScorer): a router's share of the epoch it was up, in permille, scaled to
 *   maxScore, and 0 below a minimum. Settings: { maxScore, minPermille?, metric? }.
 *
 * Scores are integers in [0, MAX_SCORE] (no floats anywhere that is signed or allocated).
 * @module
 */
import type { CborValue } from '@tally/core'
import type { CommunityConfig } from './config.js'
import { asMap, isUint } from './util.js'

/** Turns one component's summed metrics of an epoch into its score. */
export interface Scorer {
  /**
   * The score.
   * @param metrics the summed metrics, in the order of the component type's `metrics`
   * @returns an integer in [0, MAX_SCORE]
   */
  score(metrics: ArrayLike<number>): number
}

/** What a factory knows about where its scorer is used. */
export interface ScorerContext {
  /** The component type. */
  readonly type: string
  /** The type's metric names, in report order. */
  readonly metrics: readonly string[]
  /** The configuration (epoch length, ...). */
  readonly config: CommunityConfig
}

/** Builds a Scorer from the settings in the configuration. Throws RangeError on bad settings. */
export type ScorerFactory = (params: CborValue, context: ScorerContext) => Scorer

/** The largest score: scores are kept in 32-bit slots. */
export const MAX_SCORE = 0xffff_ffff

/** Settings of the gateway scorer. */
export interface GatewayScorerSettings {
  /** Which metric is the airtime (default 'airtime'). */
  readonly metric?: string
  /** [minimum airtime, score] by strictly increasing minimum: a gateway scores the tier it reached, 0 below the first. */
  readonly tiers: readonly (readonly [number, number])[]
}

/** Settings of the router uptime scorer. */
export interface UptimeScorerSettings {
  /** Which metric counts the seconds the router was up (default 'uptime'). */
  readonly metric?: string
  /** Score of a router up the whole epoch. */
  readonly maxScore: number
  /** Below this uptime (permille of the epoch) the score is 0 (default 0). */
  readonly minPermille?: number
}

/**
 * Tiers of airtime per hour for the TTN example: 1 s, 10 s, 1 min, 5 min and 15 min of airtime
 * score 1, 2, 4, 8 and 12.
 */
export const DEFAULT_GATEWAY_TIERS: readonly (readonly [number, number])[] = Object.freeze([
  Object.freeze([1_000, 1] as const),
  Object.freeze([10_000, 2] as const),
  Object.freeze([60_000, 4] as const),
  Object.freeze([300_000, 8] as const),
  Object.freeze([900_000, 12] as const),
])

/**
 * The paper's gateway scorer: tiers by airtime.
 * @param params GatewayScorerSettings (as CBOR from the configuration, or typed)
 * @param context where it is used (default: a type whose only metric is 'airtime')
 * @returns the scorer
 * @throws RangeError on malformed tiers or an unknown metric
 * @example gatewayScorer({ tiers: [[1000, 1], [60_000, 4]] }).score([75_000]) // 4
 */
export function gatewayScorer(params: CborValue | GatewayScorerSettings, context?: ScorerContext): Scorer {
  const p = asMap(params)
  if (p === undefined) throw new RangeError('"params" expected { tiers, metric? }')
  const slot = metricSlot(p['metric'] ?? 'airtime', context)
  const tiers = p['tiers']
  if (!Array.isArray(tiers) || tiers.length < 1 || tiers.length > 64) throw new RangeError('"params.tiers" expected 1-64 [minAirtime, score] pairs')
  const mins: number[] = []
  const scores: number[] = []
  for (const tier of tiers as unknown[]) {
    if (!Array.isArray(tier) || tier.length !== 2 || !isUint(tier[0]) || !isUint(tier[1]) || tier[1] > MAX_SCORE) {
      throw new RangeError('"params.tiers" entries must be [minAirtime, score] with integer score in [0, MAX_SCORE]')
    }
    if (mins.length > 0 && tier[0] <= mins[mins.length - 1]!) throw new RangeError('"params.tiers" minimums must strictly increase')
    mins.push(tier[0])
    scores.push(tier[1])
  }
  return {
    score(metrics: ArrayLike<number>): number {
      const airtime = metrics[slot] ?? 0
      let s = 0
      for (let i = 0; i < mins.length && airtime >= mins[i]!; i++) s = scores[i]!
      return s
    },
  }
}

/**
 * A router scorer: the share of the epoch it was up, in permille, times maxScore / 1000, and 0
 * below minPermille. The epoch length comes from the configuration.
 * @param params UptimeScorerSettings
 * @param context where it is used (required: the epoch length comes from its configuration)
 * @returns the scorer
 * @throws RangeError on malformed settings; TypeError without a context
 * @example routerUptimeScorer({ maxScore: 100 }, ctx).score([1800]) // 50 for a one-hour epoch
 */
export function routerUptimeScorer(params: CborValue | UptimeScorerSettings, context?: ScorerContext): Scorer {
  if (context === undefined) throw new TypeError('"context" is required: the epoch length comes from the configuration')
  const p = asMap(params)
  if (p === undefined) throw new RangeError('"params" expected { maxScore, minPermille?, metric? }')
  const slot = metricSlot(p['metric'] ?? 'uptime', context)
  const maxScore = p['maxScore']
  const minPermille = p['minPermille'] ?? 0
  if (!isUint(maxScore) || maxScore > 0xffff_ffff) throw new RangeError('"params.maxScore" expected an integer in [0, 2^32 - 1]')
  if (!isUint(minPermille) || minPermille > 1000) throw new RangeError('"params.minPermille" expected an integer in [0, 1000]')
  const period = Math.max(1, Math.floor(context.config.epochLength / 1000))
  return {
    score(metrics: ArrayLike<number>): number {
      const up = Math.min(metrics[slot] ?? 0, period)
      const permille = Math.floor((up * 1000) / period)
      // maxScore * permille < 2^32 * 1001 < 2^53: exact
      return permille < minPermille ? 0 : Math.floor((maxScore * permille) / 1000)
    },
  }
}

/** The scorer kinds a configuration may name, and their factories. */
export const SCORERS: Readonly<Record<string, ScorerFactory>> = Object.freeze({
  'airtime-tiers': gatewayScorer,
  uptime: routerUptimeScorer,
})

/**
 * The scorer of every component type of a configuration.
 * @param config the configuration
 * @param kinds scorer kinds by name (default SCORERS; add your own)
 * @returns scorers by component type
 * @throws RangeError when a type names an unknown kind or has bad settings
 * @example const scorers = createScorers(config); scorers.get('gateway')!.score([60_000, 12])
 */
export function createScorers(config: CommunityConfig, kinds: Readonly<Record<string, ScorerFactory>> = SCORERS): ReadonlyMap<string, Scorer> {
  const out = new Map<string, Scorer>()
  for (const [type, t] of Object.entries(config.components)) {
    const factory = Object.hasOwn(kinds, t.scorer) ? kinds[t.scorer] : undefined
    if (factory === undefined) throw new RangeError(`component type "${type}" names an unknown scorer "${t.scorer}"`)
    try {
      out.set(type, factory(t.params, { type, metrics: t.metrics, config }))
    } catch (err) {
      throw new RangeError(`component type "${type}": ${(err as Error).message}`, { cause: err })
    }
  }
  return out
}

function metricSlot(name: unknown, context: ScorerContext | undefined): number {
  if (typeof name !== 'string') throw new RangeError('"params.metric" expected a metric name')
  if (context === undefined) return 0
  const slot = context.metrics.indexOf(name)
  if (slot < 0) throw new RangeError(`metric "${name}" is not one of ${context.type}'s metrics (${context.metrics.join(', ')})`)
  return slot
}
