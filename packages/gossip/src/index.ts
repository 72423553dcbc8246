/**
 * @tally/gossip — Tally's network layer: transports (in-memory here; WebSocket from
 * '@tally/gossip/ws'), the handshake, peer sessions with limits, the wire messages, virtual time,
 * the node. The simulator is '@tally/gossip/sim'.
 * This entry is isomorphic: nothing in its import graph uses `node:` modules or `ws`.
 * @module
 */
export type { AbortSignalLike, Clock, CloseInfo, Connection, RefusedConnection, TimerHandle, Transport, TransportAddress } from '@tally/core'
export { DEFAULT_LIMITS, resolveLimits, type Limits } from './wire/limits.js'
export {
  ACCUSED_ID_BYTES,
  ERROR_CODES,
  KIND_NAME,
  MAX_REQUEST_ID,
  MESSAGE_CODES,
  MessageDecodeError,
  PROTOCOL_NAME,
  NOISE_AUTH_BYTES,
  NOISE_HELLO_BYTES,
  NOISE_WELCOME_BYTES,
  decodeMessage,
  encodeMessage,
  isHandshakeMessage,
  isReply,
  isRequest,
  peekMessageType,
  replyTypeOf,
  resolveCrawlRange,
  type AckMessage,
  type AgreementMessage,
  type AppMessage,
  type RelayMessage,
  type RelayedMessage,
  type AuthMessage,
  type CrawlAnswerMessage,
  type CrawlRequestMessage,
  type DecodeReason,
  type DecodeResult,
  type ErrorCode,
  type ErrorMessage,
  type FraudHaveMessage,
  type FraudMessage,
  type FraudWantMessage,
  type HandshakeMessage,
  type Head,
  type HeadsMessage,
  type HelloMessage,
  type Message,
  type MessageType,
  type NeighboursMessage,
  type PeerInfo,
  type PeersMessage,
  type PeersRequestMessage,
  type ProposalMessage,
  type PushMessage,
  type PushViaMessage,
  type ReplyMessage,
  type ReplyTo,
  type ReplyTypes,
  type RequestMessage,
  type SessionMessage,
  type WelcomeMessage,
  type WitnessAnswerMessage,
  type WitnessQueryMessage,
} from './wire/messages.js'
export {
  HandshakeError,
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
  handshakeSignable,
  performHandshake,
  type HandshakeFailure,
  type HandshakeOptions,
  type HandshakeResult,
  type HandshakeRole,
  type HandshakeTranscript,
} from './wire/handshake.js'
export {
  createSession,
  openSession,
  type MessageHandler,
  type OpenSessionOptions,
  type ReplyInput,
  type RequestInput,
  type Session,
  type SessionCloseInfo,
  type SessionOptions,
  type SessionStats,
  type WithoutRequestId,
} from './wire/session.js'
export { createSeenCache, type SeenCache, type SeenCacheOptions } from './wire/seen-cache.js'
export { createCpuShare, createReadGate, type CpuShareOptions, type ReadGate, type ReadGateOptions } from './wire/read-gate.js'
export { NOISE_PROTOCOL, type SessionCipher } from './wire/noise.js'
export { CLOSE_CODES } from './transport/connection-base.js'
export { systemClock } from './time/system-clock.js'
export { createVirtualClock, type RunOptions, type Task, type VirtualClock, type VirtualClockOptions } from './time/virtual-time.js'
export { createRandom, type Random } from './random.js'
export {
  DEFAULT_LINK,
  createMemoryNetwork,
  type LinkModel,
  type MemoryNetwork,
  type MemoryNetworkOptions,
  type MemoryTransport,
  type TrafficStats,
} from './transport/memory-transport.js'
// ## Node and witnesses (node/)
export {
  DEFAULT_GOSSIP,
  DEFAULT_RECOVERY,
  WANT_ATTEMPTS,
  createNode,
  type GossipOptions,
  type RecoveryOptions,
  type Node,
  type NodeEvents,
  type NodeOptions,
  type NodePeer,
  type NodeStats,
  type TransactOptions,
} from './node/node.js'
export { createClientNode } from './node/client.js'
export { CLIENT_KEEP_BYTES } from './node/keep.js'
export { AdmissionError, BusyError, NodeError, TransactTimeoutError, UnreachableError, type NodeErrorCode } from './errors.js'
export type { Emitter } from './node/emitter.js'
export { DEFAULT_KEEP, type KeepOptions } from './node/stranger-quota.js'
export { MAX_ADMITTED, type Admitted } from './node/admission.js'
export { chooseWitnesses, keyWords, ringDistance, ringPosition, slotWord, slotWordOf, witnessScore } from './node/rendezvous.js'
export { consultWitnesses, type WitnessContext, type WitnessOptions, type WitnessVerdict } from './node/witness.js'
export { DEFAULT_RELAY, RELAY_OVERHEAD, parseRelayAddress, relayAddress, type RelayOptions, type RelayRefusal } from './node/relay.js'
// The simulator and its (insecure) crypto are '@tally/gossip/sim'.
