/**
 * The README's Locks example, as written there: the lines between the markers below must appear
 * in README.md verbatim (so the README cannot drift from what runs), and they must run and leave
 * alice and bob holding what the README says.
 */
import { readFileSync } from 'node:fs'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createAgent, createMemoryStore } from '@tally/core'
import { auditSupply, createEconomyTypes, createEvidenceStore, createWallet, encodeVoucher, epochAt } from '@tally/economy'
import { alice as aliceId, bob as bobId, carol, certificate, component, runEpoch, world } from './helpers.ts'

const Readme = suite('readme: locks')

Readme('the Locks example runs, and the README quotes it verbatim', async () => {
  // the README's first example, in short: a community where alice claimed 1,000,000
  const w = world([[aliceId, component(1)]], { start: 0, rewardPerEpoch: 1_000_000 })
  const { config, community } = w
  const epoch = runEpoch(w, [[component(1), [75_000, 12]]])
  const evidence = createEvidenceStore(community)
  const types = createEconomyTypes({ community, evidence })
  const aliceAgent = createAgent({ head: 'local', identity: aliceId, store: createMemoryStore(), types })
  const bobAgent = createAgent({ head: 'local', identity: bobId, store: createMemoryStore(), types })
  const claim = await createWallet({ agent: aliceAgent, community, evidence }).claim({ amount: 1_000_000, certificate: certificate(epoch), proof: epoch.proofFor(aliceId.publicKey)! })
  // --- from the README (Locks) ---
  const alice = createWallet({ agent: aliceAgent, community, evidence, key: aliceId })  // the key signs vouchers
  const bob = createWallet({ agent: bobAgent, community, evidence, key: bobId })        // and consents
  const lock = await alice.lock({ to: bobId.publicKey, amount: 300, expiry: epochAt(config, Date.now()) + 24 })
  await bob.acceptVoucher(lock, encodeVoucher(await alice.voucher(lock, 30)), [claim])  // one signature check
  await bob.acceptVoucher(lock, encodeVoucher(await alice.voucher(lock, 50)))           // cumulative: supersedes
  await bob.redeem(lock)                                      // a `redeem` block: bob takes 50
  const consent = await bob.consent(lock, 250)                // before the expiry, bob agrees ...
  await alice.release(lock, { amount: 250, consent })         // ... to a `release` of the rest
  // --- end ---
  assert.is(await alice.balance(), 1_000_000 - 50)
  assert.is(await bob.balance(), 50)
  const observer = createAgent({ head: 'local', identity: carol, store: createMemoryStore(), types })
  for (const b of [...(await aliceAgent.store.range(aliceId.publicKey)), ...(await bobAgent.store.range(bobId.publicKey))]) await observer.receive(b)
  const supply = await auditSupply(observer.store)
  assert.ok(supply.ok)
  assert.is(supply.locked, 0)

  const source = readFileSync(new URL(import.meta.url), 'utf8')
  const sample = source.split('// --- from the README (Locks) ---\n')[1]!.split('  // --- end ---')[0]!
  const dedented = sample.split('\n').map((line) => line.replace(/^ {2}/, '')).join('\n').trimEnd()
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  assert.ok(readme.includes(dedented), `README.md does not quote the Locks example:\n${dedented}`)
})

Readme.run()
