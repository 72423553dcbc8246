/**
 * Fork detection on a sparse overlay, with the default gossip settings (two push targets, the first
 * the owner's neighbour nearest the slot; pulls naming 8 chains): 150 peers knowing 3 each (~6
 * neighbours, a two-hop neighbourhood of about a quarter of the network), so that two
 * counterparties of one forker rarely see the same ring targets and only the owner's list makes
 * the two blocks of a fork meet. Real nodes (attached sessions, sim crypto) at 0% and 20% loss,
 * and the model on ten seeds each: every fork detected (the real runs: by 99% of the honest peers
 * within the settle), nobody honest accused.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createSimCrypto, runContrib, runGossipModel } from '@tally/gossip/sim'
import { crypto } from './fixtures/node-kit.ts'

const Sparse = suite('simulator: forks on a sparse overlay')
const setup = { nodes: 150, knows: 3, durationMs: 12_000, settleMs: 8000, forkProbability: 0.15 } as const

for (const loss of [0, 0.2]) {
  Sparse(`real nodes, ${loss * 100}% loss: every fork found by 99% of the honest peers`, async () => {
    const r = await runContrib({ ...setup, loss, seed: 5, sessions: 'attach', crypto: createSimCrypto(crypto) })
    assert.ok(r.forks >= 8, `forks: ${r.forks}`)
    assert.is(r.undetected, 0, 'undetected')
    assert.is(r.under99, 0, 'short of 99%')
    assert.is(r.honestAccused, 0)
  })
}

Sparse('the model, 0% and 20% loss, ten seeds: every fork found (by at least one honest peer: reaching 99% of them within the settle is the real runs’ check)', () => {
  let forks = 0
  for (let seed = 1; seed <= 10; seed++) {
    for (const loss of [0, 0.2]) {
      const r = runGossipModel({ ...setup, loss, seed })
      forks += r.forks
      assert.is(r.undetected, 0, `undetected, seed ${seed}, loss ${loss}`)
    }
  }
  assert.ok(forks >= 200, `forks: ${forks}`)
})

Sparse.run()
