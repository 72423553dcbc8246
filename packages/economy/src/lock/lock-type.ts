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
 * What answers at once is here: the types' names, the lock's `matches` (core calls it before
 * validate, synchronously) and the fraud kinds (lock-fraud-kinds.ts: in Node with their
 * verifiers; in browsers named, the verifiers loaded with the rules when a proof is first
 * verified). The rules themselves (validate, the lock's agreement and should-sign) are in
 * lock-rules.ts, loaded (through ../on-demand.ts) the first time one of the three types needs
 * them, so a wallet in a page that never meets a lock does not load them at start. Nothing is
 * skipped meanwhile: validate waits for them.
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
  cborEqual,
  equalBytes,
  nobleCrypto,
  type BlockStore,
  type BlockType,
  type CryptoProvider,
  type FraudProof,
  type FraudVerifier,
  type HalfBlock,
  type TypeContext,
} from '@tally/core'
import type { Community } from '../community.js'
import { sameCommunity } from '../payload.js'
import { keyString } from '../util.js'
import type { RedeemAuthority, VoucherSource } from './authority.js'
import { lockFraudKinds } from './lock-fraud-kinds.js'
import { LOCK, REDEEM, RELEASE, lockView, readLock, readRedeem, type LockRef, type LockView } from './lock-payload.js'
import type { LockRules } from './lock-rules.js'
import type { ReceiptSource } from '../channels/receipt-store.js'

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
  // the authorities given, by kind (none given: the default ones, vouchers and channel receipts,
  // made with the rules)
  let byKind: Map<string, RedeemAuthority> | undefined
  if (options.authorities !== undefined) {
    byKind = new Map()
    for (const a of options.authorities) {
      if (typeof a?.kind !== 'string' || a.kind.length < 1 || a.kind.length > 32) throw new TypeError('"authorities" expected kinds of 1-32 characters')
      if (byKind.has(a.kind)) throw new RangeError(`authority kind "${a.kind}" is given twice`)
      byKind.set(a.kind, a)
    }
  }
  // the rules (and in browsers the fraud verifiers), loaded once on first use (a failed load is
  // tried again at the next use)
  type Code = { rules: LockRules; verifiers: Readonly<Record<string, FraudVerifier>> }
  let loaded: Code | undefined
  let loading: Promise<Code> | undefined
  const code = (): Code | Promise<Code> =>
    loaded ??
    (loading ??= import('../on-demand.js').then(
      (m) => (loaded = m.lockCode(options, byKind)),
      (err: unknown) => {
        loading = undefined
        throw err
      },
    ))
  /** Call a rule now when loaded, else once loaded. */
  const later = <T>(call: (r: LockRules) => T | Promise<T>): T | Promise<T> => {
    const c = code()
    return 'then' in c ? c.then((x) => call(x.rules)) : call(c.rules)
  }
  const fraud = lockFraudKinds(byKind === undefined ? undefined : [...byKind.values()], async () => (await code()).verifiers)
  const lock: BlockType = Object.freeze({
    name: LOCK,
    validate: (block: HalfBlock, ctx: TypeContext) => later((r) => r.lock.validate(block, ctx)),
    matches(proposal: HalfBlock, agreement: HalfBlock): boolean {
      const p = readLock(proposal)
      const a = readLock(agreement)
      return p !== undefined && a !== undefined && p.expiry === a.expiry && cborEqual(p.terms, a.terms) && sameCommunity(p.community, a.community)
    },
    agreementPayload: (proposal: HalfBlock, ctx: TypeContext) => later((r) => r.lock.agreementPayload(proposal, ctx)),
    shouldSign: (proposal: HalfBlock, ctx: TypeContext) => later((r) => r.lock.shouldSign(proposal, ctx)),
  })
  const redeem: BlockType = Object.freeze({
    name: REDEEM,
    validate: (block: HalfBlock, ctx: TypeContext) => later((r) => r.redeem.validate(block, ctx)),
    ...fraud.redeem,
  })
  const release: BlockType = Object.freeze({
    name: RELEASE,
    validate: (block: HalfBlock, ctx: TypeContext) => later((r) => r.release.validate(block, ctx)),
    ...fraud.release,
  })
  return [lock, redeem, release]
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
