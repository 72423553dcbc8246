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
 * `balance` is always the balance of the block's owner after the block (so an agreement carries
 * the receiver's, and repeats the sender's as senderBalance). Balances and amounts are safe
 * integers (JS numbers, below 2^53): exact, compact in CBOR, and no bigint on the hot path; a
 * supply beyond 2^53 − 1 units is refused rather than rounded. A balance is read as any integer,
 * so that a negative one can be proven fraud rather than dismissed as malformed.
 * @module
 */
import { DecodeError, type CborValue, type HalfBlock } from '@tally/core'
import { LOCK, REDEEM, RELEASE, readLock, readRedeem, readRelease } from './lock/lock-payload.js'
import { decodeSignatures, type QuorumSignatures } from './quorum.js'
import { asMap, hasExactKeys, isBytes, isInt, isUint } from './util.js'

/** The block type names of the economy. */
export const REWARD = 'reward'
export const TRANSFER = 'transfer'
export const BURN = 'burn'
export const REFUND = 'refund'

/** Block types that carry their owner's balance. */
export const BALANCE_TYPES: ReadonlySet<string> = new Set([REWARD, TRANSFER, BURN, REFUND, LOCK, REDEEM, RELEASE])

/** A reward claim. */
export interface RewardPayload {
  readonly epoch: number
  readonly amount: number
  readonly balance: number
  readonly root: Uint8Array
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
}

/** A refund: an expiring transfer of this chain (at `seq`) came back, voided by the witnesses. */
export interface RefundPayload {
  /** The seq of the voided proposal in the same chain. */
  readonly seq: number
  readonly amount: number
  readonly balance: number
  /** The witnesses' void ticket. */
  readonly ticket: QuorumSignatures
}

/** A burn. */
export interface BurnPayload {
  readonly amount: number
  readonly balance: number
}

/** How a block moves its owner's balance: the balance after it and the change it claims. */
export interface BalanceEntry {
  readonly balance: number
  readonly delta: number
}

/**
 * Read a reward payload.
 * @param payload a block's payload
 * @returns the fields, or undefined when malformed
 * @example const r = readReward(block.payload)
 */
export function readReward(payload: CborValue): RewardPayload | undefined {
  const m = asMap(payload)
  if (m === undefined || !hasExactKeys(m, ['epoch', 'amount', 'balance', 'root'])) return undefined
  const { epoch, amount, balance, root } = m
  if (!isUint(epoch) || !isUint(amount) || amount < 1 || !isInt(balance) || !isBytes(root, 32)) return undefined
  return { epoch, amount, balance, root }
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
  const { amount, balance, senderBalance, expires, ticket } = m
  if (!isUint(amount) || amount < 1 || !isInt(balance)) return undefined
  if (agreement) {
    if (!isInt(senderBalance)) return undefined
    if (hasExactKeys(m, ['amount', 'balance', 'senderBalance'])) return { amount, balance, senderBalance }
    if (!hasExactKeys(m, ['amount', 'balance', 'senderBalance', 'ticket'])) return undefined
    const signatures = readTicket(ticket)
    return signatures === undefined ? undefined : { amount, balance, senderBalance, ticket: signatures }
  }
  if (hasExactKeys(m, ['amount', 'balance'])) return { amount, balance }
  return hasExactKeys(m, ['amount', 'balance', 'expires']) && isUint(expires) ? { amount, balance, expires } : undefined
}

/**
 * Read a refund payload.
 * @param payload a block's payload
 * @returns the fields, or undefined when malformed
 * @example const r = readRefund(block.payload)
 */
export function readRefund(payload: CborValue): RefundPayload | undefined {
  const m = asMap(payload)
  if (m === undefined || !hasExactKeys(m, ['seq', 'amount', 'balance', 'ticket'])) return undefined
  const { seq, amount, balance, ticket } = m
  if (!isUint(seq) || seq < 1 || !isUint(amount) || amount < 1 || !isInt(balance)) return undefined
  const signatures = readTicket(ticket)
  return signatures === undefined ? undefined : { seq, amount, balance, ticket: signatures }
}

/**
 * Read a burn payload.
 * @param payload a block's payload
 * @returns the fields, or undefined when malformed
 * @example const b = readBurn(block.payload)
 */
export function readBurn(payload: CborValue): BurnPayload | undefined {
  const m = asMap(payload)
  if (m === undefined || !hasExactKeys(m, ['amount', 'balance'])) return undefined
  const { amount, balance } = m
  if (!isUint(amount) || amount < 1 || !isInt(balance)) return undefined
  return { amount, balance }
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
  switch (block.type) {
    case REWARD: {
      const r = readReward(block.payload)
      return r && { balance: r.balance, delta: r.amount }
    }
    case TRANSFER: {
      const agreement = block.linkSeq > 0
      const t = readTransfer(block.payload, agreement)
      return t && { balance: t.balance, delta: agreement ? t.amount : -t.amount }
    }
    case BURN: {
      const b = readBurn(block.payload)
      return b && { balance: b.balance, delta: -b.amount }
    }
    case REFUND: {
      const r = readRefund(block.payload)
      return r && { balance: r.balance, delta: r.amount }
    }
    case LOCK: {
      const l = readLock(block)
      return l && { balance: l.balance, delta: -l.amount }
    }
    case REDEEM: {
      const r = readRedeem(block.payload)
      return r && { balance: r.balance, delta: r.amount }
    }
    case RELEASE: {
      const r = readRelease(block.payload)
      return r && { balance: r.balance, delta: r.amount }
    }
    default:
      return undefined
  }
}

// ## Private helpers

/** A ticket's signatures (form only: ticket.ts checks them), or undefined when malformed. */
function readTicket(value: CborValue | undefined): QuorumSignatures | undefined {
  try {
    return decodeSignatures(value)
  } catch (err) {
    if (err instanceof DecodeError) return undefined
    throw err
  }
}
