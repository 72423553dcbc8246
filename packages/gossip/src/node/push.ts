/**
 * Push gossip on a node (the rules are in node.ts's module comment): a party's push of a new block
 * to the peers nearest its slot on the push ring (two-hop.ts), directly or as a push-via through
 * the neighbour that named the peer; a push-via forwarded once checked; pushes stored; and the
 * neighbour lists that make the two-hop neighbourhood. Pushes, push-vias, forwards and neighbour
 * lists are sent again until acknowledged (resend.ts), and acknowledged on arrival.
 * @module
 */
import { blockHash, blockSize, concatBytes, equalBytes, type HalfBlock } from '@tally/core'
import type { NeighboursMessage, PushMessage, PushViaMessage, SessionMessage } from '../wire/messages.js'
import type { Session } from '../wire/session.js'
import type { GossipContext, NodeContext } from './context.js'
import { ingest } from './ingest.js'
import type { Neighbour } from './peer-table.js'
import { firstOpen } from './peers.js'
import { slotWord } from './rendezvous.js'
import { acknowledge, cancel, sendAcked } from './resend.js'
import { isKnown } from './admission.js'
import { createReadGate, type ReadGate } from '../wire/read-gate.js'

// ## Receiving

export async function onPush(ctx: GossipContext, m: PushMessage, session: Session): Promise<void> {
  acknowledge(session, m.ack)
  // every block joins the queue now, in order: a witness query right behind this push is
  // answered after the push is stored. A push is not relayed: a push-via says where to forward.
  await Promise.all(m.blocks.map((b) => ingest(ctx, b, session)))
}

/**
 * A push for this node to check and store, then forward to its neighbour whose key starts with
 * `to`: only when every block checked out (new or known; an invalid block, or one that
 * contradicts the store and became a proof, is never forwarded), each block once per target.
 */
export async function onPushVia(ctx: GossipContext, m: PushViaMessage, session: Session): Promise<void> {
  // acknowledged on arrival: a copy sent again is stored as known and not forwarded twice
  acknowledge(session, m.ack)
  const outcomes = await Promise.all(m.blocks.map((b) => ingest(ctx, b, session)))
  if (ctx.closed || ctx.gossip.pushFanout === 0 || outcomes.some((o) => o !== 'new' && o !== 'known')) return
  const target = ctx.twoHop.direct(m.to)
  if (target === undefined || target.hex === session.peerKeyHex) {
    ctx.stats.forwardMissed++
    return
  }
  const ids = m.blocks.map((b) => concatBytes(blockHash(b, ctx.crypto), m.to))
  const blocks = m.blocks.filter((_, i) => !ctx.forwards.has(ids[i]!))
  if (blocks.length === 0) return
  if (!push(ctx, target, blocks)) {
    ctx.stats.forwardMissed++
    return
  }
  for (const id of ids) ctx.forwards.add(id)
  ctx.stats.forwarded++
}

/** A neighbour's list of its neighbours: kept for the two-hop neighbourhood. */
export function onNeighbours(ctx: GossipContext, m: NeighboursMessage, session: Session): void {
  acknowledge(session, m.ack)
  const n = ctx.peers.get(session.peerKeyHex)
  if (n !== undefined) ctx.twoHop.announce(n, m.ids)
}

// ## Spreading blocks

/**
 * A party's push of a new block to the `pushFanout` peers nearest its slot on the push ring
 * among this node's neighbours and theirs: a push to a neighbour, a push-via to the neighbour
 * that named a peer two hops away.
 */
export function spread(ctx: GossipContext, block: HalfBlock): void {
  if (ctx.closed || ctx.gossip.pushFanout === 0) return
  if (!ctx.gossip.pushOwn && equalBytes(block.publicKey, ctx.publicKey)) return
  const slot = slotWord(block.publicKey, block.seq)
  for (const t of ctx.twoHop.pushTargets(slot, ctx.gossip.pushFanout, block.publicKey, block.linkPublicKey)) {
    if (t.via === undefined) {
      const n = ctx.twoHop.direct(t.id)
      if (n !== undefined) push(ctx, n, [block])
      continue
    }
    if (gossipTo(ctx, t.via, (ack) => ({ type: 'push-via', to: t.id, blocks: [block], ack }), [block])) ctx.stats.pushViaSent++
  }
}

/**
 * A client's spread (client.ts): a new block of a transaction it took part in — its own half and
 * its counterparty's — handed to its direct neighbours that are not the block's parties (its
 * gateway, a witness it holds a session to), at most `pushFanout` of them, each as a plain `push`
 * sent again until acknowledged. A client keeps no two-hop lists, so it cannot aim at the push
 * ring's slot: its gateway, a full node, stores the block, answers heads and crawls with it, and
 * the network's pull gossip and audits carry it on.
 */
export function handOver(ctx: NodeContext, block: HalfBlock): void {
  if (ctx.closed || ctx.gossip.pushFanout === 0) return
  let sent = 0
  for (const n of ctx.peers.list) {
    if (sent >= ctx.gossip.pushFanout) return
    if (equalBytes(n.publicKey, block.publicKey) || equalBytes(n.publicKey, block.linkPublicKey)) continue
    if (sendAcked(ctx, n, (ack) => ({ type: 'push', blocks: [block], ack })) === false) continue
    sent++
    ctx.stats.pushesSent++
  }
}

/**
 * This node's neighbours changed: tell every neighbour, at most once per neighboursIntervalMs, when
 * the list it names changed (a node with more neighbours than limits.maxNeighbourIds names a
 * sample that stays while its members stay: two-hop.ts `ids`). So a round costs at most
 * maxNeighbourIds ids per neighbour, and nothing when the change fell outside the sample.
 */
export function neighboursChanged(ctx: GossipContext): void {
  if (ctx.closed || ctx.neighboursTimer !== undefined || ctx.gossip.pushFanout === 0) return
  const wait = Math.max(0, ctx.neighboursSentAt + ctx.gossip.neighboursIntervalMs - ctx.clock.now())
  ctx.neighboursTimer = ctx.clock.setTimeout(() => {
    ctx.neighboursTimer = undefined
    if (ctx.closed) return
    if (!ctx.twoHop.changedSinceSent(ctx.limits.maxNeighbourIds, ctx.random)) return
    ctx.neighboursSentAt = ctx.clock.now()
    const sessions: Session[] = []
    for (const n of ctx.peers.list) {
      const s = firstOpen(n)
      if (s !== undefined) sessions.push(s)
    }
    sendNeighbours(ctx, sessions)
  }, wait)
}

/**
 * Send the ids of this node's neighbours (all of them up to limits.maxNeighbourIds, else a stable
 * sample of that many: two-hop.ts `ids`) to the
 * peers of `sessions`, until acknowledged; a copy sent again carries the list as it is then, and
 * a newer list replaces one not acknowledged yet. A node that does not push (pushFanout 0)
 * forwards nothing either: it names none.
 */
export function sendNeighbours(ctx: GossipContext, sessions: readonly Session[]): void {
  if (ctx.closed || ctx.gossip.pushFanout === 0 || sessions.length === 0) return
  let ids = ctx.twoHop.ids(ctx.limits.maxNeighbourIds, ctx.random)
  let idsAt = ctx.clock.now()
  const current = (): readonly Uint8Array[] => {
    if (ctx.clock.now() !== idsAt) [ids, idsAt] = [ctx.twoHop.ids(ctx.limits.maxNeighbourIds, ctx.random), ctx.clock.now()]
    return ids
  }
  for (const s of sessions) {
    const n = ctx.peers.get(s.peerKeyHex)
    if (n === undefined) continue
    // a list to a stranger comes out of the strangers' budget, as gossip to it does (gossipTo)
    if (!isKnown(ctx, n.publicKey) && !ctx.strangerGate.tryCharge(1, 0)) continue
    const older = ctx.neighboursUnacked.get(n)
    if (older !== undefined) cancel(ctx, older)
    const sent = sendAcked(ctx, n, (ack) => ({ type: 'neighbours', ids: current(), ack }))
    if (sent) ctx.neighboursUnacked.set(n, sent)
  }
}

// ## Helpers

/** A push frame to `n`, sent again until acknowledged; false when it has no session that keeps up (gossip can wait). */
function push(ctx: GossipContext, n: Neighbour, blocks: readonly HalfBlock[]): boolean {
  if (!gossipTo(ctx, n, (ack) => ({ type: 'push', blocks, ack }), blocks)) return false
  ctx.stats.pushesSent++
  return true
}

/**
 * A gossip frame to `n`'s oldest open session, sent again until acknowledged (resend.ts); false
 * when there is no session that keeps up, or when `n` is a stranger and the strangers' budget
 * (NodeOptions.strangerBudget) is spent: what the node does for strangers, sending included,
 * comes out of their budget (charged once, at the first send), and gossip can wait.
 */
function gossipTo(ctx: GossipContext, n: Neighbour, build: (ack: number | undefined) => SessionMessage, blocks: readonly HalfBlock[]): boolean {
  const s = firstOpen(n)
  if (s === undefined || !s.writable) return false
  if (!withinGossipShare(ctx, n, blocks.length)) return false
  if (!isKnown(ctx, n.publicKey)) {
    let bytes = 0
    for (const b of blocks) bytes += blockSize(b)
    if (!ctx.strangerGate.tryCharge(blocks.length, bytes)) return false
  }
  return sendAcked(ctx, n, build) !== false
}

/**
 * A node's gossip to one peer stays within half of the message rate it reads that peer at
 * (`limits.messagesPerSecond`, assumed to be the peer's too, as recovery's crawls assume), and half
 * of its burst: the other half is for what must get through — proposals and their answers. Gossip
 * over the share is skipped (pull gossip makes up for it). Without this a busy node's pushes-via
 * to a peer with many neighbours took the peer's whole rate, and its own proposals were dropped
 * there as a flood, and cost it: an honest client stalled for seconds, then was banned.
 */
function withinGossipShare(ctx: GossipContext, n: Neighbour, weight: number): boolean {
  let share = gossipShares.get(n)
  if (share === undefined) {
    const { messagesPerSecond, messageBurst, bytesPerSecond } = ctx.limits
    // messages only: gossip is charged no bytes
    share = createReadGate({ messagesPerSecond: messagesPerSecond / 2, messageBurst: messageBurst / 2, bytesPerSecond, clock: ctx.clock })
    gossipShares.set(n, share)
  }
  return share.tryCharge(weight, 0)
}

/** Each neighbour's gossip share (withinGossipShare), gone with the neighbour. */
const gossipShares = new WeakMap<Neighbour, ReadGate>()
