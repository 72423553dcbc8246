/**
 * The transport interface (type-only): how peers exchange binary frames. Implementations in
 * @tally/gossip: WebSocket (`ws` in Node, the global WebSocket in browsers) and an in-memory network
 * with a latency model for simulation. A transport moves opaque frames in order; everything above
 * it (handshake, message encoding, limits) is the session's work, so every implementation behaves
 * the same under the session.
 *
 * Contract every implementation keeps:
 * - frames arrive whole, in the order they were sent, each at most the transport's frame limit
 *   (a larger frame closes the connection with code 1009 instead of being delivered);
 * - frames that arrive while no frame handler is set are queued (a bounded number) and handed to the
 *   next handler set, in order: a handshake can hand the connection over to a session without
 *   losing what the peer sent in between;
 * - handlers are called one at a time, never re-entrantly from inside `send` or `close`;
 * - the close handler is called exactly once, after which no frame handler is called;
 * - a misbehaving peer never makes the transport throw: it closes the connection.
 *
 * Close codes follow WebSocket (RFC 6455 §7.4.1) on every transport: 1000 normal, 1001 going away,
 * 1002 protocol error, 1003 unsupported data (a text frame), 1006 abnormal (no close frame),
 * 1008 policy violation (limits, misbehaviour), 1009 frame too big, 1011 internal error,
 * 1013 try again later (too many connections).
 * @module
 */

/** Where a transport listens or dials: `ws://host:port/path`, `mem://name`, ... */
export type TransportAddress = string

/**
 * The part of the platform's AbortSignal that `connect` uses (core builds without DOM or Node
 * types, so it names the shape instead; a real AbortSignal fits it).
 */
export interface AbortSignalLike {
  readonly aborted: boolean
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void
  removeEventListener(type: 'abort', listener: () => void): void
}

/** Why and how a connection closed. */
export interface CloseInfo {
  /** WebSocket close code (see the module comment). */
  readonly code: number
  /** Human-readable reason, possibly empty; never trusted for decisions when it came from the peer. */
  readonly reason: string
  /**
   * True when this side called `close()` (code and reason are then the ones given to it); false when
   * the peer or the network ended it.
   */
  readonly local: boolean
}

/** One two-way channel of binary frames to one peer. */
export interface Connection {
  /** The peer's address as the transport sees it. Not authenticated: the handshake proves keys. */
  readonly remoteAddress: TransportAddress
  /** 'outbound' when this side dialled, 'inbound' when it accepted. */
  readonly direction: 'inbound' | 'outbound'
  /** True until the connection starts closing. */
  readonly open: boolean
  /** Bytes handed to `send` and not yet written to the network. */
  readonly bufferedAmount: number
  /**
   * True when every frame handed to the frame handler is the handler's alone: nothing reads or
   * keeps its bytes afterwards, so the receiver may write into them (a session decrypts in place).
   * Absent or false: the frames are read-only (a transport may hand one buffer to several).
   */
  readonly framesOwned?: boolean
  /**
   * Send one binary frame. Never throws on a closed connection (the frame is dropped).
   * @param frame the bytes; the caller must not mutate them afterwards (transports may not copy)
   * @returns true when more may be sent now; false when the connection is closed or the send buffer
   *   is above its high-water mark (wait for the drain handler before sending what can wait)
   */
  send(frame: Uint8Array): boolean
  /** Set (or with undefined, clear) the frame handler; queued frames are delivered to it at once. */
  onFrame(handler: ((frame: Uint8Array) => void) | undefined): void
  /** Set the handler called once when the connection has closed (either side, any reason). */
  onClose(handler: ((info: CloseInfo) => void) | undefined): void
  /** Set the handler called when the send buffer drops below its high-water mark after a `false` send. */
  onDrain(handler: (() => void) | undefined): void
  /**
   * Close the connection (idempotent). Frames queued for sending may still be delivered.
   * @param code WebSocket close code (default 1000)
   * @param reason short text for the peer and logs (at most 123 bytes of UTF-8 are sent)
   */
  close(code?: number, reason?: string): void
}

/**
 * An inbound connection the transport refused or held back before handing it to `listen`'s
 * callback (its own limits: too many connections, an address that keeps misbehaving).
 */
export interface RefusedConnection {
  /** The remote address as the transport sees it (not authenticated). */
  readonly remoteAddress: TransportAddress
  /** Why, in a word or two: 'too-many-connections', 'address-backoff', 'address-busy', ... */
  readonly reason: string
  /** When held back rather than refused: how long it waits before it is let in. */
  readonly delayMs?: number
}

/** A way to accept and open connections. */
export interface Transport {
  /**
   * Start accepting connections.
   * @param onConnection called synchronously for every accepted connection; set its handlers there
   * @returns the address peers dial to reach this transport
   * @throws (rejects) when the transport cannot listen (browsers; address in use)
   */
  listen(onConnection: (connection: Connection) => void): Promise<TransportAddress>
  /**
   * Open a connection.
   * @param address where to dial
   * @param options an AbortSignal to give up early
   * @returns the open connection
   * @throws (rejects) ClosedError when the peer cannot be reached or the transport is closed
   */
  connect(address: TransportAddress, options?: { signal?: AbortSignalLike }): Promise<Connection>
  /** Stop listening and close every connection (code 1001). Idempotent. */
  close(): Promise<void>
  /**
   * Optional: be told of inbound connections refused or held back before `listen`'s callback saw
   * them, so that an operator sees them (a node turns them into events).
   * @param handler called for each; undefined removes it
   */
  onRefuse?(handler: ((info: RefusedConnection) => void) | undefined): void
}
