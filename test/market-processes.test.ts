/**
 * The SLA market across processes: three community witnesses, each its own process (a gossip node
 * on ws over 127.0.0.1, LevelDB on disk, the outcome witness beside its close), and this process
 * as the gateway host, the market hub and the wallets. Over the sockets: registrations, reports,
 * offers, certification of rewards and outcomes, claims and outcome evidence.
 * - a witness down during certification: witness C is killed with SIGKILL before epoch 2 closes;
 *   A and B certify rewards and outcomes without it, and wallets fetch the evidence from them;
 * - a buyer that vanishes: after its first cycle it never renews nor answers; the seller still
 *   redeems its passed cycle and releases its own penalty lock after the expiry, alone;
 * - a seller that stops serving: its gateway sends no report in epoch 3; the certified failure
 *   lets the remaining buyer redeem the penalty, and the subscription stops;
 * and an auditor replaying every chain finds supply conserved, nothing locked, no fraud proof.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createAgent, createBlockTypes, createMemoryStore, fromHex, type HalfBlock, type ProtocolHandle, type ProtocolHost, type SeedIdentity } from '@tally/core'
import { auditSupply, createEvidenceStore, createVoucherBook, createWallet, economyTypes, requestRegistration, voucherAuthority, type Wallet } from '@tally/economy'
import { createMemoryOutbox, createRegistrar, createReporter, epochsProtocol, fetchClaim, type Reporter } from '@tally/economy/net'
import {
  createMarketView,
  createOfferSpread,
  createOutcomeStore,
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
} from '@tally/economy/market'
import { HOUR, T0, id, marketCommunity, startNode, witnessKeys } from './fixtures/market-community.ts'

const CHILD = join(import.meta.dirname, 'fixtures', 'market-witness.ts')

interface Child { proc: ChildProcess; key: string; address: string; ask: (m: object) => Promise<Record<string, unknown>> }

function spawnWitness(index: number, dir: string): Promise<Child> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, String(index), dir], { stdio: ['pipe', 'pipe', 'inherit'], cwd: import.meta.dirname })
    const waiting: ((m: Record<string, unknown>) => void)[] = []
    let ready = false
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as Record<string, unknown>
      if (!ready) {
        ready = true
        resolve({ proc, key: m['key'] as string, address: m['address'] as string, ask: (msg) => new Promise((r) => { waiting.push(r); proc.stdin!.write(JSON.stringify(msg) + '\n') }) })
      } else waiting.shift()?.(m)
    })
    proc.once('exit', (code) => { if (!ready) reject(new Error(`witness ${index} exited with ${code}`)) })
  })
}

function sharedHost(node: ProtocolHost): ProtocolHost {
  const handles = new Map<string, ProtocolHandle<never>>()
  return { host(p) { let h = handles.get(p.name); if (h === undefined) handles.set(p.name, (h = node.host(p) as unknown as ProtocolHandle<never>)); return h as never } }
}

const Processes = suite('market across processes')

Processes('a witness killed during certification, a buyer that vanishes, a seller that stops serving', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-market-'))
  const children: Child[] = []
  const nodes: { close(): Promise<void> }[] = []
  const reporters: Reporter[] = []
  try {
    for (let i = 0; i < 3; i++) children.push(await spawnWitness(i, dir))
    const peers = children.map((c) => [c.key, c.address])
    for (const c of children) assert.equal((await c.ask({ cmd: 'peers', peers })).ok, true)
    const community = marketCommunity()
    const hub = await startNode(id('hub'))
    const gateways = await startNode(id('gateways'))
    nodes.push(hub, gateways)
    for (const n of [hub, gateways]) for (const c of children) n.addAddress(fromHex(c.key), c.address)
    /** Close the open epoch at `which`, then what each holds of it (announcements travel in between). */
    const closeAll = async (which = children): Promise<Record<string, unknown>[]> => {
      let epoch = -1
      for (const c of which) epoch = (await c.ask({ cmd: 'close' }))['epoch'] as number
      await new Promise((r) => setTimeout(r, 100))
      const out: Record<string, unknown>[] = []
      for (const c of which) out.push(await c.ask({ cmd: 'status', epoch }))
      return out
    }

    // wallets, in this process
    const evidence = createEvidenceStore(community)
    const outcomes = createOutcomeStore(community)
    const lockOptions = { authorities: [voucherAuthority(), slaAuthority({ community, outcomes })], certified: slaCertified({ community, outcomes }) }
    let now = T0 + 10
    const at = (e: number) => void (now = T0 + e * HOUR + 10)
    const member = (label: string): { key: SeedIdentity; gateway: SeedIdentity; wallet: Wallet; view: ReturnType<typeof createMarketView> } => {
      const key = id(label)
      const view = createMarketView({ community })
      const types = createBlockTypes([...economyTypes({ community, evidence, lock: { ...lockOptions, vouchers: createVoucherBook(), ...slaPolicy({ community, seller: key.publicKey, view, now: () => now }) } }), ...offerTypes(community)])
      const agent = createAgent({ head: 'local', identity: key, store: createMemoryStore(), types, clock: () => now })
      return { key, gateway: id(`${label}/gw`), view, wallet: createWallet({ agent, community, evidence, key, authorities: lockOptions.authorities }) }
    }
    const [seller, stays, vanishes] = [member('seller'), member('buyer-stays'), member('buyer-vanishes')]
    const everyone = [seller, stays, vanishes]
    const registrar = createRegistrar({ host: hub, community })
    for (const m of everyone) assert.is((await registrar.register(requestRegistration(m.key, m.gateway, community.id, 'gateway'))).applied, 3)
    const reportHost = sharedHost(gateways)
    for (const m of everyone) reporters.push(createReporter({ key: m.gateway, community, host: reportHost, outbox: createMemoryOutbox() }))
    const report = async (e: number, sellerUp: boolean) => {
      await Promise.all(everyone.map((m, i) => (i === 0 && !sellerUp ? undefined : reporters[i]!.report({ epoch: e, metrics: [60_000, 3_600] }))))
      await Promise.all(reporters.map((r) => r.flush()))
    }

    // epoch 0: everyone earns and claims over the sockets
    at(0)
    await report(0, true)
    const c0 = await closeAll()
    assert.ok(c0.every((r) => r['rewards'] === true), JSON.stringify(c0))
    const epochs = hub.host(epochsProtocol())
    const earned: number[] = []
    for (const m of everyone) {
      const claim = await fetchClaim(epochs, community.current.witnesses, 0, m.key.publicKey)
      await m.wallet.claim(claim)
      earned.push(claim.amount)
    }

    // the seller lists an offer; it reaches every witness
    const block = await seller.wallet.agent.append('offer', offerPayload({ type: 'gateway', components: [seller.gateway.publicKey], criteria: [{ metric: 'uptime', op: 'ge', value: 3_597 }], price: 40, cycle: 1, penalty: 25, notice: 1, from: 1, until: 20 }))
    const offer = offerView(block)!
    seller.view.add(block)
    createOfferSpread({ host: hub, view: createMarketView({ community }), peers: () => community.current.witnesses }).publish(block)
    const handle = hub.host(outcomesProtocol())
    const cycle = async (buyer: typeof stays, start: number): Promise<{ escrow: HalfBlock; penalty: HalfBlock }> => {
      await buyer.wallet.agent.receive(block)
      const escrow = await subscribe(buyer.wallet, offer, start)
      const penalty = await seller.wallet.accept(escrow, await buyer.wallet.agent.store.range(buyer.key.publicKey))
      await buyer.wallet.complete(penalty)
      return { escrow, penalty }
    }
    const verdict = async (start: number) => {
      await fetchOutcome(handle, community.current.witnesses, outcomes, offer.id, start)
      return cycleVerdict(offer, start, outcomes)
    }

    // epoch 1: both buyers subscribe; the gateway serves; both instalments are paid
    at(1)
    const s1 = await cycle(stays, 1)
    const v1 = await cycle(vanishes, 1)
    await report(1, true)
    const c1 = await closeAll()
    assert.ok(c1.every((r) => r['outcomes'] === 1), JSON.stringify(c1))
    assert.equal(await verdict(1), { state: 'passed' })
    await redeemInstalment(seller.wallet, s1.escrow)
    await redeemInstalment(seller.wallet, v1.escrow)

    // epoch 2: only one buyer renews (the other has vanished); witness C is killed before the close
    at(2)
    const s2 = await cycle(stays, 2)
    await report(2, true)
    children[2]!.proc.kill('SIGKILL')
    const c2 = await closeAll(children.slice(0, 2))
    assert.ok(c2.every((r) => r['rewards'] === true && r['outcomes'] === 1), `A and B certify without C: ${JSON.stringify(c2)}`)
    assert.equal(await verdict(2), { state: 'passed' }, 'the evidence comes from A or B')
    await redeemInstalment(seller.wallet, s2.escrow)

    // epoch 3: the seller stops serving; the remaining buyer takes the penalty and stops
    at(3)
    const s3 = await cycle(stays, 3)
    await report(3, false)
    await closeAll(children.slice(0, 2))
    assert.equal(await verdict(3), { state: 'failed', epoch: 3 })
    await redeemPenalty(stays.wallet, s3.penalty, 3)

    // after the expiries: leftovers come back, each owner alone (the vanished buyer does nothing)
    at(3 + 1 + 2 + 1)
    for (const p of [s1.penalty, v1.penalty, s2.penalty]) await seller.wallet.release(p)
    await stays.wallet.release(s3.escrow)
    const balances = [await seller.wallet.balance(), await stays.wallet.balance(), await vanishes.wallet.balance()]
    assert.equal(balances, [earned[0]! + 3 * 40 - 25, earned[1]! - 2 * 40 + 25, earned[2]! - 40], 'three instalments paid, one penalty taken, everything else back')

    // an auditor replays every chain
    const observer = createAgent({ head: 'local', identity: id('auditor'), store: createMemoryStore(), types: createBlockTypes([...economyTypes({ community, evidence, lock: lockOptions }), ...offerTypes(community)]) })
    const chains = (await Promise.all(everyone.map((m) => m.wallet.agent.store.range(m.key.publicKey)))).flat()
    for (const b of chains.filter((x) => x.type === 'lock' || x.type === 'offer')) await observer.receive(b)
    for (const b of chains) assert.not.equal((await observer.receive(b)).level, 'invalid', b.type)
    const supply = await auditSupply(observer.store)
    assert.ok(supply.ok, JSON.stringify(supply))
    assert.equal([supply.locked, supply.unbacked, supply.overdrawn], [0, 0, 0])
    assert.equal(await observer.store.fraudProofs(), [])
  } finally {
    for (const r of reporters) r.close()
    await Promise.all(nodes.map((n) => n.close()))
    for (const c of children) c.proc.stdin?.end()
    await Promise.all(children.map((c) => (c.proc.exitCode !== null || c.proc.signalCode !== null ? undefined : new Promise((r) => c.proc.once('exit', r)))))
    rmSync(dir, { recursive: true, force: true })
  }
})

Processes.run()
