// A probe (not a group): the witness's take path in one process, no network, with a verify pool:
// rate and CPU per report by thread (main, the others) for the bare monitor (8,192-report batches,
// three in flight), the witness in batches of 8,192, and the witness taking 32-report submissions
// from 1,000 hosts at once (what ws delivers). A rate well under the monitor's with less CPU used
// means the pool waits for the witness's thread (how the one-call-in-flight stall was found).
// node --import tsx bench/_probe-take.ts [reports (64000)] [monitor|witness-8192|witness-32 ...]
// PROBE_PROF=<dir>: a CPU profile of each mode (node:inspector), take-<mode>.cpuprofile
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { createHash } from 'node:crypto'
import { createMemoryStore, identityFromSeed } from '@tally/core'
import { DEFAULT_GATEWAY_TIERS, createCommunity, createConfig, createMonitor, signConfig, signReport, signedConfig } from '@tally/economy'
import { createWitness } from '@tally/economy/net'
import { createNode } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'
import { createVerifyPool, defaultCrypto } from '@tally/node'

const crypto = defaultCrypto()
const N = Number(process.argv[2] ?? 64000)
const modes = process.argv.slice(3).length ? process.argv.slice(3) : ['monitor', 'witness-8192', 'witness-32']
const seedOf = (tag: string, i: number) => new Uint8Array(createHash('sha256').update(`${tag}:${i}`).digest())
const wids = [0, 1, 2].map((i) => identityFromSeed(seedOf('witness', i), crypto))
const config = createConfig({ name: 'probe', token: { name: 'W', unit: 'W', decimals: 3 }, start: Date.now() - 1000, epochLength: 3_600_000, rewardPerEpoch: 1_000_000, window: 24, components: { gateway: { metrics: ['airtime', 'messages'], scorer: 'airtime-tiers', params: { tiers: DEFAULT_GATEWAY_TIERS.map((t) => [...t]) } } }, witnesses: wids.map((w) => w.publicKey), quorum: 2 })
const community = createCommunity(signedConfig(config, [signConfig(config, wids[0]!), signConfig(config, wids[1]!)]), { crypto })
const entries: { component: Uint8Array; owner: Uint8Array; type: string }[] = []
const reports: Uint8Array[] = []
for (let i = 0; i < N; i++) {
  const g = identityFromSeed(seedOf('gateway', i), crypto)
  entries.push({ component: g.publicKey, owner: seedOf('owner', i), type: 'gateway' })
  reports.push(signReport({ component: g.publicKey, epoch: 0, seq: 0, metrics: [1000 + ((i * 7919) % 120000), 10 + (i % 50)] }, g, community.id))
}
const pool = createVerifyPool()
const threads = () => {
  const out: Record<string, number> = { main: 0, other: 0 }
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out[Number(tid) === process.pid ? 'main' : 'other'] += Number(f[11]) + Number(f[12])
    } catch {}
  }
  return out
}
for (const mode of modes) {
  const node = createNode({ identity: wids[0]!, store: createMemoryStore({ crypto }), transport: createWsTransport(), head: 'local', gossip: { pullIntervalMs: 0, pushFanout: 0 } })
  const w = createWitness({ key: wids[0]!, community, host: node, epoch: 0, verify: pool.verifySignatures, limits: { reportsPerPeer: 10_000_000 } })
  for (const e of entries) w.directory.addVerified(e)
  const monitor = createMonitor({ directory: w.directory, epoch: 0, crypto, verify: pool.verifySignatures })
  const sink = w as unknown as { take(s: { readonly reports: readonly Uint8Array[] }, peer: Uint8Array): Promise<readonly { code: string }[]> }
  const hosts = Array.from({ length: 1000 }, (_, i) => seedOf('host', i))
  global.gc?.()
  const prof = process.env['PROBE_PROF'] ? new Session() : undefined
  const post = (m: string, p?: object) => new Promise<any>((res, rej) => prof!.post(m, p, (e, v) => (e ? rej(e) : res(v))))
  if (prof) { prof.connect(); await post('Profiler.enable'); await post('Profiler.setSamplingInterval', { interval: 100 }); await post('Profiler.start') }
  const t0 = threads(); const c0 = process.cpuUsage(); const w0 = performance.now()
  let ok = 0
  if (mode === 'monitor' || mode === 'witness-8192') {
    const inflight: Promise<void>[] = []
    for (let at = 0; at < N; at += 8192) {
      const b = reports.slice(at, at + 8192)
      inflight.push((mode === 'monitor' ? monitor.ingest(b).then((v) => v.filter((x) => x.ok).length) : sink.take({ reports: b }, hosts[0]!).then((v) => v.filter((x) => x.code === 'ok').length)).then((n) => void (ok += n)))
      if (inflight.length >= 3) await inflight.shift()
    }
    await Promise.all(inflight)
  } else {
    // 32 per submission, 1,000 hosts at once, each host's reports in order
    const per = Math.ceil(N / 1000)
    await Promise.all(hosts.map(async (h, j) => {
      for (let at = j * per; at < Math.min(N, (j + 1) * per); at += 32) {
        const v = await sink.take({ reports: reports.slice(at, Math.min(at + 32, (j + 1) * per, N)) }, h)
        ok += v.filter((x) => x.code === 'ok').length
      }
    }))
  }
  if (prof) { const { profile } = await post('Profiler.stop'); writeFileSync(`${process.env['PROBE_PROF']}/take-${mode}.cpuprofile`, JSON.stringify(profile)); prof.disconnect() }
  const s = (performance.now() - w0) / 1000; const c = process.cpuUsage(c0); const t1 = threads()
  console.log(JSON.stringify({ mode, ok, per_s: Math.round(ok / s), cpu_us_per_report: Math.round((c.user + c.system) / ok), main_ticks: t1.main - t0.main, other_ticks: t1.other - t0.other, main_us: Math.round((t1.main - t0.main) * 10000 / ok), other_us: Math.round((t1.other - t0.other) * 10000 / ok), heap_mb: Math.round(process.memoryUsage().heapUsed / 1e6) }))
  await node.close()
}
await pool.close?.()
process.exit(0)
