// A community witness as its own process: its key file, its LevelDB stores (blocks, ticket
// decisions, and records: the certificates it held and the port it listens on, so a restart after
// a crash comes back at the same address), and a gossip node hosting the witness's five protocols.
// It closes each epoch `closeGraceMs` after the epoch ends: catch up on statements, reconcile the
// reports with the other witnesses, close, exchange signatures, certify when k agree.
//
//   node --import tsx examples/ttn-network/witness.ts --config <witness.json>
import { join } from 'node:path'
import { createMemoryStore, generateIdentity, toHex } from '@tally/core'
import { certificateDigest, decodeCertificate, decodeConfig, encodeCertificate, epochAt, signConfig, verifyCertificateIn, type Community } from '@tally/economy'
import { createWitness, epochsProtocol, seqWitnessTypes, seqWitnesses, type Witness } from '@tally/economy/net'
import type { Node } from '@tally/gossip'
import { createVerifyPool, defaultCrypto, openLevelDecisions, openLevelRecords, openLevelStore, type LevelRecords, type VerifyPool } from '@tally/node'
import { loadOrCreateKey } from './key-file.ts'
import { readConfig } from './role-config.ts'
import { configPath, fromHex, note, readCommunity, readPeers, serve, startNode } from './role.ts'

const config = readConfig(configPath(), 'witness')
const crypto = defaultCrypto()
const { identity, created } = loadOrCreateKey(join(config.dataDir, 'witness.key'), crypto)
const records: LevelRecords = await openLevelRecords({ path: join(config.dataDir, 'records') })
let running: { node: Node; witness: Witness; address: string; pool: VerifyPool | undefined; close: () => Promise<void> } | undefined
let timer: NodeJS.Timeout | undefined
let stopping = false
let closing: Promise<void> = Promise.resolve()

note('hello', { name: config.name, role: 'witness', publicKey: toHex(identity.publicKey), keyCreated: created })

serve({
  // the genesis configuration, signed by this witness's key (the launcher gathers k of them)
  'sign-genesis': async ({ config: bytes }) => {
    const draft = decodeConfig(fromHex(String(bytes)))
    const signature = await signConfig(draft, identity)
    return { index: signature.index, signature: toHex(signature.signature) }
  },
  start: () => start(),
  // the other witnesses' addresses, once the launcher (or the operator) wrote them
  peers: () => {
    for (const w of readPeers(config.peers).witnesses) running?.node.addAddress(fromHex(w.publicKey), w.address)
    return { witnesses: readPeers(config.peers).witnesses.length }
  },
  status: () => status(),
  stop: () => stop(),
})
if (process.send === undefined) await start()

async function start(): Promise<{ address: string; epoch: number }> {
  if (running !== undefined) return { address: running.address, epoch: running.witness.epoch }
  const community = readCommunity(config.community, crypto)
  const saved = await records.get('port')
  const port = config.listen.port !== 0 ? config.listen.port : saved === undefined ? 0 : Number(new TextDecoder().decode(saved))
  const store = await openLevelStore({ path: join(config.dataDir, 'blocks'), crypto })
  const decisions = await openLevelDecisions({ path: join(config.dataDir, 'decisions') })
  // it also serves as a seq witness for the community's block types (the first block it sees at
  // each slot, told to whoever asks: a forked double spend is refused before it is countersigned),
  // and relays for wallets that never listen
  const { node, address } = await startNode({
    identity,
    store,
    listen: { host: config.listen.host, port },
    peers: readPeers(config.peers),
    node: { types: seqWitnessTypes(), witnesses: seqWitnesses(community), relay: { serve: true } },
  })
  await records.put('port', new TextEncoder().encode(String(new URL(address).port)))
  const pool = config.verifyWorkers > 0 ? createVerifyPool({ size: config.verifyWorkers }) : undefined
  const epoch = Math.max(0, epochAt(community.current, Date.now()))
  const witness = createWitness({
    key: identity,
    community,
    host: node,
    epoch,
    decisions,
    ...(pool === undefined ? {} : { verify: pool.verifySignatures }),
    onEvent: (e) => {
      if (e.kind !== 'certified') note('event', { name: config.name, ...e })
    },
  })
  running = {
    node,
    witness,
    address,
    pool,
    close: async () => {
      await node.close()
      await Promise.all([store.close(), decisions.close(), pool?.close()])
    },
  }
  arm()
  // a restart: fetch the certificates this witness missed while it was down
  if (saved !== undefined) void fetchMissed(community, epoch)
  return { address, epoch }

  function arm(): void {
    const c = community.current
    const at = c.start + (witness.epoch + 1) * c.epochLength + config.closeGraceMs
    timer = setTimeout(() => {
      if (!stopping) closing = closeOne()
    }, Math.max(0, at - Date.now()))
  }

  async function closeOne(): Promise<void> {
    const epoch = witness.epoch
    const own = witness.reportCount(epoch)
    const t0 = Date.now()
    try {
      const outcome = await witness.close()
      note('closed', {
        name: config.name,
        epoch,
        ms: Date.now() - t0,
        ownReports: own,
        reports: witness.reportCount(epoch),
        components: witness.directory.size,
        root: toHex(outcome.result.body.root),
        total: outcome.result.body.total,
        certified: outcome.certificate !== undefined,
      })
    } catch (err) {
      note('close-failed', { name: config.name, epoch, error: String((err as Error)?.message ?? err) })
    }
    if (stopping) return
    await keepCertificates()
    // certificates announced a moment later are kept at the next sweep
    setTimeout(() => {
      if (!stopping) void keepCertificates()
    }, 1000).unref()
    arm()
  }
}

/**
 * The certificates of the epochs before `open` that this witness does not hold, asked of the other
 * witnesses (`get-certificate`) and kept only when they verify under the community. Its own node
 * hosts the epochs protocol as a witness, so the asking goes through a second, client-only node.
 */
async function fetchMissed(community: Community, open: number): Promise<void> {
  const peers = readPeers(config.peers).witnesses.filter((w) => w.publicKey !== toHex(identity.publicKey))
  const { node } = await startNode({ identity: generateIdentity(crypto), store: createMemoryStore({ crypto }), listen: undefined, peers: { witnesses: peers } })
  try {
    const epochs = node.host(epochsProtocol())
    for (let e = Math.max(0, open - 24); e < open; e++) {
      if (stopping || (await records.get(certId(e))) !== undefined) continue
      for (const w of peers) {
        try {
          const reply = await (await epochs.peer(fromHex(w.publicKey))).request('get-certificate', { epoch: e })
          if (reply.kind !== 'certificate' || !verifyCertificateIn(reply.message.certificate, community).ok || reply.message.certificate.epoch !== e) continue
          if (!stopping) await records.put(certId(e), encodeCertificate(reply.message.certificate))
          break
        } catch {
          // that witness has none (an epoch before it started, or not certified yet): ask the next
        }
      }
    }
  } finally {
    await node.close()
  }
}

function certId(epoch: number): string {
  return `cert:${String(epoch).padStart(10, '0')}`
}

/** Keep every certificate this witness holds in its records, so a restart still serves them. */
async function keepCertificates(): Promise<void> {
  if (running === undefined) return
  const open = running.witness.epoch
  for (let e = Math.max(0, open - 24); e <= open; e++) {
    const cert = running.witness.certificate(e)
    if (cert === undefined) continue
    const id = certId(e)
    if ((await records.get(id)) === undefined) await records.put(id, encodeCertificate(cert))
  }
}

async function status(): Promise<Record<string, unknown>> {
  await keepCertificates()
  const certificates: Record<string, { digest: string; signers: number[] }> = {}
  for (const r of await records.list()) {
    if (!r.id.startsWith('cert:')) continue
    const cert = decodeCertificate(r.record)
    certificates[String(cert.epoch)] = { digest: toHex(certificateDigest(cert, crypto)), signers: cert.signatures.map((s) => s.index) }
  }
  return {
    name: config.name,
    epoch: running?.witness.epoch,
    components: running?.witness.directory.size,
    certificates,
    events: running?.witness.events.filter((e) => e.kind !== 'certified').map((e) => `${e.kind} ${e.epoch}: ${e.reason}`) ?? [],
    rssMb: Math.round(process.memoryUsage().rss / 1048576),
  }
}

async function stop(): Promise<{ stopped: true }> {
  stopping = true
  if (timer !== undefined) clearTimeout(timer)
  await closing
  running?.witness.stop()
  await running?.close()
  await records.close()
  return { stopped: true } // the launcher then disconnects, and the process ends
}
