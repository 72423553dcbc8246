// The office's community: three witnesses, one token (BEAN, 2 decimals), hourly epochs, and a
// company wallet funded by the reward its rooftop gateway earned in epoch 0. Shared by main.ts
// and bench/channels.ts, through public APIs only.
import { createAgent, createMemoryStore, identityFromSeed, type CryptoProvider, type SeedIdentity } from '@tally/core'
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
  type Community,
  type EvidenceStore,
  type Wallet,
  type WitnessSignature,
} from '@tally/economy'
import { createChannelBook, type ChannelBook } from '@tally/economy/channels'

/** Monday 7 December 2026, 00:00 UTC: epoch 0. */
export const DAY = Date.UTC(2026, 11, 7)
export const HOUR = 3_600_000

export interface Office {
  community: Community
  evidence: EvidenceStore
  company: Wallet
  companyKey: SeedIdentity
  /** The company's channel book, which its own node's rules consult. */
  companyBook: ChannelBook
  /** A wallet for a new party (a machine, an auditor), whose node's rules consult `book`. */
  party(seed: number, book?: ChannelBook): Wallet
  clock: { now: number }
}

/** A key from a small number (examples only: real keys come from generateIdentity). */
export function key(n: number, crypto?: CryptoProvider): SeedIdentity {
  return identityFromSeed(new Uint8Array(32).fill(n), crypto)
}

/**
 * Build the office's community and fund the company wallet with `reward` base units.
 * @param crypto the provider everybody uses
 */
export async function office(crypto: CryptoProvider, reward = 100_000): Promise<Office> {
  const witnesses = [key(1, crypto), key(2, crypto), key(3, crypto)]
  const companyKey = key(10, crypto)
  const gateway = key(11, crypto)
  const config = createConfig({
    name: 'office', token: { name: 'Bean', unit: 'BEAN', decimals: 2 }, start: DAY, epochLength: HOUR, rewardPerEpoch: reward, window: 1,
    witnesses: witnesses.map((w) => w.publicKey), quorum: 2,
    components: { gateway: { metrics: ['airtime', 'messages'], scorer: 'airtime-tiers', params: { tiers: [[1_000, 1]] } } },
  })
  const community = createCommunity(signedConfig(config, [signConfig(config, witnesses[0]!), signConfig(config, witnesses[1]!)]), { crypto })
  const directory = createDirectory(community)
  const request = requestRegistration(companyKey, gateway, community.id, 'gateway')
  directory.register(approvedRegistration(request, witnesses.slice(0, 2).map((w) => (approveRegistration(request, w, config, community.id) as { signature: WitnessSignature }).signature)))
  const monitor = createMonitor({ directory, epoch: 0 })
  monitor.submit(signReport({ component: gateway.publicKey, epoch: 0, seq: 0, metrics: [5_000, 40] }, gateway, community.id))
  const epoch = closeEpoch({ directory, karma: createKarmaLedger({ window: 1 }), metrics: monitor.close() })
  const certificate = certify(epoch.body, witnesses.slice(0, 2).map((w) => signCertificate(epoch.body, w, config)), config)
  const evidence = createEvidenceStore(community)
  const clock = { now: DAY + 8 * HOUR }
  const party = (seed: number, book: ChannelBook = createChannelBook()): Wallet => {
    const identity = key(seed, crypto)
    const types = createEconomyTypes({ community, evidence, lock: { receipts: book } })
    const agent = createAgent({ head: 'local', identity, store: createMemoryStore(), types, clock: () => clock.now })
    return createWallet({ agent, community, evidence, key: identity })
  }
  const companyBook = createChannelBook()
  const company = party(10, companyBook)
  await company.claim({ amount: epoch.amountOf(companyKey.publicKey), certificate, proof: epoch.proofFor(companyKey.publicKey)! })
  return { community, evidence, company, companyKey, companyBook, party, clock }
}
