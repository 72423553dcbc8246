/**
 * Where a node keeps the stream messages it serves: its own sensors' and the ones it relays. Each
 * stream keeps its last `retain` messages with their hashes, so a fetch from any kept position
 * answers with the `prev` its reader needs to check against; older ones are dropped (a reader
 * asking for them gets the oldest kept and sees the gap). Bounded in streams and messages.
 * @module
 */
import { auint, toHex } from '@tally/core'
import type { StreamMessage } from './message.js'

/** A range of a stream. */
export interface MessageRange {
  /** The seq of the first message returned (the first kept when older was asked). */
  readonly from: number
  /** The hash before `from`, when known. */
  readonly prev: Uint8Array | null
  readonly messages: readonly StreamMessage[]
  /** The next seq expected. */
  readonly head: number
}

/** The store. */
export interface MessageStore {
  /**
   * Keep a message whose place was checked (it verifies after `prev`).
   * @returns false when the stream is new and the store is full of streams
   */
  put(sensor: Uint8Array, message: StreamMessage, hash: Uint8Array, prev: Uint8Array): boolean
  /** Up to `max` messages from `from` (and at most `maxBytes` of boxes). */
  range(sensor: Uint8Array, from: number, max: number, maxBytes?: number): MessageRange | undefined
  /** The next seq and the hash before it, for a stream held. */
  head(sensor: Uint8Array): { seq: number; prev: Uint8Array } | undefined
}

/** Options of createMessageStore. */
export interface MessageStoreOptions {
  /** Messages kept per stream (default 4,096). */
  readonly retain?: number
  /** Streams kept at most (default 1,024). */
  readonly maxStreams?: number
}

interface Kept {
  first: number
  messages: StreamMessage[]
  hashes: Uint8Array[]
  prevOfFirst: Uint8Array
}

/**
 * A memory message store.
 * @param options limits
 * @returns the store
 * @example createStreamService({ host, messages: createMessageStore({ retain: 10_000 }) })
 */
export function createMessageStore(options: MessageStoreOptions = {}): MessageStore {
  const retain = auint('retain', options.retain ?? 4096, 1)
  const maxStreams = auint('maxStreams', options.maxStreams ?? 1024, 1)
  const streams = new Map<string, Kept>()
  return {
    put(sensor, message, hash, prev) {
      const key = toHex(sensor)
      let kept = streams.get(key)
      if (kept === undefined) {
        if (streams.size >= maxStreams) return false
        streams.set(key, (kept = { first: message.seq, messages: [], hashes: [], prevOfFirst: prev }))
      }
      kept.messages.push(message)
      kept.hashes.push(hash)
      if (kept.messages.length > retain * 2) {
        // drop in halves: amortised O(1) a message
        const drop = kept.messages.length - retain
        kept.prevOfFirst = kept.hashes[drop - 1]!
        kept.messages = kept.messages.slice(drop)
        kept.hashes = kept.hashes.slice(drop)
        kept.first += drop
      }
      return true
    },
    range(sensor, from, max, maxBytes = Infinity) {
      const kept = streams.get(toHex(sensor))
      if (kept === undefined) return undefined
      const head = kept.first + kept.messages.length
      const start = Math.max(from, kept.first)
      const out: StreamMessage[] = []
      let bytes = 0
      for (let seq = start; seq < head && out.length < max; seq++) {
        const m = kept.messages[seq - kept.first]!
        bytes += m.box.length + 96
        if (bytes > maxBytes && out.length > 0) break
        out.push(m)
      }
      const prev = start === kept.first ? kept.prevOfFirst : start - kept.first - 1 < kept.hashes.length ? kept.hashes[start - kept.first - 1]! : null
      return { from: start, prev, messages: out, head }
    },
    head(sensor) {
      const kept = streams.get(toHex(sensor))
      if (kept === undefined) return undefined
      const n = kept.messages.length
      return { seq: kept.first + n, prev: n === 0 ? kept.prevOfFirst : kept.hashes[n - 1]! }
    },
  }
}
