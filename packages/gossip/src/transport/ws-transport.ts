/**
 * The WebSocket transport for Node, on `ws`: a server (listen) and a client (connect). Browsers get
 * `ws-transport.browser.ts` through the "browser" condition of the package's `./ws` export; both
 * wrap their sockets with the same code (`ws-connection.ts`).
 *
 * Hardening against bad peers:
 * - maxPayload = the handshake's frame limit (1 KiB) until the peer has proved its key, then the
 *   session's (128 KiB): ws refuses a bigger frame while reading its header, before buffering its
 *   payload, closing 1009. An unauthenticated peer so never makes this side hold more than 1 KiB
 *   of a frame (the handshake used to apply its 1 KiB limit to frames ws had taken whole);
 * - permessage-deflate is off (a 1 KiB frame could inflate to the limit for nothing: CPU and
 *   memory for the attacker's benefit); text frames close the connection (1003);
 * - at most maxConnections inbound connections; more are closed at once with 1013;
 * - faults by address, a short and growing wait, never a lockout: each inbound connection this
 *   side closes for the peer's fault (the session's misbehaviour disconnect, a handshake refused
 *   — a banned key, say —, a frame over the limit) adds one to its remote address's count, which
 *   decays by faultDecayPerSecond. Over maxFaults, a new connection from that address waits
 *   before its upgrade: faultDelayMs, doubled per fault beyond, at most maxFaultDelayMs (1 s by
 *   default); at most MAX_HELD_PER_ADDRESS wait at once per address (more are answered 429 with
 *   a Retry-After). Why: keys are free, and a peer that comes back under a fresh key each time it
 *   is cut off costs an upgrade, a handshake and whatever it gets away with before it is cut off
 *   again; the wait slows that to about one connection per waiting dialler per second. It used to
 *   be a hard refusal while the count was up, which locked out honest peers behind the same
 *   address (a NAT, loopback): they saw only "socket hang up". Now they wait a second at most,
 *   like everyone there. What the node refuses is keys (its ban list), not addresses. Refusals
 *   and waits are told to `onRefuse` (a node turns them into 'connection:refused' events);
 * - admission before any crypto (admitWith: a node hands it its strangers' budget, read-gate.ts):
 *   every upgrade takes ADMIT_TOKENS from the budget before it is let in; while the budget is
 *   short, upgrades wait in one queue, first come first served, costing a socket each
 *   ('strangers-busy' told to onRefuse, with the wait). Why: a stranger cut off comes back under a
 *   fresh key, and each return cost the node an accept, an upgrade, a Noise handshake, a session
 *   opened and closed, and ws parsing the first socket read of its frames before the session
 *   could hold it: about 10-40 ms of CPU a session on a loaded 2-core machine
 *   (bench/reliability.ts), outside any budget. Now returns wait for the budget on the
 *   attacker's side, where a held dial costs neither side CPU. Like a stranger's session
 *   (GATE_QUANTUM), a waiting upgrade is never starved nor refused for it: once it waited
 *   MAX_ADMIT_WAIT_MS (a second, the address backoff's bound) it goes in on the budget's debt, and
 *   the node starts its session held. The transport cannot tell a counterparty from a stranger
 *   before the handshake: a known peer that dials in during a flood waits in the same queue;
 * - every socket has an error listener, and handlers run behind try/catch: a broken frame, a reset
 *   or a handler bug closes one connection, never the process;
 * - a peer that stops reading is disconnected once maxBufferedBytes wait for it.
 * @module
 */
import { STATUS_CODES, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import { ClosedError, type AbortSignalLike, type Clock, type Connection, type RefusedConnection, type TimerHandle, type Transport, type TransportAddress } from '@tally/core'
import { CLOSE_CODES } from './connection-base.js'
import type { ReadGate } from '../wire/read-gate.js'
import { DEFAULT_LIMITS } from '../wire/limits.js'
import { systemClock } from '../time/system-clock.js'
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
  /**
   * Largest frame read before the handshake is done (default DEFAULT_LIMITS.maxHandshakeFrameBytes):
   * ws's maxPayload until the peer has proved its key, then maxFrameBytes.
   */
  maxHandshakeFrameBytes?: number
  /** Most inbound connections at once (default 4096). */
  maxConnections?: number
  /** bufferedAmount above which send returns false (default DEFAULT_LIMITS.highWaterMark). */
  highWaterMark?: number
  /** bufferedAmount above which a peer that does not read is disconnected (default 16 MiB). */
  maxBufferedBytes?: number
  /** Frames queued while no handler is set (default DEFAULT_LIMITS.maxQueuedFrames). */
  maxQueuedFrames?: number
  /**
   * Faults an address may run up before its new connections wait (default 3; Infinity: never). It
   * was 10: ten free reconnects per address were most of what a flood of fresh keys cost a node
   * (a handshake and a session each), and the wait after it is short anyway (at most
   * maxFaultDelayMs), so honest peers behind the same address lose little by an earlier start.
   */
  maxFaults?: number
  /** Faults forgiven per second, per address (default 1). */
  faultDecayPerSecond?: number
  /** The wait of a connection from an address at maxFaults, doubled per fault beyond (default 50 ms). */
  faultDelayMs?: number
  /** The longest a connection from a faulty address waits (default 1000 ms). */
  maxFaultDelayMs?: number
  /** Milliseconds to open a client connection (default 10,000). */
  connectTimeoutMs?: number
  /** Local interface outbound connections dial from (default: the system's choice), e.g. '127.0.0.2'. */
  localAddress?: string
  /** Clock for drain polling (default systemClock). */
  clock?: Clock
}

/** A Transport on WebSockets. */
export interface WsTransport extends Transport {
  /** Inbound and outbound connections open now. */
  readonly connections: number
  /** Be told of inbound connections refused or held back before the handshake (see the module comment). */
  onRefuse(handler: ((info: RefusedConnection) => void) | undefined): void
  /**
   * Admit inbound upgrades out of `gate` (a node's strangers' budget), ADMIT_TOKENS each, in
   * order, before any handshake (see the module comment); undefined admits every one at once.
   * Node only (a browser does not listen).
   * @param gate the budget, or undefined
   */
  admitWith?(gate: Pick<ReadGate, 'charge' | 'tryCharge' | 'readyIn'> | undefined): void
  /** Counters of admission: upgrades admitted at once, after waiting for the budget, and after the longest wait. */
  readonly admission?: { readonly admitted: number; readonly waited: number; readonly forced: number }
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
  readonly #maxHandshakeFrameBytes: number
  readonly #maxConnections: number
  readonly #open = new Set<WsConnection>()
  readonly #maxFaults: number
  readonly #faultDecay: number
  readonly #faultDelay: number
  readonly #maxFaultDelay: number
  /** Remote address → its fault count and when it was last decayed (oldest first, bounded). */
  readonly #faults = new Map<string, { count: number; at: number }>()
  /** Upgrades waiting out their address's faults: per address, and each one's timer. */
  readonly #heldPerAddress = new Map<string, number>()
  readonly #held = new Set<{ timer: TimerHandle; release: (ok: boolean) => void }>()
  #onRefuse: ((info: RefusedConnection) => void) | undefined
  /** The budget upgrades are admitted from (admitWith), and the upgrades waiting for it, oldest first. */
  #gate: Pick<ReadGate, 'charge' | 'tryCharge' | 'readyIn'> | undefined
  readonly #admitQueue: { remote: string; since: number; done: (ok: boolean, forced?: boolean) => void }[] = []
  #admitTimer: TimerHandle | undefined
  readonly admission = { admitted: 0, waited: 0, forced: 0 }
  #inbound = 0
  #server: WebSocketServer | undefined
  /** The HTTP server this transport made for listen() (none when given one). */
  #http: Server | undefined
  #closed = false

  constructor(options: WsTransportOptions) {
    this.#options = options
    this.#maxFrameBytes = positive('maxFrameBytes', options.maxFrameBytes ?? DEFAULT_LIMITS.maxFrameBytes)
    this.#maxHandshakeFrameBytes = Math.min(this.#maxFrameBytes, positive('maxHandshakeFrameBytes', options.maxHandshakeFrameBytes ?? DEFAULT_LIMITS.maxHandshakeFrameBytes))
    this.#maxConnections = positive('maxConnections', options.maxConnections ?? 4096)
    this.#connection = {
      clock: options.clock ?? systemClock,
      maxFrameBytes: this.#maxFrameBytes,
      highWaterMark: positive('highWaterMark', options.highWaterMark ?? DEFAULT_LIMITS.highWaterMark),
      maxBufferedBytes: positive('maxBufferedBytes', options.maxBufferedBytes ?? 16 * 1024 * 1024),
      maxQueuedFrames: positive('maxQueuedFrames', options.maxQueuedFrames ?? DEFAULT_LIMITS.maxQueuedFrames),
      nodeBuffers: true,
    }
    this.#maxFaults = options.maxFaults ?? 3
    if (!(this.#maxFaults >= 1)) throw new RangeError(`"maxFaults" expected a number >= 1 (Infinity: never refuse), got ${String(options.maxFaults)}`)
    this.#faultDecay = options.faultDecayPerSecond ?? 1
    if (!(this.#faultDecay > 0 && Number.isFinite(this.#faultDecay))) {
      throw new RangeError(`"faultDecayPerSecond" expected a positive number, got ${String(options.faultDecayPerSecond)}`)
    }
    this.#faultDelay = positive('faultDelayMs', options.faultDelayMs ?? 50)
    this.#maxFaultDelay = positive('maxFaultDelayMs', options.maxFaultDelayMs ?? 1000)
    if (options.port !== undefined && !(Number.isSafeInteger(options.port) && options.port >= 0 && options.port <= 65535)) {
      throw new RangeError(`"port" expected an integer in [0, 65535], got ${String(options.port)}`)
    }
  }

  get connections(): number {
    return this.#open.size
  }

  onRefuse(handler: ((info: RefusedConnection) => void) | undefined): void {
    if (handler !== undefined && typeof handler !== 'function') throw new TypeError('"handler" expected a function')
    this.#onRefuse = handler
  }

  admitWith(gate: Pick<ReadGate, 'charge' | 'tryCharge' | 'readyIn'> | undefined): void {
    if (gate !== undefined && (typeof gate.charge !== 'function' || typeof gate.tryCharge !== 'function' || typeof gate.readyIn !== 'function')) throw new TypeError('"gate" expected a ReadGate')
    this.#gate = gate
    if (gate === undefined) this.#pumpAdmissions() // every waiting upgrade goes in
  }

  listen(onConnection: (connection: Connection) => void): Promise<TransportAddress> {
    if (typeof onConnection !== 'function') return Promise.reject(new TypeError('"onConnection" expected a function'))
    if (this.#closed) return Promise.reject(new ClosedError('transport closed'))
    if (this.#server !== undefined) return Promise.reject(new RangeError('this transport already listens'))
    const o = this.#options
    const path = o.path ?? '/'
    const host = o.host ?? '127.0.0.1'
    // our own HTTP server unless given one
    const own = o.server === undefined ? createServer(refuseHttp) : undefined
    const http = o.server ?? own!
    this.#http = own
    const server = new WebSocketServer({
      server: http,
      path,
      // the handshake's limit until the peer proved its key (WsConnection.handshakeDone lifts it)
      maxPayload: this.#maxHandshakeFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
      // before the upgrade: a connection from a faulty address waits here, costing a socket, not a WebSocket
      verifyClient: (info: { req: IncomingMessage }, done: VerifyDone) => this.#verify(info.req, done),
    })
    this.#server = server
    server.on('connection', (socket: WebSocket, request: IncomingMessage) => this.#accept(socket, request, onConnection))
    return new Promise<TransportAddress>((resolve, reject) => {
      const done = (): void => {
        server.off('error', fail)
        // later server errors (e.g. EMFILE on accept) must not crash the process: ws closes what failed
        server.on('error', () => undefined)
        if (o.publicAddress !== undefined) return resolve(o.publicAddress)
        const bound = http.address() as AddressInfo | string | null
        const port = typeof bound === 'object' && bound !== null ? bound.port : o.port
        resolve(`ws://${formatHost(host)}:${port}${path}`)
      }
      const fail = (err: Error): void => {
        this.#server = undefined
        this.#http = undefined
        server.close()
        own?.close()
        reject(err)
      }
      server.once('error', fail) // ws forwards the HTTP server's errors
      if (http.listening) done()
      else http.once('listening', done)
      own?.listen(o.port ?? 0, host)
    })
  }

  async connect(address: TransportAddress, options: { signal?: AbortSignalLike } = {}): Promise<Connection> {
    if (typeof address !== 'string') throw new TypeError('"address" expected a string')
    if (this.#closed) throw new ClosedError('transport closed')
    const url = parseUrl(address)
    const conn: WsConnection = await dialWebSocket(
      () =>
        new WebSocket(url, {
          maxPayload: this.#maxHandshakeFrameBytes,
          perMessageDeflate: false,
          handshakeTimeout: this.#options.connectTimeoutMs ?? 10_000,
          followRedirects: false,
          // RFC 6455's client mask keeps script-chosen bytes from reaching intermediaries as
          // they were chosen; every frame here is a Noise ciphertext (or a handshake message of
          // keys and ciphertext) that no script chose, so a zero mask, which ws neither applies
          // when sending nor undoes when receiving, spares both sides a pass over every byte
          generateMask: (mask: Uint8Array) => void mask.fill(0),
          ...(this.#options.localAddress !== undefined ? { localAddress: this.#options.localAddress } : {}),
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
    for (const hold of [...this.#held]) hold.release(false)
    if (this.#admitTimer !== undefined) this.#connection.clock.clearTimeout(this.#admitTimer)
    for (const waiting of this.#admitQueue.splice(0)) waiting.done(false)
    for (const conn of [...this.#open]) conn.close(CLOSE_CODES.goingAway, 'transport closed')
    const server = this.#server
    const http = this.#http
    this.#server = undefined
    this.#http = undefined
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()))
    if (http !== undefined) await new Promise<void>((resolve) => http.close(() => resolve()))
  }

  #accept(socket: WebSocket, request: IncomingMessage, onConnection: (connection: Connection) => void): void {
    socket.on('error', () => undefined) // before anything else: an early reset must not throw
    const remote = remoteOf(request)
    const address = addressOf(request)
    if (this.#closed || this.#inbound >= this.#maxConnections) {
      socket.close(4000 + (CLOSE_CODES.tryAgainLater - 1000), 'too many connections')
      if (!this.#closed) this.#refused(address, 'too-many-connections')
      return
    }
    this.#inbound++
    const conn = new WsConnection(socket as unknown as WebSocketLike, 'inbound', address, this.#connection, (c) => {
      this.#open.delete(c)
      this.#inbound--
      if (c.faulted) this.#fault(remote)
    })
    this.#open.add(conn)
    try {
      onConnection(conn)
    } catch {
      conn.close(CLOSE_CODES.internalError, 'internal error')
    }
  }

  /**
   * An upgrade request: let it in now, or after its address's wait (see the module comment), or
   * answer 429 when too many from that address wait already.
   */
  #verify(request: IncomingMessage, verified: VerifyDone): void {
    const remote = remoteOf(request)
    const delay = this.#delay(remote)
    if (this.#closed) return verified(false, 503)
    // let in: through admission (the strangers' budget) when there is one
    const done: VerifyDone = (ok, ...rest) => (ok ? this.#admit(request, verified) : verified(ok, ...rest))
    if (delay === 0) return done(true)
    const waiting = this.#heldPerAddress.get(remote) ?? 0
    if (waiting >= MAX_HELD_PER_ADDRESS || this.#held.size >= this.#maxConnections) {
      this.#refused(addressOf(request), 'address-busy')
      return done(false, 429, 'Too Many Requests', { 'Retry-After': String(Math.ceil(delay / 1000)) })
    }
    this.#refused(addressOf(request), 'address-backoff', delay)
    this.#heldPerAddress.set(remote, waiting + 1)
    const hold = {
      timer: this.#connection.clock.setTimeout(() => hold.release(true), delay),
      release: (ok: boolean): void => {
        if (!this.#held.delete(hold)) return
        this.#connection.clock.clearTimeout(hold.timer)
        const left = (this.#heldPerAddress.get(remote) ?? 1) - 1
        if (left > 0) this.#heldPerAddress.set(remote, left)
        else this.#heldPerAddress.delete(remote)
        if (ok && !this.#closed) done(true)
        else done(false, 503)
      },
    }
    this.#held.add(hold)
  }

  /** Let an upgrade in once the budget has ADMIT_TOKENS for it, in order; refuse it after MAX_ADMIT_WAIT_MS. */
  #admit(request: IncomingMessage, verified: VerifyDone): void {
    const gate = this.#gate
    if (this.#closed) return verified(false, 503)
    if (gate === undefined || (this.#admitQueue.length === 0 && gate.tryCharge(ADMIT_TOKENS, 0))) {
      this.admission.admitted++
      return verified(true)
    }
    const queue = this.#admitQueue
    const remote = remoteOf(request)
    let fromRemote = 0
    for (const w of queue) if (w.remote === remote) fromRemote++
    if (fromRemote >= MAX_HELD_PER_ADDRESS || queue.length >= this.#maxConnections) {
      this.#refused(addressOf(request), 'address-busy')
      return verified(false, 429, 'Too Many Requests', { 'Retry-After': '1' })
    }
    const wait = Math.max(1, gate.readyIn(ADMIT_TOKENS * (queue.length + 1)))
    this.#refused(addressOf(request), 'strangers-busy', Math.min(wait, MAX_ADMIT_WAIT_MS))
    queue.push({
      remote,
      since: this.#connection.clock.now(),
      done: (ok, forced = false) => {
        if (!ok) return verified(false, 503)
        if (forced) this.admission.forced++
        else this.admission.waited++
        verified(true)
      },
    })
    this.#scheduleAdmissions()
  }

  /** Admit from the head of the queue while the budget allows, and the head once it waited MAX_ADMIT_WAIT_MS. */
  #pumpAdmissions(): void {
    this.#admitTimer = undefined
    const queue = this.#admitQueue
    const now = this.#connection.clock.now()
    while (queue.length > 0) {
      const head = queue[0]!
      const gate = this.#gate
      if (this.#closed) {
        queue.shift()
        head.done(false)
      } else if (gate === undefined || gate.tryCharge(ADMIT_TOKENS, 0)) {
        queue.shift()
        head.done(true)
      } else if (now - head.since >= MAX_ADMIT_WAIT_MS) {
        // waited its turn: in, on the budget's debt (the node then starts its session held)
        queue.shift()
        gate.charge(ADMIT_TOKENS, 0)
        head.done(true, true)
        break // one a turn: the next waits for the budget, or its own MAX_ADMIT_WAIT_MS
      } else break
    }
    this.#scheduleAdmissions()
  }

  #scheduleAdmissions(): void {
    const queue = this.#admitQueue
    if (this.#admitTimer !== undefined || queue.length === 0 || this.#closed) return
    const gate = this.#gate
    const untilLate = Math.max(0, queue[0]!.since + MAX_ADMIT_WAIT_MS - this.#connection.clock.now())
    const ready = gate === undefined ? 0 : gate.readyIn(ADMIT_TOKENS)
    this.#admitTimer = this.#connection.clock.setTimeout(() => this.#pumpAdmissions(), Math.max(1, Math.min(ready, untilLate)))
  }

  /** How long a new connection from `remote` waits: 0 up to maxFaults, then doubling from faultDelayMs, capped. */
  #delay(remote: string): number {
    const entry = this.#faults.get(remote)
    if (entry === undefined) return 0
    const over = this.#decayed(entry) - this.#maxFaults
    return over < 0 ? 0 : Math.min(this.#maxFaultDelay, this.#faultDelay * 2 ** Math.floor(over))
  }

  #refused(remoteAddress: string, reason: string, delayMs?: number): void {
    const handler = this.#onRefuse
    if (handler === undefined) return
    try {
      handler(delayMs === undefined ? { remoteAddress, reason } : { remoteAddress, reason, delayMs })
    } catch {
      // the operator's handler must not break the transport
    }
  }

  #fault(remote: string): void {
    const entry = this.#faults.get(remote)
    const count = (entry === undefined ? 0 : this.#decayed(entry)) + 1
    // re-inserted: the map stays in order of the last fault, and the oldest go first
    this.#faults.delete(remote)
    this.#faults.set(remote, { count, at: this.#connection.clock.now() })
    if (this.#faults.size > MAX_FAULTY_ADDRESSES) this.#faults.delete(this.#faults.keys().next().value!)
  }

  #decayed(entry: { count: number; at: number }): number {
    const now = this.#connection.clock.now()
    entry.count = Math.max(0, entry.count - ((now - entry.at) / 1000) * this.#faultDecay)
    entry.at = now
    return entry.count
  }
}

// ## Private helpers

/** Addresses whose faults are remembered (the oldest are forgotten first). */
const MAX_FAULTY_ADDRESSES = 4096
/** Upgrades from one address that may wait out its faults at once (or for admission); more are answered 429. */
const MAX_HELD_PER_ADDRESS = 64
/**
 * Message tokens of the strangers' budget an upgrade takes before it is let in (admitWith): the
 * accept and the upgrade; the node charges the handshake itself once it is done (32 more).
 */
export const ADMIT_TOKENS = 16
/** The longest an upgrade waits for admission: then it goes in on the budget's debt (the address backoff's bound too). */
export const MAX_ADMIT_WAIT_MS = 1000

/** ws's verifyClient callback. */
type VerifyDone = (ok: boolean, code?: number, message?: string, headers?: Record<string, string>) => void

/** A plain HTTP request to the WebSocket port: 426 Upgrade Required (what ws's own server answers). */
function refuseHttp(_request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(426, { 'Content-Type': 'text/plain' })
  response.end(STATUS_CODES[426])
}

function remoteOf(request: IncomingMessage): string {
  return request.socket.remoteAddress ?? 'unknown'
}

/** The peer's address as a connection's remoteAddress says it: ws://host:port. */
function addressOf(request: IncomingMessage): TransportAddress {
  return `ws://${formatHost(remoteOf(request))}:${request.socket.remotePort ?? 0}`
}

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
