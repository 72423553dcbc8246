/**
 * What the parts of a node share. BaseNode (base-node.ts) creates one NodeContext, owns it, and
 * hands it to the functions of its parts, which keep no state of their own. Which parts a node
 * has is its composition: a full node (node.ts) has them all, a client (client.ts) those a node
 * needs that only dials its gateway (no push gossip, no pull rounds, no relaying for others):
 * - peers.ts: the neighbours' list, bans, dialling a known address, the peer exchange;
 * - ingest.ts: a block from a peer checked and stored (within what the node keeps for others,
 *   keep.ts: the quotas of stranger-quota.ts on a full node);
 *   the chains learnt of, for pull gossip;
 * - transactions.ts: transact and deliver, proposals and agreements, witness queries;
 * - push.ts: pushes on the push ring, push-via forwards, neighbour lists (full node only, on
 *   its GossipContext);
 * - pull.ts: head requests and audits (full node), crawls asked and served (both);
 * - fraud-relay.ts: proofs verified, stored and announced (fraud-have, fraud-want, fraud);
 * - protocol-host.ts: the application protocols hosted over `app` messages;
 * - recovery.ts: the node as its agent's head source (its own chain's head, from its peers);
 * - resend.ts: frames sent again until acknowledged (push, push-via, neighbours).
 * A context is internal: the package exports the Node interface only.
 * @module
 */
import type { Agent, BlockStore, BlockTypes, Clock, Connection, CryptoProvider, HalfBlock, PublicKeyHex, SignatureVerifier, TimerHandle, Transport } from '@tally/core'
import type { Random } from '../random.js'
import type { Limits } from '../wire/limits.js'
import type { ReadGate } from '../wire/read-gate.js'
import type { SeenCache } from '../wire/seen-cache.js'
import type { Session } from '../wire/session.js'
import type { BanList } from './ban-list.js'
import type { TypedEmitter } from './emitter.js'
import type { Admissions } from './admission.js'
import type { Want } from './fraud-relay.js'
import type { Hosted } from './protocol-host.js'
import type { RecoveryState } from './recovery.js'
import type { RelayState } from './relay.js'
import type { GossipOptions, NodeEvents, NodeStats, TransactOptions } from './options.js'
import type { Neighbour, PeerTable } from './peer-table.js'
import type { Unacked } from './resend.js'
import type { TwoHopTable } from './two-hop.js'
import type { Keep } from './keep.js'
import type { WitnessOptions } from './witness.js'

/** A node's settings, state and primitives, as its parts see them. */
export interface NodeContext {
  // ## Settings, fixed at construction
  readonly publicKey: Uint8Array
  readonly agent: Agent
  readonly store: BlockStore
  readonly stats: NodeStats
  readonly transport: Transport
  readonly types: BlockTypes
  readonly clock: Clock
  readonly crypto: CryptoProvider
  /** NodeOptions.verifySignatures, when given (recovery's crawls check their blocks through it). */
  readonly verifySignatures: SignatureVerifier | undefined
  readonly limits: Readonly<Limits>
  /** The limits of a session with a stranger (not a counterparty): see NodeOptions.strangerLimits. */
  readonly strangerLimits: Readonly<Limits>
  /** The budget every stranger's session shares (NodeOptions.strangerBudget). */
  readonly strangerGate: ReadGate
  readonly gossip: Readonly<GossipOptions>
  /** Default timing of transact and deliver. */
  readonly tx: Required<TransactOptions>
  readonly witnesses: WitnessOptions | undefined
  readonly random: Random
  readonly banMs: number
  readonly events: TypedEmitter<NodeEvents>

  // ## Peers (node.ts, peers.ts)
  readonly peers: PeerTable
  /** Keys refused at the handshake, each until a time (bounded: ban-list.ts). */
  readonly banned: BanList
  readonly dialing: Map<PublicKeyHex, Promise<Session>>
  /** Set once by close(): every part stops sending and scheduling then. */
  closed: boolean

  // ## Transactions (transactions.ts)
  /** Proposals being agreed to, by block hash: a resend meanwhile gets the same answer. */
  readonly agreeing: Map<string, Promise<HalfBlock>>
  /** Peers that agreed to a proposal of this node (hex): it is no stranger there (transactions.ts send). */
  readonly agreedBy: Set<string>
  /** The lone first proposal in flight to a peer that has not agreed yet, by its hex key. */
  readonly firstProposals: Map<string, Promise<void>>

  // ## Acknowledged frames (resend.ts)
  /** Frames sent and not acknowledged, by the ack id of their latest send. */
  readonly unacked: Map<number, Unacked>
  /** The last ack id used. */
  ackSeq: number

  // ## What is kept for others (ingest.ts; keep.ts: stranger-quota.ts on a full node, a client's on a client)
  readonly quota: Keep
  /** Peers admitted by the operator or a hosted protocol: not strangers (admission.ts). */
  readonly admitted: Admissions

  // ## Pull and crawl (ingest.ts, pull.ts)
  /** The latest block of the chains learnt of most recently, oldest first. */
  readonly recent: Map<PublicKeyHex, HalfBlock>
  /** Slots being crawled, as `key:seq`. */
  readonly crawling: Set<string>
  /** Per session, the keys whose proof it was sent with a heads answer. */
  readonly told: WeakMap<Session, Set<PublicKeyHex>>
  pullTimer: TimerHandle | undefined

  // ## Fraud proofs (fraud-relay.ts)
  readonly proofIds: SeenCache
  /** The accused (by id: fraud-relay.ts accusedId) whose first proof this node handled, and relayed. */
  readonly relayedAccused: SeenCache
  /** The whole key of each accused this node relayed, by the hex of its id (to answer a version 3 fraud-want). */
  readonly accusedKeys: Map<string, Uint8Array>
  /** Proofs this node asked for and waits for, by the hex of the accused's id. */
  readonly wants: Map<string, Want>
  /** (peer key, accused key) of the fraud-wants answered in the last wantTimeoutMs. */
  readonly answered: SeenCache

  // ## Protocols (protocol-host.ts)
  /** Hosted protocols by name. */
  readonly protocols: Map<string, Hosted>
  /** Names whose hosting was closed: a message of one still on its way is refused without a charge. */
  readonly closedProtocols: Set<string>

  // ## Tunnels and relaying (relay.ts)
  readonly relay: RelayState

  // ## The agent's head (recovery.ts)
  /** Set when the node is its agent's head source (NodeOptions.head left to the default). */
  readonly recovery: RecoveryState | undefined

  // ## Primitives (base-node.ts)
  /**
   * A party's new block, spread to others: push.ts's `spread` on a full node (node.ts), nothing
   * on a client (client.ts), which leaves spreading to its gateway.
   */
  spread(block: HalfBlock): void
  /**
   * Run `fn` with the agent writes, one at a time (write-queue.ts): after the earlier jobs of its
   * lane, in turn with the other lanes.
   * @param lane the peer whose work it is (its key hex); default the node's own lane
   * @throws (rejects) BusyError when that peer's lane is full
   */
  serial<T>(fn: () => Promise<T>, lane?: string): Promise<T>
  /**
   * Wait on the node's clock, until `ms` passed or `wake` settles; rejects with ClosedError when
   * the node closes first.
   */
  sleep(ms: number, wake?: Promise<unknown>): Promise<void>
  /** @throws ClosedError once the node is closed */
  checkOpen(): void
  /** An `error` event. */
  report(error: unknown, context: string): void
  /** Handshake on a fresh connection, then the session, adopted by the node. */
  open(conn: Connection, expectedPeer: Uint8Array | undefined): Promise<Session>
}

/**
 * A full node's context (node.ts): the shared one, and the state of push gossip (push.ts), which a
 * client (client.ts) does not take part in.
 */
export interface GossipContext extends NodeContext {
  readonly twoHop: TwoHopTable<Neighbour>
  /** (block hash, target id) of the blocks forwarded on a push-via. */
  readonly forwards: SeenCache
  neighboursTimer: TimerHandle | undefined
  neighboursSentAt: number
  /** Per neighbour, the neighbour list sent to it and not acknowledged yet (a newer list replaces it). */
  readonly neighboursUnacked: WeakMap<Neighbour, Unacked>
}
