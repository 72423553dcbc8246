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
import type { BlockType, BlockTypes, Refusal, TypeContext } from './block-types.js'
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
import { MISS, readCached, readNow, writeNow, type BlockStore, type StoreBatch } from './store.js'
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
/** No fraud proofs (what an agent commits with its own blocks). */
const NO_PROOFS: readonly FraudProof[] = Object.freeze([])

// Reads of a store answered at once when they can be (a ReadNow store, or a ReadCached one whose
// cache holds the answer), else by the store's own read: on a memory store a transaction then
// makes no promise for them. (One function a read, not one taking closures: a closure per read
// was allocated per transaction.)

/** The highest block of `publicKey`'s chain. */
function latestAtOnce(store: BlockStore, publicKey: Uint8Array): HalfBlock | undefined | Promise<HalfBlock | undefined> {
  // the highest seq from 1, as range({ reverse: true, limit: 1 }): a chain has no block below 1
  const now = readNow(store)
  if (now !== undefined) return now.beforeNow(publicKey, Infinity)
  const hit = readCached(store)?.beforeCached(publicKey, Infinity) ?? MISS
  return hit === MISS ? store.latest(publicKey) : hit
}

/** The block at (publicKey, seq). */
function getAtOnce(store: BlockStore, publicKey: Uint8Array, seq: number): HalfBlock | undefined | Promise<HalfBlock | undefined> {
  const now = readNow(store)
  if (now !== undefined) return now.getNow(publicKey, seq)
  const hit = readCached(store)?.getCached(publicKey, seq) ?? MISS
  return hit === MISS ? store.get(publicKey, seq) : hit
}

/** As BlockStore.findAgreement. */
function agreementAtOnce(store: BlockStore, proposalKey: Uint8Array, proposalSeq: number, signer: Uint8Array): HalfBlock | undefined | Promise<HalfBlock | undefined> {
  const now = readNow(store)
  if (now !== undefined) return now.agreementNow(proposalKey, proposalSeq, signer)
  const hit = readCached(store)?.agreementCached(proposalKey, proposalSeq, signer) ?? MISS
  return hit === MISS ? store.findAgreement(proposalKey, proposalSeq, signer) : hit
}

/** As BlockStore.hasFraud. */
function hasFraudAtOnce(store: BlockStore, publicKey: Uint8Array): boolean | Promise<boolean> {
  const now = readNow(store)
  return now !== undefined ? now.fraudProofsNow(publicKey).length > 0 : store.hasFraud(publicKey)
}

/** `next(value)` at once when `value` is not a promise, else once it resolves: no promise for what is known now. */
function then<T, U>(value: T | Promise<T>, next: (value: T) => U | Promise<U>): U | Promise<U> {
  return value instanceof Promise ? value.then(next) : next(value)
}

/** True iff `x` has a `then` method: what a type's rules or a payload function may answer with. */
function isThenable<T>(x: T | PromiseLike<T>): x is PromiseLike<T> {
  return typeof (x as { then?: unknown } | null)?.then === 'function'
}


/** A block committed in the store's write order whose sync is still running: handed out once `durable` resolves. */
class Ordered {
  constructor(
    readonly block: HalfBlock,
    readonly durable: Promise<void>,
  ) {}
}

/** What a locked step gives: its block, durable now, or an Ordered one. */
type Stepped = HalfBlock | Ordered

/** The block of a locked step, once durable. */
function handOut(stepped: Stepped): HalfBlock | Promise<HalfBlock> {
  return stepped instanceof Ordered ? stepped.durable.then(() => stepped.block) : stepped
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
  /** A step holds the append lock (see #serialized). */
  #locked = false
  /** Steps waiting for the lock, in order: each runs its step, and says whether it went on asynchronously. */
  readonly #waiting: (() => boolean)[] = []
  /**
   * Blocks committed by this agent that are in the store's write order but not durable yet, over
   * the store (undefined when there are none): what it reads and checks before signing.
   */
  #pending: Overlay | undefined
  /** The durability of the last commit this agent ordered: every earlier one is durable when it is. */
  #lastDurable: Promise<void> = DURABLE
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
    let cheater = hasFraudAtOnce(this.store, counterparty)
    if (cheater instanceof Promise) cheater = await cheater
    if (cheater) throw new RefusedError(`${shortKey(counterparty)} is a proven cheater`, { reason: 'cheater' })
    // on a memory store the whole step runs now: this function's promise is the only one
    let block = this.#serialized(() => then(this.#next(counterparty, 0, type, payload, undefined), (block) => this.#commitOwn(undefined, block)))
    if (block instanceof Promise) block = await block
    return handOut(block)
  }

  async agree(proposal: HalfBlock): Promise<HalfBlock> {
    if (!isProposal(proposal) || !equalBytes(proposal.linkPublicKey, this.publicKey)) {
      throw new RangeError('"proposal" is not a proposal addressed to this agent')
    }
    let cheater = hasFraudAtOnce(this.store, proposal.publicKey)
    if (cheater instanceof Promise) cheater = await cheater
    if (cheater) throw new RefusedError(`${shortKey(proposal.publicKey)} is a proven cheater`)
    const type = this.#types.get(proposal.type)
    if (type === undefined) throw new RefusedError(`no rules for block type "${proposal.type}"`)
    // the signature needs no store: check it before taking the lock, so checks overlap appends
    const flags = this.#verified(proposal)
    const valid = flags === undefined ? undefined : (await flags)[0] === true
    let agreement = this.#serialized(() => this.#countersign(proposal, type, valid))
    if (agreement instanceof Promise) agreement = await agreement
    return handOut(agreement)
  }

  async complete(agreement: HalfBlock): Promise<Transaction> {
    if (!isAgreement(agreement) || !equalBytes(agreement.linkPublicKey, this.publicKey)) {
      throw new RangeError('"agreement" does not answer a proposal of this agent')
    }
    let proposal = getAtOnce(this.store, this.publicKey, agreement.linkSeq)
    if (proposal instanceof Promise) proposal = await proposal
    if (proposal === undefined || !equalBytes(proposal.linkPublicKey, agreement.publicKey)) {
      throw new RangeError(`"agreement" answers seq ${agreement.linkSeq}, which is not a proposal of this agent to its signer`)
    }
    const flags = this.#verified(agreement)
    const checked = this.#check(agreement, flags === undefined ? undefined : (await flags)[0] === true)
    if (checked instanceof Promise) await checked
    const now = writeNow(this.store)
    if (now !== undefined) now.commitNow([agreement], NO_PROOFS)
    else await this.store.batch().put(agreement).commit()
    return { proposal, agreement }
  }

  async append(type: string, payload: PayloadSource): Promise<HalfBlock> {
    this.#registered(type)
    let block = this.#serialized(() => then(this.#next(UNILATERAL_KEY, 0, type, payload, undefined), (block) => this.#commitOwn(undefined, block)))
    if (block instanceof Promise) block = await block
    return handOut(block)
  }

  async receive(block: HalfBlock): Promise<ValidationResult> {
    // Two conflicting blocks received at once (a fork relayed by two peers) both validate against a
    // store holding neither; the second commit then fails with ConflictError. Validate it again: now
    // against the block that won, which turns the conflict into a fraud proof instead of losing it.
    const flags = this.#verified(block)
    const signatureValid = flags === undefined ? undefined : (await flags)[0] === true
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
      if (!isWellFormed(top) || !equalBytes(top.publicKey, this.publicKey) || !(await this.#signed(top))) {
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
    // with a configured verifier, the signatures of the whole range at once (a restored chain)
    const signed = new Map<HalfBlock, boolean>()
    if (this.#verifySignatures !== undefined && bySeq.size > 0) {
      const blocks = [...bySeq.values()]
      const verdicts = await this.#verifySignatures(blocks)
      for (const [i, block] of blocks.entries()) signed.set(block, verdicts[i] === true)
    }
    for (let seq = local + 1; seq <= end; seq++) {
      const block = bySeq.get(seq)
      if (block === undefined) throw new HeadUnknownError(`recovery of ${shortKey(this.publicKey)}'s chain got no block at seq ${seq} of ${end}`)
      const result = await validate(block, this.#validateOptions(signed.get(block)))
      if (result.level === 'invalid' || result.fraud.length > 0) {
        throw new HeadUnknownError(`recovery of ${shortKey(this.publicKey)}'s chain got an invalid block at seq ${seq}: ${result.errors.map((e) => e.rule).join(', ')}`)
      }
      await this.store.batch().put(block).commit()
    }
  }

  /**
   * The block's signature checked by the configured verifier (its first flag), or undefined when
   * there is none (validate then checks it) or the block is malformed (validate reports that first).
   */
  #verified(block: HalfBlock): Promise<readonly boolean[]> | undefined {
    if (this.#verifySignatures === undefined || !isWellFormed(block)) return undefined
    return this.#verifySignatures([block])
  }

  /** Whether a well-formed block's signature verifies: through the configured verifier, else here. */
  async #signed(block: HalfBlock): Promise<boolean> {
    const flags = this.#verified(block)
    return flags === undefined ? verifyBlock(block, this.#crypto) : (await flags)[0] === true
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

  /**
   * The agreement to `proposal` (call inside #serialized): the one signed already when the same
   * proposal comes again, else a new one once the proposal is checked and the type's policy
   * agrees. At once on a memory store with rules that answer at once.
   */
  #countersign(proposal: HalfBlock, type: BlockType, signatureValid: boolean | undefined): Stepped | Promise<Stepped> {
    // idempotent: a resent proposal gets the agreement already signed, never a second one
    // (one still waiting for its sync is found in the view, and handed out once durable)
    const reads = this.#reads()
    return then(agreementAtOnce(reads, proposal.publicKey, proposal.seq, this.publicKey), (earlier) => {
      if (earlier !== undefined) return this.#agreedBefore(proposal, earlier, type, signatureValid)
      return then(this.#check(proposal, signatureValid), () => this.#agreeChecked(proposal, type))
    })
  }

  /** A proposal that has an agreement of this agent: the same one again, or (another block at its place) checked and refused. */
  async #agreedBefore(proposal: HalfBlock, earlier: HalfBlock, type: BlockType, signatureValid: boolean | undefined): Promise<Stepped> {
    const known = await this.#reads().get(proposal.publicKey, proposal.seq)
    if (known !== undefined && equalBytes(blockHash(known, this.#crypto), blockHash(proposal, this.#crypto))) {
      return this.#lastDurable === DURABLE ? earlier : new Ordered(earlier, this.#lastDurable)
    }
    await this.#check(proposal, signatureValid)
    return this.#agreeChecked(proposal, type)
  }

  /** Apply the type's policy to a checked proposal, then sign and commit the agreement. */
  #agreeChecked(proposal: HalfBlock, type: BlockType): Stepped | Promise<Stepped> {
    // (the context only for the rules that take one)
    const ctx: TypeContext | undefined =
      type.shouldSign === undefined && type.agreementPayload === undefined ? undefined : { store: this.#reads(), crypto: this.#crypto, previous: undefined, linked: undefined }
    const verdict = type.shouldSign === undefined ? true : type.shouldSign(proposal, ctx!)
    const sign = (verdict: boolean | Refusal): Stepped | Promise<Stepped> => {
      if (verdict !== true) return this.#decline(proposal, verdict)
      const payload = type.agreementPayload === undefined ? proposal.payload : type.agreementPayload(proposal, ctx!)
      const agreement = isThenable(payload)
        ? Promise.resolve(payload).then((payload) => this.#next(proposal.publicKey, proposal.seq, proposal.type, payload, proposal))
        : this.#next(proposal.publicKey, proposal.seq, proposal.type, payload, proposal)
      return then(agreement, (agreement) => this.#commitOwn(proposal, agreement))
    }
    return isThenable(verdict) ? Promise.resolve(verdict).then(sign) : sign(verdict)
  }

  /**
   * Validate a counterparty's block; store and throw on fraud, throw on invalid. At once when the
   * store answers at once (a store read at once is validated without a promise, unless the type's
   * rules make one); the agent's own blocks not durable yet are part of what it is checked against.
   */
  #check(block: HalfBlock, signatureValid: boolean | undefined): ValidationResult | Promise<ValidationResult> {
    return then(validateAtOnce(block, this.#validateOptions(signatureValid, this.#reads())), (result) => this.#judged(block, result))
  }

  /** The result of a check, or its fraud proofs stored and a FraudError, or an InvalidBlockError. */
  #judged(block: HalfBlock, result: ValidationResult): ValidationResult | Promise<never> {
    if (result.fraud.length > 0) return this.#fraudFound(block, result)
    if (result.level === 'invalid') throw new InvalidBlockError(`invalid ${block.type} block from ${shortKey(block.publicKey)}`, result.errors)
    return result
  }

  async #fraudFound(block: HalfBlock, result: ValidationResult): Promise<never> {
    const batch = this.store.batch()
    for (const proof of result.fraud) batch.putFraudProof(proof)
    await batch.commit()
    throw new FraudError(`fraud by ${shortKey(block.publicKey)}: ${describeFraudProof(result.fraud[0]!)}`, result.fraud[0])
  }

  /**
   * Sign the next block of this agent's chain (call inside #serialized): know the head, compute
   * the payload, check the block by its type's rules, and only then sign it. At once on a memory
   * store with a key, rules and payload that answer at once.
   */
  #next(linkPublicKey: Uint8Array, linkSeq: number, type: string, source: PayloadSource, linked: HalfBlock | undefined): HalfBlock | Promise<HalfBlock> {
    if (this.#lost !== undefined) throw this.#lost.error
    if (!this.#headKnown) return this.#knowHead().then(() => this.#next(linkPublicKey, linkSeq, type, source, linked))
    // the head may be a block of this agent still waiting for its sync (in the view)
    const reads = this.#reads()
    return then(latestAtOnce(reads, this.publicKey), (latest) => {
      if (typeof source !== 'function') return this.#signNext(reads, latest, linkPublicKey, linkSeq, type, source, linked)
      const payload = source(latest)
      return isThenable(payload)
        ? Promise.resolve(payload).then((payload) => this.#signNext(reads, latest, linkPublicKey, linkSeq, type, payload, linked))
        : this.#signNext(reads, latest, linkPublicKey, linkSeq, type, payload, linked)
    })
  }

  /** The next block on `latest`, checked by its type's rules, then signed. */
  #signNext(
    reads: BlockStore,
    latest: HalfBlock | undefined,
    linkPublicKey: Uint8Array,
    linkSeq: number,
    type: string,
    payload: CborValue,
    linked: HalfBlock | undefined,
  ): HalfBlock | Promise<HalfBlock> {
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
    if (rules?.validate === undefined) return signBlock(fields, this.#identity, this.#crypto)
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
    return then(rules.validate(draft, { store: reads, crypto: this.#crypto, previous: latest, linked }), (verdict) => {
      if (verdict.errors.length > 0 || verdict.fraud !== undefined) {
        const errors = verdict.errors.length > 0 ? verdict.errors : [{ rule: 'type-fraud', message: `the ${type} rules found fraud: ${verdict.fraud!.kind}` }]
        throw new InvalidBlockError(`refused to sign a ${type} block that its own rules reject`, errors)
      }
      return signBlock(fields, this.#identity, this.#crypto)
    })
  }

  /** The store as this agent reads it before signing: with its own blocks not durable yet. */
  #reads(): BlockStore {
    return this.#pending ?? this.store
  }

  /**
   * Commit this agent's new block, after `first` when given (the proposal it agrees to), in one
   * batch (call inside #serialized, after signing). A store that commits at once (memory) gives the
   * block at once. A store with `commitOrdered` gives it as Ordered once the batch is in the
   * store's write order: until it is durable its blocks are in the view (#reads), so the next block
   * is signed on top of it. Any other store's commit is awaited whole.
   */
  #commitOwn(first: HalfBlock | undefined, block: HalfBlock): Stepped | Promise<Stepped> {
    const blocks = first === undefined ? [block] : [first, block]
    const now = writeNow(this.store)
    if (now !== undefined) {
      now.commitNow(blocks, NO_PROOFS)
      return block
    }
    const batch = this.store.batch()
    for (const b of blocks) batch.put(b)
    if (batch.commitOrdered === undefined) return batch.commit().then(() => block)
    return this.#commitOrdered(batch, blocks, block)
  }

  async #commitOrdered(batch: StoreBatch, blocks: readonly HalfBlock[], block: HalfBlock): Promise<Ordered> {
    const { ordered, durable } = batch.commitOrdered!()
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
    return new Ordered(block, settled)
  }

  /** Blocks now durable (or lost): the store answers for them. */
  #forget(view: Overlay, blocks: readonly HalfBlock[]): void {
    for (const block of blocks) view.removeBlock(block)
    if (view.size === 0 && this.#pending === view) this.#pending = undefined
  }

  /**
   * Run `step` after every earlier step finished: one append at a time. When the lock is free the
   * step runs now, and one that finishes in this turn (a memory store) costs no promise; a step
   * that goes on asynchronously holds the lock until it settles. A call made while a step runs
   * (from a type's rules, say) waits behind it.
   * @returns the step's outcome, or a promise of it
   * @throws what the step throws at once (callers are async functions: it becomes their rejection)
   */
  #serialized<T>(step: () => T | Promise<T>): T | Promise<T> {
    if (this.#locked) return new Promise<T>((resolve, reject) => this.#waiting.push(() => this.#runWaiting(step, resolve, reject)))
    this.#locked = true
    let out: T | Promise<T>
    try {
      out = step()
    } catch (err) {
      this.#unlock()
      throw err
    }
    if (!(out instanceof Promise)) {
      this.#unlock()
      return out
    }
    return out.then(
      (value) => {
        this.#unlock()
        return value
      },
      (err: unknown) => {
        this.#unlock()
        throw err
      },
    )
  }

  /** A step that waited for the lock, run now; true when it goes on asynchronously (it unlocks when it settles). */
  #runWaiting<T>(step: () => T | Promise<T>, resolve: (value: T) => void, reject: (err: unknown) => void): boolean {
    let out: T | Promise<T>
    try {
      out = step()
    } catch (err) {
      reject(err)
      return false
    }
    if (!(out instanceof Promise)) {
      resolve(out)
      return false
    }
    out.then(
      (value) => {
        resolve(value)
        this.#unlock()
      },
      (err: unknown) => {
        reject(err)
        this.#unlock()
      },
    )
    return true
  }

  /** The lock's step finished: the waiting steps run in order, as long as each finishes at once. */
  #unlock(): void {
    while (this.#waiting.length > 0) {
      if (this.#waiting.shift()!()) return
    }
    this.#locked = false
  }
}
