// Bandwidth tokens (seed 002): peers pay for what they download with signed vouchers, hop by hop
// along relay paths; providers publish deferred, aggregated payouts; and every provider refuses a
// peer whose balance (MB up − down) is below −5 GB. One download by hand, then a community of
// 200 peers, 10% of them free riders, over four simulated days (the 1,000-peer run is in
// `node bench/run.mjs channels`).
// Run: node --import tsx examples/bandwidth-tokens/main.ts   (TALLY_BW_PEERS, TALLY_BW_HOURS to change)
import { identityFromSeed } from '@tally/core'
import { balanceHistogram, createBandwidthLedger, createPayoutView, pathPayments, simulateBandwidth, thresholdPolicy } from '@tally/economy/bandwidth'
import { defaultCrypto } from '@tally/node'

const crypto = defaultCrypto()
const gb = (mb: number) => `${(mb / 1000).toFixed(1)} GB`

// ## One download over two relays, by hand
const [dana, relay1, relay2, seeder] = [1, 2, 3, 4].map((n) => identityFromSeed(new Uint8Array(32).fill(n), crypto))
const view = createPayoutView(crypto)
const ledger = new Map([dana!, relay1!, relay2!, seeder!].map((k) => [k, createBandwidthLedger({ key: k, view, policy: thresholdPolicy(-5_000), crypto })]))
const names = new Map([[dana!, 'Dana'], [relay1!, 'relay 1'], [relay2!, 'relay 2'], [seeder!, 'the seeder']])
const path = [dana!, relay1!, relay2!, seeder!]
console.log('Dana downloads 700 MB over two relays; each hop checks only the peer that pays it, and is paid by it:')
for (const pay of pathPayments(path.map((k) => k.publicKey), 700)) {
  const from = path.find((k) => k.publicKey === pay.payer)!
  const to = path.find((k) => k.publicKey === pay.payee)!
  const admitted = ledger.get(to)!.admit(from.publicKey, 700)
  ledger.get(to)!.receive(ledger.get(from)!.pay(to.publicKey, pay.mb))
  console.log(`  ${names.get(from)!.padEnd(8)} → ${names.get(to)!.padEnd(10)} ${String(pay.mb).padStart(5)} MB  (${names.get(to)} admits: balance ${admitted.balance} MB ≥ −5,000 ✓)`)
}
for (const k of path.slice(1)) {
  const payout = ledger.get(k)!.payout(0)!
  view.learn(payout)
}
console.log(`  payouts published (one per provider and period, later): Dana ${view.balance(dana!.publicKey)} MB, relays +${view.balance(relay1!.publicKey)} / +${view.balance(relay2!.publicKey)}, seeder +${view.balance(seeder!.publicKey)}; Σ = ${view.balances().sum}\n`)

// ## A community
const peers = Number(process.env['TALLY_BW_PEERS'] ?? 200)
const hours = Number(process.env['TALLY_BW_HOURS'] ?? 96)
console.log(`${peers} peers (10% free riders who never upload), ${hours} simulated hours, threshold −5 GB, downloads every ~4 h of ~500 MB over 0-3 relays:`)
const r = simulateBandwidth({ peers, hours, freeRiders: 0.1, seed: 2, crypto, onProgress: (p) => p.hour % 24 === 0 && console.log(`  day ${p.hour / 24}: ${p.downloads} downloads, ${p.refused} refused`) })
const hhmm = (s: number) => (Number.isFinite(s) ? `${Math.floor(s / 3600)} h ${String(Math.round((s % 3600) / 60)).padStart(2, '0')} min` : 'not within the run')
console.log(`free riders: ${Math.round(r.freeRidersRefused * 100)}% refused; 95% of them ${Number.isFinite(r.refusedAfterS) ? `by ${hhmm(r.refusedAfterS)}` : 'not within the run'}; median ${hhmm(r.medianRefusalDelayS)} after their first download, at a balance of ${gb(r.medianFreeRiderBalanceAtRefusal)} (Tribler's trial: −181 GB)`)
console.log(`           served ${r.freeRiderServed} of ${r.freeRiderAsked} downloads they asked for`)
console.log(`honest peers: served ${r.honestServed} of ${r.honestAsked} downloads (${(r.honestServiceRatio * 100).toFixed(1)}%); refused: ${r.honestRefusedOwn} because their own balance was below −5 GB, ${r.honestRefusedRelay} because a relay's was`)
console.log(`median balance of all users ${gb(r.medianBalance)} (Tribler's trial: −0.7 GB), of honest users ${gb(r.medianHonestBalance)}`)
console.log('balances at the end:')
for (const line of balanceHistogram(r.balances, { width: 30 })) console.log(`  ${line}`)
console.log(`conservation: Σ balances = ${r.sum} MB, Σ in the published payouts = ${r.viewSum} MB (${r.vouchers} vouchers, ${r.payouts} payouts) ${r.sum === 0 && r.viewSum === 0 ? '✓' : '✗'}`)
if (r.sum !== 0 || r.viewSum !== 0) process.exitCode = 1
