/**
 * The sync protocol (`tally/economy/sync/1`): witnesses reconcile keyed sets — an epoch's metric
 * reports, the directory's statements — by digest first, then fetch only what differs.
 *
 *   kind          body                                   max bytes  cost  reply
 *   digests       [set, prefix: bstr(0|1)]                     96     2  digest-list
 *   digest-list   [digests: bstr(256 × 16)]                  4200     1
 *   entries       [set, prefix: bstr(2), after: bstr | null]  160     2  entry-list
 *   entry-list    [[[key, hash16]...≤256], more: bool]      24576     1
 *   fetch         [set, [key...≤64]]                         4608     4  items
 *   items         [[item bytes...≤64]] (≤ 60 KiB in all)    65536     1
 *
 *   set = ['statements'] | ['reports', epoch]
 *
 * A pull walks down only where digests differ: the 256 bucket digests, then the 256 sub-bucket
 * digests of each differing bucket (8 buckets at a time), then the entries of each differing
 * sub-bucket (paged), then the items it lacks or holds in another version, 64 at a time. The puller checks every item itself
 * (signatures, registration) before taking it: a peer can waste its requests, never insert a thing.
 * Only witnesses of the current configuration are answered ('not-witness').
 * @module
 */
import { DecodeError, RefusedError, equalBytes, type CborValue, type PeerContext, type Protocol, type ProtocolHandler } from '@tally/core'
import { bool, bytes, fields, kind, list, text, uint } from './codec.js'
import { DIGEST_BYTES, differing, type KeyedSet, type SetEntry } from './keyed-set.js'

/** Which set: the directory's statements, or one epoch's reports. */
export type SetName = { readonly name: 'statements' } | { readonly name: 'reports'; readonly epoch: number }

/** The sync protocol's messages. */
export type SyncMessages = {
  digests: { readonly set: SetName; readonly prefix: Uint8Array }
  'digest-list': { readonly digests: Uint8Array }
  entries: { readonly set: SetName; readonly prefix: Uint8Array; readonly after: Uint8Array | undefined }
  'entry-list': { readonly entries: readonly SetEntry[]; readonly more: boolean }
  fetch: { readonly set: SetName; readonly keys: readonly Uint8Array[] }
  items: { readonly items: readonly Uint8Array[] }
}

/** The protocol's name. */
export const SYNC_PROTOCOL = 'tally/economy/sync/1'

/** Limits of the sync protocol. */
export const SYNC_LIMITS: Readonly<{ entries: number; fetch: number; itemBytes: number; maxItemBytes: number }> = Object.freeze({
  /** Entries per entry-list. */
  entries: 256,
  /** Keys per fetch. */
  fetch: 64,
  /** Bytes of items per reply. */
  itemBytes: 60 * 1024,
  /** Largest single item (a statement with 255 witness signatures is about 17.5 KiB). */
  maxItemBytes: 20 * 1024,
})

/** What a sync server answers from. */
export interface SyncSource {
  /** The set, if held (an epoch not open or kept: undefined). */
  set(name: SetName): KeyedSet | undefined
  /** An element's bytes. */
  item(name: SetName, key: Uint8Array): Uint8Array | undefined
  /** Whether `peer` may ask (witnesses only). */
  mayAsk(peer: Uint8Array): boolean
}

/** What a pull did. */
export interface PullStats {
  /** Requests sent. */
  readonly requests: number
  /** Items received. */
  readonly fetched: number
  /** Items the caller took. */
  readonly taken: number
}

/**
 * The sync protocol, answering from `source` (a witness) or, without one, asking only.
 * @param source where answers come from
 * @returns the protocol, to host
 * @example const handle = host.host(syncProtocol(witnessSets))
 */
export function syncProtocol(source?: SyncSource): Protocol<SyncMessages> {
  const held = (set: SetName, peer: Uint8Array): KeyedSet => {
    if (source === undefined) throw new RefusedError('this node keeps no sets', { reason: 'unexpected' })
    if (!source.mayAsk(peer)) throw new RefusedError('only witnesses reconcile', { reason: 'not-witness' })
    const s = source.set(set)
    if (s === undefined) throw new RefusedError(`no such set held: ${setLabel(set)}`, { reason: 'unknown-set' })
    return s
  }
  const digests: ProtocolHandler<SyncMessages, 'digests'> = (m, ctx) => ({ kind: 'digest-list', message: { digests: held(m.set, ctx.peer).digests(m.prefix) } })
  const entries: ProtocolHandler<SyncMessages, 'entries'> = (m, ctx) => ({ kind: 'entry-list', message: held(m.set, ctx.peer).entries(m.prefix, m.after, SYNC_LIMITS.entries) })
  const fetch: ProtocolHandler<SyncMessages, 'fetch'> = (m, ctx) => {
    held(m.set, ctx.peer)
    const items: Uint8Array[] = []
    let total = 0
    for (const key of m.keys) {
      const item = source!.item(m.set, key)
      if (item === undefined) continue
      if (total + item.length > SYNC_LIMITS.itemBytes) break
      total += item.length
      items.push(item)
    }
    return { kind: 'items', message: { items } }
  }
  return Object.freeze({ name: SYNC_PROTOCOL, messages: SYNC_MESSAGES, handlers: Object.freeze({ digests, entries, fetch }) })
}

/**
 * Pull from `peer` what `local` lacks, or holds in another version.
 * @param peer the peer's context (a witness)
 * @param set which set
 * @param local our copy
 * @param take checks and inserts fetched items; returns how many it took
 * @param limits most items and requests for this pull
 * @returns what was done
 * @throws what `peer.request` throws (RefusedError, TimeoutError, ClosedError)
 * @example await pullSet(ctx, { name: 'reports', epoch }, log.set, (items) => log.merge(items))
 */
export async function pullSet(
  peer: PeerContext<SyncMessages>,
  set: SetName,
  local: KeyedSet,
  take: (items: readonly Uint8Array[]) => Promise<number> | number,
  limits: { maxItems?: number; maxRequests?: number } = {},
): Promise<PullStats> {
  const maxItems = limits.maxItems ?? 100_000
  const maxRequests = limits.maxRequests ?? 10_000
  let requests = 0
  let fetched = 0
  let taken = 0
  const ask = async <K extends 'digests' | 'entries' | 'fetch'>(kind: K, message: SyncMessages[K]): Promise<SyncMessages[ReplyOf<K>]> => {
    if (requests >= maxRequests) throw new RefusedError(`the pull of ${setLabel(set)} reached its ${maxRequests} requests`, { reason: 'limit' })
    requests++
    const reply = await peer.request(kind, message)
    if (reply.kind !== REPLY[kind]) throw new RefusedError(`${kind} answered with ${reply.kind}`, { reason: 'protocol' })
    return reply.message as SyncMessages[ReplyOf<K>]
  }
  // the walk is round trips: the differing buckets are walked PULL_CONCURRENCY at a time, each
  // with its own list of keys to fetch (a 1% gap over 100,000 items touches ~1,000 sub-buckets)
  const walk = async (b: number): Promise<void> => {
    const want: Uint8Array[] = []
    const flush = async (): Promise<void> => {
      while (want.length > 0 && fetched < maxItems) {
        const keys = want.splice(0, Math.min(SYNC_LIMITS.fetch, maxItems - fetched))
        const { items } = await ask('fetch', { set, keys })
        fetched += items.length
        const n = await take(items) // not `taken += await`: that reads `taken` before another walk adds to it
        taken += n
        if (items.length === 0) break // the peer no longer holds them
      }
      want.length = 0
    }
    const prefix = Uint8Array.of(b)
    const sub = await ask('digests', { set, prefix })
    for (const s of differing(local.digests(prefix), sub.digests)) {
      let after: Uint8Array | undefined
      for (;;) {
        const page = await ask('entries', { set, prefix: Uint8Array.of(b, s), after })
        for (const e of page.entries) {
          const mine = local.get(e.key)
          if (mine === undefined || !equalBytes(mine, e.hash)) want.push(e.key)
        }
        if (want.length >= SYNC_LIMITS.fetch) await flush()
        if (!page.more || page.entries.length === 0 || fetched >= maxItems) break
        after = page.entries[page.entries.length - 1]!.key
      }
      if (fetched >= maxItems) return
    }
    await flush()
  }
  const top = await ask('digests', { set, prefix: new Uint8Array(0) })
  const buckets = differing(local.digests(new Uint8Array(0)), top.digests)
  let at = 0
  await Promise.all(
    Array.from({ length: Math.min(PULL_CONCURRENCY, buckets.length) }, async () => {
      while (at < buckets.length && fetched < maxItems) await walk(buckets[at++]!)
    }),
  )
  return { requests, fetched, taken }
}

/** Buckets walked at once by one pull (requests in flight to one peer, within its handler limits). */
const PULL_CONCURRENCY = 8

// ## Codecs

type ReplyOf<K> = K extends 'digests' ? 'digest-list' : K extends 'entries' ? 'entry-list' : 'items'
const REPLY = { digests: 'digest-list', entries: 'entry-list', fetch: 'items' } as const

const setValue = (set: SetName): CborValue => (set.name === 'statements' ? ['statements'] : ['reports', set.epoch])
function readSet(v: CborValue | undefined): SetName {
  if (!Array.isArray(v) || v.length < 1) throw new DecodeError('set must be [name, ...]')
  const name = text(v[0], 'set name', 16)
  if (name === 'statements' && v.length === 1) return { name }
  if (name === 'reports' && v.length === 2) return { name, epoch: uint(v[1], 'set epoch') }
  throw new DecodeError(`unknown set ${JSON.stringify(name)}`)
}

const SYNC_MESSAGES: Protocol<SyncMessages>['messages'] = Object.freeze({
  digests: kind<SyncMessages['digests']>(96, 2, (m) => [setValue(m.set), m.prefix], (b) => {
    const [set, prefix] = fields(b, 2, 'digests')
    const p = bytes(prefix, 'prefix', undefined, 1)
    return { set: readSet(set), prefix: p }
  }),
  'digest-list': kind<SyncMessages['digest-list']>(4200, 1, (m) => [m.digests], (b) => ({ digests: bytes(fields(b, 1, 'digest-list')[0], 'digests', 256 * DIGEST_BYTES) })),
  entries: kind<SyncMessages['entries']>(160, 2, (m) => [setValue(m.set), m.prefix, m.after ?? null], (b) => {
    const [set, prefix, after] = fields(b, 3, 'entries')
    return { set: readSet(set), prefix: bytes(prefix, 'prefix', 2), after: after === null ? undefined : bytes(after, 'after', undefined, 64) }
  }),
  'entry-list': kind<SyncMessages['entry-list']>(24_576, 1, (m) => [m.entries.map((e) => [e.key, e.hash]), m.more], (b) => {
    const [entries, more] = fields(b, 2, 'entry-list')
    return {
      entries: list(entries, 'entries', SYNC_LIMITS.entries, (e, what) => {
        const [key, hash] = fields(e, 2, what)
        const k = bytes(key, `${what} key`, undefined, 64)
        if (k.length < 2) throw new DecodeError(`${what} key must be at least 2 bytes`)
        return { key: k, hash: bytes(hash, `${what} hash`, DIGEST_BYTES) }
      }),
      more: bool(more, 'more'),
    }
  }),
  fetch: kind<SyncMessages['fetch']>(4608, 4, (m) => [setValue(m.set), [...m.keys]], (b) => {
    const [set, keys] = fields(b, 2, 'fetch')
    return { set: readSet(set), keys: list(keys, 'keys', SYNC_LIMITS.fetch, (k, what) => bytes(k, what, undefined, 64)) }
  }),
  items: kind<SyncMessages['items']>(65_536, 1, (m) => [[...m.items]], (b) => ({
    items: list(fields(b, 1, 'items')[0], 'items', SYNC_LIMITS.fetch, (i, what) => bytes(i, what, undefined, SYNC_LIMITS.maxItemBytes)),
  })),
})

/** A label for logs. */
export function setLabel(set: SetName): string {
  return set.name === 'statements' ? 'the statements' : `the reports of epoch ${set.epoch}`
}
