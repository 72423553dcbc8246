// Not a group (the name starts with '_'): one-thread and pooled ingest of a received chain, alone,
// for profiling and A/B timing. Prints JSON lines like the core group: the ingest rate and its ratio
// to the verify bound measured in the same process (interleaved with the ingest runs).
//
// Run: node --import tsx bench/_ingest-profile.ts [blocks=20000] [mode=serial|pool|both] [runs=3]
// Profile: node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/_ingest-profile.ts 20000 serial
// SPEED_STORE=level: into a LevelDB store (sync: false, as the core group's ingest) in a temp directory
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import {
  GENESIS_HASH,
  UNILATERAL_KEY,
  blockHash,
  createBlockTypes,
  createMemoryStore,
  decodeBlock,
  encodeBlock,
  identityFromSeed,
  ingestBlocks,
  signBlock,
  type CborValue,
  type CryptoProvider,
  type HalfBlock,
} from '@tally/core'
import { createVerifyPool, defaultCrypto, openLevelStore } from '@tally/node'
import { gcPauses } from './_clocks.js'
import { emit, note, round } from './lib.js'

const BLOCKS = Number(process.argv[2] ?? 20_000)
const MODE = process.argv[3] ?? 'serial'
const RUNS = Number(process.argv[4] ?? 3)
const crypto = defaultCrypto()
const types = createBlockTypes([
  { name: 'transfer', validate: (block) => ({ errors: isTransfer(block.payload) ? [] : [{ rule: 'transfer-payload', message: 'bad' }] }) },
])

const wire = chain(BLOCKS)
// the verify bound: the same provider over the same blocks' hashes, on this thread
const sample = wire.slice(0, 4096).map(decodeBlock)
const hashes = sample.map((b) => blockHash(b, crypto))
// the machine is shared and loaded: time is this process's CPU time (user + system), which waiting
// for a core does not inflate; one thread runs in serial mode, so it is that thread's time (and GC's)
const clock = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
const now = process.env['SPEED_WALL'] === '1' || (MODE !== 'serial' && MODE !== 'free') ? () => performance.now() : clock
// SPEED_NO_BOUND=1: ingest runs only (a profile of ingest alone)
const NO_BOUND = process.env['SPEED_NO_BOUND'] === '1'
const LEVEL = process.env['SPEED_STORE'] === 'level'
/** CPU milliseconds of this process (every thread) spent in the last verifyMs / ingestMs. */
let lastCpuMs = 0
/** The collector's pauses on this thread during the ingest runs, against their wall time (gc_share). */
const gc = gcPauses()
const spans: Record<'serial' | 'pool', [number, number][]> = { serial: [], pool: [] }
function verifyMs(n: number): number {
  if (NO_BOUND) n = 1
  const c0 = clock()
  const t0 = now()
  for (let i = 0; i < n; i++) {
    const b = sample[i % sample.length]!
    if (!crypto.verify(b.signature, hashes[i % sample.length]!, b.publicKey)) throw new Error('bad signature')
  }
  lastCpuMs = clock() - c0
  return now() - t0
}

// mode 'free': signatures taken as valid (never in the library): what a block costs besides verify
const FREE = MODE === 'free'
const allValid = async (bs: readonly HalfBlock[]): Promise<boolean[]> => bs.map(() => true)
async function ingestMs(withPool: ReturnType<typeof createVerifyPool> | undefined): Promise<number> {
  const dir = LEVEL ? mkdtempSync(join(tmpdir(), 'tally-speed-level-')) : undefined
  const store = dir !== undefined ? await openLevelStore({ path: dir, crypto, sync: false }) : createMemoryStore({ crypto })
  try {
  const c0 = clock()
  const t0 = now()
  const w0 = performance.now()
  const blocks = wire.map(decodeBlock)
  const verifySignatures = withPool ? withPool.verifyBlocks : FREE ? allValid : undefined
  const result = await ingestBlocks(blocks, { store, crypto, types, ...(verifySignatures ? { verifySignatures } : {}) })
  const ms = now() - t0
  lastCpuMs = clock() - c0
  spans[withPool ? 'pool' : 'serial'].push([w0, performance.now()])
  if (result.accepted !== wire.length) throw new Error(`accepted ${result.accepted} of ${wire.length}`)
  return ms
  } finally {
    await store.close()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  }
}

const pool = MODE === 'serial' || FREE ? undefined : createVerifyPool()
try {
  verifyMs(2000)
  await ingestMs(undefined) // warm-up
  if (pool) await ingestMs(pool)
  let vMs = 0
  let vOps = 0
  const serial: number[] = []
  const pooled: number[] = []
  let verifyCpuMs = 0
  const pooledCpu: number[] = []
  for (let r = 0; r < RUNS; r++) {
    // the bound is measured between the runs, for about as long as one run's verifications
    vMs += verifyMs(BLOCKS)
    verifyCpuMs += lastCpuMs
    vOps += BLOCKS
    if (MODE !== 'pool') serial.push(await ingestMs(undefined))
    if (pool) {
      pooled.push(await ingestMs(pool))
      pooledCpu.push(lastCpuMs)
    }
  }
  const verifyPerS = (vOps * 1000) / vMs
  await gc.settle()
  const gcShare = (kind: 'serial' | 'pool'): number => round(gc.withinAll(spans[kind]) / spans[kind].reduce((a, [from, to]) => a + to - from, 0), 3)
  emit('speed.verify_per_s', verifyPerS, 'ops/s', { provider: crypto.name, clock: now === clock ? 'cpu' : 'wall' })
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
  if (serial.length > 0) {
    const ms = median(serial)
    const rate = (BLOCKS * 1000) / ms
    emit('speed.ingest_blocks_per_s', rate, 'blocks/s', {
      pool: false, store: LEVEL ? 'level' : 'memory', blocks: BLOCKS, ...(FREE ? { signatures: 'not checked', us_per_block: round((ms * 1000) / BLOCKS, 4) } : {}), ratio_to_bound: round(rate / verifyPerS, 3),
      non_crypto_us_per_block: round((ms * 1000) / BLOCKS - 1e6 / verifyPerS, 3), gc_share: gcShare('serial'), runs_ms: serial.map((x) => round(x, 4)),
    })
  }
  if (pooled.length > 0) {
    const ms = median(pooled)
    const rate = (BLOCKS * 1000) / ms
    // under load, wall-clock ratios say little: the CPU the process spent per block (every thread)
    // against what one verification costs is the ratio two idle cores would reach at best
    const cpuUsPerBlock = (median(pooledCpu) * 1000) / BLOCKS
    const verifyCpuUs = (verifyCpuMs * 1000) / vOps
    emit('speed.ingest_blocks_per_s', rate, 'blocks/s', {
      pool: true, store: LEVEL ? 'level' : 'memory', workers: pool!.size, blocks: BLOCKS, ratio_to_bound: round(rate / (2 * verifyPerS), 3),
      cpu_us_per_block: round(cpuUsPerBlock, 3), verify_cpu_us: round(verifyCpuUs, 3), cpu_ratio_to_bound: round(verifyCpuUs / cpuUsPerBlock, 3), gc_share: gcShare('pool'),
      runs_ms: pooled.map((x) => round(x, 4)),
    })
  }
} finally {
  await pool?.close()
}

/** The bench's chain (as bench/core.ts builds it), cached on disk as length-prefixed bytes. */
function chain(n: number): Uint8Array[] {
  const file = join(tmpdir(), `tally-speed-chain-${crypto.name}-${n}.bin`)
  if (existsSync(file)) {
    const all = readFileSync(file)
    const out: Uint8Array[] = []
    for (let at = 0; at < all.length; ) {
      const len = all.readUInt16BE(at)
      out.push(new Uint8Array(all.subarray(at + 2, at + 2 + len)))
      at += 2 + len
    }
    if (out.length === n) return out
  }
  note(`building a chain of ${n} blocks`)
  const identity = identityFromSeed(seed(20), crypto)
  const timestamp = Date.now() - n
  const others = Array.from({ length: 16 }, (_, i) => identityFromSeed(seed(100 + i), crypto).publicKey)
  const out: Uint8Array[] = []
  let previousHash = GENESIS_HASH
  for (let s = 1; s <= n; s++) {
    const kind = s % 4
    const amount = 1 + (s % 60_000)
    const block: HalfBlock = signBlock(
      {
        publicKey: identity.publicKey, seq: s, linkPublicKey: kind < 2 ? UNILATERAL_KEY : others[s % 16]!, linkSeq: kind === 3 ? s : 0,
        previousHash, type: kind < 2 ? 'reward' : 'transfer', payload: kind < 2 ? amount : [amount, 4_000_000_000 - s], timestamp: timestamp + s,
      },
      identity,
      crypto as CryptoProvider,
    )
    previousHash = blockHash(block, crypto)
    out.push(encodeBlock(block))
  }
  const parts: Buffer[] = []
  for (const b of out) {
    const h = Buffer.alloc(2)
    h.writeUInt16BE(b.length)
    parts.push(h, Buffer.from(b))
  }
  writeFileSync(file, Buffer.concat(parts))
  return out
}

function seed(n: number): Uint8Array {
  const s = new Uint8Array(32).fill(0xb5)
  s[0] = n & 0xff
  s[1] = n >>> 8
  return s
}

function isTransfer(payload: CborValue): boolean {
  return Array.isArray(payload) && payload.length === 2 && payload.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)
}
