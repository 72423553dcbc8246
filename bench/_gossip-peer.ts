// One Tally node in its own process, for bench/gossip.ts (ws figures): a ws transport on loopback,
// sodium (or node:crypto) signatures, a memory store, driven by JSON lines on stdin.
//
//   argv: <seed>
//   out:  {"ready":true,"key":hex,"address":"ws://..."}
//   in:   {"id":n,"cmd":"connect","address":..}                    out: {"id":n,"ok":true}
//         {"id":n,"cmd":"burst","key":hex,"count":c,"parallel":p}    {"id":n,"ok":true,"ms":t,"done":d}
//         {"id":n,"cmd":"memory"}                                    {"id":n,"ok":true,"heap":..,"rss":..,"peers":..}
//         {"id":n,"cmd":"cpu"}                                       {"id":n,"ok":true,"us":t} (user + system CPU so far)
//         (stdin closed)                                             closes the node, exits 0
// Files named _*.ts are not benchmark groups (bench/run.mjs skips them).
import { createInterface } from 'node:readline'
import { createBlockTypes, createMemoryStore, fromHex, identityFromSeed } from '@tally/core'
import { createNode } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'
import { defaultCrypto } from '@tally/node'

const crypto = defaultCrypto()
const seed = new Uint8Array(32).fill(Number(process.argv[2] ?? 1))
const node = createNode({
  identity: identityFromSeed(seed, crypto),
  store: createMemoryStore({ crypto }),
  transport: createWsTransport({ port: 0 }),
  types: createBlockTypes([{ name: 'tx' }]),
  cacheSize: 8192,
  // one session carries thousands of proposals a second: lift the per-peer rates and request caps
  limits: { messagesPerSecond: 1e6, messageBurst: 1e6, bytesPerSecond: 1e10, byteBurst: 1e10, maxPendingRequests: 1024, maxIncomingRequests: 1024 },
  transact: { timeoutMs: 30_000, retryMs: 5000 },
})
// a session closed for misbehaviour ends the bench with a ban at the next dial: say why, on stderr
node.on('peer:close', (e) => {
  if (e.misbehaviour !== undefined) process.stderr.write(`gossip peer ${seed[0]}: closed ${Buffer.from(e.publicKey).toString('hex').slice(0, 8)} for misbehaviour: ${e.misbehaviour}\n`)
})
const address = await node.listen()
const out = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n')
out({ ready: true, key: Buffer.from(node.publicKey).toString('hex'), address })

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const m = JSON.parse(line) as { id: number; cmd: string; [k: string]: unknown }
    run(m).then(
      (r) => out({ id: m.id, ok: true, ...r }),
      (err: unknown) => out({ id: m.id, error: String((err as Error)?.message ?? err) }),
    )
  })
  .on('close', () => void node.close().then(() => process.exit(0)))

async function run(m: { cmd: string; [k: string]: unknown }): Promise<object> {
  switch (m.cmd) {
    case 'connect':
      await node.connect(m['address'] as string)
      return {}
    case 'burst': {
      const peer = fromHex(m['key'] as string)
      const count = m['count'] as number
      let next = 0
      let done = 0
      const t0 = performance.now()
      await Promise.all(
        Array.from({ length: m['parallel'] as number }, async () => {
          while (next < count) {
            next++
            await node.transact(peer, 'tx', next)
            done++
          }
        }),
      )
      return { ms: performance.now() - t0, done }
    }
    case 'cpu': {
      const { user, system } = process.cpuUsage()
      return { us: user + system }
    }
    case 'memory': {
      globalThis.gc?.()
      globalThis.gc?.()
      const mem = process.memoryUsage()
      return { heap: mem.heapUsed + mem.external, rss: mem.rss, peers: node.peers.length }
    }
    default:
      throw new Error(`unknown command ${m.cmd}`)
  }
}
