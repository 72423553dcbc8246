/**
 * Fraud proofs on a node (the rules are in node.ts's module comment): each proof is handled once —
 * verified when it came from a peer, stored, told to the handlers — and the first one against a key
 * is made known to the neighbours, as a `fraud-have` announcement (answered with a `fraud-want`,
 * asked again of the next announcer after wantTimeoutMs) or as the `fraud` itself.
 * @module
 */
import { concatBytes, fraudProofId, toHex, verifyFraudProof, type FraudProof, type PublicKeyHex, type TimerHandle } from '@tally/core'
import type { SessionMessage } from '../wire/messages.js'
import type { Session } from '../wire/session.js'
import type { NodeContext } from './context.js'
import { announced, nextAnnouncer, type WantState } from './gossip-rules.js'
import { firstOpen } from './peers.js'

/** Cost charged for a forged fraud proof (half a disconnect with the default limits). */
const FORGED_PROOF_COST = 50

/** Where a proof comes from: a peer's `fraud` (verified first), found by this node, or already stored. */
export type ProofOrigin = 'peer' | 'found' | 'stored'

/** A proof this node asked for (whom to ask, and when to give up: gossip-rules.ts, shared with the model). */
export interface Want extends WantState<Session> {
  readonly key: Uint8Array
  timer: TimerHandle | undefined
}

/**
 * Handle a proof once: verify it (when it came from a peer), store it, tell the handlers, and
 * relay the first proof against its key.
 * @returns true when it was new and valid
 */
export async function acceptProof(ctx: NodeContext, proof: FraudProof, from: Session | undefined, origin: ProofOrigin): Promise<boolean> {
  // one proof convicts: once a key is refused, later proofs against it (the same fork seen as a
  // chain break, say) change nothing, and are dropped before the cost of verifying them
  if (origin === 'peer' && (await ctx.store.hasFraud(proof.publicKey))) return false
  const id = fraudProofId(proof, ctx.crypto)
  if (ctx.proofIds.has(id)) return false
  if (origin === 'peer') {
    const verdict = verifyFraudProof(proof, { crypto: ctx.crypto, verifiers: ctx.types.fraudVerifiers() })
    if (!verdict.ok) {
      ctx.stats.forgedProofs++
      from?.penalize(FORGED_PROOF_COST, `a fraud proof that does not verify (${verdict.reason})`)
      return false
    }
  }
  if (!ctx.proofIds.add(id)) return false
  stopWanting(ctx, proof.publicKey)
  if (origin !== 'stored') await ctx.serial(() => ctx.agent.addFraudProof(proof))
  ctx.stats.proofs++
  ctx.events.emit('fraud', { proof, from: from?.peerKey })
  // one proof convicts: later proofs against the same key are kept, not spread
  if (ctx.gossip.fraudFanout === 0 || !ctx.relayedAccused.add(proof.publicKey)) return true
  const skip = from?.peerKeyHex
  const fanout = ctx.gossip.fraudFanout
  const announce = ctx.gossip.proofRelay === 'announce'
  const message: SessionMessage = announce ? { type: 'fraud-have', publicKey: proof.publicKey } : { type: 'fraud', proof }
  const targets = fanout >= ctx.peers.size ? ctx.peers.list : ctx.peers.random(fanout + (skip === undefined ? 0 : 1), ctx.random)
  let sent = 0
  for (const n of targets) {
    if (n.hex === skip || sent >= fanout) continue
    const s = firstOpen(n)
    if (s !== undefined && s.send(message)) sent++
  }
  if (announce) ctx.stats.proofAnnouncements += sent
  else ctx.stats.proofsSent += sent
  return true
}

/**
 * A neighbour holds a proof against `key`: ask it for the proof, unless this node holds one or
 * waits for one already (then the neighbour is kept as one more to ask, should the answer not
 * come within wantTimeoutMs).
 */
export async function onFraudHave(ctx: NodeContext, key: Uint8Array, session: Session): Promise<void> {
  if (ctx.relayedAccused.has(key) || (await ctx.store.hasFraud(key))) return
  if (ctx.closed) return
  const hex = toHex(key)
  // a new want, or one more announcer to ask should the answer not come (or nothing: too many)
  if (announced(ctx.wants.get(hex), session, ctx.wants.size) !== 'ask') return
  const want: Want = { key, announcers: [session], asked: 0, timer: undefined }
  if (ctx.gossip.wantTimeoutMs > 0) ctx.wants.set(hex, want)
  askForProof(ctx, hex, want)
}

/** A neighbour asks for a proof against `key`: send one, once per (peer, key); nothing when none is held. */
export async function onFraudWant(ctx: NodeContext, key: Uint8Array, session: Session): Promise<void> {
  const id = concatBytes(session.peerKey, key)
  if (ctx.answered.has(id)) return
  const [proof] = await ctx.store.fraudProofs(key)
  if (proof === undefined || ctx.closed || !ctx.answered.add(id)) return
  if (session.send({ type: 'fraud', proof })) ctx.stats.proofsSent++
}

// ## Helpers

function stopWanting(ctx: NodeContext, key: Uint8Array): void {
  const hex = toHex(key)
  const want = ctx.wants.get(hex)
  if (want === undefined) return
  if (want.timer !== undefined) ctx.clock.clearTimeout(want.timer)
  ctx.wants.delete(hex)
}

/** Send the next fraud-want of `want` (the announcers in turn), and its timeout; or give it up. */
function askForProof(ctx: NodeContext, hex: PublicKeyHex, want: Want): void {
  const session = nextAnnouncer(want, (s) => s.open)
  if (session === undefined) {
    ctx.wants.delete(hex)
    return
  }
  if (session.send({ type: 'fraud-want', publicKey: want.key })) ctx.stats.proofWants++
  const timeout = ctx.gossip.wantTimeoutMs
  if (timeout <= 0) return
  want.timer = ctx.clock.setTimeout(() => {
    want.timer = undefined
    if (ctx.closed || ctx.wants.get(hex) !== want) return
    if (ctx.relayedAccused.has(want.key)) ctx.wants.delete(hex)
    else askForProof(ctx, hex, want)
  }, timeout)
}
