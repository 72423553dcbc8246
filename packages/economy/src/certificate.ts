/**
 * Epoch certificates: k witnesses sign the root of an epoch's allocation table. Each witness
 * computes the table itself from the same reports (closeEpoch) and signs only its own root, so a
 * certificate says "k witnesses independently found this allocation". It is verifiable alone,
 * given the configuration whose witnesses signed it.
 *
 * Layout (signed, so fixed here):
 *
 *   body        = canonical CBOR array [configId: bstr(32), epoch: uint, root: bstr(32), leaves: uint, total: uint]
 *   digest      = SHA-256(domainTag('certificate') ‖ body)         (each witness signs the digest)
 *   certificate = canonical CBOR array [configId, epoch, root, leaves, total, signatures]
 *
 * configId names the configuration version in force at the epoch (and through it the community);
 * `leaves` is the tree's leaf count, needed to check proofs; `total` is what the table allocates:
 * the configuration's rewardPerEpoch, or 0 for an epoch in which nobody had karma. Signatures name
 * witnesses by index (2 + 64 bytes each), so a certificate of k = 3 is about 290 bytes.
 * @module
 */
import { DecodeError, abytes, auint, decodeCanonical, encodeCanonical, equalBytes, nobleCrypto, type CborValue, type CryptoProvider, type SignResult, type SigningKey } from '@tally/core'
import type { Community } from './community.js'
import { configId, type CommunityConfig } from './config.js'
import { checkQuorum, decodeSignatures, encodeSignatures, sortSignatures, witnessSign, type QuorumSignatures, type WitnessSignature } from './quorum.js'
import { OK, isBytes, isUint, taggedHash, type Check } from './util.js'

/** What the witnesses of an epoch sign. */
export interface CertificateBody {
  /** Id of the configuration version governing the epoch. */
  readonly configId: Uint8Array
  /** The epoch. */
  readonly epoch: number
  /** Root of the allocation table's Merkle tree. */
  readonly root: Uint8Array
  /** Number of leaves (owners with a non-zero amount). */
  readonly leaves: number
  /** Units allocated: rewardPerEpoch, or 0 when nobody had karma. */
  readonly total: number
}

/** A body with a quorum of witness signatures. */
export interface EpochCertificate extends CertificateBody {
  readonly signatures: QuorumSignatures
}

/**
 * The digest witnesses sign for an epoch.
 * @param body configId, epoch, root, leaves, total
 * @param crypto provider (default nobleCrypto)
 * @returns 32 bytes
 * @throws TypeError / RangeError on malformed fields
 * @example const d = certificateDigest(result.body)
 */
export function certificateDigest(body: CertificateBody, crypto: CryptoProvider = nobleCrypto): Uint8Array {
  return taggedHash('certificate', crypto, encodeCanonical(bodyValue(body)))
}

/**
 * A witness's signature on an epoch's allocation root (call it with the body from the witness's
 * own closeEpoch).
 * @param body the certificate body
 * @param witness the witness's key
 * @param config the configuration named by body.configId
 * @param crypto provider
 * @returns its signature
 * @throws RangeError when the key is not a witness of `config`, or config is not body.configId
 * @example const s = signCertificate(result.body, w1, config)
 */
export function signCertificate<K extends SigningKey>(body: CertificateBody, witness: K, config: CommunityConfig, crypto: CryptoProvider = nobleCrypto): SignResult<K, WitnessSignature> {
  if (!equalBytes(configId(config, crypto), body.configId)) throw new RangeError('"config" is not the configuration named by the body')
  return witnessSign(witness, config, certificateDigest(body, crypto))
}

/**
 * Assemble a certificate from witness signatures: keeps those that verify and takes the first k
 * by index (a certificate carries exactly the quorum).
 * @param body the certificate body
 * @param signatures signatures gathered from witnesses, any order
 * @param config the configuration named by body.configId
 * @param crypto provider
 * @returns the certificate
 * @throws RangeError when fewer than k distinct witnesses signed validly
 * @example const cert = certify(result.body, [s1, s2], config)
 */
export function certify(body: CertificateBody, signatures: readonly WitnessSignature[], config: CommunityConfig, crypto: CryptoProvider = nobleCrypto): EpochCertificate {
  // never assemble what verifyCertificate would reject
  const fits = bodyFits(body, config, crypto)
  if (!fits.ok) throw new RangeError(`"body" does not fit the configuration: ${fits.reason}`)
  const digest = certificateDigest(body, crypto)
  const valid = sortSignatures(signatures).filter((s) => s.index < config.witnesses.length && crypto.verify(s.signature, digest, config.witnesses[s.index]!))
  if (valid.length < config.quorum) throw new RangeError(`"signatures" hold ${valid.length} valid witness signatures, the quorum is ${config.quorum}`)
  return Object.freeze({ ...pickBody(body), signatures: Object.freeze(valid.slice(0, config.quorum)) })
}

/**
 * Check a certificate alone against the configuration it names.
 * @param cert the certificate
 * @param config the configuration version whose witnesses must have signed it
 * @param crypto provider
 * @returns ok, or the reason
 * @example verifyCertificate(cert, community.configAt(cert.epoch)!).ok
 */
export function verifyCertificate(cert: EpochCertificate, config: CommunityConfig, crypto: CryptoProvider = nobleCrypto): Check {
  const fits = bodyFits(cert, config, crypto)
  if (!fits.ok) return fits
  const reason = checkQuorum(certificateDigest(cert, crypto), cert.signatures, config, crypto)
  return reason === undefined ? OK : { ok: false, reason: `witnesses: ${reason}` }
}

/**
 * Check a certificate against a community: it must name the configuration version that governs
 * its epoch (so witnesses replaced by an update can no longer certify), and verify under it.
 * @param cert the certificate
 * @param community the community
 * @returns ok, or the reason
 * @example verifyCertificateIn(cert, community).ok
 */
export function verifyCertificateIn(cert: EpochCertificate, community: Community): Check {
  const form = checkBody(cert)
  if (!form.ok) return form
  const config = community.configAt(cert.epoch)
  if (config === undefined) return { ok: false, reason: `no configuration governs epoch ${cert.epoch}` }
  if (!equalBytes(cert.configId, configId(config, community.crypto))) return { ok: false, reason: `certificate is not signed under the configuration governing epoch ${cert.epoch}` }
  return verifyCertificate(cert, config, community.crypto)
}

/**
 * The CBOR value of a certificate.
 * @param cert the certificate
 * @returns [configId, epoch, root, leaves, total, signatures]
 * @example encodeCanonical(certificateValue(cert))
 */
export function certificateValue(cert: EpochCertificate): CborValue {
  return [...bodyValue(cert), encodeSignatures(cert.signatures)]
}

/**
 * A certificate from its CBOR value (form only).
 * @param value decoded CBOR
 * @returns the certificate
 * @throws DecodeError when malformed
 * @example const cert = certificateFromValue(decoded[0])
 */
export function certificateFromValue(value: CborValue | undefined): EpochCertificate {
  if (!Array.isArray(value) || value.length !== 6) throw new DecodeError('a certificate must be [configId, epoch, root, leaves, total, signatures]')
  const [id, epoch, root, leaves, total, signatures] = value as CborValue[]
  const body = { configId: id, epoch, root, leaves, total } as unknown as CertificateBody
  const form = checkBody(body)
  if (!form.ok) throw new DecodeError(`malformed certificate: ${form.reason}`)
  return Object.freeze({ ...pickBody(body), signatures: decodeSignatures(signatures) })
}

/**
 * Encode a certificate.
 * @param cert the certificate
 * @returns canonical CBOR
 * @example publish(encodeCertificate(cert))
 */
export function encodeCertificate(cert: EpochCertificate): Uint8Array {
  return encodeCanonical(certificateValue(cert))
}

/**
 * Decode a certificate (form only; verify it with verifyCertificate).
 * @param bytes the encoding
 * @returns the certificate
 * @throws DecodeError when malformed
 * @example const cert = decodeCertificate(bytes)
 */
export function decodeCertificate(bytes: Uint8Array): EpochCertificate {
  return certificateFromValue(decodeCanonical(bytes, { maxBytes: 32 * 1024, maxDepth: 4 }))
}

// ## Private helpers

function bodyValue(b: CertificateBody): CborValue[] {
  abytes('configId', b.configId, 32)
  auint('epoch', b.epoch)
  abytes('root', b.root, 32)
  auint('leaves', b.leaves)
  auint('total', b.total)
  return [b.configId, b.epoch, b.root, b.leaves, b.total]
}

function pickBody(b: CertificateBody): CertificateBody {
  return { configId: b.configId, epoch: b.epoch, root: b.root, leaves: b.leaves, total: b.total }
}

function checkBody(b: CertificateBody): Check {
  if (!isBytes(b?.configId, 32) || !isBytes(b.root, 32)) return { ok: false, reason: 'configId and root must be 32 bytes' }
  if (!isUint(b.epoch) || !isUint(b.leaves) || !isUint(b.total)) return { ok: false, reason: 'epoch, leaves and total must be non-negative integers' }
  return OK
}

/** The body's own form, and its fit with the configuration it names (everything but the signatures). */
function bodyFits(body: CertificateBody, config: CommunityConfig, crypto: CryptoProvider): Check {
  const form = checkBody(body)
  if (!form.ok) return form
  if (!equalBytes(body.configId, configId(config, crypto))) return { ok: false, reason: 'certificate names another configuration' }
  if (body.epoch < config.fromEpoch) return { ok: false, reason: `epoch ${body.epoch} is before the configuration's first epoch ${config.fromEpoch}` }
  if (body.total !== config.rewardPerEpoch && !(body.total === 0 && body.leaves === 0)) {
    return { ok: false, reason: `total ${body.total} is not the reward per epoch ${config.rewardPerEpoch}` }
  }
  if (body.leaves > body.total) return { ok: false, reason: 'more leaves than units: every leaf holds at least one unit' }
  return OK
}
