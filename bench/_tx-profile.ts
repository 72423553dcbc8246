// Not a group (the name starts with '_'): transactions between two agents in this process, many in
// flight, signatures checked by the verify pool (as core.tx_per_s.memory), for profiling.
//
// Run: node --import tsx bench/_tx-profile.ts [transactions=20000] [in_flight=64]
// Profile: node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/_tx-profile.ts 20000
// SPEED_STORE=level or level_synced: both agents on LevelDB stores (sync false / true) in temp directories
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createAgent, createMemoryStore, identityFromSeed, type BlockStore } from '@tally/core'
import { createVerifyPool, defaultCrypto, openLevelStore } from '@tally/node'
import { gcPauses } from './_clocks.js'
import { inFlight, transferTypes } from './_transfer-load.js'
import { emit } from './lib.js'

const TX = Number(process.argv[2] ?? 20_000)
const IN_FLIGHT = Number(process.argv[3] ?? 64)
const crypto = defaultCrypto()
const types = transferTypes()
const pool = createVerifyPool({ size: Math.max(1, availableParallelism() - 1), crypto: crypto.name, mainThread: true })
const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n)
const verify = { verifySignatures: pool.verifyBlocks }
const STORE = process.env['SPEED_STORE'] ?? 'memory'
const dirs: string[] = []
const makeStore = async (): Promise<BlockStore> => {
  if (STORE === 'memory') return createMemoryStore({ crypto })
  const dir = mkdtempSync(join(tmpdir(), 'tally-speed-tx-'))
  dirs.push(dir)
  return openLevelStore({ path: dir, crypto, sync: STORE === 'level_synced' })
}
const a = createAgent({ head: 'local', identity: identityFromSeed(seed(10), crypto), store: await makeStore(), types, ...verify })
const b = createAgent({ head: 'local', identity: identityFromSeed(seed(11), crypto), store: await makeStore(), types, ...verify })
const cpu = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
try {
  const run = inFlight(a, b, IN_FLIGHT)
  await run(2000) // warm-up
  const gc = gcPauses()
  const c0 = cpu()
  const th0 = threadCpuMs()
  const t0 = performance.now()
  await run(TX)
  const t1 = performance.now()
  const ms = t1 - t0
  const cpuMs = cpu() - c0
  const threads = perThread(th0, threadCpuMs())
  await gc.settle()
  // the collector's pauses on this thread during the run, against its wall time
  const gcShare = Math.round((1000 * gc.within(t0, t1)) / ms) / 1000
  // one transaction's crypto: 2 signatures and 2 verifications, timed alone in this process
  const key = crypto.signingKey(seed(1))
  const msg = crypto.sha256(seed(2))
  const sig = key.sign(msg)
  const k0 = cpu()
  for (let i = 0; i < 4000; i++) key.sign(msg)
  const signUs = (cpu() - k0) / 4
  const v0 = cpu()
  for (let i = 0; i < 4000; i++) crypto.verify(sig, msg, key.publicKey)
  const verifyUs = (cpu() - v0) / 4
  const cryptoUs = 2 * signUs + 2 * verifyUs
  emit('speed.tx_per_s', (TX * 1000) / ms, 'tx/s', {
    store: STORE,
    in_flight: IN_FLIGHT, cpu_us_per_tx: Math.round((cpuMs * 1000) / TX), crypto_us_per_tx: Math.round(cryptoUs),
    cpu_ratio_to_two_core_bound: Math.round((1000 * cryptoUs) / ((cpuMs * 1000) / TX)) / 1000,
    gc_share: gcShare,
    // CPU per transaction of this thread, of the busiest other thread (the verify worker) and of
    // the rest (the collector's helpers, libuv): on two idle cores the busier of the first two
    // (with half the rest) sets the pace, so crypto / 2 over it is the ratio to the two-core
    // bound they would reach, whatever the load here
    ...(threads === undefined
      ? {}
      : {
          main_us_per_tx: Math.round((threads.main * 1000) / TX),
          worker_us_per_tx: Math.round((threads.worker * 1000) / TX),
          rest_us_per_tx: Math.round((threads.rest * 1000) / TX),
          est_ratio_to_two_core_bound: Math.round((1000 * cryptoUs) / 2 / ((Math.max(threads.main, threads.worker + threads.rest / 2) * 1000) / TX)) / 1000,
        }),
  })
} finally {
  await pool.close()
  await a.store.close()
  await b.store.close()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
}

/** CPU milliseconds of each thread of this process so far, by thread id (Linux; undefined elsewhere). */
function threadCpuMs(): Map<string, number> | undefined {
  try {
    const out = new Map<string, number>()
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out.set(tid, (Number(fields[11]) + Number(fields[12])) * 10) // utime + stime, in ticks of 10 ms
    }
    return out
  } catch {
    return undefined
  }
}

/** This thread's CPU between two readings, the busiest other thread's, and the rest's. */
function perThread(before: Map<string, number> | undefined, after: Map<string, number> | undefined): { main: number; worker: number; rest: number } | undefined {
  if (before === undefined || after === undefined) return undefined
  const used = [...after].map(([tid, ms]) => [tid, ms - (before.get(tid) ?? 0)] as const)
  const main = used.find(([tid]) => tid === String(process.pid))?.[1] ?? 0
  const others = used.filter(([tid]) => tid !== String(process.pid)).map(([, ms]) => ms).sort((a, b) => b - a)
  return { main, worker: others[0] ?? 0, rest: others.slice(1).reduce((a, b) => a + b, 0) }
}
