/**
 * @tally/core — isomorphic core of Tally: canonical encoding, hashing, signing, half-blocks,
 * validation, fraud proofs, the proposal/agreement protocol, the store interface and a memory store.
 * Imports nothing from `node:`; runs unchanged in browsers.
 * @module
 */
export { abytes, auint, compareBytes, concatBytes, equalBytes, fromHex, keyHex, shortKey, toHex, type PublicKeyHex } from './bytes.js'
export * from './errors.js'
export type { CryptoProvider, NoisePrimitives, SigningKey, SignResult, SyncSigningKey } from './crypto-provider.js'
export { nobleCrypto } from './noble-crypto.js'
export { strictEd25519 } from './ed25519-strict.js'
export { signThen } from './signing.js'
export { createIdentity, generateIdentity, identityFromSeed, isNewIdentity, type Identity, type SeedIdentity } from './identity.js'
export { DEFAULT_DECODE_LIMITS, cborEqual, decodeCanonical, encodeCanonical, type CborValue, type DecodeLimits } from './cbor.js'
export { cborUintSize, readCborUint, writeCborHead, writeCborUint } from './cbor-uint.js'
export { domainTag, type DomainName } from './domain.js'
export {
  BLOCK_LIMITS,
  GENESIS_HASH,
  UNILATERAL_KEY,
  blockHash,
  blockSize,
  decodeBlock,
  encodeBlock,
  encodedView,
  isAgreement,
  isProposal,
  isTypeName,
  isUnilateral,
  signBlock,
  verifyBlock,
  type HalfBlock,
  type UnsignedHalfBlock,
} from './half-block.js'
export {
  FRAUD_PROOF_LIMITS,
  createFraudProof,
  decodeFraudProof,
  describeFraudProof,
  encodeFraudProof,
  fraudProofId,
  verifyFraudProof,
  type CoreFraudKind,
  type FraudProof,
  type FraudVerifier,
} from './fraud-proof.js'
export {
  allFraudVerifiers,
  createBlockTypes,
  samePayload,
  type BlockType,
  type Refusal,
  type BlockTypes,
  type RuleViolation,
  type TypeContext,
  type TypeVerdict,
} from './block-types.js'
export { checkBlock, validate, type ValidateOptions, type ValidationLevel, type ValidationResult } from './validate.js'
export { collectBatch, type BlockStore, type EvictRange, type OrderedCommit, type RangeOptions, type StoreBatch } from './store.js'
export { createMemoryStore, type MemoryStoreOptions } from './memory-store.js'
export { ingestBlocks, type IngestOptions, type IngestResult, type SignatureVerifier } from './ingest.js'
export { createAgent, type Agent, type AgentOptions, type HeadSource, type PayloadSource, type Transaction } from './agent.js'
export type { Clock, TimerHandle } from './clock.js'
export type { MessageKind, PeerContext, Protocol, ProtocolHandle, ProtocolHandler, ProtocolHost, ProtocolMessages, ProtocolReply, ProtocolRequestOptions, SeqWitnessVerdict, TransactionPort } from './protocol.js'
export type { AbortSignalLike, CloseInfo, Connection, RefusedConnection, Transport, TransportAddress } from './transport.js'
