/**
 * How a block from a peer enters a node: compared with the block stored at its (key, seq), else
 * validated and stored through the agent on the node's write queue; a proof it yields is handled
 * (fraud-relay.ts), a sender of a broken block is charged. Every path comes through here: a push, a
 * push-via, a crawl, a proposal's context. A block stored is `learnt`: its chain's head is kept
 * for pull gossip (pull.ts) and the `block` event fires.
 * @module
 */
import { blockHash, equalBytes, toHex, type HalfBlock } from '@tally/core'
import type { Session } from '../wire/session.js'
import type { NodeContext } from './context.js'
import { acceptProof } from './fraud-relay.js'
import { RECENT_CHAINS } from './gossip-rules.js'

/** Cost charged for a block whose signature or form is broken. */
export const BAD_BLOCK_COST = 20
/** Cost charged for a block that breaks a chain or type rule (could be honest ignorance, so small). */
export const INVALID_BLOCK_COST = 5

export type Outcome = 'new' | 'known' | 'invalid' | 'fraud'

/** Validate and store a block from a peer; proofs it yields are handled here. */
export async function ingest(ctx: NodeContext, block: HalfBlock, from: Session | undefined): Promise<Outcome> {
  const result = await ctx.serial(async () => {
    const stored = await ctx.store.get(block.publicKey, block.seq)
    if (stored !== undefined && equalBytes(blockHash(stored, ctx.crypto), blockHash(block, ctx.crypto))) return undefined
    return ctx.agent.receive(block)
  })
  if (result === undefined) return 'known'
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

/** A block is stored: remember its chain's head for pull gossip, tell the handlers. */
export function learnt(ctx: NodeContext, block: HalfBlock, from: Uint8Array | undefined): void {
  const hex = toHex(block.publicKey)
  const head = ctx.recent.get(hex)
  if (head === undefined || head.seq <= block.seq) {
    ctx.recent.delete(hex)
    ctx.recent.set(hex, block)
    if (ctx.recent.size > RECENT_CHAINS) ctx.recent.delete(ctx.recent.keys().next().value!)
  }
  ctx.events.emit('block', { block, from })
}
