/**
 * The agent with a signature verifier (AgentOptions.verifySignatures): what @tally/node's worker
 * pool plugs in. The verifier here checks on this thread and counts its calls, so the tests show
 * that the agent asks it, obeys its answer, and keeps every other rule and promise.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  FraudError,
  HeadUnknownError,
  InvalidBlockError,
  createAgent,
  createBlockTypes,
  createMemoryStore,
  decodeBlock,
  encodeBlock,
  identityFromSeed,
  signBlock,
  toHex,
  validate,
  verifyBlock,
  type HalfBlock,
  type HeadSource,
  type SeedIdentity,
  type SignatureVerifier,
} from '@tally/core'
import { T0, alice, bob, carol, fields, rules } from './helpers.js'

const types = () => createBlockTypes([{ name: 'note' }])

/** A verifier on this thread that records every block it was asked about; `lie` overrides answers. */
function countingVerifier(lie?: (block: HalfBlock) => boolean | undefined): SignatureVerifier & { asked: HalfBlock[] } {
  const asked: HalfBlock[] = []
  const verifier = async (blocks: readonly HalfBlock[]): Promise<boolean[]> => {
    asked.push(...blocks)
    await new Promise((resolve) => setImmediate(resolve)) // answers later, as a worker would
    return blocks.map((b) => lie?.(b) ?? verifyBlock(b))
  }
  return Object.assign(verifier, { asked })
}

function makeAgent(identity: SeedIdentity, verifySignatures: SignatureVerifier) {
  let tick = 0
  return createAgent({ head: 'local', identity, store: createMemoryStore(), types: types(), clock: () => T0 + tick++, verifySignatures })
}

/** The block with one bit of its signature flipped, decoded from bytes as a received block is. */
function badlySigned(block: HalfBlock): HalfBlock {
  const bytes = encodeBlock(block).slice()
  bytes[bytes.length - 1]! ^= 1
  return decodeBlock(bytes)
}

const Verifier = suite('agent: signatures checked by a verifier')

Verifier('a transaction goes through, and the verifier checked both received halves', async () => {
  const verifier = countingVerifier()
  const a = makeAgent(alice, verifier)
  const b = makeAgent(bob, verifier)
  const p = await a.propose(bob.publicKey, 'note', 'hi')
  const ag = await b.agree(p)
  await a.complete(ag)
  assert.equal(verifier.asked.map((x) => toHex(x.signature)), [toHex(p.signature), toHex(ag.signature)])
  assert.is((await a.store.latest(alice.publicKey))?.seq, 1)
  assert.is((await b.store.latest(bob.publicKey))?.seq, 1)
})

Verifier('a badly signed proposal is refused on rule "signature", and nothing is appended', async () => {
  const verifier = countingVerifier()
  const a = makeAgent(alice, verifier)
  const b = makeAgent(bob, verifier)
  const bad = badlySigned(await a.propose(bob.publicKey, 'note', 'forged'))
  try {
    await b.agree(bad)
    assert.unreachable('agreed to a badly signed proposal')
  } catch (err) {
    assert.instance(err, InvalidBlockError)
    assert.equal(rules((err as InvalidBlockError).errors), ['signature'])
  }
  assert.is(await b.store.latest(bob.publicKey), undefined)
  assert.is(await b.store.get(alice.publicKey, 1), undefined)
})

Verifier('the verifier\'s answer is obeyed: a valid signature it rejects is refused', async () => {
  const verifier = countingVerifier(() => false)
  const a = makeAgent(alice, countingVerifier())
  const b = makeAgent(bob, verifier)
  const p = await a.propose(bob.publicKey, 'note', 'fine')
  assert.ok(verifyBlock(p))
  try {
    await b.agree(p)
    assert.unreachable('agreed although the verifier said no')
  } catch (err) {
    assert.instance(err, InvalidBlockError)
  }
  assert.is(verifier.asked.length, 1)
})

Verifier('a badly signed agreement is refused by complete, and not stored', async () => {
  const a = makeAgent(alice, countingVerifier())
  const b = makeAgent(bob, countingVerifier())
  const ag = await b.agree(await a.propose(bob.publicKey, 'note', 'x'))
  try {
    await a.complete(badlySigned(ag))
    assert.unreachable('completed with a badly signed agreement')
  } catch (err) {
    assert.instance(err, InvalidBlockError)
  }
  assert.is(await a.store.get(bob.publicKey, 1), undefined)
  await a.complete(ag)
  assert.ok(await a.store.get(bob.publicKey, 1))
})

Verifier('receive: a badly signed block is invalid and not stored; a good one is stored', async () => {
  const verifier = countingVerifier()
  const c = makeAgent(carol, verifier)
  const good = signBlock(fields(alice, { seq: 1 }), alice)
  const result = await c.receive(badlySigned(good))
  assert.is(result.level, 'invalid')
  assert.equal(rules(result.errors), ['signature'])
  assert.is(await c.store.get(alice.publicKey, 1), undefined)
  assert.is((await c.receive(good)).level, 'partial-next')
  assert.ok(await c.store.get(alice.publicKey, 1))
  assert.is(verifier.asked.length, 2)
})

Verifier('a malformed block never reaches the verifier: validate reports its form', async () => {
  const verifier = countingVerifier()
  const c = makeAgent(carol, verifier)
  const good = signBlock(fields(alice, { seq: 1 }), alice)
  const malformed = { ...good, seq: -1 } as HalfBlock
  const result = await c.receive(malformed)
  assert.is(result.level, 'invalid')
  assert.is(verifier.asked.length, 0)
})

Verifier('a double sign is still caught: the second proposal at a seq yields a fraud proof', async () => {
  const a = makeAgent(alice, countingVerifier())
  const b = makeAgent(bob, countingVerifier())
  const p = await a.propose(bob.publicKey, 'note', 'first')
  await b.agree(p)
  const fork = signBlock({ ...fields(alice, { seq: 1, payload: 'second' }), timestamp: p.timestamp }, alice)
  try {
    await b.agree(fork)
    assert.unreachable('agreed to a fork')
  } catch (err) {
    assert.instance(err, FraudError)
  }
  assert.ok(await b.refuses(alice.publicKey))
})

Verifier('many transactions in flight: one block per seq in both chains, and both chains validate', async () => {
  const a = makeAgent(alice, countingVerifier())
  const b = makeAgent(bob, countingVerifier())
  const n = 24
  await Promise.all(Array.from({ length: n }, async (_, i) => a.complete(await b.agree(await a.propose(bob.publicKey, 'note', i)))))
  for (const [agent, id] of [[a, alice], [b, bob]] as const) {
    const blocks = await agent.store.range(id.publicKey)
    assert.equal(blocks.map((x) => x.seq), Array.from({ length: n }, (_, i) => i + 1))
    const observer = createMemoryStore()
    for (const block of blocks) {
      const result = await validate(block, { store: observer, types: types() })
      assert.not.equal(result.level, 'invalid')
      await observer.batch().put(block).commit()
    }
  }
})

Verifier('a restored chain: the head and the blocks below it are checked by the verifier, the range in one call', async () => {
  const old = makeAgent(carol, countingVerifier())
  for (let i = 0; i < 6; i++) await old.append('note', i)
  const source: HeadSource = {
    head: async (key) => old.store.latest(key),
    fetch: async (key, start, end) => old.store.range(key, { from: start, to: end }),
  }
  const verifier = countingVerifier()
  let calls = 0
  const counted: SignatureVerifier = (blocks) => (calls++, verifier(blocks))
  const restored = createAgent({ identity: identityFromSeed(carol.exportSecretSeed()), store: createMemoryStore(), types: types(), head: source, verifySignatures: counted })
  assert.is((await restored.append('note', 'after')).seq, 7, 'signs at the next seq')
  assert.equal(verifier.asked.map((b) => b.seq), [6, 1, 2, 3, 4, 5, 6], 'the head, then the range 1..6 (the head again, as validation checks it)')
  assert.is(calls, 2)

  // a verifier that refuses one block of the range: recovery fails, nothing is signed
  const liar = countingVerifier((b) => (b.seq === 3 ? false : undefined))
  const refused = createAgent({ identity: identityFromSeed(carol.exportSecretSeed()), store: createMemoryStore(), types: types(), head: source, verifySignatures: liar })
  const err = await refused.append('note', 'no').then(() => undefined, (e: unknown) => e)
  assert.instance(err, HeadUnknownError)
  assert.match((err as Error).message, /seq 3/)
  assert.is((await refused.store.latest(carol.publicKey))?.seq, 2, 'the blocks below the refused one are kept, none after')
})

Verifier.run()
