// Not a group (the name starts with '_'): what a transaction costs the main thread besides its
// cryptography, for A/B timing of the agent, validation, the half-block codec and the memory store.
// Never a figure of the library: signing and verifying are replaced here by stubs.
//
// Two agents on memory stores, 64 transactions in flight on one thread (no verify pool), with a
// provider whose signatures are a constant and whose verify answers true; SHA-256 is libsodium's
// (the hashes are part of the cost). This thread's CPU per transaction is then everything but
// Ed25519: the figure that the main thread of `core.tx_per_s.memory` carries besides 2 signatures
// and its share of the verifications. CPU time (/proc/thread-self/schedstat), which waiting for a
// core does not inflate; compare builds in alternating runs all the same.
//
// Run: node --import tsx bench/_tx-overhead.ts [transactions=20000] [rounds=3]
// Profile: node --cpu-prof --cpu-prof-interval 25 --cpu-prof-dir=/tmp/prof --import tsx bench/_tx-overhead.ts 40000 1
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { createAgent, createMemoryStore, identityFromSeed, type CryptoProvider } from '@tally/core'
import { defaultCrypto } from '@tally/node'
import { gcPauses } from './_clocks.js'
import { inFlight, transferTypes } from './_transfer-load.js'
import { emit, round } from './lib.js'

const TX = Number(process.argv[2] ?? 20_000)
const ROUNDS = Number(process.argv[3] ?? 3)
const IN_FLIGHT = 64
const real = defaultCrypto()
const SIGNATURE = new Uint8Array(64)
/** Real hashing, stubbed Ed25519: signatures are 64 zero bytes, and every one verifies. */
const stub: CryptoProvider = {
  name: 'stub',
  sha256: (data) => real.sha256(data),
  ...(real.sha256Into === undefined ? {} : { sha256Into: (data: Uint8Array, out: Uint8Array) => real.sha256Into!(data, out) }),
  randomBytes: (n) => real.randomBytes(n),
  verify: () => true,
  signingKey(seed) {
    const { publicKey } = real.signingKey(seed)
    return { publicKey, sign: () => SIGNATURE.slice(), signInto: (_message: Uint8Array, out: Uint8Array) => out.set(SIGNATURE) }
  },
}
const types = transferTypes()
const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n)

for (let round_ = 0; round_ < ROUNDS; round_++) {
  const a = createAgent({ head: 'local', identity: identityFromSeed(seed(10), stub), store: createMemoryStore({ crypto: stub }), types })
  const b = createAgent({ head: 'local', identity: identityFromSeed(seed(11), stub), store: createMemoryStore({ crypto: stub }), types })
  const run = inFlight(a, b, IN_FLIGHT)
  await run(2000) // warm-up
  const gc = gcPauses()
  const cpu0 = threadUs()
  const t0 = performance.now()
  await run(TX)
  const t1 = performance.now()
  const cpuUs = threadUs() - cpu0
  await gc.settle()
  gc.stop()
  emit('speed.tx_overhead_us', cpuUs / TX, 'us/tx', {
    what: 'main-thread CPU per transaction, Ed25519 stubbed (not a library figure)',
    in_flight: IN_FLIGHT,
    gc_us_per_tx: round((gc.within(t0, t1) * 1000) / TX, 3),
    wall_us_per_tx: round(((t1 - t0) * 1000) / TX, 3),
  })
}

/** This thread's CPU microseconds so far (Linux). */
function threadUs(): number {
  const text = readFileSync('/proc/thread-self/schedstat', 'utf8')
  return Number(text.slice(0, text.indexOf(' '))) / 1000
}
