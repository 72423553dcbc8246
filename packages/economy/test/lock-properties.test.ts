/**
 * False-accusation and supply runs for locks, by fast-check. Random schedules of locks (unilateral
 * and proposed), vouchers, redemptions, releases (after the expiry, or early with consent), epochs
 * passing and transfers run between three honest wallets and mallory, who behaves until she
 * cheats: she forks her chain (a lock shown to one peer, another block at the same seq to another),
 * releases what she vouched, or redeems beyond her voucher. An observer validates every block in
 * the order it was made; at the end everyone learns everything (forks included).
 *
 * - no honest agent ever holds a proof against an honest agent, and every proof held verifies;
 * - every cheat is proven: the fork to everyone, the greedy release to the payee holding the
 *   voucher, the excessive redeem to the observer;
 * - on the observer's view, balances + in flight + locked = rewards − burned, exactly, unless a
 *   greedy release got in before its voucher was known — then by exactly the value it created
 *   (`overdrawn`), which its proof shows;
 * - the observer holds every honest chain whole.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { blockHash, createAgent, createMemoryStore, signBlock, verifyFraudProof, type Agent, type HalfBlock, type SeedIdentity } from '@tally/core'
import {
  auditSupply,
  createEconomyTypes,
  createEvidenceStore,
  createVoucherBook,
  createWallet,
  lockView,
  readLock,
  redeemedLocks,
  voucherValue,
  type Voucher,
  type Wallet,
} from '@tally/economy'
import { alice, bob, carol, certificate, component, id, mallory, runEpoch, world } from './helpers.ts'
import { HOUR } from './lock-fixtures.ts'

const people = [alice, bob, carol, mallory]
const MALLORY = 3

type Cheat = 'fork' | 'over-release' | 'over-redeem'
type Command =
  | { kind: 'lock'; from: number; to: number; amount: number; expiry: number; propose: boolean }
  | { kind: 'pay'; lock: number; amount: number }
  | { kind: 'redeem'; lock: number }
  | { kind: 'release'; lock: number; early: boolean }
  | { kind: 'send'; from: number; to: number; amount: number }
  | { kind: 'tick' }
  | { kind: 'cheat'; what: Cheat; lock: number }

const who = fc.integer({ min: 0, max: 3 })
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('lock' as const), from: who, to: who, amount: fc.nat(), expiry: fc.integer({ min: 0, max: 3 }), propose: fc.boolean() }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('pay' as const), lock: fc.nat(7), amount: fc.integer({ min: 1, max: 80 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('redeem' as const), lock: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), lock: fc.nat(7), early: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('send' as const), from: who, to: who, amount: fc.nat() }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'tick' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cheat' as const), what: fc.constantFrom<Cheat>('fork', 'over-release', 'over-redeem'), lock: fc.nat(7) }) },
)

interface OpenLock {
  readonly block: HalfBlock
  readonly payer: number
  readonly payee: number
  readonly amount: number
  readonly expiry: number
  vouched: Voucher | undefined
  redeemed: number
  released: boolean
}

async function simulate(program: readonly Command[]): Promise<void> {
  const w = world([], { rewardPerEpoch: 2_000 })
  people.forEach((p, i) => w.directory.addVerified({ component: component(i + 1).publicKey, owner: p.publicKey, type: 'gateway' }))
  const r0 = runEpoch(w, people.map((_, i) => [component(i + 1), [60_000, 1]]))
  const cert = certificate(r0)
  const evidence = createEvidenceStore(w.community)
  let now = w.config.start + 10
  const clock = () => now
  const agents: Agent[] = []
  const wallets: Wallet[] = people.map((identity) => {
    const vouchers = createVoucherBook()
    const agent = createAgent({ head: 'local', identity, store: createMemoryStore(), types: createEconomyTypes({ community: w.community, evidence, lock: { vouchers } }), clock })
    agents.push(agent)
    return createWallet({ agent, community: w.community, evidence, key: identity, vouchers })
  })
  const plainTypes = createEconomyTypes({ community: w.community, evidence })
  const verifiers = plainTypes.fraudVerifiers()
  const observer = createAgent({ head: 'local', identity: id(14), store: createMemoryStore(), types: plainTypes })
  const made: HalfBlock[] = []
  const forks: HalfBlock[] = []
  const locks: OpenLock[] = []
  let dirty = false
  const cheats = { fork: 0, overRelease: [] as { payee: number }[], overRedeem: 0 }

  /** An agent's chain, after the locks its redeems name: what a peer needs to replay it. */
  /** What a sender hands a receiver: the locks its redeems name, the proposals it agreed to, and its own chain. */
  const chain = async (i: number) => {
    const store = agents[i]!.store
    const own = await store.range(people[i]!.publicKey)
    const answered: HalfBlock[] = []
    for (const b of own) {
      if (b.linkSeq === 0) continue
      const proposal = await store.get(b.linkPublicKey, b.linkSeq)
      if (proposal !== undefined) answered.push(proposal)
    }
    return [...(await redeemedLocks(store, own)), ...answered, ...own]
  }
  const observe = async (...blocks: HalfBlock[]) => {
    for (const b of blocks) {
      made.push(b)
      await observer.receive(b)
    }
  }
  /** An operation between honest parties must succeed; one involving a cheating mallory may be refused. */
  const run = async <T>(parties: number[], op: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await op()
    } catch (err) {
      if (dirty && parties.includes(MALLORY)) return undefined
      throw err
    }
  }
  /** Mallory signs by hand, after her own head. */
  const forge = async (type: string, payload: import('@tally/core').CborValue, store = true): Promise<HalfBlock> => {
    const head = await agents[MALLORY]!.store.latest(mallory.publicKey)
    const block = signBlock({ publicKey: mallory.publicKey, seq: (head?.seq ?? 0) + 1, linkPublicKey: new Uint8Array(32), linkSeq: 0, previousHash: head === undefined ? new Uint8Array(32) : blockHash(head), type, payload, timestamp: now }, mallory)
    if (store) await agents[MALLORY]!.store.batch().put(block).commit()
    return block
  }

  for (let i = 0; i < people.length; i++) {
    await observe(await wallets[i]!.claim({ amount: r0.amountOf(people[i]!.publicKey), certificate: cert, proof: r0.proofFor(people[i]!.publicKey)! }))
  }

  for (const cmd of program) {
    switch (cmd.kind) {
      case 'tick':
        now += HOUR
        break
      case 'lock': {
        const to = cmd.to === cmd.from ? (cmd.from + 1) % 4 : cmd.to
        const balance = await wallets[cmd.from]!.balance()
        if (balance <= 0) break
        const amount = 1 + (cmd.amount % Math.min(balance, 400))
        const parties = [cmd.from, to]
        const block = await run(parties, () => wallets[cmd.from]!.lock({ to: people[to]!.publicKey, amount, expiry: cmd.expiry, propose: cmd.propose }))
        if (block === undefined) break
        if (cmd.propose) {
          const agreement = await run(parties, async () => wallets[to]!.accept(block, await chain(cmd.from)))
          await observe(block)
          if (agreement === undefined) break // refused: the proposal's amount stays locked in the payer's chain
          if ((await run(parties, () => wallets[cmd.from]!.complete(agreement))) === undefined) break
          await observe(agreement)
        } else await observe(block)
        locks.push({ block, payer: cmd.from, payee: to, amount, expiry: cmd.expiry, vouched: undefined, redeemed: 0, released: false })
        break
      }
      case 'pay': {
        const l = locks[cmd.lock % Math.max(1, locks.length)]
        if (l === undefined || l.released) break
        const total = (l.vouched?.amount ?? 0) + cmd.amount
        if (total > l.amount) break
        const v = await run([l.payer, l.payee], async () => {
          const signed = await wallets[l.payer]!.voucher(l.block, total)
          return wallets[l.payee]!.acceptVoucher(l.block, signed, await chain(l.payer))
        })
        if (v !== undefined) l.vouched = v
        break
      }
      case 'redeem': {
        const l = locks[cmd.lock % Math.max(1, locks.length)]
        if (l === undefined || l.vouched === undefined || l.vouched.amount === l.redeemed) break
        const block = await run([l.payee], () => wallets[l.payee]!.redeem(l.block))
        if (block === undefined) break
        l.redeemed = l.vouched.amount
        await observe(block)
        break
      }
      case 'release': {
        const l = locks[cmd.lock % Math.max(1, locks.length)]
        if (l === undefined || l.released) break
        const due = now >= w.config.start + l.expiry * HOUR
        if (!due && !cmd.early) break
        const block = await run([l.payer, l.payee], async () => {
          if (due) return wallets[l.payer]!.release(l.block)
          const amount = l.amount - (l.vouched?.amount ?? 0)
          return wallets[l.payer]!.release(l.block, { amount, consent: await wallets[l.payee]!.consent(l.block, amount) })
        })
        if (block === undefined) break
        l.released = true
        await observe(block)
        break
      }
      case 'send': {
        const to = cmd.to === cmd.from ? (cmd.from + 1) % 4 : cmd.to
        const balance = await wallets[cmd.from]!.balance()
        if (balance <= 0) break
        const proposal = await run([cmd.from, to], () => wallets[cmd.from]!.send(people[to]!.publicKey, 1 + (cmd.amount % balance)))
        if (proposal === undefined) break
        const agreement = await run([cmd.from, to], async () => wallets[to]!.accept(proposal, await chain(cmd.from)))
        await observe(proposal)
        if (agreement === undefined) break
        if ((await run([cmd.from, to], () => wallets[cmd.from]!.complete(agreement))) === undefined) break
        await observe(agreement)
        break
      }
      case 'cheat': {
        const balance = await wallets[MALLORY]!.balance()
        if (cmd.what === 'fork') {
          if (balance < 2) break
          // two locks at one seq: one to bob (kept, and seen by the observer), one to carol (shown to carol)
          const shown = await forge('lock', { amount: 1, to: bob.publicKey, terms: null, expiry: 0, balance: balance - 1, community: w.community.id })
          const hidden = await forge('lock', { amount: 2, to: carol.publicKey, terms: null, expiry: 0, balance: balance - 2, community: w.community.id }, false)
          await agents[2]!.receive(hidden)
          forks.push(hidden)
          await observe(shown)
          cheats.fork++
          dirty = true
        } else if (cmd.what === 'over-release') {
          const l = locks.find((x) => x.payer === MALLORY && !x.released && (x.vouched?.amount ?? 0) > 0)
          if (l === undefined) break
          const greedy = await forge('release', { lock: l.block.seq, amount: l.amount, balance: balance + l.amount, community: w.community.id })
          l.released = true
          const atPayee = await agents[l.payee]!.receive(greedy)
          assert.ok(atPayee.fraud.some((p) => p.kind === 'release-excess' && verifyFraudProof(p, { verifiers }).ok), 'the payee proves the greedy release')
          await observe(greedy) // the observer does not know the voucher: it may accept it
          cheats.overRelease.push({ payee: l.payee })
          dirty = true
        } else {
          const l = locks.find((x) => x.payee === MALLORY && x.vouched !== undefined && x.vouched.amount > x.redeemed)
          if (l === undefined) break
          const amount = l.vouched!.amount - l.redeemed + 1
          const view = lockView(l.block)!
          const greedy = await forge('redeem', { lock: [view.owner, view.seq, view.id], by: ['voucher', voucherValue(l.vouched!)], amount, redeemed: l.redeemed + amount, balance: balance + amount, community: w.community.id })
          made.push(greedy)
          const seen = await observer.receive(greedy)
          assert.is(seen.level, 'invalid', 'the observer refuses a redeem beyond its voucher')
          assert.ok(seen.fraud.some((p) => p.kind === 'redeem-excess'), 'and proves it')
          cheats.overRedeem++
          dirty = true
        }
        break
      }
    }
  }

  // everyone learns everything, forks included, in the order it was made
  for (const agent of [...agents.slice(0, 3), observer]) for (const b of [...made, ...forks]) await agent.receive(b)

  // nobody honest is accused; every proof held verifies alone
  const honestKeys = people.slice(0, 3).map((p) => p.publicKey)
  for (const agent of [...agents.slice(0, 3), observer]) {
    for (const proof of await agent.store.fraudProofs()) {
      assert.ok(!honestKeys.some((k) => k.every((b, i) => b === proof.publicKey[i])), `an honest agent was accused: ${proof.kind}`)
      assert.equal(verifyFraudProof(proof, { verifiers }), { ok: true }, `a held ${proof.kind} proof does not verify`)
    }
  }
  // every cheat is proven to whom it concerns
  if (cheats.fork > 0) for (const agent of [...agents.slice(0, 3), observer]) assert.ok(await agent.refuses(mallory.publicKey), 'the fork is proven to everyone')
  for (const { payee } of cheats.overRelease) assert.ok(await agents[payee]!.refuses(mallory.publicKey))
  if (cheats.overRedeem > 0) assert.ok(await observer.refuses(mallory.publicKey))

  // supply on the observer's view
  const s = await auditSupply(observer.store)
  assert.is(s.balances + s.inFlight - s.unmatched + s.locked - s.unbacked - s.forked - s.overdrawn, s.rewards - s.burned, JSON.stringify(s))
  // a redeem of a lock on the fork's other branch is the forker's doing, proven, never unbacked
  if (s.forked > 0) assert.ok(cheats.fork > 0 && (await observer.refuses(mallory.publicKey)), 'forked value without a proven fork')
  if (cheats.overRelease.length === 0) assert.ok(s.ok, `supply not conserved: ${JSON.stringify(s)}`)
  else assert.ok(s.ok || s.overdrawn > 0)
  assert.is(s.unbacked, 0)
  for (let i = 0; i < 3; i++) {
    assert.is((await observer.store.latest(people[i]!.publicKey))?.seq, (await agents[i]!.store.latest(people[i]!.publicKey))?.seq, `the observer holds ${i}'s chain`)
    assert.ok((await wallets[i]!.balance()) >= 0)
  }
  // every lock the observer holds is a well-formed lock
  for (const l of locks) assert.ok(readLock(l.block) !== undefined)
}

const Locks = suite('properties: locks')

Locks('no honest schedule accuses an honest agent, every cheat is proven, supply is conserved', async () => {
  await fc.assert(fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 36 }), (program) => simulate(program)), { numRuns: 25, seed: 20261205 })
})

Locks('a fixed schedule that exercises every move', async () => {
  await simulate([
    { kind: 'lock', from: 0, to: 1, amount: 299, expiry: 1, propose: true },
    { kind: 'lock', from: 3, to: 2, amount: 199, expiry: 0, propose: false },
    { kind: 'lock', from: 1, to: 3, amount: 99, expiry: 2, propose: false },
    { kind: 'pay', lock: 0, amount: 40 }, { kind: 'pay', lock: 1, amount: 30 }, { kind: 'pay', lock: 2, amount: 20 },
    { kind: 'redeem', lock: 0 }, { kind: 'pay', lock: 0, amount: 5 }, { kind: 'release', lock: 0, early: true },
    { kind: 'redeem', lock: 0 }, { kind: 'send', from: 1, to: 2, amount: 10 }, { kind: 'tick' },
    { kind: 'cheat', what: 'over-redeem', lock: 0 }, { kind: 'cheat', what: 'over-release', lock: 0 }, { kind: 'cheat', what: 'fork', lock: 0 },
    { kind: 'lock', from: 2, to: 0, amount: 50, expiry: 0, propose: false }, { kind: 'pay', lock: 3, amount: 7 },
    { kind: 'release', lock: 3, early: false }, { kind: 'redeem', lock: 3 }, { kind: 'tick' }, { kind: 'tick' }, { kind: 'release', lock: 2, early: false },
  ])
})

Locks('seed 789450941: an honest payee redeems from a lock on the branch of a fork the observer did not keep', async () => {
  // the counterexample fast-check found (README, "Known defect"): the redeem was counted unbacked
  await simulate([
    { kind: 'cheat', what: 'fork', lock: 0 }, { kind: 'lock', from: 2, to: 2, amount: 0, expiry: 0, propose: true },
    { kind: 'lock', from: 3, to: 0, amount: 0, expiry: 0, propose: false }, { kind: 'send', from: 0, to: 0, amount: 0 }, { kind: 'tick' },
    { kind: 'pay', lock: 0, amount: 1 }, { kind: 'cheat', what: 'fork', lock: 0 }, { kind: 'send', from: 0, to: 0, amount: 0 },
    { kind: 'pay', lock: 0, amount: 1 }, { kind: 'redeem', lock: 0 }, { kind: 'redeem', lock: 0 }, { kind: 'pay', lock: 0, amount: 1 },
    { kind: 'lock', from: 0, to: 0, amount: 0, expiry: 0, propose: false },
  ] as never)
})

Locks.run()
