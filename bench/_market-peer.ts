// The second process of bench/market.ts: a gossip node on ws (127.0.0.1, port 0) with a validator
// agent and wallets in two communities (TTN's WVL and a bandwidth community's BWT), driven by the
// parent through the bench protocol (bench/_market-setup.ts).
//
//   out: {"ready":true,"key":hex,"address":"ws://..."}; exits when stdin closes
import { createAgent, createMemoryStore, equalBytes, toHex, type HalfBlock, type SeedIdentity } from '@tally/core'
import { configId, createWallet, decodeRewardEvidence, type Wallet } from '@tally/economy'
import { decodeOutcomeEvidence } from '@tally/economy/market'
import { createNode } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'
import { LIMITS, STRANGERS, benchProtocol, community, crypto, id, market, type Market } from './_market-setup.ts'

const markets: Record<string, Market> = { ttn: market(community('ttn', 'WVL')), bw: market(community('bandwidth', 'BWT')) }
const validator = createAgent({ head: 'local', identity: id('peer-validator'), store: createMemoryStore({ crypto }), types: markets['ttn']!.types })
const wallets: { key: SeedIdentity; community: string; wallet: Wallet; sent: number }[] = []
for (const [label, c] of [['receiver-wvl', 'ttn'], ['maker-wvl', 'ttn'], ['maker-bwt', 'bw']] as const) {
  const key = id(label)
  const m = markets[c]!
  const agent = createAgent({ head: 'local', identity: key, store: createMemoryStore({ crypto }), types: m.types })
  wallets.push({ key, community: c, wallet: createWallet({ agent, community: m.community, evidence: m.evidence, key }), sent: 0 })
}
const walletOf = (key: Uint8Array) => wallets.find((w) => equalBytes(w.key.publicKey, key))
const makerWvl = id('maker-wvl')
const makerBwt = id('maker-bwt')

const node = createNode({ identity: id('peer-node'), store: createMemoryStore({ crypto }), transport: createWsTransport({ host: '127.0.0.1', port: 0 }), head: 'local', limits: LIMITS, ...STRANGERS })
node.host(benchProtocol({
  async blocks(m) {
    let valid = 0
    let invalid = 0
    let first: string | undefined
    for (const b of m.blocks) {
      const r = await validator.receive(b)
      if (r.level === 'invalid') {
        invalid++
        first ??= `${b.type}@${b.seq}: ${r.errors.map((e) => e.rule).join(',')}`
      } else valid++
    }
    return { kind: 'taken', message: first === undefined ? { valid, invalid } : { valid, invalid, first } }
  },
  async evidence(m) {
    for (const [owner, amount, bytes] of m.reward) {
      const ev = decodeRewardEvidence(bytes)
      for (const mk of Object.values(markets)) if (equalBytes(ev.certificate.configId, configId(mk.community.current, crypto))) mk.evidence.put(owner, amount, ev)
      const w = walletOf(owner)
      if (w !== undefined) await w.wallet.claim({ amount, certificate: ev.certificate, proof: ev.proof })
    }
    for (const [offer, bytes] of m.outcome) markets['ttn']!.outcomes.put(offer, decodeOutcomeEvidence(bytes))
    return { kind: 'taken', message: { valid: m.reward.length + m.outcome.length, invalid: 0 } }
  },
  async agree(m) {
    const w = walletOf(m.proposal.linkPublicKey)
    if (w === undefined) throw new Error(`no wallet ${toHex(m.proposal.linkPublicKey).slice(0, 8)}`)
    return { kind: 'agreement', message: { block: await w.wallet.accept(m.proposal, m.history) } }
  },
  async pay(m) {
    const w = walletOf((m.community === 'ttn' ? makerWvl : makerBwt).publicKey)!
    const block = await w.wallet.send(m.to, m.amount)
    const history: HalfBlock[] = await w.wallet.agent.store.range(w.key.publicKey, { from: w.sent + 1 })
    w.sent = block.seq
    return { kind: 'proposal', message: { block, history } }
  },
  async complete(m) {
    const w = walletOf(m.agreement.linkPublicKey)!
    await w.wallet.complete(m.agreement)
    return { kind: 'done', message: {} }
  },
  cpu() {
    const { user, system } = process.cpuUsage()
    return { kind: 'usage', message: { us: user + system } }
  },
}))
const address = await node.listen()
process.stdout.write(JSON.stringify({ ready: true, key: toHex(node.publicKey), address }) + '\n')
process.stdin.resume()
process.stdin.on('close', () => void node.close().then(() => process.exit(0)))
