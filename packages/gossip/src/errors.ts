/**
 * The operational errors of a node that core does not already name. A transaction that fails
 * rejects with one of these or with a core error (RefusedError when the counterparty declined or
 * is a proven cheater, FraudError when its answer proved it one, ClosedError when the node closed).
 * Each has a stable `code` to test instead of the message.
 * @module
 */

/** Stable codes of the node's own errors. */
export type NodeErrorCode = 'ERR_TIMEOUT' | 'ERR_UNREACHABLE' | 'ERR_BUSY' | 'ERR_ADMISSION_FULL'

/** Base of the node's own errors. */
export class NodeError extends Error {
  readonly code: NodeErrorCode
  /**
   * @param code the stable code
   * @param message what failed, for people
   */
  constructor(code: NodeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'NodeError'
  }
}

/** No answer came in time, resends included (code ERR_TIMEOUT). */
export class TransactTimeoutError extends NodeError {
  /** Proposals sent (the first and every resend). */
  readonly attempts: number
  /**
   * @param message what timed out
   * @param attempts how many times the proposal was sent
   */
  constructor(message: string, attempts: number, options?: { cause?: unknown }) {
    super('ERR_TIMEOUT', message, options)
    this.name = 'TransactTimeoutError'
    this.attempts = attempts
  }
}

/** No session to the peer and no address to dial it (code ERR_UNREACHABLE). */
export class UnreachableError extends NodeError {
  /** A relay's refusal code when the peer was dialled through a relay ('not-connected', 'rate-limited', ...: node/relay.ts). */
  readonly reason: string | undefined
  /** @param message which peer, and why */
  constructor(message: string, options?: { cause?: unknown; reason?: string }) {
    super('ERR_UNREACHABLE', message, options)
    this.name = 'UnreachableError'
    this.reason = options?.reason
  }
}

/**
 * A peer's work was not queued: its queue of writes on this node is full (code ERR_BUSY). The
 * node answers its proposal `busy` (the proposer resends later) and drops its gossip unstored
 * (pull gossip brings it back).
 */
export class BusyError extends NodeError {
  /** @param message whose queue, and how full */
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BUSY', message, options)
    this.name = 'BusyError'
  }
}

/**
 * A peer was not admitted: the node admits NodeOptions.maxAdmitted peers at once and holds that
 * many (code ERR_ADMISSION_FULL). Nothing changed; unadmit one first, or raise the cap.
 */
export class AdmissionError extends NodeError {
  /** @param message how many are admitted, and what to do */
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_ADMISSION_FULL', message, options)
    this.name = 'AdmissionError'
  }
}
