// The page of bench/browser.ts, run in Chromium: signing and verifying per provider, appends and
// ingest into IndexedDB against the memory store in the same page and run. Not a group itself
// (files starting with '_' are not run by bench/run.mjs).
import {
  GENESIS_HASH,
  UNILATERAL_KEY,
  blockHash,
  createAgent,
  createBlockTypes,
  createMemoryStore,
  identityFromSeed,
  ingestBlocks,
  nobleCrypto,
  signBlock,
  type BlockStore,
  type HalfBlock,
  type SignatureVerifier,
} from '@tally/core'
import { createBrowserVerifier, openIdbStore, restoreBrowserIdentity, type BrowserIdentity } from '@tally/browser'

export interface BenchParams {
  /** Milliseconds per measured figure (split in slices that alternate where two are compared). */
  ms: number
  /** Blocks in the chain that is ingested. */
  ingestBlocks: number
}

export interface PageFigure {
  metric: string
  value: number
  unit: string
  [extra: string]: unknown
}

// two keys (one lock each, so both tabs' worth of identities sign here)
const PHRASE = 'legal winner thank year wave sausage worth useful legal winner thank yellow'
const NOBLE_PHRASE = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about'
const types = createBlockTypes([{ name: 'note' }])
const messages = Array.from({ length: 64 }, (_, i) => new TextEncoder().encode(`tally bench message ${i} `.repeat(2)))

/** Operations per second of `step` over `ms` milliseconds, after a short warm-up. */
async function rate(step: (i: number) => unknown, ms: number): Promise<number> {
  let i = 0
  for (const end = performance.now() + Math.min(200, ms / 4); performance.now() < end; i++) await step(i)
  const t0 = performance.now()
  let ops = 0
  while (performance.now() - t0 < ms) {
    await step(i++)
    ops++
  }
  return (ops * 1000) / (performance.now() - t0)
}

/** Two activities in alternating slices, so that drift falls on both sides of their ratio. */
async function sideBySide(a: (i: number) => Promise<unknown>, b: (i: number) => Promise<unknown>, ms: number, slices = 4): Promise<[number, number]> {
  const done = [0, 0]
  const spent = [0, 0]
  let ia = 0
  let ib = 0
  for (let s = 0; s < slices; s++) {
    for (const [k, step] of [[0, () => a(ia++)] as const, [1, () => b(ib++)] as const]) {
      const t0 = performance.now()
      while (performance.now() - t0 < ms / slices / 2) {
        await step()
        done[k]!++
      }
      spent[k]! += performance.now() - t0
    }
  }
  return [(done[0]! * 1000) / spent[0]!, (done[1]! * 1000) / spent[1]!]
}

async function signVerify(ms: number, webcrypto: BrowserIdentity, noble: BrowserIdentity): Promise<PageFigure[]> {
  const out: PageFigure[] = []
  const verifier = await createBrowserVerifier({ backend: 'webcrypto' })
  const signatures = await Promise.all(messages.map((m) => webcrypto.sign(m)))
  const webSign = await rate((i) => webcrypto.sign(messages[i % 64]!), ms)
  const nobleSign = await rate((i) => noble.sign(messages[i % 64]!), ms)
  const webVerify = await rate(async (i) => {
    if (!(await verifier.verify(signatures[i % 64]!, messages[i % 64]!, webcrypto.publicKey))) throw new Error('bad signature')
  }, ms)
  // 64 at a time, as verifyBlocks checks a chunk of blocks: the browser's crypto thread works while the page waits
  const webBatch = (await rate(async () => {
    const verdicts = await Promise.all(signatures.map((s, i) => verifier.verify(s, messages[i]!, webcrypto.publicKey)))
    if (!verdicts.every((v) => v)) throw new Error('bad signature')
  }, ms)) * 64
  const nobleVerify = await rate((i) => {
    if (!nobleCrypto.verify(signatures[i % 64]!, messages[i % 64]!, webcrypto.publicKey)) throw new Error('bad signature')
  }, ms)
  out.push({ metric: 'browser.sign_per_s', value: webSign, unit: 'ops/s', provider: 'webcrypto', how: 'BrowserIdentity.sign, non-extractable CryptoKey, awaited one at a time' })
  out.push({ metric: 'browser.sign_per_s', value: nobleSign, unit: 'ops/s', provider: 'noble', how: 'BrowserIdentity.sign, backend noble' })
  out.push({ metric: 'browser.verify_per_s', value: webVerify, unit: 'ops/s', provider: 'webcrypto', how: 'createBrowserVerifier({ backend: \'webcrypto\' }).verify (libsodium\'s checks, then crypto.subtle.verify with the imported key kept), awaited one at a time' })
  out.push({ metric: 'browser.verify_per_s', value: webBatch, unit: 'ops/s', provider: 'webcrypto', batch: 64, how: 'the same, 64 signatures awaited together (as verifyBlocks checks a chunk of blocks)' })
  out.push({ metric: 'browser.verify_per_s', value: nobleVerify, unit: 'ops/s', provider: 'noble', how: "core's nobleCrypto.verify (what validation uses)" })
  return out
}

async function appends(ms: number, identity: BrowserIdentity): Promise<PageFigure[]> {
  const idb = await openIdbStore({ name: 'bench-append' })
  const memory = createMemoryStore()
  const onIdb = createAgent({ identity, store: idb, types, head: 'local' })
  const inMemory = createAgent({ identity, store: memory, types, head: 'local' })
  const [idbRate, memoryRate] = await sideBySide((i) => onIdb.append('note', i), (i) => inMemory.append('note', i), ms * 2)
  const blocks = (await idb.latest(identity.publicKey))?.seq ?? 0
  await idb.close()
  return [
    {
      metric: 'browser.append_per_s.idb',
      value: idbRate,
      unit: 'ops/s',
      ratio_to_memory: Math.round((idbRate / memoryRate) * 1000) / 1000,
      memory_per_s: Math.round(memoryRate),
      provider: identity.backend,
      durability: 'strict',
      blocks,
    },
  ]
}

async function ingest(count: number): Promise<PageFigure[]> {
  const owner = identityFromSeed(new Uint8Array(32).fill(9))
  const chain: HalfBlock[] = []
  for (let seq = 1; seq <= count; seq++) {
    const previousHash = seq === 1 ? GENESIS_HASH : blockHash(chain[seq - 2]!)
    chain.push(signBlock({ publicKey: owner.publicKey, seq, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash, type: 'note', payload: { n: seq, memo: 'a received block' }, timestamp: 1_700_000_000_000 + seq }, owner))
  }
  const run = async (store: BlockStore, verifySignatures?: SignatureVerifier): Promise<number> => {
    const t0 = performance.now()
    const result = await ingestBlocks(chain, { store, types, ...(verifySignatures === undefined ? {} : { verifySignatures }) })
    const ms = performance.now() - t0
    if (result.accepted !== count) throw new Error(`ingest accepted ${result.accepted} of ${count}`)
    return (count * 1000) / ms
  }
  const verifier = await createBrowserVerifier({ backend: 'webcrypto' })
  const figures: PageFigure[] = []
  // noble on this thread (ingestBlocks' default), then the WebCrypto verifier (a chunk's signatures
  // awaited together: the browser's crypto thread verifies while this one stores)
  for (const [metric, verify, verifySignatures] of [
    ['browser.ingest_blocks_per_s.idb', 'noble, this thread', undefined],
    ['browser.ingest_blocks_per_s.idb.webcrypto_verify', 'createBrowserVerifier({ backend: \'webcrypto\' }).verifyBlocks', verifier.verifyBlocks],
  ] as const) {
    // memory, IndexedDB, memory again: the ratio is to the mean of the two memory runs around it
    const memoryBefore = await run(createMemoryStore(), verifySignatures)
    const idb = await openIdbStore({ name: `bench-ingest-${figures.length}` })
    const idbRate = await run(idb, verifySignatures)
    await idb.close()
    const memoryAfter = await run(createMemoryStore(), verifySignatures)
    const memoryRate = (memoryBefore + memoryAfter) / 2
    figures.push({
      metric,
      value: idbRate,
      unit: 'blocks/s',
      ratio_to_memory: Math.round((idbRate / memoryRate) * 1000) / 1000,
      memory_per_s: Math.round(memoryRate),
      blocks: count,
      verify,
    })
  }
  return figures
}

;(globalThis as { __tally?: unknown }).__tally = {
  ready: true,
  async bench(params: BenchParams): Promise<PageFigure[]> {
    const webcrypto = await restoreBrowserIdentity(PHRASE, { database: 'bench-keys-webcrypto', backend: 'webcrypto' })
    const noble = await restoreBrowserIdentity(NOBLE_PHRASE, { database: 'bench-keys-noble', backend: 'noble' })
    if (webcrypto.backend !== 'webcrypto' || webcrypto.role !== 'signer' || noble.role !== 'signer') throw new Error('the bench identities are not both signers')
    const figures = await signVerify(params.ms, webcrypto, noble)
    figures.push(...(await appends(params.ms, webcrypto)))
    figures.push(...(await ingest(params.ingestBlocks)))
    return figures
  },
}
