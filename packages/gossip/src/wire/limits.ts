/**
 * Limits on everything a peer can send, with their defaults. One object, passed to the codec, the
 * handshake and the session, so that the decoder refuses exactly what the session would punish.
 *
 * The defaults size a public node: a fraud proof of 16 maximal blocks (64 KiB) fits a frame; a
 * crawl answer of 32 typical blocks (~250 bytes each) is ~8 KiB; 200 messages per second per
 * peer is far above what gossip needs (ConTrib's setup: one proposal per second per peer) and
 * far below what a flood needs. Benchmarks that push thousands of transactions per second over
 * one session raise `messagesPerSecond` and `bytesPerSecond`.
 * @module
 */

/** Every limit, in one flat object (flat so that `Partial<Limits>` overrides compose). */
export interface Limits {
  // ## Frames and messages
  /** Largest frame accepted or sent after the handshake, in bytes. */
  readonly maxFrameBytes: number
  /** Largest frame accepted during the handshake (before the peer has proved anything). */
  readonly maxHandshakeFrameBytes: number
  /** Frames a connection queues while no handler is set (e.g. between handshake and session). */
  readonly maxQueuedFrames: number
  /** Blocks in one `push`. */
  readonly maxPushBlocks: number
  /** Extra blocks sent beside a proposal (e.g. the proposer's previous block). */
  readonly maxContextBlocks: number
  /** Heads in one `heads` announcement. */
  readonly maxHeads: number
  /** Blocks in one crawl answer: a crawl for 1..2^31 is answered with at most this many. */
  readonly maxCrawlBlocks: number
  /** Peers in one peer exchange. */
  readonly maxPeers: number
  /** Ids in one `neighbours` list (a node with more neighbours announces this many of them). */
  readonly maxNeighbourIds: number
  /** Characters of a peer address in a peer exchange. */
  readonly maxAddressLength: number
  /** Characters of the reason text of an error. */
  readonly maxReasonLength: number
  /** Protocol versions in a hello. */
  readonly maxVersions: number

  // ## Rates (token buckets on the session's Clock)
  /**
   * Messages per second a peer may send, sustained. A message asking for more than one item of
   * work (blocks pushed, keys asked about, heads announced, blocks a crawl may return) counts once
   * per item: a heads request of 64 keys counts 64.
   */
  readonly messagesPerSecond: number
  /** Messages a peer may send in a burst (counted as messagesPerSecond counts them). */
  readonly messageBurst: number
  /** Bytes per second a peer may send, sustained. */
  readonly bytesPerSecond: number
  /** Bytes a peer may send in a burst (at least maxFrameBytes). */
  readonly byteBurst: number

  // ## Requests
  /** Our requests to one peer awaiting a reply; more are refused locally. */
  readonly maxPendingRequests: number
  /** A peer's requests we have not answered yet; more are answered `busy` at once. */
  readonly maxIncomingRequests: number
  /** Milliseconds a request waits for its reply. */
  readonly requestTimeoutMs: number
  /**
   * A peer's messages handled at once (handlers whose promise is pending); more wait in order, and
   * a disconnect drops them unhandled. Bounds the work a peer can start before its misbehaviour,
   * found by those handlers (a forged proof, an invalid block), disconnects it.
   */
  readonly maxConcurrentHandlers: number
  /** Milliseconds a handshake may take. */
  readonly handshakeTimeoutMs: number

  // ## Misbehaviour score: a peer at maxScore is disconnected
  /** Score at which the peer is disconnected (close code 1008). */
  readonly maxScore: number
  /** Score forgiven per second, so rare mistakes never add up to a disconnect. */
  readonly scoreDecayPerSecond: number
  /** A frame that does not decode as a message, or a message with a bad field. */
  readonly malformedCost: number
  /** A frame over maxFrameBytes, or a list over its limit. */
  readonly oversizedCost: number
  /** Each frame dropped by the rate limit. */
  readonly floodCost: number
  /** A reply nobody asked for, or of the wrong type. */
  readonly unexpectedCost: number
  /** A handshake message inside an established session (a replayed handshake). */
  readonly violationCost: number

  // ## Sending
  /** Send-buffer bytes above which `send` returns false (wait for drain). */
  readonly highWaterMark: number
}

/** The default limits (frozen). */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxFrameBytes: 128 * 1024,
  maxHandshakeFrameBytes: 1024,
  maxQueuedFrames: 256,
  maxPushBlocks: 16,
  maxContextBlocks: 4,
  maxHeads: 64,
  maxCrawlBlocks: 32,
  maxPeers: 32,
  maxNeighbourIds: 256,
  maxAddressLength: 256,
  maxReasonLength: 256,
  maxVersions: 16,

  messagesPerSecond: 200,
  messageBurst: 400,
  bytesPerSecond: 1024 * 1024,
  byteBurst: 4 * 1024 * 1024,

  maxPendingRequests: 64,
  maxIncomingRequests: 32,
  requestTimeoutMs: 10_000,
  maxConcurrentHandlers: 8,
  handshakeTimeoutMs: 10_000,

  maxScore: 100,
  scoreDecayPerSecond: 1,
  malformedCost: 20,
  oversizedCost: 50,
  floodCost: 2,
  unexpectedCost: 5,
  violationCost: 100,

  highWaterMark: 1024 * 1024,
})

/** Smallest frame limit allowed: a fraud proof of FRAUD_PROOF_LIMITS.maxBytes must fit. */
const MIN_FRAME_BYTES = 64 * 1024 + 256

/**
 * DEFAULT_LIMITS with `overrides` applied, checked.
 * @param overrides limits to change
 * @returns a frozen Limits; DEFAULT_LIMITS itself when nothing is overridden, and the argument itself
 *   when it is already a result of resolveLimits (so resolve once, then share it between sessions)
 * @throws TypeError naming a limit that is not a non-negative number; RangeError when a limit is out
 *   of its range (e.g. maxFrameBytes below what a fraud proof needs, a burst below one message)
 * @example const limits = resolveLimits({ messagesPerSecond: 5000, messageBurst: 10000 })
 */
export function resolveLimits(overrides: Partial<Limits> = {}): Readonly<Limits> {
  if (typeof overrides !== 'object' || overrides === null) throw new TypeError('"limits" expected an object')
  if (checked.has(overrides)) return overrides as Readonly<Limits>
  // no overrides: share the defaults (a simulator makes a million sessions)
  let any = false
  for (const key in overrides) if ((overrides as Record<string, unknown>)[key] !== undefined) any = true
  if (!any) return DEFAULT_LIMITS
  const out: Record<string, number> = { ...DEFAULT_LIMITS }
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in DEFAULT_LIMITS)) throw new TypeError(`"limits.${key}" is not a limit`)
    if (value === undefined) continue
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
      throw new TypeError(`"limits.${key}" expected a non-negative number, got ${String(value)}`)
    }
    out[key] = value
  }
  const l = out as unknown as Limits
  if (l.maxFrameBytes < MIN_FRAME_BYTES) throw new RangeError(`"limits.maxFrameBytes" expected at least ${MIN_FRAME_BYTES}, got ${l.maxFrameBytes}`)
  if (l.byteBurst < l.maxFrameBytes) throw new RangeError('"limits.byteBurst" expected at least maxFrameBytes')
  if (l.messageBurst < 1 || l.messagesPerSecond <= 0 || l.bytesPerSecond <= 0) {
    throw new RangeError('"limits" rates expected > 0 and messageBurst >= 1')
  }
  for (const key of ['maxPushBlocks', 'maxHeads', 'maxCrawlBlocks', 'maxPeers', 'maxNeighbourIds', 'maxVersions', 'maxPendingRequests', 'maxIncomingRequests', 'maxConcurrentHandlers'] as const) {
    if (!Number.isSafeInteger(l[key]) || l[key] < 1) throw new RangeError(`"limits.${key}" expected an integer >= 1, got ${l[key]}`)
  }
  if (l.maxScore <= 0) throw new RangeError('"limits.maxScore" expected > 0')
  const frozen = Object.freeze(l)
  checked.add(frozen)
  return frozen
}

/**
 * The limits of the messages inside an encrypted session's frames: maxFrameBytes less the cipher's
 * overhead (the 16-byte tag), so that a sealed frame stays within maxFrameBytes on the wire; the
 * rest unchanged. One object per Limits, shared by sessions, and already checked for resolveLimits
 * (the codec resolves the limits it is given): a 64 KiB fraud proof and its envelope still fit the
 * smallest frame allowed, with 240 of MIN_FRAME_BYTES' 256 spare bytes left.
 * @param limits resolved limits (session.limits)
 * @param overhead bytes a sealed frame adds
 * @returns the limits to encode and decode messages with
 * @example encodeMessage(message, sealedLimits(session.limits, TAG_BYTES))
 */
export function sealedLimits(limits: Readonly<Limits>, overhead: number): Readonly<Limits> {
  let out = sealed.get(limits)
  if (out === undefined || out.maxFrameBytes !== limits.maxFrameBytes - overhead) {
    out = Object.freeze({ ...limits, maxFrameBytes: limits.maxFrameBytes - overhead })
    checked.add(out)
    sealed.set(limits, out)
  }
  return out
}

// Limits objects that already passed the checks (resolving them again is free).
const checked = new WeakSet<object>([DEFAULT_LIMITS])
const sealed = new WeakMap<Readonly<Limits>, Readonly<Limits>>()
