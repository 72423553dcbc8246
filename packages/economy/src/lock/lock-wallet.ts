/**
 * The wallet's lock operations: lock, voucher, acceptVoucher, redeem, consent, release. Each
 * block's amounts and balance are computed under the agent's append lock (a payload function), so
 * nothing the node appends meanwhile comes between reading the chain and signing; the agent then
 * checks the block by the lock rules before it signs. createWallet runs them one at a time.
 *
 * What keeps an honest wallet from ever being accused: as a payer it signs vouchers only for its own
 * open locks, never above the lock or below its last one, keeps each in its voucher book before
 * handing it out, and releases the lock minus the latest voucher (or, early, exactly what the
 * payee consented to, which may not be more); as a payee it redeems exactly the increment of its
 * latest authority over its previous redeem of the lock, and consents only to releases that leave
 * its latest voucher whole.
 * @module
 */
import {
  RefusedError,
  abytes,
  auint,
  blockHash,
  equalBytes,
  signThen,
  type Agent,
  type CborValue,
  type HalfBlock,
  type SigningKey,
} from '@tally/core'
import { replayBalance, walkBack } from '../balance.js'
import type { Community } from '../community.js'
import { VOUCHER, type RedeemAuthority } from './authority.js'
import { releaseConsentDigest } from './consent.js'
import { communityField } from '../payload.js'
import { LOCK, REDEEM, RELEASE, lockRefValue, lockView, readRedeem, readRelease, type Authorization, type LockView } from './lock-payload.js'
import type { VoucherBook } from './voucher-book.js'
import { RedeemIndex } from './redeem-index.js'
import { decodeVoucher, signVoucher, verifyVoucher, voucherValue, type Voucher } from './voucher.js'

/** What to lock. */
export interface LockRequest {
  /** The beneficiary. */
  readonly to: Uint8Array
  /** Units taken out of the spendable balance, at least 1. */
  readonly amount: number
  /** The epoch from which this agent may release the lock alone. */
  readonly expiry: number
  /** Terms for a market (any CBOR value of at most LOCK_LIMITS.maxTermsBytes; default null). */
  readonly terms?: CborValue
  /**
   * Lock in a transaction with the beneficiary (a channel open, a subscription): a proposal it
   * countersigns, possibly with a counter-lock of its own. Default: a unilateral lock.
   */
  readonly propose?: boolean
}

/** What a release returns early, with the beneficiary's consent to exactly that. */
export interface EarlyRelease {
  /** What the release returns. */
  readonly amount: number
  /** The beneficiary's signature (Wallet.consent). */
  readonly consent: Uint8Array
}

/** The lock operations of a wallet. */
export interface LockOperations {
  /**
   * Lock `amount` for `to` until epoch `expiry`: a unilateral block, or a proposal (`propose`).
   * @throws RangeError when the amount is not a positive integer or exceeds the balance
   */
  lock(request: LockRequest): Promise<HalfBlock>
  /**
   * As the lock's owner, sign a voucher: `to` may take `amount` in total from the lock. Kept in
   * the voucher book before it is returned.
   * @throws RangeError when the lock is not this agent's, is released, or the amount is above the
   *   lock or below the latest voucher; TypeError without a signing key
   */
  voucher(lock: HalfBlock, amount: number): Promise<Voucher>
  /**
   * As the beneficiary, check a voucher (one signature) and keep it if it is the latest. The first
   * time, the lock and the payer's `history` (its chain up to the lock) are taken in and replayed,
   * so the payee knows the lock is backed.
   * @throws RefusedError when the voucher or lock does not check out, or the history is missing
   */
  acceptVoucher(lock: HalfBlock, voucher: Voucher | Uint8Array, history?: readonly HalfBlock[]): Promise<Voucher>
  /**
   * As the beneficiary, redeem the increment of `by` (default: the latest voucher held) over what
   * was redeemed from the lock before.
   * @throws RangeError when there is nothing new to redeem; InvalidBlockError when the rules refuse it
   */
  redeem(lock: HalfBlock, by?: Voucher | Authorization): Promise<HalfBlock>
  /**
   * As the beneficiary, consent to the owner releasing the lock now, returning `amount`.
   * @throws RangeError when the amount would take what the latest voucher held promised
   */
  consent(lock: HalfBlock, amount: number): Promise<Uint8Array>
  /**
   * As the owner, release the lock: after its expiry, the lock minus the latest voucher signed;
   * before it, exactly what the beneficiary consented to.
   * @throws RangeError when the lock is not this agent's, or an early release would take vouched
   *   value; InvalidBlockError when the rules refuse it (too early, released before)
   */
  release(lock: HalfBlock, early?: EarlyRelease): Promise<HalfBlock>
}

/** What the lock operations work with. */
export interface LockWalletContext {
  readonly agent: Agent
  readonly community: Community
  /** The agent's signing key, for vouchers and consents (blocks are signed by the agent). */
  readonly key: SigningKey | undefined
  readonly vouchers: VoucherBook
  readonly authorities: ReadonlyMap<string, RedeemAuthority>
  /** The agent's balance from its chain, in the community the wallet names (or version 1's). */
  readonly balance: () => Promise<number>
  /** The agent's balance in another community (a lock's, for its redeem or release); undefined: version 1's. */
  readonly balanceIn: (community: Uint8Array | undefined) => Promise<number>
  /** The community new locks name (payload version 2), or undefined for version-1 locks. */
  readonly named: Uint8Array | undefined
  /** Take in blocks learnt from a peer (already-held ones are skipped). */
  readonly take: (blocks: readonly HalfBlock[]) => Promise<void>
}

/**
 * The lock operations over a wallet's agent (unserialized: the wallet runs them one at a time).
 * @param ctx agent, community, key, voucher book, authorities, balance, take
 * @returns the operations
 * @internal
 */
export function lockOperations(ctx: LockWalletContext): LockOperations {
  const { agent, community, vouchers } = ctx
  const crypto = community.crypto
  const redeems = new RedeemIndex()
  const me = agent.publicKey
  const own = (lock: HalfBlock): LockView => {
    const view = lockView(lock, crypto)
    if (view === undefined || !equalBytes(view.owner, me)) throw new RangeError('"lock" is not a lock of this agent')
    return view
  }
  const forMe = (lock: HalfBlock): LockView => {
    const view = lockView(lock, crypto)
    if (view === undefined || !equalBytes(view.beneficiary, me)) throw new RangeError('"lock" is not a lock for this agent')
    return view
  }
  const signer = (): SigningKey => {
    if (ctx.key === undefined || !equalBytes(ctx.key.publicKey, me)) throw new TypeError('"key" (the agent\'s signing key) is required to sign vouchers and consents')
    return ctx.key
  }
  const latest = async (view: LockView): Promise<Voucher | undefined> => {
    const v = await vouchers.best(view.id)
    return v !== undefined && equalBytes(v.lock, view.id) ? v : undefined
  }
  /** The release of an own lock in the chain, if any. */
  const releaseOf = async (view: LockView): Promise<HalfBlock | undefined> => {
    const head = await agent.store.latest(me)
    if (head === undefined || head.seq <= view.seq) return undefined
    let found: HalfBlock | undefined
    await walkBack(agent.store, me, head.seq + 1, (b) => {
      if (b.type === RELEASE && readRelease(b.payload)?.lock === view.seq) found = b
      return found !== undefined || b.seq <= view.seq
    }, undefined, crypto)
    return found
  }
  const hold = async (lock: HalfBlock, history: readonly HalfBlock[]): Promise<void> => {
    await ctx.take([...history, lock])
    const held = await agent.store.get(lock.publicKey, lock.seq)
    if (held === undefined || !equalBytes(blockHash(held, crypto), blockHash(lock, crypto))) throw new RefusedError('the lock is not held here (a different block is held at its seq, or it was invalid)', { reason: 'lock' })
  }

  return {
    async lock(request) {
      abytes('to', request?.to, 32)
      auint('amount', request.amount, 1)
      auint('expiry', request.expiry)
      const terms = request.terms ?? null
      const payload = async (): Promise<CborValue> => {
        const before = await ctx.balance()
        if (request.amount > before) throw new RangeError(`"amount" ${request.amount} exceeds the balance of ${before}`)
        const common = { amount: request.amount, terms, expiry: request.expiry, balance: before - request.amount, ...communityField(ctx.named) }
        return request.propose === true ? common : { ...common, to: request.to }
      }
      return request.propose === true ? agent.propose(request.to, LOCK, payload) : agent.append(LOCK, payload)
    },

    async voucher(lock, amount) {
      const view = own(lock)
      auint('amount', amount, 1, view.amount)
      const key = signer()
      if ((await releaseOf(view)) !== undefined) throw new RangeError('the lock is released: no more vouchers for it')
      const held = await latest(view)
      if (held !== undefined && amount < held.amount) throw new RangeError(`"amount" ${amount} is below the latest voucher's ${held.amount}: vouchers are cumulative`)
      if (held !== undefined && amount === held.amount) return held
      const voucher = await signVoucher(key, { lock: view.id, amount, counter: (held?.counter ?? 0) + 1 })
      await vouchers.keep(voucher)
      return voucher
    },

    async acceptVoucher(lock, given, history = []) {
      const view = forMe(lock)
      const voucher = given instanceof Uint8Array ? decodeVoucher(given) : given
      if (!equalBytes(voucher.lock, view.id)) throw new RefusedError('the voucher is for another lock', { reason: 'voucher' })
      if (!verifyVoucher(voucher, view.owner, crypto)) throw new RefusedError('the voucher is not signed by the lock\'s owner', { reason: 'voucher' })
      if (voucher.amount > view.amount) throw new RefusedError(`the voucher promises ${voucher.amount} from a lock of ${view.amount}`, { reason: 'voucher' })
      if ((await latest(view)) === undefined) {
        // the first voucher for this lock: the lock must be held and backed by the payer's chain
        await hold(lock, history)
        const replay = await replayBalance(agent.store, view.owner, view.seq, crypto)
        if (!replay.ok) throw new RefusedError(`the payer's chain does not back the lock: ${replay.reason} at seq ${replay.seq}`, { reason: replay.reason })
      }
      await vouchers.keep(voucher)
      return (await latest(view)) ?? voucher
    },

    async redeem(lock, by) {
      const view = forMe(lock)
      let authorization: Authorization
      if (by === undefined || (by as Voucher).signature !== undefined) {
        const voucher = (by as Voucher | undefined) ?? (await latest(view))
        if (voucher === undefined) throw new RangeError('no voucher is held for this lock')
        authorization = { kind: VOUCHER, value: voucherValue(voucher) }
      } else authorization = by as Authorization
      const authority = ctx.authorities.get(authorization.kind)
      const entitlement = authority?.read(authorization.value)
      if (entitlement === undefined) throw new RangeError(`"by" is not a readable ${authorization.kind} authority`)
      await hold(lock, [])
      return agent.append(REDEEM, async (head) => {
        let earlier: ReturnType<typeof readRedeem>
        const ref = { owner: view.owner, seq: view.seq, hash: view.id }
        if (head !== undefined) {
          const found = await redeems.previous(agent.store, me, head.seq + 1, ref, head, crypto)
          if (found.status === 'found') earlier = found.payload
        }
        const last = earlier === undefined || earlier.by.kind !== authorization.kind ? undefined : authority!.read(earlier.by.value)
        const from = last !== undefined && last.slot === entitlement.slot ? last.level : 0
        const amount = entitlement.level - from
        if (amount < 1 || (last !== undefined && entitlement.slot < last.slot)) throw new RangeError('nothing new to redeem: this authority was redeemed already, or a later one was')
        // in the lock's community, whatever this wallet's is: a lock pays out its own token
        const before = await ctx.balanceIn(view.community)
        return { lock: lockRefValue(view), by: [authorization.kind, authorization.value], amount, redeemed: (earlier?.redeemed ?? 0) + amount, balance: before + amount, ...communityField(view.community) }
      })
    },

    async consent(lock, amount) {
      const view = forMe(lock)
      auint('amount', amount, 0, view.amount)
      const key = signer()
      const vouched = (await latest(view))?.amount ?? 0
      if (amount > view.amount - vouched) throw new RangeError(`"amount" ${amount} would take back what the latest voucher (${vouched}) promised`)
      return signThen(key, releaseConsentDigest(view.id, amount, crypto), (signature) => signature)
    },

    async release(lock, early) {
      const view = own(lock)
      const vouched = (await latest(view))?.amount ?? 0
      let amount = view.amount - vouched
      if (early !== undefined) {
        auint('early.amount', early.amount, 0, view.amount)
        abytes('early.consent', early.consent, 64)
        if (early.amount > amount) throw new RangeError(`"early.amount" ${early.amount} would take back what this agent vouched (${vouched})`)
        amount = early.amount
      }
      return agent.append(RELEASE, async (): Promise<CborValue> => {
        const before = await ctx.balanceIn(view.community)
        const balance = before + amount
        if (!Number.isSafeInteger(balance)) throw new RangeError('the release would take the balance beyond 2^53 - 1')
        const named = communityField(view.community)
        return early === undefined ? { lock: view.seq, amount, balance, ...named } : { lock: view.seq, amount, balance, consent: early.consent, ...named }
      })
    },
  }
}
