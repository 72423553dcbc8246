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
  /** Every fraud verifier the registered types add. */
  fraudVerifiers(): ReadonlyMap<string, FraudVerifier>
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
  const registry: BlockTypes = {
    get: (name) => byName.get(name),
    define(type) {
      if (typeof type?.name !== 'string') throw new TypeError('"type.name" expected string')
      if (byName.has(type.name)) throw new RangeError(`block type "${type.name}" is already defined`)
      for (const kind of Object.keys(type.fraudKinds ?? {})) {
        if (verifiers.has(kind)) throw new RangeError(`fraud kind "${kind}" is already defined`)
      }
      byName.set(type.name, type)
      for (const [kind, verify] of Object.entries(type.fraudKinds ?? {})) verifiers.set(kind, verify)
    },
    fraudVerifiers: () => verifiers,
  }
  for (const t of types) registry.define(t)
  return registry
}

/** The default agreement rule: the agreement repeats the proposal's payload exactly. */
export function samePayload(proposal: HalfBlock, agreement: HalfBlock): boolean {
  // structural: equal exactly when the encodings are, without encoding either
  return cborEqual(proposal.payload, agreement.payload)
}
