/**
 * The protocol's invariants, stated with fast-check over random honest histories: a few agents
 * (createAgent over memory stores) propose, agree (at once, later or never) and append unilateral
 * blocks in a random mix.
 * - honest chains validate, in order and in any order, and never produce fraud;
 * - every injected fork (a block re-signed at a random seq, a block one later that does not chain,
 *   a block one earlier that the next one does not chain to) yields a proof that verifies from its
 *   bytes and accuses the forger only;
 * - no proof built from honest blocks ever verifies.
 * Run sizes are small: each history costs tens of noble Ed25519 signatures and verifications.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {
  UNILATERAL_KEY,
  blockHash,
  createAgent,
  createBlockTypes,
  createFraudProof,
  createMemoryStore,
  decodeFraudProof,
  encodeFraudProof,
  equalBytes,
  toHex,
  validate,
  verifyFraudProof,
  type Agent,
  type CborValue,
  type HalfBlock,
  type SeedIdentity,
} from '@tally/core'
import { T0, alice, bob, block, carol, mallory, storeWith } from './helpers.ts'

const types = createBlockTypes([{ name: 'note' }])
const people: SeedIdentity[] = [alice, bob, carol]

// ## Random honest histories

interface Op {
  kind: 'propose' | 'unilateral'
  from: number
  toOffset: number
  payload: CborValue
  agree: 'now' | 'later' | 'never'
}

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('propose', 'propose', 'unilateral'),
  from: fc.integer({ min: 0, max: people.length - 1 }),
  toOffset: fc.integer({ min: 1, max: people.length - 1 }),
  payload: fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.string({ maxLength: 8 }), fc.constant(null), fc.array(fc.nat(1000), { maxLength: 3 })),
  agree: fc.constantFrom('now', 'now', 'later', 'never'),
})

const historyArb = fc.array(opArb, { minLength: 1, maxLength: 24 })

interface History {
  /** Every block, in the order it was signed. */
  blocks: HalfBlock[]
  agents: Agent[]
}

/** Play the ops through real agents; agreements marked 'later' happen at the end, newest first. */
async function play(ops: readonly Op[]): Promise<History> {
  let tick = 0
  const clock = (): number => T0 + tick++
  const agents = people.map((identity) => createAgent({ head: 'local', identity, store: createMemoryStore(), types, clock }))
  const blocks: HalfBlock[] = []
  const later: [Agent, Agent, HalfBlock][] = []
  const answer = async (proposer: Agent, counterparty: Agent, p: HalfBlock): Promise<void> => {
    const a = await counterparty.agree(p)
    blocks.push(a)
    await proposer.complete(a)
  }
  for (const op of ops) {
    const from = agents[op.from]!
    if (op.kind === 'unilateral') {
      blocks.push(await from.append('note', op.payload))
      continue
    }
    const to = agents[(op.from + op.toOffset) % agents.length]!
    const p = await from.propose(to.publicKey, 'note', op.payload)
    blocks.push(p)
    if (op.agree === 'now') await answer(from, to, p)
    else if (op.agree === 'later') later.push([from, to, p])
  }
  for (const [from, to, p] of later.reverse()) await answer(from, to, p)
  return { blocks, agents }
}

/** The chains of a history: key hex → blocks by seq. */
function chainsOf(blocks: readonly HalfBlock[]): Map<string, HalfBlock[]> {
  const chains = new Map<string, HalfBlock[]>()
  for (const b of blocks) {
    const key = toHex(b.publicKey)
    chains.set(key, [...(chains.get(key) ?? []), b])
  }
  for (const c of chains.values()) c.sort((x, y) => x.seq - y.seq)
  return chains
}

/** Fisher-Yates with a small seeded generator (mulberry32), so the order shrinks with the seed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let s = seed >>> 0
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

const observerOf = (): Agent => createAgent({ head: 'local', identity: mallory, store: createMemoryStore(), types })

// ## Honest histories validate

const Honest = suite('properties: honest chains')

Honest('ingested in signing order by a fresh agent, every honest block is valid or partial-next, and no one is accused', async () => {
  await fc.assert(
    fc.asyncProperty(historyArb, async (ops) => {
      const { blocks, agents } = await play(ops)
      const observer = observerOf()
      for (const b of blocks) {
        const result = await observer.receive(b)
        assert.ok(result.level === 'valid' || result.level === 'partial-next', `seq ${b.seq}: ${result.level} ${result.errors.map((e) => e.rule).join(',')}`)
        assert.is(result.fraud.length, 0)
      }
      assert.is((await observer.store.fraudProofs()).length, 0)
      for (const agent of agents) assert.is((await agent.store.fraudProofs()).length, 0, 'an honest agent holds a proof')
      // the chains the observer rebuilt are the agents' own chains, gap-free from seq 1
      for (const [key, chain] of chainsOf(blocks)) {
        assert.equal(chain.map((b) => b.seq), Array.from({ length: chain.length }, (_, i) => i + 1), `chain ${key.slice(0, 8)}`)
        for (let i = 1; i < chain.length; i++) assert.ok(equalBytes(chain[i]!.previousHash, blockHash(chain[i - 1]!)))
      }
    }),
    { numRuns: 40 },
  )
})

Honest('ingested in any order, no honest block is ever invalid or produces fraud', async () => {
  await fc.assert(
    fc.asyncProperty(historyArb, fc.integer(), async (ops, seed) => {
      const { blocks } = await play(ops)
      const observer = observerOf()
      for (const b of shuffled(blocks, seed)) {
        const result = await observer.receive(b)
        assert.is.not(result.level, 'invalid', `seq ${b.seq}: ${result.errors.map((e) => e.rule).join(',')}`)
        assert.is(result.fraud.length, 0)
      }
      // once everything is known, every block is fully valid: both neighbours (or genesis) and no gaps
      for (const b of blocks) {
        const result = await validate(b, { store: observer.store, types })
        const last = (await observer.store.latest(b.publicKey))!.seq === b.seq
        assert.is(result.level, last ? 'partial-next' : 'valid')
      }
    }),
    { numRuns: 20 },
  )
})

Honest.run()

// ## Every fork is caught

const Forks = suite('properties: every injected fork yields a proof')

type ForkKind = 'resign' | 'one-later' | 'one-earlier'

/**
 * Forge a block with the victim's key against its honest chain, and the store an observer holds:
 * - resign: the block at seq s again with another payload; the observer knows the whole history;
 * - one-later: a block at s+1 whose previousHash is not hash(s); the observer knows the chain up to s;
 * - one-earlier: another block at s; the observer knows the chain from s+1 on, which does not chain to it.
 */
function forge(kind: ForkKind, victim: SeedIdentity, chain: readonly HalfBlock[], s: number, salt: number): { forged: HalfBlock; known: HalfBlock[] } {
  const honest = chain[s - 1]!
  if (kind === 'resign' || kind === 'one-earlier') {
    const forged = block(victim, {
      seq: s,
      link: honest.linkPublicKey,
      linkSeq: honest.linkSeq,
      previousHash: honest.previousHash,
      type: honest.type,
      payload: ['forged', salt],
      timestamp: honest.timestamp,
    })
    return { forged, known: kind === 'resign' ? [...chain] : chain.slice(s) }
  }
  const wrong = Uint8Array.from(blockHash(honest))
  wrong[salt % 32]! ^= 1 + (salt % 255)
  const forged = block(victim, { seq: s + 1, link: UNILATERAL_KEY, previousHash: wrong, payload: ['forged', salt], timestamp: T0 + salt })
  return { forged, known: chain.slice(0, s) }
}

Forks('a fork at a random seq of a random honest chain (re-signed, one later, one earlier) yields a verifying proof against the forger only', async () => {
  const forkArb = fc.constantFrom<ForkKind>('resign', 'one-later', 'one-earlier')
  await fc.assert(
    fc.asyncProperty(historyArb, fc.nat(), fc.nat(), forkArb, fc.integer({ min: 1, max: 1_000_000 }), async (ops, pickChain, pickSeq, kind, salt) => {
      const { blocks } = await play(ops)
      const chains = [...chainsOf(blocks).values()]
      const chain = chains[pickChain % chains.length]!
      const victim = people.find((p) => equalBytes(p.publicKey, chain[0]!.publicKey))!
      // one-earlier needs a block after s; otherwise fall back to re-signing
      const k: ForkKind = kind === 'one-earlier' && chain.length < 2 ? 'resign' : kind
      const s = 1 + (pickSeq % (k === 'one-earlier' ? chain.length - 1 : chain.length))
      const { forged, known } = forge(k, victim, chain, s, salt)
      // the observer also knows every other chain: it must accuse nobody else
      const others = blocks.filter((b) => !equalBytes(b.publicKey, victim.publicKey))
      const store = await storeWith([...others, ...known])
      const result = await validate(forged, { store, types })
      assert.is(result.level, 'invalid')
      assert.ok(result.fraud.length > 0, `${k} at seq ${s}: no proof (${result.errors.map((e) => e.rule).join(',')})`)
      const expectedKind = k === 'resign' ? 'double-sign' : 'chain-break'
      assert.ok(result.fraud.some((p) => p.kind === expectedKind), `${k}: expected a ${expectedKind} proof, got ${result.fraud.map((p) => p.kind).join(',')}`)
      for (const proof of result.fraud) {
        assert.ok(equalBytes(proof.publicKey, victim.publicKey), 'the proof accuses someone else')
        const fromBytes = decodeFraudProof(encodeFraudProof(proof))
        assert.equal(verifyFraudProof(fromBytes), { ok: true })
      }
    }),
    { numRuns: 50 },
  )
})

Forks('an agent that receives a fork stores the proof and then refuses the forger, and only the forger', async () => {
  await fc.assert(
    fc.asyncProperty(historyArb, fc.nat(), fc.integer({ min: 1, max: 1_000_000 }), async (ops, pickChain, salt) => {
      const { blocks } = await play(ops)
      const chains = [...chainsOf(blocks).values()]
      const chain = chains[pickChain % chains.length]!
      const victim = people.find((p) => equalBytes(p.publicKey, chain[0]!.publicKey))!
      const observer = observerOf()
      for (const b of blocks) await observer.receive(b)
      const { forged } = forge('resign', victim, chain, 1 + (salt % chain.length), salt)
      await observer.receive(forged)
      for (const p of people) assert.is(await observer.refuses(p.publicKey), p === victim, `refuses ${toHex(p.publicKey).slice(0, 8)}`)
    }),
    { numRuns: 10 },
  )
})

Forks.run()

// ## No honest agent is ever accused

const Framing = suite('properties: no proof verifies against honest chains')

Framing('validating any honest block against any subset of the other honest blocks never produces fraud', async () => {
  await fc.assert(
    fc.asyncProperty(historyArb, fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }), async (ops, mask) => {
      const { blocks } = await play(ops)
      const store = await storeWith(blocks.filter((_, i) => mask[i % mask.length]))
      for (const b of blocks) {
        const result = await validate(b, { store, types })
        assert.is.not(result.level, 'invalid', `${result.errors.map((e) => e.rule).join(',')}`)
        assert.is(result.fraud.length, 0)
      }
    }),
    { numRuns: 15 },
  )
})

Framing('no pair of honest blocks makes a proof of any core kind that verifies', async () => {
  const kinds = ['double-sign', 'chain-break', 'double-countersign']
  await fc.assert(
    fc.asyncProperty(historyArb, fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 8 }), async (ops, picks) => {
      const { blocks } = await play(ops)
      for (const [i, j] of picks) {
        const a = blocks[i % blocks.length]!
        const b = blocks[j % blocks.length]!
        for (const kind of kinds) {
          const result = verifyFraudProof(createFraudProof(kind, [a, b]))
          assert.is(result.ok, false, `${kind} verified on honest blocks at seq ${a.seq} and ${b.seq}`)
        }
      }
      // the most tempting pairs: consecutive blocks of one chain, and every agreement with its neighbours
      for (const chain of chainsOf(blocks).values()) {
        for (let s = 1; s < chain.length; s++) {
          for (const kind of kinds) assert.is(verifyFraudProof(createFraudProof(kind, [chain[s - 1]!, chain[s]!])).ok, false)
        }
      }
    }),
    { numRuns: 15 },
  )
})

Framing.run()
