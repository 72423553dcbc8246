// Shared by bench/market.ts and its peer process (bench/_market-peer.ts): the same community from
// fixed seeds in both processes (libsodium or node:crypto), the block types a market node runs,
// and the small bench protocol that carries setup blocks, evidence, the SLA instalments (unilateral
// redeems) and the maker's cue to pay; transactions go through each node's own transaction path.
// Files named _*.ts are not benchmark groups (bench/run.mjs skips them).
import { DecodeError, createBlockTypes, decodeBlock, encodeBlock, identityFromSeed, type BlockTypes, type CborValue, type HalfBlock, type Protocol, type SeedIdentity } from '@tally/core'
import { createCommunity, createConfig, createEvidenceStore, economyTypes, signConfig, signedConfig, voucherAuthority, type Community, type EvidenceStore } from '@tally/economy'
import { createOutcomeStore, offerTypes, slaAuthority, slaCertified, type OutcomeStore } from '@tally/economy/market'
import { defaultCrypto } from '@tally/node'

export const crypto = defaultCrypto()
export const id = (label: string): SeedIdentity => identityFromSeed(crypto.sha256(new TextEncoder().encode(`bench-market/${label}`)), crypto)
export const witnesses = [id('w1'), id('w2')]
export const T0 = Date.UTC(2026, 0, 1)
export const HOUR = 3_600_000

/** A community of two witnesses (quorum 2), gateways with airtime and uptime. */
export function community(name: string, unit: string): Community {
  const config = createConfig({
    name, token: { name, unit, decimals: 3 }, start: T0, epochLength: HOUR, rewardPerEpoch: 100_000_000, window: 1,
    components: { gateway: { metrics: ['airtime', 'uptime'], scorer: 'airtime-tiers', params: { tiers: [[1_000, 1], [60_000, 4]] } } },
    witnesses: witnesses.map((w) => w.publicKey), quorum: 2,
  })
  return createCommunity(signedConfig(config, witnesses.map((w) => signConfig(config, w))), { crypto })
}

/** What a market node of a community holds: evidence, outcomes, types. */
export interface Market {
  readonly community: Community
  readonly evidence: EvidenceStore
  readonly outcomes: OutcomeStore
  readonly types: BlockTypes
}

/** The block types of a market node: the economy's, 'sla' redeems, offers (and the claims of `also`'s communities). */
export function market(c: Community, also: readonly Market[] = []): Market {
  const evidence = createEvidenceStore(c)
  const outcomes = createOutcomeStore(c)
  const sla = slaAuthority({ community: c, outcomes })
  const types = createBlockTypes([...economyTypes({ community: c, evidence, also: also.map((m) => ({ community: m.community, evidence: m.evidence })), lock: { authorities: [voucherAuthority(), sla], certified: slaCertified({ community: c, outcomes }) } }), ...offerTypes(c)])
  return { community: c, evidence, outcomes, types }
}

/**
 * The two communities of the bench, and a TTN market node that also checks BWT claims: the types
 * of each node's own agent, whose one chain holds both tokens (payload version 2).
 */
export function markets(): { ttn: Market; bw: Market; both: Market } {
  const bw = market(community('bandwidth', 'BWT'))
  const ttnCommunity = community('ttn', 'WVL')
  const both = market(ttnCommunity, [bw])
  return { ttn: both, bw, both }
}

/** The bench protocol's messages. */
export type BenchMessages = {
  /** Blocks to take in (validated by the receiving agent); the reply counts those not invalid. */
  blocks: { readonly blocks: readonly HalfBlock[] }
  taken: { readonly valid: number; readonly invalid: number; readonly first?: string }
  /** Reward evidence [owner, amount, bytes] or outcome evidence [offer, bytes], to keep. */
  evidence: { readonly reward: readonly [Uint8Array, number, Uint8Array][]; readonly outcome: readonly [Uint8Array, Uint8Array][] }
  /** Pay `amount` to `to` in `community`: the peer's node proposes and delivers it through its transaction path (node.transactions); the reply is the proposal, once agreed. */
  pay: { readonly community: string; readonly to: Uint8Array; readonly amount: number }
  proposal: { readonly block: HalfBlock }
  cpu: Record<string, never>
  usage: { readonly us: number }
}

export const BENCH_PROTOCOL = 'tally/bench/market/1'

const blocks = (v: CborValue | undefined): HalfBlock[] => {
  if (!Array.isArray(v) || v.length > 256) throw new DecodeError('blocks: at most 256')
  return v.map((b) => decodeBlock(b as Uint8Array))
}
const kind = <T>(encode: (m: T) => CborValue, decode: (b: CborValue) => T) => ({ maxBytes: 120_000, cost: 1, encode, decode })
const arr = (b: CborValue): CborValue[] => (Array.isArray(b) ? b : [])

/** The bench protocol with `handlers`. */
export function benchProtocol(handlers: Protocol<BenchMessages>['handlers']): Protocol<BenchMessages> {
  return {
    name: BENCH_PROTOCOL,
    messages: {
      blocks: kind((m) => [m.blocks.map(encodeBlock)], (b) => ({ blocks: blocks(arr(b)[0]) })),
      taken: kind((m) => [m.valid, m.invalid, m.first ?? ''], (b) => ({ valid: arr(b)[0] as number, invalid: arr(b)[1] as number, first: arr(b)[2] as string })),
      evidence: kind((m) => [m.reward.map((r) => [...r]), m.outcome.map((o) => [...o])], (b) => ({ reward: arr(arr(b)[0] ?? []) as never, outcome: arr(arr(b)[1] ?? []) as never })),
      pay: kind((m) => [m.community, m.to, m.amount], (b) => ({ community: arr(b)[0] as string, to: arr(b)[1] as Uint8Array, amount: arr(b)[2] as number })),
      proposal: kind((m) => [encodeBlock(m.block)], (b) => ({ block: decodeBlock(arr(b)[0] as Uint8Array) })),
      cpu: kind(() => [], () => ({})),
      usage: kind((m) => [m.us], (b) => ({ us: arr(b)[0] as number })),
    },
    handlers,
  }
}

/** Node limits for one busy session. */
export const LIMITS = { messagesPerSecond: 1e6, messageBurst: 1e6, bytesPerSecond: 1e10, byteBurst: 1e10, maxPendingRequests: 1024, maxIncomingRequests: 1024 }
/** What a node keeps of others' chains: the buyer's 1,000 escrow locks (≈ 300 KB) must stay held for the seller's redeems to be checked. */
export const KEEP = { perKeyBytes: 64 * 1024 * 1024, totalBytes: 512 * 1024 * 1024 }
/**
 * No push gossip: after each transaction a node pushes both halves to its push neighbours, and
 * here the only neighbour is the counterparty, which holds them already — extra messages on the
 * transfer leg alone, which would flatter the instalments' ratio. (As the economy-net bench does for witnesses.)
 */
export const GOSSIP = { pushFanout: 0 }
/** Strangers' rates as a counterparty's, so the strangers' budget does not pace what is measured before the two nodes' first transaction. */
export const STRANGERS = { strangerLimits: { messagesPerSecond: 1e6, messageBurst: 1e6, bytesPerSecond: 1e10, byteBurst: 1e10 }, strangerBudget: { messagesPerSecond: 1e6, bytesPerSecond: 1e10 }, keep: KEEP, gossip: GOSSIP }
