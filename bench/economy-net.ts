// @tally/economy/net's figures, every one across ws sockets between processes on 127.0.0.1
// (bench/_economy-net-peer.ts is each process), with Noise sessions as deployed:
//
// - economy_net.reports_per_s (crosses a socket): signed reports accepted by ONE witness process
//   from 1,000 component connections (each its own gossip node and key, multiplexed over 4 client
//   processes), batches of 32 (the reporter's), the witness's verify pool checking signatures.
//   ratio_to_in_process: the same witness process's monitor, with the same pool, ingesting the
//   same reports in process in batches of 8,192 (bench/economy's ingest), measured in this run.
//   Target ≥ 0.7.
// - economy_net.certify_s.100000 (crosses sockets): 3 witness processes, 100,000 components (each
//   its own owner), every report sent to every witness over ws but 1% of them withheld from the
//   third; from the epoch's deadline (all three call close() at that instant) until each of the 3
//   processes holds the certificate: catch-up, reconciliation (the third pulls the 1%), close,
//   signatures exchanged, certificate announced. Target ≤ 10 s.
// - economy_net.first_transfer_ms / _bytes (crosses sockets): a wallet process whose chain holds
//   10,000 blocks (a reward, then transfers to a sink, built in process) sends to a receiver process
//   that has never seen it: offer, the receiver fetches the 10,000 blocks (64 a request) and the
//   reward evidence, replays the balance, collects the accept ticket from the 3 witnesses, then the
//   proposal and agreement. Bytes: every frame the receiver sent and received (encrypted frames,
//   without ws headers), handshakes included. economy_net.next_transfer_ms / _bytes: the next one.
// - economy_net.witness_rss_mb.100000: peak RSS (maxRSS) of the first witness process at the end of
//   the 100,000-component certify run (directory, report set, monitor, the rate run's reports too).
//
// Run: node --import tsx bench/economy-net.ts   (or npm run bench -- economy-net)
// Parts: BENCH_ECONOMY_NET_PARTS=rate,certify,transfer (the default: all; comma-separated). certify
// without rate still sends witness 1 the rate part's reports (untimed); transfer alone signs none.
// Knobs (smaller dev runs): BENCH_ECONOMY_NET_COMPONENTS (100000), BENCH_ECONOMY_NET_RATE_REPORTS
// (64000), BENCH_ECONOMY_NET_CONNECTIONS (1000), BENCH_ECONOMY_NET_CHAIN (10000).
import { fork, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { identityFromSeed, toHex } from '@tally/core'
import { DEFAULT_GATEWAY_TIERS, createConfig, encodeSignedConfig, signConfig, signReport, signedConfig, configId } from '@tally/economy'
import { defaultCrypto } from '@tally/node'
import { emit, knob, note, round } from './lib.ts'

const COMPONENTS = knob('BENCH_ECONOMY_NET_COMPONENTS', 100_000)
const RATE_REPORTS = Math.min(COMPONENTS, knob('BENCH_ECONOMY_NET_RATE_REPORTS', 64_000))
const CONNECTIONS = knob('BENCH_ECONOMY_NET_CONNECTIONS', 1000)
const CHAIN = knob('BENCH_ECONOMY_NET_CHAIN', 10_000)
const CLIENT_PROCESSES = 4
/** Blocks a second the receiver has the seq witnesses check (NetWalletOptions.witnessRate; the default, 60, is a stranger's share). */
const WITNESS_RATE = knob('BENCH_ECONOMY_NET_WITNESS_RATE', 2000)
const PARTS = new Set((process.env['BENCH_ECONOMY_NET_PARTS'] ?? 'rate,certify,transfer').split(',').map((p) => p.trim()))
for (const p of PARTS) if (!['rate', 'certify', 'transfer'].includes(p)) throw new RangeError(`BENCH_ECONOMY_NET_PARTS: unknown part ${JSON.stringify(p)} (rate, certify, transfer)`)
/** Components with reports signed: none when only the transfer part runs. */
const SIGNED = PARTS.has('rate') || PARTS.has('certify') ? COMPONENTS : 0
const crypto = defaultCrypto()

const seedOf = (tag: string, i: number): Uint8Array => new Uint8Array(createHash('sha256').update(`${tag}:${i}`).digest())
const witnessSeeds = [0, 1, 2].map((i) => seedOf('witness', i))
const witnessIds = witnessSeeds.map((s) => identityFromSeed(s, crypto))

class Peer {
  readonly #proc: ChildProcess
  #next = 1
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  constructor(readonly name: string) {
    this.#proc = fork(join(import.meta.dirname, '_economy-net-peer.ts'), [], { execArgv: ['--import', 'tsx', '--max-old-space-size=4096'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.#proc.on('message', (m: { id: number; ok: boolean; value: unknown; error: string }) => {
      const p = this.#pending.get(m.id)
      this.#pending.delete(m.id)
      if (m.ok) p?.resolve(m.value)
      else p?.reject(new Error(`${name}: ${m.error}`))
    })
    this.#proc.on('exit', (code) => {
      for (const p of this.#pending.values()) p.reject(new Error(`${name} exited (${code})`))
    })
  }
  call<T = Record<string, unknown>>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.#next++
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: (v) => resolve(v as T), reject })
      this.#proc.send({ id, op, args })
    })
  }
  kill(): void {
    this.#proc.kill('SIGKILL')
  }
}

const dir = await mkdtemp(join(tmpdir(), 'bench-economy-net-'))
const peers: Peer[] = []
try {
  await run()
} finally {
  for (const p of peers) p.kill()
  await rm(dir, { recursive: true, force: true })
}

async function run(): Promise<void> {
  // ## The community, its components and their reports (signing is the components' work: untimed)
  const config = createConfig({
    name: 'bench-net',
    token: { name: 'Wavelet', unit: 'WVL', decimals: 3 },
    start: Date.now() - 1000,
    epochLength: 3_600_000,
    rewardPerEpoch: 1_000_000,
    window: 24,
    components: { gateway: { metrics: ['airtime', 'messages'], scorer: 'airtime-tiers', params: { tiers: DEFAULT_GATEWAY_TIERS.map((t) => [...t]) } } },
    witnesses: witnessIds.map((w) => w.publicKey),
    quorum: 2,
  })
  const signed = signedConfig(config, [signConfig(config, witnessIds[0]!), signConfig(config, witnessIds[1]!)])
  const communityHex = toHex(encodeSignedConfig(signed))
  const communityId = configId(config, crypto)
  note(`economy-net: signing ${SIGNED.toLocaleString('en')} reports (untimed)`)
  const directory = new Uint8Array(64 * COMPONENTS)
  const reports: Buffer[] = []
  for (let i = 0; i < SIGNED; i++) {
    const gateway = identityFromSeed(seedOf('gateway', i), crypto)
    directory.set(gateway.publicKey, 64 * i)
    directory.set(seedOf('owner', i), 64 * i + 32)
    const bytes = signReport({ component: gateway.publicKey, epoch: 0, seq: 0, metrics: [1_000 + ((i * 7919) % 120_000), 10 + (i % 50)] }, gateway, communityId)
    const len = Buffer.alloc(2)
    len.writeUInt16BE(bytes.length)
    reports.push(len, Buffer.from(bytes))
  }
  const dirFile = join(dir, 'directory.bin')
  const reportsFile = join(dir, 'reports.bin')
  await writeFile(dirFile, directory)
  await writeFile(reportsFile, Buffer.concat(reports))

  // ## One witness, 1,000 connections: reports per second
  const witnesses = [0, 1, 2].map((i) => new Peer(`witness-${i + 1}`))
  peers.push(...witnesses)
  const w1 = await witnesses[0]!.call<{ address: string; publicKey: string }>('witness', { config: communityHex, seed: toHex(witnessSeeds[0]!), directory: dirFile, count: SIGNED })
  const clients = Array.from({ length: SIGNED > 0 ? CLIENT_PROCESSES : 0 }, (_, i) => new Peer(`clients-${i + 1}`))
  peers.push(...clients)
  const per = Math.ceil(CONNECTIONS / CLIENT_PROCESSES)
  await Promise.all(clients.map((c, i) => c.call('clients', { config: communityHex, n: Math.min(per, CONNECTIONS - i * per), base: i * per, witnesses: [w1] })))
  note(`economy-net: ${clients.length > 0 ? CONNECTIONS : 0} connections to witness 1`)
  const tc = Date.now()
  const dialled = await Promise.all(clients.map((c) => c.call<{ retries: number }>('connect', { witness: w1.publicKey })))
  note(`economy-net: connected in ${((Date.now() - tc) / 1000).toFixed(1)} s (${dialled.reduce((a, d) => a + d.retries, 0)} dials tried again); submitting ${RATE_REPORTS.toLocaleString('en')} reports`)
  const share = Math.ceil(RATE_REPORTS / CLIENT_PROCESSES)
  const load0 = loadavg()[0]!
  const rate = await Promise.all(clients.map((c, i) => c.call<{ start: number; end: number; codes: Record<string, number> }>('submit', { witness: w1.publicKey, reports: reportsFile, from: i * share, to: Math.min(RATE_REPORTS, (i + 1) * share) })))
  const ok = rate.reduce((a, r) => a + (r.codes['ok'] ?? 0), 0)
  const seconds = (Math.max(...rate.map((r) => r.end)) - Math.min(...rate.map((r) => r.start))) / 1000
  if (PARTS.has('rate')) {
  const inProcess = await witnesses[0]!.call<{ ok: number; seconds: number; perSecond: number }>('in-process', { directory: dirFile, count: COMPONENTS, reports: reportsFile, n: RATE_REPORTS })
  emit('economy_net.reports_per_s', ok / seconds, 'reports/s', {
    target_ratio: 0.7,
    ratio_to_in_process: round(ok / seconds / inProcess.perSecond, 2),
    in_process_per_s: Math.round(inProcess.perSecond),
    crosses_socket: true,
    accepted: ok,
    refused: RATE_REPORTS - ok,
    connections: CONNECTIONS,
    client_processes: CLIENT_PROCESSES,
    batch: 32,
    seconds: round(seconds, 2),
    load_avg: round(load0, 2),
  })
  }

  // ## Three witnesses, 100,000 components, the third missing 1%: deadline → certificate everywhere
  const ws = [w1, ...(await Promise.all(witnesses.slice(1).map((w, i) => w.call<{ address: string; publicKey: string }>('witness', { config: communityHex, seed: toHex(witnessSeeds[i + 1]!), directory: dirFile, count: SIGNED }))))]
  await Promise.all(witnesses.map((w) => w.call('peers', { witnesses: ws })))
  await Promise.all(clients.map((c) => c.call('add-witnesses', { witnesses: ws })))
  if (PARTS.has('certify')) {
  note(`economy-net: sending ${COMPONENTS.toLocaleString('en')} reports to witnesses 2 and 3 (3 without 1%), the rest to witness 1`)
  const all = Math.ceil(COMPONENTS / CLIENT_PROCESSES)
  const restShare = Math.ceil((COMPONENTS - RATE_REPORTS) / CLIENT_PROCESSES)
  for (const [w, skip] of [[ws[1]!, undefined], [ws[2]!, 100]] as const) {
    await Promise.all(clients.map((c) => c.call('connect', { witness: w.publicKey })))
    await Promise.all(clients.map((c, i) => c.call('submit', { witness: w.publicKey, reports: reportsFile, from: i * all, to: Math.min(COMPONENTS, (i + 1) * all), ...(skip === undefined ? {} : { skipEvery: skip }) })))
  }
  if (COMPONENTS > RATE_REPORTS) {
    await Promise.all(clients.map((c, i) => c.call('submit', { witness: w1.publicKey, reports: reportsFile, from: RATE_REPORTS + i * restShare, to: Math.min(COMPONENTS, RATE_REPORTS + (i + 1) * restShare) })))
  }
  const counts = await Promise.all(witnesses.map((w) => w.call<{ reports: number }>('count')))
  note(`economy-net: reports held before the close: ${counts.map((c) => c.reports).join(', ')}`)
  const deadline = Date.now() + 1000
  const load1 = loadavg()[0]!
  const closes = await Promise.all(witnesses.map((w) => w.call<{ closeMs: number; heldAt: number; ownCertificate: boolean; root: string; certified: string; events: string[] }>('close-at', { at: deadline })))
  const certifySeconds = (Math.max(...closes.map((c) => c.heldAt)) - deadline) / 1000
  const agree = closes.filter((c) => c.root === c.certified).length
  emit(`economy_net.certify_s.${COMPONENTS}`, certifySeconds, 's', {
    target: 10,
    crosses_socket: true,
    components: COMPONENTS,
    reports_held: counts.map((c) => c.reports),
    witnesses_agreeing: agree,
    close_ms: closes.map((c) => c.closeMs),
    held_after_s: closes.map((c) => round((c.heldAt - deadline) / 1000, 2)),
    load_avg: round(load1, 2),
  })
  const rss = await witnesses[0]!.call<{ maxRssMb: number }>('rss')
  emit(`economy_net.witness_rss_mb.${COMPONENTS}`, rss.maxRssMb, 'MB', { what: 'peak RSS of witness 1: directory, verify pool, the rate run and the certify run', components: COMPONENTS })
  }
  for (const c of clients) c.kill()

  // ## A first transfer from a 10,000-block chain, and the next
  if (!PARTS.has('transfer')) return
  const [sender, receiver] = [new Peer('sender'), new Peer('receiver')]
  peers.push(sender, receiver)
  note(`economy-net: building a ${CHAIN.toLocaleString('en')}-block chain (untimed)`)
  const s = await sender.call<{ address: string; publicKey: string; chain: number }>('wallet', { config: communityHex, seed: toHex(seedOf('sender', 0)), witnesses: ws, chain: CHAIN, witnessSeeds: witnessSeeds.map(toHex) })
  // the receiver is an owner (it registers a gateway over the wire), so the witnesses admit it: its
  // seq-witness checks are read on their limits, not a stranger's, and it asks at WITNESS_RATE
  const r = await receiver.call<{ address: string; publicKey: string; registered: number }>('wallet', { config: communityHex, seed: toHex(seedOf('receiver', 0)), witnesses: ws, chain: 0, witnessSeeds: [], owner: true, witnessRate: WITNESS_RATE })
  for (const [label, metric] of [['first', 'first_transfer'], ['next', 'next_transfer']] as const) {
    await receiver.call('bytes', { reset: true })
    const load2 = loadavg()[0]!
    const sent = await sender.call<{ ms: number; seq: number }>('send', { to: r.publicKey, address: r.address, amount: 1 })
    const bytes = await receiver.call<{ bytes: number; frames: number }>('bytes', { reset: true })
    const extra = { crosses_socket: true, sender_chain: s.chain, proposal_seq: sent.seq, receiver_admitted_by: r.registered, witness_rate: WITNESS_RATE, what: label === 'first' ? 'receiver has never seen the sender' : 'the next transfer, same receiver', load_avg: round(load2, 2) }
    emit(`economy_net.${metric}_ms`, sent.ms, 'ms', extra)
    emit(`economy_net.${metric}_bytes`, bytes.bytes, 'bytes', { ...extra, frames: bytes.frames, counted_at: 'the receiver, both directions, encrypted frames without ws headers' })
  }
}
