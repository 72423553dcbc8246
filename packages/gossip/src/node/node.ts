/**
 * The node: a core Agent running on the network. It accepts and dials peers (every session starts
 * with the handshake), carries transactions (`transact` resolves when the agreement is back), and
 * spreads blocks and fraud proofs so that a fork is caught and everyone learns of it.
 *
 * How blocks spread (every number is a GossipOptions field):
 * - neighbour lists: each node tells each neighbour the 8-byte ids (first 8 key bytes) of its
 *   neighbours in a `neighbours` message — the whole list to a peer when its first session opens,
 *   and to every neighbour when the set changed, at most once per `neighboursIntervalMs` (on the
 *   node's clock). Each neighbour's last list is kept sorted by ring position (two-hop.ts) and
 *   forgotten when the neighbour goes. A node that does not push (pushFanout 0) sends none;
 * - push: the two parties to a transaction each push both halves (their own half only with `pushOwn`)
 *   to the `pushFanout` peers nearest the block's slot (slotWord(key, seq)) on the push ring
 *   (ringPosition of the first 8 key bytes, rendezvous.ts), chosen among its neighbours and the
 *   peers they listed, but itself and the block's two parties. A neighbour gets a `push`; a peer
 *   two hops away a `push-via` { to: its id, blocks } sent to a neighbour that listed it. Two
 *   conflicting blocks at one (key, seq), pushed by different honest counterparties, so head for
 *   the same few peers: the nearest to the slot in two overlapping two-hop neighbourhoods;
 * - forward: a node that gets a push-via checks and stores its blocks as a push, and when every
 *   block was valid (new or known: an invalid one, or one that contradicts the store and became a
 *   proof, is never forwarded) sends them in a plain `push` to its neighbour whose key starts with
 *   `to`, at most once per (block hash, to); a target that is no neighbour (any more) is counted
 *   in stats.forwardMissed. A plain push is never relayed: the ring replaces the relays;
 * - pull: every ~`pullIntervalMs` a node asks one random neighbour for its heads (key, seq, hash)
 *   of the chains this node learnt of most recently; a head that contradicts a stored block (same
 *   seq, another hash; or the stored next block does not chain to it) makes the node crawl that
 *   seq from the peer, which turns the conflict into a proof. Heads announced unasked (requestId
 *   0) are checked the same way. Then it audits `auditsPerPull` random slots of those chains
 *   (a one-block crawl each): tips move on, and the audit is what eventually finds a fork below
 *   them that the pushes missed;
 * - crawl: ranges of a chain on request, at most limits.maxCrawlBlocks blocks (and one frame) per
 *   answer, ranges clamped by resolveCrawlRange.
 *
 * Fraud: a conflicting block from any path (a push, a push-via, a crawl, a proposal, its context, a
 * witness's answer) is validated by core's `validate`, which makes the proof. Proofs from peers are
 * verified with verifyFraudProof before anything else; a forged one costs its sender score. Each
 * proof is handled once (seen cache on its id). The first proof a node holds against a key —
 * even when a block at that (key, seq) went by before, because proofs and blocks are cached apart —
 * is made known to every neighbour (or `fraudFanout` random ones) but the one it came from, as
 * `proofRelay` says:
 * - 'announce' (default): a `fraud-have` { publicKey } (36 bytes; 19 on a session of version 3,
 *   which names the accused by the first 16 bytes of its key). A node that holds no proof
 *   against that key and has not asked for one in the last `wantTimeoutMs` answers with a
 *   `fraud-want` { publicKey }; a node asked answers with a `fraud` carrying a proof it holds, once
 *   per (peer, key) per wantTimeoutMs, nothing when it holds none. So each node receives about one
 *   proof per fork, not one per neighbour that has it. A want unanswered after wantTimeoutMs is
 *   asked again of the next neighbour that announced the proof (or the same one), WANT_ATTEMPTS
 *   times in all;
 * - 'push': the `fraud` itself.
 * A proof received in answer is handled as any other (verified, stored, announced onwards). One
 * proof convicts: proofs from peers against a key already refused are dropped unverified. A node
 * holding a proof against a key refuses to transact with it, both ways, and a peer that asks about
 * the key in a heads request gets the proof too (once per session).
 *
 * Concurrency: Agent.agree() and Agent.receive() do not share a lock, so every call that writes
 * through the agent (receive, agree, complete, addFraudProof) runs on the node's write queue, one
 * at a time, from one bounded lane per peer taken in turn (write-queue.ts); their reads and the
 * network waits (witness queries, resends) stay outside it.
 *
 * Where it lives: base-node.ts holds the frame every node shares (its lifecycle, sessions and the
 * dispatch of their messages) and owns its state, a NodeContext (context.ts) that it hands to its
 * parts: transactions.ts, push.ts, pull.ts, fraud-relay.ts, peers.ts and ingest.ts. This file is
 * the full node's composition of them; client.ts is a client's (a browser wallet's), which leaves
 * push, pull rounds, relaying for others and strangers' quotas to its gateway.
 * @module
 */
import { createSeenCache } from '../wire/seen-cache.js'
import type { GossipContext, NodeContext } from './context.js'
import { composeNode, type NodeParts } from './base-node.js'
import { DEFAULT_GOSSIP, WANT_ATTEMPTS, type GossipOptions, type Node, type NodeEvents, type NodeOptions, type NodePeer, type NodeStats, type TransactOptions } from './options.js'
import { COMMON_HANDLERS } from './handlers.js'
import { onPeers } from './peers.js'
import { pull, schedulePull } from './pull.js'
import { neighboursChanged, onNeighbours, onPush, onPushVia, sendNeighbours, spread } from './push.js'
import { onRelay } from './relay.js'
import { StrangerQuota } from './stranger-quota.js'
import { TwoHopTable } from './two-hop.js'
import type { Neighbour } from './peer-table.js'
import type { Unacked } from './resend.js'

/**
 * A node running `identity`'s agent over `transport`.
 * @param options identity, store, transport, types, clock, limits, gossip and witness settings
 * @returns the node (not listening yet: call listen() to accept peers)
 * @throws TypeError / RangeError on malformed options
 * @example
 * const node = createNode({ identity, store: createMemoryStore(), transport: createWsTransport({ port: 0 }), types })
 * await node.listen()
 * const bob = await node.connect('ws://127.0.0.1:4001/')
 * const { agreement } = await node.transact(bob, 'note', 'hello')
 */
export function createNode(options: NodeOptions): Node {
  return composeNode(options, FULL_NODE)
}

export { DEFAULT_RECOVERY, type RecoveryOptions } from './recovery.js'
export { DEFAULT_GOSSIP, WANT_ATTEMPTS, type GossipOptions, type Node, type NodeEvents, type NodeOptions, type NodePeer, type NodeStats, type TransactOptions }

/** Every part: the full node. */
const FULL_NODE: NodeParts<GossipContext> = {
  keep: (ctx, options) =>
    new StrangerQuota(
      { self: ctx.publicKey, store: ctx.store, crypto: ctx.crypto, witnesses: ctx.witnesses, stats: ctx.stats, onEvicted: (hex) => ctx.recent.delete(hex) },
      options.keep,
    ),
  extend: (ctx: NodeContext, options: NodeOptions): GossipContext =>
    Object.assign(ctx, {
      twoHop: new TwoHopTable<Neighbour>(ctx.publicKey),
      forwards: createSeenCache({ max: options.cacheSize ?? 100_000 }),
      neighboursTimer: undefined,
      neighboursSentAt: Number.NEGATIVE_INFINITY,
      neighboursUnacked: new WeakMap<Neighbour, Unacked>(),
    }),
  handlers: {
    ...COMMON_HANDLERS,
    push: (ctx, m, session) => onPush(ctx as GossipContext, m, session),
    'push-via': (ctx, m, session) => onPushVia(ctx as GossipContext, m, session),
    neighbours: (ctx, m, session) => onNeighbours(ctx as GossipContext, m, session),
    peers: (ctx, m) => onPeers(ctx, m),
    relay: onRelay,
  },
  spread,
  peerOpened(ctx, neighbour, session) {
    ctx.twoHop.add(neighbour, neighbour.publicKey)
    if (ctx.peers.size === 1) schedulePull(ctx)
    // the newcomer gets the whole list now; the others hear of it with the next change
    sendNeighbours(ctx, [session])
    neighboursChanged(ctx)
  },
  peerClosed(ctx, neighbour) {
    ctx.twoHop.remove(neighbour)
    neighboursChanged(ctx)
  },
  listening(ctx) {
    // inbound upgrades are admitted out of the strangers' budget, before any handshake (ws-transport.ts)
    ;(ctx.transport as { admitWith?: (gate: typeof ctx.strangerGate | undefined) => void }).admitWith?.(ctx.strangerGate)
  },
  pull,
  closing(ctx) {
    if (ctx.neighboursTimer !== undefined) ctx.clock.clearTimeout(ctx.neighboursTimer)
    ctx.neighboursTimer = undefined
  },
}
