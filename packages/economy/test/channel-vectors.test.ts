/**
 * The channel and bandwidth formats are pinned by golden vectors (test/vectors/channels-v1.json):
 * the code makes exactly those bytes, reads them back, and their signatures verify.
 */
import { readFileSync } from 'node:fs'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex } from '@tally/core'
import { decodeReceipt, verifyReceipt } from '@tally/economy/channels'
import { checkPayout, decodeBandwidthVoucher, decodePayout, verifyBandwidthVoucher } from '@tally/economy/bandwidth'
import { channelVectors } from './vectors/channels.ts'

const Vectors = suite('channel and bandwidth golden vectors')
const golden = JSON.parse(readFileSync(new URL('./vectors/channels-v1.json', import.meta.url), 'utf8'))

Vectors('the code makes exactly the stored bytes', () => {
  assert.equal(channelVectors(), golden)
})

Vectors('the stored bytes decode and verify', () => {
  const payer = fromHex(golden.payer)
  for (const r of golden.receipts) {
    const receipt = decodeReceipt(fromHex(r.receipt))
    assert.equal([receipt.amount, receipt.counter], [r.amount, r.counter])
    assert.ok(verifyReceipt(receipt, payer))
    assert.ok(fromHex(r.receipt).length <= 119)
  }
  for (const v of golden.bandwidthVouchers) assert.ok(verifyBandwidthVoucher(decodeBandwidthVoucher(fromHex(v))))
  assert.is(checkPayout(decodePayout(fromHex(golden.payout))), undefined)
})

Vectors.run()
