/**
 * Tunnels through a relay, on real ws sockets on loopback: nodes that never listen (no socket
 * of their own) reach each other through a relay they both dialled; the tunnel carries an
 * end-to-end session (handshake, transactions, hosted protocols, both directions); `relay.via`
 * finds the tunnel by itself; and the relay's limits refuse with a reason: a peer not connected,
 * a node that does not relay, an end that does not accept, a sender over its rate, a tunnel whose
 * end left.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DecodeError, createMemoryStore, equalBytes, type Protocol } from '@tally/core'
import { UnreachableError, createNode, relayAddress, type Node, type NodeOptions } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'
import { crypto, identity, noteTypes } from './fixtures/node-kit.ts'
import { until } from './helpers.ts'

const test = suite('relay: tunnels between nodes that never listen')

function node(n: number, extra: Partial<NodeOptions> = {}): Node {
  return createNode({
    identity: identity(600 + n),
    store: createMemoryStore({ crypto }),
    transport: createWsTransport({ host: '127.0.0.1', port: 0 }),
    types: noteTypes(),
    head: 'local',
    transact: { timeoutMs: 5000, retryMs: 300 },
    ...extra,
  })
}

type Echo = { say: string; said: string }
const echo: Protocol<Echo> = {
  name: 'tally/test/echo/1',
  messages: {
    say: { maxBytes: 200, cost: 1, encode: (m) => m, decode: (b) => (typeof b === 'string' ? b : fail()) },
    said: { maxBytes: 200, cost: 1, encode: (m) => m, decode: (b) => (typeof b === 'string' ? b : fail()) },
  },
  handlers: { say: (m, ctx) => ({ kind: 'said', message: `${m} (heard by ${ctx.agent.publicKey[0]}, from ${ctx.peer[0]})` }) },
}

function fail(): never {
  throw new DecodeError('a string expected')
}

/**
 * Wait until `relay` has adopted a session with each of `nodes`: a dialler's connect resolves when
 * its side is up, and the relay's may follow a moment later (a tunnel asked before is refused
 * 'not-connected', as it should be).
 */
async function adopted(relay: Node, ...nodes: Node[]): Promise<void> {
  assert.ok(await until(() => nodes.every((n) => relay.peers.some((p) => equalBytes(p.publicKey, n.publicKey)))), 'the relay has every session')
}

async function reason(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
  } catch (err) {
    assert.instance(err, UnreachableError)
    return (err as UnreachableError).reason
  }
  assert.unreachable('expected an UnreachableError')
  return undefined
}

test('two nodes with no socket of their own: handshake, transactions both ways and a protocol, through the relay', async () => {
  const relay = node(0, { relay: { serve: true } })
  const a = node(1)
  const b = node(2)
  const all = [relay, a, b]
  try {
    const address = await relay.listen()
    assert.is(a.address, undefined)
    assert.is(b.address, undefined)
    await a.connect(address)
    await b.connect(address)
    await adopted(relay, a, b)
    a.host(echo)
    b.host(echo)
    const key = await a.connect(relayAddress(relay.publicKey, b.publicKey))
    assert.ok(equalBytes(key, b.publicKey))
    assert.ok(a.peers.some((p) => equalBytes(p.publicKey, b.publicKey) && p.address.startsWith('tally-relay:')))
    const tx = await a.transact(b.publicKey, 'note', 'through the relay')
    assert.ok(equalBytes(tx.agreement.publicKey, b.publicKey))
    // and back: b has a session to a (the inbound tunnel)
    const back = await b.transact(a.publicKey, 'note', 'and back')
    assert.ok(equalBytes(back.agreement.publicKey, a.publicKey))
    const handle = b.host({ ...echo, name: 'tally/test/echo/2' })
    a.host({ ...echo, name: 'tally/test/echo/2' })
    const reply = await (await handle.peer(a.publicKey)).request('say', 'hi')
    assert.is(reply.message, `hi (heard by ${a.publicKey[0]}, from ${b.publicKey[0]})`, 'the far end saw the proven key')
    assert.ok(relay.stats.relayedFrames >= 8)
    assert.ok(relay.stats.relayedBytes > 0)

    // b leaves the relay: a's tunnel session to b ends ('gone')
    const closed = new Promise<string>((resolve) => a.once('peer:close', (e) => resolve(e.reason)))
    relay.disconnect(b.publicKey)
    assert.match(await closed, /gone/)
    assert.ok(await until(() => !a.peers.some((p) => equalBytes(p.publicKey, b.publicKey))))
  } finally {
    await Promise.all(all.map((n) => n.close()))
  }
})

test('two ends that dial each other through the relay at the same moment: both get a session', async () => {
  const relay = node(20, { relay: { serve: true } })
  const a = node(21)
  const b = node(22)
  try {
    const address = await relay.listen()
    await a.connect(address)
    await b.connect(address)
    await adopted(relay, a, b)
    const failed: string[] = []
    for (const n of [a, b]) n.on('handshake:failed', (e) => void failed.push(e.reason))
    for (let round = 0; round < 5; round++) {
      // each hello crosses the other's in the relay: one tunnel of the two is kept, the same one at both ends
      const [ab, ba] = await Promise.all([a.connect(relayAddress(relay.publicKey, b.publicKey)), b.connect(relayAddress(relay.publicKey, a.publicKey))])
      assert.ok(equalBytes(ab, b.publicKey), `round ${round}: a reached b`)
      assert.ok(equalBytes(ba, a.publicKey), `round ${round}: b reached a`)
      const [x, y] = await Promise.all([a.transact(b.publicKey, 'note', `a to b ${round}`), b.transact(a.publicKey, 'note', `b to a ${round}`)])
      assert.ok(equalBytes(x.agreement.publicKey, b.publicKey) && equalBytes(y.agreement.publicKey, a.publicKey), `round ${round}: transactions both ways`)
      assert.is(a.peers.filter((p) => equalBytes(p.publicKey, b.publicKey)).length, 1, `round ${round}: one session a-b`)
      a.disconnect(b.publicKey)
      assert.ok(await until(() => !b.peers.some((p) => equalBytes(p.publicKey, a.publicKey))), `round ${round}: b saw the tunnel close`)
    }
    assert.equal(failed, [], 'the tunnel that gave way is no failed handshake')
  } finally {
    await Promise.all([relay, a, b].map((n) => n.close()))
  }
})

test('relay.via: a peer with no address is reached through a relay by itself', async () => {
  const relay = node(10, { relay: { serve: true } })
  const c = node(11, { relay: { via: [identity(612).publicKey, identity(610).publicKey] } }) // the first is no peer: skipped
  const d = node(12)
  try {
    const address = await relay.listen()
    await c.connect(address)
    await d.connect(address)
    await adopted(relay, c, d)
    const tx = await c.transact(d.publicKey, 'note', 'found by via')
    assert.ok(equalBytes(tx.agreement.publicKey, d.publicKey))
  } finally {
    await Promise.all([relay, c, d].map((n) => n.close()))
  }
})

test('refusals carry a reason: not connected, not relaying, not accepting, self', async () => {
  const relay = node(20, { relay: { serve: true } })
  const plain = node(21) // listens, does not relay
  const a = node(22)
  const shy = node(23, { relay: { accept: false } })
  try {
    const address = await relay.listen()
    const plainAddress = await plain.listen()
    await a.connect(address)
    await a.connect(plainAddress)
    await shy.connect(address)
    await shy.connect(plainAddress)
    await adopted(relay, a, shy)
    await adopted(plain, a, shy)
    assert.is(await reason(a.connect(relayAddress(relay.publicKey, identity(699).publicKey))), 'not-connected')
    assert.is(await reason(a.connect(relayAddress(plain.publicKey, shy.publicKey))), 'not-relaying')
    assert.is(await reason(a.connect(relayAddress(relay.publicKey, shy.publicKey))), 'not-accepting')
    assert.is(await reason(a.connect(relayAddress(relay.publicKey, relay.publicKey))), 'self')
    assert.ok(relay.stats.relayRefused >= 1)
    assert.ok(plain.stats.relayRefused >= 1)
    // nobody was charged for asking: the sessions are still open
    assert.ok(a.peers.some((p) => equalBytes(p.publicKey, relay.publicKey)))
    assert.ok(a.peers.some((p) => equalBytes(p.publicKey, plain.publicKey)))
  } finally {
    await Promise.all([relay, plain, a, shy].map((n) => n.close()))
  }
})

test('a sender over its rate: the tunnel closes at both ends with rate-limited', async () => {
  const relay = node(30, { relay: { serve: true, framesPerSecond: 10 } })
  const a = node(31)
  const b = node(32)
  try {
    const address = await relay.listen()
    await a.connect(address)
    await b.connect(address)
    await adopted(relay, a, b)
    const closedB = new Promise<string>((resolve) => b.on('peer:close', (e) => void (equalBytes(e.publicKey, a.publicKey) && resolve(e.reason))))
    await a.connect(relayAddress(relay.publicKey, b.publicKey))
    assert.ok(await until(() => b.peers.some((p) => equalBytes(p.publicKey, a.publicKey))), 'the tunnel is up')
    // a burst of transactions: beyond the frames of a second the relay closes the tunnel
    const sent = Array.from({ length: 30 }, (_, i) => a.transact(b.publicKey, 'note', `n${i}`).catch((e: unknown) => e))
    assert.match(await closedB, /rate-limited/)
    const results = await Promise.all(sent)
    assert.ok(results.some((r) => r instanceof Error), 'some transactions did not pass')
    assert.ok(relay.stats.relayRefused >= 1)
  } finally {
    await Promise.all([relay, a, b].map((n) => n.close()))
  }
})

test.run()
