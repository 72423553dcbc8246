// Pay-as-you-use coffee machines (seed 004): a company wallet opens a one-way payment channel to
// each of three machines; 40 employees pay per cup with the company app on their phones, over an
// in-process "NFC" link that carries bytes only; the lobby machine is offline for the morning and
// keeps serving (it accepts receipts off line) and redeems when it is back; the company recharges
// the busy machine's channel with a second lock; at the end, a ledger per machine and the supply
// check of an auditor who replays every chain.
// Run: node --import tsx examples/coffee-machines/main.ts   (TALLY_COFFEE_SEED=<n> for another day)
import { RefusedError, decodeCanonical, encodeCanonical, type HalfBlock } from '@tally/core'
import { auditSupply, type Wallet } from '@tally/economy'
import { createChannelBook, createPayee, createPayer, type Payee } from '@tally/economy/channels'
import { defaultCrypto } from '@tally/node'
import { DAY, HOUR, office } from './office.ts'

const crypto = defaultCrypto()
const o = await office(crypto, 100_000) // the company's gateway earned 1,000.00 BEAN in epoch 0
const clock = () => o.clock.now
const bean = (units: number) => (units / 100).toFixed(2)
const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16)
const log = (line: string) => console.log(`${hhmm(o.clock.now)}  ${line}`)
let seed = Number(process.env['TALLY_COFFEE_SEED'] ?? 7) >>> 0
const random = () => ((seed = (seed + 0x6d2b79f5) >>> 0), (((seed ^ (seed >>> 15)) * (seed | 1)) >>> 0) / 2 ** 32)

// ## The NFC link: bytes only, one frame of at most 255 bytes each way
const nfc = { frames: 0, bytes: 0, largest: 0 }
function tap(bytes: Uint8Array): Uint8Array {
  if (bytes.length > 255) throw new RangeError(`an NFC frame carries at most 255 bytes, got ${bytes.length}`)
  nfc.frames++
  nfc.bytes += bytes.length
  nfc.largest = Math.max(nfc.largest, bytes.length)
  return Uint8Array.from(bytes) // what arrives is a copy: nothing but bytes crosses
}

// ## The company and its machines
const payer = createPayer({ wallet: o.company, key: o.companyKey, book: o.companyBook, community: o.community, clock })
interface Machine { name: string; wallet: Wallet; payee: Payee; channel: Uint8Array; online: boolean; cups: number; refused: number; redeems: number; offlineReceipts: number; admitted: number }
const EXPIRY = 19 // the channels expire at 19:00 (epoch 19 of the day)
const DEPOSIT = [6_000, 4_000, 5_000]
const machines: Machine[] = []
for (const [i, name] of ['Espresso bar (2F)', 'Kitchen (3F)', 'Lobby (1F)'].entries()) {
  const book = createChannelBook() // a real machine: openLevelRecords({ path }) from @tally/node
  const wallet = o.party(20 + i, book)
  const payee = createPayee({ wallet, book, community: o.community, clock })
  const { channel, lock } = await payer.open({ to: wallet.agent.publicKey, deposit: DEPOSIT[i]!, expiry: EXPIRY })
  await payee.admit(lock, await o.company.agent.store.range(o.companyKey.publicKey))
  machines.push({ name, wallet, payee, channel, online: true, cups: 0, refused: 0, redeems: 0, offlineReceipts: 0, admitted: 1 })
}
console.log(`Coffee machines on ${new Date(DAY).toDateString()}: the company (${bean(await o.company.balance())} BEAN left) opened a channel to each machine:`)
for (const [i, m] of machines.entries()) console.log(`  ${m.name.padEnd(18)} deposit ${bean(DEPOSIT[i]!).padStart(6)} BEAN until ${EXPIRY}:00, channel ${Buffer.from(m.channel).toString('hex').slice(0, 12)}…`)

// ## The day: 40 employees, 2-4 cups each, a machine of their liking
const DRINKS = [['espresso', 220], ['cappuccino', 290], ['tea', 150]] as const
const cups: { t: number; who: number; machine: number; drink: number }[] = []
for (let who = 1; who <= 40; who++) {
  for (let k = 2 + Math.floor(random() * 3); k > 0; k--) {
    const r = random()
    cups.push({ t: DAY + 8.5 * HOUR + Math.floor(random() * 9 * 60) * 60_000, who, machine: r < 0.5 ? 0 : r < 0.75 ? 1 : 2, drink: Math.floor(random() * 3) })
  }
}
cups.sort((a, b) => a.t - b.t)
const lobby = machines[2]!
const OFFLINE = [DAY + 8.5 * HOUR, DAY + 12.5 * HOUR]

async function redeem(m: Machine, why: string): Promise<void> {
  const before = await m.wallet.balance()
  const blocks: HalfBlock[] = await m.payee.redeem(m.channel)
  if (blocks.length === 0) return
  m.redeems += blocks.length
  log(`${m.name} redeems ${bean((await m.wallet.balance()) - before)} BEAN (${why}; ${blocks.length} redeem block${blocks.length > 1 ? 's' : ''})`)
}

async function rechargeIfLow(m: Machine): Promise<void> {
  const s = await payer.state(m.channel)
  if (s.deposit - s.paid >= 1_000 || !m.online) return
  const lock = await payer.recharge(m.channel, 4_000, EXPIRY)
  await m.payee.admit(lock, await o.company.agent.store.range(o.companyKey.publicKey))
  m.admitted++
  log(`the company recharges ${m.name}: a second lock of 40.00 BEAN (${bean(s.deposit - s.paid)} BEAN were left; the channel id stays)`)
}

let wentOffline = false
let cameBack = false
let printed = 0
for (const cup of cups) {
  o.clock.now = cup.t
  if (!wentOffline && cup.t >= OFFLINE[0]!) {
    wentOffline = true
    lobby.online = false
    log(`${lobby.name} loses its network: it keeps serving and accepting receipts off line`)
  }
  if (!cameBack && cup.t >= OFFLINE[1]!) {
    cameBack = lobby.online = true
    log(`${lobby.name} is back on line after ${lobby.offlineReceipts} receipts taken off line`)
    await redeem(lobby, 'catching up')
  }
  const m = machines[cup.machine]!
  const [drink, price] = DRINKS[cup.drink]!
  // machine → phone: what to pay; phone → machine: the receipt; machine → phone: the ack
  const request = decodeCanonical(tap(encodeCanonical(['pay', m.channel, price]))) as [string, Uint8Array, number]
  let receipt: Uint8Array
  try {
    receipt = tap(await payer.pay(request[1], request[2])) // the company app signs for the employee
  } catch (err) {
    if (!(err instanceof RangeError)) throw err
    m.refused++
    log(`employee ${cup.who} at ${m.name}: the app declines (${err.message})`)
    continue
  }
  try {
    const ack = decodeCanonical(tap(await m.payee.accept(receipt, { price }))) as [string, number, number]
    m.cups++
    if (!m.online) m.offlineReceipts++
    if (printed++ < 3) log(`employee ${cup.who} taps at ${m.name}: ${drink} ${bean(price)} BEAN, receipt #${ack[1]} (${receipt.length} bytes, total ${bean(ack[2])}) ✓`)
  } catch (err) {
    if (!(err instanceof RefusedError)) throw err
    m.refused++
    log(`employee ${cup.who} at ${m.name}: refused (${err.reason}): ${err.message}`)
  }
  if (m.online) {
    const s = await m.payee.state(m.channel)
    const redeemed = await m.wallet.balance()
    if (s.paid - redeemed >= 2_000) await redeem(m, 'over 20.00 BEAN unredeemed')
  }
  for (const x of machines) await rechargeIfLow(x)
}

// ## Closing time
o.clock.now = DAY + EXPIRY * HOUR + 60_000
log('the channels expire: each machine redeems its last receipts, the company releases what no receipt covers')
for (const m of machines) await redeem(m, 'final')
const releases = (await Promise.all(machines.map((m) => payer.close(m.channel)))).flat()

console.log('\nLedger per machine')
console.log('  machine              cups  refused  locks  deposit  paid    redeemed  redeem blocks  returned to company')
for (const m of machines) {
  const s = await m.payee.state(m.channel)
  const back = releases.filter((r) => s.locks.some((l) => l.seq === (r.payload as { lock: number }).lock)).reduce((a, r) => a + (r.payload as { amount: number }).amount, 0)
  console.log(`  ${m.name.padEnd(19)}  ${String(m.cups).padStart(4)}  ${String(m.refused).padStart(7)}  ${String(s.locks.length).padStart(5)}  ${bean(s.deposit).padStart(7)}  ${bean(s.paid).padStart(6)}  ${bean(await m.wallet.balance()).padStart(8)}  ${String(m.redeems).padStart(13)}  ${bean(back).padStart(19)}`)
}
console.log(`  company wallet: ${bean(await o.company.balance())} BEAN; NFC: ${nfc.frames} frames, ${nfc.bytes} bytes, largest ${nfc.largest} bytes`)

// ## The auditor replays every chain
const auditor = o.party(90)
const chains = [o.company, ...machines.map((m) => m.wallet)]
let invalid = 0
for (const w of chains) for (const b of await w.agent.store.range(w.agent.publicKey)) if ((await auditor.agent.receive(b)).level === 'invalid') invalid++
const supply = await auditSupply(auditor.agent.store, crypto)
let accused = 0
for (const w of chains) if (await auditor.agent.refuses(w.agent.publicKey)) accused++
console.log(`\nauditor: ${chains.length} chains, ${invalid} invalid blocks, ${accused} parties accused; balances ${bean(supply.balances)} + locked ${bean(supply.locked)} = claimed ${bean(supply.rewards)} − burned ${bean(supply.burned)}`)
console.log(`supply check: ${supply.ok && invalid === 0 && accused === 0 ? 'OK' : 'FAILED'}`)
if (!supply.ok || invalid > 0 || accused > 0) process.exitCode = 1
