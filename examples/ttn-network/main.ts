// npm start, part three: the TTN community on the network. Every party is its own process on
// 127.0.0.1, with its own key file and its own LevelDB directory, configured by a small JSON file:
// 3 witnesses (any 2 certify), 4 gateway hosts running 50 gateways each (every gateway with its
// own key and reporter), and 10 owners' wallets. Six compressed epochs: the gateways report, the
// witnesses reconcile, close and certify, the owners claim and pay each other. In epoch 3 a witness
// is killed (SIGKILL) and restarted: it catches up and signs again. An owner forks its chain to
// spend twice and is refused. At the end every process's
// store is audited: no token created or lost.
//
//   node --import tsx examples/ttn-network/main.ts [--dir <work dir>] [--keep] [--clock [--epoch-ms 4000]]
//
// The work dir (default: a new one under the OS temp dir) holds config/, data/<process>/,
// community.cbor and peers.json; it is removed at the end unless --keep.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createMemoryStore, fromHex, type BlockStore } from '@tally/core'
import { DEFAULT_GATEWAY_TIERS, auditSupply, createConfig, encodeConfig, encodeSignedConfig, signedConfig, type SupplyReport } from '@tally/economy'
import { defaultCrypto, openLevelStore } from '@tally/node'
import { Child, buildRoles, removeBuilt, type Note } from './child.ts'

const { values: args } = parseArgs({
  options: {
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'epoch-ms': { type: 'string', default: '4000' },
    hosts: { type: 'string', default: '4' },
    gateways: { type: 'string', default: '50' },
    wallets: { type: 'string', default: '10' },
    epochs: { type: 'string', default: '6' },
    clock: { type: 'boolean', default: false },
  },
  strict: true,
})
const EPOCH_MS = positive('epoch-ms', 500)
const HOSTS = positive('hosts', 1)
const PER_HOST = positive('gateways', 1)
const WALLETS = positive('wallets', 2)
const EPOCHS = positive('epochs', 4)
// By default the launcher steps the epochs: it ends each one itself once every report is delivered
// (hour-long epochs on the clock, closed on command), so the run does not depend on how fast the
// machine is. --clock: epochs of --epoch-ms on the wall clock, gateways reporting and witnesses
// closing on their own timers, as deployed (a loaded machine then shows late reports and roots that differ).
const STEPPED = !args.clock
const KILL_AT = 2 // the third epoch (0-based index): a witness is killed and restarted
const crypto = defaultCrypto()
const t0 = Date.now()
const clock = (): string => `${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s`
const say = (line: string): void => void process.stdout.write(`${line}\n`)

const dir = args.dir ?? mkdtempSync(join(tmpdir(), 'ttn-network-'))
mkdirSync(join(dir, 'config'), { recursive: true })
const children: Child[] = []
let failed = 0
const check = (ok: boolean, line: string): void => {
  if (!ok) failed++
  say(`${line} ${ok ? '✓' : '✗'}`)
}

try {
  await run()
} catch (err) {
  failed++
  say(`failed: ${(err as Error)?.stack ?? err}`)
  for (const c of children) if (c.stderr.trim() !== '') say(`--- ${c.name} stderr:\n${c.stderr.trim()}`)
} finally {
  for (const c of children) if (c.running) await c.kill()
  removeBuilt()
  if (!args.keep) rmSync(dir, { recursive: true, force: true })
  else say(`work dir kept: ${dir}`)
  say(failed === 0 ? 'network check: OK' : `network check: ${failed} FAILED`)
  process.exitCode = failed === 0 ? 0 : 1
}

async function run(): Promise<void> {
  say(`TTN on the network: 3 witness processes (quorum 2), ${HOSTS} gateway hosts × ${PER_HOST} gateways, ${WALLETS} owner wallets, ${EPOCHS} epochs ${STEPPED ? "stepped by the launcher" : `of ${EPOCH_MS / 1000} s`}, on 127.0.0.1`)
  // a close waits a quarter of an epoch for late reports (at least the sample's grace)
  const grace = Math.max(Number(JSON.parse(readFileSync(join(import.meta.dirname, 'config', 'witness-1.json'), 'utf8')).closeGraceMs), Math.round(EPOCH_MS / 4))
  const witnesses = [1, 2, 3].map((i) => role('witness', `witness-${i}`, { closeGraceMs: grace }))
  const hosts = Array.from({ length: HOSTS }, (_, i) => role('gateways', `gateways-${i + 1}`, { components: PER_HOST, trafficSeed: i + 1 }))
  const wallets = Array.from({ length: WALLETS }, (_, i) => role('wallet', `wallet-${String(i + 1).padStart(2, '0')}`))
  children.push(...witnesses, ...hosts, ...wallets)
  await buildRoles()
  await Promise.all(children.map((c) => c.start()))
  say(`${clock()}  ${children.length} processes up; each made its key file (mode 0600) in its own data dir`)

  // ## The community: the witnesses sign its genesis configuration
  const config = createConfig({
    name: 'ttn-network',
    token: { name: 'Wavelet', unit: 'WVL', decimals: 3 },
    start: STEPPED ? Date.now() - 1000 : Math.ceil((Date.now() + 2500) / 100) * 100,
    epochLength: STEPPED ? 3_600_000 : EPOCH_MS,
    rewardPerEpoch: 1_000_000,
    // karma of the last epoch only: a witness restarted empty cannot rebuild longer windows yet (README)
    window: 1,
    components: { gateway: { metrics: ['airtime', 'messages'], scorer: 'airtime-tiers', params: { tiers: DEFAULT_GATEWAY_TIERS.map((t) => [...t]) } } },
    witnesses: witnesses.map((w) => fromHex(w.publicKey)),
    quorum: 2,
  })
  const signatures = await Promise.all(witnesses.map((w) => w.request<{ index: number; signature: string }>('sign-genesis', { config: Buffer.from(encodeConfig(config)).toString('hex') })))
  writeFileSync(join(dir, 'community.cbor'), encodeSignedConfig(signedConfig(config, signatures.map((s) => ({ index: s.index, signature: fromHex(s.signature) })))))
  const started = await Promise.all(witnesses.map((w) => w.request<{ address: string }>('start')))
  witnesses.forEach((w, i) => (w.address = started[i]!.address))
  writeFileSync(join(dir, 'peers.json'), JSON.stringify({ witnesses: witnesses.map((w) => ({ name: w.name, publicKey: w.publicKey, address: w.address })) }, null, 2))
  await Promise.all(witnesses.map((w) => w.request('peers')))
  const others = await Promise.all([...hosts, ...wallets].map((c) => c.request<{ address: string }>('start')))
  ;[...hosts, ...wallets].forEach((c, i) => (c.address = others[i]!.address))
  say(`${clock()}  community signed by 3 witnesses; witnesses and gateway hosts listening, wallets never (reached through the witnesses' relays); ws, Noise sessions`)

  // ## Registration: each gateway signs its half, its owner's wallet the other, k witnesses approve
  const owners = wallets.map((w) => w.publicKey)
  const halves = (await Promise.all(hosts.map((h) => h.request<{ owner: string; component: string; type: string; componentSignature: string }[]>('registrations', { owners })))).flat()
  const applied = await Promise.all(wallets.map((w) => w.request<{ applied: number; refusals: string[] }>('register', { items: halves.filter((h) => h.owner === w.publicKey) }, 60_000)))
  const registered = applied.reduce((a, r) => a + r.applied, 0)
  check(registered === halves.length, `${clock()}  ${registered}/${halves.length} gateways registered by their owners' wallets, approved and applied by the witnesses`)

  // ## Epochs
  const c = config
  const now = Date.now()
  const nowEpoch = Math.max(0, Math.floor((now - c.start) / c.epochLength))
  const first = STEPPED ? 0 : now < c.start + nowEpoch * c.epochLength + 0.15 * c.epochLength ? nowEpoch : nowEpoch + 1
  if (!STEPPED) await Promise.all(hosts.map((h) => h.request('report-from', { epoch: first })))
  const closed = new Map<string, Note>() // `${name}:${epoch}` → the close note
  const events: string[] = []
  const listen = (w: Child): void => {
    w.on((n) => {
      if (n.type === 'closed') closed.set(`${w.name}:${n['epoch']}`, n)
      if (n.type === 'event' || n.type === 'close-failed') events.push(`${w.name} ${n['kind'] ?? n.type} ${n['epoch']}: ${n['reason'] ?? n['error']}`)
    })
  }
  witnesses.forEach(listen)
  const victim = witnesses[1]!
  let restart: Promise<void> | undefined
  let victimFrom = 0 // the first epoch the restarted witness has open
  let claimedTotal = 0
  let transfers = 0
  let refused = 0
  for (let k = 0; k < EPOCHS; k++) {
    const e = first + k
    const deadline = c.start + (e + 1) * c.epochLength
    let killNote = ''
    const stepStart = Date.now()
    if (STEPPED) await Promise.all(hosts.map((h) => h.request('report', { epoch: e }, 120_000)))
    if (k === KILL_AT) {
      if (!STEPPED) await sleepUntil(c.start + e * c.epochLength + 0.4 * c.epochLength)
      await victim.kill()
      const killedAt = Date.now()
      restart = victim.start().then(async () => {
        victimFrom = (await victim.request<{ epoch: number }>('start', STEPPED ? { epoch: e } : {})).epoch
        const at = STEPPED ? 'after the epoch\'s reports' : `at ${(((killedAt - c.start) / c.epochLength) - e).toFixed(1)} of the epoch`
        killNote = `  ${victim.name} SIGKILLed ${at}, back after ${((Date.now() - killedAt) / 1000).toFixed(1)} s`
      })
      await restart
    }
    if (STEPPED) await Promise.all(witnesses.filter((w) => w.running).map((w) => w.request('close', {}, 120_000)))
    // the close: every running witness closes, then each must hold the certificate
    const live = witnesses.filter((w) => w.running && (w !== victim || victimFrom <= e))
    let statuses: Status[]
    try {
      await waitFor(() => live.every((w) => closed.has(`${w.name}:${e}`)), deadline + 60_000 - Date.now(), `the close of epoch ${e}`)
      statuses = await waitForCertificates(live, e, 30_000)
    } catch (err) {
      // no k witnesses computed the same root (their report sets differed: reports that arrived around the close)
      check(false, `${clock()}  epoch ${k + 1}/${EPOCHS}  not certified: ${(err as Error).message.slice(0, 160)}`)
      continue
    }
    const certifiedAfter = (Date.now() - (STEPPED ? stepStart : deadline)) / 1000
    const notes = live.map((w) => closed.get(`${w.name}:${e}`)!)
    const cert = statuses[0]!.certificates[String(e)]!
    const reports = notes.map((n, i) => `${live[i]!.name.replace('witness-', 'W')} ${n['ownReports']}${Number(n['reports']) > Number(n['ownReports']) ? `+${Number(n['reports']) - Number(n['ownReports'])}` : ''}`).join(', ')
    // claims and transfers of the epoch just certified
    const claims = await Promise.all(wallets.map((w) => w.request<{ claimed: boolean; reason?: string; balance?: number }>('claim', { epoch: e })))
    const got = claims.filter((x) => x.claimed).length
    const balances = await Promise.all(wallets.map((w) => w.request<{ balance: number }>('balance')))
    claimedTotal = balances.reduce((a, b) => a + b.balance, 0)
    const sends = await Promise.all(
      wallets.map((w, i) => {
        // no two wallets pay each other in one epoch: their tunnels through a relay would cross
        // (each dials the other at once, and a relay carries one tunnel per pair of ends: both
        // handshakes fail, 'protocol'; @tally/gossip's relay, a known limit)
        const offset = 1 + (k % (wallets.length - 1))
        const to = wallets[(i + (2 * offset === wallets.length ? offset + 1 : offset)) % wallets.length]!
        const amount = Math.floor(balances[i]!.balance / 10)
        if (amount < 1 || to === w) return Promise.resolve(undefined)
        return w.request<{ sent: boolean; reason?: string; message?: string }>('send', { to: to.publicKey, address: to.address, amount })
      }),
    )
    const ok = sends.filter((s) => s?.sent).length
    const why = new Map<string, number>()
    for (const s of sends) if (s !== undefined && !s.sent) why.set(s.reason ?? '?', (why.get(s.reason ?? '?') ?? 0) + 1)
    const whyNote = why.size === 0 ? '' : ` (refused: ${[...why].map(([r, n]) => `${r} ×${n}`).join(', ')})`
    transfers += ok
    refused += sends.filter((s) => s !== undefined && !s.sent).length
    say(
      `${clock()}  epoch ${k + 1}/${EPOCHS}  reports ${reports}  certified by ${cert.signers.map((i) => `W${i + 1}`).join('+')} ${certifiedAfter.toFixed(1)} s ${STEPPED ? 'after the epoch began' : 'after the deadline'}, held by ${statuses.length}/3  claims ${got}  transfers ${ok}/${sends.filter((s) => s !== undefined).length}${whyNote}${killNote}`,
    )
    if (restart !== undefined && e === victimFrom) {
      const n = closed.get(`${victim.name}:${e}`)
      check(
        n !== undefined && n['root'] !== undefined && statuses.every((s) => s.certificates[String(e)]?.digest === cert.digest),
        `         ${victim.name} restarted empty: caught up on ${n?.['components']} registrations and ${Number(n?.['reports']) - Number(n?.['ownReports'])} reports it had lost, closed epoch ${k + 1} and holds its certificate${e > first + KILL_AT ? ` (it came back after epoch ${KILL_AT + 1} had ended: the other two certified that one)` : ''}`,
      )
    }
    if (restart !== undefined && e === victimFrom + 1) {
      const agree = (closed.get(`${victim.name}:${e}`)?.['root'] as string | undefined) === (closed.get(`${witnesses[0]!.name}:${e}`)?.['root'] as string | undefined)
      check(agree, `         ${victim.name} signs again: its root of epoch ${k + 1} is the certified one`)
    }
  }
  // ## A forked double spend, after the last transfers (from then on the forker is a proven cheater)
  {
    // the receiver: a wallet the forker never paid (wallet i pays wallet i + 1 + k), so it learns the forker's chain from the fork
    const [forker, receiver] = [wallets[0]!, wallets[wallets.length - 1]!]
    const r = await forker.request<{ refused: boolean; reason?: string; forkedSeq: number; differs?: boolean }>('fork-double-spend', { epoch: first, to: receiver.publicKey, address: receiver.address, amount: 100 })
    const proof = await receiver.request<{ proof: boolean }>('holds-proof-against', { key: forker.publicKey })
    // 'cheater': the receiver fetched the branch and a seq witness holds another block at one of its
    // seqs (it keeps the double-sign proof). 'history': the receiver holds the honest chain already
    // (gossip brought it), and the branch's proposal does not follow it.
    check(
      r.refused && (r.reason === 'cheater' || r.reason === 'history'),
      `         forked double spend: ${forker.name} signs a second branch (epoch 1 claimed again at seq ${r.forkedSeq}) and pays ${receiver.name} from it → ${r.refused ? `refused (${r.reason})` : 'ACCEPTED'} before any countersign; ${receiver.name} ${proof.proof ? 'holds the double-sign proof' : 'keeps no proof (it held the honest chain: the branch does not follow it)'}`,
    )
  }
  say(`${clock()}  ${claimedTotal / 1000} WVL in the wallets after ${transfers} transfers (${refused} refused)`)

  // ## The end: every witness holds every certificate; stop everything; audit every store
  const final = await Promise.all(witnesses.map((w) => w.request<Status>('status')))
  const epochs = Array.from({ length: EPOCHS }, (_, k) => String(first + k))
  const same = epochs.every((e) => final.every((s) => s.certificates[e] !== undefined && s.certificates[e]!.digest === final[0]!.certificates[e]!.digest))
  check(same, `certificates: epochs 1–${EPOCHS} held by witness-1, witness-2, witness-3, identical`)
  const outcomes = new Map<string, number>()
  for (const h of await Promise.all(hosts.map((h) => h.request<{ outcomes: Record<string, number> }>('status')))) for (const [k, n] of Object.entries(h.outcomes)) outcomes.set(k, (outcomes.get(k) ?? 0) + n)
  say(`reports delivered (per report and witness): ${[...outcomes].map(([k, n]) => `${k} ${n}`).join(', ')}`)
  const cpu = await Promise.all(children.map((c) => c.request<{ cpuS: number }>('cpu')))
  const sum = (role: string): string => children.map((c, i) => (c.role === role ? cpu[i]!.cpuS : 0)).reduce((a, b) => a + b, 0).toFixed(1)
  say(`CPU: witnesses ${sum('witness')} s, gateway hosts ${sum('gateways')} s, wallets ${sum('wallet')} s (the restarted witness's second life only)`)
  if (events.length > 0) say(`witness log:\n${events.map((l) => `  ${l}`).join('\n')}`)
  await Promise.all(children.map((c) => c.stop()))
  await audit(children)
}

interface Status {
  certificates: Record<string, { digest: string; signers: number[] }>
}

async function waitForCertificates(live: Child[], epoch: number, ms: number): Promise<Status[]> {
  const until = Date.now() + ms
  for (;;) {
    const all = await Promise.all(live.map((w) => w.request<Status>('status')))
    if (all.every((s) => s.certificates[String(epoch)] !== undefined) || Date.now() > until) {
      if (!all.every((s) => s.certificates[String(epoch)] !== undefined)) throw new Error(`no certificate held by ${live.filter((_, i) => all[i]!.certificates[String(epoch)] === undefined).map((w) => w.name).join(', ')} after ${ms / 1000} s`)
      return all
    }
    await sleep(100)
  }
}

async function audit(all: Child[]): Promise<void> {
  const union = createMemoryStore()
  const rows: [string, SupplyReport, number][] = []
  let conflicts = 0
  for (const c of all) {
    const store: BlockStore = await openLevelStore({ path: join(dir, 'data', c.name, 'blocks'), crypto })
    try {
      let blocks = 0
      for (const key of await store.agents()) {
        for (const b of await store.range(key)) {
          blocks++
          try {
            await union.batch().put(b).commit()
          } catch {
            conflicts++ // two blocks at one (key, seq): a fork the union keeps once
          }
        }
      }
      rows.push([c.name, await auditSupply(store, crypto), blocks])
    } finally {
      await store.close()
    }
  }
  const total = await auditSupply(union, crypto)
  const fmt = (n: number): string => (n / 1000).toFixed(3).padStart(10)
  say(`\nsupply audit (auditSupply over each process's LevelDB store, WVL)\n${'store'.padEnd(14)}${'blocks'.padStart(7)}${'rewards'.padStart(11)}${'balances'.padStart(11)}${'in flight'.padStart(11)}${'refunded'.padStart(11)}  ok`)
  const empty = rows.filter(([, , blocks]) => blocks === 0).map(([name]) => name)
  for (const [name, r, blocks] of [...rows, ['all (union)', total, -1] as [string, SupplyReport, number]]) {
    if (blocks === 0) continue
    say(`${name.padEnd(14)}${(blocks < 0 ? '' : String(blocks)).padStart(7)}${fmt(r.rewards)}${fmt(r.balances)}${fmt(r.inFlight)}${fmt(r.refunded)}  ${r.ok ? 'yes' : 'NO'}`)
  }
  if (empty.length > 0) say(`${empty.join(', ')}: no blocks (they hold no chains: all 0, ok)`)
  check(rows.every(([, r]) => r.ok) && total.ok, `supply: every store and their union add up (balances + in flight = rewards − burned)${conflicts > 0 ? `; ${conflicts} forked blocks seen` : ''}`)
}

// ## Helpers

/** A role process with its config file written into the work dir (from the sample in config/). */
function role(kind: 'witness' | 'gateways' | 'wallet', name: string, extra: Record<string, unknown> = {}): Child {
  const sample = JSON.parse(readFileSync(join(import.meta.dirname, 'config', `${kind}-1.json`), 'utf8')) as Record<string, unknown>
  const path = join(dir, 'config', `${name}.json`)
  writeFileSync(path, JSON.stringify({ ...sample, name, dataDir: `../data/${name}`, ...extra }, null, 2))
  return new Child(name, kind, path)
}

function positive(name: string, min: number): number {
  const v = Number(args[name as keyof typeof args])
  if (!Number.isInteger(v) || v < min) throw new RangeError(`--${name} expected an integer ≥ ${min}, got ${args[name as keyof typeof args]}`)
  return v
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)))
}

function sleepUntil(at: number): Promise<void> {
  return sleep(at - Date.now())
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}
