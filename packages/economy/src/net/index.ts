/**
 * @tally/economy/net — the economy on the network (NFR2): witnesses, components and wallets as
 * separate processes on separate hosts, talking through application protocols that a node hosts
 * (core's type-only `Protocol` interface; @tally/gossip's node is one host, a test double another).
 *
 * - reports (`tally/economy/reports/1`): a component's reporter signs, keeps in an outbox and
 *   delivers its reports; witnesses take them into their monitors, with quotas;
 * - registry (`tally/economy/registry/1`): registrations, revocations and account links, approved
 *   by each witness and applied to each witness's directory;
 * - sync (`tally/economy/sync/1`): witnesses reconcile their statements and report sets, digests first;
 * - epochs (`tally/economy/epochs/1`): signatures exchanged at each close, certificates assembled
 *   when k agree and announced, certificates and proofs served to anyone;
 * - tickets (`tally/economy/tickets/1`): witnesses accept or void expiring transfers, once;
 * - wallet (`tally/economy/wallet/1`): offers, a sender's history and reward evidence.
 *
 * Isomorphic: no `node:` import, no dependency on @tally/gossip.
 * @module
 */
export type { MessageKind, PeerContext, Protocol, ProtocolHandle, ProtocolHost } from '@tally/core'
export { DEFAULT_RETRY, backoff, createMemoryOutbox, type OutboxRecord, type OutboxStore, type RetryPolicy } from './outbox.js'
export { REPORTS_PROTOCOL, REPORT_BATCH, createReporter, reportsProtocol, type ReportCode, type ReportMessages, type ReportOutcome, type ReportSink, type Reporter, type ReporterOptions, type WireVerdict } from './reports.js'
export { REGISTRY_PROTOCOL, createRegistrar, registryProtocol, type Delivered, type Registrar, type RegistryMessages, type RegistryService } from './registry.js'
export { SYNC_LIMITS, SYNC_PROTOCOL, syncProtocol, type PullStats, type SetName, type SyncMessages, type SyncSource } from './sync.js'
export { EPOCHS_PROTOCOL, epochsProtocol, fetchClaim, type EpochMessages, type EpochService, type SignatureNote } from './epochs.js'
export {
  MAX_PROPOSAL_BYTES,
  TICKETS_PROTOCOL,
  collectTicket,
  createMemoryDecisions,
  createTicketStore,
  ticketsAsker,
  ticketsProtocol,
  type Decision,
  type DecisionStore,
  type TicketMessages,
  type TicketStore,
  type TicketWitnessOptions,
} from './tickets.js'
export { WITNESS_LIMITS, createWitness, type CloseOutcome, type Witness, type WitnessEvent, type WitnessLimits, type WitnessOptions } from './witness.js'
export { WALLET_LIMITS, WALLET_PROTOCOL, createNetWallet, type InFlight, type NetWallet, type NetWalletOptions, type Settled, type TransactionPort, type WalletMessages } from './wallet.js'
export type { Collected, Refusal } from './collect.js'
export { ECONOMY_TYPE_NAMES, seqWitnessTypes, seqWitnesses, type SeqWitnessOptions } from './seq-witness.js'
export { createSharedHost } from './shared-host.js'
export type { BesideClose } from './witness.js'
