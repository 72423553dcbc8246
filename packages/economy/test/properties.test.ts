/**
 * Properties of the whole economy, by fast-check. Random programs of epochs (some certified by
 * fewer than k witnesses), reward claims, transfers, burns and injected frauds by a cheater run
 * against honest wallets, while an honest observer validates every block in the order it was made:
 *
 * - exactly the fixed reward is allocated in every epoch with karma;
 * - on the observer's view, the sum of balances equals the rewards claimed minus what was burned
 *   (transfers in flight aside): no transfer creates tokens;
 * - every injected fraud is refused by the honest party it targets and invalid in the observer's
 *   view; a claim with a wrong amount, a foreign proof or fewer than k signatures is invalid;
 * - no honest agent is ever accused, refused or truncated.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { InvalidBlockError, createAgent, createMemoryStore, validate, type Agent, type CborValue, type HalfBlock } from '@tally/core'
import {
  auditSupply,
  createEconomyTypes,
  createEvidenceStore,
  createWallet,
  rewardPayload,
  type EpochCertificate,
  type EpochResult,
  type EvidenceSource,
  type Wallet,
} from '@tally/economy'
import { alice, bob, carol, certificate, chainOf, component, id, mallory, rules, runEpoch, storeWith, witnesses, world } from './helpers.ts'

const honest = [alice, bob, carol]
const everyone = [alice, bob, carol, mallory]
const observerId = id(14)

type FraudKind = 'inflate' | 'overspend' | 'double-claim' | 'wrong-amount' | 'foreign-proof' | 'weak-cert'
type Command =
  | { kind: 'epoch'; airtime: number[]; weak: boolean }
  | { kind: 'claim'; who: number }
  | { kind: 'send'; from: number; to: number; amount: number }
  | { kind: 'burn'; who: number; amount: number }
  | { kind: 'mallory-send'; to: number; amount: number }
  | { kind: 'fraud'; what: FraudKind; to: number }

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('epoch' as const), airtime: fc.array(fc.integer({ min: 0, max: 120_000 }), { minLength: 4, maxLength: 4 }), weak: fc.integer({ min: 0, max: 4 }).map((n) => n === 0) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('claim' as const), who: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('send' as const), from: fc.integer({ min: 0, max: 2 }), to: fc.integer({ min: 0, max: 3 }), amount: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('burn' as const), who: fc.integer({ min: 0, max: 2 }), amount: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('mallory-send' as const), to: fc.integer({ min: 0, max: 2 }), amount: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('fraud' as const),
      what: fc.constantFrom<FraudKind>('inflate', 'overspend', 'double-claim', 'wrong-amount', 'foreign-proof', 'weak-cert'),
      to: fc.integer({ min: 0, max: 2 }),
    }),
  },
)

/** One simulated community: four contributors (mallory among them), their wallets, an observer. */
async function simulate(program: readonly Command[]): Promise<void> {
  // registered without statements here (directory.test.ts covers them): signatures are the cost of a run
  const w = world([], { rewardPerEpoch: 1_000 })
  everyone.forEach((who, i) => w.directory.addVerified({ component: component(i + 1).publicKey, owner: who.publicKey, type: 'gateway' }))
  const evidence = createEvidenceStore(w.community)
  const types = createEconomyTypes({ community: w.community, evidence })
  const agents = everyone.map((identity) => createAgent({ head: 'local', identity, store: createMemoryStore(), types }))
  const wallets: Wallet[] = agents.map((agent) => createWallet({ agent, community: w.community, evidence }))
  const observer = createAgent({ head: 'local', identity: observerId, store: createMemoryStore(), types })
  const results: EpochResult[] = []
  const certs: (EpochCertificate | undefined)[] = []
  const weak: (EpochCertificate | undefined)[] = []
  const lastClaimed = [-1, -1, -1, -1]
  const lastCertified = [-1, -1, -1, -1] // the last claimed epoch that a quorum certified
  const mal = agents[3]!
  let dirty = false
  let frauds = 0

  /** Every block made since the last call, to the observer, in the order it was made. */
  const observe = async (...made: HalfBlock[]): Promise<void> => {
    for (const block of made) await observer.receive(block)
  }
  const chainOfAgent = (a: Agent) => a.store.range(a.publicKey)
  const refusedByHonest = async (p: Promise<unknown>, what: string) => {
    let thrown: unknown
    try {
      await p
    } catch (err) {
      thrown = err
    }
    assert.ok(thrown !== undefined, `an honest party accepted ${what}`)
    assert.ok(['ERR_FRAUD', 'ERR_REFUSED', 'ERR_INVALID_BLOCK'].includes((thrown as { code?: string }).code ?? ''), `${what}: ${String(thrown)}`)
  }
  const invalidForObserver = async (block: HalfBlock, allowed: string[], first: boolean) => {
    const result = await observer.receive(block)
    if (first) {
      assert.is(result.level, 'invalid', `the observer accepted ${block.type} ${JSON.stringify(rules(result.errors))}`)
      assert.ok(rules(result.errors).some((r) => allowed.includes(r)), `expected one of ${allowed}, got ${rules(result.errors)}`)
    } else {
      // after a first fraud the cheater's chain has a hole in the observer's view: a later block
      // is refused, or kept without its predecessor (and so outside the chain's counted prefix)
      assert.ok(result.level === 'invalid' || result.level === 'partial' || result.level === 'no-info', `the observer accepted ${block.type} at ${result.level}`)
    }
  }
  const nextEpoch = (who: number, certified: boolean) => {
    for (let e = lastClaimed[who]! + 1; e < results.length; e++) {
      if ((certified ? certs[e] : weak[e]) !== undefined && results[e]!.amountOf(everyone[who]!.publicKey) > 0) return e
    }
    return -1
  }

  for (const cmd of program) {
    switch (cmd.kind) {
      case 'epoch': {
        const r = runEpoch(w, cmd.airtime.map((a, i) => [component(i + 1), [a, 1]]))
        const sum = r.table.amounts.reduce((s, x) => s + x, 0)
        assert.is(sum, r.table.size > 0 ? 1_000 : 0, 'exactly the fixed reward is allocated')
        results.push(r)
        if (cmd.weak || sum === 0) {
          certs.push(undefined)
          weak.push(sum === 0 ? undefined : { ...certificate(r), signatures: certificate(r, witnesses.slice(0, 2)).signatures.slice(0, 1) })
        } else {
          certs.push(certificate(r, cmd.airtime[0]! % 2 === 0 ? [witnesses[0]!, witnesses[1]!] : [witnesses[1]!, witnesses[2]!]))
          weak.push(undefined)
        }
        break
      }
      case 'claim': {
        const who = cmd.who
        const weakEpoch = nextEpoch(who, false)
        if (weakEpoch >= 0) {
          // an honest wallet never signs a claim a quorum did not certify
          const r = results[weakEpoch]!
          await refusedByHonest(wallets[who]!.claim({ amount: r.amountOf(everyone[who]!.publicKey), certificate: weak[weakEpoch]!, proof: r.proofFor(everyone[who]!.publicKey)! }), 'a weak claim')
        }
        const e = nextEpoch(who, true)
        if (e < 0) break
        const r = results[e]!
        const owner = everyone[who]!.publicKey
        const block = await wallets[who]!.claim({ amount: r.amountOf(owner), certificate: certs[e]!, proof: r.proofFor(owner)! })
        lastClaimed[who] = e
        lastCertified[who] = e
        await observe(block)
        break
      }
      case 'send':
      case 'mallory-send': {
        const from = cmd.kind === 'send' ? cmd.from : 3
        const to = cmd.to === from ? (cmd.to + 1) % 3 : cmd.to
        const balance = await wallets[from]!.balance()
        if (balance <= 0) break // (the cheater's own chain may say it is below zero)
        const amount = 1 + (cmd.amount % balance)
        if (await agents[from]!.refuses(everyone[to]!.publicKey)) {
          // an honest agent holding a proof against the receiver does not even propose
          await refusedByHonest(wallets[from]!.send(everyone[to]!.publicKey, amount), 'a transfer to a proven cheater')
          break
        }
        const proposal = await wallets[from]!.send(everyone[to]!.publicKey, amount)
        const history = await chainOfAgent(agents[from]!)
        if (from === 3 && dirty) {
          // a chain that once cheated is refused, whatever this transfer looks like
          await refusedByHonest(wallets[to]!.accept(proposal, history), 'a transfer from a cheating chain')
          await observe(proposal)
          break
        }
        if (to === 3 && dirty) {
          // the cheater's agent cannot countersign on top of its own forged balance: its rules refuse
          const answered = await wallets[to]!.accept(proposal, history).catch((err: unknown) => {
            assert.instance(err, InvalidBlockError)
            return undefined
          })
          await observe(proposal)
          if (answered === undefined) break
          await wallets[from]!.complete(answered)
          await observe(answered)
          break
        }
        const agreement = await wallets[to]!.accept(proposal, history)
        await wallets[from]!.complete(agreement)
        await observe(proposal, agreement)
        break
      }
      case 'burn': {
        const balance = await wallets[cmd.who]!.balance()
        if (balance === 0) break
        await observe(await wallets[cmd.who]!.burn(1 + (cmd.amount % balance)))
        break
      }
      case 'fraud': {
        const balance = await wallets[3]!.balance()
        const target = everyone[cmd.to]!.publicKey
        const history = async () => chainOfAgent(mal)
        // an honest agent refuses to sign what its own rules reject, so the cheater signs by hand
        const forge = async (type: string, payload: CborValue, link?: Uint8Array): Promise<HalfBlock> => {
          const [forged] = chainOf(mallory, [{ type, payload, ...(link === undefined ? {} : { link }) }], await mal.store.latest(mal.publicKey))
          await mal.store.batch().put(forged!).commit()
          return forged!
        }
        let block: HalfBlock | undefined
        let allowed: string[] = []
        switch (cmd.what) {
          case 'inflate':
            block = await forge('transfer', { amount: 1, balance: balance + 4, community: w.community.id }, target)
            await refusedByHonest(wallets[cmd.to]!.accept(block, await history()), 'an inflating transfer')
            allowed = ['balance']
            break
          case 'overspend':
            block = await forge('transfer', { amount: Math.max(balance, 0) + 3, balance: Math.min(balance, 0) - 3, community: w.community.id }, target)
            await refusedByHonest(wallets[cmd.to]!.accept(block, await history()), 'an overspend')
            allowed = ['balance-negative', 'balance']
            break
          case 'double-claim': {
            const e = lastCertified[3]!
            if (e < 0) break
            const amount = results[e]!.amountOf(mallory.publicKey)
            block = await forge('reward', rewardPayload({ epoch: e, amount, before: balance, root: certs[e]!.root, community: w.community.id }))
            allowed = ['reward-epoch', 'reward-history']
            break
          }
          case 'wrong-amount': {
            const e = nextEpoch(3, true)
            if (e < 0) break
            const amount = results[e]!.amountOf(mallory.publicKey) + 1
            assert.is(evidence.put(mallory.publicKey, amount, { certificate: certs[e]!, proof: results[e]!.proofFor(mallory.publicKey)! }).ok, false)
            block = await forge('reward', rewardPayload({ epoch: e, amount, before: balance, root: certs[e]!.root, community: w.community.id }))
            lastClaimed[3] = e
            allowed = ['reward-evidence']
            break
          }
          case 'foreign-proof': {
            const e = results.findIndex((r, i) => i > lastClaimed[3]! && certs[i] !== undefined && r.amountOf(alice.publicKey) > 0)
            if (e < 0) break
            const amount = results[e]!.amountOf(alice.publicKey)
            assert.is(evidence.put(mallory.publicKey, amount, { certificate: certs[e]!, proof: results[e]!.proofFor(alice.publicKey)! }).ok, false)
            block = await forge('reward', rewardPayload({ epoch: e, amount, before: balance, root: certs[e]!.root, community: w.community.id }))
            lastClaimed[3] = e
            allowed = ['reward-evidence']
            break
          }
          case 'weak-cert': {
            const e = nextEpoch(3, false)
            if (e < 0) break
            const amount = results[e]!.amountOf(mallory.publicKey)
            assert.is(evidence.put(mallory.publicKey, amount, { certificate: weak[e]!, proof: results[e]!.proofFor(mallory.publicKey)! }).ok, false)
            block = await forge('reward', rewardPayload({ epoch: e, amount, before: balance, root: weak[e]!.root, community: w.community.id }))
            lastClaimed[3] = e
            allowed = ['reward-evidence']
            break
          }
        }
        if (block !== undefined) {
          dirty = true
          frauds++
          await invalidForObserver(block, allowed, frauds === 1)
        }
        break
      }
    }
  }

  // The honest view: supply conserved, honest chains whole, nobody honest accused.
  const supply = await auditSupply(observer.store)
  assert.ok(supply.ok, `supply not conserved: ${JSON.stringify(supply)}`)
  assert.is(supply.unmatched, 0)
  assert.ok(supply.truncated <= (dirty ? 1 : 0), 'only the cheater\'s chain may be cut short')
  for (let i = 0; i < 3; i++) {
    const own = await agents[i]!.store.latest(honest[i]!.publicKey)
    const seenByObserver = await observer.store.latest(honest[i]!.publicKey)
    assert.is(seenByObserver?.seq, own?.seq, `the observer holds all of ${i}'s chain`)
    assert.is(await observer.store.hasFraud(honest[i]!.publicKey), false, 'an honest agent was accused')
    for (const a of agents.slice(0, 3)) assert.is(await a.store.hasFraud(honest[i]!.publicKey), false)
  }
  for (const wallet of wallets.slice(0, 3)) assert.ok((await wallet.balance()) >= 0)
}

const Economy = suite('properties: the economy')

Economy('supply is conserved on the honest view under random programs with injected frauds', async () => {
  // two epochs and a claim by everyone first, so that transfers (and frauds on them) happen early
  const start: Command[] = [
    ...[0, 1].map((): Command => ({ kind: 'epoch', airtime: [70_000, 20_000, 5_000, 60_000], weak: false })),
    ...[0, 1, 2, 3].map((who): Command => ({ kind: 'claim', who })),
  ]
  await fc.assert(fc.asyncProperty(fc.array(command, { minLength: 4, maxLength: 24 }), (program) => simulate([...start, ...program])), { numRuns: 25 })
})

Economy('a fixed program that exercises every fraud', async () => {
  const epoch = (weakEpoch = false): Command => ({ kind: 'epoch', airtime: [70_000, 20_000, 5_000, 60_000], weak: weakEpoch })
  await simulate([
    epoch(), epoch(), epoch(true), epoch(),
    { kind: 'claim', who: 0 }, { kind: 'claim', who: 1 }, { kind: 'claim', who: 3 },
    { kind: 'send', from: 0, to: 1, amount: 100 }, { kind: 'mallory-send', to: 2, amount: 50 },
    { kind: 'fraud', what: 'double-claim', to: 0 }, { kind: 'fraud', what: 'wrong-amount', to: 0 },
    { kind: 'fraud', what: 'foreign-proof', to: 0 }, { kind: 'fraud', what: 'weak-cert', to: 0 },
    { kind: 'fraud', what: 'inflate', to: 1 }, { kind: 'fraud', what: 'overspend', to: 2 },
    { kind: 'mallory-send', to: 0, amount: 1 }, { kind: 'claim', who: 0 }, { kind: 'burn', who: 1, amount: 7 },
    { kind: 'send', from: 1, to: 3, amount: 3 },
  ])
})

const Claims = suite('properties: bad claims')

Claims('a claim with a wrong amount, a foreign proof or fewer than k signatures is invalid', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 120_000 }), { minLength: 4, maxLength: 4 }),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 1, max: 1_000 }),
      fc.constantFrom('amount', 'foreign', 'weak'),
      async (airtime, who, delta, flaw) => {
        const w = world(everyone.map((x, i) => [x, component(i + 1)]))
        const r = runEpoch(w, airtime.map((a, i) => [component(i + 1), [a, 1]]))
        const claimant = everyone[who]!
        const amount = r.amountOf(claimant.publicKey)
        if (amount === 0) return true
        const cert = certificate(r)
        const other = everyone.find((x) => x !== claimant && r.amountOf(x.publicKey) > 0 && r.amountOf(x.publicKey) !== amount)
        const good = { certificate: cert, proof: r.proofFor(claimant.publicKey)! }
        let claimed = amount
        let handed = good
        if (flaw === 'amount') claimed = amount + delta
        else if (flaw === 'foreign') {
          if (other === undefined) return true
          claimed = r.amountOf(other.publicKey)
          handed = { certificate: cert, proof: r.proofFor(other.publicKey)! }
        } else handed = { certificate: { ...cert, signatures: cert.signatures.slice(0, 1) }, proof: good.proof }
        const source: EvidenceSource = { evidence: () => handed }
        const types = createEconomyTypes({ community: w.community, evidence: source })
        const [block] = chainOf(claimant, [{ type: 'reward', payload: rewardPayload({ epoch: 0, amount: claimed, before: 0, root: cert.root }) }])
        const result = await validate(block!, { store: await storeWith([]), types })
        const expected = flaw === 'weak' ? 'reward-certificate' : 'reward-proof'
        // and the same claim, honest, is valid
        const [fine] = chainOf(claimant, [{ type: 'reward', payload: rewardPayload({ epoch: 0, amount, before: 0, root: cert.root }) }])
        const honestResult = await validate(fine!, { store: await storeWith([]), types: createEconomyTypes({ community: w.community, evidence: { evidence: () => good } }) })
        return result.level === 'invalid' && rules(result.errors).includes(expected) && honestResult.errors.length === 0
      },
    ),
    { numRuns: 30 },
  )
})

Economy.run()
Claims.run()
