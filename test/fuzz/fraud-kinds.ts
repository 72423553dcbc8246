/**
 * The fuzzer of every fraud-proof verifier, shared by test/fuzz.test.ts, test/fuzz.slow.ts and the
 * fraud-proof target of test/fuzz/harness.ts: core's kinds (double-sign, chain-break,
 * double-countersign) and the economy's (balance, reward-claim), fed to verifyFraudProof with
 * every registered verifier, as a node calls it.
 *
 * FRAUD_KINDS is the one table of kinds, each with a generator of valid proofs against a cheater
 * (evidence cut from a random honest-looking chain of rewards, transfers, burns and notes, then
 * the fraud). A new proof kind joins the fuzz by adding its row; a test fails while a registered
 * kind has none. Each valid proof is mutated a few times — evidence dropped, repeated, reordered,
 * replaced by blocks of honest chains or by random signed blocks; a field or a payload value
 * changed and the block signed again by its owner (then the blocks after it chained to it again,
 * or not); a block forged; the kind or the accused changed — and judged by three rules:
 *
 * - no throw: a verifier answers `{ ok: false, reason }`;
 * - no false accusation: a proof that verifies shows fraud by the accused, i.e. the accused's
 *   validly signed blocks in it cannot all belong to one honest chain (`provesNothing`, a model of
 *   an honest chain written apart from the verifiers, decides, see honest-chain.ts);
 * - bounded work: one signature check per block of evidence at most, and a few hashes a block.
 *
 * Random byte strings go to decodeFraudProof and on to the verifiers as well. Honest chains and the
 * judge are in test/fuzz/honest-chain.ts.
 */
import {
  createBlockTypes,
  FRAUD_PROOF_LIMITS,
  GENESIS_HASH,
  UNILATERAL_KEY,
  blockHash,
  createFraudProof,
  decodeFraudProof,
  encodeFraudProof,
  equalBytes,
  identityFromSeed,
  signBlock,
  toHex,
  verifyFraudProof,
  type CborValue,
  type CoreFraudKind,
  type CryptoProvider,
  type FraudProof,
  type FraudVerifier,
  type HalfBlock,
  type SeedIdentity,
  type UnsignedHalfBlock,
} from '@tally/core'
import { createRandom } from '@tally/gossip'
import { offerTypes } from '@tally/economy/market'
import { BALANCE_FRAUD, BALANCE_TYPES, LATE_CLAIM_EPOCHS, REWARD_CLAIM_FRAUD, balanceEntry, createEconomyTypes, createEvidenceStore, type Community } from '@tally/economy'
import { ROOT, START, T0, balanceBefore, bytes, differentNext, grow, honestNext, int, pick, provesNothing, type KindContext } from './honest-chain.ts'

export { honestChain, provesNothing, type KindContext } from './honest-chain.ts'

// ## The table

/** One fraud kind under fuzz. */
export interface FraudKindRow {
  readonly kind: string
  /** A valid proof of this kind against `ctx.cheater`, different at each call. */
  readonly valid: (ctx: KindContext) => FraudProof
}

// a Record, so that a kind added to CoreFraudKind fails to compile here until it has a generator
const CORE_KINDS: Record<CoreFraudKind, FraudKindRow['valid']> = {
  'double-sign': (ctx) => {
    const { blocks, tips } = grow(ctx, ctx.cheater, 1 + int(ctx, 8))
    const k = int(ctx, blocks.length)
    // a second block at the same seq and previous hash: a double spend from a restored backup
    return createFraudProof('double-sign', [blocks[k]!, differentNext(ctx, tips[k]!, blocks[k]!)])
  },
  'chain-break': (ctx) => {
    const { blocks, tips } = grow(ctx, ctx.cheater, 1 + int(ctx, 8))
    const k = int(ctx, blocks.length)
    // the block after it chains to a fork of it, or to bytes from nowhere
    const elsewhere = int(ctx, 2) === 0 ? blockHash(differentNext(ctx, tips[k]!, blocks[k]!), ctx.crypto) : bytes(ctx, 32)
    const next = honestNext(ctx, ctx.cheater, { ...tips[k + 1]!, previousHash: elsewhere }).block
    return createFraudProof('chain-break', [blocks[k]!, next])
  },
  'double-countersign': (ctx) => {
    const before = grow(ctx, ctx.cheater, int(ctx, 5))
    const first = honestNext(ctx, ctx.cheater, before.tip, { move: 'receive' })
    // the second agreement later in the chain, or at the same seq (a fork that answers twice)
    const at = int(ctx, 3) === 0 ? before.tip : grow(ctx, ctx.cheater, int(ctx, 4), first.tip).tip
    const link = [first.block.linkPublicKey, first.block.linkSeq] as const
    let second = honestNext(ctx, ctx.cheater, at, { move: 'receive', link }).block
    while (equalBytes(blockHash(second, ctx.crypto), blockHash(first.block, ctx.crypto))) second = honestNext(ctx, ctx.cheater, at, { move: 'receive', link }).block
    return createFraudProof('double-countersign', [first.block, second])
  },
}

const ECONOMY_KINDS: readonly FraudKindRow[] = [
  {
    kind: BALANCE_FRAUD,
    valid: (ctx) => {
      const { blocks, tip } = grow(ctx, ctx.cheater, int(ctx, 8))
      const move = pick(ctx, ['reward', 'send', 'receive', 'burn'] as const)
      // off by a few, or (a send or burn) spent below zero with the arithmetic right
      const below = (move === 'send' || move === 'burn') && int(ctx, 3) === 0
      const bad = below
        ? honestNext(ctx, ctx.cheater, tip, { move, amount: tip.balance + 1 + int(ctx, 100) })
        : honestNext(ctx, ctx.cheater, tip, { move, off: (1 + int(ctx, 5)) * (int(ctx, 2) === 0 ? 1 : -1) })
      // the evidence: from the previous balance block (or genesis) to the bad one
      const from = blocks.findLastIndex((b) => BALANCE_TYPES.has(b.type))
      return createFraudProof(BALANCE_FRAUD, [...blocks.slice(Math.max(0, from)), bad.block])
    },
  },
  {
    kind: REWARD_CLAIM_FRAUD,
    valid: (ctx) => {
      const before = grow(ctx, ctx.cheater, int(ctx, 4))
      // a claim far enough ahead that a claim beyond the late-claim window behind it exists
      const high = before.tip.epoch + 1 + LATE_CLAIM_EPOCHS + int(ctx, 8)
      const first = honestNext(ctx, ctx.cheater, before.tip, { move: 'reward', epoch: high })
      const between = grow(ctx, ctx.cheater, int(ctx, 5), first.tip)
      // a claim of the epoch already claimed, or one more than LATE_CLAIM_EPOCHS behind it, with its balance right
      const epoch = int(ctx, 2) === 0 ? high : int(ctx, high - LATE_CLAIM_EPOCHS + 1)
      return createFraudProof(REWARD_CLAIM_FRAUD, [first.block, honestNext(ctx, ctx.cheater, between.tip, { move: 'reward', epoch }).block])
    },
  },
]

/** Every fraud kind under fuzz, with its generator of valid proofs. Add a row for a new kind. */
export const FRAUD_KINDS: readonly FraudKindRow[] = [
  ...Object.entries(CORE_KINDS).map(([kind, valid]) => ({ kind, valid })),
  ...ECONOMY_KINDS,
]

/**
 * The verifiers a node holds: the economy's block types registered over a test community (core's
 * kinds are built into verifyFraudProof).
 * @param community the community (its configuration does not matter to the verifiers)
 */
export function registeredVerifiers(community: Community): ReadonlyMap<string, FraudVerifier> {
  const economy = createEconomyTypes({ community, evidence: createEvidenceStore(community) }).fraudVerifiers()
  // @tally/economy/market's types (offers) carry 'release-certified'
  const market = createBlockTypes(offerTypes(community)).fraudVerifiers()
  return new Map([...economy, ...market])
}

/**
 * A context for generators: a cheater and three honest agents from fixed seeds.
 * @param seed the PRNG seed
 * @param crypto provider (a native one keeps a long run fast)
 */
export function kindContext(seed: number, crypto: CryptoProvider): KindContext {
  const id = (n: number): SeedIdentity => identityFromSeed(new Uint8Array(32).fill(n).fill(0xf0, 0, 1), crypto)
  return { random: createRandom(seed), crypto, cheater: id(0xc4), others: [id(1), id(2), id(3)] }
}


// ## The fuzzer

/** What a run of the fraud-kind fuzzer found. */
export interface KindFuzzReport {
  inputs: number
  /** Per kind: mutated proofs fed, and how many still verified (as real fraud). */
  perKind: Record<string, { inputs: number; accepted: number }>
  /** Random byte strings fed to decodeFraudProof. */
  randomBytes: number
  /** Generators whose unmutated proof did not verify. */
  invalidGenerated: { kind: string; reason: string }[]
  /** A verifier or decoder threw something other than its documented error. */
  crashes: { kind: string; mutations: string; error: string }[]
  /** A proof that verified against a key whose blocks in it could be an honest chain. */
  falseAccusations: { kind: string; mutations: string; proof: string }[]
  /** More signature checks than blocks, or more than a few hashes a block. */
  overBudget: { kind: string; mutations: string; verifies: number; hashes: number }[]
}

/**
 * Feed `inputs` mutated proofs (round robin over FRAUD_KINDS) and, every 16th input, a random
 * byte string.
 * @param inputs how many
 * @param seed the PRNG seed: the same seed gives the same inputs
 * @param crypto provider
 * @param verifiers every registered verifier (registeredVerifiers)
 */
export function fuzzFraudKinds(inputs: number, seed: number, crypto: CryptoProvider, verifiers: ReadonlyMap<string, FraudVerifier>): KindFuzzReport {
  const ctx = kindContext(seed, crypto)
  const pool = honestPool(ctx)
  const report: KindFuzzReport = { inputs: 0, perKind: {}, randomBytes: 0, invalidGenerated: [], crashes: [], falseAccusations: [], overBudget: [] }
  for (let i = 0; i < inputs; i++) {
    report.inputs++
    if (i % 16 === 15) {
      report.randomBytes++
      judgeBytes(bytes(ctx, int(ctx, 600)), 'random bytes', 'random bytes', ctx, verifiers, report)
      continue
    }
    const row = FRAUD_KINDS[i % FRAUD_KINDS.length]!
    const counts = (report.perKind[row.kind] ??= { inputs: 0, accepted: 0 })
    counts.inputs++
    let proof: FraudProof
    try {
      proof = row.valid(ctx)
    } catch (err) {
      report.invalidGenerated.push({ kind: row.kind, reason: `the generator threw ${String(err)}` })
      continue
    }
    if (i % 8 === 0) {
      const verdict = verifyFraudProof(proof, { crypto, verifiers })
      if (!verdict.ok) report.invalidGenerated.push({ kind: row.kind, reason: verdict.reason })
    }
    const { value, names } = mutateProof(proof, ctx, pool)
    if (judge(value, row.kind, names, ctx, verifiers, report)) counts.accepted++
  }
  return report
}

/**
 * One input through verifyFraudProof under the three rules.
 * @returns whether it verified
 */
function judge(value: unknown, kind: string, mutations: string, ctx: KindContext, verifiers: ReadonlyMap<string, FraudVerifier>, report: Pick<KindFuzzReport, 'crashes' | 'falseAccusations' | 'overBudget'>): boolean {
  const crypto = counting(ctx.crypto)
  let ok: boolean
  try {
    ok = verifyFraudProof(value as FraudProof, { crypto, verifiers }).ok
  } catch (err) {
    report.crashes.push({ kind, mutations, error: String((err as Error)?.stack ?? err).slice(0, 400) })
    return false
  }
  const n = Array.isArray((value as FraudProof | undefined)?.blocks) ? (value as FraudProof).blocks.length : 0
  if (crypto.verifies > Math.min(n, FRAUD_PROOF_LIMITS.maxBlocks) || crypto.hashes > 4 * FRAUD_PROOF_LIMITS.maxBlocks) {
    report.overBudget.push({ kind, mutations, verifies: crypto.verifies, hashes: crypto.hashes })
  }
  if (ok && provesNothing(value, ctx.crypto)) report.falseAccusations.push({ kind, mutations, proof: describe(value) })
  return ok
}

function judgeBytes(input: Uint8Array, kind: string, mutations: string, ctx: KindContext, verifiers: ReadonlyMap<string, FraudVerifier>, report: KindFuzzReport): void {
  let proof: FraudProof
  try {
    proof = decodeFraudProof(input)
  } catch (err) {
    if ((err as { code?: unknown } | null)?.code !== 'ERR_DECODE') report.crashes.push({ kind, mutations, error: String((err as Error)?.stack ?? err).slice(0, 400) })
    return
  }
  judge(proof, kind, mutations, ctx, verifiers, report)
}

// ## Mutations

interface Pool {
  /** Honest chains: the cheater's own history and each honest agent's. */
  readonly chains: readonly (readonly HalfBlock[])[]
  /** Who can sign again for a key: the cheater and the honest agents (an attacker holds only its own key, but a mutation may stand for anyone's honest block). */
  readonly signers: ReadonlyMap<string, SeedIdentity>
}

function honestPool(ctx: KindContext): Pool {
  const people = [ctx.cheater, ...ctx.others]
  return {
    chains: [ctx.cheater, ...people].map((who) => grow(ctx, who, 20).blocks),
    signers: new Map(people.map((who) => [toHex(who.publicKey), who])),
  }
}

type Evidence = HalfBlock[]
type Mutation = (proof: { kind: string; publicKey: Uint8Array; blocks: Evidence }, ctx: KindContext, pool: Pool) => void

const MUTATIONS: readonly (readonly [string, Mutation])[] = [
  ['drop', (p, ctx) => void p.blocks.splice(int(ctx, p.blocks.length), 1)],
  ['repeat', (p, ctx) => {
    const b = pick(ctx, p.blocks)
    if (b !== undefined) p.blocks.push(b)
  }],
  ['reverse', (p) => void p.blocks.reverse()],
  ['flood', (p, ctx) => {
    // past the 16-block limit: refused before any signature is checked
    const n = p.blocks.length
    if (n > 0) p.blocks = Array.from({ length: FRAUD_PROOF_LIMITS.maxBlocks + 1 + int(ctx, 40) }, (_, i) => p.blocks[i % n]!)
  }],
  ['kind', (p, ctx) => void (p.kind = pick(ctx, [...FRAUD_KINDS.map((r) => r.kind), 'made-up'])!)],
  ['accused', (p, ctx) => void (p.publicKey = pick(ctx, [...ctx.others.map((o) => o.publicKey), bytes(ctx, 32)])!)],
  ['honest-block', (p, ctx, pool) => void p.blocks.splice(int(ctx, p.blocks.length), 1, pick(ctx, pick(ctx, pool.chains)!)!)],
  ['honest-window', (p, ctx, pool) => {
    const chain = pick(ctx, pool.chains)!
    const at = int(ctx, chain.length)
    p.blocks = chain.slice(at, at + 1 + int(ctx, 4))
    if (int(ctx, 2) === 0) p.publicKey = p.blocks[0]!.publicKey
  }],
  ['honest-alike', (p, ctx, pool) => {
    // blocks of one honest chain of the types the evidence has, in any order: honest evidence that looks the part
    const chain = pick(ctx, pool.chains)!
    p.blocks = p.blocks.map((b) => pick(ctx, chain.filter((c) => c.type === b.type && (c.linkSeq > 0) === (b.linkSeq > 0))) ?? pick(ctx, chain)!)
    if (int(ctx, 2) === 0) p.publicKey = chain[0]!.publicKey
  }],
  ['random-evidence', (p, ctx, pool) => {
    p.blocks = randomEvidence(ctx, pool)
    p.publicKey = p.blocks[0]!.publicKey
  }],
  ['field', (p, ctx, pool) => resignAt(p.blocks, int(ctx, p.blocks.length), ctx, pool, (b) => changeField(b, p.blocks, ctx))],
  ['payload', (p, ctx, pool) => resignAt(p.blocks, int(ctx, p.blocks.length), ctx, pool, (b) => ({ payload: changePayload(b, p.blocks, ctx) }))],
  ['copy', (p, ctx, pool) => {
    // one block signed again with another's content at its own position: often the same block twice
    const from = pick(ctx, p.blocks)
    if (from !== undefined) resignAt(p.blocks, int(ctx, p.blocks.length), ctx, pool, (b) => ({ ...fieldsOf(from), seq: b.seq, previousHash: b.previousHash }))
  }],
  ['forge', (p, ctx) => {
    const i = int(ctx, p.blocks.length)
    const b = p.blocks[i]
    if (b !== undefined) p.blocks[i] = Object.freeze({ ...b, ...changeField(b, p.blocks, ctx) })
  }],
  ['extend', (p, ctx) => {
    const last = p.blocks.at(-1)
    const tip = last === undefined ? START : { seq: last.seq, previousHash: blockHash(last, ctx.crypto), balance: balanceEntry(last)?.balance ?? 0, epoch: 0 }
    p.blocks.push(honestNext(ctx, ctx.cheater, tip).block)
  }],
]

/** 1-3 mutations of a valid proof, as a plain object (canonical order or not). */
function mutateProof(proof: FraudProof, ctx: KindContext, pool: Pool): { value: unknown; names: string } {
  const draft = { kind: proof.kind, publicKey: proof.publicKey, blocks: [...proof.blocks] }
  const names: string[] = []
  for (let r = 1 + int(ctx, 3); r > 0; r--) {
    const [name, mutation] = pick(ctx, MUTATIONS)!
    try {
      mutation(draft, ctx, pool)
      names.push(name)
    } catch {
      // a mutation that cannot apply to what earlier ones left (a balance past 2^53 to extend): skipped
    }
  }
  // half the time in canonical order, as decodeFraudProof would give it
  if (int(ctx, 2) === 0) {
    try {
      const canonical = createFraudProof(draft.kind, draft.blocks)
      return { value: { ...canonical, publicKey: draft.publicKey }, names: names.join('+') }
    } catch {
      // not a proof createFraudProof makes: feed the draft as it is
    }
  }
  return { value: draft, names: names.join('+') }
}

/**
 * Sign block i again with `change` applied, by its owner (or keep its signature when nobody here
 * holds the key); then, half the time, chain the blocks after it to it again.
 */
function resignAt(blocks: Evidence, i: number, ctx: KindContext, pool: Pool, change: (b: HalfBlock) => Partial<UnsignedHalfBlock>): void {
  const b = blocks[i]
  if (b === undefined) return
  let current = resign(b, change(b), ctx, pool)
  blocks[i] = current
  if (int(ctx, 2) === 0) return
  for (let j = 0; j < blocks.length; j++) {
    const next = blocks[j]!
    if (next.seq !== current.seq + 1 || !equalBytes(next.publicKey, current.publicKey)) continue
    current = resign(next, { previousHash: blockHash(current, ctx.crypto) }, ctx, pool)
    blocks[j] = current
    j = -1 // the chain goes on from the block just signed
    if (current.seq > b.seq + FRAUD_PROOF_LIMITS.maxBlocks) break
  }
}

function resign(b: HalfBlock, change: Partial<UnsignedHalfBlock>, ctx: KindContext, pool: Pool): HalfBlock {
  const fields = { ...fieldsOf(b), ...change }
  const signer = pool.signers.get(toHex(fields.publicKey))
  if (signer !== undefined) {
    try {
      return signBlock(fields, signer, ctx.crypto)
    } catch {
      // fields signBlock refuses (seq 0, a bad type): the old signature stays, a forgery
    }
  }
  return Object.freeze({ ...fields, signature: b.signature })
}

function changeField(b: HalfBlock, blocks: Evidence, ctx: KindContext): Partial<UnsignedHalfBlock> {
  const other = pick(ctx, blocks) ?? b
  switch (int(ctx, 7)) {
    case 0:
      return { seq: Math.max(0, b.seq + pick(ctx, [-1, 1, 2])!) }
    case 1:
      return { previousHash: pick(ctx, [GENESIS_HASH, bytes(ctx, 32), blockHash(other, ctx.crypto), other.previousHash])! }
    case 2:
      return { linkPublicKey: pick(ctx, [UNILATERAL_KEY, other.linkPublicKey, ...ctx.others.map((o) => o.publicKey)])! }
    case 3:
      return { linkSeq: pick(ctx, [0, 1, b.linkSeq + 1, other.linkSeq])! }
    case 4:
      return { type: pick(ctx, ['note', 'reward', 'transfer', 'burn', other.type])! }
    case 5:
      return { timestamp: b.timestamp + 1 }
    default:
      return { publicKey: pick(ctx, [ctx.cheater.publicKey, ...ctx.others.map((o) => o.publicKey)])! }
  }
}

/** A payload value changed: a number nudged, set to another block's, or set to what would follow (which can make a fraud honest). */
function changePayload(b: HalfBlock, blocks: Evidence, ctx: KindContext): CborValue {
  const map = b.payload !== null && typeof b.payload === 'object' && !Array.isArray(b.payload) && !(b.payload instanceof Uint8Array) ? (b.payload as Record<string, CborValue>) : undefined
  const keys = map === undefined ? [] : Object.keys(map).filter((k) => typeof map[k] === 'number')
  if (map === undefined || keys.length === 0) return pick(ctx, [['note', int(ctx, 9)], { amount: 1 + int(ctx, 9), balance: int(ctx, 9) }, 7])!
  const key = pick(ctx, keys)!
  const v = map[key] as number
  const others = blocks.map((o) => (o.payload as Record<string, unknown> | null)?.[key]).filter((x): x is number => typeof x === 'number')
  const seq = new Map(blocks.map((o) => [o.seq, o]))
  const entry = balanceEntry(b)
  const before = entry === undefined ? undefined : balanceBefore(b, seq)
  // half the time a value near another block's, or the balance that would follow: what repairs a fraud
  const near = [...others, ...others.map((o) => o + 1), ...others.map((o) => o - 1)]
  if (key === 'balance' && before !== undefined && entry !== undefined) near.push(before + entry.delta)
  const choices = int(ctx, 2) === 0 ? near : [v + 1, v - 1, v + 1 + int(ctx, 1000), 0, -1, -v, Number.MAX_SAFE_INTEGER]
  const out: Record<string, CborValue> = { ...map, [key]: pick(ctx, choices)! }
  if (int(ctx, 8) === 0) delete out[key]
  return out
}

/** 1-4 blocks by one key with small random fields: many near misses of every rule. */
function randomEvidence(ctx: KindContext, pool: Pool): HalfBlock[] {
  const who = int(ctx, 3) === 0 ? pick(ctx, ctx.others)! : ctx.cheater
  const out: HalfBlock[] = []
  for (let n = 1 + int(ctx, 4); n > 0; n--) {
    const seq = 1 + int(ctx, 4)
    const type = pick(ctx, ['note', 'reward', 'transfer', 'burn'])!
    const link = pick(ctx, [UNILATERAL_KEY, ctx.others[0]!.publicKey])!
    const amount = int(ctx, 5)
    const balance = int(ctx, 12) - 2
    const payload: CborValue =
      type === 'reward' ? { epoch: int(ctx, 4), amount, balance, root: ROOT }
      : type === 'note' ? ['note', int(ctx, 3)]
      : int(ctx, 2) === 0 ? { amount, balance } : { amount, balance, senderBalance: int(ctx, 9) }
    // payload version 2 a third of the time: the block names one of two communities
    if (type !== 'note' && int(ctx, 3) === 0) (payload as Record<string, CborValue>)['community'] = pick(ctx, COMMUNITIES)!
    const previous = pick(ctx, out)
    const previousHash = seq === 1 ? GENESIS_HASH : pick(ctx, [previous === undefined ? GENESIS_HASH : blockHash(previous, ctx.crypto), bytes(ctx, 32)])!
    out.push(resign(out[0] ?? pool.chains[0]![0]!, { publicKey: who.publicKey, seq, linkPublicKey: link, linkSeq: int(ctx, 3), previousHash, type, payload, timestamp: T0 + int(ctx, 3) }, ctx, pool))
  }
  return out
}

// ## Helpers

/** Two community ids for version-2 payloads. */
const COMMUNITIES = [new Uint8Array(32).fill(0xc1), new Uint8Array(32).fill(0xc2)]

function fieldsOf(block: HalfBlock): UnsignedHalfBlock {
  const { signature: _signature, ...fields } = block
  return fields
}

/** A provider that counts signature checks and hashes. */
function counting(crypto: CryptoProvider): CryptoProvider & { verifies: number; hashes: number } {
  const c = {
    ...crypto,
    verifies: 0,
    hashes: 0,
    verify: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean => {
      c.verifies++
      return crypto.verify(signature, message, publicKey)
    },
    sha256: (data: Uint8Array): Uint8Array => {
      c.hashes++
      return crypto.sha256(data)
    },
  }
  return c
}

function describe(value: unknown): string {
  try {
    const p = value as FraudProof
    return `${p.kind} against ${toHex(p.publicKey).slice(0, 16)}: ${Buffer.from(encodeFraudProof({ ...p, blocks: p.blocks })).toString('hex').slice(0, 2000)}`
  } catch {
    return String(value).slice(0, 200)
  }
}
