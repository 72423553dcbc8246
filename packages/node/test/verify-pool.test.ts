import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  GENESIS_HASH,
  UNILATERAL_KEY,
  blockHash,
  createAgent,
  createBlockTypes,
  createMemoryStore,
  decodeBlock,
  encodeBlock,
  identityFromSeed,
  ingestBlocks,
  signBlock,
  toHex,
  verifyBlock,
  type HalfBlock,
} from '@tally/core'
import { createVerifyPool, nodeCrypto, type SignedMessage } from '@tally/node'

const owner = identityFromSeed(new Uint8Array(32).fill(3), nodeCrypto)

function chain(length: number, variant = ''): HalfBlock[] {
  const out: HalfBlock[] = []
  for (let seq = 1; seq <= length; seq++) {
    const previousHash = seq === 1 ? GENESIS_HASH : blockHash(out[seq - 2]!, nodeCrypto)
    out.push(signBlock({ publicKey: owner.publicKey, seq, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash, type: 'note', payload: `${variant}${seq}`, timestamp: seq }, owner, nodeCrypto))
  }
  return out
}

function tamper(block: HalfBlock): HalfBlock {
  const signature = Uint8Array.from(block.signature)
  signature[10]! ^= 1
  return Object.freeze({ ...block, signature })
}

const pool = suite('verify pool')

pool('answers exactly what one-by-one verification answers, in order, across workers', async () => {
  const p = createVerifyPool({ size: 2, crypto: 'node' })
  const blocks = chain(301).map((b, i) => (i % 7 === 3 ? tamper(b) : b))
  const expected = blocks.map((b) => verifyBlock(b, nodeCrypto))
  assert.equal(await p.verifyBlocks(blocks), expected)
  assert.ok(expected.includes(false) && expected.includes(true))
  assert.equal(await p.verifyBlocks([]), [])
  await p.close()
})

pool('every available provider works inside the workers', async () => {
  for (const crypto of ['noble', 'node', 'sodium']) {
    let p
    try {
      p = createVerifyPool({ size: 1, crypto })
      assert.equal(await p.verifyBlocks(chain(3)), [true, true, true], crypto)
    } catch (err) {
      if (crypto !== 'sodium') throw err
    } finally {
      await p?.close()
    }
  }
})

pool('a closed pool rejects with ClosedError', async () => {
  const p = createVerifyPool({ size: 1, crypto: 'node' })
  await p.close()
  try {
    await p.verifyBlocks(chain(1))
    assert.unreachable('should reject')
  } catch (err) {
    assert.is((err as { code?: string }).code, 'ERR_CLOSED')
  }
})

pool('a block that cannot be hashed rejects its call (RangeError: a 31-byte key), and the calls before and after it are answered', async () => {
  const p = createVerifyPool({ size: 1, crypto: 'node' })
  try {
    const blocks = chain(5)
    const before = p.verifyBlocks(blocks.slice(0, 2))
    // a hand-built block with a 31-byte key: its hash cannot be computed (the first items of the call are published already)
    const bad = p.verifyBlocks([blocks[2]!, blocks[3]!, Object.freeze({ ...blocks[4]!, publicKey: new Uint8Array(31) })])
    const after = p.verifyBlocks([tamper(blocks[2]!), blocks[3]!])
    await bad.then(
      () => assert.unreachable('should reject'),
      (err: unknown) => assert.instance(err, RangeError),
    )
    assert.equal(await before, [true, true])
    assert.equal(await after, [false, true])
    assert.equal(await p.verifyBlocks(blocks), [true, true, true, true, true])
  } finally {
    await p.close()
  }
})

pool('rejects a bad size', () => {
  assert.throws(() => createVerifyPool({ size: 0 }), RangeError)
})

const signatures = suite('verify pool: signatures')

const other = identityFromSeed(new Uint8Array(32).fill(4), nodeCrypto)

/** `n` valid items by `owner` over messages of varying length (0 to 300 bytes). */
function signed(n: number): SignedMessage[] {
  return Array.from({ length: n }, (_, i) => {
    const message = new Uint8Array((i * 37) % 301).fill(i & 0xff)
    return { message, signature: owner.sign(message), publicKey: owner.publicKey }
  })
}

function forged(item: SignedMessage, byte = 10): SignedMessage {
  const signature = Uint8Array.from(item.signature)
  signature[byte]! ^= 1
  return { ...item, signature }
}

signatures('answers exactly what one-by-one verification answers, in order, across workers', async () => {
  const p = createVerifyPool({ size: 2, crypto: 'node' })
  try {
    const items = signed(301).map((x, i) => (i % 7 === 3 ? forged(x, i % 64) : i % 11 === 5 ? { ...x, message: Uint8Array.of(...x.message, 0) } : x))
    const expected = items.map((x) => nodeCrypto.verify(x.signature, x.message, x.publicKey))
    assert.ok(expected.includes(false) && expected.includes(true))
    assert.equal(await p.verifySignatures(items), expected)
  } finally {
    await p.close()
  }
})

signatures('a forged signature, a wrong key, a truncated key or signature: false in place, the rest true', async () => {
  const p = createVerifyPool({ size: 2, crypto: 'node' })
  try {
    const [a, b, c, d, e, f] = signed(6) as [SignedMessage, SignedMessage, SignedMessage, SignedMessage, SignedMessage, SignedMessage]
    const items = [a, forged(b), { ...c, publicKey: other.publicKey }, { ...d, publicKey: d.publicKey.subarray(0, 31) }, { ...e, signature: e.signature.subarray(0, 63) }, f]
    assert.equal(await p.verifySignatures(items), [true, false, false, false, false, true])
    // subarrays of a larger buffer are read at their offset, not from the buffer's start
    const big = new Uint8Array(200)
    big.set(a.publicKey, 7)
    big.set(a.signature, 50)
    big.set(a.message.subarray(0, 0), 120)
    const empty = { message: new Uint8Array(0), signature: owner.sign(new Uint8Array(0)), publicKey: big.subarray(7, 39) }
    assert.equal(await p.verifySignatures([empty, { ...a, signature: big.subarray(50, 114), publicKey: big.subarray(7, 39) }]), [true, true])
  } finally {
    await p.close()
  }
})

signatures('an empty batch answers [] without a worker round trip; a single item uses one worker', async () => {
  const p = createVerifyPool({ size: 2, crypto: 'node' })
  try {
    assert.equal(await p.verifySignatures([]), [])
    assert.equal(await p.verifySignatures(signed(1)), [true])
  } finally {
    await p.close()
  }
})

signatures('every available provider agrees inside the workers', async () => {
  const items = [...signed(4), forged(signed(1)[0]!)]
  for (const crypto of ['noble', 'node', 'sodium']) {
    let p
    try {
      p = createVerifyPool({ size: 1, crypto })
    } catch (err) {
      if (crypto === 'sodium') continue // sodium-native is optional
      throw err
    }
    try {
      assert.equal(await p.verifySignatures(items), [true, true, true, true, false], crypto)
    } finally {
      await p.close()
    }
  }
})

signatures('blocks and signatures interleave on one pool', async () => {
  const p = createVerifyPool({ size: 2, crypto: 'node' })
  try {
    const [x, y, z] = await Promise.all([p.verifyBlocks(chain(5)), p.verifySignatures(signed(9)), p.verifyBlocks([tamper(chain(1)[0]!)])])
    assert.equal(x, [true, true, true, true, true])
    assert.equal(y, Array(9).fill(true))
    assert.equal(z, [false])
  } finally {
    await p.close()
  }
})

signatures('rejects what is not an array of byte triples with TypeError', async () => {
  const p = createVerifyPool({ size: 1, crypto: 'node' })
  try {
    const [a] = signed(1) as [SignedMessage]
    for (const bad of [undefined, 'abc', [null], [{ ...a, message: 'hi' }], [{ signature: a.signature, publicKey: a.publicKey }], [a, { ...a, publicKey: Array.from(a.publicKey) }]]) {
      try {
        await p.verifySignatures(bad as unknown as SignedMessage[])
        assert.unreachable(`should reject ${JSON.stringify(bad)?.slice(0, 40)}`)
      } catch (err) {
        assert.instance(err, TypeError)
        assert.match((err as Error).message, /items/)
      }
    }
  } finally {
    await p.close()
  }
})

signatures('a closed pool rejects with ClosedError, and close() fails pending calls the same way', async () => {
  const p = createVerifyPool({ size: 1, crypto: 'noble' })
  const outcome = (call: Promise<unknown>) => call.then(() => 'resolved', (err: { code?: string }) => err.code)
  const pending = outcome(p.verifySignatures(signed(200)))
  await p.close()
  assert.equal(await Promise.all([pending, outcome(p.verifySignatures(signed(1))), outcome(p.verifySignatures([]))]), ['ERR_CLOSED', 'ERR_CLOSED', 'ERR_CLOSED'])
})

signatures('more items than the shared ring holds, in one call and in many: every answer right, in order', async () => {
  // 8,192 slots and 1 MiB of item bytes: 10,000 items of 0-300 byte messages fill both, and the
  // bytes wrap around the ring's end several times
  const p = createVerifyPool({ size: 2, crypto: 'node' })
  try {
    const base = signed(301)
    const items = Array.from({ length: 10_000 }, (_, i) => (i % 13 === 6 ? forged(base[i % 301]!, i % 64) : base[i % 301]!))
    const expected = items.map((_, i) => i % 13 !== 6)
    assert.equal(await p.verifySignatures(items), expected)
    const order: number[] = []
    const calls = Array.from({ length: 100 }, (_, c) => p.verifySignatures(items.slice(c * 100, c * 100 + 100)).then((flags) => (order.push(c), flags)))
    assert.equal((await Promise.all(calls)).flat(), expected)
    assert.equal(order, Array.from({ length: 100 }, (_, c) => c))
  } finally {
    await p.close()
  }
})

signatures('a message too big for the shared ring is checked all the same', async () => {
  const p = createVerifyPool({ size: 1, crypto: 'node' })
  try {
    const message = new Uint8Array(600_000).fill(7)
    const big = { message, signature: owner.sign(message), publicKey: owner.publicKey }
    const [a, b] = signed(2) as [SignedMessage, SignedMessage]
    assert.equal(await p.verifySignatures([a, big, forged(big), b]), [true, true, false, true])
  } finally {
    await p.close()
  }
})

const small = suite('verify pool: many small calls')

small('calls of one block each, made together: every answer right, answered in the order made', async () => {
  for (const mainThread of [false, true]) {
    const p = createVerifyPool({ size: 1, crypto: 'node', mainThread })
    try {
      const blocks = chain(120).map((b, i) => (i % 9 === 4 ? tamper(b) : b))
      const order: number[] = []
      const answers = await Promise.all(blocks.map((b, i) => p.verifyBlocks([b]).then(([ok]) => (order.push(i), ok))))
      assert.equal(answers, blocks.map((b) => verifyBlock(b, nodeCrypto)), `mainThread ${mainThread}`)
      assert.equal(order, blocks.map((_, i) => i), `mainThread ${mainThread}: answered out of order`)
    } finally {
      await p.close()
    }
  }
})

small('with mainThread, a call made while the worker is full is still answered right (noble: slow enough to fill it)', async () => {
  const p = createVerifyPool({ size: 1, crypto: 'noble', mainThread: true })
  try {
    const items = signed(60).map((x, i) => (i % 5 === 2 ? forged(x) : x))
    const calls = items.map((x) => p.verifySignatures([x]))
    const blocks = [chain(3)[0]!, tamper(chain(3)[1]!)]
    const [verdicts, flags] = await Promise.all([Promise.all(calls), p.verifyBlocks(blocks)])
    assert.equal(verdicts.flat(), items.map((_, i) => i % 5 !== 2))
    assert.equal(flags, [true, false])
  } finally {
    await p.close()
  }
})

small('a provider name that does not exist here is a RangeError, before any worker starts', () => {
  for (const mainThread of [false, true]) assert.throws(() => createVerifyPool({ size: 1, crypto: 'nonesuch', mainThread }), RangeError)
  assert.throws(() => createVerifyPool({ size: 1, crypto: 'node', mainThread: 'yes' as unknown as boolean }), TypeError)
})

small('two agents with 32 transactions in flight through one pool: one block per seq, both chains whole', async () => {
  const p = createVerifyPool({ size: 1, crypto: 'node', mainThread: true })
  try {
    const types = createBlockTypes([{ name: 'note' }])
    const ids = [owner, other] as const
    const [a, b] = ids.map((identity) => createAgent({ head: 'local', identity, store: createMemoryStore({ crypto: nodeCrypto }), types, verifySignatures: p.verifyBlocks }))
    await Promise.all(Array.from({ length: 32 }, async (_, i) => a!.complete(await b!.agree(await a!.propose(other.publicKey, 'note', i)))))
    for (const [agent, id] of [[a!, owner], [b!, other]] as const) {
      assert.equal((await agent.store.range(id.publicKey)).map((x) => x.seq), Array.from({ length: 32 }, (_, i) => i + 1))
    }
    // a forged proposal through the pool is refused like any invalid block
    const forgedProposal = decodeBlock(encodeBlock(await a!.propose(other.publicKey, 'note', 'x')).map((x, i, all) => (i === all.length - 1 ? x ^ 1 : x)))
    try {
      await b!.agree(forgedProposal)
      assert.unreachable('agreed to a forged proposal')
    } catch (err) {
      assert.is((err as { code?: string }).code, 'ERR_INVALID_BLOCK')
    }
  } finally {
    await p.close()
  }
})

small.run()

const ingest = suite('ingestBlocks')

ingest('with the pool stores the same chain, refuses the same blocks and finds the same fraud as without', async () => {
  const honest = chain(2500)
  const forked = chain(1300, 'fork').slice(1200) // seqs 1201..1300 of another history: forks
  const input = [...honest.slice(0, 1250), tamper(honest[1250]!), ...honest.slice(1251), ...forked]
  const p = createVerifyPool({ size: 2, crypto: 'node' })
  const withPool = createMemoryStore({ crypto: nodeCrypto })
  const without = createMemoryStore({ crypto: nodeCrypto })
  const a = await ingestBlocks(input, { store: withPool, crypto: nodeCrypto, verifySignatures: p.verifyBlocks, chunkSize: 256 })
  const b = await ingestBlocks(input, { store: without, crypto: nodeCrypto, chunkSize: 256 })
  await p.close()
  assert.is(a.accepted, b.accepted)
  assert.equal(a.rejected.map((r) => r.index), b.rejected.map((r) => r.index))
  assert.is(a.accepted, 2499)
  assert.is(a.rejected[0]!.index, 1250)
  assert.is(a.rejected[0]!.errors[0]!.rule, 'signature')
  // 99 forks meet a stored honest block at their seq; the one at 1251 (whose honest block was
  // refused) meets honest neighbours instead, and breaks the chain on both sides
  const kinds = a.fraud.map((f) => f.kind)
  assert.is(kinds.filter((k) => k === 'double-sign').length, 99)
  assert.is(kinds.filter((k) => k === 'chain-break').length, 2)
  assert.equal(b.fraud.map((f) => f.kind), kinds)
  assert.is(await withPool.hasFraud(owner.publicKey), true)
  const stored = await withPool.range(owner.publicKey)
  assert.equal(stored.map((x) => x.seq), honest.filter((_, i) => i !== 1250).map((x) => x.seq))
  assert.equal(stored.map((x) => toHex(blockHash(x))), (await without.range(owner.publicKey)).map((x) => toHex(blockHash(x))))
})

ingest('a block that does not chain to the previous one in the same chunk yields a chain-break proof', async () => {
  const honest = chain(10)
  const other = chain(10, 'other')
  const store = createMemoryStore({ crypto: nodeCrypto })
  const result = await ingestBlocks([...honest.slice(0, 5), other[5]!], { store, crypto: nodeCrypto })
  assert.is(result.accepted, 5)
  assert.equal(result.fraud.map((f) => f.kind), ['chain-break'])
  assert.equal(result.rejected[0]!.errors.map((e) => e.rule), ['previous-hash'])
})

pool.run()
signatures.run()
ingest.run()
