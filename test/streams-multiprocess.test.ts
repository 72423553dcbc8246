/**
 * The data-stream market across processes: a seller (the sensor's owner), a relay and a buyer,
 * each a real gossip node in its own process, on ws over loopback (test/fixtures/streams-process.ts).
 * The listing spreads to the buyer, who finds it by area; without a payment it gets no key; it
 * pays with a real transfer the seller's agent countersigns, gets the period's key sealed to its
 * X25519 key, and reads the stream live through the relay — which holds every message and reads
 * none. When the relay starts tampering, the buyer catches it and goes on from the seller; the
 * next period, not paid for, is not readable and its key is refused ('lapsed').
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'

const script = fileURLToPath(new URL('./fixtures/streams-process.ts', import.meta.url))

interface Child {
  readonly key: string
  readonly address: string
  readonly process: ChildProcess
  call(cmd: string, args?: Record<string, unknown>): Promise<Record<string, unknown>>
  stop(): Promise<number | null>
}

function spawnParty(role: string, seed: number): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, role, String(seed)], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } })
  const waiting = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>()
  let nextId = 0
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let m: Record<string, unknown>
      try {
        m = JSON.parse(line) as Record<string, unknown>
      } catch {
        return
      }
      if (m['ready'] === true) {
        resolve({
          key: m['key'] as string,
          address: m['address'] as string,
          process: child,
          call(cmd, more = {}) {
            const id = ++nextId
            child.stdin!.write(JSON.stringify({ id, cmd, ...more }) + '\n')
            return new Promise((res, rej) => waiting.set(id, { resolve: res, reject: rej }))
          },
          async stop() {
            child.stdin!.end()
            const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
            const code = await exited
            clearTimeout(timer)
            return code
          },
        })
        return
      }
      const w = waiting.get(m['id'] as number)
      if (w === undefined) return
      waiting.delete(m['id'] as number)
      if (m['error'] !== undefined) w.reject(Object.assign(new Error(String(m['message'])), { name: String(m['error']), reason: m['reason'] }))
      else w.resolve(m)
    })
    exited.then((code) => reject(new Error(`${role} process exited early (${code})`)))
  })
}

async function until(check: () => Promise<boolean>, ms = 15_000, everyMs = 50): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, everyMs))
  }
  return check()
}

const reasonOf = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'resolved', (e: { reason?: unknown }) => e.reason)

const Multi = suite('streams: seller, relay and buyer in separate processes over ws')

Multi('find by area, no pay no key, pay and read through a relay that reads nothing, catch it tampering, lapse', async () => {
  const parties = await Promise.all([spawnParty('seller', 61), spawnParty('relay', 62), spawnParty('buyer', 3)])
  const [seller, relay, buyer] = parties as [Child, Child, Child]
  try {
    assert.is(new Set(parties.map((p) => p.process.pid)).size, 3, 'three processes')
    await relay.call('connect', { address: seller.address })
    await buyer.call('connect', { address: relay.address })
    await buyer.call('connect', { address: seller.address })
    const { sensor } = (await seller.call('list', { lat: 45_070_000, lon: 7_686_000, price: 10 })) as { sensor: string }

    // the listing reaches the buyer by gossip; found by area and kind
    let found: { sensor: string; owner: string }[] = []
    assert.ok(
      await until(async () => {
        found = (await buyer.call('search', { lat: 45_071_000, lon: 7_686_500, meters: 500, kind: 'air-quality' }))['found'] as typeof found
        return found.length === 1
      }),
      'the buyer finds the listing',
    )
    assert.equal(found[0], { sensor, owner: seller.key, device: 'sensor-61', served: [seller.address] })
    assert.equal((await buyer.call('search', { lat: 46_000_000, lon: 7_686_500, meters: 500, kind: 'air-quality' }))['found'], [], 'not elsewhere')

    // no payment, no key
    assert.is(await reasonOf(buyer.call('subscribe', { seller: seller.key, sensor, payment: 1 })), 'not-paid')
    // a real transfer: the buyer claims its reward, pays one period (10); the seller's agent countersigns
    await buyer.call('claim')
    const { seq } = (await buyer.call('pay', { to: seller.key, amount: 10 })) as { seq: number }
    await relay.call('relay', { upstream: seller.key, sensor })
    const sub = await buyer.call('subscribe', { seller: seller.key, sensor, payment: seq })
    assert.equal({ period: sub['period'], start: sub['start'] }, { period: 0, start: 1 })
    assert.is(await reasonOf(buyer.call('subscribe', { seller: seller.key, sensor, payment: seq })), 'payment-used')

    // live, through the relay
    await buyer.call('follow', { sources: [relay.key, seller.key], sensor })
    await seller.call('publish', { count: 5 })
    const results = async () => (await buyer.call('results')) as { read: string[]; failures: { reason: string; seq: number; from: string }[] }
    assert.ok(await until(async () => (await results()).read.length === 5), 'five readings through the relay')
    assert.equal((await results()).read, [1, 2, 3, 4, 5].map((n) => JSON.stringify({ n })))
    // the relay holds them all and reads none
    const peek = await relay.call('peek', { sensor })
    assert.is(peek['held'], 5)
    assert.equal(peek['reasons'], Array(5).fill('no-key'))

    // the relay tampers: caught at the first altered message, the buyer goes on from the seller
    await relay.call('tamper', { on: true })
    await seller.call('publish', { count: 3 })
    assert.ok(await until(async () => (await results()).read.length === 8), 'all eight read, the last three from the seller')
    const r = await results()
    assert.equal(r.read.slice(5), [6, 7, 8].map((n) => JSON.stringify({ n })))
    assert.equal(r.failures, [{ reason: 'tampered', seq: 6, from: relay.key }])

    // period 1 is not paid for: its messages arrive and do not open; its key is refused
    await seller.call('publish', { count: 2, period: 1 })
    assert.ok(await until(async () => (await results()).failures.length === 3))
    assert.equal((await results()).failures.slice(1).map((f) => [f.reason, f.seq]), [['no-key', 9], ['no-key', 10]])
    assert.is(await reasonOf(buyer.call('key', { seller: seller.key, sensor, period: 1 })), 'lapsed')
    assert.is((await results()).read.length, 8)
  } finally {
    const codes = await Promise.all(parties.map((p) => p.stop()))
    assert.equal(codes, [0, 0, 0], 'every process closed its node and exited cleanly')
  }
})

Multi.run()
