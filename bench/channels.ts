// Payment channel figures (group `channels`), all in one process — no socket is crossed:
// - channels.receipts_per_s.per_core: a payer's `pay` and a payee's `accept` (memory book), one
//   receipt at a time on one thread, interleaved in short slices with raw Ed25519 sign and verify
//   of a receipt-sized message; ratio_to_bound = receipts/s ÷ 1 / (t_sign + t_verify), same run.
//   Each slice is charged the process's CPU time (process.cpuUsage), not wall time: on a shared
//   machine a descheduled slice would otherwise count the other processes' work. Slices are short
//   (10 ms), so that contention from other processes falls on the three tasks alike.
// - channels.receipts_per_s.per_core.level: the same, with the payee's book on LevelDB
//   (openLevelRecords: each receipt fsynced before its ack), as a payee really keeps it: a second
//   run of slices after the first, interleaved with sign and verify slices of its own for its
//   bound, charged the process's CPU time (the fsync's wait is not CPU time; LevelDB's threads'
//   work is). Kept apart so that LevelDB's background work does not fall on the first run's slices.
// - channels.accept_per_s.level: accepts into a LevelDB book (each receipt fsynced before its ack),
//   64 channels with one receipt in flight each (their puts share fsyncs).
// - channels.receipt_bytes: a receipt as the coffee machines send it, and the largest possible.
// - channels.redeem_verify_per_s: an observer validating a payee's redeem block (its signature, the
//   receipt authority's signature and place, the running total, the balance rule).
// - bandwidth.refused_after_s and bandwidth.honest_service_ratio: simulateBandwidth with 1,000 peers,
//   10% free riders, 96 simulated hours (simulated time; real signatures), beside Tribler's trial.
// Run: npx tsc -b && node bench/run.mjs channels
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createMemoryStore, validate, type CryptoProvider } from '@tally/core'
import { createEconomyTypes } from '@tally/economy'
import { RECEIPT_MAX_BYTES, createChannelBook, createPayee, createPayer, encodeReceipt, receiptMessage, signReceipt } from '@tally/economy/channels'
import { balanceHistogram, simulateBandwidth } from '@tally/economy/bandwidth'
import { defaultCrypto, openLevelRecords } from '@tally/node'
import { key, office } from '../examples/coffee-machines/office.ts'
import { emit, knob, note, round } from './lib.js'

const SLICE_MS = knob('TALLY_BENCH_CHANNEL_SLICE_MS', 10)
const TOTAL_MS = knob('TALLY_BENCH_CHANNEL_MS', 4000)
const crypto: CryptoProvider = defaultCrypto()
note(`channels bench: provider ${crypto.name}, ${TOTAL_MS} ms of interleaved slices of ${SLICE_MS} ms`)

const o = await office(crypto, 1_000_000_000_000)
const payer = createPayer({ wallet: o.company, key: o.companyKey, book: o.companyBook, community: o.community, clock: () => o.clock.now })
const machineBook = createChannelBook()
const machine = o.party(20, machineBook)
const payee = createPayee({ wallet: machine, book: machineBook, community: o.community, clock: () => o.clock.now })
const { channel, lock } = await payer.open({ to: machine.agent.publicKey, deposit: 500_000_000_000, expiry: 1_000_000 })
await payee.admit(lock, await o.company.agent.store.range(o.companyKey.publicKey))
// a payee as a coffee machine runs one: its book on disk
const levelDir = mkdtempSync(join(tmpdir(), 'tally-bench-channels-'))
const levelRecords = await openLevelRecords({ path: join(levelDir, 'book') })
const levelBook = createChannelBook(levelRecords)
const levelPayee = createPayee({ wallet: o.party(22, levelBook), book: levelBook, community: o.community, clock: () => o.clock.now })
const levelChannel = await payer.open({ to: key(22, crypto).publicKey, deposit: 1_000_000_000, expiry: 1_000_000 }) // leaves the company enough for the channels below
await levelPayee.admit(levelChannel.lock, await o.company.agent.store.range(o.companyKey.publicKey))

// ## pay + accept against sign + verify, interleaved
// as core's bench: one key over 64 distinct messages (receipts of this channel), as a payee checks one payer's receipts
const signer = crypto.signingKey(new Uint8Array(32).fill(10))
const messages = Array.from({ length: 64 }, (_, i) => receiptMessage({ channel, amount: 1_234_567 + i, counter: 4_321 + i }))
const signatures = messages.map((m) => signer.sign(m))
let m = 0
interface Slice { ops: number; ms: number }
const tasks: Record<'sign' | 'verify' | 'receipt' | 'receiptLevel', Slice> = { sign: { ops: 0, ms: 0 }, verify: { ops: 0, ms: 0 }, receipt: { ops: 0, ms: 0 }, receiptLevel: { ops: 0, ms: 0 } }
/** Run one task for `ms` of wall time; charge it the CPU time this process spent (robust to a shared machine descheduling us). */
async function slice(name: keyof typeof tasks, ms: number, into = tasks): Promise<void> {
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  let ops = 0
  let now = t0
  if (name === 'receipt') {
    do {
      for (let i = 0; i < 32; i++) await payee.accept(await payer.pay(channel, 1))
      ops += 32
      now = performance.now()
    } while (now - t0 < ms)
  } else if (name === 'receiptLevel') {
    do {
      for (let i = 0; i < 4; i++) await levelPayee.accept(await payer.pay(levelChannel.channel, 1)) // an fsync each
      ops += 4
      now = performance.now()
    } while (now - t0 < ms)
  } else if (name === 'sign') {
    do {
      for (let i = 0; i < 32; i++) signer.sign(messages[m++ & 63]!)
      ops += 32
      now = performance.now()
    } while (now - t0 < ms)
  } else {
    do {
      for (let i = 0; i < 32; i++, m++) if (!crypto.verify(signatures[m & 63]!, messages[m & 63]!, signer.publicKey)) throw new Error('a valid signature did not verify')
      ops += 32
      now = performance.now()
    } while (now - t0 < ms)
  }
  const cpu = process.cpuUsage(c0)
  into[name].ops += ops
  into[name].ms += (cpu.user + cpu.system) / 1000
}
for (const name of ['sign', 'verify', 'receipt', 'receiptLevel'] as const) await slice(name, SLICE_MS) // warm-up
for (const t of Object.values(tasks)) Object.assign(t, { ops: 0, ms: 0 })
const rounds = Math.max(2, Math.round(TOTAL_MS / (3 * SLICE_MS)))
for (let r = 0; r < rounds; r++) for (const name of ['receipt', 'sign', 'verify'] as const) await slice(name, SLICE_MS)
const per = (t: Slice) => (t.ops * 1000) / t.ms
const bound = 1 / (1 / per(tasks.sign) + 1 / per(tasks.verify))
const receipts = per(tasks.receipt)
emit('channels.sign_per_s', per(tasks.sign), 'ops/s', { provider: crypto.name })
emit('channels.verify_per_s', per(tasks.verify), 'ops/s', { provider: crypto.name })
emit('channels.receipts_per_s.per_core', receipts, 'receipts/s', {
  provider: crypto.name, bound: round(bound), ratio_to_bound: round(receipts / bound, 3), rounds, slice_ms: SLICE_MS, clock: 'process cpu time',
  book: 'memory (createMemoryTable), payer and payee',
  what: 'pay (sign, keep in the payer\'s book) + accept (decode, verify, checks, keep) one at a time, memory books, in-process',
})
// the LevelDB payee: a quarter as many rounds (each of its slices waits for several fsyncs)
const durable: typeof tasks = { sign: { ops: 0, ms: 0 }, verify: { ops: 0, ms: 0 }, receipt: { ops: 0, ms: 0 }, receiptLevel: { ops: 0, ms: 0 } }
const levelRounds = Math.max(2, Math.round(rounds / 4))
for (let r = 0; r < levelRounds; r++) for (const name of ['receiptLevel', 'sign', 'verify'] as const) await slice(name, SLICE_MS, durable)
const levelBound = 1 / (1 / per(durable.sign) + 1 / per(durable.verify))
emit('channels.receipts_per_s.per_core.level', per(durable.receiptLevel), 'receipts/s', {
  provider: crypto.name, bound: round(levelBound), ratio_to_bound: round(per(durable.receiptLevel) / levelBound, 3), receipts: durable.receiptLevel.ops, rounds: levelRounds, clock: 'process cpu time',
  book: 'payee: LevelDB (openLevelRecords, fsynced before each ack); payer: memory',
  what: 'pay + accept one at a time, the payee acknowledging each receipt once it is on disk; CPU time only (the fsync\'s wait is not counted), in-process',
})
await levelRecords.close()
rmSync(levelDir, { recursive: true, force: true })
const state = await payee.state(channel)
if (state.paid !== (await payer.state(channel)).paid) throw new Error('payer and payee disagree on the total')

// ## a durable book: each receipt on disk before its ack
{
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-channels-'))
  try {
    const records = await openLevelRecords({ path: join(dir, 'book') })
    const book = createChannelBook(records)
    const durable = createPayee({ wallet: o.party(21, book), book, community: o.community, clock: () => o.clock.now })
    const CHANNELS = 64
    const opened: Uint8Array[] = []
    for (let i = 0; i < CHANNELS; i++) {
      const c = await payer.open({ to: key(21, crypto).publicKey, deposit: 1_000_000, expiry: 1_000_000 })
      await durable.admit(c.lock, await o.company.agent.store.range(o.companyKey.publicKey))
      opened.push(c.channel)
    }
    // the payer signs ahead; the payee's accepts are what is measured
    const PER = 40
    const queues = await Promise.all(opened.map(async (c) => { const q: Uint8Array[] = []; for (let k = 0; k < PER; k++) q.push(await payer.pay(c, 1)); return q }))
    const t0 = performance.now()
    await Promise.all(queues.map(async (q) => { for (const r of q) await durable.accept(r) }))
    const ms = performance.now() - t0
    emit('channels.accept_per_s.level', (CHANNELS * PER * 1000) / ms, 'receipts/s', { channels: CHANNELS, in_flight: CHANNELS, what: 'accept into a LevelDB book, fsynced before each ack (puts share fsyncs), in-process' })
    await records.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// ## receipt bytes
const typical = encodeReceipt(signReceipt(signer, { channel, amount: 13_730, counter: 64 })).length // a day at the espresso bar
const largest = encodeReceipt(signReceipt(signer, { channel, amount: 2 ** 53 - 1, counter: 2 ** 53 - 1 })).length
if (largest !== RECEIPT_MAX_BYTES) throw new Error(`the largest receipt is ${largest} bytes, RECEIPT_MAX_BYTES says ${RECEIPT_MAX_BYTES}`)
emit('channels.receipt_bytes', largest, 'bytes', { typical, goal: 120, what: 'canonical [channel, amount, counter, signature]; largest = amount and counter at 2^53 - 1' })

// ## an observer validating a redeem
{
  const [redeem] = await payee.redeem(channel)
  if (redeem === undefined) throw new Error('nothing was redeemed')
  const store = createMemoryStore()
  const batch = store.batch()
  for (const b of await o.company.agent.store.range(o.companyKey.publicKey)) batch.put(b)
  for (const b of await machine.agent.store.range(machine.agent.publicKey)) if (b.seq < redeem.seq) batch.put(b)
  await batch.commit()
  const types = createEconomyTypes({ community: o.community, evidence: o.evidence })
  const check = await validate(redeem, { store, types, crypto })
  if (check.level === 'invalid') throw new Error(`the redeem does not validate: ${JSON.stringify(check.errors)}`)
  const t0 = performance.now()
  let n = 0
  do {
    for (let i = 0; i < 16; i++) await validate(redeem, { store, types, crypto })
    n += 16
  } while (performance.now() - t0 < 1000)
  emit('channels.redeem_verify_per_s', (n * 1000) / (performance.now() - t0), 'blocks/s', { provider: crypto.name, level: check.level, what: 'validate(redeem): block signature, receipt signature and place, running total, balance rule; in-process' })
}

// ## bandwidth tokens: 1,000 peers, 10% free riders, 96 simulated hours
{
  const peers = knob('TALLY_BENCH_BANDWIDTH_PEERS', 1_000)
  const hours = knob('TALLY_BENCH_BANDWIDTH_HOURS', 96)
  note(`bandwidth simulation: ${peers} peers, 10% free riders, ${hours} simulated hours`)
  const t0 = performance.now()
  const r = simulateBandwidth({ peers, hours, freeRiders: 0.1, seed: 1, crypto, onProgress: (p) => p.hour % 24 === 0 && note(`  ${p.hour}/${p.hours} h: ${p.downloads} downloads, ${p.refused} refused`) })
  const wallMs = performance.now() - t0
  if (r.sum !== 0 || r.viewSum !== 0) throw new Error(`bandwidth balances do not sum to zero: ${r.sum}, ${r.viewSum}`)
  const common = { peers, free_riders: r.freeRiders, simulated_hours: hours, threshold_mb: r.threshold, clock: 'simulated' }
  emit('bandwidth.refused_after_s', Number.isFinite(r.refusedAfterS) ? r.refusedAfterS : hours * 3600, 's', {
    ...common, reached: Number.isFinite(r.refusedAfterS), what: 'simulated time until 95% of free riders were refused at least once',
    median_delay_s: round(r.medianRefusalDelayS), free_riders_refused: round(r.freeRidersRefused, 3),
    median_balance_at_refusal_mb: r.medianFreeRiderBalanceAtRefusal, tribler_median_at_refusal_mb: -181_000,
  })
  emit('bandwidth.honest_service_ratio', r.honestServiceRatio, 'ratio', {
    ...common, asked: r.honestAsked, served: r.honestServed, refused_own: r.honestRefusedOwn, refused_relay: r.honestRefusedRelay, free_rider_asked: r.freeRiderAsked, free_rider_served: r.freeRiderServed,
    median_balance_mb: r.medianBalance, median_honest_balance_mb: r.medianHonestBalance, tribler_median_balance_mb: -713,
    vouchers: r.vouchers, payouts: r.payouts, wall_ms: round(wallMs),
  })
  note(balanceHistogram(r.balances).join('\n'))
}
