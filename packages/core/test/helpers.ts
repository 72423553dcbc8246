/**
 * Shared fixtures of @tally/core's tests: identities made once from fixed seeds (noble Ed25519 is
 * slow, ~1-2 ms a key), block builders, and an assertion for "throws this class, naming this".
 * Not a test file itself (the runner only runs *.test.ts).
 */
import * as assert from 'uvu/assert'
import {
  GENESIS_HASH,
  UNILATERAL_KEY,
  blockHash,
  createMemoryStore as memoryStore,
  identityFromSeed,
  signBlock,
  type BlockStore,
  type CborValue,
  type FraudProof,
  type HalfBlock,
  type SeedIdentity,
  type UnsignedHalfBlock,
} from '@tally/core'

/** A 32-byte seed whose every byte is `n`. */
export function seedOf(n: number): Uint8Array {
  return new Uint8Array(32).fill(n)
}

export const alice: SeedIdentity = identityFromSeed(seedOf(1))
export const bob: SeedIdentity = identityFromSeed(seedOf(2))
export const carol: SeedIdentity = identityFromSeed(seedOf(3))
export const mallory: SeedIdentity = identityFromSeed(seedOf(4))

/** A fixed timestamp (2023-11-14T22:13:20Z) so that blocks are reproducible. */
export const T0 = 1_700_000_000_000

/** Every field but publicKey is optional: a seq-1 proposal of type 'note' to bob by default. */
export interface BlockSpec {
  seq?: number
  link?: Uint8Array
  linkSeq?: number
  previousHash?: Uint8Array
  type?: string
  payload?: CborValue
  timestamp?: number
}

/** The unsigned fields of a block by `id`, with defaults. */
export function fields(id: SeedIdentity, spec: BlockSpec = {}): UnsignedHalfBlock {
  const seq = spec.seq ?? 1
  return {
    publicKey: id.publicKey,
    seq,
    linkPublicKey: spec.link ?? (id === bob ? alice.publicKey : bob.publicKey),
    linkSeq: spec.linkSeq ?? 0,
    previousHash: spec.previousHash ?? (seq === 1 ? GENESIS_HASH : new Uint8Array(32).fill(0xee)),
    type: spec.type ?? 'note',
    payload: spec.payload ?? 'hello',
    timestamp: spec.timestamp ?? T0,
  }
}

/** A block signed by `id` through the public API (signBlock). */
export function block(id: SeedIdentity, spec: BlockSpec = {}): HalfBlock {
  return signBlock(fields(id, spec), id)
}

/**
 * A block signed by `id` without signBlock's argument checks: for blocks that break a rule
 * signBlock enforces (seq 0, oversize). The hash is computed on an unfrozen draft (blockHash does
 * not cache those), then signed with the identity, as an attacker holding the key could.
 */
export function signRaw(f: UnsignedHalfBlock, id: SeedIdentity): HalfBlock {
  const draft = { ...f, signature: new Uint8Array(64) }
  return Object.freeze({ ...f, signature: id.sign(blockHash(draft)) })
}

/**
 * An honest chain of `n` blocks by `id`, each chaining to the one before: unilateral blocks
 * unless `link` is given (then proposals to `link`).
 */
export function chain(id: SeedIdentity, n: number, opts: { link?: Uint8Array; tag?: string; start?: HalfBlock } = {}): HalfBlock[] {
  const out: HalfBlock[] = []
  let prev = opts.start
  for (let i = 0; i < n; i++) {
    const seq = (prev?.seq ?? 0) + 1
    const b = block(id, {
      seq,
      link: opts.link ?? UNILATERAL_KEY,
      previousHash: prev === undefined ? GENESIS_HASH : blockHash(prev),
      payload: [opts.tag ?? 'honest', seq],
      timestamp: T0 + seq,
    })
    out.push(b)
    prev = b
  }
  return out
}

/**
 * A memory store; under TALLY_TEST_PROMISE_STORE=1 (validate-promises.test.ts) one seen only
 * through its BlockStore methods, so that validation reads it with promises, as it reads LevelDB
 * and IndexedDB, rather than at once as it reads a memory store.
 */
export function createMemoryStore(): BlockStore {
  const store = memoryStore()
  if (process.env['TALLY_TEST_PROMISE_STORE'] !== '1') return store
  return {
    get: (key, seq) => store.get(key, seq),
    getByHash: (hash) => store.getByHash(hash),
    latest: (key) => store.latest(key),
    range: (key, options) => store.range(key, options),
    findAgreement: (key, seq, signer) => store.findAgreement(key, seq, signer),
    fraudProofs: (key) => store.fraudProofs(key),
    hasFraud: (key) => store.hasFraud(key),
    agents: () => store.agents(),
    batch: () => store.batch(),
    evict: (key, range) => store.evict!(key, range),
    close: () => store.close(),
  }
}

/** A memory store already holding `blocks` (and `proofs`). */
export async function storeWith(blocks: readonly HalfBlock[], proofs: readonly FraudProof[] = []): Promise<BlockStore> {
  const store = createMemoryStore()
  const batch = store.batch()
  for (const b of blocks) batch.put(b)
  for (const p of proofs) batch.putFraudProof(p)
  await batch.commit()
  return store
}

/** The rule codes of a list of violations, in order. */
export function rules(errors: readonly { rule: string }[]): string[] {
  return errors.map((e) => e.rule)
}

/**
 * Assert that `fn` throws an instance of `cls` whose message matches `pattern`.
 * (uvu's `throws(fn, Class)` calls the class as a predicate and so passes for any error.)
 */
export function throwsLike(fn: () => unknown, cls: abstract new (...args: never[]) => Error, pattern?: RegExp): void {
  let thrown: unknown
  try {
    fn()
  } catch (err) {
    thrown = err
  }
  assert.ok(thrown !== undefined, `expected ${cls.name}, nothing was thrown`)
  assert.ok(thrown instanceof cls, `expected ${cls.name}, got ${String(thrown)}`)
  if (pattern !== undefined) assert.match((thrown as Error).message, pattern)
}

/** The same for a promise: it must reject with `cls` (and `code`, when given). */
export async function rejectsLike(
  p: Promise<unknown>,
  cls: abstract new (...args: never[]) => Error,
  code?: string,
): Promise<Error> {
  let thrown: unknown
  try {
    await p
  } catch (err) {
    thrown = err
  }
  assert.ok(thrown !== undefined, `expected ${cls.name}, the promise resolved`)
  assert.ok(thrown instanceof cls, `expected ${cls.name}, got ${String(thrown)}`)
  if (code !== undefined) assert.is((thrown as { code?: string }).code, code)
  return thrown as Error
}
