/**
 * Noise with primitives that answer through Promises, as WebCrypto's X25519 does in a browser
 * (wire/default-noise.browser.ts): the same bytes as the synchronous primitives (flynn/noise's
 * vectors through `write` and `read`), the same refusals (a low-order point), the handshake waits
 * for each DH with reading held (frames that arrive meanwhile wait, in order, and are not lost),
 * and nodes whose X25519 is asynchronous dial, are dialled, transact and tunnel with nodes whose
 * X25519 is not. Here the asynchronous primitives are @noble's behind a wait on the virtual clock.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createIdentity, createMemoryStore, equalBytes, fromHex, toHex, type CryptoProvider, type NoisePrimitives, type SeedIdentity } from '@tally/core'
import { HandshakeError, createMemoryNetwork, createNode, createSession, performHandshake, relayAddress, type Clock, type SessionMessage } from '@tally/gossip'
import { NOISE_PROTOCOL, NoiseHandshake, keyPairFromSecret, keyPairOf, type MaybeAsyncNoise } from '../src/wire/noise.js'
import { nobleNoise } from '../src/wire/noble-noise.js'
import { connectedPair } from './helpers.ts'
import { crypto as fast, identity, noteTypes, settle } from './fixtures/node-kit.ts'
import { noiseVectors } from './fixtures/noise-vectors.ts'

const vectors = noiseVectors

/** @noble's primitives whose X25519 answers through a Promise: after `delay` (default: a microtask). */
function asyncNoise(delay: () => Promise<void> = () => Promise.resolve()): MaybeAsyncNoise & { calls: number } {
  const out = {
    name: 'async-noble',
    calls: 0,
    x25519PublicKey: async (secretKey: Uint8Array) => {
      out.calls++
      await delay()
      return nobleNoise.x25519PublicKey(secretKey)
    },
    x25519: async (secretKey: Uint8Array, publicKey: Uint8Array) => {
      out.calls++
      await delay()
      return nobleNoise.x25519(secretKey, publicKey)
    },
    seal: nobleNoise.seal,
    open: nobleNoise.open,
  }
  return out
}

/** A wait of `ms` on a virtual clock. */
const after = (clock: Clock, ms: number) => () => new Promise<void>((resolve) => void clock.setTimeout(resolve, ms))

/** `id`'s key with a crypto provider whose Noise primitives are `noise`. */
function withNoise(id: SeedIdentity, noise: MaybeAsyncNoise): ReturnType<typeof createIdentity> {
  // CryptoProvider.noise is typed synchronous: these primitives are what a browser's default is
  const crypto: CryptoProvider = { ...fast, noise: noise as unknown as NoisePrimitives }
  return createIdentity(id, crypto)
}

// ## Noise

const Noise = suite('noise: primitives that answer through Promises')

Noise('flynn/noise vectors through write() and read(): every message byte for byte, the same split', async () => {
  for (const v of vectors) {
    assert.is(v.protocol, NOISE_PROTOCOL)
    const primitives = asyncNoise()
    const prologue = fromHex(v.prologue)
    const key = async (hex: string) => keyPairOf(fromHex(hex), primitives)
    const i = new NoiseHandshake({ initiator: true, prologue, primitives, staticKey: await key(v.initStatic), ephemeralKey: await key(v.initEphemeral) })
    const r = new NoiseHandshake({ initiator: false, prologue, primitives, staticKey: await key(v.respStatic), ephemeralKey: await key(v.respEphemeral) })
    const sides = [i, r]
    for (let m = 0; m < 3; m++) {
      const { payload, ciphertext } = v.messages[m]!
      const writing = m % 2 === 0 ? sides[0]! : sides[1]!
      const reading = m % 2 === 0 ? sides[1]! : sides[0]!
      const sent = writing.write(fromHex(payload))
      assert.ok(m === 0 || sent instanceof Promise, 'a message with a DH waits for it')
      const message = (await sent)!
      assert.is(toHex(message), ciphertext, `message ${m + 1}`)
      assert.is(toHex((await reading.read(message))!), payload)
    }
    // transport messages, alternating from the initiator: the ciphers Split gave
    const ciphers = [i.split(), r.split()]
    for (let m = 3; m < v.messages.length; m++) {
      const { payload, ciphertext } = v.messages[m]!
      const frame = ciphers[(m - 3) % 2]!.seal(fromHex(payload))
      assert.is(toHex(frame), ciphertext, `transport message ${m + 1}`)
      assert.is(toHex(ciphers[(m - 2) % 2]!.open(frame)!), payload)
    }
    assert.is(toHex(i.handshakeHash), toHex(r.handshakeHash))
    assert.ok(primitives.calls >= 3)
  }
})

Noise('one side synchronous, the other not: the same handshake hash and working ciphers', async () => {
  const prologue = fromHex('01')
  const fresh = () => globalThis.crypto.getRandomValues(new Uint8Array(32))
  const primitives = asyncNoise()
  const i = new NoiseHandshake({ initiator: true, prologue, staticKey: keyPairFromSecret(fresh()) })
  const r = new NoiseHandshake({ initiator: false, prologue, primitives, staticKey: await keyPairOf(fresh(), primitives) })
  assert.ok((await r.read(i.writeMessage()!)) !== undefined)
  assert.ok(i.readMessage((await r.write())!) !== undefined)
  assert.ok((await r.read(i.writeMessage()!)) !== undefined)
  assert.is(toHex(i.handshakeHash), toHex(r.handshakeHash))
  assert.is(toHex(i.split().open(r.split().seal(fromHex('ff')))!), 'ff')
})

Noise('a low-order point or a rejected DH fails the message (undefined), as a throwing DH does', async () => {
  const fresh = () => globalThis.crypto.getRandomValues(new Uint8Array(32))
  const primitives = asyncNoise()
  const i = new NoiseHandshake({ initiator: true, prologue: new Uint8Array(0), staticKey: keyPairFromSecret(fresh()) })
  const r = new NoiseHandshake({ initiator: false, prologue: new Uint8Array(0), primitives, staticKey: await keyPairOf(fresh(), primitives) })
  // message 1 whose ephemeral key is the all-zero point: the responder's ee DH is all zeros
  const m1 = i.writeMessage()!
  m1.fill(0, 0, 32)
  assert.ok((await r.read(m1)) !== undefined, 'message 1 has no DH to read')
  assert.is(await r.write(), undefined, 'the DH with a low-order key fails the message')
  // and a state that failed refuses to go on
  assert.throws(() => r.write(), /failed/)
  const refusing: MaybeAsyncNoise = { ...primitives, x25519: () => Promise.reject(new Error('no X25519 here')) }
  const r2 = new NoiseHandshake({ initiator: false, prologue: new Uint8Array(0), primitives: refusing, staticKey: keyPairFromSecret(fresh()) })
  assert.ok((await r2.read(new NoiseHandshake({ initiator: true, prologue: new Uint8Array(0), staticKey: keyPairFromSecret(fresh()) }).writeMessage()!)) !== undefined)
  assert.is(await r2.write(), undefined)
})

Noise('writeMessage / readMessage refuse primitives that answer through Promises (TypeError naming write/read)', async () => {
  const primitives = asyncNoise()
  const i = new NoiseHandshake({ initiator: true, prologue: new Uint8Array(0), primitives, staticKey: keyPairFromSecret(new Uint8Array(32).fill(1)) })
  assert.throws(() => i.writeMessage(), (err: unknown) => err instanceof TypeError && /write\(\) and read\(\)/.test((err as Error).message))
})

Noise.run()

// ## Handshake

const Handshake = suite('handshake: Noise primitives that answer through Promises')

type Made = ReturnType<typeof createIdentity>

/**
 * A handshake between the identities `client(clock)` and `server(clock)` make, on a memory
 * network; the client's session sends a frame at once after its handshake, while the server may
 * still wait for its last DH.
 */
async function handshake(client: (clock: Clock) => Made, server: (clock: Clock) => Made) {
  const pair = await connectedPair()
  const clock = pair.net.clock
  const got: SessionMessage[] = []
  const hc = performHandshake(pair.client, { identity: client(clock), clock }).then((rc) => {
    // the initiator's session starts at once and speaks first: that frame must reach the
    // responder's session (it waits, with reading held), not its handshake
    const session = createSession(pair.client, { clock, peerKey: rc.peerKey, version: rc.version, sessionId: rc.sessionId, cipher: rc.cipher })
    session.send({ type: 'neighbours', ids: [fromHex('0102030405060708')], ack: 7 })
    return rc
  })
  const hs = performHandshake(pair.server, { identity: server(clock), clock }).then((rs) => {
    createSession(pair.server, { clock, peerKey: rs.peerKey, version: rs.version, sessionId: rs.sessionId, cipher: rs.cipher }).onMessage((m) => void got.push(m))
    return rs
  })
  const done = Promise.allSettled([hc, hs])
  await clock.runFor(5000)
  const [c, s] = await done
  await clock.runFor(1000)
  return { c, s, got }
}

const fulfilled = <T>(r: PromiseSettledResult<T>): T => {
  assert.is(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '')
  return (r as PromiseFulfilledResult<T>).value
}

Handshake('both sides asynchronous (each DH 30 ms): keys proved, one session id, the first frame not lost', async () => {
  const a = identity(21)
  const b = identity(22)
  let na: ReturnType<typeof asyncNoise> | undefined
  let nb: ReturnType<typeof asyncNoise> | undefined
  const { c, s, got } = await handshake(
    (clock) => withNoise(a, (na = asyncNoise(after(clock, 30)))),
    (clock) => withNoise(b, (nb = asyncNoise(after(clock, 30)))),
  )
  const rc = fulfilled(c)
  const rs = fulfilled(s)
  assert.ok(equalBytes(rc.peerKey, b.publicKey))
  assert.ok(equalBytes(rs.peerKey, a.publicKey))
  assert.is(toHex(rc.sessionId), toHex(rs.sessionId))
  assert.ok(na!.calls >= 3 && nb!.calls >= 3, 'both sides used their asynchronous X25519')
  assert.is(got.length, 1, 'the frame sent while the responder waited reached its session')
  assert.is(got[0]!.type, 'neighbours')
})

Handshake('asynchronous against synchronous, either way round: the handshake succeeds', async () => {
  for (const asyncSide of ['client', 'server'] as const) {
    let noise: ReturnType<typeof asyncNoise> | undefined
    const a = identity(31)
    const b = identity(32)
    const { c, s, got } = await handshake(
      (clock) => (asyncSide === 'client' ? withNoise(a, (noise = asyncNoise(after(clock, 10)))) : createIdentity(a, fast)),
      (clock) => (asyncSide === 'server' ? withNoise(b, (noise = asyncNoise(after(clock, 10)))) : createIdentity(b, fast)),
    )
    fulfilled(c)
    fulfilled(s)
    assert.ok(noise!.calls >= 3)
    assert.is(got.length, 1)
  }
})

Handshake('a DH that rejects fails the handshake as a low-order key does; a static key that cannot be made fails it with the error', async () => {
  const failingDh: MaybeAsyncNoise = { ...asyncNoise(), x25519: () => Promise.reject(new Error('X25519 unavailable')) }
  const dh = await handshake(
    () => createIdentity(identity(41), fast),
    () => withNoise(identity(42), failingDh),
  )
  assert.is(dh.s.status, 'rejected')
  assert.instance((dh.s as PromiseRejectedResult).reason, HandshakeError)
  assert.is(((dh.s as PromiseRejectedResult).reason as HandshakeError).reason, 'protocol')
  assert.is(dh.c.status, 'rejected', 'the initiator is told and the connection closed')
  const failingKey: MaybeAsyncNoise = { ...asyncNoise(), x25519PublicKey: () => Promise.reject(new Error('X25519 unavailable')) }
  const key = await handshake(
    () => withNoise(identity(43), failingKey),
    () => createIdentity(identity(44), fast),
  )
  assert.is(key.c.status, 'rejected')
  assert.match(String((key.c as PromiseRejectedResult).reason), /X25519 unavailable/)
  assert.is(key.s.status, 'rejected', 'the responder sees the connection close')
})

Handshake.run()

// ## Nodes

const Nodes = suite('node: asynchronous X25519 on one side')

Nodes('a node with asynchronous X25519 dials, is dialled, transacts both ways, and is reached through a relay', async () => {
  const net = createMemoryNetwork({ seed: 5 })
  const slow = asyncNoise(after(net.clock, 20))
  const ids = [identity(51), identity(52), identity(53)]
  const make = (i: number, asyncX25519: boolean, relay: object) =>
    createNode({
      identity: asyncX25519 ? withNoise(ids[i]!, slow) : ids[i]!,
      store: createMemoryStore({ crypto: fast }),
      transport: net.transport(`mem://n${i}`),
      types: noteTypes(),
      clock: net.clock,
      cacheSize: 4096,
      relay,
    })
  // 0: asynchronous X25519 and never listening (a page); 1: a relay; 2: a node that listens
  const page = make(0, true, {})
  const relay = make(1, false, { serve: true })
  const other = make(2, false, {})
  await relay.listen()
  await other.listen()
  try {
    await settle(net, page.connect(relay.address!))
    await settle(net, other.connect(relay.address!))
    // dial out, transact both ways
    await settle(net, page.connect(other.address!))
    const out = await settle(net, page.transact(other.publicKey, 'note', 'from the page'))
    assert.ok(equalBytes(out.agreement.publicKey, other.publicKey))
    const back = await settle(net, other.transact(page.publicKey, 'note', 'to the page'))
    assert.ok(equalBytes(back.agreement.publicKey, page.publicKey))
    // reached through the relay: a tunnel whose handshake the page answers with its asynchronous X25519
    other.disconnect(page.publicKey)
    await net.clock.runFor(500)
    other.addAddress(page.publicKey, relayAddress(relay.publicKey, page.publicKey))
    const tunnelled = await settle(net, other.transact(page.publicKey, 'note', 'through the relay'))
    assert.ok(equalBytes(tunnelled.agreement.publicKey, page.publicKey))
    assert.ok(slow.calls >= 9, `the page's X25519 ran for its handshakes (${slow.calls} calls)`)
  } finally {
    await Promise.all([page.close(), relay.close(), other.close()])
  }
})

Nodes('two pages with asynchronous X25519 dial each other through the relay at the same moment: both get the one session', async () => {
  const net = createMemoryNetwork({ seed: 6 })
  const ids = [identity(61), identity(62), identity(63)]
  const make = (i: number, relay: object) =>
    createNode({
      identity: i === 0 ? ids[i]! : withNoise(ids[i]!, asyncNoise(after(net.clock, 5 + 10 * i))),
      store: createMemoryStore({ crypto: fast }),
      transport: net.transport(`mem://p${i}`),
      types: noteTypes(),
      clock: net.clock,
      cacheSize: 4096,
      relay,
    })
  const relay = make(0, { serve: true })
  const a = make(1, {})
  const b = make(2, {})
  await relay.listen()
  try {
    await settle(net, a.connect(relay.address!))
    await settle(net, b.connect(relay.address!))
    // the relay adopts each session when the dialer's auth reaches it
    await net.clock.runFor(1000)
    assert.is(relay.peers.length, 2)
    const failed: string[] = []
    for (const n of [a, b]) n.on('handshake:failed', (e) => void failed.push(`${e.reason}: ${String((e.error as Error | undefined)?.message ?? '')}`))
    for (let round = 0; round < 3; round++) {
      const [ab, ba] = await settle(net, Promise.all([a.connect(relayAddress(relay.publicKey, b.publicKey)), b.connect(relayAddress(relay.publicKey, a.publicKey))]))
      assert.ok(equalBytes(ab, b.publicKey) && equalBytes(ba, a.publicKey), `round ${round}: each reached the other`)
      const [x, y] = await settle(net, Promise.all([a.transact(b.publicKey, 'note', `a to b ${round}`), b.transact(a.publicKey, 'note', `b to a ${round}`)]))
      assert.ok(equalBytes(x.agreement.publicKey, b.publicKey) && equalBytes(y.agreement.publicKey, a.publicKey), `round ${round}: transactions both ways`)
      assert.is(a.peers.filter((p) => equalBytes(p.publicKey, b.publicKey)).length, 1, `round ${round}: one session a-b`)
      a.disconnect(b.publicKey)
      await net.clock.runFor(1000)
      assert.not.ok(b.peers.some((p) => equalBytes(p.publicKey, a.publicKey)), `round ${round}: b saw the tunnel close`)
    }
    // neither the crossing nor the frames still on their way when a tunnel closed fail a handshake
    assert.equal(failed, [])
  } finally {
    await Promise.all([relay, a, b].map((n) => n.close()))
  }
})

Nodes.run()
