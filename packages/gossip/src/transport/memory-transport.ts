/**
 * An in-memory network for simulation: many transports in one process, frames carried by a
 * virtual clock with a latency model, seeded so that every run replays exactly.
 *
 * Latency model (per direction of each connection, fixed when the connection opens):
 * - one-way delay = latencyMs + jitter, jitter uniform over the integers 0..jitterMs (seeded);
 * - frames of one direction arrive in the order sent (as over TCP): a frame never overtakes an
 *   earlier one, it waits for it;
 * - loss: each frame is lost with probability `loss` (seeded). lossMode 'drop' (default) loses it
 *   for good, as a datagram network would (ConTrib's simulations); 'retransmit' models TCP instead:
 *   each loss delays the frame by retransmitMs and it is tried again (at most 16 times);
 * - opening a connection takes one one-way delay to reach the listener (which then accepts) and one
 *   more for the dialer to learn it is open; closing reaches the peer after the one-way delay;
 * - bandwidth is not limited; bytes are counted per transport (`stats`) for bandwidth figures.
 *
 * Efficiency (10,000 transports × 100 connections in one process): one small object per connection
 * end, no closure and no copy per frame (a frame is a heap entry: deliver(endpoint, bytes)), links
 * without overrides share one model object.
 *
 * Frames are handed over by reference: a sender must not mutate a frame after sending it (the
 * session never does), and a receiver must not mutate what it gets.
 * @module
 */
import { ClosedError, type CloseInfo, type Connection, type Transport, type TransportAddress } from '@tally/core'
import { BaseConnection, CLOSE_CODES } from './connection-base.js'
import { DEFAULT_LIMITS } from '../wire/limits.js'
import { createRandom, type Random } from '../random.js'
import { createVirtualClock, type VirtualClock } from '../time/virtual-time.js'

/** The latency and loss model of one direction of a link. */
export interface LinkModel {
  /** Fixed one-way delay in ms (default 50). */
  readonly latencyMs: number
  /** Extra delay, uniform over the integers 0..jitterMs (default 0). */
  readonly jitterMs: number
  /** Probability that a frame is lost, in [0, 1) (default 0). */
  readonly loss: number
  /** 'drop': a lost frame is gone; 'retransmit': it arrives retransmitMs later per loss (default 'drop'). */
  readonly lossMode: 'drop' | 'retransmit'
  /** Delay added per loss in 'retransmit' mode (default 200 ms, Linux's minimum TCP RTO). */
  readonly retransmitMs: number
}

/** Options of createMemoryNetwork: the default link model, and the network's own settings. */
export interface MemoryNetworkOptions extends Partial<LinkModel> {
  /** The clock that carries frames (default: a new virtual clock at 0). */
  clock?: VirtualClock
  /** Seed of the jitter and loss draws (default 1). */
  seed?: number
  /** Largest frame delivered; a larger one closes the connection with 1009 (default DEFAULT_LIMITS.maxFrameBytes). */
  maxFrameBytes?: number
  /** Frames a connection queues while no handler is set (default DEFAULT_LIMITS.maxQueuedFrames). */
  maxQueuedFrames?: number
  /**
   * Per-direction overrides of the link model, asked once per direction when a connection opens
   * (e.g. regions with different delays, or one lossy peer).
   */
  link?: (from: TransportAddress, to: TransportAddress) => Partial<LinkModel> | undefined
}

/** Traffic counters of one transport (or of the whole network). */
export interface TrafficStats {
  framesSent: number
  bytesSent: number
  framesReceived: number
  bytesReceived: number
  /** Frames this side sent that the network lost for good. */
  framesLost: number
}

/** A Transport on the memory network, with its address and counters. */
export interface MemoryTransport extends Transport {
  /** Its address on the network (`mem://...`), dialable once `listen` was called. */
  readonly address: TransportAddress
  /** Its traffic so far. */
  readonly stats: Readonly<TrafficStats>
  /** Open connections of this transport. */
  readonly connections: number
}

/** A simulated network. */
export interface MemoryNetwork {
  /** The clock carrying frames; run it to move the simulation. */
  readonly clock: VirtualClock
  /** The default link model. */
  readonly model: Readonly<LinkModel>
  /** Traffic of every transport together. */
  readonly stats: Readonly<TrafficStats>
  /**
   * A new transport on this network.
   * @param address its address (default `mem://<n>`, n counting up); must be unique
   * @throws RangeError when the address is taken
   */
  transport(address?: TransportAddress): MemoryTransport
  /** The network's seeded generator (jitter and loss draw from it; a simulator may share it). */
  readonly random: Random
}

/** The default link model: 50 ms one way, no jitter, no loss. */
export const DEFAULT_LINK: Readonly<LinkModel> = Object.freeze({
  latencyMs: 50,
  jitterMs: 0,
  loss: 0,
  lossMode: 'drop',
  retransmitMs: 200,
})

const MAX_RETRANSMITS = 16

/**
 * A new in-memory network.
 * @param options default link model, clock, seed, frame limit, per-link overrides
 * @returns the network
 * @throws TypeError / RangeError on a malformed option (negative latency, loss outside [0, 1), ...)
 * @example
 * const net = createMemoryNetwork({ latencyMs: 50, jitterMs: 20, loss: 0.2, seed: 7 })
 * const a = net.transport(), b = net.transport()
 * await b.listen((conn) => conn.onFrame((f) => conn.send(f)))
 * const conn = await a.connect(b.address) // after 100 ms of virtual time
 */
export function createMemoryNetwork(options: MemoryNetworkOptions = {}): MemoryNetwork {
  return new Network(options)
}

// ## The network

class Network implements MemoryNetwork {
  readonly clock: VirtualClock
  readonly model: Readonly<LinkModel>
  readonly random: Random
  readonly stats: TrafficStats = newStats()
  readonly maxFrameBytes: number
  readonly maxQueuedFrames: number
  readonly #link: MemoryNetworkOptions['link']
  readonly listeners = new Map<TransportAddress, Endpoints>()
  readonly #addresses = new Set<TransportAddress>()
  #counter = 0

  constructor(options: MemoryNetworkOptions) {
    this.clock = options.clock ?? createVirtualClock()
    this.model = checkModel({ ...DEFAULT_LINK, ...definedOnly(options) }, 'options')
    this.random = createRandom(options.seed ?? 1)
    this.maxFrameBytes = positive('maxFrameBytes', options.maxFrameBytes ?? DEFAULT_LIMITS.maxFrameBytes)
    this.maxQueuedFrames = positive('maxQueuedFrames', options.maxQueuedFrames ?? DEFAULT_LIMITS.maxQueuedFrames)
    if (options.link !== undefined && typeof options.link !== 'function') throw new TypeError('"link" expected a function')
    this.#link = options.link
  }

  transport(address?: TransportAddress): MemoryTransport {
    const name = address ?? `mem://${++this.#counter}`
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('"address" expected a non-empty string')
    if (this.#addresses.has(name)) throw new RangeError(`"address" ${name} is already on this network`)
    this.#addresses.add(name)
    return new Endpoints(this, name)
  }

  /** The model of frames from `from` to `to`: the default one unless `link` overrides it. */
  modelFor(from: TransportAddress, to: TransportAddress): Readonly<LinkModel> {
    const override = this.#link?.(from, to)
    if (override === undefined) return this.model
    return checkModel({ ...this.model, ...definedOnly(override) }, 'link()')
  }

  /** One-way delay of a frame on `model`, or -1 when it is lost for good. */
  delay(model: Readonly<LinkModel>): number {
    let d = model.latencyMs
    if (model.jitterMs > 0) d += Math.floor(this.random() * (model.jitterMs + 1))
    if (model.loss > 0) {
      for (let tries = 0; this.random() < model.loss; tries++) {
        if (model.lossMode === 'drop' || tries >= MAX_RETRANSMITS) return -1
        d += model.retransmitMs
      }
    }
    return d
  }
}

/** One transport: its listener and its open connections. */
class Endpoints implements MemoryTransport {
  readonly address: TransportAddress
  readonly stats: TrafficStats = newStats()
  readonly network: Network
  readonly open = new Set<Endpoint>()
  onConnection: ((connection: Connection) => void) | undefined
  closed = false

  constructor(network: Network, address: TransportAddress) {
    this.network = network
    this.address = address
  }

  get connections(): number {
    return this.open.size
  }

  async listen(onConnection: (connection: Connection) => void): Promise<TransportAddress> {
    if (typeof onConnection !== 'function') throw new TypeError('"onConnection" expected a function')
    if (this.closed) throw new ClosedError('transport closed')
    this.onConnection = onConnection
    this.network.listeners.set(this.address, this)
    return this.address
  }

  connect(address: TransportAddress, options: { signal?: { aborted: boolean } } = {}): Promise<Connection> {
    if (typeof address !== 'string') return Promise.reject(new TypeError('"address" expected a string'))
    if (this.closed) return Promise.reject(new ClosedError('transport closed'))
    return new Promise<Connection>((resolve, reject) => {
      const dial: Dial = { from: this, to: address, resolve, reject, signal: options.signal, outbound: undefined }
      const net = this.network
      // the SYN reaches the listener after one one-way delay (never lost: TCP retries SYNs)
      net.clock.schedule(net.modelFor(this.address, address).latencyMs, arrive, dial)
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.network.listeners.get(this.address) === this) this.network.listeners.delete(this.address)
    this.onConnection = undefined
    for (const endpoint of [...this.open]) endpoint.close(CLOSE_CODES.goingAway, 'transport closed')
  }
}

interface Dial {
  readonly from: Endpoints
  readonly to: TransportAddress
  readonly resolve: (c: Connection) => void
  readonly reject: (e: Error) => void
  readonly signal: { aborted: boolean } | undefined
  outbound: Endpoint | undefined
}

/** One end of a connection. */
class Endpoint extends BaseConnection {
  readonly remoteAddress: TransportAddress
  readonly direction: 'inbound' | 'outbound'
  readonly owner: Endpoints
  /** The other end (set right after both are made). */
  peer!: Endpoint
  /** Model of frames from this end to the peer. */
  readonly model: Readonly<LinkModel>
  /** Arrival time of the last frame sent this way: FIFO. */
  lastArrival = 0

  constructor(owner: Endpoints, remoteAddress: TransportAddress, direction: 'inbound' | 'outbound', model: Readonly<LinkModel>) {
    super(owner.network.maxQueuedFrames)
    this.owner = owner
    this.remoteAddress = remoteAddress
    this.direction = direction
    this.model = model
  }

  get bufferedAmount(): number {
    return 0
  }

  send(frame: Uint8Array): boolean {
    if (!this.open) return false
    if (!(frame instanceof Uint8Array)) throw new TypeError('"frame" expected Uint8Array')
    const net = this.owner.network
    const stats = this.owner.stats
    stats.framesSent++
    stats.bytesSent += frame.length
    net.stats.framesSent++
    net.stats.bytesSent += frame.length
    const d = net.delay(this.model)
    if (d < 0) {
      stats.framesLost++
      net.stats.framesLost++
      return true
    }
    const clock = net.clock
    let at = clock.now() + d
    if (at < this.lastArrival) at = this.lastArrival
    this.lastArrival = at
    clock.schedule(at - clock.now(), deliver, this.peer, frame)
    return true
  }

  protected closeTransport(code: number, reason: string): void {
    const clock = this.owner.network.clock
    // the close frame follows every frame already sent that way, then the peer closes too
    const at = Math.max(clock.now() + this.model.latencyMs, this.lastArrival)
    clock.schedule(at - clock.now(), remoteClosed, this.peer, { code, reason, local: false })
    clock.schedule(0, localClosed, this, { code, reason, local: true })
  }

  /** Called by the tasks below. */
  arrive(frame: Uint8Array): void {
    if (!this.open) return
    if (frame.length > this.owner.network.maxFrameBytes) {
      this.close(CLOSE_CODES.tooBig, 'frame too big')
      return
    }
    this.owner.stats.framesReceived++
    this.owner.stats.bytesReceived += frame.length
    this.owner.network.stats.framesReceived++
    this.owner.network.stats.bytesReceived += frame.length
    this.receive(frame)
  }

  end(info: CloseInfo): void {
    this.owner.open.delete(this)
    this.closed(info)
  }
}

// ## Tasks (static functions: one heap entry per event, no closure)

function deliver(endpoint: Endpoint, frame: Uint8Array): void {
  endpoint.arrive(frame)
}

function remoteClosed(endpoint: Endpoint, info: CloseInfo): void {
  endpoint.end(info)
}

function localClosed(endpoint: Endpoint, info: CloseInfo): void {
  endpoint.end(info)
}

/** The dial reached the listener's address: accept, or refuse. */
function arrive(dial: Dial): void {
  const { from } = dial
  const net = from.network
  const listener = net.listeners.get(dial.to)
  const back = net.modelFor(dial.to, from.address)
  if (listener === undefined || listener.closed || listener.onConnection === undefined || from.closed || dial.signal?.aborted === true) {
    net.clock.schedule(back.latencyMs, refuse, dial, listener === undefined ? `nothing listens at ${dial.to}` : 'connection refused')
    return
  }
  const outbound = new Endpoint(from, listener.address, 'outbound', net.modelFor(from.address, listener.address))
  const inbound = new Endpoint(listener, from.address, 'inbound', back)
  outbound.peer = inbound
  inbound.peer = outbound
  from.open.add(outbound)
  listener.open.add(inbound)
  dial.outbound = outbound
  // the dialer learns of it one one-way delay later; frames the listener sends at once arrive then
  // too, after the dialer's promise resolved (it is scheduled first), or queue until it sets a handler
  net.clock.schedule(back.latencyMs, opened, dial)
  inbound.lastArrival = net.clock.now() + back.latencyMs
  listener.onConnection(inbound)
}

function opened(dial: Dial): void {
  const endpoint = dial.outbound!
  if (dial.signal?.aborted === true) {
    endpoint.close(CLOSE_CODES.normal, 'aborted')
    dial.reject(new ClosedError('connect aborted'))
    return
  }
  if (!endpoint.open) {
    dial.reject(new ClosedError(`connection to ${dial.to} closed while opening`))
    return
  }
  dial.resolve(endpoint)
}

function refuse(dial: Dial, reason: string): void {
  dial.reject(new ClosedError(`connect to ${dial.to} failed: ${reason}`))
}

// ## Private helpers

function newStats(): TrafficStats {
  return { framesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0, framesLost: 0 }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {}
  for (const key of ['latencyMs', 'jitterMs', 'loss', 'lossMode', 'retransmitMs'] as const) {
    const v = (o as Record<string, unknown>)[key]
    if (v !== undefined) (out as Record<string, unknown>)[key] = v
  }
  return out
}

function checkModel(m: LinkModel, where: string): Readonly<LinkModel> {
  for (const key of ['latencyMs', 'jitterMs', 'retransmitMs'] as const) {
    if (typeof m[key] !== 'number' || !Number.isFinite(m[key]) || m[key] < 0) {
      throw new RangeError(`${where}: "${key}" expected a finite number >= 0, got ${String(m[key])}`)
    }
  }
  if (typeof m.loss !== 'number' || !(m.loss >= 0 && m.loss < 1)) throw new RangeError(`${where}: "loss" expected a probability in [0, 1), got ${String(m.loss)}`)
  if (m.lossMode !== 'drop' && m.lossMode !== 'retransmit') throw new RangeError(`${where}: "lossMode" expected 'drop' or 'retransmit'`)
  return Object.freeze({ latencyMs: m.latencyMs, jitterMs: Math.floor(m.jitterMs), loss: m.loss, lossMode: m.lossMode, retransmitMs: m.retransmitMs })
}

function positive(name: string, v: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new RangeError(`"${name}" expected a positive integer, got ${String(v)}`)
  return v
}
