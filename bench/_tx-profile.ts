// Not a group (the name starts with '_'): transactions between two agents in this process, many in
// flight, signatures checked by the verify pool (as core.tx_per_s.memory), for profiling.
//
// Run: node --import tsx bench/_tx-profile.ts [transactions=20000] [in_flight=64]
// Profile: node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/_tx-profile.ts 20000
import { availableParallelism } from 'node:os'
import { performance } from 'node:perf_hooks'
import { createAgent, createBlockTypes, createMemoryStore, identityFromSeed, type CborValue } from '@tally/core'
import { createVerifyPool, defaultCrypto } from '@tally/node'
import { emit } from './lib.js'

const TX = Number(process.argv[2] ?? 20_000)
const IN_FLIGHT = Number(process.argv[3] ?? 64)
const crypto = defaultCrypto()
const types = createBlockTypes([
  { name: 'transfer', validate: (block) => ({ errors: isTransfer(block.payload) ? [] : [{ rule: 'transfer-payload', message: 'bad' }] }) },
])
const pool = createVerifyPool({ size: Math.max(1, availableParallelism() - 1), crypto: crypto.name, mainThread: true })
const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n)
const verify = { verifySignatures: pool.verifyBlocks }
const a = createAgent({ head: 'local', identity: identityFromSeed(seed(10), crypto), store: createMemoryStore({ crypto }), types, ...verify })
const b = createAgent({ head: 'local', identity: identityFromSeed(seed(11), crypto), store: createMemoryStore({ crypto }), types, ...verify })
let n = 0
const cpu = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
try {
  const run = async (count: number): Promise<void> => {
    let started = 0
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (started++ < count) {
          n++
          await a.complete(await b.agree(await a.propose(b.publicKey, 'transfer', [1 + (n % 60_000), 4_000_000_000 - n])))
        }
      }),
    )
  }
  await run(2000) // warm-up
  const c0 = cpu()
  const t0 = performance.now()
  await run(TX)
  const ms = performance.now() - t0
  const cpuMs = cpu() - c0
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
    in_flight: IN_FLIGHT, cpu_us_per_tx: Math.round((cpuMs * 1000) / TX), crypto_us_per_tx: Math.round(cryptoUs),
    cpu_ratio_to_two_core_bound: Math.round((1000 * cryptoUs) / ((cpuMs * 1000) / TX)) / 1000,
  })
} finally {
  await pool.close()
}

function isTransfer(payload: CborValue): boolean {
  return Array.isArray(payload) && payload.length === 2 && payload.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)
}
