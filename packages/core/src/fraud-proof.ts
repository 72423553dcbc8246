/**
 * Fraud proofs: small values that anyone can verify alone, without trusting who sent them.
 * Each holds blocks validly signed by one key that cannot all belong to one honest chain.
 *
 * Kinds (core):
 * - 'double-sign': two blocks at the same (key, seq) with different hashes (a fork).
 * - 'chain-break': block s and block s+1 of one key, where s+1's previousHash is not hash(s)
 *   (the fork seen one block later).
 * - 'double-countersign': two agreements by one key to the same proposal (a proposal answered twice).
 * Block types may add kinds of their own (e.g. a balance that does not follow), see BlockTypes.
 *
 * Wire layout:
 *   proof = canonical CBOR array [kind: tstr, evidence: array of bstr (encoded blocks)]
 *         | [kind, evidence, attachments: array of 1-4 bstr]      (type kinds that need them)
 *   id    = SHA-256(domainTag('fraud-proof') ‖ proof)
 * Evidence is put in a canonical order (by seq, then hash) so one fraud has one encoding and id,
 * whoever found it first. Attachments are signed statements that are not blocks of the accused's
 * chain — a voucher the accused signed, another agent's block the evidence names by hash — in the
 * order the kind defines; the kind's verifier checks them, signatures included. An empty list is
 * never encoded (one encoding), and core's kinds take none.
 * @module
 */
import { compareBytes, concatBytes, equalBytes, shortKey } from './bytes.js'
import { decodeCanonical, encodeCanonical } from './cbor.js'
import type { CryptoProvider } from './crypto-provider.js'
import { domainTag } from './domain.js'
import { DecodeError } from './errors.js'
import { BLOCK_LIMITS, blockHash, blockSize, decodeBlock, encodeBlock, isAgreement, verifyBlock, type HalfBlock } from './half-block.js'
import { nobleCrypto } from './noble-crypto.js'

/** Fraud kinds known to core; block types may add their own. */
export type CoreFraudKind = 'double-sign' | 'chain-break' | 'double-countersign'

/** Evidence of cheating by `publicKey`. */
export interface FraudProof {
  /** What kind of fraud. */
  readonly kind: string
  /** The accused: the key that signed every block of the evidence. */
  readonly publicKey: Uint8Array
  /** The evidence, in canonical order. */
  readonly blocks: readonly HalfBlock[]
  /**
   * Signed statements the kind's verifier reads beside the blocks (a voucher the accused signed,
   * another agent's block named by hash), in the order the kind defines. Absent when none.
   */
  readonly attachments?: readonly Uint8Array[]
}

/**
 * Checks a fraud kind's evidence; returns a reason when it does not prove fraud. The blocks'
 * signatures are checked before it runs; `attachments` are not: a verifier that reads them checks
 * them itself, and one that takes none must refuse any (so that one fraud has one encoding).
 */
export type FraudVerifier = (blocks: readonly HalfBlock[], crypto: CryptoProvider, attachments?: readonly Uint8Array[]) => string | undefined

/** Limits on a proof from a peer. */
export const FRAUD_PROOF_LIMITS: Readonly<{ maxBlocks: number; maxBytes: number; maxAttachments: number }> = Object.freeze({
  maxBlocks: 16,
  maxBytes: 64 * 1024,
  maxAttachments: 4,
})

const KIND_PATTERN = /^[a-z0-9][a-z0-9.:_-]{0,63}$/

/**
 * Build a proof, putting the evidence in canonical order. Does not verify it: call verifyFraudProof.
 * @param kind the fraud kind
 * @param blocks the evidence (at least one block)
 * @param attachments signed statements the kind's verifier reads, in the kind's order (default none)
 * @returns the proof
 * @throws RangeError on an empty or oversized evidence list, a malformed kind, or more than
 *   `FRAUD_PROOF_LIMITS.maxAttachments` attachments; TypeError on an attachment that is not bytes
 * @example createFraudProof('double-sign', [stored, received])
 */
export function createFraudProof(kind: string, blocks: readonly HalfBlock[], attachments: readonly Uint8Array[] = []): FraudProof {
  if (typeof kind !== 'string' || !KIND_PATTERN.test(kind)) throw new RangeError(`"kind" malformed: ${JSON.stringify(String(kind).slice(0, 70))}`)
  if (!Array.isArray(blocks) || blocks.length === 0 || blocks.length > FRAUD_PROOF_LIMITS.maxBlocks) {
    throw new RangeError(`"blocks" expected 1-${FRAUD_PROOF_LIMITS.maxBlocks} blocks`)
  }
  if (!Array.isArray(attachments) || attachments.length > FRAUD_PROOF_LIMITS.maxAttachments) {
    throw new RangeError(`"attachments" expected at most ${FRAUD_PROOF_LIMITS.maxAttachments}`)
  }
  for (const a of attachments) if (!(a instanceof Uint8Array)) throw new TypeError('"attachments" expected Uint8Array items')
  const sorted = [...blocks].sort((a, b) => a.seq - b.seq || compareBytes(blockHash(a), blockHash(b)))
  const proof = { kind, publicKey: sorted[0]!.publicKey, blocks: Object.freeze(sorted) }
  return Object.freeze(attachments.length === 0 ? proof : { ...proof, attachments: Object.freeze([...attachments]) })
}

/**
 * Encode a proof.
 * @param proof the proof
 * @returns canonical CBOR [kind, [block bytes...]]
 * @example transport.send(encodeFraudProof(proof))
 */
export function encodeFraudProof(proof: FraudProof): Uint8Array {
  const attachments = proof.attachments ?? []
  const evidence = proof.blocks.map(encodeBlock)
  return encodeCanonical(attachments.length === 0 ? [proof.kind, evidence] : [proof.kind, evidence, [...attachments]])
}

/**
 * Decode a proof from untrusted bytes (form only; verify it with verifyFraudProof).
 * @param bytes the encoding
 * @returns the proof
 * @throws DecodeError when the bytes are not a canonical proof within the limits
 * @example verifyFraudProof(decodeFraudProof(bytes))
 */
export function decodeFraudProof(bytes: Uint8Array): FraudProof {
  const value = decodeCanonical(bytes, { maxBytes: FRAUD_PROOF_LIMITS.maxBytes, maxDepth: 3 })
  if (!Array.isArray(value) || (value.length !== 2 && value.length !== 3)) throw new DecodeError('fraud proof must be [kind, evidence] or [kind, evidence, attachments]')
  const [kind, evidence, attachments = []] = value as unknown[]
  if (typeof kind !== 'string' || !KIND_PATTERN.test(kind)) throw new DecodeError('fraud proof kind malformed')
  if (!Array.isArray(evidence) || evidence.length === 0 || evidence.length > FRAUD_PROOF_LIMITS.maxBlocks) {
    throw new DecodeError(`fraud proof evidence must hold 1-${FRAUD_PROOF_LIMITS.maxBlocks} blocks`)
  }
  const blocks = evidence.map((b) => {
    if (!(b instanceof Uint8Array)) throw new DecodeError('fraud proof evidence must be encoded blocks')
    return decodeBlock(b)
  })
  // an empty attachment list is never encoded: [kind, evidence, []] is not canonical
  if (!Array.isArray(attachments) || (value.length === 3 && attachments.length === 0) || attachments.length > FRAUD_PROOF_LIMITS.maxAttachments) {
    throw new DecodeError(`fraud proof attachments must hold 1-${FRAUD_PROOF_LIMITS.maxAttachments} byte strings`)
  }
  if (!attachments.every((a) => a instanceof Uint8Array)) throw new DecodeError('fraud proof attachments must be byte strings')
  const proof = createFraudProof(kind, blocks, attachments as Uint8Array[])
  // the canonical order is part of the format: a reordered proof is a different, non-canonical encoding
  if (!equalBytes(encodeFraudProof(proof), bytes)) throw new DecodeError('fraud proof evidence not in canonical order')
  return proof
}

/**
 * The proof's id: SHA-256 over the domain tag and its encoding.
 * @param proof the proof
 * @param crypto provider (default nobleCrypto)
 * @returns 32 bytes
 * @example seen.has(toHex(fraudProofId(p)))
 */
export function fraudProofId(proof: FraudProof, crypto: CryptoProvider = nobleCrypto): Uint8Array {
  return crypto.sha256(concatBytes(domainTag('fraud-proof'), encodeFraudProof(proof)))
}

/**
 * Verify a proof alone: every block validly signed by the accused, and the blocks in the relation
 * the kind claims. Forged or invalid evidence never verifies, so nobody honest can be framed.
 * Any value is answered, never thrown on: a proof is untrusted input, and a malformed one (not an
 * object, a kind or key of the wrong type, evidence that is not 1-16 blocks) is `{ ok: false }`.
 * @param proof the proof
 * @param options crypto provider and verifiers for kinds that block types add
 * @returns `{ ok: true }`, or `{ ok: false, reason }`
 * @example if (verifyFraudProof(p).ok) refuse(p.publicKey)
 */
export function verifyFraudProof(
  proof: FraudProof,
  options: { crypto?: CryptoProvider; verifiers?: ReadonlyMap<string, FraudVerifier> } = {},
): { ok: true } | { ok: false; reason: string } {
  const crypto = options.crypto ?? nobleCrypto
  const malformed = malformedReason(proof)
  if (malformed !== undefined) return { ok: false, reason: malformed }
  const { blocks } = proof
  for (const b of blocks) {
    if (!equalBytes(b.publicKey, proof.publicKey)) return { ok: false, reason: 'evidence signed by different keys' }
    if (!verifyBlock(b, crypto)) return { ok: false, reason: 'a signature does not verify' }
  }
  const attachments = proof.attachments ?? []
  if (!Array.isArray(attachments) || attachments.length > FRAUD_PROOF_LIMITS.maxAttachments || !attachments.every((a) => a instanceof Uint8Array)) {
    return { ok: false, reason: `attachments must be at most ${FRAUD_PROOF_LIMITS.maxAttachments} byte strings` }
  }
  const core = CORE_VERIFIERS.get(proof.kind)
  if (core !== undefined && attachments.length > 0) return { ok: false, reason: `${proof.kind} takes no attachments` }
  const verifier = core ?? options.verifiers?.get(proof.kind)
  if (verifier === undefined) return { ok: false, reason: `unknown fraud kind ${proof.kind}` }
  const reason = verifier(blocks, crypto, attachments)
  return reason === undefined ? { ok: true } : { ok: false, reason }
}

/** A short human description of a proof, for logs (no secrets; keys shortened). */
export function describeFraudProof(proof: FraudProof): string {
  const seqs = proof.blocks.map((b) => b.seq).join(', ')
  const n = proof.attachments?.length ?? 0
  return `${proof.kind} by ${shortKey(proof.publicKey)} (blocks at seq ${seqs}${n === 0 ? '' : `; ${n} attachment${n === 1 ? '' : 's'}`})`
}

// ## Core verifiers

const CORE_VERIFIERS: ReadonlyMap<string, FraudVerifier> = new Map<string, FraudVerifier>([
  ['double-sign', (blocks, crypto) => {
    const [a, b] = pair(blocks)
    if (a === undefined || b === undefined) return 'double-sign needs exactly two blocks'
    if (a.seq !== b.seq) return 'blocks at different seq'
    if (equalBytes(blockHash(a, crypto), blockHash(b, crypto))) return 'the same block twice'
    return undefined
  }],
  ['chain-break', (blocks, crypto) => {
    const [a, b] = pair(blocks)
    if (a === undefined || b === undefined) return 'chain-break needs exactly two blocks'
    if (b.seq !== a.seq + 1) return 'blocks are not consecutive'
    if (equalBytes(b.previousHash, blockHash(a, crypto))) return 'the blocks do chain'
    return undefined
  }],
  ['double-countersign', (blocks, crypto) => {
    const [a, b] = pair(blocks)
    if (a === undefined || b === undefined) return 'double-countersign needs exactly two blocks'
    if (!isAgreement(a) || !isAgreement(b)) return 'both blocks must be agreements'
    if (!equalBytes(a.linkPublicKey, b.linkPublicKey) || a.linkSeq !== b.linkSeq) return 'agreements answer different proposals'
    if (equalBytes(blockHash(a, crypto), blockHash(b, crypto))) return 'the same block twice'
    return undefined
  }],
])

/** Why a value from outside is not a proof the checks can read (its shape only), or undefined. */
function malformedReason(proof: unknown): string | undefined {
  if (typeof proof !== 'object' || proof === null) return 'not a fraud proof'
  const { kind, publicKey, blocks } = proof as Record<string, unknown>
  if (typeof kind !== 'string' || !KIND_PATTERN.test(kind)) return 'malformed kind'
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return 'the accused key is not 32 bytes'
  if (!Array.isArray(blocks)) return 'the evidence is not a list'
  if (blocks.length === 0) return 'no evidence'
  if (blocks.length > FRAUD_PROOF_LIMITS.maxBlocks) return `more than ${FRAUD_PROOF_LIMITS.maxBlocks} blocks of evidence`
  for (const b of blocks as unknown[]) if (!isBlock(b)) return 'the evidence holds something that is not a block'
  return undefined
}

/** A value with a block's fields (blockSize checks and encodes them, as hashing will) within the size limit. */
function isBlock(b: unknown): boolean {
  try {
    const { signature } = b as HalfBlock
    return signature instanceof Uint8Array && signature.length === 64 && blockSize(b as HalfBlock) <= BLOCK_LIMITS.maxBytes
  } catch {
    return false // the field checks name what is wrong; for a proof it is enough that it is not a block
  }
}

function pair(blocks: readonly HalfBlock[]): [HalfBlock | undefined, HalfBlock | undefined] {
  return blocks.length === 2 ? [blocks[0], blocks[1]] : [undefined, undefined]
}
