/**
 * Channel properties on random schedules (fast-check): an honest payer pays, recharges and closes
 * (after the expiry, or early with the payee's consents when the payee settles by a final redeem);
 * the link drops, duplicates and reorders receipts, and a forger slips in receipts of its own and
 * receipts past the deposit; the clock moves by epochs; the payee redeems when it likes. Then:
 * - a payee never acknowledges a total beyond the deposit it holds locks for, and its total never falls;
 * - the payer never gets back value that a receipt it signed covers (Σ released = deposit − its latest total);
 * - every value the payee acknowledged is redeemed in the end;
 * - no honest party is accused: no receipt the payer signed proves a 'channel-release' against its
 *   releases, an observer takes every block of both chains and refuses nobody;
 * - supply is conserved with channels (auditSupply on the observer: ok, nothing overdrawn; what stays
 *   locked at the end is exactly what receipts signed but never delivered cover).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { RefusedError, decodeBlock, encodeBlock, type HalfBlock } from '@tally/core'
import { auditSupply, readRelease } from '@tally/economy'
import { channelReleaseProof, decodeReceipt, encodeReceipt, signReceipt, type Receipt } from '@tally/economy/channels'
import { alice, bob, mallory } from './helpers.ts'
import { channelWorld } from './channel-fixtures.ts'

type Command =
  | { kind: 'pay'; amount: number }
  | { kind: 'deliver'; pick: number; twice: boolean }
  | { kind: 'forge'; amount: number; signer: 'mallory' | 'alice-over' }
  | { kind: 'recharge'; amount: number; expiry: number }
  | { kind: 'redeem' }
  | { kind: 'tick' }
  | { kind: 'close' }
  | { kind: 'settle' }

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('pay' as const), amount: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat(), twice: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('forge' as const), amount: fc.integer({ min: 1, max: 500 }), signer: fc.constantFrom<'mallory' | 'alice-over'>('mallory', 'alice-over') }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('recharge' as const), amount: fc.integer({ min: 1, max: 80 }), expiry: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'redeem' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'tick' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'close' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'settle' as const }) },
)

const Props = suite('channel properties')

Props('honest schedules over a lossy link: deposit bound, nothing recovered that a receipt covers, supply conserved, nobody accused', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 4 }), fc.array(command, { maxLength: 30 }), async (deposit, expiry, commands) => {
      const { at, payerOf, payeeOf, claimOf, observer } = await channelWorld()
      let epoch = 0
      const a = payerOf(alice)
      const b = payeeOf(bob)
      const claim = await claimOf(a.wallet, alice)
      const { channel, lock } = await a.payer.open({ to: bob.publicKey, deposit, expiry })
      await b.payee.admit(lock, [claim])
      const signed: Receipt[] = []
      const inFlight: Uint8Array[] = []
      let acked = 0
      let closed = false
      let maxExpiry = expiry
      const ack = async (bytes: Uint8Array): Promise<void> => {
        const depositHeld = (await b.payee.state(channel)).deposit
        try {
          await b.payee.accept(bytes)
        } catch (err) {
          if (!(err instanceof RefusedError)) throw err
          return
        }
        const r = decodeReceipt(bytes)
        assert.ok(r.amount <= depositHeld, `acknowledged ${r.amount} beyond the deposit of ${depositHeld}`)
        assert.ok(r.amount > acked, 'the acknowledged total fell or stood still')
        acked = r.amount
      }
      for (const c of commands) {
        if (c.kind === 'pay') {
          const state = await a.payer.state(channel)
          if (closed || state.paid + c.amount > state.deposit) continue
          const bytes = await a.payer.pay(channel, c.amount)
          signed.push(decodeReceipt(bytes))
          inFlight.push(bytes)
        } else if (c.kind === 'deliver' && inFlight.length > 0) {
          const bytes = inFlight[c.pick % inFlight.length]!
          await ack(bytes)
          if (c.twice) await ack(bytes)
        } else if (c.kind === 'forge') {
          const counter = signed.length + 100
          const forged = c.signer === 'mallory' ? signReceipt(mallory, { channel, amount: c.amount, counter }) : signReceipt(alice, { channel, amount: (await b.payee.state(channel)).deposit + c.amount, counter })
          await ack(encodeReceipt(forged))
        } else if (c.kind === 'recharge' && !closed) {
          const more = await a.payer.recharge(channel, Math.min(c.amount, await a.wallet.balance()), epoch + c.expiry)
          maxExpiry = Math.max(maxExpiry, epoch + c.expiry)
          await b.payee.admit(decodeBlock(encodeBlock(more)))
        } else if (c.kind === 'redeem') {
          await b.payee.redeem(channel)
        } else if (c.kind === 'tick') {
          at(++epoch)
        } else if (c.kind === 'close') {
          closed = true
          await a.payer.close(channel)
        } else if (c.kind === 'settle') {
          // the payee's final redeem and consents; receipts still in flight make some unusable
          closed = true
          await a.payer.close(channel, await b.payee.close(channel))
        }
      }
      // the end: every lock expires, the payer closes, the payee redeems what it acknowledged
      at(Math.max(epoch, maxExpiry))
      await a.payer.close(channel)
      await b.payee.redeem(channel)
      const payerChain = await a.wallet.agent.store.range(alice.publicKey)
      const payeeChain = await b.wallet.agent.store.range(bob.publicKey)
      const releases = payerChain.filter((x) => x.type === 'release')
      const state = await a.payer.state(channel)
      assert.is(releases.length, state.locks.length, 'every lock released once')
      const released = releases.reduce((s, x) => s + readRelease(x.payload)!.amount, 0)
      const top = Math.max(0, ...signed.map((r) => r.amount))
      assert.is(released, state.deposit - top, 'the payer got back exactly what no receipt covers')
      for (const rel of releases) {
        const lk = state.locks.find((l) => l.seq === readRelease(rel.payload)!.lock)!
        for (const r of signed) assert.is(channelReleaseProof(lk.block, rel, r), undefined, 'an honest release was accused')
      }
      assert.is(await b.wallet.balance(), acked, 'the payee redeemed every acknowledged unit')
      // a receipt signed but never delivered leaves its value in the lock: the payer cannot take it back
      assert.is(await a.wallet.balance(), 500 - top)
      const view = observer()
      for (const x of [...payerChain, ...payeeChain] as HalfBlock[]) assert.not.equal((await view.receive(x)).level, 'invalid', x.type)
      assert.not.ok(await view.refuses(alice.publicKey))
      assert.not.ok(await view.refuses(bob.publicKey))
      assert.not.ok(await b.wallet.agent.refuses(alice.publicKey))
      const supply = await auditSupply(view.store)
      assert.ok(supply.ok, JSON.stringify(supply))
      assert.equal([supply.balances, supply.locked, supply.overdrawn], [500 - (top - acked), top - acked, 0])
    }),
    { numRuns: 40, seed: 20261205 },
  )
})

Props.run()
