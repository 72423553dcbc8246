/**
 * The protocol host: application protocols (core's `Protocol`) over the node's one `app` message.
 * Request and reply, one-way messages, refusals with a reason, the host's checks before any
 * handler (unknown protocol or kind, a body over its limit, a body that is not canonical CBOR, a
 * decoder that throws: each costs its sender what a malformed frame costs, and nothing reaches the
 * handler), each kind's rate cost, a handler that throws, two protocols side by side, hooks,
 * close(); on the memory network, and once over ws on loopback.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DecodeError, RefusedError, createMemoryStore, encodeCanonical, equalBytes, toHex, type PeerContext, type Protocol } from '@tally/core'
import { createNode, createSession, performHandshake, type MemoryNetwork, type Node, type Session, type SessionMessage } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'
import { crypto, identity, link, memoryNodes, noteTypes, settle } from './fixtures/node-kit.ts'

// ## A protocol to test with

type Calc = { add: readonly [number, number]; sum: number; note: string; heavy: number }

const uint = (v: unknown, what: string): number => {
  if (typeof v !== 'number' || v < 0) throw new TypeError(`${what}: expected a uint`)
  return v
}

/** Adds two numbers on request (refuses 99, throws on 13); keeps the notes it is sent. */
function calc(seen: { notes: string[]; heavy: number; adds: number; from: Uint8Array[] }, name = 'test/calc/1'): Protocol<Calc> {
  return {
    name,
    messages: {
      add: {
        maxBytes: 32,
        cost: 1,
        encode: (m) => [m[0], m[1]],
        decode: (v) => {
          if (!Array.isArray(v) || v.length !== 2) throw new TypeError('add: expected [a, b]')
          return [uint(v[0], 'add[0]'), uint(v[1], 'add[1]')] as const
        },
      },
      sum: { maxBytes: 16, cost: 1, encode: (n) => n, decode: (v) => uint(v, 'sum') },
      note: {
        maxBytes: 64,
        cost: 1,
        encode: (s) => s,
        decode: (v) => {
          if (typeof v !== 'string') throw new TypeError('note: expected text')
          return v
        },
      },
      heavy: { maxBytes: 16, cost: 100, encode: (n) => n, decode: (v) => uint(v, 'heavy') },
    },
    handlers: {
      add: ([a, b], peer) => {
        seen.adds++
        seen.from.push(peer.peer)
        if (a === 99) throw new RefusedError('99 is not for adding', { reason: 'no-99s' })
        if (a === 13) throw new Error('unlucky')
        return { kind: 'sum', message: a + b }
      },
      note: (text, peer) => {
        seen.notes.push(text)
        seen.from.push(peer.peer)
      },
      heavy: () => {
        seen.heavy++
      },
    },
  }
}

const fresh = (): { notes: string[]; heavy: number; adds: number; from: Uint8Array[] } => ({ notes: [], heavy: 0, adds: 0, from: [] })

/** Two nodes on a memory network, linked, no pull gossip (nothing else on the wire). */
async function pair(): Promise<{ net: MemoryNetwork; a: Node; b: Node }> {
  const { net, nodes } = await memoryNodes(2, { node: { head: 'local', gossip: { pullIntervalMs: 0 } }, seedBase: 120 })
  await link(net, nodes, [[0, 1]])
  return { net, a: nodes[0]!, b: nodes[1]! }
}

/** A raw authenticated session to `node`, sending whatever a test likes; `closed()` says how it ended. */
async function rawPeer(net: MemoryNetwork, node: Node, seed: number): Promise<{ session: Session; got: SessionMessage[]; closed: () => string | undefined }> {
  const me = identity(seed)
  const conn = await settle(net, net.transport().connect(node.address!))
  const r = await settle(net, performHandshake(conn, { identity: me, clock: net.clock }))
  await net.clock.runFor(200)
  let closed: string | undefined
  const got: SessionMessage[] = []
  const session = createSession(conn, {
    peerKey: r.peerKey,
    clock: net.clock,
    // sessions are encrypted: the raw peer seals what it sends with the handshake's keys
    cipher: r.cipher,
    sessionId: r.sessionId,
    version: r.version,
    onMessage: (m) => {
      got.push(m)
      // a version 2 peer acknowledges what asks for an ack (or the node sends it again)
      if ('ack' in m && m.ack !== undefined) session.send({ type: 'ack', id: m.ack })
    },
    onClose: (info) => void (closed = `${info.code} ${info.reason}`),
  })
  await net.clock.runFor(200)
  return { session, got, closed: () => closed }
}

/** Why `node` cut off `key` (its peer:close misbehaviour), once it did. */
function watchMisbehaviour(node: Node): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>()
  node.on('peer:close', (e) => out.set(toHex(e.publicKey), e.misbehaviour))
  return out
}

// ## Request, reply, one-way, refusals

const Host = suite('protocol host: messages')

Host('request and reply: the handler gets the message and a context of the asking peer', async () => {
  const { net, a, b } = await pair()
  const seen = fresh()
  b.host(calc(seen))
  const handle = a.host(calc(fresh()))
  const peer = await settle(net, handle.peer(b.publicKey))
  assert.ok(equalBytes(peer.peer, b.publicKey))
  assert.is(peer.agent, a.agent)
  assert.is(peer.store, a.store)
  assert.is(peer.clock, net.clock)
  const reply = await settle(net, peer.request('add', [2, 3]))
  assert.equal(reply, { kind: 'sum', message: 5 })
  assert.is(seen.adds, 1)
  assert.ok(equalBytes(seen.from[0]!, a.publicKey), "the handler's context is the requester")
})

Host('one-way: send() delivers to the handler, whose return value goes nowhere', async () => {
  const { net, a, b } = await pair()
  const seen = fresh()
  b.host(calc(seen))
  const [peer] = a.host(calc(fresh())).peers()
  assert.ok(peer !== undefined && equalBytes(peer.peer, b.publicKey), 'peers() lists the connected peer')
  assert.ok(peer!.send('note', 'hello'))
  assert.ok(peer!.send('note', 'again'))
  await net.clock.runFor(500)
  assert.equal(seen.notes, ['hello', 'again'])
  assert.throws(() => peer!.send('nope' as 'note', 'x'), TypeError, 'a kind the protocol lacks is a caller mistake')
  assert.throws(() => peer!.send('note', 'x'.repeat(100)), RangeError, 'so is a message over its maxBytes')
})

Host("a handler's RefusedError reaches the requester with the same reason", async () => {
  const { net, a, b } = await pair()
  b.host(calc(fresh()))
  const peer = await settle(net, a.host(calc(fresh())).peer(b.publicKey))
  const err = await settle(net, peer.request('add', [99, 1])).catch((e: unknown) => e)
  assert.instance(err, RefusedError)
  assert.is((err as RefusedError).reason, 'no-99s')
  assert.is((err as RefusedError).code, 'ERR_REFUSED')
})

Host("a handler that throws: an 'internal' refusal, the node's error event, and the node goes on", async () => {
  const { net, a, b } = await pair()
  const errors: { error: unknown; context: string }[] = []
  b.on('error', (e) => errors.push(e))
  b.host(calc(fresh()))
  const peer = await settle(net, a.host(calc(fresh())).peer(b.publicKey))
  const err = await settle(net, peer.request('add', [13, 1])).catch((e: unknown) => e)
  assert.instance(err, RefusedError)
  assert.is((err as RefusedError).reason, 'internal')
  assert.is(errors.length, 1)
  assert.is((errors[0]!.error as Error).message, 'unlucky')
  assert.match(errors[0]!.context, /test\/calc\/1/)
  assert.equal(await settle(net, peer.request('add', [1, 1])), { kind: 'sum', message: 2 }, 'still serving')
  assert.is(a.peers.length, 1, 'the requester was not charged for it')
})

Host('a request to a node that does not host the protocol is refused: unknown-protocol', async () => {
  const { net, a, b } = await pair()
  const peer = await settle(net, a.host(calc(fresh())).peer(b.publicKey))
  const err = await settle(net, peer.request('add', [1, 2])).catch((e: unknown) => e)
  assert.instance(err, RefusedError)
  assert.is((err as RefusedError).reason, 'unknown-protocol')
})

Host('two protocols side by side: each message reaches its own', async () => {
  const { net, a, b } = await pair()
  const one = fresh()
  const two = fresh()
  b.host(calc(one, 'test/calc/1'))
  b.host({ ...calc(two, 'test/calc/2'), handlers: { ...calc(two, 'test/calc/2').handlers, add: ([x, y]) => ({ kind: 'sum', message: x * y }) } })
  const p1 = await settle(net, a.host(calc(fresh(), 'test/calc/1')).peer(b.publicKey))
  const p2 = await settle(net, a.host(calc(fresh(), 'test/calc/2')).peer(b.publicKey))
  assert.equal(await settle(net, p1.request('add', [3, 4])), { kind: 'sum', message: 7 })
  assert.equal(await settle(net, p2.request('add', [3, 4])), { kind: 'sum', message: 12 })
  p1.send('note', 'one')
  p2.send('note', 'two')
  await net.clock.runFor(500)
  assert.equal([one.notes, two.notes], [['one'], ['two']])
})

Host('a reply that fails the checks rejects with DecodeError and costs its sender', async () => {
  const { net, nodes } = await memoryNodes(1, { node: { head: 'local', gossip: { pullIntervalMs: 0 } }, seedBase: 130 })
  const node = nodes[0]!
  const raw = await rawPeer(net, node, 131)
  // the raw peer answers every app request with a body its decoder refuses
  raw.session.onMessage((m, s) => {
    if (m.type === 'app' && m.requestId > 0) s.reply(m, { type: 'app', reply: true, protocol: m.protocol, kind: 'sum', body: encodeCanonical('not a number') })
  })
  const peer = await settle(net, node.host(calc(fresh())).peer(identity(131).publicKey))
  const err = await settle(net, peer.request('add', [1, 2])).catch((e: unknown) => e)
  assert.instance(err, DecodeError)
  assert.match((err as Error).message, /reply/)
})

// ## The checks before a handler

const Checks = suite('protocol host: checks before any handler, charged as malformed frames')

/**
 * A bad app message sent to a node hosting calc: a request carrying it is refused with `reason`;
 * `keep` copies at once leave a peer's session open, one more closes it for misbehaviour (why:
 * `misbehaviour`); no handler ever runs. (Three raw peers: the score decays with time, so the
 * copies go out at one instant.)
 */
async function charged(bad: { protocol?: string; kind: string; body: Uint8Array }, reason: string, keep: number, misbehaviour: RegExp): Promise<void> {
  const { net, nodes } = await memoryNodes(1, { node: { head: 'local', gossip: { pullIntervalMs: 0 } }, seedBase: 140 })
  const node = nodes[0]!
  const seen = fresh()
  node.host(calc(seen))
  const cut = watchMisbehaviour(node)
  const message = { type: 'app', reply: false, protocol: bad.protocol ?? 'test/calc/1', kind: bad.kind, body: bad.body } as const
  const asker = await rawPeer(net, node, 141)
  const answer = await settle(net, asker.session.request(message))
  assert.is(answer.type === 'error' ? answer.reason : answer.type, reason, 'the request is refused with the reason')
  const [under, over] = [await rawPeer(net, node, 142), await rawPeer(net, node, 143)]
  for (let i = 0; i < keep; i++) under.session.send({ ...message, requestId: 0 })
  for (let i = 0; i <= keep; i++) over.session.send({ ...message, requestId: 0 })
  await net.clock.runFor(300)
  assert.is(under.closed(), undefined, `${keep} of them leave the session open`)
  assert.match(over.closed() ?? '', /^1008/, 'one more closes it for misbehaviour')
  assert.match(cut.get(identity(143).publicKeyHex) ?? '', misbehaviour)
  assert.equal([seen.adds, seen.notes.length, seen.heavy], [0, 0, 0], 'no handler ever ran')
}

Checks('an unknown protocol costs 20, as an unknown message type', async () => {
  await charged({ protocol: 'test/nobody/1', kind: 'add', body: encodeCanonical([1, 2]) }, 'unknown-protocol', 4, /malformed message \(unknown-type/)
})

Checks('an unknown kind costs 20', async () => {
  await charged({ kind: 'mul', body: encodeCanonical([1, 2]) }, 'unknown-kind', 4, /malformed message \(unknown-type/)
})

Checks("a body over the kind's maxBytes costs 50, as an oversized frame", async () => {
  await charged({ kind: 'note', body: encodeCanonical('x'.repeat(100)) }, 'too-large', 1, /malformed message \(too-large/)
})

Checks('a body that is not canonical CBOR costs 20', async () => {
  // 1 as a one-byte-argument uint (0x18 0x01): valid CBOR, not its canonical form (0x01)
  await charged({ kind: 'sum', body: Uint8Array.of(0x18, 0x01) }, 'malformed', 4, /malformed message \(malformed/)
})

Checks('a body its decoder throws on costs 20', async () => {
  await charged({ kind: 'add', body: encodeCanonical('not a pair') }, 'malformed', 4, /malformed message \(bad-field: .*add: expected \[a, b\]/)
})

Checks("a kind that reads its own bytes (readBytes): the handler gets what it read, the generic decoder never runs, and what it refuses costs 20", async () => {
  const { net, nodes } = await memoryNodes(1, { node: { head: 'local', gossip: { pullIntervalMs: 0 } }, seedBase: 155 })
  const node = nodes[0]!
  const read: Uint8Array[] = []
  const got: string[] = []
  // a kind whose body is a canonical byte string of 1-23 bytes (one head byte 0x41..0x57); its
  // generic decode must never run, so it throws
  const raw = {
    name: 'test/raw/1',
    messages: {
      blob: {
        maxBytes: 24,
        cost: 1,
        encode: (b: Uint8Array) => b,
        decode: (): Uint8Array => {
          throw new Error('the generic decode ran')
        },
        readBytes: (body: Uint8Array): Uint8Array => {
          read.push(body)
          if (body[0]! < 0x41 || body[0]! > 0x57 || body.length !== 1 + (body[0]! - 0x40)) throw new DecodeError('blob: expected a byte string of 1-23 bytes')
          return body.subarray(1)
        },
      },
      ok: { maxBytes: 8, cost: 1, encode: (s: string) => s, decode: (v: unknown) => String(v) },
    },
    handlers: {
      blob: (b: Uint8Array) => {
        got.push(toHex(b))
        return { kind: 'ok' as const, message: 'ok' }
      },
    },
  } as Protocol<{ blob: Uint8Array; ok: string }>
  node.host(raw)
  const cut = watchMisbehaviour(node)
  const asker = await rawPeer(net, node, 156)
  const answer = await settle(net, asker.session.request({ type: 'app', reply: false, protocol: 'test/raw/1', kind: 'blob', body: encodeCanonical(Uint8Array.of(1, 2, 3)) }))
  assert.equal(answer.type === 'app' ? answer.kind : answer.type, 'ok')
  assert.equal(got, ['010203'], 'the handler got what readBytes read')
  // a body readBytes refuses: refused 'malformed', charged 20 (five close the session)
  const refused = await settle(net, asker.session.request({ type: 'app', reply: false, protocol: 'test/raw/1', kind: 'blob', body: encodeCanonical('text') }))
  assert.equal(refused.type === 'error' ? refused.reason : refused.type, 'malformed')
  const over = await rawPeer(net, node, 157)
  for (let i = 0; i < 5; i++) over.session.send({ type: 'app', requestId: 0, reply: false, protocol: 'test/raw/1', kind: 'blob', body: encodeCanonical(7) })
  await net.clock.runFor(300)
  assert.match(over.closed() ?? '', /^1008/)
  assert.match(cut.get(identity(157).publicKeyHex) ?? '', /malformed message \(malformed: .*blob: expected a byte string/)
  // a body over maxBytes never reaches readBytes
  const before = read.length
  const big = await settle(net, asker.session.request({ type: 'app', reply: false, protocol: 'test/raw/1', kind: 'blob', body: new Uint8Array(40) }))
  assert.equal(big.type === 'error' ? big.reason : big.type, 'too-large')
  assert.is(read.length, before)
  assert.equal(got, ['010203'], 'no other message reached the handler')
  assert.throws(() => node.host({ ...raw, name: 'test/raw/2', messages: { ...raw.messages, blob: { ...raw.messages.blob, readBytes: 7 } } } as never), TypeError, 'a readBytes that is no function')
})

Checks('a kind without a handler, sent unasked, is refused: no-handler', async () => {
  const { net, nodes } = await memoryNodes(1, { node: { head: 'local', gossip: { pullIntervalMs: 0 } }, seedBase: 150 })
  nodes[0]!.host(calc(fresh()))
  const raw = await rawPeer(net, nodes[0]!, 151)
  const answer = await settle(net, raw.session.request({ type: 'app', reply: false, protocol: 'test/calc/1', kind: 'sum', body: encodeCanonical(3) }))
  assert.equal(answer.type === 'error' ? [answer.code, answer.reason] : answer.type, ['refused', 'no-handler'])
  assert.ok(raw.session.open, 'an unexpected message costs less than a malformed one')
})

Checks("each message takes its kind's cost from the sender's message rate", async () => {
  const { net, a, b } = await pair()
  const seen = fresh()
  b.host(calc(seen))
  const [peer] = a.host(calc(fresh())).peers()
  // a burst of 400 tokens: four messages of cost 100 fit, the fifth is dropped unhandled
  for (let i = 0; i < 5; i++) peer!.send('heavy', i)
  await net.clock.runFor(300)
  assert.is(seen.heavy, 4)
  await net.clock.runFor(5000) // the bucket refills
  for (let i = 0; i < 5; i++) peer!.send('note', String(i))
  await net.clock.runFor(300)
  assert.is(seen.notes.length, 5, 'five messages of cost 1 all fit')
  assert.is(b.peers.length, 1, 'a dropped message costs a little, not a disconnect')
})

// ## Hosting

const Hosting = suite('protocol host: hosting, hooks, close')

Hosting('names are checked, and a name is hosted once', async () => {
  const { nodes } = await memoryNodes(1, { node: { head: 'local' }, seedBase: 160 })
  const node = nodes[0]!
  for (const name of ['', 'Upper/1', 'x'.repeat(65), 'sp ace', 'ünï']) assert.throws(() => node.host(calc(fresh(), name)), RangeError, `refuses ${JSON.stringify(name)}`)
  assert.throws(() => node.host({ ...calc(fresh()), name: 7 as unknown as string }), TypeError)
  node.host(calc(fresh(), 'a/b.c_d-1'))
  assert.throws(() => node.host(calc(fresh(), 'a/b.c_d-1')), RangeError, 'a duplicate')
  assert.throws(() => node.host({ ...calc(fresh(), 'x/1'), handlers: { mul: () => undefined } as never }), RangeError, 'a handler for a kind it lacks')
  const big = calc(fresh(), 'x/2')
  assert.throws(() => node.host({ ...big, messages: { ...big.messages, note: { ...big.messages.note, maxBytes: 1 << 20 } } }), RangeError, 'a body no frame holds')
  assert.throws(() => node.host({ ...big, messages: { ...big.messages, note: { ...big.messages.note, cost: -1 } } }), RangeError)
  await node.close()
})

Hosting('onPeer and onPeerGone: for peers already there, peers that come, peers that go', async () => {
  const { net, nodes } = await memoryNodes(3, { node: { head: 'local', gossip: { pullIntervalMs: 0 } }, seedBase: 170 })
  await link(net, nodes, [[0, 1]])
  const came: string[] = []
  const went: string[] = []
  const hex = toHex
  const handle = nodes[0]!.host({
    ...calc(fresh()),
    onPeer: (peer: PeerContext<Calc>) => void came.push(hex(peer.peer)),
    onPeerGone: (key: Uint8Array) => void went.push(hex(key)),
  })
  assert.equal(came, [hex(nodes[1]!.publicKey)], 'the peer already connected, at once')
  await link(net, nodes, [[0, 2]])
  assert.equal(came, [hex(nodes[1]!.publicKey), hex(nodes[2]!.publicKey)])
  assert.is(handle.peers().length, 2)
  nodes[0]!.disconnect(nodes[1]!.publicKey)
  await net.clock.runFor(500)
  assert.equal(went, [hex(nodes[1]!.publicKey)])
  handle.close()
  assert.equal(went, [hex(nodes[1]!.publicKey), hex(nodes[2]!.publicKey)], 'closing says goodbye to the rest')
  assert.equal(handle.peers(), [])
})

Hosting('close(): later messages are refused without a charge, and the name can be hosted again', async () => {
  const { net, a, b } = await pair()
  const seen = fresh()
  const hosted = b.host(calc(seen))
  const peer = await settle(net, a.host(calc(fresh())).peer(b.publicKey))
  assert.equal(await settle(net, peer.request('add', [1, 1])), { kind: 'sum', message: 2 })
  hosted.close()
  hosted.close() // idempotent
  const err = await settle(net, peer.request('add', [1, 1])).catch((e: unknown) => e)
  assert.instance(err, RefusedError)
  assert.is((err as RefusedError).reason, 'unknown-protocol')
  for (let i = 0; i < 10; i++) peer.send('note', 'late')
  await net.clock.runFor(500)
  assert.is(a.peers.length, 1, 'messages of a protocol just closed do not cost a disconnect')
  assert.is(seen.notes.length, 0)
  const rejection = await hosted.peer(a.publicKey).catch((e: unknown) => e)
  assert.is((rejection as Error).name, 'ClosedError')
  b.host(calc(seen))
  assert.equal(await settle(net, peer.request('add', [2, 2])), { kind: 'sum', message: 4 }, 'hosted again')
})

Hosting('handle.peer() dials a peer whose address is known, and rejects one it cannot reach', async () => {
  const { net, nodes } = await memoryNodes(2, { node: { head: 'local', gossip: { pullIntervalMs: 0 } }, seedBase: 180 })
  nodes[1]!.host(calc(fresh()))
  const handle = nodes[0]!.host(calc(fresh()))
  const unknown = await settle(net, handle.peer(identity(189).publicKey)).catch((e: unknown) => e)
  assert.is((unknown as Error).name, 'UnreachableError')
  nodes[0]!.addAddress(nodes[1]!.publicKey, nodes[1]!.address!)
  const peer = await settle(net, handle.peer(nodes[1]!.publicKey))
  assert.equal(await settle(net, peer.request('add', [20, 22])), { kind: 'sum', message: 42 })
})

// ## Over real sockets

const Ws = suite('protocol host: ws on loopback')

Ws('request, one-way and refusal between two nodes over ws on 127.0.0.1', async () => {
  const nodes = [0, 1].map((i) =>
    createNode({ identity: identity(190 + i), head: 'local', store: createMemoryStore({ crypto }), transport: createWsTransport({ port: 0 }), types: noteTypes() }),
  ) as [Node, Node]
  try {
    await nodes[1].listen()
    assert.match(nodes[1].address!, /^ws:\/\/127\.0\.0\.1:/)
    const seen = fresh()
    nodes[1].host(calc(seen))
    const handle = nodes[0].host(calc(fresh()))
    nodes[0].addAddress(nodes[1].publicKey, nodes[1].address!)
    const peer = await handle.peer(nodes[1].publicKey)
    assert.equal(await peer.request('add', [40, 2]), { kind: 'sum', message: 42 })
    assert.ok(peer.send('note', 'over a socket'))
    const refused = await peer.request('add', [99, 0]).catch((e: unknown) => e)
    assert.is((refused as RefusedError).reason, 'no-99s')
    // the note was sent before the refused request, on the same ordered connection
    assert.equal(seen.notes, ['over a socket'])
  } finally {
    await Promise.all(nodes.map((n) => n.close()))
  }
})

Host.run()
Checks.run()
Hosting.run()
Ws.run()
