/**
 * Balances (FR4): every reward, transfer and burn block carries its owner's balance after the
 * block, and that balance must follow from the owner's previous balance block: rewards and
 * received transfers add their amount, sent transfers and burns subtract it, other block types
 * leave it alone, and it never goes below zero. A chain's first balance block starts from 0.
 *
 * A block whose balance does not follow is fraud, and the proof is the chain segment from the
 * previous balance block (or genesis) to the block — two consecutive blocks in the usual case,
 * verifiable alone (fraud kind 'balance'). An honest chain's arithmetic always adds up, so no
 * 'balance' proof against an honest agent can verify.
 *
 * Balances are per community (payload version 2, see payload.ts): "the previous balance block" is
 * the previous one naming the same community (version-1 blocks, naming none, are one more), and a
 * proof's segment may hold other communities' balance blocks between.
 *
 * When the previous balance block is not known (a partial view), the rule cannot be checked here
 * and is not reported; a receiver asked to countersign requires it (see transfer.ts).
 * @module
 */
import {
  FRAUD_PROOF_LIMITS,
  blockHash,
  createFraudProof,
  equalBytes,
  nobleCrypto,
  type BlockStore,
  type CryptoProvider,
  type FraudProof,
  type FraudVerifier,
  type HalfBlock,
  type Refusal,
  type TypeContext,
  type TypeVerdict,
} from '@tally/core'
import { indexedBalance, isIndexed } from './balance-index.js'
import { BALANCE_TYPES, balanceEntry, bucketOf, type BalanceEntry } from './payload.js'
import { keyString, violation } from './util.js'
import { fraudVerifier } from './fraud-kinds.js'
import { BALANCE_FRAUD } from './fraud-names.js'

/** The fraud kind of a balance that does not follow. */
export { BALANCE_FRAUD }

/** What walking back through a chain found. */
export type WalkResult =
  | {
      /** A matching block was found. */
      readonly status: 'found'
      readonly block: HalfBlock
      /** found block and the blocks after it up to seq - 1, oldest first; undefined when longer than the fraud-proof limit. */
      readonly segment: readonly HalfBlock[] | undefined
    }
  | {
      /** The chain from genesis holds no matching block. */
      readonly status: 'genesis'
      readonly segment: readonly HalfBlock[] | undefined
    }
  | {
      /** A block on the way is missing or does not chain: undecidable here. */
      readonly status: 'unknown'
    }

/**
 * Walk back from seq - 1 of `publicKey`'s chain to the nearest block that `match`es.
 * @param store where the chain is
 * @param publicKey the chain
 * @param seq start below this seq
 * @param match what to look for
 * @param previous the block at seq - 1, when the caller has it
 * @param crypto provider for hashes
 * @returns found, genesis, or unknown
 * @internal
 */
export async function walkBack(
  store: BlockStore,
  publicKey: Uint8Array,
  seq: number,
  match: (block: HalfBlock) => boolean,
  previous: HalfBlock | undefined,
  crypto: CryptoProvider,
): Promise<WalkResult> {
  const kept: HalfBlock[] = []
  let keep = true
  let expected = seq - 1
  let after: HalfBlock | undefined
  const visit = (b: HalfBlock): 'found' | 'next' | 'broken' => {
    if (b.seq !== expected) return 'broken'
    if (after !== undefined && !equalBytes(after.previousHash, blockHash(b, crypto))) return 'broken'
    if (keep) {
      kept.push(b)
      if (kept.length >= FRAUD_PROOF_LIMITS.maxBlocks) keep = false
    }
    after = b
    expected--
    return match(b) ? 'found' : 'next'
  }
  const done = (status: 'found' | 'genesis', block?: HalfBlock): WalkResult => {
    const segment = keep ? kept.reverse() : undefined
    return status === 'found' ? { status, block: block!, segment } : { status, segment }
  }
  if (expected === 0) return done('genesis')
  if (previous !== undefined && previous.seq === expected && equalBytes(previous.publicKey, publicKey)) {
    const step = visit(previous)
    if (step === 'found') return done('found', previous)
    if (step === 'broken') return { status: 'unknown' }
    if (expected === 0) return done('genesis')
  }
  while (expected > 0) {
    const chunk = await store.range(publicKey, { to: expected, reverse: true, limit: 32 })
    if (chunk.length === 0) return { status: 'unknown' }
    for (const b of chunk) {
      const step = visit(b)
      if (step === 'found') return done('found', b)
      if (step === 'broken') return { status: 'unknown' }
      if (expected === 0) return done('genesis')
    }
  }
  return done('genesis')
}

/**
 * The owner's balance before `block`, from the chain in `store`.
 * @param store the chain's store
 * @param block the block (its key and seq)
 * @param previous the block at seq - 1, when known
 * @param crypto provider
 * @returns the balance and the evidence segment, or undefined when the chain is not known far enough back
 * @internal
 */
export async function balanceBefore(
  store: BlockStore,
  block: HalfBlock,
  previous: HalfBlock | undefined,
  crypto: CryptoProvider,
): Promise<{ balance: number; segment: readonly HalfBlock[] | undefined } | undefined> {
  const bucket = bucketOf(balanceEntry(block)?.community)
  const match = inBucket(bucket)
  const near = await walkNear(store, block.publicKey, block.seq, match, previous, crypto)
  if (near !== 'far') {
    const walk = near
    if (walk.status === 'unknown') return undefined
    if (walk.status === 'genesis') return { balance: 0, segment: walk.segment }
    const entry = balanceEntry(walk.block)
    return entry === undefined ? undefined : { balance: entry.balance, segment: walk.segment }
  }
  // the community's previous balance block is far back (other communities' blocks between): the
  // index, when the block follows the chain's latest block; the segment is too long for a proof
  const latest = await store.latest(block.publicKey)
  if (latest !== undefined && latest.seq === block.seq - 1 && equalBytes(block.previousHash, blockHash(latest, crypto))) {
    const indexed = await indexedBalance(store, latest, bucket, crypto)
    if (indexed !== undefined) return indexed.balance === undefined ? undefined : { balance: indexed.balance, segment: undefined }
  }
  const walk = await walkBack(store, block.publicKey, block.seq, match, previous, crypto)
  if (walk.status === 'unknown') return undefined
  if (walk.status === 'genesis') return { balance: 0, segment: walk.segment }
  const entry = balanceEntry(walk.block)
  return entry === undefined ? undefined : { balance: entry.balance, segment: walk.segment }
}

/** How many blocks back a walk goes before the index is asked instead (see balance-index.ts). */
const NEAR = 32

/**
 * walkBack over at most NEAR blocks: its result when it ends within them, 'far' when not.
 * @internal
 */
async function walkNear(
  store: BlockStore,
  publicKey: Uint8Array,
  seq: number,
  match: (block: HalfBlock) => boolean,
  previous: HalfBlock | undefined,
  crypto: CryptoProvider,
): Promise<WalkResult | 'far'> {
  let seen = 0
  const walk = await walkBack(store, publicKey, seq, (b) => match(b) || ++seen >= NEAR, previous, crypto)
  return walk.status === 'found' && !match(walk.block) ? 'far' : walk
}

/**
 * The balance of `publicKey` in one community, per its latest balance block naming that community
 * in `store` (0 when it has none). Without `community`: the version-1 balance (blocks that name
 * no community), which is every balance of a chain made before payload version 2.
 * @param store a store holding the chain
 * @param publicKey the agent
 * @param crypto provider for hash links (default: the one blocks were hashed with)
 * @param community the community id (version-2 blocks naming it), or undefined (version-1 blocks)
 * @returns the balance, or undefined when the chain has gaps before its latest balance block
 * @example const balance = await balanceOf(agent.store, agent.publicKey, undefined, community.id)
 */
export async function balanceOf(store: BlockStore, publicKey: Uint8Array, crypto?: CryptoProvider, community?: Uint8Array): Promise<number | undefined> {
  const latest = await store.latest(publicKey)
  if (latest === undefined) return 0
  const bucket = bucketOf(community)
  const match = inBucket(bucket)
  if (match(latest)) return balanceEntry(latest)?.balance
  if (isIndexed(store, publicKey)) {
    // a chain looked up before: what was appended since, rather than up to 32 blocks back
    const indexed = await indexedBalance(store, latest, bucket, crypto ?? nobleCrypto)
    if (indexed !== undefined) return indexed.balance
  }
  const near = await walkNear(store, publicKey, latest.seq + 1, match, latest, crypto ?? nobleCrypto)
  // far back (a community absent from the chain's recent blocks): the index, read forward from its last lookup
  if (near === 'far') {
    const indexed = await indexedBalance(store, latest, bucket, crypto ?? nobleCrypto)
    if (indexed !== undefined) return indexed.balance
  }
  const walk = near !== 'far' ? near : await walkBack(store, publicKey, latest.seq + 1, match, latest, crypto ?? nobleCrypto)
  if (walk.status === 'unknown') return undefined
  if (walk.status === 'genesis') return 0
  return balanceEntry(walk.block)?.balance
}

/**
 * Where a replay of a chain stopped: its seq, the hash of the block there, the balances after it
 * (`balance` the version-1 one, `balances` every community's by bucketOf, version 1's as '').
 */
export interface ReplayPoint {
  readonly seq: number
  readonly hash: Uint8Array | undefined
  readonly balance: number
  readonly balances: ReadonlyMap<string, number>
}

/**
 * A replayed chain's balance in one community.
 * @param point where the replay ended
 * @param community the community id, or undefined for the version-1 balance
 * @returns the balance (0 when the chain holds none of it)
 * @example replayedBalance(replay.point, community.id)
 */
export function replayedBalance(point: ReplayPoint, community: Uint8Array | undefined): number {
  return point.balances.get(bucketOf(community)) ?? 0
}

/**
 * Replay a chain from genesis up to `upTo` and return its balance there, or undefined unless
 * every block from seq 1 is held, chains to the one before, and every balance block follows
 * (amounts added and subtracted, never below zero). Signatures are not checked again: the store
 * holds blocks that were validated when they came in. A receiver runs this before countersigning,
 * because a block stored before its predecessor was known had its balance checked against nothing.
 * @param store the store
 * @param publicKey the chain
 * @param upTo the last seq to replay
 * @param crypto provider for hashes
 * @param from a point an earlier replay reached (resumed from when the store still holds that block)
 * @returns where the replay ended, or why it stopped
 * @internal
 */
export async function replayBalance(
  store: BlockStore,
  publicKey: Uint8Array,
  upTo: number,
  crypto: CryptoProvider,
  from?: ReplayPoint,
): Promise<Replay> {
  let seq = 0
  let hash: Uint8Array | undefined
  // per community (bucketOf): the balance, and the blocks since its last balance block (or
  // genesis) — the evidence if its next one is wrong
  const books = new Map<string, { balance: number; segment: HalfBlock[] | undefined }>()
  // before a community's first block, its segment runs from genesis: the blocks seen so far
  let fromGenesis: HalfBlock[] | undefined = []
  if (from !== undefined && from.seq <= upTo && from.seq > 0 && from.hash !== undefined) {
    const there = await store.get(publicKey, from.seq)
    if (there !== undefined && equalBytes(blockHash(there, crypto), from.hash)) {
      ;({ seq, hash } = from)
      const bucket = isBalanceBlock(there) ? bucketOf(balanceEntry(there)?.community) : undefined
      for (const [b, balance] of from.balances) books.set(b, { balance, segment: b === bucket ? [there] : undefined })
      fromGenesis = undefined
    }
  }
  while (seq < upTo) {
    const chunk = await store.range(publicKey, { from: seq + 1, to: upTo, limit: 256 })
    if (chunk.length === 0) return { ok: false, reason: 'history-missing', seq: seq + 1 }
    for (const b of chunk) {
      if (b.seq !== seq + 1) return { ok: false, reason: 'history-missing', seq: seq + 1 }
      if (hash !== undefined && !equalBytes(b.previousHash, hash)) return { ok: false, reason: 'history-broken', seq: b.seq }
      const entry = isBalanceBlock(b) ? balanceEntry(b) : undefined
      if (isBalanceBlock(b)) {
        const bucket = bucketOf(entry?.community)
        const book = books.get(bucket) ?? { balance: 0, segment: fromGenesis === undefined ? undefined : [...fromGenesis] }
        if (entry === undefined || entry.balance !== book.balance + entry.delta || entry.balance < 0) {
          const segment = book.segment
          const fraud = segment !== undefined && segment.length < FRAUD_PROOF_LIMITS.maxBlocks ? createFraudProof(BALANCE_FRAUD, [...segment, b]) : undefined
          const proven = fraud !== undefined && (await fraudVerifier(BALANCE_FRAUD))(fraud.blocks, crypto) === undefined
          return proven ? { ok: false, reason: 'balance', seq: b.seq, fraud } : { ok: false, reason: 'balance', seq: b.seq }
        }
        for (const [other, o] of books) if (other !== bucket) grow(o, b)
        books.set(bucket, { balance: entry.balance, segment: [b] })
      } else for (const o of books.values()) grow(o, b)
      if (fromGenesis !== undefined) {
        fromGenesis.push(b)
        if (fromGenesis.length >= FRAUD_PROOF_LIMITS.maxBlocks) fromGenesis = undefined
      }
      seq = b.seq
      hash = blockHash(b, crypto)
    }
  }
  const balances = new Map<string, number>()
  for (const [b, book] of books) balances.set(b, book.balance)
  return { ok: true, point: { seq, hash, balance: balances.get('') ?? 0, balances } }
}

/**
 * The outcome of a replay: where it ended, or why it stopped (a block missing from the store, one
 * that does not chain, or a balance that does not follow — with the proof when the segment since
 * the last balance block fits in one).
 */
export type Replay =
  | { readonly ok: true; readonly point: ReplayPoint }
  | { readonly ok: false; readonly reason: 'history-missing' | 'history-broken' | 'balance'; readonly seq: number; readonly fraud?: FraudProof }

/**
 * The balance rule for one block: its balance equals the previous balance plus its delta, and is
 * not negative. Returns a 'balance' fraud proof when the evidence fits in one.
 * @param block the block (a balance type with a well-formed payload)
 * @param entry its balance entry
 * @param store the store it is validated against
 * @param previous the block at seq - 1, when known
 * @param crypto provider
 * @returns broken rules (empty when it follows or cannot be checked) and maybe a proof
 * @internal
 */
export async function checkBalance(
  block: HalfBlock,
  entry: BalanceEntry,
  store: BlockStore,
  previous: HalfBlock | undefined,
  crypto: CryptoProvider,
): Promise<TypeVerdict> {
  const before = await balanceBefore(store, block, previous, crypto)
  if (before === undefined) return { errors: [] }
  const expected = before.balance + entry.delta
  if (entry.balance === expected && entry.balance >= 0) return { errors: [] }
  const errors = [
    entry.balance < 0 && entry.balance === expected
      ? violation('balance-negative', `balance would go below zero: ${before.balance} ${sign(entry.delta)}`)
      : violation('balance', `balance ${entry.balance} does not follow from the previous balance ${before.balance} ${sign(entry.delta)}`),
  ]
  let fraud: FraudProof | undefined
  const segment = before.segment
  if (segment !== undefined && segment.length < FRAUD_PROOF_LIMITS.maxBlocks) {
    const last = segment[segment.length - 1]
    // only a segment that chains to this block proves anything on its own
    if (last === undefined ? block.seq === 1 : equalBytes(block.previousHash, blockHash(last, crypto))) {
      const proof = createFraudProof(BALANCE_FRAUD, [...segment, block])
      if ((await fraudVerifier(BALANCE_FRAUD))(proof.blocks, crypto) === undefined) fraud = proof
    }
  }
  return fraud === undefined ? { errors } : { errors, fraud }
}

/** True iff the block is of a type that carries a balance. */
export function isBalanceBlock(block: HalfBlock): boolean {
  return BALANCE_TYPES.has(block.type)
}

/**
 * A matcher of the balance blocks that count in one community's bucket (see bucketOf). A
 * malformed balance block matches every bucket: nothing can be read past it.
 * @param bucket the bucket
 * @returns the matcher
 * @internal
 */
export function inBucket(bucket: string): (block: HalfBlock) => boolean {
  return (block) => {
    if (!isBalanceBlock(block)) return false
    const entry = balanceEntry(block)
    return entry === undefined || bucketOf(entry.community) === bucket
  }
}

/** Add a block to a community's evidence segment (dropped once it is longer than a proof holds). */
function grow(book: { segment: HalfBlock[] | undefined }, block: HalfBlock): void {
  if (book.segment === undefined) return
  book.segment.push(block)
  if (book.segment.length >= FRAUD_PROOF_LIMITS.maxBlocks) book.segment = undefined
}

// ## Private helpers


function sign(delta: number): string {
  return delta >= 0 ? `+ ${delta}` : `- ${-delta}`
}

/**
 * Before countersigning a proposal that spends `amount` leaving `balance`: the proposer's chain
 * replays from genesis (every block present, chained, every balance following), the proposal
 * chains to it, and its balance follows. A block stored before its predecessor was known had its
 * balance checked against nothing, and a gap may hide an invalid block: hence the whole chain.
 * @param proposal the proposal
 * @param amount what it takes from the proposer's balance
 * @param balance the balance it claims after
 * @param ctx the type context (store, crypto)
 * @param replayed where earlier replays ended, by proposer (resumed from; bounded here)
 * @param who how refusals name the proposer ('sender', 'payer')
 * @returns undefined when it follows, else the refusal (with the proof when the history proves fraud)
 * @internal
 */
export async function proposerCanPay(
  proposal: HalfBlock,
  amount: number,
  balance: number,
  ctx: TypeContext,
  replayed: Map<string, ReplayPoint>,
  who: string,
): Promise<Refusal | undefined> {
  const proposer = keyString(proposal.publicKey)
  const replay = await replayBalance(ctx.store, proposal.publicKey, proposal.seq - 1, ctx.crypto, replayed.get(proposer))
  if (!replay.ok) {
    const message = replay.reason === 'history-missing' ? `the ${who}'s block at seq ${replay.seq} is not known here: send the history` : `the ${who}'s chain fails at seq ${replay.seq} (${replay.reason})`
    return replay.fraud === undefined ? { reason: replay.reason, message } : { reason: replay.reason, message, fraud: replay.fraud }
  }
  if (replayed.size >= 10_000) replayed.clear()
  replayed.set(proposer, replay.point)
  if (replay.point.hash !== undefined && !equalBytes(proposal.previousHash, replay.point.hash)) {
    return { reason: 'history-broken', message: `the proposal does not chain to the ${who}'s block before it` }
  }
  const before = replayedBalance(replay.point, balanceEntry(proposal)?.community)
  if (before - amount !== balance) return { reason: 'balance', message: `the balance ${balance} does not follow from ${before} - ${amount}` }
  return undefined
}
