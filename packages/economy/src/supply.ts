/**
 * Supply audit: replay every chain a store holds and check that supply is conserved — the sum of
 * all balances equals the rewards claimed minus what was burned, counting transfers whose
 * agreement is not (yet) in view as in flight, and what open locks still hold:
 *
 *   balances + inFlight − unmatched + locked − unbacked = rewards − burned
 *
 * `locked` sums, over the locks in view, the amount minus what was released and redeemed from it;
 * `unbacked` sums redeems and releases of locks that are not in view (0 in a complete honest view);
 * `forked` sums redeems of locks not in view whose owner is proven a cheater (a fork: the value the
 * forker created, shown by its fork proof).
 * A lock that paid out more than it held (a release that contradicted a voucher, which a
 * 'release-excess' proof shows) is `overdrawn`, and then the equation fails by that much.
 *
 * Each chain counts from seq 1 for as long as it is contiguous and its balances follow (its
 * *valid prefix*; a stored block after a gap or after a balance that does not follow is not
 * counted, and is reported). `unmatched` sums agreements whose proposal is not in the valid prefix
 * of its chain: 0 in a complete honest view. `balances` is the sum of the balances the chains
 * claim, so the equation holds exactly when no counted block created or lost a token.
 *
 * A transfer proposal that its sender's chain refunds (a `refund` block with the witnesses' void
 * ticket) is back in the sender's balance, not in flight. A proposal both agreed to and refunded
 * would count twice, and the equation fails: that is the token a conflicting witness created
 * (ticket.ts finds the witness).
 * @module
 */
import { blockHash, equalBytes, nobleCrypto, type BlockStore, type CryptoProvider, type HalfBlock } from '@tally/core'
import { LOCK, REDEEM, RELEASE, readLock, readRedeem, readRelease } from './lock/lock-payload.js'
import { BALANCE_TYPES, BURN, REFUND, REWARD, TRANSFER, balanceEntry, readRefund } from './payload.js'
import { keyString } from './util.js'

/** What auditSupply found. */
export interface SupplyReport {
  /** Chains replayed. */
  readonly chains: number
  /** Sum of every chain's balance, as the last balance block of its valid prefix claims it. */
  readonly balances: number
  /** Sum of reward amounts. */
  readonly rewards: number
  /** Sum of burned amounts. */
  readonly burned: number
  /** Sum of transfer proposals without their agreement in view, and not refunded. */
  readonly inFlight: number
  /** Sum of refunds (expiring transfers that came back to their senders). */
  readonly refunded: number
  /** Sum of transfer agreements without their proposal in view. */
  readonly unmatched: number
  /** Chains whose valid prefix ends before their last stored block (a gap, a break or a balance that does not follow). */
  readonly truncated: number
  /** What the locks in view still hold: Σ (amount − released − redeemed), over locks not overdrawn. */
  readonly locked: number
  /** Sum of redeems and releases whose lock is not in view. */
  readonly unbacked: number
  /** Sum of what locks paid out beyond their amount. */
  readonly overdrawn: number
  /**
   * Sum of redeems from locks not in view whose owner this view holds a fraud proof against (a
   * fork: the view kept the other branch, or its copy of the chain stops at the gap the fork
   * left). Value the cheater created or that cannot be told apart from it, kept apart from
   * `unbacked`, which then counts only what an honest owner's missing blocks hide.
   */
  readonly forked: number
  /** True iff balances + inFlight − unmatched + locked − unbacked − forked = rewards − burned. */
  readonly ok: boolean
}

/**
 * Replay every chain in `store` and check conservation of supply.
 * @param store the view to audit
 * @param crypto provider for hash links (default nobleCrypto)
 * @returns the sums and whether they add up
 * @example const report = await auditSupply(observer.store); assert.ok(report.ok)
 */
export async function auditSupply(store: BlockStore, crypto: CryptoProvider = nobleCrypto): Promise<SupplyReport> {
  // pass 1: each chain's valid prefix
  const prefixes = new Map<string, HalfBlock[]>()
  let truncated = 0
  for (const key of await store.agents()) {
    const blocks = await store.range(key)
    const prefix = validPrefix(blocks, crypto)
    if (prefix.length < blocks.length) truncated++
    prefixes.set(keyString(key), prefix)
  }
  const counted = (key: Uint8Array, seq: number, hash?: Uint8Array): boolean => {
    const b = prefixes.get(keyString(key))?.[seq - 1]
    return b !== undefined && (hash === undefined || equalBytes(blockHash(b, crypto), hash))
  }

  // pass 2: the sums
  let balances = 0
  let rewards = 0
  let burned = 0
  let inFlight = 0
  let refunded = 0
  let unmatched = 0
  for (const prefix of prefixes.values()) {
    const back = new Set<number>()
    for (const block of prefix) if (block.type === REFUND) back.add(readRefund(block.payload)!.seq)
    let last = 0
    for (const block of prefix) {
      if (!BALANCE_TYPES.has(block.type)) continue
      const entry = balanceEntry(block)!
      last = entry.balance
      if (block.type === REWARD) rewards += entry.delta
      else if (block.type === BURN) burned -= entry.delta
      else if (block.type === TRANSFER && block.linkSeq === 0) {
        const agreement = await store.findAgreement(block.publicKey, block.seq, block.linkPublicKey)
        const agreed = agreement !== undefined && counted(agreement.publicKey, agreement.seq, blockHash(agreement, crypto))
        if (!agreed && !back.has(block.seq)) inFlight -= entry.delta
      } else if (block.type === REFUND) refunded += entry.delta
      else if (block.type === TRANSFER) {
        const proposal = await store.get(block.linkPublicKey, block.linkSeq)
        // a received amount counts as moved only when the proposal is counted and sent the same
        if (proposal === undefined || !counted(proposal.publicKey, proposal.seq) || balanceEntry(proposal)?.delta !== -entry.delta) unmatched += entry.delta
      }
    }
    balances += last
  }
  const accused = new Set((await store.fraudProofs()).map((p) => keyString(p.publicKey)))
  const { locked, unbacked, overdrawn, forked } = auditLocks(prefixes, counted, accused)
  const ok = balances + inFlight - unmatched + locked - unbacked - forked === rewards - burned
  return { chains: prefixes.size, balances, rewards, burned, inFlight, refunded, unmatched, truncated, locked, unbacked, overdrawn, forked, ok }
}

/** What the locks in the valid prefixes still hold, what was taken from locks not in view, and what locks overpaid. */
function auditLocks(
  prefixes: ReadonlyMap<string, HalfBlock[]>,
  counted: (key: Uint8Array, seq: number, hash?: Uint8Array) => boolean,
  accused: ReadonlySet<string>,
): { locked: number; unbacked: number; overdrawn: number; forked: number } {
  const locks = new Map<string, { amount: number; taken: number }>()
  const slot = (key: Uint8Array, seq: number): string => `${keyString(key)}|${seq}`
  for (const prefix of prefixes.values()) {
    for (const block of prefix) {
      if (block.type === LOCK) locks.set(slot(block.publicKey, block.seq), { amount: readLock(block)!.amount, taken: 0 })
    }
  }
  let unbacked = 0
  let forked = 0
  for (const prefix of prefixes.values()) {
    for (const block of prefix) {
      if (block.type === RELEASE) {
        const r = readRelease(block.payload)!
        const lock = locks.get(slot(block.publicKey, r.lock))
        if (lock === undefined) unbacked += r.amount
        else lock.taken += r.amount
      } else if (block.type === REDEEM) {
        const r = readRedeem(block.payload)!
        const lock = counted(r.lock.owner, r.lock.seq, r.lock.hash) ? locks.get(slot(r.lock.owner, r.lock.seq)) : undefined
        if (lock !== undefined) lock.taken += r.amount
        // the lock's owner is a proven cheater (a fork: this view kept the other branch, or stops at the gap it left)
        else if (accused.has(keyString(r.lock.owner))) forked += r.amount
        else unbacked += r.amount
      }
    }
  }
  let locked = 0
  let overdrawn = 0
  for (const { amount, taken } of locks.values()) {
    if (taken <= amount) locked += amount - taken
    else overdrawn += taken - amount
  }
  return { locked, unbacked, overdrawn, forked }
}

/** The blocks from seq 1 while contiguous, chained, and with balances that follow. */
function validPrefix(blocks: readonly HalfBlock[], crypto: CryptoProvider): HalfBlock[] {
  const out: HalfBlock[] = []
  let balance = 0
  let previous: HalfBlock | undefined
  for (const block of blocks) {
    if (block.seq !== out.length + 1) break
    if (previous !== undefined && !equalBytes(block.previousHash, blockHash(previous, crypto))) break
    if (BALANCE_TYPES.has(block.type)) {
      const entry = balanceEntry(block)
      if (entry === undefined || entry.balance !== balance + entry.delta || entry.balance < 0) break
      balance = entry.balance
    }
    out.push(block)
    previous = block
  }
  return out
}
