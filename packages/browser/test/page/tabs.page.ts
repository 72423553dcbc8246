// In Chromium, two tabs of one profile with one wallet: tab A signs, tab B follows and is refused
// while A holds the signing lock, B takes over when A's tab closes, and the chain never forks.
// The Node side (tabs.test.ts) runs the phases: a-open, b-open, then a-append and b-append at
// once, closes tab A, and checks the chain from a third tab.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { blockHash, createAgent, createBlockTypes, toHex, validate, verifyBlock, type Agent, type HalfBlock } from '@tally/core'
import { createBrowserIdentity, openBrowserIdentity, openIdbStore, type BrowserIdentity, type IdbStore } from '../../src/index.js'
import { serve } from './harness.js'

const WALLET = { database: 'tabs-keys', label: 'wallet', chain: 'tabs-chain' }
const types = createBlockTypes([{ name: 'note' }])

/** This tab's wallet, kept between phases. */
let identity: BrowserIdentity | undefined
let store: IdbStore | undefined
let agent: Agent | undefined
/** Seqs of this identity's chain that this tab heard committed (by the other tab). */
const heard = new Set<number>()
let hear: (() => void) | undefined

function count(n: unknown): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw new RangeError('"n" expected a positive integer')
  return n
}

serve({
  'a-open'() {
    const test = suite('tab A opens the wallet')
    test('a new wallet: this tab, alone, is its signer', async () => {
      identity = (await createBrowserIdentity({ database: WALLET.database, label: WALLET.label })).identity
      store = await openIdbStore({ name: WALLET.chain })
      agent = createAgent({ identity, store, types, head: 'local' }) // created here: its chain is empty everywhere
      assert.is(identity.role, 'signer')
    })
    test.run()
  },

  'b-open'() {
    const test = suite('tab B opens the same wallet')
    test('the second tab is a follower and listens to the chain', async () => {
      identity = await openBrowserIdentity({ database: WALLET.database, label: WALLET.label })
      assert.ok(identity !== undefined)
      assert.is(identity.role, 'follower')
      store = await openIdbStore({ name: WALLET.chain })
      // the wallet was created in this profile and its chain is kept in this profile's IndexedDB
      agent = createAgent({ identity, store, types, head: 'local' })
      store.watch((change) => {
        for (const b of change.blocks) if (toHex(b.publicKey) === identity!.publicKeyHex) heard.add(b.seq)
        hear?.()
      })
    })
    test.run()
  },

  'a-append'(params) {
    const n = count(params.n)
    const test = suite('tab A signs')
    test(`appends ${n} blocks while tab B tries to`, async () => {
      const seqs: number[] = []
      for (let i = 1; i <= n; i++) {
        seqs.push((await agent!.append('note', `A ${i}`)).seq)
        await new Promise((resolve) => setTimeout(resolve, 0)) // let tab B's attempts interleave
      }
      assert.equal(seqs, Array.from({ length: n }, (_, i) => i + 1))
      assert.is(identity!.role, 'signer')
      // tab A is closed by the Node side now, without closing anything here, as a user closes a tab
    })
    test.run()
  },

  'b-append'(params) {
    const n = count(params.n)
    const test = suite('tab B follows, then signs')
    let refusals = 0
    test('while tab A signs, every append here is refused clearly and signs nothing', async () => {
      const first = await agent!.append('note', 'B too early').catch((err: unknown) => err)
      assert.is((first as { code?: string }).code, 'ERR_REFUSED')
      assert.is((first as { reason?: string }).reason, 'not-signer')
      refusals++
      // try again each time tab A commits, until all of A's blocks are heard
      while (heard.size < n) {
        await new Promise<void>((resolve) => (hear = resolve))
        const err = await agent!.append('note', 'B meanwhile').catch((e: unknown) => e)
        assert.is((err as { reason?: string }).reason, 'not-signer')
        refusals++
      }
      assert.ok(refusals >= 2, `refused ${refusals} times`)
      assert.is(identity!.role, 'follower')
    })
    test("this tab heard each of tab A's commits and reads them", async () => {
      assert.equal([...heard].sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i + 1))
      const latest = await store!.latest(identity!.publicKey)
      assert.is(latest?.seq, n)
      assert.is(latest?.payload, `A ${n}`)
    })
    test("when tab A's tab closes, this tab becomes the signer and continues the chain", async () => {
      await identity!.whenSigner()
      assert.is(identity!.role, 'signer')
      const seqs: number[] = []
      for (let i = 1; i <= n; i++) seqs.push((await agent!.append('note', `B ${i}`)).seq)
      assert.equal(seqs, Array.from({ length: n }, (_, i) => n + i + 1))
    })
    test.run()
  },

  check(params) {
    const n = count(params.n)
    const test = suite('a third tab reads the chain')
    test('one chain, no fork: seqs 1..2n, each linked to the one before, A then B, all valid', async () => {
      const keys = await openBrowserIdentity({ database: WALLET.database, label: WALLET.label, lock: false })
      const chainStore = await openIdbStore({ name: WALLET.chain })
      const chain: HalfBlock[] = await chainStore.range(keys!.publicKey)
      assert.equal(chain.map((b) => b.seq), Array.from({ length: 2 * n }, (_, i) => i + 1))
      assert.equal(chain.map((b) => b.payload), [...Array.from({ length: n }, (_, i) => `A ${i + 1}`), ...Array.from({ length: n }, (_, i) => `B ${i + 1}`)])
      for (let i = 1; i < chain.length; i++) assert.is(toHex(chain[i]!.previousHash), toHex(blockHash(chain[i - 1]!)), `link at ${i + 1}`)
      for (const block of chain) {
        assert.ok(verifyBlock(block))
        const result = await validate(block, { store: chainStore, types })
        assert.is(result.level, block.seq === 2 * n ? 'partial-next' : 'valid', `seq ${block.seq}: ${result.errors.map((e) => e.rule).join(', ')}`)
        assert.equal(result.fraud, [])
      }
      assert.equal(await chainStore.fraudProofs(), [])
      await chainStore.close()
    })
    test.run()
  },
})
