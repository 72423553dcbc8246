/**
 * A party's push targets (two-hop.ts `pushTargets`, the rule the node and the model share): up to
 * pushFanout - 1 of the block's owner's neighbours nearest the slot, from the list the owner
 * announced, reached without the owner; then the ring's nearest. The regression it guards: two
 * counterparties of one forker whose two-hop neighbourhoods differ (a sparse overlay) picked
 * disjoint ring targets, and the two blocks of the fork never met (1,000 peers knowing 20, 0% loss:
 * one fork of 61 undetected by the real nodes). Both hold the owner's list: they pick alike there.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { toHex } from '@tally/core'
import { keyWords, ringDistance, ringPosition } from '../src/node/rendezvous.js'
import { TwoHopTable } from '../src/node/two-hop.js'

interface Peer {
  readonly name: string
}

const hex8 = (id: Uint8Array): string => toHex(id.subarray(0, 8))
const position = (id: Uint8Array): number => ringPosition(...keyWords(id))

function id(n: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setUint32(0, 0x51ed_270b)
  new DataView(out.buffer).setUint32(4, n >>> 0)
  return out
}

/** A node's table: its neighbours (by number) and the lists they announced (by number). */
function table(self: number, lists: ReadonlyMap<number, readonly number[]>): { t: TwoHopTable<Peer>; peers: Map<number, Peer> } {
  const t = new TwoHopTable<Peer>(id(self))
  const peers = new Map<number, Peer>()
  for (const n of lists.keys()) {
    const p = { name: String(n) }
    peers.set(n, p)
    t.add(p, id(n))
  }
  for (const [n, list] of lists) t.announce(peers.get(n)!, list.map(id))
  return { t, peers }
}

const Targets = suite('push targets: the owner’s neighbours first')

Targets('two counterparties with disjoint neighbourhoods pick the same owner’s neighbours', () => {
  const owner = 1
  const ownerList = [2, 3, 10, 11, 12, 13, 14, 15, 16, 17]
  // counterparty 2 reaches the owner's neighbours through 20; counterparty 3 through 30; their
  // other neighbours name peers (40.., 50..) that the other never sees
  const c2 = table(2, new Map([[owner, ownerList], [20, ownerList.filter((k) => k > 3)], [21, [40, 41, 42, 43, 44, 45]]]))
  const c3 = table(3, new Map([[owner, ownerList], [30, ownerList.filter((k) => k > 3)], [31, [50, 51, 52, 53, 54, 55]]]))
  for (let slot = 0; slot < 2 ** 32; slot += 0x1357_9bdf) {
    const a = c2.t.pushTargets(slot, 3, id(owner), id(2))
    const b = c3.t.pushTargets(slot, 3, id(owner), id(3))
    const owned = (ts: typeof a) => ts.slice(0, 2).map((x) => hex8(x.id))
    // each picks the two of the owner's neighbours nearest the slot, itself left out
    const nearest = (self: number) =>
      ownerList
        .filter((k) => k !== self)
        .map((k) => [k, ringDistance(slot, position(id(k)))] as const)
        .sort((x, y) => x[1] - y[1])
        .slice(0, 2)
        .map(([k]) => hex8(id(k)))
    assert.equal(owned(a), nearest(2))
    assert.equal(owned(b), nearest(3))
    // so the two blocks meet: at a peer both push to, or at the other counterparty
    const holdersA = new Set([hex8(id(2)), ...a.map((x) => hex8(x.id))])
    const holdersB = new Set([hex8(id(3)), ...b.map((x) => hex8(x.id))])
    assert.ok([...holdersA].some((h) => holdersB.has(h)), 'the two blocks meet')
    // through a neighbour that names them, not the owner, when there is one
    for (const x of [...owned(a).map((h, k) => [h, a[k]!] as const), ...owned(b).map((h, k) => [h, b[k]!] as const)]) {
      if (x[0] !== hex8(id(2)) && x[0] !== hex8(id(3))) assert.not.ok(x[1].via?.name === String(owner), 'not through the owner')
    }
  }
})

Targets('an owner’s neighbour is reached directly, else through a neighbour that names it, else through the owner', () => {
  const owner = 1
  // 10 is named by the owner alone; 11 also by 20; 12 is a neighbour
  const c = table(2, new Map([[owner, [10, 11, 12]], [20, [11, 60]], [12, [70]]]))
  for (let slot = 0; slot < 2 ** 32; slot += 0x0bad_cafe) {
    const ts = c.t.pushTargets(slot, 4, id(owner), id(2))
    const names = ts.map((x) => hex8(x.id))
    assert.is(new Set(names).size, names.length, 'each once')
    assert.not.ok(names.includes(hex8(id(owner))) || names.includes(hex8(id(2))), 'neither party')
    const owned = ts.slice(0, 3)
    assert.equal(owned.map((x) => hex8(x.id)).sort(), [10, 11, 12].map((k) => hex8(id(k))).sort(), 'the owner’s three')
    const via = new Map(owned.map((x) => [hex8(x.id), x.via?.name]))
    assert.is(via.get(hex8(id(12))), undefined, 'a neighbour directly')
    assert.is(via.get(hex8(id(11))), '20', 'through the neighbour that names it')
    assert.is(via.get(hex8(id(10))), String(owner), 'else through the owner')
  }
})

Targets('one target: the ring’s nearest (one owner’s neighbour would leave no peer the owner does not choose)', () => {
  const c = table(2, new Map([[1, [10, 11]], [20, [11, 60]]]))
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (slot) => {
      assert.equal(c.t.pushTargets(slot, 1, id(1), id(2)).map((x) => hex8(x.id)), c.t.nearest(slot, 1, [id(1), id(2)]).map((x) => hex8(x.id)))
    }),
  )
})

Targets('no list from the owner (not a neighbour, or its list lost): the ring’s nearest, as before', () => {
  const c = table(2, new Map([[20, [11, 60]], [21, [12, 61]]]))
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (slot) => {
      assert.equal(c.t.pushTargets(slot, 3, id(1), id(2)).map((x) => hex8(x.id)), c.t.nearest(slot, 3, [id(1), id(2)]).map((x) => hex8(x.id)))
    }),
  )
})

Targets.run()
