/**
 * The `lock`, `redeem` and `release` block types: one primitive for every market (DESIGN.md,
 * "Locks"). A lock moves an amount out of its owner's spendable balance for a beneficiary; value
 * leaves it only by the beneficiary's redeems (on a voucher of the owner, or another authority)
 * and by the owner's one release (after the expiry, or before it with the beneficiary's consent).
 * All three carry their owner's balance and follow the balance rule of balance.ts.
 *
 * Rules, in order (rule codes in quotes):
 *
 * lock — 'lock-payload' (form; see lock-payload.ts), 'lock-terms' (terms over
 *   LOCK_LIMITS.maxTermsBytes), 'lock-beneficiary' (a unilateral lock names a real key, not its
 *   owner), and the balance rule: a lock never exceeds the balance ('balance-negative'; 'balance'
 *   with its fraud proof when the arithmetic is wrong). As a transaction, the agreement (the
 *   counterparty's own lock for the proposer, 0 or more) repeats terms and expiry (core's
 *   'link-payload' otherwise); the counterparty countersigns only after replaying the proposer's
 *   chain from genesis, as for a transfer ('history-missing', 'balance' refusals).
 *
 * redeem — 'redeem-payload', 'redeem-unilateral'; 'redeem-authority' (a kind this registry does not
 *   know, a value it cannot read or that does not authorize taking from this lock, or a kind other
 *   than the lock's earlier redeems'); 'redeem-lock' (the lock block is not held here: it travels
 *   with the redeem); 'redeem-beneficiary' (the lock is for someone else); 'redeem-exceeds-lock'
 *   (the running total passes the lock's amount); 'redeem-history' (the chain is not known back to
 *   its previous redeem of the lock, or genesis: a redeem credits value, so it is never accepted
 *   unchecked); against that previous redeem: 'redeem-replay' (the slot goes back, or the level
 *   does not rise: a voucher or certificate redeemed twice, or an older voucher after a newer),
 *   'redeem-amount' (the amount is not the level's rise, or the whole level in a new slot),
 *   'redeem-total' (the running total is not the previous one plus the amount); then the balance
 *   rule. Breaking one of them provably yields a 'redeem-excess' proof.
 *
 * release — 'release-payload', 'release-unilateral'; 'release-lock' (the seq it names is not an
 *   earlier lock of this chain); 'release-history' (the chain between them is not known here);
 *   'release-twice' (the lock was released before: a 'release-twice' proof); 'release-excess'
 *   (it returns more than the lock: a 'release-excess' proof); 'release-early' (dated before the
 *   expiry epoch begins, without consent); 'release-consent' (a consent the beneficiary did not
 *   sign for exactly this amount); 'release-voucher' (a voucher known here — the validator's
 *   VoucherSource — promised the beneficiary more than the release leaves: a 'release-excess'
 *   proof with the voucher attached); 'release-receipt' (a channel receipt known here — the
 *   validator's ReceiptSource — covers more of a channel's lock than the release leaves: a
 *   'channel-release' proof with the receipt attached); then the balance rule.
 *
 * Payload version 2 (payload.ts): a lock names its community; its agreement (the counter-lock),
 * its redeems and its release name the same one ('link-payload' through `matches`;
 * 'redeem-community', 'release-community'), so a lock holds and pays out one community's token.
 *
 * The expiry is an epoch, not milliseconds: markets settle per epoch (an SLA cycle is certified
 * with the epoch's rewards), and an epoch is the community's clock, which witnesses certify, where
 * a millisecond expiry could only ever be compared with timestamps the owner chooses. Today the
 * release's timestamp is compared with the start of the expiry epoch (under the configuration that
 * governs it); a release backed by a certificate of a later epoch can tighten that without
 * changing the format.
 * @module
 */
import {
  RefusedError,
  cborEqual,
  createFraudProof,
  encodeBlock,
  encodeCanonical,
  equalBytes,
  isAgreement,
  isUnilateral,
  nobleCrypto,
  type BlockStore,
  type BlockType,
  type CborValue,
  type CryptoProvider,
  type FraudProof,
  type HalfBlock,
  type Refusal,
  type RuleViolation,
  type TypeContext,
  type TypeVerdict,
} from '@tally/core'
import { balanceOf, checkBalance, proposerCanPay, walkBack, type ReplayPoint } from '../balance.js'
import type { Community } from '../community.js'
import { communityField, sameCommunity } from '../payload.js'
import { asMap, keyString, violation } from '../util.js'
import { voucherAuthority, type Entitlement, type RedeemAuthority, type VoucherSource } from './authority.js'
import { verifyReleaseConsent } from './consent.js'
import {
  REDEEM_EXCESS_FRAUD,
  RELEASE_EXCESS_FRAUD,
  RELEASE_TWICE_FRAUD,
  redeemExcessVerifier,
  verifyReleaseExcess,
  verifyReleaseTwice,
} from './lock-fraud.js'
import { LOCK, LOCK_LIMITS, REDEEM, RELEASE, isBeneficiaryKey, lockView, readLock, readRedeem, readRelease, type LockRef, type LockView, type RedeemPayload } from './lock-payload.js'
import { encodeVoucher, verifyVoucher, type Voucher } from './voucher.js'
import { CHANNEL_RELEASE_FRAUD, verifyChannelRelease } from '../channels/channel-fraud.js'
import { channelPlace, covered } from '../channels/channel-terms.js'
import { receiptAuthority } from '../channels/receipt-authority.js'
import { encodeReceipt, verifyReceipt, type Receipt } from '../channels/receipt.js'
import type { ReceiptSource } from '../channels/receipt-store.js'
import { RedeemIndex } from './redeem-index.js'

/** What a certificate entitles a lock's beneficiary to, and the proof against a release that takes it back. */
export interface CertifiedSource {
  /**
   * @param lock the lock
   * @param release the release being validated
   * @param ctx the validator's context (its store)
   * @returns undefined when nothing is certified for the lock; else the amount the beneficiary is
   *   entitled to and, when the release returns more than the lock minus it, the fraud proof
   */
  entitled(lock: LockView, release: HalfBlock, ctx: TypeContext): Promise<{ amount: number; fraud?: FraudProof } | undefined>
}

/** Options of lockTypes. */
export interface LockTypesOptions {
  /** The community: its configuration says when an expiry epoch begins. */
  community: Community
  /** The redeem authorities this node knows (default: vouchers and channel receipts). */
  authorities?: readonly RedeemAuthority[]
  /**
   * The latest vouchers known here (a wallet's voucher book): a release that returns what one of
   * them promised is refused, with its proof. Default: none known.
   */
  vouchers?: VoucherSource
  /**
   * The latest channel receipts known here (a payee's receipt store): a release of a channel's
   * lock that takes back what one of them covers is refused ('release-receipt'), with a
   * 'channel-release' proof. Default: none known.
   */
  receipts?: ReceiptSource
  /**
   * What a certificate known here entitles a lock's beneficiary to (a market's outcome
   * certificates: an SLA cycle passed or failed). A release without the beneficiary's consent that
   * returns more than the lock minus that is refused ('release-certified'), with the market's
   * proof when it gives one. Default: none known.
   */
  certified?: CertifiedSource
  /** This agent's policy for lock proposals, asked after the proposer's balance was checked (default: accept). */
  accept?: (proposal: HalfBlock, lock: LockView) => boolean | Promise<boolean>
  /** How much this agent locks for the proposer in its agreement (an SLA seller's penalty; default 0). */
  counterLock?: (proposal: HalfBlock, lock: LockView) => number | Promise<number>
}

/**
 * The `lock`, `redeem` and `release` block types, with the fraud kinds 'redeem-excess',
 * 'release-excess' and 'release-twice'.
 * @param options community, authorities, voucher source, policies
 * @returns the three types
 * @throws TypeError without a community; RangeError on two authorities of one kind
 * @example const types = createBlockTypes([...economyTypes({ community, evidence }), myNoteType])
 */
export function lockTypes(options: LockTypesOptions): BlockType[] {
  if (options?.community === undefined) throw new TypeError('"community" is required')
  const authorities = options.authorities ?? [voucherAuthority(), receiptAuthority()]
  const byKind = new Map<string, RedeemAuthority>()
  for (const a of authorities) {
    if (typeof a?.kind !== 'string' || a.kind.length < 1 || a.kind.length > 32) throw new TypeError('"authorities" expected kinds of 1-32 characters')
    if (byKind.has(a.kind)) throw new RangeError(`authority kind "${a.kind}" is given twice`)
    byKind.set(a.kind, a)
  }
  return [lockType(options), redeemType(options.community, byKind), releaseType(options.community, options.vouchers, options.receipts, options.certified)]
}

// ## lock

function lockType(options: LockTypesOptions): BlockType {
  // how far each proposer's chain was replayed, so the next lock replays only what is new
  const replayed = new Map<string, ReplayPoint>()
  return Object.freeze({
    name: LOCK,
    async validate(block: HalfBlock, ctx: TypeContext): Promise<TypeVerdict> {
      const p = readLock(block)
      if (p === undefined) {
        const terms = asMap(block.payload)?.['terms']
        if (terms !== undefined && !fits(terms, LOCK_LIMITS.maxTermsBytes)) return { errors: [violation('lock-terms', `a lock's terms are at most ${LOCK_LIMITS.maxTermsBytes} bytes`)] }
        const shape = isUnilateral(block) ? '{ amount >= 1, to, terms, expiry, balance }' : `{ amount >= ${isAgreement(block) ? 0 : 1}, terms, expiry, balance }`
        return { errors: [violation('lock-payload', `a lock payload is ${shape}`)] }
      }
      if (p.to !== undefined && !isBeneficiaryKey(p.to, block.publicKey)) return { errors: [violation('lock-beneficiary', 'a lock names a beneficiary other than its owner')] }
      return checkBalance(block, { balance: p.balance, delta: -p.amount }, ctx.store, ctx.previous, ctx.crypto)
    },
    matches(proposal: HalfBlock, agreement: HalfBlock): boolean {
      const p = readLock(proposal)
      const a = readLock(agreement)
      return p !== undefined && a !== undefined && p.expiry === a.expiry && cborEqual(p.terms, a.terms) && sameCommunity(p.community, a.community)
    },
    async agreementPayload(proposal: HalfBlock, ctx: TypeContext): Promise<CborValue> {
      const view = lockView(proposal, ctx.crypto)
      if (view === undefined) throw new RefusedError('malformed lock proposal', { reason: 'malformed' })
      const amount = options.counterLock === undefined ? 0 : await options.counterLock(proposal, view)
      if (!Number.isSafeInteger(amount) || amount < 0) throw new RefusedError('the counter-lock policy gave no amount', { reason: 'declined' })
      // the counter-lock is in the proposal's community
      const before = await balanceOf(ctx.store, proposal.linkPublicKey, ctx.crypto, view.community)
      if (before === undefined) throw new RefusedError('own balance unknown: the chain has gaps', { reason: 'history-missing' })
      if (amount > before) throw new RefusedError(`the counter-lock of ${amount} exceeds the balance of ${before}`, { reason: 'balance' })
      return { amount, terms: view.terms, expiry: view.expiry, balance: before - amount, ...communityField(view.community) }
    },
    async shouldSign(proposal: HalfBlock, ctx: TypeContext): Promise<boolean | Refusal> {
      const view = lockView(proposal, ctx.crypto)
      const p = readLock(proposal)
      if (view === undefined || p === undefined || p.balance < 0) return { reason: 'malformed', message: 'not a lock proposal with a non-negative balance' }
      const refusal = await proposerCanPay(proposal, p.amount, p.balance, ctx, replayed, 'payer')
      if (refusal !== undefined) return refusal
      if (options.accept !== undefined && !(await options.accept(proposal, view))) return { reason: 'declined', message: 'the beneficiary declines' }
      return true
    },
  })
}

// ## redeem

function redeemType(community: Community, authorities: ReadonlyMap<string, RedeemAuthority>): BlockType {
  const redeems = new RedeemIndex()
  const verifyExcess = redeemExcessVerifier([...authorities.values()])
  return Object.freeze({
    name: REDEEM,
    async validate(block: HalfBlock, ctx: TypeContext): Promise<TypeVerdict> {
      const p = readRedeem(block.payload)
      if (p === undefined) return { errors: [violation('redeem-payload', 'a redeem payload is { lock: [owner, seq, hash], by: [kind, value], amount >= 1, redeemed, balance }')] }
      if (!isUnilateral(block)) return { errors: [violation('redeem-unilateral', 'a redeem is a unilateral block')] }
      const errors: RuleViolation[] = []
      let fraud: FraudProof | undefined
      const prove = (blocks: HalfBlock[], attachments: Uint8Array[] = []): void => {
        if (fraud !== undefined) return
        const proof = createFraudProof(REDEEM_EXCESS_FRAUD, blocks, attachments)
        if (verifyExcess(proof.blocks, ctx.crypto, proof.attachments) === undefined) fraud = proof
      }
      const authority = authorities.get(p.by.kind)
      const entitlement = authority === undefined ? undefined : safeRead(authority, p.by.value)
      if (authority === undefined) errors.push(violation('redeem-authority', `no authority of kind "${p.by.kind}" is known here`))
      else if (entitlement === undefined) errors.push(violation('redeem-authority', `the ${p.by.kind} value is malformed`))
      if (p.amount > p.redeemed || (entitlement !== undefined && p.amount > entitlement.level)) {
        errors.push(violation('redeem-amount', `it takes ${p.amount}, more than its authority's ${entitlement?.level ?? '?'} or its total of ${p.redeemed}`))
        prove([block])
      }

      // the lock, as held here
      const lock = await lockAt(ctx.store, p.lock, ctx.crypto)
      if (lock === undefined) {
        errors.push(violation('redeem-lock', 'the lock it names is not held here: send the lock block with the redeem'))
      } else {
        if (!equalBytes(lock.beneficiary, block.publicKey)) {
          errors.push(violation('redeem-beneficiary', 'the lock is for another beneficiary'))
          prove([block], [encodeBlock(lock.block)])
        }
        if (!sameCommunity(p.community, lock.community)) errors.push(violation('redeem-community', 'the redeem names another community than its lock: a lock pays out only in its own token'))
        if (p.redeemed > lock.amount) {
          errors.push(violation('redeem-exceeds-lock', `${p.redeemed} taken in total from a lock of ${lock.amount}`))
          prove([block], [encodeBlock(lock.block)])
        }
        if (authority !== undefined && entitlement !== undefined) {
          let reason: string | undefined
          try {
            reason = await authority.check(p.by.value, lock, { crypto: ctx.crypto, store: ctx.store, community })
          } catch (err) {
            reason = `the ${p.by.kind} check failed: ${(err as Error)?.message ?? err}`
          }
          if (reason !== undefined) errors.push(violation('redeem-authority', reason))
        }
      }

      // the previous redeem of the same lock in this chain (through the index: no walk to genesis each time)
      const walk = await redeems.previous(ctx.store, block.publicKey, block.seq, p.lock, ctx.previous, ctx.crypto)
      const earlier: { block: HalfBlock; payload: RedeemPayload } | undefined = walk.status === 'found' ? walk : undefined
      if (walk.status === 'unknown') {
        errors.push(violation('redeem-history', 'the chain is not known back to its previous redeem of this lock'))
      } else if (entitlement !== undefined) {
        const before = earlier?.payload
        const last = before === undefined ? undefined : before.by.kind === p.by.kind ? safeRead(authority!, before.by.value) : undefined
        if (before !== undefined && before.by.kind !== p.by.kind) errors.push(violation('redeem-authority', `the lock was redeemed under "${before.by.kind}" before: one kind of authority per lock`))
        const from = last !== undefined && last.slot === entitlement.slot ? last.level : 0
        if (last !== undefined && (entitlement.slot < last.slot || (entitlement.slot === last.slot && entitlement.level <= last.level))) {
          errors.push(violation('redeem-replay', `slot ${entitlement.slot} level ${entitlement.level} is not above the previous redeem's (slot ${last.slot} level ${last.level}, seq ${earlier!.block.seq})`))
        } else if (p.amount !== entitlement.level - from && !errors.some((e) => e.rule === 'redeem-amount')) {
          errors.push(violation('redeem-amount', `it takes ${p.amount}; the authority allows ${entitlement.level - from} more`))
        }
        const total = (before?.redeemed ?? 0) + p.amount
        if (p.redeemed !== total) errors.push(violation('redeem-total', `the running total is ${p.redeemed}, not ${total}`))
        if (earlier !== undefined) prove([earlier.block, block])
      }

      const balance = await checkBalance(block, { balance: p.balance, delta: p.amount }, ctx.store, ctx.previous, ctx.crypto)
      errors.push(...balance.errors)
      fraud ??= balance.fraud
      return fraud === undefined ? { errors } : { errors, fraud }
    },
    fraudKinds: Object.freeze({ [REDEEM_EXCESS_FRAUD]: verifyExcess }),
  })
}

// ## release

function releaseType(
  community: Community,
  vouchers: VoucherSource | undefined,
  receipts: ReceiptSource | undefined,
  certified: CertifiedSource | undefined,
): BlockType {
  return Object.freeze({
    name: RELEASE,
    async validate(block: HalfBlock, ctx: TypeContext): Promise<TypeVerdict> {
      const p = readRelease(block.payload)
      if (p === undefined) return { errors: [violation('release-payload', 'a release payload is { lock: seq, amount, balance, consent? (64 bytes) }')] }
      if (!isUnilateral(block)) return { errors: [violation('release-unilateral', 'a release is a unilateral block')] }
      if (p.lock >= block.seq) return { errors: [violation('release-lock', `seq ${p.lock} is not an earlier block of this chain`)] }
      const errors: RuleViolation[] = []
      let fraud: FraudProof | undefined
      const prove = (kind: string, blocks: HalfBlock[], attachments: Uint8Array[]): void => {
        if (fraud !== undefined) return
        const proof = createFraudProof(kind, blocks, attachments)
        const verify = kind === RELEASE_TWICE_FRAUD ? verifyReleaseTwice : kind === CHANNEL_RELEASE_FRAUD ? verifyChannelRelease : verifyReleaseExcess
        if (verify(proof.blocks, ctx.crypto, proof.attachments) === undefined) fraud = proof
      }

      // the lock itself, from the store: what it held, and vouchers for it, prove excess even
      // when the chain between them is not known here
      const held = p.lock === block.seq - 1 && ctx.previous !== undefined ? ctx.previous : await ctx.store.get(block.publicKey, p.lock)
      const lock = held === undefined ? undefined : lockView(held, ctx.crypto)
      if (lock !== undefined) {
        if (!sameCommunity(p.community, lock.community)) errors.push(violation('release-community', 'the release names another community than its lock: a lock returns only its own token'))
        if (p.amount > lock.amount) {
          errors.push(violation('release-excess', `it returns ${p.amount} from a lock of ${lock.amount}`))
          prove(RELEASE_EXCESS_FRAUD, [lock.block, block], [])
        }
        const known = await bestVoucher(vouchers, lock, ctx.crypto)
        if (known !== undefined && known.amount > lock.amount - p.amount) {
          errors.push(violation('release-voucher', `a voucher of the owner promised ${known.amount}; the release leaves ${lock.amount - p.amount}`))
          prove(RELEASE_EXCESS_FRAUD, [lock.block, block], [encodeVoucher(known)])
        }
        const receipt = await bestReceipt(receipts, lock, ctx.crypto)
        if (receipt !== undefined && p.amount > lock.amount - receipt.covered) {
          errors.push(violation('release-receipt', `a receipt of the owner covers ${receipt.covered} of the lock; the release leaves ${lock.amount - p.amount}`))
          prove(CHANNEL_RELEASE_FRAUD, [lock.block, block], [encodeReceipt(receipt.receipt)])
        }
        if (certified !== undefined && p.consent === undefined) {
          let entitled: Awaited<ReturnType<CertifiedSource['entitled']>>
          try {
            entitled = await certified.entitled(lock, block, ctx)
          } catch {
            entitled = undefined // a failing source knows nothing we can use
          }
          if (entitled !== undefined && p.amount > lock.amount - entitled.amount) {
            errors.push(violation('release-certified', `a certificate entitles the beneficiary to ${entitled.amount}; the release leaves ${lock.amount - p.amount}`))
            if (fraud === undefined && entitled.fraud !== undefined) fraud = entitled.fraud
          }
        }
        if (p.consent === undefined) {
          const begins = epochStart(community, lock.expiry)
          if (block.timestamp < begins) errors.push(violation('release-early', `dated before the expiry epoch ${lock.expiry} begins, without the beneficiary's consent`))
        } else if (!verifyReleaseConsent(p.consent, lock.id, p.amount, lock.beneficiary, ctx.crypto)) {
          errors.push(violation('release-consent', 'the consent is not the beneficiary\'s for this lock and amount'))
        }
      }

      // back to the lock, looking for an earlier release of it on the way
      let twice: HalfBlock | undefined
      const walk = await walkBack(ctx.store, block.publicKey, block.seq, (b) => {
        if (b.seq === p.lock) return true
        if (twice === undefined && b.type === RELEASE && readRelease(b.payload)?.lock === p.lock) twice = b
        return false
      }, ctx.previous, ctx.crypto)
      if (twice !== undefined) {
        errors.push(violation('release-twice', `the lock was released at seq ${twice.seq}`))
        prove(RELEASE_TWICE_FRAUD, [twice, block], [])
      }
      if (walk.status === 'unknown') errors.push(violation('release-history', `the chain back to the lock at seq ${p.lock} is not known here`))
      else if (lock === undefined) errors.push(violation('release-lock', `the block at seq ${p.lock} is not a lock`))

      const balance = await checkBalance(block, { balance: p.balance, delta: p.amount }, ctx.store, ctx.previous, ctx.crypto)
      errors.push(...balance.errors)
      fraud ??= balance.fraud
      return fraud === undefined ? { errors } : { errors, fraud }
    },
    fraudKinds: Object.freeze({ [RELEASE_EXCESS_FRAUD]: verifyReleaseExcess, [RELEASE_TWICE_FRAUD]: verifyReleaseTwice, [CHANNEL_RELEASE_FRAUD]: verifyChannelRelease }),
  })
}

// ## Shared with the wallet

/**
 * The lock a reference names, if this store holds exactly that block.
 * @param store the store
 * @param ref owner, seq, hash
 * @param crypto provider
 * @returns the lock, or undefined when not held (or another block is held there)
 * @internal
 */
export async function lockAt(store: BlockStore, ref: LockRef, crypto: CryptoProvider): Promise<LockView | undefined> {
  const held = await store.get(ref.owner, ref.seq)
  const view = held === undefined ? undefined : lockView(held, crypto)
  return view !== undefined && equalBytes(view.id, ref.hash) ? view : undefined
}

/**
 * The lock blocks that the redeems among `blocks` name, as `store` holds them: what a peer needs
 * beside a chain to check its redeems (a transfer's history, a crawl's answer). Put them first.
 * @param store where the locks are held (the redeemer's own store holds them)
 * @param blocks a chain, or part of one
 * @param crypto provider for hashes (default nobleCrypto)
 * @returns the distinct lock blocks, in the order first named
 * @example await payee.accept(proposal, [...(await redeemedLocks(store, chain)), ...chain])
 */
export async function redeemedLocks(store: BlockStore, blocks: readonly HalfBlock[], crypto: CryptoProvider = nobleCrypto): Promise<HalfBlock[]> {
  const out: HalfBlock[] = []
  const seen = new Set<string>()
  for (const b of blocks) {
    const r = b.type === REDEEM ? readRedeem(b.payload) : undefined
    if (r === undefined) continue
    const key = keyString(r.lock.hash)
    if (seen.has(key)) continue
    seen.add(key)
    const lock = await lockAt(store, r.lock, crypto)
    if (lock !== undefined) out.push(lock.block)
  }
  return out
}

/**
 * When the owner may release a lock alone: the first millisecond of its expiry epoch.
 * @param community the community
 * @param epoch the expiry
 * @returns ms since 1970 (Infinity beyond the safe range)
 * @internal
 */
export function epochStart(community: Community, epoch: number): number {
  const config = community.configAt(epoch) ?? community.current
  const start = config.start + epoch * config.epochLength
  return Number.isSafeInteger(start) ? start : Infinity
}

// ## Private helpers


function safeRead(authority: RedeemAuthority, value: CborValue): Entitlement | undefined {
  try {
    const e = authority.read(value)
    return e !== undefined && Number.isSafeInteger(e.slot) && e.slot >= 0 && Number.isSafeInteger(e.level) && e.level >= 0 ? e : undefined
  } catch {
    return undefined
  }
}

async function bestVoucher(vouchers: VoucherSource | undefined, lock: LockView, crypto: CryptoProvider): Promise<Voucher | undefined> {
  if (vouchers === undefined) return undefined
  let v: Voucher | undefined
  try {
    v = await vouchers.best(lock.id)
  } catch {
    return undefined // a failing source knows nothing we can use
  }
  // only a voucher the owner really signed for this lock can accuse it
  return v !== undefined && equalBytes(v.lock, lock.id) && verifyVoucher(v, lock.owner, crypto) ? v : undefined
}

async function bestReceipt(receipts: ReceiptSource | undefined, lock: LockView, crypto: CryptoProvider): Promise<{ receipt: Receipt; covered: number } | undefined> {
  const place = receipts === undefined ? undefined : channelPlace(lock)
  if (place === undefined) return undefined
  let r: Receipt | undefined
  try {
    r = await receipts!.latest(place.channel)
  } catch {
    return undefined // a failing source knows nothing we can use
  }
  // only a receipt the owner really signed for this channel can accuse it
  return r !== undefined && equalBytes(r.channel, place.channel) && verifyReceipt(r, lock.owner, crypto) ? { receipt: r, covered: covered(r.amount, place.offset, lock.amount) } : undefined
}

function fits(value: CborValue, max: number): boolean {
  try {
    return encodeCanonical(value).length <= max
  } catch {
    return false
  }
}
