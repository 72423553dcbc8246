#!/usr/bin/env node
// Hypercore 11 measured on the two operations Tally's ledger also does: appending one block at a
// time to durable storage, and replicating a whole log to a fresh reader that verifies every block
// (hypercore checks the signed merkle roots and each block's hash on the way in).
//
// Usage: node bench.mjs            (run by `node bench/run.mjs core`, which installs this dir first)
// Knobs: BENCH_APPEND_MS (default 4000), BENCH_REPLICATE_BLOCKS (default 50000).
//
// Prints one JSON line per figure on stdout, progress on stderr. Everything lives in a temp dir
// that is removed at the end; a watchdog fails the run instead of letting it hang.
import Hypercore from 'hypercore'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'

const version = JSON.parse(readFileSync(new URL('./node_modules/hypercore/package.json', import.meta.url))).version
const peer = `hypercore@${version}`
const appendMs = Number(process.env.BENCH_APPEND_MS ?? 4000)
const replicateBlocks = Number(process.env.BENCH_REPLICATE_BLOCKS ?? 50_000)
const blockBytes = 100 // a Tally block is ~200 bytes of which ~100 are signatures and keys

const watchdog = setTimeout(() => {
  console.error('hypercore bench: still running after 120 s, giving up')
  process.exit(1)
}, 120_000)
watchdog.unref()

const dir = mkdtempSync(join(tmpdir(), 'tally-bench-hypercore-'))
const cores = []
try {
  await benchAppend()
  await benchReplicate()
} finally {
  await Promise.allSettled(cores.map((c) => c.close()))
  rmSync(dir, { recursive: true, force: true })
}

// ## Benchmarks

// One `await core.append(block)` at a time, the way a ledger appends as transactions are agreed.
// Hypercore 11 writes through hypercore-storage (RocksDB) with its default options.
async function benchAppend() {
  const core = open(join(dir, 'append'))
  await core.ready()
  const block = Buffer.alloc(blockBytes, 0x61)

  for (let i = 0; i < 200; i++) await core.append(block) // warm-up: JIT, RocksDB memtable, files

  // Timed in rounds of ~1 s so the spread shows: on a VM the figure moves with where the OS puts
  // the main thread and RocksDB's worker thread (same core or not).
  const rounds = []
  let n = 0
  const t0 = performance.now()
  while (performance.now() - t0 < appendMs) {
    const r0 = performance.now()
    let k = 0
    while (performance.now() - r0 < Math.min(1000, appendMs)) {
      for (let i = 0; i < 50; i++) await core.append(block)
      k += 50
    }
    rounds.push((k * 1000) / (performance.now() - r0))
    n += k
  }
  const seconds = (performance.now() - t0) / 1000
  emit('peers.hypercore.append_per_s', n / seconds, 'ops/s', {
    blocks: n,
    block_bytes: blockBytes,
    seconds: round(seconds, 2),
    round_min: Math.round(Math.min(...rounds)),
    round_max: Math.round(Math.max(...rounds)),
    storage: 'hypercore-storage (RocksDB) defaults',
  })
}

// A writer with N blocks and a fresh reader in the same process, joined by two replication streams
// piped into each other (Noise handshake included, no network). Timed from download() until the
// reader holds all N blocks, verified.
async function benchReplicate() {
  const writer = open(join(dir, 'writer'))
  await writer.ready()
  const block = Buffer.alloc(blockBytes, 0x62)
  const chunk = Array.from({ length: 1000 }, () => block)
  for (let i = 0; i < replicateBlocks; i += chunk.length) {
    await writer.append(chunk.slice(0, Math.min(chunk.length, replicateBlocks - i)))
  }
  console.error(`hypercore bench: writer holds ${writer.length} blocks, replicating`)

  const reader = open(join(dir, 'reader'), writer.key)
  await reader.ready()

  const a = writer.replicate(true)
  const b = reader.replicate(false)
  a.pipe(b).pipe(a)
  a.on('error', noop)
  b.on('error', noop)

  const t0 = performance.now()
  const download = reader.download({ start: 0, end: replicateBlocks })
  await download.done()
  while (reader.contiguousLength < replicateBlocks) await new Promise((resolve) => setTimeout(resolve, 1))
  const seconds = (performance.now() - t0) / 1000

  const last = await reader.get(replicateBlocks - 1, { wait: false })
  if (last === null || !last.equals(block)) throw new Error('reader does not hold the last block')

  emit('peers.hypercore.replicate_per_s', replicateBlocks / seconds, 'blocks/s', {
    blocks: replicateBlocks, block_bytes: blockBytes, seconds: round(seconds, 2), verified: true,
  })
  a.destroy()
  b.destroy()
}

// ## Helpers

function open(path, key) {
  const core = key ? new Hypercore(path, key) : new Hypercore(path)
  cores.push(core)
  return core
}

function emit(metric, value, unit, extra = {}) {
  console.log(JSON.stringify({ metric, value: round(value, 1), unit, peer, ...extra }))
}

function round(x, digits) {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

function noop() {}
