/**
 * @tally/economy — the rules of a TrustChain micro-economy (the TTN paper, FR1–FR4): a signed
 * community configuration, components registered by witness quorum, signed metric reports and a
 * monitor, scorers and karma, quorum-certified issuance over a Merkle tree, reward claims,
 * wallet linking, transfers and balances, and locks (vouchers, redeems, releases) for the markets
 * built on them. Pure rules and state machines; isomorphic (no `node:`).
 * @module
 */
export type { Check, Outcome } from './util.js'
export {
  checkQuorum,
  decodeSignatures,
  encodeSignatures,
  sortSignatures,
  witnessSign,
  type QuorumSignatures,
  type WitnessSet,
  type WitnessSignature,
} from './quorum.js'
export {
  CONFIG_LIMITS,
  configId,
  createConfig,
  decodeConfig,
  decodeSignedConfig,
  encodeConfig,
  encodeSignedConfig,
  epochAt,
  nextConfig,
  signConfig,
  signedConfig,
  type CommunityConfig,
  type ComponentTypeConfig,
  type ConfigFields,
  type SignedConfig,
  type TokenConfig,
} from './config.js'
export { createCommunity, openCommunity, verifyConfigChain, type Community, type CommunityOptions } from './community.js'
export {
  approveRegistration,
  approveRevocation,
  approvedRegistration,
  approvedRevocation,
  requestRegistration,
  checkRegistration,
  checkRevocation,
  decodeRegistration,
  decodeRevocation,
  encodeRegistration,
  encodeRevocation,
  registrationDigest,
  revocationDigest,
  signRegistration,
  type Approval,
  type Registration,
  type RegistrationRequest,
  type Revocation,
  type SignedRegistration,
  type SignedRevocation,
} from './statement.js'
export {
  approveLink,
  approvedLink,
  checkLink,
  createTokenAuthorizer,
  decodeLink,
  encodeLink,
  issueAccountToken,
  linkDigest,
  requestLink,
  type AccountAuthorizer,
  type AccountLink,
  type AuthorizationResult,
  type LinkRequest,
  type SignedLink,
  type TokenAuthorizerOptions,
} from './wallet-link.js'
export { createDirectory, type ComponentInfo, type ComponentTable, type Directory, type DirectoryOptions } from './directory.js'
export { REPORT_LIMITS, decodeReport, reportMessage, signReport, type MetricReport, type SignedReport } from './report.js'
export {
  createMonitor,
  type EpochMetrics,
  type Monitor,
  type MonitorOptions,
  type MonitorStats,
  type ReportRejection,
  type ReportVerdict,
  type SignatureBatchVerifier,
  type SignedMessage,
} from './monitor.js'
export {
  DEFAULT_GATEWAY_TIERS,
  MAX_SCORE,
  SCORERS,
  createScorers,
  gatewayScorer,
  routerUptimeScorer,
  type GatewayScorerSettings,
  type Scorer,
  type ScorerContext,
  type ScorerFactory,
  type UptimeScorerSettings,
} from './scorer.js'
export { createKarmaLedger, type KarmaLedger } from './karma.js'
export { allocate } from './allocation.js'
export {
  allocationLeaf,
  allocationLeaves,
  buildMerkleTree,
  decodeMerkleProof,
  emptyRoot,
  encodeMerkleProof,
  hashLeaf,
  verifyMerkleProof,
  type MerkleProof,
  type MerkleTree,
} from './merkle.js'
export {
  certificateDigest,
  certify,
  decodeCertificate,
  encodeCertificate,
  signCertificate,
  verifyCertificate,
  verifyCertificateIn,
  type CertificateBody,
  type EpochCertificate,
} from './certificate.js'
export { closeEpoch, type AllocationTable, type CloseEpochOptions, type EpochResult } from './epoch.js'
export {
  createEvidenceStore,
  decodeRewardEvidence,
  encodeRewardEvidence,
  type ClaimKey,
  type EvidenceSource,
  type EvidenceStore,
  type RewardEvidence,
} from './evidence.js'
export {
  BALANCE_TYPES,
  BURN,
  REFUND,
  REWARD,
  TRANSFER,
  balanceEntry,
  readBurn,
  readRefund,
  readReward,
  readTransfer,
  type BalanceEntry,
  type BurnPayload,
  type RefundPayload,
  type RewardPayload,
  type TransferPayload,
} from './payload.js'
export { BALANCE_FRAUD, balanceOf } from './balance.js'
export { verifyBalanceFraud } from './balance-fraud.js'
export { LATE_CLAIM_EPOCHS, REWARD_CLAIM_FRAUD, rewardPayload, rewardType, verifyRewardClaim, verifyRewardEvidence, type RewardTypeOptions } from './reward.js'
export { verifyRewardClaimFraud } from './reward-fraud.js'
export { burnType, transferType, type TransferTypeOptions } from './transfer.js'
export { REFUND_FRAUD, refundType } from './refund.js'
export { verifyRefundFraud } from './refund-fraud.js'
export {
  TICKET_CONFLICT,
  checkTicket,
  decodeTicketConflict,
  encodeTicketConflict,
  findTicketConflict,
  signTicket,
  ticketConfig,
  ticketDigest,
  verifyTicketConflict,
  type TicketConflict,
  type TicketDecision,
  type TicketSource,
} from './ticket.js'
export { createEconomyTypes, economyTypes, type EconomyTypesOptions } from './economy-types.js'
export { createWallet, type Claim, type Wallet, type WalletOptions } from './wallet.js'
export { auditSupply, type SupplyReport } from './supply.js'
export { supplyOf, type SupplySums } from './supply.js'
export { COMMUNITY_KEY, bucketOf, communityField, sameCommunity } from './payload.js'
export { replayBalance, replayedBalance, type Replay, type ReplayPoint } from './balance.js'
export {
  LOCK,
  LOCK_LIMITS,
  REDEEM,
  RELEASE,
  lockView,
  readLock,
  readRedeem,
  readRelease,
  type Authorization,
  type LockPayload,
  type LockRef,
  type LockView,
  type RedeemPayload,
  type ReleasePayload,
} from './lock/lock-payload.js'
export {
  VOUCHER_MAX_BYTES,
  decodeVoucher,
  encodeVoucher,
  signVoucher,
  verifyVoucher,
  voucherFromValue,
  voucherMessage,
  voucherValue,
  type Voucher,
  type VoucherBody,
} from './lock/voucher.js'
export { releaseConsentDigest, signReleaseConsent, verifyReleaseConsent } from './lock/consent.js'
export { VOUCHER, voucherAuthority, type AuthorityContext, type Entitlement, type RedeemAuthority, type VoucherSource } from './lock/authority.js'
export { createVoucherBook, type VoucherBook } from './lock/voucher-book.js'
export {
  REDEEM_EXCESS_FRAUD,
  RELEASE_EXCESS_FRAUD,
  RELEASE_TWICE_FRAUD,
  redeemExcessVerifier,
  releaseExcessProof,
  verifyRedeemExcess,
  verifyReleaseExcess,
  verifyReleaseTwice,
} from './lock/lock-fraud.js'
export { lockTypes, redeemedLocks, type CertifiedSource, type LockTypesOptions } from './lock/lock-type.js'
export type { EarlyRelease, LockOperations, LockRequest } from './lock/lock-wallet.js'
