// npm start, part three: a data-stream market in a smart city (seed 003, PEGASUS), on Tally.
//
// Three operators own 12 sensors in Turin — air quality, parking, noise — and list each stream
// in their own chains; the listings spread through the nodes. Every sensor publishes a reading
// every 20 s of city time (compressed: 100 ms here), encrypted with its period's key, signed and
// chained. Three buyers find streams by area and kind, pay (a transfer, or a payment channel: a
// lock and a voucher per period), send an X25519 key, and get the period's key sealed to it;
// they read live and decrypt. One lets its subscription lapse and is cut off at the next
// period; a relay that tampers with a message is caught.
// Every party is a real gossip node on ws over loopback, hosting the streams protocol.
//
// Knobs: TALLY_CITY_PERIOD_MS (1500: one key period, "5 min" of city time), TALLY_CITY_PERIODS (4).
import { createMemoryStore, identityFromSeed, toHex, type HalfBlock, type SeedIdentity } from '@tally/core'
import {
  approveRegistration,
  approvedRegistration,
  certify,
  closeEpoch,
  createCommunity,
  createConfig,
  createDirectory,
  createEconomyTypes,
  createEvidenceStore,
  createKarmaLedger,
  createMonitor,
  createWallet,
  encodeVoucher,
  requestRegistration,
  signCertificate,
  signConfig,
  signReport,
  signedConfig,
  type Wallet,
  type WitnessSignature,
} from '@tally/economy'
import {
  STREAM_LISTING,
  boxKeyPair,
  createMessageStore,
  createReader,
  createStreamService,
  listingPayload,
  signPurchase,
  streamTypes,
  transferPayments,
  type BoxKeyPair,
  type KeyGrant,
  type Listing,
  type ListingEntry,
  type MessageStore,
  type Reader,
  type SoldStream,
  type StreamMessage,
  type StreamService,
} from '@tally/economy/streams'
import { createNode, type Node } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'
import { defaultCrypto } from '@tally/node'

const PERIOD_MS = knob('TALLY_CITY_PERIOD_MS', 1500)
const PERIODS = knob('TALLY_CITY_PERIODS', 4)
const TICK_MS = 100 // 20 s of city time
const crypto = defaultCrypto()
const seedId = (n: number): SeedIdentity => identityFromSeed(new Uint8Array(32).fill(n), crypto)
const say = (line: string): void => void process.stdout.write(line + '\n')
const t0 = Date.now()
const clockOf = (): string => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(4)} s]`

// ## Money: a community whose witnesses certified one epoch in which the buyers earned tokens
const witnesses = [seedId(1), seedId(2), seedId(3)]
const buyerIds = [seedId(21), seedId(22), seedId(23)]
const config = createConfig({
  name: 'turin-data', token: { name: 'Datum', unit: 'DTM', decimals: 0 }, start: 0, epochLength: 3_600_000, rewardPerEpoch: 3_000, window: 1,
  witnesses: witnesses.map((w) => w.publicKey), quorum: 2,
  components: { gateway: { metrics: ['airtime', 'messages'], scorer: 'airtime-tiers', params: { tiers: [[1_000, 1], [60_000, 4]] } } },
})
const community = createCommunity(signedConfig(config, [signConfig(config, witnesses[0]!), signConfig(config, witnesses[1]!)]))
const directory = createDirectory(community)
const gateways = buyerIds.map((_, i) => seedId(31 + i))
for (const [i, owner] of buyerIds.entries()) {
  const request = requestRegistration(owner, gateways[i]!, community.id, 'gateway')
  const sigs = witnesses.slice(0, 2).map((w) => (approveRegistration(request, w, config, community.id) as { signature: WitnessSignature }).signature)
  directory.register(approvedRegistration(request, sigs))
}
const monitor = createMonitor({ directory, epoch: 0 })
for (const g of gateways) monitor.submit(signReport({ component: g.publicKey, epoch: 0, seq: 0, metrics: [75_000, 12] }, g, community.id))
const epoch = closeEpoch({ directory, karma: createKarmaLedger({ window: 1 }), metrics: monitor.close() })
const certificate = certify(epoch.body, witnesses.slice(0, 2).map((w) => signCertificate(epoch.body, w, config)), config)
const evidence = createEvidenceStore(community) // certificates are public: every node here holds them
const types = createEconomyTypes({ community, evidence })
for (const t of streamTypes()) types.define(t)

// ## The nodes
const makeNode = (identity: SeedIdentity): Node =>
  createNode({ identity, store: createMemoryStore({ crypto }), transport: createWsTransport({ port: 0 }), types, head: 'local', gossip: { pullIntervalMs: 0 } })

interface Operator { name: string; node: Node; streams: StreamService; sold: SoldStream[] }
interface Buyer { name: string; id: SeedIdentity; node: Node; streams: StreamService; wallet?: Wallet; claim?: HalfBlock }

const TURIN = { lat: 45_070_000, lon: 7_686_000 }
const kinds = [
  { operator: 'AirCo', kind: 'air-quality', price: 4, reading: (t: number, i: number) => ({ pm25: Math.round(12 + 8 * Math.sin(t / 7 + i)), no2: 20 + ((t + i) % 9) }) },
  { operator: 'ParkCo', kind: 'parking', price: 3, reading: (t: number, i: number) => ({ free: Math.max(0, 40 - ((t * (i + 2)) % 37)) }) },
  { operator: 'NoiseCo', kind: 'noise', price: 2, reading: (t: number, i: number) => ({ dbA: 55 + ((t * 3 + i * 5) % 17) }) },
] as const

const operators: Operator[] = []
const relayMessages = tamperable(createMessageStore())
const relayNode = makeNode(seedId(40))
const relay = createStreamService({ host: relayNode, crypto, messages: relayMessages.store })
const buyers: Buyer[] = buyerIds.map((id, i) => {
  const node = makeNode(id)
  return { name: ['MobilityApp', 'HealthLab', 'NoiseMap'][i]!, id, node, streams: createStreamService({ host: node, crypto }) }
})
let start = 0 // when key period 0 begins: set when the sensors are listed

let closing = false
try {
  for (const [k, spec] of kinds.entries()) {
    const node = makeNode(seedId(10 + k))
    // paid by transfer (found in the operator's own chain) or through a channel (its wallet checks the lock and keeps the vouchers)
    const wallet = createWallet({ agent: node.agent, community, evidence })
    const channels = { accept: (lock: HalfBlock, voucher: Uint8Array, history: readonly HalfBlock[]) => wallet.acceptVoucher(lock, voucher, history) }
    operators.push({ name: spec.operator, node, streams: createStreamService({ host: node, crypto, payments: transferPayments(node.store, node.publicKey), channels }), sold: [] })
  }
  const addresses = await Promise.all([...operators.map((o) => o.node), relayNode, ...buyers.map((b) => b.node)].map((n) => n.listen()))
  for (const o of operators) await relayNode.connect(o.node.address!)
  for (const b of buyers) {
    for (const o of operators) await b.node.connect(o.node.address!)
    await b.node.connect(relayNode.address!)
  }
  say(`${clockOf()} ${addresses.length} nodes on ws://127.0.0.1 (3 operators, 1 relay, 3 buyers); 1 key period = ${PERIOD_MS / 1000} s here ("5 min" in the city), a reading every 20 city-seconds`)

  // ## Listings: 4 sensors per operator, in the operator's chain, spread by gossip
  start = Date.now() + 200
  for (const [k, spec] of kinds.entries()) {
    const o = operators[k]!
    for (let i = 0; i < 4; i++) {
      const sensor = seedId(100 + k * 4 + i)
      const at = { lat: TURIN.lat + (i - 1.5) * 4_000 + k * 700, lon: TURIN.lon + (k - 1) * 6_000 + i * 900 }
      const fields: Listing = { device: `${spec.kind}-${i + 1}`, sensor: sensor.publicKey, ...at, kind: spec.kind, price: spec.price, period: PERIOD_MS, start, served: [o.node.address!] }
      const listing = await o.node.agent.append(STREAM_LISTING, listingPayload(fields))
      o.sold.push(o.streams.sell({ sensor, secret: crypto.randomBytes(32), listing }))
    }
  }
  await until(() => buyers.every((b) => b.streams.index.size === 12), 5000)
  say(`${clockOf()} 12 listings spread: every buyer's index holds ${buyers.map((b) => b.streams.index.size).join(' / ')}`)

  // ## The sensors publish every tick
  let tick = 0
  const periodsOf = new Map<string, number[]>() // sensor → the period of each message published, by seq
  const publishing = setInterval(() => {
    tick++
    for (const [k, spec] of kinds.entries()) {
      for (const [i, s] of operators[k]!.sold.entries()) {
        if (Date.now() < start) continue
        void s.publish(new TextEncoder().encode(JSON.stringify({ t: tick, ...spec.reading(tick, i) }))).then((p) => {
          const list = periodsOf.get(toHex(s.sensor)) ?? []
          list[p.message.seq] = p.message.period
          periodsOf.set(toHex(s.sensor), list)
        })
      }
    }
  }, TICK_MS)

  // ## Buyers: find by area, pay, subscribe, read
  for (const b of buyers) {
    b.wallet = createWallet({ agent: b.node.agent, community, evidence, key: b.id }) // the key signs vouchers
    b.claim = await b.wallet.claim({ amount: epoch.amountOf(b.id.publicKey), certificate, proof: epoch.proofFor(b.id.publicKey)! })
  }
  const wants = [
    { buyer: buyers[0]!, query: { near: { ...TURIN, meters: 4_000 }, kind: 'parking' }, periods: PERIODS + 1, area: 'within 4 km of Piazza Castello', channel: true },
    { buyer: buyers[1]!, query: { box: { south: 45_060_000, west: 7_670_000, north: 45_080_000, east: 7_700_000 }, kind: 'air-quality', maxPrice: 5 }, periods: PERIODS + 1, area: 'in the centre box, ≤ 5 DTM a period' },
    { buyer: buyers[2]!, query: { near: { ...TURIN, meters: 10_000 }, kind: 'noise' }, periods: 2, area: 'within 10 km (two periods only)' },
  ]
  const readers: Follower[] = []
  for (const want of wants) {
    const found = want.buyer.streams.search(want.query)
    const how = 'channel' in want ? `through a payment channel, a period at a time (up to ${want.periods})` : `for ${want.periods} period(s)`
    say(`${clockOf()} ${want.buyer.name} searches ${want.query.kind} ${want.area}: ${found.length} found, buys ${found.slice(0, 2).map((e) => e.listing.device).join(' and ')} ${how}`)
    for (const entry of found.slice(0, 2)) readers.push(await buy(want.buyer, entry, want.periods, 'channel' in want))
  }
  // HealthLab reads its second stream through the relay (closer to it, say)
  const viaRelay = readers[3]!
  await relay.relay(viaRelay.entry.owner, viaRelay.entry.listing.sensor, 1)

  for (const r of readers) await r.follow(r === viaRelay ? [relayNode.publicKey, r.entry.owner] : [r.entry.owner])

  // mid-way, the relay starts flipping a byte in what it serves
  // (on a slow machine the purchases may land in a later period: the run lasts until the lapsed
  // subscriber's first unpaid period is over, and the relay turns after the reading started)
  const firstPeriod = Math.max(...readers.map((r) => r.firstPeriod))
  const periods = Math.max(PERIODS, firstPeriod + 3)
  await sleep(Math.max(start + PERIOD_MS * 1.5, Date.now() + PERIOD_MS / 2) - Date.now())
  relayMessages.tamper(true)
  // the last reading of the last period, then the readers catch up
  await sleep(start + PERIOD_MS * periods - TICK_MS / 2 - Date.now())
  clearInterval(publishing)
  await sleep(50)
  // every reader has seen the last message of its stream (or waited 5 s)
  const headOf = (r: Follower): number => operators.flatMap((o) => o.sold).find((x) => x.sensor === r.entry.listing.sensor || toHex(x.sensor) === toHex(r.entry.listing.sensor))!.publisher.head.seq
  await until(() => readers.every((r) => r.next() >= headOf(r)), 5000)

  // ## Summary
  say('')
  say('buyer        stream          source        read  lost to        cut off')
  for (const r of readers) {
    say(`${r.buyer.name.padEnd(12)} ${r.entry.listing.device.padEnd(15)} ${r.sources().padEnd(12)} ${String(r.read).padStart(4)}  ${r.failures().padEnd(14)} ${r.cutOff ?? '-'}`)
  }
  const relayRead = relayMessages.blindRead(viaRelay.entry.listing.sensor)
  say('')
  say(`the relay held ${relayRead.held} messages of ${viaRelay.entry.listing.device} and could read ${relayRead.read} of them (no key)`)
  // what each buyer should have read: every message from where its grant started, in the periods
  // its operator's subscription book says it paid for — no more, no less
  const expected = (r: Follower): number => {
    const sold = operators.flatMap((o) => o.sold).find((x) => toHex(x.sensor) === toHex(r.entry.listing.sensor))!
    const sub = sold.subscriptions().find((x) => toHex(x.recipient) === toHex(r.recipient))!
    const periods = periodsOf.get(toHex(sold.sensor)) ?? []
    let n = 0
    for (let seq = r.start; seq < periods.length; seq++) if (sub.ranges.some(([a, b]) => periods[seq]! >= a && periods[seq]! < b)) n++
    return n
  }
  const lapsed = readers.filter((r) => r.buyer === buyers[2])
  const ok =
    readers.every((r) => r.read === expected(r)) &&
    readers.filter((r) => r.buyer !== buyers[2]).every((r) => r.cutOff === undefined) &&
    lapsed.every((r) => r.cutOff !== undefined) &&
    viaRelay.caught !== undefined &&
    relayRead.read === 0
  if (!ok) say(`expected reads: ${readers.map(expected).join(' ')}`)
  say(ok ? 'market check: OK' : 'market check: FAILED')
  if (!ok) process.exitCode = 1
} finally {
  closing = true
  await Promise.all([...operators.map((o) => o.node.close()), relayNode.close(), ...buyers.map((b) => b.node.close())])
}

// ## A buyer's subscription to one stream

interface Follower {
  buyer: Buyer
  entry: ListingEntry
  recipient: Uint8Array
  /** Where its grant said to start, and its period. */
  start: number
  firstPeriod: number
  read: number
  next(): number
  caught?: string
  cutOff?: string
  follow(sources: Uint8Array[]): Promise<void>
  sources(): string
  failures(): string
}

async function buy(buyer: Buyer, entry: ListingEntry, periods: number, channel: boolean): Promise<Follower> {
  const price = entry.listing.price
  const keys: BoxKeyPair = boxKeyPair() // one X25519 key per subscription
  let bought = channel ? 1 : periods
  let renew: (() => Promise<{ grant: KeyGrant; key: Uint8Array }>) | undefined
  let answer: { grant: KeyGrant; key: Uint8Array }
  if (channel) {
    // a lock for the operator holds the whole budget; each voucher (cumulative) pays one more period
    const lock = await buyer.wallet!.lock({ to: entry.owner, amount: price * periods, expiry: 1_000 })
    const purchase = await signPurchase(buyer.id, { sensor: entry.listing.sensor, payment: lock.seq, recipient: keys.publicKey })
    const receipt = async () => ({ purchase, lock, voucher: encodeVoucher(await buyer.wallet!.voucher(lock, price * bought)), history: [buyer.claim!] })
    answer = await buyer.streams.subscribeByReceipt(entry.owner, await receipt(), keys)
    say(`${clockOf()}   ${buyer.name} locked ${price * periods} DTM for ${entry.listing.device} (lock, seq ${lock.seq}) and sent a ${price} DTM voucher → key of period ${answer.grant.period} sealed to its X25519 key, start at #${answer.grant.start}`)
    renew = async () => {
      if (bought >= periods) throw Object.assign(new Error('budget spent'), { reason: 'lapsed' })
      bought++
      return buyer.streams.subscribeByReceipt(entry.owner, await receipt(), keys)
    }
  } else {
    const amount = price * periods
    const balance = await buyer.wallet!.balance()
    const tx = await buyer.node.transact(entry.owner, 'transfer', { amount, balance: balance - amount, community: community.id }) // a transfer names its community (payload version 2)
    const purchase = await signPurchase(buyer.id, { sensor: entry.listing.sensor, payment: tx.proposal.seq, recipient: keys.publicKey })
    answer = await buyer.streams.subscribe(entry.owner, purchase, keys)
    say(`${clockOf()}   ${buyer.name} paid ${amount} DTM (transfer, seq ${tx.proposal.seq}) → ${entry.listing.device}: key of period ${answer.grant.period} sealed to its X25519 key, start at #${answer.grant.start}`)
  }
  const { grant, key } = answer
  const reader: Reader = createReader({ sensor: entry.listing.sensor, from: { seq: grant.start, prev: grant.prev }, crypto })
  reader.addKey(grant.period, key)
  const lost = new Map<string, number>()
  const used: string[] = []
  let asked = grant.period
  let told = false
  const f: Follower = {
    buyer,
    entry,
    recipient: keys.publicKey,
    start: grant.start,
    firstPeriod: grant.period,
    read: 0,
    next: () => reader.position.seq,
    sources: () => used.join('→'),
    failures: () => [...(reader.pending > 0 ? [['no-key', reader.pending] as const] : []), ...lost].map(([k, n]) => `${n} ${k}`).join(', ') || '-',
    async follow(sources) {
      const name = (k: Uint8Array): string => (k === relayNode.publicKey ? 'relay' : 'owner')
      used.push(name(sources[0]!))
      const onMessage = (message: StreamMessage, from: Uint8Array): void => {
        if (closing) return
        // ask for the next period's key as soon as this one's first message is read
        if (message.period >= asked && f.cutOff === undefined) {
          const next = message.period + 1
          asked = next
          const ask = renew === undefined ? buyer.streams.requestKey(entry.owner, entry.listing.sensor, next, keys) : renew()
          ask.then(
            (g) => {
              // messages of that period that came before its key were held by the reader: read them now
              for (const r of reader.addKey(g.grant.period, g.key)) if (r.ok) f.read++
              if (renew !== undefined && next === grant.period + 1) say(`${clockOf()}   ${buyer.name} signs a ${price * bought} DTM voucher (cumulative) for ${entry.listing.device} → key of period ${g.grant.period}`)
            },
            (err: { reason?: string }) => {
              if (err.reason === 'lapsed' && f.cutOff === undefined) {
                f.cutOff = `period ${next}`
                say(`${clockOf()}   ${buyer.name}: key of period ${next} of ${entry.listing.device} refused (${err.reason}): cut off when it begins`)
              }
            },
          )
        }
        const r = reader.read(message)
        if (r.ok) {
          f.read++
          if (f.read === 1) say(`${clockOf()}   ${buyer.name} reads ${entry.listing.device} #${r.seq}: ${new TextDecoder().decode(r.plaintext)}`)
          return
        }
        if (r.reason === 'no-key') {
          // held by the reader until the period's key comes; reported when it never does
          if (f.cutOff !== undefined && r.period! >= Number(f.cutOff.split(' ')[1]) && !told) {
            told = true
            say(`${clockOf()}   ${buyer.name} cannot read ${entry.listing.device} #${r.seq} (period ${r.period}): no key — it stopped paying`)
          }
          return
        }
        lost.set(r.reason, (lost.get(r.reason) ?? 0) + 1)
        if (r.reason === 'tampered') {
          f.caught = toHex(from).slice(0, 8)
          say(`${clockOf()}   ${buyer.name}: message #${r.seq} of ${entry.listing.device} from the ${name(from)} fails the sensor's signature: tampering caught, switching source`)
          follow?.close()
          sources.shift()
          if (sources.length > 0) {
            used.push(name(sources[0]!))
            void buyer.streams.follow(sources[0]!, entry.listing.sensor, reader.position.seq, onMessage).then((x) => (follow = x))
          }
        }
      }
      let follow = await buyer.streams.follow(sources[0]!, entry.listing.sensor, reader.position.seq, onMessage)
    },
  }
  return f
}

// ## Helpers

/** The relay's message store, which can start lying: one byte of every box it serves flipped. */
function tamperable(inner: MessageStore): { store: MessageStore; tamper(on: boolean): void; blindRead(sensor: Uint8Array): { held: number; read: number } } {
  let on = false
  return {
    tamper: (x) => void (on = x),
    store: {
      put: (...a) => inner.put(...a),
      head: (s) => inner.head(s),
      range(sensor, from, max, maxBytes) {
        const r = inner.range(sensor, from, max, maxBytes)
        if (r === undefined || !on) return r
        return { ...r, messages: r.messages.map((m) => ({ ...m, box: flipped(m.box) })) }
      },
    },
    blindRead(sensor) {
      // what the relay can do with what it holds: verify, never decrypt
      const range = inner.range(sensor, 1, 64)
      const blind = createReader({ sensor, from: { seq: 1, prev: new Uint8Array(32) }, crypto })
      let read = 0
      let held = 0
      for (let from = 1, r = range; r !== undefined && r.messages.length > 0; from += r.messages.length, r = inner.range(sensor, from, 64)) {
        for (const m of r.messages) {
          held++
          if (blind.read(m).ok) read++
        }
      }
      return { held, read }
    },
  }
}

function flipped(box: Uint8Array): Uint8Array {
  const out = box.slice()
  out[0]! ^= 1
  return out
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)))
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end && !check()) await sleep(20)
  return check()
}

function knob(name: string, fallback: number): number {
  const v = process.env[name]
  const n = v === undefined ? fallback : Number(v)
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${name} expected a positive integer, got ${v}`)
  return n
}

