/**
 * The protocol host: the application protocols (core's `Protocol`) a node carries for its user,
 * all over one wire message, `app` { id, protocol, kind, body } (wire/messages.ts).
 *
 * Before a handler sees a message, the host checks, in this order: the protocol is hosted, the kind
 * is one of its kinds, the body is within the kind's `maxBytes`, the body is canonical CBOR, and
 * the kind's `decode` accepts it. A message that fails costs its sender as a frame that does not
 * decode costs it (`session.malformed`: 50 for a body over its limit, 20 for anything else), and a
 * request is answered with a refusal the requester can tell apart: its `RefusedError.reason` is
 * 'unknown-protocol', 'unknown-kind', 'too-large' or 'malformed'. A kind the protocol has no
 * handler for, sent unasked, costs what an unexpected reply costs (5) and is refused 'no-handler'.
 * A message takes `kind.cost` tokens of its sender's message rate (the session asks `appCost`
 * before it dispatches the message, so a message over the budget is dropped unhandled).
 *
 * A kind may also read its body's bytes itself: a `readBytes(body)` beside core's MessageKind
 * members (`BytesKind`). The host then checks the body's size against `maxBytes` and hands the
 * bytes to `readBytes` in place of its own `decodeCanonical` and the kind's `decode`, so a large
 * body is walked once rather than decoded to CBOR values, re-encoded to check its canonical form,
 * and copied item by item. `readBytes` must accept exactly the bodies that `decodeCanonical` and
 * `decode` accept, and return the same message (a host that does not know `readBytes` uses
 * those); what it throws is the sender's 'malformed' body, as a `decode` that throws. The message
 * it returns may hold views into the body: the body is the host's own copy and is never reused.
 * Likewise `writeBytes(message)`: the body's bytes, written by the kind itself in place of
 * `encodeCanonical(encode(message))`, which they must equal; the host still checks `maxBytes`.
 *
 * Handlers: a request's handler returns the reply; one that throws a core `RefusedError` refuses
 * with that error's `reason`, which reaches the requester's `request()` as a `RefusedError` with the
 * same reason; anything else it throws is reported as the node's `error` event and answered
 * 'internal'. A one-way message's handler has its result ignored and its exceptions reported.
 * Handlers of one peer run under the session's handler limit (maxConcurrentHandlers at once, the
 * rest wait in order), beside the node's own messages.
 *
 * Refusals travel as `error` messages whose text is the reason code: code 'refused' for a
 * handler's refusal (the text empty when it had no reason), 'internal' for a handler that failed,
 * and 'not-found', 'bad-request' or 'too-large' for the host's checks. On the requester's side,
 * `RefusedError.reason` is the text of a 'refused' (undefined when empty); for any other code the
 * text when it is a reason code, else the code itself (a session's 'busy' carries a sentence).
 * @module
 */
import {
  ClosedError,
  DecodeError,
  RefusedError,
  abytes,
  decodeCanonical,
  equalBytes,
  encodeCanonical,
  shortKey,
  toHex,
  type Agent,
  type BlockStore,
  type CborValue,
  type Clock,
  type MessageKind,
  type PeerContext,
  type Protocol,
  type ProtocolHandle,
  type ProtocolHandler,
  type ProtocolMessages,
  type ProtocolReply,
  type ProtocolRequestOptions,
  type PublicKeyHex,
} from '@tally/core'
import { KIND_NAME, PROTOCOL_NAME, type AppMessage, type DecodeReason, type ErrorCode, type ErrorMessage } from '../wire/messages.js'
import type { Session } from '../wire/session.js'
import type { NodeContext } from './context.js'
import { sessionTo } from './peers.js'
import { restand } from './admission.js'

/** A refusal's text that is a reason code (the host's own: 'unknown-kind'), not a sentence. */
const REASON_CODE = /^[a-z0-9][a-z0-9._-]{0,63}$/

/** Room in a frame for an `app` envelope around the body (code, id, two names of ≤ 64 characters). */
const ENVELOPE_BYTES = 256

/**
 * A message kind that reads its own body (see the module comment): core's MessageKind and
 * `readBytes`, which must accept exactly what `decodeCanonical` then `decode` accept.
 */
export interface BytesKind<T> extends MessageKind<T> {
  /** The message from the body's canonical bytes (within `maxBytes`); throws as `decode` does. */
  readBytes?(body: Uint8Array): T
  /** The body of a message: exactly `encodeCanonical(encode(message))`; throws as `encode` does. */
  writeBytes?(message: T): Uint8Array
}

/** A kind as hosted: core's members, and the optional byte codecs of BytesKind. */
type HostedKind = MessageKind<unknown> & { readonly readBytes?: (body: Uint8Array) => unknown; readonly writeBytes?: (message: unknown) => Uint8Array }

/** A protocol being hosted: its kinds and handlers, copied and checked when it was hosted. */
export interface Hosted {
  readonly protocol: Protocol<ProtocolMessages>
  readonly name: string
  readonly kinds: ReadonlyMap<string, HostedKind>
  readonly handlers: ReadonlyMap<string, ProtocolHandler<ProtocolMessages, string>>
  /** Contexts of the peers handed to this protocol, by key. */
  readonly contexts: Map<PublicKeyHex, HostedPeer>
  open: boolean
}

// ## Hosting

/** Node.host: check `protocol`, host it, tell it of the peers already connected. */
export function hostProtocol<M extends ProtocolMessages>(ctx: NodeContext, protocol: Protocol<M>): ProtocolHandle<M> {
  ctx.checkOpen()
  const hosted = check(ctx, protocol as unknown as Protocol<ProtocolMessages>)
  ctx.protocols.set(hosted.name, hosted)
  ctx.closedProtocols.delete(hosted.name)
  for (const n of ctx.peers.list) peerOpened(ctx, hosted, n.publicKey)
  const handle: ProtocolHandle<ProtocolMessages> = {
    clock: ctx.clock,
    async peer(peer) {
      abytes('peer', peer, 32)
      if (!hosted.open) throw new ClosedError(`protocol ${hosted.name} is no longer hosted`)
      await sessionTo(ctx, peer)
      return contextOf(ctx, hosted, peer)
    },
    peers() {
      if (!hosted.open) return []
      return ctx.peers.list.filter((n) => n.sessions.some((s) => s.open)).map((n) => contextOf(ctx, hosted, n.publicKey))
    },
    admit(peer, reason) {
      ctx.checkOpen()
      if (!hosted.open) throw new ClosedError(`protocol ${hosted.name} is no longer hosted`)
      abytes('peer', peer, 32)
      if (equalBytes(peer, ctx.publicKey)) return // a node is no stranger to itself
      if (ctx.admitted.admit(peer, `${hosted.name}:${reason}`)) restand(ctx, peer)
    },
    unadmit(peer, reason) {
      abytes('peer', peer, 32)
      const gone = reason === undefined ? ctx.admitted.unadmitAll(`${hosted.name}:`, peer).length > 0 : ctx.admitted.unadmit(peer, `${hosted.name}:${reason}`)
      if (gone) restand(ctx, peer)
    },
    keepChain(chain) {
      abytes('chain', chain, 32)
      if (hosted.open && !ctx.closed) ctx.quota.party(chain)
    },
    close() {
      if (!hosted.open) return
      hosted.open = false
      for (const key of ctx.admitted.unadmitAll(`${hosted.name}:`)) restand(ctx, key)
      if (ctx.protocols.get(hosted.name) === hosted) ctx.protocols.delete(hosted.name)
      // a peer's message already on its way is refused without a charge
      ctx.closedProtocols.add(hosted.name)
      for (const n of ctx.peers.list) peerClosed(ctx, hosted, n.publicKey)
    },
  }
  return handle as unknown as ProtocolHandle<M>
}

/** Tokens an `app` message takes from its sender's rate (the session's `appCost`). */
export function appCost(ctx: NodeContext, m: AppMessage): number {
  return ctx.protocols.get(m.protocol)?.kinds.get(m.kind)?.cost ?? 1
}

/** A peer's first session opened: every hosted protocol's `onPeer`. */
export function protocolsPeerOpened(ctx: NodeContext, peer: Uint8Array): void {
  for (const hosted of ctx.protocols.values()) peerOpened(ctx, hosted, peer)
}

/** A peer's last session closed: every hosted protocol's `onPeerGone`. */
export function protocolsPeerClosed(ctx: NodeContext, peer: Uint8Array): void {
  for (const hosted of ctx.protocols.values()) peerClosed(ctx, hosted, peer)
}

// ## Receiving

/** An `app` message from a peer that is not a reply (a request, or one-way). */
export async function onApp(ctx: NodeContext, m: AppMessage, session: Session): Promise<void> {
  const request = m.requestId > 0
  const hosted = ctx.protocols.get(m.protocol)
  if (hosted === undefined) {
    if (!ctx.closedProtocols.has(m.protocol)) session.malformed('unknown-type', `protocol ${m.protocol} is not hosted`)
    if (request) refuse(session, m, 'not-found', 'unknown-protocol')
    return
  }
  const read = readBody(hosted, m.kind, m.body)
  if (!read.ok) {
    session.malformed(read.reason, read.detail)
    if (request) refuse(session, m, read.code, read.refusal)
    return
  }
  const handler = hosted.handlers.get(m.kind)
  if (handler === undefined) {
    session.penalize(session.limits.unexpectedCost, `${hosted.name} ${m.kind} sent unasked: the protocol has no handler for it`)
    if (request) refuse(session, m, 'refused', 'no-handler')
    return
  }
  const where = (): string => `protocol ${hosted.name}: ${m.kind} handler`
  let result: void | ProtocolReply<ProtocolMessages>
  try {
    result = await handler(read.value, contextOf(ctx, hosted, session.peerKey, session.peerKeyHex))
  } catch (err) {
    if (isRefusal(err)) {
      if (request) refuse(session, m, 'refused', err.reason ?? '')
      return
    }
    ctx.report(err, where())
    if (request) refuse(session, m, 'internal', 'internal')
    return
  }
  if (!request) return
  let body: Uint8Array
  let kind: string
  try {
    if (typeof result !== 'object' || result === null || typeof result.kind !== 'string') {
      throw new TypeError(`the handler of a request must return a reply { kind, message }, got ${result === null ? 'null' : typeof result}`)
    }
    kind = result.kind
    body = encodeBody(hosted, kind, result.message)
  } catch (err) {
    ctx.report(err, where())
    refuse(session, m, 'internal', 'internal')
    return
  }
  session.reply(m, { type: 'app', reply: true, protocol: hosted.name, kind, body })
}

// ## The peer context

/** What a protocol can do with one peer (core's PeerContext), over the peer's oldest open session. */
class HostedPeer implements PeerContext<ProtocolMessages> {
  readonly peer: Uint8Array
  readonly #ctx: NodeContext
  readonly #hosted: Hosted
  readonly #hex: PublicKeyHex

  constructor(ctx: NodeContext, hosted: Hosted, peer: Uint8Array, hex: PublicKeyHex) {
    this.#ctx = ctx
    this.#hosted = hosted
    this.peer = peer
    this.#hex = hex
  }

  get agent(): Agent {
    return this.#ctx.agent
  }

  get store(): BlockStore {
    return this.#ctx.store
  }

  get clock(): Clock {
    return this.#ctx.clock
  }

  send(kind: string, message: unknown): boolean {
    const hosted = this.#hosted
    const body = encodeBody(hosted, kind, message)
    const s = this.#ctx.peers.session(this.#hex)
    // a full send buffer drops the message, as the contract says, rather than queueing more
    if (!hosted.open || s === undefined || !s.writable) return false
    return s.send({ type: 'app', requestId: 0, reply: false, protocol: hosted.name, kind, body })
  }

  async request(kind: string, message: unknown, options: ProtocolRequestOptions = {}): Promise<ProtocolReply<ProtocolMessages>> {
    const hosted = this.#hosted
    const body = encodeBody(hosted, kind, message)
    if (!hosted.open) throw new ClosedError(`protocol ${hosted.name} is no longer hosted`)
    const s = this.#ctx.peers.session(this.#hex)
    if (s === undefined) throw new ClosedError(`no open session to ${shortKey(this.peer)}`)
    const reply = await s.request(
      { type: 'app', reply: false, protocol: hosted.name, kind, body },
      options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {},
    )
    if (reply.type === 'error') throw refusedBy(this.peer, hosted.name, kind, reply)
    if (reply.protocol !== hosted.name) {
      s.malformed('inconsistent', `a ${reply.protocol} reply to a ${hosted.name} request`)
      throw new DecodeError(`${shortKey(this.peer)} answered a ${hosted.name} request with a ${reply.protocol} message`)
    }
    const read = readBody(hosted, reply.kind, reply.body)
    if (!read.ok) {
      s.malformed(read.reason, read.detail)
      throw new DecodeError(`${shortKey(this.peer)}'s reply to ${hosted.name} ${kind} is not a valid message: ${read.detail}`)
    }
    return { kind: reply.kind, message: read.value }
  }
}

// ## Private helpers

function contextOf(ctx: NodeContext, hosted: Hosted, peer: Uint8Array, hex: PublicKeyHex = toHex(peer)): HostedPeer {
  let c = hosted.contexts.get(hex)
  if (c === undefined) hosted.contexts.set(hex, (c = new HostedPeer(ctx, hosted, peer, hex)))
  return c
}

function peerOpened(ctx: NodeContext, hosted: Hosted, peer: Uint8Array): void {
  const hook = hosted.protocol.onPeer
  if (hook === undefined) return
  try {
    hook.call(hosted.protocol, contextOf(ctx, hosted, peer))
  } catch (err) {
    ctx.report(err, `protocol ${hosted.name}: onPeer`)
  }
}

function peerClosed(ctx: NodeContext, hosted: Hosted, peer: Uint8Array): void {
  hosted.contexts.delete(toHex(peer))
  const hook = hosted.protocol.onPeerGone
  if (hook === undefined) return
  try {
    hook.call(hosted.protocol, peer)
  } catch (err) {
    ctx.report(err, `protocol ${hosted.name}: onPeerGone`)
  }
}

type Read =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: DecodeReason; readonly detail: string; readonly code: ErrorCode; readonly refusal: string }

/** The checks before a handler: the kind is known, the body within its limit, canonical, and decodable. */
function readBody(hosted: Hosted, kindName: string, body: Uint8Array): Read {
  const kind = hosted.kinds.get(kindName)
  if (kind === undefined) return { ok: false, reason: 'unknown-type', detail: `${hosted.name} has no kind ${kindName}`, code: 'bad-request', refusal: 'unknown-kind' }
  if (body.length > kind.maxBytes) {
    return { ok: false, reason: 'too-large', detail: `a ${hosted.name} ${kindName} of ${body.length} bytes, over ${kind.maxBytes}`, code: 'too-large', refusal: 'too-large' }
  }
  if (kind.readBytes !== undefined) {
    try {
      return { ok: true, value: kind.readBytes(body) }
    } catch (err) {
      return { ok: false, reason: 'malformed', detail: `${hosted.name} ${kindName}: ${(err as Error)?.message ?? String(err)}`, code: 'bad-request', refusal: 'malformed' }
    }
  }
  let value: CborValue
  try {
    value = decodeCanonical(body, { maxBytes: kind.maxBytes, maxDepth: 32 })
  } catch (err) {
    return { ok: false, reason: 'malformed', detail: `${hosted.name} ${kindName}: ${(err as Error)?.message ?? String(err)}`, code: 'bad-request', refusal: 'malformed' }
  }
  try {
    return { ok: true, value: kind.decode(value) }
  } catch (err) {
    return { ok: false, reason: 'bad-field', detail: `${hosted.name} ${kindName}: ${(err as Error)?.message ?? String(err)}`, code: 'bad-request', refusal: 'malformed' }
  }
}

/**
 * A message of ours as its body bytes.
 * @throws TypeError for a kind the protocol does not have (or an encoder that returns no CBOR value);
 *   RangeError for a body over the kind's maxBytes: both caller mistakes, never sent
 */
function encodeBody(hosted: Hosted, kindName: string, message: unknown): Uint8Array {
  const kind = typeof kindName === 'string' ? hosted.kinds.get(kindName) : undefined
  if (kind === undefined) throw new TypeError(`"kind" expected one of ${hosted.name}'s kinds (${[...hosted.kinds.keys()].join(', ')}), got ${String(kindName).slice(0, 64)}`)
  const body = kind.writeBytes !== undefined ? kind.writeBytes(message) : encodeCanonical(kind.encode(message))
  if (!(body instanceof Uint8Array)) throw new TypeError(`${hosted.name} ${kindName}'s writeBytes returned no bytes`)
  if (body.length > kind.maxBytes) throw new RangeError(`"message" encodes to ${body.length} bytes, over ${hosted.name} ${kindName}'s maxBytes of ${kind.maxBytes}`)
  return body
}

function refuse(session: Session, m: AppMessage, code: ErrorCode, reason: string): void {
  session.reply(m, { type: 'error', code, reason: reason.slice(0, session.limits.maxReasonLength) })
}

/** The requester's side of a refusal (see the module comment). */
function refusedBy(peer: Uint8Array, name: string, kind: string, reply: ErrorMessage): RefusedError {
  const text = reply.reason
  const reason = reply.code === 'refused' ? text || undefined : REASON_CODE.test(text) ? text : reply.code
  return new RefusedError(`${shortKey(peer)} refused ${name} ${kind}${reason !== undefined ? ` (${reason})` : ''}`, reason !== undefined ? { reason } : {})
}

function isRefusal(err: unknown): err is RefusedError {
  return err instanceof RefusedError || (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ERR_REFUSED')
}

/** A protocol checked and copied, so that later changes to its object cannot bypass the checks. */
function check(ctx: NodeContext, protocol: Protocol<ProtocolMessages>): Hosted {
  if (typeof protocol !== 'object' || protocol === null) throw new TypeError('"protocol" expected a Protocol')
  const name = protocol.name
  if (typeof name !== 'string') throw new TypeError('"protocol.name" expected a string')
  if (!PROTOCOL_NAME.test(name)) throw new RangeError(`"protocol.name" expected 1..64 characters of a-z, 0-9 and /._-, got ${JSON.stringify(name.slice(0, 80))}`)
  if (ctx.protocols.has(name)) throw new RangeError(`"protocol.name" ${name} is already hosted by this node`)
  if (typeof protocol.messages !== 'object' || protocol.messages === null) throw new TypeError('"protocol.messages" expected an object of message kinds')
  const maxBytes = ctx.limits.maxFrameBytes - ENVELOPE_BYTES
  const kinds = new Map<string, HostedKind>()
  for (const [k, kind] of Object.entries(protocol.messages)) {
    const at = `protocol.messages.${k}`
    if (!KIND_NAME.test(k)) throw new RangeError(`"${at}": a kind name is 1..64 characters of A-Z, a-z, 0-9 and /._-`)
    if (typeof kind !== 'object' || kind === null || typeof kind.encode !== 'function' || typeof kind.decode !== 'function') {
      throw new TypeError(`"${at}" expected a MessageKind with encode and decode`)
    }
    if (!Number.isSafeInteger(kind.maxBytes) || kind.maxBytes < 1 || kind.maxBytes > maxBytes) {
      throw new RangeError(`"${at}.maxBytes" expected an integer in [1, ${maxBytes}] (the frame limit less the envelope), got ${String(kind.maxBytes)}`)
    }
    if (typeof kind.cost !== 'number' || !Number.isFinite(kind.cost) || kind.cost < 0) throw new RangeError(`"${at}.cost" expected a finite number >= 0, got ${String(kind.cost)}`)
    const { readBytes, writeBytes } = kind as BytesKind<unknown>
    if (readBytes !== undefined && typeof readBytes !== 'function') throw new TypeError(`"${at}.readBytes" expected a function`)
    if (writeBytes !== undefined && typeof writeBytes !== 'function') throw new TypeError(`"${at}.writeBytes" expected a function`)
    kinds.set(
      k,
      Object.freeze({
        maxBytes: kind.maxBytes,
        cost: kind.cost,
        encode: kind.encode.bind(kind),
        decode: kind.decode.bind(kind),
        ...(readBytes === undefined ? {} : { readBytes: readBytes.bind(kind) }),
        ...(writeBytes === undefined ? {} : { writeBytes: writeBytes.bind(kind) }),
      }),
    )
  }
  if (kinds.size === 0) throw new RangeError('"protocol.messages" expected at least one kind')
  if (typeof protocol.handlers !== 'object' || protocol.handlers === null) throw new TypeError('"protocol.handlers" expected an object')
  const handlers = new Map<string, ProtocolHandler<ProtocolMessages, string>>()
  for (const [k, handler] of Object.entries(protocol.handlers)) {
    if (handler === undefined) continue
    if (!kinds.has(k)) throw new RangeError(`"protocol.handlers.${k}" handles a kind that protocol.messages does not have`)
    if (typeof handler !== 'function') throw new TypeError(`"protocol.handlers.${k}" expected a function`)
    handlers.set(k, handler)
  }
  if (protocol.onPeer !== undefined && typeof protocol.onPeer !== 'function') throw new TypeError('"protocol.onPeer" expected a function')
  if (protocol.onPeerGone !== undefined && typeof protocol.onPeerGone !== 'function') throw new TypeError('"protocol.onPeerGone" expected a function')
  return { protocol, name, kinds, handlers, contexts: new Map(), open: true }
}
