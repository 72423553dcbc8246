/**
 * Honest chains for the fraud-kind fuzzer (test/fuzz/fraud-kinds.ts): how to make one — notes,
 * rewards, transfers and burns by one key with their balances right and claims in increasing
 * epochs — and how to recognise evidence that could be one (provesNothing), the judge of a false
 * accusation. The judge is written apart from the verifiers, from what an honest agent never signs.
 */
import { GENESIS_HASH, UNILATERAL_KEY, blockHash, equalBytes, signBlock, toHex, verifyBlock, type CborValue, type CryptoProvider, type HalfBlock, type SeedIdentity } from '@tally/core'
import { BALANCE_TYPES, LATE_CLAIM_EPOCHS, REWARD, balanceEntry } from '@tally/economy'

/** What a generator of valid proofs works with. */
export interface KindContext {
  /** Uniform in [0, 1), seeded. */
  readonly random: () => number
  readonly crypto: CryptoProvider
  /** The accused of every valid proof. */
  readonly cheater: SeedIdentity
  /** Honest agents: counterparties, and owners of the honest chains mutations draw from. */
  readonly others: readonly SeedIdentity[]
}


// ## Honest chains

export const T0 = 1_700_000_000_000
export const ROOT = new Uint8Array(32).fill(0x52)

/** Where a chain stands: the next block's seq - 1, previous hash, balance and last claimed epoch. */
export interface Tip {
  readonly seq: number
  readonly previousHash: Uint8Array
  readonly balance: number
  readonly epoch: number
}

export const START: Tip = { seq: 0, previousHash: GENESIS_HASH, balance: 0, epoch: -1 }

type Move = 'note' | 'reward' | 'send' | 'receive' | 'burn'

interface NextOptions {
  move?: Move
  /** An agreement's proposal: its key and seq. */
  link?: readonly [Uint8Array, number]
  /** Added to the balance that would follow (a lie). */
  off?: number
  /** The amount (a send or burn may then go below zero). */
  amount?: number
  /** A reward's epoch. */
  epoch?: number
}

/** The block `who` signs after `tip`: honest unless options say otherwise. */
export function honestNext(ctx: KindContext, who: SeedIdentity, tip: Tip, options: NextOptions = {}): { block: HalfBlock; tip: Tip } {
  let move = options.move ?? pick(ctx, ['note', 'reward', 'send', 'receive', 'burn'] as const)!
  if ((move === 'send' || move === 'burn') && tip.balance < 1 && options.amount === undefined) move = 'reward'
  const other = pick(ctx, ctx.others.filter((o) => o !== who))!.publicKey
  const amount = options.amount ?? (move === 'send' || move === 'burn' ? 1 + int(ctx, tip.balance) : 1 + int(ctx, 1000))
  const off = options.off ?? 0
  let linkPublicKey = UNILATERAL_KEY
  let linkSeq = 0
  let payload: CborValue
  let balance = tip.balance
  let epoch = tip.epoch
  switch (move) {
    case 'note':
      linkPublicKey = int(ctx, 2) === 0 ? UNILATERAL_KEY : other
      payload = ['note', int(ctx, 1_000_000)]
      break
    case 'reward':
      epoch = options.epoch ?? tip.epoch + 1 + int(ctx, 3)
      balance = tip.balance + amount + off
      payload = { epoch, amount, balance, root: ROOT }
      break
    case 'send':
      linkPublicKey = other
      balance = tip.balance - amount + off
      payload = { amount, balance }
      break
    case 'receive':
      // an honest agent answers a proposal once: the proposal's seq never repeats in its chain
      ;[linkPublicKey, linkSeq] = options.link ?? [other, 1 + tip.seq * 16 + int(ctx, 16)]
      balance = tip.balance + amount + off
      payload = { amount, balance, senderBalance: int(ctx, 5000) }
      break
    case 'burn':
      balance = tip.balance - amount + off
      payload = { amount, balance }
      break
  }
  const block = signBlock(
    { publicKey: who.publicKey, seq: tip.seq + 1, linkPublicKey, linkSeq, previousHash: tip.previousHash, type: move === 'send' || move === 'receive' ? 'transfer' : move, payload, timestamp: T0 + tip.seq + 1 },
    who,
    ctx.crypto,
  )
  return { block, tip: { seq: block.seq, previousHash: blockHash(block, ctx.crypto), balance, epoch } }
}

/**
 * An honest chain of `n` blocks by `who`: notes, rewards, transfers and burns, balances right.
 * @param ctx generator context
 * @param who the owner
 * @param n its length
 */
export function honestChain(ctx: KindContext, who: SeedIdentity, n: number): HalfBlock[] {
  return grow(ctx, who, n).blocks
}

/** `n` honest blocks after `start`; tips[i] is where the chain stood before blocks[i]. */
export function grow(ctx: KindContext, who: SeedIdentity, n: number, start: Tip = START): { blocks: HalfBlock[]; tips: Tip[]; tip: Tip } {
  const blocks: HalfBlock[] = []
  const tips: Tip[] = [start]
  for (let i = 0; i < n; i++) {
    const next = honestNext(ctx, who, tips[i]!)
    blocks.push(next.block)
    tips.push(next.tip)
  }
  return { blocks, tips, tip: tips[n]! }
}

/** An honest block at `tip` that is not `not` (another payload at the same position). */
export function differentNext(ctx: KindContext, tip: Tip, not: HalfBlock): HalfBlock {
  for (;;) {
    const block = honestNext(ctx, ctx.cheater, tip).block
    if (!equalBytes(blockHash(block, ctx.crypto), blockHash(not, ctx.crypto))) return block
  }
}

// ## The judge of a false accusation

/**
 * True when the accused's validly signed blocks in `proof` could all belong to one honest chain:
 * then no proof made of them may verify. Written apart from the verifiers, from what an honest
 * agent never signs: two blocks at one seq, a block that does not chain to the one before it, a
 * block breaking the invariants (genesis hash, self link, a unilateral block with a linkSeq), a
 * second agreement to one proposal, a reward, transfer or burn of the wrong shape, a negative
 * balance or one that does not follow from the previous balance block (or from 0 at genesis) where
 * the evidence holds the chain between them, and two reward claims of one epoch or one claim more
 * than LATE_CLAIM_EPOCHS behind a claim before it.
 * @param proof any value
 * @param crypto provider for signatures and hashes
 */
export function provesNothing(proof: unknown, crypto: CryptoProvider): boolean {
  const { publicKey, blocks } = (proof ?? {}) as { publicKey?: unknown; blocks?: unknown }
  if (!(publicKey instanceof Uint8Array) || !Array.isArray(blocks)) return true
  const own = new Map<string, HalfBlock>()
  for (const b of blocks as HalfBlock[]) {
    let hash: Uint8Array
    try {
      hash = blockHash(b, crypto)
    } catch {
      continue // not a block at all
    }
    if (equalBytes(b.publicKey, publicKey) && verifyBlock(b, crypto)) own.set(toHex(hash), b)
  }
  return couldBeHonest([...own.values()], crypto)
}

function couldBeHonest(blocks: readonly HalfBlock[], crypto: CryptoProvider): boolean {
  const bySeq = new Map<number, HalfBlock>()
  for (const b of blocks) {
    if (bySeq.has(b.seq)) return false // two different blocks at one seq
    bySeq.set(b.seq, b)
  }
  const answered = new Set<string>()
  for (const b of blocks) {
    const unilateral = equalBytes(b.linkPublicKey, UNILATERAL_KEY)
    if (b.seq < 1 || (b.seq === 1) !== equalBytes(b.previousHash, GENESIS_HASH)) return false
    if (equalBytes(b.publicKey, b.linkPublicKey) || (unilateral && b.linkSeq !== 0)) return false
    const previous = bySeq.get(b.seq - 1)
    if (previous !== undefined && !equalBytes(b.previousHash, blockHash(previous, crypto))) return false
    if (b.linkSeq > 0) {
      const proposal = `${toHex(b.linkPublicKey)}:${b.linkSeq}`
      if (answered.has(proposal)) return false
      answered.add(proposal)
    }
    if (!BALANCE_TYPES.has(b.type)) continue
    const entry = balanceEntry(b)
    if (entry === undefined || unilateral !== (b.type !== 'transfer') || entry.balance < 0) return false
    const before = balanceBefore(b, bySeq)
    if (before !== undefined && entry.balance !== before + entry.delta) return false
  }
  // one claim per epoch, each within LATE_CLAIM_EPOCHS of the highest claimed before it — per
  // community (payload version 2); one root is one community's epoch table, never claimed twice
  const rewards = blocks.filter((b) => b.type === REWARD).sort((a, b) => a.seq - b.seq)
  const highest = new Map<string, number>()
  const seen = new Set<string>()
  const roots = new Set<string>()
  for (const b of rewards) {
    const { epoch: e, root } = b.payload as { epoch: number; root: Uint8Array }
    const c = communityOf(b)
    const h = highest.get(c) ?? Number.NEGATIVE_INFINITY
    if (seen.has(`${c}:${e}`) || e <= h - LATE_CLAIM_EPOCHS || roots.has(`${e}:${toHex(root)}`)) return false
    seen.add(`${c}:${e}`)
    roots.add(`${e}:${toHex(root)}`)
    highest.set(c, Math.max(h, e))
  }
  return true
}

/** The community a block's payload names, in hex ('' when it names none: payload version 1). */
function communityOf(b: HalfBlock): string {
  const c = (b.payload as { community?: unknown } | null)?.community
  return c instanceof Uint8Array ? toHex(c) : ''
}

/** The owner's balance before `b`, when the blocks back to its previous balance block (or genesis) are all there. */
export function balanceBefore(b: HalfBlock, bySeq: ReadonlyMap<number, HalfBlock>): number | undefined {
  // balances are per community (payload version 2): the previous balance block naming the same one
  const c = communityOf(b)
  for (let seq = b.seq - 1; seq >= 0; seq--) {
    if (seq === 0) return 0
    const a = bySeq.get(seq)
    if (a === undefined) return undefined
    if (BALANCE_TYPES.has(a.type) && (balanceEntry(a) === undefined || communityOf(a) === c)) return balanceEntry(a)?.balance
  }
  return undefined
}

// ## Random choices

export function int(ctx: KindContext, n: number): number {
  return Math.floor(ctx.random() * n)
}

export function pick<T>(ctx: KindContext, items: readonly T[]): T | undefined {
  return items[int(ctx, items.length)]
}

export function bytes(ctx: KindContext, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => int(ctx, 256))
}
