/**
 * Strangers share one budget (wire/read-gate.ts, NodeOptions.strangerLimits / strangerBudget):
 * - the gate: charges within the burst read on, beyond it a pause as long as the debt takes to
 *   pay (at most maxWaitMs); work that can wait is skipped, not queued, when the budget is spent;
 * - a node: whatever the number of strangers flooding it, the frames it reads from them stay
 *   within the budget (counted in its stats, not timed), they are held rather than punished, and
 *   a counterparty's frames are not counted at all: its transactions go through during the flood;
 * - a stranger's session has the stranger limits (the defaults), and a stranger that transacts
 *   with the node becomes a counterparty: its sessions get the node's limits and leave the gate;
 * - a stranger that dials in pays for its handshake out of the budget, and starts held while the
 *   budget is in debt.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createReadGate, createVirtualClock, encodeMessage, type Node } from '@tally/gossip'
import { genesis, link, memoryNodes, rawPeer, settle, type RawPeer } from './fixtures/node-kit.ts'

const Gate = suite('strangers: the read gate')

Gate('within the burst: read on; beyond: a pause as long as the debt, capped', () => {
  const clock = createVirtualClock()
  const gate = createReadGate({ messagesPerSecond: 100, bytesPerSecond: 1e6, messageBurst: 10, maxWaitMs: 500, clock })
  for (let i = 0; i < 10; i++) assert.is(gate.charge(1, 10), 0)
  assert.is(gate.charge(1, 10), 10, 'one token of debt at 100/s: 10 ms')
  assert.is(gate.charge(9, 10), 100, 'ten tokens: 100 ms')
  assert.is(gate.charge(1000, 10), 500, 'capped at maxWaitMs')
  assert.is(gate.stats.pauses, 3)
})

Gate('tryCharge skips work that can wait while the budget is spent, and takes it once refilled', async () => {
  const clock = createVirtualClock()
  const gate = createReadGate({ messagesPerSecond: 100, bytesPerSecond: 1e6, messageBurst: 2, clock })
  assert.ok(gate.tryCharge(2, 0))
  assert.not.ok(gate.tryCharge(1, 0), 'empty')
  await clock.runFor(20)
  assert.ok(gate.tryCharge(1, 0), 'two tokens back after 20 ms')
  assert.is(gate.stats.skipped, 1)
  assert.throws(() => createReadGate({ messagesPerSecond: 0, bytesPerSecond: 1, clock }), RangeError)
})

Gate.run()

const Node_ = suite('strangers: a node under a flood of strangers')

/** `n` raw strangers on node 0, each sending `frames` neighbours frames (1 token each) at once. */
async function flood(net: Parameters<typeof rawPeer>[0], node: Node, n: number, frames: number): Promise<RawPeer[]> {
  const peers: RawPeer[] = []
  for (let i = 0; i < n; i++) peers.push(await rawPeer(net, node, 200 + i))
  const frame = encodeMessage({ type: 'neighbours', ids: [] })
  for (const p of peers) for (let i = 0; i < frames; i++) p.send(frame)
  return peers
}

Node_('ten strangers flooding: the node reads within the budget, holds them, and its counterparty transacts meanwhile', async () => {
  const budget = 100
  const { net, nodes } = await memoryNodes(2, { node: { limits: { messagesPerSecond: 5000, messageBurst: 10_000 }, strangerBudget: { messagesPerSecond: budget } } })
  await link(net, nodes, [[1, 0]])
  await settle(net, nodes[1]!.transact(nodes[0]!.publicKey, 'note', 0)) // a counterparty now
  const before = { ...nodes[0]!.stats }
  const strangers = await flood(net, nodes[0]!, 10, 2000)
  const seconds = 5
  const done = Promise.all(Array.from({ length: 50 }, (_, i) => nodes[1]!.transact(nodes[0]!.publicKey, 'note', 1 + i)))
  await net.clock.runFor(seconds * 1000)
  const txs = await settle(net, done)
  const read = nodes[0]!.stats.strangerFrames - before.strangerFrames
  const pauses = nodes[0]!.stats.strangerPauses - before.strangerPauses
  // the budget over the run, its burst, and each session's four frames a second (and four at
  // once): what the gate lets through whatever the strangers send (20,000 frames here)
  const bound = budget * (seconds + 1) + budget + 4 * strangers.length * (seconds + 1)
  assert.ok(read > 0 && read <= bound, `read ${read} frames of strangers, bound ${bound}`)
  assert.ok(pauses > 0, 'strangers were held')
  assert.is(txs.length, 50, 'every transaction of the counterparty completed during the flood')
  assert.ok(strangers.every((s) => s.closed() === undefined), 'held, not disconnected: reading less is not a punishment')
})

Node_('a stranger with a few frames a second is read at once however long the others flood (the quantum is per second, not per hold)', async () => {
  // a small budget: its debt takes up to a second to pay, so a hold is long
  const { net, nodes } = await memoryNodes(1, { node: { head: 'local', strangerBudget: { messagesPerSecond: 20 } } })
  const flooders = await flood(net, nodes[0]!, 10, 2000)
  const quiet = await rawPeer(net, nodes[0]!, 250)
  await net.clock.runFor(2000) // the budget is deep in debt, the flooders held
  const waits: number[] = []
  for (let i = 0; i < 12; i++) {
    const t0 = net.clock.now()
    let t1 = Infinity
    const answer = await settle(net, quiet.session.request({ type: 'peers-request', max: 4 }).then((a) => ((t1 = net.clock.now()), a)))
    assert.is(answer.type, 'peers')
    waits.push(t1 - t0)
    await net.clock.runFor(250) // with the round trip, ~3 requests a second: within the quantum
  }
  // one round trip (the memory network's 2 x 50 ms), every time; counted per hold, the fourth
  // request after each hold waited out the debt (750 ms)
  assert.ok(waits.every((ms) => ms <= 110), `answered at once, every time: ${waits.join('/')} ms`)
  assert.ok(nodes[0]!.stats.strangerPauses > 0, 'the flooders were held meanwhile')
  assert.ok(flooders.every((s) => s.closed() === undefined))
})

Node_('a stranger has the default rates; once it transacts with the node, the node\'s own', async () => {
  // no shared budget to speak of: the strangers' own limits alone
  const { net, nodes } = await memoryNodes(1, { node: { head: 'local', limits: { messagesPerSecond: 5000, messageBurst: 10_000 }, strangerBudget: { messagesPerSecond: 1e6 } } })
  const frame = encodeMessage({ type: 'neighbours', ids: [] })
  const stranger = await rawPeer(net, nodes[0]!, 300)
  for (let i = 0; i < 600; i++) stranger.send(frame) // the default burst is 400
  await net.clock.runFor(1000)
  assert.is(stranger.closed()?.code, 1008, 'a stranger over the default burst is disconnected')

  const friend = await rawPeer(net, nodes[0]!, 301)
  const reply = await settle(net, friend.session.request({ type: 'proposal', block: genesis(friend.mallory, nodes[0]!.publicKey, 'hi'), context: [] }))
  assert.is(reply.type, 'agreement', `the node countersigned: a counterparty now (${JSON.stringify(reply).slice(0, 200)})`)
  for (let i = 0; i < 600; i++) friend.send(frame)
  await net.clock.runFor(1000)
  assert.is(friend.closed(), undefined, 'the same 600 frames from a counterparty are within its limits')
})

Node_('a stranger that dials in pays for its handshake: while the budget is in debt its session starts held', async () => {
  // a budget of 16 tokens a second: a handshake (32) puts it 16 in debt, a second of waiting
  const { net, nodes } = await memoryNodes(1, { node: { head: 'local', strangerBudget: { messagesPerSecond: 16 } } })
  const before = nodes[0]!.stats.strangerPauses
  const first = await rawPeer(net, nodes[0]!, 310) // within the burst (16): its handshake leaves the budget in debt
  const second = await rawPeer(net, nodes[0]!, 311)
  assert.ok(nodes[0]!.stats.strangerPauses > before, 'a session started held')
  const t0 = net.clock.now()
  const answer = await settle(net, second.session.request({ type: 'peers-request', max: 4 }))
  assert.is(answer.type, 'peers')
  assert.ok(net.clock.now() - t0 >= 500, `the second stranger's first request waited out the debt (${net.clock.now() - t0} ms)`)
  assert.is(first.closed(), undefined)
  assert.is(second.closed(), undefined, 'held, not refused')
})

Node_.run()
