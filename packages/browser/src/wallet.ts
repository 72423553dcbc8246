/**
 * The browser wallet: a client node in the page (@tally/gossip's createClientNode, over the
 * browser's WebSocket) that keeps one session with a gateway node, and the economy's network wallet
 * (@tally/economy/net) over it — balance and history from the wallet's own chain, reward claims,
 * transfers sent and received.
 *
 * A page cannot listen for connections. It reaches others by dialling them (witnesses, a
 * receiver that listens) and is reached through its gateway session: whatever the gateway
 * relays to it (an offer, a proposal) arrives on that session, and the node's handlers answer
 * it as a listening node would (the wallet protocol's offer, the agent's agreement). So the
 * page must stay connected: the gateway link redials with backoff and checks the session with a
 * keep-alive (gateway-link.ts). A client, not a gossip peer: it hands the blocks of its
 * transactions to its gateway and leaves the push ring, pull rounds, relaying for others and
 * strangers' quotas to it (@tally/gossip's client.ts), which keeps them out of the page.
 * @module
 */
import { RefusedError, abytes, auint, equalBytes, toHex, type BlockStore, type Clock, type HalfBlock, type Identity, type ProtocolHost, type PublicKeyHex, type TimerHandle, type Transaction } from '@tally/core'
import { createEconomyTypes, createVoucherBook, createWallet, type Community, type EvidenceStore, type Wallet } from '@tally/economy/wallet'
import { EPOCHS_PROTOCOL, createNetWallet, createTicketStore, epochsProtocol, fetchClaim, seqWitnesses, type NetWallet, type Settled, type TransactionPort } from '@tally/economy/net'
import { createClientNode, relayAddress, systemClock, type Node } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'
import { openEvidence, type PersistentEvidence } from './evidence-db.js'
import { Emitter, type Events } from './events.js'
import { DEFAULT_RECONNECT, GatewayLink, type ConnectionEvent, type ConnectionState } from './gateway-link.js'
import { readHistory, type HistoryEntry } from './history.js'
import { openIdbRecords, type IdbRecords } from './idb-records.js'
import { checkOptions, type BrowserWalletOptions } from './wallet-options.js'
import { createBrowserVerifier, type BrowserVerifier } from './webcrypto-verify.js'

export type { BrowserWalletOptions }
// the verifier a wallet uses by default, for a page that checks blocks itself (this subpath, not the index)
export { createBrowserVerifier, type BrowserVerifier } from './webcrypto-verify.js'

/** A transfer this wallet took part in, complete. */
export interface TransferEvent {
  /** 'in': this wallet received it; 'out': it sent it. */
  readonly direction: 'in' | 'out'
  readonly amount: number
  /** The other party's key. */
  readonly counterparty: Uint8Array
  readonly proposal: HalfBlock
  readonly agreement: HalfBlock
}

/** What a wallet tells the page. */
export interface WalletEvents {
  /** The gateway link changed state. */
  state: ConnectionEvent
  /** A transfer completed, either way. */
  transfer: TransferEvent
  /** The balance changed (a block of this wallet's chain was stored). */
  balance: { readonly balance: number }
  /** Something failed that no caller waits for. */
  error: { readonly error: unknown; readonly context: string }
}

/** A wallet in the page. */
export interface BrowserWallet extends Events<WalletEvents> {
  readonly publicKey: Uint8Array
  readonly publicKeyHex: PublicKeyHex
  /** The gateway link's state. */
  readonly state: ConnectionState
  /** The gateway's key, once a handshake proved it. */
  readonly gateway: Uint8Array | undefined
  /** The node in the page (to host more protocols, or to read its peers and stats). */
  readonly node: Node
  /** The economy's network wallet underneath. */
  readonly net: NetWallet
  /** The economy's local wallet underneath. */
  readonly wallet: Wallet
  /** The wallet's identity (its key signs blocks, receipts and statements). */
  readonly identity: Identity
  /** The community. */
  readonly community: Community
  /** The reward evidence this wallet holds (its claims', kept on IndexedDB, and what it learnt of senders). */
  readonly evidence: EvidenceStore
  /**
   * Resolves when the wallet is connected to its gateway (at once when it is).
   * @throws Error once the wallet is closed
   */
  online(): Promise<void>
  /** Dial the gateway now instead of waiting out the backoff. */
  retryNow(): void
  /** The spendable balance, from the latest balance block of the wallet's chain. */
  balance(): Promise<number>
  /** The blocks that moved the balance, newest first (default: the last 100). */
  history(options?: { limit?: number }): Promise<HistoryEntry[]>
  /**
   * Claim the wallet's reward of a certified epoch (certificate and proof from a witness).
   * @returns the reward block
   * @throws RefusedError reason 'no-reward' (nothing for this wallet in that epoch), or the
   *   witnesses' reason ('not-certified', ...); InvalidBlockError when already claimed
   */
  claim(epoch: number): Promise<HalfBlock>
  /**
   * Send `amount` to `to` and wait for the receiver's agreement.
   * @throws RangeError for an amount that is not a positive integer or above the balance;
   *   RefusedError with the receiver's reason (see @tally/economy/net's wallet), or 'unreachable'
   */
  send(to: Uint8Array, amount: number): Promise<Transaction>
  /**
   * Run a call that signs for this wallet (a market call: a lock, a receipt, a purchase): refused
   * in a tab that is not the signer or once closed; afterwards the balance event and the seq
   * witnesses are brought up to date with whatever it appended.
   * @throws RefusedError reason 'not-signer' or 'closed'; whatever `work` throws
   */
  signing<T>(work: () => Promise<T>): Promise<T>
  /**
   * Open a session to `peer` (its address, or the gateway's relay for a page), so a call can
   * reach it before anything is signed for it.
   * @throws RefusedError reason 'unreachable'
   */
  reach(peer: Uint8Array): Promise<void>
  /** Bring back or complete transfers left in flight (see NetWallet.settle). */
  settle(): Promise<Settled>
  /** Where a node listens (a receiver that accepts connections). */
  addAddress(publicKey: Uint8Array, address: string): void
  /** Disconnect, stop redialling, close the node (the store stays open). */
  close(): Promise<void>
}

/**
 * Open a wallet in the page and start connecting to its gateway.
 * @param options gateway, community, identity, store, witnesses' addresses
 * @returns the wallet (connecting: `await wallet.online()` to wait for the gateway)
 * @throws TypeError / RangeError for a missing or malformed option; StoreVersionError when the
 *   evidence database was written by a newer version
 * @example
 * const wallet = await createBrowserWallet({ gateway: 'wss://gw.example/', community, identity, store, witnesses })
 * wallet.on('state', (s) => show(s.state))
 * await wallet.online()
 * await wallet.claim(7)
 * await wallet.send(bob, 100)
 */
export async function createBrowserWallet(options: BrowserWalletOptions): Promise<BrowserWallet> {
  const o = checkOptions(options)
  const emitter = new Emitter<WalletEvents>(() => undefined)
  const report = (error: unknown, context: string) => emitter.emit('error', { error, context })
  const database = o.database ?? 'tally-wallet'
  const evidence: PersistentEvidence = await openEvidence(database, o.community, (err) => report(err, 'evidence database'))
  let vouchers: IdbRecords | undefined
  try {
    // the vouchers this wallet signed (locks it pays from by voucher: a stream bought by lock) must
    // be as durable as its chain: a release is checked against them ('release-excess')
    vouchers = await openIdbRecords({ name: `${database}-vouchers` })
    return wire(o, evidence, vouchers, emitter, report, o.verifier ?? (await createBrowserVerifier()))
  } catch (err) {
    evidence.close()
    vouchers?.close()
    throw err
  }
}

function wire(o: BrowserWalletOptions, evidence: PersistentEvidence, voucherTable: IdbRecords, emitter: Emitter<WalletEvents>, report: (error: unknown, context: string) => void, verifier: BrowserVerifier): BrowserWallet {
  const tickets = createTicketStore()
  const vouchers = createVoucherBook(voucherTable)
  const types = createEconomyTypes({ community: o.community, evidence, tickets, lock: { ...o.lock, vouchers } })
  for (const t of o.types ?? []) types.define(t)
  const origin = (o.identity as { origin?: string }).origin
  const head = o.head ?? (origin === 'created' ? 'local' : undefined)
  const clock = o.clock ?? systemClock
  // a client of its gateway, not a gossip peer (@tally/gossip's client.ts): a page cannot listen,
  // and spreading blocks is the gateway's
  const node = createClientNode({
    identity: o.identity,
    store: o.store,
    transport: o.transport ?? createWsTransport(),
    types,
    clock,
    // the signatures of the blocks it meets: in WebCrypto where the browser has Ed25519
    verifySignatures: verifier.verifyBlocks,
    // forks cannot create tokens: the community's witnesses vouch for each slot this wallet
    // countersigns or takes in (@tally/economy/net's seq-witness.ts)
    ...(o.seqWitnesses === false ? {} : { witnesses: seqWitnesses(o.community) }),
    // a peer with no address (another page) is reached through the gateway's relay
    relay: { via: o.gatewayKey === undefined ? [] : [o.gatewayKey] },
    // a restored wallet learns its head from its peers: the gateway and a witness at least (the
    // wallet shows its own blocks to the seq witnesses as it makes them: see #witnessOwn)
    ...(head === undefined ? { recovery: { answers: o.witnesses === undefined ? 1 : 2 } } : { head }),
  })
  for (const [key, address] of o.witnesses ?? []) node.addAddress(key, address)
  // the epochs protocol once, shared: the net wallet's claims, and the evidence of this wallet's
  // own claims when it is not held (restored on a fresh profile)
  const epochs = node.host(epochsProtocol())
  const host: ProtocolHost = { host: (protocol) => (protocol.name === EPOCHS_PROTOCOL ? epochs : node.host(protocol)) as never }
  const me = node.publicKey
  evidence.fallback = {
    owner: me,
    async fetch(claim) {
      const c = await fetchClaim(epochs, o.community.current.witnesses, claim.epoch, me)
      if (c.amount !== claim.amount || !equalBytes(c.certificate.root, claim.root)) return undefined
      const found = { certificate: c.certificate, proof: c.proof }
      return evidence.put(me, c.amount, found).ok ? found : undefined
    },
  }
  const wallet = createWallet({ agent: node.agent, community: o.community, evidence, key: o.identity, vouchers, ...(o.lock?.authorities === undefined ? {} : { authorities: o.lock.authorities }) })
  const port: TransactionPort = o.port ?? node.transactions
  const net = createNetWallet({
    wallet,
    community: o.community,
    evidence,
    tickets,
    host,
    port,
    ...(o.ttlMs === undefined ? {} : { ttlMs: o.ttlMs }),
    ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
    ...(o.accept === undefined ? {} : { accept: o.accept }),
  })
  const link = new GatewayLink({
    node,
    address: o.gateway,
    expectedKey: o.gatewayKey,
    reconnect: { ...DEFAULT_RECONNECT, ...o.reconnect },
    keepAliveMs: o.keepAliveMs ?? 15_000,
    keepAliveTimeoutMs: o.keepAliveTimeoutMs ?? 10_000,
    clock,
    random: Math.random,
    onState: (event) => emitter.emit('state', event),
    whenSigner: followerOf(o.identity),
  })
  return new PageWallet({ voucherTable, identity: o.identity, community: o.community, node, net, wallet, link, emitter, evidence, report, clock, viaGateway: o.gatewayKey !== undefined, witnesses: [...(o.witnesses ?? [])].map(([k]) => k), settleMs: o.settleMs ?? 60_000 })
}

class PageWallet implements BrowserWallet {
  readonly node: Node
  readonly net: NetWallet
  readonly wallet: Wallet
  readonly identity: Identity
  readonly community: Community
  readonly evidence: EvidenceStore
  readonly publicKey: Uint8Array
  readonly publicKeyHex: PublicKeyHex
  readonly #link: GatewayLink
  readonly #emitter: Emitter<WalletEvents>
  readonly #evidence: PersistentEvidence
  readonly #voucherTable: IdbRecords
  readonly #report: (error: unknown, context: string) => void
  readonly #offs: (() => void)[] = []
  readonly #viaGateway: boolean
  readonly #witnesses: readonly Uint8Array[]
  readonly #clock: Clock
  readonly #settleMs: number
  #settleTimer: TimerHandle | undefined
  #lastBalance: number | undefined
  /** The highest seq of this wallet's chain its seq witnesses were shown (kept in the wallet database). */
  #witnessedUpTo: number | undefined
  #witnessing: Promise<void> | undefined
  #witnessAgain = false
  #closing: Promise<void> | undefined

  constructor(parts: {
    voucherTable: IdbRecords
    identity: Identity
    community: Community
    node: Node
    net: NetWallet
    wallet: Wallet
    link: GatewayLink
    emitter: Emitter<WalletEvents>
    evidence: PersistentEvidence
    report: (error: unknown, context: string) => void
    clock: Clock
    viaGateway: boolean
    witnesses: readonly Uint8Array[]
    settleMs: number
  }) {
    this.node = parts.node
    this.net = parts.net
    this.wallet = parts.wallet
    this.identity = parts.identity
    this.community = parts.community
    this.evidence = parts.evidence
    this.publicKey = parts.node.publicKey
    this.publicKeyHex = toHex(this.publicKey)
    this.#link = parts.link
    this.#emitter = parts.emitter
    this.#evidence = parts.evidence
    this.#voucherTable = parts.voucherTable
    this.#report = parts.report
    this.#viaGateway = parts.viaGateway
    this.#witnesses = parts.witnesses
    this.#clock = parts.clock
    this.#settleMs = parts.settleMs
    const me = this.publicKey
    this.#offs.push(
      this.node.on('transaction', ({ proposal, agreement }) => {
        void this.#witnessOwn()
        if (proposal.type !== 'transfer') return
        const out = equalBytes(proposal.publicKey, me)
        const amount = (proposal.payload as { amount?: unknown } | null)?.amount
        this.#emitter.emit('transfer', { direction: out ? 'out' : 'in', amount: typeof amount === 'number' ? amount : 0, counterparty: out ? proposal.linkPublicKey : proposal.publicKey, proposal, agreement })
      }),
      this.node.on('block', ({ block }) => {
        if (equalBytes(block.publicKey, me)) void this.#balanceChanged()
      }),
      // the node tells of blocks from peers; a store that can be watched (openIdbStore) tells of
      // every commit, this tab's own appends and other tabs' included
      watch(this.node.store, (publicKeys) => {
        if (publicKeys.some((k) => equalBytes(k, me))) void this.#balanceChanged()
      }),
      this.node.on('error', ({ error, context }) => this.#report(error, context)),
      this.#emitter.on('state', ({ state }) => {
        if (state === 'online') void this.#caughtUp().then(() => this.#settleInFlight())
      }),
    )
    // a macrotask later: the caller subscribes to 'state' after the await and sees 'connecting' too
    parts.clock.setTimeout(() => {
      if (this.#closing === undefined) this.#link.start()
    }, 0)
  }

  get state(): ConnectionState {
    return this.#link.state
  }

  get gateway(): Uint8Array | undefined {
    return this.#link.gateway
  }

  on<K extends keyof WalletEvents>(event: K, handler: (value: WalletEvents[K]) => void): () => void {
    return this.#emitter.on(event, handler)
  }

  off<K extends keyof WalletEvents>(event: K, handler: (value: WalletEvents[K]) => void): void {
    this.#emitter.off(event, handler)
  }

  online(): Promise<void> {
    return this.#link.online()
  }

  retryNow(): void {
    this.#link.retryNow()
  }

  balance(): Promise<number> {
    return this.wallet.balance()
  }

  history(options: { limit?: number } = {}): Promise<HistoryEntry[]> {
    const limit = options.limit ?? 100
    auint('limit', limit, 1)
    return readHistory(this.node.store, this.publicKey, limit)
  }

  async claim(epoch: number): Promise<HalfBlock> {
    auint('epoch', epoch)
    this.#checkOpen()
    const block = await this.net.claim(epoch)
    void this.#balanceChanged()
    void this.#witnessOwn()
    // the evidence of this claim must outlive the page: receivers ask for it
    await this.#evidence.flush()
    return block
  }

  async send(to: Uint8Array, amount: number): Promise<Transaction> {
    abytes('to', to, 32)
    auint('amount', amount, 1)
    this.#checkOpen()
    if (equalBytes(to, this.publicKey)) throw new RangeError('"to" is this wallet')
    await this.#reach(to)
    try {
      return await this.net.send(to, amount)
    } finally {
      void this.#balanceChanged()
      void this.#witnessOwn()
    }
  }

  async signing<T>(work: () => Promise<T>): Promise<T> {
    this.#checkOpen()
    try {
      return await work()
    } finally {
      void this.#balanceChanged()
      void this.#witnessOwn()
    }
  }

  async reach(peer: Uint8Array): Promise<void> {
    abytes('peer', peer, 32)
    this.#checkOpen()
    if (!this.#connectedTo(peer)) await this.#reach(peer)
  }

  async settle(): Promise<Settled> {
    this.#checkOpen()
    try {
      return await this.net.settle()
    } finally {
      void this.#balanceChanged()
      void this.#witnessOwn()
    }
  }

  addAddress(publicKey: Uint8Array, address: string): void {
    this.node.addAddress(publicKey, address)
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const off of this.#offs) off()
      if (this.#settleTimer !== undefined) this.#clock.clearTimeout(this.#settleTimer)
      await this.#link.close()
      await this.node.close()
      await this.#evidence.flush()
      this.#evidence.close()
      this.#voucherTable.close()
    })()
    return this.#closing
  }

  /**
   * Open a session to `to` before anything is signed: a transfer is signed before it is offered,
   * and one offered to a receiver that cannot be reached stays in flight until it expires. The
   * probe is a one-block crawl of this wallet's own chain (the dial goes through the gateway's
   * relay when `to` has no address); its answer is not needed, only the session.
   */
  async #reach(to: Uint8Array): Promise<void> {
    let error: unknown
    const probe = () => this.node.crawl(to, this.publicKey, { start: -1, end: -1, maxBlocks: 1 }).catch((err: unknown) => (error = err))
    await probe()
    // no address and no `gatewayKey` (so no relay.via): through the gateway this link proved
    const gateway = this.#link.gateway
    if (!this.#connectedTo(to) && (error as { code?: string })?.code === 'ERR_UNREACHABLE' && gateway !== undefined && !this.#viaGateway) {
      this.node.addAddress(to, relayAddress(gateway, to))
      await probe()
    }
    // any answer, a refusal included, leaves a session; a failed dial or handshake does not
    if (!this.#connectedTo(to)) {
      throw new RefusedError(`the receiver cannot be reached (${(error as Error)?.message ?? 'no session'}); nothing was signed`, { reason: 'unreachable', cause: error })
    }
  }

  /**
   * Once online: sessions to the witnesses (claims and tickets need them, and a restored wallet
   * asks them for its head), the blocks of this chain the store lacks below its head (a wallet
   * restored on an emptied profile learns its head from the first answer of any peer, the blocks
   * below it are fetched here), then the witnesses shown what they may not have seen.
   */
  async #caughtUp(): Promise<void> {
    const me = this.publicKey
    await Promise.all(this.#witnesses.map((key) => this.node.crawl(key, me, { start: -1, end: -1, maxBlocks: 1 }).catch(() => undefined)))
    const sources = [...this.#witnesses, ...(this.#link.gateway === undefined ? [] : [this.#link.gateway])]
    for (const key of sources) {
      if (this.#closing !== undefined) return
      const chain = await this.node.store.range(me)
      const head = chain.at(-1)?.seq ?? 0
      if (chain.length === head) break
      await this.node.crawl(key, me, { start: 1, end: head, maxBlocks: head }).catch(() => undefined)
    }
    await this.#witnessOwn()
  }

  /** Settle what is in flight, if anything, then again in settleMs while online. */
  async #settleInFlight(): Promise<void> {
    if (this.#settleTimer !== undefined) this.#clock.clearTimeout(this.#settleTimer)
    this.#settleTimer = undefined
    if (this.#closing !== undefined || this.#link.state !== 'online') return
    try {
      if ((await this.net.inFlight()).length > 0) await this.settle()
    } catch (err) {
      if (this.#closing === undefined) this.#report(err, 'settle')
    }
    if (this.#settleMs > 0 && this.#closing === undefined && this.#link.state === 'online') {
      this.#settleTimer = this.#clock.setTimeout(() => void this.#settleInFlight(), this.#settleMs)
    }
  }

  /**
   * Show the seq witnesses every block of this chain they were not shown yet from this page: each
   * keeps the first block of each slot, so they hold the whole chain — the head a restored wallet
   * asks its peers for, and the slot a second branch would contradict. Unilateral blocks (rewards,
   * refunds) reach nobody otherwise: gossip pushes the halves of transactions only.
   */
  #witnessOwn(): Promise<void> {
    const witness = this.node.transactions.witness
    if (witness === undefined || this.#closing !== undefined) return Promise.resolve()
    if (this.#witnessing !== undefined) {
      this.#witnessAgain = true
      return this.#witnessing
    }
    this.#witnessing = (async () => {
      try {
        let done: number = (this.#witnessedUpTo ??= await this.#evidence.witnessed(this.publicKey))
        do {
          this.#witnessAgain = false
          const from = done + 1
          const blocks = await this.node.store.range(this.publicKey, { from, limit: 64 })
          let upTo: number = done
          for (const b of blocks) {
            if (b.seq !== upTo + 1 || this.#closing !== undefined) break
            const verdict = await witness.call(this.node.transactions, b)
            if (!verdict.ok) {
              this.#report(new RefusedError(`the seq witnesses did not take block ${b.seq}: ${verdict.message}`, { reason: verdict.reason }), 'witness own blocks')
              break
            }
            upTo = b.seq
          }
          if (upTo > done) {
            this.#witnessedUpTo = done = upTo
            await this.#evidence.setWitnessed(this.publicKey, upTo)
          }
          if (upTo < from - 1 + blocks.length) return
          if (blocks.length === 64) this.#witnessAgain = true
        } while (this.#witnessAgain)
      } catch (err) {
        if (this.#closing === undefined) this.#report(err, 'witness own blocks')
      } finally {
        this.#witnessing = undefined
      }
    })()
    return this.#witnessing
  }

  #connectedTo(key: Uint8Array): boolean {
    return this.node.peers.some((p) => equalBytes(p.publicKey, key))
  }

  #checkOpen(): void {
    if (this.#closing !== undefined) throw new RefusedError('the wallet is closed', { reason: 'closed' })
    if (this.#link.state === 'standby') {
      throw new RefusedError('another tab of this browser is the signer of this wallet: this tab follows until that tab closes', { reason: 'not-signer' })
    }
  }

  async #balanceChanged(): Promise<void> {
    try {
      const balance = await this.wallet.balance()
      if (balance === this.#lastBalance) return
      this.#lastBalance = balance
      this.#emitter.emit('balance', { balance })
    } catch (err) {
      this.#report(err, 'balance')
    }
  }
}

/** A BrowserIdentity in a follower tab: its whenSigner; else undefined (sign at once). */
function followerOf(identity: Identity): (() => Promise<void>) | undefined {
  const i = identity as { role?: string; whenSigner?: () => Promise<void> }
  return i.role === 'follower' && typeof i.whenSigner === 'function' ? () => i.whenSigner!() : undefined
}

/** Subscribe to a store's commits when it can tell of them (IdbStore.watch). */
function watch(store: BlockStore, fn: (publicKeys: Uint8Array[]) => void): () => void {
  const w = (store as { watch?: (fn: (change: { blocks: readonly { publicKey: Uint8Array }[] }) => void) => () => void }).watch
  if (typeof w !== 'function') return () => undefined
  return w.call(store, (change) => fn(change.blocks.map((b) => b.publicKey)))
}

