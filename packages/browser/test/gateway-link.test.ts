// The wallet's gateway link (src/gateway-link.ts) in Node, against a gateway node in its own
// process over real ws on 127.0.0.1: a gateway frozen with SIGSTOP is caught by the keep-alive
// (the socket stays open, nothing answers), a gateway killed with SIGKILL is redialled with
// growing waits until it is back on the same port, and the backoff's waits stay in bounds.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { createMemoryStore, fromHex, generateIdentity } from '@tally/core'
import { createNode, systemClock, type Node } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'
import { DEFAULT_RECONNECT, GatewayLink, reconnectDelay, type ConnectionEvent } from '../src/gateway-link.ts'

const FIXTURE = join(import.meta.dirname, 'fixtures', 'gateway-process.ts')

interface Gateway {
  readonly child: ChildProcess
  readonly address: string
  readonly key: Uint8Array
}

async function startGateway(port = 0): Promise<Gateway> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })
  const [line] = (await Promise.race([once(lines, 'line'), once(child, 'exit').then(() => { throw new Error('the gateway process exited') })])) as [string]
  const ready = JSON.parse(line) as { address: string; key: string }
  return { child, address: ready.address, key: fromHex(ready.key) }
}

function kill(g: Gateway | undefined): void {
  if (g !== undefined && g.child.exitCode === null) g.child.kill('SIGKILL')
}

/** Resolves when `pred` holds of the events so far; a safety stop after `ms` (never a speed check). */
function until(events: ConnectionEvent[], pred: (e: ConnectionEvent[]) => boolean, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const check = () => {
      if (pred(events)) return resolve()
      if (Date.now() - started > ms) return reject(new Error(`${what}: not within ${ms} ms; states ${events.map((e) => e.state).join(' → ')}`))
      setTimeout(check, 20)
    }
    check()
  })
}

function client(): Node {
  return createNode({ identity: generateIdentity(), store: createMemoryStore(), transport: createWsTransport(), head: 'local' })
}

function link(node: Node, gateway: Gateway, events: ConnectionEvent[], keepAliveMs: number): GatewayLink {
  return new GatewayLink({
    node,
    address: gateway.address,
    expectedKey: gateway.key,
    reconnect: { initialMs: 100, maxMs: 800, factor: 2, jitter: 0.5 },
    keepAliveMs,
    // generous, so a slow answer on a loaded machine is never taken for a dead gateway
    keepAliveTimeoutMs: 5_000,
    clock: systemClock,
    random: Math.random,
    onState: (e) => events.push(e),
    whenSigner: undefined,
  })
}

const backoff = suite('reconnect backoff')

backoff('waits grow by the factor up to maxMs, less at most the jitter share', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
      const d = reconnectDelay(attempt, DEFAULT_RECONNECT, r)
      const base = Math.min(DEFAULT_RECONNECT.maxMs, DEFAULT_RECONNECT.initialMs * 2 ** (attempt - 1))
      return Number.isInteger(d) && d <= base && d >= Math.floor(base * (1 - DEFAULT_RECONNECT.jitter))
    }),
  )
  assert.equal([1, 2, 3, 4, 10].map((a) => reconnectDelay(a, DEFAULT_RECONNECT, 0)), [500, 1000, 2000, 4000, 30_000])
})

backoff.run()

const live = suite('the link to a gateway in another process')

live('a frozen gateway (SIGSTOP) is caught by the keep-alive; once thawed the link is online again', async () => {
  const gateway = await startGateway()
  const node = client()
  const events: ConnectionEvent[] = []
  const l = link(node, gateway, events, 200)
  try {
    l.start()
    await l.online()
    assert.equal(events.map((e) => e.state), ['connecting', 'online'])
    assert.equal(l.gateway, gateway.key)
    // alive: keep-alives come and go while nothing else happens
    await new Promise((r) => setTimeout(r, 1_000))
    assert.equal(events.map((e) => e.state), ['connecting', 'online'], 'no keep-alive failed while the gateway answered')
    gateway.child.kill('SIGSTOP')
    await until(events, (e) => e.some((x) => x.state === 'offline'), 30_000, 'offline after the freeze')
    const offline = events.find((e) => e.state === 'offline')!
    assert.ok(offline.retryInMs! >= 50 && offline.retryInMs! <= 100, `retryInMs ${offline.retryInMs}`)
    gateway.child.kill('SIGCONT')
    const seen = events.length
    await until(events, (e) => e.slice(seen).some((x) => x.state === 'online'), 60_000, 'online after the thaw')
    assert.is(l.state, 'online')
  } finally {
    await l.close()
    await node.close()
    kill(gateway)
  }
})

live('a killed gateway is redialled with growing waits until it is back on the same port', async () => {
  let gateway: Gateway | undefined = await startGateway()
  const node = client()
  const events: ConnectionEvent[] = []
  const l = link(node, gateway, events, 0)
  try {
    l.start()
    await l.online()
    const port = new URL(gateway.address).port
    gateway.child.kill('SIGKILL')
    await once(gateway.child, 'exit')
    // at least three failed dials in a row: the attempt count climbs and the waits with it
    await until(events, (e) => e.filter((x) => x.state === 'offline').length >= 4, 60_000, 'failed redials')
    const offline = events.filter((e) => e.state === 'offline')
    assert.equal(offline.slice(0, 4).map((e) => e.attempt), [1, 2, 3, 4])
    for (const e of offline) assert.ok(e.retryInMs! <= reconnectDelay(e.attempt, { initialMs: 100, maxMs: 800, factor: 2, jitter: 0.5 }, 0), `wait ${e.retryInMs} at attempt ${e.attempt}`)
    assert.ok(offline.slice(1).every((e) => typeof e.reason === 'string' && e.reason.length > 0))
    gateway = await startGateway(Number(port))
    const seen = events.length
    await until(events, (e) => e.slice(seen).some((x) => x.state === 'online'), 60_000, 'online after the restart')
    assert.is(events.at(-1)!.attempt, 0, 'a successful handshake resets the count')
  } finally {
    await l.close()
    assert.is(events.at(-1)!.state, 'closed')
    await node.close()
    kill(gateway)
  }
})

live('close during a wait ends the loop: closed, and online() rejects', async () => {
  const gateway = await startGateway()
  kill(gateway)
  await once(gateway.child, 'exit')
  const node = client()
  const events: ConnectionEvent[] = []
  const l = link(node, gateway, events, 0)
  l.start()
  await until(events, (e) => e.some((x) => x.state === 'offline'), 30_000, 'a failed dial')
  const waiting = l.online()
  await l.close()
  await node.close()
  await waiting.then(() => assert.unreachable('online() resolved after close'), (err: Error) => assert.match(err.message, /closed/))
  assert.is(l.state, 'closed')
})

live.run()
