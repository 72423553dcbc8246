/**
 * How a lock belongs to a channel, and what a receipt covers of it. A channel is one or more locks
 * of the payer for the payee; the lock that opens it names no channel (its hash becomes the channel
 * id), and each recharge names the channel and its offset — the sum of the deposits before it:
 *
 *   open     terms = ['channel']
 *   recharge terms = ['channel', channel id: bstr(32), offset: uint]
 *
 * A receipt's cumulative amount A fills the locks in order: lock k covers
 * clamp(A − offset_k, 0, amount_k) of it. So a receipt is one signature however many locks the
 * channel has, redeeming lock k takes the rise of that figure, and a release of lock k must leave
 * it (channel-fraud.ts). A payee counts a recharge only when its offset is exactly the deposit it
 * knows, so the locks tile the channel's amounts without gap or overlap.
 * @module
 */
import type { CborValue } from '@tally/core'
import type { LockView } from '../lock/lock-payload.js'
import { isBytes, isUint } from '../util.js'

/** The first element of a channel lock's terms. */
export const CHANNEL = 'channel'

/** Where a lock sits in a channel. */
export interface ChannelPlace {
  /** The channel id: the opening lock's hash. */
  readonly channel: Uint8Array
  /** The deposits before this lock (0 for the opening lock). */
  readonly offset: number
}

/**
 * The terms of a channel's lock.
 * @param recharge for a recharge: the channel and the deposits before it; omitted for the opening lock
 * @returns the terms value to lock with
 * @throws RangeError on a malformed channel id or offset
 * @example await wallet.lock({ to: payee, amount: 500, expiry, terms: channelTerms() })
 */
export function channelTerms(recharge?: ChannelPlace): CborValue {
  if (recharge === undefined) return [CHANNEL]
  if (!isBytes(recharge.channel, 32)) throw new RangeError('"channel" expected Uint8Array of length 32')
  if (!isUint(recharge.offset) || recharge.offset < 1) throw new RangeError('"offset" expected a positive safe integer (the deposits before the recharge)')
  return [CHANNEL, recharge.channel, recharge.offset]
}

/**
 * Where a lock sits in a channel.
 * @param lock a lock as the rules see it
 * @returns channel and offset, or undefined when its terms are not a channel's
 * @example const place = channelPlace(lockView(block)!)
 */
export function channelPlace(lock: LockView): ChannelPlace | undefined {
  const t = lock.terms
  if (!Array.isArray(t) || t[0] !== CHANNEL) return undefined
  if (t.length === 1) return { channel: lock.id, offset: 0 }
  if (t.length !== 3) return undefined
  const [, channel, offset] = t as CborValue[]
  return isBytes(channel, 32) && isUint(offset) && offset >= 1 ? { channel, offset } : undefined
}

/**
 * What a cumulative channel amount covers of one lock: clamp(amount − offset, 0, lockAmount).
 * @param amount the receipt's cumulative amount
 * @param offset the lock's offset in its channel
 * @param lockAmount the lock's amount
 * @returns the part of the lock the amount covers
 * @example covered(150, 100, 100) // 50: lock 2 of a channel whose first lock held 100
 */
export function covered(amount: number, offset: number, lockAmount: number): number {
  return Math.min(Math.max(amount - offset, 0), lockAmount)
}
