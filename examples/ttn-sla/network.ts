// The example's network: three community witnesses, a gateway host (every component's reporter)
// and a market hub (registrations, offers, claims and outcome evidence for the market's wallets),
// each a gossip node on ws over 127.0.0.1 with its own port (port 0: the system picks). Everything
// between them crosses a socket, through a Noise session, as it would between hosts.
import { type BlockStore, type BlockTypes, type ProtocolHandle, type ProtocolHost, type SeedIdentity, createMemoryStore } from '@tally/core'
import type { Community } from '@tally/economy'
import { createWitness, type Witness } from '@tally/economy/net'
import { createMarketView, createOfferSpread, createOutcomeWitness, type MarketView, type OfferSpread, type OutcomeWitness } from '@tally/economy/market'
import { createNode, type Node } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'

/**
 * A node on ws, listening on 127.0.0.1 (port 0), with the demo's generous limits for the peers it
 * knows (counterparties, and those the economy's protocols admit: the witnesses admit each other,
 * the owners they registered and the host whose reports they accepted); strangers get the
 * defaults, as on a public network. With `types` (and the chain's `store`) its own agent
 * countersigns transactions by those rules and policies.
 */
export async function startNode(identity: SeedIdentity, options: { store?: BlockStore; types?: BlockTypes } = {}): Promise<Node> {
  const node = createNode({
    identity,
    store: options.store ?? createMemoryStore(),
    ...(options.types === undefined ? {} : { types: options.types }),
    transport: createWsTransport({ host: '127.0.0.1', port: 0 }),
    head: 'local',
    // a demo on one machine: hundreds of protocol messages a second between a few nodes
    limits: { messagesPerSecond: 5_000, messageBurst: 20_000, bytesPerSecond: 64 * 1024 * 1024, byteBurst: 128 * 1024 * 1024, maxPendingRequests: 512, maxIncomingRequests: 512 },
    gossip: { pullIntervalMs: 0 },
  })
  await node.listen()
  return node
}

/** One community witness: the net witness, its market view and offers spread, and its outcome witness beside the close. */
export interface WitnessNode {
  readonly name: string
  readonly node: Node
  readonly witness: Witness
  readonly view: MarketView
  readonly spread: OfferSpread
  readonly outcomes: OutcomeWitness
}

/** Start the witnesses and introduce them to each other. */
export async function startWitnesses(keys: readonly SeedIdentity[], community: Community): Promise<WitnessNode[]> {
  const out: WitnessNode[] = []
  for (const [i, key] of keys.entries()) {
    const node = await startNode(key)
    const view = createMarketView({ community })
    const spread = createOfferSpread({ host: node, view, peers: () => keys.filter((k) => k !== key).map((k) => k.publicKey) })
    const outcomes = createOutcomeWitness({ key, community, host: node, view, spread })
    const witness = createWitness({ key, community, host: node, epoch: 0, beside: outcomes.beside })
    out.push({ name: 'ABC'[i]!, node, witness, view, spread, outcomes })
  }
  for (const a of out) for (const b of out) if (a !== b) a.node.addAddress(b.node.publicKey, b.node.address!)
  return out
}

/** One node hosting a protocol for many users (reporters of one host): the first host() hosts, the others share the handle. */
export function sharedHost(node: ProtocolHost): ProtocolHost {
  const handles = new Map<string, ProtocolHandle<never>>()
  return {
    host(protocol) {
      let handle = handles.get(protocol.name)
      if (handle === undefined) handles.set(protocol.name, (handle = node.host(protocol) as unknown as ProtocolHandle<never>))
      return handle as never
    },
  }
}
