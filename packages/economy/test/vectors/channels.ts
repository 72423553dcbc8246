/**
 * Golden vectors of the channel and bandwidth formats (channels-v1.json): receipts, the receipt
 * message, a channel's recharge terms, the ack, bandwidth vouchers and a payout. Deterministic
 * (fixed seeds; Ed25519 is deterministic). `test/channel-vectors.test.ts` checks the code still
 * makes exactly these bytes and reads them back; a change of these bytes is a change of the
 * format, i.e. a new file (channels-v2.json).
 *
 * Write the file (from the repository root): node --import tsx packages/economy/test/vectors/channels.ts --write
 */
import { writeFileSync } from 'node:fs'
import { encodeCanonical, identityFromSeed, toHex } from '@tally/core'
import { channelTerms, encodeReceipt, receiptMessage, signReceipt } from '@tally/economy/channels'
import { encodeBandwidthVoucher, encodePayout, signBandwidthVoucher, signPayout } from '@tally/economy/bandwidth'

/** The vectors, as JSON-ready values (byte strings in lowercase hex). */
export function channelVectors(): Record<string, unknown> {
  const payer = identityFromSeed(new Uint8Array(32).fill(0x50))
  const relay = identityFromSeed(new Uint8Array(32).fill(0x51))
  const channel = Uint8Array.from({ length: 32 }, (_, i) => i)
  const receipts = [[0, 1], [23, 2], [24, 3], [255, 256], [65_535, 65_536], [4_294_967_295, 4_294_967_296], [2 ** 53 - 1, 2 ** 53 - 1]].map(([amount, counter]) => {
    const r = signReceipt(payer, { channel, amount: amount!, counter: counter! })
    return { amount, counter, message: toHex(receiptMessage(r)), receipt: toHex(encodeReceipt(r)) }
  })
  const v1 = signBandwidthVoucher(payer, { payee: relay.publicKey, mb: 1_400, counter: 1 })
  const v2 = signBandwidthVoucher(identityFromSeed(new Uint8Array(32).fill(0x52)), { payee: relay.publicKey, mb: 2 ** 40, counter: 7 })
  return {
    format: 'tally channels and bandwidth v1',
    payer: toHex(payer.publicKey),
    relay: toHex(relay.publicKey),
    channel: toHex(channel),
    receipts,
    openTerms: toHex(encodeCanonical(channelTerms())),
    rechargeTerms: toHex(encodeCanonical(channelTerms({ channel, offset: 500 }))),
    bandwidthVouchers: [v1, v2].map((v) => toHex(encodeBandwidthVoucher(v))),
    payout: toHex(encodePayout(signPayout(relay, 3, [v1, v2]))),
  }
}

if (process.argv.includes('--write')) {
  writeFileSync(new URL('./channels-v1.json', import.meta.url), JSON.stringify(channelVectors(), null, 2) + '\n')
}
