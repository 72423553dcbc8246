/**
 * The free-rider policy: whether a provider serves a peer, given that peer's balance as the
 * provider knows it. Tribler's rule (seed 002): refuse a peer whose balance (megabytes uploaded −
 * downloaded) is below a threshold, until it uploads or buys tokens. A community replaces it with
 * any function of the same shape — a sliding threshold, an allowance for newcomers, a price.
 * @module
 */

/** What a policy decides on. */
export interface ServiceRequest {
  /** The peer asking (the payer: a relay's predecessor on a path, not the downloader it hides). */
  readonly peer: Uint8Array
  /** Its balance in megabytes as this provider knows it (published payouts and its own vouchers). */
  readonly balance: number
  /** The megabytes asked for. */
  readonly mb: number
}

/** A free-rider policy: true to serve. */
export type FreeRiderPolicy = (request: ServiceRequest) => boolean

/** Tribler's default threshold in megabytes (refuse below −5 GB). */
export const DEFAULT_THRESHOLD_MB = -5_000

/**
 * Serve a peer whose balance is at or above `threshold` megabytes.
 * @param threshold megabytes, at most 0 (default DEFAULT_THRESHOLD_MB)
 * @returns the policy
 * @throws RangeError when the threshold is positive or not a safe integer
 * @example createBandwidthLedger({ key, policy: thresholdPolicy(-20_000) })
 */
export function thresholdPolicy(threshold: number = DEFAULT_THRESHOLD_MB): FreeRiderPolicy {
  if (!Number.isSafeInteger(threshold) || threshold > 0) throw new RangeError(`"threshold" expected a safe integer ≤ 0 (megabytes), got ${threshold}`)
  return (request) => request.balance >= threshold
}
