/**
 * Operational errors of Tally. Each has a stable `code` that callers test instead of the message.
 * Caller mistakes (wrong argument type or range) are plain TypeError / RangeError, not these.
 * @module
 */
import { shortKey } from './bytes.js'

/** Stable error codes. */
export type TallyErrorCode =
  | 'ERR_DECODE'
  | 'ERR_INVALID_BLOCK'
  | 'ERR_FRAUD'
  | 'ERR_REFUSED'
  | 'ERR_CONFLICT'
  | 'ERR_CLOSED'
  | 'ERR_STORE_VERSION'
  | 'ERR_HEAD_UNKNOWN'
  | 'ERR_LOCKED'
  | 'ERR_CORRUPT'

/** Base class: every Tally operational error has `name` and `code`. */
export class TallyError extends Error {
  readonly code: TallyErrorCode
  constructor(code: TallyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'TallyError'
  }
}

/** Bytes that are not the canonical encoding of an allowed value, or exceed a size limit. */
export class DecodeError extends TallyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DECODE', message, options)
    this.name = 'DecodeError'
  }
}

/** A block failed validation; `errors` lists the broken rules. */
export class InvalidBlockError extends TallyError {
  readonly errors: readonly { rule: string; message: string }[]
  constructor(message: string, errors: readonly { rule: string; message: string }[]) {
    super('ERR_INVALID_BLOCK', `${message}: ${errors.map((e) => e.rule).join(', ')}`)
    this.errors = errors
    this.name = 'InvalidBlockError'
  }
}

/** A block proved its author a cheater; `proof` carries the evidence. */
export class FraudError extends TallyError {
  readonly proof: unknown
  constructor(message: string, proof: unknown) {
    super('ERR_FRAUD', message)
    this.proof = proof
    this.name = 'FraudError'
  }
}

/**
 * Something was declined: the agent would not countersign (policy, unknown type, a counterparty
 * known to cheat), or a peer refused a request. `reason`, when set, is a stable machine-readable
 * code (`'unknown-sender'`, `'insufficient-balance'`, ...) that travels back to whoever asked.
 */
export class RefusedError extends TallyError {
  /** Stable reason code, when the refusal has one. */
  readonly reason: string | undefined
  constructor(message: string, options?: { reason?: string; cause?: unknown }) {
    super('ERR_REFUSED', message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'RefusedError'
    this.reason = options?.reason
  }
}

/** A store was asked to hold a second, different block at an occupied (key, seq). */
export class ConflictError extends TallyError {
  /**
   * The error for a block whose slot holds a different block.
   * @param block where: its owner's key and seq
   */
  static at(block: { publicKey: Uint8Array; seq: number }): ConflictError {
    return new ConflictError(`a different block is already stored at seq ${block.seq} of ${shortKey(block.publicKey)}`)
  }

  constructor(message: string) {
    super('ERR_CONFLICT', message)
    this.name = 'ConflictError'
  }
}

/** A store directory holds a format this version cannot read (newer, or not a Tally store). */
export class StoreVersionError extends TallyError {
  constructor(message: string) {
    super('ERR_STORE_VERSION', message)
    this.name = 'StoreVersionError'
  }
}

/** The store or agent was used after `close()`. */
export class ClosedError extends TallyError {
  constructor(message = 'closed') {
    super('ERR_CLOSED', message)
    this.name = 'ClosedError'
  }
}

/**
 * The agent does not know its own chain's head, so it refuses to sign: its store may be stale (a
 * restored seed or backup) and signing could repeat a seq, which is fraud. Recover from peers
 * (a `head` source), or declare that the store is the whole truth (`head: 'local'`).
 */
export class HeadUnknownError extends TallyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HEAD_UNKNOWN', message, options)
    this.name = 'HeadUnknownError'
  }
}

/** A store directory is open already, by this process or another; `cause` is the database's own error. */
export class LockedError extends TallyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_LOCKED', message, options)
    this.name = 'LockedError'
  }
}

/**
 * Stored bytes that were synced to disk are damaged (the disk, or something outside Tally, changed
 * them): the store refuses to open rather than silently lose what it had acknowledged.
 */
export class CorruptError extends TallyError {
  constructor(message: string) {
    super('ERR_CORRUPT', message)
    this.name = 'CorruptError'
  }
}
