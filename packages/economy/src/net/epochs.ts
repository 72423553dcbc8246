/**
 * Certification over the wire (`tally/economy/epochs/1`): witnesses exchange their signatures on
 * the epoch they closed, assemble the certificate when k agree, announce it, and serve
 * certificates and Merkle proofs to anyone.
 *
 *   kind             body                                                     max bytes  cost  reply
 *   signature        [configId, epoch, root, leaves, total, [index, sig],           320     2  (one-way, or the
 *                     reports digest(32), directory digest(32)]                                  reply to get-signature)
 *   get-signature    [epoch]                                                       16     1  signature
 *   get-certificate  [epoch]                                                       16     1  certificate
 *   certificate      [certificate]                                              18432     1
 *   get-proof        [epoch, owner]                                                56     2  proof
 *   proof            [certificate, amount, [index, siblings]]                   20480     1
 *   announce         [certificate]                                              18432     2  (one-way)
 *
 * A signature carries the signer's digests of the inputs it closed over — its report set and its
 * directory (sync.ts's set roots) — so a witness that receives a different root can log why: a
 * different report set, a different directory, or the same inputs and another root (a bug, or a
 * lie). Refusals: 'not-closed', 'not-certified', 'unknown-epoch', 'no-reward' (the owner has no
 * leaf), 'unavailable' (this witness's own table differs from the certified one: ask another).
 * @module
 */
import { DecodeError, RefusedError, type Protocol, type ProtocolHandle, type ProtocolHandler } from '@tally/core'
import { certificateFromValue, certificateValue, type CertificateBody, type EpochCertificate } from '../certificate.js'
import { merkleProofFromValue, merkleProofValue, type MerkleProof } from '../merkle.js'
import type { WitnessSignature } from '../quorum.js'
import type { Claim } from '../wallet.js'
import { bytes, fields, kind, uint, witnessSignature, witnessSignatureValue } from './codec.js'
import { describe, type Refusal } from './collect.js'

/** A witness's signature on its close of an epoch, with the digests of what it closed over. */
export interface SignatureNote {
  /** The body it computed. */
  readonly body: CertificateBody
  /** Its signature on the body's digest. */
  readonly signature: WitnessSignature
  /** Root digest of its report set for the epoch. */
  readonly reports: Uint8Array
  /** Root digest of its directory's statements. */
  readonly directory: Uint8Array
}

/** The epochs protocol's messages. */
export type EpochMessages = {
  signature: SignatureNote
  'get-signature': { readonly epoch: number }
  'get-certificate': { readonly epoch: number }
  certificate: { readonly certificate: EpochCertificate }
  'get-proof': { readonly epoch: number; readonly owner: Uint8Array }
  proof: { readonly certificate: EpochCertificate; readonly amount: number; readonly proof: MerkleProof }
  announce: { readonly certificate: EpochCertificate }
}

/** The protocol's name. */
export const EPOCHS_PROTOCOL = 'tally/economy/epochs/1'

/** What a witness answers with (see witness.ts). */
export interface EpochService {
  /** A witness's signature arrived (one-way, or in reply to get-signature). */
  takeSignature(note: SignatureNote): void
  /** This witness's own signature note for the epoch; throws RefusedError 'not-closed'. */
  serveSignature(epoch: number): SignatureNote
  /** The certificate of the epoch; throws RefusedError 'not-certified' / 'unknown-epoch'. */
  serveCertificate(epoch: number): EpochCertificate
  /** The evidence of an owner's claim; throws RefusedError. */
  serveProof(epoch: number, owner: Uint8Array): { certificate: EpochCertificate; amount: number; proof: MerkleProof }
}

/**
 * The epochs protocol. A witness passes its service; anyone else may pass `onAnnounce` to hear of
 * new certificates (check them with verifyCertificateIn before use).
 * @param service the witness's side
 * @param onAnnounce called with each announced certificate (non-witnesses)
 * @returns the protocol, to host
 * @example host.host(epochsProtocol(undefined, (cert) => wallet.claimLater(cert.epoch)))
 */
export function epochsProtocol(service?: EpochService, onAnnounce?: (certificate: EpochCertificate, peer: Uint8Array) => void): Protocol<EpochMessages> {
  const handlers: { -readonly [K in keyof EpochMessages]?: ProtocolHandler<EpochMessages, K> } = {}
  if (service !== undefined) {
    handlers.signature = (m) => service.takeSignature(m)
    handlers['get-signature'] = (m) => ({ kind: 'signature', message: service.serveSignature(m.epoch) })
    handlers['get-certificate'] = (m) => ({ kind: 'certificate', message: { certificate: service.serveCertificate(m.epoch) } })
    handlers['get-proof'] = (m) => ({ kind: 'proof', message: service.serveProof(m.epoch, m.owner) })
  }
  if (onAnnounce !== undefined) handlers.announce = (m, ctx) => onAnnounce(m.certificate, ctx.peer)
  return Object.freeze({ name: EPOCHS_PROTOCOL, messages: EPOCH_MESSAGES, handlers: Object.freeze(handlers) })
}

/**
 * Fetch an owner's claim for an epoch from the witnesses, one after another until one has it.
 * The caller checks it (the wallet's claim does).
 * @param handle the epochs protocol's handle
 * @param witnesses whom to ask, in order
 * @param epoch the epoch
 * @param owner the claimant
 * @returns amount, certificate and proof
 * @throws RefusedError 'no-reward' when a witness says the owner has no leaf; else the last refusal's reason ('unavailable' when nobody answered)
 * @example const claim = await fetchClaim(handle, community.current.witnesses, 7, me)
 */
export async function fetchClaim(handle: ProtocolHandle<EpochMessages>, witnesses: readonly Uint8Array[], epoch: number, owner: Uint8Array): Promise<Claim> {
  const refusals: Refusal[] = []
  for (const witness of witnesses) {
    try {
      const reply = await (await handle.peer(witness)).request('get-proof', { epoch, owner })
      if (reply.kind !== 'proof') throw new RefusedError(`get-proof answered with ${reply.kind}`, { reason: 'protocol' })
      const { certificate, amount, proof } = reply.message
      if (certificate.epoch !== epoch) throw new RefusedError('the proof is for another epoch', { reason: 'protocol' })
      return { amount, certificate, proof }
    } catch (err) {
      const r = { witness, ...describe(err) }
      if (r.reason === 'no-reward') throw new RefusedError(`no reward for this owner in epoch ${epoch}`, { reason: 'no-reward' })
      refusals.push(r)
    }
  }
  const last = refusals[refusals.length - 1]
  throw new RefusedError(`no witness served the claim of epoch ${epoch}: ${refusals.map((r) => r.reason).join(', ')}`, { reason: last?.reason ?? 'unavailable' })
}

// ## Codecs

const CERTIFICATE_BYTES = 18_432

const bodyValue = (b: CertificateBody) => [b.configId, b.epoch, b.root, b.leaves, b.total]
const epochOnly = (what: string) =>
  kind<{ epoch: number }>(16, 1, (m) => [m.epoch], (b) => ({ epoch: uint(fields(b, 1, what)[0], 'epoch') }))
const certificateKind = (what: string, cost: number) =>
  kind<{ certificate: EpochCertificate }>(CERTIFICATE_BYTES, cost, (m) => [certificateValue(m.certificate)], (b) => ({ certificate: certificateFromValue(fields(b, 1, what)[0]) }))

const EPOCH_MESSAGES: Protocol<EpochMessages>['messages'] = Object.freeze({
  signature: kind<SignatureNote>(
    320,
    2,
    (n) => [...bodyValue(n.body), witnessSignatureValue(n.signature), n.reports, n.directory],
    (b) => {
      const [configId, epoch, root, leaves, total, signature, reports, directory] = fields(b, 8, 'signature')
      return {
        body: { configId: bytes(configId, 'configId', 32), epoch: uint(epoch, 'epoch'), root: bytes(root, 'root', 32), leaves: uint(leaves, 'leaves'), total: uint(total, 'total') },
        signature: witnessSignature(signature, 'signature'),
        reports: bytes(reports, 'reports', 32),
        directory: bytes(directory, 'directory', 32),
      }
    },
  ),
  'get-signature': epochOnly('get-signature'),
  'get-certificate': epochOnly('get-certificate'),
  certificate: certificateKind('certificate', 1),
  'get-proof': kind<{ epoch: number; owner: Uint8Array }>(56, 2, (m) => [m.epoch, m.owner], (b) => {
    const [epoch, owner] = fields(b, 2, 'get-proof')
    return { epoch: uint(epoch, 'epoch'), owner: bytes(owner, 'owner', 32) }
  }),
  proof: kind<EpochMessages['proof']>(20_480, 1, (m) => [certificateValue(m.certificate), m.amount, merkleProofValue(m.proof)], (b) => {
    const [certificate, amount, proof] = fields(b, 3, 'proof')
    const a = uint(amount, 'amount')
    if (a < 1) throw new DecodeError('amount must be at least 1')
    return { certificate: certificateFromValue(certificate), amount: a, proof: merkleProofFromValue(proof) }
  }),
  announce: certificateKind('announce', 2),
})
