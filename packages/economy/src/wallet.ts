/**
 * The wallet: an agent's economic operations — claim a reward, send, accept, burn, refund, and the
 * lock operations of lock/lock-wallet.ts — each making a block whose balance follows from the last one.
 *
 * A block's balance follows from the chain's latest balance, so it is computed under the agent's
 * append lock (a payload function given to `propose`/`append`): nothing the node appends meanwhile
 * (an agreement to an incoming transfer) can come between reading the balance and signing. The
 * agent also checks the block by the economy's rules before it signs, so even a caller that goes
 * around the wallet cannot make an honest agent sign a balance that does not add up.
 * @module
 */
import {
  InvalidBlockError,
  abytes,
  blockHash,
  equalBytes,
  auint,
  type Agent,
  type CborValue,
  type HalfBlock,
  type SigningKey,
  type Transaction,
} from '@tally/core'
import { balanceOf, walkBack } from './balance.js'
import type { EpochCertificate } from './certificate.js'
import type { Community } from './community.js'
import type { EvidenceStore } from './evidence.js'
import type { MerkleProof } from './merkle.js'
import { BURN, REFUND, REWARD, TRANSFER, communityField, readReward, readTransfer, sameCommunity } from './payload.js'
import { encodeSignatures, type QuorumSignatures } from './quorum.js'
import { rewardPayload, verifyRewardEvidence } from './reward.js'
import type { RedeemAuthority } from './lock/authority.js'
import type { LockOperations, LockWalletContext } from './lock/lock-wallet.js'
import { createVoucherBook, type VoucherBook } from './lock/voucher-book.js'

/** What a contributor needs to claim an epoch's reward: from its witness, or from the published table. */
export interface Claim {
  /** Units allocated to this agent (its row of the allocation table). */
  readonly amount: number
  /** The epoch certificate. */
  readonly certificate: EpochCertificate
  /** The proof of this agent's row under the certificate's root. */
  readonly proof: MerkleProof
}

/** An agent's economic operations, one at a time (the lock operations are LockOperations'). */
export interface Wallet extends LockOperations {
  /** The agent. */
  readonly agent: Agent
  /** The agent's balance (from its latest balance block; 0 before any). */
  balance(): Promise<number>
  /** The last epoch claimed, or -1. */
  lastClaimedEpoch(): Promise<number>
  /**
   * Claim an epoch's reward: checks the evidence first, keeps it in the evidence store (where
   * validators look for it), and appends the reward block.
   * A certificate that arrives late can still be claimed after newer ones, within
   * LATE_CLAIM_EPOCHS of the highest epoch claimed.
   * @throws InvalidBlockError when the evidence does not back the claim, or the epoch was already
   *   claimed or is too late (rule 'reward-epoch'; nothing is signed)
   */
  claim(claim: Claim): Promise<HalfBlock>
  /**
   * Propose a transfer of `amount` to `to`. With `expires` (ms since 1970) the transfer is an
   * expiring one: the receiver needs the witnesses' accept ticket to countersign it, and after
   * `expires` (or once the receiver declined) the witnesses can void it and `refund` brings the
   * amount back.
   * @throws RangeError when the amount is not a positive integer or exceeds the balance
   */
  send(to: Uint8Array, amount: number, options?: { expires?: number }): Promise<HalfBlock>
  /**
   * Take back the amount of an expiring transfer of this agent that the witnesses voided.
   * @param proposal the transfer proposal (a block of this agent's chain)
   * @param ticket the void ticket: k witness signatures (see ticket.ts)
   * @returns the refund block
   * @throws RangeError when `proposal` is not an expiring transfer of this chain; InvalidBlockError
   *   when the ticket does not verify or the proposal was refunded already (nothing is signed)
   */
  refund(proposal: HalfBlock, ticket: QuorumSignatures): Promise<HalfBlock>
  /**
   * Countersign a transfer proposed to this agent, after taking in the sender's recent chain
   * (`history`: its blocks since its previous balance block, at least) so the sender's balance
   * can be checked.
   * @throws InvalidBlockError, FraudError, RefusedError (from the agent)
   */
  accept(proposal: HalfBlock, history?: readonly HalfBlock[]): Promise<HalfBlock>
  /** Take in the receiver's agreement to one of this agent's transfers. */
  complete(agreement: HalfBlock): Promise<Transaction>
  /**
   * Destroy `amount` tokens.
   * @throws RangeError when the amount is not a positive integer or exceeds the balance
   */
  burn(amount: number): Promise<HalfBlock>
}

/** Options of createWallet. */
export interface WalletOptions {
  /** The agent (its types must include the economy's: see createEconomyTypes). */
  agent: Agent
  /** The community. */
  community: Community
  /** Where claims' evidence is kept for validators. */
  evidence: EvidenceStore
  /** The agent's signing key, to sign vouchers and release consents (blocks are signed by the agent). */
  key?: SigningKey
  /**
   * The latest vouchers per lock, signed and accepted (default: a new in-memory book). A payer's
   * book must be as durable as its chain: what it forgets, its release would take back.
   */
  vouchers?: VoucherBook
  /** Redeem authorities, the same the lock types were given (default: vouchers and channel receipts). */
  authorities?: readonly RedeemAuthority[]
  /**
   * Name the community in every block this wallet makes (payload version 2, see payload.ts), so
   * that the agent's one chain can hold several communities' tokens: one wallet per community
   * over the same agent, each spending only its own community's balance. Default true: every
   * economy block names its community. `false` keeps writing version-1 blocks (no community) and
   * reads the version-1 balance: only for a chain begun before version 2 that must go on as it
   * was. Deprecated: version 1 is read and validated as before, but new chains should not write it.
   */
  named?: boolean
}

/**
 * A wallet over an agent.
 * @param options agent, community, evidence store
 * @returns the wallet
 * @example
 * const wallet = createWallet({ agent, community, evidence })
 * await wallet.claim({ amount, certificate, proof })
 * const p = await wallet.send(bob.publicKey, 10)
 */
export function createWallet(options: WalletOptions): Wallet {
  const { agent, community, evidence } = options
  if (agent === undefined || community === undefined || evidence === undefined) throw new TypeError('"agent", "community" and "evidence" are required')
  let tail: Promise<unknown> = Promise.resolve()
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn)
    tail = run.catch(() => undefined)
    return run
  }
  const named = options.named === false ? undefined : community.id
  const field = communityField(named)
  const balanceIn = async (c: Uint8Array | undefined): Promise<number> => {
    const b = await balanceOf(agent.store, agent.publicKey, community.crypto, c)
    if (b === undefined) throw new RangeError('the agent\'s balance is unknown: its own chain has a gap or a malformed balance block')
    return b
  }
  const balance = (): Promise<number> => balanceIn(named)
  const lastClaimedEpoch = async (): Promise<number> => {
    const latest = await agent.store.latest(agent.publicKey)
    if (latest === undefined) return -1
    const mine = (b: HalfBlock): boolean => b.type === REWARD && sameCommunity(readReward(b.payload)?.community, named)
    const walk = await walkBack(agent.store, agent.publicKey, latest.seq + 1, mine, undefined, community.crypto)
    return walk.status === 'found' ? (readReward(walk.block.payload)?.epoch ?? -1) : -1
  }
  const spend = async (amount: number): Promise<number> => {
    auint('amount', amount, 1)
    const before = await balance()
    if (amount > before) throw new RangeError(`"amount" ${amount} exceeds the balance of ${before}`)
    return before - amount
  }

  const take = async (blocks: readonly HalfBlock[]): Promise<void> => {
    for (const block of blocks) {
      const known = await agent.store.get(block.publicKey, block.seq)
      if (known === undefined || !equalBytes(blockHash(known, community.crypto), blockHash(block, community.crypto))) await agent.receive(block)
    }
  }
  const lockContext: Omit<LockWalletContext, 'authorities'> = {
    agent,
    community,
    key: options.key,
    vouchers: options.vouchers ?? createVoucherBook(),
    balance,
    balanceIn,
    named,
    take,
  }
  // the lock operations' code is loaded at the first lock call (a page that makes none does not
  // load it; a failed load is tried again at the next call)
  let locks: Promise<LockOperations> | undefined
  const lockOps = (): Promise<LockOperations> =>
    (locks ??= import('./on-demand.js').then(
      (m) => m.lockOperations({ ...lockContext, authorities: new Map((options.authorities ?? m.defaultAuthorities()).map((a) => [a.kind, a])) }),
      (err: unknown) => {
        locks = undefined
        throw err
      },
    ))

  return Object.freeze({
    agent,
    lock: (request: Parameters<LockOperations['lock']>[0]) => serialized(async () => (await lockOps()).lock(request)),
    voucher: (lock: HalfBlock, amount: number) => serialized(async () => (await lockOps()).voucher(lock, amount)),
    acceptVoucher: (...args: Parameters<LockOperations['acceptVoucher']>) => serialized(async () => (await lockOps()).acceptVoucher(...args)),
    redeem: (...args: Parameters<LockOperations['redeem']>) => serialized(async () => (await lockOps()).redeem(...args)),
    consent: (lock: HalfBlock, amount: number) => serialized(async () => (await lockOps()).consent(lock, amount)),
    release: (...args: Parameters<LockOperations['release']>) => serialized(async () => (await lockOps()).release(...args)),
    balance: () => serialized(balance),
    lastClaimedEpoch: () => serialized(lastClaimedEpoch),
    claim: (claim: Claim) =>
      serialized(async () => {
        auint('amount', claim?.amount, 1)
        const { certificate, proof } = claim
        const errors = verifyRewardEvidence(agent.publicKey, { epoch: certificate.epoch, amount: claim.amount, root: certificate.root }, { certificate, proof }, community)
        if (errors.length > 0) throw new InvalidBlockError('the evidence does not back this claim', errors)
        evidence.put(agent.publicKey, claim.amount, { certificate, proof })
        // the balance is read under the agent's append lock: nothing can be appended in between
        return agent.append(REWARD, async () => rewardPayload({ epoch: certificate.epoch, amount: claim.amount, before: await balance(), root: certificate.root, community: named }))
      }),
    send: (to: Uint8Array, amount: number, options: { expires?: number } = {}) =>
      serialized(async () => {
        abytes('to', to, 32)
        auint('amount', amount, 1)
        const expires = options?.expires
        if (expires !== undefined) auint('expires', expires)
        return agent.propose(to, TRANSFER, async (): Promise<CborValue> => {
          const balance = await spend(amount)
          return expires === undefined ? { amount, balance, ...field } : { amount, balance, expires, ...field }
        })
      }),
    refund: (proposal: HalfBlock, ticket: QuorumSignatures) =>
      serialized(async () => {
        const p = proposal?.type === TRANSFER && proposal.linkSeq === 0 ? readTransfer(proposal.payload, false) : undefined
        if (p?.expires === undefined || !equalBytes(proposal.publicKey, agent.publicKey)) throw new RangeError('"proposal" is not an expiring transfer of this agent')
        if (!sameCommunity(p.community, named)) throw new RangeError('"proposal" is a transfer of another community than this wallet\'s')
        const held = await agent.store.get(agent.publicKey, proposal.seq)
        if (held === undefined || !equalBytes(blockHash(held, community.crypto), blockHash(proposal, community.crypto))) throw new RangeError('"proposal" is not the block at its seq of this agent\'s chain')
        // the balance is read under the append lock; the refund type's rules check the ticket and that it is the first refund
        return agent.append(REFUND, async () => {
          const after = (await balance()) + p.amount
          if (!Number.isSafeInteger(after)) throw new RangeError('the refund would take the balance beyond 2^53 - 1')
          return { seq: proposal.seq, amount: p.amount, balance: after, ticket: encodeSignatures(ticket), ...field }
        })
      }),
    accept: (proposal: HalfBlock, history: readonly HalfBlock[] = []) =>
      serialized(async () => {
        for (const block of history) {
          // blocks already held need no second check (and no second signature verification)
          const known = await agent.store.get(block.publicKey, block.seq)
          if (known === undefined || !equalBytes(blockHash(known, community.crypto), blockHash(block, community.crypto))) await agent.receive(block)
        }
        return agent.agree(proposal)
      }),
    complete: (agreement: HalfBlock) => serialized(() => agent.complete(agreement)),
    burn: (amount: number) =>
      serialized(async () => {
        auint('amount', amount, 1)
        return agent.append(BURN, async () => ({ amount, balance: await spend(amount), ...field }))
      }),
  })
}
