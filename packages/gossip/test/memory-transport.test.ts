/**
 * Virtual time and the in-memory network: timers in order, promise continuations inside one
 * virtual instant; latency, seeded jitter, FIFO order, loss (dropped or retransmitted) with the
 * probability asked for, the same run from the same seed, closes and limits; and a network of
 * 10,000 transports in one process.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { ClosedError, type CloseInfo, type Connection } from '@tally/core'
import { createMemoryNetwork, createRandom, createVirtualClock, type MemoryNetworkOptions } from '@tally/gossip'
import { connectedPair, rejection } from './helpers.ts'

// ## Virtual time

const Time = suite('virtual time')

Time('timers run in time order, FIFO among equal times', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 200 }), async (delays) => {
      const clock = createVirtualClock()
      const order: number[] = []
      delays.forEach((d, i) => clock.setTimeout(() => order.push(i), d))
      await clock.runUntilIdle()
      const expected = delays.map((d, i) => [d, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i)
      assert.equal(order, expected)
      assert.is(clock.now(), Math.max(...delays))
    }),
    { numRuns: 100 },
  )
})

Time('clearTimeout: a cleared timer never runs and no longer counts as pending', async () => {
  const clock = createVirtualClock({ start: 1000 })
  const ran: string[] = []
  const a = clock.setTimeout(() => ran.push('a'), 10)
  clock.setTimeout(() => ran.push('b'), 20)
  assert.is(clock.pending, 2)
  clock.clearTimeout(a)
  clock.clearTimeout(a) // twice is a no-op
  clock.clearTimeout(undefined)
  assert.is(clock.pending, 1)
  await clock.runUntilIdle()
  assert.equal(ran, ['b'])
  assert.is(clock.now(), 1020)
  assert.is(clock.pending, 0)
  assert.is(clock.executed, 1)
})

Time('runUntil moves time to the target; later events wait', async () => {
  const clock = createVirtualClock()
  const ran: number[] = []
  clock.setTimeout(() => ran.push(clock.now()), 30)
  clock.setTimeout(() => ran.push(clock.now()), 300)
  assert.is(await clock.runUntil(100), 1)
  assert.is(clock.now(), 100)
  assert.equal(ran, [30])
  await clock.runFor(1000)
  assert.equal(ran, [30, 300])
  assert.is(clock.now(), 1100)
})

Time('promise continuations started at time t finish at time t', async () => {
  const clock = createVirtualClock()
  const seen: number[] = []
  clock.setTimeout(async () => {
    for (let i = 0; i < 50; i++) await Promise.resolve()
    seen.push(clock.now())
    clock.setTimeout(() => seen.push(clock.now()), 0)
  }, 10)
  clock.setTimeout(() => seen.push(clock.now()), 11)
  await clock.runUntilIdle()
  assert.equal(seen, [10, 10, 11])
})

Time('runUntilIdle stops at maxEvents or until', async () => {
  const clock = createVirtualClock()
  let n = 0
  const tick = (): void => {
    n++
    clock.setTimeout(tick, 100) // never idle
  }
  clock.setTimeout(tick, 0)
  assert.is(await clock.runUntilIdle({ maxEvents: 25 }), 25)
  assert.is(n, 25)
  await clock.runUntilIdle({ until: 5000 })
  assert.is(n, 51)
  assert.is(clock.now(), 5000)
})

Time('createRandom is seeded and uniform enough', () => {
  const a = createRandom(7)
  const b = createRandom(7)
  const xs = Array.from({ length: 10_000 }, () => a())
  assert.equal(xs.slice(0, 5), Array.from({ length: 5 }, () => b()))
  assert.ok(xs.every((x) => x >= 0 && x < 1))
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length
  assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`)
  assert.is.not(createRandom(8)(), createRandom(7)())
})

// ## Latency

const Latency = suite('memory transport: latency')

/**
 * Delays (virtual ms from send to arrival) and arrival order of `n` frames from client to server,
 * sent all at once, or one every `spacing` ms.
 */
async function arrivals(options: MemoryNetworkOptions, n: number, spacing = 0): Promise<{ times: number[]; order: number[] }> {
  const { net, client, server } = await connectedPair(options)
  const sentAt: number[] = []
  const times: number[] = []
  const order: number[] = []
  server.onFrame((f) => {
    const i = (f[0]! << 8) | f[1]!
    times.push(net.clock.now() - sentAt[i]!)
    order.push(i)
  })
  for (let i = 0; i < n; i++) {
    sentAt.push(net.clock.now())
    client.send(Uint8Array.from([i >> 8, i & 0xff]))
    if (spacing > 0) await net.clock.runFor(spacing)
  }
  await net.clock.runUntilIdle()
  return { times, order }
}

Latency('connecting takes a round trip: accepted after one way, open after two', async () => {
  const net = createMemoryNetwork({ latencyMs: 50 })
  const a = net.transport()
  const b = net.transport()
  let acceptedAt = -1
  await a.listen(() => {
    acceptedAt = net.clock.now()
  })
  let openedAt = -1
  const p = b.connect(a.address).then((c) => {
    openedAt = net.clock.now()
    return c
  })
  await net.clock.runUntilIdle()
  const conn = await p
  assert.is(acceptedAt, 50)
  assert.is(openedAt, 100)
  assert.is(conn.direction, 'outbound')
  assert.is(conn.remoteAddress, a.address)
  assert.is(a.connections, 1)
  assert.is(b.connections, 1)
})

Latency('the default one-way latency is 50 ms; a frame and its echo take 100', async () => {
  const { net, client, server } = await connectedPair()
  server.onFrame((f) => server.send(f))
  let echoedAfter = -1
  const t0 = net.clock.now()
  client.onFrame(() => {
    echoedAfter = net.clock.now() - t0
  })
  client.send(new Uint8Array([1]))
  await net.clock.runUntilIdle()
  assert.is(echoedAfter, 100)
  assert.is(net.model.latencyMs, 50)
})

Latency('jitter: delays uniform over [latency, latency + jitter], seeded', async () => {
  const one = await arrivals({ latencyMs: 50, jitterMs: 40, seed: 3 }, 400, 100)
  const two = await arrivals({ latencyMs: 50, jitterMs: 40, seed: 3 }, 400, 100)
  const other = await arrivals({ latencyMs: 50, jitterMs: 40, seed: 4 }, 400, 100)
  assert.ok(one.times.every((t) => Number.isInteger(t) && t >= 50 && t <= 90))
  assert.equal(one.times, two.times, 'the same seed gives the same run')
  assert.not.equal(one.times, other.times, 'another seed another run')
  assert.ok(new Set(one.times).size > 30, 'jitter spreads delays over the range')
  const mean = one.times.reduce((s, t) => s + t, 0) / one.times.length
  assert.ok(Math.abs(mean - 70) < 3, `mean delay ${mean}`)
})

Latency('FIFO: with jitter, no frame overtakes an earlier one (it waits for it, as over TCP)', async () => {
  const burst = await arrivals({ latencyMs: 50, jitterMs: 40, seed: 3 }, 500)
  assert.equal(burst.order, Array.from({ length: 500 }, (_, i) => i))
  assert.ok(burst.times.every((t) => t >= 50 && t <= 90))
})

Latency('per-link overrides: a slow direction', async () => {
  const net = createMemoryNetwork({ latencyMs: 50, link: (from, to) => (from === 'mem://far' && to === 'mem://near' ? { latencyMs: 300 } : undefined) })
  const near = net.transport('mem://near')
  const far = net.transport('mem://far')
  let inbound: Connection | undefined
  await near.listen((c) => {
    inbound = c
  })
  const p = far.connect('mem://near')
  await net.clock.runUntilIdle()
  const out = await p
  const at: number[] = []
  inbound!.onFrame(() => at.push(net.clock.now()))
  out.onFrame(() => at.push(net.clock.now()))
  const t0 = net.clock.now()
  out.send(new Uint8Array([1])) // far → near: 300
  inbound!.send(new Uint8Array([2])) // near → far: 50
  await net.clock.runUntilIdle()
  assert.equal(at.map((t) => t - t0).sort((a, b) => a - b), [50, 300])
})

// ## Loss

const Loss = suite('memory transport: loss')

Loss('drop: about the asked share of frames is lost, counted, and the same frames for the same seed', async () => {
  const n = 5000
  const a = await arrivals({ loss: 0.2, seed: 11 }, n)
  const b = await arrivals({ loss: 0.2, seed: 11 }, n)
  const delivered = a.order.length
  // binomial(5000, 0.8): sd ≈ 28; allow 5 sd
  assert.ok(Math.abs(delivered - 4000) < 140, `delivered ${delivered}`)
  assert.equal(a.order, b.order)
  for (let i = 1; i < a.order.length; i++) assert.ok(a.order[i]! > a.order[i - 1]!, 'survivors keep their order')
})

Loss('stats count lost frames on the sender and the network', async () => {
  const { net, client, server, b } = await connectedPair({ loss: 0.5, seed: 2 })
  let got = 0
  server.onFrame(() => void got++)
  for (let i = 0; i < 1000; i++) client.send(new Uint8Array(10))
  await net.clock.runUntilIdle()
  assert.is(b.stats.framesSent, 1000)
  assert.is(b.stats.bytesSent, 10_000)
  assert.is(b.stats.framesLost + got, 1000)
  assert.is(net.stats.framesLost, b.stats.framesLost)
})

Loss('retransmit: every frame arrives, lost ones later by multiples of retransmitMs, in order', async () => {
  const r = await arrivals({ loss: 0.2, lossMode: 'retransmit', retransmitMs: 200, seed: 5 }, 2000)
  assert.is(r.order.length, 2000)
  assert.equal(r.order, Array.from({ length: 2000 }, (_, i) => i))
  assert.ok(r.times.some((t) => t >= 250), 'some frames were retransmitted')
  assert.ok(r.times.every((t) => t >= 50))
})

Loss('a bad model is a caller mistake', () => {
  assert.throws(() => createMemoryNetwork({ loss: 1 }), RangeError)
  assert.throws(() => createMemoryNetwork({ latencyMs: -1 }), RangeError)
  assert.throws(() => createMemoryNetwork({ lossMode: 'sometimes' as 'drop' }), RangeError)
})

// ## Connections

const Connections = suite('memory transport: connections')

Connections('dialling an address where nothing listens: ClosedError after a round trip', async () => {
  const net = createMemoryNetwork()
  const t = net.transport()
  const p = t.connect('mem://nobody').catch((e: Error) => e)
  await net.clock.runUntilIdle()
  const err = await p
  assert.instance(err, ClosedError)
  assert.match((err as Error).message, /nothing listens/)
  assert.is(net.clock.now(), 100)
})

Connections('close: frames already sent arrive first; each side is told once, with code and reason', async () => {
  const { net, client, server } = await connectedPair()
  const events: string[] = []
  const infos: CloseInfo[] = []
  server.onFrame((f) => events.push(`frame ${f[0]}`))
  server.onClose((info) => {
    events.push('server closed')
    infos.push(info)
  })
  client.onClose((info) => infos.push(info))
  client.send(new Uint8Array([1]))
  client.send(new Uint8Array([2]))
  client.close(4321, 'bye')
  assert.not.ok(client.open)
  assert.not.ok(client.send(new Uint8Array([3])), 'send after close is dropped')
  await net.clock.runUntilIdle()
  assert.equal(events, ['frame 1', 'frame 2', 'server closed'])
  assert.equal(infos.map((i) => [i.code, i.reason, i.local]).sort(), [[4321, 'bye', false], [4321, 'bye', true]])
})

Connections('transport.close closes every connection with 1001 and stops listening', async () => {
  const { net, a, b, client, server } = await connectedPair()
  const codes: number[] = []
  client.onClose((i) => codes.push(i.code))
  server.onClose((i) => codes.push(i.code))
  await a.close()
  await net.clock.runUntilIdle()
  assert.equal(codes, [1001, 1001])
  assert.is(a.connections, 0)
  const again = b.connect(a.address).catch((e: Error) => e)
  await net.clock.runUntilIdle()
  assert.instance(await again, ClosedError)
})

Connections('a frame over the network limit closes the connection with 1009', async () => {
  const { net, client, server } = await connectedPair({ maxFrameBytes: 70_000 })
  const codes: number[] = []
  server.onFrame(() => assert.unreachable('never delivered'))
  server.onClose((i) => codes.push(i.code))
  client.onClose((i) => codes.push(i.code))
  client.send(new Uint8Array(70_001))
  await net.clock.runUntilIdle()
  assert.equal(codes, [1009, 1009])
})

Connections('frames wait in order while no handler is set; too many close the connection', async () => {
  const { net, client, server } = await connectedPair({ maxQueuedFrames: 10 })
  for (let i = 0; i < 5; i++) client.send(new Uint8Array([i]))
  await net.clock.runUntilIdle()
  const got: number[] = []
  server.onFrame((f) => {
    got.push(f[0]!)
    if (f[0] === 2) server.onFrame(undefined) // a handler may hand over mid-queue
  })
  assert.equal(got, [0, 1, 2])
  server.onFrame((f) => got.push(f[0]! + 100))
  assert.equal(got, [0, 1, 2, 103, 104])
  server.onFrame(undefined)
  for (let i = 0; i < 11; i++) client.send(new Uint8Array([i]))
  const closed: number[] = []
  server.onClose((i) => closed.push(i.code))
  await net.clock.runUntilIdle()
  assert.equal(closed, [1008])
})

Connections('a handler that throws closes that connection with 1011, nothing else', async () => {
  const { net, client, server } = await connectedPair()
  server.onFrame(() => {
    throw new Error('bug')
  })
  const codes: number[] = []
  client.onClose((i) => codes.push(i.code))
  client.send(new Uint8Array([1]))
  await net.clock.runUntilIdle()
  assert.equal(codes, [1011])
})

Connections('addresses are unique; a bad handler is a caller mistake', async () => {
  const net = createMemoryNetwork()
  net.transport('mem://x')
  assert.throws(() => net.transport('mem://x'), RangeError)
  assert.instance(await rejection(net.transport().listen(undefined as never)), TypeError)
})

// ## Scale

const Scale = suite('memory transport: scale')

Scale('10,000 transports, 10 connections each, a frame each way on every one: all delivered, one process', async () => {
  const net = createMemoryNetwork({ latencyMs: 50, jitterMs: 20, seed: 9 })
  const random = createRandom(1)
  const n = 10_000
  const transports = Array.from({ length: n }, () => net.transport())
  let received = 0
  const onFrame = (): void => void received++
  await Promise.all(
    transports.map((t) =>
      t.listen((c) => {
        c.onFrame(onFrame)
        c.send(new Uint8Array(40))
      }),
    ),
  )
  const dials: Promise<Connection>[] = []
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 10; k++) {
      let j = Math.floor(random() * n)
      if (j === i) j = (j + 1) % n
      dials.push(transports[i]!.connect(transports[j]!.address))
    }
  }
  const started = performance.now()
  await net.clock.runUntilIdle()
  const conns = await Promise.all(dials)
  for (const c of conns) {
    c.onFrame(onFrame)
    c.send(new Uint8Array(40))
  }
  await net.clock.runUntilIdle()
  const ms = performance.now() - started
  assert.is(received, 2 * n * 10)
  assert.is(net.stats.framesReceived, 2 * n * 10)
  assert.ok(ms < 20_000, `took ${ms} ms`)
})

Time.run()
Latency.run()
Loss.run()
Connections.run()
Scale.run()
