/**
 * The WebSocket transport on real loopback sockets (port 0): one server, several clients, the
 * handshake and sessions on top; then bad peers: oversized frames (1009), text frames (1003),
 * malformed CBOR after the handshake (1008), too many connections (1013), a peer that stops
 * reading (backpressure, drain, then 1008); a relay on the path (127.0.0.1) that reads, alters,
 * injects and replays frames: it sees no plaintext and each change closes the session (1007);
 * and the browser build on the global WebSocket, in a child process that resolves
 * '@tally/gossip/ws' with the "browser" condition.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { connect as tcpConnect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { WebSocket, WebSocketServer } from 'ws'
import { ClosedError, encodeBlock, equalBytes, toHex, type CloseInfo, type Connection, type RefusedConnection } from '@tally/core'
import { UnreachableError, createSeenCache, createSession, encodeMessage, openSession, performHandshake, type Session, type SessionCloseInfo, type SessionMessage } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'
import { alice, block, bob, carol, chain, mallory, rejection } from './helpers.ts'

const aliceChain = chain(alice, 3)

/** Resolve when `check` is true, polling every 5 ms; fail after `ms`. */
async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) assert.unreachable(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** A server (bob) answering crawls of its own empty chain and recording what it gets. */
async function server(options: Parameters<typeof createWsTransport>[0] = {}) {
  const transport = createWsTransport(options)
  const sessions: Session[] = []
  const got: [string, SessionMessage][] = []
  const closes: SessionCloseInfo[] = []
  const challenges = createSeenCache() // one per node: replayed hellos are refused across connections
  const address = await transport.listen((conn) => {
    openSession(conn, {
      identity: bob,
      challenges,
      onMessage: (m, s) => {
        got.push([s.peerKeyHex, m])
        if (m.type === 'crawl-request') s.reply(m, { type: 'crawl-answer', publicKey: m.publicKey, latest: 0, blocks: [] })
      },
      onClose: (info) => void closes.push(info),
    }).then(
      (s) => void sessions.push(s),
      () => undefined,
    )
  })
  return { transport, address, sessions, got, closes }
}

const Loopback = suite('ws: loopback')

Loopback('one server, three clients: handshakes, messages both ways, requests, then a clean close', async () => {
  const s = await server()
  assert.match(s.address, /^ws:\/\/127\.0\.0\.1:\d+\/$/)
  const clients = [alice, carol, mallory]
  const transports = clients.map(() => createWsTransport())
  const sessions = await Promise.all(
    clients.map(async (identity, i) => openSession(await transports[i]!.connect(s.address), { identity, expectedPeer: bob.publicKey })),
  )
  for (const session of sessions) {
    assert.ok(equalBytes(session.peerKey, bob.publicKey))
    session.send({ type: 'push', blocks: [aliceChain[0]!] })
  }
  const answers = await Promise.all(sessions.map((session) => session.request({ type: 'crawl-request', publicKey: bob.publicKey, start: 1, end: -1 })))
  assert.equal(answers.map((a) => a.type), ['crawl-answer', 'crawl-answer', 'crawl-answer'])
  await until(() => s.got.filter(([, m]) => m.type === 'push').length === 3, 'three pushes')
  assert.equal(new Set(s.got.map(([k]) => k)), new Set(clients.map((c) => c.publicKeyHex)), 'the server knows each proved key')
  assert.is(s.transport.connections, 3)
  const closed: SessionCloseInfo[] = []
  for (const session of sessions) session.onClose((info) => void closed.push(info))
  await s.transport.close()
  await until(() => closed.length === 3, 'clients to see the close')
  assert.ok(closed.every((c) => c.code === 1001 && !c.local))
  for (const t of transports) await t.close()
})

Loopback('a wrong expected key is refused over ws too; nothing listening is an UnreachableError, not a ClosedError', async () => {
  const s = await server()
  const t = createWsTransport()
  const err = await rejection(openSession(await t.connect(s.address), { identity: alice, expectedPeer: carol.publicKey }))
  assert.is(err.name, 'HandshakeError')
  await s.transport.close()
  const refused = await rejection(t.connect(s.address))
  assert.instance(refused, UnreachableError)
  assert.is((refused as UnreachableError).code, 'ERR_UNREACHABLE')
  assert.match(refused.message, /ECONNREFUSED/)
  assert.not.instance(refused, ClosedError)
  await rejection(t.connect('http://example.org/')).then((e) => assert.instance(e, RangeError))
  await t.close()
})

const Hostile = suite('ws: bad peers')

Hostile('a frame over maxFrameBytes: ws closes with 1009 while reading its header', async () => {
  const s = await server({ maxFrameBytes: 70_000 })
  const conn = await createWsTransport().connect(s.address)
  const infos: CloseInfo[] = []
  conn.onClose((i) => void infos.push(i))
  conn.send(new Uint8Array(100_000))
  await until(() => infos.length === 1, 'the close')
  assert.is(infos[0]!.code, 1009)
  assert.is(s.got.length, 0)
  await s.transport.close()
})

Hostile("before the handshake a frame over the handshake's limit is refused from its header (1009); after it, session-sized frames pass both ways", async () => {
  const s = await server()
  const t = createWsTransport()
  try {
    // a stranger: 2 KiB before any handshake. ws refuses it reading its header, before buffering
    // it (the handshake's own check, on a frame taken whole, would have closed with 1002)
    const stranger = await t.connect(s.address)
    const infos: CloseInfo[] = []
    stranger.onClose((i) => void infos.push(i))
    stranger.send(new Uint8Array(2048))
    await until(() => infos.length === 1, 'the close')
    assert.is(infos[0]!.code, 1009)
    // a peer that proved its key: 16 blocks of ~1 KiB in one frame, to the server and back
    const big = Array.from({ length: 16 }, (_, i) => block(alice, { seq: 1 + i, payload: 'x'.repeat(1000) }))
    const got: SessionMessage[] = []
    const session = await openSession(await t.connect(s.address), { identity: alice, onMessage: (m) => void got.push(m) })
    session.send({ type: 'push', blocks: big })
    await until(() => s.got.some(([, m]) => m.type === 'push' && m.blocks.length === 16), 'the push at the server')
    await until(() => s.sessions.length === 1, 'the server session')
    s.sessions[0]!.send({ type: 'push', blocks: big })
    await until(() => got.some((m) => m.type === 'push' && m.blocks.length === 16), 'the push at the client')
    assert.ok(session.open && s.sessions[0]!.open)
  } finally {
    await t.close()
    await s.transport.close()
  }
})

Hostile('a text frame closes the connection with 1003', async () => {
  const s = await server()
  const raw = new WebSocket(s.address)
  await new Promise((r) => raw.once('open', r))
  const code = new Promise<number>((r) => raw.once('close', (c: number) => r(c)))
  raw.send('hello, in text')
  assert.is(await code, 4003, 'codes 1001-1015 travel as 4001-4015 (browsers may not send them)')
  await s.transport.close()
})

Hostile('malformed CBOR after the handshake: scored, then disconnected with 1008', async () => {
  const s = await server()
  const conn = await createWsTransport().connect(s.address)
  const { peerKey, cipher } = await performHandshake(conn, { identity: alice })
  const session = createSession(conn, { peerKey, cipher })
  const closed = new Promise<SessionCloseInfo>((r) => session.onClose((i) => r(i)))
  // speak raw frames through the session's connection, sealed with its keys as an authenticated peer would
  for (let i = 0; i < 6; i++) conn.send(cipher.seal(Uint8Array.from([0xff, i])))
  const info = await closed
  assert.is(info.code, 1008, 'the 4008 on the wire is mapped back to 1008')
  assert.match(info.reason, /misbehaviour: malformed/)
  await until(() => s.closes.length === 1, 'the server side close')
  assert.match(s.closes[0]!.misbehaviour ?? '', /malformed/)
  await s.transport.close()
})

Hostile('garbage before any handshake, and a replayed hello, never crash the server', async () => {
  const s = await server()
  const t = createWsTransport()
  const garbage = await t.connect(s.address)
  const codes: number[] = []
  garbage.onClose((i) => void codes.push(i.code))
  garbage.send(randomBytes(500))
  const hello = encodeMessage({ type: 'hello', versions: [1], publicKey: alice.publicKey, challenge: new Uint8Array(32).fill(42), noise: new Uint8Array(32).fill(9) })
  const first = await t.connect(s.address)
  first.onFrame(() => undefined)
  first.send(hello)
  const second = await t.connect(s.address)
  second.onFrame(() => undefined)
  second.onClose((i) => void codes.push(i.code))
  await new Promise((r) => setTimeout(r, 50))
  second.send(hello) // the same challenge: refused as a replay
  await until(() => codes.length === 2, 'both refused')
  assert.equal(codes.sort(), [1002, 1008])
  // the server still works
  const ok = await openSession(await t.connect(s.address), { identity: carol })
  assert.ok(ok.open)
  await t.close()
  await s.transport.close()
})

Hostile('too many connections: the next one is closed with 1013, and onRefuse is told', async () => {
  const s = await server({ maxConnections: 2 })
  const refused: RefusedConnection[] = []
  s.transport.onRefuse((e) => void refused.push(e))
  const t = createWsTransport()
  const a = await t.connect(s.address)
  const b = await t.connect(s.address)
  const c = await t.connect(s.address)
  const info = await new Promise<CloseInfo>((r) => c.onClose(r))
  assert.is(info.code, 1013)
  assert.is(refused.length, 1)
  assert.is(refused[0]!.reason, 'too-many-connections')
  assert.match(refused[0]!.remoteAddress, /^ws:\/\/127\.0\.0\.1:\d+$/)
  assert.ok(a.open && b.open)
  a.close()
  await until(() => s.transport.connections === 1, 'the server to count the close')
  const d = await t.connect(s.address)
  await new Promise((r) => setTimeout(r, 50))
  assert.ok(d.open, 'room again after a close')
  await t.close()
  await s.transport.close()
})

/** A TCP client that upgrades to WebSocket and then reads only when told: a peer that stalls. */
async function stalledPeer(address: string): Promise<Socket> {
  const url = new URL(address)
  const socket = tcpConnect(Number(url.port), url.hostname)
  await new Promise((r) => socket.once('connect', r))
  socket.write(
    [`GET ${url.pathname} HTTP/1.1`, `Host: ${url.host}`, 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13', '', ''].join('\r\n'),
  )
  await new Promise((r) => socket.once('data', r)) // the 101 response
  socket.pause()
  return socket
}

Hostile('backpressure: send returns false when the peer stalls, drain fires when it reads again', async () => {
  const transport = createWsTransport({ highWaterMark: 256 * 1024, maxBufferedBytes: 512 * 1024 * 1024 })
  let conn: Connection | undefined
  const address = await transport.listen((c) => {
    conn = c
  })
  const peer = await stalledPeer(address)
  await until(() => conn !== undefined, 'the accept')
  let drained = 0
  conn!.onDrain(() => void drained++)
  const frame = new Uint8Array(64 * 1024)
  let sent = 0
  while (conn!.send(frame)) {
    sent++
    if (sent > 2000) assert.unreachable('the send buffer never filled')
  }
  assert.ok(conn!.bufferedAmount >= 256 * 1024)
  assert.is(drained, 0)
  peer.on('data', () => undefined)
  peer.resume()
  await until(() => drained === 1, 'the drain')
  assert.ok(conn!.bufferedAmount < 256 * 1024)
  peer.destroy()
  await transport.close()
})

Hostile('a peer that never reads is disconnected once maxBufferedBytes wait for it (1008)', async () => {
  const transport = createWsTransport({ highWaterMark: 64 * 1024, maxBufferedBytes: 2 * 1024 * 1024 })
  let conn: Connection | undefined
  const address = await transport.listen((c) => {
    conn = c
  })
  const peer = await stalledPeer(address)
  await until(() => conn !== undefined, 'the accept')
  const infos: CloseInfo[] = []
  conn!.onClose((i) => void infos.push(i))
  const frame = new Uint8Array(64 * 1024)
  for (let i = 0; i < 4000 && conn!.open; i++) conn!.send(frame)
  assert.not.ok(conn!.open, 'closed before 256 MB were queued')
  peer.destroy()
  await until(() => infos.length === 1, 'the close')
  assert.is(infos[0]!.code, 1008)
  assert.ok(infos[0]!.local)
  await transport.close()
})

const OnPath = suite('ws: a relay on the path')

/** What the relay does with each frame: deliver returns it, or others, or nothing. */
type Tamper = (frame: Uint8Array, direction: 'up' | 'down', index: number) => Uint8Array[]

/**
 * A WebSocket relay on 127.0.0.1 between clients and `upstream`, as a proxy or a network on the
 * path would be: it forwards every binary frame (through `tamper`), records them, and passes closes on.
 */
async function relay(upstream: string, tamper: Tamper = (f) => [f]) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((r) => wss.once('listening', r))
  const frames = { up: [] as Uint8Array[], down: [] as Uint8Array[] }
  const sockets: WebSocket[] = []
  const closeCode = (code: number): number => (code === 1005 || code === 1006 ? 1000 : code)
  wss.on('connection', (down) => {
    const up = new WebSocket(upstream)
    sockets.push(up, down)
    const early: Uint8Array[] = []
    const counts = { up: 0, down: 0 }
    const pass = (direction: 'up' | 'down', data: Uint8Array, to: WebSocket): void => {
      frames[direction].push(data)
      for (const f of tamper(data, direction, counts[direction]++)) to.send(f)
    }
    up.on('open', () => {
      for (const f of early.splice(0)) pass('up', f, up)
    })
    down.on('message', (data: Buffer) => {
      const frame = new Uint8Array(data)
      if (up.readyState === WebSocket.OPEN) pass('up', frame, up)
      else early.push(frame)
    })
    up.on('message', (data: Buffer) => pass('down', new Uint8Array(data), down))
    up.on('close', (code, reason) => down.close(closeCode(code), reason))
    down.on('close', (code, reason) => (up.readyState === WebSocket.CONNECTING ? up.terminate() : up.close(closeCode(code), reason)))
    up.on('error', () => down.terminate())
    down.on('error', () => up.terminate())
  })
  const port = (wss.address() as { port: number }).port
  return {
    address: `ws://127.0.0.1:${port}/`,
    frames,
    async close(): Promise<void> {
      for (const socket of sockets) socket.terminate()
      await new Promise((r) => wss.close(r))
    },
  }
}

/** A session from alice to the server through `r`. */
async function through(r: { address: string }): Promise<{ session: Session; closed: Promise<SessionCloseInfo>; transport: ReturnType<typeof createWsTransport> }> {
  const transport = createWsTransport()
  const session = await openSession(await transport.connect(r.address), { identity: alice, expectedPeer: bob.publicKey })
  const closed = new Promise<SessionCloseInfo>((resolve) => session.onClose(resolve))
  return { session, closed, transport }
}

/** The server's session ended for a frame that failed authentication (1007), and the client learnt it. */
async function endedUnauthenticated(s: Awaited<ReturnType<typeof server>>, closed: Promise<SessionCloseInfo>): Promise<void> {
  const info = await closed
  assert.is(info.code, 1007, 'the 4007 on the wire is mapped back to 1007')
  await until(() => s.closes.length === 1, 'the server side close')
  assert.is(s.closes[0]!.code, 1007)
  assert.ok(s.closes[0]!.unauthenticated)
  assert.is(s.closes[0]!.misbehaviour, undefined)
}

OnPath('an honest relay passes the session on, and sees no plaintext: neither the message nor the block', async () => {
  const s = await server()
  const r = await relay(s.address)
  const { session, transport } = await through(r)
  const secret = block(alice, { seq: 1, payload: 'the combination is 4-8-15-16' })
  session.send({ type: 'push', blocks: [secret] })
  const answer = await session.request({ type: 'crawl-request', publicKey: bob.publicKey, start: 1, end: -1 })
  assert.is(answer.type, 'crawl-answer')
  await until(() => s.got.some(([, m]) => m.type === 'push'), 'the push')
  const got = s.got.find(([, m]) => m.type === 'push')![1]
  assert.ok(got.type === 'push' && equalBytes(encodeBlock(got.blocks[0]!), encodeBlock(secret)))
  const wire = [...r.frames.up.slice(2), ...r.frames.down.slice(1)] // after hello, auth and welcome
  assert.ok(wire.length >= 3)
  for (const needle of [encodeMessage({ type: 'push', blocks: [secret] }), encodeBlock(secret), new TextEncoder().encode('4-8-15-16')]) {
    assert.not.ok(wire.some((f) => Buffer.from(f).includes(Buffer.from(needle))), 'plaintext on the wire')
  }
  await transport.close()
  await r.close()
  await s.transport.close()
})

OnPath('a relay that flips one byte of a frame: the session closes (1007), the frame is never read', async () => {
  const s = await server()
  const r = await relay(s.address, (f, direction, i) => {
    if (direction !== 'up' || i !== 3) return [f]
    const g = Uint8Array.from(f)
    g[g.length >> 1]! ^= 0x04
    return [g]
  })
  const { session, closed, transport } = await through(r)
  session.send({ type: 'push', blocks: [aliceChain[0]!] }) // frame 2 (after hello and auth): passes
  session.send({ type: 'push', blocks: [aliceChain[1]!] }) // frame 3: altered
  await endedUnauthenticated(s, closed)
  assert.equal(s.got.flatMap(([, m]) => (m.type === 'push' ? [m.blocks[0]!.seq] : [])), [1])
  await transport.close()
  await r.close()
  await s.transport.close()
})

OnPath('a relay that injects a plaintext frame, or replays a sealed one: the session closes (1007)', async () => {
  for (const inject of ['plaintext', 'replay'] as const) {
    const s = await server()
    const r = await relay(s.address, (f, direction, i) => {
      if (direction !== 'up' || i !== 2) return [f]
      const extra = inject === 'plaintext' ? encodeMessage({ type: 'push', blocks: [aliceChain[2]!] }) : f
      return [f, extra]
    })
    const { session, closed, transport } = await through(r)
    session.send({ type: 'push', blocks: [aliceChain[0]!] })
    await endedUnauthenticated(s, closed)
    assert.equal(s.got.flatMap(([, m]) => (m.type === 'push' ? [m.blocks[0]!.seq] : [])), [1], inject)
    await transport.close()
    await r.close()
    await s.transport.close()
  }
})

const Browser = suite('ws: browser build')

Browser('the "browser" condition gives the global-WebSocket client; it talks to the Node server', async () => {
  const s = await server()
  const fixture = fileURLToPath(new URL('./fixtures/browser-client.ts', import.meta.url))
  const child = spawn(process.execPath, ['--conditions=browser', '--experimental-websocket', '--no-warnings', '--import', 'tsx', fixture, s.address], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  const code = await new Promise<number | null>((r) => child.on('close', r))
  assert.is(code, 0, err)
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>
  assert.equal(result, { globalWebSocket: 'function', listenRefused: 'RefusedError', peer: toHex(bob.publicKey), encrypted: true, answer: 'crawl-answer', latest: 0 })
  await until(() => s.got.some(([, m]) => m.type === 'heads'), 'the heads from the browser client')
  await s.transport.close()
})

Browser('without the condition, "./ws" is the Node build (server and client)', async () => {
  const mod = await import('@tally/gossip/ws')
  const t = mod.createWsTransport()
  const address = await t.listen(() => undefined)
  assert.match(address, /^ws:\/\//)
  await t.close()
})

Loopback.run()
Hostile.run()
OnPath.run()
Browser.run()
