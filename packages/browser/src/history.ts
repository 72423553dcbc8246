/**
 * A wallet's history, read from its own chain: one entry per block that moves its balance.
 * @module
 */
import { UNILATERAL_KEY, equalBytes, isProposal, toHex, type BlockStore, type HalfBlock, type PublicKeyHex } from '@tally/core'
import { balanceEntry, readRefund, readReward } from '@tally/economy/wallet'

/** What an entry of the history is. */
export type HistoryKind = 'reward' | 'sent' | 'received' | 'refund' | 'burn' | 'other'

/** One block of the wallet's chain that moves its balance. */
export interface HistoryEntry {
  /** Its seq in the wallet's chain. */
  readonly seq: number
  readonly kind: HistoryKind
  /** The block's type ('reward', 'transfer', ...). */
  readonly type: string
  /** Signed change of the balance (a send is negative). */
  readonly delta: number
  /** The balance after it. */
  readonly balance: number
  /** The other party of a transfer. */
  readonly counterparty?: PublicKeyHex
  /** The epoch of a reward. */
  readonly epoch?: number
  /**
   * A send: `done` (the receiver's agreement is here), `refunded` (voided, the amount came back),
   * or `pending` (in flight: it completes or comes back through `settle()`).
   */
  readonly status?: 'done' | 'pending' | 'refunded'
  /** The block's timestamp (ms since 1970, the wallet's clock). */
  readonly timestamp: number
}

/**
 * The history of `publicKey`'s chain in `store`, newest first.
 * @param store the wallet's store
 * @param publicKey the wallet's key
 * @param limit most entries returned
 * @returns the entries
 */
export async function readHistory(store: BlockStore, publicKey: Uint8Array, limit: number): Promise<HistoryEntry[]> {
  // backwards, a page at a time: a refund comes after the send it refunds, so it is seen first
  const refunded = new Set<number>()
  const out: HistoryEntry[] = []
  let to = (await store.latest(publicKey))?.seq ?? 0
  while (to >= 1 && out.length < limit) {
    const from = Math.max(1, to - PAGE + 1)
    const page = await store.range(publicKey, { from, to })
    for (let i = page.length - 1; i >= 0 && out.length < limit; i--) {
      const b = page[i]!
      if (b.type === 'refund') refunded.add(readRefund(b.payload)?.seq ?? 0)
      const entry = balanceEntry(b)
      if (entry === undefined) continue
      out.push({ seq: b.seq, type: b.type, delta: entry.delta, balance: entry.balance, timestamp: b.timestamp, ...(await describe(store, b, refunded)) })
    }
    to = from - 1
  }
  return out
}

/** Blocks read at a time. */
const PAGE = 256

async function describe(store: BlockStore, b: HalfBlock, refunded: ReadonlySet<number>): Promise<Pick<HistoryEntry, 'kind' | 'counterparty' | 'epoch' | 'status'>> {
  if (b.type === 'reward') return { kind: 'reward', epoch: readReward(b.payload)?.epoch ?? -1 }
  if (b.type === 'refund') return { kind: 'refund' }
  if (b.type === 'burn') return { kind: 'burn' }
  if (b.type !== 'transfer' || equalBytes(b.linkPublicKey, UNILATERAL_KEY)) return { kind: 'other' }
  const counterparty = toHex(b.linkPublicKey)
  if (!isProposal(b)) return { kind: 'received', counterparty }
  if (refunded.has(b.seq)) return { kind: 'sent', counterparty, status: 'refunded' }
  const agreed = (await store.findAgreement(b.publicKey, b.seq, b.linkPublicKey)) !== undefined
  return { kind: 'sent', counterparty, status: agreed ? 'done' : 'pending' }
}
