// An owner's wallet as its own process: its key file, its chain in a LevelDB block store, and a
// gossip node hosting the wallet, tickets, epochs and registry protocols. Its node never listens
// (unless its config says `listen`): it dials the witnesses, which relay for it, so other wallets
// reach it through them (@tally/gossip's relay.via), as a wallet behind NAT or in a browser is. It registers its
// gateways (adding the owner's signature to each gateway's), claims its rewards with a
// certificate and proof fetched from a witness, and sends and receives transfers.
//
//   node --import tsx examples/ttn-network/wallet.ts --config <wallet.json>
import { join } from 'node:path'
import { createMemoryStore, toHex, type SeedIdentity } from '@tally/core'
import { createEconomyTypes, createEvidenceStore, createWallet, signRegistration, type Community, type Registration, type Wallet } from '@tally/economy'
import { createNetWallet, createRegistrar, createTicketStore, seqWitnesses, type NetWallet, type Registrar } from '@tally/economy/net'
import type { Node } from '@tally/gossip'
import type { BlockStore } from '@tally/core'
import { defaultCrypto, openLevelStore } from '@tally/node'
import { loadOrCreateKey } from './key-file.ts'
import { readConfig } from './role-config.ts'
import { configPath, fromHex, note, readCommunity, readPeers, serve, startNode } from './role.ts'

const config = readConfig(configPath(), 'wallet')
const crypto = defaultCrypto()
const { identity, created } = loadOrCreateKey(join(config.dataDir, 'wallet.key'), crypto)
let running: { node: Node; wallet: Wallet; net: NetWallet; registrar: Registrar; community: Community; close: () => Promise<void> } | undefined

note('hello', { name: config.name, role: 'wallet', publicKey: toHex(identity.publicKey), keyCreated: created })

serve({
  start: () => start(),
  register: async ({ items }) => {
    const { registrar, community } = running!
    const communityId = community.id
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
    // a wallet that listens has an address; one that does not is reached through a relay
    if (typeof address === 'string' && address !== '') running!.node.addAddress(key, address)
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
  // the owner forks its chain: a second node with its key and an empty store claims `epoch` again
  // and pays `to` from that branch, at a seq its real chain has used already. The receiver checks
  // every block it takes in with the seq witnesses, so this is refused ('cheater') before any
  // ticket or countersign, and the receiver keeps the double-sign proof.
  'fork-double-spend': async ({ epoch, to, address, amount }) => {
    // the real wallet steps off its relays while the fork device is on them: a relay passes a
    // tunnel's frames to one session of a key, and two devices with one key on one relay would
    // each get some of the other's
    for (const w of readPeers(config.peers).witnesses) running!.node.disconnect(fromHex(w.publicKey))
    const fork = await walletOn(running!.community, identity, createMemoryStore({ crypto }), false)
    try {
      if (typeof address === 'string' && address !== '') fork.node.addAddress(fromHex(String(to)), address)
      await connectRelays(fork.node)
      const claim = await fork.net.claim(Number(epoch))
      const real = await running!.node.store.get(identity.publicKey, claim.seq)
      try {
        const tx = await fork.net.send(fromHex(String(to)), Number(amount))
        return { refused: false, forkedSeq: claim.seq, proposalSeq: tx.proposal.seq }
      } catch (err) {
        return { refused: true, reason: (err as { reason?: string }).reason, forkedSeq: claim.seq, differs: real !== undefined && toHex(real.signature) !== toHex(claim.signature) }
      }
    } finally {
      await fork.node.close()
      await connectRelays(running!.node)
    }
  },
  'holds-proof-against': async ({ key }) => ({ proof: await running!.node.store.hasFraud(fromHex(String(key))) }),
  stop: () => stop(),
})
if (process.send === undefined) await start()

async function start(): Promise<{ address: string }> {
  const community = readCommunity(config.community, crypto)
  const store = await openLevelStore({ path: join(config.dataDir, 'blocks'), crypto })
  const { node, address, net } = await walletOn(community, identity, store, true)
  const registrar = createRegistrar({ host: node, community })
  running = {
    node,
    wallet: net.wallet,
    net,
    registrar,
    community,
    close: async () => {
      await node.close()
      await store.close()
    },
  }
  return { address }
}

/**
 * A network wallet on its own node: the witnesses are its seq witnesses and its relays (known to
 * its operator from peers.json: admitted, so no strangers to its node), its transfers go through
 * the node's own proposal path.
 */
async function walletOn(community: Community, who: SeedIdentity, store: BlockStore, main: boolean): Promise<{ node: Node; address: string; net: NetWallet }> {
  const evidence = createEvidenceStore(community)
  const tickets = createTicketStore()
  const types = createEconomyTypes({ community, evidence, tickets })
  const peers = readPeers(config.peers)
  const relays = peers.witnesses.map((w) => fromHex(w.publicKey))
  const { node, address } = await startNode({
    identity: who,
    store,
    types,
    listen: main ? config.listen : undefined,
    peers,
    node: { witnesses: seqWitnesses(community), relay: { via: relays }, known: relays },
  })
  if (main) await connectRelays(node)
  const wallet = createWallet({ agent: node.agent, community, evidence })
  const net = createNetWallet({ wallet, community, evidence, tickets, host: node, port: node.transactions, ttlMs: config.transferTtlMs, timeoutMs: 30_000 })
  return { node, address, net }
}

/** Dial every relay (witness) not connected yet: a tunnel to another wallet goes through one both hold a session to. */
async function connectRelays(node: Node): Promise<void> {
  const connected = new Set(node.peers.map((p) => toHex(p.publicKey)))
  await Promise.all(
    readPeers(config.peers)
      .witnesses.filter((w) => !connected.has(w.publicKey))
      .map((w) => node.connect(w.address, { expectedPeer: fromHex(w.publicKey) }).catch(() => undefined)),
  )
}

async function stop(): Promise<{ stopped: true }> {
  await running?.close()
  return { stopped: true }
}
