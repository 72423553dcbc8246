/**
 * The redeem index: checking a redeem looks for the previous redeem of its lock without walking
 * the redeemer's chain to genesis each time, and stays right across stores that hold the same
 * prefix, across a fork below its point (it starts over), and for a replay far above it.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createEconomyTypes } from '@tally/economy'
import { bob, chainOf, rules, type Step } from './helpers.ts'
import { aliceChain, check, evidence, lock, redeem, voucher, w } from './lock-fixtures.ts'

const Index = suite('redeem index')
const note = (n: number): Step => ({ type: 'note', payload: n })

Index('a long chain of redeems: each valid, a replay far above the first redeem caught, the same across stores and a fork', async () => {
  const types = createEconomyTypes({ community: w.community, evidence })
  const A = aliceChain(lock(bob.publicKey, 100, 900), lock(bob.publicKey, 100, 800))
  const [L1, L2] = [A[1]!, A[2]!]
  const steps: Step[] = [redeem(L1, voucher(L1, 10, 1), 10, 10, 10)]
  for (let i = 0; i < 40; i++) steps.push(note(i))
  steps.push(redeem(L2, voucher(L2, 20, 1), 20, 20, 30))
  for (let i = 0; i < 40; i++) steps.push(note(100 + i))
  steps.push(redeem(L1, voucher(L1, 30, 2), 20, 30, 50))
  const chain = chainOf(bob, steps)
  // validated in order, each in a fresh store holding the prefix (the index is the registry's)
  for (let i = 0; i < chain.length; i++) {
    const r = await check(chain.slice(0, i + 1), A, types)
    assert.equal(r.errors, [], `seq ${i + 1}: ${rules(r.errors)}`)
  }
  // a replay of L1's first voucher at the top: the index finds the redeem 41 blocks below
  const [replay] = chainOf(bob, [redeem(L1, voucher(L1, 10, 1), 10, 40, 60)], chain[chain.length - 1])
  const r = await check([...chain, replay!], A, types)
  assert.ok(rules(r.errors).includes('redeem-replay'), rules(r.errors).join())
  // a fork of bob's chain below the index point (another block at seq 2): the index starts over
  const fork = chainOf(bob, [steps[0]!, note(999), ...steps.slice(2)])
  const rf = await check([...fork, chainOf(bob, [redeem(L1, voucher(L1, 10, 1), 10, 40, 60)], fork[fork.length - 1])[0]!], A, types)
  assert.ok(rules(rf.errors).includes('redeem-replay'), 'the replay is caught on the fork too')
  const firstOnFork = await check(chainOf(bob, [note(1), note(2), redeem(L2, voucher(L2, 20, 1), 20, 20, 20)]), A, types)
  assert.equal(firstOnFork.errors, [], 'a chain whose seq 1 differs: no stale redeem is found')
})

Index.run()
