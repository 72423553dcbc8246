/**
 * Scenarios: a schedule of transactions, gossip and adversarial moves between n agents, run
 * against memory stores, and what every honest agent knows afterwards. A user's property then
 * reads like
 *
 *   fc.assert(fc.property(scheduleArb({ agents: 20, cheaters: 3 }), async (s) => everyForkCaught(await runSchedule(s))))
 *
 * The network model is deliberately plain, so that a failing property points at the protocol and
 * not at a network: `gossip` steps copy what one agent holds (blocks and fraud proofs) to another,
 * each block through `Agent.receive` and each proof through `verifyFraudProof`; at the end every
 * pair of honest agents gossips until nothing changes ("the gossip settles"). Cheaters run the
 * same agent for ordinary steps and deviate through `attack` steps: they sign what those say.
 * @module
 */
import { createAgent, type Agent } from '../agent.js'
import { allFraudVerifiers, createBlockTypes, type BlockType, type BlockTypes } from '../block-types.js'
import { equalBytes, toHex, type PublicKeyHex } from '../bytes.js'
import type { CborValue } from '../cbor.js'
import type { CryptoProvider } from '../crypto-provider.js'
import { FraudError, InvalidBlockError, RefusedError } from '../errors.js'
import { fraudProofId, verifyFraudProof, type FraudProof } from '../fraud-proof.js'
import { GENESIS_HASH, blockHash, decodeBlock, encodeBlock, signBlock, UNILATERAL_KEY, verifyBlock, type HalfBlock } from '../half-block.js'
import { identityFromSeed, type SeedIdentity } from '../identity.js'
import { createMemoryStore } from '../memory-store.js'
import type { BlockStore } from '../store.js'

// ## Schedules

/** One step of a schedule. Agent numbers are indexes, taken modulo the number of agents. */
export type Step =
  /** `from` proposes to `to`; `to` agrees (unless it refuses); `from` completes. */
  | { readonly kind: 'transact'; readonly from: number; readonly to: number; readonly payload: CborValue }
  /** A unilateral block in `agent`'s chain. */
  | { readonly kind: 'append'; readonly agent: number; readonly payload: CborValue }
  /** `to` learns every block and proof `from` holds (a cheater that withholds sends only its own view of others). */
  | { readonly kind: 'gossip'; readonly from: number; readonly to: number }
  /** A cheater's move, aimed at the first honest agent at or after `target`; ignored when `agent` is honest. */
  | { readonly kind: 'attack'; readonly agent: number; readonly move: AdversarialMove; readonly target: number }

/** What a cheater can do. */
export type AdversarialMove =
  /** Sign a second block at seq `latest - back` (a double spend from a restored backup: the same content at another time) and show it to the target. */
  | { readonly kind: 'fork'; readonly back: number }
  /** Sign block latest + 1, latest's content, that does not chain to latest, and show it to the target. */
  | { readonly kind: 'fork-next' }
  /** Agree a second time to the last proposal it answered, in a new block, and show it to the target. */
  | { readonly kind: 'double-countersign' }
  /** From now on, never hand out its own blocks in gossip. */
  | { readonly kind: 'withhold' }
  /** Send the target an old block of its own again (harmless: must change nothing). */
  | { readonly kind: 'replay'; readonly back: number }
  /** Send the target a block in the name of another agent with a signature that is not theirs. */
  | { readonly kind: 'forge'; readonly victim: number }
  /** Send the target one of its own blocks with one byte changed. */
  | { readonly kind: 'tamper'; readonly byte: number }

/** A whole scenario: who is who, and what happens in order. */
export interface Schedule {
  /** Number of agents (at least 2). */
  readonly agents: number
  /** Indexes of the cheaters; everyone else is honest. */
  readonly cheaters: readonly number[]
  readonly steps: readonly Step[]
  /** Identities are derived from this, so a schedule is replayed exactly (default 1). */
  readonly seed?: number
}

/** Options of runSchedule. */
export interface RunOptions {
  /** Block types the agents run (default: one type 'note' accepting any payload). */
  types?: BlockTypes
  /** Type of the blocks the schedule makes (default 'note'). */
  type?: string
  /** A store per agent (default createMemoryStore). */
  store?: (index: number) => BlockStore | Promise<BlockStore>
  /** Gossip between every pair of honest agents at the end until nothing changes (default true). */
  settle?: boolean
  /** Provider for identities and stores (default nobleCrypto; a native one makes big runs fast). */
  crypto?: CryptoProvider
  /**
   * The block an agent signs for a `transact` or `append` step, made from its own state: a type
   * and payload, or undefined to skip the step (default: `type` and the step's payload). Block
   * types whose payloads follow from the chain (balances, claims) need it; `honest` is false for
   * a cheater, which may lie here too.
   */
  compose?: (step: ComposeStep) => BlockContent | undefined | Promise<BlockContent | undefined>
  /**
   * The proposer hands the counterparty its chain before each proposal, as a proposal message's
   * context does (default false; a withholding cheater hands nothing). A counterparty that must
   * replay the proposer's chain before it signs (transfers) needs it.
   */
  context?: boolean
}

/** What compose is asked to make. */
export interface ComposeStep {
  readonly kind: 'transact' | 'append'
  /** The agent that signs the block (the proposer of a transaction). */
  readonly agent: Agent
  readonly honest: boolean
  /** The counterparty of a transaction. */
  readonly counterparty?: Agent
  /** The schedule's payload for the step (a source of randomness for compose). */
  readonly payload: CborValue
}

/** A block's type and payload. */
export interface BlockContent {
  readonly type: string
  readonly payload: CborValue
}

// ## Results

/** What one agent holds at the end. */
export interface AgentView {
  readonly index: number
  readonly publicKey: Uint8Array
  readonly honest: boolean
  readonly agent: Agent
  readonly store: BlockStore
  /** Keys accused by a proof this agent holds. */
  readonly accused: ReadonlySet<PublicKeyHex>
  /** Every proof it holds. */
  readonly proofs: readonly FraudProof[]
  /** Steps where it refused to countersign, and why. */
  readonly refusals: readonly { readonly step: number; readonly from: number; readonly reason: string }[]
}

/** A fork that a cheater released: two validly signed blocks that cannot both be in one chain. */
export interface ForkRecord {
  readonly step: number
  readonly cheater: number
  readonly kind: 'fork' | 'fork-next' | 'double-countersign'
  /** The conflicting block the cheater made, and the honest agent it was shown to. */
  readonly block: HalfBlock
  readonly shownTo: number
  /** True when the block it conflicts with had reached an honest agent when the fork was released. */
  readonly otherHalfPublic: boolean
}

/** Everything a run produced, for properties to judge. */
export interface ScenarioResult {
  readonly schedule: Schedule
  readonly views: readonly AgentView[]
  readonly forks: readonly ForkRecord[]
  /** Invalid or forged blocks an honest agent stored (must stay empty). */
  readonly acceptedInvalid: readonly { readonly agent: number; readonly step: number; readonly what: string }[]
  /** Verifiers for type-defined fraud kinds, to check proofs with. */
  readonly types: BlockTypes
}

const DEFAULT_TYPES: BlockTypes = createBlockTypes([{ name: 'note' } satisfies BlockType])

/**
 * Run a schedule against fresh stores.
 * @param schedule agents, cheaters, steps
 * @param options block types, stores, settling
 * @returns what every agent knows
 * @throws RangeError on a schedule with fewer than 2 agents
 * @example const result = await runSchedule({ agents: 3, cheaters: [2], steps }); assert.ok(everyForkCaught(result))
 */
export async function runSchedule(schedule: Schedule, options: RunOptions = {}): Promise<ScenarioResult> {
  if (!Number.isSafeInteger(schedule.agents) || schedule.agents < 2) throw new RangeError(`"agents" expected at least 2, got ${schedule.agents}`)
  const types = options.types ?? DEFAULT_TYPES
  const type = options.type ?? 'note'
  const n = schedule.agents
  const cheaters = new Set(schedule.cheaters.map((c) => mod(c, n)))
  const crypto = options.crypto
  const identities = Array.from({ length: n }, (_, i) => identityFromSeed(seedFor(schedule.seed ?? 1, i), crypto))
  const people: Person[] = []
  for (let i = 0; i < n; i++) {
    const store = await (options.store?.(i) ?? createMemoryStore(crypto === undefined ? {} : { crypto }))
    people.push({
      index: i,
      identity: identities[i]!,
      honest: !cheaters.has(i),
      store,
      agent: createAgent({ head: 'local', identity: identities[i]!, store, types, clock: () => CLOCK_MS }),
      proofs: new Map(),
      refusals: [],
      withholding: false,
      answered: [],
    })
  }
  const run: Run = { people, crypto, types, type, forks: [], acceptedInvalid: [], step: 0, compose: options.compose, context: options.context === true }
  for (const [i, step] of schedule.steps.entries()) {
    run.step = i
    await apply(run, step)
  }
  if (options.settle !== false) await settle(run)
  const views: AgentView[] = people.map((p) => ({
    index: p.index,
    publicKey: p.identity.publicKey,
    honest: p.honest,
    agent: p.agent,
    store: p.store,
    proofs: [...p.proofs.values()],
    accused: new Set([...p.proofs.values()].map((proof) => toHex(proof.publicKey))),
    refusals: p.refusals,
  }))
  return { schedule, views, forks: run.forks, acceptedInvalid: run.acceptedInvalid, types }
}

// ## Properties

/**
 * Every fork whose conflicting block reached an honest agent, while the block it conflicts with
 * was public too, is known to every honest agent after the gossip settled.
 * @param result a run with `settle` on
 * @returns true when every such fork is caught everywhere
 */
export function everyForkCaught(result: ScenarioResult): boolean {
  return uncaughtForks(result).length === 0
}

/**
 * The forks some honest agent does not know about (see everyForkCaught), with who misses them.
 * @param result a run
 * @returns one entry per fork and honest agent without a proof against the cheater
 */
export function uncaughtForks(result: ScenarioResult): { fork: ForkRecord; missing: number }[] {
  const out: { fork: ForkRecord; missing: number }[] = []
  for (const fork of result.forks) {
    if (!fork.otherHalfPublic) continue
    const cheater = toHex(result.views[fork.cheater]!.publicKey)
    for (const view of result.views) if (view.honest && !view.accused.has(cheater)) out.push({ fork, missing: view.index })
  }
  return out
}

/**
 * No honest agent is accused by any proof any agent holds, every proof an honest agent holds
 * verifies alone, and no honest agent stored an invalid block.
 * @param result a run
 * @returns true when nobody honest was framed
 */
export function nobodyFramed(result: ScenarioResult): boolean {
  const honest = new Set(result.views.filter((v) => v.honest).map((v) => toHex(v.publicKey)))
  const verifiers = result.types.fraudVerifiers()
  for (const view of result.views) {
    if (!view.honest) continue
    for (const proof of view.proofs) {
      if (honest.has(toHex(proof.publicKey))) return false
      if (!verifyFraudProof(proof, { verifiers }).ok) return false
    }
  }
  return result.acceptedInvalid.length === 0
}

// ## Running steps

/** Every block of a run carries this timestamp: runs replay byte for byte. */
const CLOCK_MS = 1_700_000_000_000

interface Person {
  readonly index: number
  readonly identity: SeedIdentity
  readonly honest: boolean
  readonly store: BlockStore
  readonly agent: Agent
  readonly proofs: Map<string, FraudProof>
  readonly refusals: { step: number; from: number; reason: string }[]
  withholding: boolean
  /** Proposals this agent agreed to (cheaters use them to countersign twice). */
  readonly answered: HalfBlock[]
}

interface Run {
  readonly people: Person[]
  readonly crypto: CryptoProvider | undefined
  readonly types: BlockTypes
  readonly type: string
  readonly forks: ForkRecord[]
  readonly acceptedInvalid: { agent: number; step: number; what: string }[]
  step: number
  readonly compose: RunOptions['compose']
  readonly context: boolean
}

async function apply(run: Run, step: Step): Promise<void> {
  const { people } = run
  const n = people.length
  switch (step.kind) {
    case 'transact': {
      const from = people[mod(step.from, n)]!
      let to = people[mod(step.to, n)]!
      if (to === from) to = people[(from.index + 1) % n]!
      if (from.honest && (await from.agent.refuses(to.identity.publicKey))) return
      const content = await compose(run, 'transact', from, step.payload, to)
      if (content === undefined) return
      let proposal: HalfBlock
      try {
        // an honest agent's own rules refuse a lie before it is signed; a cheater signs it anyway
        proposal = from.honest ? await from.agent.propose(to.identity.publicKey, content.type, content.payload) : await signAsCheater(run, from, to.identity.publicKey, 0, content)
      } catch (err) {
        // a refused counterparty, or a payload the proposer's own rules reject: nothing was signed
        if (err instanceof RefusedError || err instanceof InvalidBlockError) return
        throw err
      }
      if (run.context && !from.withholding) {
        for (const block of await from.store.range(from.identity.publicKey, { to: proposal.seq - 1 })) {
          const held = await to.store.get(block.publicKey, block.seq)
          if (held === undefined || !equalBytes(blockHash(held), blockHash(block))) await deliver(run, to, block, 'context')
        }
      }
      let agreement: HalfBlock
      try {
        agreement = await to.agent.agree(proposal)
      } catch (err) {
        if (err instanceof RefusedError || err instanceof FraudError || err instanceof InvalidBlockError) {
          to.refusals.push({ step: run.step, from: from.index, reason: `${(err as Error).name}: ${(err as Error).message}` })
          if (err instanceof FraudError) await remember(to, await to.store.fraudProofs())
          return
        }
        throw err
      }
      to.answered.push(proposal)
      try {
        await from.agent.complete(agreement)
      } catch (err) {
        if (!(err instanceof FraudError || err instanceof InvalidBlockError)) throw err
        from.refusals.push({ step: run.step, from: to.index, reason: `${(err as Error).name}: ${(err as Error).message}` })
      }
      await remember(from, await from.store.fraudProofs())
      await remember(to, await to.store.fraudProofs())
      return
    }
    case 'append': {
      const person = people[mod(step.agent, n)]!
      const content = await compose(run, 'append', person, step.payload)
      if (content === undefined) return
      if (!person.honest) {
        await signAsCheater(run, person, UNILATERAL_KEY, 0, content)
        return
      }
      try {
        await person.agent.append(content.type, content.payload)
      } catch (err) {
        // the honest agent's own rules refused it: nothing was signed
        if (!(err instanceof InvalidBlockError || err instanceof RefusedError)) throw err
      }
      return
    }
    case 'gossip': {
      const from = people[mod(step.from, n)]!
      const to = people[mod(step.to, n)]!
      if (from !== to) await exchange(run, from, to)
      return
    }
    case 'attack': {
      const cheater = people[mod(step.agent, n)]!
      if (cheater.honest) return
      // moves are aimed at honest agents: the first one at or after the target index
      let target: Person | undefined
      for (let k = 0; k < n && target === undefined; k++) {
        const candidate = people[(mod(step.target, n) + k) % n]!
        if (candidate.honest) target = candidate
      }
      if (target !== undefined) await attack(run, cheater, target, step.move)
      return
    }
  }
}

/**
 * A cheater signs what it likes: the next block of its own chain, by hand, past the checks its
 * agent would make (an honest agent refuses to sign what its own rules reject), and keeps it.
 */
async function signAsCheater(run: Run, person: Person, linkPublicKey: Uint8Array, linkSeq: number, content: BlockContent): Promise<HalfBlock> {
  const latest = await person.store.latest(person.identity.publicKey)
  const block = signBlock(
    {
      publicKey: person.identity.publicKey,
      seq: (latest?.seq ?? 0) + 1,
      linkPublicKey,
      linkSeq,
      previousHash: latest === undefined ? GENESIS_HASH : blockHash(latest, run.crypto),
      type: content.type,
      payload: content.payload,
      timestamp: CLOCK_MS,
    },
    person.identity,
    run.crypto,
  )
  await person.store.batch().put(block).commit()
  return block
}

/** What `person` signs for a step: compose's answer, or the run's type and the step's payload. */
async function compose(run: Run, kind: ComposeStep['kind'], person: Person, payload: CborValue, counterparty?: Person): Promise<BlockContent | undefined> {
  if (run.compose === undefined) return { type: run.type, payload }
  const step: ComposeStep = { kind, agent: person.agent, honest: person.honest, payload, ...(counterparty === undefined ? {} : { counterparty: counterparty.agent }) }
  return run.compose(step)
}

/** `to` learns what `from` holds: blocks through Agent.receive, proofs once verified. */
async function exchange(run: Run, from: Person, to: Person): Promise<void> {
  const verifiers = await allFraudVerifiers(run.types)
  for (const proof of await from.store.fraudProofs()) {
    // a proof `to` holds already needs no second verification
    if (to.proofs.has(toHex(fraudProofId(proof))) || !verifyFraudProof(proof, { verifiers }).ok) continue
    await to.agent.addFraudProof(proof)
  }
  for (const key of await from.store.agents()) {
    if (from.withholding && equalBytes(key, from.identity.publicKey)) continue
    for (const block of await from.store.range(key)) {
      // what `to` holds already needs no second look (the same bytes validate the same way)
      const held = await to.store.get(block.publicKey, block.seq)
      if (held !== undefined && equalBytes(blockHash(held), blockHash(block))) continue
      await deliver(run, to, block, 'gossip')
    }
  }
  await remember(to, await to.store.fraudProofs())
}

/** Hand one block to an agent as a peer would: through its bytes, into Agent.receive. */
async function deliver(run: Run, to: Person, block: HalfBlock | Uint8Array, what: string): Promise<void> {
  let decoded: HalfBlock
  try {
    decoded = block instanceof Uint8Array ? decodeBlock(block) : decodeBlock(encodeBlock(block))
  } catch {
    return // not a block at all: a peer would drop it
  }
  const result = await to.agent.receive(decoded)
  // whatever an honest agent keeps must verify on its own: anything else is an invalid block accepted
  if (to.honest && result.level !== 'invalid' && !verifyBlock(decoded, run.crypto)) {
    run.acceptedInvalid.push({ agent: to.index, step: run.step, what })
  }
}

async function attack(run: Run, cheater: Person, target: Person, move: AdversarialMove): Promise<void> {
  const own = cheater.identity.publicKey
  const latest = await cheater.store.latest(own)
  switch (move.kind) {
    case 'withhold':
      cheater.withholding = true
      return
    case 'fork': {
      if (latest === undefined) return
      const seq = Math.max(1, latest.seq - mod(move.back, latest.seq))
      const original = (await cheater.store.get(own, seq))!
      const previous = seq === 1 ? original.previousHash : blockHash((await cheater.store.get(own, seq - 1))!)
      // the original's content at another time: as well-formed for its type as the original was
      const fork = signBlock({ ...fieldsOf(original), previousHash: previous, timestamp: original.timestamp + 1 + run.step }, cheater.identity)
      await release(run, cheater, target, fork, 'fork', await isPublic(run, original))
      return
    }
    case 'fork-next': {
      if (latest === undefined) return
      const fork = signBlock(
        { ...fieldsOf(latest), seq: latest.seq + 1, previousHash: new Uint8Array(32).fill(0xee), timestamp: latest.timestamp + 1 + run.step },
        cheater.identity,
      )
      await release(run, cheater, target, fork, 'fork-next', await isPublic(run, latest))
      return
    }
    case 'double-countersign': {
      const proposal = cheater.answered.at(-1)
      if (proposal === undefined || latest === undefined) return
      const first = await cheater.store.findAgreement(proposal.publicKey, proposal.seq, own)
      // the payload its agent would give an agreement now (a transfer's balance after it), so the type's rules accept it
      const type = run.types.get(proposal.type)
      const ctx = { store: cheater.store, crypto: cheater.identity.crypto, previous: undefined, linked: undefined }
      let payload: CborValue = proposal.payload
      try {
        if (type?.agreementPayload !== undefined) payload = await type.agreementPayload(proposal, ctx)
      } catch {
        return // its own rules would not let it answer now (its balance unknown)
      }
      const second = signBlock(
        { publicKey: own, seq: latest.seq + 1, linkPublicKey: proposal.publicKey, linkSeq: proposal.seq, previousHash: blockHash(latest), type: proposal.type, payload, timestamp: latest.timestamp },
        cheater.identity,
      )
      // the second agreement extends the cheater's chain: keep it, so that later blocks chain to it
      await cheater.store.batch().put(second).commit()
      await release(run, cheater, target, second, 'double-countersign', first !== undefined && (await isPublic(run, first)))
      return
    }
    case 'replay': {
      if (latest === undefined) return
      const old = await cheater.store.get(own, Math.max(1, latest.seq - mod(move.back, latest.seq)))
      if (old !== undefined) await deliver(run, target, old, 'replay')
      return
    }
    case 'forge': {
      const victim = run.people[mod(move.victim, run.people.length)]!
      if (victim === cheater) return
      const head = await victim.store.latest(victim.identity.publicKey)
      const forged = signBlock(
        {
          publicKey: own,
          seq: (head?.seq ?? 0) + 1,
          linkPublicKey: UNILATERAL_KEY,
          linkSeq: 0,
          previousHash: head === undefined ? new Uint8Array(32) : blockHash(head),
          type: run.type,
          payload: ['forged', run.step],
          timestamp: 1,
        },
        cheater.identity,
      )
      // the cheater's signature over a block in the victim's name: the bytes say "victim"
      const bytes = encodeBlock(forged).slice()
      bytes.set(victim.identity.publicKey, 3)
      await deliver(run, target, bytes, 'forge')
      return
    }
    case 'tamper': {
      if (latest === undefined) return
      const bytes = encodeBlock(latest).slice()
      bytes[mod(move.byte, bytes.length)]! ^= 0x01
      await deliver(run, target, bytes, 'tamper')
      return
    }
  }
}

/** Show a conflicting block to the target and record the fork. */
async function release(run: Run, cheater: Person, target: Person, block: HalfBlock, kind: ForkRecord['kind'], otherHalfPublic: boolean): Promise<void> {
  run.forks.push({ step: run.step, cheater: cheater.index, kind, block, shownTo: target.index, otherHalfPublic })
  await deliver(run, target, block, kind)
  await remember(target, await target.store.fraudProofs())
}

/** Whether an honest agent holds this exact block. */
async function isPublic(run: Run, block: HalfBlock): Promise<boolean> {
  const hash = blockHash(block)
  for (const p of run.people) {
    if (!p.honest) continue
    const held = await p.store.get(block.publicKey, block.seq)
    if (held !== undefined && equalBytes(blockHash(held), hash)) return true
  }
  return false
}

/** Gossip between every ordered pair of honest agents until no proof and no block moves. */
async function settle(run: Run): Promise<void> {
  const honest = run.people.filter((p) => p.honest)
  for (let round = 0; round < honest.length + 2; round++) {
    const before = await census(honest)
    for (const from of honest) for (const to of honest) if (from !== to) await exchange(run, from, to)
    if ((await census(honest)) === before) return
  }
}

async function census(people: readonly Person[]): Promise<string> {
  const parts: string[] = []
  for (const p of people) {
    let blocks = 0
    for (const key of await p.store.agents()) blocks += (await p.store.range(key)).length
    parts.push(`${blocks}/${p.proofs.size}`)
  }
  return parts.join(',')
}

async function remember(person: Person, proofs: readonly FraudProof[]): Promise<void> {
  for (const proof of proofs) person.proofs.set(toHex(fraudProofId(proof)), proof)
}

function fieldsOf(block: HalfBlock): Omit<HalfBlock, 'signature'> {
  const { signature: _signature, ...fields } = block
  return fields
}

function seedFor(base: number, index: number): Uint8Array {
  const seed = new Uint8Array(32)
  const view = new DataView(seed.buffer)
  view.setUint32(0, base >>> 0)
  view.setUint32(4, index >>> 0)
  seed[31] = 0x7a // never the all-zero seed
  return seed
}

function mod(a: number, n: number): number {
  return ((Math.trunc(a) % n) + n) % n
}
