/**
 * Payloads of the lock block types, and their readers. Canonical CBOR maps with exactly these keys
 * (one payload, one encoding):
 *
 *   lock, unilateral   { amount: uint ≥ 1, to: bstr(32), terms, expiry: uint, balance: int }   A's chain
 *   lock, proposal     { amount: uint ≥ 1, terms, expiry: uint, balance: int }                 A's chain, to B
 *   lock, agreement    { amount: uint ≥ 0, terms, expiry: uint, balance: int }                 B's chain: B's counter-lock for A
 *   redeem             { lock: [owner: bstr(32), seq: uint ≥ 1, hash: bstr(32)],
 *                        by: [kind: tstr, value], amount: uint ≥ 1, redeemed: uint, balance: int }   B's chain, unilateral
 *   release            { lock: uint ≥ 1, amount: uint, balance: int, consent?: bstr(64) }      A's chain, unilateral
 *
 * A lock's beneficiary is `to` in a unilateral lock and the counterparty (linkPublicKey) in a
 * transaction: the proposer locks for the agreer, and the agreer's counter-lock (0 when it locks
 * nothing) is for the proposer. `terms` is any CBOR value (`null` for none) whose canonical encoding
 * is at most LOCK_LIMITS.maxTermsBytes: markets put their offer there; the lock rules only compare
 * it. `expiry` is an epoch of the community: the lock may be released once that epoch has begun.
 *
 * A lock's id is its block hash. A redeem names the lock by owner, seq and id (the store looks it
 * up by owner and seq; the id pins the very block), carries its authority `by` (a voucher, a
 * certificate proof: see authority.ts), the amount it takes, and `redeemed`, everything this chain
 * has taken from the lock so far, this block included. A release names the lock by its seq in the
 * owner's own chain and returns `amount` to the owner's balance; `consent` is the beneficiary's
 * signature that allows it before the expiry (see consent.ts).
 *
 * `balance` is always the owner's balance after the block: a lock subtracts its amount, a redeem
 * and a release add theirs.
 *
 * Version 2 (see payload.ts) adds `community: bstr(32)` to each of them: the balance is then the
 * owner's in that community. A lock's agreement, its redeems and its release name the lock's
 * community (or, for a version-1 lock, none).
 * @module
 */
import { UNILATERAL_KEY, blockHash, encodeCanonical, equalBytes, isAgreement, isUnilateral, nobleCrypto, type CborValue, type CryptoProvider, type HalfBlock } from '@tally/core'
import { named, namedIn, withCommunity } from '../payload-version.js'
import { asMap, hasExactKeys, isBytes, isInt, isUint } from '../util.js'

/** The block type names of locks. */
export const LOCK = 'lock'
export const REDEEM = 'redeem'
export const RELEASE = 'release'

/** Limits on what a lock block carries. */
export const LOCK_LIMITS: Readonly<{ maxTermsBytes: number; maxAuthorityBytes: number }> = Object.freeze({
  /** Canonical encoding of a lock's terms, in bytes. */
  maxTermsBytes: 256,
  /** Canonical encoding of a redeem's authority value, in bytes. */
  maxAuthorityBytes: 512,
})

/** A lock payload (`to` only in a unilateral lock). */
export interface LockPayload {
  readonly amount: number
  readonly to?: Uint8Array
  readonly terms: CborValue
  readonly expiry: number
  readonly balance: number
  /** Version 2: the community whose tokens are locked. */
  readonly community?: Uint8Array
}

/** How a redeem names its lock. */
export interface LockRef {
  /** The lock's owner (the payer). */
  readonly owner: Uint8Array
  /** The lock block's seq in the owner's chain. */
  readonly seq: number
  /** The lock id: the lock block's hash. */
  readonly hash: Uint8Array
}

/** A redeem's authority: its kind and the kind's value. */
export interface Authorization {
  /** 'voucher', or a kind a market registers. */
  readonly kind: string
  /** The kind's value (a voucher without its lock id, a certificate proof). */
  readonly value: CborValue
}

/** A redeem payload. */
export interface RedeemPayload {
  readonly lock: LockRef
  readonly by: Authorization
  readonly amount: number
  readonly redeemed: number
  readonly balance: number
  /** Version 2: the community (the lock's). */
  readonly community?: Uint8Array
}

/** A release payload. */
export interface ReleasePayload {
  readonly lock: number
  readonly amount: number
  readonly balance: number
  readonly consent?: Uint8Array
  /** Version 2: the community (the lock's). */
  readonly community?: Uint8Array
}

/** A lock as the rules see it: who locked how much for whom, on what terms, until when. */
export interface LockView {
  /** The lock block. */
  readonly block: HalfBlock
  /** Its owner: who locked the amount (and signs vouchers for it). */
  readonly owner: Uint8Array
  /** Its seq in the owner's chain. */
  readonly seq: number
  /** The lock id: the block's hash. */
  readonly id: Uint8Array
  /** Who may redeem from it. */
  readonly beneficiary: Uint8Array
  readonly amount: number
  readonly terms: CborValue
  /** The epoch from which the owner may release it alone. */
  readonly expiry: number
  /** The community whose tokens it holds (version 2); undefined for a version-1 lock. */
  readonly community?: Uint8Array
}

/**
 * Read a lock payload, in the shape its block calls for (unilateral with `to`, a proposal, or an
 * agreement whose amount may be 0).
 * @param block a `lock` block
 * @returns the fields, or undefined when malformed (terms too large included)
 * @example const l = readLock(block)
 */
export function readLock(block: HalfBlock): LockPayload | undefined {
  const unilateral = isUnilateral(block)
  const m = asMap(block.payload)
  const community = m === undefined ? false : namedIn(m)
  if (m === undefined || community === false || !hasExactKeys(m, withCommunity(unilateral ? ['amount', 'to', 'terms', 'expiry', 'balance'] : ['amount', 'terms', 'expiry', 'balance'], community))) return undefined
  const { amount, to, terms, expiry, balance } = m
  const least = isAgreement(block) ? 0 : 1
  if (!isUint(amount) || amount < least || !isUint(expiry) || !isInt(balance) || terms === undefined || !fits(terms, LOCK_LIMITS.maxTermsBytes)) return undefined
  if (!unilateral) return named({ amount, terms, expiry, balance }, community)
  return isBytes(to, 32) ? named({ amount, to, terms, expiry, balance }, community) : undefined
}

/**
 * Read a redeem payload (its form only: the authority's value is read by its kind).
 * @param payload a block's payload
 * @returns the fields, or undefined when malformed
 * @example const r = readRedeem(block.payload)
 */
export function readRedeem(payload: CborValue): RedeemPayload | undefined {
  const m = asMap(payload)
  const community = m === undefined ? false : namedIn(m)
  if (m === undefined || community === false || !hasExactKeys(m, withCommunity(['lock', 'by', 'amount', 'redeemed', 'balance'], community))) return undefined
  const { lock, by, amount, redeemed, balance } = m
  if (!isUint(amount) || amount < 1 || !isUint(redeemed) || !isInt(balance)) return undefined
  if (!Array.isArray(lock) || lock.length !== 3 || !Array.isArray(by) || by.length !== 2) return undefined
  const [owner, seq, hash] = lock as CborValue[]
  const [kind, value] = by as CborValue[]
  if (!isBytes(owner, 32) || !isUint(seq) || seq < 1 || !isBytes(hash, 32)) return undefined
  if (typeof kind !== 'string' || kind.length < 1 || kind.length > 32 || value === undefined || !fits(value, LOCK_LIMITS.maxAuthorityBytes)) return undefined
  return named({ lock: { owner, seq, hash }, by: { kind, value }, amount, redeemed, balance }, community)
}

/**
 * Read a release payload.
 * @param payload a block's payload
 * @returns the fields, or undefined when malformed
 * @example const r = readRelease(block.payload)
 */
export function readRelease(payload: CborValue): ReleasePayload | undefined {
  const m = asMap(payload)
  if (m === undefined) return undefined
  const community = namedIn(m)
  if (community === false) return undefined
  const early = Object.hasOwn(m, 'consent')
  if (!hasExactKeys(m, withCommunity(early ? ['lock', 'amount', 'balance', 'consent'] : ['lock', 'amount', 'balance'], community))) return undefined
  const { lock, amount, balance, consent } = m
  if (!isUint(lock) || lock < 1 || !isUint(amount) || !isInt(balance)) return undefined
  if (!early) return named({ lock, amount, balance }, community)
  return isBytes(consent, 64) ? named({ lock, amount, balance, consent }, community) : undefined
}

/**
 * A lock block as the rules see it.
 * @param block a block
 * @param crypto provider for its hash (default nobleCrypto)
 * @returns the view, or undefined unless it is a well-formed `lock` block
 * @example const lock = lockView(block); lock && lock.beneficiary
 */
export function lockView(block: HalfBlock, crypto: CryptoProvider = nobleCrypto): LockView | undefined {
  if (block?.type !== LOCK) return undefined
  const p = readLock(block)
  if (p === undefined) return undefined
  const beneficiary = p.to ?? block.linkPublicKey
  const view = { block, owner: block.publicKey, seq: block.seq, id: blockHash(block, crypto), beneficiary, amount: p.amount, terms: p.terms, expiry: p.expiry }
  return Object.freeze(p.community === undefined ? view : { ...view, community: p.community })
}

/**
 * The reference a redeem puts in its `lock` field.
 * @param lock the lock
 * @returns [owner, seq, hash] as a CBOR value
 * @example { lock: lockRefValue(view), by: ['voucher', value], ... }
 */
export function lockRefValue(lock: LockView): CborValue {
  return [lock.owner, lock.seq, lock.id]
}

/** True iff two references name the same lock block. */
export function sameLock(a: LockRef, b: LockRef): boolean {
  return a.seq === b.seq && equalBytes(a.owner, b.owner) && equalBytes(a.hash, b.hash)
}

/** True iff `key` may be a beneficiary: a real key, not the unilateral marker. */
export function isBeneficiaryKey(key: Uint8Array, owner: Uint8Array): boolean {
  return !equalBytes(key, UNILATERAL_KEY) && !equalBytes(key, owner)
}

// ## Private helpers

/** True iff the value has a canonical encoding of at most `max` bytes. */
function fits(value: CborValue, max: number): boolean {
  try {
    return encodeCanonical(value).length <= max
  } catch {
    return false
  }
}
