/**
 * Wallet linking (FR3): a participant links its agent key to its account in the existing
 * infrastructure (its TTN user name, say). The participant signs a request; each witness runs a
 * pluggable authorization check (an AccountAuthorizer: OAuth against the infrastructure's
 * identity provider, or the signed-token example here) and, only when it succeeds, signs the link.
 * k witness signatures make the link a statement anyone can check alone.
 *
 * Layout (signed, so fixed here):
 *
 *   link   = canonical CBOR array ['link', community: bstr(32), agent: bstr(32), account: tstr]
 *   digest = SHA-256(domainTag('statement') ‖ link)       (signed by the agent and the witnesses)
 *   wire   = canonical CBOR array ['link', community, agent, account, agentSignature, witnesses]
 *
 * The example identity provider's token:
 *
 *   token  = body ‖ signature(64), body = canonical CBOR array [account: tstr, agent: bstr(32), expires: uint (ms)]
 *   signature = Ed25519 by the provider over domainTag('account-token') ‖ body
 *
 * The token names the agent key, so a token intercepted on its way cannot link another key.
 * @module
 */
import {
  DecodeError,
  abytes,
  auint,
  concatBytes,
  decodeCanonical,
  domainTag,
  encodeCanonical,
  equalBytes,
  nobleCrypto,
  type CborValue,
  type CryptoProvider,
  type SignResult,
  type SigningKey,
  signThen,
} from '@tally/core'
import type { CommunityConfig } from './config.js'
import { checkQuorum, decodeSignatures, encodeSignatures, sortSignatures, witnessSign, type QuorumSignatures, type WitnessSignature } from './quorum.js'
import type { Approval } from './statement.js'
import { OK, isBytes, isUint, taggedHash, type Check } from './util.js'

/** The link of an agent key to an account. */
export interface AccountLink {
  /** The community id. */
  readonly community: Uint8Array
  /** The participant's agent key (its wallet). */
  readonly agent: Uint8Array
  /** The account in the existing infrastructure (1-128 characters). */
  readonly account: string
}

/** A participant's request to link: the link signed by the agent, and a credential for the authorizer. */
export interface LinkRequest extends AccountLink {
  /** The agent's signature on linkDigest: proves the participant holds the key. */
  readonly agentSignature: Uint8Array
  /** What the authorizer checks: a token, an OAuth authorization code, ... */
  readonly credential: Uint8Array
}

/** A link approved by a quorum of witnesses. */
export interface SignedLink extends AccountLink {
  readonly agentSignature: Uint8Array
  readonly witnesses: QuorumSignatures
}

/** The outcome of an authorization check. */
export type AuthorizationResult = { readonly ok: true } | { readonly ok: false; readonly reason: string }

/**
 * A pluggable authorization check: does the holder of `request.agent` own `request.account`?
 * A witness calls it before signing a link. The agent's signature is checked before it is called.
 */
export interface AccountAuthorizer {
  authorize(request: LinkRequest): AuthorizationResult | Promise<AuthorizationResult>
}

/** Options of createTokenAuthorizer. */
export interface TokenAuthorizerOptions {
  /** The identity provider's public key. */
  issuer: Uint8Array
  /** Provider for the signature check (default nobleCrypto). */
  crypto?: CryptoProvider
  /** Current time in ms (default Date.now). */
  now?: () => number
}

const MAX_ACCOUNT = 128
const MAX_TOKEN_BYTES = 512

/**
 * The digest the agent and the witnesses sign for a link.
 * @param link community, agent, account
 * @param crypto provider
 * @returns 32 bytes
 * @throws TypeError / RangeError on malformed fields
 * @example const d = linkDigest({ community, agent: alice.publicKey, account: 'alice@ttn' })
 */
export function linkDigest(link: AccountLink, crypto: CryptoProvider = nobleCrypto): Uint8Array {
  return taggedHash('statement', crypto, encodeCanonical(linkBody(link)))
}

/**
 * A participant's link request, signed with its agent key.
 * @param agent the participant's signing key (its wallet key)
 * @param community the community id
 * @param account its account in the existing infrastructure
 * @param credential what the authorizer checks (e.g. a token from issueAccountToken)
 * @param crypto provider
 * @returns the request to send to the witnesses
 * @example const req = requestLink(alice, community.id, 'alice@ttn', token)
 */
export function requestLink<K extends SigningKey>(agent: K, community: Uint8Array, account: string, credential: Uint8Array, crypto: CryptoProvider = nobleCrypto): SignResult<K, LinkRequest> {
  abytes('credential', credential)
  const link = { community, agent: agent.publicKey, account }
  return signThen(agent, linkDigest(link, crypto), (agentSignature): LinkRequest => Object.freeze({ ...link, agentSignature, credential }))
}

/**
 * A witness handles a link request: checks the agent's signature, runs the authorizer, and only
 * on success signs the link.
 * @param request the participant's request
 * @param options the authorizer, the witness's key, the configuration in force, the community id
 * @returns the witness signature, or why it declines
 * @throws RangeError when the witness key is not a witness of the configuration
 * @example const a = await approveLink(req, { authorizer, witness: w1, config, community: community.id })
 */
export async function approveLink(
  request: LinkRequest,
  options: { authorizer: AccountAuthorizer; witness: SigningKey; config: CommunityConfig; community: Uint8Array; crypto?: CryptoProvider },
): Promise<Approval> {
  const crypto = options.crypto ?? nobleCrypto
  const form = checkLinkForm(request, options.community)
  if (!form.ok) return form
  const digest = linkDigest(request, crypto)
  if (!crypto.verify(request.agentSignature, digest, request.agent)) return { ok: false, reason: 'the agent\'s signature does not verify' }
  let result: AuthorizationResult
  try {
    result = await options.authorizer.authorize(request)
  } catch (err) {
    result = { ok: false, reason: `authorizer failed: ${(err as Error).message}` }
  }
  if (!result.ok) return { ok: false, reason: `not authorized: ${result.reason}` }
  return { ok: true, signature: await witnessSign(options.witness, options.config, digest) }
}

/**
 * A link with the witnesses' approvals (sorted, duplicates dropped; not checked here: the
 * directory checks it). The credential stays with the witnesses: it is not part of the link.
 * @param request the participant's request
 * @param approvals witness signatures, any order
 * @returns the signed link
 * @example directory.link(approvedLink(request, [a1, a2]))
 */
export function approvedLink(request: LinkRequest, approvals: readonly WitnessSignature[]): SignedLink {
  return Object.freeze({
    community: request.community,
    agent: request.agent,
    account: request.account,
    agentSignature: request.agentSignature,
    witnesses: sortSignatures(approvals),
  })
}

/**
 * Check a signed link alone: form, the agent's signature and a quorum of `config`'s witnesses.
 * @param signed the link
 * @param config the configuration whose witnesses must have signed it
 * @param community the community id it must name
 * @param crypto provider
 * @returns ok, or the reason
 * @example checkLink(link, community.current, community.id).ok
 */
export function checkLink(signed: SignedLink, config: CommunityConfig, community: Uint8Array, crypto: CryptoProvider = nobleCrypto): Check {
  const form = checkLinkForm(signed, community)
  if (!form.ok) return form
  const digest = linkDigest(signed, crypto)
  if (!crypto.verify(signed.agentSignature, digest, signed.agent)) return { ok: false, reason: 'the agent\'s signature does not verify' }
  const reason = checkQuorum(digest, signed.witnesses, config, crypto)
  return reason === undefined ? OK : { ok: false, reason: `witnesses: ${reason}` }
}

/**
 * Encode a signed link.
 * @param signed the link
 * @returns canonical CBOR ['link', community, agent, account, agentSignature, witnesses]
 * @example send(encodeLink(link))
 */
export function encodeLink(signed: SignedLink): Uint8Array {
  return encodeCanonical([...linkBody(signed), signed.agentSignature, encodeSignatures(signed.witnesses)])
}

/**
 * Decode a signed link (form only; check it with checkLink or Directory.link).
 * @param bytes the encoding
 * @returns the link
 * @throws DecodeError when malformed
 * @example directory.link(decodeLink(bytes))
 */
export function decodeLink(bytes: Uint8Array): SignedLink {
  const v = decodeCanonical(bytes, { maxBytes: 32 * 1024, maxDepth: 4 })
  if (!Array.isArray(v) || v.length !== 6 || v[0] !== 'link') throw new DecodeError("expected a 'link' statement of 6 fields")
  const [, community, agent, account, agentSignature, witnesses] = v as CborValue[]
  if (!isBytes(community, 32) || !isBytes(agent, 32)) throw new DecodeError('link keys must be 32 bytes')
  if (typeof account !== 'string' || account.length < 1 || account.length > MAX_ACCOUNT) throw new DecodeError('link account malformed')
  if (!isBytes(agentSignature, 64)) throw new DecodeError('link signature must be 64 bytes')
  return Object.freeze({ community, agent, account, agentSignature, witnesses: decodeSignatures(witnesses) })
}

// ## The example authorizer: a token signed by a local identity provider

/**
 * The example identity provider issues a token: "the holder of `agent` is `account`, until `expires`".
 * @param issuer the identity provider's signing key
 * @param claims account, agent key, expiry (ms since 1970)
 * @returns the token bytes
 * @throws TypeError / RangeError on malformed claims
 * @example const token = issueAccountToken(idp, { account: 'alice@ttn', agent: alice.publicKey, expires: Date.now() + 60_000 })
 */
export function issueAccountToken<K extends SigningKey>(issuer: K, claims: { account: string; agent: Uint8Array; expires: number }): SignResult<K, Uint8Array> {
  checkAccount(claims.account)
  abytes('agent', claims.agent, 32)
  auint('expires', claims.expires)
  const body = encodeCanonical([claims.account, claims.agent, claims.expires])
  return signThen(issuer, concatBytes(domainTag('account-token'), body), (signature) => concatBytes(body, signature))
}

/**
 * An AccountAuthorizer that accepts a request whose credential is a token from issueAccountToken,
 * signed by `issuer`, not expired, and naming the request's account and agent.
 * @param options the issuer's key, provider, clock
 * @returns the authorizer
 * @example const authorizer = createTokenAuthorizer({ issuer: idp.publicKey })
 */
export function createTokenAuthorizer(options: TokenAuthorizerOptions): AccountAuthorizer {
  abytes('issuer', options?.issuer, 32)
  const crypto = options.crypto ?? nobleCrypto
  const now = options.now ?? Date.now
  return {
    authorize(request: LinkRequest): AuthorizationResult {
      const token = request.credential
      if (!(token instanceof Uint8Array) || token.length <= 64 || token.length > MAX_TOKEN_BYTES) return { ok: false, reason: 'malformed token' }
      const body = token.subarray(0, token.length - 64)
      const signature = token.subarray(token.length - 64)
      let claims: CborValue
      try {
        claims = decodeCanonical(body, { maxBytes: MAX_TOKEN_BYTES, maxDepth: 2 })
      } catch {
        return { ok: false, reason: 'malformed token' }
      }
      if (!Array.isArray(claims) || claims.length !== 3) return { ok: false, reason: 'malformed token' }
      const [account, agent, expires] = claims as CborValue[]
      if (typeof account !== 'string' || !isBytes(agent, 32) || !isUint(expires)) return { ok: false, reason: 'malformed token' }
      if (!crypto.verify(signature, concatBytes(domainTag('account-token'), body), options.issuer)) return { ok: false, reason: 'token not signed by the identity provider' }
      if (expires <= now()) return { ok: false, reason: 'token expired' }
      if (account !== request.account) return { ok: false, reason: 'token is for another account' }
      if (!equalBytes(agent, request.agent)) return { ok: false, reason: 'token is for another agent key' }
      return { ok: true }
    },
  }
}

// ## Private helpers

function linkBody(link: AccountLink): CborValue[] {
  abytes('community', link.community, 32)
  abytes('agent', link.agent, 32)
  checkAccount(link.account)
  return ['link', link.community, link.agent, link.account]
}

function checkAccount(account: unknown): void {
  if (typeof account !== 'string') throw new TypeError('"account" expected string')
  if (account.length < 1 || account.length > MAX_ACCOUNT || !account.isWellFormed()) throw new RangeError(`"account" expected 1-${MAX_ACCOUNT} characters`)
}

function checkLinkForm(link: AccountLink & { agentSignature: Uint8Array }, community: Uint8Array): Check {
  if (!isBytes(link?.community, 32) || !isBytes(link.agent, 32) || !isBytes(link.agentSignature, 64)) return { ok: false, reason: 'malformed link' }
  if (typeof link.account !== 'string' || link.account.length < 1 || link.account.length > MAX_ACCOUNT || !link.account.isWellFormed()) return { ok: false, reason: 'malformed account' }
  if (!equalBytes(link.community, community)) return { ok: false, reason: 'another community' }
  return OK
}
