/**
 * The sync protocol's pull (net/sync.ts) between two keyed sets: what one lacks, or holds in
 * another version, is fetched and nothing else, walking down the differing buckets' sub-bucket
 * digests, 8 buckets at a time;
 * a malformed `entries` prefix is refused.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DecodeError, nobleCrypto } from '@tally/core'
import { KeyedSet } from '../src/net/keyed-set.ts'
import { pullSet, syncProtocol, type SetName, type SyncMessages } from '../src/net/sync.ts'
import type { PeerContext, ProtocolReply } from '@tally/core'

const peerKey = new Uint8Array(32).fill(7)
const name: SetName = { name: 'reports', epoch: 1 }
const item = (i: number, version = 0): Uint8Array => Uint8Array.from([...new TextEncoder().encode(`item ${i} v${version}`)])
const keyOf = (i: number): Uint8Array => nobleCrypto.sha256(new TextEncoder().encode(`key ${i}`)).subarray(0, 8)
const hashOf = (bytes: Uint8Array): Uint8Array => nobleCrypto.sha256(bytes).subarray(0, 16)

/** A set of n items (some in another version), with its bytes by key. */
function build(n: number, skip: (i: number) => boolean, version: (i: number) => number = () => 0) {
  const set = new KeyedSet()
  const bytes = new Map<string, Uint8Array>()
  for (let i = 0; i < n; i++) {
    if (skip(i)) continue
    const b = item(i, version(i))
    set.set(keyOf(i), hashOf(b))
    bytes.set(String(keyOf(i)), b)
  }
  return { set, bytes }
}

/** A peer context whose requests run the sync protocol's handlers on `remote`, counted by kind. */
function peerOf(remote: ReturnType<typeof build>, counts: Record<string, number>): PeerContext<SyncMessages> {
  const protocol = syncProtocol({ set: () => remote.set, item: (_, key) => remote.bytes.get(String(key)), mayAsk: () => true })
  const ctx = {
    peer: peerKey,
    async request(kind: keyof SyncMessages, message: never): Promise<ProtocolReply<SyncMessages>> {
      counts[kind] = (counts[kind] ?? 0) + 1
      // through the codecs, as on the wire
      const codec = protocol.messages[kind]
      const decoded = codec.decode(codec.encode(message) as never) as never
      return (await protocol.handlers[kind]!(decoded, ctx as never)) as ProtocolReply<SyncMessages>
    },
  }
  return ctx as unknown as PeerContext<SyncMessages>
}

async function pull(local: ReturnType<typeof build>, remote: ReturnType<typeof build>) {
  const counts: Record<string, number> = {}
  const stats = await pullSet(peerOf(remote, counts), name, local.set, (items) => {
    for (const b of items) {
      const i = Number(/item (\d+)/.exec(new TextDecoder().decode(b))![1])
      local.set.set(keyOf(i), hashOf(b))
    }
    return items.length
  })
  return { stats, counts }
}

const Sync = suite('sync: pulls')

Sync('a 1% gap over 20,000 items and one item changed: only those fetched, the sets equal after', async () => {
  const remote = build(20_000, () => false, (i) => (i === 5 ? 1 : 0))
  const local = build(20_000, (i) => i % 100 === 0)
  const { stats, counts } = await pull(local, remote)
  assert.is(stats.taken, 200 + 1, 'the 200 missing and the one in another version (counted by concurrent walks)')
  assert.is(stats.fetched, 201)
  assert.equal(local.set.root(), remote.set.root(), 'the sets are equal')
  assert.ok(counts['digests']! <= 257, `the top digests and one list per differing bucket (${counts['digests']})`)
})

Sync('one item missing: one bucket, one sub-bucket', async () => {
  const remote = build(20_000, () => false)
  const local = build(20_000, (i) => i === 77)
  const { stats, counts } = await pull(local, remote)
  assert.is(stats.taken, 1)
  assert.is(counts['digests'], 2, 'the top digests and the differing bucket\'s sub-buckets')
  assert.is(counts['entries'], 1, 'one sub-bucket\'s entries')
})

Sync('entries: a prefix of other than 2 bytes is malformed', () => {
  const codec = syncProtocol().messages.entries
  for (const n of [0, 1, 3]) assert.throws(() => codec.decode([['reports', 1], new Uint8Array(n), null]), (e: unknown) => e instanceof DecodeError)
  assert.is(codec.decode([['reports', 1], new Uint8Array(2), null]).prefix.length, 2)
})

Sync.run()
