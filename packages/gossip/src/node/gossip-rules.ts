/**
 * The rules of gossip that the simulator's model (sim/gossip-model.ts) plays as well as the node:
 * pure functions and constants, called by the node's parts on sessions, blocks and stores, and by
 * the model on peer indices and abstract blocks, so that the two cannot drift apart.
 *
 * - resending: a frame sent with an `ack` id (push, push-via, neighbours) goes again, with a new
 *   id, every `resendMs` until its `ack` comes back, RESEND_ATTEMPTS times in all (resend.ts);
 * - proof wants: which announcer a node asks for a proof, and when it gives up (fraud-relay.ts);
 * - pull: which chains a pull asks about, which heads contradict the store, which slots the audit
 *   compares (pull.ts);
 * - proposals: which of the proposer's blocks travel with a proposal as its context
 *   (transactions.ts);
 * - caps: RECENT_CHAINS, MAX_ANNOUNCERS, MAX_WANTS.
 *
 * Shared from elsewhere: the push targets (two-hop.ts `nearestInLists`), the option checks
 * (options.ts `checkGossip`), the limits (wire/limits.ts `resolveLimits`) and every frame's size
 * (the model measures wire/messages.ts `encodeMessage`).
 * @module
 */
import type { Random } from '../random.js'

// ## Resending

/** Sends of one acknowledged frame: the first and up to three resends (20% loss: 0.2^4 = 0.16% lost). */
export const RESEND_ATTEMPTS = 4

/**
 * Whether an acknowledged frame is sent again when the attempt numbered `attempt` (0: the first)
 * was not acknowledged within resendMs.
 * @param attempt sends so far, minus one
 * @returns true while attempts are left
 * @example if (resendAfter(e.attempt)) transmit(e)
 */
export function resendAfter(attempt: number): boolean {
  return attempt + 1 < RESEND_ATTEMPTS
}

// ## Proof wants

/**
 * Requests a node makes for one awaited proof, wantTimeoutMs apart, before it waits for a new
 * announcement: each of MAX_ANNOUNCERS asked twice. Why twice: at 20% loss a request and its
 * answer both arrive with probability 0.64, so 8 requests all fail with probability 0.36^8 = 3e-4;
 * by then every neighbour has announced (no new announcement restarts the want), and at 10,000
 * peers ~3 peers per fork never got the proof (a run of 60 peers had one short of 99%). 16 fail
 * with probability 1e-7. A request is 19 bytes and is sent only while the proof has not come; an
 * announcer that lies costs a node 16 requests per announcement at most.
 */
export const WANT_ATTEMPTS = 16
/** Announcers kept per awaited proof, to ask in turn. */
export const MAX_ANNOUNCERS = 8
/** Proofs awaited at once; announcements beyond wait for a later one. */
export const MAX_WANTS = 1024

/** A proof a node waits for: who announced it (`A`: a session in the node, a peer index in the model). */
export interface WantState<A> {
  /** The announcers, in the order they announced; the first one is asked first. */
  readonly announcers: A[]
  /** Requests sent so far. */
  asked: number
}

/**
 * A neighbour announced a proof this node does not hold.
 * @param want the proof awaited already, if any
 * @param from the announcer
 * @param wanting proofs awaited now (all keys)
 * @returns 'ask': a new want, ask `from` (nextAnnouncer) now; 'queued': kept to ask after a
 *   timeout; 'ignored': nothing to do
 * @example if (announced(wants.get(key), session, wants.size) === 'ask') ask(...)
 */
export function announced<A>(want: WantState<A> | undefined, from: A, wanting: number): 'ask' | 'queued' | 'ignored' {
  if (want !== undefined) {
    if (want.announcers.length >= MAX_ANNOUNCERS || want.announcers.includes(from)) return 'ignored'
    want.announcers.push(from)
    return 'queued'
  }
  return wanting >= MAX_WANTS ? 'ignored' : 'ask'
}

/**
 * Whom to ask for an awaited proof: the announcers in turn, WANT_ATTEMPTS requests in all (the
 * first request, then one per wantTimeoutMs without the proof). Counts the request.
 * @param want the awaited proof (announcers that are no longer usable are removed from it)
 * @param usable whether an announcer can still be asked (its session is open)
 * @returns the announcer to ask, or undefined: give the want up (a new announcement starts another)
 * @example const a = nextAnnouncer(want, (s) => s.open); if (a === undefined) wants.delete(key)
 */
export function nextAnnouncer<A>(want: WantState<A>, usable: (a: A) => boolean): A | undefined {
  if (want.asked >= WANT_ATTEMPTS) return undefined
  let kept = 0
  for (const a of want.announcers) if (usable(a)) want.announcers[kept++] = a
  want.announcers.length = kept
  if (kept === 0) return undefined
  return want.announcers[want.asked++ % kept]
}

/**
 * Neighbours a node tells of a proof it holds now for the first time: `fanout`, or one fewer when
 * two or more neighbours had announced the proof to it before it came (they hold it; a node that
 * hears of a proof from several neighbours is late in its spread, where an announcement mostly
 * finds a holder). At 10,000 peers and 20% loss the announcements were a fifth of the bytes (1,986
 * of 10,029 B/s sealed, 8 per peer per fork). Cutting deeper does not pay: one fewer per
 * announcer beyond the first, down to fanout - 2, left 4 of 232 forks short of 99% of the peers
 * (the model at 1,000 peers, 20% loss, fanout 8), as fanout 7 for everyone left 1 of 234.
 * @param fanout fraudFanout (Infinity: every neighbour, unchanged)
 * @param heard announcers of the proof this node had when it came (0: it found the proof itself)
 * @returns how many neighbours to tell
 * @example relayFanout(8, want?.announcers.length ?? 0)
 */
export function relayFanout(fanout: number, heard: number): number {
  if (!Number.isFinite(fanout)) return fanout
  return heard >= 2 ? Math.max(1, fanout - 1) : fanout
}

// ## Pull

/** Chains whose latest learnt block a node remembers for pull gossip (its `recent` map). */
export const RECENT_CHAINS = 1024

/**
 * The chains a pull asks a neighbour about: the most recently learnt first, not the neighbour's own,
 * and none this node holds a proof against (it refuses that chain already; naming it only made the
 * neighbour send the proof once more).
 * @param newestFirst chains, most recently learnt first, each once
 * @param count at most this many (headsPerPull, capped by limits.maxHeads)
 * @param isPeer true for the chain of the neighbour asked
 * @param proven true for a chain this node holds a proof against
 * @returns the chains to ask about
 * @example pullKeys(recentNewestFirst(ctx), 32, (k) => equalBytes(k, peer.publicKey), (k) => relayed.has(k))
 */
export function pullKeys<K>(newestFirst: Iterable<K>, count: number, isPeer: (key: K) => boolean, proven: (key: K) => boolean = () => false): K[] {
  const out: K[] = []
  if (count <= 0) return out
  for (const k of newestFirst) {
    if (isPeer(k) || proven(k)) continue
    out.push(k)
    if (out.length >= count) break
  }
  return out
}

/**
 * Whether a peer's head contradicts the store, so that the slot is crawled (which yields the proof):
 * the block stored at the head's seq is another one, or none is but the next stored block does not
 * chain to the head.
 * @param head the head's block hash (or identity)
 * @param stored hash of the block stored at the head's seq, if any
 * @param nextPrevious previousHash of the block stored at the head's seq + 1, if any
 * @param equal hash equality
 * @returns true when the head contradicts what is stored
 * @example if (contradicts(h.hash, storedHash, next?.previousHash, equalBytes)) crawlSlot(...)
 */
export function contradicts<H>(head: H, stored: H | undefined, nextPrevious: H | undefined, equal: (a: H, b: H) => boolean): boolean {
  if (stored !== undefined) return !equal(stored, head)
  return nextPrevious !== undefined && !equal(nextPrevious, head)
}

/** A slot of a chain: (key, seq). */
export interface Slot<K> {
  readonly key: K
  readonly seq: number
}

/**
 * The slots a pull's audit compares with the peer (a one-block crawl each, when this node holds a
 * block there and no proof against the chain): first this node's tip of a chain the peer is
 * ahead in (where a fork left behind sits: the forker went on from its other block), else a random
 * slot of a chain in the answer. Draws from `random` as the node does, so the model's audits pick
 * alike.
 * @param heads the peer's heads (key, seq)
 * @param ours the seq of this node's latest learnt block of a chain (undefined: not in its recent chains)
 * @param audits auditsPerPull
 * @param random the generator
 * @returns up to `audits` slots, in the order to audit them
 * @example for (const slot of auditSlots(heads, (k) => recent.get(k)?.seq, 1, random)) ...
 */
export function auditSlots<K>(heads: readonly Slot<K>[], ours: (key: K) => number | undefined, audits: number, random: Random): Slot<K>[] {
  const tips: Slot<K>[] = []
  const any: Slot<K>[] = []
  for (const h of heads) {
    const seq = ours(h.key)
    if (seq === undefined) continue
    if (h.seq > seq) tips.push({ key: h.key, seq })
    else any.push({ key: h.key, seq: 1 + Math.floor(random() * h.seq) })
  }
  const out: Slot<K>[] = []
  for (let i = 0; i < audits; i++) {
    const list = tips.length > 0 ? tips : any
    if (list.length === 0) break
    out.push(list.splice(Math.floor(random() * list.length), 1)[0]!)
  }
  return out
}

// ## Proposals

/**
 * The seqs of the proposer's own blocks that travel with a proposal as its context (the
 * counterparty stores them first: a fork of the previous block shows there).
 * @param seq the proposal's seq
 * @returns the previous block's seq, if any
 * @example const context = contextSeqs(p.seq).map((s) => store.get(key, s))
 */
export function contextSeqs(seq: number): number[] {
  return seq > 1 ? [seq - 1] : []
}
