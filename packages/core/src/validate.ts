/**
 * Validation: a level and the list of broken rules, never an exception. Built from small ordered
 * checks, as in py-ipv8's TrustChain, with its holes fixed: a fork seen one block later, a double
 * countersign and a proposal answered twice are fraud (a proof comes back), not just "invalid".
 *
 * Order: (1) invariants of the block alone; (2) consistency with a stored block at the same
 * (key, seq); (3) with the linked half; (4) with the neighbours in the chain; (5) the type's rules.
 * Invariant failures stop there: nothing else is worth asking about a block that is not well-formed.
 *
 * Levels (py-ipv8's meaning):
 * - 'valid': the blocks at seq - 1 (or genesis) and seq + 1 are known and consistent
 * - 'partial-next': the previous block is known (or this is genesis), the next is not
 * - 'partial-previous': the next block is known, the previous is not
 * - 'partial': some blocks of this chain are known, but neither neighbour
 * - 'no-info': nothing is known of this chain
 * - 'invalid': at least one rule is broken; `errors` says which
 * @module
 */
import { equalBytes } from './bytes.js'
import { encodeCanonical } from './cbor.js'
import type { BlockTypes, RuleViolation, TypeContext, TypeVerdict } from './block-types.js'
import { samePayload } from './block-types.js'
import type { CryptoProvider } from './crypto-provider.js'
import { createFraudProof, type FraudProof } from './fraud-proof.js'
import {
  BLOCK_LIMITS,
  GENESIS_HASH,
  blockHash,
  blockSize,
  isAgreement,
  isProposal,
  isTypeName,
  isUnilateral,
  isWellFormed,
  verifyBlock,
  type HalfBlock,
} from './half-block.js'
import { nobleCrypto } from './noble-crypto.js'
import { MISS, readCached, readNow, type BlockStore, type ReadCached, type ReadNow } from './store.js'

/** How much a block could be checked, and whether it passed. */
export type ValidationLevel = 'valid' | 'partial-previous' | 'partial-next' | 'partial' | 'no-info' | 'invalid'

/** The outcome of validate. */
export interface ValidationResult {
  readonly level: ValidationLevel
  /** Broken rules, in check order; empty unless level is 'invalid'. */
  readonly errors: readonly RuleViolation[]
  /** Fraud proofs the block produced against its author (already verified by construction). */
  readonly fraud: readonly FraudProof[]
}

/** What validate checks against. */
export interface ValidateOptions {
  /** The blocks known so far. */
  store: BlockStore
  /** Provider (default nobleCrypto). */
  crypto?: CryptoProvider
  /** Block-type rules (default: none; unknown types get the core checks only). */
  types?: BlockTypes
  /** Skip the signature check: only for a block this process has just signed itself. */
  trustSignature?: boolean
  /**
   * The outcome of checking this block's signature elsewhere (a worker pool): true skips the
   * check here, false fails the block on rule 'signature' as the check itself would.
   */
  signatureValid?: boolean
}

/**
 * Validate a block against what the store knows.
 * @param block the block (decoded or built; any value is reported, never thrown on)
 * @param options store, provider, block types
 * @returns `{ level, errors, fraud }`
 * @example const { level, errors } = await validate(block, { store })
 */
export async function validate(block: HalfBlock, options: ValidateOptions): Promise<ValidationResult> {
  return validateAtOnce(block, options)
}

/**
 * validate, without a promise when the store answers at once (a memory store: ReadNow; a LevelDB
 * store whose caches hold every read: ReadCached) and the type's rules do. Inside core only.
 */
export function validateAtOnce(block: HalfBlock, options: ValidateOptions): ValidationResult | Promise<ValidationResult> {
  const reads = readNow(options.store)
  if (reads !== undefined) return validateNow(block, options, reads)
  const cached = readCached(options.store)
  if (cached !== undefined) return validateCached(block, options, cached)
  const early = checkAlone(block, options)
  if (early !== undefined) return early
  return factsOf(block, options.store).then((facts) => judge(block, facts, options))
}

/**
 * validate against reads answered at once (a memory store, or ingest's overlay of one): the same
 * checks in the same order, with no promise unless a type's own rules return one. Inside core only.
 */
export function validateNow(block: HalfBlock, options: ValidateOptions, reads: ReadNow): ValidationResult | Promise<ValidationResult> {
  const early = checkAlone(block, options)
  if (early !== undefined) return early
  return judge(block, factsNow(block, reads), options)
}

/**
 * validate against reads answered from the store's caches (a LevelDB store): no promise when
 * every read hits, the store's own reads for the block when one misses. Inside core only.
 */
export function validateCached(block: HalfBlock, options: ValidateOptions, reads: ReadCached): ValidationResult | Promise<ValidationResult> {
  const early = checkAlone(block, options)
  if (early !== undefined) return early
  const facts = factsCached(block, reads, options.store)
  if (facts !== undefined) return judge(block, facts, options)
  return factsOf(block, options.store).then((read) => judge(block, read, options))
}

// ## What the store says about a block

/** Every read validation makes of the store for one block, made before any rule is applied. */
interface Facts {
  /** The stored block at (key, seq). */
  readonly stored: HalfBlock | undefined
  /** For an agreement: the stored block at its link. */
  readonly linked: HalfBlock | undefined
  /** For an agreement: one by the same signer to the same proposal; for a proposal: its stored agreement. */
  readonly answer: HalfBlock | undefined
  /** The nearest stored blocks of the chain below and above seq. */
  readonly prev: HalfBlock | undefined
  readonly next: HalfBlock | undefined
  /** Where proofs against an agreement's proposer are read when asked (to find the other branch of its fork). */
  readonly from: ReadNow | BlockStore
  /** `from` answers at once (a ReadNow): the proofs are read without a promise. */
  readonly now: boolean
}

function factsNow(block: HalfBlock, reads: ReadNow): Facts {
  const unilateral = isUnilateral(block)
  const agreement = isAgreement(block)
  return {
    stored: reads.getNow(block.publicKey, block.seq),
    linked: !unilateral && agreement ? reads.getNow(block.linkPublicKey, block.linkSeq) : undefined,
    answer: unilateral ? undefined : agreement
      ? reads.agreementNow(block.linkPublicKey, block.linkSeq, block.publicKey)
      : reads.agreementNow(block.publicKey, block.seq, block.linkPublicKey),
    prev: reads.beforeNow(block.publicKey, block.seq),
    next: reads.afterNow(block.publicKey, block.seq),
    from: reads,
    now: true,
  }
}

/** The facts from cached reads, or undefined when one of them misses. */
function factsCached(block: HalfBlock, reads: ReadCached, store: BlockStore): Facts | undefined {
  const unilateral = isUnilateral(block)
  const agreement = isAgreement(block)
  const stored = reads.getCached(block.publicKey, block.seq)
  if (stored === MISS) return undefined
  const linked = !unilateral && agreement ? reads.getCached(block.linkPublicKey, block.linkSeq) : undefined
  if (linked === MISS) return undefined
  const answer = unilateral ? undefined : agreement
    ? reads.agreementCached(block.linkPublicKey, block.linkSeq, block.publicKey)
    : reads.agreementCached(block.publicKey, block.seq, block.linkPublicKey)
  if (answer === MISS) return undefined
  const prev = reads.beforeCached(block.publicKey, block.seq)
  if (prev === MISS) return undefined
  const next = reads.afterCached(block.publicKey, block.seq)
  if (next === MISS) return undefined
  // the proposer's proofs, read only on a link mismatch (rare), come from the store itself
  return { stored, linked, answer, prev, next, from: store, now: false }
}

async function factsOf(block: HalfBlock, store: BlockStore): Promise<Facts> {
  const unilateral = isUnilateral(block)
  const agreement = isAgreement(block)
  const [stored, linked, answer, [prev], [next]] = await Promise.all([
    store.get(block.publicKey, block.seq),
    !unilateral && agreement ? store.get(block.linkPublicKey, block.linkSeq) : undefined,
    unilateral ? undefined : agreement
      ? store.findAgreement(block.linkPublicKey, block.linkSeq, block.publicKey)
      : store.findAgreement(block.publicKey, block.seq, block.linkPublicKey),
    store.range(block.publicKey, { to: block.seq - 1, limit: 1, reverse: true }),
    store.range(block.publicKey, { from: block.seq + 1, limit: 1 }),
  ])
  return { stored, linked, answer, prev, next, from: store, now: false }
}

async function proofsOf(store: BlockStore, publicKey: Uint8Array): Promise<FraudProof[]> {
  return (await store.hasFraud(publicKey)) ? store.fraudProofs(publicKey) : []
}

// ## The rules, in order

/** The checks of the block alone: the invalid result, or undefined when they pass. */
function checkAlone(block: HalfBlock, options: ValidateOptions): ValidationResult | undefined {
  const errors: RuleViolation[] = []
  // (1) the block alone (form checks were done when a signed or decoded block was made)
  if (!isWellFormed(block)) checkForm(block, errors)
  if (errors.length > 0) return invalid(errors, [])
  checkInvariants(block, errors)
  if (errors.length === 0 && options.trustSignature !== true && !(options.signatureValid ?? verifyBlock(block, options.crypto ?? nobleCrypto))) {
    errors.push(v('signature', 'signature does not verify'))
  }
  return errors.length > 0 ? invalid(errors, []) : undefined
}

/** Steps (2) to (5), given what the store holds; a promise only when the proposer's proofs or a type's rules need one. */
function judge(block: HalfBlock, facts: Facts, options: ValidateOptions): ValidationResult | Promise<ValidationResult> {
  const crypto = options.crypto ?? nobleCrypto
  const { types } = options
  const errors: RuleViolation[] = []
  const fraud: FraudProof[] = []
  const hash = blockHash(block, crypto)

  // (2) a stored block at the same (key, seq)
  const { stored } = facts
  const sameAsStored = stored !== undefined && equalBytes(blockHash(stored, crypto), hash)
  if (stored !== undefined && !sameAsStored) {
    compareWithStored(block, stored, errors)
    fraud.push(createFraudProof('double-sign', [stored, block]))
  } else if (sameAsStored && !equalBytes(stored.signature, block.signature)) {
    errors.push(v('stored-signature', 'same block as stored but a different signature'))
  }

  // (3) the linked half; the proposer's proofs are read only when the link does not match
  const matches = types?.get(block.type)?.matches ?? samePayload
  const mismatch = isAgreement(block) && facts.linked !== undefined ? linkMismatch(facts.linked, block, matches) : NONE
  const chainsHere = stored === undefined || sameAsStored
  // (no closure on the common path: what a block allocates is what ingest's collector pays for)
  if (mismatch.length === 0) return linkThenFinish(block, hash, facts, mismatch, NONE, matches, chainsHere, options, errors, fraud)
  const { from } = facts
  // (a store may have both kinds of reads, ingest's overlay does: which one this validation uses)
  if (facts.now && 'fraudProofsNow' in from) return linkThenFinish(block, hash, facts, mismatch, from.fraudProofsNow(block.linkPublicKey), matches, chainsHere, options, errors, fraud)
  return proofsOf(from as BlockStore, block.linkPublicKey).then((proofs) => linkThenFinish(block, hash, facts, mismatch, proofs, matches, chainsHere, options, errors, fraud))
}

function linkThenFinish(
  block: HalfBlock,
  hash: Uint8Array,
  facts: Facts,
  mismatch: readonly RuleViolation[],
  proofs: readonly FraudProof[],
  matches: (p: HalfBlock, a: HalfBlock) => boolean,
  chainsHere: boolean,
  options: ValidateOptions,
  errors: RuleViolation[],
  fraud: FraudProof[],
): ValidationResult | Promise<ValidationResult> {
  const linked = checkLinked(block, hash, facts, mismatch, proofs, matches, options.crypto ?? nobleCrypto, errors, fraud)
  return finish(block, facts, linked, chainsHere, options, errors, fraud)
}

/** Steps (4) and (5). */
function finish(
  block: HalfBlock,
  facts: Facts,
  linked: HalfBlock | undefined,
  chainsHere: boolean,
  options: ValidateOptions,
  errors: RuleViolation[],
  fraud: FraudProof[],
): ValidationResult | Promise<ValidationResult> {
  const crypto = options.crypto ?? nobleCrypto
  // (4) the neighbours
  const { prev, next } = facts
  const prevAdjacent = prev !== undefined && prev.seq === block.seq - 1
  const nextAdjacent = next !== undefined && next.seq === block.seq + 1
  if (chainsHere) {
    if (prevAdjacent && !equalBytes(block.previousHash, blockHash(prev, crypto))) {
      errors.push(v('previous-hash', `previousHash is not the hash of the stored block at seq ${prev.seq}`))
      fraud.push(createFraudProof('chain-break', [prev, block]))
    }
    if (nextAdjacent && !equalBytes(next.previousHash, blockHash(block, crypto))) {
      errors.push(v('next-previous-hash', `the stored block at seq ${next.seq} does not chain to this block`))
      fraud.push(createFraudProof('chain-break', [block, next]))
    }
  }

  // (5) the type's own rules
  const type = options.types?.get(block.type)
  if (type?.validate === undefined) return outcome(block, facts, prevAdjacent, nextAdjacent, errors, fraud)
  const ctx: TypeContext = { store: options.store, crypto, previous: prevAdjacent ? prev : undefined, linked }
  const verdict = type.validate(block, ctx)
  // a type's rules may answer at once or with a promise (or any thenable)
  if (isThenable(verdict)) {
    return Promise.resolve(verdict).then((verdict) => withVerdict(block, verdict, facts, prevAdjacent, nextAdjacent, errors, fraud))
  }
  return withVerdict(block, verdict, facts, prevAdjacent, nextAdjacent, errors, fraud)
}

function withVerdict(
  block: HalfBlock,
  verdict: TypeVerdict,
  facts: Facts,
  prevAdjacent: boolean,
  nextAdjacent: boolean,
  errors: RuleViolation[],
  fraud: FraudProof[],
): ValidationResult {
  for (const e of verdict.errors) errors.push(e)
  if (verdict.fraud !== undefined) {
    fraud.push(verdict.fraud)
    // a block that proves its author a cheater is never acceptable, whatever else the type said
    if (verdict.errors.length === 0) errors.push(v('type-fraud', `the ${block.type} rules found fraud: ${verdict.fraud.kind}`))
  }
  return outcome(block, facts, prevAdjacent, nextAdjacent, errors, fraud)
}

function outcome(block: HalfBlock, facts: Facts, prevAdjacent: boolean, nextAdjacent: boolean, errors: RuleViolation[], fraud: FraudProof[]): ValidationResult {
  return errors.length > 0 ? invalid(errors, fraud) : { level: chainLevel(block, facts.prev, facts.next, prevAdjacent, nextAdjacent), errors, fraud }
}

/**
 * The checks of the block alone (form, invariants, signature), without a store.
 * @param block the block
 * @param crypto provider (default nobleCrypto)
 * @returns the broken rules (empty when none)
 * @example if (checkBlock(block).length > 0) drop(block)
 */
export function checkBlock(block: HalfBlock, crypto: CryptoProvider = nobleCrypto): RuleViolation[] {
  const errors: RuleViolation[] = []
  if (!isWellFormed(block)) checkForm(block, errors)
  if (errors.length > 0) return errors
  checkInvariants(block, errors)
  if (errors.length === 0 && !verifyBlock(block, crypto)) errors.push(v('signature', 'signature does not verify'))
  return errors
}

// ## Checks

/** Field types and lengths. A block that fails these cannot even be hashed. */
function checkForm(block: HalfBlock, errors: RuleViolation[]): void {
  if (typeof block !== 'object' || block === null) {
    errors.push(v('form', 'not a block'))
    return
  }
  if (!isBytes(block.publicKey, 32)) errors.push(v('public-key', 'publicKey must be 32 bytes'))
  if (!isBytes(block.linkPublicKey, 32)) errors.push(v('link-public-key', 'linkPublicKey must be 32 bytes'))
  if (!isBytes(block.previousHash, 32)) errors.push(v('previous-hash-form', 'previousHash must be 32 bytes'))
  if (!isBytes(block.signature, 64)) errors.push(v('signature', 'signature must be 64 bytes'))
  if (!Number.isSafeInteger(block.seq)) errors.push(v('seq', 'seq must be an integer'))
  if (!Number.isSafeInteger(block.linkSeq)) errors.push(v('link-seq', 'linkSeq must be an integer'))
  else if (block.linkSeq < 0) errors.push(v('link-seq', 'linkSeq must be >= 0'))
  if (!Number.isSafeInteger(block.timestamp) || block.timestamp < 0) errors.push(v('timestamp', 'timestamp must be a non-negative integer'))
  if (!isTypeName(block.type)) {
    errors.push(v('type', `type must be 1-${BLOCK_LIMITS.maxTypeLength} characters of [a-z0-9._-]`))
  }
  if (errors.length > 0) return
  try {
    encodeCanonical(block.payload)
  } catch (err) {
    errors.push(v('payload', `payload is not a canonical CBOR value: ${(err as Error).message}`))
  }
}

/** Rules of the block alone (py-ipv8's invariants). */
function checkInvariants(block: HalfBlock, errors: RuleViolation[]): void {
  if (block.seq < 1) errors.push(v('seq', 'seq must be >= 1'))
  const genesisHash = equalBytes(block.previousHash, GENESIS_HASH)
  if (block.seq === 1 && !genesisHash) errors.push(v('genesis-hash', 'the block at seq 1 must have the genesis previousHash'))
  if (block.seq > 1 && genesisHash) errors.push(v('genesis-hash', 'only the block at seq 1 may have the genesis previousHash'))
  if (equalBytes(block.publicKey, block.linkPublicKey)) errors.push(v('self-link', 'a block may not link to its own chain'))
  if (isUnilateral(block) && block.linkSeq !== 0) errors.push(v('link-seq', 'a unilateral block has linkSeq 0'))
  if (errors.length === 0 && blockSize(block) > BLOCK_LIMITS.maxBytes) {
    errors.push(v('size', `block exceeds ${BLOCK_LIMITS.maxBytes} bytes`))
  }
}

/** py-ipv8's "known block" checks: each differing field is a broken rule; together they prove a fork. */
function compareWithStored(block: HalfBlock, stored: HalfBlock, errors: RuleViolation[]): void {
  if (!equalBytes(block.linkPublicKey, stored.linkPublicKey)) errors.push(v('stored-link-public-key', 'linkPublicKey differs from the stored block at this seq'))
  if (block.linkSeq !== stored.linkSeq) errors.push(v('stored-link-seq', 'linkSeq differs from the stored block at this seq'))
  if (!equalBytes(block.previousHash, stored.previousHash)) errors.push(v('stored-previous-hash', 'previousHash differs from the stored block at this seq'))
  if (!equalBytes(block.signature, stored.signature)) errors.push(v('stored-signature', 'signature differs from the stored block at this seq'))
  errors.push(v('fork', 'a different block is stored at this (key, seq): its author signed two blocks at one seq'))
}

/** (3) Consistency with the other half of the transaction; returns it when known. */
function checkLinked(
  block: HalfBlock,
  hash: Uint8Array,
  facts: Facts,
  mismatch: readonly RuleViolation[],
  proofs: readonly FraudProof[],
  matches: (p: HalfBlock, a: HalfBlock) => boolean,
  crypto: CryptoProvider,
  errors: RuleViolation[],
  fraud: FraudProof[],
): HalfBlock | undefined {
  if (isUnilateral(block)) return undefined
  if (isAgreement(block)) {
    let proposal = facts.linked
    if (mismatch.length > 0) {
      // The proposer forked at that seq (a proof is held): the honest agreement may answer the
      // other branch, which the proof carries, signed. Check against that one instead.
      const branch = otherBranch(proofs, block, (candidate) => linkMismatch(candidate, block, matches).length === 0)
      if (branch === undefined) errors.push(...mismatch)
      else proposal = branch
    }
    const earlier = facts.answer
    if (earlier !== undefined && !equalBytes(blockHash(earlier, crypto), hash)) {
      errors.push(v('double-countersign', 'its author already agreed to this proposal with another block'))
      fraud.push(createFraudProof('double-countersign', [earlier, block]))
    }
    return proposal
  }
  // a proposal: check the agreement already stored for it, if any
  const agreement = facts.answer
  if (agreement !== undefined) {
    if (agreement.type !== block.type) errors.push(v('linked-type', 'type differs from the stored agreement'))
    else if (!matches(block, agreement)) errors.push(v('linked-payload', 'payload does not match the stored agreement'))
  }
  return agreement
}

/** How `agreement` fails to answer the stored block at its link: the broken rules, none when it answers it. */
function linkMismatch(proposal: HalfBlock, agreement: HalfBlock, matches: (p: HalfBlock, a: HalfBlock) => boolean): RuleViolation[] {
  const out: RuleViolation[] = []
  if (!isProposal(proposal)) out.push(v('link-target', 'the linked block is not a proposal'))
  else if (!equalBytes(proposal.linkPublicKey, agreement.publicKey)) out.push(v('link-public-key-mismatch', 'the proposal is addressed to another key'))
  if (proposal.type !== agreement.type) out.push(v('link-type', 'type differs from the proposal'))
  else if (!matches(proposal, agreement)) out.push(v('link-payload', 'payload does not match the proposal'))
  return out
}

/**
 * A block at the agreement's link taken from a held fraud proof against the proposer (the other
 * branch of its fork) that `fits`, if any. Proofs in a store were verified, so the block is signed
 * by the proposer.
 */
function otherBranch(proofs: readonly FraudProof[], agreement: HalfBlock, fits: (candidate: HalfBlock) => boolean): HalfBlock | undefined {
  for (const proof of proofs) {
    for (const candidate of proof.blocks) {
      if (candidate.seq === agreement.linkSeq && equalBytes(candidate.publicKey, agreement.linkPublicKey) && fits(candidate)) return candidate
    }
  }
  return undefined
}

/** py-ipv8's chain-consistency levels. */
function chainLevel(
  block: HalfBlock,
  prev: HalfBlock | undefined,
  next: HalfBlock | undefined,
  prevAdjacent: boolean,
  nextAdjacent: boolean,
): ValidationLevel {
  const genesis = block.seq === 1
  const hasPrev = prevAdjacent || genesis
  if (prev === undefined && next === undefined && !genesis) return 'no-info'
  if (hasPrev && nextAdjacent) return 'valid'
  if (hasPrev) return 'partial-next'
  if (nextAdjacent) return 'partial-previous'
  return 'partial'
}

function invalid(errors: RuleViolation[], fraud: FraudProof[]): ValidationResult {
  return { level: 'invalid', errors, fraud }
}

const NONE: readonly never[] = Object.freeze([])

function isThenable<T>(x: T | PromiseLike<T>): x is PromiseLike<T> {
  return typeof (x as { then?: unknown } | null)?.then === 'function'
}

function v(rule: string, message: string): RuleViolation {
  return { rule, message }
}

function isBytes(x: unknown, length: number): boolean {
  return x instanceof Uint8Array && x.length === length
}
