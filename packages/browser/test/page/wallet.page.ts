// In Chromium: a wallet in the page connects to a gateway node of a networked economy on
// 127.0.0.1 (test/wallet.test.ts runs it: three witnesses, a gateway, a shop on a listening Node
// node), signs its device's registration, claims its reward, pays the shop, survives the
// gateway dropping its session, and keeps its chain and evidence across a reload.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeBlock, fromHex, toHex } from '@tally/core'
import { createCommunity, decodeSignedConfig, epochAt, type Community } from '@tally/economy'
import { createChannelBook, createPayer } from '@tally/economy/channels'
import {
  createBrowserIdentity,
  createBrowserWallet,
  deleteBrowserIdentity,
  openBrowserIdentity,
  restoreBrowserIdentity,
  openIdbRecords,
  openIdbStore,
  type BrowserIdentity,
  type BrowserWallet,
  type ConnectionEvent,
  type TransferEvent,
  createBrowserVerifier,
} from '../../src/index.js'
import { openEvidence } from '../../src/evidence-db.js'
import { out, serve } from './harness.js'

interface Info {
  config: string
  gateway: { address: string; key: string }
  witnesses: { key: string; address: string }[]
  shop?: { address: string; key: string }
}

const NAMES = { database: 'wallet-keys', label: 'wallet', chain: 'wallet-chain', wallet: 'wallet-evidence', channels: 'wallet-channels' }
let identity: BrowserIdentity | undefined
let wallet: BrowserWallet | undefined
let community: Community | undefined
const states: ConnectionEvent[] = []
const transfers: TransferEvent[] = []
const balances: number[] = []

/** Blocks the wallets of this page had checked by their verifier, and its backend. */
let verifiedBlocks = 0
let verifiedBy = ''

function info(params: Record<string, unknown>): Info {
  return params.info as Info
}

async function open(i: Info, created: boolean, phrase?: string, extra: { settleMs?: number; reuse?: boolean } = {}): Promise<BrowserWallet> {
  community = createCommunity(decodeSignedConfig(fromHex(i.config)))
  if (extra.reuse === true && identity !== undefined) {
    // this tab's identity, already open (opening it again would queue for its own lock)
  } else if (phrase !== undefined) identity = await restoreBrowserIdentity(phrase, { database: NAMES.database, label: NAMES.label })
  else if (created) {
    const made = await createBrowserIdentity({ database: NAMES.database, label: NAMES.label })
    identity = made.identity
    out.phrase = made.phrase // to the test's Node side only, for the restore phase; never logged
  } else identity = await openBrowserIdentity({ database: NAMES.database, label: NAMES.label })
  assert.ok(identity !== undefined, 'the identity is kept')
  const store = await openIdbStore({ name: NAMES.chain })
  // the default verifier, counted: the blocks the wallet meets are checked through it
  const verifier = await createBrowserVerifier()
  verifiedBy = verifier.backend
  const w = await createBrowserWallet({
    verifier: { ...verifier, verifyBlocks: (blocks) => ((verifiedBlocks += blocks.length), verifier.verifyBlocks(blocks)) },
    gateway: i.gateway.address,
    gatewayKey: fromHex(i.gateway.key),
    community,
    identity,
    store,
    database: NAMES.wallet,
    witnesses: i.witnesses.map((x) => [fromHex(x.key), x.address] as const),
    reconnect: { initialMs: 100, maxMs: 1_000 },
    ...(extra.settleMs === undefined ? {} : { settleMs: extra.settleMs }),
  })
  w.on('state', (e) => states.push(e))
  w.on('transfer', (e) => transfers.push(e))
  w.on('balance', (e) => balances.push(e.balance))
  return w
}

/** Asserts that `fn` rejects, with a message matching `match` when given. */
async function rejects(fn: () => Promise<unknown>, match?: RegExp): Promise<void> {
  let error: unknown
  try {
    await fn()
  } catch (err) {
    error = err
  }
  assert.ok(error !== undefined, 'expected a rejection')
  if (match !== undefined) assert.match(String((error as Error)?.message ?? error), match)
}

/** Resolves when `pred` holds for the states seen so far, else after `ms` rejects. */
async function until(pred: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const started = Date.now()
  while (!(await pred())) {
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms} ms; states ${states.map((s) => s.state).join(' → ')}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

serve({
  async open(params) {
    const test = suite('a wallet in the page connects to its gateway')
    test('createBrowserWallet connects: connecting → online, the gateway key proved', async () => {
      wallet = await open(info(params), true)
      await wallet.online()
      assert.is(wallet.state, 'online')
      assert.equal(states.map((s) => s.state).slice(0, 2), ['connecting', 'online'])
      assert.is(toHex(wallet.gateway!), info(params).gateway.key)
      assert.is(await wallet.balance(), 0)
      assert.equal(await wallet.history(), [])
      out.publicKey = wallet.publicKeyHex
    })
    test('bad options are refused with errors naming them', async () => {
      const i = info(params)
      const base = { gateway: i.gateway.address, community: community!, identity: identity!, store: await openIdbStore({ name: NAMES.chain }) }
      await rejects(() => createBrowserWallet({ ...base, gateway: 'http://x' }), /"gateway"/)
      await rejects(() => createBrowserWallet({ ...base, gatewayKey: new Uint8Array(31) }), /"gatewayKey"/)
      await rejects(() => createBrowserWallet({ ...base, keepAliveMs: -1 }), /"keepAliveMs"/)
      await rejects(() => createBrowserWallet({ ...base, reconnect: { jitter: 2 } }), /"reconnect.jitter"/)
    })
    test.run()
  },

  async sign(params) {
    const test = suite('the owner signs its device registration in the page')
    test('a signature of the digest, by the non-extractable key', async () => {
      const digest = fromHex(String(params.digest))
      out.signature = toHex(await identity!.sign(digest))
    })
    test.run()
  },

  async claim(params) {
    const test = suite('claim')
    test('claims the certified epoch: reward block, balance, history, event', async () => {
      const epoch = Number(params.epoch)
      const block = await wallet!.claim(epoch)
      assert.is(block.type, 'reward')
      const balance = await wallet!.balance()
      assert.ok(balance > 0, 'a reward')
      const history = await wallet!.history()
      assert.is(history.length, 1)
      assert.is(history[0]!.kind, 'reward')
      assert.is(history[0]!.epoch, epoch)
      assert.is(history[0]!.delta, balance)
      await until(() => balances.includes(balance), 60_000, 'the balance event')
      out.balance = balance
    })
    test('a second claim of the same epoch is refused, nothing signed', async () => {
      const before = (await wallet!.history()).length
      await rejects(() => wallet!.claim(Number(params.epoch)))
      assert.is((await wallet!.history()).length, before)
    })
    test.run()
  },

  async pay(params) {
    const test = suite('pay the shop (a listening Node wallet)')
    test('send: the shop agrees, the balance drops, history says done, a transfer event', async () => {
      const i = info(params)
      const amount = Number(params.amount)
      const shop = fromHex(i.shop!.key)
      wallet!.addAddress(shop, i.shop!.address)
      const before = await wallet!.balance()
      const t = await wallet!.send(shop, amount)
      assert.is(toHex(t.agreement.publicKey), i.shop!.key)
      assert.is(await wallet!.balance(), before - amount)
      const [last] = await wallet!.history({ limit: 1 })
      assert.is(last!.kind, 'sent')
      assert.is(last!.status, 'done')
      assert.is(last!.delta, -amount)
      assert.is(last!.counterparty, i.shop!.key)
      await until(() => transfers.some((e) => e.direction === 'out' && e.amount === amount), 60_000, 'the transfer event')
      out.states = states.length
      out.transfers = transfers.length
    })
    test('a send to a wallet nobody can reach is refused before anything is signed', async () => {
      const before = await wallet!.history()
      const nobody = new Uint8Array(32).fill(7)
      await rejects(() => wallet!.send(nobody, 1), /cannot be reached.*nothing was signed/)
      assert.equal(await wallet!.history(), before)
    })
    test('a send above the balance is refused before anything is signed', async () => {
      const i = info(params)
      const before = (await wallet!.history()).length
      const balance = await wallet!.balance()
      await rejects(() => wallet!.send(fromHex(i.shop!.key), balance + 1), /balance|exceeds/)
      assert.is((await wallet!.history()).length, before)
    })
    test.run()
  },

  async receive(params) {
    const test = suite('receive from a Node wallet, through the gateway')
    test('the shop pays the page: offer and proposal arrive over the gateway session, the page agrees', async () => {
      const amount = Number(params.amount)
      const before = Number(params.since)
      await until(() => transfers.slice(before).some((e) => e.direction === 'in' && e.amount === amount), 60_000, 'the incoming transfer')
      const t = transfers.slice(before).find((e) => e.direction === 'in')!
      assert.is(toHex(t.counterparty), info(params).shop!.key)
      const [last] = await wallet!.history({ limit: 1 })
      assert.is(last!.kind, 'received')
      assert.is(last!.delta, amount)
      assert.is(last!.counterparty, info(params).shop!.key)
      assert.is(await wallet!.balance(), last!.balance)
      out.states = states.length
    })
    test('the blocks the wallet met were checked by its verifier, WebCrypto\'s in Chromium', () => {
      assert.is(verifiedBy, 'webcrypto')
      assert.ok(verifiedBlocks > 0, `${verifiedBlocks} blocks verified`)
    })
    test.run()
  },

  async 'await-reconnect'(params) {
    const test = suite('reconnect')
    test('the gateway dropped the session: offline (with a retry time), then online again', async () => {
      const seen = Number(params.since)
      await until(() => states.slice(seen).some((s) => s.state === 'offline') && wallet!.state === 'online', 60_000, 'offline then online')
      const offline = states.slice(seen).find((s) => s.state === 'offline')!
      assert.ok(typeof offline.retryInMs === 'number' && offline.retryInMs >= 0 && offline.retryInMs <= 1_000, `retryInMs ${offline.retryInMs}`)
      assert.ok(typeof offline.reason === 'string' && offline.reason.length > 0)
      // the wallet works over the new session
      assert.ok((await wallet!.balance()) > 0)
    })
    test.run()
  },

  async close() {
    const test = suite('close')
    test('close: state closed, online() rejects, sends refused', async () => {
      await wallet!.close()
      assert.is(wallet!.state, 'closed')
      await rejects(() => wallet!.online())
      await rejects(() => wallet!.send(new Uint8Array(32).fill(1), 1), /closed/)
      out.states = states.map((s) => s.state)
    })
    test.run()
  },

  async hold(params) {
    const test = suite('two tabs of one wallet: this one signs')
    test('the first tab to open the wallet holds its lock and connects', async () => {
      wallet = await open(info(params), false)
      await wallet.online()
      assert.is(identity!.role, 'signer')
    })
    test.run()
  },

  async follow(params) {
    const test = suite('two tabs of one wallet: this one follows')
    test('standby, not connected: its handshake would need the signing key; it reads the chain', async () => {
      wallet = await open(info(params), false)
      assert.is(identity!.role, 'follower')
      await until(() => states.length > 0, 60_000, 'a first state')
      assert.is(wallet.state, 'standby')
      assert.is(await wallet.balance(), Number(params.balance))
      assert.is((await wallet.history()).length, 3)
      await rejects(() => wallet!.send(fromHex(info(params).shop!.key), 1), /another tab .* is the signer/)
      await rejects(() => wallet!.claim(0), /another tab .* is the signer/)
    })
    test.run()
  },

  async 'take-over'() {
    const test = suite('two tabs of one wallet: the signing tab closed')
    test('the follower gets the lock and connects: standby → connecting → online', async () => {
      await until(() => wallet!.state === 'online', 60_000, 'online after the other tab closed')
      assert.equal(states.map((s) => s.state).slice(0, 3), ['standby', 'connecting', 'online'])
      assert.is(identity!.role, 'signer')
      await wallet!.close()
    })
    test.run()
  },

  async restore(params) {
    const test = suite('restored from the phrase on an emptied profile')
    test('key, chain and evidence gone; the phrase brings the key back, the network the chain; it signs at the right seq', async () => {
      const i = info(params)
      assert.ok(await deleteBrowserIdentity({ database: NAMES.database, label: NAMES.label }))
      for (const name of [NAMES.chain, NAMES.wallet]) {
        await new Promise<void>((resolve, reject) => {
          const r = indexedDB.deleteDatabase(name)
          r.onsuccess = () => resolve()
          r.onerror = () => reject(r.error)
        })
      }
      wallet = await open(i, false, String(params.phrase))
      assert.is(identity!.origin, 'restored')
      assert.is(wallet.publicKeyHex, String(params.publicKey))
      await wallet.online()
      const amount = 5
      // the first signature: the head comes from the gateway and the witnesses first
      const t = await wallet.send(fromHex(i.shop!.key), amount)
      assert.is(t.proposal.seq, Number(params.head) + 1, 'the next seq, not seq 1 again')
      assert.is(await wallet.balance(), Number(params.balance) - amount)
      // the blocks below the head come back too (rewards with their evidence, from the witnesses)
      await until(async () => (await wallet!.history()).length === 4, 60_000, 'the whole chain back')
      assert.equal((await wallet.history()).map((h) => h.kind), ['sent', 'received', 'sent', 'reward'])
      const reward = (await wallet.node.store.range(wallet.publicKey))[0]!
      assert.is(reward.type, 'reward')
      await wallet.close()
    })
    test.run()
  },

  async strand(params) {
    const test = suite('a transfer left in flight comes back by itself')
    test('signed but never offered (the page closed mid-send): after its expiry the wallet settles it, refunded', async () => {
      const i = info(params)
      wallet = await open(i, false, undefined, { settleMs: 300, reuse: true })
      await wallet.online()
      const before = await wallet.balance()
      const proposal = await wallet.wallet.send(fromHex(i.shop!.key), 7, { expires: Date.now() + 1_500 })
      assert.is(await wallet.balance(), before - 7)
      await until(async () => (await wallet!.history({ limit: 1 }))[0]?.kind === 'refund', 60_000, 'the refund')
      assert.is(await wallet.balance(), before)
      const [refund, sent] = await wallet.history({ limit: 2 })
      assert.is(refund!.delta, 7)
      assert.is(sent!.seq, proposal.seq)
      assert.is(sent!.status, 'refunded')
      await wallet.close()
    })
    test.run()
  },

  async channel(params) {
    const test = suite('a payment channel from the page')
    test("the page's wallet pays over a channel: a lock in its chain, receipts signed in the page", async () => {
      const i = info(params)
      wallet = await open(i, false, undefined, { reuse: true })
      await wallet.online()
      const records = await openIdbRecords({ name: NAMES.channels })
      const payer = createPayer({ wallet: wallet.wallet, key: identity!, community: community!, book: createChannelBook(records) })
      const before = await wallet.balance()
      const { channel, lock } = await payer.open({ to: fromHex(i.shop!.key), deposit: 10, expiry: epochAt(community!.current, Date.now()) + 24 })
      assert.is(await wallet.balance(), before - 10, 'the deposit is locked')
      const receipts = [await payer.pay(channel, 3), await payer.pay(channel, 4)]
      out.channel = toHex(channel)
      out.receipts = receipts.map(toHex)
      out.chain = (await wallet.node.store.range(wallet.publicKey, { to: lock.seq })).map((b) => toHex(encodeBlock(b)))
      records.close()
      await wallet.close()
    })
    test.run()
  },

  async 'channel-again'(params) {
    const test = suite('the channel after a reload')
    test('the book on IndexedDB kept the latest receipt: the next one raises the same total', async () => {
      wallet = await open(info(params), false)
      await wallet.online()
      const records = await openIdbRecords({ name: NAMES.channels })
      const book = createChannelBook(records)
      const channel = fromHex(String(params.channel))
      assert.is((await book.latest(channel))?.amount, 7, 'the latest total, kept')
      const payer = createPayer({ wallet: wallet.wallet, key: identity!, community: community!, book })
      out.receipt = toHex(await payer.pay(channel, 2))
      assert.is((await book.latest(channel))?.amount, 9)
      records.close()
      await wallet.close()
    })
    test.run()
  },

  async reopen(params) {
    const test = suite('after a reload')
    test('the same key, chain and evidence: balance and history as before, online again', async () => {
      wallet = await open(info(params), false)
      assert.is(wallet.publicKeyHex, String(params.publicKey))
      await wallet.online()
      assert.is(await wallet.balance(), Number(params.balance))
      const history = await wallet.history()
      assert.equal(history.map((h) => h.kind), ['received', 'sent', 'reward'])
      // the claim's evidence was kept: a receiver can still be shown it
      const reward = (await wallet.node.store.range(wallet.publicKey)).find((b) => b.type === 'reward')!
      const r = reward.payload as { epoch: number; amount: number; root: Uint8Array }
      assert.ok((await wallet.wallet.agent.store.get(wallet.publicKey, reward.seq)) !== undefined)
      assert.ok((await wallet.net.wallet.lastClaimedEpoch()) === r.epoch)
      const kept = await openEvidence(NAMES.wallet, community!, (err) => assert.unreachable(String(err)))
      assert.ok(kept.evidence({ owner: wallet.publicKey, epoch: r.epoch, root: r.root, amount: r.amount }) !== undefined, 'the evidence of the claim')
      // the mark is a hint written after the witnesses answered (a page closed in between shows
      // the block again when it is next online): it reaches the head
      await until(async () => (await kept.witnessed(wallet!.publicKey)) === history.length, 60_000, 'every block shown to the seq witnesses, and noted')
      kept.close()
      await wallet.close()
    })
    test.run()
  },
})
