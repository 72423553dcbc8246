/**
 * `@tally/economy/channels`: one-way payment channels on locks (seed 004) — open, pay with
 * receipts off line, redeem, recharge, close — and their fraud kind 'channel-release'.
 * @module
 */
export { RECEIPT_MAX_BYTES, decodeReceipt, encodeReceipt, receiptMessage, signReceipt, verifyReceipt, type Receipt, type ReceiptBody } from './receipt.js'
export { CHANNEL, channelPlace, channelTerms, covered, type ChannelPlace } from './channel-terms.js'
export { RECEIPT, receiptAuthority, receiptValue } from './receipt-authority.js'
export { CHANNEL_RELEASE_FRAUD, channelReleaseProof, verifyChannelRelease } from './channel-fraud.js'
export { createChannelBook, createMemoryTable, type ChannelBook, type ReceiptSource, type RecordTable } from './receipt-store.js'
export { createPayee, createPayer, type ChannelSideOptions, type ChannelState, type ClosingConsent, type Payee, type Payer } from './channel.js'
