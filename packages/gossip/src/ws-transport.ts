/**
 * The WebSocket transport for Node, on `ws`: a server (listen) and a client (connect). Browsers get
 * `ws-transport.browser.ts` through the "browser" condition of the package's `./ws` export; both
 * wrap their sockets with the same code (`ws-connection.ts`).
 *
 * Hardening against bad peers:
 * - maxPayload = the frame limit: ws refuses a bigger frame while reading its header, closing 1009;
 * - permessage-deflate is off (a 1 KiB frame could inflate to the limit for nothing: CPU and
 *   memory for the attacker's benefit); text frames close the connection (1003);
 * - at most maxConnections inbound connections; more are closed at once with 1013;
 * - every socket has an error listener, and handlers run behind try/catch: a broken frame, a reset
 *   or a handler bug closes one connection, never the process;
 * - a peer that stops reading is disconnected once maxBufferedBytes wait for it.
 * @module
 */
import type { AddressInfo } from 'node:net'
import type { IncomingMessage, Server } from 'node:http'
import { WebSocket, WebSocketServer } from 'ws'
import { ClosedError, type AbortSignalLike, type Clock, type Connection, type Transport, type TransportAddress } from '@tally/core'
import { CLOSE_CODES } from './connection-base.js'
import { DEFAULT_LIMITS } from './limits.js'
import { systemClock } from './system-clock.js'
import { WsConnection, dialWebSocket, type WebSocketLike, type WsConnectionOptions } from './ws-connection.js'

/** Options of createWsTransport. */
export interface WsTransportOptions {
  /** Interface to listen on (default '127.0.0.1'; '0.0.0.0' or '::' for every interface). */
  host?: string
  /** Port to listen on (default 0: any free port; the address returned by listen() has it). */
  port?: number
  /** URL path served (default '/'). */
  path?: string
  /** Attach to this HTTP(S) server instead of opening a port (host and port are then ignored). */
  server?: Server
  /** The address listen() returns, when peers must dial something else (a proxy, a public name). */
  publicAddress?: TransportAddress
  /** Largest frame, both directions (default DEFAULT_LIMITS.maxFrameBytes). */
  maxFrameBytes?: number
  /** Most inbound connections at once (default 4096). */
  maxConnections?: number
  /** bufferedAmount above which send returns false (default DEFAULT_LIMITS.highWaterMark). */
  highWaterMark?: number
  /** bufferedAmount above which a peer that does not read is disconnected (default 16 MiB). */
  maxBufferedBytes?: number
  /** Frames queued while no handler is set (default DEFAULT_LIMITS.maxQueuedFrames). */
  maxQueuedFrames?: number
  /** Milliseconds to open a client connection (default 10,000). */
  connectTimeoutMs?: number
  /** Clock for drain polling (default systemClock). */
  clock?: Clock
}

/** A Transport on WebSockets. */
export interface WsTransport extends Transport {
  /** Inbound and outbound connections open now. */
  readonly connections: number
}

/**
 * A WebSocket transport: `listen` runs a server, `connect` dials `ws://` or `wss://` URLs.
 * @param options listening address, limits, clock
 * @returns the transport
 * @throws RangeError on a malformed option
 * @example
 * const transport = createWsTransport({ port: 0 })
 * const address = await transport.listen((conn) => openSession(conn, { identity, onMessage }))
 * const conn = await createWsTransport().connect(address)
 */
export function createWsTransport(options: WsTransportOptions = {}): WsTransport {
  return new NodeWsTransport(options)
}

class NodeWsTransport implements WsTransport {
  readonly #options: WsTransportOptions
  readonly #connection: WsConnectionOptions
  readonly #maxFrameBytes: number
  readonly #maxConnections: number
  readonly #open = new Set<WsConnection>()
  #inbound = 0
  #server: WebSocketServer | undefined
  #closed = false

  constructor(options: WsTransportOptions) {
    this.#options = options
    this.#maxFrameBytes = positive('maxFrameBytes', options.maxFrameBytes ?? DEFAULT_LIMITS.maxFrameBytes)
    this.#maxConnections = positive('maxConnections', options.maxConnections ?? 4096)
    this.#connection = {
      clock: options.clock ?? systemClock,
      highWaterMark: positive('highWaterMark', options.highWaterMark ?? DEFAULT_LIMITS.highWaterMark),
      maxBufferedBytes: positive('maxBufferedBytes', options.maxBufferedBytes ?? 16 * 1024 * 1024),
      maxQueuedFrames: positive('maxQueuedFrames', options.maxQueuedFrames ?? DEFAULT_LIMITS.maxQueuedFrames),
    }
    if (options.port !== undefined && !(Number.isSafeInteger(options.port) && options.port >= 0 && options.port <= 65535)) {
      throw new RangeError(`"port" expected an integer in [0, 65535], got ${String(options.port)}`)
    }
  }

  get connections(): number {
    return this.#open.size
  }

  listen(onConnection: (connection: Connection) => void): Promise<TransportAddress> {
    if (typeof onConnection !== 'function') return Promise.reject(new TypeError('"onConnection" expected a function'))
    if (this.#closed) return Promise.reject(new ClosedError('transport closed'))
    if (this.#server !== undefined) return Promise.reject(new RangeError('this transport already listens'))
    const o = this.#options
    const path = o.path ?? '/'
    const host = o.host ?? '127.0.0.1'
    const server = new WebSocketServer({
      ...(o.server !== undefined ? { server: o.server } : { host, port: o.port ?? 0 }),
      path,
      maxPayload: this.#maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    })
    this.#server = server
    server.on('connection', (socket: WebSocket, request: IncomingMessage) => this.#accept(socket, request, onConnection))
    return new Promise<TransportAddress>((resolve, reject) => {
      const done = (): void => {
        server.off('error', fail)
        // later server errors (e.g. EMFILE on accept) must not crash the process: ws closes what failed
        server.on('error', () => undefined)
        if (o.publicAddress !== undefined) return resolve(o.publicAddress)
        const bound = (o.server ?? server).address() as AddressInfo | string | null
        const port = typeof bound === 'object' && bound !== null ? bound.port : o.port
        resolve(`ws://${formatHost(host)}:${port}${path}`)
      }
      const fail = (err: Error): void => {
        this.#server = undefined
        server.close()
        reject(err)
      }
      server.once('error', fail)
      if (o.server !== undefined && o.server.listening) done()
      else if (o.server !== undefined) o.server.once('listening', done)
      else server.once('listening', done)
    })
  }

  async connect(address: TransportAddress, options: { signal?: AbortSignalLike } = {}): Promise<Connection> {
    if (typeof address !== 'string') throw new TypeError('"address" expected a string')
    if (this.#closed) throw new ClosedError('transport closed')
    const url = parseUrl(address)
    const conn: WsConnection = await dialWebSocket(
      () =>
        new WebSocket(url, {
          maxPayload: this.#maxFrameBytes,
          perMessageDeflate: false,
          handshakeTimeout: this.#options.connectTimeoutMs ?? 10_000,
          followRedirects: false,
        }) as unknown as WebSocketLike,
      address,
      { ...this.#connection, signal: options.signal, onEnd: (c) => this.#open.delete(c) },
    )
    if (this.#closed) {
      conn.close(CLOSE_CODES.goingAway, 'transport closed')
      throw new ClosedError('transport closed')
    }
    if (conn.open) this.#open.add(conn)
    return conn
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const conn of [...this.#open]) conn.close(CLOSE_CODES.goingAway, 'transport closed')
    const server = this.#server
    this.#server = undefined
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  #accept(socket: WebSocket, request: IncomingMessage, onConnection: (connection: Connection) => void): void {
    socket.on('error', () => undefined) // before anything else: an early reset must not throw
    if (this.#closed || this.#inbound >= this.#maxConnections) {
      socket.close(4000 + (CLOSE_CODES.tryAgainLater - 1000), 'too many connections')
      return
    }
    const remote = request.socket.remoteAddress ?? 'unknown'
    const address = `ws://${formatHost(remote)}:${request.socket.remotePort ?? 0}`
    this.#inbound++
    const conn = new WsConnection(socket as unknown as WebSocketLike, 'inbound', address, this.#connection, (c) => {
      this.#open.delete(c)
      this.#inbound--
    })
    this.#open.add(conn)
    try {
      onConnection(conn)
    } catch {
      conn.close(CLOSE_CODES.internalError, 'internal error')
    }
  }
}

// ## Private helpers

function parseUrl(address: string): string {
  let url: URL
  try {
    url = new URL(address)
  } catch {
    throw new RangeError(`"address" expected a ws:// or wss:// URL, got ${JSON.stringify(address.slice(0, 100))}`)
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new RangeError(`"address" expected a ws:// or wss:// URL, got ${url.protocol}`)
  return url.href
}

function formatHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1'
  if (host === '::') return '[::1]'
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

function positive(name: string, v: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new RangeError(`"${name}" expected a positive integer, got ${String(v)}`)
  return v
}
