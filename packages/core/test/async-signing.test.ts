/**
 * Asynchronous signing: an identity whose key signs through a Promise (as a non-extractable
 * WebCrypto key does) makes the same bytes as the seed it stands for, transacts through the agent,
 * and keeps the agent's promise of one block per seq when many appends race; a synchronous key
 * still signs synchronously.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  createAgent,
  createBlockTypes,
  createIdentity,
  createMemoryStore,
  encodeBlock,
  identityFromSeed,
  signBlock,
  signThen,
  toHex,
  validate,
  type Identity,
  type SeedIdentity,
} from '@tally/core'
import { fields } from './helpers.js'

/** The identity of `seed` behind a key that answers later, as WebCrypto does; counts its calls. */
function asyncTwin(seed: SeedIdentity): { identity: Identity; calls: () => number } {
  let calls = 0
  const identity = createIdentity({
    publicKey: seed.publicKey,
    sign: async (message: Uint8Array) => {
      calls++
      await new Promise((resolve) => setImmediate(resolve))
      return seed.sign(message)
    },
  })
  return { identity, calls: () => calls }
}

const Sign = suite('signing: asynchronous keys')

Sign('signBlock with an async key gives a promise of the same bytes as the seed key', async () => {
  const seed = identityFromSeed(new Uint8Array(32).fill(7))
  const key = createIdentity({ publicKey: seed.publicKey, sign: async (m) => seed.sign(m) })
  const f = fields(seed)
  const later = signBlock(f, key)
  assert.instance(later, Promise)
  const now = signBlock(f, seed)
  assert.not.instance(now, Promise)
  assert.is(toHex(encodeBlock(await later)), toHex(encodeBlock(now)))
})

Sign('signThen is synchronous for a synchronous key and refuses a key that returns junk', async () => {
  const seed = identityFromSeed(new Uint8Array(32).fill(8))
  const out = signThen(seed, new Uint8Array(32), (s) => s.length)
  assert.is(out, 64)
  const junk = { publicKey: seed.publicKey, sign: () => 'nope' as unknown as Uint8Array }
  assert.throws(() => signThen(junk, new Uint8Array(32), (s) => s), TypeError)
  const late = { publicKey: seed.publicKey, sign: async () => 'nope' as unknown as Uint8Array }
  try {
    await signThen(late, new Uint8Array(32), (s) => s)
    assert.unreachable('a promise of junk must reject')
  } catch (err) {
    assert.instance(err, TypeError)
  }
})

Sign('a block with a signature of the wrong length is refused before it exists', async () => {
  const seed = identityFromSeed(new Uint8Array(32).fill(9))
  const short = createIdentity({ publicKey: seed.publicKey, sign: async () => new Uint8Array(63) })
  try {
    await signBlock(fields(seed), short)
    assert.unreachable('a 63-byte signature must be refused')
  } catch (err) {
    assert.instance(err, RangeError)
  }
})

Sign('createIdentity checks its key and never shows more than the public key', () => {
  assert.throws(() => createIdentity({ publicKey: new Uint8Array(31), sign: () => new Uint8Array(64) }), RangeError)
  assert.throws(() => createIdentity({ publicKey: new Uint8Array(32) } as never), TypeError)
  const seed = identityFromSeed(new Uint8Array(32).fill(10))
  const id = createIdentity({ publicKey: seed.publicKey, sign: (m) => seed.sign(m) })
  assert.is(JSON.stringify(id), JSON.stringify({ publicKey: seed.publicKeyHex }))
  assert.is(String(id), `Identity(${seed.publicKeyHex})`)
  assert.is((id as unknown as { exportSecretSeed?: unknown }).exportSecretSeed, undefined)
})

Sign.run()

const Agent = suite('agent: an identity that signs asynchronously')

Agent('transacts with a seed identity; both halves validate', async () => {
  const types = createBlockTypes([{ name: 'note' }])
  const aliceSeed = identityFromSeed(new Uint8Array(32).fill(1))
  const alice = createAgent({ head: 'local', identity: asyncTwin(aliceSeed).identity, store: createMemoryStore(), types })
  const bob = createAgent({ head: 'local', identity: identityFromSeed(new Uint8Array(32).fill(2)), store: createMemoryStore(), types })
  const proposal = await alice.propose(bob.publicKey, 'note', 'hi')
  const agreement = await bob.agree(proposal)
  await alice.complete(agreement)
  assert.is((await validate(proposal, { store: bob.store, types })).level, 'partial-next')
  assert.is((await validate(agreement, { store: alice.store, types })).level, 'partial-next')
})

Agent('many racing appends with a slow key still make one block per seq, chained', async () => {
  const types = createBlockTypes([{ name: 'note' }])
  const twin = asyncTwin(identityFromSeed(new Uint8Array(32).fill(3)))
  const agent = createAgent({ head: 'local', identity: twin.identity, store: createMemoryStore(), types })
  const blocks = await Promise.all(Array.from({ length: 50 }, (_, i) => agent.append('note', i)))
  assert.equal(blocks.map((b) => b.seq).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1))
  assert.is(twin.calls(), 50)
  const chain = await agent.store.range(agent.publicKey)
  assert.is(chain.length, 50)
  for (const b of chain) assert.is.not((await validate(b, { store: agent.store, types })).level, 'invalid')
})

Agent('a key that fails to sign leaves the chain as it was', async () => {
  const types = createBlockTypes([{ name: 'note' }])
  const seed = identityFromSeed(new Uint8Array(32).fill(4))
  let fail = true
  const flaky = createIdentity({
    publicKey: seed.publicKey,
    sign: async (m) => {
      if (fail) throw new Error('the user cancelled')
      return seed.sign(m)
    },
  })
  const agent = createAgent({ head: 'local', identity: flaky, store: createMemoryStore(), types })
  try {
    await agent.append('note', 'x')
    assert.unreachable('a failed signature must reject')
  } catch (err) {
    assert.is((err as Error).message, 'the user cancelled')
  }
  assert.is(await agent.store.latest(agent.publicKey), undefined)
  fail = false
  assert.is((await agent.append('note', 'y')).seq, 1)
})

Agent.run()
