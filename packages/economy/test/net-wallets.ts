/**
 * Wallet fixtures of the network tests: contributors' nodes (agent, wallet, network wallet) on the
 * in-memory host, whose transaction port calls the receiver's agent directly. Not a test file.
 */
import { ClosedError, createAgent, createMemoryStore, toHex, type Agent, type HalfBlock, type SeedIdentity } from '@tally/core'
import { createEconomyTypes, createEvidenceStore, createWallet, type EvidenceStore } from '@tally/economy'
import { createNetWallet, createTicketStore, type NetWallet, type TicketStore, type TransactionPort } from '@tally/economy/net'
import type { Net } from './net-fixtures.ts'
import type { Party } from './protocol-harness.ts'

/** One contributor's node: agent, wallet, network wallet. */
export interface Member {
  readonly identity: SeedIdentity
  readonly agent: Agent
  readonly evidence: EvidenceStore
  readonly tickets: TicketStore
  readonly net: NetWallet
  readonly party: Party
}

/**
 * Wallets for `who`, whose ports call the receiver's agent directly (a receiver that is down or
 * silent on the harness does not answer through its port either); `wrap` may put faults on a port.
 */
export function members(net: Net, who: readonly SeedIdentity[], accept?: (proposal: HalfBlock, amount: number) => boolean, wrap: (port: TransactionPort) => TransactionPort = (p) => p): Member[] {
  const agents = new Map<string, Agent>()
  const out = who.map((identity): Member => {
    const evidence = createEvidenceStore(net.community)
    const tickets = createTicketStore()
    const types = createEconomyTypes({ community: net.community, evidence, tickets })
    const agent = createAgent({ head: 'local', identity, store: createMemoryStore(), types })
    agents.set(toHex(identity.publicKey), agent)
    const party = net.harness.party(identity, agent)
    const wallet = createWallet({ agent, community: net.community, evidence })
    const port = wrap({
      async deliver(proposal: HalfBlock) {
        const receiver = agents.get(toHex(proposal.linkPublicKey))
        const state = net.harness.state(proposal.linkPublicKey)
        if (receiver === undefined || state === 'down') throw new ClosedError('the receiver is not reachable')
        if (state === 'silent') return new Promise<HalfBlock>((_, reject) => net.harness.clock.setTimeout(() => reject(new DOMException('no agreement', 'TimeoutError')), 30_000))
        return receiver.agree(proposal)
      },
    })
    return { identity, agent, evidence, tickets, party, net: createNetWallet({ wallet, community: net.community, evidence, tickets, host: party, port, ...(accept === undefined ? {} : { accept }) }) }
  })
  return out
}
