// One process of bench/economy-net.ts, driven over Node's IPC channel ({ id, op, args } →
// { id, ok, value | error }). Roles (argv[2]):
//   witness  a community witness on a ws node (verify pool, directory loaded from a file), with the
//            in-process baseline (the same pool, a fresh monitor) and a timed close
//   clients  many component connections: one gossip node per connection, each with its own key,
//            submitting pre-signed reports in batches of 32
//   wallet   a network wallet on a ws node whose transport counts the bytes of every frame; the
//            sender builds its 10,000-block chain in process before it goes on the network
// Files named _*.ts are not benchmark groups (bench/run.mjs skips them).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { PerformanceObserver } from 'node:perf_hooks'
import { createAgent, createMemoryStore, fromHex, identityFromSeed, toHex, type Connection, type SeedIdentity, type Transport } from '@tally/core'
import {
  certify,
  closeEpoch,
  createCommunity,
  createDirectory,
  createEconomyTypes,
  createEvidenceStore,
  createKarmaLedger,
  createMonitor,
  createWallet,
  decodeSignedConfig,
  requestRegistration,
  signCertificate,
  signReport,
  type Community,
} from '@tally/economy'
import { createNetWallet, createRegistrar, createSharedHost, createTicketStore, createWitness, reportsProtocol, seqWitnessTypes, seqWitnesses, type NetWallet, type ReportMessages, type Witness } from '@tally/economy/net'
import { createNode, type Node } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'
import { createVerifyPool, defaultCrypto, type VerifyPool } from '@tally/node'
import type { ProtocolHandle } from '@tally/core'

const crypto = defaultCrypto()
// one process carries thousands of messages a second from each peer: lift the per-peer rates (as bench/gossip.ts does)
const LIMITS = { messagesPerSecond: 1e7, messageBurst: 1e7, bytesPerSecond: 1e10, byteBurst: 1e10, maxPendingRequests: 1024, maxIncomingRequests: 1024, requestTimeoutMs: 120_000 }
const handlers: Record<string, (args: Record<string, unknown>) => unknown> = {}
let community: Community

process.on('disconnect', () => process.exit())
process.on('message', (m: { id: number; op: string; args: Record<string, unknown> }) => {
  Promise.resolve()
    .then(() => handlers[m.op]!(m.args ?? {}))
    .then(
      (value) => process.send!({ id: m.id, ok: true, value: value ?? null }),
      (err: unknown) => process.send!({ id: m.id, ok: false, error: String((err as Error)?.stack ?? err) }),
    )
})

// a CPU profile of this process around a window (node:inspector), written as a .cpuprofile; BENCH_ECONOMY_NET_PROFILE
let profiler: Session | undefined
handlers['profile-start'] = async () => {
  profiler = new Session()
  profiler.connect()
  const post = (method: string, params?: object) => new Promise((resolve, reject) => profiler!.post(method, params, (err, v) => (err ? reject(err) : resolve(v))))
  await post('Profiler.enable')
  await post('Profiler.setSamplingInterval', { interval: 200 })
  await post('Profiler.start')
}
handlers['profile-stop'] = async ({ file }) => {
  const { profile } = await new Promise<{ profile: unknown }>((resolve, reject) => profiler!.post('Profiler.stop', (err, v) => (err ? reject(err) : resolve(v as { profile: unknown }))))
  profiler!.disconnect()
  profiler = undefined
  writeFileSync(String(file), JSON.stringify(profile))
}

// CPU time of this process, every thread (µs): the rate figures' cost on a shared machine
handlers['cpu'] = () => {
  const u = process.cpuUsage()
  return { us: u.user + u.system }
}

// where this process's memory is now (MB): for the RSS figure's notes
// CPU time of each thread of this process (clock ticks, user and system, by thread name): /proc/self/task
// the collector's pauses on this thread by kind (count, ms), counted since the process started: BENCH_ECONOMY_NET_THREADS
const gcs: Record<string, { user: number; system: number }> = {}
if (process.env['BENCH_ECONOMY_NET_THREADS'] === '1') {
  const kinds: Record<number, string> = { 1: 'gc-minor', 2: 'gc-major', 4: 'gc-incremental', 8: 'gc-weak', 16: 'gc-minor' }
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = kinds[(e.detail as { kind?: number } | undefined)?.kind ?? 0] ?? 'gc-other'
      const g = (gcs[kind] ??= { user: 0, system: 0 })
      g.user++ // count
      g.system += Math.round(e.duration) // ms
    }
  }).observe({ entryTypes: ['gc'] })
}
handlers['threads'] = () => {
  const out: Record<string, { user: number; system: number }> = {}
  for (const [k, v] of Object.entries(gcs)) out[k] = { ...v }
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      // other threads by id (Node names its workers, the verify pool's included, and V8's helpers all 'node')
      const name = Number(tid) === process.pid ? 'main' : `${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}-${tid}`
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const t = (out[name] ??= { user: 0, system: 0 })
      t.user += Number(f[11])
      t.system += Number(f[12])
    } catch {
      // the thread ended
    }
  }
  return out
}

handlers['memory'] = () => {
  const m = process.memoryUsage()
  const mb = (n: number) => Math.round(n / 1048576)
  return { rss: mb(m.rss), heapUsed: mb(m.heapUsed), heapTotal: mb(m.heapTotal), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers), maxRss: Math.round(process.resourceUsage().maxRSS / 1024) }
}

handlers['rss'] = () => ({ maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024), rssMb: Math.round(process.memoryUsage().rss / 1048576) })

/** Reports from the file main wrote: [u16 length, bytes]... (the file read once, then kept) */
const files = new Map<string, Buffer>()
function readReports(file: string, from: number, to: number): Uint8Array[] {
  let all = files.get(file)
  if (all === undefined) files.set(file, (all = readFileSync(file)))
  const out: Uint8Array[] = []
  let at = 0
  for (let i = 0; i < to && at < all.length; i++) {
    const n = all.readUInt16BE(at)
    if (i >= from) out.push(new Uint8Array(all.buffer, all.byteOffset + at + 2, n))
    at += 2 + n
  }
  return out
}

/** Component and owner keys main wrote: [component 32, owner 32]... */
function loadDirectory(file: string, count: number, add: (e: { component: Uint8Array; owner: Uint8Array; type: string }) => void): void {
  const bytes = new Uint8Array(readFileSync(file))
  for (let i = 0; i < count; i++) add({ component: bytes.slice(64 * i, 64 * i + 32), owner: bytes.slice(64 * i + 32, 64 * i + 64), type: 'gateway' })
}

// ## witness

let witness: Witness | undefined
let witnessNode: Node | undefined
let pool: VerifyPool | undefined
let witnessIdentity: SeedIdentity | undefined

handlers['witness'] = async ({ config, seed, directory, count, strangerBudget }) => {
  community = createCommunity(decodeSignedConfig(fromHex(String(config))), { crypto })
  pool = createVerifyPool()
  const identity = identityFromSeed(fromHex(String(seed)), crypto)
  witnessIdentity = identity
  // no block push from a witness: with it, every change of its 1,000 peers sends its neighbour list to all of them (O(n²))
  witnessNode = createNode({ identity, store: createMemoryStore({ crypto }), transport: createWsTransport({ port: 0 }), limits: LIMITS, ...(strangerBudget === 'raised' ? { strangerBudget: { messagesPerSecond: 1e7, bytesPerSecond: 1e10 } } : {}), head: 'local', gossip: { pullIntervalMs: 0, pushFanout: 0 }, types: seqWitnessTypes(), witnesses: seqWitnesses(community) })
  witness = createWitness({ key: identity, community, host: witnessNode, epoch: 0, verify: pool.verifySignatures, limits: { reportsPerPeer: 10_000_000 } })
  loadDirectory(String(directory), Number(count), (e) => witness!.directory.addVerified(e))
  return { address: String(await witnessNode.listen()), publicKey: toHex(identity.publicKey) }
}

handlers['peers'] = ({ witnesses }) => {
  for (const w of witnesses as { publicKey: string; address: string }[]) witnessNode?.addAddress(fromHex(w.publicKey), w.address)
}

// the strangers' budget at work on this witness (the component connections are strangers to it)
handlers['stranger-stats'] = () => ({ frames: witnessNode!.stats.strangerFrames, pauses: witnessNode!.stats.strangerPauses, skipped: witnessNode!.stats.strangerSkipped })

handlers['count'] = () => ({ reports: witness!.reportCount(0) })

// the in-process baselines, each with the same pool, its own directory and its own state (made at
// its first call), over the same reports [from, to) as a ws round, in batches of 8,192 (bench/economy's):
//   witness  a second witness of the same community, on a node that never listens, taking the
//            reports through the very code a submission over ws runs (Witness's ReportSink.take:
//            decode, quotas, the monitor, the report set, the host's admission), from one host key
//   monitor  a bare monitor (ingest: decode, checks, signatures, sums), what the witness adds nothing to
let baseline: ReturnType<typeof createMonitor> | undefined
let baselineWitness: { readonly directory: Witness['directory']; take(submission: { readonly reports: readonly Uint8Array[] }, peer: Uint8Array): Promise<readonly { code: string }[]> } | undefined
handlers['in-process'] = async ({ directory, count, reports, from, to, path }) => {
  let ingest: (batch: Uint8Array[]) => Promise<number>
  if (baselineWitness === undefined) {
    const node = createNode({ identity: witnessIdentity!, store: createMemoryStore({ crypto }), transport: createWsTransport(), limits: LIMITS, head: 'local', gossip: { pullIntervalMs: 0, pushFanout: 0 } })
    const w = createWitness({ key: witnessIdentity!, community, host: node, epoch: 0, verify: pool!.verifySignatures, limits: { reportsPerPeer: 10_000_000 } })
    loadDirectory(String(directory), Number(count), (e) => w.directory.addVerified(e))
    baselineWitness = w as unknown as NonNullable<typeof baselineWitness>
  }
  if (path === 'monitor') {
    // the baseline witness's directory (neither changes it): one more directory of every
    // component in this process would make the collector's marking, in the ws rounds too, longer
    baseline ??= createMonitor({ directory: baselineWitness.directory, epoch: 0, crypto, verify: pool!.verifySignatures })
    const monitor = baseline
    ingest = async (batch) => (await monitor.ingest(batch)).filter((v) => v.ok).length
  } else {
    const sink = baselineWitness
    const host = new Uint8Array(32).fill(0x42)
    ingest = async (batch) => (await sink.take({ reports: batch }, host)).filter((v) => v.code === 'ok').length
  }
  const list = readReports(String(reports), Number(from), Number(to))
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  let ok = 0
  const batches: Promise<void>[] = []
  for (let at = 0; at < list.length; at += 8192) {
    batches.push(ingest(list.slice(at, at + 8192)).then((n) => void (ok += n)))
    if (batches.length >= 3) await batches.shift()
  }
  await Promise.all(batches)
  const s = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  return { ok, seconds: s, cpuUs: cpu.user + cpu.system }
}

// close at `at` (ms since 1970, the "deadline"); answer when this witness holds the certificate
handlers['close-at'] = async ({ at }) => {
  await new Promise((r) => setTimeout(r, Math.max(0, Number(at) - Date.now())))
  const start = Date.now()
  const outcome = await witness!.close()
  const closedAt = Date.now()
  while (witness!.certificate(0) === undefined) await new Promise((r) => setTimeout(r, 2))
  return { closeMs: closedAt - start, heldAt: Date.now(), ownCertificate: outcome.certificate !== undefined, root: toHex(outcome.result.body.root), certified: toHex(witness!.certificate(0)!.root), events: witness!.events.map((e) => `${e.kind}: ${e.reason}`) }
}

// ## clients

let conns: { node: Node; handle: ProtocolHandle<ReportMessages> }[] = []

handlers['clients'] = async ({ config, n, base, witnesses }) => {
  community = createCommunity(decodeSignedConfig(fromHex(String(config))), { crypto })
  for (let i = 0; i < Number(n); i++) {
    const seed = new Uint8Array(32)
    new DataView(seed.buffer).setUint32(0, Number(base) + i)
    seed[31] = 0xc1
    const node = createNode({ identity: identityFromSeed(seed, crypto), store: createMemoryStore({ crypto }), transport: createWsTransport(), limits: LIMITS, head: 'local', gossip: { pullIntervalMs: 0, pushFanout: 0 }, cacheSize: 1024 })
    for (const w of witnesses as { publicKey: string; address: string }[]) node.addAddress(fromHex(w.publicKey), w.address)
    conns.push({ node, handle: node.host(reportsProtocol()) })
  }
}

handlers['add-witnesses'] = ({ witnesses }) => {
  for (const c of conns) for (const w of witnesses as { publicKey: string; address: string }[]) c.node.addAddress(fromHex(w.publicKey), w.address)
}

handlers['connect'] = async ({ witness: w }) => {
  const key = fromHex(String(w))
  let at = 0
  let retries = 0
  // a few dials at a time, each tried again when a loaded witness did not answer its handshake in time
  await Promise.all(Array.from({ length: 4 }, async () => {
    for (let i = at++; i < conns.length; i = at++) {
      for (let attempt = 1; ; attempt++) {
        try {
          await conns[i]!.handle.peer(key)
          break
        } catch (err) {
          if (attempt >= 5) throw err
          retries++
        }
      }
    }
  }))
  return { retries }
}

/**
 * Submit reports [from, to) of the file, split over the connections, in batches of 32; skipEvery
 * k: leave out every k-th report. `load` first (untimed: reading the file is the bench's work,
 * not a component's), then `submit` sends what was loaded.
 */
let loaded: { key: Uint8Array; lists: Uint8Array[][]; sent: number } | undefined
handlers['load'] = ({ witness: w, reports, from, to, skipEvery }) => {
  const list = readReports(String(reports), Number(from), Number(to)).filter((_, i) => skipEvery === undefined || (Number(from) + i) % Number(skipEvery) !== 0)
  const per = Math.ceil(list.length / conns.length)
  loaded = { key: fromHex(String(w)), lists: conns.map((_, j) => list.slice(j * per, (j + 1) * per)), sent: list.length }
}
handlers['submit'] = async (args) => {
  if (args['reports'] !== undefined) await handlers['load']!(args)
  const { key, lists, sent } = loaded!
  loaded = undefined
  const codes: Record<string, number> = {}
  const t0 = Date.now()
  // when each reply came (ms after the start): where a window's time went, for the thread notes
  const answered: number[] = []
  await Promise.all(
    conns.map(async (c, j) => {
      const mine = lists[j]!
      const ctx = await c.handle.peer(key)
      for (let at = 0; at < mine.length; at += 32) {
        const reply = await ctx.request('submit', { reports: mine.slice(at, at + 32) })
        answered.push(Date.now() - t0)
        if (reply.kind === 'verdicts') for (const v of reply.message.verdicts) codes[v.code] = (codes[v.code] ?? 0) + 1
      }
    }),
  )
  answered.sort((a, b) => a - b)
  const at = (q: number) => answered[Math.min(answered.length - 1, Math.floor(q * answered.length))] ?? 0
  return { start: t0, end: Date.now(), codes, sent, answeredMs: [at(0), at(0.1), at(0.5), at(0.9), at(1)] }
}

// ## wallet

let wallet: NetWallet | undefined
let walletNode: Node | undefined
const counted = { bytes: 0, frames: 0 }

handlers['wallet'] = async ({ config, seed, witnesses, chain, witnessSeeds, owner, witnessRate }) => {
  community = createCommunity(decodeSignedConfig(fromHex(String(config))), { crypto })
  const identity = identityFromSeed(fromHex(String(seed)), crypto)
  const store = createMemoryStore({ crypto })
  const evidence = createEvidenceStore(community)
  const tickets = createTicketStore()
  const types = createEconomyTypes({ community, evidence, tickets })
  let built = 0
  if (Number(chain) > 0) built = await buildChain(identity, Number(chain), store, types, evidence, (witnessSeeds as string[]).map((s) => identityFromSeed(fromHex(s), crypto)))
  // as deployed: the community's witnesses are the seq witnesses (examples/ttn-network, test/fixtures/economy-net.ts);
  // the default quotas: the sender's history the receiver fetches is party data, not a stranger's (the node's keep.partyBytes)
  walletNode = createNode({ identity, store, types, transport: counting(createWsTransport({ port: 0 })), limits: LIMITS, head: 'local', gossip: { pullIntervalMs: 0 }, witnesses: seqWitnesses(community) })
  for (const w of witnesses as { publicKey: string; address: string }[]) walletNode.addAddress(fromHex(w.publicKey), w.address)
  const local = createWallet({ agent: walletNode.agent, community, evidence })
  wallet = createNetWallet({ wallet: local, community, evidence, tickets, host: walletNode, port: walletNode.transactions, timeoutMs: 120_000, ...(witnessRate === undefined ? {} : { witnessRate: Number(witnessRate), }) })
  const address = String(await walletNode.listen())
  let registered = 0
  if (owner === true) {
    // an owner, as a TTN wallet is: it registers a gateway over the wire; each witness that applies
    // the registration admits it (no stranger to the witnesses' nodes: @tally/economy/net's admitOwners)
    const gateway = identityFromSeed(new Uint8Array(32).fill(0x7b), crypto)
    const done = await createRegistrar({ host: createSharedHost(walletNode), community }).register(requestRegistration(identity, gateway, community.id, 'gateway', crypto))
    registered = done.applied
  }
  return { address, publicKey: toHex(identity.publicKey), chain: built, registered }
}

handlers['send'] = async ({ to, address, amount }) => {
  walletNode!.addAddress(fromHex(String(to)), String(address))
  const t0 = performance.now()
  const tx = await wallet!.send(fromHex(String(to)), Number(amount))
  return { ms: performance.now() - t0, seq: tx.proposal.seq }
}

handlers['bytes'] = ({ reset }) => {
  const out = { ...counted }
  if (reset === true) {
    counted.bytes = 0
    counted.frames = 0
  }
  return out
}

/** A chain of `length` blocks: a reward claim (certified in process by two of the witnesses' keys), then transfers of 1 unit to a sink that agrees. */
async function buildChain(me: SeedIdentity, length: number, store: ReturnType<typeof createMemoryStore>, types: ReturnType<typeof createEconomyTypes>, evidence: ReturnType<typeof createEvidenceStore>, witnessKeys: SeedIdentity[]): Promise<number> {
  const gateway = identityFromSeed(new Uint8Array(32).fill(0x6a), crypto)
  const directory = createDirectory(community, { crypto })
  directory.addVerified({ component: gateway.publicKey, owner: me.publicKey, type: 'gateway' })
  const monitor = createMonitor({ directory, epoch: 0, crypto })
  monitor.submit(signReport({ component: gateway.publicKey, epoch: 0, seq: 0, metrics: [75_000, 12] }, gateway, community.id))
  const result = closeEpoch({ directory, karma: createKarmaLedger({ window: community.current.window }), metrics: monitor.close() })
  const certificate = certify(result.body, await Promise.all(witnessKeys.slice(0, 2).map((w) => signCertificate(result.body, w, result.config, crypto))), result.config, crypto)
  const agent = createAgent({ identity: me, store, types, head: 'local' })
  const local = createWallet({ agent, community, evidence })
  let previous = await local.claim({ amount: result.amountOf(me.publicKey), certificate, proof: result.proofFor(me.publicKey)! })
  const sinkId = identityFromSeed(new Uint8Array(32).fill(0x5e), crypto)
  const sink = createAgent({ identity: sinkId, store: createMemoryStore({ crypto }), types, head: 'local' })
  for (let i = 1; i < length; i++) {
    const proposal = await local.send(sinkId.publicKey, 1)
    await sink.receive(previous) // the sink has seen the chain up to the proposal
    await local.complete(await sink.agree(proposal))
    previous = proposal
  }
  return (await store.latest(me.publicKey))!.seq
}

/** A transport whose connections count every frame's bytes, both ways (methods patched on the real connection, which stays what the transport expects). */
function counting(inner: Transport): Transport {
  const wrap = (c: Connection): Connection => {
    const send = c.send.bind(c)
    const onFrame = c.onFrame.bind(c)
    c.send = (frame) => {
      counted.bytes += frame.length
      counted.frames++
      return send(frame)
    }
    c.onFrame = (h) =>
      onFrame(
        h === undefined
          ? undefined
          : (frame) => {
              counted.bytes += frame.length
              counted.frames++
              h(frame)
            },
      )
    return c
  }
  return {
    listen: (on) => inner.listen((c) => on(wrap(c))),
    connect: async (address, options) => wrap(await inner.connect(address, options)),
    close: () => inner.close(),
  }
}
