/**
 * Pull gossip and crawls on a node (the rules are in node.ts's module comment): head requests to a
 * random neighbour on a jittered timer, heads that contradict the store crawled, the audit of a
 * slot after each pull; the heads and crawls this node serves; and `crawl`, a chain's range on
 * request.
 * @module
 */
import { RefusedError, abytes, blockHash, blockSize, equalBytes, shortKey, toHex, type FraudProof, type HalfBlock } from '@tally/core'
import { resolveCrawlRange, type CrawlAnswerMessage, type CrawlRequestMessage, type Head, type HeadsRequestMessage } from '../wire/messages.js'
import type { Session } from '../wire/session.js'
import type { NodeContext } from './context.js'
import { auditSlots, contradicts, pullKeys } from './gossip-rules.js'
import { ingest } from './ingest.js'
import { firstOpen, sessionTo } from './peers.js'
import { accusedId } from './fraud-relay.js'

// ## Asking

/** Node.pull: ask a random neighbour for its heads of the chains learnt of most recently. */
export function pull(ctx: NodeContext): void {
  if (ctx.closed) return
  const [n] = ctx.peers.random(1, ctx.random)
  const s = n === undefined ? undefined : firstOpen(n)
  if (s === undefined || !s.writable || s.pendingRequests >= s.limits.maxPendingRequests) return
  // ctx.recent is oldest first
  const newestFirst = [...ctx.recent.values()].reverse().map((b) => b.publicKey)
  const keys = pullKeys(
    newestFirst,
    Math.min(ctx.gossip.headsPerPull, s.limits.maxHeads),
    (k) => equalBytes(k, n!.publicKey),
    (k) => ctx.relayedAccused.has(accusedId(k)),
  )
  if (keys.length === 0) return
  ctx.stats.headsSent++
  s.request({ type: 'heads-request', publicKeys: keys }).then(
    async (reply) => {
      if (reply.type !== 'heads') return
      await onHeads(ctx, reply.heads, s)
      if (ctx.gossip.auditsPerPull > 0) await audit(ctx, reply.heads, s)
    },
    () => undefined, // closed or timed out: the next round asks someone else
  )
}

export function schedulePull(ctx: NodeContext): void {
  const interval = ctx.gossip.pullIntervalMs
  if (interval <= 0 || ctx.closed || ctx.pullTimer !== undefined) return
  // jittered (0.5 to 1.5 intervals), so that nodes started together do not announce together
  ctx.pullTimer = ctx.clock.setTimeout(() => {
    ctx.pullTimer = undefined
    if (ctx.closed || ctx.peers.size === 0) return
    pull(ctx)
    schedulePull(ctx)
  }, interval * (0.5 + ctx.random()))
}

/** Heads from a peer (a reply to a pull, or announced unasked): crawl the slots that contradict the store. */
export async function onHeads(ctx: NodeContext, heads: readonly Head[], session: Session): Promise<void> {
  for (const h of heads) {
    if (ctx.crawling.size >= ctx.gossip.maxCrawls) return
    if (await ctx.store.hasFraud(h.publicKey)) continue
    const stored = await ctx.store.get(h.publicKey, h.seq)
    const next = stored === undefined ? await ctx.store.get(h.publicKey, h.seq + 1) : undefined
    if (contradicts(h.hash, stored && blockHash(stored, ctx.crypto), next?.previousHash, equalBytes)) void crawlSlot(ctx, session, h.publicKey, h.seq)
  }
}

/** Blocks one Node.crawl fetches at most, by default, whatever the peer says its chain holds. */
export const DEFAULT_CRAWL_BLOCKS = 10_000

/**
 * Node.crawl: blocks of `chain` from `peerKey`, validated and stored, in as many requests as the
 * range takes. The peer's answers are not trusted to end the walk: each must be for the chain
 * asked, hold only blocks in the range asked (so every answer moves the start up), and the walk
 * stops after `maxBlocks` blocks, whatever `latest` the peer claims.
 */
export async function crawl(ctx: NodeContext, peerKey: Uint8Array, chain: Uint8Array, range: { start?: number; end?: number; maxBlocks?: number }): Promise<HalfBlock[]> {
  abytes('peerKey', peerKey, 32)
  abytes('chain', chain, 32)
  ctx.checkOpen()
  let start = range.start ?? 1
  const end = range.end ?? -1
  const maxBlocks = range.maxBlocks ?? DEFAULT_CRAWL_BLOCKS
  if (!Number.isSafeInteger(start) || start === 0 || !Number.isSafeInteger(end) || end === 0) {
    throw new RangeError('"range" expected non-zero safe integer seqs (negative: from the end)')
  }
  if (!Number.isSafeInteger(maxBlocks) || maxBlocks < 1) throw new RangeError(`"range.maxBlocks" expected a positive integer, got ${String(maxBlocks)}`)
  const session = await sessionTo(ctx, peerKey)
  const out: HalfBlock[] = []
  while (out.length < maxBlocks) {
    ctx.stats.crawlsSent++
    const reply = await session.request({ type: 'crawl-request', publicKey: chain, start, end })
    if (reply.type === 'error') throw new RefusedError(`${shortKey(peerKey)} refused the crawl (${reply.code}): ${reply.reason}`)
    // the range asked, resolved against the chain's head as the peer gives it
    const want = resolveCrawlRange(start, end, reply.latest, Number.MAX_SAFE_INTEGER)
    const wrong = wrongAnswer(reply, chain, want)
    if (wrong !== undefined) {
      session.penalize(session.limits.malformedCost, `a crawl answer ${wrong}`)
      throw new RefusedError(`${shortKey(peerKey)} answered the crawl of ${shortKey(chain)} with ${wrong}`)
    }
    for (const b of reply.blocks.slice(0, maxBlocks - out.length)) {
      await ingest(ctx, b, session)
      out.push(b)
    }
    const last = reply.blocks.at(-1)
    // the answer is capped: ask for the rest until the range is covered. Every block was at or
    // above `start`, so the next start is higher: a peer cannot keep the walk on the spot
    if (last === undefined || want === undefined || last.seq >= want.to) break
    start = last.seq + 1
  }
  return out
}

// ## Serving

export async function onHeadsRequest(ctx: NodeContext, m: HeadsRequestMessage, session: Session): Promise<void> {
  const heads: Head[] = []
  const proofs: FraudProof[] = []
  for (const key of m.publicKeys) {
    const latest = await ctx.store.latest(key)
    if (latest !== undefined) {
      heads.push({ publicKey: key, seq: latest.seq, hash: blockHash(latest, ctx.crypto) })
      ctx.quota.useful(key) // a peer asked about it: a stranger's chain worth keeping a while
    }
    // a peer that asks about a proven cheater gets the proof, once per session: this repairs a
    // proof frame that was lost on the way
    if (await ctx.store.hasFraud(key)) {
      let told = ctx.told.get(session)
      if (told === undefined) ctx.told.set(session, (told = new Set()))
      const hex = toHex(key)
      if (!told.has(hex)) {
        told.add(hex)
        const [proof] = await ctx.store.fraudProofs(key)
        if (proof !== undefined) proofs.push(proof)
      }
    }
  }
  session.reply(m, { type: 'heads', heads })
  for (const proof of proofs) if (session.send({ type: 'fraud', proof })) ctx.stats.proofsSent++
}

export async function onCrawl(ctx: NodeContext, m: CrawlRequestMessage, session: Session): Promise<void> {
  const latest = await ctx.store.latest(m.publicKey)
  const top = latest?.seq ?? 0
  const range = resolveCrawlRange(m.start, m.end, top, session.limits.maxCrawlBlocks)
  const blocks: HalfBlock[] = []
  if (range !== undefined) {
    // at most maxCrawlBlocks blocks, and never more than one frame holds
    let budget = session.limits.maxFrameBytes - 256
    for (const b of await ctx.store.range(m.publicKey, { from: range.from, to: range.to, limit: session.limits.maxCrawlBlocks })) {
      budget -= blockSize(b) + 5
      if (budget < 0) break
      blocks.push(b)
    }
  }
  if (blocks.length > 0) ctx.quota.useful(m.publicKey)
  session.reply(m, { type: 'crawl-answer', publicKey: m.publicKey, latest: top, blocks })
}

// ## Helpers

/**
 * What is wrong with a crawl answer (undefined: nothing): it must be for `chain`, and hold only
 * blocks in `want` (the range asked, resolved with the answer's `latest`). The decoder already
 * checked that its blocks are of the chain it names, ascending, and at most `latest`.
 */
function wrongAnswer(reply: CrawlAnswerMessage, chain: Uint8Array, want: { from: number; to: number } | undefined): string | undefined {
  if (!equalBytes(reply.publicKey, chain)) return `for another chain (${shortKey(reply.publicKey)})`
  const first = reply.blocks[0]
  const last = reply.blocks.at(-1)
  if (first === undefined) return undefined
  if (want === undefined || first.seq < want.from || last!.seq > want.to) {
    return `holding seqs ${first.seq}..${last!.seq} outside the range asked (${want === undefined ? 'none' : `${want.from}..${want.to}`})`
  }
  return undefined
}

/**
 * The audit after a pull: compare slots of chains both sides know with the peer's blocks there
 * (a one-block crawl each). Heads only compare tips; a fork below a tip that moved on is found
 * here: first our own tip of a chain the peer is ahead in (where a fork left behind sits: the
 * forker went on from its other block), else a random slot — slowly, but every slot is drawn
 * eventually, so gossip settles in any connected network even when the pushes missed.
 */
async function audit(ctx: NodeContext, heads: readonly Head[], session: Session): Promise<void> {
  const slots = auditSlots(
    heads.map((h) => ({ key: h.publicKey, seq: h.seq })),
    (key) => ctx.recent.get(toHex(key))?.seq,
    ctx.gossip.auditsPerPull,
    ctx.random,
  )
  for (const slot of slots) {
    if ((await ctx.store.hasFraud(slot.key)) || (await ctx.store.get(slot.key, slot.seq)) === undefined) continue
    await crawlSlot(ctx, session, slot.key, slot.seq)
  }
}

/** Fetch the block a contradicting head names; validating it yields the proof. */
async function crawlSlot(ctx: NodeContext, session: Session, key: Uint8Array, seq: number): Promise<void> {
  const id = `${toHex(key)}:${seq}`
  if (ctx.crawling.has(id) || ctx.crawling.size >= ctx.gossip.maxCrawls) return
  ctx.crawling.add(id)
  try {
    ctx.stats.crawlsSent++
    const reply = await session.request({ type: 'crawl-request', publicKey: key, start: seq, end: seq })
    if (reply.type !== 'crawl-answer') return
    const wrong = wrongAnswer(reply, key, resolveCrawlRange(seq, seq, reply.latest))
    if (wrong !== undefined) session.penalize(session.limits.malformedCost, `a crawl answer ${wrong}`)
    else for (const b of reply.blocks) await ingest(ctx, b, session)
  } catch {
    // closed or timed out: a later announcement asks again
  } finally {
    ctx.crawling.delete(id)
  }
}
