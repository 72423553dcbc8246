/**
 * The economy's block types, ready to register with core.
 * @module
 */
import { createBlockTypes, type BlockType, type BlockTypes } from '@tally/core'
import type { Community } from './community.js'
import type { EvidenceSource } from './evidence.js'
import { refundType } from './refund.js'
import { lockTypes, type LockTypesOptions } from './lock/lock-type.js'
import { rewardType, type RewardTypeOptions } from './reward.js'
import type { TicketSource } from './ticket.js'
import { burnType, transferType, type TransferTypeOptions } from './transfer.js'

/** Options of economyTypes. */
export interface EconomyTypesOptions {
  /** The community (its configuration chain decides which certificates count). */
  community: Community
  /** Where reward claims' certificates and proofs are found. */
  evidence: EvidenceSource
  /** The receiver's policy for transfers (default: accept every valid transfer). */
  accept?: TransferTypeOptions['accept']
  /** Where this agent's accept tickets are found, to countersign expiring transfers (default: none held). */
  tickets?: TicketSource
  /** Redeem authorities, the voucher source and the lock policies (see lockTypes; default: vouchers, accept every lock, no counter-lock). */
  lock?: Omit<LockTypesOptions, 'community'>
  /**
   * More communities whose reward claims this node checks (payload version 2 names them): for
   * chains that hold several communities' tokens. See rewardType.
   */
  also?: RewardTypeOptions['also']
}

/**
 * The `reward`, `transfer`, `burn`, `refund`, `lock`, `redeem` and `release` block types, with
 * their fraud kinds ('balance', 'reward-claim', 'refund-twice', 'redeem-excess', 'release-excess',
 * 'release-twice').
 * @param options community, evidence source, transfer policy, tickets, lock options
 * @returns the seven types
 * @example const types = createBlockTypes([...economyTypes({ community, evidence }), myNoteType])
 */
export function economyTypes(options: EconomyTypesOptions): BlockType[] {
  return [
    rewardType({ community: options.community, evidence: options.evidence, ...(options.also === undefined ? {} : { also: options.also }) }),
    transferType({
      community: options.community,
      ...(options.accept === undefined ? {} : { accept: options.accept }),
      ...(options.tickets === undefined ? {} : { tickets: options.tickets }),
    }),
    burnType(),
    refundType({ community: options.community }),
    ...lockTypes({ ...options.lock, community: options.community }),
  ]
}

/**
 * A block-type registry holding the economy's types.
 * @param options community, evidence source, transfer policy
 * @returns the registry, for createAgent and validate
 * @example const agent = createAgent({ identity, store, types: createEconomyTypes({ community, evidence }) })
 */
export function createEconomyTypes(options: EconomyTypesOptions): BlockTypes {
  return createBlockTypes(economyTypes(options))
}
