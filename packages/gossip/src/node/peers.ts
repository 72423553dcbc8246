/**
 * A node's peers as its other parts use them (the table itself is peer-table.ts): the list of
 * connected peers, bans after misbehaviour, a session to a key (dialling its known address when
 * there is none), and the peer exchange (`peers-request`, `peers`).
 * @module
 */
import { ClosedError, shortKey, toHex, equalBytes, type Connection, type PublicKeyHex } from '@tally/core'
import { HandshakeError } from '../wire/handshake.js'
import type { PeersMessage, PeersRequestMessage } from '../wire/messages.js'
import type { Session } from '../wire/session.js'
import type { NodeContext } from './context.js'
import { UnreachableError } from '../errors.js'
import type { NodePeer } from './options.js'
import type { Neighbour } from './peer-table.js'
import { dialTunnel, parseRelayAddress, viaAddresses } from './relay.js'

/** The connected peers, each with its oldest open session. */
export function listPeers(ctx: NodeContext): readonly NodePeer[] {
  const out: NodePeer[] = []
  for (const n of ctx.peers.list) {
    const s = n.sessions.find((x) => x.open)
    if (s !== undefined) out.push({ publicKey: n.publicKey, address: s.remoteAddress, direction: s.direction, sessions: n.sessions.length })
  }
  return out
}

/** Refuse `hex` at the handshake for banMs (a session of it closed for misbehaviour). */
export function ban(ctx: NodeContext, hex: PublicKeyHex): void {
  const now = ctx.clock.now()
  if (ctx.banMs > 0) ctx.banned.ban(hex, now + ctx.banMs, now)
}

export function isBanned(ctx: NodeContext, hex: PublicKeyHex): boolean {
  return ctx.banned.has(hex, ctx.clock.now())
}

/**
 * A handshake on `conn` failed: tell the operator ('handshake:failed'), with the key the peer
 * claimed if it got that far, and why — 'banned' when it was a key this node refuses.
 */
export function handshakeFailed(ctx: NodeContext, conn: Connection, claimed: Uint8Array | undefined, banned: boolean, error: unknown): void {
  if (ctx.closed) return
  const reason = banned
    ? 'banned'
    : error instanceof HandshakeError
      ? error.reason
      : (error as { name?: unknown } | undefined)?.name === 'TimeoutError'
        ? 'timeout'
        : error instanceof ClosedError
          ? 'closed'
          : 'error'
  ctx.events.emit('handshake:failed', { address: conn.remoteAddress, publicKey: claimed, direction: conn.direction, reason, error })
}

/** An open session to `key`, dialling its known address when there is none. */
export function sessionTo(ctx: NodeContext, key: Uint8Array): Promise<Session> {
  const hex = toHex(key)
  const open = ctx.peers.session(hex)
  if (open !== undefined) return Promise.resolve(open)
  const pending = ctx.dialing.get(hex)
  if (pending !== undefined) return pending
  const known = ctx.peers.address(hex)
  // a peer with no address: through each relay of `relay.via` this node is connected to, in turn
  const addresses = known !== undefined ? [known] : viaAddresses(ctx, key)
  if (addresses.length === 0) return Promise.reject(new UnreachableError(`no session to ${shortKey(key)} and no address to dial`))
  const attempt = (async () => {
    let last: unknown
    for (const address of addresses) {
      try {
        return await dial(ctx, address, key)
      } catch (err) {
        last = err
        if (!(err instanceof UnreachableError) || known !== undefined) throw err
      }
    }
    throw last
  })()
  ctx.dialing.set(hex, attempt)
  const forget = (): void => void ctx.dialing.delete(hex)
  attempt.then(forget, forget)
  return attempt
}

/**
 * Dial `address` (a transport address, or a relay address: relay.ts) and run the handshake.
 * @throws UnreachableError when the transport cannot connect or the relay refuses (its `reason`)
 */
export async function dial(ctx: NodeContext, address: string, expectedPeer: Uint8Array | undefined): Promise<Session> {
  const tunnel = parseRelayAddress(address)
  if (tunnel !== undefined) {
    if (expectedPeer !== undefined && !equalBytes(expectedPeer, tunnel.peer)) throw new RangeError(`"address" names ${shortKey(tunnel.peer)}, not the peer expected`)
    return dialTunnel(ctx, tunnel.relay, tunnel.peer, (key) => sessionTo(ctx, key))
  }
  let conn: Connection
  try {
    conn = await ctx.transport.connect(address)
  } catch (err) {
    if (expectedPeer === undefined && !(err instanceof ClosedError)) throw err // connect(): the transport's own error
    const who = expectedPeer === undefined ? address : `${shortKey(expectedPeer)} at ${address}`
    throw new UnreachableError(`cannot reach ${who}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
  }
  if (ctx.closed) {
    conn.close(1001, 'node closed')
    throw new ClosedError('node closed')
  }
  return ctx.open(conn, expectedPeer)
}

export function onPeersRequest(ctx: NodeContext, m: PeersRequestMessage, session: Session): void {
  session.reply(m, { type: 'peers', peers: ctx.peers.addresses(Math.min(m.max, session.limits.maxPeers)) })
}

/**
 * A peer list. One nobody asked for (requestId 0: every `peers` that reaches the node's handler,
 * replies go to their request) is ignored: anyone could send one to point a known key at an
 * address of its choosing. An answer to our request adds addresses for keys this node has none
 * for; it never replaces one (an address dialled and proved by a handshake, or given by the user).
 */
export function onPeers(ctx: NodeContext, m: PeersMessage): void {
  if (m.requestId === 0) return
  for (const p of m.peers) if (!equalBytes(p.publicKey, ctx.publicKey)) ctx.peers.hearAddress(p.publicKey, p.address)
}

/** `n`'s oldest open session. */
export function firstOpen(n: Neighbour): Session | undefined {
  for (const s of n.sessions) if (s.open) return s
  return undefined
}
