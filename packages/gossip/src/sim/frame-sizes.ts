/**
 * The sizes of the frames the gossip model counts, measured once from the real encoder
 * (wire/messages.ts encodeMessage) on blocks shaped like the simulator's: so the model's bytes
 * follow every change of the wire format.
 * @module
 */
import { GENESIS_HASH, createFraudProof, identityFromSeed, signBlock, type HalfBlock } from '@tally/core'
import { ACCUSED_ID_BYTES, encodeMessage } from '../wire/messages.js'

/** Bytes of each frame the model sends. */
export interface FrameSizes {
  readonly proposal: number
  readonly agreement: number
  /** A push of one block; with an ack id (protocol version 2). */
  readonly push: number
  readonly pushAcked: number
  /** A push-via of one block; with an ack id. */
  readonly pushVia: number
  readonly pushViaAcked: number
  /** An ack. */
  readonly ack: number
  readonly fraud: number
  /** A fraud-have and a fraud-want as sessions of version 3 send them: the accused's first ACCUSED_ID_BYTES. */
  readonly fraudHave: number
  readonly fraudWant: number
  readonly error: number
  /** A heads request: base + perKey × keys; a heads reply: base + perHead × heads. */
  readonly headsRequestBase: number
  readonly headsRequestPerKey: number
  readonly headsBase: number
  readonly headsPerHead: number
  readonly crawlRequest: number
  /** A crawl answer with one block, and with none. */
  readonly crawlAnswer: number
  readonly crawlAnswerEmpty: number
}

let cache: FrameSizes | undefined

/**
 * Sizes of real frames carrying blocks shaped like the simulator's ('tx' type, payload 0, seqs in
 * the tens, request and ack ids around 1000: the values of a run of a few minutes).
 * @returns the sizes (computed once)
 * @example frameSizes().push // 205
 */
export function frameSizes(): FrameSizes {
  if (cache !== undefined) return cache
  const a = identityFromSeed(new Uint8Array(32).fill(1))
  const b = identityFromSeed(new Uint8Array(32).fill(2))
  const mk = (seq: number, linkSeq: number, payload: number | string[]): HalfBlock =>
    signBlock({ publicKey: a.publicKey, seq, linkPublicKey: b.publicKey, linkSeq, previousHash: seq === 1 ? GENESIS_HASH : new Uint8Array(32).fill(9), type: 'tx', payload: payload as never, timestamp: 1_700_000_000_000 }, a)
  const p = mk(40, 0, 0)
  const prev = mk(39, 0, 0)
  const g = mk(40, 41, 0)
  const proof = createFraudProof('double-sign', [p, mk(40, 0, ['fork', '40'])])
  const key = a.publicKey
  const head = { publicKey: key, seq: 40, hash: key }
  const id = 1000
  const one = encodeMessage({ type: 'heads-request', requestId: id, publicKeys: [key] }).length
  const two = encodeMessage({ type: 'heads-request', requestId: id, publicKeys: [key, key] }).length
  const h1 = encodeMessage({ type: 'heads', requestId: id, heads: [head] }).length
  const h2 = encodeMessage({ type: 'heads', requestId: id, heads: [head, head] }).length
  const to = key.subarray(0, 8)
  cache = Object.freeze({
    proposal: encodeMessage({ type: 'proposal', requestId: id, block: p, context: [prev] }).length,
    agreement: encodeMessage({ type: 'agreement', requestId: id, block: g }).length,
    push: encodeMessage({ type: 'push', blocks: [p] }).length,
    pushAcked: encodeMessage({ type: 'push', blocks: [p], ack: id }).length,
    pushVia: encodeMessage({ type: 'push-via', to, blocks: [p] }).length,
    pushViaAcked: encodeMessage({ type: 'push-via', to, blocks: [p], ack: id }).length,
    ack: encodeMessage({ type: 'ack', id }).length,
    fraud: encodeMessage({ type: 'fraud', proof }).length,
    fraudHave: encodeMessage({ type: 'fraud-have', publicKey: key.subarray(0, ACCUSED_ID_BYTES) }).length,
    fraudWant: encodeMessage({ type: 'fraud-want', publicKey: key.subarray(0, ACCUSED_ID_BYTES) }).length,
    error: encodeMessage({ type: 'error', requestId: id, code: 'refused', reason: 'xxxxxxxx is a proven cheater' }).length,
    headsRequestBase: one - (two - one),
    headsRequestPerKey: two - one,
    headsBase: h1 - (h2 - h1),
    headsPerHead: h2 - h1,
    crawlRequest: encodeMessage({ type: 'crawl-request', requestId: id, publicKey: key, start: 40, end: 40 }).length,
    crawlAnswer: encodeMessage({ type: 'crawl-answer', requestId: id, publicKey: key, latest: 45, blocks: [p] }).length,
    crawlAnswerEmpty: encodeMessage({ type: 'crawl-answer', requestId: id, publicKey: key, latest: 45, blocks: [] }).length,
  })
  return cache
}
