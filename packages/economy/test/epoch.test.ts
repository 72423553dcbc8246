/**
 * Epoch close: metrics → scores → moving windows → owner karma → allocation → Merkle root. Two
 * witnesses with the same reports find the same root whatever order things arrived in; exactly
 * the fixed reward is allocated; revoked components earn nothing; every allocated owner can prove
 * its amount.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { equalBytes } from '@tally/core'
import {
  allocationLeaf,
  approveRevocation,
  closeEpoch,
  createDirectory,
  createKarmaLedger,
  createMonitor,
  emptyRoot,
  signReport,
  sortSignatures,
  verifyMerkleProof,
  type ScorerFactory,
} from '@tally/economy'
import { alice, bob, carol, certificate, component, genesis, mallory, registration, runEpoch, throwsLike, witnesses, world } from './helpers.ts'

const Close = suite('epoch: close')

Close('scores, karma and amounts of a small community', () => {
  const w = world([[alice, component(1)], [bob, component(2)], [bob, component(3), 'router']])
  const r = runEpoch(w, [[component(1), [70_000, 3]], [component(2), [5_000, 1]], [component(3), [3_600]]])
  assert.equal([...r.scores], [4, 1, 4])
  assert.is(r.karmaOf(alice.publicKey), 4)
  assert.is(r.karmaOf(bob.publicKey), 5)
  // 1000 × 4/9 = 444.4, × 5/9 = 555.5: the larger remainder (bob's) gets the left-over unit
  assert.is(r.amountOf(alice.publicKey), 444)
  assert.is(r.amountOf(bob.publicKey), 556)
  assert.is(r.amountOf(carol.publicKey), 0)
  assert.is(r.body.total, 1_000)
  assert.is(r.body.leaves, 2)
  assert.is(r.table.size, 2)
  for (const owner of [alice, bob]) {
    assert.ok(verifyMerkleProof(allocationLeaf(owner.publicKey, r.amountOf(owner.publicKey)), r.proofFor(owner.publicKey)!, r.body.leaves, r.body.root))
  }
  assert.is(r.proofFor(carol.publicKey), undefined)
})

Close('the moving window: a component that stops reporting fades over n epochs', () => {
  const w = world([[alice, component(1)], [bob, component(2)]])
  runEpoch(w, [[component(1), [60_000, 1]], [component(2), [60_000, 1]]])
  const amounts: number[] = []
  for (let e = 1; e <= 3; e++) amounts.push(runEpoch(w, [[component(2), [60_000, 1]]]).amountOf(alice.publicKey))
  // window 3: alice's karma 4, 4, 0 against bob's 8, 12, 12
  assert.equal(amounts, [333, 250, 0])
})

Close('revoked components earn nothing from the epoch of their revocation', () => {
  const w = world([[alice, component(1)], [bob, component(2)]])
  runEpoch(w, [[component(1), [60_000, 1]], [component(2), [60_000, 1]]])
  const rev = { community: w.community.id, component: component(1).publicKey }
  assert.ok(w.directory.revoke({ ...rev, witnesses: sortSignatures(witnesses.slice(0, 2).map((x) => approveRevocation(rev, x, w.config))) }).ok)
  const r = runEpoch(w, [[component(2), [60_000, 1]]])
  assert.is(r.amountOf(alice.publicKey), 0)
  assert.is(r.amountOf(bob.publicKey), 1_000)
})

Close('an epoch where nobody has karma allocates nothing', () => {
  const w = world([[alice, component(1)]])
  const r = runEpoch(w, [[component(1), [10, 1]]])
  assert.is(r.body.total, 0)
  assert.is(r.body.leaves, 0)
  assert.equal(r.body.root, emptyRoot())
  assert.equal(certificate(r).total, 0)
})

Close('epochs close in order; a broken scorer is refused', () => {
  const w = world([[alice, component(1)]])
  const m = w.monitor.close()
  closeEpoch({ directory: w.directory, karma: w.karma, metrics: m })
  throwsLike(() => closeEpoch({ directory: w.directory, karma: w.karma, metrics: m }), RangeError, /expected 1/)
  const floaty: ScorerFactory = () => ({ score: () => 0.5 })
  const next = w.monitor.close()
  throwsLike(() => closeEpoch({ directory: w.directory, karma: w.karma, metrics: next, scorers: { 'airtime-tiers': floaty, uptime: floaty } }), RangeError, /not an integer/)
  const { community } = genesis({ fromEpoch: 5 })
  const early = createDirectory(community)
  throwsLike(() => closeEpoch({ directory: early, karma: createKarmaLedger({ window: 1 }), metrics: { ...next, epoch: 4 } }), RangeError, /no configuration/)
})

const Agreement = suite('epoch: witnesses agree')

Agreement('two witnesses, registrations and reports in different orders, find the same root', async () => {
  const entries = [[alice, component(1)], [bob, component(2)], [carol, component(3)], [alice, component(4)], [mallory, component(5)]] as const
  const { community } = genesis()
  const reports = entries.map(([, comp], i) => signReport({ component: comp.publicKey, epoch: 0, seq: 0, metrics: [(i + 1) * 7_000, i] }, comp, community.id))
  const run = async (order: number[]) => {
    const directory = createDirectory(community)
    for (const i of order) directory.register(registration(community, entries[i]![0], entries[i]![1]))
    const monitor = createMonitor({ directory, epoch: 0 })
    await monitor.ingest(order.map((i) => reports[i]!))
    return closeEpoch({ directory, karma: createKarmaLedger({ window: 3 }), metrics: monitor.close() })
  }
  const a = await run([0, 1, 2, 3, 4])
  const b = await run([4, 2, 0, 3, 1])
  assert.ok(equalBytes(a.body.root, b.body.root))
  assert.equal(a.body, b.body)
  // so their signatures combine into one certificate
  const cert = certificate(a, [witnesses[0]!, witnesses[2]!])
  assert.equal(cert.root, b.body.root)
})

const Properties = suite('epoch: properties')

Properties('exactly the fixed reward is allocated per epoch, and every amount proves', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 200_000 })), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 0, max: 10 ** 12 }),
      (rows, epochs, reward) => {
        const owners = [alice, bob, carol, mallory]
        const w = world([], { rewardPerEpoch: reward })
        rows.forEach(([o], i) => w.directory.addVerified({ component: component(i).publicKey, owner: owners[o]!.publicKey, type: 'gateway' }))
        for (let e = 0; e < epochs; e++) {
          const r = runEpoch(w, rows.map(([, airtime], i) => [component(i), [(airtime * (e + 1)) % 200_001, 1]]))
          const sum = r.table.amounts.reduce((s, x) => s + x, 0)
          const anyKarma = r.table.size > 0
          if (sum !== (anyKarma ? reward : 0) || r.body.total !== sum) return false
          for (const owner of owners) {
            const amount = r.amountOf(owner.publicKey)
            if (amount === 0) continue
            if (!verifyMerkleProof(allocationLeaf(owner.publicKey, amount), r.proofFor(owner.publicKey)!, r.body.leaves, r.body.root)) return false
            if (verifyMerkleProof(allocationLeaf(owner.publicKey, amount + 1), r.proofFor(owner.publicKey)!, r.body.leaves, r.body.root)) return false
          }
        }
        return true
      },
    ),
    { numRuns: 25 },
  )
})

Close.run()
Agreement.run()
Properties.run()
