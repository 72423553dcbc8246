/**
 * 'channel-release' (the payer): a release of a channel's lock that takes back what a receipt the
 * payer signed covers. Evidence: blocks [lock, release] of the payer's chain and the receipt as the
 * one attachment. It proves fraud when the release returns more than the lock minus what the
 * receipt covers of it (channel-terms.ts: clamp(A − offset, 0, amount)).
 *
 * Why not 'release-excess': that kind reads a voucher for the very lock, while a receipt names the
 * channel and covers a lock only through its place in it (a recharge's receipt amounts run past
 * the first lock's). Reading receipts as vouchers would accuse an honest payer who releases
 * nothing of a first lock that a later receipt fills.
 *
 * Why an honest payer is never accused: it keeps the latest receipt it signed as durably as its
 * chain, signs no receipt once it has released any lock of the channel, and releases lock k
 * returning amount_k − covered_k(latest). Every receipt it signed has A ≤ A_latest, and covered_k
 * is non-decreasing in A, so the release leaves at least what any of them covers.
 * @module
 */
import { createFraudProof, equalBytes, isUnilateral, nobleCrypto, type CryptoProvider, type FraudProof, type FraudVerifier, type HalfBlock } from '@tally/core'
import { RELEASE, lockView, readRelease } from '../lock/lock-payload.js'
import { channelPlace, covered } from './channel-terms.js'
import { decodeReceipt, encodeReceipt, verifyReceipt, type Receipt } from './receipt.js'

import { CHANNEL_RELEASE_FRAUD } from '../fraud-names.js'

export { CHANNEL_RELEASE_FRAUD }

/**
 * The stand-alone verifier of 'channel-release': blocks [lock, release] by one key, attachments [receipt].
 * @returns undefined when the evidence proves fraud, else the reason it does not
 */
export const verifyChannelRelease: FraudVerifier = (blocks, crypto, attachments = []) => {
  if (blocks.length !== 2) return 'channel-release needs the lock and its release'
  if (attachments.length !== 1) return 'channel-release takes exactly one attachment, the receipt'
  const [lock, release] = blocks as [HalfBlock, HalfBlock]
  const view = lockView(lock, crypto)
  if (view === undefined) return 'the first block is not a well-formed lock'
  const place = channelPlace(view)
  if (place === undefined) return 'the lock is not a channel\'s'
  const r = release.type === RELEASE && isUnilateral(release) ? readRelease(release.payload) : undefined
  if (r === undefined) return 'the second block is not a well-formed release'
  if (!equalBytes(lock.publicKey, release.publicKey) || r.lock !== lock.seq || release.seq <= lock.seq) return 'the release is not of this lock'
  let receipt: Receipt
  try {
    receipt = decodeReceipt(attachments[0]!)
  } catch {
    return 'the attachment is not a receipt'
  }
  if (!equalBytes(receipt.channel, place.channel)) return 'the receipt is for another channel'
  if (!verifyReceipt(receipt, view.owner, crypto)) return 'the receipt is not signed by the lock\'s owner'
  return r.amount > view.amount - covered(receipt.amount, place.offset, view.amount) ? undefined : 'the release leaves what the receipt covers'
}

/**
 * A 'channel-release' proof, when the receipt contradicts the release.
 * @param lock the channel's lock block
 * @param release its owner's release of it
 * @param receipt a receipt of the channel
 * @param crypto provider (default nobleCrypto)
 * @returns the proof, or undefined when the three prove nothing
 * @example const proof = channelReleaseProof(lock, release, latest); proof && agent.addFraudProof(proof)
 */
export function channelReleaseProof(lock: HalfBlock, release: HalfBlock, receipt: Receipt, crypto: CryptoProvider = nobleCrypto): FraudProof | undefined {
  const proof = createFraudProof(CHANNEL_RELEASE_FRAUD, [lock, release], [encodeReceipt(receipt)])
  return verifyChannelRelease(proof.blocks, crypto, proof.attachments) === undefined ? proof : undefined
}
