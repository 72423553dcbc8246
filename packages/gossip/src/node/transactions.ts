/**
 * Transactions on a node. The proposer's side: `transact` signs a proposal for a reachable peer,
 * `deliver` resends it with backoff until the agreement is back, then it is validated, stored and
 * pushed; an agreement that comes late (its answer was lost) is finished the same way. The
 * counterparty's side: the proposal's context first, the witnesses (witness mode), the policy, the
 * agreement, with a resend answered alike. And a seq witness's answer to a witness query.
 * @module
 */
import {
  ClosedError,
  ConflictError,
  HeadUnknownError,
  FraudError,
  InvalidBlockError,
  RefusedError,
  abytes,
  blockHash,
  equalBytes,
  isProposal,
  shortKey,
  toHex,
  type CborValue,
  type FraudProof,
  type HalfBlock,
  type SeqWitnessVerdict,
  type Transaction,
} from '@tally/core'
import type { ErrorMessage, ProposalMessage, ReplyTo, WitnessQueryMessage } from '../wire/messages.js'
import type { Session } from '../wire/session.js'
import type { NodeContext } from './context.js'
import { BusyError, NodeError, TransactTimeoutError, UnreachableError } from '../errors.js'
import { acceptProof } from './fraud-relay.js'
import { firstAnswer } from './first-answer.js'
import { contextSeqs } from './gossip-rules.js'
import { BAD_BLOCK_COST, INVALID_BLOCK_COST, ingest, learnt } from './ingest.js'
import { checkTransact, definedOnly, type TransactOptions } from './options.js'
import { sessionTo } from './peers.js'
import { consultWitnesses, type WitnessContext } from './witness.js'

// ## The proposer's side

/** Node.transact: sign a proposal to a reachable `peerKey`, then deliver it. */
export async function transact(ctx: NodeContext, peerKey: Uint8Array, type: string, payload: CborValue, options: TransactOptions): Promise<Transaction> {
  abytes('peerKey', peerKey, 32)
  if (equalBytes(peerKey, ctx.publicKey)) throw new RangeError('"peerKey" is this node: a transaction needs a counterparty')
  ctx.checkOpen()
  const timing = checkTransact({ ...ctx.tx, ...definedOnly(options) })
  const deadline = ctx.clock.now() + timing.timeoutMs
  // reachable first: no block is signed for a peer that cannot be reached
  await sessionTo(ctx, peerKey)
  // agent.propose refuses proven cheaters and checks the arguments before signing. Before the
  // agent's first signature its head is asked of the peers (recovery.ts); when none could tell in
  // time (a stranger's question waits behind a flood of strangers at a busy peer) it is asked
  // again, within the transaction's own time
  let proposal: HalfBlock
  for (let wait = Math.min(timing.retryMs, 1000); ; wait = Math.min(wait * 2, timing.maxRetryMs)) {
    try {
      proposal = await ctx.agent.propose(peerKey, type, payload)
      break
    } catch (err) {
      const left = deadline - ctx.clock.now()
      if (!(err instanceof HeadUnknownError) || left <= wait) throw err
      await ctx.sleep(wait)
      ctx.checkOpen()
    }
  }
  learnt(ctx, proposal, undefined)
  return send(ctx, proposal, { ...timing, timeoutMs: Math.max(1, deadline - ctx.clock.now()) })
}

/** Node.deliver: a proposal this node signed earlier, sent until its agreement is back. */
export async function deliver(ctx: NodeContext, proposal: HalfBlock, options: TransactOptions): Promise<Transaction> {
  ctx.checkOpen()
  if (typeof proposal !== 'object' || proposal === null || !isProposal(proposal) || !equalBytes(proposal.publicKey, ctx.publicKey)) {
    throw new RangeError('"proposal" expected a proposal signed by this node')
  }
  return send(ctx, proposal, checkTransact({ ...ctx.tx, ...definedOnly(options) }))
}

/** An unsolicited agreement (requestId 0): to a proposal of ours whose answer was lost. */
export async function onLateAgreement(ctx: NodeContext, agreement: HalfBlock, session: Session): Promise<void> {
  if (!equalBytes(agreement.linkPublicKey, ctx.publicKey) || !equalBytes(agreement.publicKey, session.peerKey)) return
  const proposal = await ctx.store.get(ctx.publicKey, agreement.linkSeq)
  if (proposal === undefined) return
  try {
    await finish(ctx, proposal, agreement, session)
  } catch {
    // already reported through the proof or the penalty
  }
}

// ## The counterparty's side

/** The counterparty's side: witnesses (in witness mode), the policy, the agreement. */
export async function onProposal(ctx: NodeContext, m: ProposalMessage, session: Session): Promise<void> {
  const p = m.block
  if (!equalBytes(p.linkPublicKey, ctx.publicKey) || !equalBytes(p.publicKey, session.peerKey)) {
    session.penalize(INVALID_BLOCK_COST, 'a proposal not from the sender to this node')
    session.reply(m, { type: 'error', code: 'bad-request', reason: 'a proposal must be from the sender to this node' })
    return
  }
  const id = toHex(blockHash(p, ctx.crypto))
  const running = ctx.agreeing.get(id)
  if (running !== undefined) {
    // a resend while the first copy is still being handled: the same answer, once
    await running.then(
      (agreement) => session.reply(m, { type: 'agreement', block: agreement }),
      (err: unknown) => session.reply(m, refusal(err)),
    )
    return
  }
  const earlier = await ctx.store.findAgreement(p.publicKey, p.seq, ctx.publicKey)
  if (earlier !== undefined) {
    const known = await ctx.store.get(p.publicKey, p.seq)
    if (known !== undefined && equalBytes(blockHash(known, ctx.crypto), blockHash(p, ctx.crypto))) {
      session.reply(m, { type: 'agreement', block: earlier })
      return
    }
  }
  const work = agree(ctx, m, session)
  ctx.agreeing.set(id, work)
  try {
    const agreement = await work
    session.reply(m, { type: 'agreement', block: agreement })
    learnt(ctx, p, session.peerKey)
    learnt(ctx, agreement, undefined)
    ctx.stats.transactions++
    ctx.events.emit('transaction', { proposal: p, agreement })
    ctx.spread(p)
    ctx.spread(agreement)
  } catch (err) {
    const later = err instanceof BusyError || err instanceof HeadUnknownError
    if (!later) ctx.stats.refused++
    if (!(later || err instanceof RefusedError || err instanceof FraudError || err instanceof InvalidBlockError)) ctx.report(err, 'agree')
    session.reply(m, refusal(err))
  } finally {
    ctx.agreeing.delete(id)
  }
}

/** Milliseconds a witness query that finds its slot empty waits for a push sent just before it. */
const QUERY_SETTLE_MS = 5

/** A seq witness's answer: the block this node holds at (key, seq), if any. */
export async function onWitnessQuery(ctx: NodeContext, m: WitnessQueryMessage, session: Session): Promise<void> {
  // on the queue, in this peer's lane: behind any push it sent before this query. A push checks
  // whether its block is held before it queues (ingest.ts), so the query can reach the lane
  // first: a slot found empty is read again once, after QUERY_SETTLE_MS, rather than answered
  // empty (the asker would wait a quarter of its retryMs and push the block again)
  let block: HalfBlock | undefined
  try {
    block = await ctx.serial(() => ctx.store.get(m.publicKey, m.seq), session.peerKeyHex)
    if (block === undefined) {
      await ctx.sleep(QUERY_SETTLE_MS)
      block = await ctx.serial(() => ctx.store.get(m.publicKey, m.seq), session.peerKeyHex)
    }
  } catch (err) {
    if (err instanceof ClosedError) return
    if (!(err instanceof BusyError)) throw err
    if (!(err instanceof BusyError)) throw err
    session.reply(m, { type: 'error', code: 'busy', reason: err.message })
    return
  }
  if (block !== undefined) ctx.quota.useful(m.publicKey)
  session.reply(m, { type: 'witness-answer', publicKey: m.publicKey, seq: m.seq, block: block ?? null })
}

// ## Helpers

/** Send `proposal` to its counterparty, again with backoff, until the agreement is back or the deadline. */
async function send(ctx: NodeContext, proposal: HalfBlock, timing: Required<TransactOptions>): Promise<Transaction> {
  // Until a peer has agreed once, this node is a stranger there, read on a stranger's limits (32
  // requests in flight by default): many transactions started at once would pass that cap and get
  // this node closed and banned as misbehaving. So the first proposal to such a peer goes alone;
  // the others wait for its answer (whatever it is), then go together.
  const hex = toHex(proposal.linkPublicKey)
  for (;;) {
    if (ctx.agreedBy.has(hex)) return sendNow(ctx, proposal, timing)
    const first = ctx.firstProposals.get(hex)
    if (first === undefined) break
    await first
  }
  let done!: () => void
  ctx.firstProposals.set(hex, new Promise<void>((resolve) => (done = resolve)))
  try {
    const tx = await sendNow(ctx, proposal, timing)
    ctx.agreedBy.add(hex)
    if (ctx.agreedBy.size > AGREED_BY_KEPT) ctx.agreedBy.delete(ctx.agreedBy.values().next().value!)
    return tx
  } finally {
    ctx.firstProposals.delete(hex)
    done()
  }
}

/** Peers remembered as having agreed with this node (the oldest forgotten first: it costs one lone first proposal again). */
const AGREED_BY_KEPT = 65_536

async function sendNow(ctx: NodeContext, proposal: HalfBlock, timing: Required<TransactOptions>): Promise<Transaction> {
  const peerKey = proposal.linkPublicKey
  const deadline = ctx.clock.now() + timing.timeoutMs
  let session: Session | undefined
  const context: HalfBlock[] = []
  for (const seq of contextSeqs(proposal.seq)) {
    const b = await ctx.store.get(ctx.publicKey, seq)
    if (b !== undefined) context.push(b)
  }
  let wait = timing.retryMs
  let attempts = 0
  let lastError: unknown
  // the copies sent on the current session and not answered yet, each open until the deadline
  // beside the resends (first-answer.ts)
  let sent: Promise<ReplyTo<ProposalMessage> | ErrorMessage>[] = []
  let sentOn: Session | undefined
  for (;;) {
    ctx.checkOpen()
    const remaining = deadline - ctx.clock.now()
    if (remaining <= 0) {
      throw new TransactTimeoutError(`no agreement from ${shortKey(peerKey)} within ${timing.timeoutMs} ms (${attempts} attempts)`, attempts, { cause: lastError })
    }
    let pause = 0
    try {
      if (session === undefined || !session.open) session = await sessionTo(ctx, peerKey)
      if (sentOn !== session) {
        sent = []
        sentOn = session
      }
      if (session.pendingRequests >= session.limits.maxPendingRequests) {
        pause = Math.min(wait, remaining)
      } else {
        attempts++
        ctx.stats.proposalsSent++
        const copy = session.request({ type: 'proposal', block: proposal, context }, { timeoutMs: Math.max(1, remaining) })
        copy.catch(() => undefined) // awaited below, or given up at the deadline
        sent.push(copy)
        const reply = await firstAnswer(ctx, sent, Math.max(1, Math.min(wait, remaining)))
        sent = []
        if (reply.type === 'agreement') return await finish(ctx, proposal, reply.block, session)
        if (reply.code === 'refused' || reply.code === 'bad-request' || reply.code === 'not-found' || reply.code === 'version') {
          throw new RefusedError(`${shortKey(peerKey)} refused the proposal (${reply.code}): ${reply.reason}`)
        }
        lastError = new Error(`${reply.code}: ${reply.reason}`)
        pause = Math.min(wait, remaining) // busy, rate-limited, internal, timeout: try again later
      }
    } catch (err) {
      if (err instanceof RefusedError || err instanceof FraudError || err instanceof InvalidBlockError) throw err
      if (ctx.closed) throw new ClosedError('node closed')
      lastError = err
      // a timeout resends at once; a closed session or a failed dial waits a little
      if (!isTimeout(err)) pause = Math.min(wait, remaining)
      if (err instanceof UnreachableError && ctx.peers.address(toHex(peerKey)) === undefined) throw err
    }
    wait = Math.min(wait * 2, timing.maxRetryMs)
    if (pause > 0) await ctx.sleep(pause)
  }
}

/** The proposer's side of an agreement: validate and store it, tell the world. */
async function finish(ctx: NodeContext, proposal: HalfBlock, agreement: HalfBlock, from: Session): Promise<Transaction> {
  if (agreement.linkSeq !== proposal.seq || !equalBytes(agreement.publicKey, proposal.linkPublicKey)) {
    from.penalize(BAD_BLOCK_COST, 'an agreement to another proposal')
    throw new RefusedError(`${shortKey(from.peerKey)} answered with an agreement to another proposal`)
  }
  const earlier = await ctx.store.findAgreement(ctx.publicKey, proposal.seq, agreement.publicKey)
  let tx: Transaction
  try {
    tx = await ctx.serial(() => ctx.agent.complete(agreement))
  } catch (err) {
    if (err instanceof FraudError) await acceptProof(ctx, err.proof as FraudProof, undefined, 'stored')
    else if (err instanceof InvalidBlockError) from.penalize(INVALID_BLOCK_COST, 'an invalid agreement')
    throw err
  }
  if (earlier === undefined) {
    learnt(ctx, agreement, from.peerKey)
    ctx.stats.transactions++
    ctx.events.emit('transaction', tx)
    ctx.spread(proposal)
    ctx.spread(agreement)
  }
  return tx
}

async function agree(ctx: NodeContext, m: ProposalMessage, session: Session): Promise<HalfBlock> {
  const p = m.block
  if (await ctx.store.hasFraud(p.publicKey)) throw new RefusedError(`${shortKey(p.publicKey)} is a proven cheater`)
  // the proposer's earlier blocks first: they may show a fork against what this node holds
  const context = m.context.filter((c) => equalBytes(c.publicKey, p.publicKey) && c.seq < p.seq)
  await Promise.all(
    context.map((c) => {
      // the proposer's previous proposal, still being agreed to (proposals in flight together):
      // that agreement validates and stores it; ingesting it beside would verify it twice. Wait
      // for it (this one builds on it), and take it as any block only if it was refused
      const running = ctx.agreeing.get(toHex(blockHash(c, ctx.crypto)))
      return running === undefined ? ingest(ctx, c, session) : running.then(() => undefined, () => ingest(ctx, c, session))
    }),
  )
  const w = ctx.witnesses
  if (w !== undefined && (w.require === undefined || w.require(p))) {
    const verdict = await consultWitnesses(p, w, witnessContext(ctx))
    if (!verdict.ok) {
      if (verdict.reason === 'conflict') {
        await acceptProof(ctx, verdict.proof, undefined, 'found')
        throw new RefusedError(`double spend: witness ${shortKey(verdict.witness)} holds another block at ${shortKey(p.publicKey)}:${p.seq}`)
      }
      throw new RefusedError(`witnesses unavailable: ${verdict.answered} of ${verdict.witnesses.length} answered`)
    }
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.serial(() => ctx.agent.agree(p), session.peerKeyHex)
    } catch (err) {
      if (err instanceof FraudError) {
        await acceptProof(ctx, err.proof as FraudProof, undefined, 'stored')
        throw err
      }
      if (err instanceof InvalidBlockError) session.penalize(INVALID_BLOCK_COST, 'an invalid proposal')
      // a conflicting block stored meanwhile: agreeing again finds it and proves the fork
      if (!(err instanceof ConflictError) || attempt >= 2) throw err
    }
  }
}

/** What consultWitnesses needs, from the node. */
function witnessContext(ctx: NodeContext): WitnessContext {
  return {
    self: ctx.publicKey,
    crypto: ctx.crypto,
    clock: ctx.clock,
    sleep: (ms) => ctx.sleep(ms),
    sessionTo: (key) => sessionTo(ctx, key),
    localBlock: (key, seq) => ctx.store.get(key, seq),
    verifiers: ctx.types.fraudVerifiers(),
  }
}

/**
 * TransactionPort.witness: the node's seq witnesses on any block (not only proposals), in witness
 * mode. A conflict's proof is kept and spread as any proof found.
 */
export async function witnessBlock(ctx: NodeContext, block: HalfBlock): Promise<SeqWitnessVerdict> {
  ctx.checkOpen()
  const w = ctx.witnesses
  if (w === undefined) return { ok: true }
  const verdict = await consultWitnesses(block, w, witnessContext(ctx))
  if (verdict.ok) return { ok: true }
  if (verdict.reason === 'conflict') {
    await acceptProof(ctx, verdict.proof, undefined, 'found')
    return { ok: false, reason: 'conflict', message: `witness ${shortKey(verdict.witness)} holds another block at ${shortKey(block.publicKey)}:${block.seq}` }
  }
  return { ok: false, reason: 'unavailable', message: `witnesses unavailable: ${verdict.answered} of ${verdict.witnesses.length} answered` }
}

function refusal(err: unknown): { type: 'error'; code: 'refused' | 'bad-request' | 'busy' | 'internal'; reason: string } {
  const reason = String((err as Error)?.message ?? err).slice(0, 200)
  if (err instanceof InvalidBlockError) return { type: 'error', code: 'bad-request', reason }
  if (err instanceof BusyError) return { type: 'error', code: 'busy', reason } // the proposer resends later
  // this node has not learnt its own head yet (recovery asks its peers again): not an error, a wait
  if (err instanceof HeadUnknownError) return { type: 'error', code: 'busy', reason }
  if (err instanceof RefusedError || err instanceof FraudError || err instanceof NodeError) return { type: 'error', code: 'refused', reason }
  return { type: 'error', code: 'internal', reason: 'internal error' }
}

function isTimeout(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'TimeoutError'
}
