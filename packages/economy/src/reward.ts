/**
 * The `reward` block type: a contributor claims its share of an epoch with a unilateral block in
 * its own chain. Its authority is the witnesses' certificate, not a counterparty's signature.
 *
 *   payload = { epoch, amount, balance, root }            (see payload.ts)
 *
 * Rules, in order (rule codes in quotes):
 * 1. the payload is well-formed ('reward-payload') and the block unilateral ('reward-unilateral');
 * 2. evidence for (owner, epoch, root) is held ('reward-evidence'); its certificate verifies under
 *    the configuration governing the epoch ('reward-certificate') and is for this epoch and root
 *    ('reward-certificate-mismatch'); its proof puts the leaf (owner, amount) under the root
 *    ('reward-proof': a wrong amount or someone else's proof both fail here);
 * 3. the balance is the previous balance plus the amount ('balance', with a 'balance' fraud proof);
 * 4. one claim per epoch per chain, and none later than LATE_CLAIM_EPOCHS behind the highest
 *    epoch claimed before it ('reward-epoch', with a 'reward-claim' fraud proof of the two claims).
 *    A certificate that reaches its owner late (a witness was down, the owner offline) can still
 *    be claimed after newer ones, within that window. Because every claim is within the window of
 *    the highest before it, an earlier claim of the same epoch can only sit after the last reward
 *    at or below epoch - LATE_CLAIM_EPOCHS, so the walk back stops there (about that many rewards
 *    in a chain that claims every epoch). A validator must know the chain back to that point (or
 *    to genesis) to accept a claim ('reward-history'): a claim mints tokens, so it is never
 *    accepted unchecked.
 *
 * Payload version 2 names the community whose certificate backs the claim: its evidence is
 * checked under that community (one of those the type knows: `community`, `also`), its balance
 * counts in that community, and one claim per epoch is per community. A version-1 claim is the
 * type's own community's, as before.
 *
 * The block stays small (about 270 bytes) because the evidence travels beside it, see evidence.ts.
 * The rules of the type's `validate` are reward-rules.ts's, loaded on demand (on-demand.ts) with the
 * first reward validated; the evidence checks are here, for the evidence store.
 * @module
 */
import {
  encodeCanonical,
  equalBytes,
  isUnilateral,
  nobleCrypto,
  toHex,
  type BlockType,
  type HalfBlock,
  type RuleViolation,
  type TypeContext,
  type TypeVerdict,
} from '@tally/core'
import { certificateValue, verifyCertificateIn, type EpochCertificate } from './certificate.js'
import type { Community } from './community.js'
import { configId } from './config.js'
import type { EvidenceSource, RewardEvidence } from './evidence.js'
import { allocationLeaf, verifyMerkleProof } from './merkle.js'
import { REWARD, communityField, readReward, sameCommunity, type RewardPayload } from './payload.js'
import { taggedHash, violation } from './util.js'
import { fraudKinds } from './fraud-kinds.js'
import { REWARD_CLAIM_FRAUD } from './fraud-names.js'

/** The fraud kind of two claims that may not both stand: the same epoch twice, or one too late after a newer. */
export { REWARD_CLAIM_FRAUD }

/** How far behind the highest epoch claimed so far a late certificate may still be claimed. */
export const LATE_CLAIM_EPOCHS = 64

/** What the reward type's rules need of the type (reward-rules.ts). @internal */
export interface RewardClaims {
  /** The communities whose claims the type checks, by id hex. */
  readonly known: ReadonlyMap<string, { community: Community; evidence: EvidenceSource; verified: CertificateCache }>
  /** The community a claim is of (by id hex). */
  claimOf(p: RewardPayload): string
}

/** Options of rewardType. */
export interface RewardTypeOptions {
  /**
   * The community: its configuration chain says which witnesses certify which epoch. Claims that
   * name no community (payload version 1) are its claims.
   */
  community: Community
  /** Where claims' certificates and proofs are found. */
  evidence: EvidenceSource
  /**
   * More communities whose claims (payload version 2, naming them) this node checks, each with
   * its evidence source: a chain that holds several communities' tokens. A claim naming a
   * community known neither here nor as `community` is refused ('reward-community').
   */
  also?: readonly { readonly community: Community; readonly evidence: EvidenceSource }[]
}

/**
 * The `reward` block type.
 * @param options community and evidence source
 * @returns the type, to register with createBlockTypes (economyTypes does)
 * @example const types = createBlockTypes([rewardType({ community, evidence })])
 */
export function rewardType(options: RewardTypeOptions): BlockType {
  const { community, evidence } = options
  if (community === undefined || evidence === undefined) throw new TypeError('"community" and "evidence" are required')
  const known = new Map<string, { community: Community; evidence: EvidenceSource; verified: CertificateCache }>()
  for (const c of [{ community, evidence }, ...(options.also ?? [])]) {
    if (c?.community === undefined || c.evidence === undefined) throw new TypeError('"also" expected { community, evidence } entries')
    known.set(toHex(c.community.id), { community: c.community, evidence: c.evidence, verified: cacheOf(c.community) })
  }
  // the community a claim is of: the one it names, or (version 1) this type's
  const home = toHex(community.id)
  const claimOf = (p: RewardPayload): string => (p.community === undefined ? home : toHex(p.community))
  const claims: RewardClaims = { known, claimOf }
  return Object.freeze({
    name: REWARD,
    // the rules are loaded with the first reward validated (on-demand.ts: a claim, or a sender's
    // chain that holds one): a wallet that opens and shows its balance does not need them
    async validate(block: HalfBlock, ctx: TypeContext): Promise<TypeVerdict> {
      const { validateReward } = await import('./on-demand.js')
      return validateReward(block, ctx, claims)
    },
    ...fraudKinds(REWARD_CLAIM_FRAUD),
  })
}

/**
 * Check a reward block and its evidence alone: payload, certificate under the community's
 * configuration for the epoch, and the proof of (owner, amount). Chain rules (balance, one claim
 * per epoch) need the chain and are the block type's.
 * @param block the reward block
 * @param evidence its certificate and proof
 * @param community the community
 * @returns the broken rules (empty when the claim is backed)
 * @example verifyRewardClaim(block, decodeRewardEvidence(bytes), community).length === 0
 */
export function verifyRewardClaim(block: HalfBlock, evidence: RewardEvidence, community: Community): RuleViolation[] {
  const payload = readReward(block?.payload)
  if (payload === undefined) return [violation('reward-payload', 'a reward payload is { epoch, amount >= 1, balance, root (32 bytes) }')]
  if (!isUnilateral(block)) return [violation('reward-unilateral', 'a reward is a unilateral block')]
  return checkEvidence(block.publicKey, payload, evidence, cacheOf(community))
}

/**
 * Check evidence for a claim before making the block: the certificate and the proof of
 * (owner, amount) under (epoch, root).
 * @param owner the claimant
 * @param claim epoch, amount and root of the claim
 * @param evidence certificate and proof
 * @param community the community
 * @returns the broken rules (empty when the evidence backs the claim)
 * @example verifyRewardEvidence(me, { epoch, amount, root: cert.root }, { certificate: cert, proof }, community)
 */
export function verifyRewardEvidence(
  owner: Uint8Array,
  claim: { epoch: number; amount: number; root: Uint8Array },
  evidence: RewardEvidence,
  community: Community,
): RuleViolation[] {
  return checkEvidence(owner, { ...claim, balance: 0 }, evidence, cacheOf(community))
}

/**
 * The payload of a claim.
 * @param claim epoch, amount, the claimant's balance before the claim, and the certified root
 * @returns the payload (balance after = before + amount)
 * @throws RangeError when the balance would leave the safe integer range
 * @example await agent.append('reward', rewardPayload({ epoch: 7, amount: 120, before: 0, root: cert.root }))
 */
export function rewardPayload(claim: { epoch: number; amount: number; before: number; root: Uint8Array; community?: Uint8Array }): { epoch: number; amount: number; balance: number; root: Uint8Array; community?: Uint8Array } {
  const balance = claim.before + claim.amount
  if (!Number.isSafeInteger(balance)) throw new RangeError('"amount" would take the balance beyond 2^53 - 1')
  return { epoch: claim.epoch, amount: claim.amount, balance, root: claim.root, ...communityField(claim.community) }
}

// ## Private helpers

/**
 * The evidence rules of a claim: certificate for its epoch and root, verified, and the proof of
 * (owner, amount) under the root.
 * @internal
 */
export function checkEvidence(owner: Uint8Array, payload: RewardPayload, evidence: RewardEvidence, certificates: CertificateCache): RuleViolation[] {
  const { certificate, proof } = evidence
  if (certificate?.epoch !== payload.epoch || !(certificate.root instanceof Uint8Array) || !equalBytes(certificate.root, payload.root)) {
    return [violation('reward-certificate-mismatch', 'the certificate is for another epoch or root')]
  }
  const check = certificates.check(certificate)
  if (!check.ok) return [violation('reward-certificate', `the certificate does not verify: ${check.reason}`)]
  if (!verifyMerkleProof(allocationLeaf(owner, payload.amount), proof, certificate.leaves, certificate.root)) {
    return [violation('reward-proof', `the proof does not put (owner, ${payload.amount}) under the certified root`)]
  }
  return []
}

const caches = new WeakMap<Community, CertificateCache>()

/** The certificate cache of a community, shared by every check of its claims. */
function cacheOf(community: Community): CertificateCache {
  let cache = caches.get(community)
  if (cache === undefined) caches.set(community, (cache = new CertificateCache(community)))
  return cache
}

/**
 * Verified certificates, by the hash of their encoding: a certificate is checked once (k
 * signature checks), then every claim of its epoch costs a hash lookup and a Merkle proof.
 */
export class CertificateCache {
  readonly #community: Community
  readonly #ok = new Map<string, true>()

  constructor(community: Community) {
    this.#community = community
  }

  check(certificate: EpochCertificate): { ok: true } | { ok: false; reason: string } {
    let key: string
    try {
      // keyed by the configuration in force too: an update can change which version governs an epoch
      const crypto = this.#community.crypto ?? nobleCrypto
      key = toHex(configId(this.#community.current, crypto)) + toHex(taggedHash('certificate', crypto, encodeCanonical(certificateValue(certificate))))
    } catch (err) {
      return { ok: false, reason: `malformed: ${(err as Error).message}` }
    }
    if (this.#ok.has(key)) return { ok: true }
    const check = verifyCertificateIn(certificate, this.#community)
    if (check.ok) {
      if (this.#ok.size >= 4096) this.#ok.clear()
      this.#ok.set(key, true)
    }
    return check
  }
}

