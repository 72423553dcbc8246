/**
 * Offers by gossip on the protocol harness: a push reaches every peer, through a relay where the
 * seller has no session; an end follows its offer; a node that joins late pulls the listing; a
 * forged or malformed push is refused and relayed nowhere.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { RefusedError, encodeBlock } from '@tally/core'
import { createMarketView, createOfferSpread, offerPayload, OFFERS_PROTOCOL } from '@tally/economy/market'
import { alice, bob, carol, chainOf, component, id, world } from './helpers.ts'
import { baseOffer } from './market-fixtures.ts'
import { createHarness } from './protocol-harness.ts'

const w = world()
const offerStep = (price: number) => ({ type: 'offer', payload: offerPayload({ ...baseOffer([component(1).publicKey]), price }) })

function net(n: number) {
  const h = createHarness()
  const people = [alice, bob, carol, id(14), id(15)].slice(0, n)
  const nodes = people.map((p) => {
    const party = h.party(p)
    const view = createMarketView({ community: w.community })
    return { key: p.publicKey, view, spread: createOfferSpread({ host: party, view, peers: () => people.filter((q) => q !== p).map((q) => q.publicKey) }) }
  })
  return { h, nodes }
}

const Spread = suite('offers protocol')

Spread('a push reaches every peer, through a relay where there is no session; the end follows', async () => {
  const { h, nodes } = net(4)
  h.cut(nodes[0]!.key, nodes[3]!.key)
  const [o, , end] = chainOf(alice, [offerStep(10), { type: 'note', payload: 0 }, { type: 'offer-end', payload: { offer: 1, last: 5 } }])
  nodes[0]!.spread.publish(o!)
  await h.settle()
  assert.equal(nodes.map((n) => n.view.size), [1, 1, 1, 1])
  nodes[0]!.spread.publish(o!, end!)
  await h.settle()
  assert.equal(nodes.map((n) => n.view.search({ epoch: 3 }).map((l) => l.last)), [[5], [5], [5], [5]])
  assert.equal(nodes.map((n) => n.view.search({ epoch: 6 }).length), [0, 0, 0, 0], 'ended offers drop everywhere')
})

Spread('a late node pulls the listing page by page', async () => {
  const blocks = chainOf(alice, Array.from({ length: 70 }, (_, i) => offerStep(i + 1)))
  const big = createMarketView({ community: w.community, maxPerSeller: 100 })
  const h2 = createHarness()
  const a = createOfferSpread({ host: h2.party(alice), view: big, peers: () => [bob.publicKey] })
  const late = createMarketView({ community: w.community, maxPerSeller: 100 })
  const b = createOfferSpread({ host: h2.party(bob), view: late })
  for (const x of blocks) a.publish(x)
  await h2.settle()
  const fresh = createMarketView({ community: w.community, maxPerSeller: 100 })
  const c = createOfferSpread({ host: h2.party(carol), view: fresh })
  assert.is(await c.sync(alice.publicKey), 70)
  assert.is(fresh.size, 70)
  assert.is(late.size, 70)
  b.close()
})

Spread('a forged push is refused and relayed nowhere; a malformed one too', async () => {
  const { h, nodes } = net(3)
  const [o] = chainOf(alice, [offerStep(10)])
  const forged = encodeBlock({ ...o!, timestamp: o!.timestamp + 1 })
  let err: unknown
  try {
    await h.inject(bob.publicKey, alice.publicKey, OFFERS_PROTOCOL, 'offer', [forged, null])
  } catch (e) {
    err = e
  }
  await h.settle()
  assert.equal(nodes.map((n) => n.view.size), [0, 0, 0])
  // a one-way push gets no answer; as a request the refusal shows its reason
  assert.ok(err === undefined || (err instanceof RefusedError && err.reason === 'invalid'))
  let malformed: unknown
  try {
    await h.inject(bob.publicKey, alice.publicKey, OFFERS_PROTOCOL, 'offer', [new Uint8Array(3)])
  } catch (e) {
    malformed = e
  }
  assert.ok(malformed instanceof RefusedError && malformed.reason === 'malformed')
})

Spread.run()
