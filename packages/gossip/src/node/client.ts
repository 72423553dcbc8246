/**
 * A client node: a node that only dials — a browser wallet, which cannot listen and whose only
 * sessions are those it opens to its gateway (and, through the gateway's relay, to other pages,
 * or to witnesses it has addresses for). It is a client of its gateway, not a gossip peer: the
 * full node's composition (node.ts) less what a node needs to serve strangers and to gossip.
 *
 * What a client does, with the full node's parts (the same code):
 * - transactions: transact and deliver, proposals made to it (through its gateway session or a
 *   tunnel), late agreements, witness queries asked of it, seq witnesses consulted
 *   (transactions.ts, witness.ts);
 * - its own chain's head from its peers on a restored identity (recovery.ts);
 * - crawls it asks for, and the heads and crawls its peers ask of it (pull.ts), heads announced to
 *   it checked against its store;
 * - fraud proofs it meets, verified, stored and told to its peers (fraud-relay.ts);
 * - hosted protocols (protocol-host.ts), admissions (admission.ts), bans by key (peers.ts);
 * - tunnels through a relay it opens or is reached by (relay.ts's ends; `relay.via`).
 *
 * - the blocks of its transactions, its own half and its counterparty's, handed to its gateway
 *   (push.ts's handOver: a push to its direct neighbours but the parties, sent again until
 *   acknowledged), which stores them and whose gossip carries them on.
 *
 * What it leaves to its gateway, and how it answers a peer that expects it:
 * - the push ring: it keeps no neighbour lists and forwards nothing; a push, push-via or
 *   neighbour list sent to it is acknowledged (so the sender does not send it again) and
 *   otherwise dropped — spreading and storing others' blocks is the gateway's, not a page's;
 * - pull rounds and audits: none (it asks for what it needs: crawls, recovery);
 * - relaying for others: a frame to pass on is refused 'not-relaying';
 * - strangers' quotas and their admission before the handshake: it accepts no connections (its
 *   `listen` rejects with a TypeError), and what it stores for others is counted and capped (keep.ts's ClientKeep,
 *   `keep.totalBytes`, default CLIENT_KEEP_BYTES);
 * - the peer exchange: a `peers` list sent to it is dropped (a peers-request is answered).
 * Options it does not use: `gossip`'s ring and pull settings (neighboursIntervalMs, pushOwn,
 * pullIntervalMs, headsPerPull, auditsPerPull; pushFanout caps the neighbours it hands a block
 * to, 0 none), `keep` but totalBytes,
 * `strangerBudget.cpuScaled`'s admission before a handshake.
 * @module
 */
import type { NodeContext } from './context.js'
import { composeNode, type NodeParts } from './base-node.js'
import { CLIENT_KEEP_BYTES, ClientKeep } from './keep.js'
import type { Node, NodeOptions } from './options.js'
import { COMMON_HANDLERS } from './handlers.js'
import { handOver } from './push.js'
import { onRelayNotServing } from './relay.js'
import { acknowledge } from './resend.js'

/**
 * A client node running `identity`'s agent: it dials (`connect`, or a peer's address when a
 * transaction needs it) and never listens (see the module comment).
 * @param options as createNode's (the options a client does not use are named in the module comment)
 * @returns the node
 * @throws TypeError / RangeError on malformed options
 * @example
 * const node = createClientNode({ identity, store, transport: createWsTransport(), types, relay: { via: [gatewayKey] } })
 * const gateway = await node.connect('wss://gw.example/')
 * const { agreement } = await node.transact(gateway, 'note', 'hello')
 */
export function createClientNode(options: NodeOptions): Node {
  return composeNode(options, CLIENT)
}

const nothing = (): void => undefined

/** The client's parts (exported for its tests). @internal */
export const CLIENT: NodeParts = {
  keep: (ctx, options) => new ClientKeep(ctx.publicKey, options.keep?.totalBytes ?? CLIENT_KEEP_BYTES, ctx.stats),
  extend: (ctx: NodeContext) => ctx,
  handlers: {
    ...COMMON_HANDLERS,
    // push gossip is the gateway's: acknowledged, not stored
    push: (_ctx, m, session) => acknowledge(session, m.ack),
    'push-via': (_ctx, m, session) => acknowledge(session, m.ack),
    neighbours: (_ctx, m, session) => acknowledge(session, m.ack),
    relay: onRelayNotServing,
  },
  spread: handOver,
  peerOpened: nothing,
  peerClosed: nothing,
  listening() {
    throw new TypeError('a client node does not listen (createNode makes a node that accepts connections)')
  },
  pull: nothing,
  closing: nothing,
}
