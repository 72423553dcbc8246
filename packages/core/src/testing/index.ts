/**
 * @tally/core/testing — the tools Tally's own tests use, for users' test suites: the BlockStore
 * compliance suite (needs uvu), fast-check arbitraries for identities, payloads, chains,
 * schedules and adversarial moves, and scenarios that run a schedule and report what every
 * honest agent knows (need fast-check).
 * @module
 */
export { storeSuite, type StoreSuiteOptions } from './store-suite.js'
export {
  adversarialMoveArb,
  check,
  honestChainArb,
  identityArb,
  payloadArb,
  scheduleArb,
  type CheckParameters,
  type ScheduleArbOptions,
} from './arbitraries.js'
export {
  everyForkCaught,
  nobodyFramed,
  runSchedule,
  uncaughtForks,
  type AdversarialMove,
  type AgentView,
  type BlockContent,
  type ComposeStep,
  type ForkRecord,
  type RunOptions,
  type ScenarioResult,
  type Schedule,
  type Step,
} from './scenario.js'
