/**
 * The messages every node handles, whatever its composition (base-node.ts): a full node's
 * (node.ts) and a client's (client.ts) are these and their own — the full node's push ring,
 * peer exchange and relaying for others; a client's acknowledgements of the push gossip it
 * leaves to its gateway, and its refusal to relay.
 * @module
 */
import type { Handlers } from './base-node.js'
import { acceptProof, onFraudHave, onFraudWant } from './fraud-relay.js'
import { onPeersRequest } from './peers.js'
import { onApp } from './protocol-host.js'
import { onCrawl, onHeads, onHeadsRequest } from './pull.js'
import { onRelayed } from './relay.js'
import { onAck } from './resend.js'
import { onLateAgreement, onProposal, onWitnessQuery } from './transactions.js'

/** Transactions, heads and crawls, fraud proofs, hosted protocols, tunnel ends. */
export const COMMON_HANDLERS = {
  proposal: onProposal,
  ack: (ctx, m, session) => onAck(ctx, m.id, session),
  heads: (ctx, m, session) => onHeads(ctx, m.heads, session), // requestId 0: an announcement (replies go to the request)
  'heads-request': onHeadsRequest,
  fraud: (ctx, m, session) => acceptProof(ctx, m.proof, session, 'peer').then(() => undefined),
  'fraud-have': (ctx, m, session) => onFraudHave(ctx, m.publicKey, session),
  'fraud-want': (ctx, m, session) => onFraudWant(ctx, m.publicKey, session),
  'crawl-request': onCrawl,
  'witness-query': onWitnessQuery,
  'peers-request': onPeersRequest,
  app: onApp, // a request or one-way (replies go to the request)
  relayed: onRelayed,
  // unsolicited (requestId 0): an agreement to a proposal of ours whose answer was lost
  agreement: (ctx, m, session) => onLateAgreement(ctx, m.block, session),
} as const satisfies Handlers
