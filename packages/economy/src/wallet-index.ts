/**
 * @tally/economy/wallet — what a wallet runs, and nothing it loads on demand: the community from its
 * configuration, the economy's block types, the local wallet over an agent, the voucher book,
 * reward evidence and the payload readers.
 * The same functions as the package index exports; a page imports them from here because a
 * bundler counts every module the index re-exports as reachable from the page's start, so the code
 * a wallet loads only when it meets a lock, a lock's fraud or a refund (on-demand.ts), which the
 * index re-exports too, would be put back into the files a page loads at start.
 * @module
 */
export { createEconomyTypes, economyTypes, type EconomyTypesOptions } from './economy-types.js'
export { createWallet, type Claim, type Wallet, type WalletOptions } from './wallet.js'
export { createVoucherBook, type VoucherBook } from './lock/voucher-book.js'
export {
  createEvidenceStore,
  decodeRewardEvidence,
  encodeRewardEvidence,
  type ClaimKey,
  type EvidenceSource,
  type EvidenceStore,
  type RewardEvidence,
} from './evidence.js'
export { balanceEntry, readRefund, readReward, readTransfer, type BalanceEntry } from './payload.js'
export { createCommunity, openCommunity, type Community, type CommunityOptions } from './community.js'
export { decodeSignedConfig, encodeSignedConfig, type SignedConfig } from './config.js'
export type { LockTypesOptions } from './lock/lock-type.js'
