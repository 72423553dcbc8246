// The Node side of the browser-wallet example: a small community of the networked economy on
// 127.0.0.1 — three witnesses (each its own gossip node, listening on ws), a gateway node that
// wallets in web pages connect to, "devices" (a LoRa gateway's node: it registers to its owner
// and reports its airtime to the witnesses), and optionally a shop: a wallet on a listening Node
// node that browser wallets can pay directly.
//
// Everything runs in one process for the example; each part talks to the others only through
// its own node and real WebSocket sessions, as it would across machines.
import { createBlockTypes, createMemoryStore, fromHex, generateIdentity, toHex, type SeedIdentity, type Transaction } from '@tally/core'
import {
  createCommunity,
  createConfig,
  createEconomyTypes,
  createEvidenceStore,
  createWallet,
  encodeSignedConfig,
  voucherAuthority,
  epochAt,
  registrationDigest,
  signConfig,
  signedConfig,
  type Community,
  type EvidenceStore,
  type RegistrationRequest,
  type Wallet,
} from '@tally/economy'
import { createMemoryOutbox, createNetWallet, createRegistrar, createReporter, createTicketStore, createWitness, seqWitnessTypes, seqWitnesses, type NetWallet, type Witness } from '@tally/economy/net'
import { createChannelBook, createPayee, createPayer, receiptAuthority, type Payee, type Payer } from '@tally/economy/channels'
import { STREAM_LISTING, createStreamService, listingPayload, streamTypes, transferPayments, type SoldStream, type StreamService } from '@tally/economy/streams'
import {
  createMarketView,
  createOfferSpread,
  createOutcomeStore,
  createOutcomeWitness,
  offerPayload,
  offerTypes,
  offerView,
  slaAuthority,
  slaCertified,
  slaPolicy,
  type MarketView,
  type OfferView,
  type OutcomeStore,
} from '@tally/economy/market'
import { createNode, type Node } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'
import type { Server } from 'node:http'

/** Devices the example keeps at most. */
const MAX_DEVICES = 64

/** What a page needs to join: the community and where its nodes listen. */
export interface NetworkInfo {
  /** encodeSignedConfig of the genesis configuration, hex. */
  readonly config: string
  /** The gateway node: its ws address and key (hex). */
  readonly gateway: { readonly address: string; readonly key: string }
  /** The witnesses: key (hex) and ws address. */
  readonly witnesses: readonly { readonly key: string; readonly address: string }[]
  /** The shop, when there is one: a wallet on a listening node. */
  readonly shop?: { readonly address: string; readonly key: string }
  /** The open epoch. */
  readonly epoch: number
}

/** The running network. */
export interface Network {
  readonly community: Community
  readonly gateway: Node
  readonly witnesses: readonly Witness[]
  /** The witnesses' nodes (seq witnesses: they keep the first block shown at each slot). */
  readonly witnessNodes: readonly Node[]
  /**
   * The shop, when there is one: its node, network wallet, both sides of payment channels, and
   * with `streams` two data streams it sells ('shop-door-1' and '-2', footfall, 10 units a period
   * of 60 s, paid by transfer or by lock and vouchers; `sold[i].publish` sends a reading).
   */
  readonly shop: { readonly node: Node; readonly net: NetWallet; readonly payee: Payee; readonly payer: Payer; readonly streams: StreamService; readonly sold: readonly SoldStream[]; readonly outcomes: OutcomeStore; readonly evidence: EvidenceStore; readonly wallet: Wallet } | undefined
  /** The gateway's streams service: it indexes listings and serves its catalog to pages. */
  readonly gatewayStreams: StreamService
  /** With `sla`: the gateway's market view (offers spread to it), and each witness's. */
  readonly markets: { readonly gateway: MarketView; readonly witnesses: readonly MarketView[] } | undefined
  /**
   * With `sla` and a shop: register a device to the shop and list an SLA offer on it — airtime
   * ≥ 1,000 ms each epoch, `price` per 1-epoch cycle, `penalty`, notice 1, on offer from `from`
   * for 30 epochs — spread to the gateway and the witnesses.
   * @returns the offer and the device's component key (hex), for `report`
   */
  shopOffer(options: { price: number; penalty: number; from: number }): Promise<{ offer: OfferView; component: string }>
  /** With `streams`: the shop's seller does not find payments while held ('not-paid'), as a seller whose chain lags. */
  holdPayments(held: boolean): void
  /** Report `airtime` ms for a registered device in the open epoch. */
  report(component: string, airtime: number): Promise<void>
  /** What a page needs (JSON). */
  info(): NetworkInfo
  /** A new device key, to be registered to `owner` (the owner signs the registration's digest). */
  newDevice(owner: Uint8Array): { component: string; digest: string }
  /**
   * Register the device to its owner with the owner's signature, then report `airtime` ms of
   * traffic for it in the open epoch.
   * @returns how many witnesses applied the registration and took the report
   */
  register(component: string, ownerSignature: Uint8Array, airtime?: number): Promise<{ applied: number; reported: number; epoch: number }>
  /** Close the open epoch at every witness. */
  closeEpoch(): Promise<{ epoch: number; certified: boolean }>
  close(): Promise<void>
}

/** Options of startNetwork. */
export interface NetworkOptions {
  /** Attach the gateway's ws endpoint to this HTTP server at `/gateway` (default: its own port). */
  server?: Server
  /** The address pages dial for the gateway when attached to `server` (its ws:// URL). */
  gatewayAddress?: string
  /** Run a shop: a Node wallet on a listening node that accepts transfers. */
  shop?: boolean
  /**
   * The shop sells two data streams too (its chain then holds their listings: a wallet that
   * replays it, to take a transfer from the shop, must know the listing types — streamTypes()).
   */
  streams?: boolean
  /**
   * SLA offers: the witnesses certify offers' outcomes beside the rewards, the gateway keeps a
   * market view pages sync, and the shop can register a device of its own and offer an SLA on it
   * (`shopOffer`). The shop's chain then holds its offer and its device's registration is its own.
   */
  sla?: boolean
  /** Told of what happens (one line each). */
  log?: (line: string) => void
}

/**
 * Start the community: genesis signed by two of three witnesses, the witnesses' nodes, the
 * gateway, and the shop when asked for.
 */
export async function startNetwork(options: NetworkOptions = {}): Promise<Network> {
  const log = options.log ?? (() => undefined)
  const keys = [generateIdentity(), generateIdentity(), generateIdentity()]
  const start = Date.now() - (Date.now() % 60_000)
  const config = createConfig({
    name: 'browser-wallet-example',
    token: { name: 'Wavelet', unit: 'WVL', decimals: 3 },
    start,
    epochLength: 3_600_000,
    rewardPerEpoch: 1_000_000,
    window: 1,
    components: { gateway: { metrics: ['airtime', 'messages'], scorer: 'airtime-tiers', params: { tiers: [[1_000, 1], [10_000, 2], [60_000, 4]] } } },
    witnesses: keys.map((k) => k.publicKey),
    quorum: 2,
  })
  const signed = signedConfig(config, [signConfig(config, keys[0]!), signConfig(config, keys[1]!)])
  const community = createCommunity(signed)
  let epoch = epochAt(config, Date.now())

  // ## Witnesses: each its own node, listening, connected to the others
  const witnessNodes: Node[] = []
  const witnesses: Witness[] = []
  const witnessViews: MarketView[] = []
  const addresses: string[] = []
  for (const key of keys) {
    // each witness is also a seq witness for the community's block types (it keeps the first block
    // of each slot it is shown, so a forked chain cannot pay twice)
    const node = createNode({ identity: key, store: createMemoryStore(), transport: createWsTransport({ port: 0 }), types: seqWitnessTypes(), witnesses: seqWitnesses(community), head: 'local' })
    addresses.push(await node.listen())
    witnessNodes.push(node)
    if (options.sla === true) {
      // offers' outcomes, certified beside the rewards from the same reports
      const view = createMarketView({ community })
      const spread = createOfferSpread({ host: node, view, peers: () => keys.filter((k) => k !== key).map((k) => k.publicKey) })
      const outcomes = createOutcomeWitness({ key, community, host: node, view, spread })
      witnessViews.push(view)
      witnesses.push(createWitness({ key, community, host: node, epoch, beside: outcomes.beside }))
    } else witnesses.push(createWitness({ key, community, host: node, epoch }))
  }
  for (let i = 0; i < keys.length; i++) {
    for (let j = 0; j < keys.length; j++) if (i !== j) witnessNodes[i]!.addAddress(keys[j]!.publicKey, addresses[j]!)
  }
  for (let i = 1; i < keys.length; i++) await witnessNodes[i]!.connect(addresses[0]!)
  await witnessNodes[2]!.connect(addresses[1]!)
  const know = (node: Node) => keys.forEach((k, i) => node.addAddress(k.publicKey, addresses[i]!))

  // ## The gateway: a node pages dial; it keeps no economy rules of its own
  const gatewayKey = generateIdentity()
  const gateway = createNode({
    identity: gatewayKey,
    store: createMemoryStore(),
    transport: createWsTransport(options.server === undefined ? { port: 0 } : { server: options.server, path: '/gateway' }),
    types: createBlockTypes(),
    head: 'local',
    // pages cannot listen: a page reaches another page through a tunnel the gateway relays
    relay: { serve: true },
  })
  know(gateway)
  // the gateway keeps the listings of data streams its peers sell, for pages to search
  const gatewayStreams = createStreamService({ host: gateway, crypto: community.crypto })
  // and the SLA offers, for pages to sync
  const gatewayMarket = options.sla === true ? createMarketView({ community }) : undefined
  const gatewaySpread = gatewayMarket === undefined ? undefined : createOfferSpread({ host: gateway, view: gatewayMarket })
  const listened = await gateway.listen()
  const gatewayAddress = options.gatewayAddress ?? listened
  gateway.on('peer:open', (e) => log(`gateway: ${toHex(e.publicKey).slice(0, 8)} connected`))
  gateway.on('peer:close', (e) => log(`gateway: ${toHex(e.publicKey).slice(0, 8)} left (${e.reason || e.code})`))

  // ## The shop: a wallet on a listening Node node
  let shop: Network['shop']
  let shopAddress: string | undefined
  let shopView: MarketView | undefined
  let paymentsHeld = false
  let shopIdentity: SeedIdentity | undefined
  const shopOutcomes = createOutcomeStore(community)
  if (options.shop === true) {
    const identity = generateIdentity()
    const book = createChannelBook()
    const evidence = createEvidenceStore(community)
    const tickets = createTicketStore()
    // with `sla`: the shop's own offers (its policy agrees to subscriptions to them and locks the
    // penalty beside), the 'sla' redeem authority on certified outcomes
    shopView = createMarketView({ community })
    const authorities = [voucherAuthority(), receiptAuthority(), slaAuthority({ community, outcomes: shopOutcomes })]
    const slaLock = options.sla === true ? { authorities, certified: slaCertified({ community, outcomes: shopOutcomes }), ...slaPolicy({ community, seller: identity.publicKey, view: shopView, now: Date.now }) } : {}
    const shopTypes = createEconomyTypes({ community, evidence, tickets, lock: { receipts: book, ...slaLock } })
    for (const t of streamTypes()) shopTypes.define(t)
    if (options.sla === true) for (const t of offerTypes(community)) shopTypes.define(t)
    const node = createNode({
      identity,
      store: createMemoryStore(),
      transport: createWsTransport({ port: 0 }),
      // its receipts book: a release that a receipt contradicts is refused, with the proof
      types: shopTypes,
      witnesses: seqWitnesses(community),
      head: 'local',
      // the shop pays pages back through the gateway: pages cannot be dialled
      relay: { via: [gatewayKey.publicKey] },
    })
    know(node)
    shopAddress = await node.listen()
    const wallet = createWallet({ agent: node.agent, community, evidence, key: identity, ...(options.sla === true ? { authorities } : {}) })
    shopIdentity = identity
    const net = createNetWallet({ wallet, community, evidence, tickets, host: node, port: node.transactions })
    node.on('transaction', (t: Transaction) => log(`shop: received ${String((t.proposal.payload as { amount?: number }).amount)} from ${toHex(t.proposal.publicKey).slice(0, 8)}`))
    // a sensor of the shop's: its stream sold by transfer (found in the shop's chain) or by lock
    // and vouchers (the shop's wallet checks the lock and keeps the vouchers)
    const payments = transferPayments(node.store, node.publicKey)
    const streams = createStreamService({
      host: node,
      crypto: community.crypto,
      // holdPayments: the seller does not see payments for a while (as a seller whose chain
      // lags would), for a test of a purchase asked for again
      payments: { payment: async (buyer, seq) => (paymentsHeld ? undefined : payments.payment(buyer, seq)) },
      channels: { accept: (lock, voucher, history) => wallet.acceptVoucher(lock, voucher, history) },
    })
    const sold: SoldStream[] = []
    for (const device of options.streams === true ? ['shop-door-1', 'shop-door-2'] : []) {
      const sensor = generateIdentity()
      const listing = await node.agent.append(STREAM_LISTING, listingPayload({ device, sensor: sensor.publicKey, lat: 45_070_000, lon: 7_686_000, kind: 'footfall', price: 10, period: 60_000, start: Date.now(), served: [shopAddress] }))
      sold.push(streams.sell({ sensor, secret: globalThis.crypto.getRandomValues(new Uint8Array(32)), listing }))
    }
    // connected after the listing: the gateway fetches the shop's catalog when the session opens
    await node.connect(listened, { expectedPeer: gatewayKey.publicKey })
    shop = { node, net, payee: createPayee({ wallet, book, community }), payer: createPayer({ wallet, key: identity, community }), streams, sold, outcomes: shopOutcomes, evidence, wallet }
  }

  // ## Devices: one node each (a component's reporter and registrar are hosted once per node)
  const devices = new Map<string, { key: SeedIdentity; owner: Uint8Array; node?: Node; reporter?: ReturnType<typeof createReporter> }>()
  const deviceNodes: Node[] = []

  const network: Network = {
    community,
    gateway,
    gatewayStreams,
    witnesses,
    witnessNodes,
    shop,
    info() {
      return {
        config: toHex(encodeSignedConfig(signed)),
        gateway: { address: gatewayAddress, key: toHex(gatewayKey.publicKey) },
        witnesses: keys.map((k, i) => ({ key: toHex(k.publicKey), address: addresses[i]! })),
        ...(shop === undefined || shopAddress === undefined ? {} : { shop: { address: shopAddress, key: toHex(shop.node.publicKey) } }),
        epoch,
      }
    },
    newDevice(owner) {
      if (!(owner instanceof Uint8Array) || owner.length !== 32) throw new RangeError('"owner" expected 32 bytes')
      // a demo server open to anyone: a bounded number of devices (each one a key and, once
      // registered, a node)
      if (devices.size >= MAX_DEVICES) throw new RangeError(`this example holds at most ${MAX_DEVICES} devices: restart it`)
      const key = generateIdentity()
      const component = toHex(key.publicKey)
      devices.set(component, { key, owner })
      const digest = registrationDigest({ community: community.id, owner, component: key.publicKey, type: 'gateway' })
      return { component, digest: toHex(digest) }
    },
    async register(component, ownerSignature, airtime = 75_000) {
      const device = devices.get(component)
      if (device === undefined || device.node !== undefined) throw new RangeError('"component" is not a device waiting for registration')
      const digest = registrationDigest({ community: community.id, owner: device.owner, component: device.key.publicKey, type: 'gateway' })
      if (!community.crypto.verify(ownerSignature, digest, device.owner)) throw new RangeError('"ownerSignature" does not verify under the owner key')
      const request: RegistrationRequest = { community: community.id, owner: device.owner, component: device.key.publicKey, type: 'gateway', ownerSignature, componentSignature: device.key.sign(digest) }
      const node = createNode({ identity: device.key, store: createMemoryStore(), transport: createWsTransport(), types: createBlockTypes(), head: 'local' })
      know(node)
      device.node = node
      deviceNodes.push(node)
      const done = await createRegistrar({ host: node, community }).register(request)
      let reported = 0
      const reporter = createReporter({ key: device.key, community, host: node, outbox: createMemoryOutbox(), onOutcome: (o) => void (o.status === 'accepted' && reported++) })
      device.reporter = reporter
      await reporter.report({ epoch, metrics: [airtime, Math.round(airtime / 500)] })
      await reporter.flush()
      log(`device ${component.slice(0, 8)}: registered to ${toHex(device.owner).slice(0, 8)} (${done.applied} witnesses), ${airtime} ms of airtime reported in epoch ${epoch}`)
      return { applied: done.applied, reported, epoch }
    },
    markets: gatewayMarket === undefined ? undefined : { gateway: gatewayMarket, witnesses: witnessViews },
    async shopOffer({ price, penalty, from }) {
      if (shop === undefined || shopIdentity === undefined || shopView === undefined || gatewaySpread === undefined) throw new RangeError('shopOffer needs { shop: true, sla: true }')
      const { component, digest } = network.newDevice(shop.node.publicKey)
      await network.register(component, shopIdentity.sign(fromHex(digest)))
      const block = await shop.node.agent.append('offer', offerPayload({ type: 'gateway', components: [fromHex(component)], criteria: [{ metric: 'airtime', op: 'ge', value: 1_000 }], price, cycle: 1, penalty, notice: 1, from, until: from + 30 }))
      shopView.add(block)
      // to the gateway and the witnesses: they hold the offer for pages and for the outcomes
      gatewayMarket!.add(block)
      for (const v of witnessViews) v.add(block)
      log(`shop: SLA offer on device ${component.slice(0, 8)}: ${price} a cycle, penalty ${penalty}, from epoch ${from}`)
      return { offer: offerView(block)!, component }
    },
    holdPayments(held) {
      paymentsHeld = held
    },
    async report(component, airtime) {
      const device = devices.get(component)
      if (device?.reporter === undefined) throw new RangeError('"component" is not a registered device')
      await device.reporter.report({ epoch, metrics: [airtime, Math.round(airtime / 500)] })
      await device.reporter.flush()
    },
    async closeEpoch() {
      const closing = epoch
      const outcomes = []
      for (const w of witnesses) outcomes.push(await w.close())
      epoch = closing + 1
      const certified = witnesses.some((w) => w.certificate(closing) !== undefined)
      log(`epoch ${closing} closed by ${outcomes.length} witnesses${certified ? ', certified' : ', NOT certified'}`)
      return { epoch: closing, certified }
    },
    async close() {
      for (const d of devices.values()) d.reporter?.close()
      for (const w of witnesses) w.stop()
      shop?.streams.close()
      gatewayStreams.close()
      await Promise.all([...deviceNodes, ...(shop === undefined ? [] : [shop.node]), gateway, ...witnessNodes].map((n) => n.close()))
    },
  }
  return network
}
