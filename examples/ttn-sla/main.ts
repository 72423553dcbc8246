// TTN SLA marketplace (FR5) on the networked economy, then a token trade (XChange).
//
// Part 1: 20 gateway owners offer uptime SLAs on their gateways (uptime ≥ 99.9% of each epoch,
// 2-epoch cycles); 30 application owners search the market and subscribe for 12 epochs; some
// gateways fail some epochs. Three community witnesses certify every epoch's rewards and, beside
// them from the same reports, every active offer's outcome; subscriptions settle cycle by cycle
// on those certificates: a passed cycle pays the seller one instalment, a failed one pays the
// buyer the seller's penalty and stops. One witness is down for one close: the other two certify.
// Part 2: a trader swaps WVL for a second community's token (BWT) with k = 10 alternating
// instalments; then a trader walks away mid-trade, and the other loses at most one instalment.
// Each trader has one chain that holds both tokens: every economy block names its community
// (payload version 2), balances and supply audits are per community.
//
//   node --import tsx examples/ttn-sla/main.ts            (TALLY_SLA_SEED=<n> for another run)
//
// What crosses a socket: registrations, reports, certification (reward and outcome notes),
// offers, claims, outcome evidence, trade orders and takes — between gossip nodes on ws over
// 127.0.0.1, and the trades' instalments, each delivered through the payer's node's transaction
// path (node.transactions) and countersigned by the other node's agent. The subscriptions' lock
// transactions are still between in-process wallets (market's subscribeThrough puts them on a
// node's transaction path; the members here have no node of their own).
import { createAgent, createBlockTypes, createMemoryStore, identityFromSeed, type BlockTypes, type HalfBlock, type SeedIdentity } from '@tally/core'
import { defaultCrypto } from '@tally/node'
import {
  auditSupply,
  createCommunity,
  createConfig,
  createEvidenceStore,
  createVoucherBook,
  createWallet,
  economyTypes,
  requestRegistration,
  signConfig,
  signedConfig,
  voucherAuthority,
  type Community,
  type Wallet,
} from '@tally/economy'
import { createMemoryOutbox, createRegistrar, createReporter, epochsProtocol, fetchClaim } from '@tally/economy/net'
import {
  createMarketView,
  createOfferSpread,
  createOutcomeStore,
  createReputation,
  cycleVerdict,
  fetchOutcome,
  offerPayload,
  offerTypes,
  offerView,
  outcomesProtocol,
  redeemInstalment,
  redeemPenalty,
  slaAuthority,
  slaCertified,
  slaPolicy,
  subscribe,
  SLA_SETTLE_EPOCHS,
  type OfferView,
} from '@tally/economy/market'
import { createRandom } from '@tally/gossip'
import { sharedHost, startNode, startWitnesses } from './network.ts'
import { bandwidthCommunity, runTrades } from './trades.ts'

const started = performance.now()
const SEED = Number(process.env['TALLY_SLA_SEED'] ?? 7)
const SELLERS = 20
const BUYERS = 30
const EPOCHS = 12 // each buyer subscribes for 12 epochs: 6 cycles of 2
const CYCLE = 2
const HOUR = 3_600_000
const T0 = Date.UTC(2026, 0, 1)
const rng = createRandom(SEED)
// the native provider (libsodium / node:crypto): Ed25519 in pure JS would be most of the run
const crypto = defaultCrypto()
const id = (label: string): SeedIdentity => identityFromSeed(crypto.sha256(new TextEncoder().encode(`ttn-sla/${SEED}/${label}`)), crypto)
const wvl = (units: number): string => (units / 1000).toLocaleString('en-US', { minimumFractionDigits: 3 })

// ## The community and its network

const witnessKeys = [id('witness-A'), id('witness-B'), id('witness-C')]
const config = createConfig({
  name: 'ttn',
  token: { name: 'Wavelet', unit: 'WVL', decimals: 3 },
  start: T0,
  epochLength: HOUR,
  rewardPerEpoch: 1_000_000,
  window: 1,
  components: {
    gateway: { metrics: ['airtime', 'uptime'], scorer: 'airtime-tiers', params: { tiers: [[1_000, 1], [60_000, 4]] } },
    'app-server': { metrics: ['uptime'], scorer: 'uptime', params: { maxScore: 4, minPermille: 500 } },
  },
  witnesses: witnessKeys.map((w) => w.publicKey),
  quorum: 2,
})
const community: Community = createCommunity(signedConfig(config, witnessKeys.slice(0, 2).map((w) => signConfig(config, w))), { crypto })
const witnesses = await startWitnesses(witnessKeys, community)
const gatewayHost = await startNode(id('gateway-host'))
const hub = await startNode(id('market-hub'))
for (const n of [gatewayHost, hub]) for (const w of witnesses) n.addAddress(w.node.publicKey, w.node.address!)
const hubView = createMarketView({ community, reputation: createReputation(community) })
const reputation = createReputation(community)
const market = createMarketView({ community, reputation })
const hubSpread = createOfferSpread({ host: hub, view: hubView, peers: () => community.current.witnesses })
const outcomeHandle = hub.host(outcomesProtocol())
const epochsHandle = hub.host(epochsProtocol())
const outcomes = createOutcomeStore(community)
const evidence = createEvidenceStore(community)
const sla = slaAuthority({ community, outcomes })
const lockOptions = { authorities: [voucherAuthority(), sla], certified: slaCertified({ community, outcomes }) }
// the second community of part 2 (BWT), known to every node from the start: its claims are checked like WVL's
const bw = bandwidthCommunity(id)
const also = [{ community: bw.community, evidence: bw.evidence }]
let now = T0 + 10
const at = (epoch: number): void => void (now = T0 + epoch * HOUR + 10)

// ## Owners, components, wallets

interface Member { name: string; key: SeedIdentity; wallet: Wallet; types: BlockTypes; view: ReturnType<typeof createMarketView>; component: SeedIdentity }
const member = (name: string): Member => {
  const key = id(name)
  const view = createMarketView({ community, reputation })
  // every chain may come to hold BWT too (part 2): its blocks name their community (payload version 2)
  const types = createBlockTypes([...economyTypes({ community, evidence, also, lock: { ...lockOptions, vouchers: createVoucherBook(), ...slaPolicy({ community, seller: key.publicKey, view, now: () => now }) } }), ...offerTypes(community)])
  const agent = createAgent({ head: 'local', identity: key, store: createMemoryStore(), types, clock: () => now })
  return { name, key, view, types, component: id(`${name}/component`), wallet: createWallet({ agent, community, evidence, key, authorities: lockOptions.authorities }) }
}
const sellers = Array.from({ length: SELLERS }, (_, i) => member(`gw-owner-${String(i + 1).padStart(2, '0')}`))
const buyers = Array.from({ length: BUYERS }, (_, i) => member(`app-owner-${String(i + 1).padStart(2, '0')}`))
const everyone = [...sellers, ...buyers]

// registrations: owner and component sign, k witnesses approve, every witness applies (over ws)
const registrar = createRegistrar({ host: hub, community })
await Promise.all(everyone.map((m, i) => {
  const request = requestRegistration(m.key, m.component, community.id, i < SELLERS ? 'gateway' : 'app-server')
  return registrar.register(request)
}))
const reportHost = sharedHost(gatewayHost)
const reporters = everyone.map((m) => createReporter({ key: m.component, community, host: reportHost, outbox: createMemoryOutbox() }))
// each gateway's reliability: most are solid, a few flaky, two poor
const reliability = sellers.map((_, i) => (i % 7 === 3 ? 0.6 : i % 5 === 1 ? 0.85 : 0.985))
const report = async (epoch: number): Promise<number> => {
  let down = 0
  await Promise.all(everyone.map(async (m, i) => {
    const gateway = i < SELLERS
    const up = !gateway || rng() < reliability[i]!
    if (!up) down++
    // uptime in seconds of the hour: a gateway that fails the epoch was down 2-30 minutes
    const uptime = up ? 3_600 - Math.floor(rng() * 3) : 3_600 - 120 - Math.floor(rng() * 1_680)
    await reporters[i]!.report({ epoch, metrics: gateway ? [20_000 + Math.floor(rng() * 60_000), uptime] : [uptime] })
  }))
  await Promise.all(reporters.map((r) => r.flush()))
  return down
}
/** Close the open epoch at `which` witnesses; the names of those that closed and hold both certificates. */
const closeEpoch = async (which = witnesses): Promise<string> => {
  for (const w of which) await w.witness.close()
  await new Promise((r) => setTimeout(r, 20)) // let the announcements land
  const e = which[0]!.witness.epoch - 1
  return which.filter((w) => w.outcomes.certificate(e) !== undefined && w.witness.certificate(e) !== undefined).map((w) => w.name).join('+')
}

// ## Epoch 0: everyone earns; the sellers list their offers

at(0)
await report(0)
await closeEpoch()
const claims = new Map<Member, HalfBlock>()
for (const m of everyone) {
  const claim = await fetchClaim(epochsHandle, community.current.witnesses, 0, m.key.publicKey)
  claims.set(m, await m.wallet.claim(claim))
}
const offers: OfferView[] = []
for (const s of sellers) {
  const price = 1_000 + 100 * Math.floor(rng() * 16) // 1.0-2.5 WVL a cycle
  const block = await s.wallet.agent.append('offer', offerPayload({
    type: 'gateway', components: [s.component.publicKey], criteria: [{ metric: 'uptime', op: 'ge', value: 3_597 }],
    price, cycle: CYCLE, penalty: Math.round(price * 0.6), notice: 2, from: 1, until: 1 + EPOCHS + 4,
  }))
  s.view.add(block)
  hubSpread.publish(block) // to the witnesses, by gossip
  market.add(block)
  offers.push(offerView(block)!)
}
await new Promise((r) => setTimeout(r, 50))
console.log(`TTN SLA market: ${SELLERS} gateway owners, ${BUYERS} application owners, 3 witnesses (quorum 2) on ws over 127.0.0.1`)
console.log(`  epoch 0: every owner claimed its reward (${wvl(everyone.reduce((n, m) => n + ((claims.get(m)!.payload as { amount: number }).amount), 0))} WVL in all); ${offers.length} offers listed, seen by witnesses ${witnesses.map((w) => `${w.name}:${w.view.size}`).join(' ')}`)
const cheapest = market.search({ epoch: 1, type: 'gateway', limit: 3 })
console.log(`  cheapest offers: ${cheapest.map((l) => `${wvl(l.offer.price)} WVL/cycle (penalty ${wvl(l.offer.penalty)})`).join(', ')}`)

// ## Subscriptions, settled cycle by cycle

interface Cycle { start: number; escrow: HalfBlock; penalty: HalfBlock; verdict?: 'passed' | 'failed'; released: boolean }
interface Sub { buyer: Member; seller: Member; offer: OfferView; cycles: Cycle[]; stopped: boolean }
const subs: Sub[] = buyers.map((b, i) => {
  // a buyer picks among the four cheapest offers, by its own choice
  const pick = market.search({ epoch: 1, type: 'gateway', limit: 4 })[i % 4]!.offer
  return { buyer: b, seller: sellers.find((s) => s.key.publicKey.every((x, j) => x === pick.seller[j]))!, offer: pick, cycles: [], stopped: false }
})
// the buyers spread over the market: every buyer past the fourth subscribes to a random offer
for (const [i, sub] of subs.entries()) if (i >= 4) { const o = offers[Math.floor(rng() * offers.length)]!; sub.offer = o; sub.seller = sellers[offers.indexOf(o)]! }
for (const sub of subs) await sub.buyer.wallet.agent.receive(sub.offer.block)
const stats = { instalments: 0, paid: 0, penalties: 0, penaltyUnits: 0, passed: 0, failed: 0 }
const renew = async (sub: Sub, epoch: number): Promise<void> => {
  const last = sub.cycles.at(-1)
  if (sub.stopped || (last !== undefined && last.verdict === undefined) || epoch + CYCLE > 1 + EPOCHS) return
  const escrow = await subscribe(sub.buyer.wallet, sub.offer, epoch)
  const penalty = await sub.seller.wallet.accept(escrow, await sub.buyer.wallet.agent.store.range(sub.buyer.key.publicKey))
  await sub.buyer.wallet.complete(penalty)
  sub.cycles.push({ start: epoch, escrow, penalty, released: false })
}
const settle = async (sub: Sub, closed: number): Promise<void> => {
  const c = sub.cycles.at(-1)
  if (c === undefined || c.verdict !== undefined || closed < c.start) return
  for (let e = c.start; e <= Math.min(closed, c.start + CYCLE - 1); e++) {
    await fetchOutcome(outcomeHandle, community.current.witnesses, outcomes, sub.offer.id, e) // over ws, checked (held already: the hub fetched it)
  }
  const v = cycleVerdict(sub.offer, c.start, outcomes)
  if (v.state === 'passed') {
    await redeemInstalment(sub.seller.wallet, c.escrow)
    c.verdict = 'passed'
    stats.instalments++, stats.paid += sub.offer.price, stats.passed++
  } else if (v.state === 'failed') {
    await redeemPenalty(sub.buyer.wallet, c.penalty, v.epoch)
    c.verdict = 'failed'
    sub.stopped = true // Fig. 5: a failed cycle cancels the subscription
    stats.penalties++, stats.penaltyUnits += sub.offer.penalty, stats.failed++
  }
}
const releaseDue = async (epoch: number): Promise<void> => {
  for (const sub of subs) for (const c of sub.cycles) {
    if (c.released || c.verdict === undefined || epoch < c.start + CYCLE + SLA_SETTLE_EPOCHS) continue
    if (c.verdict === 'passed') { if ((c.penalty.payload as { amount: number }).amount > 0) await sub.seller.wallet.release(c.penalty) }
    else await sub.buyer.wallet.release(c.escrow)
    c.released = true
  }
}

const missed = 6 // witness C is down at this epoch's close: A and B certify without it
let late = ''
for (let e = 1; e <= EPOCHS; e++) {
  at(e)
  if (e === missed + 1) {
    // C is back: it catches up (statements, the missed epoch's reports) and closes that epoch late
    const { certificate } = await witnesses[2]!.witness.close()
    late = ` (C closed epoch ${missed} late: ${certificate !== undefined && witnesses[2]!.outcomes.certificate(missed) !== undefined ? 'it holds both certificates' : 'not certified'})`
  }
  await releaseDue(e)
  for (const sub of subs) await renew(sub, e)
  const down = await report(e)
  const certifiedBy = await closeEpoch(e === missed ? witnesses.slice(0, 2) : witnesses)
  // the hub keeps every offer's record: reputation from the certificates, whoever subscribed
  for (const o of offers) reputation.record(o, await fetchOutcome(outcomeHandle, community.current.witnesses, outcomes, o.id, e))
  for (const sub of subs) await settle(sub, e)
  const active = subs.filter((s) => !s.stopped && s.cycles.length > 0).length
  process.stderr.write(`  epoch ${String(e).padStart(2)}/${EPOCHS}  ${down} gateways below 99.9%  certified by ${certifiedBy}${e === missed ? ' (C down)' : late}  subscriptions ${active} active  cycles ${stats.passed} passed ${stats.failed} failed  instalments ${wvl(stats.paid)} WVL  penalties ${wvl(stats.penaltyUnits)} WVL\n`)
  late = ''
}
for (let e = EPOCHS + 1; e <= EPOCHS + 1 + CYCLE + SLA_SETTLE_EPOCHS; e++) { at(e); await releaseDue(e) }

// ## The table, the supply check

console.log('\n  seller          price/cycle  subs  cycles passed  failed  instalments (WVL)  penalties (WVL)  reputation')
for (const [i, s] of sellers.entries()) {
  const mine = subs.filter((x) => x.seller === s)
  const passed = mine.reduce((n, x) => n + x.cycles.filter((c) => c.verdict === 'passed').length, 0)
  const failed = mine.reduce((n, x) => n + x.cycles.filter((c) => c.verdict === 'failed').length, 0)
  const r = reputation.of(s.key.publicKey)
  console.log(`  ${s.name}  ${wvl(offers[i]!.price).padStart(11)}  ${String(mine.length).padStart(4)}  ${String(passed).padStart(13)}  ${String(failed).padStart(6)}  ${wvl(passed * offers[i]!.price).padStart(17)}  ${wvl(failed * offers[i]!.penalty).padStart(15)}  ${r.score.toFixed(2)} (${r.passed}/${r.passed + r.failed} epochs)`)
}
const open = subs.reduce((n, s) => n + s.cycles.filter((c) => !c.released && c.verdict !== undefined).length, 0)
console.log(`  ${offers.length} offers, ${subs.length} subscriptions, ${stats.passed + stats.failed} cycles: ${stats.passed} passed, ${stats.failed} failed; ${stats.instalments} instalments (${wvl(stats.paid)} WVL), ${stats.penalties} penalties (${wvl(stats.penaltyUnits)} WVL); ${open} decided locks not yet released`)

const observer = createAgent({ head: 'local', identity: id('auditor'), store: createMemoryStore(), types: createBlockTypes([...economyTypes({ community, evidence, also, lock: lockOptions }), ...offerTypes(community)]) })
const chains = (await Promise.all(everyone.map((m) => m.wallet.agent.store.range(m.key.publicKey)))).flat()
let invalid = 0
for (const b of chains.filter((x) => x.type === 'lock' || x.type === 'offer')) await observer.receive(b) // what redeems name travels with them
for (const b of chains) if ((await observer.receive(b)).level === 'invalid') invalid++
const supply = await auditSupply(observer.store)
const proofs = (await observer.store.fraudProofs()).length
console.log(`  supply: balances ${wvl(supply.balances)} + locked ${wvl(supply.locked)} = claimed ${wvl(supply.rewards)} − burned ${wvl(supply.burned)} WVL ${supply.ok ? '✓' : '✗'}; ${chains.length} blocks audited, ${invalid} invalid, ${proofs} fraud proofs`)
console.log(`supply check: ${supply.ok && invalid === 0 && proofs === 0 && supply.locked === 0 ? 'OK' : 'FAILED'}`)

// ## Part 2: trades

const traded = await runTrades({ startNode, maker: sellers[0]!, bw, ttn: { community, evidence, lock: lockOptions, chains: async () => (await Promise.all(everyone.map((m) => m.wallet.agent.store.range(m.key.publicKey)))).flat() }, id, wvl })

for (const r of reporters) r.close()
await Promise.all([...witnesses.map((w) => w.node.close()), gatewayHost.close(), hub.close()])
for (const w of witnesses) w.witness.stop()
console.log(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s`)
if (!traded || !(supply.ok && invalid === 0 && proofs === 0)) process.exitCode = 1
