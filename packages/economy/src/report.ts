/**
 * Metric reports: what a component measured during part of an epoch, signed with its own key.
 * A component may send many reports per epoch (a stream); the monitor sums them per metric.
 *
 * Layout (signed, so fixed here):
 *
 *   body      = canonical CBOR array [component: bstr(32), epoch: uint, seq: uint, metrics: [uint...]]
 *   report    = body ‖ signature                              (signature: 64 raw bytes, last)
 *   signature = Ed25519 by component over domainTag('report') ‖ community ‖ body
 *
 * `seq` numbers the component's reports within an epoch, strictly increasing: a replayed report
 * is a duplicate. `metrics` follow the order of the component type's `metrics` in the
 * configuration, each below 2^32. The community id is signed but not sent: it is known from
 * context, so a report can never be replayed into another community, and costs no bytes.
 * A typical report is about 110 bytes.
 * @module
 */
import { DecodeError, abytes, auint, concatBytes, decodeCanonical, readCborUint, domainTag, encodeCanonical, type CborValue, type SignResult, type SigningKey, signThen } from '@tally/core'
import { isBytes, isUint } from './util.js'

/** What a component reports. */
export interface MetricReport {
  /** The component's key (the signer). */
  readonly component: Uint8Array
  /** The epoch the metrics belong to. */
  readonly epoch: number
  /** Strictly increasing per component within an epoch. */
  readonly seq: number
  /** One value per metric of the component's type, each an integer below 2^32. */
  readonly metrics: readonly number[]
}

/** A decoded report with its signature and the bytes it covers. */
export interface SignedReport extends MetricReport {
  /** The canonical body (what the signature covers, after the tag and community). */
  readonly body: Uint8Array
  /** Ed25519 signature (64 bytes). */
  readonly signature: Uint8Array
}

/** Limits on a report. */
export const REPORT_LIMITS: Readonly<{ maxBytes: number; maxMetrics: number; maxValue: number }> = Object.freeze({
  maxBytes: 256,
  maxMetrics: 8,
  maxValue: 0xffff_ffff,
})

const SIGNATURE_BYTES = 64

/**
 * Sign a report as the component.
 * @param report component, epoch, seq, metrics
 * @param key the component's signing key (its public key must be `report.component`)
 * @param community the community id
 * @returns the report bytes (body ‖ signature)
 * @throws TypeError / RangeError on malformed fields or a key that is not the component's
 * @example const bytes = signReport({ component: gw.publicKey, epoch: 7, seq: 0, metrics: [52_000, 140] }, gw, community.id)
 */
export function signReport<K extends SigningKey>(report: MetricReport, key: K, community: Uint8Array): SignResult<K, Uint8Array> {
  abytes('component', report?.component, 32)
  abytes('community', community, 32)
  auint('epoch', report.epoch)
  auint('seq', report.seq)
  if (!Array.isArray(report.metrics) || report.metrics.length < 1 || report.metrics.length > REPORT_LIMITS.maxMetrics) {
    throw new RangeError(`"metrics" expected 1-${REPORT_LIMITS.maxMetrics} values`)
  }
  report.metrics.forEach((m, i) => auint(`metrics[${i}]`, m, 0, REPORT_LIMITS.maxValue))
  if (key.publicKey.length !== 32 || !report.component.every((b, i) => b === key.publicKey[i])) {
    throw new RangeError('"key" is not the component\'s key: a report is signed by its component')
  }
  const body = encodeCanonical([report.component, report.epoch, report.seq, [...report.metrics]])
  return signThen(key, reportMessage(community, body), (signature) => concatBytes(body, signature))
}

/**
 * The bytes a report's signature covers.
 * @param community the community id
 * @param body the report body
 * @returns domainTag('report') ‖ community ‖ body
 * @example crypto.verify(r.signature, reportMessage(community.id, r.body), r.component)
 */
export function reportMessage(community: Uint8Array, body: Uint8Array): Uint8Array {
  return concatBytes(domainTag('report'), community, body)
}

/**
 * Decode a report from untrusted bytes (form only: the monitor checks the signature).
 * @param bytes the report
 * @returns the report, its body and signature
 * @throws DecodeError when not a canonical report within the limits
 * @example const r = decodeReport(bytes)
 */
export function decodeReport(bytes: Uint8Array): SignedReport {
  abytes('bytes', bytes)
  if (bytes.length > REPORT_LIMITS.maxBytes) throw new DecodeError(`report of ${bytes.length} bytes exceeds ${REPORT_LIMITS.maxBytes}`)
  if (bytes.length <= SIGNATURE_BYTES) throw new DecodeError('report too short')
  const body = bytes.subarray(0, bytes.length - SIGNATURE_BYTES)
  // the layout by hand, canonical forms only (a witness decodes thousands a second); whatever it
  // refuses goes through the general decoder, so every refusal keeps the general decoder's reason
  const fields = readReportBody(body)
  if (fields === undefined) return decodeReportSlow(bytes, body)
  return Object.freeze({
    component: body.slice(3, 35),
    epoch: fields.epoch,
    seq: fields.seq,
    metrics: Object.freeze(fields.metrics),
    body: body.slice(),
    signature: bytes.slice(bytes.length - SIGNATURE_BYTES),
  })
}

/**
 * The report body's fields read by hand: [bstr(32), uint, uint, [uint...1-8]] in canonical CBOR
 * (each head in its shortest form, definite lengths), ending exactly at the body's end.
 * @returns the fields, or undefined when the body is anything else (not exported from the package)
 */
export function readReportBody(body: Uint8Array): { epoch: number; seq: number; metrics: number[] } | undefined {
  if (body[0] !== 0x84 || body[1] !== 0x58 || body[2] !== 0x20 || body.length < 39) return undefined
  const epoch = readCborUint(body, 35)
  if (epoch === undefined) return undefined
  const seq = readCborUint(body, epoch[1])
  if (seq === undefined) return undefined
  let at = seq[1]
  const head = body[at++]
  if (head === undefined || head < 0x81 || head > 0x80 + REPORT_LIMITS.maxMetrics) return undefined
  const metrics: number[] = new Array(head - 0x80)
  for (let i = 0; i < metrics.length; i++) {
    const m = readCborUint(body, at)
    if (m === undefined || m[0] > REPORT_LIMITS.maxValue) return undefined
    metrics[i] = m[0]
    at = m[1]
  }
  return at === body.length ? { epoch: epoch[0], seq: seq[0], metrics } : undefined
}

/** decodeReport through the general canonical decoder: the reference the hand-read layout is tested against. */
export function decodeReportSlow(bytes: Uint8Array, body: Uint8Array = bytes.subarray(0, bytes.length - SIGNATURE_BYTES)): SignedReport {
  const value = decodeCanonical(body, { maxBytes: REPORT_LIMITS.maxBytes, maxDepth: 3 })
  if (!Array.isArray(value) || value.length !== 4) throw new DecodeError('a report must be [component, epoch, seq, metrics]')
  const [component, epoch, seq, metrics] = value as CborValue[]
  if (!isBytes(component, 32)) throw new DecodeError('report component must be 32 bytes')
  if (!isUint(epoch) || !isUint(seq)) throw new DecodeError('report epoch and seq must be non-negative integers')
  if (!Array.isArray(metrics) || metrics.length < 1 || metrics.length > REPORT_LIMITS.maxMetrics) throw new DecodeError(`report metrics must hold 1-${REPORT_LIMITS.maxMetrics} values`)
  for (const m of metrics) if (!isUint(m) || m > REPORT_LIMITS.maxValue) throw new DecodeError('report metrics must be integers below 2^32')
  return Object.freeze({
    component,
    epoch,
    seq,
    metrics: Object.freeze(metrics as number[]),
    body: body.slice(),
    signature: bytes.slice(bytes.length - SIGNATURE_BYTES),
  })
}
