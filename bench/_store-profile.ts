// Not a group (the name starts with '_'): a store's share of a transaction, without crypto or the
// agent. Two memory agents make the blocks of N transactions first; the timed part then replays
// their commits into two stores the way agents commit them (proposal in A; proposal and agreement
// in B; agreement in A; each waits until durable), many transactions in flight. What is left is
// the store's own CPU: this thread's and every other thread's (libuv's pool, LevelDB's compaction,
// the collector's helpers), per transaction, and how long commits wait to be in order and durable.
//
// Run: node --import tsx bench/_store-profile.ts [memory|level|level_synced] [transactions=10000] [in_flight=64]
// Profile: node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/_store-profile.ts level_synced
// SPEED_HEAP=1: also sample what the replay allocates (bytes a transaction by allocating function, on stderr)
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Session } from 'node:inspector/promises'
import { createAgent, createBlockTypes, createMemoryStore, identityFromSeed, type BlockStore, type HalfBlock } from '@tally/core'
import { defaultCrypto, openLevelStore } from '@tally/node'
import { threadSplit, threadsCpuMs } from './_clocks.js'
import { emit, note, round } from './lib.js'

const STORE = process.argv[2] ?? 'level_synced'
const TX = Number(process.argv[3] ?? 10_000)
const IN_FLIGHT = Number(process.argv[4] ?? 64)
const WARM_UP = 2000
if (!['memory', 'level', 'level_synced'].includes(STORE)) throw new TypeError(`store: memory, level or level_synced, not ${STORE}`)
const crypto = defaultCrypto()
const types = createBlockTypes([{ name: 'transfer' }])
const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n)

note(`making the blocks of ${WARM_UP + TX} transactions`)
const maker = (n: number) => createAgent({ head: 'local', identity: identityFromSeed(seed(n), crypto), store: createMemoryStore({ crypto }), types })
const [alice, bob] = [maker(10), maker(11)]
const txs: { proposal: HalfBlock; agreement: HalfBlock }[] = []
for (let i = 0; i < WARM_UP + TX; i++) {
  const proposal = await alice.propose(bob.publicKey, 'transfer', [i, 1])
  const agreement = await bob.agree(proposal)
  await alice.complete(agreement)
  txs.push({ proposal, agreement })
}

const dirs: string[] = []
async function open(): Promise<BlockStore> {
  if (STORE === 'memory') return createMemoryStore({ crypto })
  const dir = mkdtempSync(join(tmpdir(), 'tally-store-profile-'))
  dirs.push(dir)
  return openLevelStore({ path: dir, crypto, sync: STORE === 'level_synced' })
}
const a = await open()
const b = await open()
/** Milliseconds each commit waited: until in order, then until durable. */
const waits: { ordered: number[]; durable: number[] } = { ordered: [], durable: [] }

async function commit(store: BlockStore, blocks: HalfBlock[]): Promise<void> {
  const batch = store.batch()
  for (const block of blocks) batch.put(block)
  if (batch.commitOrdered === undefined) return batch.commit()
  const t0 = performance.now()
  const { ordered, durable } = batch.commitOrdered()
  await ordered
  const t1 = performance.now()
  await durable
  waits.ordered.push(t1 - t0)
  waits.durable.push(performance.now() - t1)
}

let next = 0
async function replay(end: number): Promise<void> {
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < end) {
      const { proposal, agreement } = txs[next++]!
      await commit(a, [proposal])
      await commit(b, [proposal, agreement])
      await commit(a, [agreement])
    }
  }))
}

try {
  await replay(WARM_UP)
  waits.ordered.length = 0
  waits.durable.length = 0
  const session = process.env['SPEED_HEAP'] === '1' ? new Session() : undefined
  if (session !== undefined) {
    session.connect()
    // every allocation sampled, also of objects the collector has freed since
    await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never)
  }
  const threads0 = threadsCpuMs()
  const t0 = performance.now()
  await replay(WARM_UP + TX)
  const ms = performance.now() - t0
  const split = threadSplit(threads0, threadsCpuMs())
  const allocated = session === undefined ? undefined : allocationSites((await session.post('HeapProfiler.stopSampling')).profile.head)
  session?.disconnect()
  const us = (x: number): number => round((x * 1000) / TX, 1)
  const quantiles = (xs: number[]): number[] => {
    const sorted = [...xs].sort((x, y) => x - y)
    return [0.5, 0.9, 0.99].map((q) => round(sorted[Math.floor(q * (sorted.length - 1))] ?? 0, 2))
  }
  emit('speed.store_tx_per_s', (TX * 1000) / ms, 'tx/s', {
    store: STORE, in_flight: IN_FLIGHT, what: 'the commits of a transaction replayed into two stores, no crypto',
    ...(split === undefined ? {} : { main_us_per_tx: us(split.main), other_threads_us_per_tx: us(split.worker + split.rest) }),
    ...(waits.ordered.length === 0 ? {} : { ordered_ms_p50_p90_p99: quantiles(waits.ordered), durable_ms_p50_p90_p99: quantiles(waits.durable) }),
    ...(allocated === undefined ? {} : { allocated_bytes_per_tx: Math.round(allocated.total / TX) }),
    load: round(loadavg()[0]!, 2),
  })
  if (allocated !== undefined) {
    for (const [site, bytes] of allocated.sites.slice(0, 25)) note(`${String(Math.round(bytes / TX)).padStart(7)} B/tx  ${site}`)
  }
} finally {
  await a.close()
  await b.close()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
}

interface SampleNode {
  callFrame: { functionName: string; url: string; lineNumber: number }
  selfSize: number
  children: SampleNode[]
}

/** Sampled bytes by allocating function (and its caller), most first. */
function allocationSites(head: SampleNode): { total: number; sites: [string, number][] } {
  const bytes = new Map<string, number>()
  let total = 0
  const name = ({ callFrame: f }: SampleNode): string => `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`
  const walk = (node: SampleNode, caller: string): void => {
    const site = `${name(node)} <- ${caller}`
    total += node.selfSize
    if (node.selfSize > 0) bytes.set(site, (bytes.get(site) ?? 0) + node.selfSize)
    for (const child of node.children) walk(child, name(node))
  }
  walk(head, '')
  return { total, sites: [...bytes].sort((x, y) => y[1] - x[1]) }
}
