/**
 * Shared fixtures of @tally/gossip's tests: identities from fixed seeds, block builders, and a
 * memory network with ready-made connections and sessions. Not a test file itself.
 */
import * as assert from 'uvu/assert'
import {
  GENESIS_HASH,
  UNILATERAL_KEY,
  blockHash,
  signBlock,
  type CborValue,
  type Connection,
  type HalfBlock,
  type SeedIdentity,
} from '@tally/core'
import {
  createMemoryNetwork,
  createSession,
  performHandshake,
  type MemoryNetwork,
  type MemoryNetworkOptions,
  type MemoryTransport,
  type Session,
  type SessionOptions,
} from '@tally/gossip'
import { T0, alice, bob, carol, mallory, seedOf } from '../../core/test/helpers.ts'

// the fixed identities and timestamp of core's tests
export { T0, alice, bob, carol, mallory, seedOf }

/** A block by `id`: a seq-1 proposal of type 'note' to bob (alice for bob) unless told otherwise. */
export function block(
  id: SeedIdentity,
  spec: { seq?: number; link?: Uint8Array; linkSeq?: number; previousHash?: Uint8Array; payload?: CborValue; type?: string } = {},
): HalfBlock {
  const seq = spec.seq ?? 1
  return signBlock(
    {
      publicKey: id.publicKey,
      seq,
      linkPublicKey: spec.link ?? (id === bob ? alice.publicKey : bob.publicKey),
      linkSeq: spec.linkSeq ?? 0,
      previousHash: spec.previousHash ?? (seq === 1 ? GENESIS_HASH : new Uint8Array(32).fill(0xee)),
      type: spec.type ?? 'note',
      payload: spec.payload ?? 'hello',
      timestamp: T0 + seq,
    },
    id,
  )
}

/** An honest chain of `n` unilateral blocks by `id`. */
export function chain(id: SeedIdentity, n: number): HalfBlock[] {
  const out: HalfBlock[] = []
  let previous: HalfBlock | undefined
  for (let seq = 1; seq <= n; seq++) {
    const b = block(id, { seq, link: UNILATERAL_KEY, previousHash: previous === undefined ? GENESIS_HASH : blockHash(previous), payload: ['n', seq] })
    out.push(b)
    previous = b
  }
  return out
}

/** A memory network with two transports, `a` listening; `connect()` gives both ends. */
export async function connectedPair(options: MemoryNetworkOptions = {}): Promise<{
  net: MemoryNetwork
  a: MemoryTransport
  b: MemoryTransport
  client: Connection
  server: Connection
}> {
  const net = createMemoryNetwork(options)
  const a = net.transport('mem://a')
  const b = net.transport('mem://b')
  let server: Connection | undefined
  await a.listen((conn) => {
    server = conn
  })
  const pending = b.connect('mem://a')
  await net.clock.runUntilIdle()
  const client = await pending
  assert.ok(server !== undefined, 'the listener accepted')
  return { net, a, b, client, server: server! }
}

/**
 * Two sessions (alice dials bob) over a handshake on a memory network, encrypted with its ciphers.
 * `options` go to both sessions.
 */
export async function sessionPair(
  options: Partial<SessionOptions> = {},
  network: MemoryNetworkOptions = {},
): Promise<{ net: MemoryNetwork; client: Session; server: Session; clientConn: Connection; serverConn: Connection }> {
  const { net, client: clientConn, server: serverConn } = await connectedPair(network)
  const clock = net.clock
  const hc = performHandshake(clientConn, { identity: alice, clock })
  const hs = performHandshake(serverConn, { identity: bob, clock })
  await clock.runUntilIdle()
  const [rc, rs] = await Promise.all([hc, hs])
  const client = createSession(clientConn, { clock, ...options, peerKey: rc.peerKey, version: rc.version, sessionId: rc.sessionId, cipher: rc.cipher })
  const server = createSession(serverConn, { clock, ...options, peerKey: rs.peerKey, version: rs.version, sessionId: rs.sessionId, cipher: rs.cipher })
  return { net, client, server, clientConn, serverConn }
}

/**
 * Poll `check` in real time until it holds, at most `ms`; for sockets and child processes, which
 * virtual time does not drive.
 * @returns whether it held
 */
export async function until(check: () => boolean | Promise<boolean>, ms = 5000, everyMs = 10): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, everyMs))
  }
  return check()
}

/** Await a promise that must reject; returns the error. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err) {
    return err as Error
  }
  assert.unreachable('expected a rejection, the promise resolved')
  throw new Error('unreachable')
}

/** Bytes of a block, for comparisons. */
export { encodeBlock } from '@tally/core'
