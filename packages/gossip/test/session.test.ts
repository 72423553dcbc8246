/**
 * Sessions on the memory network: messages, requests and replies, timeouts and caps, the seen
 * cache; then hostile peers speaking raw frames to an honest session: floods, oversized frames,
 * malformed CBOR, replayed handshakes, crawl ranges of 1..2^31, unsolicited replies. Each ends
 * the way the limits say — dropped, answered `busy`, or disconnected with 1008 — and the honest
 * side never throws or stalls.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ClosedError, RefusedError, encodeBlock, encodeCanonical, equalBytes, toHex, type HalfBlock } from '@tally/core'
import {
  createSeenCache,
  createSession,
  decodeMessage,
  encodeMessage,
  performHandshake,
  resolveCrawlRange,
  resolveLimits,
  type CrawlRequestMessage,
  type Limits,
  type Message,
  type Session,
  type SessionCloseInfo,
  type SessionMessage,
  type MemoryNetworkOptions,
  type SessionOptions,
} from '@tally/gossip'
import { alice, block, bob, chain, connectedPair, rejection, sessionPair } from './helpers.ts'

const aliceChain = chain(alice, 40)
const proposal = block(alice, { seq: 1 })

/** Bob's answer to a crawl, from `aliceChain`, as a node would build it. */
function answerCrawl(session: Session, m: CrawlRequestMessage): void {
  const latest = equalBytes(m.publicKey, alice.publicKey) ? aliceChain.length : 0
  const range = resolveCrawlRange(m.start, m.end, latest, session.limits.maxCrawlBlocks)
  const blocks: HalfBlock[] = range === undefined ? [] : aliceChain.slice(range.from - 1, range.to)
  session.reply(m, { type: 'crawl-answer', publicKey: m.publicKey, latest, blocks })
}

// ## Messages and requests

const Requests = suite('session: messages and requests')

Requests('a push reaches the handler, with the session that got it', async () => {
  const { net, client, server } = await sessionPair()
  const got: [SessionMessage, Session][] = []
  server.onMessage((m, s) => void got.push([m, s]))
  assert.ok(client.send({ type: 'push', blocks: [aliceChain[0]!] }))
  await net.clock.runUntilIdle()
  assert.is(got.length, 1)
  assert.is(got[0]![0].type, 'push')
  assert.is(got[0]![1], server)
  assert.ok(equalBytes(server.peerKey, alice.publicKey))
  assert.is(server.peerKeyHex, toHex(alice.publicKey))
  assert.is(client.stats.framesOut, 1)
  assert.is(server.stats.framesIn, 1)
})

Requests('request → reply: a crawl of the last 5 blocks, negative counts from the end', async () => {
  const { net, client, server } = await sessionPair()
  server.onMessage((m, s) => {
    if (m.type === 'crawl-request') answerCrawl(s, m)
  })
  const answer = client.request({ type: 'crawl-request', publicKey: alice.publicKey, start: -5, end: -1 })
  await net.clock.runUntilIdle()
  const r = await answer
  assert.is(r.type, 'crawl-answer')
  if (r.type !== 'crawl-answer') return
  assert.equal(r.blocks.map((b) => b.seq), [36, 37, 38, 39, 40])
  assert.is(r.latest, 40)
  assert.is(client.pendingRequests, 0)
})

Requests('a request that arrives before the handler is set waits for it: one side asked as soon as it was open', async () => {
  const { net, client, server } = await sessionPair()
  // the server asks first (so it reads frames) but sets its handler only later, as a node whose
  // protocols greet a new peer before it adopts the session
  client.onMessage((m, s) => {
    if (m.type === 'crawl-request') answerCrawl(s, m)
  })
  const serverAsks = server.request({ type: 'crawl-request', publicKey: alice.publicKey, start: 1, end: 1 })
  const clientAsks = client.request({ type: 'crawl-request', publicKey: alice.publicKey, start: -1, end: -1 })
  await net.clock.runFor(1_000) // well within the request timeout
  assert.is((await serverAsks).type, 'crawl-answer')
  assert.is(server.stats.framesIn, 2, 'the server read the request of the client too')
  server.onMessage((m, s) => {
    if (m.type === 'crawl-request') answerCrawl(s, m)
  })
  await net.clock.runUntilIdle()
  const r = await clientAsks
  assert.is(r.type, 'crawl-answer', r.type === 'error' ? `refused: ${r.reason}` : '')
  if (r.type === 'crawl-answer') assert.equal(r.blocks.map((b) => b.seq), [40])
})

Requests('a session whose handler was removed refuses requests: no handler', async () => {
  const { net, client, server } = await sessionPair()
  server.onMessage(() => undefined)
  server.onMessage(undefined)
  const answer = client.request({ type: 'crawl-request', publicKey: alice.publicKey, start: 1, end: 1 })
  await net.clock.runUntilIdle()
  const r = await answer
  assert.is(r.type, 'error')
  if (r.type === 'error') assert.is(r.code, 'not-found')
})

Requests('a refusal is data: the error message resolves the request', async () => {
  const { net, client, server } = await sessionPair()
  server.onMessage((m, s) => {
    if (m.type === 'proposal') s.reply(m, { type: 'error', code: 'refused', reason: 'no rules for note' })
  })
  const answer = client.request({ type: 'proposal', block: proposal, context: [] })
  await net.clock.runUntilIdle()
  const r = await answer
  assert.is(r.type, 'error')
  assert.is(r.type === 'error' && r.code, 'refused')
})

Requests('timeout: TimeoutError after the request timeout of virtual time; the late reply costs nothing', async () => {
  const { net, client, server } = await sessionPair({ limits: { requestTimeoutMs: 1000 } })
  const held: CrawlRequestMessage[] = []
  server.onMessage((m) => void (m.type === 'crawl-request' && held.push(m)))
  const t0 = net.clock.now()
  const answer = client.request({ type: 'crawl-request', publicKey: alice.publicKey, start: 1, end: 2 }).catch((e: Error) => e)
  await net.clock.runUntilIdle()
  const err = await answer
  assert.instance(err, DOMException)
  assert.is((err as Error).name, 'TimeoutError')
  assert.ok(net.clock.now() - t0 >= 1000)
  answerCrawl(server, held[0]!)
  await net.clock.runUntilIdle()
  assert.is(client.score, 0, 'a late reply is not an unsolicited one')
  assert.ok(client.open)
})

Requests('caps: our pending requests (refused locally), the peer\'s unanswered ones (answered busy)', async () => {
  const { net, client, server } = await sessionPair({ limits: { maxPendingRequests: 3, maxIncomingRequests: 2 } })
  server.onMessage(() => undefined) // never answers
  const q = (): Promise<unknown> => client.request({ type: 'witness-query', publicKey: alice.publicKey, seq: 1 }).catch((e: Error) => e)
  const first = [q(), q(), q()]
  const fourth = await rejection(client.request({ type: 'witness-query', publicKey: alice.publicKey, seq: 1 }))
  assert.instance(fourth, RefusedError)
  await net.clock.runFor(500)
  const third = await first[2]
  assert.is((third as Message).type, 'error', 'the third request is over the peer\'s incoming cap')
  assert.is((third as Message).type === 'error' && (third as { code: string }).code, 'busy')
  assert.is(server.stats.busy, 1)
  assert.is(client.score, 0, 'busy is not misbehaviour')
  await net.clock.runUntilIdle()
  for (const p of first.slice(0, 2)) assert.is(((await p) as Error).name, 'TimeoutError')
})

Requests('close: pending requests reject with ClosedError, the close handler runs once on each side', async () => {
  const { net, client, server } = await sessionPair()
  server.onMessage(() => undefined)
  const closes: SessionCloseInfo[] = []
  client.onClose((info) => void closes.push(info))
  server.onClose((info) => void closes.push(info))
  const pending = client.request({ type: 'peers-request', max: 5 }).catch((e: Error) => e)
  client.close('done')
  assert.not.ok(client.open)
  assert.instance(await pending, ClosedError)
  await net.clock.runUntilIdle()
  assert.is(closes.length, 2)
  assert.ok(closes.some((c) => c.local && c.code === 1000))
  assert.ok(closes.some((c) => !c.local && c.reason === 'done'))
  assert.not.ok(client.send({ type: 'push', blocks: [aliceChain[0]!] }), 'send after close is a dropped false')
  assert.instance(await rejection(client.request({ type: 'peers-request', max: 1 })), ClosedError)
})

Requests('frames sent right after the handshake wait for the session: none is lost', async () => {
  const { net, client: clientConn, server: serverConn } = await connectedPair({ latencyMs: 50 })
  const hc = performHandshake(clientConn, { identity: alice, clock: net.clock })
  const hs = performHandshake(serverConn, { identity: bob, clock: net.clock })
  // alice sends as soon as her side is done, in the same virtual instant as her auth
  void hc.then(({ cipher }) => {
    clientConn.send(cipher.seal(encodeMessage({ type: 'push', blocks: [aliceChain[0]!] })))
    clientConn.send(cipher.seal(encodeMessage({ type: 'push', blocks: [aliceChain[1]!] })))
  })
  await net.clock.runUntilIdle()
  const r = await hs
  const got: number[] = []
  createSession(serverConn, { peerKey: r.peerKey, cipher: r.cipher, clock: net.clock, onMessage: (m) => void (m.type === 'push' && got.push(m.blocks[0]!.seq)) })
  await net.clock.runUntilIdle()
  assert.equal(got, [1, 2])
})

Requests('app: one type asks, answers (its id negated) and goes one-way; appCost weighs what the peer sends', async () => {
  const weighed: string[] = []
  const { net, client, server } = await sessionPair({ appCost: (m) => (weighed.push(m.kind), 1) })
  const got: string[] = []
  server.onMessage((m, s) => {
    if (m.type !== 'app') return
    got.push(`${m.kind}:${m.requestId}`)
    if (m.requestId > 0) s.reply(m, { type: 'app', reply: true, protocol: m.protocol, kind: 'pong', body: m.body })
  })
  const body = encodeCanonical(['ping', 1])
  const answer = client.request({ type: 'app', reply: false, protocol: 'test/1', kind: 'ping', body })
  assert.ok(client.send({ type: 'app', requestId: 0, reply: false, protocol: 'test/1', kind: 'note', body }))
  assert.throws(() => client.send({ type: 'app', requestId: 5, reply: false, protocol: 'test/1', kind: 'ping', body }), TypeError, 'a request goes through request()')
  await net.clock.runUntilIdle()
  const r = await answer
  assert.ok(r.type === 'app' && r.reply && r.kind === 'pong' && equalBytes(r.body, body), 'the reply resolves the request')
  assert.equal(got, ['ping:1', 'note:0'])
  assert.equal(weighed, ['ping', 'note'], 'a request and a one-way message are weighed; the reply to ours is not')
  assert.is(client.pendingRequests, 0)
})

Requests('malformed(): a layer above the codec charges as the codec would', async () => {
  const { server } = await sessionPair()
  assert.ok(server.malformed('bad-field', 'a body its decoder refused'))
  assert.ok(server.malformed('too-large', ''))
  assert.is(server.stats.malformed, 2)
  assert.is(Math.round(server.score), 70, '20 + 50')
  assert.not.ok(server.malformed('too-many', 'one more'))
  assert.not.ok(server.open, 'at 100 the peer is cut off')
})

Requests('caller mistakes throw: requests through send, handshake messages, a reply of the wrong type', async () => {
  const { client, server } = await sessionPair()
  assert.throws(() => client.send({ type: 'crawl-request', requestId: 1, publicKey: alice.publicKey, start: 1, end: 1 } as SessionMessage), /request\(\)/)
  assert.throws(() => client.send({ type: 'auth', signature: new Uint8Array(64) } as unknown as SessionMessage), /handshake/)
  const request: CrawlRequestMessage = { type: 'crawl-request', requestId: 5, publicKey: alice.publicKey, start: 1, end: 1 }
  assert.throws(() => server.reply(request, { type: 'peers', peers: [] }), /crawl-answer or error/)
  assert.instance(await rejection(client.request({ type: 'push' } as never)), TypeError)
})

Requests('a handler that throws or rejects goes to onError; the session carries on', async () => {
  const errors: unknown[] = []
  const { net, client, server } = await sessionPair({ onError: (e) => void errors.push(e) })
  let n = 0
  server.onMessage(() => {
    n++
    if (n === 1) throw new Error('sync bug')
    return Promise.reject(new Error('async bug'))
  })
  client.send({ type: 'push', blocks: [aliceChain[0]!] })
  client.send({ type: 'push', blocks: [aliceChain[1]!] })
  client.send({ type: 'push', blocks: [aliceChain[2]!] })
  await net.clock.runUntilIdle()
  assert.is(n, 3)
  assert.equal(errors.map((e) => (e as Error).message), ['sync bug', 'async bug', 'async bug'])
  assert.ok(server.open)
})

Requests('the seen cache: a relayed frame is handled once, whichever session brings it', async () => {
  const seen = createSeenCache()
  const one = await sessionPair({ seen })
  const two = await sessionPair({ seen })
  const handled: string[] = []
  const onMessage = (m: SessionMessage): void => void handled.push(m.type)
  one.server.onMessage(onMessage)
  two.server.onMessage(onMessage)
  const push: SessionMessage = { type: 'push', blocks: [aliceChain[3]!] }
  one.client.send(push)
  await one.net.clock.runUntilIdle()
  two.client.send(push)
  one.client.send(push)
  await two.net.clock.runUntilIdle()
  await one.net.clock.runUntilIdle()
  assert.equal(handled, ['push'])
  assert.is(one.server.stats.duplicates + two.server.stats.duplicates, 2)
  // requests are never de-duplicated: asking twice gets two answers
  one.server.onMessage((m, s) => void (m.type === 'crawl-request' && answerCrawl(s, m)))
  const a = one.client.request({ type: 'crawl-request', publicKey: alice.publicKey, start: 1, end: 1 })
  const b = one.client.request({ type: 'crawl-request', publicKey: alice.publicKey, start: 1, end: 1 })
  await one.net.clock.runUntilIdle()
  assert.is((await a).type, 'crawl-answer')
  assert.is((await b).type, 'crawl-answer')
})

Requests('pull gossip: identical heads replies in two sessions sharing a seen cache both resolve', async () => {
  const seen = createSeenCache()
  const one = await sessionPair({ seen })
  const two = await sessionPair({ seen })
  const head = { publicKey: alice.publicKey, seq: 40, hash: new Uint8Array(32).fill(4) }
  for (const pair of [one, two]) {
    pair.server.onMessage((m, s) => {
      if (m.type === 'heads-request') s.reply(m, { type: 'heads', heads: m.publicKeys.filter((k) => equalBytes(k, alice.publicKey)).map(() => head) })
    })
  }
  // both requests get id 1 in their session: the two replies are the same bytes
  const a = one.client.request({ type: 'heads-request', publicKeys: [alice.publicKey, bob.publicKey] })
  const b = two.client.request({ type: 'heads-request', publicKeys: [alice.publicKey, bob.publicKey] })
  await one.net.clock.runUntilIdle()
  await two.net.clock.runUntilIdle()
  for (const reply of [await a, await b]) {
    assert.is(reply.type, 'heads')
    assert.is(reply.type === 'heads' && reply.heads.length, 1)
  }
})

// ## Hostile peers

const Hostile = suite('session: hostile peers')

/**
 * An honest session (bob) facing a raw connection (after a real handshake by "alice"), through
 * which the test sends whatever it likes: `raw.send` seals each frame with alice's cipher, as an
 * authenticated peer would, so it reaches bob's limits and decoder.
 */
async function hostile(limits: Partial<Limits> = {}, networkMaxFrame?: number) {
  const { net, client: conn, server: serverConn } = await connectedPair(networkMaxFrame === undefined ? {} : { maxFrameBytes: networkMaxFrame })
  const hc = performHandshake(conn, { identity: alice, clock: net.clock })
  const hs = performHandshake(serverConn, { identity: bob, clock: net.clock })
  await net.clock.runUntilIdle()
  const { cipher } = await hc
  const r = await hs
  const handled: SessionMessage[] = []
  const fromBob: Message[] = []
  let closed: SessionCloseInfo | undefined
  const raw = { send: (frame: Uint8Array): boolean => conn.send(cipher.seal(frame)) }
  conn.onFrame((f) => {
    const plain = cipher.open(f)
    const d = plain === undefined ? undefined : decodeMessage(plain)
    if (d?.ok) fromBob.push(d.message)
  })
  const session = createSession(serverConn, {
    peerKey: r.peerKey,
    cipher: r.cipher,
    clock: net.clock,
    limits,
    onMessage: (m, s) => {
      handled.push(m)
      if (m.type === 'crawl-request') answerCrawl(s, m)
    },
    onClose: (info) => {
      closed = info
    },
  })
  return { net, raw, session, handled, fromBob, closed: () => closed }
}

const heads = (seq: number): Uint8Array => encodeMessage({ type: 'heads', requestId: 0, heads: [{ publicKey: alice.publicKey, seq, hash: new Uint8Array(32).fill(seq % 256) }] })

Hostile('flooding: the burst is handled, the rest dropped unread, then a disconnect (1008)', async () => {
  const h = await hostile({ messagesPerSecond: 10, messageBurst: 20 })
  for (let i = 1; i <= 200; i++) h.raw.send(heads(i))
  await h.net.clock.runUntilIdle()
  assert.is(h.handled.length, 20, 'exactly the burst got through')
  assert.ok(h.session.stats.rateLimited >= 40, 'then frames were dropped')
  assert.not.ok(h.session.open)
  const info = h.closed()
  assert.ok(info !== undefined)
  assert.is(info!.code, 1008)
  assert.match(info!.misbehaviour ?? '', /rate limit/)
  assert.ok(h.fromBob.some((m) => m.type === 'error' && m.code === 'rate-limited'), 'the peer is told why')
})

Hostile('a peer at the allowed rate is never disconnected', async () => {
  const h = await hostile({ messagesPerSecond: 10, messageBurst: 20 })
  for (let i = 1; i <= 300; i++) {
    h.raw.send(heads(i))
    await h.net.clock.runFor(100) // 10 per second, sustained for 30 s
  }
  assert.is(h.handled.length, 300)
  assert.ok(h.session.open)
  assert.is(h.session.score, 0)
})

Hostile('the byte rate: a few large frames over bytesPerSecond are dropped too', async () => {
  const h = await hostile({ bytesPerSecond: 100_000, byteBurst: 140_000 })
  const big = encodeMessage({ type: 'push', blocks: Array.from({ length: 16 }, () => aliceChain[0]!) })
  const n = Math.ceil(300_000 / big.length)
  for (let i = 0; i < n; i++) h.raw.send(big)
  await h.net.clock.runUntilIdle()
  assert.ok(h.session.stats.rateLimited > 0)
  assert.ok(h.handled.length * big.length <= 140_000)
})

Hostile('oversized frames: the transport closes at its limit (1009); the session punishes any frame over its own', async () => {
  // at the transport: the network's frame limit is the session's
  const t = await hostile()
  t.raw.send(new Uint8Array(t.session.limits.maxFrameBytes + 1))
  await t.net.clock.runUntilIdle()
  assert.is(t.closed()?.code, 1009)
  assert.is(t.handled.length, 0)
  // a transport with a larger limit: the session sees the frame and punishes it (50 a frame)
  const s = await hostile({}, 1024 * 1024)
  s.raw.send(new Uint8Array(200 * 1024))
  await s.net.clock.runFor(100)
  assert.ok(s.session.open)
  assert.ok(s.session.score >= 49)
  s.raw.send(new Uint8Array(200 * 1024))
  s.raw.send(new Uint8Array(200 * 1024))
  await s.net.clock.runUntilIdle()
  assert.not.ok(s.session.open)
  assert.is(s.closed()?.code, 1008)
  assert.match(s.closed()?.misbehaviour ?? '', /over the limit/)
  assert.is(s.session.stats.malformed, 3)
})

Hostile('malformed CBOR: each costs 20, the fifth disconnects; the handler never sees one', async () => {
  const h = await hostile()
  const garbage = [Uint8Array.from([0xff]), Uint8Array.from([0x82, 0x0d, 0x18, 0x05]), encodeCanonical({ a: 1 }), encodeCanonical([99, 1]), Uint8Array.from([0x9f, 0xff])]
  for (let i = 0; i < 4; i++) {
    h.raw.send(garbage[i]!)
    await h.net.clock.runFor(100)
  }
  assert.ok(h.session.open, 'four cost 80 points (less the decay)')
  h.raw.send(heads(1))
  await h.net.clock.runFor(100)
  assert.is(h.handled.length, 1, 'a valid message in between is still handled')
  h.raw.send(garbage[4]!)
  h.raw.send(garbage[0]!)
  await h.net.clock.runUntilIdle()
  assert.not.ok(h.session.open)
  assert.is(h.closed()?.code, 1008)
  assert.match(h.closed()?.misbehaviour ?? '', /malformed/)
  assert.is(h.handled.length, 1)
})

Hostile('a list over its limit costs as an oversized frame', async () => {
  const h = await hostile()
  const tooMany = encodeCanonical([13, 0, Array.from({ length: 65 }, () => [alice.publicKey, 1, new Uint8Array(32)])])
  h.raw.send(tooMany)
  await h.net.clock.runFor(100)
  assert.ok(h.session.score >= 49)
  assert.is(h.handled.length, 0)
})

Hostile('a replayed handshake inside the session: disconnected at once', async () => {
  for (const frame of [
    encodeMessage({ type: 'hello', versions: [1], publicKey: alice.publicKey, challenge: alice.crypto.randomBytes(32), noise: alice.crypto.randomBytes(32) }),
    encodeMessage({ type: 'auth', signature: new Uint8Array(64), noise: new Uint8Array(64) }),
  ]) {
    const h = await hostile()
    h.raw.send(frame)
    await h.net.clock.runUntilIdle()
    assert.not.ok(h.session.open)
    assert.is(h.closed()?.code, 1008)
    assert.match(h.closed()?.misbehaviour ?? '', /replayed handshake/)
    assert.is(h.session.stats.unexpected, 1)
  }
})

Hostile('crawl ranges of 1..2^31: answered with at most maxCrawlBlocks, never a loop over the range', async () => {
  const h = await hostile()
  const ranges: [number, number][] = [
    [1, 2 ** 31],
    [-(2 ** 31), 2 ** 31],
    [-(2 ** 31), -1],
    [2 ** 31, 2 ** 31],
    [Number.MAX_SAFE_INTEGER, 1],
    [-1, -1],
  ]
  ranges.forEach(([start, end], i) => h.raw.send(encodeMessage({ type: 'crawl-request', requestId: i + 1, publicKey: alice.publicKey, start, end })))
  await h.net.clock.runUntilIdle()
  const answers = h.fromBob.filter((m) => m.type === 'crawl-answer')
  assert.is(answers.length, ranges.length)
  const seqs = answers.map((m) => (m.type === 'crawl-answer' ? m.blocks.map((b) => b.seq) : []))
  assert.equal(seqs[0], Array.from({ length: 32 }, (_, i) => i + 1))
  assert.equal(seqs[1], Array.from({ length: 32 }, (_, i) => i + 1))
  assert.equal(seqs[2], Array.from({ length: 32 }, (_, i) => i + 1))
  assert.equal(seqs[3], [])
  assert.equal(seqs[4], [])
  assert.equal(seqs[5], [40])
  assert.ok(h.session.open)
  assert.is(h.session.score, 0, 'large ranges are legitimate requests')
})

Hostile('crawl ranges beyond 2^53 (bigint on the wire) or 0 are malformed: punished, not answered', async () => {
  const h = await hostile()
  h.raw.send(encodeCanonical([14, 1, alice.publicKey, 1, 2n ** 63n]))
  h.raw.send(encodeCanonical([14, 2, alice.publicKey, 0, 5]))
  await h.net.clock.runFor(100)
  assert.is(h.handled.length, 0)
  assert.is(h.session.stats.malformed, 2)
  assert.is(h.fromBob.filter((m) => m.type === 'crawl-answer').length, 0)
})

Hostile('unsolicited replies and reused request ids cost unexpectedCost', async () => {
  const h = await hostile()
  h.raw.send(encodeMessage({ type: 'crawl-answer', requestId: 77, publicKey: alice.publicKey, latest: 0, blocks: [] }))
  h.raw.send(encodeMessage({ type: 'error', requestId: 78, code: 'busy', reason: '' }))
  const query = encodeMessage({ type: 'witness-query', requestId: 5, publicKey: alice.publicKey, seq: 1 })
  h.raw.send(query)
  h.raw.send(query) // the honest handler does not answer witness queries: id 5 is still open
  await h.net.clock.runFor(100)
  assert.is(h.session.stats.unexpected, 3)
  assert.ok(h.session.score >= 14)
  assert.is(h.handled.length, 1, 'only the first query')
})

Hostile('the score decays: rare offences never add up to a disconnect', async () => {
  const h = await hostile()
  h.session.penalize(90, 'test')
  await h.net.clock.runFor(100_000)
  assert.is(h.session.score, 0)
  assert.ok(h.session.penalize(90, 'again'))
  assert.ok(h.session.open)
  assert.not.ok(h.session.penalize(20, 'the node found a forged proof'))
  await h.net.clock.runUntilIdle()
  assert.match(h.closed()?.misbehaviour ?? '', /forged proof/)
})

Hostile('a flood of requests never queues work: over the incoming cap they are answered busy', async () => {
  const h = await hostile({ maxIncomingRequests: 4 })
  // the honest handler answers crawls; make it hold witness queries unanswered
  for (let i = 1; i <= 30; i++) h.raw.send(encodeMessage({ type: 'witness-query', requestId: i, publicKey: alice.publicKey, seq: 1 }))
  await h.net.clock.runFor(100)
  assert.is(h.handled.length, 4)
  assert.is(h.fromBob.filter((m) => m.type === 'error' && m.code === 'busy').length, 26)
  assert.ok(h.session.open)
})

// ## Encryption

const Sealed = suite('session: encrypted frames')

/** A session pair whose client connection lets the test rewrite each sealed frame it sends. */
async function tapped(options: Partial<SessionOptions> = {}, network: MemoryNetworkOptions = {}) {
  const pair = await sessionPair(options, network)
  const wire: Uint8Array[] = []
  const deliver = pair.clientConn.send.bind(pair.clientConn)
  let rewrite: (frame: Uint8Array, index: number) => Uint8Array[] = (f) => [f]
  pair.clientConn.send = (frame) => {
    const out = rewrite(frame, wire.length)
    wire.push(frame)
    let ok = true
    for (const f of out) ok = deliver(f) && ok
    return ok
  }
  const handled: SessionMessage[] = []
  let closed: SessionCloseInfo | undefined
  let clientClosed: SessionCloseInfo | undefined
  pair.server.onMessage((m) => void handled.push(m))
  pair.server.onClose((info) => void (closed = info))
  pair.client.onClose((info) => void (clientClosed = info))
  return {
    ...pair,
    wire,
    deliver,
    handled,
    closed: () => closed,
    clientClosed: () => clientClosed,
    /** From now on, each frame the client sends goes through `fn` (which returns what to deliver). */
    rewrite: (fn: typeof rewrite) => void (rewrite = fn),
  }
}

const push = (seq: number): SessionMessage => ({ type: 'push', blocks: [aliceChain[seq - 1]!] })
const seqs = (handled: readonly SessionMessage[]): number[] => handled.flatMap((m) => (m.type === 'push' ? [m.blocks[0]!.seq] : []))

/** The session ended for a frame that failed authentication: 1007, not misbehaviour. */
function unauthenticated(t: Awaited<ReturnType<typeof tapped>>): void {
  assert.not.ok(t.server.open)
  assert.is(t.closed()?.code, 1007)
  assert.is(t.closed()?.unauthenticated, true)
  assert.is(t.closed()?.misbehaviour, undefined, 'not blamed on the peer: an attacker on the path can do it')
  assert.is(t.server.stats.unauthenticated, 1)
  assert.is(t.clientClosed()?.code, 1007, 'the peer learns it')
}

Sealed('the plaintext of a message never appears on the wire; each frame is 16 bytes longer', async () => {
  const t = await tapped()
  const secret = block(alice, { seq: 1, payload: 'meet at the old mill at nine' })
  const message: SessionMessage = { type: 'push', blocks: [secret] }
  assert.ok(t.client.encrypted && t.server.encrypted)
  t.client.send(message)
  await t.net.clock.runUntilIdle()
  assert.is(t.handled.length, 1)
  const got = t.handled[0]
  assert.ok(got?.type === 'push' && equalBytes(encodeBlock(got.blocks[0]!), encodeBlock(secret)), 'bob got it')
  const plain = encodeMessage(message)
  assert.is(t.wire.length, 1)
  assert.is(t.wire[0]!.length, plain.length + 16)
  for (const needle of [plain, encodeBlock(secret), new TextEncoder().encode('old mill'), secret.signature, alice.publicKey]) {
    assert.not.ok(contains(t.wire[0]!, needle), `${needle.length} bytes of plaintext on the wire`)
  }
  assert.is(t.client.stats.bytesOut, plain.length + 16, 'stats count the bytes on the wire')
})

Sealed('a byte flipped in flight: the session closes (1007) before the frame is read', async () => {
  for (const at of [0, 40, -1]) {
    const t = await tapped()
    t.client.send(push(1))
    await t.net.clock.runUntilIdle()
    const pending = t.client.request({ type: 'peers-request', max: 1 }).catch((e: Error) => e)
    t.rewrite((f) => {
      const g = Uint8Array.from(f)
      g[at < 0 ? g.length + at : at]! ^= 0x01 // a negative index counts from the end: the tag
      return [g]
    })
    t.client.send(push(2))
    t.client.send(push(3))
    await t.net.clock.runUntilIdle()
    assert.equal(seqs(t.handled), [1], `byte ${at}: nothing after the flipped frame is handled`)
    unauthenticated(t)
    assert.instance(await pending, ClosedError)
  }
})

Sealed('an injected frame closes the session: plaintext, or a sealed frame replayed', async () => {
  const plain = await tapped()
  plain.client.send(push(1))
  plain.deliver(encodeMessage(push(2)))
  plain.client.send(push(3))
  await plain.net.clock.runUntilIdle()
  assert.equal(seqs(plain.handled), [1])
  unauthenticated(plain)

  const replayed = await tapped()
  replayed.client.send(push(1))
  replayed.client.send(push(2))
  await replayed.net.clock.runUntilIdle()
  replayed.deliver(replayed.wire[0]!)
  await replayed.net.clock.runUntilIdle()
  assert.equal(seqs(replayed.handled), [1, 2])
  unauthenticated(replayed)
})

Sealed('a reordered frame closes the session, and so does a frame missing from the sequence', async () => {
  const reordered = await tapped()
  let held: Uint8Array | undefined
  reordered.rewrite((f, i) => {
    if (i === 1) {
      held = f
      return []
    }
    return i === 2 ? [f, held!] : [f]
  })
  for (const n of [1, 2, 3, 4]) reordered.client.send(push(n))
  await reordered.net.clock.runUntilIdle()
  assert.equal(seqs(reordered.handled), [1])
  unauthenticated(reordered)

  const dropped = await tapped()
  dropped.rewrite((f, i) => (i === 1 ? [] : [f]))
  for (const n of [1, 2, 3]) dropped.client.send(push(n))
  await dropped.net.clock.runUntilIdle()
  assert.equal(seqs(dropped.handled), [1])
  unauthenticated(dropped)
})

Sealed('what comes from below the cipher is never blamed on the peer: frames over the transport\'s or the session\'s limit', async () => {
  // injected by whoever is on the path: the peer cannot be told from them, so no ban follows
  const atTransport = await tapped()
  atTransport.deliver(new Uint8Array(atTransport.server.limits.maxFrameBytes + 1))
  await atTransport.net.clock.runUntilIdle()
  assert.is(atTransport.closed()?.code, 1009)
  assert.is(atTransport.closed()?.misbehaviour, undefined)
  const atSession = await tapped({}, { maxFrameBytes: 1024 * 1024 })
  atSession.deliver(new Uint8Array(200 * 1024))
  await atSession.net.clock.runUntilIdle()
  unauthenticated(atSession)
  assert.is(atSession.server.stats.malformed, 0, 'not opened, so not counted as the peer\'s')
})

Sealed('a frame from another session between the same two agents is refused too', async () => {
  const one = await tapped()
  const two = await tapped()
  two.client.send(push(1))
  await two.net.clock.runUntilIdle()
  one.deliver(two.wire[0]!)
  await one.net.clock.runUntilIdle()
  assert.equal(seqs(one.handled), [])
  unauthenticated(one)
})

Sealed('the tag counts in the frame limit: a message may take maxFrameBytes - 16 bytes, not one more', async () => {
  const maxFrameBytes = 70_000
  /** A push of 6 blocks whose frame is exactly `size` bytes. */
  const pushOf = (size: number): SessionMessage => {
    const make = (extra: number): SessionMessage => ({
      type: 'push',
      blocks: Array.from({ length: 6 }, (_, i) => block(alice, { seq: i + 1, payload: 'x'.repeat(11_500 + (i === 5 ? extra : 0)) })),
    })
    const probe = encodeMessage(make(0), resolveLimits({ maxFrameBytes: 1 << 20, byteBurst: 1 << 20 }))
    return make(size - probe.length)
  }
  const t = await tapped({ limits: { maxFrameBytes } })
  const fits = pushOf(maxFrameBytes - 16)
  assert.is(encodeMessage(fits, resolveLimits({ maxFrameBytes })).length, maxFrameBytes - 16)
  assert.throws(() => t.client.send(pushOf(maxFrameBytes - 15)), (e: Error) => e instanceof RangeError && /over the frame limit of 69984/.test(e.message))
  assert.ok(t.client.send(fits))
  await t.net.clock.runUntilIdle()
  assert.is(t.wire.at(-1)!.length, maxFrameBytes, 'the sealed frame is the limit exactly')
  assert.equal(seqs(t.handled), [1])
  assert.ok(t.server.open)
  // the smallest frame limit allowed: its messages are 16 bytes under what resolveLimits accepts
  const smallest = await tapped({ limits: { maxFrameBytes: 64 * 1024 + 256 } })
  smallest.client.send(push(1))
  await smallest.net.clock.runUntilIdle()
  assert.equal(seqs(smallest.handled), [1])
  assert.ok(smallest.server.open)
})

Sealed('a session whose nonces run out closes instead of reusing one', async () => {
  const { net, clientConn, serverConn } = await sessionPair()
  // a cipher that refuses, as a CipherState at 2^53 - 1 does (noise.test.ts checks that one)
  const spent = { overhead: 16, seal: (): Uint8Array => { throw new RangeError('nonce exhausted after 9007199254740991 messages: a new session is needed') }, open: () => undefined }
  const closes: SessionCloseInfo[] = []
  const session = createSession(clientConn, { peerKey: bob.publicKey, clock: net.clock, cipher: spent, onClose: (i) => void closes.push(i) })
  assert.not.ok(session.send(push(1)))
  assert.not.ok(session.open)
  await net.clock.runUntilIdle()
  assert.match(closes[0]?.reason ?? '', /nonce exhausted/)
  assert.not.ok(serverConn.open)
  assert.throws(() => createSession(serverConn, { peerKey: alice.publicKey, cipher: {} as never }), TypeError)
})

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer
    return true
  }
  return false
}

Requests.run()
Hostile.run()
Sealed.run()
