/**
 * Transfer tickets over the wire (`tally/economy/tickets/1`): the receiver of an expiring
 * transfer asks the witnesses to accept it before countersigning; the sender asks them to void it
 * once it has expired, or once the receiver declined (the receiver asks them to void it first).
 * Each witness decides once per proposal and keeps its decision in a `DecisionStore` (durable in
 * production: a witness that forgot an accept and signed a void would be caught by a
 * TicketConflict). See ../ticket.ts for why this conserves supply.
 *
 *   kind     body                                   max bytes  cost  reply
 *   accept   [proposal block bytes (≤ 1 KiB)]            1100     4  ticket
 *   void     [proposal block bytes (≤ 1 KiB)]            1100     4  ticket
 *   ticket   [decision, [index, signature]]                96     1
 *
 * A witness accepts iff the session's key is the receiver, it has not voided, and the proposal
 * has not expired by its clock; it voids iff it has not accepted and either the session's key is
 * the receiver (a decline) or it is the sender and the proposal has expired. It answers a void of
 * a proposal that expired more than `horizon` ago and that it holds no decision on with 'stale':
 * decisions are pruned after the horizon, so it can no longer know it never accepted.
 * Refusals: 'malformed', 'not-receiver', 'not-party', 'voided', 'accepted', 'expired',
 * 'not-expired', 'stale', 'not-witness'.
 * @module
 */
import { DecodeError, RefusedError, blockHash, equalBytes, isProposal, toHex, verifyBlock, type HalfBlock, type Protocol, type ProtocolHandle, type SigningKey } from '@tally/core'
import type { Community } from '../community.js'
import { TRANSFER, readTransfer } from '../payload.js'
import type { QuorumSignatures, WitnessSignature } from '../quorum.js'
import { signTicket, ticketConfig, ticketDigest, type TicketDecision, type TicketSource } from '../ticket.js'
import { block, blockValue, fields, kind, text, witnessSignature, witnessSignatureValue } from './codec.js'
import { collectSignatures, type Collected } from './collect.js'

/** The tickets protocol's messages. */
export type TicketMessages = {
  accept: { readonly proposal: HalfBlock }
  void: { readonly proposal: HalfBlock }
  ticket: { readonly decision: TicketDecision; readonly signature: WitnessSignature }
}

/** The protocol's name. */
export const TICKETS_PROTOCOL = 'tally/economy/tickets/1'

/** Largest proposal accepted in a ticket request (a transfer proposal is about 230 bytes). */
export const MAX_PROPOSAL_BYTES = 1024

/** A witness's decision on one proposal. */
export interface Decision {
  readonly decision: TicketDecision
  /** The proposal's expiry (for pruning). */
  readonly expires: number
}

/**
 * Where a witness keeps its ticket decisions. `put` is durable when it resolves; a witness
 * serializes its own decisions per proposal, so get-then-put needs no transaction.
 */
export interface DecisionStore {
  get(proposal: Uint8Array): Promise<Decision | undefined>
  put(proposal: Uint8Array, decision: Decision): Promise<void>
  /** Forget decisions on proposals that expired before `before`. */
  prune(before: number): Promise<void>
}

/**
 * Decisions in memory (tests, and witnesses whose process never restarts).
 * @returns the store
 * @example createWitness({ ..., decisions: createMemoryDecisions() })
 */
export function createMemoryDecisions(): DecisionStore {
  const held = new Map<string, Decision>()
  return Object.freeze({
    get: async (p: Uint8Array) => held.get(toHex(p)),
    put: async (p: Uint8Array, d: Decision) => void held.set(toHex(p), Object.freeze({ ...d })),
    prune: async (before: number) => {
      for (const [k, d] of held) if (d.expires < before) held.delete(k)
    },
  })
}

/** A receiver's accept tickets: a TicketSource for its agent's transfer rules, and where they are put. */
export interface TicketStore extends TicketSource {
  put(proposal: Uint8Array, ticket: QuorumSignatures): void
}

/**
 * Accept tickets in memory. Losing them is harmless: the witnesses sign the same decision again.
 * @returns the store
 * @example const tickets = createTicketStore(); createEconomyTypes({ community, evidence, tickets })
 */
export function createTicketStore(): TicketStore {
  const held = new Map<string, QuorumSignatures>()
  return Object.freeze({
    ticket: (p: Uint8Array) => held.get(toHex(p)),
    put: (p: Uint8Array, t: QuorumSignatures) => void held.set(toHex(p), t),
  })
}

/** Options of the witness side. */
export interface TicketWitnessOptions {
  /** The witness's key. */
  key: SigningKey
  /** The community. */
  community: Community
  /** Where decisions are kept. */
  decisions: DecisionStore
  /** How long after expiry a void may still be asked (ms; default 7 days). */
  horizon?: number
}

/**
 * The tickets protocol as a wallet hosts it: it only asks (collectTicket). Apart from
 * ticketsProtocol so that a wallet's bundle leaves the witness's side out.
 * @returns the protocol, to host
 * @example const handle = host.host(ticketsAsker())
 */
export function ticketsAsker(): Protocol<TicketMessages> {
  return Object.freeze({ name: TICKETS_PROTOCOL, messages: TICKET_MESSAGES, handlers: Object.freeze({}) })
}

/**
 * The tickets protocol: a witness passes its options; a wallet hosts it without (it only asks:
 * ticketsAsker()).
 * @param witness the witness's side
 * @returns the protocol, to host
 * @example host.host(ticketsProtocol({ key, community, decisions: createMemoryDecisions() }))
 */
export function ticketsProtocol(witness?: TicketWitnessOptions): Protocol<TicketMessages> {
  if (witness === undefined) return ticketsAsker()
  const { key, community, decisions } = witness
  const horizon = witness.horizon ?? 7 * 24 * 3_600_000
  const locks = new Map<string, Promise<unknown>>()
  const locked = async <T>(hash: Uint8Array, fn: () => Promise<T>): Promise<T> => {
    const id = toHex(hash)
    const run = (locks.get(id) ?? Promise.resolve()).then(fn, fn)
    const tail = run.catch(() => undefined)
    locks.set(id, tail)
    try {
      return await run
    } finally {
      if (locks.get(id) === tail) locks.delete(id)
    }
  }
  const decide = async (decision: TicketDecision, proposal: HalfBlock, peer: Uint8Array, now: number) => {
    const p = proposal.type === TRANSFER && isProposal(proposal) ? readTransfer(proposal.payload, false) : undefined
    if (p?.expires === undefined || !verifyBlock(proposal, community.crypto)) throw new RefusedError('not a signed expiring transfer proposal', { reason: 'malformed' })
    const expires = p.expires
    const config = ticketConfig(community, expires)
    if (!config.witnesses.some((w) => equalBytes(w, key.publicKey))) throw new RefusedError('not a witness of the configuration that decides this proposal', { reason: 'not-witness' })
    const receiver = equalBytes(peer, proposal.linkPublicKey)
    const sender = equalBytes(peer, proposal.publicKey)
    if (decision === 'accept' && !receiver) throw new RefusedError('only the receiver asks to accept', { reason: 'not-receiver' })
    if (decision === 'void' && !receiver && !sender) throw new RefusedError('only the sender or the receiver asks to void', { reason: 'not-party' })
    const hash = blockHash(proposal, community.crypto)
    await locked(hash, async () => {
      const held = await decisions.get(hash)
      if (held !== undefined) {
        if (held.decision !== decision) throw new RefusedError(`this proposal was ${held.decision === 'accept' ? 'accepted' : 'voided'} here`, { reason: held.decision === 'accept' ? 'accepted' : 'voided' })
        return
      }
      if (decision === 'accept' && now >= expires) throw new RefusedError('the proposal has expired', { reason: 'expired' })
      if (decision === 'void' && !receiver && now < expires) throw new RefusedError('the proposal has not expired, and its receiver has not declined it', { reason: 'not-expired' })
      if (decision === 'void' && now > expires + horizon) throw new RefusedError('the proposal expired beyond the horizon of decisions kept', { reason: 'stale' })
      await decisions.put(hash, { decision, expires })
    })
    const signature = await signTicket(decision, proposal, key, config, community.id, community.crypto)
    return { kind: 'ticket' as const, message: { decision, signature } }
  }
  return Object.freeze({
    name: TICKETS_PROTOCOL,
    messages: TICKET_MESSAGES,
    handlers: Object.freeze<Protocol<TicketMessages>['handlers']>({
      accept: (m, ctx) => decide('accept', m.proposal, ctx.peer, ctx.clock.now()),
      void: (m, ctx) => decide('void', m.proposal, ctx.peer, ctx.clock.now()),
    }),
  })
}

/**
 * Ask every witness of the proposal's configuration for its decision.
 * @param handle the tickets protocol's handle
 * @param community the community
 * @param decision 'accept' (the receiver) or 'void' (the sender, or the receiver declining)
 * @param proposal the expiring transfer proposal
 * @returns the valid signatures (a ticket when k or more) and the refusals
 * @example const { signatures } = await collectTicket(handle, community, 'void', proposal)
 */
export async function collectTicket(handle: ProtocolHandle<TicketMessages>, community: Community, decision: TicketDecision, proposal: HalfBlock): Promise<Collected & { readonly complete: boolean }> {
  const expires = readTransfer(proposal.payload, false)?.expires
  if (expires === undefined) throw new RangeError('"proposal" is not an expiring transfer proposal')
  const config = ticketConfig(community, expires)
  const digest = ticketDigest(decision, community.id, blockHash(proposal, community.crypto), community.crypto)
  const collected = await collectSignatures(
    handle,
    config.witnesses,
    async (ctx) => {
      const reply = await ctx.request(decision, { proposal })
      if (reply.kind !== 'ticket' || reply.message.decision !== decision) throw new RefusedError(`expected a ${decision} ticket`, { reason: 'protocol' })
      return reply.message.signature
    },
    (s, w) => equalBytes(config.witnesses[s.index] ?? new Uint8Array(0), w) && community.crypto.verify(s.signature, digest, w),
  )
  return { ...collected, complete: collected.signatures.length >= config.quorum }
}

// ## Codecs

const proposalKind = (what: 'accept' | 'void') =>
  kind<{ proposal: HalfBlock }>(MAX_PROPOSAL_BYTES + 76, 4, (m) => [blockValue(m.proposal)], (b) => ({ proposal: block(fields(b, 1, what)[0], 'proposal', MAX_PROPOSAL_BYTES) }))

const TICKET_MESSAGES: Protocol<TicketMessages>['messages'] = Object.freeze({
  accept: proposalKind('accept'),
  void: proposalKind('void'),
  ticket: kind<TicketMessages['ticket']>(96, 1, (m) => [m.decision, witnessSignatureValue(m.signature)], (b) => {
    const [decision, signature] = fields(b, 2, 'ticket')
    const d = text(decision, 'decision', 8)
    if (d !== 'accept' && d !== 'void') throw new DecodeError('decision must be accept or void')
    return { decision: d, signature: witnessSignature(signature, 'signature') }
  }),
})
