/**
 * The monitor: ingests signed metric reports as they stream in, for one open epoch at a time, and
 * keeps per-component sums. Each report is accepted or rejected with a reason code:
 *
 * - 'malformed'    not a canonical report, or the wrong number of metrics for its type
 * - 'late'         for an epoch already closed
 * - 'early'        for an epoch not yet open
 * - 'unregistered' from a key the directory does not know
 * - 'revoked'      from a revoked component
 * - 'duplicate'    seq not above the last accepted seq of that component in this epoch (a replay)
 * - 'signature'    the component's signature does not verify
 *
 * Cheap checks run first; signatures last. `ingest` hands the signatures of a whole batch to a
 * pluggable SignatureBatchVerifier, so a Node caller can spread them over every core (a worker
 * pool) while the monitor itself stays isomorphic. Sums live in one Float64Array (component ×
 * metric), so a million components cost a few megabytes and no per-component objects.
 * @module
 */
import { DecodeError, auint, nobleCrypto, type CryptoProvider } from '@tally/core'
import type { CommunityConfig } from './config.js'
import type { ComponentTable, Directory } from './directory.js'
import { decodeReport, reportMessage, type SignedReport } from './report.js'

/** Why a report was refused. */
export type ReportRejection = 'malformed' | 'late' | 'early' | 'unregistered' | 'revoked' | 'duplicate' | 'signature'

/** The monitor's answer to one report. */
export type ReportVerdict =
  | { readonly ok: true; readonly component: number }
  | { readonly ok: false; readonly code: ReportRejection; readonly reason: string }

/** One signature to check: `signature` by `publicKey` over `message`. */
export interface SignedMessage {
  readonly message: Uint8Array
  readonly signature: Uint8Array
  readonly publicKey: Uint8Array
}

/**
 * Checks many signatures at once; result[i] is true iff items[i] verifies. Implement it with a
 * worker pool to use every core; the default checks them one by one on this thread.
 */
export type SignatureBatchVerifier = (items: readonly SignedMessage[]) => Promise<boolean[]>

/** The sealed metrics of one epoch. */
export interface EpochMetrics {
  /** The epoch. */
  readonly epoch: number
  /** Components covered: indexes 0 to count - 1 of the directory. */
  readonly count: number
  /** Metric slots per component. */
  readonly width: number
  /** Summed metrics: component c's metric m is at c * width + m. */
  readonly sums: Float64Array
  /** Reports accepted per component. */
  readonly reports: Uint32Array
  /** Reports accepted in all. */
  readonly accepted: number
}

/** Counters since the monitor was created. */
export interface MonitorStats {
  readonly accepted: number
  readonly rejected: Readonly<Record<ReportRejection, number>>
}

/** Options of createMonitor. */
export interface MonitorOptions {
  /** The component directory (and through it, the community). */
  directory: Directory
  /** The first open epoch. */
  epoch: number
  /** Provider for signature checks when no batch verifier is given, and for `submit` (default nobleCrypto). */
  crypto?: CryptoProvider
  /** Batch signature checks for `ingest` (default: crypto.verify one by one). */
  verify?: SignatureBatchVerifier
}

/** A monitor of one community. */
export interface Monitor {
  /** The open epoch. */
  readonly epoch: number
  /** Accepted and rejected counts, by reason. */
  readonly stats: MonitorStats
  /** Ingest one report now, checking its signature on this thread. */
  submit(report: Uint8Array): ReportVerdict
  /** Ingest a batch; signatures are checked by the batch verifier. Verdicts in input order. */
  ingest(reports: readonly Uint8Array[]): Promise<ReportVerdict[]>
  /** The current sums of one component in the open epoch (a copy), if it has reported. */
  current(component: Uint8Array): { reports: number; metrics: number[] } | undefined
  /** Seal the open epoch, return its metrics, and open the next one. Late reports are refused from now on. */
  close(): EpochMetrics
}

/**
 * A monitor for `directory`'s components, with `epoch` open.
 * @param options directory, first epoch, provider, batch verifier
 * @returns the monitor
 * @throws RangeError when no configuration governs `epoch`
 * @example
 * const monitor = createMonitor({ directory, epoch: 0 })
 * monitor.submit(signReport({ component: gw.publicKey, epoch: 0, seq: 0, metrics: [5000, 3] }, gw, community.id))
 * const metrics = monitor.close()
 */
export function createMonitor(options: MonitorOptions): Monitor {
  return new ReportMonitor(options)
}

const REJECTIONS: readonly ReportRejection[] = ['malformed', 'late', 'early', 'unregistered', 'revoked', 'duplicate', 'signature']

// set by ReportMonitor's static block: ingestDecoded's way in, not a method anyone can call on a monitor
let ingestDecodedImpl: (monitor: ReportMonitor, reports: readonly (SignedReport | Refusal)[]) => Promise<ReportVerdict[]>

class ReportMonitor implements Monitor {
  readonly #directory: Directory
  readonly #crypto: CryptoProvider
  readonly #verify: SignatureBatchVerifier
  readonly #community: Uint8Array
  #epoch: number
  #config!: CommunityConfig
  #width = 1
  #capacity = 0
  #sums = new Float64Array(0)
  #reports = new Uint32Array(0)
  #lastSeq = new Float64Array(0)
  #accepted = 0
  #epochAccepted = 0
  readonly #rejected: Record<ReportRejection, number>
  // cached view of the directory, refreshed when its version changes
  #table: ComponentTable | undefined
  #tableVersion = -1
  #expected = new Uint8Array(0)

  constructor(options: MonitorOptions) {
    if (options?.directory === undefined) throw new TypeError('"directory" is required')
    this.#directory = options.directory
    this.#crypto = options.crypto ?? options.directory.community.crypto ?? nobleCrypto
    this.#verify = options.verify ?? (async (items) => items.map((i) => this.#crypto.verify(i.signature, i.message, i.publicKey)))
    this.#community = options.directory.community.id
    this.#epoch = auint('epoch', options.epoch)
    this.#rejected = Object.fromEntries(REJECTIONS.map((r) => [r, 0])) as Record<ReportRejection, number>
    this.#open(this.#epoch)
  }

  get epoch(): number {
    return this.#epoch
  }

  get stats(): MonitorStats {
    return { accepted: this.#accepted, rejected: { ...this.#rejected } }
  }

  submit(bytes: Uint8Array): ReportVerdict {
    const pre = this.#precheck(bytes)
    if (!('report' in pre)) return this.#reject(pre)
    const { report, index } = pre
    if (!this.#crypto.verify(report.signature, reportMessage(this.#community, report.body), report.component)) {
      return this.#reject(refuse('signature', 'the component\'s signature does not verify'))
    }
    return this.#apply(report, index)
  }

  async ingest(batch: readonly Uint8Array[]): Promise<ReportVerdict[]> {
    if (!Array.isArray(batch)) throw new TypeError('"reports" expected an array of Uint8Array')
    const decoded: (SignedReport | Refusal)[] = new Array(batch.length)
    for (let i = 0; i < batch.length; i++) decoded[i] = this.#decode(batch[i]!)
    return this.#ingestDecoded(decoded)
  }

  static {
    ingestDecodedImpl = (monitor, batch) => monitor.#ingestDecoded(batch)
  }

  /** ingest, for reports the caller decoded with decodeReport (or refused): see ingestDecoded below. */
  async #ingestDecoded(batch: readonly (SignedReport | Refusal)[]): Promise<ReportVerdict[]> {
    const verdicts: ReportVerdict[] = new Array(batch.length)
    const pending: { at: number; report: SignedReport; index: number }[] = []
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i]!
      const checked = 'code' in item ? item : this.#checkFields(item)
      if ('index' in checked) pending.push({ at: i, report: item as SignedReport, index: checked.index })
      else verdicts[i] = this.#reject(checked)
    }
    if (pending.length > 0) {
      const items = pending.map(({ report }) => ({ message: reportMessage(this.#community, report.body), signature: report.signature, publicKey: report.component }))
      const ok = await this.#verify(items)
      if (!Array.isArray(ok) || ok.length !== items.length) throw new TypeError('the batch verifier must return one boolean per item')
      for (let j = 0; j < pending.length; j++) {
        const { at, report, index } = pending[j]!
        if (ok[j] !== true) {
          verdicts[at] = this.#reject(refuse('signature', 'the component\'s signature does not verify'))
          continue
        }
        // the world may have moved while signatures were checked (epoch closed, component revoked,
        // a report of the same component earlier in this batch): check again before applying; a
        // component's index never changes once registered, so it is not looked up again
        const again = this.#checkFields(report, index)
        verdicts[at] = 'index' in again ? this.#apply(report, again.index) : this.#reject(again)
      }
    }
    return verdicts
  }

  current(component: Uint8Array): { reports: number; metrics: number[] } | undefined {
    const index = this.#directory.indexOf(component)
    if (index < 0 || index >= this.#capacity || this.#reports[index] === 0) return undefined
    const at = index * this.#width
    return { reports: this.#reports[index]!, metrics: Array.from(this.#sums.subarray(at, at + this.#width)) }
  }

  close(): EpochMetrics {
    const table = this.#view()
    const count = table.count
    if (count > this.#capacity) this.#grow(count)
    const sealed: EpochMetrics = Object.freeze({
      epoch: this.#epoch,
      count,
      width: this.#width,
      sums: this.#sums.subarray(0, count * this.#width),
      reports: this.#reports.subarray(0, count),
      accepted: this.#epochAccepted,
    })
    this.#open(this.#epoch + 1)
    return sealed
  }

  // ## Checks

  #precheck(bytes: Uint8Array): { report: SignedReport; index: number } | Refusal {
    const report = this.#decode(bytes)
    if ('code' in report) return report
    const checked = this.#checkFields(report)
    return 'index' in checked ? { report, index: checked.index } : checked
  }

  #decode(bytes: Uint8Array): SignedReport | Refusal {
    try {
      return decodeReport(bytes)
    } catch (err) {
      if (err instanceof DecodeError || err instanceof TypeError || err instanceof RangeError) return refuse('malformed', (err as Error).message)
      throw err
    }
  }

  /** @param known the component's directory index when it was looked up already (indexes never change) */
  #checkFields(report: SignedReport, known?: number): { index: number } | Refusal {
    if (report.epoch < this.#epoch) return refuse('late', `epoch ${report.epoch} is closed (open: ${this.#epoch})`)
    if (report.epoch > this.#epoch) return refuse('early', `epoch ${report.epoch} is not open yet (open: ${this.#epoch})`)
    const index = known ?? this.#directory.indexOf(report.component)
    if (index < 0) return refuse('unregistered', 'the component is not registered')
    const table = this.#view()
    if (table.active[index] !== 1) return refuse('revoked', 'the component was revoked')
    const expected = this.#expected[table.type[index]!]!
    if (report.metrics.length !== expected) return refuse('malformed', `a ${table.typeNames[table.type[index]!]} report carries ${expected} metrics, got ${report.metrics.length}`)
    if (index >= this.#capacity) this.#grow(table.count)
    if (report.seq <= this.#lastSeq[index]!) return refuse('duplicate', `seq ${report.seq} is not above the last accepted (${this.#lastSeq[index]})`)
    return { index }
  }

  #apply(report: SignedReport, index: number): ReportVerdict {
    this.#lastSeq[index] = report.seq
    this.#reports[index]!++
    const at = index * this.#width
    const { metrics } = report
    for (let m = 0; m < metrics.length; m++) {
      // a sum stays exact: 2^21 reports of 2^32 - 1 before it could leave the safe range
      this.#sums[at + m] = Math.min(this.#sums[at + m]! + metrics[m]!, Number.MAX_SAFE_INTEGER)
    }
    this.#accepted++
    this.#epochAccepted++
    return { ok: true, component: index }
  }

  #reject(refusal: Refusal): ReportVerdict {
    this.#rejected[refusal.code]++
    return { ok: false, code: refusal.code, reason: refusal.reason }
  }

  // ## State

  #open(epoch: number): void {
    const config = this.#directory.community.configAt(epoch)
    if (config === undefined) throw new RangeError(`no configuration governs epoch ${epoch}`)
    this.#epoch = epoch
    this.#config = config
    this.#width = Math.max(1, ...Object.values(config.components).map((t) => t.metrics.length))
    this.#tableVersion = -1
    this.#capacity = 0
    this.#epochAccepted = 0
    this.#grow(Math.max(1024, this.#directory.size))
  }

  #grow(count: number): void {
    let capacity = Math.max(this.#capacity, 1)
    while (capacity < count) capacity *= 2
    if (capacity === this.#capacity) return
    const sums = new Float64Array(capacity * this.#width)
    const reports = new Uint32Array(capacity)
    const lastSeq = new Float64Array(capacity).fill(-1)
    if (this.#capacity > 0) {
      sums.set(this.#sums)
      reports.set(this.#reports)
      lastSeq.set(this.#lastSeq)
    }
    this.#sums = sums
    this.#reports = reports
    this.#lastSeq = lastSeq
    this.#capacity = capacity
  }

  #view(): ComponentTable {
    if (this.#table === undefined || this.#tableVersion !== this.#directory.version) {
      this.#table = this.#directory.table()
      this.#tableVersion = this.#directory.version
      const names = this.#table.typeNames
      this.#expected = new Uint8Array(names.length)
      for (let t = 0; t < names.length; t++) {
        // a type the configuration governing this epoch does not know: no report can match (0 metrics)
        this.#expected[t] = this.#config.components[names[t]!]?.metrics.length ?? 0
      }
    }
    return this.#table
  }
}

/** Why a report was refused, before a verdict. */
export interface Refusal {
  readonly code: ReportRejection
  readonly reason: string
}

/**
 * Ingest reports the caller has decoded already (a witness decodes each report once, for its
 * quotas, and hands the result on): the same checks and verdicts as `monitor.ingest` on the
 * bytes. An item may be a Refusal (its report did not decode: 'malformed'). Not exported from the
 * package: the decoded reports must come from decodeReport.
 * @param monitor a monitor from createMonitor
 * @param reports decodeReport's results, or refusals, in order
 * @returns one verdict per item, in order
 */
export function ingestDecoded(monitor: Monitor, reports: readonly (SignedReport | Refusal)[]): Promise<ReportVerdict[]> {
  if (!(monitor instanceof ReportMonitor)) throw new TypeError('"monitor" expected a monitor from createMonitor')
  return ingestDecodedImpl(monitor, reports)
}


function refuse(code: ReportRejection, reason: string): Refusal {
  return { code, reason }
}

