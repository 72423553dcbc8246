/**
 * The rules of the `lock`, `redeem` and `release` block types (lock-type.ts says them, in order):
 * their validation, and the lock's agreement and should-sign policy. lock-type.ts registers the
 * types with what must answer at once (`matches`, the fraud verifiers) and loads this module the
 * first time a lock, redeem or release is validated, countersigned or agreed to, so a page whose
 * wallet never meets a lock does not load it; every such block is still checked by these rules
 * before it is stored or signed (validate waits for the module).
 * @module
 */
import {
  RefusedError,
  createFraudProof,
  encodeBlock,
  encodeCanonical,
  equalBytes,
  isAgreement,
  isUnilateral,
  type BlockType,
  type CborValue,
  type CryptoProvider,
  type FraudProof,
  type FraudVerifier,
  type HalfBlock,
  type Refusal,
  type RuleViolation,
  type TypeContext,
  type TypeVerdict,
} from '@tally/core'
import { balanceOf, checkBalance, proposerCanPay, walkBack, type ReplayPoint } from '../balance.js'
import type { Community } from '../community.js'
import { communityField, sameCommunity } from '../payload.js'
import { asMap, violation } from '../util.js'
import type { Entitlement, RedeemAuthority, VoucherSource } from './authority.js'
import { verifyReleaseConsent } from './consent.js'
import { REDEEM_EXCESS_FRAUD, RELEASE_EXCESS_FRAUD, RELEASE_TWICE_FRAUD, verifyReleaseExcess, verifyReleaseTwice } from './lock-fraud.js'
import { LOCK_LIMITS, RELEASE, isBeneficiaryKey, lockView, readLock, readRedeem, readRelease, type LockView, type RedeemPayload } from './lock-payload.js'
import { epochStart, lockAt, type CertifiedSource, type LockTypesOptions } from './lock-type.js'
import { encodeVoucher, verifyVoucher, type Voucher } from './voucher.js'
import { CHANNEL_RELEASE_FRAUD, verifyChannelRelease } from '../channels/channel-fraud.js'
import { channelPlace, covered } from '../channels/channel-terms.js'
import { encodeReceipt, verifyReceipt, type Receipt } from '../channels/receipt.js'
import type { ReceiptSource } from '../channels/receipt-store.js'
import { RedeemIndex } from './redeem-index.js'

/** What lock-type.ts's types delegate to: the members of each type that may answer later. */
export interface LockRules {
  readonly lock: Required<Pick<BlockType, 'validate' | 'agreementPayload' | 'shouldSign'>>
  readonly redeem: Required<Pick<BlockType, 'validate'>>
  readonly release: Required<Pick<BlockType, 'validate'>>
}

/**
 * The rules of the three types, over one set of options.
 * @param options community, voucher and receipt sources, certified source, policies (checked by lockTypes)
 * @param authorities the redeem authorities by kind (checked by lockTypes)
 * @param verifyExcess the 'redeem-excess' verifier over the same authorities (the redeem type's fraud kind)
 * @returns the rules
 * @internal
 */
export function lockRules(options: LockTypesOptions, authorities: ReadonlyMap<string, RedeemAuthority>, verifyExcess: FraudVerifier): LockRules {
  return {
    lock: lockRule(options),
    redeem: redeemRule(options.community, authorities, verifyExcess),
    release: releaseRule(options.community, options.vouchers, options.receipts, options.certified),
  }
}

// ## lock

function lockRule(options: LockTypesOptions): LockRules['lock'] {
  // how far each proposer's chain was replayed, so the next lock replays only what is new
  const replayed = new Map<string, ReplayPoint>()
  return Object.freeze({
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

function redeemRule(community: Community, authorities: ReadonlyMap<string, RedeemAuthority>, verifyExcess: FraudVerifier): LockRules['redeem'] {
  const redeems = new RedeemIndex()
  return Object.freeze({
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
  })
}

// ## release

function releaseRule(
  community: Community,
  vouchers: VoucherSource | undefined,
  receipts: ReceiptSource | undefined,
  certified: CertifiedSource | undefined,
): LockRules['release'] {
  return Object.freeze({
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
  })
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
