/**
 * The agent: the proposal/agreement protocol, independent of any transport.
 *
 * Two promises it keeps:
 * - appends to its own chain are serialized: two concurrent calls never produce two blocks at one
 *   seq (one lock around read-latest → sign → store);
 * - a block is durable in the store before it is handed out, and the next seq is read from the
 *   store, so a restart can never make an honest agent sign two blocks at one seq.
 * @module
 */
import { abytes, equalBytes, shortKey } from './bytes.js'
import type { BlockTypes, TypeContext } from './block-types.js'
import { createBlockTypes } from './block-types.js'
import type { CborValue } from './cbor.js'
import type { CryptoProvider } from './crypto-provider.js'
import { ConflictError, FraudError, InvalidBlockError, RefusedError } from './errors.js'
import { describeFraudProof, type FraudProof } from './fraud-proof.js'
import {
  GENESIS_HASH,
  UNILATERAL_KEY,
  blockHash,
  isAgreement,
  isProposal,
  isWellFormed,
  signBlock,
  type HalfBlock,
} from './half-block.js'
import type { Identity } from './identity.js'
import type { SignatureVerifier } from './ingest.js'
import type { BlockStore } from './store.js'
import { validate, type ValidateOptions, type ValidationResult } from './validate.js'

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
}

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
  propose(counterparty: Uint8Array, type: string, payload: CborValue): Promise<HalfBlock>
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
  /** Append a unilateral block (a reward claim), durable when returned. */
  append(type: string, payload: CborValue): Promise<HalfBlock>
  /**
   * Ingest a block learnt from anyone (gossip, a crawl): validate, store it unless invalid, store
   * any fraud proof it produced. Returns the validation result; never throws on a bad block.
   */
  receive(block: HalfBlock): Promise<ValidationResult>
  /** Store a fraud proof learnt elsewhere (the caller has verified it). */
  addFraudProof(proof: FraudProof): Promise<void>
  /** True iff this agent holds a fraud proof against `publicKey` and so refuses it. */
  refuses(publicKey: Uint8Array): Promise<boolean>
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

class ProtocolAgent implements Agent {
  readonly publicKey: Uint8Array
  readonly store: BlockStore
  readonly #identity: Identity
  readonly #crypto: CryptoProvider
  readonly #types: BlockTypes
  readonly #clock: () => number
  readonly #verifySignatures: SignatureVerifier | undefined
  #tail: Promise<unknown> = Promise.resolve()

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
  }

  async propose(counterparty: Uint8Array, type: string, payload: CborValue): Promise<HalfBlock> {
    abytes('counterparty', counterparty, 32)
    if (equalBytes(counterparty, this.publicKey)) throw new RangeError('"counterparty" is this agent: a block may not link to its own chain')
    if (await this.store.hasFraud(counterparty)) throw new RefusedError(`${shortKey(counterparty)} is a proven cheater`)
    return this.#serialized(async () => {
      const block = await this.#next(counterparty, 0, type, payload)
      await this.store.batch().put(block).commit()
      return block
    })
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
    return this.#serialized(async () => {
      // idempotent: a resent proposal gets the agreement already signed, never a second one
      const earlier = await this.store.findAgreement(proposal.publicKey, proposal.seq, this.publicKey)
      if (earlier !== undefined) {
        const known = await this.store.get(proposal.publicKey, proposal.seq)
        if (known !== undefined && equalBytes(blockHash(known, this.#crypto), blockHash(proposal, this.#crypto))) return earlier
      }
      await this.#check(proposal, signatureValid)
      const ctx: TypeContext = { store: this.store, crypto: this.#crypto, previous: undefined, linked: undefined }
      if (type.shouldSign !== undefined && !(await type.shouldSign(proposal, ctx))) {
        throw new RefusedError(`policy for "${proposal.type}" declined the proposal`)
      }
      const payload = type.agreementPayload !== undefined ? await type.agreementPayload(proposal, ctx) : proposal.payload
      const agreement = await this.#next(proposal.publicKey, proposal.seq, proposal.type, payload)
      await this.store.batch().put(proposal).put(agreement).commit()
      return agreement
    })
  }

  async complete(agreement: HalfBlock): Promise<Transaction> {
    if (!isAgreement(agreement) || !equalBytes(agreement.linkPublicKey, this.publicKey)) {
      throw new RangeError('"agreement" does not answer a proposal of this agent')
    }
    const proposal = await this.store.get(this.publicKey, agreement.linkSeq)
    if (proposal === undefined || !equalBytes(proposal.linkPublicKey, agreement.publicKey)) {
      throw new RangeError(`"agreement" answers seq ${agreement.linkSeq}, which is not a proposal of this agent to its signer`)
    }
    await this.#check(agreement, await this.#signatureValid(agreement))
    await this.store.batch().put(agreement).commit()
    return { proposal, agreement }
  }

  async append(type: string, payload: CborValue): Promise<HalfBlock> {
    return this.#serialized(async () => {
      const block = await this.#next(UNILATERAL_KEY, 0, type, payload)
      await this.store.batch().put(block).commit()
      return block
    })
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
    return this.store.hasFraud(publicKey)
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

  #validateOptions(signatureValid: boolean | undefined): ValidateOptions {
    const options: ValidateOptions = { store: this.store, crypto: this.#crypto, types: this.#types }
    if (signatureValid !== undefined) options.signatureValid = signatureValid
    return options
  }

  /** Validate a counterparty's block; store and throw on fraud, throw on invalid. */
  async #check(block: HalfBlock, signatureValid: boolean | undefined): Promise<ValidationResult> {
    const result = await validate(block, this.#validateOptions(signatureValid))
    if (result.fraud.length > 0) {
      const batch = this.store.batch()
      for (const proof of result.fraud) batch.putFraudProof(proof)
      await batch.commit()
      throw new FraudError(`fraud by ${shortKey(block.publicKey)}: ${describeFraudProof(result.fraud[0]!)}`, result.fraud[0])
    }
    if (result.level === 'invalid') throw new InvalidBlockError(`invalid ${block.type} block from ${shortKey(block.publicKey)}`, result.errors)
    return result
  }

  /** Sign the next block of this agent's chain (call inside #serialized). */
  async #next(linkPublicKey: Uint8Array, linkSeq: number, type: string, payload: CborValue): Promise<HalfBlock> {
    const latest = await this.store.latest(this.publicKey)
    const previousHash = latest === undefined ? GENESIS_HASH : blockHash(latest, this.#crypto)
    return await signBlock(
      {
        publicKey: this.publicKey,
        seq: (latest?.seq ?? 0) + 1,
        linkPublicKey,
        linkSeq,
        previousHash,
        type,
        payload,
        timestamp: this.#clock(),
      },
      this.#identity,
      this.#crypto,
    )
  }

  /** Run `fn` after every earlier append finished: one append at a time. */
  #serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn)
    this.#tail = run.catch(() => undefined)
    return run
  }
}
