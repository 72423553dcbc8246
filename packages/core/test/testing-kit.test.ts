/**
 * The test kit in @tally/core/testing, used the way its README shows: random schedules with
 * cheaters, run against memory stores, judged by everyForkCaught and nobodyFramed; plus scripted
 * schedules that pin each adversarial move's effect, a user's own block type, and the replay
 * message of a failing property.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { createBlockTypes, toHex, verifyFraudProof, type BlockType } from '@tally/core'
import {
  adversarialMoveArb,
  check,
  everyForkCaught,
  honestChainArb,
  nobodyFramed,
  runSchedule,
  scheduleArb,
  uncaughtForks,
  type Schedule,
} from '@tally/core/testing'
import { validate, createMemoryStore } from '@tally/core'
import { throwsLike } from './helpers.ts'

const test = suite('testing kit')

test('every fork is caught and nobody is framed, over random schedules with cheaters', async () => {
  let runs = 0
  let forking = 0
  await check(
    fc.asyncProperty(scheduleArb({ agents: 5, cheaters: 2, maxSteps: 24 }), async (schedule) => {
      const result = await runSchedule(schedule)
      runs++
      if (result.forks.some((f) => f.otherHalfPublic)) forking++
      assert.equal(uncaughtForks(result), [])
      assert.ok(everyForkCaught(result))
      assert.ok(nobodyFramed(result))
    }),
    { numRuns: 25, seed: 42 },
  )
  // forks are common, not a rare case: most runs release one whose other half is public
  assert.ok(forking >= runs * 0.4, `${forking} of ${runs} runs released a fork`)
})

/** Whether a schedule holds a fork move (fork, fork-next, double-countersign) by one of its cheaters. */
function hasForkMove(schedule: Schedule): boolean {
  const forkMoves = new Set(['fork', 'fork-next', 'double-countersign'])
  return schedule.steps.some((s) => s.kind === 'attack' && schedule.cheaters.includes(s.agent) && forkMoves.has(s.move.kind))
}

test('scheduleArb honours maxSteps beyond fast-check\'s default size', () => {
  for (const [maxSteps, forks] of [[60, 0], [60, 1], [5, 0.5]] as const) {
    const lengths = fc.sample(scheduleArb({ maxSteps, forks }), { numRuns: 300, seed: 5 }).map((s) => s.steps.length)
    // a planted fork adds its two steps to the random ones
    assert.ok(lengths.every((n) => n <= maxSteps + (forks > 0 ? 2 : 0)), `lengths up to ${Math.max(...lengths)}`)
    assert.ok(lengths.filter((n) => n > maxSteps / 2).length >= 100, `half the schedules longer than ${maxSteps / 2} steps: ${lengths.join(',')}`)
  }
  assert.equal(fc.sample(scheduleArb({ maxSteps: 0, forks: 0 }), { numRuns: 20, seed: 1 }).map((s) => s.steps.length), Array(20).fill(0))
})

test('forks are common by default (measured over 1,000 schedules), and the share can be turned down', () => {
  const share = (options: Parameters<typeof scheduleArb>[0]): number =>
    fc.sample(scheduleArb(options), { numRuns: 1000, seed: 8 }).filter(hasForkMove).length / 1000
  const byDefault = share({})
  // measured: 0.80 (TESTING.md); the bound leaves a margin for other seeds
  assert.ok(byDefault >= 0.6, `default: ${byDefault}`)
  assert.is(share({ forks: 1 }), 1)
  const none = share({ forks: 0 })
  assert.ok(none < byDefault - 0.1, `forks: 0 gives ${none}, default ${byDefault}`)
  assert.ok(share({ forks: 0, maxSteps: 10 }) < none)
  assert.is(share({ cheaters: 0 }), 0)
  for (const bad of [-0.1, 1.5, Number.NaN]) throwsLike(() => scheduleArb({ forks: bad }), RangeError, /"forks"/)
  throwsLike(() => scheduleArb({ maxSteps: -1 }), RangeError, /"maxSteps"/)
})

test('a scripted double spend: caught by all honest agents after gossip, cheater refused', async () => {
  const schedule: Schedule = {
    agents: 4,
    cheaters: [3],
    steps: [
      { kind: 'transact', from: 3, to: 0, payload: 'pay alice' },
      { kind: 'attack', agent: 3, move: { kind: 'fork', back: 0 }, target: 1 },
      { kind: 'gossip', from: 0, to: 2 },
    ],
  }
  const result = await runSchedule(schedule)
  assert.is(result.forks.length, 1)
  const cheater = toHex(result.views[3]!.publicKey)
  for (const view of result.views.filter((v) => v.honest)) {
    assert.ok(view.accused.has(cheater), `agent ${view.index} holds a proof`)
    assert.ok(await view.agent.refuses(result.views[3]!.publicKey))
    for (const proof of view.proofs) assert.ok(verifyFraudProof(proof).ok)
  }
  assert.ok(everyForkCaught(result) && nobodyFramed(result))
})

test('without the settling gossip, a fork shown to one agent is known to that one only', async () => {
  const result = await runSchedule(
    {
      agents: 3,
      cheaters: [2],
      steps: [
        { kind: 'transact', from: 2, to: 0, payload: 1 },
        { kind: 'gossip', from: 0, to: 1 },
        { kind: 'attack', agent: 2, move: { kind: 'fork', back: 0 }, target: 1 },
      ],
    },
    { settle: false },
  )
  assert.ok(result.views[1]!.accused.size === 1)
  assert.ok(result.views[0]!.accused.size === 0)
  assert.is(uncaughtForks(result).length, 1)
  assert.not.ok(everyForkCaught(result))
})

test('forged, tampered and replayed blocks change nothing and frame nobody', async () => {
  const result = await runSchedule({
    agents: 3,
    cheaters: [2],
    steps: [
      { kind: 'transact', from: 0, to: 1, payload: 'a' },
      { kind: 'transact', from: 2, to: 0, payload: 'b' },
      { kind: 'attack', agent: 2, move: { kind: 'forge', victim: 0 }, target: 1 },
      { kind: 'attack', agent: 2, move: { kind: 'tamper', byte: 70 }, target: 1 },
      { kind: 'attack', agent: 2, move: { kind: 'replay', back: 1 }, target: 1 },
    ],
  })
  assert.equal(result.acceptedInvalid, [])
  for (const view of result.views) assert.is(view.accused.size, 0)
  assert.ok(nobodyFramed(result))
})

test('double countersign and a fork one block later are proven too', async () => {
  for (const move of [{ kind: 'double-countersign' as const }, { kind: 'fork-next' as const }]) {
    const result = await runSchedule({
      agents: 3,
      cheaters: [2],
      steps: [
        { kind: 'transact', from: 0, to: 2, payload: 'x' },
        { kind: 'gossip', from: 2, to: 1 },
        { kind: 'attack', agent: 2, move, target: 1 },
      ],
    })
    assert.is(result.forks.length, 1, move.kind)
    assert.ok(result.forks[0]!.otherHalfPublic)
    assert.ok(everyForkCaught(result), move.kind)
    assert.ok(nobodyFramed(result), move.kind)
  }
})

test("a user's own block type plugs in: its rules run on every honest agent", async () => {
  // 'counter' payloads must be non-negative integers; proposals with a negative one are refused
  const counter: BlockType = {
    name: 'counter',
    validate: (block) => ({
      errors: typeof block.payload === 'number' && block.payload >= 0 ? [] : [{ rule: 'counter-payload', message: 'counter must be a non-negative integer' }],
    }),
  }
  const types = createBlockTypes([counter])
  await check(
    fc.asyncProperty(scheduleArb({ agents: 3, cheaters: 1, maxSteps: 12, payload: fc.integer({ min: -3, max: 5 }) }), async (schedule) => {
      const result = await runSchedule(schedule, { types, type: 'counter' })
      assert.ok(nobodyFramed(result))
      for (const view of result.views.filter((v) => v.honest)) {
        // an honest agent never countersigned a negative counter
        for (const block of await view.store.range(view.publicKey)) {
          if (block.linkSeq > 0) assert.ok((block.payload as number) >= 0)
        }
      }
    }),
    { numRuns: 15, seed: 7 },
  )
})

test('compose makes each step\'s block from the agent\'s state (or skips it), and context hands the proposer\'s chain over first', async () => {
  const asked: string[] = []
  const result = await runSchedule(
    {
      agents: 3,
      cheaters: [2],
      steps: [
        { kind: 'append', agent: 0, payload: 'a' },
        { kind: 'append', agent: 0, payload: 'skip' },
        { kind: 'transact', from: 0, to: 1, payload: 'b' },
        { kind: 'transact', from: 2, to: 1, payload: 'c' },
      ],
    },
    {
      settle: false,
      context: true,
      compose: async ({ kind, agent, honest, counterparty, payload }) => {
        asked.push(`${kind}:${honest}:${counterparty === undefined ? '-' : 'to'}`)
        if (payload === 'skip') return undefined
        const latest = await agent.store.latest(agent.publicKey)
        return { type: 'note', payload: ['composed', payload, (latest?.seq ?? 0) + 1] }
      },
    },
  )
  assert.equal(asked, ['append:true:-', 'append:true:-', 'transact:true:to', 'transact:false:to'])
  const [a, , c] = result.views
  assert.equal((await a!.store.range(a!.publicKey)).map((b) => b.payload), [['composed', 'a', 1], ['composed', 'b', 2]])
  // the receiver got the proposer's earlier block with the proposal, not by gossip
  const b = result.views[1]!
  assert.ok((await b.store.get(a!.publicKey, 1)) !== undefined)
  assert.equal((await b.store.range(c!.publicKey)).map((x) => x.payload), [['composed', 'c', 1]])
  assert.ok(nobodyFramed(result))
})

test('honest chains from honestChainArb validate block by block', async () => {
  await check(
    fc.asyncProperty(honestChainArb({ maxLength: 8 }), async ({ blocks }) => {
      const store = createMemoryStore()
      for (const block of blocks) {
        const result = await validate(block, { store })
        assert.ok(result.level === 'valid' || result.level === 'partial-next', result.level)
        await store.batch().put(block).commit()
      }
    }),
    { numRuns: 20, seed: 3 },
  )
})

test('a failing property names its seed and the command that replays it', async () => {
  let message = ''
  try {
    await check(fc.property(adversarialMoveArb(), (move) => move.kind !== 'withhold'), { seed: 11 })
  } catch (err) {
    message = (err as Error).message
  }
  assert.match(message, /Replay this run: TALLY_SEED=11 TALLY_PATH=\S+ node --import tsx /)
  assert.match(message, /withhold/)
})

test.run()
