/**
 * Kill a payee mid-payment: Bob (a child process, channel book on LevelDB) takes receipts from
 * Alice (this process) over a WebSocket on 127.0.0.1, and is killed with SIGKILL at random moments
 * while receipts stream in — often with one accepted in memory and its put not yet on disk. After
 * each kill the book is reopened here and checked:
 * - the latest receipt on disk covers at least every total Bob acknowledged (an ack exists only
 *   after the durable put), is signed by Alice, and is one she sent;
 * - Bob restarts on the same book and takes the next receipts where he left off.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import WebSocket from 'ws'
import { blockHash, createAgent, createMemoryStore, decodeCanonical, encodeBlock, toHex } from '@tally/core'
import { createVoucherBook, createWallet, readRelease } from '@tally/economy'
import { createChannelBook, createPayer, decodeReceipt, verifyReceipt } from '@tally/economy/channels'
import { openLevelRecords } from '@tally/node'
import { alice, bob } from '../packages/economy/test/helpers.ts'
import { cert0, evidence, r0, types, w } from '../packages/economy/test/lock-fixtures.ts'

const TRIALS = Number(process.env['TALLY_CHANNEL_CRASH_TRIALS'] ?? 8)
const CHILD = join(import.meta.dirname, 'fixtures', 'payee-child.ts')
const dir = mkdtempSync(join(tmpdir(), 'tally-channel-crash-'))
const path = join(dir, 'bob-book')
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

const test = suite('channels: SIGKILL of a payee never loses an acknowledged payment')

test(`${TRIALS} kills while receipts stream over a WebSocket`, async () => {
  const wallet = createWallet({ agent: createAgent({ head: 'local', identity: alice, store: createMemoryStore(), types }), community: w.community, evidence, key: alice })
  const payer = createPayer({ wallet, key: alice, community: w.community })
  const claim = await wallet.claim({ amount: 1_000, certificate: cert0, proof: r0.proofFor(alice.publicKey)! })
  const { channel, lock } = await payer.open({ to: bob.publicKey, deposit: 1_000, expiry: 10_000_000 })
  const sent = new Set<number>()
  let acked = 0
  let killedWithUnacked = 0
  const children: ChildProcess[] = []
  try {
    for (let trial = 0; trial < TRIALS; trial++) {
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path], { stdio: ['ignore', 'pipe', 'inherit'], cwd: import.meta.dirname })
      children.push(child)
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
      const port = await new Promise<number>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => line.startsWith('listening ') && resolve(Number(line.slice(10))))
        child.on('exit', () => reject(new Error('the payee exited before listening')))
      })
      const socket = new WebSocket(`ws://127.0.0.1:${port}`)
      await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject) })
      socket.on('error', () => undefined) // the peer dies mid-stream
      const replies: string[] = []
      let outstanding = 0
      socket.on('message', (data, isBinary) => {
        if (!isBinary) return void replies.push(String(data))
        const [tag, , amount] = decodeCanonical(new Uint8Array(data as Buffer)) as [string, number, number]
        assert.is(tag, 'ack')
        acked = Math.max(acked, amount)
        outstanding--
      })
      socket.send(JSON.stringify([claim, lock].map((b) => toHex(encodeBlock(b)))))
      while (!replies.includes('admitted')) {
        assert.not.ok(replies.some((r) => r.startsWith('error')), replies.join())
        await new Promise((r) => setTimeout(r, 5))
      }
      // stream receipts, a few in flight at a time; kill at a random moment after the first ack
      const killAfter = 5 + Math.floor(Math.random() * 40)
      let killAt: number | undefined
      while (child.exitCode === null && child.signalCode === null) {
        if (killAt === undefined && acked > 0 && sent.size > 0) killAt = Date.now() + killAfter
        if (killAt !== undefined && Date.now() >= killAt) {
          if (outstanding > 0) killedWithUnacked++
          child.kill('SIGKILL')
          break
        }
        if (outstanding < 4 && socket.readyState === WebSocket.OPEN) {
          const bytes = await payer.pay(channel, 1)
          sent.add(decodeReceipt(bytes).amount)
          outstanding++
          socket.send(bytes)
        } else await new Promise((r) => setTimeout(r, 1))
      }
      await exited
      socket.terminate()
      const records = await openLevelRecords({ path })
      try {
        const stored = await createChannelBook(records).latest(channel)
        assert.ok(stored !== undefined, `trial ${trial}: nothing on disk`)
        assert.ok(stored!.amount >= acked, `trial ${trial}: acknowledged ${acked}, only ${stored!.amount} on disk`)
        assert.ok(sent.has(stored!.amount) && verifyReceipt(stored!, alice.publicKey), `trial ${trial}: a receipt Alice never sent`)
      } finally {
        await records.close()
      }
    }
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  }
  assert.ok(acked > TRIALS, `only ${acked} payments acknowledged`)
  assert.ok(killedWithUnacked > 0, 'no kill caught a receipt between arrival and acknowledgement')
})

test('a payer restarted on its LevelDB book continues its receipts: the counter and the total never go back', async () => {
  const bookPath = join(dir, 'alice-book')
  const wallet = createWallet({ agent: createAgent({ head: 'local', identity: alice, store: createMemoryStore(), types }), community: w.community, evidence, key: alice })
  await wallet.claim({ amount: 1_000, certificate: cert0, proof: r0.proofFor(alice.publicKey)! })
  let records = await openLevelRecords({ path: bookPath })
  const first = createPayer({ wallet, key: alice, community: w.community, book: createChannelBook(records) })
  const { channel } = await first.open({ to: bob.publicKey, deposit: 100, expiry: 10_000_000 })
  for (let i = 0; i < 3; i++) await first.pay(channel, 5)
  await records.close()
  records = await openLevelRecords({ path: bookPath })
  try {
    const again = createPayer({ wallet, key: alice, community: w.community, book: createChannelBook(records) })
    assert.is((await again.state(channel)).paid, 15)
    const next = decodeReceipt(await again.pay(channel, 5))
    assert.equal([next.amount, next.counter], [20, 4])
  } finally {
    await records.close()
  }
})

test('a lock payer\'s voucher book on LevelDB survives a reopen: its release still leaves what it vouched', async () => {
  const path = join(dir, 'alice-vouchers')
  let records = await openLevelRecords({ path })
  const agent = createAgent({ head: 'local', identity: alice, store: createMemoryStore(), types })
  const wallet = createWallet({ agent, community: w.community, evidence, key: alice, vouchers: createVoucherBook(records) })
  await wallet.claim({ amount: 1_000, certificate: cert0, proof: r0.proofFor(alice.publicKey)! })
  const lock = await wallet.lock({ to: bob.publicKey, amount: 300, expiry: 0 })
  await wallet.voucher(lock, 40)
  await wallet.voucher(lock, 70)
  await records.close()
  records = await openLevelRecords({ path })
  try {
    const again = createWallet({ agent, community: w.community, evidence, key: alice, vouchers: createVoucherBook(records) })
    assert.is((await createVoucherBook(records).best(blockHash(lock)))?.amount, 70)
    const release = await again.release(lock)
    assert.equal(readRelease(release.payload), { lock: lock.seq, amount: 230, balance: 930, community: w.community.id })
  } finally {
    await records.close()
  }
})

test.run()
