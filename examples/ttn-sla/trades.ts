// Part 2 of the example: trades between the TTN community's WVL and a second community's token
// (BWT, a bandwidth community with its own witnesses) by incremental settlement (XChange): k = 10
// instalments a side that alternate, the taker (the risk-taker) first, so at most one instalment
// is ever at stake. Each instalment is an ordinary transfer of its own community's token; a
// trader holds both tokens in its one chain (one key): every economy block names its community
// (payload version 2), so each balance is per community and each community audits its own supply.
// Each trader's node runs the agent of its chain: an instalment is proposed by the payer's wallet
// over that agent and delivered through its node's transaction path (market's payInstalment over
// node.transactions), over ws; the other node's agent countersigns it by its own rules.
import { blockHash, createAgent, createBlockTypes, createMemoryStore, generateIdentity, type Agent, type BlockStore, type BlockTypes, type HalfBlock, type SeedIdentity } from '@tally/core'
import {
  auditSupply,
  certify,
  closeEpoch,
  createCommunity,
  createConfig,
  createDirectory,
  economyTypes,
  createEvidenceStore,
  createKarmaLedger,
  createMonitor,
  createWallet,
  redeemedLocks,
  supplyOf,
  approveRegistration,
  approvedRegistration,
  requestRegistration,
  signCertificate,
  signConfig,
  signReport,
  signedConfig,
  type Community,
  type EvidenceStore,
  type Wallet,
  type WitnessSignature,
} from '@tally/economy'
import { createOrderBook, createTradeBook, createTradeDesk, offerTypes, payInstalment, signOrder, type Trade } from '@tally/economy/market'
import type { Node } from '@tally/gossip'

/** What part 2 needs from part 1. */
export interface TradeInputs {
  /** The maker: a TTN gateway owner with WVL. */
  readonly maker: { readonly name: string; readonly key: SeedIdentity; readonly wallet: Wallet; readonly types: BlockTypes }
  /** The bandwidth community (bandwidthCommunity), known to every node since part 1. */
  readonly bw: ReturnType<typeof bandwidthCommunity>
  /** The TTN community, its evidence store, and every TTN chain so far (for the audit). */
  readonly ttn: { readonly community: Community; readonly evidence: EvidenceStore; readonly lock: NonNullable<Parameters<typeof economyTypes>[0]['lock']>; readonly chains: () => Promise<HalfBlock[]> }
  readonly id: (label: string) => SeedIdentity
  readonly wvl: (units: number) => string
  /** A gossip node on ws over 127.0.0.1 for `identity`, listening. */
  readonly startNode: (identity: SeedIdentity, options?: { store?: BlockStore; types?: BlockTypes }) => Promise<Node>
}

/**
 * Run the trades and print what each side paid, received and lost, and each community's supply.
 * @returns whether both audits and the loss bound held
 */
export async function runTrades(input: TradeInputs): Promise<boolean> {
  const { ttn, id, wvl, bw } = input
  const bwt = wvl // same 3 decimals
  const also = [{ community: bw.community, evidence: bw.evidence }]
  // each trader's node runs its own agent over its one chain, which holds both tokens (a wallet
  // per community over that agent); every instalment goes through the payer's node's transaction
  // path (node.transactions), and the other node's agent countersigns it by its rules.
  // The maker's node takes over its chain from part 1 (its store and rules; part 1's agent signs no more).
  const taker = id('bw-trader')
  const takerTypes = createBlockTypes([...economyTypes({ community: ttn.community, evidence: ttn.evidence, also, lock: ttn.lock }), ...offerTypes(ttn.community)])
  const [makerNode, takerNode] = [await input.startNode(input.maker.key, { store: input.maker.wallet.agent.store, types: input.maker.types }), await input.startNode(taker, { types: takerTypes })]
  const named = (agent: Agent, key: SeedIdentity, community: Community, evidence: EvidenceStore) => createWallet({ agent, community, evidence, key, ...(ttn.lock.authorities === undefined ? {} : { authorities: ttn.lock.authorities }) })
  const takerBwt = named(takerNode.agent, taker, bw.community, bw.evidence)
  const takerWvl = named(takerNode.agent, taker, ttn.community, ttn.evidence)
  const takerReward = await bw.earn(taker, takerBwt) // the taker earns BWT in the bandwidth community's epoch 0
  const makerWvl = named(makerNode.agent, input.maker.key, ttn.community, ttn.evidence)
  const makerBwt = named(makerNode.agent, input.maker.key, bw.community, bw.evidence) // its BWT lands beside its WVL
  // before trading, the taker's node checks the maker's chain (the locks its SLA redeems name first)
  const makerChain = await makerNode.store.range(input.maker.key.publicKey)
  for (const b of [...(await redeemedLocks(makerNode.store, makerChain)), ...makerChain]) await takerNode.agent.receive(b)
  const book = createTradeBook(1_000) // the taker allows 1.000 BWT at stake with any one counterparty
  const T = Date.UTC(2026, 0, 2)
  // the maker's and the taker's desks, each on its own node over ws: orders by gossip, takes agreed over the socket
  makerNode.addAddress(taker.publicKey, takerNode.address!)
  takerNode.addAddress(input.maker.key.publicKey, makerNode.address!)
  const clock = { now: T }
  const makerDesk = createTradeDesk({ host: makerNode, book: createOrderBook(), now: () => clock.now, peers: () => [taker.publicKey], timeoutMs: 30_000 })
  const takerBook = createOrderBook()
  const takerDesk = createTradeDesk({ host: takerNode, book: takerBook, now: () => clock.now, timeoutMs: 30_000 })

  console.log(`\nTrades WVL ⇄ BWT (XChange), k = 10, the taker pays first; orders by gossip, takes over ws:`)
  const run = async (label: string, walkAfter?: number): Promise<Trade> => {
    const published = await signOrder(input.maker.key, {
      maker: input.maker.key.publicKey, receive: input.maker.key.publicKey,
      give: { community: ttn.community.id, amount: 5_000 }, want: { community: bw.community.id, amount: 2_500 }, k: 10, expires: T + 60_000 + clock.now - T,
    })
    makerDesk.publish(published)
    const seen = Date.now()
    while (takerBook.find({ give: ttn.community.id, want: bw.community.id, now: clock.now }).length === 0 && Date.now() - seen < 5_000) await new Promise((r) => setTimeout(r, 10))
    const order = takerBook.find({ give: ttn.community.id, want: bw.community.id, now: clock.now })[0]!
    const largest = Math.ceil(order.want.amount / order.k)
    if (!book.allows(order.maker, largest)) throw new Error('the taker refuses: its bound with this maker')
    const trade = await takerDesk.take(order, taker.publicKey, taker.publicKey) // the maker agrees over the socket; one chain pays BWT and receives WVL
    const theirs = makerDesk.made[makerDesk.made.length - 1]!
    book.open(trade, 'taker', order.maker)
    takerBook.prune(order.expires + 1)
    let moves = 0
    let maxStake = 0
    for (let d = trade.due(); d !== undefined; d = trade.due()) {
      if (walkAfter !== undefined && moves === walkAfter) break // the maker stops answering
      // the payer's record pays through its node; the other side's record notes the same transfer
      const [mine, other, wallet, to, node] = d.payer === 'taker' ? [trade, theirs, takerBwt, order.receive, takerNode] : [theirs, trade, makerWvl, taker.publicKey, makerNode]
      const { proposal } = await payInstalment(mine, d.payer, wallet, to, node.transactions, T + moves)
      other.pay(d.payer, d.amount, blockHash(proposal), T + moves++)
      maxStake = Math.max(maxStake, trade.atStake('taker'))
    }
    let lost = 0
    if (trade.state === 'open') lost = trade.cancel('taker', T + 60_000)
    clock.now += 60_000
    console.log(`  ${label}: ${trade.state}; ${input.maker.name} paid ${wvl(trade.paid.maker)} WVL in ${trade.receipts.maker.length} instalments, the taker ${bwt(trade.paid.taker)} BWT in ${trade.receipts.taker.length}; most at stake ${bwt(maxStake)} BWT${trade.state === 'cancelled' ? `; the taker cancels after 30 s of silence and lost ${bwt(lost)} BWT — one instalment (${bwt(largest)})` : ''}`)
    return trade
  }
  const full = await run('trade 1')
  const walked = await run('trade 2, the maker walks away after the taker\'s 4th instalment', 7)
  const lossOk = walked.state === 'cancelled' && walked.paid.taker - (walked.paid.maker * walked.order.want.amount) / walked.order.give.amount <= Math.ceil(2_500 / 10)

  // one auditor replays every chain; each community's supply is checked on its own
  const report = await audit(ttn.community, ttn.evidence, [...(await ttn.chains()), ...(await takerNode.store.range(taker.publicKey))], ttn.lock, also)
  const a = supplyOf(report, ttn.community.id)
  const b = supplyOf(report, bw.community.id)
  const [makerHolds, takerHolds] = [[await makerWvl.balance(), await makerBwt.balance()], [await takerWvl.balance(), await takerBwt.balance()]]
  console.log(`  one chain each, both tokens: ${input.maker.name} holds ${wvl(makerHolds[0]!)} WVL and ${bwt(makerHolds[1]!)} BWT; the taker ${wvl(takerHolds[0]!)} WVL and ${bwt(takerHolds[1]!)} BWT`)
  console.log(`  supply per community: WVL balances ${wvl(a.balances)} + locked ${wvl(a.locked)} = claimed ${wvl(a.rewards)} ${a.ok ? '✓' : '✗'}; BWT balances ${bwt(b.balances)} = claimed ${bwt(b.rewards)} (${bwt(takerReward)} earned by the taker) ${b.ok ? '✓' : '✗'}`)
  await Promise.all([makerNode.close(), takerNode.close()])
  const ok = full.state === 'done' && lossOk && a.ok && b.ok && report.ok && b.rewards === takerReward
  console.log(`trade check: ${ok ? 'OK' : 'FAILED'}`)
  return ok
}

/** Replay the chains on an auditor that knows both communities, and check supply. */
async function audit(community: Community, evidence: EvidenceStore, chains: readonly HalfBlock[], lock: Parameters<typeof economyTypes>[0]['lock'], also: Parameters<typeof economyTypes>[0]['also']) {
  const observer = createAgent({ head: 'local', identity: generateIdentity(community.crypto), store: createMemoryStore(), types: createBlockTypes([...economyTypes({ community, evidence, lock, also }), ...offerTypes(community)]) })
  for (const b of chains.filter((x) => x.type === 'lock' || x.type === 'offer')) await observer.receive(b)
  for (const b of chains) await observer.receive(b)
  return auditSupply(observer.store)
}

/** The bandwidth community, in process: two witnesses, quorum 2, one epoch of rewards. */
export function bandwidthCommunity(id: (label: string) => SeedIdentity) {
  const ws = [id('bw-witness-1'), id('bw-witness-2')]
  const config = createConfig({
    name: 'bandwidth', token: { name: 'Bandwidth token', unit: 'BWT', decimals: 3 }, start: Date.UTC(2026, 0, 1), epochLength: 3_600_000, rewardPerEpoch: 100_000, window: 1,
    components: { seeder: { metrics: ['uptime'], scorer: 'uptime', params: { maxScore: 4 } } }, witnesses: ws.map((w) => w.publicKey), quorum: 2,
  })
  const community = createCommunity(signedConfig(config, ws.map((w) => signConfig(config, w))), { crypto: ws[0]!.crypto })
  const evidence = createEvidenceStore(community)
  return {
    community,
    evidence,
    async earn(owner: SeedIdentity, w: Wallet): Promise<number> {
      const directory = createDirectory(community)
      const seeder = id('bw-seeder')
      const request = requestRegistration(owner, seeder, community.id, 'seeder')
      directory.register(approvedRegistration(request, ws.map((x) => (approveRegistration(request, x, config, community.id) as { signature: WitnessSignature }).signature)))
      const monitor = createMonitor({ directory, epoch: 0 })
      monitor.submit(signReport({ component: seeder.publicKey, epoch: 0, seq: 0, metrics: [3_600] }, seeder, community.id))
      const result = closeEpoch({ directory, karma: createKarmaLedger({ window: 1 }), metrics: monitor.close() })
      const certificate = certify(result.body, ws.map((x) => signCertificate(result.body, x, config, community.crypto)), config, community.crypto)
      await w.claim({ amount: result.amountOf(owner.publicKey), certificate, proof: result.proofFor(owner.publicKey)! })
      return result.amountOf(owner.publicKey)
    },
  }
}
