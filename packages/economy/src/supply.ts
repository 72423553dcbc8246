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
 *
 * Supply is per community (payload version 2, see payload.ts): every sum is kept per community a
 * block names (version-1 blocks, naming none, in a bucket of their own), and the equation must hold
 * in each, so tokens moved from one community's balance into another's would show. The report's
 * top-level sums are the totals over all; `communities` holds each one's.
 * @module
 */
import { blockHash, equalBytes, nobleCrypto, type BlockStore, type CryptoProvider, type HalfBlock } from '@tally/core'
import { LOCK, REDEEM, RELEASE, readLock, readRedeem, readRelease } from './lock/lock-payload.js'
import { BALANCE_TYPES, BURN, REFUND, REWARD, TRANSFER, balanceEntry, bucketOf, readRefund } from './payload.js'
import { keyString } from './util.js'

/** The sums of one community (or of all): see the module's equation. */
export interface SupplySums {
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

/** What auditSupply found: the totals, and the sums of each community. */
export interface SupplyReport extends SupplySums {
  /** Chains replayed. */
  readonly chains: number
  /** Chains whose valid prefix ends before their last stored block (a gap, a break or a balance that does not follow). */
  readonly truncated: number
  /**
   * Each community's sums, by its id in hex ('' for version-1 blocks, which name none). `ok` at
   * the top is true iff every community's equation holds.
   */
  readonly communities: ReadonlyMap<string, SupplySums>
}

/**
 * One community's sums from a report.
 * @param report what auditSupply found
 * @param community the community id, or undefined for version-1 blocks
 * @returns its sums (all 0 and ok when the view holds none of its blocks)
 * @example supplyOf(await auditSupply(store), community.id).rewards
 */
export function supplyOf(report: SupplyReport, community: Uint8Array | undefined): SupplySums {
  return report.communities.get(bucketOf(community)) ?? finish(newSums())
}

/**
 * Replay every chain in `store` and check conservation of supply, per community.
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
  const buckets = new Map<string, Sums>()
  const sums = (bucket: string): Sums => {
    let s = buckets.get(bucket)
    if (s === undefined) buckets.set(bucket, (s = newSums()))
    return s
  }

  // pass 2: the sums
  for (const prefix of prefixes.values()) {
    const back = new Set<number>()
    for (const block of prefix) if (block.type === REFUND) back.add(readRefund(block.payload)!.seq)
    const last = new Map<string, number>()
    for (const block of prefix) {
      if (!BALANCE_TYPES.has(block.type)) continue
      const entry = balanceEntry(block)!
      const bucket = bucketOf(entry.community)
      const s = sums(bucket)
      last.set(bucket, entry.balance)
      if (block.type === REWARD) s.rewards += entry.delta
      else if (block.type === BURN) s.burned -= entry.delta
      else if (block.type === TRANSFER && block.linkSeq === 0) {
        const agreement = await store.findAgreement(block.publicKey, block.seq, block.linkPublicKey)
        const agreed = agreement !== undefined && counted(agreement.publicKey, agreement.seq, blockHash(agreement, crypto))
        if (!agreed && !back.has(block.seq)) s.inFlight -= entry.delta
      } else if (block.type === REFUND) s.refunded += entry.delta
      else if (block.type === TRANSFER) {
        const proposal = await store.get(block.linkPublicKey, block.linkSeq)
        const sent = proposal === undefined ? undefined : balanceEntry(proposal)
        // a received amount counts as moved only when the proposal is counted and sent the same, in the same community
        if (proposal === undefined || !counted(proposal.publicKey, proposal.seq) || sent?.delta !== -entry.delta || bucketOf(sent.community) !== bucket) s.unmatched += entry.delta
      }
    }
    for (const [bucket, balance] of last) sums(bucket).balances += balance
  }
  const accused = new Set((await store.fraudProofs()).map((p) => keyString(p.publicKey)))
  auditLocks(prefixes, counted, accused, sums)
  const communities = new Map<string, SupplySums>()
  const total = newSums()
  let ok = true
  for (const [bucket, s] of buckets) {
    const done = finish(s)
    communities.set(bucket, done)
    ok &&= done.ok
    for (const k of SUM_KEYS) total[k] += s[k]
  }
  const all = finish(total)
  return { chains: prefixes.size, truncated, ...all, ok: ok && all.ok, communities }
}

/** What the locks in the valid prefixes still hold, what was taken from locks not in view, and what locks overpaid, per community. */
function auditLocks(
  prefixes: ReadonlyMap<string, HalfBlock[]>,
  counted: (key: Uint8Array, seq: number, hash?: Uint8Array) => boolean,
  accused: ReadonlySet<string>,
  sums: (bucket: string) => Sums,
): void {
  const locks = new Map<string, { amount: number; taken: number; bucket: string }>()
  const slot = (key: Uint8Array, seq: number): string => `${keyString(key)}|${seq}`
  for (const prefix of prefixes.values()) {
    for (const block of prefix) {
      if (block.type === LOCK) {
        const l = readLock(block)!
        locks.set(slot(block.publicKey, block.seq), { amount: l.amount, taken: 0, bucket: bucketOf(l.community) })
      }
    }
  }
  for (const prefix of prefixes.values()) {
    for (const block of prefix) {
      if (block.type === RELEASE) {
        const r = readRelease(block.payload)!
        const bucket = bucketOf(r.community)
        const lock = locks.get(slot(block.publicKey, r.lock))
        if (lock === undefined || lock.bucket !== bucket) sums(bucket).unbacked += r.amount
        else lock.taken += r.amount
      } else if (block.type === REDEEM) {
        const r = readRedeem(block.payload)!
        const bucket = bucketOf(r.community)
        const held = counted(r.lock.owner, r.lock.seq, r.lock.hash) ? locks.get(slot(r.lock.owner, r.lock.seq)) : undefined
        const lock = held?.bucket === bucket ? held : undefined
        if (lock !== undefined) lock.taken += r.amount
        // the lock's owner is a proven cheater (a fork: this view kept the other branch, or stops at the gap it left)
        else if (accused.has(keyString(r.lock.owner))) sums(bucket).forked += r.amount
        else sums(bucket).unbacked += r.amount
      }
    }
  }
  for (const { amount, taken, bucket } of locks.values()) {
    if (taken <= amount) sums(bucket).locked += amount - taken
    else sums(bucket).overdrawn += taken - amount
  }
}

/** The blocks from seq 1 while contiguous, chained, and with balances that follow, each in its community. */
function validPrefix(blocks: readonly HalfBlock[], crypto: CryptoProvider): HalfBlock[] {
  const out: HalfBlock[] = []
  const balances = new Map<string, number>()
  let previous: HalfBlock | undefined
  for (const block of blocks) {
    if (block.seq !== out.length + 1) break
    if (previous !== undefined && !equalBytes(block.previousHash, blockHash(previous, crypto))) break
    if (BALANCE_TYPES.has(block.type)) {
      const entry = balanceEntry(block)
      if (entry === undefined) break
      const bucket = bucketOf(entry.community)
      if (entry.balance !== (balances.get(bucket) ?? 0) + entry.delta || entry.balance < 0) break
      balances.set(bucket, entry.balance)
    }
    out.push(block)
    previous = block
  }
  return out
}

// ## Private helpers

const SUM_KEYS = ['balances', 'rewards', 'burned', 'inFlight', 'refunded', 'unmatched', 'locked', 'unbacked', 'overdrawn', 'forked'] as const
type Sums = { -readonly [K in (typeof SUM_KEYS)[number]]: number }

function newSums(): Sums {
  return { balances: 0, rewards: 0, burned: 0, inFlight: 0, refunded: 0, unmatched: 0, locked: 0, unbacked: 0, overdrawn: 0, forked: 0 }
}

function finish(s: Sums): SupplySums {
  return { ...s, ok: s.balances + s.inFlight - s.unmatched + s.locked - s.unbacked - s.forked === s.rewards - s.burned }
}
