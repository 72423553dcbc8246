/**
 * Orders by gossip and trade agreements on the protocol harness: an order reaches every peer
 * through a relay, a forged or lapsed one goes nowhere, a late node pulls the book; a taker's
 * take gives both sides the same trade, refused for an unknown order, a session that is not the
 * taker's, or past the maker's bound on open trades with that taker.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { RefusedError } from '@tally/core'
import { TRADES_PROTOCOL, createOrderBook, createTradeDesk, signOrder, type Order } from '@tally/economy/market'
import { alice, bob, carol, id } from './helpers.ts'
import { createHarness } from './protocol-harness.ts'

const A = new Uint8Array(32).fill(0xa)
const B = new Uint8Array(32).fill(0xb)
const NOW = 1_000_000
const order = (fields: Partial<Parameters<typeof signOrder>[1]> = {}): Order =>
  signOrder(alice, { maker: alice.publicKey, receive: id(30).publicKey, give: { community: A, amount: 1_000 }, want: { community: B, amount: 400 }, k: 10, expires: NOW + 60_000, ...fields })

function net(maxOpenPerTaker = 4) {
  const h = createHarness(NOW)
  const people = [alice, carol, bob]
  const desks = people.map((p) => {
    const book = createOrderBook()
    return { book, desk: createTradeDesk({ host: h.party(p), book, now: () => h.clock.now(), peers: () => people.filter((q) => q !== p).map((q) => q.publicKey), maxOpenPerTaker }) }
  })
  return { h, desks }
}

const Orders = suite('trades protocol')

Orders('an order reaches every peer through a relay; forged and lapsed ones go nowhere; a late node pulls the book', async () => {
  const { h, desks } = net()
  h.cut(alice.publicKey, bob.publicKey)
  const o = order()
  desks[0]!.desk.publish(o)
  await h.settle()
  assert.equal(desks.map((d) => d.book.size), [1, 1, 1])
  assert.equal(desks[2]!.book.find({ give: A, want: B, now: NOW }).length, 1)
  const forged = { ...order(), want: { community: B, amount: 100 } }
  await h.inject(carol.publicKey, bob.publicKey, TRADES_PROTOCOL, 'order', [[forged.maker, forged.receive, [A, 1_000], [B, 100], 10, forged.expires, forged.signature]], { oneWay: true })
  const lapsed = order({ expires: NOW - 1 })
  desks[0]!.desk.publish(lapsed)
  await h.settle()
  assert.equal(desks.map((d) => d.book.size), [1, 1, 1])
  const late = createOrderBook()
  assert.is(await createTradeDesk({ host: h.party(id(31)), book: late, now: () => NOW }).sync(carol.publicKey), 1)
  assert.is(late.size, 1)
})

Orders('a take gives both sides the same trade; unknown orders, other sessions and the bound are refused', async () => {
  const { h, desks } = net(1)
  const o = order()
  desks[0]!.desk.publish(o)
  await h.settle()
  const trade = await desks[2]!.desk.take(o, bob.publicKey, id(32).publicKey)
  assert.equal(desks[0]!.desk.made.map((t) => t.id), [trade.id])
  assert.equal(trade.due(), { payer: 'taker', index: 0, amount: 40 })
  const refused = async (p: Promise<unknown>, reason: string) => {
    const err = await p.then(() => undefined, (e: unknown) => e)
    assert.ok(err instanceof RefusedError && err.reason === reason, `${reason}: ${String(err)}`)
  }
  await refused(desks[2]!.desk.take(o, bob.publicKey, id(32).publicKey), 'bound')
  await refused(desks[2]!.desk.take(order({ k: 9 }), bob.publicKey, id(32).publicKey), 'unknown-order')
  await refused(desks[1]!.desk.take(o, bob.publicKey, id(32).publicKey), 'declined') // carol's session, bob's trade
})

Orders.run()
