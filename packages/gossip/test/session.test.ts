/**
 * Sessions on the memory network: messages, requests and replies, timeouts and caps, the seen
 * cache; then hostile peers speaking raw frames to an honest session: floods, oversized frames,
 * malformed CBOR, replayed handshakes, crawl ranges of 1..2^31, unsolicited replies. Each ends
 * the way the limits say — dropped, answered `busy`, or disconnected with 1008 — and the honest
 * side never throws or stalls.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ClosedError, RefusedError, encodeCanonical, equalBytes, toHex, type HalfBlock } from '@tally/core'
import {
  createSeenCache,
  createSession,
  decodeMessage,
  encodeMessage,
  performHandshake,
  resolveCrawlRange,
  type CrawlRequestMessage,
  type Limits,
  type Message,
  type Session,
  type SessionCloseInfo,
  type SessionMessage,
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
  void hc.then(() => {
    clientConn.send(encodeMessage({ type: 'push', blocks: [aliceChain[0]!] }))
    clientConn.send(encodeMessage({ type: 'push', blocks: [aliceChain[1]!] }))
  })
  await net.clock.runUntilIdle()
  const r = await hs
  const got: number[] = []
  createSession(serverConn, { peerKey: r.peerKey, clock: net.clock, onMessage: (m) => void (m.type === 'push' && got.push(m.blocks[0]!.seq)) })
  await net.clock.runUntilIdle()
  assert.equal(got, [1, 2])
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
 * which the test sends whatever it likes.
 */
async function hostile(limits: Partial<Limits> = {}, networkMaxFrame?: number) {
  const { net, client: raw, server: serverConn } = await connectedPair(networkMaxFrame === undefined ? {} : { maxFrameBytes: networkMaxFrame })
  const hc = performHandshake(raw, { identity: alice, clock: net.clock })
  const hs = performHandshake(serverConn, { identity: bob, clock: net.clock })
  await net.clock.runUntilIdle()
  await hc
  const r = await hs
  const handled: SessionMessage[] = []
  const fromBob: Message[] = []
  let closed: SessionCloseInfo | undefined
  raw.onFrame((f) => {
    const d = decodeMessage(f)
    if (d.ok) fromBob.push(d.message)
  })
  const session = createSession(serverConn, {
    peerKey: r.peerKey,
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

Requests.run()
Hostile.run()
