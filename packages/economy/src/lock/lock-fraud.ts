/**
 * Fraud around locks, each kind a proof that anyone verifies alone (core's verifyFraudProof checks
 * that every block is validly signed by the accused, then the kind's verifier below runs):
 *
 * - 'release-excess' (the lock's owner): [lock, release] of one chain, where the release returns
 *   more than the lock holds, or — with a voucher attached, signed by the owner for this lock —
 *   more than the lock minus the voucher's amount. The owner took back what it had promised.
 * - 'release-twice' (the lock's owner): two releases of one lock.
 * - 'redeem-excess' (the beneficiary): one redeem that takes more than its own authority's level or
 *   than its own running total; or one redeem with the lock block attached (by the hash the redeem
 *   names) that takes from a lock for someone else or beyond the lock's amount; or two redeems of
 *   one lock, the later understating the total taken, going back to an earlier slot, or taking
 *   more than its level rose since the earlier one (a voucher or certificate redeemed twice).
 *
 * Why honest agents are never accused: an honest owner releases once, returning the lock minus the
 * highest voucher it signed (its wallet keeps the count, and signs no voucher after the release);
 * an honest beneficiary takes exactly the increment of its authority over the previous redeem of
 * the lock, keeps the running total, and never passes the lock's amount — so for any earlier redeem
 * a of the same lock and a later b: total(b) ≥ total(a) + amount(b), and within one slot
 * level(b) − level(a) ≥ amount(b). Attachments are checked here, signatures included: a forged
 * voucher or lock block proves nothing.
 * @module
 */
import { blockHash, createFraudProof, decodeBlock, equalBytes, isUnilateral, nobleCrypto, verifyBlock, type CryptoProvider, type FraudProof, type FraudVerifier, type HalfBlock } from '@tally/core'
import { voucherAuthority, type RedeemAuthority } from './authority.js'
import { CHANNEL_RELEASE_FRAUD, REDEEM_EXCESS_FRAUD, RELEASE_EXCESS_FRAUD, RELEASE_TWICE_FRAUD } from '../fraud-names.js'
import { verifyChannelRelease } from '../channels/channel-fraud.js'
import { REDEEM, RELEASE, lockView, readRedeem, readRelease, sameLock } from './lock-payload.js'
import { decodeVoucher, encodeVoucher, verifyVoucher, type Voucher } from './voucher.js'

export { REDEEM_EXCESS_FRAUD, RELEASE_EXCESS_FRAUD, RELEASE_TWICE_FRAUD }

/**
 * The stand-alone verifier of 'release-excess': blocks [lock, release] by one key, attachments
 * none or [voucher].
 * @returns undefined when the evidence proves fraud, else the reason it does not
 */
export const verifyReleaseExcess: FraudVerifier = (blocks, crypto, attachments = []) => {
  if (blocks.length !== 2) return 'release-excess needs the lock and its release'
  if (attachments.length > 1) return 'release-excess takes at most one attachment, a voucher'
  const [lock, release] = blocks as [HalfBlock, HalfBlock]
  const view = lockView(lock, crypto)
  if (view === undefined) return 'the first block is not a well-formed lock'
  const r = release.type === RELEASE && isUnilateral(release) ? readRelease(release.payload) : undefined
  if (r === undefined) return 'the second block is not a well-formed release'
  if (r.lock !== lock.seq || release.seq <= lock.seq) return 'the release is not of this lock'
  if (attachments.length === 0) return r.amount > view.amount ? undefined : 'the release returns no more than the lock holds'
  let voucher: Voucher
  try {
    voucher = decodeVoucher(attachments[0]!)
  } catch {
    return 'the attachment is not a voucher'
  }
  if (!equalBytes(voucher.lock, view.id)) return 'the voucher is for another lock'
  if (!verifyVoucher(voucher, view.owner, crypto)) return 'the voucher is not signed by the lock\'s owner'
  return voucher.amount > view.amount - r.amount ? undefined : 'the release leaves what the voucher promised'
}

/**
 * The stand-alone verifier of 'release-twice': two different releases of one lock by one key.
 * @returns undefined when the evidence proves fraud, else the reason it does not
 */
export const verifyReleaseTwice: FraudVerifier = (blocks, crypto, attachments) => {
  if ((attachments?.length ?? 0) > 0) return 'release-twice takes no attachments'
  if (blocks.length !== 2) return 'release-twice needs exactly two releases'
  const [a, b] = blocks as [HalfBlock, HalfBlock]
  const ra = a.type === RELEASE && isUnilateral(a) ? readRelease(a.payload) : undefined
  const rb = b.type === RELEASE && isUnilateral(b) ? readRelease(b.payload) : undefined
  if (ra === undefined || rb === undefined) return 'both blocks must be well-formed releases'
  if (ra.lock !== rb.lock) return 'the releases are of different locks'
  if (equalBytes(blockHash(a, crypto), blockHash(b, crypto))) return 'the same block twice'
  return undefined
}

/**
 * The verifier of 'redeem-excess' for a registry of authorities (their `read` gives slots and levels).
 * @param authorities the authority kinds the lock types were made with
 * @returns the verifier: blocks [redeem] with none or [lock block] attached, or [redeem, redeem]
 * @example const verify = redeemExcessVerifier([voucherAuthority(), slaAuthority])
 */
export function redeemExcessVerifier(authorities: readonly RedeemAuthority[]): FraudVerifier {
  const byKind = new Map(authorities.map((a) => [a.kind, a]))
  const entitlement = (kind: string, value: Parameters<RedeemAuthority['read']>[0]) => {
    try {
      return byKind.get(kind)?.read(value)
    } catch {
      return undefined // a market's read that throws proves nothing
    }
  }
  return (blocks, crypto, attachments = []) => {
    if (blocks.length < 1 || blocks.length > 2) return 'redeem-excess needs one or two redeems'
    if (attachments.length > (blocks.length === 1 ? 1 : 0)) return 'redeem-excess takes at most the lock block, and only beside one redeem'
    const redeems = blocks.map((b) => (b.type === REDEEM && isUnilateral(b) ? readRedeem(b.payload) : undefined))
    if (redeems.some((r) => r === undefined)) return 'every block must be a well-formed redeem'
    if (blocks.length === 2) {
      const [a, b] = blocks as [HalfBlock, HalfBlock]
      const [ra, rb] = redeems as [NonNullable<(typeof redeems)[0]>, NonNullable<(typeof redeems)[0]>]
      if (a.seq >= b.seq) return 'the redeems must be at different seqs'
      if (!sameLock(ra.lock, rb.lock)) return 'the redeems take from different locks'
      if (rb.redeemed < ra.redeemed + rb.amount) return undefined
      if (ra.by.kind === rb.by.kind) {
        const ea = entitlement(ra.by.kind, ra.by.value)
        const eb = entitlement(rb.by.kind, rb.by.value)
        if (ea !== undefined && eb !== undefined) {
          if (eb.slot < ea.slot) return undefined
          if (eb.slot === ea.slot && eb.level - ea.level < rb.amount) return undefined
        }
      }
      return 'the later redeem follows from the earlier'
    }
    const [block] = blocks as [HalfBlock]
    const r = redeems[0]!
    if (attachments.length === 1) {
      let lock: HalfBlock
      try {
        lock = decodeBlock(attachments[0]!)
      } catch {
        return 'the attachment is not a block'
      }
      if (!equalBytes(lock.publicKey, r.lock.owner) || lock.seq !== r.lock.seq || !equalBytes(blockHash(lock, crypto), r.lock.hash)) return 'the attachment is not the lock the redeem names'
      if (!verifyBlock(lock, crypto)) return 'the lock\'s signature does not verify'
      const view = lockView(lock, crypto)
      if (view === undefined) return 'the attachment is not a well-formed lock'
      if (!equalBytes(view.beneficiary, block.publicKey)) return undefined
      return r.redeemed > view.amount ? undefined : 'the redeem stays within the lock'
    }
    if (r.amount > r.redeemed) return undefined
    const e = entitlement(r.by.kind, r.by.value)
    if (e !== undefined && r.amount > e.level) return undefined
    return 'the redeem takes no more than its authority and its total allow'
  }
}

/**
 * The verifiers of every fraud kind around locks ('redeem-excess' for these authorities,
 * 'release-excess', 'release-twice', 'channel-release'), by kind: what the lock types register.
 * @param authorities the authority kinds the lock types were made with
 * @returns the four verifiers
 * @internal
 */
export function lockFraudVerifiers(authorities: readonly RedeemAuthority[]): Record<string, FraudVerifier> {
  return {
    [REDEEM_EXCESS_FRAUD]: redeemExcessVerifier(authorities),
    [RELEASE_EXCESS_FRAUD]: verifyReleaseExcess,
    [RELEASE_TWICE_FRAUD]: verifyReleaseTwice,
    [CHANNEL_RELEASE_FRAUD]: verifyChannelRelease,
  }
}

/** The 'redeem-excess' verifier for vouchers alone (the default registry). */
export const verifyRedeemExcess: FraudVerifier = /* @__PURE__ */ redeemExcessVerifier([/* @__PURE__ */ voucherAuthority()])

/**
 * A 'release-excess' proof: the release returns more than the lock minus the voucher (or, without
 * one, more than the lock).
 * @param lock the lock block
 * @param release the owner's release of it
 * @param voucher a voucher the owner signed for the lock
 * @param crypto provider (default nobleCrypto)
 * @returns the proof, or undefined when the blocks and voucher prove nothing
 * @example const proof = releaseExcessProof(lock, release, latest); proof && agent.addFraudProof(proof)
 */
export function releaseExcessProof(lock: HalfBlock, release: HalfBlock, voucher?: Voucher, crypto: CryptoProvider = nobleCrypto): FraudProof | undefined {
  if (!equalBytes(lock.publicKey, release.publicKey) || lock.seq >= release.seq) return undefined
  const proof = createFraudProof(RELEASE_EXCESS_FRAUD, [lock, release], voucher === undefined ? [] : [encodeVoucher(voucher)])
  return verifyReleaseExcess(proof.blocks, crypto, proof.attachments) === undefined ? proof : undefined
}
