/**
 * @exclusive (scripts/test.mjs runs it alone: its attackers must not share the machine with another test's)
 * NAT-friendly bans on real ws sockets: 20 hostile peers (four processes of five, one of each kind
 * per process: test/fixtures/hostile-peers.ts) and one honest peer, all dialling the target from
 * 127.0.0.1, as peers behind one NAT would. The hostile ones are cut off and come back under
 * fresh keys without end, so their address runs up faults. The honest peer dials in the middle of
 * that and must connect and transact: the address waits a moment (at most a second) per
 * connection, it is never locked out. The target tells its operator what it refused and why:
 * 'connection:refused' (the address's wait) and 'handshake:failed' (banned keys), with the
 * address and, when the peer got that far, the key.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createBlockTypes, createMemoryStore, identityFromSeed, toHex } from '@tally/core'
import { createNode, type Node, type NodeEvents } from '@tally/gossip'
import { createWsTransport } from '@tally/gossip/ws'
import { until } from '../packages/gossip/test/helpers.ts'
import { HOSTILE_KINDS, crypto, spawnHostile, type HostilePeer } from './fixtures/hostile-peers.ts'

const PER_PROCESS = 5

function honestNode(seed: number): Node {
  return createNode({
    identity: identityFromSeed(new Uint8Array(32).fill(seed), crypto),
    store: createMemoryStore({ crypto }),
    transport: createWsTransport({ port: 0 }),
    types: createBlockTypes([{ name: 'note' }]),
    cacheSize: 8192,
    transact: { timeoutMs: 20_000, retryMs: 2000 },
  })
}

const Nat = suite('NAT-friendly bans on ws')

Nat('20 attackers and one honest peer on 127.0.0.1: the honest peer connects and transacts; the target says what it refused', async () => {
  const target = honestNode(0xc1)
  const honest = honestNode(0xc2)
  const refused: NodeEvents['connection:refused'][] = []
  const failed: NodeEvents['handshake:failed'][] = []
  const errors: unknown[] = []
  target.on('connection:refused', (e) => void refused.push(e))
  target.on('handshake:failed', (e) => void failed.push(e))
  target.on('error', (e) => void errors.push(e.error))
  const peers: HostilePeer[] = []
  try {
    await Promise.all([target.listen(), honest.listen()])
    peers.push(...(await Promise.all(HOSTILE_KINDS.map((kind) => spawnHostile(kind, target.address!, [target.publicKey], { count: PER_PROCESS, reconnectMs: 20 })))))
    for (const p of peers) p.attack()
    // the address has run up its faults: its connections wait now
    assert.ok(await until(() => refused.some((e) => e.reason === 'address-backoff'), 30_000), `the address was made to wait (${failed.length} failed handshakes so far)`)
    assert.ok(await until(() => failed.some((e) => e.reason === 'banned'), 30_000), 'a banned key came back and was refused')

    // the honest peer, from the same address, in the middle of it
    const key = await honest.connect(target.address!, { expectedPeer: target.publicKey })
    assert.is(toHex(key), toHex(target.publicKey))
    for (let i = 0; i < 3; i++) {
      const tx = await honest.transact(target.publicKey, 'note', ['through the crowd', i])
      assert.is(tx.agreement.seq, 1 + i)
    }

    const reports = await Promise.all(peers.map((p) => p.pause()))
    const sessions = reports.reduce((n, r) => n + r.sessions, 0)
    assert.ok(sessions >= 20, `${sessions} hostile sessions: every attacker got in at least once`)
    const wait = refused.find((e) => e.reason === 'address-backoff')!
    assert.match(wait.address, /^ws:\/\/127\.0\.0\.1:\d+$/)
    assert.ok(wait.delayMs !== undefined && wait.delayMs > 0 && wait.delayMs <= 1000, `waits are short: ${wait.delayMs} ms`)
    assert.ok(refused.every((e) => e.delayMs === undefined || e.delayMs <= 1000), 'never more than a second')
    const ban = failed.find((e) => e.reason === 'banned')!
    assert.ok(ban.publicKey !== undefined, 'the key it claimed')
    assert.ok(reports.some((r) => r.keys.includes(toHex(ban.publicKey!))), "an attacker's key")
    assert.match(ban.address, /^ws:\/\/127\.0\.0\.1:\d+$/)
    assert.is(ban.direction, 'inbound')
    assert.equal(errors, [])
  } finally {
    await Promise.all(peers.map((p) => p.stop()))
    await Promise.all([honest.close(), target.close()])
  }
})

Nat.run()
