/**
 * The test kit's false-accusation schedules (@tally/core/testing) with the economy's block types:
 * agents claim rewards of certified epochs, transfer what they can afford and burn, each block
 * made from the agent's own chain by `compose`; a proposer hands its chain to the receiver, who
 * replays it before countersigning (`context`). Judged by the kit:
 *
 * - an honest schedule yields no fraud proof at all, and every honest view conserves supply;
 * - with cheaters that fork (the kit's moves) and lie about balances and claims (here, in
 *   compose), every fork is caught and nobody honest is framed: every proof an honest agent
 *   holds accuses a cheater and verifies with the economy's verifiers ('balance', 'reward-claim').
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { toHex, type Agent } from '@tally/core'
import { check, everyForkCaught, nobodyFramed, runSchedule, scheduleArb, uncaughtForks, type BlockContent, type ComposeStep, type ScenarioResult, type Schedule, type Step } from '@tally/core/testing'
import { auditSupply, balanceOf, createEconomyTypes, createEvidenceStore, readReward, rewardPayload, type EvidenceStore } from '@tally/economy'
import { certificate, component, runEpoch, world } from './helpers.ts'

// ## The community: every agent of a schedule has a gateway and a reward in each of EPOCHS epochs

const AGENTS = 5
const EPOCHS = 6
// identities in a run come from the schedule's seed: fix it, so that the certified epochs name them
const SEED = 1
const keys = (await runSchedule({ agents: AGENTS, cheaters: [], steps: [], seed: SEED }, { settle: false })).views.map((v) => v.publicKey)
const w = world([], { rewardPerEpoch: 1_000 })
keys.forEach((owner, i) => w.directory.addVerified({ component: component(i + 1).publicKey, owner, type: 'gateway' }))
const evidence: EvidenceStore = createEvidenceStore(w.community)
/** epochs[e] maps an owner (hex) to its amount and the certified root of epoch e. */
const epochs: Map<string, { amount: number; root: Uint8Array }>[] = []
for (let e = 0; e < EPOCHS; e++) {
  const result = runEpoch(w, keys.map((_, i) => [component(i + 1), [5_000 + 20_000 * ((i + e) % 4), 1]]))
  const cert = certificate(result)
  const amounts = new Map<string, { amount: number; root: Uint8Array }>()
  for (const owner of keys) {
    const amount = result.amountOf(owner)
    assert.ok(amount > 0, 'every agent earns in every epoch')
    assert.ok(evidence.put(owner, amount, { certificate: cert, proof: result.proofFor(owner)! }).ok)
    amounts.set(toHex(owner), { amount, root: cert.root })
  }
  epochs.push(amounts)
}

// ## What agents sign

/**
 * An agent's next block from its own chain: a claim of its next unclaimed epoch or a burn
 * (appends), a transfer it can afford (transactions). A cheater lies every other time: a transfer
 * whose balance does not follow, or a second claim of the epoch it claimed last.
 */
async function compose(step: ComposeStep): Promise<BlockContent | undefined> {
  const { agent } = step
  const r = step.payload as number
  const lie = !step.honest && r % 2 === 0
  const balance = await balanceOf(agent.store, agent.publicKey)
  if (balance === undefined) return undefined // a cheater whose own chain no longer adds up
  if (step.kind === 'transact') {
    if (balance === 0) return undefined
    const amount = 1 + (r % balance)
    return { type: 'transfer', payload: { amount, balance: balance - amount + (lie ? 1 + (r % 7) : 0) } }
  }
  const last = await lastClaimed(agent)
  const epoch = lie && last >= 0 ? last : last + 1
  // one honest append in four burns (when there is something to burn), the others claim while epochs are left
  if (epoch < EPOCHS && (lie || r % 4 !== 1 || balance === 0)) {
    const { amount, root } = epochs[epoch]!.get(toHex(agent.publicKey))!
    return { type: 'reward', payload: rewardPayload({ epoch, amount, before: balance, root }) }
  }
  if (balance === 0) return undefined
  const amount = 1 + (r % balance)
  return { type: 'burn', payload: { amount, balance: balance - amount } }
}

async function lastClaimed(agent: Agent): Promise<number> {
  let last = -1
  for (const block of await agent.store.range(agent.publicKey)) {
    const reward = block.type === 'reward' ? readReward(block.payload) : undefined
    if (reward !== undefined) last = Math.max(last, reward.epoch)
  }
  return last
}

/**
 * Run a schedule (at the fixed seed) over fresh economy types, after everyone claimed epoch 0 (so
 * that money moves from the start); a cheater shows agent 0 its chain after each of its appends
 * (a claim made twice is seen, not only kept).
 */
function run(schedule: Schedule): Promise<ScenarioResult> {
  const types = createEconomyTypes({ community: w.community, evidence })
  const claims: Step[] = keys.map((_, agent) => ({ kind: 'append', agent, payload: 1 }))
  const steps = schedule.steps.flatMap((s): Step[] => (s.kind === 'append' && schedule.cheaters.includes(s.agent) ? [s, { kind: 'gossip', from: s.agent, to: 0 }] : [s]))
  return runSchedule({ ...schedule, steps: [...claims, ...steps], seed: SEED }, { types, compose, context: true })
}

/** Completed transfers and claims in the honest agents' own chains. */
async function activity(result: ScenarioResult): Promise<{ transfers: number; rewards: number; burns: number }> {
  const out = { transfers: 0, rewards: 0, burns: 0 }
  for (const view of result.views.filter((v) => v.honest)) {
    for (const block of await view.store.range(view.publicKey)) {
      if (block.type === 'transfer' && block.linkSeq > 0) out.transfers++
      if (block.type === 'reward') out.rewards++
      if (block.type === 'burn') out.burns++
    }
  }
  return out
}

const payload = fc.nat({ max: 1_000_000 })

const Honest = suite('economy schedules: honest agents')

Honest('an honest schedule of rewards, transfers and burns yields no fraud proof, and every view conserves supply', async () => {
  const total = { transfers: 0, rewards: 0, burns: 0 }
  await check(
    fc.asyncProperty(scheduleArb({ agents: AGENTS, cheaters: 0, maxSteps: 30, payload }), async (schedule) => {
      const result = await run(schedule)
      for (const view of result.views) assert.equal(view.proofs.map((p) => p.kind), [], `agent ${view.index} holds a proof`)
      assert.ok(nobodyFramed(result))
      for (const view of result.views) {
        const supply = await auditSupply(view.store)
        assert.ok(supply.ok && supply.truncated === 0, `agent ${view.index}: ${JSON.stringify(supply)}`)
      }
      const a = await activity(result)
      total.transfers += a.transfers
      total.rewards += a.rewards
      total.burns += a.burns
    }),
    { numRuns: 12, seed: 21 },
  )
  // the schedules did what they are about: claims, completed transfers and burns
  assert.ok(total.rewards >= 20 && total.transfers >= 20 && total.burns >= 1, JSON.stringify(total))
})

Honest.run()

const Cheaters = suite('economy schedules: cheaters fork and lie')

Cheaters('forks are caught, balance and claim frauds proven, and nobody honest is framed', async () => {
  const kinds = new Map<string, number>()
  let forks = 0
  await check(
    fc.asyncProperty(scheduleArb({ agents: AGENTS, cheaters: 2, maxSteps: 30, payload }), async (schedule) => {
      const result = await run(schedule)
      forks += result.forks.filter((f) => f.otherHalfPublic).length
      assert.equal(uncaughtForks(result), [])
      assert.ok(everyForkCaught(result))
      assert.ok(nobodyFramed(result))
      for (const view of result.views.filter((v) => v.honest)) for (const proof of view.proofs) kinds.set(proof.kind, (kinds.get(proof.kind) ?? 0) + 1)
    }),
    { numRuns: 20, seed: 22 },
  )
  assert.ok(forks >= 5, `forks released: ${forks}`)
  // every kind of fraud the economy can accuse of was proven somewhere, and core's fork kinds too
  for (const kind of ['balance', 'reward-claim', 'double-sign']) assert.ok((kinds.get(kind) ?? 0) > 0, `no ${kind} proof in ${JSON.stringify([...kinds])}`)
})

Cheaters.run()
