/**
 * Witnessed statements: the registration of a component (signed by its owner and by the
 * component, approved by a quorum of witnesses — the paper's whitelist without a single
 * gatekeeper) and its revocation (a quorum of witnesses).
 *
 * Layout (signed, so fixed here):
 *
 *   register = canonical CBOR array ['register', community: bstr(32), owner: bstr(32), component: bstr(32), type: tstr]
 *   revoke   = canonical CBOR array ['revoke', community: bstr(32), component: bstr(32)]
 *   digest   = SHA-256(domainTag('statement') ‖ statement)
 *
 * The owner, the component and the witnesses all sign the same 32-byte digest; the kind string
 * comes first, so a statement of one kind can never be read as another. Wire forms append the
 * signatures: [...statement, ownerSignature, componentSignature, witnesses] for a registration,
 * [...statement, witnesses] for a revocation.
 * @module
 */
import {
  DecodeError,
  abytes,
  decodeCanonical,
  encodeCanonical,
  equalBytes,
  nobleCrypto,
  type CborValue,
  type CryptoProvider,
  type SignResult,
  type SigningKey,
  type SyncSigningKey,
  signThen,
} from '@tally/core'
import type { CommunityConfig } from './config.js'
import { checkQuorum, decodeSignatures, encodeSignatures, sortSignatures, witnessSign, type QuorumSignatures, type WitnessSignature } from './quorum.js'
import { OK, isBytes, taggedHash, type Check } from './util.js'

/** An owner's request to register a component. */
export interface Registration {
  /** The community id (genesis configId). */
  readonly community: Uint8Array
  /** The owner's agent key: rewards for this component go to this chain. */
  readonly owner: Uint8Array
  /** The component's own key: it signs the component's metric reports. */
  readonly component: Uint8Array
  /** Its component type, one of the configuration's `components`. */
  readonly type: string
}

/** A registration with its owner's, its component's and the witnesses' signatures. */
export interface SignedRegistration extends Registration {
  readonly ownerSignature: Uint8Array
  readonly componentSignature: Uint8Array
  readonly witnesses: QuorumSignatures
}

/** The witnesses' decision to stop counting a component. Permanent for that key. */
export interface Revocation {
  readonly community: Uint8Array
  readonly component: Uint8Array
}

/** A revocation with the witnesses' signatures. */
export interface SignedRevocation extends Revocation {
  readonly witnesses: QuorumSignatures
}

/** A registration signed by its owner and its component, before the witnesses approve it. */
export type RegistrationRequest = Omit<SignedRegistration, 'witnesses'>

/** A witness's answer to a request: its signature, or why it declines. */
export type Approval = { readonly ok: true; readonly signature: WitnessSignature } | { readonly ok: false; readonly reason: string }

const TYPE = /^[a-z0-9][a-z0-9_-]{0,31}$/
const MAX_STATEMENT_BYTES = 32 * 1024

// ## Registration

/**
 * The digest that owner, component and witnesses sign for a registration.
 * @param registration the statement
 * @param crypto provider (default nobleCrypto)
 * @returns 32 bytes
 * @throws TypeError / RangeError on malformed fields
 * @example const d = registrationDigest({ community, owner, component, type: 'gateway' })
 */
export function registrationDigest(registration: Registration, crypto: CryptoProvider = nobleCrypto): Uint8Array {
  return taggedHash('statement', crypto, encodeCanonical(registrationBody(registration)))
}

/**
 * The owner's or the component's signature on a registration.
 * @param registration the statement
 * @param key the owner's or the component's signing key (it must be one of the two)
 * @param crypto provider for the digest
 * @returns a 64-byte signature
 * @throws RangeError when the key is neither the owner nor the component
 * @example const ownerSignature = signRegistration(reg, owner)
 */
export function signRegistration<K extends SigningKey>(registration: Registration, key: K, crypto: CryptoProvider = nobleCrypto): SignResult<K, Uint8Array> {
  if (!equalBytes(key.publicKey, registration.owner) && !equalBytes(key.publicKey, registration.component)) {
    throw new RangeError('"key" is neither the owner nor the component of the registration')
  }
  return signThen(key, registrationDigest(registration, crypto), (signature) => signature)
}

/**
 * An owner's registration request for a component, signed by both.
 * @param owner the owner's signing key (rewards go to its chain)
 * @param component the component's signing key
 * @param community the community id
 * @param type the component type
 * @param crypto provider for the digest
 * @returns the request to send to the witnesses
 * @throws TypeError / RangeError on malformed fields
 * @example const request = requestRegistration(alice, gateway, community.id, 'gateway')
 */
export function requestRegistration<K extends SigningKey>(owner: K, component: SyncSigningKey, community: Uint8Array, type: string, crypto: CryptoProvider = nobleCrypto): SignResult<K, RegistrationRequest> {
  const registration: Registration = { community, owner: owner.publicKey, component: component.publicKey, type }
  const digest = registrationDigest(registration, crypto)
  // the component's key lives with the component's software, from a seed; the owner's may be a wallet's
  const componentSignature = component.sign(digest)
  return signThen(owner, digest, (ownerSignature): RegistrationRequest => Object.freeze({ ...registration, ownerSignature, componentSignature }))
}

/**
 * A registration with the witnesses' approvals (sorted, duplicates dropped; not checked here:
 * the directory checks it).
 * @param request the request
 * @param approvals witness signatures, any order
 * @returns the signed registration
 * @example directory.register(approvedRegistration(request, [a1, a2]))
 */
export function approvedRegistration(request: RegistrationRequest, approvals: readonly WitnessSignature[]): SignedRegistration {
  return Object.freeze({ ...request, witnesses: sortSignatures(approvals) })
}

/**
 * A witness's approval of a registration request, after checking the owner's and the
 * component's signatures and the type.
 * @param request the registration with owner and component signatures (witnesses ignored)
 * @param witness the witness's key
 * @param config the configuration in force
 * @param community the community id
 * @param crypto provider
 * @returns the witness signature, or why it declines
 * @throws RangeError when `witness` is not a witness of `config`
 * @example const a = approveRegistration(request, w1, community.current, community.id)
 */
export function approveRegistration<K extends SigningKey>(
  request: RegistrationRequest,
  witness: K,
  config: CommunityConfig,
  community: Uint8Array,
  crypto: CryptoProvider = nobleCrypto,
): SignResult<K, Approval> {
  const check = checkRequest(request, config, community, crypto)
  if (!check.ok) return check as SignResult<K, Approval>
  const signature = witnessSign(witness, config, registrationDigest(request, crypto))
  const approval = (s: WitnessSignature): Approval => ({ ok: true, signature: s })
  return (signature instanceof Promise ? signature.then(approval) : approval(signature as WitnessSignature)) as SignResult<K, Approval>
}

/**
 * Check a signed registration alone: form, type known to `config`, owner and component
 * signatures, and a quorum of `config`'s witnesses.
 * @param signed the registration
 * @param config the configuration whose witnesses must have approved it
 * @param community the community id it must name
 * @param crypto provider
 * @returns ok, or the reason
 * @example checkRegistration(signed, community.current, community.id).ok
 */
export function checkRegistration(signed: SignedRegistration, config: CommunityConfig, community: Uint8Array, crypto: CryptoProvider = nobleCrypto): Check {
  const check = checkRequest(signed, config, community, crypto)
  if (!check.ok) return check
  const reason = checkQuorum(registrationDigest(signed, crypto), signed.witnesses, config, crypto)
  return reason === undefined ? OK : { ok: false, reason: `witnesses: ${reason}` }
}

/**
 * Encode a signed registration.
 * @param signed the registration
 * @returns canonical CBOR ['register', community, owner, component, type, ownerSignature, componentSignature, witnesses]
 * @example send(encodeRegistration(signed))
 */
export function encodeRegistration(signed: SignedRegistration): Uint8Array {
  return encodeCanonical([...registrationBody(signed), signed.ownerSignature, signed.componentSignature, encodeSignatures(signed.witnesses)])
}

/**
 * Decode a signed registration (form only; check it with checkRegistration or Directory.register).
 * @param bytes the encoding
 * @returns the registration
 * @throws DecodeError when malformed
 * @example directory.register(decodeRegistration(bytes))
 */
export function decodeRegistration(bytes: Uint8Array): SignedRegistration {
  const v = decodeStatement(bytes, 'register', 8)
  const [, community, owner, component, type, ownerSignature, componentSignature, witnesses] = v
  if (!isBytes(community, 32) || !isBytes(owner, 32) || !isBytes(component, 32)) throw new DecodeError('registration keys must be 32 bytes')
  if (typeof type !== 'string' || !TYPE.test(type)) throw new DecodeError('registration type malformed')
  if (!isBytes(ownerSignature, 64) || !isBytes(componentSignature, 64)) throw new DecodeError('registration signatures must be 64 bytes')
  return Object.freeze({ community, owner, component, type, ownerSignature, componentSignature, witnesses: decodeSignatures(witnesses) })
}

// ## Revocation

/**
 * The digest the witnesses sign to revoke a component.
 * @param revocation the statement
 * @param crypto provider
 * @returns 32 bytes
 * @example witnessSign(w1, config, revocationDigest({ community, component }))
 */
export function revocationDigest(revocation: Revocation, crypto: CryptoProvider = nobleCrypto): Uint8Array {
  abytes('community', revocation.community, 32)
  abytes('component', revocation.component, 32)
  return taggedHash('statement', crypto, encodeCanonical(['revoke', revocation.community, revocation.component]))
}

/**
 * A witness's signature on a revocation (the decision to revoke is the witness's own policy).
 * @param revocation the statement
 * @param witness the witness's key
 * @param config the configuration in force
 * @param crypto provider
 * @returns its signature
 * @throws RangeError when `witness` is not a witness of `config`
 * @example const s = approveRevocation({ community, component }, w1, config)
 */
export function approveRevocation<K extends SigningKey>(revocation: Revocation, witness: K, config: CommunityConfig, crypto: CryptoProvider = nobleCrypto): SignResult<K, WitnessSignature> {
  return witnessSign(witness, config, revocationDigest(revocation, crypto))
}

/**
 * A revocation with the witnesses' signatures (sorted, duplicates dropped; not checked here).
 * @param revocation community and component
 * @param approvals witness signatures, any order
 * @returns the signed revocation
 * @example directory.revoke(approvedRevocation({ community: community.id, component }, [s1, s2]))
 */
export function approvedRevocation(revocation: Revocation, approvals: readonly WitnessSignature[]): SignedRevocation {
  return Object.freeze({ community: revocation.community, component: revocation.component, witnesses: sortSignatures(approvals) })
}

/**
 * Check a signed revocation alone.
 * @param signed the revocation
 * @param config the configuration whose witnesses must have signed it
 * @param community the community id it must name
 * @param crypto provider
 * @returns ok, or the reason
 * @example checkRevocation(signed, community.current, community.id)
 */
export function checkRevocation(signed: SignedRevocation, config: CommunityConfig, community: Uint8Array, crypto: CryptoProvider = nobleCrypto): Check {
  if (!isBytes(signed?.community, 32) || !isBytes(signed.component, 32)) return { ok: false, reason: 'malformed revocation' }
  if (!equalBytes(signed.community, community)) return { ok: false, reason: 'another community' }
  const reason = checkQuorum(revocationDigest(signed, crypto), signed.witnesses, config, crypto)
  return reason === undefined ? OK : { ok: false, reason: `witnesses: ${reason}` }
}

/**
 * Encode a signed revocation.
 * @param signed the revocation
 * @returns canonical CBOR ['revoke', community, component, witnesses]
 * @example send(encodeRevocation(signed))
 */
export function encodeRevocation(signed: SignedRevocation): Uint8Array {
  return encodeCanonical(['revoke', signed.community, signed.component, encodeSignatures(signed.witnesses)])
}

/**
 * Decode a signed revocation (form only).
 * @param bytes the encoding
 * @returns the revocation
 * @throws DecodeError when malformed
 * @example directory.revoke(decodeRevocation(bytes))
 */
export function decodeRevocation(bytes: Uint8Array): SignedRevocation {
  const [, community, component, witnesses] = decodeStatement(bytes, 'revoke', 4)
  if (!isBytes(community, 32) || !isBytes(component, 32)) throw new DecodeError('revocation keys must be 32 bytes')
  return Object.freeze({ community, component, witnesses: decodeSignatures(witnesses) })
}

// ## Private helpers

function registrationBody(r: Registration): CborValue[] {
  abytes('community', r.community, 32)
  abytes('owner', r.owner, 32)
  abytes('component', r.component, 32)
  if (typeof r.type !== 'string' || !TYPE.test(r.type)) throw new RangeError(`"type" expected 1-32 characters of [a-z0-9_-], got ${JSON.stringify(String(r.type).slice(0, 40))}`)
  return ['register', r.community, r.owner, r.component, r.type]
}

function checkRequest(r: Omit<SignedRegistration, 'witnesses'>, config: CommunityConfig, community: Uint8Array, crypto: CryptoProvider): Check {
  if (!isBytes(r?.community, 32) || !isBytes(r.owner, 32) || !isBytes(r.component, 32) || typeof r.type !== 'string' || !TYPE.test(r.type)) {
    return { ok: false, reason: 'malformed registration' }
  }
  if (!equalBytes(r.community, community)) return { ok: false, reason: 'another community' }
  if (equalBytes(r.owner, r.component)) return { ok: false, reason: 'a component needs a key of its own, not its owner\'s' }
  if (!Object.hasOwn(config.components, r.type)) return { ok: false, reason: `unknown component type "${r.type}"` }
  const digest = registrationDigest(r, crypto)
  if (!crypto.verify(r.ownerSignature, digest, r.owner)) return { ok: false, reason: 'the owner\'s signature does not verify' }
  if (!crypto.verify(r.componentSignature, digest, r.component)) return { ok: false, reason: 'the component\'s signature does not verify' }
  return OK
}

function decodeStatement(bytes: Uint8Array, kind: string, length: number): CborValue[] {
  const v = decodeCanonical(bytes, { maxBytes: MAX_STATEMENT_BYTES, maxDepth: 4 })
  if (!Array.isArray(v) || v.length !== length || v[0] !== kind) throw new DecodeError(`expected a '${kind}' statement of ${length} fields`)
  return v as CborValue[]
}
