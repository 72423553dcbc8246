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
import { BALANCE_TYPES, balanceEntry, type BalanceEntry } from './payload.js'
import { keyString, violation } from './util.js'

/** The fraud kind of a balance that does not follow. */
export const BALANCE_FRAUD = 'balance'

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
  const walk = await walkBack(store, block.publicKey, block.seq, isBalanceBlock, previous, crypto)
  if (walk.status === 'unknown') return undefined
  if (walk.status === 'genesis') return { balance: 0, segment: walk.segment }
  const entry = balanceEntry(walk.block)
  return entry === undefined ? undefined : { balance: entry.balance, segment: walk.segment }
}

/**
 * The balance of `publicKey` per its latest balance block in `store` (0 when it has none).
 * @param store a store holding the chain
 * @param publicKey the agent
 * @param crypto provider for hash links (default: the one blocks were hashed with)
 * @returns the balance, or undefined when the chain has gaps before its latest balance block
 * @example const balance = await balanceOf(agent.store, agent.publicKey)
 */
export async function balanceOf(store: BlockStore, publicKey: Uint8Array, crypto?: CryptoProvider): Promise<number | undefined> {
  const latest = await store.latest(publicKey)
  if (latest === undefined) return 0
  if (isBalanceBlock(latest)) return balanceEntry(latest)?.balance
  const before = await balanceBefore(store, latest, undefined, crypto ?? nobleCrypto)
  return before?.balance
}

/** Where a replay of a chain stopped: its seq, the hash of the block there, the balance after it. */
export interface ReplayPoint {
  readonly seq: number
  readonly hash: Uint8Array | undefined
  readonly balance: number
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
  let balance = 0
  let hash: Uint8Array | undefined
  // the blocks since the last balance block (or genesis): the evidence if the next one is wrong
  let segment: HalfBlock[] | undefined = []
  if (from !== undefined && from.seq <= upTo && from.seq > 0 && from.hash !== undefined) {
    const there = await store.get(publicKey, from.seq)
    if (there !== undefined && equalBytes(blockHash(there, crypto), from.hash)) {
      ;({ seq, balance, hash } = from)
      segment = isBalanceBlock(there) ? [there] : undefined
    }
  }
  while (seq < upTo) {
    const chunk = await store.range(publicKey, { from: seq + 1, to: upTo, limit: 256 })
    if (chunk.length === 0) return { ok: false, reason: 'history-missing', seq: seq + 1 }
    for (const b of chunk) {
      if (b.seq !== seq + 1) return { ok: false, reason: 'history-missing', seq: seq + 1 }
      if (hash !== undefined && !equalBytes(b.previousHash, hash)) return { ok: false, reason: 'history-broken', seq: b.seq }
      if (isBalanceBlock(b)) {
        const entry = balanceEntry(b)
        if (entry === undefined || entry.balance !== balance + entry.delta || entry.balance < 0) {
          const fraud = segment !== undefined && segment.length < FRAUD_PROOF_LIMITS.maxBlocks ? createFraudProof(BALANCE_FRAUD, [...segment, b]) : undefined
          const proven = fraud !== undefined && verifyBalanceFraud(fraud.blocks, crypto) === undefined
          return proven ? { ok: false, reason: 'balance', seq: b.seq, fraud } : { ok: false, reason: 'balance', seq: b.seq }
        }
        balance = entry.balance
        segment = [b]
      } else if (segment !== undefined) {
        segment.push(b)
        if (segment.length >= FRAUD_PROOF_LIMITS.maxBlocks) segment = undefined
      }
      seq = b.seq
      hash = blockHash(b, crypto)
    }
  }
  return { ok: true, point: { seq, hash, balance } }
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
      if (verifyBalanceFraud(proof.blocks, crypto) === undefined) fraud = proof
    }
  }
  return fraud === undefined ? { errors } : { errors, fraud }
}

/**
 * The stand-alone verifier of 'balance' fraud: the evidence is a chain segment of one key, from
 * its previous balance block (or from genesis) to a balance block whose balance does not follow,
 * or is negative. The blocks' signatures are checked by core's verifyFraudProof before this.
 * @returns undefined when the evidence proves fraud, else the reason it does not
 */
export const verifyBalanceFraud: FraudVerifier = (blocks, crypto, attachments) => {
  if ((attachments?.length ?? 0) > 0) return 'balance fraud takes no attachments'
  const n = blocks.length
  if (n < 1 || n > FRAUD_PROOF_LIMITS.maxBlocks) return 'balance fraud needs 1 to 16 blocks'
  for (let i = 1; i < n; i++) {
    const a = blocks[i - 1]!
    const b = blocks[i]!
    if (b.seq !== a.seq + 1 || !equalBytes(b.previousHash, blockHash(a, crypto))) return 'the blocks are not consecutive in one chain'
  }
  const last = blocks[n - 1]!
  const entry = isBalanceBlock(last) ? balanceEntry(last) : undefined
  if (entry === undefined) return 'the last block is not a well-formed balance block'
  let start: number
  let from: number
  const first = blocks[0]!
  if (n >= 2 && isBalanceBlock(first)) {
    const e = balanceEntry(first)
    if (e === undefined) return 'the first block is a malformed balance block'
    start = e.balance
    from = 1
  } else {
    if (first.seq !== 1) return 'the segment starts neither at a balance block nor at genesis'
    start = 0
    from = 0
  }
  for (let i = from; i < n - 1; i++) if (isBalanceBlock(blocks[i]!)) return 'a balance block sits between the two'
  const expected = start + entry.delta
  return entry.balance !== expected || entry.balance < 0 ? undefined : 'the balance follows'
}

/** True iff the block is of a type that carries a balance. */
export function isBalanceBlock(block: HalfBlock): boolean {
  return BALANCE_TYPES.has(block.type)
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
  if (replay.point.balance - amount !== balance) return { reason: 'balance', message: `the balance ${balance} does not follow from ${replay.point.balance} - ${amount}` }
  return undefined
}
