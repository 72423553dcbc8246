// Balances per community on a long chain (payload version 2), in process, on a memory store.
//
// - balances.far_lookup_us: balanceOf of a community whose latest balance block is 1,000 blocks
//   back (a 10,000-block chain of rewards alternating two communities in runs of 1,000, the last
//   run the other community's), each lookup after one more block of the other community was
//   appended: the per-community index, read forward from its last lookup (the first lookup walked
//   back 32 blocks, then built it). Beside it, in the same run: the lookup of the chain's latest community (its
//   latest block, O(1)) and their ratio, and the first lookup on a store the index has not seen
//   (it reads the chain once).
import { GENESIS_HASH, UNILATERAL_KEY, blockHash, createMemoryStore, identityFromSeed, nobleCrypto, signBlock, type HalfBlock } from '@tally/core'
import { balanceOf, rewardPayload } from '@tally/economy'
import { emit, knob, round } from './lib.ts'

const N = knob('BENCH_BALANCES_BLOCKS', 10_000)
const RUN = knob('BENCH_BALANCES_RUN', 1_000)
const LOOKUPS = knob('BENCH_BALANCES_LOOKUPS', 2_000)
const who = identityFromSeed(new Uint8Array(32).fill(5))
const A = new Uint8Array(32).fill(0xaa)
const B = new Uint8Array(32).fill(0xbb)

// the chain, then LOOKUPS more blocks of B appended one per lookup
const blocks: HalfBlock[] = []
const balance = { A: 0, B: 0 }
let prev: HalfBlock | undefined
for (let i = 0; i < N + 2 * LOOKUPS; i++) {
  const which = i >= N || Math.floor(i / RUN) % 2 === 1 ? 'B' : 'A'
  const payload = rewardPayload({ epoch: i, amount: 1, before: balance[which], root: new Uint8Array(32), community: which === 'A' ? A : B })
  balance[which]++
  prev = signBlock({ publicKey: who.publicKey, seq: i + 1, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: prev === undefined ? GENESIS_HASH : blockHash(prev), type: 'reward', payload, timestamp: 1_700_000_000_000 + i }, who)
  blocks.push(prev)
}
if (Math.floor((N - 1) / RUN) % 2 !== 1) throw new Error('the last run must be B\'s: pick N a multiple of 2 * RUN')

const store = createMemoryStore({ crypto: nobleCrypto })
const batch = store.batch()
for (const b of blocks.slice(0, N)) batch.put(b)
await batch.commit()

let t = performance.now()
const first = await balanceOf(store, who.publicKey, nobleCrypto, A)
const coldMs = performance.now() - t
if (first === undefined) throw new Error('the far balance is unknown')

// alternate: append a block of B, look up A (far) / B (the tip); the same appends for both
let far = 0
let tip = 0
for (let i = 0; i < 2 * LOOKUPS; i++) {
  await store.batch().put(blocks[N + i]!).commit()
  t = performance.now()
  const got = await balanceOf(store, who.publicKey, nobleCrypto, i % 2 === 0 ? A : B)
  const ms = performance.now() - t
  if (got === undefined) throw new Error('a balance is unknown')
  if (i % 2 === 0) far += ms
  else tip += ms
}
const farUs = (far * 1000) / LOOKUPS
const tipUs = (tip * 1000) / LOOKUPS
emit('balances.far_lookup_us', round(farUs, 1), 'µs', {
  tip_lookup_us: round(tipUs, 1),
  ratio_to_tip: round(farUs / tipUs, 2),
  cold_first_lookup_ms: round(coldMs, 1),
  chain_blocks: N,
  far_back_blocks: `${RUN} to ${RUN + 2 * LOOKUPS}`,
  lookups: LOOKUPS,
  crosses: 'no: in process, memory store',
  what: 'balanceOf of the community absent from the last run, after each append (the per-community index, read forward from its last lookup); the tip community\'s lookup beside it',
})
