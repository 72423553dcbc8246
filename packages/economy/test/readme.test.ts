/**
 * The README's example, as written there (identities from the fixtures): it must run and end with
 * alice and bob holding what it says.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createAgent, createMemoryStore } from '@tally/core'
import {
  approveRegistration,
  approvedRegistration,
  certify,
  closeEpoch,
  createCommunity,
  createConfig,
  createDirectory,
  createEconomyTypes,
  createEvidenceStore,
  createKarmaLedger,
  createMonitor,
  createWallet,
  requestRegistration,
  signCertificate,
  signConfig,
  signReport,
  signedConfig,
  type WitnessSignature,
} from '@tally/economy'
import { alice as aliceId, bob as bobId, component, witnesses } from './helpers.ts'

const Readme = suite('readme')

Readme('the example runs', async () => {
  const [w1, w2, w3] = witnesses as [typeof aliceId, typeof aliceId, typeof aliceId]
  const gatewayKey = component(1)
  // --- from the README ---
  const config = createConfig({ name: 'ttn', token: { name: 'Wavelet', unit: 'WVL', decimals: 3 }, start: 0, epochLength: 3_600_000,
    rewardPerEpoch: 1_000_000, window: 24, witnesses: [w1.publicKey, w2.publicKey, w3.publicKey], quorum: 2,
    components: { gateway: { metrics: ['airtime', 'messages'], scorer: 'airtime-tiers', params: { tiers: [[1_000, 1], [60_000, 4]] } } } })
  const community = createCommunity(signedConfig(config, [signConfig(config, w1), signConfig(config, w2)]))
  const directory = createDirectory(community)
  const request = requestRegistration(aliceId, gatewayKey, community.id, 'gateway')
  directory.register(approvedRegistration(request, [w1, w2].map((w) => (approveRegistration(request, w, config, community.id) as { signature: WitnessSignature }).signature)))
  const monitor = createMonitor({ directory, epoch: 0 })
  monitor.submit(signReport({ component: gatewayKey.publicKey, epoch: 0, seq: 0, metrics: [75_000, 12] }, gatewayKey, community.id))
  const karma = createKarmaLedger({ window: config.window })
  const epoch = closeEpoch({ directory, karma, metrics: monitor.close() })
  const certificate = certify(epoch.body, [signCertificate(epoch.body, w1, config), signCertificate(epoch.body, w2, config)], config)
  const evidence = createEvidenceStore(community)
  const types = createEconomyTypes({ community, evidence })
  const alice = createWallet({ agent: createAgent({ head: 'local', identity: aliceId, store: createMemoryStore(), types }), community, evidence })
  const bob = createWallet({ agent: createAgent({ head: 'local', identity: bobId, store: createMemoryStore(), types }), community, evidence })
  const claim = await alice.claim({ amount: epoch.amountOf(aliceId.publicKey), certificate, proof: epoch.proofFor(aliceId.publicKey)! })
  const proposal = await alice.send(bobId.publicKey, 100)
  await alice.complete(await bob.accept(proposal, [claim]))
  // --- end ---
  assert.is(await alice.balance(), 1_000_000 - 100)
  assert.is(await bob.balance(), 100)
})

Readme.run()
