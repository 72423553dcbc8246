// The second process of bench/market.ts: a gossip node on ws (127.0.0.1, port 0) whose own agent
// holds WVL and BWT in its one chain (a named wallet per community, payload version 2): it
// countersigns the parent's transfers through its node's transaction path, validates the SLA
// instalments (redeems) it is sent with the same agent, and pays the maker's trade instalments
// through node.transactions when the parent says one is due.
//
//   out: {"ready":true,"key":hex,"address":"ws://..."}; exits when stdin closes
import { createMemoryStore, equalBytes, toHex } from '@tally/core'
import { configId, createWallet, decodeRewardEvidence, type Wallet } from '@tally/economy'
import { decodeOutcomeEvidence } from '@tally/economy/market'
import { createNode } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'
import { LIMITS, STRANGERS, benchProtocol, crypto, id, markets, type Market } from './_market-setup.ts'

const { ttn, bw } = markets()
const key = id('peer-node')
const node = createNode({ identity: key, store: createMemoryStore({ crypto }), transport: createWsTransport({ host: '127.0.0.1', port: 0 }), head: 'local', limits: LIMITS, ...STRANGERS, types: ttn.types })
const named = (m: Market): Wallet => createWallet({ agent: node.agent, community: m.community, evidence: m.evidence, key })
const wallets: Record<string, { market: Market; wallet: Wallet }> = { ttn: { market: ttn, wallet: named(ttn) }, bw: { market: bw, wallet: named(bw) } }

node.host(benchProtocol({
  async blocks(m) {
    let valid = 0
    let invalid = 0
    let first: string | undefined
    for (const b of m.blocks) {
      const r = await node.agent.receive(b)
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
      for (const { market, wallet } of Object.values(wallets)) {
        if (!equalBytes(ev.certificate.configId, configId(market.community.current, crypto))) continue
        market.evidence.put(owner, amount, ev)
        if (equalBytes(owner, key.publicKey)) await wallet.claim({ amount, certificate: ev.certificate, proof: ev.proof })
      }
    }
    for (const [offer, bytes] of m.outcome) ttn.outcomes.put(offer, decodeOutcomeEvidence(bytes))
    return { kind: 'taken', message: { valid: m.reward.length + m.outcome.length, invalid: 0 } }
  },
  async pay(m) {
    const w = wallets[m.community]
    if (w === undefined) throw new Error(`no community ${m.community}`)
    const block = await w.wallet.send(m.to, m.amount)
    await node.transactions.deliver(block)
    return { kind: 'proposal', message: { block } }
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
