/**
 * The network simulator: many real nodes (node/node.ts, unchanged) in one process, on the in-memory
 * transport and a virtual clock, with adversaries. Time moves only when the simulation runs it,
 * every random choice comes from the seed, so a run replays exactly (handshake challenges aside).
 *
 * Topology: each peer knows `knows` random peers and holds one connection to each (a link made by
 * either side serves both: degree ≈ 2 × knows). Links follow the memory network's latency model.
 *
 * Roles:
 * - 'honest': transacts, gossips, relays proofs;
 * - 'forker': honest until told to fork (`fork(i)`): it signs a second block at the seq of its last
 *   block and proposes it to another peer, and does not spread it itself;
 * - 'withholder': transacts but never pushes, forwards or pulls anything, nor announces proofs
 *   (with pushFanout 0 it names no neighbours either, so nobody pushes through it);
 * - 'spammer': no node at all: raw sessions that flood their neighbours with pushes of useless
 *   blocks and with forged fraud proofs against honest keys (`spam(i)`);
 * - 'liar': no node either: a witness that vouches for anything — it answers every witness query
 *   with the block last pushed to it on that session (in witness mode, liars join the witness set).
 *
 * Shortcuts for large runs, each off by default: `sessions: 'attach'` opens links without the
 * handshake (the simulator knows both keys by construction), and `crypto: createSimCrypto(...)`
 * replaces Ed25519 by a keyed hash. Everything else is the real code path.
 * @module
 */
import {
  createBlockTypes,
  createMemoryStore,
  equalBytes,
  identityFromSeed,
  isProposal,
  nobleCrypto,
  signBlock,
  toHex,
  type BlockStore,
  type BlockTypes,
  type CborValue,
  type Connection,
  type CryptoProvider,
  type FraudProof,
  type HalfBlock,
  type SeedIdentity,
  type PublicKeyHex,
  type Transaction,
} from '@tally/core'
import { performHandshake } from '../wire/handshake.js'
import type { Limits } from '../wire/limits.js'
import { createMemoryNetwork, type LinkModel, type MemoryNetwork, type MemoryTransport } from '../transport/memory-transport.js'
import { DEFAULT_GOSSIP, createNode, type GossipOptions, type Node, type TransactOptions } from '../node/node.js'
import { RESEND_ATTEMPTS } from '../node/gossip-rules.js'
import { createRandom, type Random } from '../random.js'
import { createSession, type Session } from '../wire/session.js'
import type { SessionCipher } from '../wire/noise.js'
import { createVirtualClock, type VirtualClock } from '../time/virtual-time.js'
import { createSharedBlocks, sharingStore, type SharedBlocks } from './shared-blocks.js'

/** What a simulated peer does. */
export type Role = 'honest' | 'forker' | 'withholder' | 'spammer' | 'liar'

/** Options of createSimulator. */
export interface SimulatorOptions {
  /** Peers (at least 2). */
  nodes: number
  /** Random peers each one knows and links to (default min(100, nodes - 1)). */
  knows?: number
  /**
   * Link model (default 50 ms one way + 0..20 ms uniform jitter, no loss, lost frames dropped).
   * Loss with lossMode 'drop' (datagrams) needs `sessions: 'attach'`: see the constructor.
   */
  link?: Partial<LinkModel>
  /** Seed of every random choice (default 1). */
  seed?: number
  /** 'handshake' (default): every link runs the handshake; 'attach': links open without it. */
  sessions?: 'handshake' | 'attach'
  /** Provider of every identity (default nobleCrypto; createSimCrypto(...) for speed). */
  crypto?: CryptoProvider
  /** Gossip settings of honest nodes. */
  gossip?: Partial<GossipOptions>
  /** Session limits of every node. */
  limits?: Partial<Limits>
  /** Block types (one registry shared by every node; default: type 'tx', any payload, always signed). */
  types?: BlockTypes
  /** Entries of each node's seen caches (default 2048: memory grows with nodes × this). */
  cacheSize?: number
  /** Each peer's role, by index (default: all honest). */
  roles?: (index: number, random: Random) => Role
  /** Witness mode: the first `count` honest peers and every liar are witnesses; every peer asks `k` of them. */
  witnesses?: { count: number; k: number; timeoutMs?: number }
  /** transact timing (default 10 s timeout, 1 s first resend). */
  transact?: TransactOptions
  /** Virtual time at start (default 1,700,000,000,000: block timestamps look like real ones). */
  startTime?: number
  /**
   * Stores keep one process-wide copy of each block and proof that several nodes hold (default
   * false): see sim/shared-blocks.ts. Every node still decodes, validates and verifies what it
   * receives; only what it keeps is shared. For runs of thousands of nodes.
   */
  shareBlocks?: boolean
}

/** One simulated peer. */
export interface SimPeer {
  readonly index: number
  readonly role: Role
  readonly identity: SeedIdentity
  readonly publicKey: Uint8Array
  /** Its node (undefined for a spammer or a liar, which run no node). */
  readonly node: Node | undefined
  /** Indices of the peers it linked to or that linked to it. */
  readonly neighbours: readonly number[]
}

/** A fork released by fork(). */
export interface ForkRecord {
  /** The forker. */
  readonly index: number
  /** Its block that was there first, and the second one at the same seq. */
  readonly first: HalfBlock
  readonly second: HalfBlock
  /** Who got the second block. */
  readonly victim: number
  /** Virtual time the second block was sent. */
  readonly releasedAt: number
}

/** A running simulation. */
export interface Simulator {
  readonly clock: VirtualClock
  readonly network: MemoryNetwork
  readonly peers: readonly SimPeer[]
  /** The simulation's seeded generator. */
  readonly random: Random
  /** Open every link; runs virtual time until they are up and the nodes have told each other their neighbours. */
  connect(): Promise<void>
  /** Run virtual time for `ms`. */
  run(ms: number): Promise<void>
  /** Call `fn` at virtual time now + `delay`. */
  schedule(delay: number, fn: () => void): void
  /**
   * Peer i proposes to peer j (to a random neighbour when j is omitted); never rejects.
   * @returns the transaction, or the error it ended with
   */
  transact(i: number, j?: number, payload?: CborValue): Promise<Transaction | Error>
  /**
   * Peer i signs a second block at the seq of its latest block and proposes it to `victim` (a random
   * neighbour that is not the first block's counterparty when omitted).
   * @returns the fork, or undefined when i has no block yet
   */
  fork(i: number, victim?: number): Promise<ForkRecord | undefined>
  /** A spammer floods its neighbours once: `pushes` useless blocks and `proofs` forged proofs each. */
  spam(i: number, options?: { pushes?: number; proofs?: number }): void
  /** Forks released so far. */
  readonly forks: readonly ForkRecord[]
  /**
   * When each peer first held a proof against `key` (virtual time), by peer index.
   * @param key the accused
   */
  proofTimes(key: Uint8Array): ReadonlyMap<number, number>
  /** Keys accused by at least one peer, with how many peers hold a proof. */
  accused(): ReadonlyMap<PublicKeyHex, number>
  /** The shared copies of blocks and proofs, with shareBlocks (undefined otherwise). */
  readonly shared: SharedBlocks | undefined
  /** Close every node; the clock is left idle. */
  close(): Promise<void>
}

/**
 * A simulation of `options.nodes` peers; call connect() next.
 * @param options size, topology, link model, seed, shortcuts, roles
 * @returns the simulator
 * @throws RangeError on a malformed option
 * @example
 * const sim = createSimulator({ nodes: 50, knows: 8, seed: 7 })
 * await sim.connect()
 * await sim.transact(0, 1)
 * await sim.run(2000)
 */
export function createSimulator(options: SimulatorOptions): Simulator {
  return new Simulation(options)
}

// ## The simulation

const TX_TYPE = 'tx'

class Simulation implements Simulator {
  readonly clock: VirtualClock
  readonly network: MemoryNetwork
  readonly peers: SimPeer[] = []
  readonly random: Random
  readonly forks: ForkRecord[] = []
  readonly shared: SharedBlocks | undefined
  readonly #options: SimulatorOptions
  readonly #crypto: CryptoProvider
  readonly #transports: MemoryTransport[] = []
  readonly #links: [number, number][] = []
  readonly #spamSessions = new Map<number, Session[]>()
  readonly #proofTimes = new Map<PublicKeyHex, Map<number, number>>()
  readonly #byAddress = new Map<string, number>()
  #connected = false

  constructor(options: SimulatorOptions) {
    const n = options?.nodes
    if (!Number.isSafeInteger(n) || n < 2) throw new RangeError(`"nodes" expected an integer >= 2, got ${String(n)}`)
    const knows = options.knows ?? Math.min(100, n - 1)
    if (!Number.isSafeInteger(knows) || knows < 1 || knows >= n) throw new RangeError(`"knows" expected an integer in [1, nodes - 1], got ${String(knows)}`)
    // A link that drops frames for good is a datagram network. A handshaked session is encrypted
    // with implicit nonces (wire/noise.ts), as over a stream: one frame missing from its sequence
    // closes it (1007), as it should over TCP, where a frame never goes missing. So frames are
    // dropped only on attached sessions, in the clear, where a frame is one whole message: the
    // loss falls on messages, above where the encryption would be, as a datagram protocol (one
    // sealed message a datagram, explicit nonces) would see it.
    const link = options.link ?? {}
    if ((link.loss ?? 0) > 0 && (link.lossMode ?? 'drop') === 'drop' && options.sessions !== 'attach') {
      throw new RangeError(
        '"link.loss" with lossMode \'drop\' needs sessions: \'attach\' (an encrypted session closes at the first frame lost; \'retransmit\' models TCP for handshaked sessions)',
      )
    }
    this.#options = options
    this.#crypto = options.crypto ?? nobleCrypto
    const seed = options.seed ?? 1
    this.random = createRandom(seed)
    this.clock = createVirtualClock({ start: options.startTime ?? 1_700_000_000_000 })
    this.network = createMemoryNetwork({ latencyMs: 50, jitterMs: 20, ...options.link, clock: this.clock, seed: seed + 1 })
    const types = options.types ?? createBlockTypes([{ name: TX_TYPE }])
    this.shared = options.shareBlocks === true ? createSharedBlocks(this.#crypto) : undefined
    const storeOf = (): BlockStore => {
      const store = createMemoryStore({ crypto: this.#crypto })
      return this.shared === undefined ? store : sharingStore(store, this.shared)
    }
    const roles = options.roles ?? (() => 'honest' as const)

    // identities and roles first: witness mode needs every witness key before any node exists
    const made: { identity: SeedIdentity; role: Role }[] = []
    for (let i = 0; i < n; i++) {
      const seedBytes = new Uint8Array(32)
      new DataView(seedBytes.buffer).setUint32(0, seed)
      new DataView(seedBytes.buffer).setUint32(4, i)
      made.push({ identity: identityFromSeed(seedBytes, this.#crypto), role: roles(i, this.random) })
    }
    const witnessKeys =
      options.witnesses === undefined
        ? undefined
        : [
            ...made.filter((m) => m.role === 'honest').slice(0, options.witnesses.count),
            ...made.filter((m) => m.role === 'liar'),
          ].map((m) => m.identity.publicKey)

    // the topology: each peer links to `knows` random others (a link serves both ways)
    const neighbours: Set<number>[] = Array.from({ length: n }, () => new Set())
    for (let i = 0; i < n; i++) {
      let picked = 0
      for (let tries = 0; picked < knows && tries < knows * 20; tries++) {
        const j = Math.floor(this.random() * n)
        if (j === i || neighbours[i]!.has(j)) continue
        neighbours[i]!.add(j)
        neighbours[j]!.add(i)
        this.#links.push([i, j])
        picked++
      }
    }
    // witness mode: everyone also links to every witness, so no session is dialled on demand
    if (witnessKeys !== undefined) {
      const witnessIdx = made.flatMap((m, i) => (witnessKeys.some((k) => equalBytes(k, m.identity.publicKey)) ? [i] : []))
      for (let i = 0; i < n; i++) {
        for (const w of witnessIdx) {
          if (w === i || neighbours[i]!.has(w)) continue
          neighbours[i]!.add(w)
          neighbours[w]!.add(i)
          this.#links.push([i, w])
        }
      }
    }

    const base: Partial<GossipOptions> = options.gossip ?? {}
    const silent: Partial<GossipOptions> = { pushFanout: 0, pullIntervalMs: 0, pushOwn: false, fraudFanout: 0, auditsPerPull: 0 }
    for (let i = 0; i < n; i++) {
      const { identity, role } = made[i]!
      const transport = this.network.transport(`mem://${i}`)
      this.#transports.push(transport)
      this.#byAddress.set(transport.address, i)
      const node =
        role === 'spammer' || role === 'liar'
          ? undefined
          : createNode({
              identity,
              store: storeOf(),
              transport,
              types,
              clock: this.clock,
              // a simulation's identities are new: their chains start empty everywhere, and the
              // head round trip before each first signature is not what a simulation measures
              head: 'local',
              cacheSize: options.cacheSize ?? 2048,
              random: createRandom(seed * 7919 + i),
              gossip: role === 'withholder' ? { ...base, ...silent } : base,
              transact: { timeoutMs: 10_000, retryMs: 1000, ...options.transact },
              ...(options.limits !== undefined ? { limits: options.limits } : {}),
              ...(witnessKeys !== undefined
                ? { witnesses: { keys: witnessKeys, k: options.witnesses!.k, timeoutMs: options.witnesses!.timeoutMs ?? 5000 } }
                : {}),
            })
      node?.on('fraud', ({ proof }) => this.#recordProof(i, proof))
      this.peers.push({ index: i, role, identity, publicKey: identity.publicKey, node, neighbours: [...neighbours[i]!] })
    }
  }

  async connect(): Promise<void> {
    if (this.#connected) throw new RangeError('already connected')
    this.#connected = true
    const attach = this.#options.sessions === 'attach'
    for (const p of this.peers) {
      const transport = this.#transports[p.index]!
      if (p.node !== undefined && !attach) await p.node.listen()
      else await transport.listen((conn) => this.#accepted(p, conn, attach))
    }
    const dials: Promise<void>[] = []
    for (const [i, j] of this.#links) {
      const from = this.peers[i]!
      const to = this.peers[j]!
      const address = this.#transports[j]!.address
      if (from.node !== undefined && !attach) {
        dials.push(from.node.connect(address, { expectedPeer: to.publicKey }).then(() => undefined, () => undefined))
        from.node.addAddress(to.publicKey, address)
        to.node?.addAddress(from.publicKey, this.#transports[i]!.address)
        continue
      }
      dials.push(
        this.#transports[i]!.connect(address).then(
          (conn) => this.#opened(from, to, conn, attach),
          () => undefined,
        ),
      )
    }
    // dials, accepts and handshakes: a few round trips of virtual time
    const all = Promise.all(dials)
    let done = false
    void all.then(() => (done = true))
    for (let t = 0; t < 60_000 && !done; t += 100) await this.clock.runFor(100)
    await all
    // then one neighbour-list interval more, for the lists announced after the last links opened
    // (debounced), and the time to send them again until acknowledged (over lossy links): a
    // measurement that starts now sees a settled overlay, as in a long-running network
    const g = { ...DEFAULT_GOSSIP, ...this.#options.gossip }
    await this.clock.runFor(g.neighboursIntervalMs + RESEND_ATTEMPTS * g.resendMs + 200)
  }

  /** An inbound connection to a peer that does not run the handshake itself (attach mode, spammers). */
  #accepted(p: SimPeer, conn: Connection, attach: boolean): void {
    const from = this.#byAddress.get(conn.remoteAddress)
    if (from === undefined) return conn.close(1008, 'unknown peer')
    if (attach) {
      if (p.node !== undefined) p.node.attach(conn, this.peers[from]!.publicKey)
      else this.#spamSession(p, conn, this.peers[from]!.publicKey)
      return
    }
    // a spammer accepting with the handshake
    performHandshake(conn, { identity: p.identity, clock: this.clock }).then(
      (r) => this.#spamSession(p, conn, r.peerKey, r.cipher),
      () => undefined,
    )
  }

  /** An outbound connection opened by `from` to `to` (attach mode, or a spammer dialling). */
  async #opened(from: SimPeer, to: SimPeer, conn: Connection, attach: boolean): Promise<void> {
    if (attach) {
      if (from.node !== undefined) from.node.attach(conn, to.publicKey)
      else this.#spamSession(from, conn, to.publicKey)
      return
    }
    try {
      const r = await performHandshake(conn, { identity: from.identity, clock: this.clock, expectedPeer: to.publicKey })
      this.#spamSession(from, conn, r.peerKey, r.cipher)
    } catch {
      // refused: the spammer has one neighbour less
    }
  }

  /**
   * A raw session of a peer that runs no node: a spammer ignores what it gets, a liar vouches.
   * Encrypted when it came through the handshake (`cipher`), as the node's side is.
   */
  #spamSession(p: SimPeer, conn: Connection, peerKey: Uint8Array, cipher?: SessionCipher): void {
    let last: HalfBlock | null = null
    const s = createSession(conn, {
      peerKey,
      ...(cipher !== undefined ? { cipher } : {}),
      clock: this.clock,
      crypto: this.#crypto,
      onMessage: (m) => {
        if (p.role !== 'liar') return
        if (m.type === 'push') last = m.blocks[0] ?? null
        else if (m.type === 'witness-query') s.reply(m, { type: 'witness-answer', publicKey: m.publicKey, seq: m.seq, block: last !== null && equalBytes(last.publicKey, m.publicKey) && last.seq === m.seq ? last : null })
      },
    })
    let list = this.#spamSessions.get(p.index)
    if (list === undefined) this.#spamSessions.set(p.index, (list = []))
    list.push(s)
  }

  async run(ms: number): Promise<void> {
    await this.clock.runFor(ms)
  }

  schedule(delay: number, fn: () => void): void {
    this.clock.setTimeout(fn, delay)
  }

  transact(i: number, j?: number, payload: CborValue = 0): Promise<Transaction | Error> {
    const p = this.#peer(i)
    const node = p.node
    if (node === undefined) return Promise.resolve(new RangeError(`peer ${i} runs no node`))
    const to = j ?? this.#randomNeighbour(p)
    if (to === undefined) return Promise.resolve(new RangeError(`peer ${i} has no neighbour`))
    return node.transact(this.#peer(to).publicKey, TX_TYPE, payload).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))))
  }

  async fork(i: number, victim?: number): Promise<ForkRecord | undefined> {
    const p = this.#peer(i)
    if (p.node === undefined) return undefined
    const first = await p.node.store.latest(p.publicKey)
    if (first === undefined) return undefined
    const counterparty = first.linkPublicKey
    const to = victim ?? this.#randomNeighbour(p, (k) => !equalBytes(this.peers[k]!.publicKey, counterparty))
    if (to === undefined) return undefined
    const second = signBlock(
      {
        publicKey: p.publicKey,
        seq: first.seq,
        linkPublicKey: this.#peer(to).publicKey,
        linkSeq: 0,
        previousHash: first.previousHash,
        type: isProposal(first) ? first.type : TX_TYPE,
        payload: ['fork', first.seq],
        timestamp: Math.floor(this.clock.now()),
      },
      p.identity,
      this.#crypto,
    )
    const record: ForkRecord = { index: i, first, second, victim: to, releasedAt: this.clock.now() }
    this.forks.push(record)
    // the forker does not spread its second block: only the victim (an honest peer) may
    void p.node.deliver(second).catch(() => undefined)
    return record
  }

  spam(i: number, options: { pushes?: number; proofs?: number } = {}): void {
    const p = this.#peer(i)
    const sessions = this.#spamSessions.get(i) ?? []
    const pushes = options.pushes ?? 50
    const proofs = options.proofs ?? 5
    let seq = 1
    for (const s of sessions) {
      if (!s.open) continue
      for (let k = 0; k < pushes; k++) {
        // valid blocks of the spammer's own chain, all at seq 1 with different payloads: a fork the
        // spammer commits against itself, and noise for everyone else
        const junk = signBlock(
          { publicKey: p.publicKey, seq, linkPublicKey: s.peerKey, linkSeq: 0, previousHash: new Uint8Array(32), type: TX_TYPE, payload: Math.floor(this.random() * 0x7fff_ffff), timestamp: Math.floor(this.clock.now()) },
          p.identity,
          this.#crypto,
        )
        s.send({ type: 'push', blocks: [junk] })
      }
      for (let k = 0; k < proofs; k++) {
        // "evidence" against the honest peer at the other end: its key on blocks the spammer signed
        const victim = s.peerKey
        const mk = (payload: number): HalfBlock =>
          Object.freeze({
            ...signBlock(
              { publicKey: p.publicKey, seq: 1, linkPublicKey: p.publicKey.map((b) => b ^ 1), linkSeq: 0, previousHash: new Uint8Array(32), type: TX_TYPE, payload, timestamp: 1 },
              p.identity,
              this.#crypto,
            ),
            publicKey: victim,
          })
        const forged: FraudProof = { kind: 'double-sign', publicKey: victim, blocks: [mk(2 * k), mk(2 * k + 1)] }
        try {
          s.send({ type: 'fraud', proof: forged })
        } catch {
          // a proof the encoder refuses never leaves
        }
      }
      seq++
    }
  }

  proofTimes(key: Uint8Array): ReadonlyMap<number, number> {
    return this.#proofTimes.get(toHex(key)) ?? new Map()
  }

  accused(): ReadonlyMap<PublicKeyHex, number> {
    const out = new Map<PublicKeyHex, number>()
    for (const [key, holders] of this.#proofTimes) out.set(key, holders.size)
    return out
  }

  async close(): Promise<void> {
    const closing = this.peers.map((p) => p.node?.close())
    for (const list of this.#spamSessions.values()) for (const s of list) s.close()
    for (const t of this.#transports) void t.close()
    await this.clock.runFor(1000)
    await Promise.all(closing)
  }

  #recordProof(i: number, proof: FraudProof): void {
    const key = toHex(proof.publicKey)
    let holders = this.#proofTimes.get(key)
    if (holders === undefined) this.#proofTimes.set(key, (holders = new Map()))
    if (!holders.has(i)) holders.set(i, this.clock.now())
  }

  #peer(i: number): SimPeer {
    const p = this.peers[i]
    if (p === undefined) throw new RangeError(`"i" expected a peer index in [0, ${this.peers.length - 1}], got ${String(i)}`)
    return p
  }

  #randomNeighbour(p: SimPeer, accept: (k: number) => boolean = () => true): number | undefined {
    const list = p.neighbours.filter((k) => this.peers[k]!.node !== undefined && accept(k))
    return list.length === 0 ? undefined : list[Math.floor(this.random() * list.length)]
  }
}
