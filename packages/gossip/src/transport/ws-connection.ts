/**
 * A Connection over a WebSocket, for any object with the WHATWG WebSocket API: the browser's
 * global WebSocket, and `ws`'s WebSocket in Node (which implements the same API). The Node
 * transport (`ws-transport.ts`) and the browser one (`ws-transport.browser.ts`) both go through
 * this file, client and server side alike, so they behave the same on the wire.
 *
 * - binary frames only: a text frame closes the connection with 1003;
 * - backpressure: `send` returns false above the high-water mark, and the drain handler runs when
 *   bufferedAmount falls below it again (polled on the Clock: the WebSocket API has no drain
 *   event); a peer that does not read until maxBufferedBytes are queued is disconnected (1008);
 * - close codes: browsers may only send 1000 and 3000-4999, so codes 1001-1015 travel as
 *   4001-4015 and are mapped back on arrival, on every platform;
 * - a close for the peer's fault (1002, 1003, 1007, 1008, 1009: the session's misbehaviour
 *   disconnect, a frame over the limit, ...) reads nothing more from it: ws would otherwise parse
 *   and unmask every frame a flooder already sent until its close frame arrives, or for 30 s (its
 *   close timeout) when it never does. Where the socket can (`ws`), reading stops at once, the
 *   socket is dropped FAULT_GRACE_MS later, and the close is reported now, so the node can refuse
 *   the key before the peer dials again. `ws`'s own protocol errors (a frame over maxPayload, a bad
 *   opcode, invalid UTF-8) close the same way, with their code, as a local close.
 * @module
 */
import { ClosedError, type AbortSignalLike, type Clock, type TransportAddress } from '@tally/core'
import { UnreachableError } from '../errors.js'
import { BaseConnection, CLOSE_CODES, FAULT_CODES } from './connection-base.js'

/** The part of the WebSocket API used here (browsers' WebSocket and `ws` both have it). */
export interface WebSocketLike {
  binaryType: string
  readonly readyState: number
  readonly bufferedAmount: number
  send(data: Uint8Array): void
  close(code?: number, reason?: string): void
  /** Stop reading from the socket (`ws` only; browsers have no such thing). */
  pause?(): void
  /** Drop the socket without the closing handshake (`ws` only). */
  terminate?(): void
  /** Read again after pause (`ws` only). */
  resume?(): void
  addEventListener(type: string, listener: (event: never) => void): void
  removeEventListener(type: string, listener: (event: never) => void): void
}

/** Send-side settings of a WebSocket connection. */
export interface WsConnectionOptions {
  /** Clock polling the send buffer while it is above the high-water mark. */
  clock: Clock
  /** bufferedAmount above which send returns false. */
  highWaterMark: number
  /** bufferedAmount above which the peer is disconnected (it does not read). */
  maxBufferedBytes: number
  /** Frames queued while no handler is set. */
  maxQueuedFrames: number
  /**
   * Largest frame read once the handshake is done, when the socket was opened with the
   * handshake's (smaller) limit: `handshakeDone` lifts ws's maxPayload to it. Undefined: the
   * socket's limit stays as it was opened (browsers: they have none to set).
   */
  maxFrameBytes?: number | undefined
  /**
   * `ws`'s own Buffers for binary frames (binaryType 'nodebuffer', Node's `ws` only): a frame is
   * then a view of the bytes ws read, not a copy of them into an ArrayBuffer of its own (a frame
   * of a read that held more, as most are). Default false: 'arraybuffer', as browsers have it.
   */
  nodeBuffers?: boolean
}

const OPEN = 1
const DRAIN_POLL_MS = 10
/** After a close for the peer's fault: time for our close frame to leave before the socket is dropped. */
const FAULT_GRACE_MS = 200
const MAX_REASON_BYTES = 123 // RFC 6455 §5.5: a control frame's payload is at most 125 bytes
const utf8 = new TextEncoder()

/** A Connection on a WebSocketLike (internal to the ws transports). */
export class WsConnection extends BaseConnection {
  readonly remoteAddress: TransportAddress
  readonly direction: 'inbound' | 'outbound'
  readonly #socket: WebSocketLike
  readonly #options: WsConnectionOptions
  readonly #onEnd: ((connection: WsConnection) => void) | undefined
  #polling: unknown
  #faulted = false

  /**
   * @param socket an open WebSocket
   * @param direction who dialled
   * @param remoteAddress the peer's address as seen
   * @param options clock and buffer limits
   * @param onEnd the transport's bookkeeping, called once when the connection has closed
   */
  constructor(
    socket: WebSocketLike,
    direction: 'inbound' | 'outbound',
    remoteAddress: TransportAddress,
    options: WsConnectionOptions,
    onEnd?: (connection: WsConnection) => void,
  ) {
    super(options.maxQueuedFrames)
    this.#onEnd = onEnd
    this.#socket = socket
    this.direction = direction
    this.remoteAddress = remoteAddress
    this.#options = options
    socket.binaryType = options.nodeBuffers === true ? 'nodebuffer' : 'arraybuffer'
    socket.addEventListener('message', (event: { data: unknown }) => this.#onMessage(event.data))
    socket.addEventListener('close', (event: { code: number; reason: string }) => this.#onClose(event.code, event.reason))
    // an 'error' is always followed by 'close'; listening keeps ws from throwing it
    socket.addEventListener('error', (event: { error?: { code?: unknown; message?: unknown } }) => this.#onError(event?.error))
  }

  get bufferedAmount(): number {
    return this.#socket.bufferedAmount
  }

  /**
   * A frame is the receiver's alone: a new ArrayBuffer, or (nodeBuffers) bytes of what ws read that
   * ws has consumed (it unmasks them in place itself) and never reads again.
   */
  get framesOwned(): boolean {
    return true
  }

  /** True once this side closed the connection for the peer's fault (1002, 1003, 1007, 1008, 1009). */
  get faulted(): boolean {
    return this.#faulted
  }

  send(frame: Uint8Array): boolean {
    if (!this.open || this.#socket.readyState !== OPEN) return false
    if (!(frame instanceof Uint8Array)) throw new TypeError('"frame" expected Uint8Array')
    if (this.#socket.bufferedAmount + frame.length > this.#options.maxBufferedBytes) {
      this.close(CLOSE_CODES.policyViolation, 'send buffer overflow: the peer does not read')
      return false
    }
    try {
      this.#socket.send(frame)
    } catch {
      // the socket closed under us; its close event follows
      return false
    }
    if (this.#socket.bufferedAmount < this.#options.highWaterMark) return true
    this.#watchDrain()
    return false
  }

  protected override ended(): void {
    this.#onEnd?.(this)
  }

  /**
   * The peer proved its key: frames up to maxFrameBytes from now on. `ws` checks a frame's length
   * against its receiver's maxPayload as it reads the header, before buffering the payload; the
   * socket was opened with the handshake's limit, so before this an unauthenticated peer could
   * not make this side buffer more than that.
   */
  override handshakeDone(): void {
    const max = this.#options.maxFrameBytes
    const receiver = (this.#socket as { _receiver?: { _maxPayload?: unknown } })._receiver
    if (max !== undefined && receiver !== undefined && receiver !== null && typeof receiver._maxPayload === 'number') receiver._maxPayload = max
  }

  /** Held: the socket stops reading (`ws`), so the peer's frames wait in its buffers, not ours. */
  protected override holdTransport(held: boolean): void {
    if (this.#faulted) return // a faulted socket stays paused until it is dropped
    try {
      if (held) this.#socket.pause?.()
      else this.#socket.resume?.()
    } catch {
      // a socket closing under us: its close event follows
    }
  }

  protected closeTransport(code: number, reason: string): void {
    this.#stopPolling()
    try {
      this.#socket.close(toWireCode(code), truncate(reason))
    } catch {
      this.#socket.close()
    }
    const socket = this.#socket
    if (!FAULT_CODES.has(code)) return
    this.#faulted = true
    if (socket.pause === undefined || socket.terminate === undefined) return
    // the peer's fault: not one more frame of it is read (see the module comment). On a microtask:
    // after a protocol error ws resumes the socket on process.nextTick, to drain it unparsed
    queueMicrotask(() => {
      socket.pause!()
      this.closed({ code, reason, local: true })
    })
    this.#options.clock.setTimeout(() => socket.terminate!(), FAULT_GRACE_MS)
  }

  /** `ws` refused a frame (its code is WS_ERR_*): a local close for the peer's fault, with ws's status. */
  #onError(error: { code?: unknown; message?: unknown } | undefined): void {
    const code = typeof error?.code === 'string' ? error.code : ''
    if (!code.startsWith('WS_ERR_')) return // a socket error: its 'close' follows
    const status = code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || code === 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH' ? CLOSE_CODES.tooBig : code === 'WS_ERR_INVALID_UTF8' ? CLOSE_CODES.invalidData : CLOSE_CODES.protocolError
    this.close(status, String(error?.message ?? code))
  }

  #onMessage(data: unknown): void {
    if (data instanceof ArrayBuffer) this.receive(new Uint8Array(data))
    // a Buffer (nodeBuffers) as a plain Uint8Array view: what reads it gets a Uint8Array, as from an ArrayBuffer
    else if (data instanceof Uint8Array) this.receive(data.constructor === Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    else this.close(CLOSE_CODES.unsupportedData, 'binary frames only')
  }

  #onClose(code: number, reason: string): void {
    this.#stopPolling()
    this.closed({ code: fromWireCode(code), reason: String(reason ?? ''), local: false })
  }

  #watchDrain(): void {
    if (this.#polling !== undefined) return
    const poll = (): void => {
      this.#polling = undefined
      if (!this.open) return
      if (this.#socket.bufferedAmount < this.#options.highWaterMark) this.drained()
      else this.#polling = this.#options.clock.setTimeout(poll, DRAIN_POLL_MS)
    }
    this.#polling = this.#options.clock.setTimeout(poll, DRAIN_POLL_MS)
  }

  #stopPolling(): void {
    if (this.#polling !== undefined) this.#options.clock.clearTimeout(this.#polling)
    this.#polling = undefined
  }
}

/**
 * Open a WebSocket and wrap it once open: the client side shared by Node and browsers.
 * @param create makes the socket (`new WebSocket(url)` of the platform)
 * @param address the URL dialled (becomes remoteAddress)
 * @param options the connection's options, an AbortSignal, the transport's onEnd bookkeeping
 * @returns the open connection
 * @throws (rejects) UnreachableError (ERR_UNREACHABLE) when the socket fails or closes before
 *   opening (ECONNREFUSED, a timeout, a refused upgrade); ClosedError on abort
 */
export function dialWebSocket(
  create: () => WebSocketLike,
  address: TransportAddress,
  options: WsConnectionOptions & { signal?: AbortSignalLike | undefined; onEnd?: (connection: WsConnection) => void },
): Promise<WsConnection> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted === true) {
      reject(new ClosedError('connect aborted'))
      return
    }
    let socket: WebSocketLike
    try {
      socket = create()
    } catch (err) {
      reject(new UnreachableError(`connect to ${address} failed: ${(err as Error).message}`, { cause: err }))
      return
    }
    socket.binaryType = options.nodeBuffers === true ? 'nodebuffer' : 'arraybuffer'
    let settled = false
    const cleanup = (): void => {
      settled = true
      socket.removeEventListener('open', onOpen)
      socket.removeEventListener('error', onError)
      socket.removeEventListener('close', onClose)
      options.signal?.removeEventListener('abort', onAbort)
    }
    const onOpen = (): void => {
      if (settled) return
      cleanup()
      // wrapped synchronously inside 'open': no message event can come before its listener
      resolve(new WsConnection(socket, 'outbound', address, options, options.onEnd))
    }
    let failure = 'error'
    const onError = (event: { message?: string; error?: { message?: string } }): void => {
      failure = event?.error?.message ?? event?.message ?? 'error'
    }
    const onClose = (event: { code: number; reason: string }): void => {
      if (settled) return
      cleanup()
      // nothing listening, refused, timed out, or the upgrade answered no: a peer not reached, not a closed transport
      reject(new UnreachableError(`connect to ${address} failed: ${failure} (${event.code}${event.reason ? ` ${event.reason}` : ''})`))
    }
    const onAbort = (): void => {
      if (settled) return
      cleanup()
      try {
        socket.close()
      } catch {
        // closing a socket that is still connecting may throw; it is abandoned either way
      }
      reject(new ClosedError('connect aborted'))
    }
    socket.addEventListener('open', onOpen)
    socket.addEventListener('error', onError)
    socket.addEventListener('close', onClose)
    options.signal?.addEventListener('abort', onAbort, { once: true })
  })
}

// ## Private helpers

function toWireCode(code: number): number {
  // browsers throw on close codes other than 1000 and 3000-4999
  if (code === 1000 || (code >= 3000 && code <= 4999)) return code
  if (code > 1000 && code <= 1015) return 4000 + (code - 1000)
  return 1000
}

function fromWireCode(code: number): number {
  return code > 4000 && code <= 4015 ? 1000 + (code - 4000) : code
}

function truncate(reason: string): string {
  if (utf8.encode(reason).length <= MAX_REASON_BYTES) return reason
  let out = reason.slice(0, MAX_REASON_BYTES)
  while (utf8.encode(out).length > MAX_REASON_BYTES) out = out.slice(0, -1)
  // never cut a surrogate pair in half
  return out.isWellFormed() ? out : out.slice(0, -1)
}
