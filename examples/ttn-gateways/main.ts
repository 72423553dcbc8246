// npm start, part two: a day in a community of The Things Network gateways, run on Tally.
//
// 2,000 gateways belong to about 170 owners (a handful of organisations run many, most people
// one or two). Every hour each gateway signs a report of the airtime it carried; three witnesses
// each run their own monitor over the reports, close the epoch (score by the paper's airtime
// tiers, a moving average over 24 hours, karma per owner, 1,000 WVL split in proportion), and
// sign the Merkle root of the allocation table; any two signatures certify it. Owners claim their
// rewards with `reward` blocks in their own chains, and pay and burn tokens. At the end an
// auditor who saw nothing but the blocks validates every chain and checks that supply adds up.
//
// A day of hourly epochs takes seconds. Knobs: TALLY_TTN_GATEWAYS (default 2000),
// TALLY_TTN_EPOCHS (24), TALLY_TTN_SEED (7), TALLY_TTN_STORE (memory | level: the owners' chains
// in @tally/node's LevelDB store, in a temp directory).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createAgent, createMemoryStore, identityFromSeed, type BlockStore, type HalfBlock, type SeedIdentity } from '@tally/core'
import {
  DEFAULT_GATEWAY_TIERS,
  approveLink,
  approveRegistration,
  approvedLink,
  approvedRegistration,
  auditSupply,
  certify,
  closeEpoch,
  createCommunity,
  createConfig,
  createDirectory,
  createEconomyTypes,
  createEvidenceStore,
  createKarmaLedger,
  createMonitor,
  createTokenAuthorizer,
  createWallet,
  issueAccountToken,
  requestLink,
  requestRegistration,
  signCertificate,
  signConfig,
  signReport,
  signedConfig,
  verifyCertificateIn,
  type Directory,
  type EpochCertificate,
  type EpochResult,
  type KarmaLedger,
  type Monitor,
  type ReportRejection,
  type Wallet,
  type WitnessSignature,
} from '@tally/economy'
import { createVerifyPool, defaultCrypto, openLevelStore } from '@tally/node'
import { createProgress } from './progress.ts'
import { accountName, hourOf, ownership, profiles, random } from './traffic.ts'

const GATEWAYS = knob('TALLY_TTN_GATEWAYS', 2000)
const EPOCHS = knob('TALLY_TTN_EPOCHS', 24)
const SEED = knob('TALLY_TTN_SEED', 7)
const STORE = process.env['TALLY_TTN_STORE'] === 'level' ? 'level' : 'memory'
const HOUR = 3_600_000

const started = performance.now()
const crypto = defaultCrypto()
const rng = random(SEED)
const newKey = (): SeedIdentity => identityFromSeed(Uint8Array.from({ length: 32 }, () => Math.floor(rng() * 256)), crypto)

// ## The community

const witnessIds = [newKey(), newKey(), newKey()]
const config = createConfig({
  name: 'ttn-community',
  token: { name: 'Wavelet', unit: 'WVL', decimals: 3 },
  start: Date.UTC(2025, 2, 3), // Monday 3 March 2025, 00:00 UTC: epoch e is hour e of the day
  epochLength: HOUR,
  rewardPerEpoch: 1_000_000, // 1,000.000 WVL an hour
  window: 24, // karma: the moving average of a gateway's last 24 hourly scores
  components: { gateway: { metrics: ['airtime', 'messages'], scorer: 'airtime-tiers', params: { tiers: DEFAULT_GATEWAY_TIERS.map((t) => [...t]) } } },
  witnesses: witnessIds.map((w) => w.publicKey),
  quorum: 2,
})
// genesis: signed by two of its three witnesses (k = 2)
const community = createCommunity(signedConfig(config, witnessIds.slice(0, 2).map((w) => signConfig(config, w, config, crypto))), { crypto })
let now = config.start // the simulated clock: block timestamps and token expiry follow the day, not the wall

// Each witness keeps its own directory, monitor and karma windows; their report signatures are
// checked on one pool of worker threads, every core.
interface Witness {
  readonly name: string
  readonly id: SeedIdentity
  readonly directory: Directory
  readonly monitor: Monitor
  readonly karma: KarmaLedger
}
const pool = createVerifyPool()
const witnesses: Witness[] = ['A', 'B', 'C'].map((name, i) => {
  const directory = createDirectory(community, { crypto })
  const monitor = createMonitor({ directory, epoch: 0, crypto, verify: pool.verifySignatures })
  return { name, id: witnessIds[i]!, directory, monitor, karma: createKarmaLedger({ window: config.window }) }
})

// ## Owners and their gateways

interface Owner {
  readonly index: number
  readonly id: SeedIdentity
  readonly account: string
  readonly gateways: number
  /** Most claim every hour; some every few hours (catching up in order); a few not at all today. */
  readonly policy: 'prompt' | 'batch' | 'dormant'
  readonly phase: number
  readonly store: BlockStore
  readonly wallet: Wallet
  lastClaimed: number
}

const ownerCount = Math.min(GATEWAYS, Math.max(3, Math.round(GATEWAYS / 12)))
const counts = ownership(GATEWAYS, ownerCount, rng)
const evidence = createEvidenceStore(community) // certificates and proofs, as gossip would carry them beside the blocks
const types = createEconomyTypes({ community, evidence })
const levelDir = STORE === 'level' ? await mkdtemp(join(tmpdir(), 'tally-ttn-')) : undefined
const ownerList: Owner[] = []
for (const [index, gatewayCount] of counts.entries()) {
  const id = newKey()
  const account = accountName(index, rng)
  const r = rng()
  const store = levelDir === undefined ? createMemoryStore({ crypto }) : await openLevelStore({ path: join(levelDir, String(index)), crypto })
  const wallet = createWallet({ agent: createAgent({ head: 'local', identity: id, store, types, clock: () => now }), community, evidence })
  const policy = index === 0 || r < 0.75 ? 'prompt' : r < 0.95 ? 'batch' : 'dormant'
  ownerList.push({ index, id, account, gateways: gatewayCount, policy, phase: Math.floor(rng() * 6), store, wallet, lastClaimed: -1 })
}
const gateways = profiles(counts, rng).map((profile) => ({ profile, id: newKey() }))
const pirate = newKey() // a gateway nobody registered: its reports must be refused

console.log(`Tally — a day of The Things Network on personal ledgers\n`)
console.log(`  ${GATEWAYS.toLocaleString('en-US')} gateways of ${ownerCount} owners (the largest runs ${counts[0]}, ${counts.filter((c) => c === 1).length} run one)`)
console.log(`  ${EPOCHS} hourly epochs of ${units(config.rewardPerEpoch)} ${config.token.unit}; karma = 24-hour moving average of the paper's airtime tiers`)
console.log(`  witnesses A, B, C, each with its own monitor; any ${config.quorum} of them certify an epoch\n`)

const setup = createProgress({ label: 'gateways registered', total: GATEWAYS })
gateways.forEach((gw, g) => {
  const owner = ownerList[gw.profile.owner]!
  // the owner and the gateway sign the request; two witnesses check both signatures and approve
  const request = requestRegistration(owner.id, gw.id, community.id, 'gateway', crypto)
  const approvers = witnesses.filter((_, i) => i !== g % 3)
  const signed = approvedRegistration(request, approvers.map((w) => signatureOf(approveRegistration(request, w.id, config, community.id, crypto))))
  // every witness applies the statement to its own directory (checking it again)
  for (const w of witnesses) expectOk(w.directory.register(signed), `register gateway ${g}`)
  if ((g + 1) % 250 === 0 || g + 1 === GATEWAYS) setup.update(g + 1, `${owner.account} ← gateway ${g + 1}`)
})
setup.end()

// ## Linked accounts (FR3): each owner proves to two witnesses which TTN account it is

const idp = newKey() // the TTN account server: signs "the holder of this agent key is account X"
const authorizer = createTokenAuthorizer({ issuer: idp.publicKey, crypto, now: () => now })
for (const owner of ownerList) {
  const token = issueAccountToken(idp, { account: owner.account, agent: owner.id.publicKey, expires: config.start + 30 * 24 * HOUR })
  const request = requestLink(owner.id, community.id, owner.account, token, crypto)
  const approvals = await Promise.all(witnesses.slice(0, 2).map(async (w) => signatureOf(await approveLink(request, { authorizer, witness: w.id, config, community: community.id, crypto }))))
  const signed = approvedLink(request, approvals)
  for (const w of witnesses) expectOk(w.directory.link(signed), `link ${owner.account}`)
}

// ## The day

interface Epoch {
  readonly certificate: EpochCertificate
  readonly result: EpochResult
}
const epochs: Epoch[] = []
const created: HalfBlock[] = [] // every block, in the order it was made: what the auditor will see
const refused: Record<ReportRejection, number> = { malformed: 0, late: 0, early: 0, unregistered: 0, revoked: 0, duplicate: 0, signature: 0 }
const signers = new Map<string, number>()
const airtime = new Float64Array(GATEWAYS)
const hourly: number[] = [] // the network's airtime in each hour, ms
let accepted = 0
let sameRoots = true
let exactAllocation = true
let claimed = 0
let claims = 0
let burned = 0
let burns = 0
let transfers = 0
let moved = 0
let previousReports: Uint8Array[] = []

const day = createProgress({ label: 'epochs', total: EPOCHS })
for (let e = 0; e < EPOCHS; e++) {
  now = config.start + e * HOUR
  const hour = new Date(now).getUTCHours()

  // 1. gateways sign their reports; half-hourly ones send two, in order
  const firsts: Uint8Array[] = []
  const seconds: Uint8Array[] = []
  hourly.push(0)
  gateways.forEach((gw, g) => {
    hourOf(gw.profile, hour, rng).forEach(([air, messages], seq) => {
      airtime[g]! += air
      hourly[e]! += air
      ;(seq === 0 ? firsts : seconds).push(signReport({ component: gw.id.publicKey, epoch: e, seq, metrics: [air, messages] }, gw.id, community.id))
    })
  })
  // what else arrives: a replay, a report for the closed hour, a pirate, a tampered relay
  const replay = firsts[Math.floor(rng() * firsts.length)]
  const tampered = Uint8Array.from(firsts[Math.floor(rng() * firsts.length)] ?? [])
  if (tampered.length > 0) tampered[tampered.length - 1]! ^= 1
  const junk = [
    ...(replay === undefined ? [] : [replay]),
    ...previousReports.slice(0, 1),
    signReport({ component: pirate.publicKey, epoch: e, seq: 0, metrics: [900_000, 9_000] }, pirate, community.id),
    ...(tampered.length > 0 ? [tampered] : []),
  ]
  const arrivals = [...shuffle(firsts), ...shuffle(seconds), ...junk]
  previousReports = firsts

  // 2. every witness ingests them (signatures on the pool's workers) and closes the epoch itself
  const verdicts = await Promise.all(witnesses.map((w) => w.monitor.ingest(arrivals)))
  for (const v of verdicts[0]!) {
    if (v.ok) accepted++
    else refused[v.code]++
  }
  const results = witnesses.map((w) => closeEpoch({ directory: w.directory, karma: w.karma, metrics: w.monitor.close() }))
  sameRoots &&= results.every((r) => equal(r.body.root, results[0]!.body.root))
  // exactly the fixed reward, or nothing in an hour in which nobody had karma
  exactAllocation &&= results.every((r) => r.table.amounts.reduce((a, b) => a + b, 0) === r.body.total && (r.body.total === config.rewardPerEpoch || r.body.leaves === 0))

  // 3. the witnesses that answer in time sign; any two make the certificate
  const down = rng() < 0.3 ? Math.floor(rng() * 3) : -1
  const signatures = witnesses.flatMap((w, i) => (i === down ? [] : [signCertificate(results[i]!.body, w.id, results[i]!.config, crypto)]))
  const certificate = certify(results[0]!.body, signatures, config, crypto)
  const by = certificate.signatures.map((s) => witnesses[s.index]!.name).join('+')
  signers.set(by, (signers.get(by) ?? 0) + 1)
  epochs.push({ certificate, result: results[0]! })

  // 4. owners claim: prompt ones now, batch ones every six hours (all they missed, in order)
  now += 5 * 60_000
  const claimsBefore = claims
  const transfersBefore = transfers
  await Promise.all(
    ownerList.map(async (owner) => {
      const due = owner.policy === 'prompt' || (owner.policy === 'batch' && ((e + owner.phase) % 6 === 5 || e === EPOCHS - 1))
      if (!due) return
      for (let c = owner.lastClaimed + 1; c <= e; c++) {
        const { result, certificate: cert } = epochs[c]!
        const amount = result.amountOf(owner.id.publicKey)
        if (amount === 0) continue
        created.push(await owner.wallet.claim({ amount, certificate: cert, proof: result.proofFor(owner.id.publicKey)! }))
        owner.lastClaimed = c
        claimed += amount
        claims++
      }
    }),
  )

  // 5. and trade: a few pay each other (coverage, a shared antenna), one now and then buys data credits (burn)
  now += 5 * 60_000
  const payments = Math.max(1, Math.round(ownerList.length * 0.03))
  for (let t = 0; t < payments; t++) {
    const from = ownerList[Math.floor(rng() * ownerList.length)]!
    const to = ownerList[Math.floor(rng() * ownerList.length)]!
    const balance = await from.wallet.balance()
    if (from === to || balance < 10) continue
    const amount = Math.max(1, Math.floor(balance * (0.02 + 0.2 * rng())))
    const proposal = await from.wallet.send(to.id.publicKey, amount)
    // the receiver takes in the sender's chain, checks its balances add up, and countersigns
    const agreement = await to.wallet.accept(proposal, await from.store.range(from.id.publicKey))
    await from.wallet.complete(agreement)
    created.push(proposal, agreement)
    transfers++
    moved += amount
  }
  if (rng() < 0.4) {
    const owner = ownerList[Math.floor(rng() * ownerList.length)]!
    const balance = await owner.wallet.balance()
    if (balance >= 20) {
      const amount = Math.floor(balance * (0.05 + 0.1 * rng()))
      created.push(await owner.wallet.burn(amount))
      burned += amount
      burns++
    }
  }

  const ok = verdicts[0]!.filter((v) => v.ok).length
  day.update(e + 1, `${clock(hour)}  ${(hourly[e]! / HOUR).toFixed(1)} h airtime  ${ok.toLocaleString('en-US')} reports (${arrivals.length - ok} refused)  certified ${by}  ${plural(claims - claimsBefore, 'claim')}  ${plural(transfers - transfersBefore, 'transfer')}`)
}
day.end()
await pool.close()

// ## What it came to

const last = epochs.at(-1)!.result
const balances = await Promise.all(ownerList.map((o) => o.wallet.balance()))
const rows = ownerList
  .map((o, i) => ({ o, karma: last.karmaOf(o.id.publicKey) / config.window, tokens: balances[i]! }))
  .sort((a, b) => b.karma - a.karma || b.tokens - a.tokens)

console.log(`\nTop contributors after ${EPOCHS} hours (karma: Σ over the owner's gateways of their 24-hour average score)\n`)
const table = [
  ['#', 'owner (linked account)', 'gateways', 'karma', `tokens (${config.token.unit})`],
  ...rows.slice(0, 10).map((r, i) => [String(i + 1), r.o.account, String(r.o.gateways), r.karma.toFixed(1), units(r.tokens)]),
]
printTable(table, [false, false, true, true, true])
const more = rows.length > 10 ? `… and ${plural(rows.length - 10, 'more owner')}; ` : ''
console.log(`  ${more}${plural(rows.filter((r) => r.karma === 0).length, 'owner')} with no karma (silent gateways)`)

const perHour = Array.from(airtime, (a) => a / EPOCHS / 1000).sort((a, b) => a - b)
const quiet = perHour.filter((a) => a === 0).length
console.log(`\nTraffic: median gateway ${perHour[perHour.length >> 1]!.toFixed(1)} s of airtime an hour, busiest 1% above ${perHour[Math.floor(perHour.length * 0.99)]!.toFixed(0)} s, ${quiet} silent all day`)
console.log(`  network airtime, hour by hour from ${clock(new Date(config.start).getUTCHours())}: ${sparkline(hourly)} (${(Math.min(...hourly) / HOUR).toFixed(1)} to ${(Math.max(...hourly) / HOUR).toFixed(1)} h of airtime an hour, all gateways together)`)
console.log(`Reports: ${accepted.toLocaleString('en-US')} accepted by each witness; refused: ${Object.entries(refused).filter(([, n]) => n > 0).map(([code, n]) => `${n} ${code}`).join(', ')}`)
console.log(`Certificates: ${epochs.length} (${[...signers].map(([s, n]) => `${s} ${n}`).join(', ')}); the three witnesses computed the same root every hour: ${yes(sameRoots)}`)
console.log(`Owners: ${plural(claims, 'reward claim')}, ${plural(transfers, 'transfer')} (${units(moved)} ${config.token.unit}), ${plural(burns, 'burn')}`)

// an auditor that saw nothing but the blocks: validates every one, then audits supply
const auditor = createAgent({ head: 'local', identity: newKey(), store: createMemoryStore({ crypto }), types })
let invalid = 0
let fraud = 0
for (const block of created) {
  const r = await auditor.receive(block)
  if (r.level === 'invalid') invalid++
  fraud += r.fraud.length
}
const audit = await auditSupply(auditor.store, crypto)
const certified = epochs.every((x) => verifyCertificateIn(x.certificate, community).ok)
const allocated = epochs.reduce((n, x) => n + x.certificate.total, 0)
const sum = balances.reduce((a, b) => a + b, 0)
const chainsOk = invalid === 0 && fraud === 0 && audit.truncated === 0 && audit.chains === new Set(created.map((b) => b.publicKey.join())).size
const supplyOk = sum === claimed - burned && audit.ok && audit.balances === sum && audit.rewards === claimed && audit.burned === burned && audit.inFlight === 0 && audit.unmatched === 0
const allocationOk = certified && exactAllocation && sameRoots

const u = config.token.unit
console.log(`\nSupply check`)
const funded = epochs.filter((x) => x.certificate.total > 0).length
const unfunded = epochs.length - funded === 0 ? '' : ` (${plural(epochs.length - funded, 'hour')} without karma allocated nothing)`
console.log(`  allocated  ${funded} × ${units(config.rewardPerEpoch)} = ${units(allocated)} ${u}: every certificate and every witness's table allocate exactly ${units(config.rewardPerEpoch)}${unfunded} ${yes(allocationOk)}`)
console.log(`  claimed    ${units(claimed)} ${u} in ${plural(claims, 'reward block')} (${units(allocated - claimed)} not claimed yet)`)
console.log(`  burned     ${units(burned)} ${u}`)
console.log(`  balances   ${units(sum)} ${u} = claimed − burned ${yes(sum === claimed - burned)}; the auditor's replay agrees (rewards ${units(audit.rewards)}, burned ${units(audit.burned)}, in flight ${units(audit.inFlight)}) ${yes(supplyOk)}`)
console.log(`  chains     ${audit.chains} chains, ${created.length.toLocaleString('en-US')} blocks validated by the auditor: ${invalid} invalid, ${fraud} fraud proofs ${yes(chainsOk)}`)
const allOk = allocationOk && supplyOk && chainsOk
console.log(`supply check: ${allOk ? 'OK' : 'FAILED'}`)
console.log(`\n${EPOCHS} hours simulated in ${((performance.now() - started) / 1000).toFixed(1)} s (${STORE} stores, ${crypto.name}, ${pool.size} verify workers)`)
if (!allOk) process.exitCode = 1

for (const owner of ownerList) await owner.store.close()
if (levelDir !== undefined) await rm(levelDir, { recursive: true, force: true })

// ## Helpers

function signatureOf(approval: { ok: boolean; reason?: string; signature?: WitnessSignature }): WitnessSignature {
  if (!approval.ok || approval.signature === undefined) throw new Error(`a witness declined: ${approval.reason}`)
  return approval.signature
}

function expectOk(outcome: { ok: boolean; reason?: string }, what: string): void {
  if (!outcome.ok) throw new Error(`${what}: ${outcome.reason}`)
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    ;[xs[i], xs[j]] = [xs[j]!, xs[i]!]
  }
  return xs
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** Base units as tokens: 1234567 → "1,234.567". */
function units(n: number): string {
  const sign = n < 0 ? '-' : ''
  const abs = Math.abs(n)
  return `${sign}${Math.floor(abs / 1000).toLocaleString('en-US')}.${String(abs % 1000).padStart(3, '0')}`
}

function clock(hour: number): string {
  return `${String(hour).padStart(2, '0')}:00`
}

function plural(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`
}

function sparkline(values: readonly number[]): string {
  const bars = '▁▂▃▄▅▆▇█'
  const max = Math.max(...values, 1)
  return values.map((v) => bars[Math.min(7, Math.floor((v / max) * 8))]).join('')
}

function yes(ok: boolean): string {
  return ok ? '✓' : '✗'
}

function printTable(rows: string[][], right: boolean[]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  for (const r of rows) console.log('  ' + r.map((cell, c) => (right[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd())
}

function knob(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`"${name}" expected a positive integer, got ${raw}`)
  return value
}
