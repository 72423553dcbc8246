// Benchmarks of @tally/economy/market (group `market`). Run: node bench/run.mjs market (after npx tsc -b).
//
// Two processes over ws on 127.0.0.1 (this one and bench/_market-peer.ts), gossip nodes with Noise
// sessions, libsodium (or node:crypto) signatures, memory stores:
// - market.instalments_per_s: a seller redeems SLA instalments — one `redeem` block per
//   subscription, on the outcome certificate of a passed cycle (its agent checks the block by the
//   rules before signing: lock held, offer, certificate, Merkle proof, the previous redeem of the
//   lock, balance) — and sends each to the peer process, whose validator checks it again by the
//   same rules (its node's own agent) and answers; one at a time, a round trip each. An instalment
//   is a unilateral block: no transaction carries it. ratio_to_transfer: plain transfers in the
//   same run, one at a time, through the node's transaction path (node.transactions.deliver: the
//   proposal message, the peer node's agent replays what is new and countersigns by its policy,
//   the agreement is validated and stored; a round trip each). Alternating rounds of 100, so load
//   shifts hit both alike. Both cross the socket.
// - market.trades_per_s.k10: whole trades of k = 10 instalments a side, WVL against BWT: each
//   instalment an ordinary transfer of its community's token between the two nodes' own agents,
//   whose one chain each holds both tokens (payload version 2), proposed by its payer and
//   delivered through node.transactions (market's payInstalment; the maker's side on the cue of a
//   `pay` message: 30 round trips a trade); per_core divides by the CPU seconds both processes
//   used. Crosses the socket.
// - market.certify_s.100000: in process, an epoch close of 100,000 components with and without the
//   outcomes of 10,000 active offers beside it, same run, alternating (bench/_market-certify.ts,
//   which also runs alone: node --import tsx bench/_market-certify.ts).
// - market.lock_bytes, market.redeem_bytes: encoded sizes of an SLA escrow lock (the buyer's
//   proposal; its counter-lock agreement beside) and of the seller's redeem; both are what crosses
//   a socket when they travel. outcome_evidence_bytes: the evidence of one offer-epoch.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { blockHash, blockSize, createAgent, createMemoryStore, fromHex, type HalfBlock, type PeerContext, type SeedIdentity } from '@tally/core'
import {
  certify,
  closeEpoch,
  createDirectory,
  createKarmaLedger,
  createMonitor,
  createWallet,
  encodeRewardEvidence,
  signCertificate,
  signReport,
  approveRegistration,
  approvedRegistration,
  requestRegistration,
  type Wallet,
  type WitnessSignature,
} from '@tally/economy'
import { certifyOutcomes, closeOutcomes, createTrade, encodeOutcomeEvidence, offerPayload, offerView, payInstalment, redeemInstalment, signOrder, signOutcomes, slaAuthority, slaTerms, type OfferView } from '@tally/economy/market'
import { createNode } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'
import { emit, knob, note, round } from './lib.ts'
import { certifyBench } from './_market-certify.ts'
import { LIMITS, STRANGERS, benchProtocol, crypto, id, markets, witnesses, type BenchMessages, type Market } from './_market-setup.ts'

const N = knob('BENCH_MARKET_INSTALMENTS', 1_000)
const TRADES = knob('BENCH_MARKET_TRADES', 40)
// 0 skips the certification figure (for a quick run of the socket figures alone)
const CERTIFY = knob('BENCH_MARKET_CERTIFY', 1, 'non-negative-integer')
const started = performance.now()

// ## The peer process and our node

// BENCH_MARKET_PEER_ARGS: node flags for the peer process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p" to profile it)
const peerArgs = (process.env['BENCH_MARKET_PEER_ARGS'] ?? '').split(' ').filter((a) => a !== '')
const child = spawn(process.execPath, [...peerArgs, '--import', 'tsx', fileURLToPath(new URL('./_market-peer.ts', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] })
const ready = await new Promise<{ key: string; address: string }>((resolve, reject) => {
  createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line)))
  child.once('exit', (code) => reject(new Error(`the peer exited with ${code}`)))
})
// this node's own agent is the sender of the plain transfers and the taker of the trades: one chain, WVL and BWT
const { ttn, bw } = markets()
const parentKey = id('parent-node')
const node = createNode({ identity: parentKey, store: createMemoryStore({ crypto }), transport: createWsTransport({ host: '127.0.0.1', port: 0 }), head: 'local', limits: LIMITS, ...STRANGERS, types: ttn.types })
const peerKey = fromHex(ready.key)
node.addAddress(peerKey, ready.address)
const handle = node.host(benchProtocol({}))
const peer: PeerContext<BenchMessages> = await handle.peer(peerKey)
const ask = async <K extends keyof BenchMessages & string>(kind: K, message: BenchMessages[K]): Promise<unknown> => (await peer.request(kind, message, { timeoutMs: 120_000 })).message

try {
  // ## Two communities, their first epoch
  const [seller, buyer] = ['seller', 'buyer'].map(id) as [SeedIdentity, SeedIdentity]
  const peer = id('peer-node')
  if (!equalKeys(peer.publicKey, peerKey)) throw new Error('the peer node is not the bench\'s peer key')
  const wallet = (m: Market, key: SeedIdentity): Wallet => createWallet({ agent: createAgent({ head: 'local', identity: key, store: createMemoryStore({ crypto }), types: m.types }), community: m.community, evidence: m.evidence, key, authorities: [] })
  const mine = (m: Market): Wallet => createWallet({ agent: node.agent, community: m.community, evidence: m.evidence, key: parentKey })
  const [parentWvl, parentBwt] = [mine(ttn), mine(bw)]
  const epochs = (m: Market, owners: SeedIdentity[]) => {
    const directory = createDirectory(m.community)
    const gateways = owners.map((o) => id(`${o.publicKey[0]}-gw-${m.community.current.name}`))
    owners.forEach((o, i) => {
      const request = requestRegistration(o, gateways[i]!, m.community.id, 'gateway')
      directory.register(approvedRegistration(request, witnesses.map((w) => (approveRegistration(request, w, m.community.current, m.community.id) as { signature: WitnessSignature }).signature)))
    })
    const monitor = createMonitor({ directory, epoch: 0, crypto })
    const karma = createKarmaLedger({ window: 1 })
    return {
      directory,
      gateways,
      close(up: (i: number) => boolean) {
        gateways.forEach((g, i) => monitor.submit(signReport({ component: g.publicKey, epoch: monitor.epoch, seq: 0, metrics: [60_000, up(i) ? 3_600 : 3_000] }, g, m.community.id)))
        const metrics = monitor.close()
        const result = closeEpoch({ directory, karma, metrics })
        const certificate = certify(result.body, witnesses.map((w) => signCertificate(result.body, w, result.config, crypto)), result.config, crypto)
        return { metrics, result, certificate }
      },
    }
  }
  const claimAll = async (m: Market, e: ReturnType<typeof epochs>, owners: SeedIdentity[], local: Map<SeedIdentity, Wallet>, r: ReturnType<ReturnType<typeof epochs>['close']>) => {
    const remote: [Uint8Array, number, Uint8Array][] = []
    for (const o of owners) {
      const amount = r.result.amountOf(o.publicKey)
      const proof = r.result.proofFor(o.publicKey)!
      const w = local.get(o)
      if (w !== undefined) await w.claim({ amount, certificate: r.certificate, proof })
      else m.evidence.put(o.publicKey, amount, { certificate: r.certificate, proof })
      remote.push([o.publicKey, amount, encodeRewardEvidence({ certificate: r.certificate, proof })])
    }
    await ask('evidence', { reward: remote, outcome: [] })
    void e
  }

  const ttnOwners = [seller, buyer, parentKey, peer]
  const ttnEpochs = epochs(ttn, ttnOwners)
  const ws = new Map<SeedIdentity, Wallet>([[seller, wallet(ttn, seller)], [buyer, wallet(ttn, buyer)], [parentKey, parentWvl]])
  // the seller's wallet knows the 'sla' authority (its types do; the wallet reads slots and levels)
  const sellerWallet = createWallet({ agent: ws.get(seller)!.agent, community: ttn.community, evidence: ttn.evidence, key: seller, authorities: [slaAuthority({ community: ttn.community, outcomes: ttn.outcomes })] })
  await claimAll(ttn, ttnEpochs, ttnOwners, new Map([[seller, ws.get(seller)!], [buyer, ws.get(buyer)!], [parentKey, parentWvl]]), ttnEpochs.close(() => true))
  const bwOwners = [parentKey]
  const bwEpochs = epochs(bw, bwOwners)
  await claimAll(bw, bwEpochs, bwOwners, new Map([[parentKey, parentBwt]]), bwEpochs.close(() => true))
  // the peer earns no BWT: it only receives

  // ## SLA: an offer, N subscriptions of its cycle at epoch 1, the cycle certified passed
  const offerBlock = await ws.get(seller)!.agent.append('offer', offerPayload({ type: 'gateway', components: [ttnEpochs.gateways[0]!.publicKey], criteria: [{ metric: 'uptime', op: 'ge', value: 3_597 }], price: 10, cycle: 1, penalty: 0, notice: 1, from: 1, until: 100 }))
  const offer: OfferView = offerView(offerBlock, crypto)!
  const escrows: HalfBlock[] = []
  const buyerWallet = ws.get(buyer)!
  for (let i = 0; i < N; i++) {
    const proposal = await buyerWallet.lock({ to: seller.publicKey, amount: offer.price, expiry: 1 + 1 + 2, terms: slaTerms(offer, 1), propose: true })
    await buyerWallet.complete(await sellerWallet.accept(proposal, await buyerWallet.agent.store.range(buyer.publicKey, { from: Math.max(1, proposal.seq - 1) })))
    escrows.push(proposal)
  }
  const e1 = ttnEpochs.close(() => true)
  const outcomes = closeOutcomes({ directory: ttnEpochs.directory, metrics: e1.metrics, offers: [offer], rewards: e1.result.body.root })
  const outcomeCert = certifyOutcomes(outcomes.body, witnesses.map((w) => signOutcomes(outcomes.body, w, outcomes.config, crypto)), outcomes.config, crypto)
  const evidence = outcomes.evidenceFor(offer.id, outcomeCert)!
  ttn.outcomes.put(offer.id, evidence)
  await ask('evidence', { reward: [], outcome: [[offer.id, encodeOutcomeEvidence(evidence)]] })
  // the peer takes in both chains so far (untimed), in batches
  const send = async (blocks: HalfBlock[]) => {
    for (let i = 0; i < blocks.length; i += 200) {
      const r = (await ask('blocks', { blocks: blocks.slice(i, i + 200) })) as BenchMessages['taken']
      if (r.invalid > 0) throw new Error(`the peer refused setup blocks: ${r.first}`)
    }
  }
  await send([...(await ws.get(seller)!.agent.store.range(seller.publicKey)).filter((b) => b.type !== 'lock'), ...(await buyerWallet.agent.store.range(buyer.publicKey))])
  await send((await ws.get(seller)!.agent.store.range(seller.publicKey)).filter((b) => b.type === 'lock'))
  // the two nodes' chains so far (their claims), each to the other: from here on every block of
  // theirs comes with a transaction (a proposal's context, an agreement)
  await send(await node.agent.store.range(parentKey.publicKey))
  for (const b of await node.crawl(peerKey, peerKey)) if ((await node.agent.receive(b)).level === 'invalid') throw new Error('the peer\'s chain is invalid here')
  note(`market bench: setup of ${N} subscriptions in ${((performance.now() - started) / 1000).toFixed(1)} s`)

  // ## Instalments vs transfers, alternating rounds of 100
  let tInst = 0
  let tXfer = 0
  let nInst = 0
  let nXfer = 0
  let redeemBytes = 0
  // where each costs: the signer's own work (make and check the block before signing), this
  // process's CPU and the peer's CPU per item (the rest of the wall time is the socket, the event
  // loops and the machine's other load)
  const cost = { inst: { local: 0, cpu: 0, peer: 0 }, xfer: { local: 0, cpu: 0, peer: 0 } }
  const peerCpuUs = async (): Promise<number> => ((await ask('cpu', {})) as BenchMessages['usage']).us
  for (let at = 0; at < N; at += 100) {
    const upTo = Math.min(N, at + 100)
    let p0 = await peerCpuUs()
    let c0 = process.cpuUsage()
    let t0 = performance.now()
    for (let i = at; i < upTo; i++) {
      const l0 = performance.now()
      const redeem = await redeemInstalment(sellerWallet, escrows[i]!)
      cost.inst.local += performance.now() - l0
      redeemBytes = blockSize(redeem)
      const r = (await ask('blocks', { blocks: [redeem] })) as BenchMessages['taken']
      if (r.valid !== 1) throw new Error(`the peer refused an instalment: ${r.first}`)
      nInst++
    }
    tInst += performance.now() - t0
    let c = process.cpuUsage(c0)
    cost.inst.cpu += (c.user + c.system) / 1000
    let p1 = await peerCpuUs()
    cost.inst.peer += (p1 - p0) / 1000
    p0 = p1
    c0 = process.cpuUsage()
    t0 = performance.now()
    for (let i = at; i < upTo; i++) {
      const l0 = performance.now()
      const proposal = await parentWvl.send(peerKey, 1)
      cost.xfer.local += performance.now() - l0
      await node.transactions.deliver(proposal)
      nXfer++
    }
    tXfer += performance.now() - t0
    c = process.cpuUsage(c0)
    cost.xfer.cpu += (c.user + c.system) / 1000
    p1 = await peerCpuUs()
    cost.xfer.peer += (p1 - p0) / 1000
  }
  const instPerS = nInst / (tInst / 1000)
  const xferPerS = nXfer / (tXfer / 1000)
  const per = (ms: number, n: number) => round(ms / n, 2)
  emit('market.instalments_per_s', round(instPerS), 'instalments/s', {
    ratio_to_transfer: round(instPerS / xferPerS, 2), transfers_per_s: round(xferPerS), target_ratio: 0.8, instalments: nInst, transfers: nXfer,
    ms_each: { instalment: per(tInst, nInst), transfer: per(tXfer, nXfer) },
    signer_ms: { instalment: per(cost.inst.local, nInst), transfer: per(cost.xfer.local, nXfer) },
    cpu_ms: { instalment: per(cost.inst.cpu, nInst), transfer: per(cost.xfer.cpu, nXfer) },
    peer_cpu_ms: { instalment: per(cost.inst.peer, nInst), transfer: per(cost.xfer.peer, nXfer) },
    crosses: 'ws socket, 2 processes', provider: crypto.name ?? 'native', what: 'redeem signed and checked by the seller, sent, checked by the peer node\'s agent, answered; one at a time', transfer_path: 'node.transactions.deliver (proposal message, the peer node\'s agent countersigns)',
  })

  // ## Trades, k = 10
  const cpu0 = process.cpuUsage()
  const peerCpu0 = ((await ask('cpu', {})) as BenchMessages['usage']).us
  const t0 = performance.now()
  for (let n = 0; n < TRADES; n++) {
    // the maker is the peer node's agent, the taker this node's: each one chain, both tokens
    const order = await signOrder(peer, { maker: peer.publicKey, receive: peer.publicKey, give: { community: ttn.community.id, amount: 1_000 }, want: { community: bw.community.id, amount: 500 }, k: 10, expires: Date.now() + 3_600_000 }, crypto)
    const trade = createTrade(order, parentKey.publicKey, { receive: parentKey.publicKey, timeoutMs: 60_000, now: Date.now(), crypto })
    for (let d = trade.due(); d !== undefined; d = trade.due()) {
      if (d.payer === 'taker') await payInstalment(trade, 'taker', parentBwt, order.receive, node.transactions, Date.now())
      else {
        // the maker's cue; its node proposes and delivers, this node's agent countersigns by its policy
        const { block } = (await ask('pay', { community: 'ttn', to: parentKey.publicKey, amount: d.amount })) as BenchMessages['proposal']
        trade.pay('maker', d.amount, blockHash(block), Date.now())
      }
    }
    if (trade.state !== 'done') throw new Error('a trade did not complete')
  }
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const peerCpu = ((await ask('cpu', {})) as BenchMessages['usage']).us - peerCpu0
  const cpuSeconds = (cpu.user + cpu.system + peerCpu) / 1e6
  emit('market.trades_per_s.k10', round(TRADES / seconds, 1), 'trades/s', { per_core: round(TRADES / cpuSeconds, 1), cpu_s: round(cpuSeconds, 2), trades: TRADES, transfers_per_trade: 20, path: 'node.transactions (taker: payInstalment; maker: cued by a pay message)', crosses: 'ws socket, 2 processes', xchange_note: 'XChange reports over 1,000 trades/s on a 1,000-instance cluster' })

  // ## Certification with and without 10,000 offers beside 100,000 components
  if (CERTIFY > 0) certifyBench(ttn.community)

  // ## Sizes
  const agreement = (await sellerWallet.agent.store.range(seller.publicKey)).find((b) => b.type === 'lock')
  emit('market.lock_bytes', blockSize(escrows[0]!), 'bytes', { at_seq: escrows[0]!.seq, agreement_bytes: agreement === undefined ? null : blockSize(agreement), what: 'the buyer\'s SLA escrow lock (proposal); its counter-lock agreement beside', crosses: 'yes, when sent' })
  emit('market.redeem_bytes', redeemBytes, 'bytes', { at_seq: (await sellerWallet.agent.store.latest(seller.publicKey))?.seq, outcome_evidence_bytes: encodeOutcomeEvidence(evidence).length, what: 'the seller\'s redeem of one instalment (authority [1, start, amount]); the outcome evidence travels beside, once per offer-epoch', crosses: 'yes, when sent' })
} finally {
  child.stdin!.end()
  await node.close()
  note(`market bench: done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
}

function equalKeys(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
