/**
 * Reward evidence: what a reward claim is checked against — the epoch certificate and the Merkle
 * proof of the claimant's row. It travels beside the reward block rather than inside it, so the
 * block stays small (about 270 bytes) while the evidence, about 290 bytes of certificate (k = 3)
 * plus 32 bytes per tree level (640 for a million owners), is stored and sent once per claim.
 * The block commits to the evidence through its epoch, amount and root: any valid certificate of
 * that (epoch, root) and any proof of (owner, amount) under that root make it valid, so evidence
 * is looked up by the claim, and checked before it is kept.
 *
 * Layout:
 *
 *   evidence = canonical CBOR array [certificate, proof]     (see certificate.ts, merkle.ts)
 * @module
 */
import { DecodeError, abytes, auint, decodeCanonical, encodeCanonical, toHex } from '@tally/core'
import { certificateFromValue, certificateValue, type EpochCertificate } from './certificate.js'
import type { Community } from './community.js'
import { merkleProofFromValue, merkleProofValue, type MerkleProof } from './merkle.js'
import { verifyRewardEvidence } from './reward.js'
import { keyString, type Check } from './util.js'

/** What a reward claim is checked against. */
export interface RewardEvidence {
  /** The certificate of the claimed epoch. */
  readonly certificate: EpochCertificate
  /** The proof of the claimant's (owner, amount) leaf under the certificate's root. */
  readonly proof: MerkleProof
}

/** What a claim is: who claims how much of which certified epoch. */
export interface ClaimKey {
  readonly owner: Uint8Array
  readonly epoch: number
  readonly root: Uint8Array
  readonly amount: number
}

/** Where the reward block type finds the evidence of a claim (may be asynchronous: a database, a peer). */
export interface EvidenceSource {
  /**
   * The evidence of a claim, if held.
   * @param claim owner, epoch, root and amount, from the reward block
   */
  evidence(claim: ClaimKey): RewardEvidence | undefined | Promise<RewardEvidence | undefined>
}

/**
 * An in-memory EvidenceSource that keeps only evidence that backs its claim: anyone may hand it
 * evidence (a peer relaying a claim, the claimant itself), and nobody can poison another's claim,
 * since what is kept is keyed by the whole claim and checked first.
 */
export interface EvidenceStore extends EvidenceSource {
  /**
   * Check and keep the evidence of `owner`'s claim of `amount` (epoch and root from the certificate).
   * @returns ok, or why the evidence does not back the claim (then it is not kept)
   */
  put(owner: Uint8Array, amount: number, evidence: RewardEvidence): Check
  /** The certificates kept for an epoch (one per root). */
  certificates(epoch: number): EpochCertificate[]
  /** Number of claims held. */
  readonly size: number
}

/**
 * An empty evidence store for a community.
 * @param community the community whose certificates count
 * @returns the store
 * @example const evidence = createEvidenceStore(community); evidence.put(block.publicKey, amount, decodeRewardEvidence(bytes))
 */
export function createEvidenceStore(community: Community): EvidenceStore {
  if (community === undefined) throw new TypeError('"community" is required')
  const certs = new Map<number, Map<string, EpochCertificate>>()
  const claims = new Map<string, RewardEvidence>()
  return {
    put(owner, amount, evidence) {
      abytes('owner', owner, 32)
      auint('amount', amount, 1)
      const { certificate } = evidence
      const errors = verifyRewardEvidence(owner, { epoch: certificate.epoch, amount, root: certificate.root }, evidence, community)
      if (errors.length > 0) return { ok: false, reason: errors.map((e) => e.message).join('; ') }
      let byRoot = certs.get(certificate.epoch)
      if (byRoot === undefined) certs.set(certificate.epoch, (byRoot = new Map()))
      const root = toHex(certificate.root)
      if (!byRoot.has(root)) byRoot.set(root, certificate)
      claims.set(claimKey({ owner, epoch: certificate.epoch, root: certificate.root, amount }), { certificate: byRoot.get(root)!, proof: evidence.proof })
      return { ok: true }
    },
    certificates(epoch) {
      return [...(certs.get(epoch)?.values() ?? [])]
    },
    get size() {
      return claims.size
    },
    evidence(claim) {
      if (!(claim?.owner instanceof Uint8Array) || claim.owner.length !== 32 || !(claim.root instanceof Uint8Array)) return undefined
      return claims.get(claimKey(claim))
    },
  }
}

/**
 * Encode a claim's evidence, to send beside its reward block.
 * @param evidence certificate and proof
 * @returns canonical CBOR [certificate, proof]
 * @example send(encodeBlock(block), encodeRewardEvidence(evidence))
 */
export function encodeRewardEvidence(evidence: RewardEvidence): Uint8Array {
  return encodeCanonical([certificateValue(evidence.certificate), merkleProofValue(evidence.proof)])
}

/**
 * Decode a claim's evidence (form only: the reward rules check it).
 * @param bytes the encoding
 * @returns certificate and proof
 * @throws DecodeError when malformed
 * @example evidenceStore.put(block.publicKey, decodeRewardEvidence(bytes))
 */
export function decodeRewardEvidence(bytes: Uint8Array): RewardEvidence {
  const v = decodeCanonical(bytes, { maxBytes: 64 * 1024, maxDepth: 5 })
  if (!Array.isArray(v) || v.length !== 2) throw new DecodeError('reward evidence must be [certificate, proof]')
  return Object.freeze({ certificate: certificateFromValue(v[0]), proof: merkleProofFromValue(v[1]) })
}

// ## Private helpers

function claimKey(c: ClaimKey): string {
  return `${keyString(c.owner)}|${c.epoch}|${toHex(c.root)}|${c.amount}`
}
