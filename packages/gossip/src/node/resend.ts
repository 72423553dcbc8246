/**
 * Acknowledged frames on a node. A push, a push-via or a neighbour list sent on a session of
 * protocol version 2 carries an `ack` id; the receiver answers `ack` with that id as soon as the
 * frame arrives, and the sender sends the frame again, with a new id, every `gossip.resendMs`
 * until an ack comes back, RESEND_ATTEMPTS sends in all (gossip-rules.ts: the model plays the
 * same rule).
 *
 * Why: over links that drop frames (datagrams; ConTrib's 20% runs) a push lost on either leg of a
 * two-hop push kept a fork's two blocks apart for good, and a lost neighbour list hid a part of
 * the two-hop neighbourhood. Resent until acknowledged, a frame is lost with probability
 * loss^RESEND_ATTEMPTS (0.2^4 = 0.16%), at the cost of a 4-to-6-byte ack per frame and, only when
 * frames are lost, the copies. A new id per copy keeps every copy's bytes distinct, so the
 * receiver's seen cache (which drops a repeated push frame unread) lets a copy through and
 * acknowledges it again when it was the ack that was lost.
 * @module
 */
import type { TimerHandle } from '@tally/core'
import type { SessionMessage } from '../wire/messages.js'
import type { Session } from '../wire/session.js'
import type { NodeContext } from './context.js'
import { resendAfter } from './gossip-rules.js'
import type { Neighbour } from './peer-table.js'
import { firstOpen } from './peers.js'
import { isKnown } from './admission.js'

/** The protocol version from which sessions speak `ack` (and the `ack` field of push, push-via, neighbours). */
export const ACK_VERSION = 2

/** A frame sent and not acknowledged yet. */
export interface Unacked {
  readonly to: Neighbour
  /** The frame, with an ack id (or with none, for a session of version 1). */
  readonly build: (ack: number | undefined) => SessionMessage
  /** Sends so far, minus one. */
  attempt: number
  /** The id of the latest send. */
  id: number
  timer: TimerHandle | undefined
}

/**
 * Send a frame to `n`'s oldest open session, again until acknowledged (on sessions of version 2,
 * when gossip.resendMs is not 0; once otherwise).
 * @param ctx the node
 * @param n the neighbour
 * @param build the frame, given its ack id (undefined: none)
 * @returns the pending frame (undefined when sent without an ack), or false when `n` has no open
 *   session that keeps up
 */
export function sendAcked(ctx: NodeContext, n: Neighbour, build: (ack: number | undefined) => SessionMessage): Unacked | undefined | false {
  const s = firstOpen(n)
  if (s === undefined || !s.writable) return false
  if (s.version < ACK_VERSION || ctx.gossip.resendMs <= 0) {
    s.send(build(undefined))
    return undefined
  }
  const e: Unacked = { to: n, build, attempt: 0, id: 0, timer: undefined }
  transmit(ctx, e, s)
  return e
}

/** An `ack` from a peer: the frame it names arrived. */
export function onAck(ctx: NodeContext, id: number, session: Session): void {
  const e = ctx.unacked.get(id)
  if (e === undefined || e.to.hex !== session.peerKeyHex) return // late (sent again meanwhile), or not its to ack
  cancel(ctx, e)
}

/** Answer a frame that asked for an ack. */
export function acknowledge(session: Session, ack: number | undefined): void {
  if (ack !== undefined) session.send({ type: 'ack', id: ack })
}

/** Stop sending `e` again. */
export function cancel(ctx: NodeContext, e: Unacked): void {
  if (e.timer !== undefined) ctx.clock.clearTimeout(e.timer)
  e.timer = undefined
  ctx.unacked.delete(e.id)
}

/** Forget every pending frame (the node closes). */
export function stopResends(ctx: NodeContext): void {
  for (const e of ctx.unacked.values()) if (e.timer !== undefined) ctx.clock.clearTimeout(e.timer)
  ctx.unacked.clear()
}

// ## Helpers

function transmit(ctx: NodeContext, e: Unacked, s: Session): void {
  // ids count up per node and skip 0 (absent on the wire); 2^32 - 1 wraps to 1
  ctx.ackSeq = ctx.ackSeq >= 0xffff_ffff ? 1 : ctx.ackSeq + 1
  e.id = ctx.ackSeq
  ctx.unacked.set(e.id, e)
  s.send(e.build(e.id))
  e.timer = ctx.clock.setTimeout(() => {
    e.timer = undefined
    ctx.unacked.delete(e.id)
    if (ctx.closed || !resendAfter(e.attempt)) return
    const next = firstOpen(e.to)
    if (next === undefined) return
    // a copy to a stranger comes out of the strangers' budget, and waits for good when it is spent
    // (gossip can wait): else every copy, and every ack of it, is work a flood of strangers
    // multiplies, and the acks queue ahead of an honest stranger's proposal
    if (!isKnown(ctx, e.to.publicKey) && !ctx.strangerGate.tryCharge(1, 0)) return
    e.attempt++
    ctx.stats.resent++
    transmit(ctx, e, next)
  }, ctx.gossip.resendMs)
}
