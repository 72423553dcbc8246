/**
 * The block-type registry: where a type (transfer, reward, ...) adds its own validation rules, its
 * should-sign policy, how its agreement repeats the proposal, and fraud kinds of its own.
 * Core knows no economic types; @tally/economy registers them.
 * @module
 */
import { cborEqual, type CborValue } from './cbor.js'
import type { CryptoProvider } from './crypto-provider.js'
import type { FraudProof, FraudVerifier } from './fraud-proof.js'
import type { HalfBlock } from './half-block.js'
import type { BlockStore } from './store.js'

/** One broken rule: a stable code and a human message. */
export interface RuleViolation {
  /** Stable code, e.g. 'signature', 'genesis-hash', 'fork'. */
  readonly rule: string
  /** What is wrong, for people. Never contains secrets. */
  readonly message: string
}

/** What a type's rules can look at. */
export interface TypeContext {
  /** The store the block is validated against (read only). */
  readonly store: BlockStore
  /** The provider in use. */
  readonly crypto: CryptoProvider
  /** The owner's block at seq - 1, when known. */
  readonly previous: HalfBlock | undefined
  /** The other half of the transaction, when known (the proposal of an agreement, or the agreement of a proposal). */
  readonly linked: HalfBlock | undefined
}

/** The rules of one block type. Every member is optional. */
export interface BlockType {
  /** The `type` field value this applies to. */
  readonly name: string
  /**
   * The type's own checks (balances, certificates). Return broken rules, or a fraud proof when the
   * block proves its author a cheater (a balance that does not follow from the previous block).
   */
  validate?(block: HalfBlock, ctx: TypeContext): TypeVerdict | Promise<TypeVerdict>
  /**
   * Whether `agreement` correctly answers `proposal`. Default: the payloads are equal.
   */
  matches?(proposal: HalfBlock, agreement: HalfBlock): boolean
  /** The payload of the agreement to `proposal`. Default: the proposal's payload. */
  agreementPayload?(proposal: HalfBlock, ctx: TypeContext): CborValue | Promise<CborValue>
  /**
   * Whether this agent countersigns `proposal`. Default when absent: yes for a registered type.
   * Return a `Refusal` to say why not with a stable reason code (it reaches the proposer), and
   * with the fraud proof when what the type looked at proves the proposer a cheater.
   */
  shouldSign?(proposal: HalfBlock, ctx: TypeContext): boolean | Refusal | Promise<boolean | Refusal>
  /** Fraud kinds this type adds, with their stand-alone verifiers. */
  readonly fraudKinds?: Readonly<Record<string, FraudVerifier>>
  /**
   * Fraud kinds this type adds whose verifiers are loaded on first use, each with its loader (a
   * page's dynamic import(): code a wallet that never meets fraud does not load). They are named
   * at once, as `fraudKinds` are; BlockTypes.loadFraudVerifiers loads them.
   */
  readonly fraudKindsOnDemand?: Readonly<Record<string, () => Promise<FraudVerifier>>>
}

/** Why a type declines to countersign: a stable code, words for people, and any proof of fraud. */
export interface Refusal {
  /** Stable reason code, e.g. 'balance-mismatch', 'history-missing'. */
  readonly reason: string
  /** What is wrong, for people. Never contains secrets. */
  readonly message: string
  /** A proof of fraud by the proposer, when the type found one (the agent verifies and keeps it). */
  readonly fraud?: FraudProof
}

/** What a type's validate returns. */
export interface TypeVerdict {
  readonly errors: readonly RuleViolation[]
  readonly fraud?: FraudProof
}

/** A registry of block types. */
export interface BlockTypes {
  /** The rules for `name`, if registered. */
  get(name: string): BlockType | undefined
  /** Register a type. @throws RangeError when the name is taken */
  define(type: BlockType): void
  /**
   * Every fraud verifier the registered types add: those on demand (`fraudKindsOnDemand`) only
   * once loadFraudVerifiers loaded them.
   */
  fraudVerifiers(): ReadonlyMap<string, FraudVerifier>
  /**
   * Every fraud verifier the registered types add, those on demand loaded first (a registry
   * without such kinds answers with fraudVerifiers()). Verify a proof against this map.
   * @throws whatever a loader throws (tried again at the next call)
   */
  loadFraudVerifiers?(): Promise<ReadonlyMap<string, FraudVerifier>>
}

/**
 * The fraud verifiers of `types`, those on demand loaded: what a proof is verified against.
 * @param types a registry
 * @returns every verifier its types add
 * @example verifyFraudProof(proof, { verifiers: await allFraudVerifiers(types) })
 */
export async function allFraudVerifiers(types: BlockTypes): Promise<ReadonlyMap<string, FraudVerifier>> {
  return (await types.loadFraudVerifiers?.()) ?? types.fraudVerifiers()
}

/**
 * A registry holding `types`.
 * @param types block types to register
 * @returns the registry
 * @throws RangeError on duplicate names
 * @example const types = createBlockTypes([transferType])
 */
export function createBlockTypes(types: readonly BlockType[] = []): BlockTypes {
  const byName = new Map<string, BlockType>()
  const verifiers = new Map<string, FraudVerifier>()
  // kinds whose verifiers are not loaded yet, with their loaders
  const pending = new Map<string, () => Promise<FraudVerifier>>()
  let loading: Promise<ReadonlyMap<string, FraudVerifier>> | undefined
  const registry: BlockTypes = {
    get: (name) => byName.get(name),
    define(type) {
      if (typeof type?.name !== 'string') throw new TypeError('"type.name" expected string')
      if (byName.has(type.name)) throw new RangeError(`block type "${type.name}" is already defined`)
      const kinds = [...Object.keys(type.fraudKinds ?? {}), ...Object.keys(type.fraudKindsOnDemand ?? {})]
      for (const kind of kinds) {
        if (verifiers.has(kind) || pending.has(kind)) throw new RangeError(`fraud kind "${kind}" is already defined`)
      }
      if (new Set(kinds).size !== kinds.length) throw new RangeError(`block type "${type.name}" names a fraud kind twice`)
      byName.set(type.name, type)
      for (const [kind, verify] of Object.entries(type.fraudKinds ?? {})) verifiers.set(kind, verify)
      for (const [kind, load] of Object.entries(type.fraudKindsOnDemand ?? {})) pending.set(kind, load)
    },
    fraudVerifiers: () => verifiers,
    loadFraudVerifiers() {
      if (pending.size === 0) return Promise.resolve(verifiers)
      loading ??= (async () => {
        try {
          for (const [kind, load] of pending) {
            verifiers.set(kind, await load())
            pending.delete(kind)
          }
          return verifiers
        } finally {
          loading = undefined
        }
      })()
      return loading
    },
  }
  for (const t of types) registry.define(t)
  return registry
}

/** The default agreement rule: the agreement repeats the proposal's payload exactly. */
export function samePayload(proposal: HalfBlock, agreement: HalfBlock): boolean {
  // structural: equal exactly when the encodings are, without encoding either
  return cborEqual(proposal.payload, agreement.payload)
}
