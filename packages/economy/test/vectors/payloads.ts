/**
 * Golden vectors of the economy's balance payloads, version 1 (no community) and version 2 (every
 * balance block names its community): one chain holding two communities' tokens and a version-1
 * chain, block by block, with what the code reads from each (community, balance, change), the
 * balances a replay ends with per community, and two 'balance' fraud proofs. Deterministic (fixed
 * seeds and timestamps; Ed25519 is deterministic). `payload-vectors.test.ts` checks that the code
 * still makes exactly these bytes and reads them the same; a change of these bytes is a change of
 * the format, i.e. a new file.
 *
 * Write the file (from the repository root): node --import tsx packages/economy/test/vectors/payloads.ts --write
 */
import { writeFileSync } from 'node:fs'
import { GENESIS_HASH, UNILATERAL_KEY, blockHash, encodeBlock, identityFromSeed, signBlock, toHex, type CborValue, type HalfBlock, type SeedIdentity } from '@tally/core'

const T0 = 1_700_000_000_000

/** The vectors' keys and community ids (fixed bytes). */
export const vectorKeys = {
  alice: identityFromSeed(new Uint8Array(32).fill(0x60)),
  bob: identityFromSeed(new Uint8Array(32).fill(0x61)),
  ttn: new Uint8Array(32).fill(0xa1),
  bw: new Uint8Array(32).fill(0xb2),
}

/** A chain of signed blocks, each following the one before. */
function chain(key: SeedIdentity, blocks: { type: string; payload: CborValue; link?: Uint8Array; linkSeq?: number }[]): HalfBlock[] {
  const out: HalfBlock[] = []
  for (const [i, b] of blocks.entries()) {
    const previous = out[i - 1]
    out.push(signBlock({
      publicKey: key.publicKey,
      seq: i + 1,
      linkPublicKey: b.link ?? UNILATERAL_KEY,
      linkSeq: b.linkSeq ?? 0,
      previousHash: previous === undefined ? GENESIS_HASH : blockHash(previous),
      type: b.type,
      payload: b.payload,
      timestamp: T0 + i * 1_000,
    }, key))
  }
  return out
}

/** The chains of the vectors (signed blocks). */
export function vectorChains(): { named: HalfBlock[]; unnamed: HalfBlock[]; wrongNamed: HalfBlock[]; wrongUnnamed: HalfBlock[] } {
  const { alice, bob, ttn, bw } = vectorKeys
  const root = new Uint8Array(32).fill(0x07)
  const terms = null
  // one chain, two communities' tokens: each balance is alice's in the community the block names
  const named = chain(alice, [
    { type: 'reward', payload: { epoch: 7, amount: 1_000, balance: 1_000, root, community: ttn } },
    { type: 'reward', payload: { epoch: 7, amount: 500, balance: 500, root: new Uint8Array(32).fill(0x08), community: bw } },
    { type: 'transfer', payload: { amount: 100, balance: 900, community: ttn }, link: bob.publicKey },
    { type: 'transfer', payload: { amount: 50, balance: 450, community: bw }, link: bob.publicKey },
    { type: 'lock', payload: { amount: 200, to: bob.publicKey, terms, expiry: 9, balance: 700, community: ttn } },
    { type: 'release', payload: { lock: 5, amount: 200, balance: 900, community: ttn } },
    { type: 'burn', payload: { amount: 25, balance: 425, community: bw } },
  ])
  // version 1: the same moves, no community named: one balance
  const unnamed = chain(bob, [
    { type: 'reward', payload: { epoch: 7, amount: 1_000, balance: 1_000, root } },
    { type: 'transfer', payload: { amount: 100, balance: 900 }, link: alice.publicKey },
    { type: 'lock', payload: { amount: 200, to: alice.publicKey, terms, expiry: 9, balance: 700 } },
    { type: 'release', payload: { lock: 3, amount: 200, balance: 900 } },
    { type: 'burn', payload: { amount: 25, balance: 875 } },
  ])
  // a transfer in bw that spends as if ttn's balance were bw's: fraud, proven by the segment from bw's last balance block
  const wrongNamed = chain(alice, [
    { type: 'reward', payload: { epoch: 7, amount: 1_000, balance: 1_000, root, community: ttn } },
    { type: 'reward', payload: { epoch: 7, amount: 500, balance: 500, root: new Uint8Array(32).fill(0x08), community: bw } },
    { type: 'transfer', payload: { amount: 900, balance: 600, community: bw }, link: bob.publicKey },
  ])
  const wrongUnnamed = chain(bob, [
    { type: 'reward', payload: { epoch: 7, amount: 1_000, balance: 1_000, root } },
    { type: 'transfer', payload: { amount: 100, balance: 950 }, link: alice.publicKey },
  ])
  return { named, unnamed, wrongNamed, wrongUnnamed }
}

/** The vectors, as JSON-ready values (byte strings in lowercase hex). */
export function payloadVectors(read: (b: HalfBlock) => { community?: Uint8Array; balance: number; delta: number } | undefined): Record<string, unknown> {
  const { alice, bob, ttn, bw } = vectorKeys
  const { named, unnamed, wrongNamed, wrongUnnamed } = vectorChains()
  const rows = (blocks: HalfBlock[]) => blocks.map((b) => {
    const e = read(b)
    return { block: toHex(encodeBlock(b)), type: b.type, community: e?.community === undefined ? null : toHex(e.community), balance: e?.balance ?? null, delta: e?.delta ?? null }
  })
  return {
    format: 'tally economy balance payloads v1 and v2',
    alice: toHex(alice.publicKey),
    bob: toHex(bob.publicKey),
    communities: { ttn: toHex(ttn), bw: toHex(bw) },
    v2: { blocks: rows(named), balances: { [toHex(ttn)]: 900, [toHex(bw)]: 425 } },
    v1: { blocks: rows(unnamed), balances: { '': 875 } },
    fraud: {
      v2: wrongNamed.slice(1).map((b) => toHex(encodeBlock(b))),
      v1: wrongUnnamed.map((b) => toHex(encodeBlock(b))),
    },
  }
}

if (process.argv.includes('--write')) {
  const { balanceEntry } = await import('@tally/economy')
  writeFileSync(new URL('./payloads-v2.json', import.meta.url), JSON.stringify(payloadVectors(balanceEntry), null, 2) + '\n')
}
