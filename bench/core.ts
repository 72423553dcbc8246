// Tally's core figures: signing and verifying per crypto provider, transactions per second between
// two agents in one process (memory and LevelDB stores; one at a time on one thread, and many in
// flight with signatures checked on every core), ingesting a received chain (with and without the
// worker-thread verify pool), durable appends (synced and not; one and many in flight), and the
// size of a transfer block.
//
// Every figure here is in-process: two agents in one process, no socket between them (the ws figures
// are the gossip group's). Everything is measured in one run, and every ratio is taken between
// figures of that run: the CI machine is a noisy 2-core VM, so a ratio to a figure from another
// run says little; each line carries the load average when it was taken (`load`). Signing,
// verifying and the transaction runs of a provider take turns in 100 ms slices, summed per
// activity, so a drift of the machine during the run falls on every side of a ratio alike.
//
// Run: node --import tsx bench/core.ts   (or node bench/run.mjs core)
// Knobs: BENCH_CORE_TX_MS (default 3000), BENCH_CORE_IN_FLIGHT (default 64), BENCH_CORE_INGEST_BLOCKS (default 100000),
// BENCH_CORE_APPEND_MS (default 1500, per append run), BENCH_CORE_BUDGET_S (default 170: LevelDB ingest runs that
// would end later are skipped, with a note), BENCH_CORE_SKIP (default none: any of tx, append, size, left out; the
// ingest always runs), BENCH_CORE_PROFILE=<dir> (a CPU profile of the one-thread ingest of the whole chain, written
// there as ingest-serial.cpuprofile).
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import {
  GENESIS_HASH,
  UNILATERAL_KEY,
  blockHash,
  blockSize,
  createAgent,
  createBlockTypes,
  createMemoryStore,
  decodeBlock,
  encodeBlock,
  identityFromSeed,
  ingestBlocks,
  signBlock,
  type BlockStore,
  type CborValue,
  type CryptoProvider,
  type HalfBlock,
  type SeedIdentity,
  type IngestOptions,
} from '@tally/core'
import { createVerifyPool, cryptoProviders, defaultCrypto, openLevelStore, type VerifyPool } from '@tally/node'
import { clocks, elapsed, gcPauses, threadCpuMs, threadSplit, threadsCpuMs, type Clocks, type ThreadSplit } from './_clocks.js'
import { emit, knob, note, round } from './lib.js'

const TX_MS = knob('BENCH_CORE_TX_MS', 3000)
/** Transactions in flight at once in the pipelined runs. */
const IN_FLIGHT = knob('BENCH_CORE_IN_FLIGHT', 64)
/** Worker threads of the agents' verify pool: one per core but this one, which helps when idle. */
const TX_WORKERS = Math.max(1, availableParallelism() - 1)
const INGEST_BLOCKS = knob('BENCH_CORE_INGEST_BLOCKS', 100_000)
const APPEND_MS = knob('BENCH_CORE_APPEND_MS', 1500)
/** Length of one slice of an append run when the four take turns. */
const APPEND_SLICE_MS = 250
/** The whole script should end within this; the optional LevelDB ingest runs are cut to fit. */
const BUDGET_MS = knob('BENCH_CORE_BUDGET_S', 170) * 1000
/** Length of one slice of sign, verify or transactions when they take turns. */
const TX_SLICE_MS = 100
/** The portable provider is an order of magnitude slower: a short tx run says enough. */
const NOBLE_TX_MS = 1000
/** Signatures checked per slice of the ingest's bound. */
const BOUND_SLICE = 10_000
const SKIP = new Set((process.env['BENCH_CORE_SKIP'] ?? '').split(',').filter((x) => x !== ''))
/** The collector's pauses on this thread, for the `gc_share` of the transaction and ingest figures. */
const gc = gcPauses()

/** The store of a benchmark and how to get rid of it (close, and remove its directory). */
interface BenchStore {
  readonly store: BlockStore
  dispose(): Promise<void>
}

// A 'transfer' is [amount, balance]; its rule checks the shape only, so the figures measure the
// protocol, not an economy.
/** The appends' block type: a note with the default rules (an agent signs only registered types). */
const noteTypes = createBlockTypes([{ name: 'note' }])

const types = createBlockTypes([
  {
    name: 'transfer',
    validate: (block) => ({
      errors: isTransferPayload(block.payload) ? [] : [{ rule: 'transfer-payload', message: 'payload must be [amount, balance]' }],
    }),
  },
])

// Stores and pools still open, closed in `finally` even when a step throws.
const open = new Set<{ dispose(): Promise<void> }>()

// ## Main

note(`core bench: node ${process.version}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`)
const started = performance.now()

try {
  const providers = cryptoProviders()
  const fallback = defaultCrypto()
  const signRates = new Map<string, number>()

  for (const crypto of SKIP.has('tx') ? [] : providers) {
    // sign, verify and the transaction runs take turns in short slices, so that a change of the
    // machine's speed during the run (other processes, CPU steal) falls on all of them alike
    const withLevel = crypto.name === fallback.name
    note(`core bench: ${crypto.name}: sign, verify, tx (memory${withLevel ? ', level' : ''}) interleaved`)
    // unsynced (writes reach the OS; a killed process loses nothing) and, for the pipelined run,
    // synced too (the store's default: fdatasync before a commit resolves, group commit)
    const level = withLevel ? await Promise.all([levelStore(crypto), levelStore(crypto), levelStore(crypto), levelStore(crypto), levelStore(crypto, true), levelStore(crypto, true)]) : undefined
    // the pipelined runs: IN_FLIGHT transactions at once, signatures checked by a pool (noble is
    // too slow for the figure to say anything, and is left out)
    const pool = crypto.name === 'noble' ? undefined : createVerifyPool({ size: TX_WORKERS, crypto: crypto.name, mainThread: true })
    try {
      const crypt = cryptoSteps(crypto)
      const runs: { name: string; store: 'memory' | 'level' | 'level_synced'; pipelined: boolean; tx: ReturnType<typeof txSteps> }[] = [
        { name: 'memory serial', store: 'memory', pipelined: false, tx: txSteps(crypto, [memoryStore(crypto), memoryStore(crypto)]) },
      ]
      if (pool !== undefined) runs.push({ name: 'memory pipelined', store: 'memory', pipelined: true, tx: txSteps(crypto, [memoryStore(crypto), memoryStore(crypto)], pool) })
      if (level !== undefined) {
        runs.push({ name: 'level serial', store: 'level', pipelined: false, tx: txSteps(crypto, [level[0]!.store, level[1]!.store]) })
        if (pool !== undefined) runs.push({ name: 'level pipelined', store: 'level', pipelined: true, tx: txSteps(crypto, [level[2]!.store, level[3]!.store], pool) })
        if (pool !== undefined) runs.push({ name: 'level_synced pipelined', store: 'level_synced', pipelined: true, tx: txSteps(crypto, [level[4]!.store, level[5]!.store], pool) })
      }
      const tasks = [crypt.sign, crypt.verify, ...runs.map((r) => r.tx.task)]
      const sliceMs = crypto.name === 'noble' ? 150 : TX_SLICE_MS
      const rounds = Math.max(2, Math.round((crypto.name === 'noble' ? NOBLE_TX_MS : TX_MS) / sliceMs))
      await interleave(tasks, 1, sliceMs) // warm-up: JIT, caches, the first blocks of each chain
      for (const t of tasks) t.reset()
      await interleave(tasks, rounds, sliceMs)
      for (const r of runs) await r.tx.check()
      await gc.settle()
      const sign = crypt.sign.perSecond()
      const verify = crypt.verify.perSecond()
      const bound = txBound(sign, verify)
      signRates.set(crypto.name, sign)
      emit('core.sign_per_s', sign, 'ops/s', { provider: crypto.name })
      emit('core.verify_per_s', verify, 'ops/s', { provider: crypto.name })
      emit('core.crypto_bound_tx_per_s', bound, 'tx/s', { provider: crypto.name, rounds, slice_ms: sliceMs, what: 'one thread: 1 / (2 sign + 2 verify)' })
      const rate = (name: string): number | undefined => runs.find((r) => r.name === name)?.tx.task.perSecond()
      for (const store of ['memory', 'level', 'level_synced'] as const) {
        const serial = rate(`${store} serial`)
        const pipelined = rate(`${store} pipelined`)
        const memorySerial = rate('memory serial')!
        const memoryPipelined = rate('memory pipelined')
        if (serial !== undefined) {
          emit(`core.tx_per_s.${store}.serial`, serial, 'tx/s', {
            provider: crypto.name,
            in_flight: 1,
            ratio_to_bound: round(serial / bound, 3),
            load: round(loadavg()[0]!, 2),
            ...(store === 'level' ? { sync: false, ratio_to_memory: round(serial / memorySerial, 3) } : {}),
            what: 'one transaction at a time, every signature checked on this thread',
            gc_share: gcShare(runs.find((r) => r.name === `${store} serial`)!.tx.task),
          })
        }
        if (pipelined !== undefined) {
          emit(`core.tx_per_s.${store}`, pipelined, 'tx/s', {
            provider: crypto.name,
            in_flight: IN_FLIGHT,
            verify: `pool of ${TX_WORKERS} + main thread`,
            ratio_to_bound: round(pipelined / bound, 3),
            // what the pool can reach: both cores signing and verifying, 2 / (2 sign + 2 verify)
            ratio_to_two_core_bound: round(pipelined / (2 * bound), 3),
            two_core_bound_tx_per_s: Math.round(2 * bound),
            load: round(loadavg()[0]!, 2),
            ...(store !== 'memory' && memoryPipelined !== undefined ? { sync: store === 'level_synced', ratio_to_memory: round(pipelined / memoryPipelined, 3) } : {}),
            ...(serial !== undefined ? { ratio_to_serial: round(pipelined / serial, 3) } : {}),
            what: `${IN_FLIGHT} transactions in flight, signatures checked by the verify pool`,
            ...txCpu(runs.find((r) => r.name === `${store} pipelined`)!.tx.task, crypt),
          })
        }
      }
      // this provider's stores are garbage from here on: dropped now, or this module's frame keeps
      // them (tens of MB of blocks) reachable through every later part, whose collections then
      // mark them again and again (the one-thread ingest ran ~2.5 us a block slower for it)
      runs.length = 0
      tasks.length = 0
    } finally {
      await pool?.close()
      for (const l of level ?? []) await l.dispose()
      level?.splice(0)
    }
  }

  // ## Durable appends
  // One agent appending (one append in flight), and IN_FLIGHT agents appending to one store (an
  // append each in flight), synced (the default: fdatasync before an append resolves, shared by
  // the appends in flight) and not. The four runs take turns in slices, so that the ratio of
  // synced to unsynced falls within one stretch of the machine's speed.
  if (!SKIP.has('append')) {
    note(`core bench: appends on LevelDB, 1 and ${IN_FLIGHT} in flight, sync false and true, interleaved`)
    const shapes = [1, IN_FLIGHT].flatMap((inFlight) => [false, true].map((sync) => ({ inFlight, sync })))
    const runs = await Promise.all(
      shapes.map(async ({ inFlight, sync }) => {
        const bench = await levelStore(fallback, sync)
        return { inFlight, sync, bench, ...appendSteps(fallback, bench.store, inFlight) }
      }),
    )
    const rounds = Math.max(2, Math.round(APPEND_MS / APPEND_SLICE_MS))
    const tasks = runs.map((r) => r.task)
    await interleave(tasks, 1, APPEND_SLICE_MS) // warm-up: JIT, the first blocks of each chain, LevelDB's files
    for (const t of tasks) t.reset()
    await interleave(tasks, rounds, APPEND_SLICE_MS)
    for (const r of runs) await r.check()
    for (const r of runs) {
      const rate = r.task.perSecond()
      const unsynced = runs.find((u) => u.inFlight === r.inFlight && !u.sync)!.task.perSecond()
      emit('core.append_per_s.level', rate, 'ops/s', {
        provider: fallback.name,
        sync: r.sync,
        in_flight: r.inFlight,
        ...(r.sync ? { ratio_to_unsynced: round(rate / unsynced, 3) } : {}),
        load: round(loadavg()[0]!, 2),
        rounds,
        slice_ms: APPEND_SLICE_MS,
        what: `${r.inFlight === 1 ? 'one agent' : `${r.inFlight} agents, one store`}, ${r.sync ? 'fdatasync before an append resolves (group commit)' : 'written to the OS, not synced'}`,
      })
    }
    for (const r of runs) await r.bench.dispose()
  }

  // ## Size of a transfer
  // (Ed25519 signs deterministically: every provider builds the same chain)
  const fastest = signRates.size === 0 ? fallback : providers.reduce((a, b) => ((signRates.get(b.name) ?? 0) > (signRates.get(a.name) ?? 0) ? b : a))
  if (!SKIP.has('size')) {
    note('core bench: transfer block size at seq ~10,000')
    const sizes = await transferSizes(fastest)
    emit('core.block_bytes.transfer', Math.max(sizes.proposal, sizes.agreement), 'bytes', sizes)
  }

  // ## Ingest: a received chain, as bytes
  note(`core bench: building a chain of ${INGEST_BLOCKS} blocks with ${fastest.name}`)
  const wire = buildChain(identityFromSeed(seed(20), fastest), fastest, INGEST_BLOCKS).map(encodeBlock)
  // signatures are checked with the provider the pool's workers use (the default one), both ways
  const crypto = fallback
  const pool = createVerifyPool()
  open.add({ dispose: () => pool.close() })
  await warmIngest(wire, memoryBenchStore, crypto, pool)
  await serialMemoryIngest(wire, crypto)
  note(`core bench: ingest ${wire.length} blocks into memory, pool of ${pool.size}`)
  {
    // the two-core bound on the wall clock, as the pooled rate: slices before and after the run
    const bound = verifyBound(wire, crypto)
    bound.slice(BOUND_SLICE)
    const run = await timedIngest(wire, memoryBenchStore(crypto), crypto, pool)
    bound.slice(BOUND_SLICE)
    await gc.settle()
    emitIngest(wire.length, run.clocks.wall, crypto, pool, 'memory', bound.perSecond('wall'), { gc_share: round(gc.within(...run.span) / run.clocks.wall, 3) })
  }
  // Into LevelDB only as far as the time budget allows: a run is skipped when the rate of the
  // warm-up says it would end past the budget.
  const estimate = await warmIngest(wire, levelStore, crypto, pool)
  for (const withPool of [true, false]) {
    const label = `ingest ${wire.length} blocks into level, ${withPool ? `pool of ${pool.size}` : 'no pool'}`
    const expectedMs = wire.length * estimate.msPerBlock[withPool ? 1 : 0]
    const leftMs = BUDGET_MS - (performance.now() - started)
    if (expectedMs > leftMs) {
      note(`core bench: skipping ${label}: about ${(expectedMs / 1000).toFixed(0)} s expected, ${(Math.max(0, leftMs) / 1000).toFixed(0)} s left of the budget`)
      continue
    }
    note(`core bench: ${label} (about ${(expectedMs / 1000).toFixed(0)} s)`)
    const verify = await verifyRate(crypto, wire)
    emitIngest(wire.length, await ingestRun(wire, await levelStore(crypto), crypto, withPool ? pool : undefined), crypto, withPool && pool, 'level', verify)
  }
  await pool.close()
} finally {
  for (const x of [...open]) await x.dispose()
}
note(`core bench: done in ${((performance.now() - started) / 1000).toFixed(1)} s, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`)

// ## Crypto

/**
 * A measured activity: `step` is one operation; slices of it are timed and summed. A task with
 * `slice` runs a whole slice itself (many operations in flight) and says how many it finished.
 */
interface Task {
  step(): unknown
  slice?(ms: number): Promise<number>
  perSecond(): number
  reset(): void
  /** Timed so far: operations and milliseconds. */
  ops: number
  ms: number
  /** The timed slices (`performance.now()` spans), for the collector's pauses within them. */
  spans: [number, number][]
  /** CPU milliseconds of this thread in the timed slices (undefined where the kernel does not say). */
  cpuMs: number | undefined
  /** With `threads`: CPU milliseconds by thread in the timed slices (this one, the verify worker, the rest). */
  threads?: ThreadSplit | undefined
}

function task(step: () => unknown): Task {
  return {
    step,
    ops: 0,
    ms: 0,
    spans: [],
    cpuMs: 0,
    perSecond() {
      return (this.ops * 1000) / this.ms
    },
    reset() {
      this.ops = 0
      this.ms = 0
      this.spans = []
      this.cpuMs = 0
      if (this.threads !== undefined) this.threads = { main: 0, worker: 0, rest: 0 }
    },
  }
}

/** The share of a task's timed slices that this thread spent in the collector's pauses. */
function gcShare(t: Task): number {
  return round(gc.withinAll(t.spans) / t.ms, 3)
}

/**
 * Where a pipelined transaction run's CPU went, per transaction: this thread, the verify worker
 * and the rest (the collector's helpers, libuv), and the ratio to the two-core bound that two idle
 * cores would reach with that split (the busier of this thread and the worker with half the rest
 * sets the pace), whatever the load here; sign and verify costs are this thread's CPU in the same
 * run. Linux only (nothing elsewhere).
 */
function txCpu(t: Task, crypt: { sign: Task; verify: Task }): Record<string, number> {
  const th = t.threads
  if (th === undefined || t.cpuMs === undefined || crypt.sign.cpuMs === undefined || crypt.verify.cpuMs === undefined) return { gc_share: gcShare(t) }
  const per = (ms: number): number => (ms * 1000) / t.ops
  const cryptoUs = (2 * crypt.sign.cpuMs * 1000) / crypt.sign.ops + (2 * crypt.verify.cpuMs * 1000) / crypt.verify.ops
  return {
    gc_share: gcShare(t),
    main_us_per_tx: round(per(th.main), 3),
    worker_us_per_tx: round(per(th.worker), 3),
    rest_us_per_tx: round(per(th.rest), 3),
    crypto_us_per_tx: round(cryptoUs, 3),
    est_ratio_to_two_core_bound: round(cryptoUs / 2 / per(Math.max(th.main, th.worker + th.rest / 2)), 3),
  }
}

/** Run every task for `sliceMs`, in turn, `rounds` times. */
async function interleave(tasks: readonly Task[], rounds: number, sliceMs: number): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    for (const t of tasks) {
      const threads0 = t.threads !== undefined ? threadsCpuMs() : undefined
      const cpu0 = threadCpuMs()
      const start = performance.now()
      let end: number
      if (t.slice !== undefined) {
        t.ops += await t.slice(sliceMs)
        end = performance.now()
      } else {
        let n = 0
        let now = start
        do {
          const result = t.step()
          if (result instanceof Promise) await result
          n++
          now = performance.now()
        } while (now - start < sliceMs)
        t.ops += n
        end = now
      }
      const cpu1 = threadCpuMs()
      t.ms += end - start
      t.spans.push([start, end])
      t.cpuMs = t.cpuMs === undefined || cpu0 === undefined || cpu1 === undefined ? undefined : t.cpuMs + cpu1 - cpu0
      if (t.threads !== undefined) {
        const split = threadSplit(threads0, threadsCpuMs())
        t.threads = split === undefined ? undefined : { main: t.threads.main + split.main, worker: t.threads.worker + split.worker, rest: t.threads.rest + split.rest }
      }
    }
  }
}

/**
 * Signing and verifying with one key over 64 distinct messages: the cost per operation, as an
 * agent verifies the same counterparty over and over (node:crypto's parsed-key cache hits).
 */
function cryptoSteps(crypto: CryptoProvider): { sign: Task; verify: Task } {
  const key = crypto.signingKey(seed(1))
  const messages = Array.from({ length: 64 }, (_, i) => crypto.sha256(Uint8Array.of(i)))
  const signatures = messages.map((m) => key.sign(m))
  let i = 0
  let j = 0
  return {
    sign: task(() => key.sign(messages[i++ & 63]!)),
    verify: task(() => {
      const k = j++ & 63
      if (!crypto.verify(signatures[k]!, messages[k]!, key.publicKey)) throw new Error(`${crypto.name}: a valid signature did not verify`)
    }),
  }
}

/** A transaction costs two signatures (proposal, agreement) and two verifications (each by the other side). */
function txBound(sign: number, verify: number): number {
  return 1 / (2 / sign + 2 / verify)
}

// ## Transactions

/**
 * Transactions between two agents in this process: propose (A), agree (B validates, countersigns),
 * complete (A validates, stores). Without a pool, one after another on this thread; with one,
 * IN_FLIGHT at once, both agents checking signatures through the pool. A slice starts no
 * transaction after its end and counts its time until the last one finished. `check` asserts
 * afterwards that both chains hold one block per transaction.
 */
function txSteps(crypto: CryptoProvider, stores: readonly [BlockStore, BlockStore], pool?: VerifyPool): { task: Task; check(): Promise<void> } {
  const verify = pool === undefined ? {} : { verifySignatures: pool.verifyBlocks }
  const a = createAgent({ head: 'local', identity: identityFromSeed(seed(10), crypto), store: stores[0], types, ...verify })
  const b = createAgent({ head: 'local', identity: identityFromSeed(seed(11), crypto), store: stores[1], types, ...verify })
  let n = 0
  let balance = 4_000_000_000
  const transact = async (): Promise<void> => {
    const amount = 1 + (n % 60_000)
    balance = balance >= amount ? balance - amount : 4_000_000_000
    n++
    await a.complete(await b.agree(await a.propose(b.publicKey, 'transfer', [amount, balance])))
  }
  const t = task(transact)
  if (pool !== undefined) {
    t.threads = { main: 0, worker: 0, rest: 0 }
    t.slice = async (ms) => {
      const end = performance.now() + ms
      let done = 0
      const lane = async (): Promise<void> => {
        while (performance.now() < end) {
          await transact()
          done++
        }
      }
      await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
      return done
    }
  }
  return {
    task: t,
    async check() {
      const seqA = (await stores[0].latest(a.publicKey))?.seq
      const seqB = (await stores[1].latest(b.publicKey))?.seq
      if (seqA !== n || seqB !== n) throw new Error(`tx (${crypto.name}): ${n} transactions but chains end at seq ${seqA} and ${seqB}`)
    },
  }
}

// ## Appends

/**
 * `inFlight` agents appending unilateral blocks to one store, each one append at a time (the agent
 * serializes its own chain): a step is one append of one agent; a slice keeps every agent busy
 * and starts no append after its end. `check` asserts that every chain holds what was appended.
 */
function appendSteps(crypto: CryptoProvider, store: BlockStore, inFlight: number): { task: Task; check(): Promise<void> } {
  const agents = Array.from({ length: inFlight }, (_, i) => createAgent({ head: 'local', identity: identityFromSeed(seed(30 + i), crypto), store, types: noteTypes }))
  const counts = agents.map(() => 0)
  const append = (i: number): Promise<unknown> => agents[i]!.append('note', counts[i]!++)
  const t = task(() => append(0))
  if (inFlight > 1) {
    t.slice = async (ms) => {
      const end = performance.now() + ms
      let done = 0
      await Promise.all(
        agents.map(async (_, i) => {
          while (performance.now() < end) {
            await append(i)
            done++
          }
        }),
      )
      return done
    }
  }
  return {
    task: t,
    async check() {
      for (const [i, agent] of agents.entries()) {
        const seq = (await store.latest(agent.publicKey))?.seq
        if (seq !== counts[i]) throw new Error(`append: ${counts[i]} appends but the chain ends at seq ${seq}`)
      }
    },
  }
}

// ## Ingest

/**
 * One agent's chain of `n` blocks, signed directly (no store): half unilateral ('reward'), a quarter
 * transfer proposals to 16 counterparties, a quarter agreements to their proposals.
 */
function buildChain(identity: SeedIdentity, crypto: CryptoProvider, n: number): HalfBlock[] {
  const timestamp = Date.now() - n // one block a millisecond, ending now
  const others = Array.from({ length: 16 }, (_, i) => identityFromSeed(seed(100 + i), crypto).publicKey)
  const chain: HalfBlock[] = []
  let previousHash = GENESIS_HASH
  for (let seq = 1; seq <= n; seq++) {
    const kind = seq % 4
    const other = others[seq % 16]!
    const amount = 1 + (seq % 60_000)
    const block = signBlock(
      {
        publicKey: identity.publicKey,
        seq,
        linkPublicKey: kind < 2 ? UNILATERAL_KEY : other,
        linkSeq: kind === 3 ? seq : 0,
        previousHash,
        type: kind < 2 ? 'reward' : 'transfer',
        payload: kind < 2 ? amount : [amount, 4_000_000_000 - seq],
        timestamp: timestamp + seq,
      },
      identity,
      crypto,
    )
    previousHash = blockHash(block, crypto)
    chain.push(block)
  }
  return chain
}

/**
 * Decode `wire` (a received chain arrives as bytes) and ingest it into a fresh store. The same chain
 * twice in one store is a no-op, so every run gets its own store, disposed after.
 * @returns milliseconds (wall clock) for decode + verify + validate + store
 */
async function ingestRun(wire: readonly Uint8Array[], target: BenchStore, crypto: CryptoProvider, pool: VerifyPool | undefined): Promise<number> {
  return (await timedIngest(wire, target, crypto, pool)).clocks.wall
}

/** ingestRun on every clock, and its span of `performance.now()` (the collector's pauses within it). */
async function timedIngest(wire: readonly Uint8Array[], target: BenchStore, crypto: CryptoProvider, pool: VerifyPool | undefined): Promise<{ clocks: Clocks; span: [number, number] }> {
  try {
    const c0 = clocks()
    const blocks = wire.map(decodeBlock)
    const options: IngestOptions = { store: target.store, crypto, types }
    if (pool !== undefined) options.verifySignatures = pool.verifyBlocks
    const result = await ingestBlocks(blocks, options)
    const c1 = clocks()
    if (result.accepted !== wire.length || result.rejected.length > 0 || result.fraud.length > 0) {
      const first = result.rejected[0]
      throw new Error(
        `ingest: accepted ${result.accepted} of ${wire.length}, rejected ${result.rejected.length}, fraud ${result.fraud.length}` +
          (first === undefined ? '' : `; first rejected #${first.index}: ${first.errors.map((e) => e.rule).join(', ')}`),
      )
    }
    return { clocks: elapsed(c0, c1), span: [c0.wall, c1.wall] }
  } finally {
    await target.dispose()
  }
}

/** JIT and worker start-up out of the timed runs: a short prefix of the chain, both ways. */
async function warmIngest(
  wire: readonly Uint8Array[],
  makeStore: (crypto: CryptoProvider) => BenchStore | Promise<BenchStore>,
  crypto: CryptoProvider,
  pool: VerifyPool,
): Promise<{ msPerBlock: [number, number] }> {
  const prefix = wire.slice(0, Math.min(wire.length, 4096))
  const withoutPool = await ingestRun(prefix, await makeStore(crypto), crypto, undefined)
  const withPool = await ingestRun(prefix, await makeStore(crypto), crypto, pool)
  return { msPerBlock: [withoutPool / prefix.length, withPool / prefix.length] }
}

/**
 * One ingest figure, with its ratio to the crypto bound of the cores it may use, measured just
 * before it in this run: a block costs one signature check, so one core ingests at most `verify`
 * blocks a second (no pool), and the pool on both cores at most 2 x verify.
 */
function emitIngest(blocks: number, ms: number, crypto: CryptoProvider, pool: VerifyPool | false, store: string, verify: number, extra: Record<string, unknown> = {}): void {
  const rate = (blocks * 1000) / ms
  const cores = pool === false ? 1 : 2
  emit('core.ingest_blocks_per_s', rate, 'blocks/s', {
    provider: crypto.name,
    pool: pool !== false,
    ...(pool !== false ? { workers: pool.size } : {}),
    store,
    ratio_to_bound: round(rate / (cores * verify), 3),
    bound_blocks_per_s: Math.round(cores * verify),
    bound: pool === false ? '1 / verify (one core)' : '2 / verify (both cores)',
    load: round(loadavg()[0]!, 2),
    ...extra,
  })
}

/** Verifications per second of `crypto` on this thread (wall clock), measured now: 10,000 of the chain's signatures, after a warm-up. */
async function verifyRate(crypto: CryptoProvider, wire: readonly Uint8Array[]): Promise<number> {
  const bound = verifyBound(wire, crypto)
  bound.slice(1000)
  bound.reset()
  bound.slice(BOUND_SLICE)
  return bound.perSecond('wall')
}

/**
 * The ingest's crypto bound, measured as the ingest checks signatures: this provider, on this
 * thread, over the chain's own blocks (every signature a different one, over its block's hash by
 * its owner's key), `n` at a time from where the last slice stopped. Only the checks are timed:
 * decoding and hashing a slice's blocks (which the ingest's figure pays for) are done first.
 */
function verifyBound(wire: readonly Uint8Array[], crypto: CryptoProvider): { slice(n: number): void; reset(): void; perSecond(clock: keyof Clocks): number } {
  let at = 0
  let checked = 0
  const spent: Clocks = { wall: 0, thread: 0, process: 0 }
  return {
    slice(n) {
      const blocks: HalfBlock[] = []
      for (let i = 0; i < n; i++) blocks.push(decodeBlock(wire[(at + i) % wire.length]!))
      const hashes = blocks.map((b) => blockHash(b, crypto))
      at = (at + n) % wire.length
      const c0 = clocks()
      for (let i = 0; i < n; i++) {
        const b = blocks[i]!
        if (!crypto.verify(b.signature, hashes[i]!, b.publicKey)) throw new Error(`${crypto.name}: a valid signature did not verify`)
      }
      const d = elapsed(c0, clocks())
      spent.wall += d.wall
      spent.process += d.process
      spent.thread = d.thread === undefined || spent.thread === undefined ? undefined : spent.thread + d.thread
      checked += n
    },
    reset() {
      checked = 0
      Object.assign(spent, { wall: 0, thread: 0, process: 0 })
    },
    perSecond(clock) {
      return (checked * 1000) / (spent[clock] ?? spent.wall)
    },
  }
}

/**
 * One-thread ingest into memory and its ratio to the one-core bound, both taken the same way: on
 * this thread's CPU clock (what a core gives this thread; waiting for a core on a loaded machine
 * does not count), over the same chain's signatures, the bound's slices between the runs. The
 * chain's first fifth is ingested before and after the whole chain: per block, the whole chain
 * should cost no more (`per_block_ratio_to_short`). The wall clock and the process's CPU clock
 * (every thread: the collector's helpers too) are given beside it.
 */
async function serialMemoryIngest(wire: readonly Uint8Array[], crypto: CryptoProvider): Promise<void> {
  const short = wire.slice(0, Math.max(1, Math.round(wire.length / 5)))
  note(`core bench: ingest ${short.length}, ${wire.length} and ${short.length} blocks into memory, no pool, the bound between the runs`)
  const bound = verifyBound(wire, crypto)
  bound.slice(1000)
  bound.reset()
  const sum = (runs: Clocks[]): Clocks => ({
    wall: runs.reduce((a, r) => a + r.wall, 0),
    thread: runs.some((r) => r.thread === undefined) ? undefined : runs.reduce((a, r) => a + r.thread!, 0),
    process: runs.reduce((a, r) => a + r.process, 0),
  })
  const shortRuns: Clocks[] = []
  let whole: { clocks: Clocks; span: [number, number] } | undefined
  const profileDir = process.env['BENCH_CORE_PROFILE']
  for (const part of [short, wire, short]) {
    bound.slice(BOUND_SLICE)
    const profiler = part === wire && profileDir !== undefined ? await startProfile() : undefined
    const run = await timedIngest(part, memoryBenchStore(crypto), crypto, undefined)
    if (profiler !== undefined) await writeFile(join(profileDir!, 'ingest-serial.cpuprofile'), JSON.stringify(await profiler.stop()))
    if (part === wire) whole = run
    else shortRuns.push(run.clocks)
  }
  bound.slice(BOUND_SLICE)
  await gc.settle()
  const clock: keyof Clocks = whole!.clocks.thread === undefined ? 'wall' : 'thread'
  const usPerBlock = (c: Clocks, blocks: number, k: keyof Clocks): number => ((c[k] ?? c.wall) * 1000) / blocks
  const verify = bound.perSecond(clock)
  const us = usPerBlock(whole!.clocks, wire.length, clock)
  const ratio = (k: keyof Clocks): number => round(1e6 / bound.perSecond(k) / usPerBlock(whole!.clocks, wire.length, k), 3)
  emitIngest(wire.length, whole!.clocks[clock] ?? whole!.clocks.wall, crypto, false, 'memory', verify, {
    clock: clock === 'thread' ? "this thread's CPU time" : 'wall',
    ratio_wall: ratio('wall'),
    ratio_process_cpu: ratio('process'),
    non_crypto_us_per_block: round(us - 1e6 / verify, 3),
    short_blocks: short.length,
    per_block_ratio_to_short: round(us / usPerBlock(sum(shortRuns), 2 * short.length, clock), 3),
    gc_share: round(gc.within(...whole!.span) / whole!.clocks.wall, 3),
  })
}

/** A CPU profile of this thread from now until `stop` (BENCH_CORE_PROFILE). */
async function startProfile(): Promise<{ stop(): Promise<unknown> }> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop')
      session.disconnect()
      return profile
    },
  }
}

// ## Block size

/**
 * The encoded proposal and agreement of a realistic transfer: both chains about 10,000 blocks long
 * (built with signBlock, so seq, linkSeq and previousHash are real), amount < 2^16, balance < 2^32,
 * timestamps from Date.now(), made by the agents themselves.
 */
async function transferSizes(crypto: CryptoProvider): Promise<{ proposal: number; agreement: number }> {
  const ids = [identityFromSeed(seed(40), crypto), identityFromSeed(seed(41), crypto)] as const
  const stores = [memoryStore(crypto), memoryStore(crypto)] as const
  for (let k = 0; k < 2; k++) {
    const batch = stores[k]!.batch()
    for (const block of buildChain(ids[k]!, crypto, 9_999 + k)) batch.put(block)
    await batch.commit()
  }
  const a = createAgent({ head: 'local', identity: ids[0], store: stores[0], types })
  const b = createAgent({ head: 'local', identity: ids[1], store: stores[1], types })
  const proposal = await a.propose(b.publicKey, 'transfer', [54_321, 3_987_654_321])
  const agreement = await b.agree(proposal)
  await a.complete(agreement)
  for (const block of [proposal, agreement]) {
    if (blockSize(block) !== encodeBlock(block).length) throw new Error('blockSize disagrees with encodeBlock')
  }
  note(`core bench: proposal seq ${proposal.seq}, agreement seq ${agreement.seq} (linkSeq ${agreement.linkSeq})`)
  return { proposal: blockSize(proposal), agreement: blockSize(agreement) }
}

// ## Stores

function memoryStore(crypto: CryptoProvider): BlockStore {
  return createMemoryStore({ crypto })
}

function memoryBenchStore(crypto: CryptoProvider): BenchStore {
  const store = memoryStore(crypto)
  return { store, dispose: () => store.close() }
}

/** A LevelDB store in a new temp directory; dispose closes it and removes the directory. */
async function levelStore(crypto: CryptoProvider, sync = false): Promise<BenchStore> {
  const path = await mkdtemp(join(tmpdir(), 'tally-bench-'))
  let store: BlockStore
  try {
    store = await openLevelStore({ path, crypto, sync })
  } catch (err) {
    await rm(path, { recursive: true, force: true })
    throw err
  }
  const entry: BenchStore = {
    store,
    async dispose() {
      if (!open.delete(entry)) return
      await store.close()
      await rm(path, { recursive: true, force: true })
    },
  }
  open.add(entry)
  return entry
}

// ## Private helpers

function seed(n: number): Uint8Array {
  const s = new Uint8Array(32).fill(0xb5)
  s[0] = n & 0xff
  s[1] = n >>> 8
  return s
}

function isTransferPayload(payload: CborValue): boolean {
  return Array.isArray(payload) && payload.length === 2 && payload.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)
}