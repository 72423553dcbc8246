/**
 * Shared blocks in the simulator (sim/shared-blocks.ts): one process-wide copy of each block and
 * proof that several nodes store, so that the check at 10,000 real nodes fits in memory. The
 * shared run must be the same run: same seed, same detection figures, same bytes and frames, and
 * every node's store holding the same blocks and proofs, byte for byte, as without sharing.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { GENESIS_HASH, createFraudProof, decodeBlock, encodeBlock, fraudProofId, identityFromSeed, signBlock, toHex } from '@tally/core'
import { createSharedBlocks, createSimCrypto, runContrib, type ContribResult, type Simulator } from '@tally/gossip/sim'
import { crypto } from './fixtures/node-kit.ts'

const Shared = suite('simulator: shared blocks')

Shared('a block decoded again is the first copy; a different block at the same seq is not', () => {
  const shared = createSharedBlocks(crypto)
  const alice = identityFromSeed(new Uint8Array(32).fill(1), crypto)
  const bob = identityFromSeed(new Uint8Array(32).fill(2), crypto)
  const fields = { publicKey: alice.publicKey, seq: 1, linkPublicKey: bob.publicKey, linkSeq: 0, previousHash: GENESIS_HASH, type: 'tx', payload: 1, timestamp: 1_700_000_000_000 }
  const first = signBlock(fields, alice, crypto)
  const again = decodeBlock(encodeBlock(first))
  const other = signBlock({ ...fields, payload: 2 }, alice, crypto)
  assert.is(shared.block(first), first)
  assert.is(shared.block(again), first, 'same bytes: the copy held')
  assert.is(shared.block(other), other, 'other bytes: its own')
  const proof = createFraudProof('double-sign', [first, other])
  const same = createFraudProof('double-sign', [decodeBlock(encodeBlock(other)), again])
  assert.equal(fraudProofId(proof, crypto), fraudProofId(same, crypto))
  assert.is(shared.proof(proof), proof)
  assert.is(shared.proof(same), proof)
  assert.equal(shared.stats, { blocks: 3, sharedBlocks: 1, proofs: 2, sharedProofs: 1 })
})

/** Every node's store: its chains' blocks and its proofs, as hex, in order. */
async function contents(sim: Simulator): Promise<string[]> {
  const out: string[] = []
  for (const p of sim.peers) {
    const store = p.node?.store
    if (store === undefined) continue
    const keys = (await store.agents()).map(toHex).sort()
    let blocks = ''
    for (const k of keys) for (const b of await store.range(Uint8Array.from(Buffer.from(k, 'hex')))) blocks += toHex(encodeBlock(b))
    const proofs = (await store.fraudProofs()).map((f) => toHex(fraudProofId(f, crypto))).sort()
    out.push(`${p.index}:${blocks}:${proofs.join(',')}`)
  }
  return out
}

for (const loss of [0, 0.2]) {
  Shared(`${loss * 100}% loss: the shared run is the unshared one (figures, bytes, every store's contents)`, async () => {
    const run = async (shareBlocks: boolean): Promise<{ r: ContribResult; stores: string[]; copies: number; held: number }> => {
      let stores: string[] = []
      let copies = 0
      let held = 0
      const r = await runContrib({
        nodes: 120,
        knows: 6,
        loss,
        durationMs: 8000,
        settleMs: 5000,
        forkProbability: 0.15,
        seed: 3,
        sessions: 'attach',
        crypto: createSimCrypto(crypto),
        shareBlocks,
        inspect: async (sim) => {
          stores = await contents(sim)
          // with sharing, a block held by several nodes is one object: count distinct objects
          const objects = new Set<object>()
          for (const p of sim.peers) {
            const store = p.node?.store
            if (store === undefined) continue
            for (const k of await store.agents()) for (const b of await store.range(k)) (objects.add(b), held++)
            for (const f of await store.fraudProofs()) objects.add(f)
          }
          copies = objects.size
        },
      })
      return { r, stores, copies, held }
    }
    const plain = await run(false)
    const shared = await run(true)
    const { wallMs: _a, ...a } = plain.r
    const { wallMs: _b, ...b } = shared.r
    assert.ok(a.forks >= 5, `forks: ${a.forks}`)
    assert.ok(a.transactions > 500, `transactions: ${a.transactions}`)
    assert.equal(b, a, 'the same figures')
    assert.equal(shared.stores, plain.stores, 'every store holds the same blocks and proofs')
    assert.is(shared.held, plain.held)
    // without sharing each node keeps its own copies; with it, a block many hold is one object
    assert.ok(shared.copies * 3 < plain.copies, `objects held: ${shared.copies} shared, ${plain.copies} not`)
  })
}

Shared.run()
