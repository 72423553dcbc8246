/**
 * The lock corpus of the fuzzer (test/fuzz/harness.ts): valid vouchers, and valid proofs of the
 * lock fraud kinds against the harness's cheater — a release that takes back what its voucher
 * promised (the voucher attached), two releases of one lock, a redeem beyond its voucher, and a
 * redeem beyond the honest payer's lock (the lock block attached). Their mutations go to
 * decodeVoucher and to decodeFraudProof → verifyFraudProof with the lock verifiers: a proof that
 * verifies against anyone but the cheater is a false accusation.
 */
import { GENESIS_HASH, UNILATERAL_KEY, blockHash, createFraudProof, encodeBlock, encodeFraudProof, signBlock, type CborValue, type CryptoProvider, type HalfBlock, type SeedIdentity } from '@tally/core'
import { REDEEM_EXCESS_FRAUD, RELEASE_EXCESS_FRAUD, RELEASE_TWICE_FRAUD, encodeVoucher, signVoucher, voucherValue } from '@tally/economy'
import { CHANNEL_RELEASE_FRAUD, channelTerms, encodeReceipt, signReceipt } from '@tally/economy/channels'
import { encodeBandwidthVoucher, encodePayout, signBandwidthVoucher, signPayout } from '@tally/economy/bandwidth'

/**
 * Vouchers and lock fraud proofs.
 * @param honest the payer of the lock the cheater redeems from (never accused)
 * @param cheater the accused of every proof
 * @param crypto provider
 */
export function lockCorpus(honest: SeedIdentity, cheater: SeedIdentity, crypto: CryptoProvider): { vouchers: Uint8Array[]; receipts: Uint8Array[]; bandwidth: Uint8Array[]; payouts: Uint8Array[]; proofs: Uint8Array[] } {
  const chain = (who: SeedIdentity, payloads: [string, CborValue][]): HalfBlock[] => {
    const out: HalfBlock[] = []
    for (const [type, payload] of payloads) {
      const prev = out.at(-1)
      const fields = { publicKey: who.publicKey, seq: out.length + 1, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: prev === undefined ? GENESIS_HASH : blockHash(prev, crypto), type, payload, timestamp: 1_700_000_000_000 + out.length }
      out.push(signBlock(fields, who, crypto))
    }
    return out
  }
  // the honest payer's lock for the cheater, and its voucher of 100
  const [honestLock] = chain(honest, [['lock', { amount: 100, to: cheater.publicKey, terms: { price: 1 }, expiry: 3, balance: 0 }]]) as [HalfBlock]
  const paid = signVoucher(honest, { lock: blockHash(honestLock, crypto), amount: 100, counter: 2 })
  const ref = [honest.publicKey, 1, blockHash(honestLock, crypto)]
  // the cheater: a lock for the honest agent, released whole after vouching 120 and released again; redeems beyond
  const cheats = chain(cheater, [
    ['lock', { amount: 300, to: honest.publicKey, terms: null, expiry: 0, balance: 0 }],
    ['release', { lock: 1, amount: 300, balance: 300 }],
    ['release', { lock: 1, amount: 0, balance: 300 }],
    ['redeem', { lock: ref, by: ['voucher', voucherValue(paid)], amount: 100, redeemed: 100, balance: 400 }],
    ['redeem', { lock: ref, by: ['voucher', voucherValue(paid)], amount: 50, redeemed: 150, balance: 450 }],
    // a channel for the honest agent (seq 6), released whole after a receipt of 50
    ['lock', { amount: 200, to: honest.publicKey, terms: channelTerms(), expiry: 0, balance: 250 }],
    ['release', { lock: 6, amount: 200, balance: 450 }],
  ])
  const [lock, release, again, redeem1, redeem2, channelLock, channelRelease] = cheats as [HalfBlock, HalfBlock, HalfBlock, HalfBlock, HalfBlock, HalfBlock, HalfBlock]
  const channel = blockHash(channelLock, crypto)
  // ... and its recharge at offset 200 (seq 8), released whole after a receipt of 250 covered 50 of it
  const recharge = chain(cheater, [
    ...cheats.map((b): [string, CborValue] => [b.type, b.payload]),
    ['lock', { amount: 100, to: honest.publicKey, terms: channelTerms({ channel, offset: 200 }), expiry: 0, balance: 350 }],
    ['release', { lock: 8, amount: 100, balance: 450 }],
  ]).slice(7) as [HalfBlock, HalfBlock]
  const receipts = [signReceipt(cheater, { channel, amount: 50, counter: 1 }), signReceipt(cheater, { channel, amount: 250, counter: 2 })]
  const vouched = signVoucher(cheater, { lock: blockHash(lock, crypto), amount: 120, counter: 3 })
  const proofs = [
    createFraudProof(RELEASE_EXCESS_FRAUD, [lock, release], [encodeVoucher(vouched)]),
    createFraudProof(RELEASE_TWICE_FRAUD, [release, again]),
    createFraudProof(REDEEM_EXCESS_FRAUD, [redeem1, redeem2]),
    createFraudProof(REDEEM_EXCESS_FRAUD, [redeem2], [encodeBlock(honestLock)]),
    createFraudProof(CHANNEL_RELEASE_FRAUD, [channelLock, channelRelease], [encodeReceipt(receipts[0]!)]),
    createFraudProof(CHANNEL_RELEASE_FRAUD, recharge, [encodeReceipt(receipts[1]!)]),
  ]
  // bandwidth: vouchers and a payout of two payers
  const toHonest = [signBandwidthVoucher(cheater, { payee: honest.publicKey, mb: 700, counter: 2 }), signBandwidthVoucher(honest, { payee: cheater.publicKey, mb: 2 ** 40, counter: 9 })]
  const payout = signPayout(cheater, 3, [toHonest[1]!])
  return {
    vouchers: [encodeVoucher(paid), encodeVoucher(vouched)],
    receipts: receipts.map(encodeReceipt),
    bandwidth: toHonest.map(encodeBandwidthVoucher),
    payouts: [encodePayout(payout), encodePayout(signPayout(honest, 0, [toHonest[0]!]))],
    proofs: proofs.map(encodeFraudProof),
  }
}
