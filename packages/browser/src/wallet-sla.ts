/**
 * SLA subscriptions from the browser wallet (@tally/economy/market, FR5): find offers, subscribe
 * one cycle at a time (this wallet's escrow lock, the seller's penalty lock beside it), follow each
 * cycle's certified outcome, take the penalty of a failed cycle, end the subscription, and release
 * what comes back after the expiry.
 *
 * The rules are the economy's (the offer and lock types, slaPolicy on the seller's side, the 'sla'
 * redeem authority, cycleVerdict, redeemPenalty, the outcome certificates); this module adds the
 * page's part:
 * - **Wallet options** (`slaWalletOptions`): the wallet's lock types must know the 'sla' authority
 *   (to redeem a penalty) and its `certified` hook (never to release an escrow a certificate gave
 *   the seller), and its types the offer blocks; pass them to createBrowserWallet.
 * - **Offers** come from the gateway by the offers protocol (`refresh`: a sync of its listing)
 *   into a market view in the page; outcomes from the community's witnesses (`fetchOutcome`),
 *   checked against their certificates, and kept on IndexedDB beside the subscriptions: the
 *   'sla' authority of this wallet's rules reads them whenever it replays a chain with an SLA
 *   redeem (this wallet's own penalty redeems, or a seller's chain it takes in), so they are read
 *   back into the outcome store when the page opens them again.
 * - **The subscription's lock transaction travels as bytes**: `subscribe` signs the escrow lock
 *   proposal and returns it with this wallet's chain below it and the reward evidence the seller
 *   replays it with; the seller's wallet agrees (`Wallet.accept(proposal, history)`, its slaPolicy
 *   decides and locks the penalty); `complete(agreement)` takes the seller's agreement in. (The
 *   economy's network wallet delivers transfers only; a lock offered over the node's transaction
 *   path would reach a seller that lacks this wallet's history.)
 * - **Durable state**: one record per subscription and one per outcome on IndexedDB
 *   (openIdbRecords, database `<database>`, default 'tally-sla'), written before each step's
 *   result is returned.
 *
 * Records (version 1), canonical CBOR:
 *   `s:<offer id hex>` → [1, offer block bytes, ended 0|1, cycles: [[start, escrow seq, penalty
 *     agreement bytes | null, verdict 0 pending | 1 passed | 2 failed, failed epoch, penalty
 *     redeemed 0|1, escrow released 0|1]…]]
 *   `o:<offer id hex>:<epoch>` → encodeOutcomeEvidence (checked again when read back)
 * @module
 */
import { RefusedError, abytes, auint, decodeBlock, fromHex, decodeCanonical, encodeBlock, encodeCanonical, equalBytes, toHex, type BlockType, type CborValue, type HalfBlock } from '@tally/core'
import { epochAt, encodeRewardEvidence, readReward, voucherAuthority, type Community, type LockTypesOptions } from '@tally/economy'
import { receiptAuthority } from '@tally/economy/channels'
import {
  SLA_SETTLE_EPOCHS,
  createMarketView,
  createOfferSpread,
  createOutcomeStore,
  cycleVerdict,
  decodeOutcomeEvidence,
  encodeOutcomeEvidence,
  fetchOutcome,
  offerTypes,
  offerView,
  outcomesProtocol,
  redeemPenalty,
  slaAuthority,
  slaCertified,
  subscribe,
  type Listing,
  type MarketQuery,
  type MarketView,
  type OfferSpread,
  type OfferView,
  type OutcomeStore,
} from '@tally/economy/market'
import { openIdbRecords, type IdbRecords } from './idb-records.js'
import type { BrowserWallet } from './wallet.js'

/** What createBrowserWallet needs to take part in SLA subscriptions (see slaWalletOptions). */
export interface SlaWalletOptions {
  readonly lock: Omit<LockTypesOptions, 'community' | 'vouchers'>
  readonly types: readonly BlockType[]
  /** The outcome evidence the 'sla' authority reads (openWalletSla fills it). */
  readonly outcomes: OutcomeStore
}

/**
 * The wallet options for SLA subscriptions: the lock types' 'sla' authority and certified hook
 * (beside the default voucher and receipt authorities), and the offer types.
 * @param community the community
 * @returns `{ lock, types, outcomes }`: pass lock and types to createBrowserWallet, the whole to openWalletSla
 * @example
 * const sla = slaWalletOptions(community)
 * const wallet = await createBrowserWallet({ ...options, lock: sla.lock, types: sla.types })
 * const market = await openWalletSla(wallet, sla)
 */
export function slaWalletOptions(community: Community): SlaWalletOptions {
  const outcomes = createOutcomeStore(community)
  return Object.freeze({
    lock: { authorities: [voucherAuthority(), receiptAuthority(), slaAuthority({ community, outcomes })], certified: slaCertified({ community, outcomes }) },
    types: offerTypes(community),
    outcomes,
  })
}

/** What the seller needs to agree to a cycle: bytes for any link. */
export interface SlaProposal {
  readonly offer: Uint8Array
  readonly start: number
  /** The escrow lock proposal (this wallet's chain). */
  readonly proposal: HalfBlock
  /** This wallet's chain below the proposal (the seller replays its balance; it skips what it holds). */
  readonly history: readonly HalfBlock[]
  /** The evidence of the rewards in `history` (amount, encodeRewardEvidence), for a seller that lacks it: `evidence.put(buyer, amount, decodeRewardEvidence(bytes))`. */
  readonly evidence: readonly { readonly amount: number; readonly evidence: Uint8Array }[]
}

/** One cycle of a subscription, as this wallet knows it. */
export interface SlaCycle {
  readonly start: number
  /** The escrow lock's seq in this wallet's chain. */
  readonly escrow: number
  /** 'proposed': waiting for the seller's agreement; then pending, passed or failed on certified outcomes. */
  readonly state: 'proposed' | 'pending' | 'passed' | 'failed'
  /** The seller's penalty lock (its agreement), once agreed. */
  readonly penalty: HalfBlock | undefined
  /** The epoch certified failed. */
  readonly failedEpoch: number | undefined
  /** Whether this wallet redeemed the penalty (a failed cycle), and released its escrow (after the expiry of a failed or never agreed cycle). */
  readonly redeemed: boolean
  readonly released: boolean
  /** The locks' expiry epoch. */
  readonly expiry: number
}

/** A subscription to one offer. */
export interface SlaSubscription {
  readonly offer: OfferView
  /** This wallet ended it (no more cycles), or a failed cycle did (Fig. 5 of the paper). */
  readonly ended: boolean
  readonly cycles: readonly SlaCycle[]
}

/** The wallet's SLA subscriptions. */
export interface WalletSla {
  /** The market view in the page (offers synced from the gateway). */
  readonly view: MarketView
  /**
   * Sync the offers a peer holds (default: the gateway) into the view.
   * @returns offers new to the view
   */
  refresh(peer?: Uint8Array): Promise<number>
  /** Search offers (economy's MarketQuery; `epoch` default the current one). */
  search(query?: Partial<MarketQuery>): Listing[]
  /**
   * Subscribe for one cycle: the escrow lock proposal of the offer's price, for the cycle starting
   * at `start` (default the next epoch). Refused while the subscription's last cycle is undecided
   * (never more than one cycle at stake) or once it ended.
   * @returns the proposal, the chain below it and the reward evidence, for the seller
   * @throws RangeError for an unknown offer, a cycle outside it, a short balance; RefusedError
   *   'sla-pending' (the last cycle is not decided), 'sla-ended', 'not-signer', 'closed'
   */
  subscribe(offer: Uint8Array, options?: { start?: number }): Promise<SlaProposal>
  /**
   * Take in the seller's agreement (its penalty lock) to a cycle's escrow.
   * @throws RangeError when it answers no proposal of a subscription; InvalidBlockError from the rules
   */
  complete(agreement: HalfBlock): Promise<SlaSubscription>
  /**
   * Follow the subscriptions' undecided cycles: fetch the outcomes of their closed epochs from the
   * witnesses, and on a certified failure redeem the seller's penalty (the subscription ends).
   * @returns the subscriptions
   */
  check(): Promise<SlaSubscription[]>
  /** End a subscription: no more cycles (the cycle under way completes: that is its notice). */
  end(offer: Uint8Array): Promise<SlaSubscription>
  /**
   * Release this wallet's escrow of cycles that came back to it — failed ones (certified), or
   * proposals the seller never agreed to — once their expiry epoch has begun.
   * @returns the releases appended
   */
  release(): Promise<HalfBlock[]>
  subscriptions(): Promise<SlaSubscription[]>
  subscription(offer: Uint8Array): Promise<SlaSubscription | undefined>
  /** Stop hosting the protocols here and close the database (the wallet stays open). */
  dispose(): void
}

/**
 * Open the wallet's SLA subscriptions: the offers and outcomes protocols on its node, a market view,
 * the records on IndexedDB.
 * @param wallet a wallet created with slaWalletOptions' lock and types
 * @param options outcomes (slaWalletOptions().outcomes: the same store the wallet's rules read), database
 * @returns the subscriptions
 * @throws TypeError without the outcome store; StoreVersionError for a newer database
 */
export async function openWalletSla(wallet: BrowserWallet, options: { outcomes: OutcomeStore; database?: string }): Promise<WalletSla> {
  if (options?.outcomes === undefined) throw new TypeError('"outcomes" expected the store of slaWalletOptions()')
  const database = options.database ?? 'tally-sla'
  if (typeof database !== 'string' || database === '') throw new TypeError('"database" expected a non-empty string')
  const { outcomes } = options
  const community = wallet.community
  const table: IdbRecords = await openIdbRecords({ name: database })
  // the outcomes fetched before: the rules that check SLA redeems read them
  for (const { id, record } of await table.list()) {
    const m = /^o:([0-9a-f]{64}):\d+$/.exec(id)
    if (m === null) continue
    try {
      outcomes.put(fromHex(m[1]!), decodeOutcomeEvidence(record))
    } catch {
      // evidence that no longer decodes is fetched again when needed
    }
  }
  const view = createMarketView({ community })
  const spread: OfferSpread = createOfferSpread({ host: wallet.node, view, peers: () => [] })
  const outcomesHandle = wallet.node.host(outcomesProtocol())
  const me = wallet.publicKey
  const now = (): number => epochAt(community.current, Date.now())
  let tail: Promise<unknown> = Promise.resolve()
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = tail.then(fn, fn)
    tail = next.catch(() => undefined)
    return next
  }
  const load = async (offer: Uint8Array): Promise<Kept | undefined> => {
    const bytes = await table.get(`s:${toHex(offer)}`)
    return bytes === undefined ? undefined : decodeKept(bytes)
  }
  const all = async (): Promise<Kept[]> => (await table.list()).flatMap((r) => {
    if (!r.id.startsWith('s:')) return []
    try {
      return [decodeKept(r.record)]
    } catch {
      return [] // a record this version cannot read is left as it is
    }
  })
  const save = (k: Kept): Promise<void> => table.put(`s:${toHex(k.offer.id)}`, encodeKept(k))
  /** An offer's outcome of an epoch: held, else from the witnesses, then kept on IndexedDB. */
  const outcome = async (offer: Uint8Array, epoch: number): Promise<void> => {
    if (outcomes.get(offer, epoch) !== undefined) return
    const evidence = await fetchOutcome(outcomesHandle, community.current.witnesses, outcomes, offer, epoch)
    await table.put(`o:${toHex(offer)}:${epoch}`, encodeOutcomeEvidence(evidence))
  }
  const expiryOf = (k: Kept, start: number): number => start + k.offer.cycle + SLA_SETTLE_EPOCHS
  const show = (k: Kept): SlaSubscription => Object.freeze({
    offer: k.offer,
    ended: k.ended,
    cycles: k.cycles.map((c) => Object.freeze({
      start: c.start,
      escrow: c.escrow,
      state: c.penalty === undefined && c.verdict === 0 ? 'proposed' : (['pending', 'passed', 'failed'] as const)[c.verdict]!,
      penalty: c.penalty,
      failedEpoch: c.verdict === 2 ? c.failedEpoch : undefined,
      redeemed: c.redeemed,
      released: c.released,
      expiry: expiryOf(k, c.start),
    })),
  })
  /** The offer as the page holds it: from its record, else from the view (then this agent takes the block in: its locks name it). */
  const offerOf = async (id: Uint8Array): Promise<OfferView> => {
    const kept = await load(id)
    if (kept !== undefined) return kept.offer
    const listing = view.get(id)
    if (listing === undefined) throw new RangeError('"offer" is not an offer this wallet knows: refresh() first')
    return listing.offer
  }

  return {
    view,
    async refresh(peer) {
      const from = peer ?? wallet.gateway
      if (from === undefined) throw new RefusedError('the wallet is not connected to its gateway yet', { reason: 'offline' })
      abytes('peer', from, 32)
      return spread.sync(from)
    },
    search(query = {}) {
      return view.search({ epoch: now(), ...query })
    },
    subscribe(id, o = {}) {
      abytes('offer', id, 32)
      return wallet.signing(() =>
        serial(async () => {
          const offer = await offerOf(id)
          let kept = (await load(id)) ?? { offer, ended: false, cycles: [] }
          if (kept.ended) throw new RefusedError('this subscription ended', { reason: 'sla-ended' })
          const last = kept.cycles.at(-1)
          if (last !== undefined && (last.penalty === undefined || last.verdict === 0)) {
            throw new RefusedError(`the cycle from epoch ${last.start} is not decided yet: one cycle at stake at a time`, { reason: 'sla-pending' })
          }
          const start = o.start ?? now() + 1
          auint('start', start)
          // the lock rules read the offer its terms name: this agent holds it
          if ((await wallet.node.store.get(offer.seller, offer.seq)) === undefined) await wallet.wallet.agent.receive(offer.block)
          const proposal = await subscribe(wallet.wallet, offer, start)
          kept = { ...kept, cycles: [...kept.cycles, { start, escrow: proposal.seq, penalty: undefined, verdict: 0, failedEpoch: 0, redeemed: false, released: false }] }
          await save(kept)
          const history = await wallet.node.store.range(me, { to: proposal.seq - 1 })
          const evidence: { amount: number; evidence: Uint8Array }[] = []
          for (const b of history) {
            const r = b.type === 'reward' ? readReward(b.payload) : undefined
            if (r === undefined) continue
            const e = await wallet.evidence.evidence({ owner: me, epoch: r.epoch, root: r.root, amount: r.amount })
            if (e !== undefined) evidence.push({ amount: r.amount, evidence: encodeRewardEvidence(e) })
          }
          return { offer: offer.id, start, proposal, history, evidence }
        }),
      )
    },
    complete(agreement) {
      if (typeof agreement !== 'object' || agreement === null || !(agreement.publicKey instanceof Uint8Array)) throw new TypeError('"agreement" expected a block')
      return wallet.signing(() =>
        serial(async () => {
          const kept = (await all()).find((k) => equalBytes(k.offer.seller, agreement.publicKey) && k.cycles.some((c) => c.escrow === agreement.linkSeq))
          if (kept === undefined || !equalBytes(agreement.linkPublicKey, me)) throw new RangeError('"agreement" answers no subscription proposal of this wallet')
          await wallet.wallet.complete(agreement)
          const next = { ...kept, cycles: kept.cycles.map((c) => (c.escrow === agreement.linkSeq ? { ...c, penalty: agreement } : c)) }
          await save(next)
          return show(next)
        }),
      )
    },
    check() {
      return wallet.signing(() =>
        serial(async () => {
          const out: SlaSubscription[] = []
          for (let k of await all()) {
            const c = k.cycles.at(-1)
            if (c !== undefined && c.penalty !== undefined && c.verdict === 0) {
              for (let e = c.start; e < c.start + k.offer.cycle; e++) {
                try {
                  await outcome(k.offer.id, e)
                } catch (err) {
                  // not closed yet, or not certified: the cycle stays pending
                  if ((err as RefusedError)?.reason !== 'no-outcome') break
                }
              }
              const v = cycleVerdict(k.offer, c.start, outcomes)
              if (v.state !== 'pending') {
                const failedEpoch = v.state === 'failed' ? v.epoch : 0
                k = { ...k, ended: k.ended || v.state === 'failed', cycles: k.cycles.map((x) => (x === c ? { ...x, verdict: v.state === 'passed' ? 1 : 2, failedEpoch } : x)) }
                await save(k)
              }
            }
            // a failed cycle: the seller's penalty is this wallet's (the record first: redeemed once)
            for (const x of k.cycles) {
              if (x.verdict !== 2 || x.redeemed || x.penalty === undefined) continue
              if ((x.penalty.payload as { amount?: number }).amount === 0) continue
              await outcome(k.offer.id, x.failedEpoch)
              await redeemPenalty(wallet.wallet, x.penalty, x.failedEpoch)
              k = { ...k, cycles: k.cycles.map((y) => (y === x ? { ...y, redeemed: true } : y)) }
              await save(k)
            }
            out.push(show(k))
          }
          return out
        }),
      )
    },
    end(id) {
      abytes('offer', id, 32)
      return serial(async () => {
        const kept = await load(id)
        if (kept === undefined) throw new RangeError('"offer" is not a subscription of this wallet')
        const next = { ...kept, ended: true }
        await save(next)
        return show(next)
      })
    },
    release() {
      return wallet.signing(() =>
        serial(async () => {
          const out: HalfBlock[] = []
          const current = now()
          for (let k of await all()) {
            for (const c of k.cycles) {
              // the escrow comes back on a certified failure, or when the seller never agreed;
              // a passed cycle's escrow is the seller's, an undecided one may still be
              const mine = c.verdict === 2 || (c.penalty === undefined && c.verdict === 0)
              if (!mine || c.released || expiryOf(k, c.start) > current) continue
              const escrow = await wallet.node.store.get(me, c.escrow)
              if (escrow === undefined) continue
              out.push(await wallet.wallet.release(escrow))
              k = { ...k, cycles: k.cycles.map((y) => (y === c ? { ...y, released: true } : y)) }
              await save(k)
            }
          }
          return out
        }),
      )
    },
    async subscriptions() {
      return (await all()).map(show)
    },
    async subscription(id) {
      abytes('offer', id, 32)
      const k = await load(id)
      return k === undefined ? undefined : show(k)
    },
    dispose() {
      outcomesHandle.close()
      table.close()
    },
  }
}

// ## The record

interface KeptCycle {
  readonly start: number
  readonly escrow: number
  readonly penalty: HalfBlock | undefined
  readonly verdict: 0 | 1 | 2
  readonly failedEpoch: number
  readonly redeemed: boolean
  readonly released: boolean
}

interface Kept {
  readonly offer: OfferView
  readonly ended: boolean
  readonly cycles: readonly KeptCycle[]
}

function encodeKept(k: Kept): Uint8Array {
  const cycles = k.cycles.map((c) => [c.start, c.escrow, c.penalty === undefined ? null : encodeBlock(c.penalty), c.verdict, c.failedEpoch, c.redeemed ? 1 : 0, c.released ? 1 : 0])
  return encodeCanonical([1, encodeBlock(k.offer.block), k.ended ? 1 : 0, cycles] as CborValue)
}

function decodeKept(bytes: Uint8Array): Kept {
  const v = decodeCanonical(bytes) as unknown[]
  if (!Array.isArray(v) || v[0] !== 1 || v.length !== 4) throw new RangeError('not an SLA subscription record of version 1')
  const offer = offerView(decodeBlock(v[1] as Uint8Array))
  if (offer === undefined) throw new RangeError('the record holds no offer')
  const cycles = (v[3] as unknown[][]).map(([start, escrow, penalty, verdict, failedEpoch, redeemed, released]) => ({
    start: start as number,
    escrow: escrow as number,
    penalty: penalty === null ? undefined : decodeBlock(penalty as Uint8Array),
    verdict: verdict as 0 | 1 | 2,
    failedEpoch: failedEpoch as number,
    redeemed: redeemed === 1,
    released: released === 1,
  }))
  return { offer, ended: v[2] === 1, cycles }
}
