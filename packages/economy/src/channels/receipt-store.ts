/**
 * A channel book: what one side of a channel keeps — the channel's locks, in order, and its latest
 * receipt. The payee's book is what it is owed: a receipt it acknowledged and then forgot is money
 * lost, so `keep` resolves only once the receipt is durable, and a payee acknowledges a payment only
 * after that (channel.ts). The payer's book is what it promised: a payer that forgot its latest
 * receipt would release what it covers, and the payee's copy would prove that fraud.
 *
 * The book sits on any durable id → bytes table: `createMemoryTable()` here, or @tally/node's
 * `openLevelRecords({ path })` (LevelDB, each put fsynced before it resolves). Records:
 *
 *   r.<channel hex>          the latest receipt (encodeReceipt)
 *   l.<channel hex>.<k>      the channel's k-th lock block (encodeBlock), k from 0
 * @module
 */
import { decodeBlock, encodeBlock, fromHex, toHex, type HalfBlock } from '@tally/core'
import { decodeReceipt, encodeReceipt, type Receipt } from './receipt.js'

/** Where the lock rules find the latest receipt known for a channel (a payee's book). */
export interface ReceiptSource {
  /** The receipt with the highest amount known for the channel. */
  latest(channel: Uint8Array): Receipt | undefined | Promise<Receipt | undefined>
}

/** A durable id → bytes table (structurally @tally/node's LevelRecords). */
export interface RecordTable {
  /** The record under `id`, or undefined. */
  get(id: string): Promise<Uint8Array | undefined>
  /** Store or replace a record; durable when resolved. */
  put(id: string, record: Uint8Array): Promise<void>
  /** Every record, by ascending id. */
  list(): Promise<readonly { readonly id: string; readonly record: Uint8Array }[]>
}

/** One side's record of its channels. */
export interface ChannelBook extends ReceiptSource {
  latest(channel: Uint8Array): Promise<Receipt | undefined>
  /**
   * Keep `receipt` as the channel's latest (the caller checked it raises the total); durable when
   * resolved. `bytes`, when given, are its encoding (saves encoding it again).
   */
  keep(receipt: Receipt, bytes?: Uint8Array): Promise<void>
  /** The channel's lock blocks, the opening lock first. */
  locks(channel: Uint8Array): Promise<HalfBlock[]>
  /** Add the channel's next lock (the caller checked its place); durable when resolved. */
  addLock(channel: Uint8Array, lock: HalfBlock, index: number): Promise<void>
  /** Every channel with a lock in the book. */
  channels(): Promise<Uint8Array[]>
}

/**
 * An id → bytes table in memory (a test's or a demo's; nothing survives the process).
 * @returns the table
 * @example const book = createChannelBook(createMemoryTable())
 */
export function createMemoryTable(): RecordTable {
  // Rows are the table's own: put copies in, get and list copy out, so a row replaced by one of
  // the same length (a channel's next receipt, nearly always) is overwritten in place, with no new
  // buffer per payment (each is a backing store of its own beyond 64 bytes, allocated and swept).
  const rows = new Map<string, Uint8Array>()
  return {
    async get(id) {
      const row = rows.get(id)
      return row === undefined ? undefined : row.slice()
    },
    async put(id, record) {
      const row = rows.get(id)
      if (row !== undefined && row.length === record.length) row.set(record)
      else rows.set(id, new Uint8Array(record)) // a copy (a Buffer's slice would be a view), without Uint8Array.from's iteration
    },
    async list() {
      return [...rows.keys()].sort().map((id) => ({ id, record: rows.get(id)!.slice() }))
    },
  }
}

/**
 * A channel book over a table.
 * @param table where records live (default: in memory); for a payee, a durable one
 * @returns the book
 * @example const book = createChannelBook(await openLevelRecords({ path: './channels' }))
 */
export function createChannelBook(table: RecordTable = createMemoryTable()): ChannelBook {
  // a payment's hot path keeps one receipt per call: name its record once per channel array
  const ids = new WeakMap<Uint8Array, string>()
  const receiptId = (channel: Uint8Array): string => {
    let id = ids.get(channel)
    if (id === undefined) ids.set(channel, (id = `r.${toHex(channel)}`))
    return id
  }
  return {
    async latest(channel) {
      const bytes = await table.get(`r.${toHex(channel)}`)
      return bytes === undefined ? undefined : decodeReceipt(bytes)
    },
    keep(receipt, bytes) {
      // no async frame of its own: one per payment on each side
      try {
        return table.put(receiptId(receipt.channel), bytes ?? encodeReceipt(receipt))
      } catch (err) {
        return Promise.reject(err)
      }
    },
    async locks(channel) {
      const out: HalfBlock[] = []
      const prefix = `l.${toHex(channel)}.`
      for (let k = 0; ; k++) {
        const bytes = await table.get(prefix + k)
        if (bytes === undefined) return out
        out.push(decodeBlock(bytes))
      }
    },
    async addLock(channel, lock, index) {
      await table.put(`l.${toHex(channel)}.${index}`, encodeBlock(lock))
    },
    async channels() {
      const rows = await table.list()
      return rows.filter((r) => r.id.startsWith('l.') && r.id.endsWith('.0')).map((r) => fromHex(r.id.slice(2, 66)))
    },
  }
}
