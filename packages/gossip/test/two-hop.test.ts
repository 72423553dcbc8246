/**
 * The two-hop table: `nearest` finds what a scan of every entry finds (fast-check over random
 * tables), never names this node or a skipped peer, wraps round the ring, names each peer once and
 * a neighbour always directly; and the table forgets a neighbour and its list when it goes.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { toHex } from '@tally/core'
import { keyWords, ringDistance, ringPosition } from '../src/node/rendezvous.js'
import { TwoHopTable, type RingTarget } from '../src/node/two-hop.js'

/** A neighbour handle: only its name matters to the table. */
interface Peer {
  readonly name: string
}

const position = (id: Uint8Array): number => ringPosition(...keyWords(id))
const hex8 = (id: Uint8Array): string => toHex(id.subarray(0, 8))

/** An 8-byte id from a number (distinct numbers, distinct ids). */
function id(n: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setUint32(0, 0x9e37_79b9)
  new DataView(out.buffer).setUint32(4, n >>> 0)
  return out
}

/** A table: self, neighbours (name, id) and what each announced. */
interface Setup {
  readonly self: Uint8Array
  readonly neighbours: readonly { peer: Peer; id: Uint8Array; list: readonly Uint8Array[] }[]
}

function build(setup: Setup): TwoHopTable<Peer> {
  const table = new TwoHopTable<Peer>(setup.self)
  for (const n of setup.neighbours) table.add(n.peer, n.id)
  for (const n of setup.neighbours) table.announce(n.peer, n.list)
  return table
}

/** The brute-force answer's distances: every entry scored, skipped ones and repeats left out. */
function bruteDistances(setup: Setup, slot: number, count: number, skip: readonly Uint8Array[]): number[] {
  const excluded = new Set([hex8(setup.self), ...skip.map(hex8)])
  const seen = new Map<string, number>()
  const all = [...setup.neighbours.map((n) => n.id), ...setup.neighbours.flatMap((n) => n.list)]
  for (const i of all) if (!excluded.has(hex8(i))) seen.set(hex8(i), ringDistance(slot, position(i)))
  return [...seen.values()].sort((a, b) => a - b).slice(0, count)
}

/** Every rule a result must keep, whatever the ties. */
function checkResult(setup: Setup, result: readonly RingTarget<Peer>[], slot: number, count: number, skip: readonly Uint8Array[]): void {
  assert.equal(
    result.map((t) => t.distance),
    bruteDistances(setup, slot, count, skip),
    'the same distances as a scan of every entry, nearest first',
  )
  const direct = new Map(setup.neighbours.map((n) => [hex8(n.id), n]))
  const names = new Set<string>()
  for (const t of result) {
    const h = hex8(t.id)
    assert.is(t.id.length, 8)
    assert.not.ok(names.has(h), 'each peer once')
    names.add(h)
    assert.is(t.distance, ringDistance(slot, position(t.id)))
    assert.not.ok(h === hex8(setup.self) || skip.some((k) => hex8(k) === h), 'never this node or a skipped peer')
    if (direct.has(h)) assert.is(t.via, undefined, 'a neighbour is pushed to directly')
    else {
      assert.ok(t.via !== undefined, 'a peer two hops away goes through a neighbour')
      const via = setup.neighbours.find((n) => n.peer === t.via)
      assert.ok(via?.list.some((i) => hex8(i) === h), 'and that neighbour announced it')
    }
  }
}

// ## Against a brute-force scan

const Search = suite('two-hop: nearest')

const idArb = fc.integer({ min: 0, max: 60 }).map(id)
const setupArb: fc.Arbitrary<Setup> = fc
  .record({
    self: idArb,
    neighbours: fc.uniqueArray(idArb, { maxLength: 12, selector: hex8 }),
    lists: fc.array(fc.array(idArb, { maxLength: 30 }), { maxLength: 12 }),
  })
  .map(({ self, neighbours, lists }) => ({
    self,
    neighbours: neighbours.map((i, k) => ({ peer: { name: `n${k}` }, id: i, list: lists[k] ?? [] })),
  }))

Search('property: the nearest among neighbours and their lists, as a scan of every entry finds them', () => {
  fc.assert(
    fc.property(
      setupArb,
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.integer({ min: 0, max: 8 }),
      fc.array(idArb, { maxLength: 3 }),
      (setup, slot, count, skip) => {
        checkResult(setup, build(setup).nearest(slot, count, skip), slot, count, skip)
      },
    ),
    { numRuns: 2000 },
  )
})

Search('property: slots at the ids themselves (distance 0, neighbours of the slot on both sides)', () => {
  fc.assert(
    fc.property(setupArb, fc.nat(), fc.integer({ min: 1, max: 5 }), (setup, pick, count) => {
      const everyone = [setup.self, ...setup.neighbours.flatMap((n) => [n.id, ...n.list])]
      const slot = position(everyone[pick % everyone.length]!)
      const skip = setup.neighbours.slice(0, 2).map((n) => n.id)
      checkResult(setup, build(setup).nearest(slot, count, skip), slot, count, skip)
    }),
    { numRuns: 1000 },
  )
})

Search('a large table: 100 neighbours announcing 100 peers each', () => {
  const pool = Array.from({ length: 3000 }, (_, i) => id(i))
  let r = 7
  const next = (): number => (r = (Math.imul(r, 1_103_515_245) + 12_345) >>> 0)
  const setup: Setup = {
    self: pool[0]!,
    neighbours: Array.from({ length: 100 }, (_, k) => ({
      peer: { name: `n${k}` },
      id: pool[1 + k]!,
      list: Array.from({ length: 100 }, () => pool[next() % pool.length]!),
    })),
  }
  const table = build(setup)
  for (let i = 0; i < 200; i++) {
    const slot = next()
    const skip = [pool[next() % pool.length]!, pool[next() % pool.length]!]
    checkResult(setup, table.nearest(slot, 3, skip), slot, 3, skip)
  }
})

// ## Rules

const Rules = suite('two-hop: rules')

Rules('this node and the skipped peers are never targets, even when nearest', () => {
  const self = id(1)
  const a = { peer: { name: 'a' }, id: id(2), list: [self, id(3), id(4)] }
  const b = { peer: { name: 'b' }, id: id(5), list: [id(3), self] }
  const setup: Setup = { self, neighbours: [a, b] }
  const table = build(setup)
  for (const at of [self, id(3), id(2)]) {
    const slot = position(at)
    const result = table.nearest(slot, 10, [id(3), id(2)])
    assert.equal(result.map((t) => hex8(t.id)).sort(), [id(4), id(5)].map(hex8).sort())
    checkResult(setup, result, slot, 10, [id(3), id(2)])
  }
  assert.equal(table.nearest(0, 0), [], 'count 0: nobody')
})

Rules('whole keys work as skip entries and as this node (their first 8 bytes count)', () => {
  const key = new Uint8Array(32).fill(9)
  key.set(id(3))
  const table = new TwoHopTable<Peer>(key)
  const a = { name: 'a' }
  table.add(a, id(2))
  table.announce(a, [id(3), id(4), id(6)])
  const ids = table.nearest(123, 10, [Uint8Array.from([...id(4), 1, 2, 3])]).map((t) => hex8(t.id))
  assert.equal(ids.sort(), [id(2), id(6)].map(hex8).sort())
})

Rules('wrap-around: a slot past the highest position finds the lowest ones too', () => {
  const ids = Array.from({ length: 40 }, (_, i) => id(100 + i)).sort((x, y) => position(x) - position(y))
  const low = ids[0]!
  const high = ids.at(-1)!
  // the middle of the gap that crosses 2^32 → 0
  const gap = 0x1_0000_0000 - position(high) + position(low)
  const slot = (position(high) + Math.floor(gap / 2)) >>> 0
  const setup: Setup = { self: id(1), neighbours: [{ peer: { name: 'a' }, id: id(2), list: ids }] }
  const result = build(setup).nearest(slot, 2, [id(2)])
  assert.equal(result.map((t) => hex8(t.id)).sort(), [low, high].map(hex8).sort())
  checkResult(setup, result, slot, 2, [id(2)])
})

Rules('dedupe: a peer named by several neighbours is one target; a neighbour named by others goes directly', () => {
  const a = { peer: { name: 'a' }, id: id(2), list: [id(7), id(3), id(3)] }
  const b = { peer: { name: 'b' }, id: id(3), list: [id(7), id(2)] }
  const c = { peer: { name: 'c' }, id: id(4), list: [id(7), id(3), id(2)] }
  const setup: Setup = { self: id(1), neighbours: [a, b, c] }
  const table = build(setup)
  for (const at of [id(7), id(3), id(2)]) {
    const result = table.nearest(position(at), 10)
    assert.equal(result.map((t) => hex8(t.id)).sort(), [id(2), id(3), id(4), id(7)].map(hex8).sort())
    for (const t of result) assert.is(t.via === undefined, hex8(t.id) !== hex8(id(7)), `${hex8(t.id)} direct iff a neighbour`)
  }
})

Rules('a neighbour that goes takes its list along; announcements from strangers and bad ids are ignored', () => {
  const a = { name: 'a' }
  const b = { name: 'b' }
  const table = new TwoHopTable<Peer>(id(1))
  table.add(a, id(2))
  table.add(b, id(3))
  table.announce(a, [id(10), id(11), new Uint8Array(7), new Uint8Array(32)])
  table.announce({ name: 'stranger' }, [id(20)])
  const names = (): string[] => table.nearest(0, 20).map((t) => hex8(t.id)).sort()
  assert.equal(names(), [id(2), id(3), id(10), id(11)].map(hex8).sort())
  assert.is(table.direct(id(3)), b)
  assert.is(table.direct(id(10)), undefined)
  table.remove(a)
  assert.equal(names(), [id(3)].map(hex8))
  assert.is(table.size, 1)
  assert.equal(table.ids(10).map(hex8), [hex8(id(3))])
  // a new announcement replaces the old list
  table.announce(b, [id(12)])
  table.announce(b, [id(13)])
  assert.equal(names(), [id(3), id(13)].map(hex8).sort())
})

Rules('two neighbours sharing 8 bytes of key: one holds the id, the other takes over when it goes', () => {
  const k1 = new Uint8Array(32).fill(1)
  const k2 = new Uint8Array(32).fill(2)
  k1.set(id(5))
  k2.set(id(5))
  const a = { name: 'a' }
  const b = { name: 'b' }
  const table = new TwoHopTable<Peer>(id(1))
  table.add(a, k1)
  table.add(b, k2)
  assert.is(table.direct(id(5)), a)
  assert.is(table.nearest(0, 5).length, 1, 'one target for one id')
  table.remove(a)
  assert.is(table.direct(id(5)), b)
  table.remove(b)
  assert.is(table.direct(id(5)), undefined)
  assert.equal(table.nearest(0, 5), [])
})

Rules('ids(max) names at most max neighbours, 8 bytes each', () => {
  const table = new TwoHopTable<Peer>(id(1))
  for (let i = 0; i < 10; i++) table.add({ name: `n${i}` }, Uint8Array.from([...id(10 + i), ...new Uint8Array(24)]))
  const ids = table.ids(4)
  assert.is(ids.length, 4)
  for (const i of ids) assert.is(i.length, 8)
  assert.is(table.ids(100).length, 10)
})

Search.run()
Rules.run()
