/**
 * @tally/economy/streams — a data-stream market for sensors (seed 003, PEGASUS without a central
 * server and with current cryptography): listings in the owner's chain, spread and searched by
 * area, kind and price; purchases paid by transfer and answered with the period's key sealed to
 * the buyer's X25519 key; streams encrypted per period, signed by the sensor and hash-chained, so
 * a reader detects tampering, reordering and gaps, and any peer relays them without reading;
 * a `Protocol` that serves them; fraud proofs for a forked stream and a sold key that does not
 * read. Isomorphic (no `node:`): X25519, HKDF and XChaCha20-Poly1305 from @noble.
 * @module
 */
export { SEAL_OVERHEAD, boxKeyPair, boxPublicKey, open, seal, streamHash, streamTag, type BoxKeyPair, type StreamTagName } from './seal.js'
export {
  MESSAGE_LIMITS,
  STREAM_GENESIS,
  createPublisher,
  createReader,
  decodeMessage,
  decryptMessage,
  encodeMessage,
  messageFromValue,
  messageHash,
  messageValue,
  periodKey,
  verifyMessage,
  type Published,
  type Publisher,
  type PublisherOptions,
  type ReadFailure,
  type ReadResult,
  type Reader,
  type ReaderOptions,
  type StreamMessage,
  type StreamPosition,
} from './message.js'
export { GRANT_MAX_BYTES, decodeGrant, encodeGrant, grantFromValue, grantMessage, grantValue, openGrant, signGrant, verifyGrant, type GrantBody, type KeyGrant } from './grant.js'
export {
  PURCHASE_MAX_BYTES,
  decodePurchase,
  encodePurchase,
  purchaseFromValue,
  purchaseMessage,
  purchaseValue,
  signPurchase,
  transferPayments,
  verifyPurchase,
  type Payment,
  type PaymentSource,
  type Purchase,
} from './purchase.js'
export { LISTING_LIMITS, STREAM_LISTING, STREAM_WITHDRAW, listingOf, listingPayload, periodAt, readListing, readWithdraw, streamTypes, type Listing } from './listing.js'
export { createListingIndex, distanceMeters, type AddResult, type ListingEntry, type ListingIndex, type ListingIndexOptions, type ListingQuery } from './listing-index.js'
export { STREAM_BAD_KEY_FRAUD, STREAM_FORK_FRAUD, decodePlaced, encodePlaced, streamBadKeyProof, streamForkProof, verifyStreamBadKey, verifyStreamFork, type PlacedMessage } from './fraud.js'
export { createMessageStore, type MessageRange, type MessageStore, type MessageStoreOptions } from './message-store.js'
export { STREAMS_CODECS, STREAMS_LIMITS, STREAMS_PROTOCOL, type StreamsMessages } from './codec.js'
export {
  createStreamService,
  type Follow,
  type SellOptions,
  type SoldStream,
  type StreamService,
  type StreamServiceOptions,
  type Subscription,
} from './service.js'
