/**
 * Registration, revocation and wallet links over the wire (`tally/economy/registry/1`). The owner
 * asks each witness to approve (the witness runs the existing approve* function and signs only
 * what it approves), assembles k approvals into the signed statement, and delivers it to every
 * witness, which applies it to its one directory. A witness that missed a delivery catches up
 * from the others through the sync protocol's 'statements' set.
 *
 *   kind                  body                                                 max bytes  cost  reply
 *   approve-registration  [community, owner, component, type, ownerSig, componentSig]  320     4  approval
 *   approve-revocation    [component]                                               48     2  approval
 *   approve-link          [community, agent, account, agentSig, credential ≤1 KiB]  1400     4  approval
 *   approval              [index, signature]                                        80     1
 *   register              [registration bytes]                                   20480     4  applied
 *   revoke                [revocation bytes]                                     20480     4  applied
 *   link                  [link bytes]                                           20480     4  applied
 *   applied               []                                                         8     1
 *
 * Refusal reasons: 'invalid' (a signature, the type or the community is wrong), 'conflict'
 * (registered to another owner or type, or the agent linked to another account), 'revoked',
 * 'unknown' (revoking an unregistered component), 'not-owner' (only the component's owner — the
 * session's proven key — may ask to revoke it, unless the witness's policy says otherwise),
 * 'unauthorized' (the account authorizer said no), 'no-authorizer', 'quorum' (fewer than k
 * approvals, reasons differing).
 * @module
 */
import { RefusedError, equalBytes, type CborValue, type PeerContext, type Protocol, type ProtocolHandle, type ProtocolHost } from '@tally/core'
import type { Community } from '../community.js'
import {
  approvedRegistration,
  approvedRevocation,
  decodeRegistration,
  decodeRevocation,
  encodeRegistration,
  encodeRevocation,
  registrationDigest,
  revocationDigest,
  type RegistrationRequest,
  type SignedRegistration,
  type SignedRevocation,
} from '../statement.js'
import { approvedLink, decodeLink, encodeLink, linkDigest, type LinkRequest, type SignedLink } from '../wallet-link.js'
import type { WitnessSignature } from '../quorum.js'
import { bytes, fields, kind, text, witnessSignature, witnessSignatureValue } from './codec.js'
import { collectSignatures, commonReason, describe, type Refusal } from './collect.js'

/** The registry protocol's messages. */
export type RegistryMessages = {
  'approve-registration': RegistrationRequest
  'approve-revocation': { readonly component: Uint8Array }
  'approve-link': LinkRequest
  approval: WitnessSignature
  register: SignedRegistration
  revoke: SignedRevocation
  link: SignedLink
  applied: Record<string, never>
}

/** The protocol's name. */
export const REGISTRY_PROTOCOL = 'tally/economy/registry/1'

/** What a witness does with registry messages (see witness.ts). */
export interface RegistryService {
  approveRegistration(request: RegistrationRequest, peer: Uint8Array): Promise<WitnessSignature>
  approveRevocation(component: Uint8Array, peer: Uint8Array): Promise<WitnessSignature>
  approveLink(request: LinkRequest, peer: Uint8Array): Promise<WitnessSignature>
  /** Apply a signed statement; throws RefusedError with the directory's outcome code. */
  apply(statement: { register: SignedRegistration } | { revoke: SignedRevocation } | { link: SignedLink }): void
}

/**
 * The registry protocol: a witness answers with its service; an owner hosts it without one.
 * @param service the witness's side
 * @returns the protocol, to host
 * @example host.host(registryProtocol(witness))
 */
export function registryProtocol(service?: RegistryService): Protocol<RegistryMessages> {
  if (service === undefined) return Object.freeze({ name: REGISTRY_PROTOCOL, messages: REGISTRY_MESSAGES, handlers: Object.freeze({}) })
  const approval = (signature: WitnessSignature) => ({ kind: 'approval' as const, message: signature })
  const applied = () => ({ kind: 'applied' as const, message: {} })
  return Object.freeze({
    name: REGISTRY_PROTOCOL,
    messages: REGISTRY_MESSAGES,
    handlers: Object.freeze<Protocol<RegistryMessages>['handlers']>({
      'approve-registration': async (m, ctx) => approval(await service.approveRegistration(m, ctx.peer)),
      'approve-revocation': async (m, ctx) => approval(await service.approveRevocation(m.component, ctx.peer)),
      'approve-link': async (m, ctx) => approval(await service.approveLink(m, ctx.peer)),
      register: (m) => (service.apply({ register: m }), applied()),
      revoke: (m) => (service.apply({ revoke: m }), applied()),
      link: (m) => (service.apply({ link: m }), applied()),
    }),
  })
}

/** What a registrar's call did: the statement, and which witnesses took it or did not. */
export interface Delivered<T> {
  /** The signed statement (k approvals). */
  readonly statement: T
  /** Witnesses that applied it. */
  readonly applied: number
  /** Witnesses that approved nothing or did not apply it, and why. */
  readonly refusals: readonly Refusal[]
}

/** An owner's (or participant's) side of the registry. */
export interface Registrar {
  /**
   * Get k approvals for a registration request, then deliver the signed registration to every witness.
   * @throws RefusedError (reason: the witnesses' common refusal, or 'quorum') when fewer than k approve
   */
  register(request: RegistrationRequest): Promise<Delivered<SignedRegistration>>
  /**
   * Ask the witnesses to revoke one of this node's components (the session key must be its owner).
   * @throws RefusedError when fewer than k approve
   */
  revoke(component: Uint8Array): Promise<Delivered<SignedRevocation>>
  /**
   * Get k approvals for an account link (each witness runs its authorizer), then deliver it.
   * @throws RefusedError when fewer than k approve
   */
  link(request: LinkRequest): Promise<Delivered<SignedLink>>
}

/**
 * The owner's side of the registry protocol.
 * @param options the node that hosts it, the community, the witnesses (default: the current ones)
 * @returns the registrar
 * @example
 * const registrar = createRegistrar({ host: node, community })
 * await registrar.register(requestRegistration(owner, gateway, community.id, 'gateway'))
 */
export function createRegistrar(options: { host: ProtocolHost; community: Community; witnesses?: readonly Uint8Array[] }): Registrar {
  const { community } = options
  const handle: ProtocolHandle<RegistryMessages> = options.host.host(registryProtocol())
  const witnesses = (): readonly Uint8Array[] => options.witnesses ?? community.current.witnesses
  const crypto = community.crypto

  const gather = async (what: string, digest: Uint8Array, ask: (ctx: PeerContext<RegistryMessages>) => Promise<WitnessSignature>) => {
    const config = community.current
    const collected = await collectSignatures(
      handle,
      witnesses(),
      async (ctx) => ask(ctx),
      (s, w) => equalBytes(config.witnesses[s.index] ?? new Uint8Array(0), w) && crypto.verify(s.signature, digest, w),
    )
    if (collected.signatures.length < config.quorum) {
      const reasons = collected.refusals.map((r) => `${r.reason} (${r.message})`).join('; ')
      throw new RefusedError(`${what}: ${collected.signatures.length} of ${config.quorum} witnesses approved: ${reasons}`, { reason: commonReason(collected.refusals, 'quorum') })
    }
    return collected
  }
  const deliver = async <T>(statement: T, kind: 'register' | 'revoke' | 'link', earlier: readonly Refusal[]): Promise<Delivered<T>> => {
    let applied = 0
    const refusals: Refusal[] = [...earlier]
    await Promise.all(
      witnesses().map(async (w) => {
        try {
          const ctx = await handle.peer(w)
          const reply = await ctx.request(kind, statement as never)
          if (reply.kind === 'applied') applied++
        } catch (err) {
          refusals.push({ witness: w, ...describe(err) })
        }
      }),
    )
    return { statement, applied, refusals }
  }
  const approvalOf = (reply: { kind: string; message: unknown }): WitnessSignature => {
    if (reply.kind !== 'approval') throw new RefusedError(`expected an approval, got ${reply.kind}`, { reason: 'protocol' })
    return reply.message as WitnessSignature
  }

  return Object.freeze({
    async register(request: RegistrationRequest) {
      const got = await gather('registration', registrationDigest(request, crypto), async (ctx) => approvalOf(await ctx.request('approve-registration', request)))
      return deliver(approvedRegistration(request, got.signatures), 'register', got.refusals)
    },
    async revoke(component: Uint8Array) {
      const revocation = { community: community.id, component }
      const got = await gather('revocation', revocationDigest(revocation, crypto), async (ctx) => approvalOf(await ctx.request('approve-revocation', { component })))
      return deliver(approvedRevocation(revocation, got.signatures), 'revoke', got.refusals)
    },
    async link(request: LinkRequest) {
      const got = await gather('link', linkDigest(request, crypto), async (ctx) => approvalOf(await ctx.request('approve-link', request)))
      return deliver(approvedLink(request, got.signatures), 'link', got.refusals)
    },
  })
}

// ## Codecs

const STATEMENT_BYTES = 20_480

const REGISTRY_MESSAGES: Protocol<RegistryMessages>['messages'] = Object.freeze({
  'approve-registration': kind<RegistrationRequest>(
    320,
    4,
    (r) => [r.community, r.owner, r.component, r.type, r.ownerSignature, r.componentSignature],
    (b) => {
      const [community, owner, component, type, ownerSignature, componentSignature] = fields(b, 6, 'approve-registration')
      return {
        community: bytes(community, 'community', 32),
        owner: bytes(owner, 'owner', 32),
        component: bytes(component, 'component', 32),
        type: text(type, 'type', 32),
        ownerSignature: bytes(ownerSignature, 'ownerSignature', 64),
        componentSignature: bytes(componentSignature, 'componentSignature', 64),
      }
    },
  ),
  'approve-revocation': kind<{ component: Uint8Array }>(48, 2, (m) => [m.component], (b) => ({ component: bytes(fields(b, 1, 'approve-revocation')[0], 'component', 32) })),
  'approve-link': kind<LinkRequest>(
    1400,
    4,
    (r) => [r.community, r.agent, r.account, r.agentSignature, r.credential],
    (b) => {
      const [community, agent, account, agentSignature, credential] = fields(b, 5, 'approve-link')
      return {
        community: bytes(community, 'community', 32),
        agent: bytes(agent, 'agent', 32),
        account: text(account, 'account', 128),
        agentSignature: bytes(agentSignature, 'agentSignature', 64),
        credential: bytes(credential, 'credential', undefined, 1024),
      }
    },
  ),
  approval: kind<WitnessSignature>(80, 1, witnessSignatureValue, (b) => witnessSignature(b, 'approval')),
  register: kind<SignedRegistration>(STATEMENT_BYTES, 4, (s) => [encodeRegistration(s)], (b) => decodeRegistration(bytes(fields(b, 1, 'register')[0], 'registration', undefined, STATEMENT_BYTES))),
  revoke: kind<SignedRevocation>(STATEMENT_BYTES, 4, (s) => [encodeRevocation(s)], (b) => decodeRevocation(bytes(fields(b, 1, 'revoke')[0], 'revocation', undefined, STATEMENT_BYTES))),
  link: kind<SignedLink>(STATEMENT_BYTES, 4, (s) => [encodeLink(s)], (b) => decodeLink(bytes(fields(b, 1, 'link')[0], 'link', undefined, STATEMENT_BYTES))),
  applied: kind<Record<string, never>>(8, 1, (): CborValue => [], (b) => (fields(b, 0, 'applied'), {})),
})
