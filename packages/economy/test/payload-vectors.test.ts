/**
 * The balance payloads are pinned by golden vectors (test/vectors/payloads-v2.json): version 1 (no
 * community) and version 2 (every balance block names its community). The code makes exactly
 * those bytes, reads from each block the community, balance and change stored beside it, a replay
 * ends with the stored balance of each community, and the stored 'balance' fraud proofs verify —
 * while a version-2 segment that moves two communities' balances, each following its own, does not.
 */
import { readFileSync } from 'node:fs'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createMemoryStore, decodeBlock, fromHex, toHex, verifyBlock, nobleCrypto } from '@tally/core'
import { balanceEntry, replayBalance, replayedBalance, verifyBalanceFraud } from '@tally/economy'
import { payloadVectors, vectorChains } from './vectors/payloads.ts'

const Vectors = suite('balance payload golden vectors, versions 1 and 2')
const golden = JSON.parse(readFileSync(new URL('./vectors/payloads-v2.json', import.meta.url), 'utf8'))
type Row = { block: string; type: string; community: string | null; balance: number; delta: number }

Vectors('the code makes exactly the stored bytes', () => {
  assert.equal(payloadVectors(balanceEntry), golden)
})

Vectors('the stored blocks decode, verify, and read as stored: community, balance, change', () => {
  for (const version of ['v1', 'v2'] as const) {
    for (const row of golden[version].blocks as Row[]) {
      const block = decodeBlock(fromHex(row.block))
      assert.ok(verifyBlock(block), `${version} ${row.type}`)
      const e = balanceEntry(block)!
      assert.equal([block.type, e.community === undefined ? null : toHex(e.community), e.balance, e.delta], [row.type, row.community, row.balance, row.delta])
    }
  }
})

Vectors('a replay of each stored chain ends with the stored balance of each community', async () => {
  for (const version of ['v1', 'v2'] as const) {
    const blocks = (golden[version].blocks as Row[]).map((r) => decodeBlock(fromHex(r.block)))
    const store = createMemoryStore()
    const batch = store.batch()
    for (const b of blocks) batch.put(b)
    await batch.commit()
    const replay = await replayBalance(store, blocks[0]!.publicKey, blocks.length, nobleCrypto)
    assert.ok(replay.ok, version)
    if (!replay.ok) continue
    for (const [bucket, balance] of Object.entries(golden[version].balances as Record<string, number>)) {
      assert.is(replayedBalance(replay.point, bucket === '' ? undefined : fromHex(bucket)), balance, `${version} ${bucket}`)
    }
  }
})

Vectors('the stored fraud proofs verify; two communities each following its own balance prove nothing', () => {
  for (const version of ['v1', 'v2'] as const) {
    const blocks = (golden.fraud[version] as string[]).map((h) => decodeBlock(fromHex(h)))
    assert.is(verifyBalanceFraud(blocks, nobleCrypto), undefined, version)
  }
  const { named } = vectorChains()
  // ttn reward, bw reward, ttn transfer: under version 1's single balance this would not follow
  assert.is(verifyBalanceFraud(named.slice(0, 3), nobleCrypto), 'the balance follows')
  assert.is(verifyBalanceFraud(named.slice(1, 4), nobleCrypto), 'the balance follows')
  assert.match(verifyBalanceFraud(named.slice(2, 4), nobleCrypto)!, /neither at a balance block of the community nor at genesis/)
})

Vectors.run()
