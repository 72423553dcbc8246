/**
 * Transfer tickets: how an amount in flight comes back without creating a token.
 *
 * An *expiring* transfer proposal names a time, `expires`. Before the receiver countersigns it,
 * it asks the community witnesses to **accept** the proposal; once the time has passed (or the
 * receiver itself asked them to), the sender may ask them to **void** it instead. Each witness
 * decides once per proposal, durably, and signs only the decision it made: accept iff it has not
 * voided, void iff it has not accepted. A decision of k witnesses is a ticket:
 *
 * - the receiver's agreement must carry an accept ticket (transfer.ts), and
 * - a `refund` block, which gives the sender its amount back, must carry a void ticket (refund.ts).
 *
 * With 2k > n, two quorums share a witness, so an accept ticket and a void ticket for one
 * proposal exist only if some witness signed both: never with honest witnesses, and when it
 * happens the two signatures are a `TicketConflict` that anyone can verify alone. No token is
 * created (received and refunded) or lost (neither), the honest receiver never signs an agreement
 * that could later be voided (it holds the ticket first), and the honest sender never refunds a
 * transfer the receiver may still take. Witnesses are the community's clock: a receiver cannot
 * backdate anything, since the decision is theirs, not a timestamp's.
 *
 * Layout (signed, so fixed here):
 *
 *   statement = canonical CBOR array [decision: 'accept' | 'void', community: bstr(32), proposal: bstr(32)]
 *   digest    = SHA-256(domainTag('statement') ‖ statement)         (proposal = the proposal's block hash)
 *   ticket    = canonical CBOR array of [index, signature], indexes strictly increasing (quorum.ts)
 *   conflict  = canonical CBOR array ['ticket-conflict', community, witness: bstr(32), proposal, accept: bstr(64), void: bstr(64)]
 *
 * The decision string comes first, as in every statement, so no other statement can be read as a
 * ticket. The witnesses that count are those of the configuration governing the epoch in which
 * the proposal expires (a rotation between proposal and ticket is the edge this leaves open).
 * @module
 */
import {
  DecodeError,
  abytes,
  blockHash,
  decodeCanonical,
  encodeCanonical,
  nobleCrypto,
  type CryptoProvider,
  type HalfBlock,
  type SignResult,
  type SigningKey,
} from '@tally/core'
import type { Community } from './community.js'
import { epochAt, type CommunityConfig } from './config.js'
import { checkQuorum, witnessSign, type QuorumSignatures, type WitnessSignature } from './quorum.js'
import { OK, isBytes, taggedHash, type Check } from './util.js'

/** What a witness decides about an expiring transfer proposal. */
export type TicketDecision = 'accept' | 'void'

/** Where a receiver's node finds the accept ticket it obtained for a proposal (before countersigning). */
export interface TicketSource {
  /**
   * The accept ticket held for the proposal with this block hash, if any.
   * @param proposal the proposal's block hash
   */
  ticket(proposal: Uint8Array): QuorumSignatures | undefined | Promise<QuorumSignatures | undefined>
}

/** Two signatures of one witness: an accept and a void of the same proposal. */
export interface TicketConflict {
  /** The community id. */
  readonly community: Uint8Array
  /** The witness's public key. */
  readonly witness: Uint8Array
  /** The proposal's block hash. */
  readonly proposal: Uint8Array
  /** Its signature on the accept statement. */
  readonly accept: Uint8Array
  /** Its signature on the void statement. */
  readonly void: Uint8Array
}

/** The kind name of a TicketConflict (the first field of its encoding). */
export const TICKET_CONFLICT = 'ticket-conflict'

/**
 * The digest witnesses sign for a decision on a proposal.
 * @param decision 'accept' or 'void'
 * @param community the community id
 * @param proposal the proposal's block hash
 * @param crypto provider (default nobleCrypto)
 * @returns 32 bytes
 * @throws RangeError on a malformed decision, TypeError / RangeError on malformed bytes
 * @example witnessSign(w1, config, ticketDigest('accept', community.id, blockHash(proposal)))
 */
export function ticketDigest(decision: TicketDecision, community: Uint8Array, proposal: Uint8Array, crypto: CryptoProvider = nobleCrypto): Uint8Array {
  if (decision !== 'accept' && decision !== 'void') throw new RangeError(`"decision" expected 'accept' or 'void', got ${JSON.stringify(String(decision).slice(0, 20))}`)
  abytes('community', community, 32)
  abytes('proposal', proposal, 32)
  return taggedHash('statement', crypto, encodeCanonical([decision, community, proposal]))
}

/**
 * The configuration whose witnesses decide on a proposal expiring at `expires`.
 * @param community the community
 * @param expires the proposal's expiry (ms since 1970)
 * @returns the version governing the epoch of `expires` (the genesis version before epoch 0)
 * @example const config = ticketConfig(community, payload.expires)
 */
export function ticketConfig(community: Community, expires: number): CommunityConfig {
  const epoch = epochAt(community.current, expires)
  return community.configAt(Math.max(0, epoch)) ?? community.versions[0]!.config
}

/**
 * A witness's signature on its decision about a proposal (call it only for the decision it made
 * and recorded: signing both is a TicketConflict).
 * @param decision 'accept' or 'void'
 * @param proposal the proposal block
 * @param witness the witness's key
 * @param config the configuration whose witness it is (ticketConfig)
 * @param community the community id
 * @param crypto provider
 * @returns its signature, naming it by index
 * @throws RangeError when the key is not a witness of `config`
 * @example const s = signTicket('void', proposal, w1, ticketConfig(community, expires), community.id)
 */
export function signTicket<K extends SigningKey>(
  decision: TicketDecision,
  proposal: HalfBlock,
  witness: K,
  config: CommunityConfig,
  community: Uint8Array,
  crypto: CryptoProvider = nobleCrypto,
): SignResult<K, WitnessSignature> {
  return witnessSign(witness, config, ticketDigest(decision, community, blockHash(proposal, crypto), crypto))
}

/**
 * Check a ticket: k witnesses of the configuration governing the proposal's expiry signed this
 * decision on this proposal.
 * @param decision 'accept' or 'void'
 * @param proposal the proposal's block hash
 * @param expires the proposal's expiry
 * @param ticket the signatures
 * @param community the community
 * @returns ok, or the reason
 * @example checkTicket('void', blockHash(proposal), expires, refund.ticket, community).ok
 */
export function checkTicket(decision: TicketDecision, proposal: Uint8Array, expires: number, ticket: QuorumSignatures, community: Community): Check {
  if (!isBytes(proposal, 32)) return { ok: false, reason: 'the proposal hash must be 32 bytes' }
  const config = ticketConfig(community, expires)
  const reason = checkQuorum(ticketDigest(decision, community.id, proposal, community.crypto), ticket, config, community.crypto)
  return reason === undefined ? OK : { ok: false, reason: `${decision} ticket: ${reason}` }
}

/**
 * The witness that signed both tickets of one proposal, as a proof anyone can check. With 2k > n
 * two quorums always share a witness, so valid accept and void tickets always yield one.
 * @param proposal the proposal's block hash
 * @param expires its expiry (which configuration's witnesses count)
 * @param accept an accept ticket
 * @param voided a void ticket
 * @param community the community
 * @returns the conflict, or undefined when no witness signed both validly
 * @example const c = findTicketConflict(hash, expires, agreement.ticket, refund.ticket, community)
 */
export function findTicketConflict(
  proposal: Uint8Array,
  expires: number,
  accept: QuorumSignatures,
  voided: QuorumSignatures,
  community: Community,
): TicketConflict | undefined {
  const config = ticketConfig(community, expires)
  for (const a of accept) {
    const v = voided.find((s) => s.index === a.index)
    const witness = config.witnesses[a.index]
    if (v === undefined || witness === undefined) continue
    const conflict: TicketConflict = Object.freeze({ community: community.id, witness, proposal, accept: a.signature, void: v.signature })
    if (verifyTicketConflict(conflict, community.crypto).ok) return conflict
  }
  return undefined
}

/**
 * Verify a TicketConflict alone: both signatures by the witness's key, over the accept and the
 * void statements of the same proposal. Forged or mismatched evidence never verifies, so an
 * honest witness cannot be framed.
 * @param conflict the evidence
 * @param crypto provider
 * @returns `{ ok: true }` when it proves the witness signed both, else why not
 * @example if (verifyTicketConflict(c).ok) replaceWitness(c.witness)
 */
export function verifyTicketConflict(conflict: TicketConflict, crypto: CryptoProvider = nobleCrypto): Check {
  const { community, witness, proposal } = conflict ?? ({} as TicketConflict)
  if (!isBytes(community, 32) || !isBytes(witness, 32) || !isBytes(proposal, 32)) return { ok: false, reason: 'malformed: keys and hashes are 32 bytes' }
  if (!isBytes(conflict.accept, 64) || !isBytes(conflict.void, 64)) return { ok: false, reason: 'malformed: signatures are 64 bytes' }
  if (!crypto.verify(conflict.accept, ticketDigest('accept', community, proposal, crypto), witness)) return { ok: false, reason: 'the accept signature does not verify' }
  if (!crypto.verify(conflict.void, ticketDigest('void', community, proposal, crypto), witness)) return { ok: false, reason: 'the void signature does not verify' }
  return OK
}

/**
 * Encode a TicketConflict.
 * @param conflict the evidence
 * @returns canonical CBOR ['ticket-conflict', community, witness, proposal, accept, void]
 * @example relay(encodeTicketConflict(c))
 */
export function encodeTicketConflict(conflict: TicketConflict): Uint8Array {
  return encodeCanonical([TICKET_CONFLICT, conflict.community, conflict.witness, conflict.proposal, conflict.accept, conflict.void])
}

/**
 * Decode a TicketConflict (form only: verify it with verifyTicketConflict).
 * @param bytes the encoding
 * @returns the evidence
 * @throws DecodeError when malformed
 * @example verifyTicketConflict(decodeTicketConflict(bytes))
 */
export function decodeTicketConflict(bytes: Uint8Array): TicketConflict {
  const v = decodeCanonical(bytes, { maxBytes: 512, maxDepth: 2 })
  if (!Array.isArray(v) || v.length !== 6 || v[0] !== TICKET_CONFLICT) throw new DecodeError(`a ticket conflict is ['${TICKET_CONFLICT}', community, witness, proposal, accept, void]`)
  const [, community, witness, proposal, accept, voided] = v
  if (!isBytes(community, 32) || !isBytes(witness, 32) || !isBytes(proposal, 32)) throw new DecodeError('ticket conflict keys and hashes must be 32 bytes')
  if (!isBytes(accept, 64) || !isBytes(voided, 64)) throw new DecodeError('ticket conflict signatures must be 64 bytes')
  return Object.freeze({ community, witness, proposal, accept, void: voided })
}

