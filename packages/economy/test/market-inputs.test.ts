/**
 * The shared table of bad inputs (as inputs.test.ts) fed to every public decoder, checker and
 * constructor of @tally/economy/market, and to every kind of its three protocols: decoders throw
 * DecodeError (or TypeError for what is not bytes), checkers answer no, constructors throw
 * TypeError or RangeError, codecs refuse with DecodeError, TypeError or RangeError; limits hold.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DecodeError, UNILATERAL_KEY, encodeCanonical, type Protocol, type ProtocolHost, type ProtocolMessages } from '@tally/core'
import {
  createMarketView,
  createOfferSpread,
  createOrderBook,
  createOutcomeWitness,
  createTrade,
  createTradeDesk,
  decodeOutcomeEvidence,
  instalments,
  offerPayload,
  offerView,
  outcomesProtocol,
  readOffer,
  readOfferEnd,
  readSlaTerms,
  readSlaValue,
  signOrder,
  verifyOrder,
  verifyOutcome,
  verifyOutcomeCertificate,
} from '@tally/economy/market'
import { alice, bob, genesis, witnesses } from './helpers.ts'

const BAD: readonly unknown[] = [
  undefined, null, 0, -1, 1.5, Number.NaN, 2 ** 64, 10n, '', 'x', true, [], [1, 2], {}, { a: 1 },
  new Uint8Array(0), new Uint8Array(31), new Uint8Array(1000).fill(0xff), Uint8Array.of(0x80), Uint8Array.of(0xa0),
  encodeCanonical(['sla', 1, 2, 3, 4]), encodeCanonical([1, 2, 3]), encodeCanonical({ type: 'gateway' }),
]
const { community } = genesis()

const Inputs = suite('market inputs')

Inputs('decodeOutcomeEvidence throws DecodeError or TypeError, nothing else', () => {
  for (const value of BAD) {
    try {
      decodeOutcomeEvidence(value as Uint8Array)
      assert.unreachable(`accepted ${String(value)}`)
    } catch (err) {
      assert.ok(err instanceof DecodeError || (!(value instanceof Uint8Array) && err instanceof TypeError), `decodeOutcomeEvidence(${String(value)}) threw ${String(err)}`)
    }
  }
})

Inputs('readers and checkers answer no and never throw', () => {
  for (const value of BAD) {
    const v = value as never
    assert.is(readOffer(v), undefined)
    assert.is(readOfferEnd(v), undefined)
    assert.is(readSlaTerms(v), undefined)
    assert.is(readSlaValue(v), undefined)
    assert.is(offerView({ type: 'offer', publicKey: alice.publicKey, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, payload: v } as never), undefined)
    assert.is(verifyOrder(v), false)
    assert.is(verifyOutcome(new Uint8Array(32), 0, v, community).ok, false)
    assert.is(verifyOutcomeCertificate(v, community).ok, false)
  }
})

Inputs('constructors throw TypeError or RangeError', () => {
  const order = { maker: alice.publicKey, receive: bob.publicKey, give: { community: new Uint8Array(32), amount: 100 }, want: { community: new Uint8Array(32), amount: 50 }, k: 10, expires: 10 }
  const cases: [string, (v: unknown) => unknown][] = [
    ['offerPayload', (v) => offerPayload(v as never)],
    ['offerPayload(price)', (v) => offerPayload({ type: 'gateway', components: [new Uint8Array(32)], criteria: [{ metric: 'm', op: 'ge', value: 1 }], price: v as never, cycle: 1, penalty: 0, notice: 0, from: 0, until: 1 })],
    ['signOrder', (v) => signOrder(alice, v as never)],
    ['signOrder(k)', (v) => signOrder(alice, { ...order, k: v as never })],
    ['instalments(total)', (v) => instalments(v as never, 3)],
    ['instalments(k)', (v) => instalments(100, v as never)],
    ['createTrade', (v) => createTrade(v as never, bob.publicKey, { receive: bob.publicKey, timeoutMs: 1, now: 0 })],
  ]
  for (const [name, fn] of cases) {
    for (const value of BAD) {
      if (name === 'instalments(total)' && typeof value === 'number' && Number.isSafeInteger(value) && value >= 3) continue
      if (name === 'instalments(k)' && typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= 100) continue
      if (name === 'signOrder(k)' && (value === 1)) continue
      let thrown: unknown
      try {
        fn(value)
      } catch (err) {
        thrown = err
      }
      assert.ok(thrown instanceof TypeError || thrown instanceof RangeError, `${name}(${String(value)}) gave ${String(thrown)}`)
    }
  }
})

Inputs('every kind of the offers, outcomes and trades protocols refuses bad bodies; limits within 64 KiB', () => {
  const hosted: Protocol<ProtocolMessages>[] = []
  const host: ProtocolHost = {
    host(protocol) {
      hosted.push(protocol as unknown as Protocol<ProtocolMessages>)
      return { clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} }, peer: async () => { throw new Error('offline') }, peers: () => [], close: () => {} }
    },
  }
  const view = createMarketView({ community })
  createOfferSpread({ host, view })
  createOutcomeWitness({ key: witnesses[0]!, community, host, view })
  createTradeDesk({ host, book: createOrderBook(), now: () => 0 })
  hosted.push(outcomesProtocol() as unknown as Protocol<ProtocolMessages>)
  assert.is(new Set(hosted.map((p) => p.name)).size, 3)
  let kinds = 0
  for (const protocol of hosted) {
    for (const [name, kind] of Object.entries(protocol.messages)) {
      kinds++
      assert.ok(kind.maxBytes > 0 && kind.maxBytes <= 65_536 && kind.cost >= 1, `${protocol.name}/${name} limits`)
      for (const value of [...BAD, [BAD], [new Uint8Array(32), -1], [[new Uint8Array(32)], null]]) {
        try {
          kind.decode(value as never)
        } catch (err) {
          assert.ok(err instanceof DecodeError || err instanceof TypeError || err instanceof RangeError, `${protocol.name}/${name} decode(${String(value)}) threw ${String(err)}`)
        }
      }
    }
  }
  assert.ok(kinds >= 13)
})

Inputs.run()
