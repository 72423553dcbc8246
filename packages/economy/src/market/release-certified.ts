/**
 * A release that takes back what an outcome certificate gave the beneficiary is fraud
 * ('release-certified', DESIGN.md "Locks": "a release that contradicts ... a certificate").
 * After an SLA cycle is certified, one of its two locks belongs to the other side: the buyer's
 * escrow to the seller once every epoch passed, the seller's penalty to the buyer once one epoch
 * failed. The lock's owner may still release it after the expiry (the lock rules cannot see the
 * beneficiary's chain), and the beneficiary's redeem would then take the same value twice. The
 * proof shows the lock, the release and the certificates; anyone verifies it alone.
 *
 *   kind         'release-certified' (the lock's owner)
 *   blocks       [lock, release]                  one chain: the release names the lock's seq
 *   attachments  [offer block, canonical CBOR [outcome evidence bytes...]]
 *
 * The verifier checks the offer block's signature and that the lock's SLA terms name it, every
 * evidence against the community's witnesses (verifyOutcome), and that the evidence entitles the
 * beneficiary to the whole lock: for the buyer's escrow, a passed outcome for every epoch of the
 * cycle; for the seller's penalty, a failed one for some epoch of it. A release with the
 * beneficiary's consent is the beneficiary's own choice and proves nothing. An honest owner
 * releases only the lock the certificates left it: the escrow of a failed cycle, the penalty of a
 * passed one — so no evidence about its cycle can accuse it, as long as the witnesses do not
 * certify both outcomes of one epoch (which takes a witness signing two roots).
 * @module
 */
import { createFraudProof, decodeBlock, decodeCanonical, encodeBlock, encodeCanonical, equalBytes, isUnilateral, verifyBlock, verifyFraudProof, type CborValue, type FraudProof, type FraudVerifier, type HalfBlock } from '@tally/core'
import type { Community } from '../community.js'
import type { CertifiedSource } from '../lock/lock-type.js'
import { RELEASE, lockView, readRelease, type LockView } from '../lock/lock-payload.js'
import { verifyReleaseConsent } from '../lock/consent.js'
import { offerView, type OfferView } from './offer.js'
import { OUTCOME_EVIDENCE_MAX_BYTES, decodeOutcomeEvidence, encodeOutcomeEvidence, verifyOutcome, type OutcomeEvidence, type OutcomeSource } from './outcome.js'
import { readSlaTerms } from './sla-terms.js'

/** The fraud kind. */
export const RELEASE_CERTIFIED_FRAUD = 'release-certified'

/** Most epochs of evidence one proof carries (a cycle of at most this many epochs). */
const MAX_EVIDENCE = 64

/**
 * The evidence that entitles a lock's beneficiary to the whole lock, from the outcomes held.
 * @param lock an SLA lock
 * @param offer the offer its terms name
 * @param outcomes outcome evidence (checked when kept)
 * @returns the evidence (every passed epoch of the cycle for an escrow, one failed epoch for a penalty), or undefined when not certified so
 */
export function slaEntitlement(lock: LockView, offer: OfferView, outcomes: OutcomeSource): OutcomeEvidence[] | undefined {
  const terms = readSlaTerms(lock.terms)
  if (terms === undefined || !equalBytes(terms.offer, offer.id)) return undefined
  const end = terms.start + offer.cycle
  if (equalBytes(lock.owner, offer.seller)) {
    for (let e = terms.start; e < end; e++) {
      const ev = outcomes.get(offer.id, e)
      if (ev !== undefined && !ev.passed) return [ev]
    }
    return undefined
  }
  if (!equalBytes(lock.beneficiary, offer.seller)) return undefined
  const all: OutcomeEvidence[] = []
  for (let e = terms.start; e < end; e++) {
    const ev = outcomes.get(offer.id, e)
    if (ev === undefined || !ev.passed) return undefined
    all.push(ev)
  }
  return all
}

/**
 * The stand-alone verifier of 'release-certified' for a community.
 * @param community whose witnesses certify outcomes
 * @returns the verifier
 */
export function releaseCertifiedVerifier(community: Community): FraudVerifier {
  return (blocks, crypto, attachments = []) => {
    if (blocks.length !== 2 || attachments.length !== 2) return 'release-certified needs [lock, release] and [offer, evidence]'
    const [lockBlock, release] = blocks as [HalfBlock, HalfBlock]
    const lock = lockView(lockBlock, crypto)
    if (lock === undefined) return 'the first block is not a well-formed lock'
    const r = release.type === RELEASE && isUnilateral(release) ? readRelease(release.payload) : undefined
    if (r === undefined || r.lock !== lockBlock.seq || release.seq <= lockBlock.seq) return 'the second block is not a release of this lock'
    if (r.consent !== undefined && verifyReleaseConsent(r.consent, lock.id, r.amount, lock.beneficiary, crypto)) return 'the beneficiary consented to the release'
    if (r.amount === 0) return 'the release returns nothing'
    let offerBlock: HalfBlock
    let evidence: OutcomeEvidence[]
    try {
      offerBlock = decodeBlock(attachments[0]!)
      const list = decodeCanonical(attachments[1]!, { maxBytes: MAX_EVIDENCE * (OUTCOME_EVIDENCE_MAX_BYTES + 8), maxDepth: 2 })
      if (!Array.isArray(list) || list.length < 1 || list.length > MAX_EVIDENCE || !list.every((x) => x instanceof Uint8Array)) return 'the second attachment is not a list of evidence'
      evidence = (list as Uint8Array[]).map((b) => decodeOutcomeEvidence(b))
    } catch {
      return 'an attachment does not decode'
    }
    const offer = offerView(offerBlock, crypto)
    if (offer === undefined || !verifyBlock(offerBlock, crypto)) return 'the first attachment is not a signed offer'
    const terms = readSlaTerms(lock.terms)
    if (terms === undefined || !equalBytes(terms.offer, offer.id) || !equalBytes(terms.seller, offer.seller) || terms.seq !== offer.seq) return 'the lock is not an SLA lock of this offer'
    const end = terms.start + offer.cycle
    const proves = (e: OutcomeEvidence, passed: boolean): boolean => e.passed === passed && e.certificate.epoch >= terms.start && e.certificate.epoch < end && verifyOutcome(offer.id, e.certificate.epoch, e, community).ok
    if (equalBytes(lock.owner, offer.seller)) {
      // the seller's penalty: one failed epoch of the cycle gives it to the buyer
      return evidence.some((e) => proves(e, false)) ? undefined : 'no failed epoch of the cycle is certified'
    }
    if (!equalBytes(lock.beneficiary, offer.seller)) return 'the lock is neither the seller\'s nor for the seller'
    // the buyer's escrow: every epoch passed gives it to the seller
    const epochs = new Set(evidence.filter((e) => proves(e, true)).map((e) => e.certificate.epoch))
    return epochs.size === offer.cycle ? undefined : 'not every epoch of the cycle is certified passed'
  }
}

/**
 * A 'release-certified' proof.
 * @param lock the lock block
 * @param release the owner's release of it
 * @param offer the offer block the lock's terms name
 * @param evidence the outcomes that entitle the beneficiary (slaEntitlement)
 * @param community the community
 * @returns the proof, or undefined when the evidence proves nothing
 */
export function releaseCertifiedProof(lock: HalfBlock, release: HalfBlock, offer: HalfBlock, evidence: readonly OutcomeEvidence[], community: Community): FraudProof | undefined {
  if (!equalBytes(lock.publicKey, release.publicKey) || lock.seq >= release.seq || evidence.length === 0 || evidence.length > MAX_EVIDENCE) return undefined
  const proof = createFraudProof(RELEASE_CERTIFIED_FRAUD, [lock, release], [encodeBlock(offer), encodeCanonical(evidence.map(encodeOutcomeEvidence) as CborValue)])
  return verifyFraudProof(proof, { crypto: community.crypto, verifiers: new Map([[RELEASE_CERTIFIED_FRAUD, releaseCertifiedVerifier(community)]]) }).ok ? proof : undefined
}

/**
 * The lock rules' CertifiedSource for SLA locks: outcomes held here entitle the beneficiary, and a
 * release that takes it back is refused with its proof.
 * @param options community, outcomes
 * @returns the source, for createEconomyTypes({ lock: { certified } })
 */
export function slaCertified(options: { community: Community; outcomes: OutcomeSource }): CertifiedSource {
  const { community, outcomes } = options
  return Object.freeze({
    async entitled(lock: LockView, release: HalfBlock, ctx: Parameters<CertifiedSource['entitled']>[2]) {
      const terms = readSlaTerms(lock.terms)
      if (terms === undefined) return undefined
      const held = await ctx.store.get(terms.seller, terms.seq)
      const offer = held === undefined ? undefined : offerView(held, ctx.crypto)
      if (offer === undefined || !equalBytes(offer.id, terms.offer)) return undefined
      const evidence = slaEntitlement(lock, offer, outcomes)
      if (evidence === undefined) return undefined
      const fraud = releaseCertifiedProof(lock.block, release, held!, evidence, community)
      return fraud === undefined ? { amount: lock.amount } : { amount: lock.amount, fraud }
    },
  })
}
