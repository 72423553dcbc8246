/**
 * The WebSocket transport for browsers: a client on the global WebSocket, through the same
 * connection code as the Node transport (`ws-connection.ts`). Chosen by the "browser" condition of
 * the package's `./ws` export; it exports the same names as `ws-transport.ts`. Browsers cannot
 * accept connections, so `listen` rejects.
 * @module
 */
import { ClosedError, RefusedError, type AbortSignalLike, type Connection, type TransportAddress } from '@tally/core'
import { CLOSE_CODES } from './connection-base.js'
import { DEFAULT_LIMITS } from '../wire/limits.js'
import { systemClock } from '../time/system-clock.js'
import { dialWebSocket, type WebSocketLike, type WsConnection, type WsConnectionOptions } from './ws-connection.js'
import type { WsTransport, WsTransportOptions } from './ws-transport.js'

export type { WsTransport, WsTransportOptions } from './ws-transport.js'

/** The WebSocket constructor of the platform, as far as it is used here. */
type WebSocketConstructor = new (url: string) => WebSocketLike

/**
 * A WebSocket client transport for browsers (and any runtime with a global WebSocket).
 * @param options maxFrameBytes (checked by the session: browsers cannot cap incoming frames),
 *   highWaterMark, maxBufferedBytes, maxQueuedFrames, clock; server options are ignored
 * @returns the transport; its `listen` rejects with RefusedError
 * @throws RangeError on a malformed option
 * @example const conn = await createWsTransport().connect('wss://node.example.org/')
 */
export function createWsTransport(options: WsTransportOptions = {}): WsTransport {
  return new BrowserWsTransport(options)
}

class BrowserWsTransport implements WsTransport {
  readonly #connection: WsConnectionOptions
  readonly #open = new Set<WsConnection>()
  #closed = false

  constructor(options: WsTransportOptions) {
    this.#connection = {
      clock: options.clock ?? systemClock,
      highWaterMark: positive('highWaterMark', options.highWaterMark ?? DEFAULT_LIMITS.highWaterMark),
      maxBufferedBytes: positive('maxBufferedBytes', options.maxBufferedBytes ?? 16 * 1024 * 1024),
      maxQueuedFrames: positive('maxQueuedFrames', options.maxQueuedFrames ?? DEFAULT_LIMITS.maxQueuedFrames),
    }
  }

  get connections(): number {
    return this.#open.size
  }

  /** Nothing is ever refused here: a browser accepts no connections. */
  onRefuse(): void {}

  listen(): Promise<TransportAddress> {
    return Promise.reject(new RefusedError('a browser cannot accept WebSocket connections: listen() is not available'))
  }

  async connect(address: TransportAddress, options: { signal?: AbortSignalLike } = {}): Promise<Connection> {
    if (typeof address !== 'string') throw new TypeError('"address" expected a string')
    if (this.#closed) throw new ClosedError('transport closed')
    const Socket = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    if (typeof Socket !== 'function') throw new ClosedError('no global WebSocket in this runtime')
    const conn = await dialWebSocket(() => new Socket(address), address, {
      ...this.#connection,
      signal: options.signal,
      onEnd: (c) => this.#open.delete(c),
    })
    if (this.#closed) {
      conn.close(CLOSE_CODES.goingAway, 'transport closed')
      throw new ClosedError('transport closed')
    }
    if (conn.open) this.#open.add(conn)
    return conn
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const conn of [...this.#open]) conn.close(CLOSE_CODES.goingAway, 'transport closed')
  }
}

function positive(name: string, v: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new RangeError(`"${name}" expected a positive integer, got ${String(v)}`)
  return v
}
