/**
 * The messages of the streams protocol (`tally/economy/streams/1`), their codecs and limits.
 *
 *   kind       body                                                      max bytes  cost  reply
 *   announce   [[block bytes (≤ 1,280)] (1–16)]                             21,000    16  —         (one-way; a signature check a block)
 *   catalog    [after: uint, max: uint 1–128]                                   24     4  listings
 *   listings   [[block bytes (≤ 1,280)] (0–128), next: uint (0 = done)]   120,000     1
 *   fetch      [sensor: bstr(32), from: uint ≥ 1, max: uint 1–64]               48     2  messages
 *   follow     [sensor, from: uint ≥ 1]                                         48     4  messages
 *   unfollow   [sensor]                                                         40     1  —         (one-way)
 *   messages   [sensor, from: uint ≥ 1, prev: bstr(32) | null, [message] (0–64), head: uint]
 *                                                                          120,000     1  —   (a reply, or pushed to followers)
 *   subscribe  purchase (purchase.ts)                                          200     8  grant
 *   receipt    [purchase, lock: block bytes, voucher: bytes (≤ 119), history: [block bytes] (0–8)]
 *                                                                           12,000    16  grant
 *   key        [sensor, period: uint, recipient: bstr(32)]                      80     4  grant
 *   grant      grant (grant.ts)                                                320     1
 *
 * A `listings` page is cut to fit its limit (a few large listings make a short page; `next` says
 * where to go on). `messages.from` is the seq of its first message; `prev` the hash before it when the server
 * knows it (a reader checks it against its own chain, never trusts it); `head` the next seq the
 * server expects. A `receipt` pays through a payment channel: `purchase.payment` is the seq of the
 * buyer's lock for the owner, the voucher its latest cumulative receipt, the history what the
 * owner needs to replay the lock's balance the first time. Refusal reasons: 'unknown-stream',
 * 'not-paid', 'underpaid', 'payment-used', 'lapsed', 'bad-purchase', 'bad-receipt', 'not-buyer',
 * 'no-channels', 'too-many-follows', 'unavailable'.
 * @module
 */
import { DecodeError, decodeBlock, encodeBlock, type CborValue, type HalfBlock, type MessageKind } from '@tally/core'
import { isBytes, isUint } from '../util.js'
import { grantFromValue, grantValue, type KeyGrant } from './grant.js'
import { messageFromValue, messageValue, type StreamMessage } from './message.js'
import { purchaseFromValue, purchaseValue, type Purchase } from './purchase.js'

/** The protocol's name. */
export const STREAMS_PROTOCOL = 'tally/economy/streams/1'

/** Limits of the protocol. */
export const STREAMS_LIMITS: Readonly<{ maxAnnounce: number; maxCatalog: number; maxFetch: number; maxBlockBytes: number; maxMessagesBytes: number }> = Object.freeze({
  maxAnnounce: 16,
  maxCatalog: 128,
  maxFetch: 64,
  maxBlockBytes: 1280,
  /** A messages body (its messages are cut to fit). */
  maxMessagesBytes: 120_000,
})

/** The protocol's messages. */
export type StreamsMessages = {
  announce: readonly HalfBlock[]
  catalog: { readonly after: number; readonly max: number }
  listings: { readonly blocks: readonly HalfBlock[]; readonly next: number }
  fetch: { readonly sensor: Uint8Array; readonly from: number; readonly max: number }
  follow: { readonly sensor: Uint8Array; readonly from: number }
  unfollow: Uint8Array
  messages: { readonly sensor: Uint8Array; readonly from: number; readonly prev: Uint8Array | null; readonly messages: readonly StreamMessage[]; readonly head: number }
  subscribe: Purchase
  receipt: { readonly purchase: Purchase; readonly lock: HalfBlock; readonly voucher: Uint8Array; readonly history: readonly HalfBlock[] }
  key: { readonly sensor: Uint8Array; readonly period: number; readonly recipient: Uint8Array }
  grant: KeyGrant
}

/** The codecs, by kind. */
export const STREAMS_CODECS: { readonly [K in keyof StreamsMessages]: MessageKind<StreamsMessages[K]> } = Object.freeze({
  announce: {
    maxBytes: 21_000,
    cost: 16,
    encode: (blocks: readonly HalfBlock[]) => blocks.map(encodeBlock),
    decode: (v: CborValue) => blocksFrom(v, 1, STREAMS_LIMITS.maxAnnounce),
  },
  catalog: {
    maxBytes: 24,
    cost: 4,
    encode: (m: StreamsMessages['catalog']) => [m.after, m.max],
    decode: (v: CborValue) => {
      const [after, max] = tuple(v, 2)
      if (!isUint(after) || !isUint(max) || max < 1 || max > STREAMS_LIMITS.maxCatalog) throw new DecodeError('catalog is [after, max 1-128]')
      return { after, max }
    },
  },
  listings: {
    maxBytes: 120_000,
    cost: 1,
    encode: (m: StreamsMessages['listings']) => [m.blocks.map(encodeBlock), m.next],
    decode: (v: CborValue) => {
      const [blocks, next] = tuple(v, 2)
      if (!isUint(next)) throw new DecodeError('listings.next must be a uint')
      return { blocks: blocksFrom(blocks!, 0, STREAMS_LIMITS.maxCatalog), next }
    },
  },
  fetch: {
    maxBytes: 48,
    cost: 2,
    encode: (m: StreamsMessages['fetch']) => [m.sensor, m.from, m.max],
    decode: (v: CborValue) => {
      const [sensor, from, max] = tuple(v, 3)
      if (!isBytes(sensor, 32) || !isUint(from) || from < 1 || !isUint(max) || max < 1 || max > STREAMS_LIMITS.maxFetch) throw new DecodeError('fetch is [sensor, from ≥ 1, max 1-64]')
      return { sensor, from, max }
    },
  },
  follow: {
    maxBytes: 48,
    cost: 4,
    encode: (m: StreamsMessages['follow']) => [m.sensor, m.from],
    decode: (v: CborValue) => {
      const [sensor, from] = tuple(v, 2)
      if (!isBytes(sensor, 32) || !isUint(from) || from < 1) throw new DecodeError('follow is [sensor, from ≥ 1]')
      return { sensor, from }
    },
  },
  unfollow: {
    maxBytes: 40,
    cost: 1,
    encode: (sensor: Uint8Array) => [sensor],
    decode: (v: CborValue) => {
      const [sensor] = tuple(v, 1)
      if (!isBytes(sensor, 32)) throw new DecodeError('unfollow is [sensor]')
      return sensor
    },
  },
  messages: {
    maxBytes: STREAMS_LIMITS.maxMessagesBytes,
    cost: 1,
    encode: (m: StreamsMessages['messages']) => [m.sensor, m.from, m.prev, m.messages.map(messageValue), m.head],
    decode: (v: CborValue) => {
      const [sensor, from, prev, list, head] = tuple(v, 5)
      if (!isBytes(sensor, 32) || !isUint(from) || from < 1 || !isUint(head)) throw new DecodeError('messages is [sensor, from ≥ 1, prev, [message], head]')
      if (prev !== null && !isBytes(prev, 32)) throw new DecodeError('messages.prev must be 32 bytes or null')
      if (!Array.isArray(list) || list.length > STREAMS_LIMITS.maxFetch) throw new DecodeError('messages holds 0-64 messages')
      const messages = list.map(messageFromValue)
      messages.forEach((m, i) => {
        if (m.seq !== from + i) throw new DecodeError('messages must be consecutive from `from`')
      })
      return { sensor, from, prev, messages, head }
    },
  },
  subscribe: { maxBytes: 200, cost: 8, encode: purchaseValue, decode: purchaseFromValue },
  receipt: {
    maxBytes: 12_000,
    cost: 16,
    encode: (m: StreamsMessages['receipt']) => [purchaseValue(m.purchase), encodeBlock(m.lock), m.voucher, m.history.map(encodeBlock)],
    decode: (v: CborValue) => {
      const [purchase, lock, voucher, history] = tuple(v, 4)
      if (!(voucher instanceof Uint8Array) || voucher.length > 119) throw new DecodeError('receipt.voucher must be at most 119 bytes')
      const [block] = blocksFrom([lock!], 1, 1)
      return { purchase: purchaseFromValue(purchase!), lock: block!, voucher, history: blocksFrom(history!, 0, 8) }
    },
  },
  key: {
    maxBytes: 80,
    cost: 4,
    encode: (m: StreamsMessages['key']) => [m.sensor, m.period, m.recipient],
    decode: (v: CborValue) => {
      const [sensor, period, recipient] = tuple(v, 3)
      if (!isBytes(sensor, 32) || !isUint(period) || !isBytes(recipient, 32)) throw new DecodeError('key is [sensor, period, recipient]')
      return { sensor, period, recipient }
    },
  },
  grant: { maxBytes: 320, cost: 1, encode: grantValue, decode: grantFromValue },
})

// ## Private helpers

function tuple(v: CborValue, n: number): CborValue[] {
  if (!Array.isArray(v) || v.length !== n) throw new DecodeError(`expected an array of ${n}`)
  return v as CborValue[]
}

function blocksFrom(v: CborValue, min: number, max: number): HalfBlock[] {
  if (!Array.isArray(v) || v.length < min || v.length > max) throw new DecodeError(`expected ${min}-${max} blocks`)
  return v.map((b) => {
    if (!(b instanceof Uint8Array) || b.length > STREAMS_LIMITS.maxBlockBytes) throw new DecodeError('a listing block is bytes of at most 1,280')
    return decodeBlock(b)
  })
}
