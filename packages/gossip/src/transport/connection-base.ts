/**
 * What every Connection implementation shares: the handlers, the queue of frames that arrive while
 * no frame handler is set, and the close-once rule. A transport subclass only moves bytes: it calls
 * `receive(frame)` when a frame arrives, `closed(info)` when the channel is gone, `drained()` when its
 * send buffer emptied, and implements `send`, `bufferedAmount` and `closeTransport`.
 *
 * The frame queue is what lets a handshake hand a connection over to a session: the handshake
 * clears its handler when done, frames the peer sent right after queue up, and the session's
 * handler receives them in order. The queue is bounded: a peer that fills it is disconnected (1008).
 * @module
 */
import type { CloseInfo, Connection, TransportAddress } from '@tally/core'

const OPEN = 0
const CLOSING = 1
const CLOSED = 2

/** Close codes used across transports (RFC 6455 §7.4.1). */
export const CLOSE_CODES = Object.freeze({
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  abnormal: 1006,
  invalidData: 1007,
  policyViolation: 1008,
  tooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
})

/**
 * Close codes that blame the peer (RFC 6455 §7.4.1): the session's misbehaviour disconnect, a
 * frame over the limit, a protocol error, a text frame, invalid data.
 */
export const FAULT_CODES: ReadonlySet<number> = new Set<number>([
  CLOSE_CODES.protocolError,
  CLOSE_CODES.unsupportedData,
  CLOSE_CODES.invalidData,
  CLOSE_CODES.policyViolation,
  CLOSE_CODES.tooBig,
])

/** The base class of every Connection in this package (not exported from the package). */
export abstract class BaseConnection implements Connection {
  abstract readonly remoteAddress: TransportAddress
  abstract readonly direction: 'inbound' | 'outbound'
  abstract readonly bufferedAmount: number

  #state = OPEN
  #onFrame: ((frame: Uint8Array) => void) | undefined
  #onClose: ((info: CloseInfo) => void) | undefined
  #onDrain: (() => void) | undefined
  #queue: Uint8Array[] | undefined
  #delivering = false
  #localClose: CloseInfo | undefined
  readonly #maxQueued: number
  /** Reading is held (holdReading): frames that still arrive queue, up to HELD_QUEUE_BYTES. */
  #held = false
  #heldBytes = 0

  /** @param maxQueuedFrames frames kept while no handler is set; more close the connection */
  constructor(maxQueuedFrames: number) {
    this.#maxQueued = maxQueuedFrames
  }

  get open(): boolean {
    return this.#state === OPEN
  }

  abstract send(frame: Uint8Array): boolean

  onFrame(handler: ((frame: Uint8Array) => void) | undefined): void {
    this.#onFrame = handler
    this.#flush()
  }

  onClose(handler: ((info: CloseInfo) => void) | undefined): void {
    this.#onClose = handler
  }

  onDrain(handler: (() => void) | undefined): void {
    this.#onDrain = handler
  }

  close(code: number = CLOSE_CODES.normal, reason = ''): void {
    if (this.#state !== OPEN) return
    this.#state = CLOSING
    this.#queue = undefined
    this.#localClose = { code, reason, local: true }
    this.closeTransport(code, reason)
  }

  /**
   * The handshake on this connection succeeded: the peer has proved its key. A transport that
   * holds frames to the handshake's size limit until then (ws: maxPayload) lifts it to the
   * session's here. Called synchronously from the handshake, before the next frame is read.
   */
  handshakeDone(): void {}

  /**
   * Stop (true) or resume (false) reading: while held, no frame is delivered; frames that still
   * arrive (the rest of a chunk already read) queue. A transport that can stop its socket reading
   * does so in `holdTransport`, so that the peer's further frames wait on its side.
   */
  holdReading(held: boolean): void {
    if (held === this.#held || this.#state !== OPEN) return
    this.#held = held
    if (held) return this.holdTransport(true)
    this.#flush()
    // the transport reads again only once every frame queued meanwhile was delivered (a handler
    // may have held reading again on the way)
    if (!this.#held && this.#queue === undefined && this.#state === OPEN) this.holdTransport(false)
  }

  /** The transport's part of holdReading (default: nothing; frames queue). */
  protected holdTransport(_held: boolean): void {}

  /** Ask the transport to close; it calls `closed` when done. */
  protected abstract closeTransport(code: number, reason: string): void

  /** A frame arrived from the peer. */
  protected receive(frame: Uint8Array): void {
    if (this.#state !== OPEN) return
    if (this.#onFrame !== undefined && this.#queue === undefined && !this.#delivering && !this.#held) {
      this.#deliver(this.#onFrame, frame)
      // frames queued meanwhile (the handler swapped handlers, or a transport delivered re-entrantly)
      if (this.#queue !== undefined) this.#flush()
      return
    }
    const queue = (this.#queue ??= [])
    queue.push(frame)
    if (this.#held) {
      // the rest of what the transport had read when reading stopped: bounded by bytes
      this.#heldBytes += frame.length
      if (this.#heldBytes > HELD_QUEUE_BYTES) this.close(CLOSE_CODES.policyViolation, 'too many frames while reading was held')
      return
    }
    this.#heldBytes = 0
    if (queue.length > this.#maxQueued) {
      this.close(CLOSE_CODES.policyViolation, 'too many frames before a handler was set')
      return
    }
    this.#flush()
  }

  /** The channel is gone: call the close handler once, drop every handler. */
  protected closed(info: CloseInfo): void {
    if (this.#state === CLOSED) return
    // a close we started is reported with our code and reason, whatever the socket saw (a peer that
    // stopped reading never answers the closing handshake: the socket would say 1006)
    if (this.#localClose !== undefined) info = this.#localClose
    const local = info.local
    this.#state = CLOSED
    this.#queue = undefined
    const handler = this.#onClose
    this.#onFrame = undefined
    this.#onClose = undefined
    this.#onDrain = undefined
    guard(() => this.ended())
    if (handler !== undefined) guard(() => handler({ code: info.code, reason: info.reason, local }))
  }

  /** Hook for the transport's own bookkeeping (e.g. its set of open connections), before the handler. */
  protected ended(): void {}

  /** The send buffer went below the high-water mark. */
  protected drained(): void {
    const handler = this.#onDrain
    if (handler !== undefined && this.#state === OPEN) guard(handler)
  }

  #flush(): void {
    // never re-entrant: frames that arrive while a handler runs are queued, and delivered (in order)
    // when it returns; a handler may also swap the handler, and the rest goes to the new one
    if (this.#delivering) return
    while (this.#onFrame !== undefined && this.#queue !== undefined && this.#state === OPEN && !this.#held) {
      const frame = this.#queue.shift()
      if (this.#queue.length === 0) this.#queue = undefined
      if (frame !== undefined) this.#deliver(this.#onFrame, frame)
    }
  }

  #deliver(handler: (frame: Uint8Array) => void, frame: Uint8Array): void {
    this.#delivering = true
    try {
      handler(frame)
    } catch {
      // a handler bug must not crash the process from inside a socket callback: drop the peer
      this.#delivering = false
      this.close(CLOSE_CODES.internalError, 'internal error')
      return
    }
    this.#delivering = false
  }
}

/**
 * Frame bytes a held connection may still queue: what its transport had read when reading stopped
 * (a socket read is at most 64 KiB; ws may hold a frame of maxFrameBytes besides).
 */
const HELD_QUEUE_BYTES = 1024 * 1024

/**
 * Stop or resume reading a connection (BaseConnection.holdReading); connections of other
 * implementations are always read.
 * @param connection the connection
 * @param held true to stop reading, false to resume
 * @example holdReading(conn, true); clock.setTimeout(() => holdReading(conn, false), 50)
 */
export function holdReading(connection: Connection, held: boolean): void {
  if (connection instanceof BaseConnection) connection.holdReading(held)
}

/**
 * Tell `connection`'s transport that its handshake succeeded (see BaseConnection.handshakeDone);
 * connections of other implementations need nothing.
 * @param connection the connection whose peer just proved its key
 * @example handshakeDone(conn) // ws: frames up to maxFrameBytes from now on
 */
export function handshakeDone(connection: Connection): void {
  if (connection instanceof BaseConnection) connection.handshakeDone()
}

// A close or drain handler that throws must not break the transport's own bookkeeping.
function guard(fn: () => void): void {
  try {
    fn()
  } catch {
    // nothing sensible to do: the connection is already closed or the drain was advisory
  }
}
