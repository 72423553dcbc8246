// A gateway host as its own process: many gateway components, each with its own key (kept
// together in one key file of the host, mode 0600) and its own reporter, whose outbox lives in the
// host's LevelDB records (one table, a prefix per component: what a reporter signed and has not
// delivered survives a crash). Every epoch, at `reportAt` of the epoch, each gateway signs a report
// of the airtime it carried and its reporter delivers it to every witness, retrying with backoff.
//
//   node --import tsx examples/ttn-network/gateways.ts --config <gateways.json>
import { join } from 'node:path'
import { toHex } from '@tally/core'
import { signRegistration, type Community } from '@tally/economy'
import { createReporter, createSharedHost, type OutboxStore, type Reporter, type ReportOutcome } from '@tally/economy/net'
import type { Node } from '@tally/gossip'
import { defaultCrypto, openLevelRecords, openLevelStore, type LevelRecords } from '@tally/node'
import { normal, random } from '../ttn-gateways/traffic.ts'
import { loadOrCreateKey, loadOrCreateKeys } from './key-file.ts'
import { readConfig } from './role-config.ts'
import { configPath, fromHex, note, readCommunity, readPeers, serve, startNode } from './role.ts'

const config = readConfig(configPath(), 'gateways')
const crypto = defaultCrypto()
const { identity, created } = loadOrCreateKey(join(config.dataDir, 'node.key'), crypto)
const components = loadOrCreateKeys(join(config.dataDir, 'components.keys'), config.components, crypto)
const rng = random(config.trafficSeed)
// each gateway's median airtime per epoch (ms, log-normal) and whether it is online
const medians = components.map(() => Math.exp(Math.log(8_000) + 1.3 * normal(rng)))
const outcomes = new Map<string, number>()
let running: { node: Node; community: Community; reporters: Reporter[]; outbox: LevelRecords; close: () => Promise<void> } | undefined
let timer: NodeJS.Timeout | undefined

note('hello', { name: config.name, role: 'gateways', publicKey: toHex(identity.publicKey), keyCreated: created, components: components.length })

serve({
  start: () => start(),
  // each gateway's half of its registration; the owner's wallet adds its own and registers it
  registrations: ({ owners }) => {
    const keys = (owners as string[]).map(fromHex)
    const community = running!.community
    return components.map((key, i) => {
      const owner = keys[ownerOf(i, keys.length)]!
      const componentSignature = signRegistration({ community: community.id, owner, component: key.publicKey, type: 'gateway' }, key, crypto)
      return { owner: toHex(owner), component: toHex(key.publicKey), type: 'gateway', componentSignature: toHex(componentSignature) }
    })
  },
  'report-from': ({ epoch }) => {
    schedule(Number(epoch))
    return { from: epoch }
  },
  status: () => ({ name: config.name, outcomes: Object.fromEntries(outcomes), rssMb: Math.round(process.memoryUsage().rss / 1048576) }),
  stop: () => stop(),
})
if (process.send === undefined) {
  await start()
  const c = running!.community.current
  schedule(Math.max(0, Math.floor((Date.now() - c.start) / c.epochLength)))
}

async function start(): Promise<{ address: string }> {
  const community = readCommunity(config.community, crypto)
  const store = await openLevelStore({ path: join(config.dataDir, 'blocks'), crypto })
  const outbox = await openLevelRecords({ path: join(config.dataDir, 'outbox') })
  const { node, address } = await startNode({ identity, store, listen: config.listen, peers: readPeers(config.peers) })
  // one node for the host's 50 reporters: they only ask, so they share the reports protocol's handle
  const host = createSharedHost(node)
  const tell = (o: ReportOutcome): void => {
    const key = `${o.status}${o.status === 'accepted' ? '' : `:${o.code}`}`
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
  }
  const reporters = components.map((key, i) => createReporter({ key, community, host, outbox: prefixed(outbox, `g${i}.`), onOutcome: tell }))
  running = {
    node,
    community,
    reporters,
    outbox,
    close: async () => {
      for (const r of reporters) r.close()
      await node.close()
      await Promise.all([store.close(), outbox.close()])
    },
  }
  return { address }
}

/** Report every epoch from `first` on, at `reportAt` of the epoch. */
function schedule(first: number): void {
  const { community, reporters } = running!
  const c = community.current
  let epoch = first
  const arm = (): void => {
    const at = c.start + epoch * c.epochLength + config.reportAt * c.epochLength
    timer = setTimeout(() => {
      const e = epoch++
      reporters.forEach((r, i) => {
        const airtime = Math.max(0, Math.round(medians[i]! * Math.exp(0.4 * normal(rng))))
        r.report({ epoch: e, metrics: [airtime, Math.round(airtime / 60)] }).catch((err: Error) => note('report-failed', { name: config.name, epoch: e, error: err.message }))
      })
      arm()
    }, Math.max(0, at - Date.now()))
  }
  arm()
}

/** Gateway i's owner among n: skewed, as ownership is (a few owners run many gateways). */
function ownerOf(i: number, n: number): number {
  const r = random(config.trafficSeed * 7919 + i)()
  return Math.min(n - 1, Math.floor(n * r * r))
}

/** One component's outbox: the ids under `prefix` in the host's records. */
function prefixed(records: LevelRecords, prefix: string): OutboxStore {
  return {
    put: (id, record) => records.put(prefix + id, record),
    remove: (id) => records.remove(prefix + id),
    list: async () => (await records.list()).filter((r) => r.id.startsWith(prefix)).map((r) => ({ id: r.id.slice(prefix.length), record: r.record })),
  }
}

async function stop(): Promise<{ stopped: true }> {
  if (timer !== undefined) clearTimeout(timer)
  await running?.close()
  return { stopped: true }
}

