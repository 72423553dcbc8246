import { createAgent, createMemoryStore, generateIdentity } from '@tally/core'
import { createCommunity, createConfig, signConfig, signedConfig, createDirectory, requestRegistration, approveRegistration,
  approvedRegistration, createMonitor, signReport, createKarmaLedger, closeEpoch, signCertificate, certify, createEvidenceStore,
  createEconomyTypes, createWallet, type WitnessSignature } from '@tally/economy'

const [w1, w2, w3] = [generateIdentity(), generateIdentity(), generateIdentity()]       // the witnesses
const aliceId = generateIdentity(), bobId = generateIdentity(), gatewayKey = generateIdentity() // alice's gateway has a key of its own
const config = createConfig({ name: 'ttn', token: { name: 'Wavelet', unit: 'WVL', decimals: 3 }, start: 0, epochLength: 3_600_000,
  rewardPerEpoch: 1_000_000, window: 24, witnesses: [w1.publicKey, w2.publicKey, w3.publicKey], quorum: 2,
  components: { gateway: { metrics: ['airtime', 'messages'], scorer: 'airtime-tiers', params: { tiers: [[1_000, 1], [60_000, 4]] } } } })
const community = createCommunity(signedConfig(config, [signConfig(config, w1), signConfig(config, w2)]))
const directory = createDirectory(community)
const request = requestRegistration(aliceId, gatewayKey, community.id, 'gateway')           // owner + component sign
directory.register(approvedRegistration(request, [w1, w2].map((w) => (approveRegistration(request, w, config, community.id) as { signature: WitnessSignature }).signature)))
const monitor = createMonitor({ directory, epoch: 0 })
monitor.submit(signReport({ component: gatewayKey.publicKey, epoch: 0, seq: 0, metrics: [75_000, 12] }, gatewayKey, community.id))
const karma = createKarmaLedger({ window: config.window })
const epoch = closeEpoch({ directory, karma, metrics: monitor.close() })                    // every witness runs this
const certificate = certify(epoch.body, [signCertificate(epoch.body, w1, config), signCertificate(epoch.body, w2, config)], config)
const evidence = createEvidenceStore(community)
const types = createEconomyTypes({ community, evidence })
const alice = createWallet({ agent: createAgent({ identity: aliceId, store: createMemoryStore(), types }), community, evidence })
const bob = createWallet({ agent: createAgent({ identity: bobId, store: createMemoryStore(), types }), community, evidence })
const claim = await alice.claim({ amount: epoch.amountOf(aliceId.publicKey), certificate, proof: epoch.proofFor(aliceId.publicKey)! })
const proposal = await alice.send(bobId.publicKey, 100)
await alice.complete(await bob.accept(proposal, [claim]))   // bob checks alice's chain, then countersigns
console.log(await alice.balance(), await bob.balance())    // 999900 100
