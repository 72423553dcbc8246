/**
 * fast-check arbitraries for Tally: identities, payloads, honest chains, transaction schedules
 * between n agents with cheaters and their adversarial moves, and `check`, fc.assert with a replay
 * command. Everything shrinks with fast-check's own shrinkers: a failing schedule shrinks to fewer
 * and simpler steps.
 * @module
 */
import fc from 'fast-check'
import type { CborValue } from '../cbor.js'
import type { CryptoProvider } from '../crypto-provider.js'
import { GENESIS_HASH, UNILATERAL_KEY, blockHash, signBlock, type HalfBlock } from '../half-block.js'
import { identityFromSeed, type SeedIdentity } from '../identity.js'
import type { AdversarialMove, Schedule, Step } from './scenario.js'

/**
 * Identities from random seeds.
 * @param crypto provider of the identities (default nobleCrypto)
 * @returns an arbitrary of identities
 * @example fc.property(identityArb(), (id) => id.publicKey.length === 32)
 */
export function identityArb(crypto?: CryptoProvider): fc.Arbitrary<SeedIdentity> {
  return fc.uint8Array({ minLength: 32, maxLength: 32 }).map((seed) => identityFromSeed(seed, crypto))
}

/**
 * Payloads any block type may carry: the values canonical CBOR allows (safe integers and bigints
 * up to 64 bits, text, bytes, booleans, null, arrays and text-keyed maps), nested a few levels.
 * @param options maximum nesting depth (default 3)
 * @returns an arbitrary of CBOR values
 * @example fc.property(payloadArb(), (p) => cborEqual(decodeCanonical(encodeCanonical(p)), p))
 */
export function payloadArb(options: { depth?: number } = {}): fc.Arbitrary<CborValue> {
  const leaf: fc.Arbitrary<CborValue> = fc.oneof(
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    fc.bigInt({ min: -(2n ** 64n) + 1n, max: 2n ** 64n - 1n }),
    fc.string({ maxLength: 16 }),
    fc.uint8Array({ maxLength: 32 }),
    fc.boolean(),
    fc.constant(null),
  )
  const depth = options.depth ?? 3
  if (depth <= 0) return leaf
  const { value } = fc.letrec<{ value: CborValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth: depth, withCrossShrink: true },
      leaf,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 4 }),
    ),
  }))
  return value
}

/**
 * An honest chain of `length` blocks of one identity: unilateral blocks and proposals to random
 * counterparties, each linked to the one before.
 * @param options length range, block type, provider
 * @returns an arbitrary of { identity, blocks }
 * @example fc.property(honestChainArb({ minLength: 1, maxLength: 20 }), ({ blocks }) => blocks.every((b, i) => b.seq === i + 1))
 */
export function honestChainArb(
  options: { minLength?: number; maxLength?: number; type?: string; crypto?: CryptoProvider } = {},
): fc.Arbitrary<{ identity: SeedIdentity; blocks: HalfBlock[] }> {
  const type = options.type ?? 'note'
  const entry = fc.record({ to: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: undefined }), payload: payloadArb({ depth: 2 }) })
  return fc
    .record({ identity: identityArb(options.crypto), entries: fc.array(entry, { minLength: options.minLength ?? 1, maxLength: options.maxLength ?? 16 }) })
    .map(({ identity, entries }) => {
      const blocks: HalfBlock[] = []
      for (const [i, e] of entries.entries()) {
        const previous = blocks[i - 1]
        blocks.push(
          signBlock(
            {
              publicKey: identity.publicKey,
              seq: i + 1,
              linkPublicKey: e.to ?? UNILATERAL_KEY,
              linkSeq: 0,
              previousHash: previous === undefined ? GENESIS_HASH : blockHash(previous, options.crypto),
              type,
              payload: e.payload,
              timestamp: 1_700_000_000_000 + i,
            },
            identity,
            options.crypto,
          ),
        )
      }
      return { identity, blocks }
    })
}

/**
 * Adversarial moves: fork at a seq, fork one block later, double countersign, withhold, replay
 * an old block, forge a signature, tamper a byte.
 * @returns an arbitrary of moves
 */
export function adversarialMoveArb(): fc.Arbitrary<AdversarialMove> {
  return fc.oneof(
    fc.record({ kind: fc.constant('fork' as const), back: fc.nat(8) }),
    fc.constant({ kind: 'fork-next' as const }),
    fc.constant({ kind: 'double-countersign' as const }),
    fc.constant({ kind: 'withhold' as const }),
    fc.record({ kind: fc.constant('replay' as const), back: fc.nat(8) }),
    fc.record({ kind: fc.constant('forge' as const), victim: fc.nat(64) }),
    fc.record({ kind: fc.constant('tamper' as const), byte: fc.nat(300) }),
  )
}

/** Options of scheduleArb. */
export interface ScheduleArbOptions {
  /** Number of agents (default 5). */
  agents?: number
  /** Number of cheaters among them (default 1; the first `cheaters` indexes after a shuffle-free pick). */
  cheaters?: number
  /** Random steps, at most (default 30); a planted fork (see `forks`) adds two. */
  maxSteps?: number
  /** Payloads of transactions and appends (default payloadArb({ depth: 1 })). */
  payload?: fc.Arbitrary<CborValue>
  /** Moves of cheaters (default adversarialMoveArb()). */
  moves?: fc.Arbitrary<AdversarialMove>
  /**
   * Share of schedules, 0 to 1, that get a planted fork: a cheater's transaction followed at once
   * by a fork of it (`fork` or `fork-next` of its proposal, or `double-countersign` of an honest
   * proposal it answered) somewhere in the schedule (default 0.5; 0 leaves forks to the random
   * moves alone). Ignored without cheaters.
   */
  forks?: number
}

/**
 * Transaction schedules between n agents, of which some cheat: transactions, unilateral appends,
 * gossip between pairs, and adversarial moves. Cheaters are the highest indexes, so a schedule
 * reads the same whatever shrinks.
 * @param options agents, cheaters, steps, payloads, moves, share of planted forks
 * @returns an arbitrary of schedules for runSchedule
 * @throws RangeError on fewer than 2 agents, more cheaters than agents, a negative maxSteps or a share outside 0-1
 * @example fc.assert(fc.asyncProperty(scheduleArb({ agents: 20, cheaters: 3 }), async (s) => everyForkCaught(await runSchedule(s))))
 */
export function scheduleArb(options: ScheduleArbOptions = {}): fc.Arbitrary<Schedule> {
  const agents = options.agents ?? 5
  const cheaters = options.cheaters ?? 1
  if (!Number.isSafeInteger(agents) || agents < 2) throw new RangeError(`"agents" expected at least 2, got ${agents}`)
  if (!Number.isSafeInteger(cheaters) || cheaters < 0 || cheaters > agents) throw new RangeError(`"cheaters" expected 0-${agents}, got ${cheaters}`)
  const maxSteps = options.maxSteps ?? 30
  if (!Number.isSafeInteger(maxSteps) || maxSteps < 0) throw new RangeError(`"maxSteps" expected a non-negative integer, got ${maxSteps}`)
  const forks = options.forks ?? 0.5
  if (typeof forks !== 'number' || !(forks >= 0 && forks <= 1)) throw new RangeError(`"forks" expected a share from 0 to 1, got ${forks}`)
  const who = fc.nat(agents - 1)
  const payload = options.payload ?? payloadArb({ depth: 1 })
  const cheaterIndexes = Array.from({ length: cheaters }, (_, i) => agents - 1 - i)
  const cheater = cheaters > 0 ? fc.constantFrom(...cheaterIndexes) : who
  const step: fc.Arbitrary<Step> = fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('transact' as const), from: who, to: who, payload }), weight: 5 },
    { arbitrary: fc.record({ kind: fc.constant('append' as const), agent: who, payload }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant('gossip' as const), from: who, to: who }), weight: 2 },
    { arbitrary: fc.record({ kind: fc.constant('attack' as const), agent: cheater, move: options.moves ?? adversarialMoveArb(), target: who }), weight: cheaters > 0 ? 2 : 0 },
  )
  // size 'max': with maxLength alone, fast-check's default size would cap the length near 10
  const steps = fc.array(step, { maxLength: maxSteps, size: 'max' })
  const planted = cheaters > 0 && forks > 0 ? plantedForkArb(who, cheater, payload, forks) : fc.constant(undefined)
  return fc
    .record({ steps, planted, seed: fc.nat() })
    .map(({ steps, planted, seed }) => ({ agents, cheaters: cheaterIndexes, steps: plant(steps, planted), seed }))
}

/** A planted fork: where it goes, and the transaction and attack it is made of. */
interface PlantedFork {
  readonly at: number
  readonly steps: readonly [Step, Step]
}

/**
 * A fork planted with probability `rate`: undefined first, so that a failing schedule shrinks
 * to one without it.
 */
function plantedForkArb(who: fc.Arbitrary<number>, cheater: fc.Arbitrary<number>, payload: fc.Arbitrary<CborValue>, rate: number): fc.Arbitrary<PlantedFork | undefined> {
  const yes = Math.round(rate * 1000)
  const fork = fc
    .record({
      at: fc.nat(),
      cheater,
      other: who,
      payload,
      move: fc.oneof(
        fc.record({ kind: fc.constant('fork' as const), back: fc.constant(0) }),
        fc.constant({ kind: 'fork-next' as const }),
        fc.constant({ kind: 'double-countersign' as const }),
      ),
      target: who,
    })
    .map(({ at, cheater, other, payload, move, target }): PlantedFork => {
      // the cheater proposes (its proposal is then forked), or answers an honest proposal (then answers it twice)
      const twice = move.kind === 'double-countersign'
      const transact: Step = { kind: 'transact', from: twice ? other : cheater, to: twice ? cheater : other, payload }
      return { at, steps: [transact, { kind: 'attack', agent: cheater, move, target }] }
    })
  if (yes >= 1000) return fork
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: 1000 - yes }, { arbitrary: fork, weight: yes })
}

function plant(steps: readonly Step[], planted: PlantedFork | undefined): Step[] {
  if (planted === undefined) return [...steps]
  const at = planted.at % (steps.length + 1)
  return [...steps.slice(0, at), ...planted.steps, ...steps.slice(at)]
}

// ## Reproducible runs

// core is isomorphic: read Node's process only where there is one (a browser test has no env)
const runtime = (globalThis as { process?: { env: Record<string, string | undefined>; argv: string[] } }).process

/** Parameters of check: fast-check's, plus where to read a replay from. */
export type CheckParameters<T> = fc.Parameters<T>

/**
 * fc.assert with a replay: `TALLY_SEED` and `TALLY_PATH` in the environment replay one run
 * (what a failure prints), and a failure's message ends with the command line that replays it.
 * @param property the property (sync or async)
 * @param parameters fast-check parameters (numRuns, ...); the environment wins for seed and path
 * @returns resolves when the property held
 * @throws the failure, with its seed, its shrunk counterexample and a replay command
 * @example await check(fc.asyncProperty(scheduleArb(), async (s) => nobodyFramed(await runSchedule(s))), { numRuns: 50 })
 */
export async function check<T>(property: fc.IProperty<T> | fc.IAsyncProperty<T>, parameters: CheckParameters<T> = {}): Promise<void> {
  const env = runtime?.env ?? {}
  const params: fc.Parameters<T> = { ...parameters }
  if (env['TALLY_SEED'] !== undefined) {
    params.seed = Number(env['TALLY_SEED'])
    if (env['TALLY_PATH'] !== undefined) params.path = env['TALLY_PATH']
  }
  const details = await fc.check(property as fc.IAsyncProperty<T>, params)
  if (!details.failed) return
  const replay = `TALLY_SEED=${details.seed}${details.counterexamplePath === null ? '' : ` TALLY_PATH=${details.counterexamplePath}`}`
  const script = runtime?.argv.slice(1).join(' ') ?? '<your test file>'
  const message = `${fc.defaultReportMessage(details) ?? 'property failed'}\n\nReplay this run: ${replay} node --import tsx ${script}`
  throw new Error(message, { cause: details.errorInstance })
}
