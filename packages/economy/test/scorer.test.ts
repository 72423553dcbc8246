/**
 * Scorers (FR1): the paper's gateway scorer (tiers by airtime), the router uptime scorer, the
 * registry of scorer kinds and the checks on their settings.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { createConfig } from '@tally/economy'
import { DEFAULT_GATEWAY_TIERS, MAX_SCORE, SCORERS, createScorers, gatewayScorer, routerUptimeScorer, type ScorerContext, type ScorerFactory } from '@tally/economy'
import { configFields, throwsLike } from './helpers.ts'

const config = createConfig(configFields())
const gwContext: ScorerContext = { type: 'gateway', metrics: ['airtime', 'messages'], config }
const routerContext: ScorerContext = { type: 'router', metrics: ['uptime'], config }

const Gateway = suite('scorer: gateway (airtime tiers)')

Gateway('scores the highest tier reached, 0 below the first', () => {
  const s = gatewayScorer({ tiers: [[1_000, 1], [10_000, 2], [60_000, 4]] }, gwContext)
  assert.equal([0, 999, 1_000, 9_999, 10_000, 59_999, 60_000, 10 ** 9].map((a) => s.score([a, 0])), [0, 0, 1, 1, 2, 2, 4, 4])
})

Gateway('the airtime metric is found by name', () => {
  const s = gatewayScorer({ metric: 'airtime', tiers: [[5, 7]] }, { ...gwContext, metrics: ['messages', 'airtime'] })
  assert.is(s.score([100, 5]), 7)
  assert.is(s.score([100, 4]), 0)
})

Gateway('bad settings are refused', () => {
  throwsLike(() => gatewayScorer({ tiers: [] }, gwContext), RangeError, /tiers/)
  throwsLike(() => gatewayScorer({ tiers: [[10, 1], [10, 2]] }, gwContext), RangeError, /strictly increase/)
  throwsLike(() => gatewayScorer({ tiers: [[10, 2 ** 32]] }, gwContext), RangeError, /score/)
  throwsLike(() => gatewayScorer({ tiers: [[10, 1.5]] } as never, gwContext), RangeError)
  throwsLike(() => gatewayScorer({ metric: 'rssi', tiers: [[1, 1]] }, gwContext), RangeError, /not one of/)
  throwsLike(() => gatewayScorer(null, gwContext), RangeError)
})

Gateway('property: monotone in airtime, always a tier score', () => {
  const s = gatewayScorer({ tiers: DEFAULT_GATEWAY_TIERS }, gwContext)
  const allowed = new Set([0, ...DEFAULT_GATEWAY_TIERS.map((t) => t[1])])
  fc.assert(
    fc.property(fc.nat(), fc.nat(), (a, b) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a]
      return s.score([lo, 0]) <= s.score([hi, 0]) && allowed.has(s.score([a, 0]))
    }),
  )
})

const Router = suite('scorer: router (uptime)')

Router('share of the epoch up, scaled to maxScore, 0 below the minimum', () => {
  const s = routerUptimeScorer({ maxScore: 100, minPermille: 500 }, routerContext)
  assert.is(s.score([3_600]), 100)
  assert.is(s.score([7_200]), 100, 'capped at the epoch length')
  assert.is(s.score([1_800]), 50)
  assert.is(s.score([1_799]), 0, 'below 50 %')
  assert.is(s.score([2_700]), 75)
})

Router('integer arithmetic only: results are integers', () => {
  const s = routerUptimeScorer({ maxScore: 7 }, routerContext)
  fc.assert(fc.property(fc.nat({ max: 10_000 }), (up) => Number.isInteger(s.score([up])) && s.score([up]) <= 7))
})

Router('bad settings and a missing context are refused', () => {
  throwsLike(() => routerUptimeScorer({ maxScore: -1 }, routerContext), RangeError, /maxScore/)
  throwsLike(() => routerUptimeScorer({ maxScore: 1, minPermille: 1001 }, routerContext), RangeError, /minPermille/)
  throwsLike(() => routerUptimeScorer({ maxScore: 1 }), TypeError, /context/)
})

const Registry = suite('scorer: kinds')

Registry('createScorers builds the scorer of each component type', () => {
  const scorers = createScorers(config)
  assert.equal([...scorers.keys()].sort(), ['gateway', 'router'])
  assert.is(scorers.get('gateway')!.score([60_000, 0]), 4)
  assert.is(scorers.get('router')!.score([3_600]), 4)
})

Registry('an unknown kind or bad params name the component type', () => {
  const unknown = createConfig(configFields({ components: { gateway: { metrics: ['airtime'], scorer: 'magic', params: null } } }))
  throwsLike(() => createScorers(unknown), RangeError, /gateway.*unknown scorer "magic"/)
  const broken = createConfig(configFields({ components: { gateway: { metrics: ['airtime'], scorer: 'airtime-tiers', params: { tiers: 'x' } } } }))
  throwsLike(() => createScorers(broken), RangeError, /component type "gateway"/)
})

Registry('kinds are pluggable: a custom scorer for a new component type', () => {
  const perMessage: ScorerFactory = (params, ctx) => {
    const slot = ctx.metrics.indexOf('messages')
    const cap = (params as { cap: number }).cap
    return { score: (m) => Math.min(m[slot] ?? 0, cap) }
  }
  const custom = createConfig(configFields({ components: { sensor: { metrics: ['messages'], scorer: 'per-message', params: { cap: 10 } } } }))
  const scorers = createScorers(custom, { ...SCORERS, 'per-message': perMessage })
  assert.is(scorers.get('sensor')!.score([42]), 10)
  assert.is(MAX_SCORE, 2 ** 32 - 1)
})

Gateway.run()
Router.run()
Registry.run()
