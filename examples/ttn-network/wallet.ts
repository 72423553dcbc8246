// An owner's wallet as its own process: its key file, its chain in a LevelDB block store, and a
// gossip node hosting the wallet, tickets, epochs and registry protocols. It registers its
// gateways (adding the owner's signature to each gateway's), claims its rewards with a
// certificate and proof fetched from a witness, and sends and receives transfers.
//
//   node --import tsx examples/ttn-network/wallet.ts --config <wallet.json>
import { join } from 'node:path'
import { toHex, type HalfBlock } from '@tally/core'
import { createEconomyTypes, createEvidenceStore, createWallet, signRegistration, type Registration, type Wallet } from '@tally/economy'
import { createNetWallet, createRegistrar, createTicketStore, type NetWallet, type Registrar } from '@tally/economy/net'
import type { Node } from '@tally/gossip'
import { defaultCrypto, openLevelStore } from '@tally/node'
import { loadOrCreateKey } from './key-file.ts'
import { readConfig } from './role-config.ts'
import { configPath, fromHex, note, readCommunity, readPeers, serve, startNode } from './role.ts'

const config = readConfig(configPath(), 'wallet')
const crypto = defaultCrypto()
const { identity, created } = loadOrCreateKey(join(config.dataDir, 'wallet.key'), crypto)
let running: { node: Node; wallet: Wallet; net: NetWallet; registrar: Registrar; communityId: Uint8Array; close: () => Promise<void> } | undefined

note('hello', { name: config.name, role: 'wallet', publicKey: toHex(identity.publicKey), keyCreated: created })

serve({
  start: () => start(),
  register: async ({ items }) => {
    const { registrar, communityId } = running!
    let applied = 0
    const refusals: string[] = []
    const todo = [...(items as { component: string; type: string; componentSignature: string }[])]
    // a few at a time: each asks every witness to approve, then delivers the signed statement
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let item = todo.shift(); item !== undefined; item = todo.shift()) {
          const registration: Registration = { community: communityId, owner: identity.publicKey, component: fromHex(item.component), type: item.type }
          const ownerSignature = signRegistration(registration, identity, crypto)
          try {
            const done = await registrar.register({ ...registration, ownerSignature, componentSignature: fromHex(item.componentSignature) })
            if (done.applied >= 2) applied++
            else refusals.push(done.refusals.map((r) => r.reason).join(','))
          } catch (err) {
            refusals.push((err as { reason?: string }).reason ?? String(err))
          }
        }
      }),
    )
    return { applied, refusals }
  },
  claim: async ({ epoch }) => {
    try {
      const block = await running!.net.claim(Number(epoch))
      return { claimed: true, seq: block.seq, balance: await running!.wallet.balance() }
    } catch (err) {
      return { claimed: false, reason: (err as { reason?: string }).reason ?? (err as Error).name, message: (err as Error).message }
    }
  },
  send: async ({ to, address, amount }) => {
    const key = fromHex(String(to))
    running!.node.addAddress(key, String(address))
    try {
      const { proposal } = await running!.net.send(key, Number(amount))
      return { sent: true, seq: proposal.seq, balance: await running!.wallet.balance() }
    } catch (err) {
      return { sent: false, reason: (err as { reason?: string }).reason ?? (err as Error).name, message: (err as Error).message }
    }
  },
  balance: async () => ({ balance: await running!.wallet.balance(), seq: (await running!.node.store.latest(identity.publicKey))?.seq ?? 0 }),
  settle: async () => {
    const s = await running!.net.settle()
    return { refunded: s.refunded.length, completed: s.completed.length, waiting: s.waiting.length }
  },
  stop: () => stop(),
})
if (process.send === undefined) await start()

async function start(): Promise<{ address: string }> {
  const community = readCommunity(config.community, crypto)
  const store = await openLevelStore({ path: join(config.dataDir, 'blocks'), crypto })
  const evidence = createEvidenceStore(community)
  const tickets = createTicketStore()
  const types = createEconomyTypes({ community, evidence, tickets })
  const { node, address } = await startNode({ identity, store, types, listen: config.listen, peers: readPeers(config.peers) })
  const wallet = createWallet({ agent: node.agent, community, evidence })
  // the node's own proposal/agreement path carries a transfer once the receiver holds its ticket
  const port = { deliver: async (proposal: HalfBlock, options?: { timeoutMs?: number }) => (await node.deliver(proposal, options?.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs })).agreement }
  const net = createNetWallet({ wallet, community, evidence, tickets, host: node, port, ttlMs: config.transferTtlMs, timeoutMs: 30_000 })
  const registrar = createRegistrar({ host: node, community })
  running = {
    node,
    wallet,
    net,
    registrar,
    communityId: community.id,
    close: async () => {
      await node.close()
      await store.close()
    },
  }
  return { address }
}

async function stop(): Promise<{ stopped: true }> {
  await running?.close()
  return { stopped: true }
}
