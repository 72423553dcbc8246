/**
 * The agent: the proposal/agreement protocol, independent of any transport.
 *
 * The promises it keeps (DESIGN.md, "The agent's promises"):
 * - never sign twice at one seq: appends to its own chain are serialized (one lock around
 *   read-latest → check → sign → store), a block is durable in the store before it is handed out,
 *   and the next seq is read from the store, so neither concurrency nor a restart makes an honest
 *   agent sign two blocks at one seq. With a store whose commits say apart when a batch is in the
 *   store's write order and when it is durable (`StoreBatch.commitOrdered`: the LevelDB store's
 *   group commit), the lock is released once the block is in order, and the next block is signed on
 *   top of it while its sync runs: the agent reads and checks through a view of the store that also
 *   holds its own blocks not durable yet, and returns each block only once it is durable (which
 *   the store gives in write order, so every block below it is durable too). A block that anyone
 *   saw was synced first: after a power cut the agent's head is at or above every block it handed
 *   out, and it never signs one of those seqs again;
 * - know your own head before signing: an agent whose store may be stale (a seed restored on a new
 *   device, a backup restored, cleared site data) asks a `HeadSource` (its peers) for its chain's
 *   head and recovers the missing blocks before its first signature; until then it refuses to sign
 *   (`HeadUnknownError`). A brand-new identity says so (`generateIdentity()`, or `head: 'local'`);
 * - never sign what its own rules reject: a new block is checked by its type's rules, under the
 *   lock, before it is signed; an unregistered type is refused.
 * @module
 */
import { abytes, equalBytes, shortKey } from './bytes.js'
import type { BlockTypes, Refusal, TypeContext } from './block-types.js'
import { allFraudVerifiers, createBlockTypes } from './block-types.js'
import type { CborValue } from './cbor.js'
import type { CryptoProvider } from './crypto-provider.js'
import { ConflictError, FraudError, HeadUnknownError, InvalidBlockError, RefusedError } from './errors.js'
import { describeFraudProof, verifyFraudProof, type FraudProof } from './fraud-proof.js'
import {
  GENESIS_HASH,
  UNILATERAL_KEY,
  blockHash,
  isAgreement,
  isProposal,
  isWellFormed,
  signBlock,
  verifyBlock,
  type HalfBlock,
} from './half-block.js'
import { isNewIdentity, type Identity } from './identity.js'
import { Overlay, type SignatureVerifier } from './ingest.js'
import { MISS, readCached, readNow, type BlockStore, type Cached, type ReadCached, type ReadNow, type StoreBatch } from './store.js'
import { validate, validateAtOnce, type ValidateOptions, type ValidationResult } from './validate.js'

/** A complete transaction: both halves. */
export interface Transaction {
  readonly proposal: HalfBlock
  readonly agreement: HalfBlock
}

/** Options of createAgent. */
export interface AgentOptions {
  /** The agent's key pair; its provider signs and verifies. */
  identity: Identity
  /** Where its chain and everything it learns are kept. */
  store: BlockStore
  /** Block-type rules and policies (default: none registered; such an agent refuses to countersign). */
  types?: BlockTypes
  /** Milliseconds since the epoch for new blocks (default Date.now). */
  clock?: () => number
  /**
   * Where the signatures of received blocks are checked (default: on this thread, inside
   * validate). With @tally/node's worker pool (`pool.verifyBlocks`) they are checked on the other
   * cores, before the append lock is taken, so that many transactions in flight overlap their
   * checks with this thread's signing and storing.
   */
  verifySignatures?: SignatureVerifier
  /**
   * How the agent knows its own chain's head before its first signature:
   * - a `HeadSource` (a node's peers): asked once, before the first signature of this agent
   *   object; blocks the store lacks are fetched, checked and stored first. When nobody answers,
   *   signing is refused with `HeadUnknownError` (and asked again at the next attempt);
   * - `'local'`: the store is the whole truth: the identity is brand new (its chain is empty
   *   everywhere), or this store is the chain's only copy and is never restored from a backup;
   * - default: the store when it holds blocks of this chain, or an identity that
   *   `generateIdentity()` just made; otherwise signing is refused with `HeadUnknownError`.
   */
  head?: HeadSource | 'local'
}

/** Where an agent learns its own chain's head: the peers or witnesses that hold copies of it. */
export interface HeadSource {
  /**
   * The highest block of `publicKey`'s chain that anyone asked holds (undefined when nobody holds
   * one). The agent checks that it is signed by `publicKey`, so a peer cannot make up a head.
   * @throws when nobody could be asked (no peer reachable): the head is then unknown
   */
  head(publicKey: Uint8Array): Promise<HalfBlock | undefined>
  /** Blocks of `publicKey`'s chain from seq `start` to `end` inclusive; may be partial, any order. */
  fetch(publicKey: Uint8Array, start: number, end: number): Promise<readonly HalfBlock[]>
}

/**
 * A payload, or a function that computes it under the agent's append lock from the chain's latest
 * block (a balance that must follow from the last one: nothing else is appended in between).
 */
export type PayloadSource = CborValue | ((latest: HalfBlock | undefined) => CborValue | Promise<CborValue>)

/** The protocol of one agent. */
export interface Agent {
  /** The agent's public key. */
  readonly publicKey: Uint8Array
  /** Its store. */
  readonly store: BlockStore
  /**
   * Propose a transaction to `counterparty`: a new block in this agent's chain, durable when returned.
   * @throws RefusedError when the counterparty is known to cheat
   */
  propose(counterparty: Uint8Array, type: string, payload: PayloadSource): Promise<HalfBlock>
  /**
   * Receive a proposal addressed to this agent: validate, apply the type's policy, append the
   * agreement. Idempotent: a proposal already agreed to returns the same agreement.
   * @throws InvalidBlockError, FraudError (the proof is stored first), RefusedError
   */
  agree(proposal: HalfBlock): Promise<HalfBlock>
  /**
   * Receive the agreement to one of this agent's proposals: validate and store it.
   * @throws InvalidBlockError, FraudError
   */
  complete(agreement: HalfBlock): Promise<Transaction>
  /**
   * Append a unilateral block (a reward claim), durable when returned.
   * @throws RefusedError for an unregistered type; InvalidBlockError when the type's rules reject
   *   it (nothing is signed); HeadUnknownError while the chain's head is unknown
   */
  append(type: string, payload: PayloadSource): Promise<HalfBlock>
  /**
   * Ingest a block learnt from anyone (gossip, a crawl): validate, store it unless invalid, store
   * any fraud proof it produced. Returns the validation result; never throws on a bad block.
   */
  receive(block: HalfBlock): Promise<ValidationResult>
  /** Store a fraud proof learnt elsewhere (the caller has verified it). */
  addFraudProof(proof: FraudProof): Promise<void>
  /** True iff this agent holds a fraud proof against `publicKey` and so refuses it. */
  refuses(publicKey: Uint8Array): Promise<boolean>
  /**
   * Learn the chain's head now (from the `head` option's source) and recover missing blocks;
   * otherwise this happens before the first signature.
   * @returns the head's seq (0 for an empty chain)
   * @throws HeadUnknownError when it cannot be known
   */
  recover(): Promise<number>
}

/**
 * An agent running the protocol for `identity` over `store`.
 * @param options identity, store, block types, clock
 * @returns the agent
 * @example
 * const alice = createAgent({ identity: generateIdentity(), store: createMemoryStore(), types })
 * const p = await alice.propose(bob.publicKey, 'note', 'hello')
 * const a = await bob.agree(p)
 * await alice.complete(a)
 */
export function createAgent(options: AgentOptions): Agent {
  return new ProtocolAgent(options)
}

const UNSIGNED = new Uint8Array(64)
/**
 * A read of `store` answered at once when it can be (a ReadNow store, or a ReadCached one whose
 * cache holds it), else the store's own read: no promise per signed block on a memory store.
 */
function readAtOnce<T>(store: BlockStore, now: (r: ReadNow) => T, cached: (r: ReadCached) => Cached<T>, read: (s: BlockStore) => Promise<T>): T | Promise<T> {
  const reads = readNow(store)
  if (reads !== undefined) return now(reads)
  const cache = readCached(store)
  const hit = cache === undefined ? MISS : cached(cache)
  return hit === MISS ? read(store) : hit
}

/** The block of a locked step, after its durability. */
function blockOnceDurable({ block, durable }: { block: HalfBlock; durable: Promise<void> }): HalfBlock | Promise<HalfBlock> {
  return durable === DURABLE ? block : durable.then(() => block)
}

/** The durability of a commit awaited whole: nothing more to wait for. */
const DURABLE: Promise<void> = Promise.resolve()

class ProtocolAgent implements Agent {
  readonly publicKey: Uint8Array
  readonly store: BlockStore
  readonly #identity: Identity
  readonly #crypto: CryptoProvider
  readonly #types: BlockTypes
  readonly #clock: () => number
  readonly #verifySignatures: SignatureVerifier | undefined
  readonly #head: HeadSource | 'local' | undefined
  #headKnown = false
  #tail: Promise<unknown> = Promise.resolve()
  /**
   * Blocks committed by this agent that are in the store's write order but not durable yet, over
   * the store (undefined when there are none): what it reads and checks before signing.
   */
  #pending: Overlay | undefined
  /** The durability of the last commit this agent ordered: every earlier one is durable when it is. */
  #lastDurable: Promise<void> = Promise.resolve()
  /** A commit that failed to become durable: blocks signed on it may be on the disk, never handed out. Nothing more is signed. */
  #lost: { error: unknown } | undefined

  constructor(options: AgentOptions) {
    if (options?.identity === undefined) throw new TypeError('"identity" is required')
    if (options.store === undefined) throw new TypeError('"store" is required')
    this.#identity = options.identity
    this.#crypto = options.identity.crypto
    this.publicKey = options.identity.publicKey
    this.store = options.store
    this.#types = options.types ?? createBlockTypes()
    this.#clock = options.clock ?? Date.now
    this.#verifySignatures = options.verifySignatures
    const head = options.head
    if (head !== undefined && head !== 'local' && (typeof head?.head !== 'function' || typeof head.fetch !== 'function')) {
      throw new TypeError('"head" expected \'local\' or a HeadSource with head() and fetch()')
    }
    this.#head = head
  }

  async propose(counterparty: Uint8Array, type: string, payload: PayloadSource): Promise<HalfBlock> {
    abytes('counterparty', counterparty, 32)
    if (equalBytes(counterparty, this.publicKey)) throw new RangeError('"counterparty" is this agent: a block may not link to its own chain')
    this.#registered(type)
    if (await this.store.hasFraud(counterparty)) throw new RefusedError(`${shortKey(counterparty)} is a proven cheater`, { reason: 'cheater' })
    return this.#durable(
      this.#serialized(async () => {
        const block = await this.#next(counterparty, 0, type, payload, undefined)
        return { block, ...(await this.#commitOwn(this.store.batch().put(block), [block])) }
      }),
    )
  }

  async agree(proposal: HalfBlock): Promise<HalfBlock> {
    if (!isProposal(proposal) || !equalBytes(proposal.linkPublicKey, this.publicKey)) {
      throw new RangeError('"proposal" is not a proposal addressed to this agent')
    }
    if (await this.store.hasFraud(proposal.publicKey)) throw new RefusedError(`${shortKey(proposal.publicKey)} is a proven cheater`)
    const type = this.#types.get(proposal.type)
    if (type === undefined) throw new RefusedError(`no rules for block type "${proposal.type}"`)
    // the signature needs no store: check it before taking the lock, so checks overlap appends
    const signatureValid = await this.#signatureValid(proposal)
    return this.#durable(
      this.#serialized(async () => {
        // idempotent: a resent proposal gets the agreement already signed, never a second one
        // (one still waiting for its sync is found in the view, and handed out once durable)
        const reads = this.#reads()
        const [key, seq, me] = [proposal.publicKey, proposal.seq, this.publicKey]
        let earlier = readAtOnce(reads, (r) => r.agreementNow(key, seq, me), (c) => c.agreementCached(key, seq, me), (s) => s.findAgreement(key, seq, me))
        if (earlier instanceof Promise) earlier = await earlier
        if (earlier !== undefined) {
          const known = await reads.get(proposal.publicKey, proposal.seq)
          if (known !== undefined && equalBytes(blockHash(known, this.#crypto), blockHash(proposal, this.#crypto))) return { block: earlier, durable: this.#lastDurable }
        }
        await this.#check(proposal, signatureValid)
        const ctx: TypeContext = { store: this.#reads(), crypto: this.#crypto, previous: undefined, linked: undefined }
        const verdict = type.shouldSign === undefined ? true : await type.shouldSign(proposal, ctx)
        if (verdict !== true) await this.#decline(proposal, verdict)
        const payload = type.agreementPayload !== undefined ? await type.agreementPayload(proposal, ctx) : proposal.payload
        const agreement = await this.#next(proposal.publicKey, proposal.seq, proposal.type, payload, proposal)
        return { block: agreement, ...(await this.#commitOwn(this.store.batch().put(proposal).put(agreement), [proposal, agreement])) }
      }),
    )
  }

  async complete(agreement: HalfBlock): Promise<Transaction> {
    if (!isAgreement(agreement) || !equalBytes(agreement.linkPublicKey, this.publicKey)) {
      throw new RangeError('"agreement" does not answer a proposal of this agent')
    }
    const [me, seq] = [this.publicKey, agreement.linkSeq]
    let proposal = readAtOnce(this.store, (r) => r.getNow(me, seq), (c) => c.getCached(me, seq), (s) => s.get(me, seq))
    if (proposal instanceof Promise) proposal = await proposal
    if (proposal === undefined || !equalBytes(proposal.linkPublicKey, agreement.publicKey)) {
      throw new RangeError(`"agreement" answers seq ${agreement.linkSeq}, which is not a proposal of this agent to its signer`)
    }
    await this.#check(agreement, await this.#signatureValid(agreement))
    await this.store.batch().put(agreement).commit()
    return { proposal, agreement }
  }

  async append(type: string, payload: PayloadSource): Promise<HalfBlock> {
    this.#registered(type)
    return this.#durable(
      this.#serialized(async () => {
        const block = await this.#next(UNILATERAL_KEY, 0, type, payload, undefined)
        return { block, ...(await this.#commitOwn(this.store.batch().put(block), [block])) }
      }),
    )
  }

  async receive(block: HalfBlock): Promise<ValidationResult> {
    // Two conflicting blocks received at once (a fork relayed by two peers) both validate against a
    // store holding neither; the second commit then fails with ConflictError. Validate it again: now
    // against the block that won, which turns the conflict into a fraud proof instead of losing it.
    const signatureValid = await this.#signatureValid(block)
    for (let attempt = 1; ; attempt++) {
      const result = await validate(block, this.#validateOptions(signatureValid))
      const batch = this.store.batch()
      for (const proof of result.fraud) batch.putFraudProof(proof)
      if (result.level !== 'invalid') batch.put(block)
      try {
        await batch.commit()
        return result
      } catch (err) {
        if (!(err instanceof ConflictError) || attempt >= 3) throw err
      }
    }
  }

  async addFraudProof(proof: FraudProof): Promise<void> {
    await this.store.batch().putFraudProof(proof).commit()
  }

  async refuses(publicKey: Uint8Array): Promise<boolean> {
    abytes('publicKey', publicKey, 32)
    return this.store.hasFraud(publicKey)
  }

  async recover(): Promise<number> {
    return this.#serialized(async () => {
      await this.#knowHead()
      return (await this.store.latest(this.publicKey))?.seq ?? 0
    })
  }

  /** Refuse a block type without rules: nobody would countersign or accept it. */
  #registered(type: string): void {
    if (typeof type !== 'string') throw new TypeError('"type" expected string')
    if (this.#types.get(type) === undefined) throw new RefusedError(`no rules for block type "${type}": register it with createBlockTypes`, { reason: 'unknown-type' })
  }

  /** Make sure the chain's head is known before signing (call inside #serialized). */
  async #knowHead(): Promise<void> {
    if (this.#headKnown) return
    const head = this.#head
    if (head === 'local') {
      this.#headKnown = true
      return
    }
    const local = (await this.store.latest(this.publicKey))?.seq ?? 0
    if (head === undefined) {
      if (local === 0 && !isNewIdentity(this.#identity)) {
        throw new HeadUnknownError(
          `the store holds no block of ${shortKey(this.publicKey)} and the identity was not just generated: ` +
            "its chain may exist elsewhere (a restored seed). Give the agent a head source (its node's peers) to recover it, or head: 'local' for a brand-new identity",
        )
      }
      this.#headKnown = true
      return
    }
    let top: HalfBlock | undefined
    try {
      top = await head.head(this.publicKey)
    } catch (err) {
      throw new HeadUnknownError(`nobody could tell the head of ${shortKey(this.publicKey)}'s chain: ${(err as Error)?.message ?? err}`, { cause: err })
    }
    if (top !== undefined) {
      // only a block this identity signed can say where its chain is
      if (!isWellFormed(top) || !equalBytes(top.publicKey, this.publicKey) || !verifyBlock(top, this.#crypto)) {
        throw new HeadUnknownError(`the head offered for ${shortKey(this.publicKey)}'s chain is not a block it signed`)
      }
      if (top.seq > local) await this.#recoverBlocks(head, local, top)
    }
    this.#headKnown = true
  }

  /** Fetch, check and store the blocks of this chain from seq `local + 1` to `remote`. */
  async #recoverBlocks(source: HeadSource, local: number, top: HalfBlock): Promise<void> {
    const end = top.seq
    const got = end - 1 > local ? [...(await source.fetch(this.publicKey, local + 1, end - 1)), top] : [top]
    const bySeq = new Map<number, HalfBlock>()
    for (const block of got) {
      if (isWellFormed(block) && equalBytes(block.publicKey, this.publicKey) && block.seq > local && block.seq <= end) bySeq.set(block.seq, block)
    }
    for (let seq = local + 1; seq <= end; seq++) {
      const block = bySeq.get(seq)
      if (block === undefined) throw new HeadUnknownError(`recovery of ${shortKey(this.publicKey)}'s chain got no block at seq ${seq} of ${end}`)
      const result = await validate(block, this.#validateOptions(undefined))
      if (result.level === 'invalid' || result.fraud.length > 0) {
        throw new HeadUnknownError(`recovery of ${shortKey(this.publicKey)}'s chain got an invalid block at seq ${seq}: ${result.errors.map((e) => e.rule).join(', ')}`)
      }
      await this.store.batch().put(block).commit()
    }
  }

  /**
   * The block's signature checked by the configured verifier, or undefined when there is none
   * (validate then checks it) or the block is malformed (validate reports that first).
   */
  async #signatureValid(block: HalfBlock): Promise<boolean | undefined> {
    if (this.#verifySignatures === undefined || !isWellFormed(block)) return undefined
    const [valid] = await this.#verifySignatures([block])
    return valid === true
  }

  #validateOptions(signatureValid: boolean | undefined, store: BlockStore = this.store): ValidateOptions {
    const options: ValidateOptions = { store, crypto: this.#crypto, types: this.#types }
    if (signatureValid !== undefined) options.signatureValid = signatureValid
    return options
  }

  /** Throw the refusal a type's policy gave; store its proof of fraud first, once verified. */
  async #decline(proposal: HalfBlock, verdict: false | Refusal): Promise<never> {
    if (verdict === false) throw new RefusedError(`policy for "${proposal.type}" declined the proposal`, { reason: 'declined' })
    const proof = verdict.fraud
    if (proof !== undefined && equalBytes(proof.publicKey, proposal.publicKey) && verifyFraudProof(proof, { crypto: this.#crypto, verifiers: await allFraudVerifiers(this.#types) }).ok) {
      await this.store.batch().putFraudProof(proof).commit()
      throw new FraudError(`fraud by ${shortKey(proposal.publicKey)}: ${describeFraudProof(proof)}`, proof)
    }
    throw new RefusedError(`policy for "${proposal.type}" declined the proposal: ${verdict.message}`, { reason: verdict.reason })
  }

  /** Validate a counterparty's block; store and throw on fraud, throw on invalid. */
  async #check(block: HalfBlock, signatureValid: boolean | undefined): Promise<ValidationResult> {
    // a store read at once is validated without a promise (unless the type's rules make one);
    // the agent's own blocks not durable yet are part of what the block is checked against
    let result = validateAtOnce(block, this.#validateOptions(signatureValid, this.#reads()))
    if (result instanceof Promise) result = await result
    if (result.fraud.length > 0) {
      const batch = this.store.batch()
      for (const proof of result.fraud) batch.putFraudProof(proof)
      await batch.commit()
      throw new FraudError(`fraud by ${shortKey(block.publicKey)}: ${describeFraudProof(result.fraud[0]!)}`, result.fraud[0])
    }
    if (result.level === 'invalid') throw new InvalidBlockError(`invalid ${block.type} block from ${shortKey(block.publicKey)}`, result.errors)
    return result
  }

  /**
   * Sign the next block of this agent's chain (call inside #serialized): know the head, compute
   * the payload, check the block by its type's rules, and only then sign it.
   */
  async #next(linkPublicKey: Uint8Array, linkSeq: number, type: string, source: PayloadSource, linked: HalfBlock | undefined): Promise<HalfBlock> {
    if (this.#lost !== undefined) throw this.#lost.error
    if (!this.#headKnown) await this.#knowHead()
    // a memory store answers at once: no promise per signed block for the head (its highest seq
    // from 1, as range({ reverse: true, limit: 1 }); this chain has no block below 1). The head
    // may be a block of this agent still waiting for its sync (in the view)
    const reads = this.#reads()
    const me = this.publicKey
    let latest = readAtOnce(reads, (r) => r.beforeNow(me, Infinity), (c) => c.beforeCached(me, Infinity), (s) => s.latest(me))
    if (latest instanceof Promise) latest = await latest
    const payload = typeof source === 'function' ? await source(latest) : source
    const fields = {
      publicKey: this.publicKey,
      seq: (latest?.seq ?? 0) + 1,
      linkPublicKey,
      linkSeq,
      previousHash: latest === undefined ? GENESIS_HASH : blockHash(latest, this.#crypto),
      type,
      payload,
      timestamp: this.#clock(),
    }
    const rules = this.#types.get(type)
    if (rules?.validate !== undefined) {
      // the block as it will be, but for the signature its rules never read
      // (written out: a spread of `fields` cost 1.2 us a block, more than the rules it feeds)
      const draft: HalfBlock = Object.freeze({
        publicKey: fields.publicKey,
        seq: fields.seq,
        linkPublicKey,
        linkSeq,
        previousHash: fields.previousHash,
        type,
        payload,
        timestamp: fields.timestamp,
        signature: UNSIGNED,
      })
      // awaited only when the rules answer with a promise: an await per signed block was a
      // microtask turn and a promise for rules that answer at once (most of them)
      let verdict = rules.validate(draft, { store: reads, crypto: this.#crypto, previous: latest, linked })
      if (verdict instanceof Promise) verdict = await verdict
      if (verdict.errors.length > 0 || verdict.fraud !== undefined) {
        const errors = verdict.errors.length > 0 ? verdict.errors : [{ rule: 'type-fraud', message: `the ${type} rules found fraud: ${verdict.fraud!.kind}` }]
        throw new InvalidBlockError(`refused to sign a ${type} block that its own rules reject`, errors)
      }
    }
    return signBlock(fields, this.#identity, this.#crypto)
  }

  /** The store as this agent reads it before signing: with its own blocks not durable yet. */
  #reads(): BlockStore {
    return this.#pending ?? this.store
  }

  /**
   * Commit this agent's new block (call inside #serialized, after signing): returns once the
   * batch is in the store's write order, with the promise of its durability. Until then its
   * blocks are in the view (#reads), so the next block is signed on top of it; a store without
   * `commitOrdered` is awaited whole.
   */
  async #commitOwn(batch: StoreBatch, blocks: readonly HalfBlock[]): Promise<{ durable: Promise<void> }> {
    if (batch.commitOrdered === undefined) {
      await batch.commit()
      return { durable: DURABLE }
    }
    const { ordered, durable } = batch.commitOrdered()
    await ordered
    const view = (this.#pending ??= new Overlay(this.store, this.#crypto, false))
    for (const block of blocks) view.addBlock(block)
    const settled = durable.then(
      () => this.#forget(view, blocks),
      (err: unknown) => {
        // blocks on top of it may be written; they fail too (in order), and nothing more is signed
        this.#lost ??= { error: err }
        this.#forget(view, blocks)
        throw err
      },
    )
    settled.catch(() => undefined) // the caller awaits it; a later commit reports the loss again
    this.#lastDurable = settled
    return { durable: settled }
  }

  /** Blocks now durable (or lost): the store answers for them. */
  #forget(view: Overlay, blocks: readonly HalfBlock[]): void {
    for (const block of blocks) view.removeBlock(block)
    if (view.size === 0 && this.#pending === view) this.#pending = undefined
  }

  /** The block of a locked step, once durable: nothing is handed out before. */
  #durable(step: Promise<{ block: HalfBlock; durable: Promise<void> }>): Promise<HalfBlock> {
    // one reaction, not an async frame, on the path of a store without commitOrdered (memory)
    return step.then(blockOnceDurable)
  }

  /** Run `fn` after every earlier append finished: one append at a time. */
  #serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn)
    this.#tail = run.catch(() => undefined)
    return run
  }
}
