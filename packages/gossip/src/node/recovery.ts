/**
 * The node as its agent's head source (core's `HeadSource`): before the agent's first signature,
 * the peers it has sessions with say which block of its own chain is the highest they hold, and
 * the blocks its store lacks are fetched from them. Until that is known the agent signs nothing
 * (`HeadUnknownError`), so a seed restored on an empty store never signs a seq twice.
 *
 * head(key):
 * - waits (up to `recovery.timeoutMs`) until at least `recovery.answers` peers have sessions, or
 *   the first session when there is none;
 * - asks `recovery.maxPeers` of them for their latest block of the chain (a crawl of -1..-1, the
 *   existing request, whose answer holds that block and the peer's `latest`): peers it knows
 *   first (admitted keys and counterparties), then those that told it a head before, then any at
 *   random; while fewer than `recovery.answers` have answered, the next `maxPeers` are asked
 *   every quarter of the timeout (or at once when every one asked has answered or failed). Why:
 *   a node among many strangers that never answer (a flood of fresh keys) asked eight of them
 *   at random, heard nothing, and refused every agreement for want of its head, though the peer
 *   proposing was right there and would have answered;
 * - waits for every peer asked to answer (or the timeout): a peer that answers "nothing" at
 *   once cannot beat a slower one that holds the chain; the highest block wins;
 * - counts an answer only when it is valid: `latest` 0 and no block ("I hold nothing of your
 *   chain" is an answer), or a block at `latest` signed by the chain's key. A forged block
 *   costs its sender (as any broken block does) and is not counted; an error, a timeout or a
 *   `latest` without its block is no answer;
 * - throws UnreachableError when fewer than `recovery.answers` answered: the agent then refuses to
 *   sign (HeadUnknownError) and asks again at its next attempt, when other peers may be there.
 *
 * fetch(key, start, end): crawls of at most maxCrawlBlocks seqs each, first from the peers that
 * offered the highest heads, then any other; blocks that are not the chain's or not signed by it
 * are dropped (and cost their sender), and the missing seqs are asked of the next peer. Crawls are
 * paced to half of a peer's message rate (limits.messagesPerSecond / messageBurst, assumed to be
 * the peer's too), so a long recovery is never cut off as a flood. The agent validates and stores
 * what comes back.
 *
 * A network's first boot: every node's store is empty and nodes only talk to each other. Each
 * one, before its first signature, asks its peers, who hold nothing of its chain and say so; that
 * is an answer, so the chain starts at seq 1 and the network starts. The same answer is what a
 * restored seed gets from peers that never saw its chain: such a node signs seq 1 again, and that
 * second seq 1 is a fork its old peers will prove. Peers that hold the chain prevent it; raise
 * `recovery.answers` to ask for more of them, or use `head: 'local'` for an identity that is new.
 * @module
 */
import { equalBytes, shortKey, verifyBlock, type HalfBlock, type PublicKeyHex } from '@tally/core'
import type { CrawlRequestMessage, ErrorMessage, ReplyTo } from '../wire/messages.js'
import type { Session } from '../wire/session.js'
import type { NodeContext } from './context.js'
import { UnreachableError } from '../errors.js'
import { BAD_BLOCK_COST } from './ingest.js'
import { firstAnswer } from './first-answer.js'
import { firstOpen } from './peers.js'
import { isKnown } from './admission.js'
import type { Neighbour } from './peer-table.js'

/** How the node learns its own chain's head from its peers (NodeOptions.recovery). */
export interface RecoveryOptions {
  /** Peers that must answer before the head is trusted (default 1). */
  readonly answers: number
  /** Milliseconds to wait for that many sessions, then for their answers (default 5000). */
  readonly timeoutMs: number
  /** Peers asked at once (default 8); more, as many again each quarter of timeoutMs, while fewer than `answers` answered. */
  readonly maxPeers: number
}

/** The default recovery settings. */
export const DEFAULT_RECOVERY: Readonly<RecoveryOptions> = Object.freeze({ answers: 1, timeoutMs: 5000, maxPeers: 8 })

/** What a node remembers between head() and fetch(): who offered how high a head. */
export interface RecoveryState {
  readonly options: Readonly<RecoveryOptions>
  /** The peers that answered the last head(), by key, with the seq they hold (0: none). */
  holders: Map<PublicKeyHex, number>
}

/** One peer's answer: the highest block of the chain it holds, or none. */
interface Answer {
  readonly peer: PublicKeyHex
  readonly block: HalfBlock | undefined
}

// ## The head

/** HeadSource.head over the node's peers (see the module comment). */
export async function headFromPeers(ctx: NodeContext, key: Uint8Array): Promise<HalfBlock | undefined> {
  ctx.checkOpen()
  const state = ctx.recovery!
  const { answers: needed, timeoutMs, maxPeers } = state.options
  const deadline = ctx.clock.now() + timeoutMs
  while (ctx.peers.size < needed && ctx.clock.now() < deadline) await waitForPeer(ctx, deadline - ctx.clock.now())
  const order = askingOrder(ctx, state)
  if (order.length === 0) throw new UnreachableError(`no peer to ask for the head of ${shortKey(key)}'s chain within ${timeoutMs} ms`)
  const waveMs = Math.max(1, timeoutMs / 4)
  const answers: Answer[] = []
  const asking: Promise<void>[] = []
  let asked = 0
  for (;;) {
    if (answers.length < needed) {
      for (const n of order.slice(asked, asked + maxPeers)) {
        asking.push(askHead(ctx, firstOpen(n), key, deadline).then((a) => void (a !== undefined && answers.push(a))))
      }
      asked = Math.min(order.length, asked + maxPeers)
    }
    const all = Promise.all(asking)
    let settled = false
    void all.then(() => (settled = true))
    // enough answers, or nobody left to ask: wait for the rest of those asked (a slower one may
    // hold a higher head); else the next wave after a quarter of the time, or once all answered
    const last = answers.length >= needed || asked >= order.length
    const left = deadline - ctx.clock.now()
    if (left > 0) await ctx.sleep(last ? left : Math.min(waveMs, left), all)
    if (last || ctx.clock.now() >= deadline) break
    if (settled && (answers.length >= needed || asked >= order.length)) break
  }
  if (answers.length < needed) {
    throw new UnreachableError(`${answers.length} of ${asked} peers told the head of ${shortKey(key)}'s chain; ${needed} needed`)
  }
  state.holders = new Map(answers.map((a) => [a.peer, a.block?.seq ?? 0]))
  let top: HalfBlock | undefined
  for (const a of answers) if (a.block !== undefined && (top === undefined || a.block.seq > top.seq)) top = a.block
  return top
}

// ## The blocks below it

/** HeadSource.fetch over the node's peers: seqs start..end of `key`'s chain, as many as they have. */
export async function fetchFromPeers(ctx: NodeContext, key: Uint8Array, start: number, end: number): Promise<readonly HalfBlock[]> {
  ctx.checkOpen()
  const got = new Map<number, HalfBlock>()
  const holders = ctx.recovery!.holders
  // the peers that offered the highest heads first, then every other neighbour
  const order = [...ctx.peers.list].sort((x, y) => (holders.get(y.hex) ?? -1) - (holders.get(x.hex) ?? -1))
  const pace = pacer(ctx)
  let next = start
  for (const n of order) {
    const session = firstOpen(n)
    while (session !== undefined && next <= end) {
      const to = Math.min(end, next + session.limits.maxCrawlBlocks - 1)
      await pace(to - next + 1)
      let blocks: readonly HalfBlock[]
      let latest: number
      try {
        ctx.stats.crawlsSent++
        const reply = await session.request({ type: 'crawl-request', publicKey: key, start: next, end: to })
        if (reply.type !== 'crawl-answer') break
        blocks = reply.blocks
        latest = reply.latest
      } catch {
        break // closed or timed out: the next peer
      }
      const before = next
      // the signatures of the answer at once through the node's verifier, where it has one (a page's WebCrypto)
      const signed = ctx.verifySignatures === undefined ? undefined : await ctx.verifySignatures(blocks)
      for (const [i, b] of blocks.entries()) {
        if (b.seq !== next) continue // the decoder checked the chain and the order; a gap ends this peer's part
        if (!(signed === undefined ? verifyBlock(b, ctx.crypto) : signed[i] === true)) {
          session.penalize(BAD_BLOCK_COST, 'a forged block in a recovery crawl')
          break
        }
        got.set(b.seq, b)
        next++
      }
      // an answer may stop short of `to` to fit its frame: ask again while it makes progress
      if (next === before || latest < next) break
    }
    if (next > end) break
  }
  return [...got.values()]
}

// ## Private helpers

/**
 * One peer's latest block of `key`'s chain, or undefined when it gave no valid answer by the
 * deadline. A request unanswered after a quarter of the time is sent again (a lost frame), and the
 * earlier ones stay open until the deadline: over a session that loses nothing, a request is late
 * because it waits behind others (a stranger's frames wait for the strangers' budget), and its
 * answer, when it comes, is as good as the resend's.
 */
async function askHead(ctx: NodeContext, session: Session | undefined, key: Uint8Array, deadline: number): Promise<Answer | undefined> {
  if (session === undefined) return undefined
  const attemptMs = Math.max(1, ctx.recovery!.options.timeoutMs / 4)
  const copies: Promise<ReplyTo<CrawlRequestMessage> | ErrorMessage>[] = []
  for (;;) {
    const left = deadline - ctx.clock.now()
    if (left <= 0) return undefined
    ctx.stats.crawlsSent++
    const copy = session.request({ type: 'crawl-request', publicKey: key, start: -1, end: -1 }, { timeoutMs: left })
    copy.catch(() => undefined) // awaited below, or given up at the deadline
    copies.push(copy)
    try {
      const reply = await firstAnswer(ctx, copies, Math.min(left, attemptMs))
      return reply.type === 'crawl-answer' ? answerOf(ctx, session, key, reply.latest, reply.blocks) : undefined
    } catch (err) {
      // closed, or too many requests pending: no answer from this peer; a timeout sends a copy more
      if ((err as { name?: unknown })?.name !== 'TimeoutError') return undefined
    }
  }
}

/**
 * Every neighbour, in the order head() asks them: the keys this node knows (admitted, or
 * counterparties), then those that told it a head last time, then the others at random.
 */
function askingOrder(ctx: NodeContext, state: RecoveryState): Neighbour[] {
  const rank = (n: Neighbour): number => (isKnown(ctx, n.publicKey) ? 0 : state.holders.has(n.hex) ? 1 : 2)
  const out = ctx.peers.random(ctx.peers.size, ctx.random)
  // a shuffle first (random returns the list as it is when asked for all of it), then a stable sort by rank
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(ctx.random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out.sort((x, y) => rank(x) - rank(y))
}

/** A crawl answer of -1..-1 as an answer (see the module comment), or undefined. */
function answerOf(ctx: NodeContext, session: Session, key: Uint8Array, latest: number, blocks: readonly HalfBlock[]): Answer | undefined {
  const block = blocks.at(-1)
  // "nothing of that chain" is an answer: on a network's first boot it is the only one
  if (latest === 0) return { peer: session.peerKeyHex, block: undefined }
  if (block === undefined || block.seq !== latest || !equalBytes(block.publicKey, key)) return undefined
  if (!verifyBlock(block, ctx.crypto)) {
    session.penalize(BAD_BLOCK_COST, 'a forged head of the chain it was asked for')
    return undefined
  }
  return { peer: session.peerKeyHex, block }
}

/** Resolves when a peer's first session opens, or after `ms`; rejects with ClosedError when the node closes. */
async function waitForPeer(ctx: NodeContext, ms: number): Promise<void> {
  let off: (() => void) | undefined
  const opened = new Promise<void>((resolve) => (off = ctx.events.once('peer:open', () => resolve())))
  try {
    await ctx.sleep(ms, opened)
  } finally {
    off?.()
  }
}

/**
 * Waits before each crawl so that crawls take at most half of the peer's message rate (a crawl of
 * n seqs weighs n): a bucket of messageBurst / 2 tokens refilled at messagesPerSecond / 2.
 */
function pacer(ctx: NodeContext): (weight: number) => Promise<void> {
  const rate = ctx.limits.messagesPerSecond / 2
  const burst = ctx.limits.messageBurst / 2
  let tokens = burst
  let at = ctx.clock.now()
  return async (weight) => {
    const now = ctx.clock.now()
    tokens = Math.min(burst, tokens + ((now - at) / 1000) * rate)
    at = now
    if (tokens < weight) {
      await ctx.sleep(Math.ceil(((weight - tokens) / rate) * 1000))
      tokens = weight
      at = ctx.clock.now()
    }
    tokens -= weight
  }
}
