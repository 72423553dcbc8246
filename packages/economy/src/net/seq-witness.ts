/**
 * Forks cannot create tokens: the default wiring of seq witnesses for a community.
 *
 * A forker signs two branches of its chain and shows each to a different receiver: a reward
 * claimed once per branch, a balance spent once per branch. Each branch is valid on its own, so
 * no rule of the economy can refuse it; only someone who saw both can. Seq witnesses (DESIGN.md,
 * "Two kinds of witness") are that someone: each keeps the first block it is shown at each
 * (key, seq) and tells it to whoever asks. Here the community's witnesses serve as seq witnesses
 * for the community's block types, every one of them a witness of every slot (k = n); a node shows
 * a block to `quorum` of them first (a spare one only when one stalls), and it passes once the
 * quorum vouched for it and none asked holds another: any two quorums share a witness
 * (2·quorum > n), the same assumption the community's certificates and tickets rest on, and a
 * witness that is down does not stop transfers:
 * - a receiver's node consults them before it countersigns a transfer or lock proposal
 *   (`seqWitnesses(community)` as the gossip node's `witnesses` option);
 * - a receiving network wallet consults them on every block of the sender it takes in (the
 *   history it fetches, and the proposal, through `TransactionPort.witness`): the first receiver
 *   to check a slot fixes it, and a second branch is refused ('cheater') at its first block that
 *   differs — whatever its length, whether it forks at a reward or at a spend — before anything is
 *   countersigned or a ticket asked for. The conflict is a double-sign fraud proof the node keeps.
 * The community witness nodes answer with `seqWitnessTypes()`: they store the first signed block
 * of each slot of the community's types and judge nothing else (they hold no reward evidence, and
 * take any agreement as matching its proposal).
 * @module
 */
import { createBlockTypes, type BlockTypes, type HalfBlock } from '@tally/core'
import type { Community } from '../community.js'
import { REDEEM, RELEASE, LOCK } from '../lock/lock-payload.js'
import { BURN, REFUND, REWARD, TRANSFER } from '../payload.js'

/** The community's block types. */
export const ECONOMY_TYPE_NAMES: readonly string[] = Object.freeze([REWARD, TRANSFER, BURN, REFUND, LOCK, REDEEM, RELEASE])

/** Seq witness settings, shaped as the gossip node's `witnesses` option. */
export interface SeqWitnessOptions {
  /** The witnesses' keys: the community's current witnesses. */
  readonly keys: readonly Uint8Array[]
  /** Witnesses asked per slot: all of them. */
  readonly k: number
  /** How many must vouch for the block: the community's quorum (2k > n: two such sets share a witness). */
  readonly quorum: number
  /** Which proposals the node checks before countersigning: those of the community's types. */
  readonly require: (proposal: HalfBlock) => boolean
  /** Milliseconds to gather the answers (default 5000). */
  readonly timeoutMs: number
  /** Milliseconds one query waits before it is asked again (default 1000). */
  readonly retryMs: number
}

/**
 * The gossip node's `witnesses` option for a member of `community`: its witnesses as seq
 * witnesses, every one asked about every slot of the community's block types.
 * @param community the community
 * @param options timing
 * @returns the options, for `createNode({ ..., witnesses: seqWitnesses(community) })`
 * @example const node = createNode({ identity, store, transport, types, witnesses: seqWitnesses(community) })
 */
export function seqWitnesses(community: Community, options: { timeoutMs?: number; retryMs?: number } = {}): SeqWitnessOptions {
  const keys = [...community.current.witnesses]
  const types = new Set(ECONOMY_TYPE_NAMES)
  return Object.freeze({
    keys,
    k: keys.length,
    quorum: community.current.quorum,
    require: (proposal: HalfBlock) => types.has(proposal.type),
    timeoutMs: options.timeoutMs ?? 5000,
    retryMs: options.retryMs ?? 1000,
  })
}

/**
 * The block types of a node that serves as a seq witness for the community: the community's
 * types without rules, so it keeps the first signed block of each slot and judges nothing else.
 * @returns the registry, for the witness node's `types`
 * @example const node = createNode({ identity: w1, store, transport, types: seqWitnessTypes(), witnesses: seqWitnesses(community), relay: { serve: true } })
 */
export function seqWitnessTypes(): BlockTypes {
  // an agreement's payload differs from its proposal's by the type's rules (a transfer's balance):
  // a seq witness does not judge that, so any agreement matches its proposal here
  return createBlockTypes(ECONOMY_TYPE_NAMES.map((name) => ({ name, matches: () => true })))
}
