/**
 * Tunnels through a relay: how a node that never listens (a browser, a host behind NAT) is
 * reached. Both ends hold a session to a relay R (they dialled it); one end opens a tunnel to
 * the other through R, and over the tunnel runs an ordinary session — the same handshake (so each
 * end proves its key to the other, and R cannot pretend to be either), the same end-to-end Noise
 * ciphers (R sees only sealed frames), the same messages: proposals and agreements, witness
 * queries, pushes, every hosted protocol. To the rest of the node a tunnel session is one more
 * session of that peer.
 *
 * On the wire (wire/messages.ts): the opener sends R `relay` { to: B, data } with each frame of
 * the tunnel's session; R hands it to B as `relayed` { from: A, data }; B answers the same way.
 * Empty `data` closes the tunnel, its `reason` says why. Two ends that open tunnels to each other at
 * the same moment (each hello meets the other's) keep one: the tunnel of the end with the lower key,
 * at both ends; the other end's dial resolves with that session. An address `tally-relay:<R hex>/<B hex>`
 * (relayAddress) names such a tunnel: `node.connect(it)`, or `node.addAddress(B, it)` so that
 * transact, deliver and protocol handles dial it when they need B. With `relay.via` a node tries
 * its relays by itself for any peer it has no address for.
 *
 * What a relay forwards (only with `relay.serve`), and what it refuses, by reason code:
 * - only to a peer with a direct session to it now ('not-connected'), never over a tunnel of its own;
 * - per sending peer, at most `bytesPerSecond` bytes and `framesPerSecond` frames on average
 *   (token buckets with a second's burst, at least one frame): beyond, the tunnel is closed at
 *   both ends ('rate-limited') rather than a frame dropped, which would break the tunnel's cipher;
 * - per peer, at most `maxTunnels` tunnels at once ('too-many-tunnels');
 * - to a peer whose session cannot take more now ('busy');
 * - a node that does not relay answers 'not-relaying'; a tunnel to the relay itself or to the
 *   sender is 'self'; an end whose last session to the relay closed is 'gone' to the other end.
 * An end refuses tunnels when `relay.accept` is false ('not-accepting'), or beyond `maxTunnels`
 * through one relay ('too-many-tunnels'). A dial that is refused rejects with an UnreachableError
 * whose `reason` is the code. The relay's own session limits (rates, frame size, misbehaviour
 * score) apply to `relay` frames as to any other.
 *
 * A tunnel's frames are at most the frame limit less RELAY_OVERHEAD bytes (the envelope and the
 * outer cipher's tag), so a protocol kind whose `maxBytes` is within 128 KiB − 384 passes.
 * @module
 */
import { equalBytes, fromHex, shortKey, toHex, type PublicKeyHex } from '@tally/core'
import { UnreachableError } from '../errors.js'
import { BaseConnection, CLOSE_CODES } from '../transport/connection-base.js'
import type { Limits } from '../wire/limits.js'
import { decodeMessage, type RelayMessage, type RelayedMessage } from '../wire/messages.js'
import type { Session } from '../wire/session.js'
import type { NodeContext } from './context.js'

/** Options of tunnels and relaying (node option `relay`). */
export interface RelayOptions {
  /** Relay tunnels between peers connected to this node (default false). */
  serve?: boolean
  /** Accept tunnels opened to this node through a relay (default true). */
  accept?: boolean
  /** Relays (their keys) to try, in order, for a peer this node has no address for (default none). */
  via?: readonly Uint8Array[]
  /** Bytes a peer may send through this relay per second, sustained (default 256 KiB). */
  bytesPerSecond?: number
  /** Frames a peer may send through this relay per second, sustained (default 100). */
  framesPerSecond?: number
  /** Tunnels at once per peer through this relay; and tunnels this node accepts through one relay (default 16). */
  maxTunnels?: number
}

/** The defaults of RelayOptions. */
export const DEFAULT_RELAY: Readonly<Required<Omit<RelayOptions, 'via'>>> = Object.freeze({
  serve: false,
  accept: true,
  bytesPerSecond: 256 * 1024,
  framesPerSecond: 100,
  maxTunnels: 16,
})

/** Why a relay (or a tunnel's far end) refused or closed a tunnel. */
export type RelayRefusal = 'not-relaying' | 'not-connected' | 'rate-limited' | 'too-many-tunnels' | 'busy' | 'self' | 'gone' | 'not-accepting' | 'relay-gone' | 'closed'

/** Bytes a tunnel's frame leaves for the relay's envelope and cipher tag. */
export const RELAY_OVERHEAD = 128

const PREFIX = 'tally-relay:'
const ADDRESS = /^tally-relay:([0-9a-f]{64})\/([0-9a-f]{64})$/
const EMPTY = new Uint8Array(0)

/**
 * The address of `peer` through the relay `relay`.
 * @param relay the relay's key
 * @param peer the key of the peer to reach through it
 * @returns `tally-relay:<relay hex>/<peer hex>`
 * @example node.addAddress(bob, relayAddress(relayKey, bob))
 */
export function relayAddress(relay: Uint8Array, peer: Uint8Array): string {
  return `${PREFIX}${toHex(relay)}/${toHex(peer)}`
}

/**
 * The relay and peer an address names, if it is a relay address.
 * @param address any address
 * @returns the two keys, or undefined for another address
 * @example parseRelayAddress(relayAddress(r, b)) // { relay: r, peer: b }
 */
export function parseRelayAddress(address: string): { relay: Uint8Array; peer: Uint8Array } | undefined {
  const m = typeof address === 'string' ? ADDRESS.exec(address) : null
  return m === null ? undefined : { relay: fromHex(m[1]!), peer: fromHex(m[2]!) }
}

/** True for a session that runs over a tunnel. */
export function isTunnel(session: { readonly remoteAddress: string }): boolean {
  return session.remoteAddress.startsWith(PREFIX)
}

/** The limits of a session over a tunnel: frames small enough to travel inside a `relay` frame. */
export function tunnelLimits(limits: Readonly<Limits>): Readonly<Limits> {
  return Object.freeze({ ...limits, maxFrameBytes: limits.maxFrameBytes - RELAY_OVERHEAD })
}

/** A node's tunnels and, when it relays, its circuits and the senders' buckets. */
export class RelayState {
  readonly options: Readonly<Required<Omit<RelayOptions, 'via'>>> & { readonly via: readonly Uint8Array[] }
  /** This node's tunnels, by `<relay hex>/<peer hex>`. */
  readonly tunnels = new Map<string, Tunnel>()
  /** As a relay: for each peer, the peers it has tunnels with through this node. */
  readonly circuits = new Map<PublicKeyHex, Set<PublicKeyHex>>()
  /** As a relay: each sender's budget. */
  readonly buckets = new Map<PublicKeyHex, { frames: number; bytes: number; at: number }>()

  constructor(options: RelayOptions | undefined) {
    const o = { ...DEFAULT_RELAY, ...Object.fromEntries(Object.entries(options ?? {}).filter(([, v]) => v !== undefined)) } as RelayState['options']
    for (const k of ['bytesPerSecond', 'framesPerSecond', 'maxTunnels'] as const) {
      if (typeof o[k] !== 'number' || !Number.isFinite(o[k]) || o[k] <= 0) throw new RangeError(`"relay.${k}" expected a number > 0, got ${String(o[k])}`)
    }
    const via = options?.via ?? []
    if (!Array.isArray(via) || via.some((k) => !(k instanceof Uint8Array) || k.length !== 32)) throw new TypeError('"relay.via" expected an array of 32-byte keys')
    this.options = Object.freeze({ ...o, via: [...via] })
  }
}

/** One end of a tunnel: a Connection whose frames travel as `relay` / `relayed` through a relay session. */
export class Tunnel extends BaseConnection {
  readonly remoteAddress: string
  readonly direction: 'inbound' | 'outbound'
  /** Why the tunnel was closed by the relay or the far end, when it was. */
  refusal: RelayRefusal | string | undefined
  /** An inbound tunnel's handshake, once started: a dial meanwhile waits for it (dialTunnel). */
  handshake: Promise<Session> | undefined
  /** An outbound tunnel that gave way to the far end's, crossed with it: the session that took its place. */
  crossedBy: Promise<Session> | undefined
  /** True once a frame of the far end arrived. */
  #heard = false
  /** Closed without telling the far end (its tunnel of the same name lives on: see giveWay). */
  #quiet = false
  readonly #ctx: NodeContext
  readonly #relayHex: PublicKeyHex
  readonly #peer: Uint8Array
  readonly #id: string

  constructor(ctx: NodeContext, relay: Uint8Array, peer: Uint8Array, direction: 'inbound' | 'outbound') {
    super(ctx.limits.maxQueuedFrames)
    this.#ctx = ctx
    this.#relayHex = toHex(relay)
    this.#peer = peer
    this.#id = `${this.#relayHex}/${toHex(peer)}`
    this.remoteAddress = relayAddress(relay, peer)
    this.direction = direction
    relayState(ctx).tunnels.get(this.#id)?.close(CLOSE_CODES.goingAway, 'replaced')
    relayState(ctx).tunnels.set(this.#id, this)
  }

  get bufferedAmount(): number {
    const s = this.#ctx.peers.session(this.#relayHex)
    return s !== undefined && s.writable ? 0 : Number.MAX_SAFE_INTEGER
  }

  send(frame: Uint8Array): boolean {
    const s = this.#ctx.peers.session(this.#relayHex)
    if (!this.open || s === undefined || !s.open) return false
    return s.send({ type: 'relay', to: this.#peer, data: frame, reason: '' })
  }

  /** A frame from the far end. */
  deliver(frame: Uint8Array): void {
    this.#heard = true
    this.receive(frame)
  }

  /** True once a frame of the far end arrived. */
  get heard(): boolean {
    return this.#heard
  }

  /**
   * This outbound tunnel crossed one the far end opened to this node at the same moment, and
   * gives way to it (see onRelayed): closed here only — a close sent would name the pair, and
   * close the far end's tunnel too.
   */
  giveWay(): void {
    this.#quiet = true
    this.refusal = 'crossed'
    this.close(CLOSE_CODES.normal, 'crossed: the far end\'s tunnel is kept')
  }

  /** The relay or the far end closed the tunnel. */
  remoteClose(reason: string): void {
    this.refusal = reason
    this.closed({ code: reason === 'closed' ? CLOSE_CODES.normal : CLOSE_CODES.goingAway, reason: `tunnel closed: ${reason}`, local: false })
  }

  protected closeTransport(code: number, reason: string): void {
    const s = this.#quiet ? undefined : this.#ctx.peers.session(this.#relayHex)
    s?.send({ type: 'relay', to: this.#peer, data: EMPTY, reason: 'closed' })
    this.closed({ code, reason, local: true })
  }

  protected override ended(): void {
    const tunnels = relayState(this.#ctx).tunnels
    if (tunnels.get(this.#id) === this) tunnels.delete(this.#id)
  }
}

// ## Opening a tunnel

/**
 * A connection to `peer` through `relay` (a session to the relay is opened first when needed);
 * the caller runs the handshake on it (ctx.open).
 */
export async function dialTunnel(ctx: NodeContext, relay: Uint8Array, peer: Uint8Array, sessionTo: (key: Uint8Array) => Promise<Session>): Promise<Session> {
  // the far end's tunnel to this node is being handshaken: that is the session asked for (a new
  // tunnel of the same name would replace it, and close it at the far end)
  const inbound = ctx.relay.tunnels.get(`${toHex(relay)}/${toHex(peer)}`)
  if (inbound !== undefined && inbound.direction === 'inbound' && inbound.open && inbound.handshake !== undefined) return inbound.handshake
  return handshakeTunnel(ctx, await openTunnel(ctx, relay, peer, sessionTo), peer)
}

/**
 * A connection to `peer` through `relay` (a session to the relay is opened first when needed);
 * the caller runs the handshake on it (ctx.open).
 */
export async function openTunnel(ctx: NodeContext, relay: Uint8Array, peer: Uint8Array, sessionTo: (key: Uint8Array) => Promise<Session>): Promise<Tunnel> {
  if (equalBytes(peer, ctx.publicKey) || equalBytes(relay, ctx.publicKey) || equalBytes(relay, peer)) {
    throw new UnreachableError(`no tunnel from ${shortKey(ctx.publicKey)} to ${shortKey(peer)} through ${shortKey(relay)}: the same key twice`, { reason: 'self' })
  }
  const session = await sessionTo(relay)
  if (isTunnel(session)) throw new UnreachableError(`the relay ${shortKey(relay)} is itself reached through a tunnel`, { reason: 'not-connected' })
  return new Tunnel(ctx, relay, peer, 'outbound')
}

/**
 * Run the handshake over a fresh tunnel; a tunnel the relay or the far end refused rejects with an
 * UnreachableError carrying the refusal's reason.
 */
export async function handshakeTunnel(ctx: NodeContext, tunnel: Tunnel, peer: Uint8Array): Promise<Session> {
  try {
    return await ctx.open(tunnel, peer)
  } catch (err) {
    if (tunnel.crossedBy !== undefined) return tunnel.crossedBy // gave way to the far end's tunnel
    if (tunnel.refusal !== undefined) {
      throw new UnreachableError(`cannot reach ${shortKey(peer)} through its relay: ${tunnel.refusal}`, { cause: err, reason: tunnel.refusal })
    }
    throw err
  }
}

/** Relay addresses to try for `peer`: one per `via` relay this node holds a direct session to. */
export function viaAddresses(ctx: NodeContext, peer: Uint8Array): string[] {
  const out: string[] = []
  for (const r of relayState(ctx).options.via) {
    if (equalBytes(r, peer) || equalBytes(r, ctx.publicKey)) continue
    const s = ctx.peers.session(toHex(r))
    if (s !== undefined && !isTunnel(s)) out.push(relayAddress(r, peer))
  }
  return out
}

// ## Messages

/** The relay's side: pass a frame on, or refuse. */
export function onRelay(ctx: NodeContext, m: RelayMessage, session: Session): void {
  const state = relayState(ctx)
  const from = session.peerKeyHex
  const to = toHex(m.to)
  const refuse = (reason: RelayRefusal): void => refuseRelay(ctx, m, session, reason)
  if (m.data.length === 0) {
    // the sender closes its tunnel to `to`
    if (dropCircuit(state, from, to)) ctx.peers.session(to)?.send({ type: 'relayed', from: session.peerKey, data: EMPTY, reason: m.reason === '' ? 'closed' : m.reason })
    return
  }
  if (!state.options.serve) return refuse('not-relaying')
  if (to === from || equalBytes(m.to, ctx.publicKey)) return refuse('self')
  const target = ctx.peers.get(to)?.sessions.find((s) => s.open && !isTunnel(s))
  if (target === undefined || isTunnel(session)) {
    dropCircuit(state, from, to)
    return refuse('not-connected')
  }
  const known = state.circuits.get(from)?.has(to) === true
  if (!known && ((state.circuits.get(from)?.size ?? 0) >= state.options.maxTunnels || (state.circuits.get(to)?.size ?? 0) >= state.options.maxTunnels)) {
    return refuse('too-many-tunnels')
  }
  if (!take(ctx, state, from, m.data.length)) return closeBoth('rate-limited')
  if (!target.writable) return closeBoth('busy')
  if (!known) {
    add(state, from, to)
    add(state, to, from)
  }
  target.send({ type: 'relayed', from: session.peerKey, data: m.data, reason: '' })
  ctx.stats.relayedFrames++
  ctx.stats.relayedBytes += m.data.length

  function closeBoth(reason: RelayRefusal): void {
    dropCircuit(state, from, to)
    refuse(reason)
    target!.send({ type: 'relayed', from: session.peerKey, data: EMPTY, reason })
  }
}

/**
 * A node that never relays (a client: client.ts): a tunnel's frame for it to pass on is refused
 * 'not-relaying' (a close of a tunnel it never carried needs no answer).
 */
export function onRelayNotServing(ctx: NodeContext, m: RelayMessage, session: Session): void {
  if (m.data.length > 0) refuseRelay(ctx, m, session, 'not-relaying')
}

/** Refuse a `relay` frame: the sender's tunnel to `m.to` is closed with `reason`. */
function refuseRelay(ctx: NodeContext, m: RelayMessage, session: Session, reason: RelayRefusal): void {
  ctx.stats.relayRefused++
  session.send({ type: 'relayed', from: m.to, data: EMPTY, reason })
}

/** An end's side: a frame of a tunnel through `session`'s peer, a new tunnel, or a tunnel closed. */
export function onRelayed(ctx: NodeContext, m: RelayedMessage, session: Session): void {
  const state = relayState(ctx)
  const id = `${session.peerKeyHex}/${toHex(m.from)}`
  const tunnel = state.tunnels.get(id)
  if (m.data.length === 0) {
    tunnel?.remoteClose(m.reason === '' ? 'closed' : m.reason)
    return
  }
  let crossed: Tunnel | undefined
  if (tunnel !== undefined) {
    if (tunnel.direction === 'outbound' && !tunnel.heard && isHello(m.data)) {
      // both ends opened a tunnel to each other at the same moment, and each hello met the other
      // end's: the tunnel of the end with the lower key is kept, at both ends alike. That end
      // drops the far end's hello (its own is answered); the other end gives its tunnel up and
      // answers as the responder, and its dial gets that session.
      if (toHex(ctx.publicKey) < toHex(m.from)) return
      crossed = tunnel
      tunnel.giveWay()
    } else {
      tunnel.deliver(m.data)
      return
    }
  }
  // a tunnel begins with a hello; anything else is a frame of one closed here, still on its way
  // (its close crossed it in the relay): dropped, not taken for a new tunnel's handshake
  if (crossed === undefined && !isHello(m.data)) return
  const no = (reason: RelayRefusal): void => void session.send({ type: 'relay', to: m.from, data: EMPTY, reason })
  if (!state.options.accept) return no('not-accepting')
  if (equalBytes(m.from, ctx.publicKey) || isTunnel(session)) return no('self')
  let through = 0
  for (const key of state.tunnels.keys()) if (key.startsWith(session.peerKeyHex)) through++
  if (through >= state.options.maxTunnels) return no('too-many-tunnels')
  const inbound = new Tunnel(ctx, session.peerKey, m.from, 'inbound')
  inbound.deliver(m.data) // queued until the handshake takes the connection
  inbound.handshake = ctx.open(inbound, m.from)
  inbound.handshake.catch(() => undefined) // a failed handshake closes the tunnel (and is an event)
  if (crossed !== undefined) crossed.crossedBy = inbound.handshake
}

/** True when `frame` is a handshake's first message (a hello): read only on a tunnel that has heard nothing yet. */
function isHello(frame: Uint8Array): boolean {
  const d = decodeMessage(frame)
  return d.ok && d.message.type === 'hello'
}

/** A peer's last session closed: its tunnels through us end ('gone'), and our tunnels through it. */
export function relayPeerGone(ctx: NodeContext, peer: Uint8Array): void {
  const state = ctx.relay
  const hex = toHex(peer)
  for (const other of state.circuits.get(hex) ?? []) {
    state.circuits.get(other)?.delete(hex)
    ctx.peers.session(other)?.send({ type: 'relayed', from: peer, data: EMPTY, reason: 'gone' })
  }
  state.circuits.delete(hex)
  state.buckets.delete(hex)
  for (const [id, tunnel] of [...state.tunnels]) if (id.startsWith(hex)) tunnel.remoteClose('relay-gone')
}

// ## Private helpers

function relayState(ctx: NodeContext): RelayState {
  return ctx.relay
}

function add(state: RelayState, a: PublicKeyHex, b: PublicKeyHex): void {
  let set = state.circuits.get(a)
  if (set === undefined) state.circuits.set(a, (set = new Set()))
  set.add(b)
}

function dropCircuit(state: RelayState, a: PublicKeyHex, b: PublicKeyHex): boolean {
  const had = state.circuits.get(a)?.delete(b) === true
  state.circuits.get(b)?.delete(a)
  if (state.circuits.get(a)?.size === 0) state.circuits.delete(a)
  if (state.circuits.get(b)?.size === 0) state.circuits.delete(b)
  return had
}

/** Take one frame of `bytes` from `peer`'s buckets; false when either is empty. */
function take(ctx: NodeContext, state: RelayState, peer: PublicKeyHex, bytes: number): boolean {
  const { bytesPerSecond, framesPerSecond } = state.options
  const frameCap = Math.max(1, framesPerSecond)
  const byteCap = Math.max(bytesPerSecond, ctx.limits.maxFrameBytes)
  const now = ctx.clock.now()
  let b = state.buckets.get(peer)
  if (b === undefined) state.buckets.set(peer, (b = { frames: frameCap, bytes: byteCap, at: now }))
  const elapsed = Math.max(0, now - b.at) / 1000
  b.at = now
  b.frames = Math.min(frameCap, b.frames + elapsed * framesPerSecond)
  b.bytes = Math.min(byteCap, b.bytes + elapsed * bytesPerSecond)
  if (b.frames < 1 || b.bytes < bytes) return false
  b.frames -= 1
  b.bytes -= bytes
  return true
}
