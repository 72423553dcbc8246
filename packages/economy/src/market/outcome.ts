/**
 * SLA outcomes, certified beside the rewards: every epoch each community witness evaluates every
 * active offer against the epoch's sealed metrics — the same reports its reward table came from —
 * and signs the root of a Merkle tree of the outcomes. k signatures make an outcome certificate,
 * as hard to forge as the reward certificate it names. Each witness computes the tree alone; the
 * result depends only on the offers, the registrations and the reports, so honest witnesses sign
 * the same root and their signatures combine.
 *
 * Layout (signed, so fixed here):
 *
 *   leaf        = hashLeaf(canonical CBOR ['sla', offer id: bstr(32), epoch: uint, passed: 0|1])
 *   tree        = Merkle tree (merkle.ts) of the leaves, offers by ascending id
 *   body        = canonical CBOR ['sla-outcomes', configId: bstr(32), epoch, root: bstr(32), leaves: uint, rewards: bstr(32)]
 *   digest      = SHA-256(domainTag('certificate') ‖ body)
 *   certificate = [configId, epoch, root, leaves, rewards, signatures]
 *   evidence    = [certificate, proof: [index, siblings], passed: bool]        (one offer, one epoch)
 *
 * The body begins with a text string where a reward certificate's begins with the configuration
 * id, so one can never be read as the other under the shared 'certificate' tag. `rewards` is the
 * root of the same epoch's reward certificate: both certificates speak of one report set.
 *
 * An offer is *certified* in an epoch when it is on offer then (from ≤ epoch < until, not ended
 * before it) and every component it names is registered to the seller, active, of the offer's type,
 * and every metric it names is one of that type's. Anything else is left out of the tree: nobody
 * can settle a cycle on an offer the witnesses did not certify.
 * @module
 */
import { DecodeError, abytes, auint, decodeCanonical, encodeCanonical, equalBytes, nobleCrypto, toHex, type CborValue, type CryptoProvider, type SignResult, type SigningKey } from '@tally/core'
import type { Community } from '../community.js'
import { configId, type CommunityConfig } from '../config.js'
import type { ComponentTable, Directory } from '../directory.js'
import { buildMerkleTree, hashLeaf, merkleProofFromValue, merkleProofValue, verifyMerkleProof, type MerkleProof, type MerkleTree } from '../merkle.js'
import type { EpochMetrics } from '../monitor.js'
import { checkQuorum, decodeSignatures, encodeSignatures, sortSignatures, witnessSign, type QuorumSignatures, type WitnessSignature } from '../quorum.js'
import { OK, isBytes, isUint, taggedHash, type Check } from '../util.js'
import { taggedSha256, type TaggedSha256 } from '../tagged-sha256.js'
import type { OfferView } from './offer.js'

/** What the witnesses sign for an epoch's SLA outcomes. */
export interface OutcomeBody {
  readonly configId: Uint8Array
  readonly epoch: number
  /** Root of the outcome tree. */
  readonly root: Uint8Array
  /** Offers certified (the tree's leaves). */
  readonly leaves: number
  /** The root of the same epoch's reward certificate. */
  readonly rewards: Uint8Array
}

/** An outcome body with a quorum of witness signatures. */
export interface OutcomeCertificate extends OutcomeBody {
  readonly signatures: QuorumSignatures
}

/** One offer's outcome in one epoch, with what proves it. */
export interface OutcomeEvidence {
  readonly certificate: OutcomeCertificate
  readonly proof: MerkleProof
  readonly passed: boolean
}

/** What closeOutcomes produced. */
export interface OutcomeResult {
  readonly epoch: number
  readonly config: CommunityConfig
  /** What the witnesses sign. */
  readonly body: OutcomeBody
  readonly tree: MerkleTree
  /** The certified offers' ids, ascending. */
  readonly ids: readonly Uint8Array[]
  /** Whether the offer passed (undefined when not certified this epoch). */
  outcomeOf(offer: Uint8Array): boolean | undefined
  /** Evidence for one offer under a certificate of this body (undefined when not certified). */
  evidenceFor(offer: Uint8Array, certificate: OutcomeCertificate): OutcomeEvidence | undefined
}

/** Options of closeOutcomes. */
export interface CloseOutcomesOptions {
  /** The directory (registrations; through it the configuration at the epoch). */
  directory: Directory
  /** The epoch's sealed metrics — the very ones closeEpoch used. */
  metrics: EpochMetrics
  /** The offers this witness knows to be on offer in the epoch (a MarketView's `active(epoch)`). */
  offers: Iterable<OfferView>
  /** The root of the epoch's reward certificate (closeEpoch's `body.root`). */
  rewards: Uint8Array
}

/**
 * Evaluate and certify-ready the epoch's SLA outcomes.
 * @param options directory, sealed metrics, active offers, the reward root
 * @returns the result; sign `result.body` with signOutcomes
 * @throws RangeError when no configuration governs the epoch
 * @example const o = closeOutcomes({ directory, metrics, offers: view.active(epoch), rewards: result.body.root })
 */
export function closeOutcomes(options: CloseOutcomesOptions): OutcomeResult {
  const { directory, metrics } = options
  abytes('rewards', options.rewards, 32)
  const epoch = metrics.epoch
  const config = directory.community.configAt(epoch)
  if (config === undefined) throw new RangeError(`no configuration governs epoch ${epoch}`)
  const crypto = directory.community.crypto
  const table = directory.table()
  // one pass over the offers, straight into the epoch's metric sums: the ids of those certified,
  // packed as they are met, and their outcome
  const judge = offerJudge(directory, table, config, metrics)
  // room for every offer of an array (up to 65,536: a long list of mostly inactive offers grows it instead)
  const picked = new Picked(Array.isArray(options.offers) ? Math.min(options.offers.length, 65_536) : 256)
  for (const offer of options.offers) {
    if (epoch < offer.from || epoch >= offer.until) continue
    const passed = judge(offer)
    if (passed !== undefined) picked.add(offer.id, passed)
  }
  const { ids, passed, list } = picked.ascending()
  const count = passed.length
  const tree = buildMerkleTree(outcomeLeaves(ids, passed, epoch))
  const body: OutcomeBody = Object.freeze({ configId: configId(config, crypto), epoch, root: tree.root, leaves: count, rewards: Uint8Array.from(options.rewards) })
  const rowOf = (offer: Uint8Array): number => {
    if (!isBytes(offer, 32)) return -1
    let lo = 0
    let hi = count - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const d = compareAt(ids, mid * 32, offer, 0)
      if (d === 0) return mid
      if (d < 0) lo = mid + 1
      else hi = mid - 1
    }
    return -1
  }
  return Object.freeze({
    epoch,
    config,
    body,
    tree,
    ids: Object.freeze(list),
    outcomeOf(offer: Uint8Array): boolean | undefined {
      const r = rowOf(offer)
      return r < 0 ? undefined : passed[r] === 1
    },
    evidenceFor(offer: Uint8Array, certificate: OutcomeCertificate): OutcomeEvidence | undefined {
      const r = rowOf(offer)
      if (r < 0 || !equalBytes(certificate.root, tree.root)) return undefined
      return Object.freeze({ certificate, proof: tree.prove(r), passed: passed[r] === 1 })
    },
  })
}

/**
 * The leaf of one offer's outcome in one epoch.
 * @param offer the offer id
 * @param epoch the epoch
 * @param passed the outcome
 * @returns its 32-byte leaf hash
 */
export function outcomeLeaf(offer: Uint8Array, epoch: number, passed: boolean): Uint8Array {
  abytes('offer', offer, 32)
  auint('epoch', epoch)
  return hashLeaf(encodeCanonical(['sla', offer, epoch, passed ? 1 : 0]))
}

/**
 * The digest witnesses sign for an epoch's outcomes.
 * @param body the outcome body
 * @param crypto provider (default nobleCrypto)
 * @returns 32 bytes
 */
export function outcomeDigest(body: OutcomeBody, crypto: CryptoProvider = nobleCrypto): Uint8Array {
  return taggedHash('certificate', crypto, encodeCanonical(['sla-outcomes', ...bodyValue(body)]))
}

/**
 * A witness's signature on an outcome body it computed itself.
 * @param body from the witness's own closeOutcomes
 * @param witness its key
 * @param config the configuration named by the body
 * @param crypto provider
 * @returns the signature
 * @throws RangeError when the key is not a witness of `config`, or config is not the body's
 * @example const s = signOutcomes(o.body, w1, o.config)
 */
export function signOutcomes<K extends SigningKey>(body: OutcomeBody, witness: K, config: CommunityConfig, crypto: CryptoProvider = nobleCrypto): SignResult<K, WitnessSignature> {
  if (!equalBytes(configId(config, crypto), body.configId)) throw new RangeError('"config" is not the configuration named by the body')
  return witnessSign(witness, config, outcomeDigest(body, crypto))
}

/**
 * Assemble an outcome certificate: keeps the signatures that verify, the first k by index.
 * @param body the body
 * @param signatures from witnesses, any order
 * @param config the configuration named by the body
 * @param crypto provider
 * @returns the certificate
 * @throws RangeError when fewer than k witnesses signed validly
 */
export function certifyOutcomes(body: OutcomeBody, signatures: readonly WitnessSignature[], config: CommunityConfig, crypto: CryptoProvider = nobleCrypto): OutcomeCertificate {
  const form = checkBody(body)
  if (!form.ok) throw new RangeError(`"body" is malformed: ${form.reason}`)
  if (!equalBytes(body.configId, configId(config, crypto))) throw new RangeError('"body" names another configuration')
  const digest = outcomeDigest(body, crypto)
  const valid = sortSignatures(signatures).filter((s) => s.index < config.witnesses.length && crypto.verify(s.signature, digest, config.witnesses[s.index]!))
  if (valid.length < config.quorum) throw new RangeError(`"signatures" hold ${valid.length} valid witness signatures, the quorum is ${config.quorum}`)
  return Object.freeze({ ...pick(body), signatures: Object.freeze(valid.slice(0, config.quorum)) })
}

/**
 * Check an outcome certificate against a community: signed by a quorum of the configuration that
 * governs its epoch.
 * @param cert the certificate
 * @param community the community
 * @returns ok, or the reason
 */
export function verifyOutcomeCertificate(cert: OutcomeCertificate, community: Community): Check {
  const form = checkBody(cert)
  if (!form.ok) return form
  const config = community.configAt(cert.epoch)
  if (config === undefined) return { ok: false, reason: `no configuration governs epoch ${cert.epoch}` }
  if (!equalBytes(cert.configId, configId(config, community.crypto))) return { ok: false, reason: `not signed under the configuration governing epoch ${cert.epoch}` }
  const reason = checkQuorum(outcomeDigest(cert, community.crypto), cert.signatures, config, community.crypto)
  return reason === undefined ? OK : { ok: false, reason: `witnesses: ${reason}` }
}

/**
 * Check one offer's outcome evidence alone (certificate signatures, then the Merkle proof).
 * @param offer the offer id
 * @param epoch the epoch it speaks of
 * @param evidence certificate, proof, outcome
 * @param community the community
 * @returns ok, or the reason
 */
export function verifyOutcome(offer: Uint8Array, epoch: number, evidence: OutcomeEvidence, community: Community): Check {
  if (evidence?.certificate?.epoch !== epoch) return { ok: false, reason: `the certificate is not of epoch ${epoch}` }
  const cert = verifyOutcomeCertificate(evidence.certificate, community)
  if (!cert.ok) return cert
  return provesOutcome(offer, epoch, evidence) ? OK : { ok: false, reason: 'the proof does not place this outcome under the certificate' }
}

/**
 * Encode outcome evidence.
 * @param evidence the evidence
 * @returns canonical CBOR [certificate, proof, passed]
 */
export function encodeOutcomeEvidence(evidence: OutcomeEvidence): Uint8Array {
  const c = evidence.certificate
  return encodeCanonical([[...bodyValue(c), encodeSignatures(c.signatures)], merkleProofValue(evidence.proof), evidence.passed])
}

/** Largest outcome evidence accepted: a certificate of 255 signatures and a 40-level proof. */
export const OUTCOME_EVIDENCE_MAX_BYTES = 20 * 1024

/**
 * Decode outcome evidence (form only: verifyOutcome checks it).
 * @param bytes the encoding
 * @returns the evidence
 * @throws DecodeError when malformed
 */
export function decodeOutcomeEvidence(bytes: Uint8Array): OutcomeEvidence {
  abytes('bytes', bytes)
  const v = decodeCanonical(bytes, { maxBytes: OUTCOME_EVIDENCE_MAX_BYTES, maxDepth: 5 })
  if (!Array.isArray(v) || v.length !== 3) throw new DecodeError('outcome evidence must be [certificate, proof, passed]')
  const [c, proof, passed] = v as CborValue[]
  if (!Array.isArray(c) || c.length !== 6) throw new DecodeError('an outcome certificate must be [configId, epoch, root, leaves, rewards, signatures]')
  const [id, epoch, root, leaves, rewards, signatures] = c as CborValue[]
  const body = { configId: id, epoch, root, leaves, rewards } as unknown as OutcomeBody
  const form = checkBody(body)
  if (!form.ok) throw new DecodeError(`malformed outcome certificate: ${form.reason}`)
  if (typeof passed !== 'boolean') throw new DecodeError('passed must be a boolean')
  return Object.freeze({ certificate: Object.freeze({ ...pick(body), signatures: decodeSignatures(signatures) }), proof: merkleProofFromValue(proof), passed })
}

/**
 * A bounded memo of outcome certificates that verified (digest and signatures): a redeem of every
 * subscription of a cycle checks one Merkle proof each, not k signatures each.
 * @param community the community
 * @param max certificates remembered (default 1,024; the oldest are forgotten)
 * @returns verify(cert): the same answer as verifyOutcomeCertificate, memoized when ok
 */
export function outcomeCertificateCache(community: Community, max = 1_024): (cert: OutcomeCertificate) => Check {
  const ok = new Set<string>()
  return (cert) => {
    let key: string
    try {
      key = toHex(outcomeDigest(cert, community.crypto)) + cert.signatures.map((s) => `${s.index}:${toHex(s.signature)}`).join(',')
    } catch {
      return { ok: false, reason: 'malformed certificate' }
    }
    if (ok.has(key)) return OK
    const check = verifyOutcomeCertificate(cert, community)
    if (check.ok) {
      ok.add(key)
      if (ok.size > max) ok.delete(ok.values().next().value!)
    }
    return check
  }
}

/**
 * Check one offer's outcome evidence, with certificates checked through `verifyCertificate`.
 * @returns ok, or the reason
 * @internal
 */
export function verifyOutcomeWith(verifyCertificate: (cert: OutcomeCertificate) => Check, offer: Uint8Array, epoch: number, evidence: OutcomeEvidence): Check {
  if (evidence?.certificate?.epoch !== epoch) return { ok: false, reason: `the certificate is not of epoch ${epoch}` }
  const cert = verifyCertificate(evidence.certificate)
  if (!cert.ok) return cert
  return provesOutcome(offer, epoch, evidence) ? OK : { ok: false, reason: 'the proof does not place this outcome under the certificate' }
}

/** Where outcome evidence is found: per offer and epoch. */
export interface OutcomeSource {
  get(offer: Uint8Array, epoch: number): OutcomeEvidence | undefined
}

/** A store of outcome evidence that checks what it keeps, certificates once each. */
export interface OutcomeStore extends OutcomeSource {
  /**
   * Keep evidence after checking it (certificate signatures are checked once per certificate).
   * @returns ok, or why it was not kept
   */
  put(offer: Uint8Array, evidence: OutcomeEvidence): Check
  /** Pieces of evidence held. */
  readonly size: number
}

/**
 * An in-memory outcome store.
 * @param community the community whose witnesses must have signed
 * @returns the store
 * @example const outcomes = createOutcomeStore(community); outcomes.put(offer.id, result.evidenceFor(offer.id, cert)!)
 */
export function createOutcomeStore(community: Community): OutcomeStore {
  const held = new Map<string, OutcomeEvidence>()
  const verify = outcomeCertificateCache(community)
  return {
    get: (offer, epoch) => (offer instanceof Uint8Array ? held.get(`${toHex(offer)}:${epoch}`) : undefined),
    put(offer, evidence) {
      abytes('offer', offer, 32)
      const cert = evidence?.certificate
      if (cert === undefined) return { ok: false, reason: 'no certificate' }
      const check = verifyOutcomeWith(verify, offer, cert.epoch, evidence)
      if (!check.ok) return check
      held.set(`${toHex(offer)}:${cert.epoch}`, evidence)
      return OK
    },
    get size() {
      return held.size
    },
  }
}

// ## Private helpers

function provesOutcome(offer: Uint8Array, epoch: number, evidence: OutcomeEvidence): boolean {
  if (!isBytes(offer, 32) || typeof evidence.passed !== 'boolean') return false
  const c = evidence.certificate
  return verifyMerkleProof(outcomeLeaf(offer, epoch, evidence.passed), evidence.proof, c.leaves, c.root)
}

/**
 * Whether an offer passed the epoch; undefined when it cannot be certified (see the module doc).
 * What depends on the component type alone (its index in the table, its metrics) is looked up once
 * per type and close, not once per offer.
 */
function offerJudge(directory: Directory, table: ComponentTable, config: CommunityConfig, metrics: EpochMetrics): (offer: OfferView) => boolean | undefined {
  type Type = { readonly index: number; readonly metrics: readonly string[] } | undefined
  const types = new Map<string, Type>()
  let lastName: string | undefined
  let last: Type
  const typeOf = (name: string): Type => {
    if (name === lastName) return last
    if (!types.has(name)) {
      const type = Object.hasOwn(config.components, name) ? config.components[name] : undefined
      const index = table.typeNames.indexOf(name)
      types.set(name, type === undefined || index < 0 ? undefined : { index, metrics: type.metrics })
    }
    lastName = name
    last = types.get(name)
    return last
  }
  const { sums, width } = metrics
  const reported = metrics.count
  const slots: number[] = []
  return (offer) => {
    const type = typeOf(offer.type)
    if (type === undefined) return undefined
    const { criteria, components } = offer
    slots.length = criteria.length
    for (let i = 0; i < criteria.length; i++) {
      const s = type.metrics.indexOf(criteria[i]!.metric)
      if (s < 0) return undefined
      slots[i] = s
    }
    let passed = true
    for (let k = 0; k < components.length; k++) {
      const index = componentIndex(directory, table, components[k]!)
      if (index < 0 || index >= table.count || table.active[index] !== 1 || table.type[index] !== type.index) return undefined
      if (compareAt(table.ownerKeys, table.owner[index]! * 32, offer.seller, 0) !== 0) return undefined
      for (let i = 0; i < slots.length && passed; i++) {
        const slot = slots[i]!
        const sum = index < reported && slot < width ? sums[index * width + slot]! : 0
        const c = criteria[i]!
        if (c.op === 'ge' ? sum < c.value : sum > c.value) passed = false
      }
    }
    return passed
  }
}

/**
 * Where the directory last placed each offered component key (the key arrays of the offers a market
 * view holds: the same objects every epoch). A hint only, checked against the table's key bytes at
 * every use: a component's index never changes once registered (revocation clears its active flag),
 * and keys are unique, so a hint whose bytes match is the directory's answer — without building a
 * string of the key and probing the directory's map of every component, once per offer and close.
 */
const componentHints = new WeakMap<Uint8Array, number>()

function componentIndex(directory: Directory, table: ComponentTable, component: Uint8Array): number {
  const hint = componentHints.get(component)
  if (hint !== undefined && hint < table.count && compareAt(table.keys, hint * 32, component, 0) === 0) return hint
  const index = directory.indexOf(component)
  if (index >= 0) componentHints.set(component, index)
  return index
}

/** The offers a close certifies, as it meets them: ids packed 32 bytes each, and outcomes. */
class Picked {
  #count = 0
  #ids: Uint8Array
  #passed: Uint8Array
  readonly #list: Uint8Array[] = []

  constructor(capacity: number) {
    this.#ids = new Uint8Array(Math.max(1, capacity) * 32)
    this.#passed = new Uint8Array(Math.max(1, capacity))
  }

  add(id: Uint8Array, passed: boolean): void {
    const n = this.#count
    if (n === this.#passed.length) {
      const ids = new Uint8Array(n * 64)
      ids.set(this.#ids)
      this.#ids = ids
      const p = new Uint8Array(n * 2)
      p.set(this.#passed)
      this.#passed = p
    }
    const ids = this.#ids
    for (let i = 0; i < 32; i++) ids[n * 32 + i] = id[i]!
    this.#passed[n] = passed ? 1 : 0
    this.#list.push(id)
    this.#count = n + 1
  }

  /**
   * By ascending id; of offers with one id, the last added counts. The ids are SHA-256 hashes: a
   * native numeric sort of their first 32 bits (beside the position) places nearly every one, and
   * the rare runs that share those bits are put in order byte by byte.
   */
  ascending(): { ids: Uint8Array; passed: Uint8Array; list: Uint8Array[] } {
    const n = this.#count
    const from = this.#ids
    const POSITION = 2 ** 21
    const byBytes = (a: number, b: number) => compareAt(from, a * 32, from, b * 32) || a - b
    let order: Uint32Array
    if (n >= POSITION) order = new Uint32Array(n).map((_, i) => i).sort(byBytes)
    else {
      const keys = new Float64Array(n)
      for (let i = 0; i < n; i++) {
        const o = i * 32
        keys[i] = (((from[o]! << 24) | (from[o + 1]! << 16) | (from[o + 2]! << 8) | from[o + 3]!) >>> 0) * POSITION + i
      }
      keys.sort()
      order = new Uint32Array(n)
      for (let j = 0; j < n; j++) order[j] = keys[j]! % POSITION
      for (let j = 0; j + 1 < n; ) {
        const prefix = Math.floor(keys[j]! / POSITION)
        let end = j + 1
        while (end < n && Math.floor(keys[end]! / POSITION) === prefix) end++
        if (end - j > 1) order.subarray(j, end).sort(byBytes)
        j = end
      }
    }
    const ids = new Uint8Array(n * 32)
    const passed = new Uint8Array(n)
    const list: Uint8Array[] = []
    let count = 0
    for (let j = 0; j < n; j++) {
      const i = order[j]!
      if (j + 1 < n && compareAt(from, i * 32, from, order[j + 1]! * 32) === 0) continue
      for (let k = 0; k < 32; k++) ids[count * 32 + k] = from[i * 32 + k]!
      passed[count] = this.#passed[i]!
      list.push(this.#list[i]!)
      count++
    }
    return { ids: ids.subarray(0, count * 32), passed: passed.subarray(0, count), list }
  }
}

/** compareBytes(a[aAt, aAt + 32), b[bAt, bAt + 32)) without views. */
function compareAt(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number): number {
  for (let i = 0; i < 32; i++) {
    const d = a[aAt + i]! - b[bAt + i]!
    if (d !== 0) return d
  }
  return 0
}

/** The leaf hashers, by the length of the epoch's head: one each for the module, as merkle.ts keeps its own (hashing is synchronous, never interleaved). */
const leafHashers: (TaggedSha256 | undefined)[] = []

/**
 * The leaves of the outcomes of `epoch` (ids packed 32 bytes each, passed 0|1 each): the same bytes
 * outcomeLeaf hashes (canonical CBOR ['sla', id, epoch, 0|1], laid out here by hand), through the
 * tree's tagged SHA-256 — the hot path of a close with many offers.
 */
function outcomeLeaves(ids: Uint8Array, passed: Uint8Array, epoch: number): Uint8Array {
  const count = passed.length
  const out = new Uint8Array(count * 32)
  // RFC 8949 §4.2.1: the shortest head for the epoch
  const head: number[] = epoch < 24 ? [epoch] : epoch < 0x100 ? [0x18, epoch] : epoch < 0x1_0000 ? [0x19, epoch >> 8, epoch & 0xff] : epoch < 0x1_0000_0000 ? [0x1a, epoch >>> 24, (epoch >>> 16) & 0xff, (epoch >>> 8) & 0xff, epoch & 0xff] : []
  if (head.length === 0) {
    // beyond 2^32 epochs: the general path
    for (let r = 0; r < count; r++) out.set(outcomeLeaf(ids.subarray(r * 32, r * 32 + 32), epoch, passed[r] === 1), r * 32)
    return out
  }
  const data = new Uint8Array(40 + head.length)
  data.set([0x84, 0x63, 0x73, 0x6c, 0x61, 0x58, 0x20], 0) // array(4), "sla", bytes(32)
  data.set(head, 39)
  const hasher = (leafHashers[head.length] ??= taggedSha256('merkle-leaf', data.length))
  const last = data.length - 1
  for (let r = 0; r < count; r++) {
    for (let i = 0; i < 32; i++) data[7 + i] = ids[r * 32 + i]!
    data[last] = passed[r]!
    hasher.hashInto(data, 0, out, r * 32)
  }
  return out
}

function bodyValue(b: OutcomeBody): CborValue[] {
  abytes('configId', b.configId, 32)
  auint('epoch', b.epoch)
  abytes('root', b.root, 32)
  auint('leaves', b.leaves)
  abytes('rewards', b.rewards, 32)
  return [b.configId, b.epoch, b.root, b.leaves, b.rewards]
}

function pick(b: OutcomeBody): OutcomeBody {
  return { configId: b.configId, epoch: b.epoch, root: b.root, leaves: b.leaves, rewards: b.rewards }
}

function checkBody(b: OutcomeBody): Check {
  if (!isBytes(b?.configId, 32) || !isBytes(b.root, 32) || !isBytes(b.rewards, 32)) return { ok: false, reason: 'configId, root and rewards must be 32 bytes' }
  if (!isUint(b.epoch) || !isUint(b.leaves)) return { ok: false, reason: 'epoch and leaves must be non-negative integers' }
  return OK
}
