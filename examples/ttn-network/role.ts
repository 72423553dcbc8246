// What every role process shares: its command line, its talk with the launcher (Node's IPC
// channel: requests with ids, replies, and notes the role sends by itself), the community file,
// the witnesses' addresses, and its gossip node on ws. A role started by hand (no IPC channel)
// logs its notes as JSON lines on stdout instead.
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { fromHex, toHex, type BlockStore, type BlockTypes, type CryptoProvider, type SeedIdentity } from '@tally/core'
import { createCommunity, decodeSignedConfig, type Community } from '@tally/economy'
import { createNode, type Node, type NodeOptions } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'

/** A request from the launcher. */
export interface Request {
  readonly id: number
  readonly op: string
  readonly args?: Record<string, unknown>
}

/** Handlers of a role's requests: each returns a JSON value (or throws: the launcher sees the message and its reason code). */
export type Handlers = Record<string, (args: Record<string, unknown>) => unknown>

/** The `--config` path from the command line. */
export function configPath(): string {
  const { values } = parseArgs({ options: { config: { type: 'string' } }, strict: true })
  if (values.config === undefined) {
    process.stderr.write('usage: node --import tsx <role>.ts --config <file.json>\n')
    process.exit(2)
  }
  return values.config
}

/** Tell the launcher (or stdout) something that happened. */
export function note(type: string, value: Record<string, unknown> = {}): void {
  const message = { type, ...value }
  if (process.send !== undefined) process.send(message)
  else process.stdout.write(`${JSON.stringify(message)}\n`)
}

/** Answer the launcher's requests with `handlers`; exit when the launcher goes away. */
export function serve(handlers: Handlers): void {
  if (process.send === undefined) return
  process.on('disconnect', () => process.exit())
  process.on('message', (m: Request) => {
    const handler = m.op === 'cpu' ? () => ({ cpuS: (process.cpuUsage().user + process.cpuUsage().system) / 1e6, rssMb: Math.round(process.memoryUsage().rss / 1048576) }) : handlers[m.op]
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw Object.assign(new Error(`unknown op ${m.op}`), { reason: 'unknown-op' })
        return handler(m.args ?? {})
      })
      .then(
        (value) => process.send?.({ type: 'reply', id: m.id, ok: true, value: value ?? null }),
        (err: unknown) => process.send?.({ type: 'reply', id: m.id, ok: false, error: String((err as Error)?.message ?? err).slice(0, 500), reason: (err as { reason?: string })?.reason ?? (err as Error)?.name }),
      )
  })
}

/** The community from its file (the signed genesis configuration). */
export function readCommunity(path: string, crypto: CryptoProvider): Community {
  return createCommunity(decodeSignedConfig(new Uint8Array(readFileSync(path))), { crypto })
}

/** The witnesses file: each witness's name, key and address. */
export interface PeersFile {
  readonly witnesses: readonly { readonly name: string; readonly publicKey: string; readonly address: string }[]
}

/** Read the witnesses file (empty when it is not written yet). */
export function readPeers(path: string): PeersFile {
  if (!existsSync(path)) return { witnesses: [] }
  return JSON.parse(readFileSync(path, 'utf8')) as PeersFile
}

/** Write a file whole (temp file, then rename), so a reader never sees half of it. */
export function writeWhole(path: string, data: string | Uint8Array): void {
  writeFileSync(`${path}.tmp`, data)
  renameSync(`${path}.tmp`, path)
}

/** The role's gossip node on ws, listening, with the witnesses in its address book. */
export async function startNode(options: { identity: SeedIdentity; store: BlockStore; types?: BlockTypes; listen: { host: string; port: number } | undefined; peers: PeersFile; node?: Partial<NodeOptions> }): Promise<{ node: Node; address: string }> {
  const node = createNode({
    identity: options.identity,
    store: options.store,
    transport: createWsTransport(options.listen === undefined ? {} : { host: options.listen.host, port: options.listen.port }),
    ...(options.types === undefined ? {} : { types: options.types }),
    // the LevelDB store is this agent's whole chain: it is never restored from a backup here
    head: 'local',
    // a demo on one machine: hundreds of protocol messages a second between a few processes
    limits: { messagesPerSecond: 5_000, messageBurst: 20_000, bytesPerSecond: 64 * 1024 * 1024, byteBurst: 128 * 1024 * 1024, maxPendingRequests: 256, maxIncomingRequests: 256 },
    // strangers keep the default rates and their shared budget: the peers each role knows are
    // admitted instead (a witness the other witnesses and the owners it registered, a wallet the
    // witnesses that are its relays, seq witnesses and certificate servers: @tally/economy/net)
    gossip: { pullIntervalMs: 0 },
    ...options.node,
  })
  for (const w of options.peers.witnesses) node.addAddress(fromHex(w.publicKey), w.address)
  const address = options.listen === undefined ? '' : await node.listen()
  return { node, address: String(address) }
}

export { toHex, fromHex }
