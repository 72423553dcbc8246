/**
 * Report submission (`tally/economy/reports/1`): a component signs its metric reports, keeps them
 * in an outbox, and delivers them to every witness, retrying with backoff until each witness has
 * answered for good; each answer says why a report was refused or late.
 *
 *   kind       body                                         max bytes  cost  reply
 *   submit     [[report bytes...≤32]]                            8400    16  verdicts
 *   verdicts   [[[code, reason]...]] (one per report, in order)  7200     1
 *
 * Codes: 'ok', the monitor's refusals ('malformed', 'late', 'early', 'unregistered', 'revoked',
 * 'duplicate', 'signature') and 'quota' (the witness's per-peer or per-component limit for the
 * epoch). The component treats 'ok' and 'duplicate' as delivered, 'late', 'malformed', 'revoked'
 * and 'signature' as final refusals, and retries 'early' (the witness has not opened the epoch
 * yet), 'unregistered' (its directory lags: it catches up from the other witnesses), 'quota',
 * refusals without a report verdict and transport failures. Reports need not reach every witness:
 * witnesses reconcile their report sets before each close (sync.ts), so one witness that has a
 * report is enough for all of them to count it.
 *
 * Outbox records (see outbox.ts): `c:seq` → [epoch, next seq] (the seq cursor: a restarted
 * component never reuses a seq), `r:<epoch>:<seq>` (zero-padded, so ids sort in delivery order)
 * → [report, [witness keys still to answer], attempts, next attempt at].
 * @module
 */
import {
  DecodeError,
  RefusedError,
  auint,
  decodeCanonical,
  encodeCanonical,
  equalBytes,
  type CborValue,
  type PeerContext,
  type Protocol,
  type ProtocolHandle,
  type ProtocolHost,
  type SigningKey,
  type TimerHandle,
} from '@tally/core'
import type { Community } from '../community.js'
import type { ReportRejection } from '../monitor.js'
import { REPORT_LIMITS, signReport } from '../report.js'
import { isBytes, isUint } from '../util.js'
import { bytes, fields, headBytes, kind, list, readHead, text, writeHead } from './codec.js'
import { describe } from './collect.js'
import { DEFAULT_RETRY, backoff, type OutboxStore, type RetryPolicy } from './outbox.js'

/** A witness's answer to one report. */
export type ReportCode = 'ok' | ReportRejection | 'quota'

/** One report's verdict on the wire. */
export interface WireVerdict {
  readonly code: ReportCode
  readonly reason: string
}

/** The reports protocol's messages. */
export type ReportMessages = {
  submit: { readonly reports: readonly Uint8Array[] }
  verdicts: { readonly verdicts: readonly WireVerdict[] }
}

/** The protocol's name. */
export const REPORTS_PROTOCOL = 'tally/economy/reports/1'

/** Reports per submit. */
export const REPORT_BATCH = 32

/** Where a witness takes submitted reports. */
export interface ReportSink {
  /**
   * Take a submission from `peer`. The sink reads `submission.reports` when it takes them: a
   * submission read from the wire makes its reports' views only then, so one that waits its turn
   * holds its body and not 32 objects more.
   * @returns one verdict per report, in order
   */
  take(submission: ReportMessages['submit'], peer: Uint8Array): Promise<readonly WireVerdict[]>
}

/**
 * The reports protocol: with a sink (a witness) it accepts reports; without one it only sends.
 * @param sink where reports go
 * @returns the protocol, to host
 * @example host.host(reportsProtocol(witness))
 */
export function reportsProtocol(sink?: ReportSink): Protocol<ReportMessages> {
  const handlers: Protocol<ReportMessages>['handlers'] =
    sink === undefined
      ? {}
      : {
          async submit(m, ctx) {
            const verdicts = await sink.take(m, ctx.peer)
            // reasons over 200 characters cut (a verdict of the sink's is kept as it is when it fits)
            return { kind: 'verdicts', message: { verdicts: verdicts.every((v) => v.reason.length <= 200) ? verdicts : verdicts.map((v) => ({ code: v.code, reason: v.reason.slice(0, 200) })) } }
          },
        }
  return Object.freeze({ name: REPORTS_PROTOCOL, messages: REPORT_MESSAGES, handlers: Object.freeze(handlers) })
}

/** What became of one report at one witness. */
export interface ReportOutcome {
  readonly epoch: number
  readonly seq: number
  /** The witness that answered (or never did). */
  readonly witness: Uint8Array
  /**
   * accepted: the witness holds it ('ok' or 'duplicate'); late: its epoch was closed there;
   * refused: for good (`code` says why); gave-up: no final answer after every attempt.
   */
  readonly status: 'accepted' | 'late' | 'refused' | 'gave-up'
  /** The witness's code, or for gave-up the last failure ('timeout', 'closed', a refusal reason). */
  readonly code: string
  /** Why, for people. */
  readonly reason: string
}

/** Options of createReporter. */
export interface ReporterOptions {
  /** The component's key: its reports are signed with it. */
  key: SigningKey
  /** The community. */
  community: Community
  /** The node that hosts the reports protocol for this component. */
  host: ProtocolHost
  /** Where signed, undelivered reports are kept. */
  outbox: OutboxStore
  /** Whom to deliver to (default: the current configuration's witnesses). */
  witnesses?: readonly Uint8Array[]
  /** Retries (default DEFAULT_RETRY). */
  retry?: RetryPolicy
  /** Told what became of each report at each witness. */
  onOutcome?: (outcome: ReportOutcome) => void
  /** Request timeout (ms; default the host's). */
  timeoutMs?: number
}

/** A component's report client. */
export interface Reporter {
  /**
   * Sign a report with the next seq of its epoch and keep it in the outbox; delivery follows (a
   * delivery round is scheduled at once on the host's clock).
   * @returns its epoch and seq, once it is durable
   * @throws RangeError on malformed metrics
   */
  report(report: { epoch: number; metrics: readonly number[] }): Promise<{ epoch: number; seq: number }>
  /** Run a delivery round now for every report that is due. */
  flush(): Promise<void>
  /** Reports still to be delivered somewhere. */
  pending(): Promise<number>
  /** Stop the timer (the outbox keeps what is undelivered for the next reporter). */
  close(): void
}

/**
 * A component's reporter: signs, keeps and delivers its reports.
 * @param options key, community, host, outbox, witnesses, retry policy, outcome callback
 * @returns the reporter (it resumes whatever the outbox holds)
 * @example
 * const reporter = createReporter({ key: gateway, community, host: node, outbox: createMemoryOutbox(), onOutcome: console.log })
 * await reporter.report({ epoch, metrics: [52_000, 140] })
 */
export function createReporter(options: ReporterOptions): Reporter {
  return new ComponentReporter(options)
}

const CURSOR = 'c:seq'
const RETRYABLE = new Set<string>(['early', 'unregistered', 'quota'])

interface Pending {
  readonly id: string
  readonly report: Uint8Array
  readonly epoch: number
  readonly seq: number
  remaining: Uint8Array[]
  attempts: number
  nextAt: number
  lastFailure: { code: string; reason: string } | undefined
}

class ComponentReporter implements Reporter {
  readonly #key: SigningKey
  readonly #community: Community
  readonly #handle: ProtocolHandle<ReportMessages>
  readonly #outbox: OutboxStore
  readonly #witnesses: readonly Uint8Array[]
  readonly #retry: RetryPolicy
  readonly #onOutcome: (o: ReportOutcome) => void
  readonly #timeoutMs: number | undefined
  #tail: Promise<unknown> = Promise.resolve()
  #timer: TimerHandle | undefined
  #closed = false

  constructor(options: ReporterOptions) {
    if (options?.key === undefined || options.community === undefined || options.host === undefined || options.outbox === undefined) {
      throw new TypeError('"key", "community", "host" and "outbox" are required')
    }
    this.#key = options.key
    this.#community = options.community
    this.#outbox = options.outbox
    this.#witnesses = options.witnesses ?? options.community.current.witnesses
    this.#retry = options.retry ?? DEFAULT_RETRY
    this.#onOutcome = options.onOutcome ?? (() => {})
    this.#timeoutMs = options.timeoutMs
    this.#handle = options.host.host(reportsProtocol())
    this.#arm(0)
  }

  report(report: { epoch: number; metrics: readonly number[] }): Promise<{ epoch: number; seq: number }> {
    auint('epoch', report?.epoch)
    return this.#serialized(async () => {
      const cursor = await this.#cursor()
      const seq = cursor.epoch === report.epoch ? cursor.seq : 0
      if (cursor.epoch > report.epoch) throw new RangeError(`"epoch" ${report.epoch} is before the reporter's epoch ${cursor.epoch}`)
      // the cursor is durable before the seq is used: a crash skips a seq, never repeats one
      await this.#outbox.put(CURSOR, encodeCanonical([report.epoch, seq + 1]))
      const bytes = await signReport({ component: this.#key.publicKey, epoch: report.epoch, seq, metrics: [...report.metrics] }, this.#key, this.#community.id)
      const entry: Pending = { id: reportId(report.epoch, seq), report: bytes, epoch: report.epoch, seq, remaining: [...this.#witnesses], attempts: 0, nextAt: 0, lastFailure: undefined }
      await this.#save(entry)
      this.#arm(0)
      return { epoch: report.epoch, seq }
    })
  }

  flush(): Promise<void> {
    return this.#serialized(() => this.#round())
  }

  async pending(): Promise<number> {
    return (await this.#outbox.list()).filter((r) => r.id.startsWith('r:')).length
  }

  close(): void {
    this.#closed = true
    if (this.#timer !== undefined) this.#handle.clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  // ## Delivery

  async #round(): Promise<void> {
    const now = this.#handle.clock.now()
    const all = (await this.#outbox.list()).filter((r) => r.id.startsWith('r:')).map((r) => readEntry(r.id, r.record))
    const due = all.filter((e): e is Pending => e !== undefined && e.nextAt <= now)
    const byWitness = new Map<number, Pending[]>()
    due.forEach((e) => {
      for (const w of e.remaining) {
        const i = this.#witnesses.findIndex((x) => equalBytes(x, w))
        if (i < 0) continue
        let list = byWitness.get(i)
        if (list === undefined) byWitness.set(i, (list = []))
        list.push(e)
      }
    })
    await Promise.all([...byWitness].map(([i, entries]) => this.#deliver(this.#witnesses[i]!, entries)))
    for (const e of due) {
      if (e.remaining.length === 0) {
        await this.#outbox.remove(e.id)
        continue
      }
      e.attempts++
      if (e.attempts >= this.#retry.attempts) {
        const last = e.lastFailure ?? { code: 'unanswered', reason: 'no final answer' }
        for (const w of e.remaining) this.#tell({ epoch: e.epoch, seq: e.seq, witness: w, status: 'gave-up', code: last.code, reason: `after ${e.attempts} attempts: ${last.reason}` })
        await this.#outbox.remove(e.id)
        continue
      }
      e.nextAt = now + backoff(this.#retry, e.attempts)
      await this.#save(e)
    }
    const next = all.filter((e): e is Pending => e !== undefined && e.remaining.length > 0 && e.attempts < this.#retry.attempts)
    if (next.length > 0) this.#arm(Math.max(0, Math.min(...next.map((e) => e.nextAt)) - now))
  }

  /** Send `entries` to one witness in batches; update each entry's remaining witnesses. */
  async #deliver(witness: Uint8Array, entries: Pending[]): Promise<void> {
    let ctx: PeerContext<ReportMessages>
    try {
      ctx = await this.#handle.peer(witness)
    } catch (err) {
      for (const e of entries) e.lastFailure = failure(err)
      return
    }
    for (let at = 0; at < entries.length; at += REPORT_BATCH) {
      const batch = entries.slice(at, at + REPORT_BATCH)
      let verdicts: readonly WireVerdict[]
      try {
        const reply = await ctx.request('submit', { reports: batch.map((e) => e.report) }, this.#timeoutMs === undefined ? undefined : { timeoutMs: this.#timeoutMs })
        if (reply.kind !== 'verdicts' || reply.message.verdicts.length !== batch.length) throw new RefusedError('the witness answered with something other than one verdict per report', { reason: 'protocol' })
        verdicts = reply.message.verdicts
      } catch (err) {
        for (const e of batch) e.lastFailure = failure(err)
        continue
      }
      batch.forEach((e, i) => {
        const v = verdicts[i]!
        if (RETRYABLE.has(v.code)) {
          e.lastFailure = { code: v.code, reason: v.reason }
          return
        }
        e.remaining = e.remaining.filter((w) => !equalBytes(w, witness))
        const status = v.code === 'ok' || v.code === 'duplicate' ? 'accepted' : v.code === 'late' ? 'late' : 'refused'
        this.#tell({ epoch: e.epoch, seq: e.seq, witness, status, code: v.code, reason: v.reason })
      })
    }
  }

  // ## State

  async #cursor(): Promise<{ epoch: number; seq: number }> {
    const record = (await this.#outbox.list()).find((r) => r.id === CURSOR)
    if (record === undefined) return { epoch: 0, seq: 0 }
    const v = decodeCanonical(record.record)
    if (!Array.isArray(v) || !isUint(v[0]) || !isUint(v[1])) throw new DecodeError('the outbox cursor is malformed')
    return { epoch: v[0], seq: v[1] }
  }

  async #save(e: Pending): Promise<void> {
    await this.#outbox.put(e.id, encodeCanonical([e.report, e.remaining, e.attempts, e.nextAt, e.lastFailure === undefined ? null : [e.lastFailure.code, e.lastFailure.reason.slice(0, 200)]]))
  }

  #arm(delay: number): void {
    if (this.#closed) return
    const clock = this.#handle.clock
    if (this.#timer !== undefined) clock.clearTimeout(this.#timer)
    this.#timer = clock.setTimeout(() => {
      this.#timer = undefined
      this.flush().catch(() => {})
    }, delay)
  }

  #tell(outcome: ReportOutcome): void {
    try {
      this.#onOutcome(outcome)
    } catch {
      // a throwing callback must not stop delivery
    }
  }

  #serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn)
    this.#tail = run.catch(() => undefined)
    return run
  }
}

// ## Codecs and private helpers

const REPORT_MESSAGES: Protocol<ReportMessages>['messages'] = Object.freeze({
  submit: kind<ReportMessages['submit']>(
    8400,
    16,
    (m) => [[...m.reports]],
    (b) => ({
      reports: list(fields(b, 1, 'submit')[0], 'reports', REPORT_BATCH, (r, what) => bytes(r, what, undefined, REPORT_LIMITS.maxBytes)),
    }),
    { read: readSubmit, write: writeSubmit },
  ),
  verdicts: kind<ReportMessages['verdicts']>(
    7200,
    1,
    (m) => [m.verdicts.map((v) => [v.code, v.reason])],
    (b) => ({
      verdicts: list(fields(b, 1, 'verdicts')[0], 'verdicts', REPORT_BATCH, (v, what) => {
        const [code, reason] = fields(v, 2, what)
        return verdict(text(code, `${what} code`, 16), text(reason, `${what} reason`, 200), what)
      }),
    }),
    { read: readVerdicts, write: writeVerdicts },
  ),
})

/** A verdict from its code and reason, the code one of CODES. */
function verdict(code: string, reason: string, what: string): WireVerdict {
  if (!CODES.has(code)) throw new DecodeError(`${what} code ${JSON.stringify(code)} is unknown`)
  return code === 'ok' && reason === '' ? OK : { code: code as ReportCode, reason }
}

const OK: WireVerdict = Object.freeze({ code: 'ok', reason: '' })

/**
 * A submit body's bytes → its reports, as views into the body (the host's own copy): the same
 * bodies as decodeCanonical then the kind's decode accept — [[bstr ≤ 256 bytes, ... ≤ 32]], every
 * head in its shortest form, nothing after — without decoding the body to values, re-encoding it
 * and copying each report. The whole body is checked here; the views are made when `reports` is
 * first read (a witness reads it when the submission's turn comes: ReportSink.take), and are the
 * same array at every read. Each report is decoded (canonically) by the witness that takes it.
 */
function readSubmit(body: Uint8Array): ReportMessages['submit'] {
  const count = walkSubmit(body, undefined)
  let reports: Uint8Array[] | undefined
  return Object.freeze(
    Object.defineProperty({} as ReportMessages['submit'], 'reports', {
      enumerable: true,
      get: () => (reports ??= viewsOf(body, count)),
    }),
  )
}

/** The reports of a submit body that walkSubmit accepted, as views. */
function viewsOf(body: Uint8Array, count: number): Uint8Array[] {
  const reports: Uint8Array[] = new Array(count)
  walkSubmit(body, reports)
  return reports
}

/** Check a submit body (see readSubmit), its reports as views into `out` when given; returns their count. */
function walkSubmit(body: Uint8Array, out: Uint8Array[] | undefined): number {
  if (body[0] !== 0x81) throw new DecodeError('submit must be an array of 1 fields')
  const [count, first] = readHead(body, 1, 4, 'reports')
  if (count > REPORT_BATCH) throw new DecodeError(`reports must be a list of at most ${REPORT_BATCH}`)
  let at = first
  for (let i = 0; i < count; i++) {
    // a report's head is 0x58 n (24 ≤ n ≤ 255 bytes: a signed report's size): read here without
    // a tuple and a label; any other head as readHead reads it, which says what is wrong
    let length: number
    let start: number
    const n = body[at + 1]
    if (body[at] === 0x58 && n !== undefined && n >= 24) {
      length = n
      start = at + 2
    } else [length, start] = readHead(body, at, 2, `reports[${i}]`)
    if (length > REPORT_LIMITS.maxBytes) throw new DecodeError(`reports[${i}] must be at most ${REPORT_LIMITS.maxBytes} bytes`)
    at = start + length
    if (at > body.length) throw new DecodeError(`reports[${i}]: truncated`)
    if (out !== undefined) out[i] = body.subarray(start, at)
  }
  if (at !== body.length) throw new DecodeError(`${body.length - at} bytes after the submit body`)
  return count
}

/** A submit's body written by hand: exactly encodeCanonical(encode(m)), one buffer, each report copied once. */
function writeSubmit(m: ReportMessages['submit']): Uint8Array {
  const reports = m.reports
  let size = 1 + headBytes(reports.length)
  for (let i = 0; i < reports.length; i++) {
    const r = reports[i]
    if (!(r instanceof Uint8Array)) throw new TypeError(`"reports[${i}]" expected Uint8Array`)
    size += headBytes(r.length) + r.length
  }
  const out = new Uint8Array(size)
  out[0] = 0x81
  let at = writeHead(out, 1, 4, reports.length)
  for (const r of reports) {
    at = writeHead(out, at, 2, r.length)
    out.set(r, at)
    at += r.length
  }
  return out
}

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
/** The UTF-8 of each code (ASCII), and of an empty reason. */
const CODE_BYTES = new Map<string, Uint8Array>()

/** A verdicts body written by hand: exactly encodeCanonical(encode(m)). */
function writeVerdicts(m: ReportMessages['verdicts']): Uint8Array {
  const verdicts = m.verdicts
  // each verdict's code and reason as UTF-8, in order
  const texts: Uint8Array[] = new Array(2 * verdicts.length)
  let size = 1 + headBytes(verdicts.length)
  for (let i = 0; i < verdicts.length; i++) {
    const v = verdicts[i]
    if (v?.code === 'ok' && v.reason === '') {
      // most verdicts: 82 62 6f 6b 60, written from OK_BYTES below
      texts[2 * i] = OK_BYTES
      size += OK_BYTES.length
      continue
    }
    if (typeof v?.code !== 'string' || typeof v.reason !== 'string') throw new TypeError(`"verdicts[${i}]" expected { code, reason } strings`)
    if (!v.code.isWellFormed() || !v.reason.isWellFormed()) throw new TypeError(`"verdicts[${i}]": a string with a lone surrogate cannot be UTF-8`)
    let code = CODE_BYTES.get(v.code)
    if (code === undefined) {
      code = utf8.encode(v.code)
      if (CODES.has(v.code)) CODE_BYTES.set(v.code, code)
    }
    const reason = v.reason === '' ? EMPTY : utf8.encode(v.reason)
    texts[2 * i] = code
    texts[2 * i + 1] = reason
    size += 1 + headBytes(code.length) + code.length + headBytes(reason.length) + reason.length
  }
  const out = new Uint8Array(size)
  out[0] = 0x81
  let at = writeHead(out, 1, 4, verdicts.length)
  for (let i = 0; i < texts.length; i += 2) {
    const code = texts[i]!
    if (code === OK_BYTES) {
      for (let k = 0; k < OK_BYTES.length; k++) out[at + k] = OK_BYTES[k]!
      at += OK_BYTES.length
      continue
    }
    out[at++] = 0x82
    for (const text of [code, texts[i + 1]!]) {
      at = writeHead(out, at, 3, text.length)
      out.set(text, at)
      at += text.length
    }
  }
  return out
}

const EMPTY = new Uint8Array(0)
/** The verdict ['ok', ''] as canonical CBOR. */
const OK_BYTES = Uint8Array.of(0x82, 0x62, 0x6f, 0x6b, 0x60)

/** The text of UTF-8 bytes [start, end) of `body`: ASCII (every code, most reasons) without a decoder call. */
function utf8Text(body: Uint8Array, start: number, end: number, i: number): string {
  let ascii = true
  for (let j = start; j < end; j++) {
    if (body[j]! >= 0x80) {
      ascii = false
      break
    }
  }
  if (ascii) return end - start <= 64 ? String.fromCharCode(...body.subarray(start, end)) : latin1.decode(body.subarray(start, end))
  try {
    return fromUtf8.decode(body.subarray(start, end))
  } catch {
    throw new DecodeError(`verdicts[${i}]: text that is not UTF-8`)
  }
}

/** Bytes below 0x80 as characters (ASCII is its own UTF-8). */
const latin1 = new TextDecoder('latin1')

/** A verdicts body's bytes → its verdicts: the same bodies as decodeCanonical then the kind's decode accept. */
function readVerdicts(body: Uint8Array): ReportMessages['verdicts'] {
  if (body[0] !== 0x81) throw new DecodeError('verdicts must be an array of 1 fields')
  const [count, first] = readHead(body, 1, 4, 'verdicts')
  if (count > REPORT_BATCH) throw new DecodeError(`verdicts must be a list of at most ${REPORT_BATCH}`)
  const verdicts: WireVerdict[] = new Array(count)
  let at = first
  for (let i = 0; i < count; i++) {
    // ['ok', ''], most verdicts: 82 62 6f 6b 60
    if (body[at] === 0x82 && body[at + 1] === 0x62 && body[at + 2] === 0x6f && body[at + 3] === 0x6b && body[at + 4] === 0x60) {
      verdicts[i] = OK
      at += 5
      continue
    }
    if (body[at] !== 0x82) throw new DecodeError(`verdicts[${i}] must be an array of 2 fields`)
    at++
    const texts: string[] = []
    for (const max of [16, 200]) {
      const [length, start] = readHead(body, at, 3, `verdicts[${i}]`)
      at = start + length
      if (at > body.length) throw new DecodeError(`verdicts[${i}]: truncated`)
      const s = utf8Text(body, start, at, i)
      if (s.length > max) throw new DecodeError(`verdicts[${i}] ${max === 16 ? 'code' : 'reason'} must be text of at most ${max} characters`)
      texts.push(s)
    }
    verdicts[i] = verdict(texts[0]!, texts[1]!, `verdicts[${i}]`)
  }
  if (at !== body.length) throw new DecodeError(`${body.length - at} bytes after the verdicts body`)
  return { verdicts }
}

const CODES = new Set<string>(['ok', 'malformed', 'late', 'early', 'unregistered', 'revoked', 'duplicate', 'signature', 'quota'])

function reportId(epoch: number, seq: number): string {
  return `r:${String(epoch).padStart(12, '0')}:${String(seq).padStart(16, '0')}`
}

function readEntry(id: string, record: Uint8Array): Pending | undefined {
  const [, epoch, seq] = id.split(':').map(Number)
  let v: CborValue
  try {
    v = decodeCanonical(record)
  } catch {
    return undefined // a record this version cannot read is left alone
  }
  if (!Array.isArray(v) || v.length !== 5 || !(v[0] instanceof Uint8Array) || !Array.isArray(v[1]) || !isUint(v[2]) || !isUint(v[3])) return undefined
  const remaining = (v[1] as CborValue[]).filter((w): w is Uint8Array => isBytes(w, 32))
  const last = Array.isArray(v[4]) && typeof v[4][0] === 'string' && typeof v[4][1] === 'string' ? { code: v[4][0], reason: v[4][1] } : undefined
  return { id, report: v[0], epoch: epoch!, seq: seq!, remaining, attempts: v[2], nextAt: v[3], lastFailure: last }
}

function failure(err: unknown): { code: string; reason: string } {
  const d = describe(err)
  return { code: d.reason, reason: d.message }
}
