/**
 * How a block from a peer enters a node: compared with the block stored at its (key, seq), else
 * validated and stored through the agent on the node's write queue, in the sender's lane; a proof
 * it yields is handled (fraud-relay.ts), a sender of a broken block is charged. Every path comes
 * through here: a push, a push-via, a crawl, a proposal's context. What is stored for others is
 * kept within quotas (stranger-quota.ts): a block of a type this node has no rules for is refused
 * unless it is one the node always keeps, and a stranger's block is counted, which may evict
 * others. A block stored is `learnt`: its chain's head is kept for pull gossip (pull.ts) and the
 * `block` event fires.
 * @module
 */
import { UNILATERAL_KEY, blockHash, equalBytes, toHex, type HalfBlock, type ValidationResult } from '@tally/core'
import type { Session } from '../wire/session.js'
import type { NodeContext } from './context.js'
import { BusyError } from '../errors.js'
import { acceptProof } from './fraud-relay.js'
import { RECENT_CHAINS } from './gossip-rules.js'

/** Cost charged for a block whose signature or form is broken. */
export const BAD_BLOCK_COST = 20
/** Cost charged for a block that breaks a chain or type rule (could be honest ignorance, so small). */
export const INVALID_BLOCK_COST = 5

/**
 * What became of a block: stored (`new`), held already (`known`), broken (`invalid`), a proof
 * (`fraud`), not stored by choice (`refused`: a type without rules, or over a quota on a store that
 * cannot evict), or not queued (`dropped`: its sender's write lane was full).
 */
export type Outcome = 'new' | 'known' | 'invalid' | 'fraud' | 'refused' | 'dropped'

/** Validate and store a block from a peer; proofs it yields are handled here. */
export async function ingest(ctx: NodeContext, block: HalfBlock, from: Session | undefined): Promise<Outcome> {
  const quota = ctx.quota
  // the table is rebuilt from the store before the first block from a peer is counted
  if (!quota.loaded) await ctx.serial(() => quota.load())
  // a type this node has no rules for is no business of its: it cannot check it, so never stores it
  if (ctx.types.get(block.type) === undefined && !quota.kept(block)) {
    ctx.stats.unknownRefused++
    return 'refused'
  }
  // a block held already needs no write: answered before the write queue, so that relayed copies
  // of blocks the node has (a counterparty's push-vias of the node's own transactions, say) do not
  // wait in the sender's lane ahead of its next proposal. The check is repeated in the queue for
  // a block that arrives while its first copy is being stored.
  if (await isKnown(ctx, block)) return 'known'
  let result: ValidationResult | 'known' | 'over'
  try {
    result = await ctx.serial(async () => {
      if (await isKnown(ctx, block)) return 'known'
      // what an admitted peer hands this node is party data (stranger-quota.ts), not a stranger's
      if (from !== undefined && ctx.admitted.has(from.peerKey) && !quota.kept(block)) quota.party(block.publicKey)
      const stranger = !quota.kept(block)
      if (stranger && !quota.admits(block)) return 'over'
      const r = await ctx.agent.receive(block)
      // the agent stores every block that is not invalid
      if (stranger && r.level !== 'invalid') await quota.stored(block)
      return r
    }, from?.peerKeyHex)
  } catch (err) {
    if (!(err instanceof BusyError)) throw err
    ctx.stats.dropped++
    return 'dropped'
  }
  if (result === 'known') return 'known'
  if (result === 'over') return 'refused'
  if (result.fraud.length > 0) {
    for (const proof of result.fraud) await acceptProof(ctx, proof, undefined, 'stored')
    return 'fraud'
  }
  if (result.level === 'invalid') {
    const broken = result.errors.some((e) => e.rule === 'signature' || e.rule === 'form' || e.rule === 'size')
    from?.penalize(broken ? BAD_BLOCK_COST : INVALID_BLOCK_COST, `an invalid block (${result.errors.map((e) => e.rule).join(', ')})`)
    return 'invalid'
  }
  ctx.stats.blocksReceived++
  learnt(ctx, block, from?.peerKey)
  return 'new'
}

/**
 * A block is stored: remember its chain's head for pull gossip, tell the handlers. A block of this
 * node's own chain makes its counterparty one whose chain is always kept.
 */
export function learnt(ctx: NodeContext, block: HalfBlock, from: Uint8Array | undefined): void {
  if (equalBytes(block.publicKey, ctx.publicKey) && !equalBytes(block.linkPublicKey, UNILATERAL_KEY) && ctx.quota.counterparty(block.linkPublicKey)) {
    // a stranger no longer: its sessions get the node's limits (they had the stranger limits)
    for (const session of ctx.peers.get(toHex(block.linkPublicKey))?.sessions ?? []) {
      session.setLimits(ctx.limits)
      session.setGate(undefined)
    }
  }
  const hex = toHex(block.publicKey)
  const head = ctx.recent.get(hex)
  if (head === undefined || head.seq <= block.seq) {
    ctx.recent.delete(hex)
    ctx.recent.set(hex, block)
    if (ctx.recent.size > RECENT_CHAINS) ctx.recent.delete(ctx.recent.keys().next().value!)
  }
  ctx.events.emit('block', { block, from })
}

/** True when the store holds this very block (same key, seq and hash). */
async function isKnown(ctx: NodeContext, block: HalfBlock): Promise<boolean> {
  const stored = await ctx.store.get(block.publicKey, block.seq)
  return stored !== undefined && equalBytes(blockHash(stored, ctx.crypto), blockHash(block, ctx.crypto))
}
