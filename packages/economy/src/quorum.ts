/**
 * Quorum signatures: k of the n witnesses of a community configuration sign one 32-byte digest.
 * Everything the witnesses vouch for (a new configuration, a registration, a revocation, an
 * account link, an epoch's allocation root) is a domain-tagged digest signed this way.
 *
 * Layout (compact: a witness is named by its index in the configuration's witness list, not by
 * its 32-byte key):
 *
 *   signatures = canonical CBOR array of [index: uint, signature: bstr(64)], indexes strictly increasing
 *
 * Strictly increasing indexes make the encoding canonical and rule out counting one witness twice.
 * Every listed signature must verify (no padding with junk), and at least k must be listed.
 * @module
 */
import { DecodeError, abytes, equalBytes, nobleCrypto, type CborValue, type CryptoProvider, type SignResult, type SigningKey, signThen } from '@tally/core'
import { isBytes, isUint } from './util.js'

/** One witness's signature: its index in the configuration's witness list and 64 bytes. */
export interface WitnessSignature {
  /** Index of the signer in `config.witnesses`. */
  readonly index: number
  /** Ed25519 signature over the digest. */
  readonly signature: Uint8Array
}

/** Signatures of distinct witnesses, by increasing index. */
export type QuorumSignatures = readonly WitnessSignature[]

/** What a set of witnesses looks like to a quorum check. */
export interface WitnessSet {
  /** The witnesses' public keys; a signature names its signer by index in this list. */
  readonly witnesses: readonly Uint8Array[]
  /** k: how many distinct witnesses must sign. */
  readonly quorum: number
}

/**
 * Sign `digest` as one of the witnesses.
 * @param witness the witness's signing key
 * @param set the witness set it belongs to
 * @param digest the 32-byte digest to vouch for
 * @returns its signature, naming it by index
 * @throws RangeError when the key is not in the witness set; TypeError/RangeError on a bad digest
 * @example const sig = witnessSign(w1, config, certificateDigest(body))
 */
export function witnessSign<K extends SigningKey>(witness: K, set: WitnessSet, digest: Uint8Array): SignResult<K, WitnessSignature> {
  abytes('digest', digest, 32)
  const index = set.witnesses.findIndex((w) => equalBytes(w, witness.publicKey))
  if (index < 0) throw new RangeError('"witness" is not one of the configuration\'s witnesses')
  return signThen(witness, digest, (signature): WitnessSignature => Object.freeze({ index, signature }))
}

/**
 * Put signatures in canonical order and drop duplicates (the first signature of an index wins).
 * @param signatures signatures gathered in any order
 * @returns the same signatures by increasing index
 * @example const sigs = sortSignatures([s3, s1, s1])
 */
export function sortSignatures(signatures: readonly WitnessSignature[]): QuorumSignatures {
  const seen = new Set<number>()
  const out: WitnessSignature[] = []
  for (const s of signatures) {
    if (seen.has(s.index)) continue
    seen.add(s.index)
    out.push(s)
  }
  return Object.freeze(out.sort((a, b) => a.index - b.index))
}

/**
 * Check that at least `set.quorum` distinct witnesses signed `digest`, and that every listed
 * signature verifies.
 * @param digest the 32-byte digest
 * @param signatures the signatures (must be by strictly increasing index)
 * @param set witness keys and quorum
 * @param crypto provider (default nobleCrypto)
 * @returns undefined when the quorum holds, else the reason
 * @example const reason = checkQuorum(digest, cert.signatures, config)
 */
export function checkQuorum(
  digest: Uint8Array,
  signatures: QuorumSignatures,
  set: WitnessSet,
  crypto: CryptoProvider = nobleCrypto,
): string | undefined {
  if (!Array.isArray(signatures)) return 'signatures must be a list'
  let last = -1
  for (const s of signatures) {
    if (!isUint(s?.index) || s.index <= last) return 'signer indexes must be strictly increasing'
    if (s.index >= set.witnesses.length) return `signer index ${s.index} is not a witness`
    last = s.index
  }
  if (signatures.length < set.quorum) return `${signatures.length} signatures, the quorum is ${set.quorum}`
  for (const s of signatures) {
    if (!crypto.verify(s.signature, digest, set.witnesses[s.index]!)) return `the signature of witness ${s.index} does not verify`
  }
  return undefined
}

/**
 * The CBOR value of a signature list: [[index, signature], ...].
 * @param signatures the signatures
 * @returns a CBOR array
 * @example encodeCanonical([body, encodeSignatures(sigs)])
 */
export function encodeSignatures(signatures: QuorumSignatures): CborValue {
  return signatures.map((s) => [s.index, s.signature])
}

/**
 * A signature list from its CBOR value (form only; check it with checkQuorum).
 * @param value a decoded CBOR value
 * @param maxSigners most signatures accepted (default 255, the largest witness set)
 * @returns the signatures
 * @throws DecodeError when the value is not a list of [uint, bstr(64)] by strictly increasing index
 * @example const sigs = decodeSignatures(fields[5])
 */
export function decodeSignatures(value: CborValue | undefined, maxSigners = 255): QuorumSignatures {
  if (!Array.isArray(value) || value.length > maxSigners) throw new DecodeError(`signatures must be a list of at most ${maxSigners}`)
  let last = -1
  const out = value.map((pair: CborValue) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw new DecodeError('a signature must be [index, signature]')
    const [index, signature] = pair as CborValue[]
    if (!isUint(index) || index <= last) throw new DecodeError('signer indexes must be strictly increasing integers')
    if (!isBytes(signature, 64)) throw new DecodeError('a signature must be 64 bytes')
    last = index
    return Object.freeze({ index, signature })
  })
  return Object.freeze(out)
}
