/**
 * Fraud proofs on a node (the rules are in node.ts's module comment): each proof is handled once —
 * verified when it came from a peer, stored, told to the handlers — and the first one against a key
 * is made known to the neighbours, as a `fraud-have` announcement (answered with a `fraud-want`,
 * asked again of the next announcer after wantTimeoutMs) or as the `fraud` itself.
 *
 * Announcements and requests name the accused by its whole key on sessions of version 2 or less,
 * and by the first ACCUSED_ID_BYTES of it on sessions of version 3 (wire/messages.ts): 19 bytes a
 * frame instead of 36. So the node keys what it relayed and what it waits for by that prefix
 * (`relayedAccused`, `wants`), and keeps the whole key of each accused it relayed, to answer a
 * request that names only the prefix (`accusedKeys`).
 * @module
 */
import { allFraudVerifiers, concatBytes, fraudProofId, toHex, verifyFraudProof, type FraudProof, type PublicKeyHex, type TimerHandle } from '@tally/core'
import { ACCUSED_ID_BYTES, type SessionMessage } from '../wire/messages.js'
import type { Session } from '../wire/session.js'
import type { NodeContext } from './context.js'
import { announced, nextAnnouncer, relayFanout, type WantState } from './gossip-rules.js'
import { firstOpen } from './peers.js'

/** Cost charged for a forged fraud proof (half a disconnect with the default limits). */
const FORGED_PROOF_COST = 50
/** Whole keys of the accused kept by their id, to answer requests that name only the id (the oldest forgotten first). */
const MAX_ACCUSED_KEYS = 4096

/** The protocol version from which `fraud-have` and `fraud-want` may name the accused by ACCUSED_ID_BYTES of its key. */
export const SHORT_ACCUSED_VERSION = 3

/** Where a proof comes from: a peer's `fraud` (verified first), found by this node, or already stored. */
export type ProofOrigin = 'peer' | 'found' | 'stored'

/** A proof this node asked for (whom to ask, and when to give up: gossip-rules.ts, shared with the model). */
export interface Want extends WantState<Session> {
  /** The accused's first ACCUSED_ID_BYTES. */
  readonly id: Uint8Array
  /** Its whole key, once an announcer named it (every announcer on a session of version 2 or less does). */
  key: Uint8Array | undefined
  timer: TimerHandle | undefined
}

/**
 * The accused's id in announcements and requests: the first ACCUSED_ID_BYTES of its key.
 * @param key the accused's key (or its id)
 * @returns a view of its first ACCUSED_ID_BYTES
 */
export function accusedId(key: Uint8Array): Uint8Array {
  return key.length === ACCUSED_ID_BYTES ? key : key.subarray(0, ACCUSED_ID_BYTES)
}

/**
 * Handle a proof once: verify it (when it came from a peer), store it, tell the handlers, and
 * relay the first proof against its key.
 * @returns true when it was new and valid
 */
export async function acceptProof(ctx: NodeContext, proof: FraudProof, from: Session | undefined, origin: ProofOrigin): Promise<boolean> {
  // one proof convicts: once a key is refused, later proofs against it (the same fork seen as a
  // chain break, say) change nothing, and are dropped before the cost of verifying them
  if (origin === 'peer' && (await ctx.store.hasFraud(proof.publicKey))) {
    // held already, but unknown to relayedAccused (stored before a restart, or evicted from that
    // cache): an announcement by id was asked about; stop asking, and ignore the next ones
    stopWanting(ctx, proof.publicKey)
    ctx.relayedAccused.add(accusedId(proof.publicKey))
    return false
  }
  const id = fraudProofId(proof, ctx.crypto)
  if (ctx.proofIds.has(id)) return false
  if (origin === 'peer') {
    const verdict = verifyFraudProof(proof, { crypto: ctx.crypto, verifiers: await allFraudVerifiers(ctx.types) })
    if (!verdict.ok) {
      ctx.stats.forgedProofs++
      from?.penalize(FORGED_PROOF_COST, `a fraud proof that does not verify (${verdict.reason})`)
      return false
    }
  }
  if (!ctx.proofIds.add(id)) return false
  // the announcers heard so far: a node late in the proof's spread tells fewer (relayFanout)
  const heard = ctx.wants.get(toHex(accusedId(proof.publicKey)))?.announcers.length ?? 0
  stopWanting(ctx, proof.publicKey)
  if (origin !== 'stored') await ctx.serial(() => ctx.agent.addFraudProof(proof))
  ctx.stats.proofs++
  ctx.events.emit('fraud', { proof, from: from?.peerKey })
  // one proof convicts: later proofs against the same key are kept, not spread
  const accused = accusedId(proof.publicKey)
  if (!ctx.relayedAccused.add(accused)) return true
  rememberAccused(ctx, proof.publicKey)
  if (ctx.gossip.fraudFanout === 0) return true
  const skip = from?.peerKeyHex
  const fanout = relayFanout(ctx.gossip.fraudFanout, heard)
  const announce = ctx.gossip.proofRelay === 'announce'
  const proofMessage: SessionMessage = { type: 'fraud', proof }
  const targets = fanout >= ctx.peers.size ? ctx.peers.list : ctx.peers.random(fanout + (skip === undefined ? 0 : 1), ctx.random)
  let sent = 0
  for (const n of targets) {
    if (n.hex === skip || sent >= fanout) continue
    const s = firstOpen(n)
    if (s === undefined) continue
    const message: SessionMessage = announce ? { type: 'fraud-have', publicKey: s.version >= SHORT_ACCUSED_VERSION ? accused : proof.publicKey } : proofMessage
    if (s.send(message)) sent++
  }
  if (announce) ctx.stats.proofAnnouncements += sent
  else ctx.stats.proofsSent += sent
  return true
}

/**
 * A neighbour holds a proof against `key` (the whole key, or its first ACCUSED_ID_BYTES): ask it
 * for the proof, unless this node holds one or waits for one already (then the neighbour is kept
 * as one more to ask, should the answer not come within wantTimeoutMs).
 */
export async function onFraudHave(ctx: NodeContext, key: Uint8Array, session: Session): Promise<void> {
  const id = accusedId(key)
  if (ctx.relayedAccused.has(id) || (key.length === 32 && (await ctx.store.hasFraud(key)))) return
  if (ctx.closed) return
  const hex = toHex(id)
  // a new want, or one more announcer to ask should the answer not come (or nothing: too many)
  const known = ctx.wants.get(hex)
  if (known !== undefined && key.length === 32) known.key ??= key
  if (announced(known, session, ctx.wants.size) !== 'ask') return
  const want: Want = { id, key: key.length === 32 ? key : undefined, announcers: [session], asked: 0, timer: undefined }
  if (ctx.gossip.wantTimeoutMs > 0) ctx.wants.set(hex, want)
  askForProof(ctx, hex, want)
}

/**
 * A neighbour asks for a proof against `key` (the whole key, or its first ACCUSED_ID_BYTES): send
 * one, once per (peer, key); nothing when none is held.
 */
export async function onFraudWant(ctx: NodeContext, key: Uint8Array, session: Session): Promise<void> {
  // a request by id is for a proof this node announced: it kept the whole key of each
  const whole = key.length === 32 ? key : ctx.accusedKeys.get(toHex(key))
  if (whole === undefined) return
  const id = concatBytes(session.peerKey, accusedId(whole))
  if (ctx.answered.has(id)) return
  const [proof] = await ctx.store.fraudProofs(whole)
  if (proof === undefined || ctx.closed || !ctx.answered.add(id)) return
  if (session.send({ type: 'fraud', proof })) ctx.stats.proofsSent++
}

// ## Helpers

function stopWanting(ctx: NodeContext, key: Uint8Array): void {
  const hex = toHex(accusedId(key))
  const want = ctx.wants.get(hex)
  if (want === undefined) return
  if (want.timer !== undefined) ctx.clock.clearTimeout(want.timer)
  ctx.wants.delete(hex)
}

/** Keep the whole key of an accused this node announces, by its id (MAX_ACCUSED_KEYS at most). */
function rememberAccused(ctx: NodeContext, key: Uint8Array): void {
  const keys = ctx.accusedKeys
  const hex = toHex(accusedId(key))
  keys.delete(hex)
  keys.set(hex, key)
  for (const oldest of keys.keys()) {
    if (keys.size <= MAX_ACCUSED_KEYS) break
    keys.delete(oldest)
  }
}

/** Send the next fraud-want of `want` (the announcers in turn), and its timeout; or give it up. */
function askForProof(ctx: NodeContext, hex: PublicKeyHex, want: Want): void {
  const session = nextAnnouncer(want, (s) => s.open)
  if (session === undefined) {
    ctx.wants.delete(hex)
    return
  }
  // an announcer on a session of version 2 or less named the whole key: it is known then
  const name = session.version >= SHORT_ACCUSED_VERSION || want.key === undefined ? want.id : want.key
  if (session.send({ type: 'fraud-want', publicKey: name })) ctx.stats.proofWants++
  const timeout = ctx.gossip.wantTimeoutMs
  if (timeout <= 0) return
  want.timer = ctx.clock.setTimeout(() => {
    want.timer = undefined
    if (ctx.closed || ctx.wants.get(hex) !== want) return
    if (ctx.relayedAccused.has(want.id)) ctx.wants.delete(hex)
    else askForProof(ctx, hex, want)
  }, timeout)
}
