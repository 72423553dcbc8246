/**
 * Witness mode: before countersigning a proposal at (key, seq), the counterparty hands the proposal
 * to the k witnesses chosen from (key, seq) (rendezvous.ts) and asks each which block it holds
 * there. A witness keeps the first block it stores at each (key, seq) — the store's own rule — and
 * answers with it. The counterparty countersigns only when all k answered with this very proposal.
 *
 * Why this refuses a double spend before the second countersign, with one honest witness W among
 * the k: both counterparties push their proposal to W and then ask it; W stores whichever arrives
 * first and answers both with that one, so the counterparty holding the other proposal sees a
 * different block, signed by the same key at the same seq — a fraud proof — and refuses. Every
 * other outcome (an answer missing after the timeout, an empty answer, a witness that does not
 * answer) refuses too: in witness mode safety wins over liveness.
 * @module
 */
import {
  blockHash,
  createFraudProof,
  equalBytes,
  shortKey,
  verifyBlock,
  verifyFraudProof,
  type Clock,
  type CryptoProvider,
  type FraudProof,
  type HalfBlock,
} from '@tally/core'
import { chooseWitnesses } from './rendezvous.js'
import type { Session } from '../wire/session.js'

/** Options of witness mode (node option `witnesses`). */
export interface WitnessOptions {
  /** The witness set: keys of the peers that witness (e.g. a community's witnesses). */
  keys: readonly Uint8Array[]
  /** Witnesses asked per proposal (default 3, at most the set's size). */
  k?: number
  /**
   * How many of the k must answer with this very block (default k: all). Fewer lets a proposal
   * through while some witnesses are down; it is safe when any two sets of `quorum` witnesses
   * among the k share an honest one (2·quorum > k, and at most 2·quorum − k − 1 faulty), as for a
   * community's certificates. Any witness that answers with another block refuses it, whenever
   * its answer comes before the verdict.
   */
  quorum?: number
  /** Which proposals need witnesses (default: every proposal). */
  require?: (proposal: HalfBlock) => boolean
  /** Milliseconds to gather the k answers, resends included (default 5000). */
  timeoutMs?: number
  /** Milliseconds one query waits before the proposal is pushed and asked again (default 1000). */
  retryMs?: number
}

/** What the witnesses said. */
export type WitnessVerdict =
  | { readonly ok: true; readonly witnesses: readonly Uint8Array[] }
  | { readonly ok: false; readonly reason: 'conflict'; readonly proof: FraudProof; readonly witness: Uint8Array }
  | { readonly ok: false; readonly reason: 'unavailable'; readonly answered: number; readonly witnesses: readonly Uint8Array[] }

/** What consultWitnesses needs from the node. */
export interface WitnessContext {
  /** This node's key (a witness that is this node answers from the local store). */
  readonly self: Uint8Array
  readonly crypto: CryptoProvider
  readonly clock: Clock
  /** Wait `ms` on the node's clock; rejects when the node closes, so no timer outlives it. */
  sleep(ms: number): Promise<void>
  /** A session to a witness (dialling it when needed); rejects when unreachable. */
  sessionTo(key: Uint8Array): Promise<Session>
  /** The block this node holds at (key, seq). */
  localBlock(key: Uint8Array, seq: number): Promise<HalfBlock | undefined>
  /** Fraud verifiers of the registered block types. */
  readonly verifiers?: ReadonlyMap<string, (blocks: readonly HalfBlock[], crypto: CryptoProvider) => string | undefined>
}

/** Cost charged to a witness that answers with a block whose signature does not verify. */
const FORGED_ANSWER_COST = 50

/**
 * Ask the k witnesses of `proposal` whether they hold another block at its (key, seq).
 * @param proposal the proposal about to be countersigned
 * @param options the witness set and timings
 * @param ctx the node's side
 * @returns ok when all k answered with this proposal; else the conflict's proof or how many answered
 * @example const v = await consultWitnesses(p, { keys, k: 3 }, ctx); if (!v.ok) refuse()
 */
export async function consultWitnesses(proposal: HalfBlock, options: WitnessOptions, ctx: WitnessContext): Promise<WitnessVerdict> {
  const k = Math.min(options.k ?? 3, options.keys.length)
  const witnesses = chooseWitnesses(proposal.publicKey, proposal.seq, options.keys, Math.max(1, k), ctx.crypto)
  if (witnesses.length === 0) return { ok: false, reason: 'unavailable', answered: 0, witnesses }
  const timeoutMs = options.timeoutMs ?? 5000
  const retryMs = options.retryMs ?? 1000
  const deadline = ctx.clock.now() + timeoutMs
  const hash = blockHash(proposal, ctx.crypto)
  const quorum = Math.max(1, Math.min(options.quorum ?? witnesses.length, witnesses.length))
  let settled = false
  const results = await gather()
  settled = true
  const conflict = results.find((r): r is { proof: FraudProof; witness: Uint8Array } => typeof r === 'object')
  if (conflict !== undefined) return { ok: false, reason: 'conflict', proof: conflict.proof, witness: conflict.witness }
  const answered = results.filter((r) => r === true).length
  return answered >= quorum ? { ok: true, witnesses } : { ok: false, reason: 'unavailable', answered, witnesses }

  /**
   * Ask `quorum` witnesses first, and one more of the k each time an asked one stalls (its first
   * try failed) or gives no usable answer: when all are up, only `quorum` are shown the block and
   * asked. Safe as asking all k: any two sets of `quorum` among the k share an honest witness
   * (the option's premise), so the first branch's block is held by one witness in the set asked
   * about the second. Resolves once `quorum` vouched for the block, one holds another, or every
   * witness asked is done and none is left to ask.
   */
  function gather(): Promise<(boolean | { proof: FraudProof; witness: Uint8Array } | undefined)[]> {
    return new Promise((resolve, reject) => {
      const out: (boolean | { proof: FraudProof; witness: Uint8Array } | undefined)[] = witnesses.map(() => undefined)
      let asked = 0
      let done = 0
      let yes = 0
      let over = false
      const next = (): void => {
        if (over || asked >= witnesses.length) return
        const i = asked++
        let stalled = false
        const stall = (): void => {
          if (stalled) return
          stalled = true
          next()
        }
        void askOne(witnesses[i]!, stall).then((r) => {
          out[i] = r
          done++
          if (r === true) yes++
          else if (r === false) stall()
          if (yes >= quorum || typeof r === 'object' || (done === asked && asked === witnesses.length)) {
            over = true
            resolve(out)
          }
        }, reject) // the node closed: as before, the verdict rejects with it
      }
      for (let i = 0; i < quorum; i++) next()
    })
  }

  /**
   * true: it holds this proposal; false: no usable answer in time; object: it holds another block.
   * `stall` is called when a try fails (no session, no answer within retryMs): time to ask another.
   */
  async function askOne(witness: Uint8Array, stall: () => void): Promise<boolean | { proof: FraudProof; witness: Uint8Array }> {
    if (equalBytes(witness, ctx.self)) {
      const local = await ctx.localBlock(proposal.publicKey, proposal.seq)
      if (local === undefined || equalBytes(blockHash(local, ctx.crypto), hash)) return true
      return conflictWith(local, witness, undefined)
    }
    for (;;) {
      const remaining = deadline - ctx.clock.now()
      if (remaining <= 0 || settled) return false
      let session: Session
      try {
        session = await ctx.sessionTo(witness)
      } catch {
        stall()
        await ctx.sleep(Math.min(retryMs, remaining))
        continue
      }
      try {
        // the push first: an honest witness stores it (unless it holds another block there), then
        // answers the query, which it handles after the push
        session.send({ type: 'push', blocks: [proposal] })
        const reply = await session.request(
          { type: 'witness-query', publicKey: proposal.publicKey, seq: proposal.seq },
          { timeoutMs: Math.max(1, Math.min(retryMs, remaining)) },
        )
        if (reply.type === 'witness-answer' && reply.block !== null) {
          if (equalBytes(blockHash(reply.block, ctx.crypto), hash)) return true
          const other = conflictWith(reply.block, witness, session)
          if (other !== false) return other
        } else if (reply.type === 'error' && (reply.code === 'refused' || reply.code === 'not-found')) {
          return false // this witness will not witness: no use asking again
        }
      } catch {
        // closed, timed out or too many requests pending: try again while time is left
        stall()
      }
      const wait = deadline - ctx.clock.now()
      if (wait > 0) await ctx.sleep(Math.min(retryMs / 4, wait))
    }
  }

  /** The witness holds `other` at the proposal's slot: a proof if it is really the proposer's. */
  function conflictWith(other: HalfBlock, witness: Uint8Array, session: Session | undefined): false | { proof: FraudProof; witness: Uint8Array } {
    if (!equalBytes(other.publicKey, proposal.publicKey) || other.seq !== proposal.seq || !verifyBlock(other, ctx.crypto)) {
      session?.penalize(FORGED_ANSWER_COST, `a witness answer for ${shortKey(proposal.publicKey)}:${proposal.seq} that does not verify`)
      return false
    }
    const proof = createFraudProof('double-sign', [proposal, other])
    const verdict = verifyFraudProof(proof, { crypto: ctx.crypto, ...(ctx.verifiers ? { verifiers: ctx.verifiers } : {}) })
    return verdict.ok ? { proof, witness } : false
  }
}
