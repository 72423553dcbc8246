/**
 * @tally/economy/market — markets on locks (DESIGN.md, "Markets"): SLA offers listed in the
 * seller's chain and spread by gossip, a searchable market view, subscriptions settled cycle by
 * cycle on witness-certified outcomes, reputation from those certificates, and trades between two
 * communities' tokens by incremental settlement.
 * @module
 */
export {
  OFFER,
  OFFER_END,
  OFFER_LIMITS,
  offerPayload,
  offerTypes,
  offerView,
  readOffer,
  readOfferEnd,
  type Criterion,
  type OfferEndPayload,
  type OfferPayload,
  type OfferView,
} from './offer.js'
export {
  OUTCOME_EVIDENCE_MAX_BYTES,
  certifyOutcomes,
  closeOutcomes,
  createOutcomeStore,
  decodeOutcomeEvidence,
  encodeOutcomeEvidence,
  outcomeCertificateCache,
  outcomeDigest,
  outcomeLeaf,
  signOutcomes,
  verifyOutcome,
  verifyOutcomeCertificate,
  type CloseOutcomesOptions,
  type OutcomeBody,
  type OutcomeCertificate,
  type OutcomeEvidence,
  type OutcomeResult,
  type OutcomeSource,
  type OutcomeStore,
} from './outcome.js'
export { SLA, SLA_SETTLE_EPOCHS, readSlaTerms, readSlaValue, slaAuthority, slaTerms, slaValue, type SlaTerms, type SlaVerdict } from './sla-terms.js'
export { atStake, cycleVerdict, redeemInstalment, redeemPenalty, slaPolicy, subscribe, type CycleVerdict, type LockPolicy, type SlaPolicyOptions } from './sla.js'
export { createReputation, type Record as ReputationRecord, type Reputation } from './reputation.js'
export { createMarketView, type Listing, type ListingResult, type MarketQuery, type MarketView, type MarketViewOptions } from './market-view.js'
export { OFFERS_PROTOCOL, createOfferSpread, type OfferMessages, type OfferSpread } from './offers-protocol.js'
export { MAX_INSTALMENTS, createTrade, createTradeBook, instalments, orderDigest, signOrder, verifyOrder, type Due, type Order, type OrderBody, type Trade, type TradeBook, type TradeLeg, type TradeSide } from './trade.js'
export { OUTCOMES_PROTOCOL, createOutcomeWitness, fetchOutcome, outcomesProtocol, type OutcomeEvent, type OutcomeMessages, type OutcomeNote, type OutcomeWitness, type OutcomeWitnessOptions } from './outcome-witness.js'
export { RELEASE_CERTIFIED_FRAUD, releaseCertifiedProof, releaseCertifiedVerifier, slaCertified, slaEntitlement } from './release-certified.js'
export { TRADES_PROTOCOL, createOrderBook, createTradeDesk, type OrderBook, type TradeDesk, type TradeDeskOptions, type TradeMessages } from './trades-protocol.js'
export { payInstalment, subscribeThrough } from './through.js'
