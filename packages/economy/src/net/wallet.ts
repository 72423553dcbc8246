/**
 * The wallet over the network (`tally/economy/wallet/1`): claim a reward with a certificate and
 * proof fetched from a witness; send an expiring transfer whose receiver first fetches what it
 * lacks of the sender (its chain since what it holds, the evidence of its rewards), checks that
 * the sender can pay, and obtains the witnesses' accept ticket; then the proposal goes through
 * the node's own transaction path (a `TransactionPort`) and the agreement comes back. An amount
 * in flight comes back when the receiver declines (it asks the witnesses to void the proposal
 * first) or never answers (the sender asks them once the proposal has expired): `settle()`.
 *
 *   kind           body                                          max bytes  cost  reply
 *   offer          [proposal block bytes (≤ 1 KiB)]                   1100     8  answer
 *   answer         [accepted: bool, reason: tstr ≤ 32]                  48     1
 *   history        [from, to]                                           24     2  blocks
 *   blocks         [[block bytes...≤64]] (≤ 60 KiB in all)           65536     1
 *   evidence       [[seq...≤16]]                                       160     2  evidence-list
 *   evidence-list  [[[seq, evidence bytes]...≤16]]                   65536     1
 *
 * `history` and `evidence` serve the answering node's own chain only. The receiver fetches at
 * most `historyBlocks` blocks of a sender (default 10,000), 64 at a time, and every block goes
 * through its agent's `receive` (so its rules, balances and signatures are checked) before the
 * sender's balance is replayed. Decline reasons (the `answer`'s, and the `send` RefusedError's):
 * 'malformed', 'not-sender', 'expired', 'cheater', 'history', 'history-too-long', 'evidence',
 * 'insufficient-balance', 'balance', 'policy', 'voided', 'witnesses'; and on the sender's side
 * 'no-answer', 'unreachable', 'delivery', 'invalid', 'fraud', or the receiver node's refusal code.
 * @module
 */
import {
  DecodeError,
  FraudError,
  InvalidBlockError,
  RefusedError,
  abytes,
  auint,
  blockHash,
  equalBytes,
  isProposal,
  toHex,
  verifyBlock,
  type HalfBlock,
  type PeerContext,
  type Protocol,
  type ProtocolHandle,
  type ProtocolHost,
  type Transaction,
  type TransactionPort,
} from '@tally/core'
import { replayBalance, replayedBalance } from '../balance.js'
import type { Community } from '../community.js'
import { decodeRewardEvidence, encodeRewardEvidence, type EvidenceStore, type RewardEvidence } from '../evidence.js'
import { REFUND, REWARD, TRANSFER, readRefund, readReward, readTransfer } from '../payload.js'
import type { Wallet } from '../wallet.js'
import { block, blockValue, bool, bytes, fields, kind, list, text, uint } from './codec.js'
import { commonReason, describe } from './collect.js'
import { epochsProtocol, fetchClaim, type EpochMessages } from './epochs.js'
import { MAX_PROPOSAL_BYTES, collectTicket, ticketsAsker, type TicketMessages, type TicketStore } from './tickets.js'

/**
 * How the wallet reaches the receiver's agent: the node's own transaction path (its proposal /
 * agreement messages, its seq witnesses), core's `TransactionPort`. The gossip node's
 * `node.transactions` is one; a test calls the receiver's agent directly.
 */
export type { TransactionPort }

/** The wallet protocol's messages. */
export type WalletMessages = {
  offer: { readonly proposal: HalfBlock }
  answer: { readonly accepted: boolean; readonly reason: string }
  history: { readonly from: number; readonly to: number }
  blocks: { readonly blocks: readonly HalfBlock[] }
  evidence: { readonly seqs: readonly number[] }
  'evidence-list': { readonly items: readonly { readonly seq: number; readonly evidence: RewardEvidence }[] }
}

/** The protocol's name. */
export const WALLET_PROTOCOL = 'tally/economy/wallet/1'

/** Limits of the wallet protocol. */
export const WALLET_LIMITS: Readonly<{ blocks: number; blockBytes: number; evidence: number; historyBlocks: number }> = Object.freeze({
  /** Blocks per `blocks` reply. */
  blocks: 64,
  /** Bytes of blocks per reply. */
  blockBytes: 60 * 1024,
  /** Claims per `evidence` request. */
  evidence: 16,
  /** Blocks of one sender a receiver fetches before it declines ('history-too-long'). */
  historyBlocks: 10_000,
})

/** Options of createNetWallet. */
export interface NetWalletOptions {
  /** The local wallet, over the node's agent (whose types use `evidence` and `tickets`). */
  wallet: Wallet
  /** The community. */
  community: Community
  /** Reward evidence: this wallet's claims, and what it learns of senders'. */
  evidence: EvidenceStore
  /** Accept tickets this wallet obtains as a receiver (the agent's transfer rules read them). */
  tickets: TicketStore
  /** The node hosting the wallet, tickets and epochs protocols for this wallet. */
  host: ProtocolHost
  /** The node's transaction path. */
  port: TransactionPort
  /** How long a sent transfer may wait for its agreement before it can be voided (ms; default 10 minutes). */
  ttlMs?: number
  /** Timeout of an offer (ms; default the host's). */
  timeoutMs?: number
  /** This wallet's policy as a receiver, after the sender's balance was checked (default: accept). */
  accept?: (proposal: HalfBlock, amount: number) => boolean | Promise<boolean>
  /** Blocks of one sender this wallet fetches at most (default WALLET_LIMITS.historyBlocks). */
  historyBlocks?: number
  /**
   * Blocks per second this wallet has the seq witnesses check, sustained (default 60, with a burst
   * of 240). Each block costs a push and a query at each witness, so keep it under half the
   * witnesses' `limits.messagesPerSecond` (200 by default) or they cut this node off as a flood;
   * raise both together for long histories.
   */
  witnessRate?: number
}

/** A transfer of this wallet still in flight. */
export interface InFlight {
  readonly proposal: HalfBlock
  readonly amount: number
  readonly expires: number
  /** What this wallet knows: the receiver declined, accepted (the ticket exists), or nothing yet. */
  readonly known: 'declined' | 'accepted' | 'unknown'
}

/** What settle did. */
export interface Settled {
  /** Refund blocks appended: amounts that came back. */
  readonly refunded: readonly HalfBlock[]
  /** Transfers completed by delivering an accepted proposal again. */
  readonly completed: readonly Transaction[]
  /** Transfers still in flight. */
  readonly waiting: readonly InFlight[]
}

/** A wallet on the network. */
export interface NetWallet {
  /** The local wallet. */
  readonly wallet: Wallet
  /**
   * Claim this agent's reward of `epoch`: certificate and proof from a witness, checked, appended.
   * @throws RefusedError 'no-reward', or the witnesses' reason; RangeError, InvalidBlockError from the wallet
   */
  claim(epoch: number): Promise<HalfBlock>
  /**
   * Send `amount` to `to` as an expiring transfer, and wait for the agreement.
   * @throws RefusedError with a stable `reason` when the receiver declines (the amount comes back
   *   at once when the witnesses void it, else through settle()), does not answer, or its node refuses
   */
  send(to: Uint8Array, amount: number): Promise<Transaction>
  /** For every transfer in flight that can be settled: refund it (voided) or deliver it again (accepted). */
  settle(): Promise<Settled>
  /** This wallet's transfers in flight. */
  inFlight(): Promise<InFlight[]>
}

/**
 * A wallet on the network.
 * @param options wallet, community, evidence and ticket stores, host, transaction port
 * @returns the network wallet
 * @example
 * const net = createNetWallet({ wallet, community, evidence, tickets, host: node, port: node.transactions })
 * await net.claim(7)
 * await net.send(bob, 100)
 */
export function createNetWallet(options: NetWalletOptions): NetWallet {
  return new NetworkWallet(options)
}

class NetworkWallet implements NetWallet {
  readonly wallet: Wallet
  readonly #community: Community
  readonly #evidence: EvidenceStore
  readonly #tickets: TicketStore
  readonly #port: TransactionPort
  readonly #ttlMs: number
  readonly #timeoutMs: number | undefined
  readonly #accept: ((proposal: HalfBlock, amount: number) => boolean | Promise<boolean>) | undefined
  readonly #historyBlocks: number
  readonly #peers: ProtocolHandle<WalletMessages>
  readonly #ticketHandle: ProtocolHandle<TicketMessages>
  readonly #epochs: ProtocolHandle<EpochMessages>
  readonly #known = new Map<string, 'declined' | 'accepted'>()
  /** Per sender, the highest seq up to which this wallet had the seq witnesses check its chain. */
  readonly #checked = new Map<string, number>()
  readonly #witnessRate: number
  /** Blocks the seq witnesses may be asked about now (a token bucket on the host's clock), and when it was filled. */
  #witnessBudget = { tokens: WITNESS_BURST, at: Number.NaN }

  constructor(options: NetWalletOptions) {
    const { wallet, community, evidence, tickets, host, port } = options ?? ({} as NetWalletOptions)
    if (wallet === undefined || community === undefined || evidence === undefined || tickets === undefined || host === undefined || port === undefined) {
      throw new TypeError('"wallet", "community", "evidence", "tickets", "host" and "port" are required')
    }
    this.wallet = wallet
    this.#community = community
    this.#evidence = evidence
    this.#tickets = tickets
    this.#port = port
    this.#ttlMs = options.ttlMs ?? 600_000
    this.#timeoutMs = options.timeoutMs
    this.#accept = options.accept
    this.#historyBlocks = options.historyBlocks ?? WALLET_LIMITS.historyBlocks
    this.#witnessRate = options.witnessRate ?? 60
    if (!(this.#witnessRate > 0) || !Number.isFinite(this.#witnessRate)) throw new RangeError(`"witnessRate" expected a number > 0, got ${String(options.witnessRate)}`)
    this.#peers = host.host(this.#protocol())
    this.#ticketHandle = host.host(ticketsAsker())
    this.#epochs = host.host(epochsProtocol())
    // the community's witnesses serve this wallet's certificates, proofs and tickets, and are its
    // seq witnesses (thousands of answers for a long history): known from the signed
    // configuration, so no strangers to its node
    for (const w of community.current.witnesses) if (!equalBytes(w, wallet.agent.publicKey)) this.#epochs.admit?.(w, 'witness')
  }

  get #agent() {
    return this.wallet.agent
  }

  async claim(epoch: number): Promise<HalfBlock> {
    auint('epoch', epoch)
    return this.wallet.claim(await fetchClaim(this.#epochs, this.#community.current.witnesses, epoch, this.#agent.publicKey))
  }

  async send(to: Uint8Array, amount: number): Promise<Transaction> {
    abytes('to', to, 32)
    const proposal = await this.wallet.send(to, amount, { expires: this.#peers.clock.now() + this.#ttlMs })
    let answer: WalletMessages['answer']
    try {
      const ctx = await this.#peers.peer(to)
      const reply = await ctx.request('offer', { proposal }, this.#timeoutMs === undefined ? undefined : { timeoutMs: this.#timeoutMs })
      if (reply.kind !== 'answer') throw new RefusedError(`offer answered with ${reply.kind}`, { reason: 'protocol' })
      answer = reply.message
    } catch (err) {
      const { reason, message } = describe(err)
      const code = reason === 'timeout' ? 'no-answer' : reason
      throw new RefusedError(`the receiver did not take the offer (${message}): the amount stays in flight until it expires, then settle() brings it back`, { reason: code, cause: err })
    }
    const hash = toHex(blockHash(proposal, this.#community.crypto))
    if (!answer.accepted) {
      this.#known.set(hash, 'declined')
      const refund = await this.#refund(proposal)
      const back = refund === undefined ? 'the amount comes back once k witnesses void it (settle())' : 'the amount came back'
      throw new RefusedError(`the receiver declined: ${answer.reason}; ${back}`, { reason: answer.reason })
    }
    this.#known.set(hash, 'accepted')
    return this.#complete(proposal)
  }

  async settle(): Promise<Settled> {
    const now = this.#peers.clock.now()
    const refunded: HalfBlock[] = []
    const completed: Transaction[] = []
    const waiting: InFlight[] = []
    for (const flight of await this.inFlight()) {
      try {
        if (flight.known === 'accepted') {
          completed.push(await this.#complete(flight.proposal))
          continue
        }
        if (flight.known === 'declined' || now >= flight.expires) {
          const refund = await this.#refund(flight.proposal)
          if (refund !== undefined) {
            refunded.push(refund)
            continue
          }
          // the witnesses said it was accepted: the receiver holds the ticket; deliver it again
          if (this.#known.get(toHex(blockHash(flight.proposal, this.#community.crypto))) === 'accepted') {
            completed.push(await this.#complete(flight.proposal))
            continue
          }
        }
      } catch {
        // still in flight: try again at the next settle
      }
      waiting.push(flight)
    }
    return { refunded, completed, waiting: waiting.map((w) => ({ ...w, known: this.#knownOf(w.proposal) })) }
  }

  async inFlight(): Promise<InFlight[]> {
    const me = this.#agent.publicKey
    const chain = await this.#agent.store.range(me)
    const back = new Set<number>()
    for (const b of chain) if (b.type === REFUND) back.add(readRefund(b.payload)?.seq ?? 0)
    const out: InFlight[] = []
    for (const b of chain) {
      if (b.type !== TRANSFER || !isProposal(b) || back.has(b.seq)) continue
      const p = readTransfer(b.payload, false)
      if (p?.expires === undefined) continue
      if ((await this.#agent.store.findAgreement(me, b.seq, b.linkPublicKey)) !== undefined) continue
      out.push({ proposal: b, amount: p.amount, expires: p.expires, known: this.#knownOf(b) })
    }
    return out
  }

  // ## Sender

  /** Deliver an accepted proposal through the node's transaction path and take in the agreement. */
  async #complete(proposal: HalfBlock): Promise<Transaction> {
    let agreement: HalfBlock
    try {
      agreement = await this.#port.deliver(proposal, this.#timeoutMs === undefined ? undefined : { timeoutMs: this.#timeoutMs })
    } catch (err) {
      throw new RefusedError(`the receiver accepted but its agreement did not come back (${(err as Error)?.message ?? err}): settle() delivers it again`, { reason: deliveryReason(err), cause: err })
    }
    return this.wallet.complete(agreement)
  }

  /** Ask the witnesses to void the proposal; refund it when k did. */
  async #refund(proposal: HalfBlock): Promise<HalfBlock | undefined> {
    const got = await collectTicket(this.#ticketHandle, this.#community, 'void', proposal)
    if (got.refusals.some((r) => r.reason === 'accepted')) this.#known.set(toHex(blockHash(proposal, this.#community.crypto)), 'accepted')
    if (!got.complete) return undefined
    return this.wallet.refund(proposal, got.signatures)
  }

  #knownOf(proposal: HalfBlock): InFlight['known'] {
    return this.#known.get(toHex(blockHash(proposal, this.#community.crypto))) ?? 'unknown'
  }

  // ## Receiver

  /** An offer: fetch what is missing, check the sender can pay, get the accept ticket — or decline. */
  async #offer(proposal: HalfBlock, ctx: PeerContext<WalletMessages>): Promise<WalletMessages['answer']> {
    const me = this.#agent.publicKey
    const p = proposal.type === TRANSFER && isProposal(proposal) ? readTransfer(proposal.payload, false) : undefined
    if (p?.expires === undefined || !equalBytes(proposal.linkPublicKey, me) || !verifyBlock(proposal, this.#community.crypto)) return { accepted: false, reason: 'malformed' }
    if (!equalBytes(proposal.publicKey, ctx.peer)) return { accepted: false, reason: 'not-sender' }
    const hash = blockHash(proposal, this.#community.crypto)
    if ((await this.#tickets.ticket(hash)) !== undefined) return { accepted: true, reason: '' }
    if (ctx.clock.now() >= p.expires) return { accepted: false, reason: 'expired' }
    if (await this.#agent.refuses(proposal.publicKey)) return this.#decline(proposal, 'cheater')
    // a party-to-be's history, not a stranger's: the node keeps it within its own quota for such
    // data (the gossip node's keep.partyBytes) rather than trimming it to a stranger's 256 KiB
    this.#peers.keepChain?.(proposal.publicKey)
    try {
      await this.#history(ctx, proposal.publicKey, proposal.seq - 1)
    } catch (err) {
      return this.#decline(proposal, err instanceof RefusedError && err.reason !== undefined ? err.reason : 'history')
    }
    const replay = await replayBalance(this.#agent.store, proposal.publicKey, proposal.seq - 1, this.#community.crypto)
    if (!replay.ok) return this.#decline(proposal, replay.reason === 'balance' ? 'balance' : 'history')
    const before = replay.point
    if (before.hash !== undefined && !equalBytes(before.hash, proposal.previousHash)) return this.#decline(proposal, 'history')
    // the sender's balance in the transfer's community (payload version 2; version 1's when it names none)
    const had = replayedBalance(before, p.community)
    if (had < p.amount) return this.#decline(proposal, 'insufficient-balance')
    if (had - p.amount !== p.balance) return this.#decline(proposal, 'balance')
    if (this.#accept !== undefined && !(await this.#accept(proposal, p.amount))) return this.#decline(proposal, 'policy')
    try {
      await this.#witnessed([proposal])
    } catch (err) {
      return this.#decline(proposal, err instanceof RefusedError && err.reason !== undefined ? err.reason : 'witnesses')
    }
    const got = await collectTicket(this.#ticketHandle, this.#community, 'accept', proposal)
    if (!got.complete) return this.#decline(proposal, got.refusals.some((r) => r.reason === 'voided') ? 'voided' : commonReason(got.refusals, 'witnesses') === 'expired' ? 'expired' : 'witnesses')
    this.#tickets.put(hash, got.signatures)
    return { accepted: true, reason: '' }
  }

  /** Decline: ask the witnesses to void first, so the sender gets its amount back at once. */
  async #decline(proposal: HalfBlock, reason: string): Promise<WalletMessages['answer']> {
    await collectTicket(this.#ticketHandle, this.#community, 'void', proposal).catch(() => undefined)
    return { accepted: false, reason }
  }

  /**
   * Fetch and take in the sender's chain up to `upTo` beyond what this store holds from genesis,
   * with the evidence of its rewards.
   */
  async #history(ctx: PeerContext<WalletMessages>, sender: Uint8Array, upTo: number): Promise<void> {
    const store = this.#agent.store
    let have = 0
    while (have < upTo) {
      const chunk = await store.range(sender, { from: have + 1, to: upTo, limit: 256 })
      let grew = false
      for (const b of chunk) {
        if (b.seq !== have + 1) break
        have = b.seq
        grew = true
      }
      if (!grew || chunk.length === 0) break
    }
    // blocks held but never shown to the seq witnesses by this wallet (gossip brought them, or a
    // restart forgot what was checked) are checked before they count
    await this.#witnessHeld(sender, Math.min(have, upTo))
    if (have >= upTo) return
    if (upTo - have > this.#historyBlocks) throw new RefusedError(`the sender's chain holds ${upTo - have} blocks this wallet lacks`, { reason: 'history-too-long' })
    const got: HalfBlock[] = []
    for (let from = have + 1; from <= upTo; ) {
      const reply = await ctx.request('history', { from, to: upTo })
      if (reply.kind !== 'blocks') throw new RefusedError('history answered with something else', { reason: 'history' })
      let next = from
      for (const b of reply.message.blocks) {
        if (!equalBytes(b.publicKey, sender) || b.seq !== next) break
        got.push(b)
        next++
      }
      if (next === from) throw new RefusedError(`the sender did not serve its block at seq ${from}`, { reason: 'history' })
      from = next
    }
    const missing = got.filter((b) => {
      const r = b.type === REWARD ? readReward(b.payload) : undefined
      return r !== undefined && this.#evidence.evidence({ owner: sender, epoch: r.epoch, root: r.root, amount: r.amount }) === undefined
    })
    for (let at = 0; at < missing.length; at += WALLET_LIMITS.evidence) {
      const wanted = missing.slice(at, at + WALLET_LIMITS.evidence)
      const reply = await ctx.request('evidence', { seqs: wanted.map((b) => b.seq) })
      if (reply.kind !== 'evidence-list') throw new RefusedError('evidence answered with something else', { reason: 'evidence' })
      for (const item of reply.message.items) {
        const b = wanted.find((w) => w.seq === item.seq)
        const r = b === undefined ? undefined : readReward(b.payload)
        if (r !== undefined) this.#evidence.put(sender, r.amount, item.evidence)
      }
    }
    await this.#witnessed(got)
    this.#checked.set(toHex(sender), upTo)
    for (const b of got) {
      const result = await this.#agent.receive(b)
      if (result.level === 'invalid') {
        const rules = result.errors.map((e) => e.rule)
        throw new RefusedError(`the sender's block at seq ${b.seq} is invalid: ${rules.join(', ')}`, { reason: rules.includes('reward-evidence') ? 'evidence' : 'history' })
      }
    }
  }

  /** Wait until `n` blocks may be checked: at most witnessRate a second, after a burst. */
  async #pace(n: number): Promise<void> {
    const clock = this.#peers.clock
    const b = this.#witnessBudget
    const now = clock.now()
    b.tokens = Number.isNaN(b.at) ? b.tokens : Math.min(WITNESS_BURST, b.tokens + ((now - b.at) / 1000) * this.#witnessRate)
    b.at = now
    b.tokens -= n
    if (b.tokens >= 0) return
    const waitMs = Math.ceil((-b.tokens / this.#witnessRate) * 1000)
    await new Promise<void>((resolve) => clock.setTimeout(resolve, waitMs))
  }

  /** Check the sender's blocks this wallet holds from the last one it checked up to `upTo`. */
  async #witnessHeld(sender: Uint8Array, upTo: number): Promise<void> {
    if (this.#port.witness === undefined) return
    const hex = toHex(sender)
    for (let from = (this.#checked.get(hex) ?? 0) + 1; from <= upTo; ) {
      const chunk = await this.#agent.store.range(sender, { from, to: upTo, limit: 256 })
      if (chunk.length === 0) break
      await this.#witnessed(chunk)
      from = chunk[chunk.length - 1]!.seq + 1
      this.#checked.set(hex, chunk[chunk.length - 1]!.seq)
    }
  }

  /**
   * The port's seq witnesses on each of `blocks` (when the port has them): the first branch of a
   * fork checked fixes each slot, so a second branch is refused at its first block that differs.
   * @throws RefusedError 'cheater' (another block at a slot: the node keeps the proof) or 'witnesses'
   */
  async #witnessed(blocks: readonly HalfBlock[]): Promise<void> {
    const witness = this.#port.witness
    if (witness === undefined) return
    for (let at = 0; at < blocks.length; at += WITNESS_BATCH) {
      await this.#pace(Math.min(WITNESS_BATCH, blocks.length - at))
      const verdicts = await Promise.all(blocks.slice(at, at + WITNESS_BATCH).map((b) => witness.call(this.#port, b)))
      const conflict = verdicts.find((v) => !v.ok && v.reason === 'conflict')
      if (conflict !== undefined && !conflict.ok) throw new RefusedError(`the sender forked its chain: ${conflict.message}`, { reason: 'cheater' })
      const missing = verdicts.find((v) => !v.ok)
      if (missing !== undefined && !missing.ok) throw new RefusedError(`the seq witnesses could not vouch for the sender's chain: ${missing.message}`, { reason: 'witnesses' })
    }
  }

  /**
   * The evidence of one of this wallet's own rewards that its store no longer holds (kept in
   * memory, it is gone after a restart): fetched again from the witnesses, who keep the tables of
   * their last `keepEpochs` epochs, checked and kept.
   */
  async #refetch(reward: { epoch: number; root: Uint8Array; amount: number }): Promise<RewardEvidence | undefined> {
    try {
      const claim = await fetchClaim(this.#epochs, this.#community.current.witnesses, reward.epoch, this.#agent.publicKey)
      if (claim.amount !== reward.amount || !equalBytes(claim.certificate.root, reward.root)) return undefined
      const evidence = { certificate: claim.certificate, proof: claim.proof }
      return this.#evidence.put(this.#agent.publicKey, reward.amount, evidence).ok ? evidence : undefined
    } catch {
      return undefined
    }
  }

  // ## Protocol

  #protocol(): Protocol<WalletMessages> {
    const me = () => this.#agent.publicKey
    return Object.freeze({
      name: WALLET_PROTOCOL,
      messages: WALLET_MESSAGES,
      handlers: Object.freeze<Protocol<WalletMessages>['handlers']>({
        offer: async (m, ctx) => ({ kind: 'answer', message: await this.#offer(m.proposal, ctx) }),
        history: async (m) => {
          const to = Math.min(m.to, m.from + WALLET_LIMITS.blocks - 1)
          const blocks: HalfBlock[] = []
          let total = 0
          for (const b of m.from <= to ? await this.#agent.store.range(me(), { from: m.from, to, limit: WALLET_LIMITS.blocks }) : []) {
            const size = blockValue(b).length
            if (total + size > WALLET_LIMITS.blockBytes) break
            total += size
            blocks.push(b)
          }
          return { kind: 'blocks', message: { blocks } }
        },
        evidence: async (m) => {
          const items: { seq: number; evidence: RewardEvidence }[] = []
          let total = 0
          for (const seq of m.seqs) {
            const b = await this.#agent.store.get(me(), seq)
            const r = b?.type === REWARD ? readReward(b.payload) : undefined
            const evidence = r === undefined ? undefined : ((await this.#evidence.evidence({ owner: me(), epoch: r.epoch, root: r.root, amount: r.amount })) ?? (await this.#refetch(r)))
            if (evidence === undefined) continue
            total += encodeRewardEvidence(evidence).length
            if (total > WALLET_LIMITS.blockBytes) break
            items.push({ seq, evidence })
          }
          return { kind: 'evidence-list', message: { items } }
        },
      }),
    })
  }
}

// ## Codecs and private helpers

const REASON = /^[a-z0-9-]{0,32}$/

/** Blocks whose seq witnesses are asked at once. */
const WITNESS_BATCH = 16
/** Blocks the seq witnesses may be asked about in a burst. */
const WITNESS_BURST = 240

const WALLET_MESSAGES: Protocol<WalletMessages>['messages'] = Object.freeze({
  offer: kind<WalletMessages['offer']>(MAX_PROPOSAL_BYTES + 76, 8, (m) => [blockValue(m.proposal)], (b) => ({ proposal: block(fields(b, 1, 'offer')[0], 'proposal', MAX_PROPOSAL_BYTES) })),
  answer: kind<WalletMessages['answer']>(48, 1, (m) => [m.accepted, m.reason], (b) => {
    const [accepted, reason] = fields(b, 2, 'answer')
    const r = text(reason, 'reason', 32)
    if (!REASON.test(r)) throw new DecodeError('reason must be a code of [a-z0-9-]')
    return { accepted: bool(accepted, 'accepted'), reason: r }
  }),
  history: kind<WalletMessages['history']>(24, 2, (m) => [m.from, m.to], (b) => {
    const [from, to] = fields(b, 2, 'history')
    const f = uint(from, 'from')
    if (f < 1) throw new DecodeError('from must be at least 1')
    return { from: f, to: uint(to, 'to') }
  }),
  blocks: kind<WalletMessages['blocks']>(65_536, 1, (m) => [m.blocks.map(blockValue)], (b) => ({
    blocks: list(fields(b, 1, 'blocks')[0], 'blocks', WALLET_LIMITS.blocks, (x, what) => block(x, what, WALLET_LIMITS.blockBytes)),
  })),
  evidence: kind<WalletMessages['evidence']>(160, 2, (m) => [[...m.seqs]], (b) => ({ seqs: list(fields(b, 1, 'evidence')[0], 'seqs', WALLET_LIMITS.evidence, (x, what) => uint(x, what)) })),
  'evidence-list': kind<WalletMessages['evidence-list']>(65_536, 1, (m) => [m.items.map((i) => [i.seq, encodeRewardEvidence(i.evidence)])], (b) => ({
    items: list(fields(b, 1, 'evidence-list')[0], 'items', WALLET_LIMITS.evidence, (x, what) => {
      const [seq, evidence] = fields(x, 2, what)
      return { seq: uint(seq, `${what} seq`), evidence: decodeRewardEvidence(bytes(evidence, `${what} evidence`, undefined, 64 * 1024)) }
    }),
  })),
})

function deliveryReason(err: unknown): string {
  if (err instanceof RefusedError) return err.reason ?? 'refused'
  if (err instanceof InvalidBlockError) return 'invalid'
  if (err instanceof FraudError) return 'fraud'
  const name = (err as { name?: string })?.name
  return name === 'TimeoutError' ? 'no-answer' : name === 'ClosedError' ? 'unreachable' : 'delivery'
}
