/**
 * `@tally/economy/bandwidth`: bandwidth tokens (seed 002) — cumulative vouchers for megabytes taken
 * from a peer, balances (up − down) that may go negative down to a threshold, a replaceable
 * free-rider policy, hop-by-hop payment along relay paths, deferred aggregated payouts, and a
 * simulation in simulated time.
 * @module
 */
export {
  BANDWIDTH_VOUCHER_MAX_BYTES,
  bandwidthVoucherFromValue,
  bandwidthVoucherMessage,
  bandwidthVoucherValue,
  decodeBandwidthVoucher,
  encodeBandwidthVoucher,
  signBandwidthVoucher,
  verifyBandwidthVoucher,
  type BandwidthVoucher,
} from './voucher.js'
export { DEFAULT_THRESHOLD_MB, thresholdPolicy, type FreeRiderPolicy, type ServiceRequest } from './policy.js'
export { PAYOUT_LIMITS, checkPayout, createPayoutView, decodePayout, encodePayout, payoutMessage, signPayout, type Payout, type PayoutView } from './payout.js'
export { createBandwidthLedger, type Admission, type BandwidthLedger, type BandwidthLedgerOptions } from './ledger.js'
export { pathPayments, type HopPayment } from './relay.js'
export { balanceHistogram, simulateBandwidth, type BandwidthSimOptions, type BandwidthSimResult } from './simulate.js'
