/**
 * SLA outcomes over the wire (`tally/market/outcomes/1`): each community witness, at the close of
 * an epoch and from the metrics its reward table came from (the net witness's `beside` hook),
 * evaluates the offers its market view holds as active, signs the outcome root, exchanges notes
 * with the other witnesses, certifies when k agree, announces the certificate, and serves each
 * offer's evidence to anyone (sellers and buyers settling, validators checking a redeem).
 *
 *   kind         body                                                          max bytes  cost  reply
 *   note         [configId, epoch, root, leaves, rewards, [index, sig]]              300     2  (one-way, or the reply to get-note)
 *   get-note     [epoch]                                                               16     1  note
 *   get-outcome  [offer(32), epoch]                                                    56     2  outcome
 *   outcome      [evidence bytes]                                                 20480     1
 *   announce     [evidence-less certificate: configId, epoch, root, leaves, rewards, sigs]  18432  2  (one-way)
 *
 * Witnesses agree when their market views agree on the offers active in the epoch: offers spread
 * to them by gossip before their `from` epoch, and a witness syncs the listing from the other
 * witnesses before each close (the `spread` option). One that still differs signs another root:
 * it is logged ('root-mismatch') and does not block the quorum. Refusals: 'not-closed',
 * 'not-certified', 'unknown-epoch', 'no-outcome' (the offer was not certified that epoch),
 * 'unavailable' (this witness's tree is not the certified one: ask another).
 * @module
 */
import { RefusedError, equalBytes, toHex, type ProtocolHandle, type ProtocolHandler, type ProtocolHost, type Protocol, type SigningKey } from '@tally/core'
import type { Community } from '../community.js'
import { configId } from '../config.js'
import type { BesideClose } from '../net/witness.js'
import { bytes, fields, kind, uint, witnessSignature, witnessSignatureValue } from '../net/codec.js'
import { decodeSignatures, encodeSignatures, type WitnessSignature } from '../quorum.js'
import type { MarketView } from './market-view.js'
import type { OfferSpread } from './offers-protocol.js'
import {
  OUTCOME_EVIDENCE_MAX_BYTES,
  certifyOutcomes,
  closeOutcomes,
  decodeOutcomeEvidence,
  encodeOutcomeEvidence,
  outcomeDigest,
  signOutcomes,
  verifyOutcomeCertificate,
  type OutcomeBody,
  type OutcomeCertificate,
  type OutcomeEvidence,
  type OutcomeResult,
  type OutcomeStore,
} from './outcome.js'

/** The protocol's name. */
export const OUTCOMES_PROTOCOL = 'tally/market/outcomes/1'

/** A witness's signature on its outcome body. */
export interface OutcomeNote {
  readonly body: OutcomeBody
  readonly signature: WitnessSignature
}

/** The outcomes protocol's messages. */
export type OutcomeMessages = {
  note: OutcomeNote
  'get-note': { readonly epoch: number }
  'get-outcome': { readonly offer: Uint8Array; readonly epoch: number }
  outcome: { readonly evidence: OutcomeEvidence }
  announce: { readonly certificate: OutcomeCertificate }
}

/** Something the outcome witness logs. */
export interface OutcomeEvent {
  readonly kind: 'root-mismatch' | 'bad-signature' | 'certified' | 'sync-failed'
  readonly epoch: number
  readonly reason: string
}

/** A community witness's SLA side. */
export interface OutcomeWitness {
  /** Pass as the net witness's `beside` option. */
  readonly beside: (close: BesideClose) => Promise<void>
  /** The outcome certificate of an epoch, if held. */
  certificate(epoch: number): OutcomeCertificate | undefined
  /** This witness's outcome result of an epoch, if kept. */
  result(epoch: number): OutcomeResult | undefined
  /** What it logged (the last 1,000). */
  readonly events: readonly OutcomeEvent[]
  close(): void
}

/** Options of createOutcomeWitness. */
export interface OutcomeWitnessOptions {
  key: SigningKey
  community: Community
  host: ProtocolHost
  /** The witness's market view (offers reach it by gossip). */
  view: MarketView
  /** Sync the listing from the other witnesses before each close (default: no sync). */
  spread?: OfferSpread
  /** Closed epochs kept (default 48). */
  keepEpochs?: number
}

/**
 * The SLA side of a community witness.
 * @param options key, community, host, view, spread
 * @returns the outcome witness; wire `beside` into createWitness
 * @throws RangeError when `key` is not a witness of the current configuration
 * @example
 * const outcomes = createOutcomeWitness({ key: w1, community, host: node, view, spread })
 * const witness = createWitness({ key: w1, community, host: node, epoch: 0, beside: outcomes.beside })
 */
export function createOutcomeWitness(options: OutcomeWitnessOptions): OutcomeWitness {
  const { key, community, view } = options
  if (key === undefined || community === undefined || options.host === undefined || view === undefined) throw new TypeError('"key", "community", "host" and "view" are required')
  if (!community.current.witnesses.some((w) => equalBytes(w, key.publicKey))) throw new RangeError('"key" is not a witness of the community\'s current configuration')
  const crypto = community.crypto
  const keep = options.keepEpochs ?? 48
  const epochs = new Map<number, { result?: OutcomeResult; own?: OutcomeNote; notes: Map<number, OutcomeNote>; certificate?: OutcomeCertificate }>()
  const events: OutcomeEvent[] = []
  const log = (e: OutcomeEvent): void => {
    events.push(e)
    if (events.length > 1_000) events.shift()
  }
  const state = (epoch: number) => {
    let s = epochs.get(epoch)
    if (s === undefined) epochs.set(epoch, (s = { notes: new Map() }))
    return s
  }
  const others = (): Uint8Array[] => community.current.witnesses.filter((w) => !equalBytes(w, key.publicKey))

  let latest = -1 // the last epoch this witness closed
  /** Epochs whose notes and certificates are taken: near what this witness closed (a peer cannot make it hold any number). */
  const near = (epoch: number): boolean => epoch <= latest + 2 && epoch >= latest - keep
  const take = (note: OutcomeNote): void => {
    if (!near(note.body.epoch)) return
    const config = community.configAt(note.body.epoch)
    const signer = config?.witnesses[note.signature.index]
    if (config === undefined || signer === undefined || !crypto.verify(note.signature.signature, outcomeDigest(note.body, crypto), signer)) {
      log({ kind: 'bad-signature', epoch: note.body.epoch, reason: `a note signed by witness ${note.signature.index} does not verify` })
      return
    }
    const s = state(note.body.epoch)
    s.notes.set(note.signature.index, note)
    if (s.own !== undefined && !equalBytes(s.own.body.root, note.body.root)) {
      log({ kind: 'root-mismatch', epoch: note.body.epoch, reason: `witness ${note.signature.index} certifies ${note.body.leaves} offers under another root (we have ${s.own.body.leaves})` })
    }
    tryCertify(note.body.epoch)
  }
  const tryCertify = (epoch: number): void => {
    const s = epochs.get(epoch)
    const config = community.configAt(epoch)
    if (s === undefined || s.certificate !== undefined || config === undefined) return
    const groups = new Map<string, OutcomeNote[]>()
    for (const n of s.notes.values()) {
      if (!equalBytes(n.body.configId, configId(config, crypto))) continue
      const d = toHex(outcomeDigest(n.body, crypto))
      groups.set(d, [...(groups.get(d) ?? []), n])
    }
    for (const notes of groups.values()) {
      if (notes.length < config.quorum) continue
      s.certificate = certifyOutcomes(notes[0]!.body, notes.map((n) => n.signature), config, crypto)
      log({ kind: 'certified', epoch, reason: `${notes.length} witnesses agree on ${s.certificate.leaves} outcomes` })
      // to the other witnesses only: a node that does not host the protocol takes the frame as misbehaviour
      for (const w of others()) handle.peer(w).then((ctx) => ctx.send('announce', { certificate: s.certificate! }), () => {})
      return
    }
  }
  const adopt = (certificate: OutcomeCertificate): void => {
    if (!near(certificate.epoch) || epochs.get(certificate.epoch)?.certificate !== undefined) return
    if (verifyOutcomeCertificate(certificate, community).ok) state(certificate.epoch).certificate = certificate
  }

  const handlers: { -readonly [K in keyof OutcomeMessages]?: ProtocolHandler<OutcomeMessages, K> } = {
    note: (m) => take(m),
    'get-note': (m) => {
      const own = epochs.get(m.epoch)?.own
      if (own === undefined) throw new RefusedError(`epoch ${m.epoch} is not closed here`, { reason: 'not-closed' })
      return { kind: 'note', message: own }
    },
    'get-outcome': (m) => {
      const s = epochs.get(m.epoch)
      if (s === undefined) throw new RefusedError(`epoch ${m.epoch} is not held here`, { reason: 'unknown-epoch' })
      if (s.certificate === undefined) throw new RefusedError(`epoch ${m.epoch} is not certified yet`, { reason: 'not-certified' })
      if (s.result === undefined || !equalBytes(s.result.body.root, s.certificate.root)) throw new RefusedError('this witness\'s outcome tree is not the certified one', { reason: 'unavailable' })
      const evidence = s.result.evidenceFor(m.offer, s.certificate)
      if (evidence === undefined) throw new RefusedError(`the offer was not certified in epoch ${m.epoch}`, { reason: 'no-outcome' })
      return { kind: 'outcome', message: { evidence } }
    },
    announce: (m) => adopt(m.certificate),
  }
  const handle: ProtocolHandle<OutcomeMessages> = options.host.host(outcomesProtocol(handlers))

  return {
    async beside({ epoch, metrics, result, directory }) {
      if (options.spread !== undefined) {
        for (const w of others()) {
          try {
            await options.spread.sync(w)
          } catch (err) {
            log({ kind: 'sync-failed', epoch, reason: `offers from a witness: ${(err as Error)?.message ?? err}` })
          }
        }
      }
      const o = closeOutcomes({ directory, metrics, offers: view.active(epoch), rewards: result.body.root })
      const signature = await signOutcomes(o.body, key, o.config, crypto)
      latest = Math.max(latest, epoch)
      const s = state(epoch)
      s.result = o
      s.own = { body: o.body, signature }
      for (const e of epochs.keys()) if (e < epoch - keep) epochs.delete(e)
      take(s.own)
      for (const n of s.notes.values()) if (!equalBytes(n.body.root, o.body.root)) log({ kind: 'root-mismatch', epoch, reason: `witness ${n.signature.index} certifies ${n.body.leaves} offers under another root (we have ${o.body.leaves})` })
      await Promise.all(
        others().map(async (w) => {
          try {
            const ctx = await handle.peer(w)
            ctx.send('note', s.own!)
            if ([...s.notes.values()].some((n) => signerOf(n) !== undefined && equalBytes(signerOf(n)!, w))) return
            const reply = await ctx.request('get-note', { epoch })
            if (reply.kind === 'note') take(reply.message as OutcomeNote)
          } catch {
            // not closed yet: its note comes by itself
          }
        }),
      )
    },
    certificate: (epoch) => epochs.get(epoch)?.certificate,
    result: (epoch) => epochs.get(epoch)?.result,
    events,
    close: () => handle.close(),
  }

  function signerOf(n: OutcomeNote): Uint8Array | undefined {
    return community.configAt(n.body.epoch)?.witnesses[n.signature.index]
  }
}

/**
 * The outcomes protocol: a witness passes its handlers; a wallet hosts it without handlers (it
 * only asks).
 * @param handlers the witness's side (default none)
 * @returns the protocol, to host
 */
export function outcomesProtocol(handlers: { readonly [K in keyof OutcomeMessages]?: ProtocolHandler<OutcomeMessages, K> } = {}): Protocol<OutcomeMessages> {
  return Object.freeze({ name: OUTCOMES_PROTOCOL, messages: MESSAGES, handlers: Object.freeze({ ...handlers }) })
}

/**
 * Fetch one offer's outcome evidence from the witnesses, in turn, and keep it in `store` (which
 * checks it).
 * @param handle the outcomes protocol's handle
 * @param witnesses whom to ask
 * @param store where verified evidence is kept
 * @param offer the offer id
 * @param epoch the epoch
 * @returns the evidence
 * @throws RefusedError 'no-outcome' when a witness says the offer was not certified; else the last refusal
 */
export async function fetchOutcome(handle: ProtocolHandle<OutcomeMessages>, witnesses: readonly Uint8Array[], store: OutcomeStore, offer: Uint8Array, epoch: number): Promise<OutcomeEvidence> {
  const held = store.get(offer, epoch)
  if (held !== undefined) return held
  const reasons: string[] = []
  for (const w of witnesses) {
    try {
      const reply = await (await handle.peer(w)).request('get-outcome', { offer, epoch })
      if (reply.kind !== 'outcome') throw new RefusedError(`get-outcome answered with ${reply.kind}`, { reason: 'protocol' })
      const evidence = (reply.message as OutcomeMessages['outcome']).evidence
      const kept = store.put(offer, evidence)
      if (!kept.ok) throw new RefusedError(`the evidence does not verify: ${kept.reason}`, { reason: 'invalid' })
      return evidence
    } catch (err) {
      const reason = err instanceof RefusedError ? (err.reason ?? 'refused') : 'unreachable'
      if (reason === 'no-outcome') throw err
      reasons.push(reason)
    }
  }
  throw new RefusedError(`no witness served the outcome of epoch ${epoch}: ${reasons.join(', ')}`, { reason: reasons[reasons.length - 1] ?? 'unavailable' })
}

// ## Codecs

const bodyValue = (b: OutcomeBody) => [b.configId, b.epoch, b.root, b.leaves, b.rewards]
const readBody = (f: readonly unknown[]): OutcomeBody => ({
  configId: bytes(f[0] as never, 'configId', 32),
  epoch: uint(f[1] as never, 'epoch'),
  root: bytes(f[2] as never, 'root', 32),
  leaves: uint(f[3] as never, 'leaves'),
  rewards: bytes(f[4] as never, 'rewards', 32),
})

const MESSAGES: Protocol<OutcomeMessages>['messages'] = Object.freeze({
  note: kind<OutcomeNote>(300, 2, (n) => [...bodyValue(n.body), witnessSignatureValue(n.signature)], (b) => {
    const f = fields(b, 6, 'note')
    return { body: readBody(f), signature: witnessSignature(f[5], 'note.signature') }
  }),
  'get-note': kind<{ epoch: number }>(16, 1, (m) => [m.epoch], (b) => ({ epoch: uint(fields(b, 1, 'get-note')[0], 'epoch') })),
  'get-outcome': kind<{ offer: Uint8Array; epoch: number }>(56, 2, (m) => [m.offer, m.epoch], (b) => {
    const [offer, epoch] = fields(b, 2, 'get-outcome')
    return { offer: bytes(offer, 'offer', 32), epoch: uint(epoch, 'epoch') }
  }),
  outcome: kind<{ evidence: OutcomeEvidence }>(OUTCOME_EVIDENCE_MAX_BYTES + 16, 1, (m) => [encodeOutcomeEvidence(m.evidence)], (b) => ({
    evidence: decodeOutcomeEvidence(bytes(fields(b, 1, 'outcome')[0], 'evidence', undefined, OUTCOME_EVIDENCE_MAX_BYTES)),
  })),
  announce: kind<{ certificate: OutcomeCertificate }>(18_432, 2, (m) => [[...bodyValue(m.certificate), encodeSignatures(m.certificate.signatures)]], (b) => {
    const c = fields(fields(b, 1, 'announce')[0] ?? null, 6, 'announce.certificate')
    return { certificate: { ...readBody(c), signatures: decodeSignatures(c[5]) } }
  }),
})
