/**
 * The handshake on the memory network: both sides prove their keys and agree on a version; a
 * wrong key, a forged signature, a replayed hello, auth or welcome, a version mismatch, a
 * downgrade, a stalled peer and a malformed frame are all refused, and the connection closed.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ClosedError, RefusedError, concatBytes, createIdentity, domainTag, encodeCanonical, equalBytes, toHex, type Connection, type Identity, type SeedIdentity } from '@tally/core'
import {
  HandshakeError,
  PROTOCOL_VERSION,
  createSeenCache,
  decodeMessage,
  encodeMessage,
  handshakeSignable,
  performHandshake,
  type HandshakeOptions,
  type HandshakeResult,
  type HandshakeTranscript,
  type Message,
  type WelcomeMessage,
} from '@tally/gossip'
import { NoiseHandshake, keyPairFromSecret } from '../src/wire/noise.js'
import { alice, bob, carol, connectedPair, mallory, rejection } from './helpers.ts'

/** Run both sides of a handshake to the end. */
async function both(
  client: Partial<HandshakeOptions> & { identity: Identity },
  server: Partial<HandshakeOptions> & { identity: Identity },
): Promise<{ c: PromiseSettledResult<HandshakeResult>; s: PromiseSettledResult<HandshakeResult>; clientConn: Connection; serverConn: Connection }> {
  const { net, client: clientConn, server: serverConn } = await connectedPair()
  // settle at once: a rejection while the clock runs must already have a handler
  const settled = Promise.allSettled([performHandshake(clientConn, { clock: net.clock, ...client }), performHandshake(serverConn, { clock: net.clock, ...server })])
  await net.clock.runUntilIdle()
  const [c, s] = await settled
  return { c, s, clientConn, serverConn }
}

function refusedWith(r: PromiseSettledResult<HandshakeResult>, reason: string): void {
  assert.is(r.status, 'rejected', `expected a refusal (${reason})`)
  if (r.status === 'rejected') {
    assert.instance(r.reason, HandshakeError)
    assert.instance(r.reason, RefusedError)
    assert.is((r.reason as HandshakeError).code, 'ERR_REFUSED')
    assert.is((r.reason as HandshakeError).reason, reason, String(r.reason))
  }
}

/** The promise's outcome as a value, handled at once: a rejection while the clock runs is expected. */
function settle<T>(p: Promise<T>): Promise<PromiseSettledResult<T>> {
  return Promise.allSettled([p]).then(([r]) => r!)
}

/** The error of a settled rejection. */
function reasonOf(r: PromiseSettledResult<unknown>): Error {
  assert.is(r.status, 'rejected', 'expected a rejection')
  return (r as PromiseRejectedResult).reason as Error
}

function decoded(frame: Uint8Array): Message {
  const r = decodeMessage(frame)
  if (!r.ok) throw r.error
  return r.message
}

/** Record every frame a connection sends. */
function tap(conn: Connection): Uint8Array[] {
  const sent: Uint8Array[] = []
  const send = conn.send.bind(conn)
  conn.send = (frame) => {
    sent.push(frame)
    return send(frame)
  }
  return sent
}

// ## Success

const Success = suite('handshake: success')

Success('both sides learn the proved key, the version and the same session id', async () => {
  const { c, s, clientConn, serverConn } = await both({ identity: alice, expectedPeer: bob.publicKey }, { identity: bob })
  assert.is(c.status, 'fulfilled')
  assert.is(s.status, 'fulfilled')
  if (c.status !== 'fulfilled' || s.status !== 'fulfilled') return
  assert.ok(equalBytes(c.value.peerKey, bob.publicKey))
  assert.ok(equalBytes(s.value.peerKey, alice.publicKey))
  assert.is(c.value.role, 'initiator')
  assert.is(s.value.role, 'responder')
  assert.is(c.value.version, PROTOCOL_VERSION)
  assert.is(s.value.version, PROTOCOL_VERSION)
  assert.is(toHex(c.value.sessionId), toHex(s.value.sessionId))
  assert.is(c.value.sessionId.length, 32)
  assert.ok(clientConn.open && serverConn.open, 'the connection stays open for the session')
})

Success('identities that sign through a Promise (a WebCrypto key) complete the handshake', async () => {
  const later = (id: SeedIdentity) => createIdentity({ publicKey: id.publicKey, sign: async (m) => { await Promise.resolve(); return id.sign(m) } })
  const { c, s } = await both({ identity: later(alice), expectedPeer: bob.publicKey }, { identity: later(bob) })
  assert.is(c.status, 'fulfilled', String((c as PromiseRejectedResult).reason))
  assert.is(s.status, 'fulfilled', String((s as PromiseRejectedResult).reason))
  if (c.status === 'fulfilled' && s.status === 'fulfilled') assert.is(toHex(c.value.sessionId), toHex(s.value.sessionId))
})

Success('a key that fails to sign fails the handshake and closes the connection', async () => {
  const broken = createIdentity({ publicKey: bob.publicKey, sign: async () => { throw new Error('key store locked') } })
  const { c, s, serverConn } = await both({ identity: alice }, { identity: broken })
  assert.is(s.status, 'rejected')
  assert.is(c.status, 'rejected')
  assert.not.ok(serverConn.open)
})

Success('both sides get the session\'s Noise ciphers: what one seals the other opens, once and in order', async () => {
  const { c, s } = await both({ identity: alice }, { identity: bob })
  if (c.status !== 'fulfilled' || s.status !== 'fulfilled') return assert.unreachable('the handshake failed')
  const text = new TextEncoder().encode('hello bob')
  const sealed = c.value.cipher.seal(text)
  assert.is(sealed.length, text.length + 16)
  assert.is.not(toHex(sealed.subarray(0, text.length)), toHex(text), 'encrypted')
  assert.equal(s.value.cipher.open(sealed), text)
  assert.is(s.value.cipher.open(sealed), undefined, 'not twice')
  assert.equal(c.value.cipher.open(s.value.cipher.seal(text)), text, 'and back')
})

Success('the highest common version is chosen', async () => {
  const { c, s } = await both({ identity: alice, versions: [5, 3, 2, 1] }, { identity: bob, versions: [4, 3, 1] })
  assert.is(c.status === 'fulfilled' && c.value.version, 3)
  assert.is(s.status === 'fulfilled' && s.value.version, 3)
})

Success('two handshakes between the same agents get different session ids', async () => {
  const first = await both({ identity: alice }, { identity: bob })
  const second = await both({ identity: alice }, { identity: bob })
  assert.ok(first.c.status === 'fulfilled' && second.c.status === 'fulfilled')
  if (first.c.status === 'fulfilled' && second.c.status === 'fulfilled') {
    assert.is.not(toHex(first.c.value.sessionId), toHex(second.c.value.sessionId))
  }
})

Success('what is signed: domain tag, then a hash binding role, version, both version lists, keys, challenges and the Noise hash', () => {
  const t: HandshakeTranscript = {
    version: 1,
    initiatorVersions: [1],
    responderVersions: [1],
    initiatorKey: alice.publicKey,
    responderKey: bob.publicKey,
    initiatorChallenge: new Uint8Array(32).fill(1),
    responderChallenge: new Uint8Array(32).fill(2),
    noiseHash: new Uint8Array(32).fill(9),
  }
  const tag = domainTag('handshake')
  const i = handshakeSignable('initiator', t, alice.crypto)
  const r = handshakeSignable('responder', t, alice.crypto)
  assert.is(i.length, tag.length + 32, 'never a bare 32-byte hash, as a block signature signs')
  assert.is(toHex(i.slice(0, tag.length)), toHex(tag))
  assert.is.not(toHex(i), toHex(r), 'roles differ')
  const variants: Partial<HandshakeTranscript>[] = [
    { version: 2 },
    { initiatorVersions: [2, 1] },
    { responderVersions: [2, 1] },
    { initiatorKey: carol.publicKey },
    { responderKey: carol.publicKey },
    { initiatorChallenge: new Uint8Array(32).fill(3) },
    { responderChallenge: new Uint8Array(32).fill(3) },
    { noiseHash: new Uint8Array(32).fill(3) },
  ]
  for (const v of variants) {
    assert.is.not(toHex(handshakeSignable('initiator', { ...t, ...v }, alice.crypto)), toHex(i), `${Object.keys(v)[0]} is bound`)
  }
})

// ## Refusals

const Refused = suite('handshake: refusals')

Refused('a peer with another key than expected ("wrong-key"), and the other side learns it', async () => {
  const { c, s, clientConn } = await both({ identity: alice, expectedPeer: carol.publicKey }, { identity: bob })
  refusedWith(c, 'wrong-key')
  refusedWith(s, 'peer-refused')
  assert.not.ok(clientConn.open)
})

Refused('no common version: the responder refuses with code "version"', async () => {
  const { c, s, serverConn } = await both({ identity: alice, versions: [3] }, { identity: bob, versions: [2, 1] })
  refusedWith(s, 'version')
  refusedWith(c, 'version')
  assert.not.ok(serverConn.open)
})

Refused('our own key ("self") and a key refused by policy ("policy")', async () => {
  refusedWith((await both({ identity: alice }, { identity: alice })).s, 'self')
  const policy = await both({ identity: mallory }, { identity: bob, accept: (k) => !equalBytes(k, mallory.publicKey) })
  refusedWith(policy.s, 'policy')
  refusedWith(policy.c, 'peer-refused')
})

/** An identity that claims `claimed`'s key but signs with `signer`'s: it runs the whole handshake, Noise included. */
function impostor(claimed: SeedIdentity, signer: SeedIdentity): Identity {
  return createIdentity({ publicKey: claimed.publicKey, sign: (m) => signer.sign(m) })
}

Refused('an impostor initiator: claims alice\'s key, cannot sign for it ("bad-signature")', async () => {
  const { net, client, server } = await connectedPair()
  const hs = settle(performHandshake(server, { identity: bob, clock: net.clock }))
  const hc = settle(performHandshake(client, { identity: impostor(alice, mallory), clock: net.clock }))
  await net.clock.runFor(400)
  refusedWith(await hs, 'bad-signature')
  assert.not.ok(server.open)
  assert.is((await hc).status, 'fulfilled', 'the initiator is done once it sent its auth; its session sees the close')
})

Refused('an impostor responder: claims bob\'s key, cannot sign for it ("bad-signature")', async () => {
  const { net, client, server } = await connectedPair()
  const hc = settle(performHandshake(client, { identity: alice, clock: net.clock, expectedPeer: bob.publicKey }))
  const hs = settle(performHandshake(server, { identity: impostor(bob, mallory), clock: net.clock }))
  await net.clock.runFor(400)
  refusedWith(await hc, 'bad-signature')
  assert.is((await hs).status, 'rejected')
})

Refused('a relay that runs its own Noise with each side, passing the signatures on: refused ("bad-signature")', async () => {
  // on the path between alice and bob, it swaps every Noise message for its own: a Noise run with
  // bob as alice's stand-in, another with alice as bob's. Each run is valid Noise, but bob's
  // signature covers bob's run (its handshake hash), not the one alice sees
  const { net, client, server } = await connectedPair()
  const prologue = (m: Message & { type: 'hello' }): Uint8Array => concatBytes(domainTag('handshake'), encodeCanonical(['prologue', [...m.versions], m.publicKey, m.challenge]))
  const fresh = (): ReturnType<typeof keyPairFromSecret> => keyPairFromSecret(crypto.getRandomValues(new Uint8Array(32)))
  let toBob: NoiseHandshake | undefined
  let toAlice: NoiseHandshake | undefined
  let relayedWelcome = false
  const fromAlice = client.send.bind(client)
  client.send = (frame) => {
    const m = decoded(frame)
    if (m.type !== 'hello') return fromAlice(frame)
    toBob = new NoiseHandshake({ initiator: true, prologue: prologue(m), staticKey: fresh() })
    toAlice = new NoiseHandshake({ initiator: false, prologue: prologue(m), staticKey: fresh() })
    assert.ok(toAlice.readMessage(m.noise) !== undefined)
    return fromAlice(encodeMessage({ ...m, noise: toBob.writeMessage()! }))
  }
  const fromBob = server.send.bind(server)
  server.send = (frame) => {
    const m = decoded(frame)
    if (m.type !== 'welcome') return fromBob(frame)
    relayedWelcome = toBob!.readMessage(m.noise) !== undefined
    return fromBob(encodeMessage({ ...m, noise: toAlice!.writeMessage()! }))
  }
  const hc = settle(performHandshake(client, { identity: alice, clock: net.clock, expectedPeer: bob.publicKey }))
  const hs = settle(performHandshake(server, { identity: bob, clock: net.clock }))
  await net.clock.runFor(400)
  assert.ok(relayedWelcome, 'the relay\'s Noise run with bob is valid')
  refusedWith(await hc, 'bad-signature')
  assert.match(reasonOf(await hc).message, /signature does not verify/, 'refused for the signature, not for Noise')
  assert.is((await hs).status, 'rejected')
})

Refused('a downgrade: a welcome choosing a lower version than the highest common one', async () => {
  const { net, client, server } = await connectedPair()
  // on the path: version 2 is struck from alice's hello, so bob, who speaks 2 and 1, honestly
  // chooses and signs version 1 while both speak 2
  const send = client.send.bind(client)
  client.send = (frame) => {
    const m = decoded(frame)
    return send(m.type === 'hello' ? encodeMessage({ ...m, versions: [1] }) : frame)
  }
  const hc = settle(performHandshake(client, { identity: alice, clock: net.clock, versions: [2, 1] }))
  const hs = settle(performHandshake(server, { identity: bob, clock: net.clock, versions: [2, 1] }))
  await net.clock.runFor(300)
  refusedWith(await hc, 'version')
  assert.is((await hs).status, 'rejected')
})

Refused('a frame that is not the expected step, oversized, or malformed ("protocol")', async () => {
  for (const frame of [
    encodeMessage({ type: 'auth', signature: new Uint8Array(64), noise: new Uint8Array(64) }), // auth before hello
    encodeMessage({ type: 'heads', requestId: 0, heads: [{ publicKey: alice.publicKey, seq: 1, hash: new Uint8Array(32) }] }), // a session message
    new Uint8Array(2000).fill(0x41), // over maxHandshakeFrameBytes
    Uint8Array.from([0xff, 0x00]), // not CBOR
  ]) {
    const { net, client, server } = await connectedPair()
    const hs = settle(performHandshake(server, { identity: bob, clock: net.clock }))
    client.send(frame)
    await net.clock.runFor(200)
    refusedWith(await hs, 'protocol')
    assert.not.ok(server.open)
  }
})

// ## Replays

const Replay = suite('handshake: replays')

/** An honest handshake alice → bob, recording what alice's side sent and bob's side sent. */
async function recorded(challenges = createSeenCache()): Promise<{ fromAlice: Uint8Array[]; fromBob: Uint8Array[] }> {
  const { net, client, server } = await connectedPair()
  const fromAlice = tap(client)
  const fromBob = tap(server)
  const hc = settle(performHandshake(client, { identity: alice, clock: net.clock }))
  const hs = settle(performHandshake(server, { identity: bob, clock: net.clock, challenges }))
  await net.clock.runUntilIdle()
  assert.is((await hc).status, 'fulfilled')
  assert.is((await hs).status, 'fulfilled')
  return { fromAlice, fromBob }
}

Replay('a recorded hello replayed to the same node: refused at once ("replay")', async () => {
  const challenges = createSeenCache()
  const { fromAlice } = await recorded(challenges)
  const { net, client, server } = await connectedPair()
  const hs = settle(performHandshake(server, { identity: bob, clock: net.clock, challenges }))
  client.send(fromAlice[0]!)
  await net.clock.runFor(200)
  refusedWith(await hs, 'replay')
})

Replay('a recorded hello + auth replayed to a node that forgot the challenge: the auth fails ("bad-signature")', async () => {
  const { fromAlice } = await recorded()
  const { net, client, server } = await connectedPair()
  const hs = settle(performHandshake(server, { identity: bob, clock: net.clock, challenges: createSeenCache() }))
  client.send(fromAlice[0]!) // hello
  await net.clock.runFor(200)
  client.send(fromAlice[1]!) // auth signed over the old responder challenge
  await net.clock.runFor(200)
  refusedWith(await hs, 'bad-signature')
})

Replay('a recorded welcome replayed to the initiator: refused ("replay", or "bad-signature" once forgotten)', async () => {
  const challenges = createSeenCache()
  const { fromBob } = await recorded()
  // alice's own node saw bob's challenge in the recorded run only if it shares the cache: use a
  // cache that has seen it, then one that has not
  const welcome = decoded(fromBob[0]!) as WelcomeMessage
  challenges.add(welcome.challenge)
  for (const [cache, reason] of [[challenges, 'replay'], [createSeenCache(), 'bad-signature']] as const) {
    const { net, client, server } = await connectedPair()
    const hc = settle(performHandshake(client, { identity: alice, clock: net.clock, challenges: cache }))
    server.onFrame(() => undefined)
    await net.clock.runFor(100)
    server.send(fromBob[0]!)
    await net.clock.runFor(200)
    refusedWith(await hc, reason)
  }
})

// ## Failures

const Failures = suite('handshake: timeouts and closes')

Failures('a peer that never answers: TimeoutError after handshakeTimeoutMs of virtual time', async () => {
  const { net, client, server } = await connectedPair()
  server.onFrame(() => undefined)
  const t0 = net.clock.now()
  const hc = settle(performHandshake(client, { identity: alice, clock: net.clock, limits: { handshakeTimeoutMs: 3000 } }))
  await net.clock.runUntilIdle()
  const err = reasonOf(await hc)
  assert.is(err.name, 'TimeoutError')
  assert.ok(net.clock.now() - t0 >= 3000)
  assert.not.ok(client.open)
})

Failures('the connection closes mid-handshake: ClosedError', async () => {
  const { net, client, server } = await connectedPair()
  const hc = settle(performHandshake(client, { identity: alice, clock: net.clock }))
  server.close(1000, 'bye')
  await net.clock.runUntilIdle()
  const err = reasonOf(await hc)
  assert.instance(err, ClosedError)
  assert.match(err.message, /closed during the handshake/)
})

Failures('bad options are caller mistakes', async () => {
  const { net, client } = await connectedPair()
  assert.instance(await rejection(performHandshake(client, { identity: undefined as unknown as SeedIdentity })), TypeError)
  assert.instance(await rejection(performHandshake(client, { identity: alice, versions: [1, 2] })), RangeError)
  assert.instance(await rejection(performHandshake(client, { identity: alice, expectedPeer: new Uint8Array(3) })), RangeError)
  client.close()
  await net.clock.runUntilIdle()
  assert.instance(await rejection(performHandshake(client, { identity: alice })), ClosedError)
})

Success.run()
Refused.run()
Replay.run()
Failures.run()
