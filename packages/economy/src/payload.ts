/**
 * Payloads of the economy's block types, and their readers. Payloads are canonical CBOR maps with
 * exactly these keys (an extra key is malformed, so one payload has one encoding):
 *
 *   reward              { epoch: uint, amount: uint ≥ 1, balance: int, root: bstr(32) }      unilateral
 *   transfer proposal   { amount: uint ≥ 1, balance: int, expires?: uint }                     sender's chain
 *   transfer agreement  { amount: uint ≥ 1, balance: int, senderBalance: int, ticket? }       receiver's chain
 *   burn                { amount: uint ≥ 1, balance: int }                                     unilateral
 *   refund              { seq: uint ≥ 1, amount: uint ≥ 1, balance: int, ticket }              unilateral
 *
 * An *expiring* transfer names, in `expires` (ms since 1970), when the community witnesses may
 * void it; its agreement must carry the witnesses' accept ticket, and a `refund` carries their
 * void ticket (`ticket` = [[witness index, signature]...], see ticket.ts). A transfer without
 * `expires` has no ticket and never comes back.
 *   lock, redeem, release                                   see lock/lock-payload.ts
 *
 * **Payload versions.** Version 1 (the layouts above) names no community. Version 2 is the same
 * map with one more key, `community: bstr(32)` (the community's genesis id, see community.ts), in
 * every block that carries a balance. Balances are per community: a block's `balance` is its
 * owner's balance *in the community it names* after the block, and follows from the previous
 * balance block naming the same community (version-1 blocks form one more bucket of their own,
 * "unnamed", so a version-1 chain reads and validates exactly as before). One chain can so hold
 * the tokens of several communities, each spent only from its own balance. Both halves of a
 * transaction, a redeem and its lock, and a release and its lock name the same community (or none).
 *
 * `balance` is always the balance of the block's owner after the block (so an agreement carries
 * the receiver's, and repeats the sender's as senderBalance). Balances and amounts are safe
 * integers (JS numbers, below 2^53): exact, compact in CBOR, and no bigint on the hot path; a
 * supply beyond 2^53 − 1 units is refused rather than rounded. A balance is read as any integer,
 * so that a negative one can be proven fraud rather than dismissed as malformed.
 * @module
 */
import { DecodeError, equalBytes, toHex, type CborValue, type HalfBlock } from '@tally/core'
import { LOCK, REDEEM, RELEASE, readLock, readRedeem, readRelease } from './lock/lock-payload.js'
import { COMMUNITY_KEY, named, namedIn, withCommunity } from './payload-version.js'
import { decodeSignatures, type QuorumSignatures } from './quorum.js'
import { asMap, hasExactKeys, isBytes, isInt, isUint } from './util.js'

/** The block type names of the economy. */
export const REWARD = 'reward'
export const TRANSFER = 'transfer'
export const BURN = 'burn'
export const REFUND = 'refund'

export { COMMUNITY_KEY } from './payload-version.js'

/** Block types that carry their owner's balance. */
export const BALANCE_TYPES: ReadonlySet<string> = new Set([REWARD, TRANSFER, BURN, REFUND, LOCK, REDEEM, RELEASE])

/** A reward claim. */
export interface RewardPayload {
  readonly epoch: number
  readonly amount: number
  readonly balance: number
  readonly root: Uint8Array
  /** Version 2: the community whose certificate backs the claim. */
  readonly community?: Uint8Array
}

/** A transfer half: the proposal (no senderBalance) or the agreement (with it). */
export interface TransferPayload {
  readonly amount: number
  readonly balance: number
  readonly senderBalance?: number
  /** A proposal's expiry (ms since 1970): set on expiring transfers only. */
  readonly expires?: number
  /** An agreement's accept ticket: set on agreements to expiring transfers only. */
  readonly ticket?: QuorumSignatures
  /** Version 2: the community whose token moves. */
  readonly community?: Uint8Array
}

/** A refund: an expiring transfer of this chain (at `seq`) came back, voided by the witnesses. */
export interface RefundPayload {
  /** The seq of the voided proposal in the same chain. */
  readonly seq: number
  readonly amount: number
  readonly balance: number
  /** The witnesses' void ticket. */
  readonly ticket: QuorumSignatures
  /** Version 2: the community (the proposal's). */
  readonly community?: Uint8Array
}

/** A burn. */
export interface BurnPayload {
  readonly amount: number
  readonly balance: number
  /** Version 2: the community whose tokens are destroyed. */
  readonly community?: Uint8Array
}

/** How a block moves its owner's balance: the balance after it and the change it claims. */
export interface BalanceEntry {
  readonly balance: number
  readonly delta: number
  /** The community the block names (version 2); undefined for a version-1 block. */
  readonly community?: Uint8Array
}

/**
 * Read a reward payload.
 * @param payload a block's payload
 * @returns the fields, or undefined when malformed
 * @example const r = readReward(block.payload)
 */
export function readReward(payload: CborValue): RewardPayload | undefined {
  const m = asMap(payload)
  const community = m === undefined ? false : namedIn(m)
  if (m === undefined || community === false || !hasExactKeys(m, withCommunity(['epoch', 'amount', 'balance', 'root'], community))) return undefined
  const { epoch, amount, balance, root } = m
  if (!isUint(epoch) || !isUint(amount) || amount < 1 || !isInt(balance) || !isBytes(root, 32)) return undefined
  return named({ epoch, amount, balance, root }, community)
}

/**
 * Read a transfer payload.
 * @param payload a block's payload
 * @param agreement whether the block is the agreement (it must then carry senderBalance)
 * @returns the fields, or undefined when malformed
 * @example const t = readTransfer(block.payload, block.linkSeq > 0)
 */
export function readTransfer(payload: CborValue, agreement: boolean): TransferPayload | undefined {
  const m = asMap(payload)
  if (m === undefined) return undefined
  const community = namedIn(m)
  if (community === false) return undefined
  const { amount, balance, senderBalance, expires, ticket } = m
  if (!isUint(amount) || amount < 1 || !isInt(balance)) return undefined
  if (agreement) {
    if (!isInt(senderBalance)) return undefined
    if (hasExactKeys(m, withCommunity(['amount', 'balance', 'senderBalance'], community))) return named({ amount, balance, senderBalance }, community)
    if (!hasExactKeys(m, withCommunity(['amount', 'balance', 'senderBalance', 'ticket'], community))) return undefined
    const signatures = readTicket(ticket)
    return signatures === undefined ? undefined : named({ amount, balance, senderBalance, ticket: signatures }, community)
  }
  if (hasExactKeys(m, withCommunity(['amount', 'balance'], community))) return named({ amount, balance }, community)
  return hasExactKeys(m, withCommunity(['amount', 'balance', 'expires'], community)) && isUint(expires) ? named({ amount, balance, expires }, community) : undefined
}

/**
 * Read a refund payload.
 * @param payload a block's payload
 * @returns the fields, or undefined when malformed
 * @example const r = readRefund(block.payload)
 */
export function readRefund(payload: CborValue): RefundPayload | undefined {
  const m = asMap(payload)
  const community = m === undefined ? false : namedIn(m)
  if (m === undefined || community === false || !hasExactKeys(m, withCommunity(['seq', 'amount', 'balance', 'ticket'], community))) return undefined
  const { seq, amount, balance, ticket } = m
  if (!isUint(seq) || seq < 1 || !isUint(amount) || amount < 1 || !isInt(balance)) return undefined
  const signatures = readTicket(ticket)
  return signatures === undefined ? undefined : named({ seq, amount, balance, ticket: signatures }, community)
}

/**
 * Read a burn payload.
 * @param payload a block's payload
 * @returns the fields, or undefined when malformed
 * @example const b = readBurn(block.payload)
 */
export function readBurn(payload: CborValue): BurnPayload | undefined {
  const m = asMap(payload)
  const community = m === undefined ? false : namedIn(m)
  if (m === undefined || community === false || !hasExactKeys(m, withCommunity(['amount', 'balance'], community))) return undefined
  const { amount, balance } = m
  if (!isUint(amount) || amount < 1 || !isInt(balance)) return undefined
  return named({ amount, balance }, community)
}

/**
 * How a block moves its owner's balance: rewards, received transfers and refunds add, sent
 * transfers and burns subtract; a lock subtracts what it locks, a redeem and a release add what
 * they take. Undefined for other types and for malformed payloads.
 * @param block a block
 * @returns its balance after and its delta
 * @example const e = balanceEntry(block); e && e.balance === before + e.delta
 */
export function balanceEntry(block: HalfBlock): BalanceEntry | undefined {
  const e = entryOf(block)
  if (e === undefined) return undefined
  return e.community === undefined ? { balance: e.balance, delta: e.delta } : e as BalanceEntry
}

/**
 * The bucket a community id counts in: its hex, or '' for version-1 blocks (no community named).
 * @param community a community id, or undefined
 * @returns the bucket key
 * @example bucketOf(balanceEntry(block)?.community)
 */
export function bucketOf(community: Uint8Array | undefined): string {
  return community === undefined ? '' : toHex(community)
}

/**
 * The `community` field of a version-2 payload, to spread into it; nothing for version 1.
 * @param community the community to name, or undefined for a version-1 payload
 * @returns `{ community }` or `{}`
 * @example agent.append('burn', { amount, balance, ...communityField(id) })
 */
export function communityField(community: Uint8Array | undefined): { community?: Uint8Array } {
  return community === undefined ? {} : { community }
}

/** True iff two blocks' community fields agree (both absent, or the same id). */
export function sameCommunity(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a === undefined ? b === undefined : b !== undefined && equalBytes(a, b)
}

// ## Private helpers

function entryOf(block: HalfBlock): { balance: number; delta: number; community?: Uint8Array | undefined } | undefined {
  switch (block.type) {
    case REWARD: {
      const r = readReward(block.payload)
      return r && { balance: r.balance, delta: r.amount, community: r.community }
    }
    case TRANSFER: {
      const agreement = block.linkSeq > 0
      const t = readTransfer(block.payload, agreement)
      return t && { balance: t.balance, delta: agreement ? t.amount : -t.amount, community: t.community }
    }
    case BURN: {
      const b = readBurn(block.payload)
      return b && { balance: b.balance, delta: -b.amount, community: b.community }
    }
    case REFUND: {
      const r = readRefund(block.payload)
      return r && { balance: r.balance, delta: r.amount, community: r.community }
    }
    case LOCK: {
      const l = readLock(block)
      return l && { balance: l.balance, delta: -l.amount, community: l.community }
    }
    case REDEEM: {
      const r = readRedeem(block.payload)
      return r && { balance: r.balance, delta: r.amount, community: r.community }
    }
    case RELEASE: {
      const r = readRelease(block.payload)
      return r && { balance: r.balance, delta: r.amount, community: r.community }
    }
    default:
      return undefined
  }
}

/** A ticket's signatures (form only: ticket.ts checks them), or undefined when malformed. */
function readTicket(value: CborValue | undefined): QuorumSignatures | undefined {
  try {
    return decodeSignatures(value)
  } catch (err) {
    if (err instanceof DecodeError) return undefined
    throw err
  }
}
