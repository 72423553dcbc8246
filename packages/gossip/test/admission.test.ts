/**
 * Admission (node/admission.ts): peers a node knows without having transacted with them.
 * - an admitted peer's session reads on the node's limits, outside the strangers' gate, while a
 *   stranger's is held; admitting applies to a session already open, and revoking puts it back;
 * - NodeOptions.known admits from the start; a protocol's handle admits for the protocol, and its
 *   admissions go when it stops being hosted, the operator's stay;
 * - bounded: a flood of fresh keys, even through a protocol that admits every peer that asks,
 *   never gets past maxAdmitted (AdmissionError, ERR_ADMISSION_FULL), and no message admits a peer
 *   by itself;
 * - bad input: clear errors.
 * Counted in the node's stats (frames charged to the gate, pauses), never timed.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { RefusedError, type Protocol, type ProtocolHandle } from '@tally/core'
import { AdmissionError, MAX_ADMITTED, encodeMessage, type Node } from '@tally/gossip'
import { genesis, identity, memoryNodes, rawPeer, settle } from './fixtures/node-kit.ts'

const frame = encodeMessage({ type: 'neighbours', ids: [] })
/** A node whose own limits are high and whose strangers share 100 tokens a second. */
const gated = { head: 'local', limits: { messagesPerSecond: 5000, messageBurst: 10_000 }, strangerBudget: { messagesPerSecond: 100 } } as const

/** Frames `node` charged to its strangers' gate while `fn` ran and virtual time went on `ms`. */
async function charged(net: Awaited<ReturnType<typeof memoryNodes>>['net'], node: Node, ms: number, fn: () => void): Promise<{ frames: number; pauses: number }> {
  const before = { ...node.stats }
  fn()
  await net.clock.runFor(ms)
  return { frames: node.stats.strangerFrames - before.strangerFrames, pauses: node.stats.strangerPauses - before.strangerPauses }
}

const Gate = suite('admission: the strangers\' gate')

Gate('an admitted peer reads outside the gate while a stranger is held; revoking puts it back', async () => {
  const { net, nodes } = await memoryNodes(1, { node: gated })
  const node = nodes[0]!
  const friend = await rawPeer(net, node, 400)
  const stranger = await rawPeer(net, node, 401)
  await net.clock.runFor(2000) // the handshakes' debt is paid

  // admitted while its session is open
  node.admit(friend.mallory.publicKey, 'test')
  assert.equal(node.admitted.map((a) => a.reasons), [['test']])
  const f = await charged(net, node, 1000, () => {
    for (let i = 0; i < 1000; i++) friend.send(frame)
  })
  assert.is(f.frames, 0, 'none of the admitted peer\'s 1,000 frames was charged to the gate')
  assert.is(friend.closed(), undefined, 'and 1,000 frames at once are within the node\'s own limits (a stranger\'s burst is 400)')

  const s = await charged(net, node, 1000, () => {
    for (let i = 0; i < 300; i++) stranger.send(frame)
  })
  assert.ok(s.frames > 0 && s.pauses > 0, `the stranger's frames were charged and it was held (${JSON.stringify(s)})`)

  // revoked: a stranger again, its open session back behind the gate
  await net.clock.runFor(5000)
  node.unadmit(friend.mallory.publicKey, 'test')
  assert.equal(node.admitted, [])
  const r = await charged(net, node, 1000, () => {
    for (let i = 0; i < 300; i++) friend.send(frame)
  })
  assert.ok(r.frames > 0 && r.pauses > 0, `after revocation its frames are charged and it is held (${JSON.stringify(r)})`)
  assert.is(friend.closed(), undefined, 'held, not punished')
})

Gate('a key stays admitted while any of its reasons stands', async () => {
  const { net, nodes } = await memoryNodes(1, { node: gated })
  const node = nodes[0]!
  const friend = await rawPeer(net, node, 402)
  await net.clock.runFor(2000)
  node.admit(friend.mallory.publicKey, 'witness')
  node.admit(friend.mallory.publicKey, 'relay')
  node.unadmit(friend.mallory.publicKey, 'witness')
  const f = await charged(net, node, 1000, () => {
    for (let i = 0; i < 500; i++) friend.send(frame)
  })
  assert.is(f.frames, 0, 'still admitted for the relay')
  node.unadmit(friend.mallory.publicKey) // every reason
  assert.equal(node.admitted, [])
})

Gate('NodeOptions.known: admitted from the start, its first session outside the gate', async () => {
  const { net, nodes } = await memoryNodes(1, { node: { ...gated, known: [identity(403).publicKey] } })
  const node = nodes[0]!
  assert.equal(node.admitted.map((a) => a.reasons), [['operator']])
  const friend = await rawPeer(net, node, 403)
  const f = await charged(net, node, 1000, () => {
    for (let i = 0; i < 1000; i++) friend.send(frame)
  })
  assert.is(f.frames, 0)
  assert.is(friend.closed(), undefined)
})

Gate.run()

const Bounded = suite('admission: bounded, and only by the node\'s own code')

/** A careless protocol: it admits every peer that says hello (what a protocol must not do; the cap still holds). */
type Hello = { hello: number; ok: number }
function careless(admit: (peer: Uint8Array) => void): Protocol<Hello> {
  const uint = { maxBytes: 16, cost: 1, encode: (n: number) => n, decode: (v: unknown) => Number(v) }
  return {
    name: 'test/careless/1',
    messages: { hello: uint, ok: uint },
    handlers: {
      hello: (n, ctx) => {
        admit(ctx.peer)
        return { kind: 'ok', message: n }
      },
    },
  }
}

Bounded('a flood of fresh keys through a protocol that admits whoever asks stops at maxAdmitted; the operator\'s admission stays', async () => {
  const max = 8
  const { net, nodes } = await memoryNodes(21, { node: { head: 'local', maxAdmitted: max } })
  const [target, ...flood] = nodes as [Node, ...Node[]]
  const operatorKey = identity(99).publicKey
  target.admit(operatorKey) // reason 'operator'
  let handle: ProtocolHandle<Hello> | undefined
  handle = target.host(careless((peer) => handle!.admit!(peer, 'said-hello')))
  const hosted = handle
  const outcomes = await settle(
    net,
    Promise.all(
      flood.map(async (n) => {
        n.addAddress(target.publicKey, target.address!)
        const ctx = await n.host(careless(() => {})).peer(target.publicKey)
        return ctx.request('hello', 1).then(
          () => 'ok',
          (e: unknown) => (e instanceof RefusedError ? e.reason : String(e)),
        )
      }),
    ),
  )
  assert.is(target.admitted.length, max, 'never more than maxAdmitted')
  assert.is(outcomes.filter((o) => o === 'ok').length, max - 1, 'the protocol admitted until the cap (the operator holds one place)')
  assert.ok(outcomes.filter((o) => o !== 'ok').every((o) => o === 'internal'), `past the cap the handler failed: ${outcomes.join(',')}`)
  // the protocol stops: its admissions go, the operator's stays
  hosted.close()
  assert.equal(target.admitted.map((a) => a.reasons), [['operator']])
})

Bounded('past the cap: AdmissionError with a stable code, nothing changed', async () => {
  const { nodes } = await memoryNodes(1, { node: { head: 'local', maxAdmitted: 2 } })
  const node = nodes[0]!
  node.admit(identity(1).publicKey, 'a')
  node.admit(identity(2).publicKey, 'b')
  node.admit(identity(2).publicKey, 'c') // another reason for a key admitted already: fits
  const err = (() => {
    try {
      node.admit(identity(3).publicKey, 'd')
    } catch (e) {
      return e
    }
  })()
  assert.instance(err, AdmissionError)
  assert.is((err as AdmissionError).code, 'ERR_ADMISSION_FULL')
  assert.is(node.admitted.length, 2)
  assert.is(MAX_ADMITTED, 4096)
})

Bounded('no message admits a peer: strangers that talk, push and transact stay unadmitted', async () => {
  const { net, nodes } = await memoryNodes(1, { node: gated })
  const node = nodes[0]!
  for (let i = 0; i < 20; i++) {
    const p = await rawPeer(net, node, 120 + i)
    p.send(frame)
    void p.session.request({ type: 'peers-request', max: 4 }).catch(() => undefined)
    // a transaction makes it a counterparty (known by what this node signed), not admitted
    if (i === 0) void p.session.request({ type: 'proposal', block: genesis(p.mallory, node.publicKey, 'hi'), context: [] }).catch(() => undefined)
  }
  await net.clock.runFor(3000)
  assert.equal(node.admitted, [])
})

Bounded('bad input: clear errors', async () => {
  const { nodes } = await memoryNodes(1, { node: { head: 'local' } })
  const node = nodes[0]!
  assert.throws(() => node.admit(new Uint8Array(31), 'x'), /"publicKey" expected Uint8Array of length 32/)
  assert.throws(() => node.admit(identity(5).publicKey, ''), RangeError)
  assert.throws(() => node.admit(identity(5).publicKey, 'x'.repeat(129)), RangeError)
  assert.throws(() => node.admit(node.publicKey, 'self'), /this node/)
  assert.throws(() => node.unadmit(new Uint8Array(3)), TypeError)
  const base = { identity: identity(7), store: node.store, transport: { connect: () => {} } as never }
  const { createNode } = await import('@tally/gossip')
  assert.throws(() => createNode({ ...base, maxAdmitted: 0 }), RangeError)
  assert.throws(() => createNode({ ...base, known: 'x' as never }), TypeError)
  assert.throws(() => createNode({ ...base, known: [new Uint8Array(5)] }), RangeError)
  await node.close()
  assert.throws(() => node.admit(identity(5).publicKey, 'late'), /closed/)
})

Bounded.run()
