/**
 * Shared fixtures of @tally/economy's tests: identities made once from fixed seeds, a community of
 * three witnesses with quorum 2, and builders for registrations, epochs, certificates and claims.
 * Not a test file itself (the runner only runs *.test.ts).
 */
import * as assert from 'uvu/assert'
import { GENESIS_HASH, UNILATERAL_KEY, blockHash, identityFromSeed, signBlock, type HalfBlock, type SeedIdentity } from '@tally/core'
import {
  approveRegistration,
  approvedRegistration,
  certify,
  closeEpoch,
  createCommunity,
  createConfig,
  createDirectory,
  createKarmaLedger,
  createMonitor,
  signCertificate,
  signConfig,
  requestRegistration,
  signReport,
  signedConfig,
  type Community,
  type CommunityConfig,
  type ConfigFields,
  type Directory,
  type EpochCertificate,
  type EpochResult,
  type KarmaLedger,
  type Monitor,
  type SignedRegistration,
  type WitnessSignature,
} from '@tally/economy'

/** A 32-byte seed whose every byte is `n`, offset so economy keys differ from core's fixtures. */
export function seedOf(n: number): Uint8Array {
  const seed = new Uint8Array(32).fill(n & 0xff)
  seed[0] = 0xec
  seed[1] = (n >> 8) & 0xff
  return seed
}

const identities = new Map<number, SeedIdentity>()
/** The identity of seed n (cached: noble key generation costs about a millisecond). */
export function id(n: number): SeedIdentity {
  let identity = identities.get(n)
  if (identity === undefined) identities.set(n, (identity = identityFromSeed(seedOf(n))))
  return identity
}

/** Three witnesses (quorum 2), an identity provider, owners and components. */
export const witnesses: readonly SeedIdentity[] = [id(1), id(2), id(3)]
export const idp: SeedIdentity = id(9)
export const alice: SeedIdentity = id(10)
export const bob: SeedIdentity = id(11)
export const carol: SeedIdentity = id(12)
export const mallory: SeedIdentity = id(13)
/** Component n (a gateway or router key). */
export const component = (n: number): SeedIdentity => id(100 + n)

/** A fixed timestamp (2023-11-14T22:13:20Z). */
export const T0 = 1_700_000_000_000

/** The test community's configuration fields: hourly epochs, 1,000 units per epoch, n = 3. */
export function configFields(overrides: Partial<ConfigFields> = {}): ConfigFields {
  return {
    name: 'test-community',
    token: { name: 'Wavelet', unit: 'WVL', decimals: 3 },
    start: T0,
    epochLength: 3_600_000,
    rewardPerEpoch: 1_000,
    window: 3,
    components: {
      gateway: { metrics: ['airtime', 'messages'], scorer: 'airtime-tiers', params: { tiers: [[1_000, 1], [10_000, 2], [60_000, 4]] } },
      router: { metrics: ['uptime'], scorer: 'uptime', params: { maxScore: 4, minPermille: 500 } },
    },
    witnesses: witnesses.map((w) => w.publicKey),
    quorum: 2,
    ...overrides,
  }
}

/** A genesis configuration signed by its first `signers` witnesses. */
export function genesis(overrides: Partial<ConfigFields> = {}, signers: readonly SeedIdentity[] = witnesses.slice(0, 2)): { config: CommunityConfig; community: Community } {
  const config = createConfig(configFields(overrides))
  const community = createCommunity(signedConfig(config, signers.map((w) => signConfig(config, w))))
  return { config, community }
}

/** A registration of `comp` to `owner`, signed by both and approved by `approvers`. */
export function registration(community: Community, owner: SeedIdentity, comp: SeedIdentity, type = 'gateway', approvers: readonly SeedIdentity[] = witnesses.slice(0, 2)): SignedRegistration {
  const request = requestRegistration(owner, comp, community.id, type)
  const approvals = approvers.map((w) => {
    const a = approveRegistration(request, w, community.current, community.id)
    assert.ok(a.ok, 'the approver declined')
    return (a as { signature: WitnessSignature }).signature
  })
  return approvedRegistration(request, approvals)
}

/** A world: community, directory, monitor, karma ledger. */
export interface World {
  config: CommunityConfig
  community: Community
  directory: Directory
  monitor: Monitor
  karma: KarmaLedger
}

/** A fresh world with `components` = [owner, component, type] registered through statements. */
export function world(entries: readonly [SeedIdentity, SeedIdentity, string?][] = [], overrides: Partial<ConfigFields> = {}): World {
  const { config, community } = genesis(overrides)
  const directory = createDirectory(community)
  for (const [owner, comp, type] of entries) {
    const outcome = directory.register(registration(community, owner, comp, type ?? 'gateway'))
    assert.ok(outcome.ok, `registration refused: ${JSON.stringify(outcome)}`)
  }
  return { config, community, directory, monitor: createMonitor({ directory, epoch: 0 }), karma: createKarmaLedger({ window: config.window }) }
}

/** Submit one report per [component, metrics] for the monitor's open epoch, then close it. */
export function runEpoch(w: World, reports: readonly [SeedIdentity, number[]][]): EpochResult {
  const seqs = new Map<SeedIdentity, number>()
  for (const [comp, metrics] of reports) {
    const seq = seqs.get(comp) ?? 0
    seqs.set(comp, seq + 1)
    const verdict = w.monitor.submit(signReport({ component: comp.publicKey, epoch: w.monitor.epoch, seq, metrics }, comp, w.community.id))
    assert.ok(verdict.ok, `report refused: ${JSON.stringify(verdict)}`)
  }
  return closeEpoch({ directory: w.directory, karma: w.karma, metrics: w.monitor.close() })
}

/** The certificate of an epoch result, signed by `signers`. */
export function certificate(result: EpochResult, signers: readonly SeedIdentity[] = witnesses.slice(0, 2)): EpochCertificate {
  return certify(result.body, signers.map((w) => signCertificate(result.body, w, result.config)), result.config)
}

// a memory store holding given blocks, rule codes of violations, and throwsLike: as in core's tests
export { rules, storeWith, throwsLike } from '../../core/test/helpers.ts'

/** The same for a promise. */
export async function rejectsLike(p: Promise<unknown>, cls: abstract new (...args: never[]) => Error, pattern?: RegExp): Promise<Error> {
  let thrown: unknown
  try {
    await p
  } catch (err) {
    thrown = err
  }
  assert.ok(thrown !== undefined, `expected ${cls.name}, the promise resolved`)
  assert.ok(thrown instanceof cls, `expected ${cls.name}, got ${String(thrown)}`)
  if (pattern !== undefined) assert.match((thrown as Error).message, pattern)
  return thrown as Error
}

/** One block of a hand-built chain: type, payload, and the counterparty (default: unilateral). */
export interface Step {
  type: string
  payload: import('@tally/core').CborValue
  link?: Uint8Array
  linkSeq?: number
}

/**
 * Blocks by `who`, each chaining to the one before (after `start`, if given), signed as an
 * attacker holding the key could: no rule is checked.
 */
export function chainOf(who: SeedIdentity, steps: readonly Step[], start?: HalfBlock): HalfBlock[] {
  const out: HalfBlock[] = []
  let prev = start
  for (const step of steps) {
    const seq = (prev?.seq ?? 0) + 1
    const block = signBlock(
      {
        publicKey: who.publicKey,
        seq,
        linkPublicKey: step.link ?? UNILATERAL_KEY,
        linkSeq: step.linkSeq ?? 0,
        previousHash: prev === undefined ? GENESIS_HASH : blockHash(prev),
        type: step.type,
        payload: step.payload,
        timestamp: T0 + seq,
      },
      who,
    )
    out.push(block)
    prev = block
  }
  return out
}
