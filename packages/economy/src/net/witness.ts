/**
 * A community witness on the network: one directory, one monitor, the report set of the open
 * epoch, its certificates and its ticket decisions, served over five protocols (reports,
 * registry, sync, epochs, tickets) that a node hosts. Nothing here trusts another witness: each
 * checks every statement, report and signature it takes, computes its own table, and signs only
 * its own root. A witness that computes another root is logged with the reason and does not
 * block the quorum; a witness that is late, or restarted empty, catches up from the others.
 *
 * The close of an epoch, `close()`:
 *   1. catch up on statements (sync 'statements') and reconcile the open epoch's reports (sync
 *      'reports') with every other witness, pulling only what differs;
 *   2. seal the metrics (re-summed from the set when reconciliation brought reports out of order),
 *      closeEpoch, sign the body;
 *   3. send the signature note to every witness, ask those not yet heard from for theirs;
 *   4. when k notes agree on a body, certify it and announce the certificate to every peer.
 * @module
 */
import { RefusedError, decodeCanonical, equalBytes, nobleCrypto, toHex, type CryptoProvider, type ProtocolHandle, type ProtocolHost, type SigningKey, type TimerHandle } from '@tally/core'
import { certificateDigest, certify, signCertificate, verifyCertificateIn, type EpochCertificate } from '../certificate.js'
import type { Community } from '../community.js'
import { configId } from '../config.js'
import { createDirectory, type ComponentInfo, type Directory } from '../directory.js'
import { closeEpoch, type EpochResult } from '../epoch.js'
import { createKarmaLedger, type KarmaLedger } from '../karma.js'
import type { MerkleProof } from '../merkle.js'
import { createMonitor, ingestDecoded, type EpochMetrics, type Monitor, type SignatureBatchVerifier, type SignedMessage } from '../monitor.js'
import { keyString } from '../util.js'
import { decodeReport, reportMessage, type SignedReport } from '../report.js'
import {
  approveRegistration,
  approveRevocation,
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
import type { WitnessSignature } from '../quorum.js'
import { approveLink, decodeLink, encodeLink, linkDigest, type AccountAuthorizer, type LinkRequest, type SignedLink } from '../wallet-link.js'
import { epochsProtocol, type EpochMessages, type EpochService, type SignatureNote } from './epochs.js'
import { DIGEST_BYTES, KeyedSet } from './keyed-set.js'
import { ReportLog } from './report-log.js'
import { registryProtocol, type RegistryMessages, type RegistryService } from './registry.js'
import { reportsProtocol, type ReportMessages, type ReportSink, type WireVerdict } from './reports.js'
import { pullSet, setLabel, syncProtocol, type PullStats, type SetName, type SyncMessages, type SyncSource } from './sync.js'
import { createMemoryDecisions, ticketsProtocol, type DecisionStore } from './tickets.js'

/** What a witness keeps and takes, at most. */
export interface WitnessLimits {
  /** Reports taken from one peer per epoch (a gateway forwarding for many components is one peer). */
  readonly reportsPerPeer: number
  /** Reports kept per component per epoch. */
  readonly reportsPerComponent: number
  /** Reports kept per epoch in all. */
  readonly reportsPerEpoch: number
  /** Items pulled from one witness in one reconciliation. */
  readonly pullItems: number
  /** Closed epochs whose tables, signatures and certificates are kept (proofs of older ones: 'unknown-epoch'). */
  readonly keepEpochs: number
  /**
   * Owners of registered components this witness admits on its node (no strangers to it: their
   * claims, tickets and seq-witness queries are not held by the strangers' budget), at most. A
   * registration needs only its owner's and component's signatures, so anyone can register: the
   * cap keeps such owners from crowding out the other witnesses' admission. 0: none.
   */
  readonly admitOwners: number
  /**
   * Hosts this witness admits on its node, at most: the peer that delivered the latest accepted
   * report of a registered component (one host per component, so a component moved to another
   * host moves its admission; a host is withdrawn when no component is carried by it any more).
   * A gateway host is no owner and would otherwise deliver its components' reports at a
   * stranger's rates. 0: none.
   */
  readonly admitHosts: number
}

/** The default limits. */
export const WITNESS_LIMITS: WitnessLimits = Object.freeze({ reportsPerPeer: 100_000, reportsPerComponent: 64, reportsPerEpoch: 4_000_000, pullItems: 100_000, keepEpochs: 24, admitOwners: 1024, admitHosts: 1024 })

/** Something a witness logs: another witness disagreeing, a failed sync, a certificate. */
export interface WitnessEvent {
  readonly kind: 'root-mismatch' | 'bad-signature' | 'outvoted' | 'sync-failed' | 'certified' | 'admission'
  readonly epoch: number
  /** The other witness's index, when the event is about one. */
  readonly witness?: number
  readonly reason: string
}

/** Options of createWitness. */
export interface WitnessOptions {
  /** The witness's key: one of the community's witnesses. */
  key: SigningKey
  /** The community. */
  community: Community
  /** The node that hosts the witness's protocols. */
  host: ProtocolHost
  /** The first open epoch. */
  epoch: number
  /** Checks account links before this witness signs them (without one, links are refused: 'no-authorizer'). */
  authorizer?: AccountAuthorizer
  /** Who may ask to revoke a component (default: its owner, as proven by the session). */
  mayRevoke?: (component: ComponentInfo, peer: Uint8Array) => boolean
  /** Where ticket decisions are kept (default: memory; a durable store in production). */
  decisions?: DecisionStore
  /** How long after a proposal's expiry a void may still be asked (ms; default 7 days). */
  ticketHorizon?: number
  /** Batch signature checks for reports (a worker pool). */
  verify?: SignatureBatchVerifier
  /** Limits (defaults: WITNESS_LIMITS). */
  limits?: Partial<WitnessLimits>
  /** Told of every event (also kept in `events`). */
  onEvent?: (event: WitnessEvent) => void
  /** Close each epoch by itself `graceMs` after it ends, on the host's clock (default: only when `close()` is called). */
  schedule?: { graceMs: number }
  /**
   * Called at each close with the sealed metrics and the result, before the signatures go out:
   * what is certified beside the rewards (SLA outcomes: @tally/economy/market's outcome witness)
   * sees the very reports the table came from. Awaited; a throw is logged, never fails the close.
   */
  beside?: (close: BesideClose) => void | Promise<void>
}

/** What a close shows to the `beside` hook. */
export interface BesideClose {
  readonly epoch: number
  readonly metrics: EpochMetrics
  readonly result: EpochResult
  readonly directory: Directory
}

/** What a close did. */
export interface CloseOutcome {
  readonly epoch: number
  /** The result this witness computed and signed. */
  readonly result: EpochResult
  /** The certificate, when k witnesses agreed by the end of the close (later ones arrive by themselves). */
  readonly certificate: EpochCertificate | undefined
}

/** A witness node. */
export interface Witness {
  /** The witness's key. */
  readonly publicKey: Uint8Array
  /** Its directory. */
  readonly directory: Directory
  /** The open epoch. */
  readonly epoch: number
  /** What it logged, oldest first (the last 1,000). */
  readonly events: readonly WitnessEvent[]
  /** Pull the statements this witness lacks from every other witness. */
  catchUp(): Promise<PullStats[]>
  /** Pull the open epoch's reports this witness lacks from every other witness. */
  reconcile(): Promise<PullStats[]>
  /** Catch up, reconcile, close the open epoch, sign, exchange signatures, certify when k agree. */
  close(): Promise<CloseOutcome>
  /** The certificate of an epoch, if held. */
  certificate(epoch: number): EpochCertificate | undefined
  /** This witness's result of a closed epoch, if kept. */
  result(epoch: number): EpochResult | undefined
  /** Reports held for an epoch (the open one, or one recently closed). */
  reportCount(epoch: number): number
  /** Stop the close timer. */
  stop(): void
}

/**
 * A witness: hosts the reports, registry, sync, epochs and tickets protocols on `host`.
 * @param options key, community, host, first epoch, authorizer, limits, decisions
 * @returns the witness
 * @throws RangeError when `key` is not a witness of the community's current configuration
 * @example
 * const witness = createWitness({ key: w1, community, host: node, epoch: epochAt(community.current, Date.now()) })
 * const { certificate } = await witness.close()
 */
export function createWitness(options: WitnessOptions): Witness {
  return new WitnessNode(options)
}

interface EpochState {
  result?: EpochResult
  own?: SignatureNote
  readonly notes: Map<number, SignatureNote>
  readonly logged: Set<number>
  certificate?: EpochCertificate
}

class WitnessNode implements Witness, ReportSink, RegistryService, EpochService, SyncSource {
  readonly publicKey: Uint8Array
  readonly directory: Directory
  readonly #key: SigningKey
  readonly #community: Community
  readonly #crypto: CryptoProvider
  readonly #limits: WitnessLimits
  readonly #authorizer: AccountAuthorizer | undefined
  readonly #mayRevoke: (component: ComponentInfo, peer: Uint8Array) => boolean
  readonly #onEvent: (event: WitnessEvent) => void
  readonly #karma: KarmaLedger
  readonly #verify: SignatureBatchVerifier | undefined
  #monitor: Monitor
  readonly #logs = new Map<number, ReportLog>()
  readonly #statements = new KeyedSet()
  readonly #statementBytes = new Map<string, Uint8Array>()
  readonly #epochs = new Map<number, EpochState>()
  readonly #events: WitnessEvent[] = []
  readonly #sync: ProtocolHandle<SyncMessages>
  readonly #registry: ProtocolHandle<RegistryMessages>
  /** Owners admitted for their registrations (at most limits.admitOwners), and the other witnesses admitted. */
  readonly #owners = new Set<string>()
  /**
   * The host each component's latest accepted report came from: by the component's directory
   * index, its host's number + 1 (0: none); the hosts by number (undefined: a free number), with
   * the components each carries, and the numbers by hex key.
   */
  #hostOf = new Int32Array(0)
  readonly #hostList: (Host | undefined)[] = []
  readonly #hostNumbers = new Map<string, number>()
  readonly #freeHosts: number[] = []
  #admittedHosts = 0
  #reports!: ProtocolHandle<ReportMessages>
  #admittedWitnesses: readonly Uint8Array[] = []
  readonly #signatures: ProtocolHandle<EpochMessages>
  readonly #decisions: DecisionStore
  readonly #horizon: number
  readonly #schedule: { graceMs: number } | undefined
  readonly #beside: WitnessOptions['beside']
  #timer: TimerHandle | undefined
  #tail: Promise<unknown> = Promise.resolve()
  /** Submissions being checked (at most TAKES_AT_ONCE), and those waiting their turn. */
  #taking = 0
  readonly #waiting: (() => void)[] = []

  constructor(options: WitnessOptions) {
    if (options?.key === undefined || options.community === undefined || options.host === undefined) throw new TypeError('"key", "community" and "host" are required')
    const { key, community } = options
    if (!community.current.witnesses.some((w) => equalBytes(w, key.publicKey))) throw new RangeError('"key" is not a witness of the community\'s current configuration')
    this.publicKey = key.publicKey
    this.#key = key
    this.#community = community
    this.#crypto = community.crypto ?? nobleCrypto
    this.#limits = { ...WITNESS_LIMITS, ...options.limits }
    this.#authorizer = options.authorizer
    this.#mayRevoke = options.mayRevoke ?? ((info, peer) => equalBytes(info.owner, peer))
    this.#onEvent = options.onEvent ?? (() => {})
    this.#beside = options.beside
    this.#verify = options.verify === undefined ? undefined : coalesced(options.verify)
    this.#decisions = options.decisions ?? createMemoryDecisions()
    this.#horizon = options.ticketHorizon ?? 7 * 24 * 3_600_000
    this.#schedule = options.schedule
    this.directory = createDirectory(community, { crypto: this.#crypto })
    this.#karma = createKarmaLedger({ window: community.current.window })
    this.#monitor = this.#newMonitor(options.epoch)
    this.#logs.set(options.epoch, this.#newLog(options.epoch))
    const host = options.host
    this.#reports = host.host(reportsProtocol(this))
    this.#registry = host.host(registryProtocol(this))
    this.#sync = host.host(syncProtocol(this))
    this.#admitWitnesses()
    this.#signatures = host.host(epochsProtocol(this, (cert) => this.#adopt(cert)))
    host.host(ticketsProtocol({ key, community, decisions: this.#decisions, horizon: this.#horizon }))
    this.#arm()
  }

  get epoch(): number {
    return this.#monitor.epoch
  }

  get events(): readonly WitnessEvent[] {
    return this.#events.slice()
  }

  // ## Reports (ReportSink)

  async take(submission: ReportMessages['submit'], peer: Uint8Array): Promise<readonly WireVerdict[]> {
    // a few submissions at a time are decoded and checked; the others wait their turn as they
    // came (their bytes only): 1,000 connections' reports decoded at once would all wait for the
    // verify pool for seconds, long enough for the collector to move every one to the old
    // generation, which is what a witness's memory peak and much of its collector time were
    if (this.#taking < TAKES_AT_ONCE) this.#taking++
    else await new Promise<void>((resolve) => this.#waiting.push(resolve))
    try {
      // its reports read now, at its turn (a submission from the wire makes their views then)
      return await this.#take(submission.reports, peer)
    } finally {
      const next = this.#waiting.shift()
      if (next !== undefined) next()
      else this.#taking--
    }
  }

  async #take(reports: readonly Uint8Array[], peer: Uint8Array): Promise<readonly WireVerdict[]> {
    const verdicts: WireVerdict[] = new Array(reports.length)
    // each report is decoded once, here: the monitor takes the decoded report (ingestDecoded)
    const passed: { at: number; bytes: Uint8Array; report: SignedReport; index: number }[] = []
    const log = this.#logs.get(this.#monitor.epoch)!
    // reports of one component earlier in this submission, by its directory index (by its key
    // when unregistered: the monitor refuses those, after the quotas as before)
    const batch = new Map<number | string, number>()
    let fromPeer = log.fromPeer(peer)
    for (let at = 0; at < reports.length; at++) {
      const bytes = reports[at]!
      let report: SignedReport
      try {
        report = decodeReport(bytes)
      } catch (err) {
        verdicts[at] = { code: 'malformed', reason: (err as Error).message }
        continue
      }
      // the component's number, for its count and its host: a flat array each, not a map of keys
      const index = this.directory.indexOf(report.component)
      const inBatch = batch.get(index >= 0 ? index : keyString(report.component)) ?? 0
      if (fromPeer >= this.#limits.reportsPerPeer) verdicts[at] = { code: 'quota', reason: `${this.#limits.reportsPerPeer} reports from this peer in epoch ${log.epoch}` }
      else if (log.countAt(index) + inBatch >= this.#limits.reportsPerComponent) verdicts[at] = { code: 'quota', reason: `${this.#limits.reportsPerComponent} reports of this component in epoch ${log.epoch}` }
      else if (log.size >= this.#limits.reportsPerEpoch) verdicts[at] = { code: 'quota', reason: `epoch ${log.epoch} holds ${this.#limits.reportsPerEpoch} reports` }
      else {
        fromPeer++
        batch.set(index >= 0 ? index : keyString(report.component), inBatch + 1)
        passed.push({ at, bytes, report, index })
      }
    }
    if (passed.length > 0) log.charge(peer, passed.length)
    const checked = passed.length === 0 ? [] : await ingestDecoded(this.#monitor, passed.map((p) => p.report))
    let host = -1
    for (let j = 0; j < passed.length; j++) {
      const { at, bytes, report, index } = passed[j]!
      const v = checked[j]!
      if (v.ok) {
        // accepted: registered, so index >= 0 (indexes never change once given)
        this.#logs.get(report.epoch)?.add(report, bytes, index)
        verdicts[at] = OK_VERDICT
        if (host < 0) host = this.#hostNumber(peer)
        this.#carriedBy(index, host)
      } else verdicts[at] = v.code === 'duplicate' ? this.#outOfOrder(report, bytes) : { code: v.code, reason: v.reason }
    }
    return verdicts
  }

  /**
   * A report the monitor called a duplicate (its seq is not above the last it summed): the same
   * report again, or one that arrives out of order or in another version (then the set is dirty).
   */
  #outOfOrder(report: SignedReport, bytes: Uint8Array): WireVerdict {
    const log = this.#logs.get(report.epoch)
    if (log === undefined || report.epoch !== this.#monitor.epoch) return { code: 'late', reason: `epoch ${report.epoch} is closed` }
    const held = log.get(report.component, report.seq)
    if (held !== undefined && equalBytes(held, bytes)) return { code: 'duplicate', reason: `seq ${report.seq} is held already` }
    // the monitor stops at 'duplicate' before checking the signature
    if (!this.#crypto.verify(report.signature, reportMessage(this.#community.id, report.body), report.component)) return { code: 'signature', reason: 'the component\'s signature does not verify' }
    const added = log.add(report, bytes)
    if (added === 'kept' || added === 'same') return { code: 'duplicate', reason: `another report of seq ${report.seq} is held` }
    log.dirty = true
    return { code: 'ok', reason: '' }
  }

  /** Items pulled from another witness: checked as a submission is, without its quotas per peer. */
  async #takeSynced(items: readonly Uint8Array[]): Promise<number> {
    let taken = 0
    for (const bytes of items) {
      let report: SignedReport
      try {
        report = decodeReport(bytes)
      } catch {
        continue
      }
      const log = this.#logs.get(report.epoch)
      if (log === undefined || report.epoch !== this.#monitor.epoch) continue
      if (log.countOf(report.component) >= this.#limits.reportsPerComponent && log.get(report.component, report.seq) === undefined) continue
      const v = this.#monitor.submit(bytes)
      if (v.ok) {
        log.add(report, bytes)
        taken++
      } else if (v.code === 'duplicate' && this.#outOfOrder(report, bytes).code === 'ok') taken++
    }
    return taken
  }

  // ## Statements (RegistryService)

  async approveRegistration(request: RegistrationRequest): Promise<WitnessSignature> {
    const held = this.directory.find(request.component)
    if (held !== undefined && !held.active) throw new RefusedError('this component key was revoked', { reason: 'revoked' })
    if (held !== undefined && (!equalBytes(held.owner, request.owner) || held.type !== request.type)) throw new RefusedError('this component is registered to another owner or type', { reason: 'conflict' })
    const approval = await approveRegistration(request, this.#key, this.#community.current, this.#community.id, this.#crypto)
    if (!approval.ok) throw new RefusedError(approval.reason, { reason: 'invalid' })
    return approval.signature
  }

  async approveRevocation(component: Uint8Array, peer: Uint8Array): Promise<WitnessSignature> {
    const info = this.directory.find(component)
    if (info === undefined) throw new RefusedError('no such component', { reason: 'unknown' })
    if (!this.#mayRevoke(info, peer)) throw new RefusedError('only the component\'s owner may ask to revoke it', { reason: 'not-owner' })
    return approveRevocation({ community: this.#community.id, component }, this.#key, this.#community.current, this.#crypto)
  }

  async approveLink(request: LinkRequest): Promise<WitnessSignature> {
    if (this.#authorizer === undefined) throw new RefusedError('this witness checks no accounts', { reason: 'no-authorizer' })
    const approval = await approveLink(request, { authorizer: this.#authorizer, witness: this.#key, config: this.#community.current, community: this.#community.id, crypto: this.#crypto })
    if (!approval.ok) throw new RefusedError(approval.reason, { reason: 'unauthorized' })
    return approval.signature
  }

  apply(statement: { register: SignedRegistration } | { revoke: SignedRevocation } | { link: SignedLink }): void {
    const outcome = this.#apply(statement)
    if (!outcome.ok) throw new RefusedError(outcome.reason, { reason: outcome.code })
  }

  #apply(statement: { register: SignedRegistration } | { revoke: SignedRevocation } | { link: SignedLink }): { ok: true } | { ok: false; code: string; reason: string } {
    if ('register' in statement) {
      const outcome = this.directory.register(statement.register)
      if (outcome.ok) {
        this.#remember(registrationDigest(statement.register, this.#crypto), encodeRegistration(statement.register))
        this.#admitOwner(statement.register.owner)
      }
      return outcome
    }
    if ('revoke' in statement) {
      const outcome = this.directory.revoke(statement.revoke)
      if (outcome.ok) {
        this.#remember(revocationDigest(statement.revoke, this.#crypto), encodeRevocation(statement.revoke))
        const owner = this.directory.find(statement.revoke.component)?.owner
        // an owner whose last active component went is a stranger again
        if (owner !== undefined && this.directory.componentsOf(owner).every((i) => this.directory.get(i)?.active !== true)) this.#unadmitOwner(owner)
      }
      return outcome
    }
    const outcome = this.directory.link(statement.link)
    if (outcome.ok) this.#remember(linkDigest(statement.link, this.#crypto), encodeLink(statement.link))
    return outcome
  }

  #remember(id: Uint8Array, bytes: Uint8Array): void {
    const key = latin1(id)
    if (this.#statementBytes.has(key)) return
    this.#statementBytes.set(key, bytes)
    this.#statements.set(id, id.subarray(0, DIGEST_BYTES))
  }

  /** Statements pulled from another witness: registrations, then links, then revocations, each checked by the directory. */
  #takeStatements(items: readonly Uint8Array[]): number {
    const parsed: ({ register: SignedRegistration } | { revoke: SignedRevocation } | { link: SignedLink })[] = []
    for (const bytes of items) {
      try {
        const kind = (decodeCanonical(bytes, { maxBytes: 32 * 1024, maxDepth: 4 }) as unknown[])[0]
        if (kind === 'register') parsed.push({ register: decodeRegistration(bytes) })
        else if (kind === 'revoke') parsed.push({ revoke: decodeRevocation(bytes) })
        else if (kind === 'link') parsed.push({ link: decodeLink(bytes) })
      } catch {
        // a malformed item is skipped: the peer wasted its own reply
      }
    }
    const order = (s: (typeof parsed)[number]): number => ('register' in s ? 0 : 'link' in s ? 1 : 2)
    parsed.sort((a, b) => order(a) - order(b))
    return parsed.filter((s) => this.#apply(s).ok).length
  }

  // ## Sync (SyncSource)

  set(name: SetName): KeyedSet | undefined {
    return name.name === 'statements' ? this.#statements : this.#logs.get(name.epoch)?.set
  }

  item(name: SetName, key: Uint8Array): Uint8Array | undefined {
    return name.name === 'statements' ? this.#statementBytes.get(latin1(key)) : this.#logs.get(name.epoch)?.item(key)
  }

  mayAsk(peer: Uint8Array): boolean {
    return this.#community.current.witnesses.some((w) => equalBytes(w, peer))
  }

  async catchUp(): Promise<PullStats[]> {
    const pull = () => this.#pullAll({ name: 'statements' }, this.#statements, async (items) => this.#takeStatements(items))
    const first = await pull()
    // a revocation fetched before its registration (another bucket, a later batch) is taken on a second pass
    return first.some((s) => s.taken < s.fetched) ? [...first, ...(await pull())] : first
  }

  reconcile(): Promise<PullStats[]> {
    const epoch = this.#monitor.epoch
    return this.#pullAll({ name: 'reports', epoch }, this.#logs.get(epoch)!.set, (items) => this.#takeSynced(items))
  }

  /** Pull from every other witness at once (each pull's walk is round trips; what two hold is taken once). */
  async #pullAll(set: SetName, local: KeyedSet, take: (items: readonly Uint8Array[]) => Promise<number>): Promise<PullStats[]> {
    const out = await Promise.all(
      this.#others().map(async (w) => {
        try {
          return await pullSet(await this.#sync.peer(w), set, local, take, { maxItems: this.#limits.pullItems })
        } catch (err) {
          this.#event({ kind: 'sync-failed', epoch: this.#monitor.epoch, witness: this.#indexOf(w), reason: `${setLabel(set)}: ${(err as Error)?.message ?? err}` })
          return undefined
        }
      }),
    )
    return out.filter((s): s is PullStats => s !== undefined)
  }

  // ## Close

  close(): Promise<CloseOutcome> {
    const run = this.#tail.then(() => this.#close())
    this.#tail = run.catch(() => undefined)
    return run
  }

  async #close(): Promise<CloseOutcome> {
    const epoch = this.#monitor.epoch
    this.#admitWitnesses() // the configuration may have changed since
    await this.catchUp()
    await this.reconcile()
    const log = this.#logs.get(epoch)!
    const metrics = log.dirty ? await this.#resum(log) : this.#monitor.close()
    if (log.dirty) this.#monitor.close()
    this.#logs.set(epoch + 1, this.#newLog(epoch + 1))
    for (const e of this.#logs.keys()) if (e < epoch - 1) this.#logs.delete(e)
    const result = closeEpoch({ directory: this.directory, karma: this.#karma, metrics })
    if (this.#beside !== undefined) {
      try {
        await this.#beside({ epoch, metrics, result, directory: this.directory })
      } catch (err) {
        this.#event({ kind: 'sync-failed', epoch, reason: `beside the close: ${(err as Error)?.message ?? err}` })
      }
    }
    const signature = await signCertificate(result.body, this.#key, result.config, this.#crypto)
    const note: SignatureNote = { body: result.body, signature, reports: log.set.root(this.#crypto), directory: this.#statements.root(this.#crypto) }
    const state = this.#state(epoch)
    state.result = result
    state.own = note
    state.notes.set(signature.index, note)
    for (const other of state.notes.values()) this.#compare(epoch, state, other)
    this.#outvoted(epoch, state)
    for (const [e] of this.#epochs) if (e < epoch - this.#limits.keepEpochs) this.#epochs.delete(e)
    await this.#decisions.prune(this.#signatures.clock.now() - this.#horizon)

    const others = this.#others()
    await Promise.all(
      others.map(async (w) => {
        try {
          const ctx = await this.#signatures.peer(w)
          ctx.send('signature', note)
          const index = this.#indexOf(w)
          if (state.notes.has(index)) return
          const reply = await ctx.request('get-signature', { epoch })
          if (reply.kind === 'signature') this.takeSignature(reply.message)
        } catch {
          // not closed yet, or unreachable: its note arrives by itself when it closes
        }
      }),
    )
    this.#tryCertify(epoch)
    this.#arm()
    return { epoch, result, certificate: state.certificate }
  }

  /** Re-sum a set that reconciliation changed out of order: every report again, in key order. */
  async #resum(log: ReportLog): Promise<EpochMetrics> {
    // signatures were checked as each report came in
    const monitor = createMonitor({ directory: this.directory, epoch: log.epoch, crypto: this.#crypto, verify: async (items) => items.map(() => true) })
    const sorted = log.sorted()
    for (let at = 0; at < sorted.length; at += 8192) await monitor.ingest(sorted.slice(at, at + 8192))
    return monitor.close()
  }

  // ## Certificates (EpochService)

  takeSignature(note: SignatureNote): void {
    const epoch = note.body.epoch
    const open = this.#monitor.epoch
    if (epoch > open + 1 || epoch < open - this.#limits.keepEpochs) return
    const config = this.#community.configAt(epoch)
    const witness = config?.witnesses[note.signature.index]
    if (config === undefined || witness === undefined || !this.#crypto.verify(note.signature.signature, certificateDigest(note.body, this.#crypto), witness)) {
      this.#event({ kind: 'bad-signature', epoch, witness: note.signature.index, reason: 'a signature note that does not verify under the epoch\'s configuration' })
      return
    }
    const state = this.#state(epoch)
    if (state.notes.has(note.signature.index)) return
    state.notes.set(note.signature.index, note)
    this.#compare(epoch, state, note)
    this.#tryCertify(epoch)
  }

  serveSignature(epoch: number): SignatureNote {
    const own = this.#epochs.get(epoch)?.own
    if (own === undefined) throw new RefusedError(`epoch ${epoch} is not closed here`, { reason: 'not-closed' })
    return own
  }

  serveCertificate(epoch: number): EpochCertificate {
    const state = this.#epochs.get(epoch)
    if (state?.certificate !== undefined) return state.certificate
    if (state?.own !== undefined) throw new RefusedError(`epoch ${epoch} is closed here but not certified yet`, { reason: 'not-certified' })
    throw new RefusedError(`no certificate of epoch ${epoch} held`, { reason: 'unknown-epoch' })
  }

  serveProof(epoch: number, owner: Uint8Array): { certificate: EpochCertificate; amount: number; proof: MerkleProof } {
    const certificate = this.serveCertificate(epoch)
    const result = this.#epochs.get(epoch)?.result
    if (result === undefined || !equalBytes(result.body.root, certificate.root)) throw new RefusedError(`this witness's table of epoch ${epoch} is not the certified one`, { reason: 'unavailable' })
    const amount = result.amountOf(owner)
    const proof = amount > 0 ? result.proofFor(owner) : undefined
    if (proof === undefined) throw new RefusedError(`no reward for this owner in epoch ${epoch}`, { reason: 'no-reward' })
    return { certificate, amount, proof }
  }

  /** A certificate announced by someone: kept when it verifies and none is held. */
  #adopt(certificate: EpochCertificate): void {
    const state = this.#state(certificate.epoch)
    if (state.certificate !== undefined || !verifyCertificateIn(certificate, this.#community).ok) return
    state.certificate = certificate
    this.#outvoted(certificate.epoch, state)
  }

  /** Log that the certified root is not ours (once we have one and a certificate). */
  #outvoted(epoch: number, state: EpochState): void {
    if (state.own === undefined || state.certificate === undefined) return
    if (equalBytes(certificateDigest(state.own.body, this.#crypto), certificateDigest(state.certificate, this.#crypto))) return
    this.#event({ kind: 'outvoted', epoch, reason: `k other witnesses certified root ${toHex(state.certificate.root).slice(0, 12)}, ours is ${toHex(state.own.body.root).slice(0, 12)}` })
  }

  #compare(epoch: number, state: EpochState, note: SignatureNote): void {
    const own = state.own
    const index = note.signature.index
    if (own === undefined || note === own || state.logged.has(index)) return
    if (equalBytes(certificateDigest(own.body, this.#crypto), certificateDigest(note.body, this.#crypto))) return
    state.logged.add(index)
    const differs = (['configId', 'root', 'leaves', 'total'] as const).filter((f) => {
      const a = own.body[f]
      const b = note.body[f]
      return a instanceof Uint8Array ? !equalBytes(a, b as Uint8Array) : a !== b
    })
    const why = !equalBytes(own.reports, note.reports)
      ? `its report set differs (${toHex(note.reports).slice(0, 12)}, ours ${toHex(own.reports).slice(0, 12)})`
      : !equalBytes(own.directory, note.directory)
        ? `its directory differs (${toHex(note.directory).slice(0, 12)}, ours ${toHex(own.directory).slice(0, 12)})`
        : 'same reports and directory, another result: its computation, its karma history or its signature is wrong'
    this.#event({ kind: 'root-mismatch', epoch, witness: index, reason: `witness ${index} signed another ${differs.join(', ')}: ${why}` })
  }

  #tryCertify(epoch: number): void {
    const state = this.#epochs.get(epoch)
    const config = this.#community.configAt(epoch)
    if (state === undefined || state.certificate !== undefined || config === undefined) return
    const groups = new Map<string, SignatureNote[]>()
    for (const note of state.notes.values()) {
      if (!equalBytes(note.body.configId, configId(config, this.#crypto))) continue
      const digest = toHex(certificateDigest(note.body, this.#crypto))
      groups.set(digest, [...(groups.get(digest) ?? []), note])
    }
    for (const notes of groups.values()) {
      if (notes.length < config.quorum) continue
      const certificate = certify(notes[0]!.body, notes.map((n) => n.signature), config, this.#crypto)
      state.certificate = certificate
      this.#event({ kind: 'certified', epoch, reason: `${notes.length} witnesses agree${state.own === undefined ? ' (before this witness closed)' : ''}` })
      this.#outvoted(epoch, state)
      this.#announce(certificate)
      return
    }
  }

  #announce(certificate: EpochCertificate): void {
    const told = new Set<string>()
    for (const ctx of this.#signatures.peers()) {
      told.add(toHex(ctx.peer))
      ctx.send('announce', { certificate })
    }
    for (const w of this.#others()) {
      if (told.has(toHex(w))) continue
      this.#signatures.peer(w).then((ctx) => ctx.send('announce', { certificate }), () => {})
    }
  }

  // ## Admission: the peers this witness knows are no strangers to its node

  /**
   * The current configuration's other witnesses, admitted on the node (reason 'witness'): they
   * reconcile, exchange signatures and announce certificates, thousands of messages at a close,
   * which the strangers' budget would hold for minutes. Those no longer witnesses are withdrawn.
   * Known from the signed configuration this witness holds, never from what a peer says.
   */
  #admitWitnesses(): void {
    const admit = this.#sync.admit?.bind(this.#sync)
    if (admit === undefined) return
    const now = this.#others()
    for (const old of this.#admittedWitnesses) if (!now.some((w) => equalBytes(w, old))) this.#sync.unadmit?.(old, 'witness')
    for (const w of now) {
      try {
        admit(w, 'witness')
      } catch (err) {
        this.#event({ kind: 'admission', epoch: this.#monitor.epoch, witness: this.#indexOf(w), reason: `witness not admitted: ${(err as Error)?.message ?? err}` })
      }
    }
    this.#admittedWitnesses = now
  }

  /** The owner of a component this witness registered, admitted (reason 'owner') while within limits.admitOwners. */
  #admitOwner(owner: Uint8Array): void {
    const admit = this.#registry.admit?.bind(this.#registry)
    const hex = toHex(owner)
    if (admit === undefined || this.#owners.has(hex) || equalBytes(owner, this.publicKey)) return
    if (this.#owners.size >= this.#limits.admitOwners) return
    try {
      admit(owner, 'owner')
      this.#owners.add(hex)
    } catch (err) {
      this.#event({ kind: 'admission', epoch: this.#monitor.epoch, reason: `owner ${hex.slice(0, 12)} not admitted: ${(err as Error)?.message ?? err}` })
    }
  }

  /**
   * The number of host `peer` (it carries a component's reports: limits.admitHosts), made when it
   * carries none yet: its entry, admitted while within the limit.
   */
  #hostNumber(peer: Uint8Array): number {
    const hex = toHex(peer)
    const known = this.#hostNumbers.get(hex)
    if (known !== undefined) return known
    const n = this.#freeHosts.pop() ?? this.#hostList.length
    const entry: Host = { key: peer.slice(), hex, carries: 0, admitted: false }
    this.#hostList[n] = entry
    this.#hostNumbers.set(hex, n)
    const admit = this.#reports.admit?.bind(this.#reports)
    if (admit === undefined || equalBytes(peer, this.publicKey) || this.#owners.has(hex)) return n
    if (this.#admittedHosts >= this.#limits.admitHosts) return n
    try {
      admit(peer, 'host')
      entry.admitted = true
      this.#admittedHosts++
    } catch (err) {
      this.#event({ kind: 'admission', epoch: this.#monitor.epoch, reason: `host ${hex.slice(0, 12)} not admitted: ${(err as Error)?.message ?? err}` })
    }
    return n
  }

  /** Component `index`'s accepted report came from host number `host` (#hostNumber): that host is its host now. */
  #carriedBy(index: number, host: number): void {
    if (index >= this.#hostOf.length) {
      const grown = new Int32Array(Math.max(1024, 2 * this.#hostOf.length, index + 1))
      grown.set(this.#hostOf)
      this.#hostOf = grown
    }
    const before = this.#hostOf[index]! - 1
    if (before === host) return
    this.#hostOf[index] = host + 1
    this.#hostList[host]!.carries++
    if (before < 0) return
    const old = this.#hostList[before]!
    if (--old.carries > 0) return
    // it carries nothing now: its number is free, and its admission withdrawn
    this.#hostList[before] = undefined
    this.#hostNumbers.delete(old.hex)
    this.#freeHosts.push(before)
    if (old.admitted) {
      this.#admittedHosts--
      this.#reports.unadmit?.(old.key, 'host')
    }
  }

  #unadmitOwner(owner: Uint8Array): void {
    if (this.#owners.delete(toHex(owner))) this.#registry.unadmit?.(owner, 'owner')
  }

  // ## Helpers

  certificate(epoch: number): EpochCertificate | undefined {
    return this.#epochs.get(epoch)?.certificate
  }

  result(epoch: number): EpochResult | undefined {
    return this.#epochs.get(epoch)?.result
  }

  reportCount(epoch: number): number {
    return this.#logs.get(epoch)?.size ?? 0
  }

  stop(): void {
    if (this.#timer !== undefined) this.#signatures.clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #arm(): void {
    if (this.#schedule === undefined) return
    this.stop()
    const config = this.#community.current
    const clock = this.#signatures.clock
    const at = config.start + (this.#monitor.epoch + 1) * config.epochLength + this.#schedule.graceMs
    this.#timer = clock.setTimeout(() => {
      this.#timer = undefined
      this.close().catch(() => {})
    }, at - clock.now())
  }

  #state(epoch: number): EpochState {
    let state = this.#epochs.get(epoch)
    if (state === undefined) this.#epochs.set(epoch, (state = { notes: new Map(), logged: new Set() }))
    return state
  }

  /** An epoch's report log, counting each component at its directory index. */
  #newLog(epoch: number): ReportLog {
    const directory = this.directory
    return new ReportLog(epoch, this.#crypto, (component) => directory.indexOf(component))
  }

  #newMonitor(epoch: number): Monitor {
    return createMonitor({ directory: this.directory, epoch, crypto: this.#crypto, ...(this.#verify === undefined ? {} : { verify: this.#verify }) })
  }

  #others(): Uint8Array[] {
    return this.#community.current.witnesses.filter((w) => !equalBytes(w, this.publicKey))
  }

  #indexOf(witness: Uint8Array): number {
    return this.#community.current.witnesses.findIndex((w) => equalBytes(w, witness))
  }

  #event(event: WitnessEvent): void {
    this.#events.push(event)
    if (this.#events.length > 1000) this.#events.shift()
    try {
      this.#onEvent(event)
    } catch {
      // a throwing listener must not stop the witness
    }
  }
}

/**
 * Submissions (up to 32 reports each) decoded and checked at once: three verify calls of
 * COALESCE_ITEMS in flight, so that the verify workers check one call while the witness's thread
 * answers the one before and decodes the next (as an in-process ingest keeps three batches in
 * flight). With one call in flight (16 submissions, one coalesced call) every call stopped the
 * workers while the thread answered and decoded: on a quiet 2-core machine the workers were busy
 * a quarter of the time and the witness took reports over ws at a third of the in-process rate.
 */
const TAKES_AT_ONCE = 48

/** Reports a coalesced verify call carries at most (whole submissions: a larger one goes alone). */
const COALESCE_ITEMS = 512

const OK_VERDICT: WireVerdict = Object.freeze({ code: 'ok', reason: '' })

/** A peer that delivers components' reports (Witness's #hostNumber). */
interface Host {
  readonly key: Uint8Array
  readonly hex: string
  /** Components whose latest accepted report it delivered. */
  carries: number
  admitted: boolean
}

/** After this turn of the event loop (setImmediate where there is one). */
const soon: (fn: () => void) => void = typeof globalThis.setImmediate === 'function' ? (fn) => void globalThis.setImmediate(fn) : (fn) => void setTimeout(fn, 0)

type VerifyCall = { items: readonly SignedMessage[]; resolve: (ok: boolean[]) => void; reject: (err: unknown) => void }

/**
 * `verify`, with the calls made in one turn of the event loop sent as few calls of up to
 * COALESCE_ITEMS items, in order: a witness takes many small submissions at once (32 reports
 * each, from as many connections), and a verify pool checks a large call in a few large jobs
 * instead of many small ones, each a message to a worker and back; and calls of a bounded size
 * come back one after another, so the workers have the next while the last one's answers are
 * handled; a call that reaches COALESCE_ITEMS goes at once. The answers are the same, each call's
 * in its order.
 */
function coalesced(verify: SignatureBatchVerifier): SignatureBatchVerifier {
  let calls: VerifyCall[] = []
  const send = (these: readonly VerifyCall[]): void => {
    const all = these.length === 1 ? these[0]!.items : these.flatMap((c) => c.items)
    Promise.resolve()
      .then(() => verify(all))
      .then(
        (ok) => {
          if (!Array.isArray(ok) || ok.length !== all.length) throw new TypeError('the batch verifier must return one boolean per item')
          let at = 0
          for (const c of these) {
            c.resolve(these.length === 1 ? ok : ok.slice(at, at + c.items.length))
            at += c.items.length
          }
        },
      )
      .catch((err: unknown) => {
        for (const c of these) c.reject(err)
      })
  }
  let waiting = 0
  const flush = (): void => {
    const these = calls
    calls = []
    waiting = 0
    let group: VerifyCall[] = []
    let size = 0
    for (const c of these) {
      if (group.length > 0 && size + c.items.length > COALESCE_ITEMS) {
        send(group)
        group = []
        size = 0
      }
      group.push(c)
      size += c.items.length
    }
    if (group.length > 0) send(group)
  }
  return (items) =>
    new Promise<boolean[]>((resolve, reject) => {
      if (calls.length === 0) soon(flush)
      calls.push({ items, resolve, reject })
      // a full call goes at once: when a thousand submissions arrive together, the thread reads
      // them all in one turn, and the workers would wait for the end of it
      waiting += items.length
      if (waiting >= COALESCE_ITEMS) flush()
    })
}

function latin1(key: Uint8Array): string {
  return String.fromCharCode(...key)
}

