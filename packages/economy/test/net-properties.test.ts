/**
 * Properties of the economy on the network, by fast-check: random schedules of epochs, claims,
 * sends, receivers that decline or fall silent, and time passing, over three witnesses and three
 * wallets on the protocol host.
 *
 * - supply is conserved at every step (auditSupply over every chain: balances + in flight =
 *   rewards − burned), and no token is ever created: no proposal is both agreed to and refunded;
 * - every refusal comes back with a reason code from the documented set;
 * - no honest party is ever accused: no fraud proof is stored anywhere, and no witness signed
 *   both tickets of a proposal (no TicketConflict can be found);
 * - once the receivers answer again and the proposals expire, settle() brings every amount in
 *   flight back: nothing stays in flight forever.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { RefusedError, blockHash, createMemoryStore, toHex, type HalfBlock } from '@tally/core'
import { auditSupply, findTicketConflict, readRefund, readTransfer, type SupplyReport } from '@tally/economy'
import { alice, bob, carol, component } from './helpers.ts'
import { network, register, reportAll, type Net } from './net-fixtures.ts'
import { members, type Member } from './net-wallets.ts'

const who = [alice, bob, carol]
const REASONS = new Set(['policy', 'no-answer', 'unreachable'])

type Command =
  | { kind: 'epoch'; airtime: number[] }
  | { kind: 'claim'; who: number }
  | { kind: 'send'; from: number; to: number; permille: number }
  | { kind: 'silence'; who: number }
  | { kind: 'decline'; who: number }
  | { kind: 'wait'; ms: number }

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('epoch' as const), airtime: fc.array(fc.integer({ min: 0, max: 90_000 }), { minLength: 3, maxLength: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('claim' as const), who: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('send' as const), from: fc.integer({ min: 0, max: 2 }), to: fc.integer({ min: 0, max: 2 }), permille: fc.integer({ min: 1, max: 1000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('silence' as const), who: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('decline' as const), who: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1_000, max: 700_000 }) }) },
)

async function simulate(program: readonly Command[]): Promise<void> {
  const net = network()
  for (let i = 0; i < 3; i++) await register(net, who[i]!, component(i + 1))
  const declining = new Set<string>()
  const ms = members(net, who, (proposal) => !declining.has(toHex(proposal.linkPublicKey)))
  const silent = new Set<number>()
  const certified: number[] = []
  const claimed = [-1, -1, -1]

  for (const step of program) {
    switch (step.kind) {
      case 'epoch': {
        const epoch = net.witnesses[0]!.epoch
        await reportAll(net, step.airtime.map((a, i) => [component(i + 1), [a, 1]]), epoch)
        for (const w of net.witnesses) await w.close()
        await net.harness.settle()
        if (net.witnesses[0]!.certificate(epoch) !== undefined) certified.push(epoch)
        break
      }
      case 'claim': {
        const epoch = certified.find((e) => e > claimed[step.who]!)
        if (epoch === undefined) break
        try {
          await ms[step.who]!.net.claim(epoch)
          claimed[step.who] = epoch
        } catch (err) {
          assert.ok(err instanceof RefusedError && err.reason === 'no-reward', String(err))
          claimed[step.who] = epoch
        }
        break
      }
      case 'send': {
        if (step.from === step.to || silent.has(step.from)) break
        const sender = ms[step.from]!
        const balance = await sender.net.wallet.balance()
        const amount = Math.floor((balance * step.permille) / 1000)
        if (amount < 1) break
        const sending = sender.net.send(who[step.to]!.publicKey, amount)
        sending.catch(() => {})
        if (silent.has(step.to)) await net.harness.clock.advance(30_000)
        try {
          await sending
          assert.not.ok(declining.has(toHex(who[step.to]!.publicKey)) || silent.has(step.to), 'a declining or silent receiver took a transfer')
        } catch (err) {
          assert.ok(err instanceof RefusedError && REASONS.has(err.reason ?? ''), `unexpected refusal: ${String(err)} (${(err as RefusedError).reason})`)
        }
        break
      }
      case 'silence':
        if (silent.has(step.who)) silent.delete(step.who)
        else silent.add(step.who)
        net.harness.silent(who[step.who]!.publicKey, silent.has(step.who))
        break
      case 'decline': {
        const key = toHex(who[step.who]!.publicKey)
        if (declining.has(key)) declining.delete(key)
        else declining.add(key)
        break
      }
      case 'wait':
        await net.harness.clock.advance(step.ms)
        for (const [i, m] of ms.entries()) if (!silent.has(i)) await m.net.settle()
        break
    }
    await check(net, ms)
  }

  // everyone answers again; every proposal expires; settle brings every amount back
  for (const i of [0, 1, 2]) net.harness.silent(who[i]!.publicKey, false)
  await net.harness.clock.advance(700_000)
  for (const m of ms) await m.net.settle()
  for (const m of ms) assert.equal(await m.net.inFlight(), [], 'an amount stayed in flight')
  const final = await check(net, ms)
  assert.is(final.inFlight, 0)
}

/** Supply conserved, nobody accused, no proposal both agreed to and refunded. */
async function check(net: Net, ms: readonly Member[]): Promise<SupplyReport> {
  const all = createMemoryStore()
  const batch = all.batch()
  const chains: HalfBlock[] = []
  for (const m of ms) {
    for (const b of await m.agent.store.range(m.identity.publicKey)) {
      batch.put(b)
      chains.push(b)
    }
    assert.equal(await m.agent.store.fraudProofs(), [], 'an honest party holds a fraud proof')
  }
  await batch.commit()
  const supply = await auditSupply(all)
  assert.ok(supply.ok, JSON.stringify(supply))
  assert.is(supply.truncated, 0)
  // an agreement and a refund of one proposal would need a witness that signed both tickets
  for (const refund of chains.filter((b) => b.type === 'refund')) {
    const r = readRefund(refund.payload)!
    const proposal = chains.find((b) => b.type === 'transfer' && b.linkSeq === 0 && b.seq === r.seq && b.publicKey === refund.publicKey)!
    const agreement = await all.findAgreement(proposal.publicKey, proposal.seq, proposal.linkPublicKey)
    assert.is(agreement, undefined, 'a refunded proposal was also agreed to')
    const accept = agreement === undefined ? undefined : readTransfer(agreement.payload, true)?.ticket
    if (accept !== undefined) assert.is(findTicketConflict(blockHash(proposal), readTransfer(proposal.payload, false)!.expires!, accept, r.ticket, net.community), undefined)
  }
  return supply
}

const test = suite('economy on the network (fast-check)')

test('random schedules of claims, sends, refusals and timeouts conserve supply and accuse nobody', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 4, maxLength: 18 }), async (program) => {
      const start: Command[] = [{ kind: 'epoch', airtime: [60_000, 20_000, 5_000] }, { kind: 'claim', who: 0 }, { kind: 'claim', who: 1 }, { kind: 'claim', who: 2 }]
      await simulate([...start, ...program])
    }),
    { numRuns: 15 },
  )
})

test.run()
