/**
 * Bandwidth tokens: vouchers, ledgers, the free-rider policy, hop-by-hop payment on relay paths,
 * deferred aggregated payouts, and the simulation — with fast-check properties: payouts published
 * late, twice or out of order change nothing; a view's balances always sum to zero (tokens move,
 * they are never made); once every payout is out, every ledger's view of every peer is the truth;
 * the policy refuses exactly below the threshold.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { RefusedError, identityFromSeed } from '@tally/core'
import {
  BANDWIDTH_VOUCHER_MAX_BYTES,
  balanceHistogram,
  checkPayout,
  createBandwidthLedger,
  createPayoutView,
  decodeBandwidthVoucher,
  decodePayout,
  encodeBandwidthVoucher,
  encodePayout,
  pathPayments,
  signBandwidthVoucher,
  simulateBandwidth,
  thresholdPolicy,
  verifyBandwidthVoucher,
  type BandwidthLedger,
  type Payout,
} from '@tally/economy/bandwidth'

const key = (n: number) => identityFromSeed(new Uint8Array(32).fill(n))

const Vouchers = suite('bandwidth vouchers and payouts')

Vouchers('encode → decode, signature, limits; a payout verifies alone and refuses tampering', () => {
  const [a, b] = [key(1), key(2)]
  const v = signBandwidthVoucher(a, { payee: b.publicKey, mb: 2 ** 53 - 1, counter: 2 ** 53 - 1 })
  const bytes = encodeBandwidthVoucher(v)
  assert.is(bytes.length, BANDWIDTH_VOUCHER_MAX_BYTES)
  const back = decodeBandwidthVoucher(bytes)
  assert.ok(verifyBandwidthVoucher(back))
  assert.not.ok(verifyBandwidthVoucher({ ...back, mb: 1 }))
  assert.throws(() => signBandwidthVoucher(a, { payee: a.publicKey, mb: 1, counter: 1 }), RangeError)
  const ledger = createBandwidthLedger({ key: b })
  ledger.receive(signBandwidthVoucher(a, { payee: b.publicKey, mb: 10, counter: 1 }))
  ledger.receive(signBandwidthVoucher(key(3), { payee: b.publicKey, mb: 5, counter: 1 }))
  const payout = ledger.payout(0)!
  assert.is(checkPayout(payout), undefined)
  assert.is(checkPayout(decodePayout(encodePayout(payout))), undefined)
  assert.is(checkPayout({ ...payout, period: 1 }), 'not signed by its payee')
  assert.ok(checkPayout({ ...payout, vouchers: [...payout.vouchers].reverse() }) !== undefined)
  assert.is(ledger.payout(1), undefined, 'nothing rose since')
  assert.throws(() => decodePayout(new Uint8Array(10)))
})

Vouchers('a ledger pays cumulatively, takes increments, and refuses what is not for it', () => {
  const [a, b, c] = [key(1), key(2), key(3)]
  const la = createBandwidthLedger({ key: a })
  const lb = createBandwidthLedger({ key: b })
  const v1 = la.pay(b.publicKey, 300)
  const v2 = la.pay(b.publicKey, 200)
  assert.equal([v1.mb, v1.counter, v2.mb, v2.counter], [300, 1, 500, 2])
  assert.is(lb.receive(v2), 500)
  assert.is(lb.receive(v1), 0, 'an older voucher adds nothing')
  assert.is(lb.receive(v2), 0, 'nor a replay')
  assert.is(lb.balance(a.publicKey), -500, 'the payee knows at once')
  assert.is(la.balance(b.publicKey), 500, 'so does the payer, of its payee')
  let err = assert.throws(() => createBandwidthLedger({ key: c }).receive(v2)) as unknown
  try { createBandwidthLedger({ key: c }).receive(v2) } catch (e) { err = e }
  assert.ok(err instanceof RefusedError && err.reason === 'voucher-payee')
  try { lb.receive({ ...v2, mb: 9_999 }) } catch (e) { err = e }
  assert.ok(err instanceof RefusedError && err.reason === 'voucher-signature')
})

Vouchers('relay paths pay hop by hop: every relay and the seeder earn mb, the downloader pays mb × (h + 1)', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 10_000 }), (h, mb) => {
    const path = Array.from({ length: h + 2 }, (_, i) => key(i + 1).publicKey)
    const net = new Map<Uint8Array, number>()
    for (const p of pathPayments(path, mb)) {
      net.set(p.payer, (net.get(p.payer) ?? 0) - p.mb)
      net.set(p.payee, (net.get(p.payee) ?? 0) + p.mb)
    }
    assert.is(net.get(path[0]!), -mb * (h + 1))
    for (const p of path.slice(1)) assert.is(net.get(p), mb)
  }))
  assert.throws(() => pathPayments([key(1).publicKey], 5), RangeError)
})

const Props = suite('bandwidth properties')

Props('payouts late, twice, out of order: balances sum to zero, views end at the truth, the policy refuses exactly below the threshold', () => {
  const peers = [key(1), key(2), key(3), key(4), key(5)]
  const pay = fc.record({ from: fc.nat(4), to: fc.nat(4), mb: fc.integer({ min: 1, max: 3_000 }) })
  fc.assert(fc.property(fc.array(fc.oneof(pay, fc.constant('payout' as const)), { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 80 }), fc.integer({ min: -8_000, max: 0 }), (steps, order, threshold) => {
    const view = createPayoutView()
    const ledgers: BandwidthLedger[] = peers.map((k) => createBandwidthLedger({ key: k, view, policy: thresholdPolicy(threshold) }))
    const truth = new Array<number>(peers.length).fill(0)
    const published: Payout[] = []
    let period = 0
    for (const s of steps) {
      if (s === 'payout') {
        for (const l of ledgers) {
          const p = l.payout(period)
          if (p !== undefined) published.push(p)
        }
        period++
        continue
      }
      if (s.from === s.to) continue
      ledgers[s.to]!.receive(ledgers[s.from]!.pay(peers[s.to]!.publicKey, s.mb))
      truth[s.from]! -= s.mb
      truth[s.to]! += s.mb
    }
    for (const l of ledgers) {
      const p = l.payout(period)
      if (p !== undefined) published.push(p)
    }
    // publish in a shuffled order, some twice; the sum is zero at every step
    const shuffled = [...published]
    for (const [k, o] of shuffled.length === 0 ? [] : order.entries()) {
      const i = k % Math.max(1, shuffled.length)
      const j = o % Math.max(1, shuffled.length)
      ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
    }
    for (const p of [...shuffled, ...shuffled.slice(0, order.length % (shuffled.length + 1))]) {
      assert.is(view.learn(decodePayout(encodePayout(p))), undefined)
      assert.is(view.balances().sum, 0)
    }
    for (const [i, k] of peers.entries()) {
      assert.is(view.balance(k.publicKey), truth[i], 'the view ends at the truth')
      for (const l of ledgers) {
        assert.is(l.balance(k.publicKey), truth[i])
        assert.is(l.admit(k.publicKey, 1).ok, truth[i]! >= threshold)
      }
    }
  }), { numRuns: 80, seed: 2026 })
})

Props('the simulation: free riders refused, balances sum to zero, deterministic by seed, a histogram', () => {
  const options = { peers: 40, freeRiders: 0.1, hours: 48, meanMb: 800, seed: 5 }
  const r = simulateBandwidth(options)
  assert.is(r.sum, 0)
  assert.is(r.viewSum, 0)
  assert.is(r.freeRiders, 4)
  assert.ok(r.freeRidersRefused >= 0.8, `only ${r.freeRidersRefused} of free riders refused`)
  assert.ok(r.freeRiderServed < r.freeRiderAsked)
  assert.ok(r.medianFreeRiderBalanceAtRefusal < r.threshold, 'refused only below the threshold')
  assert.ok(r.honestServiceRatio > 0 && r.honestServiceRatio <= 1)
  assert.equal(simulateBandwidth(options).balances, r.balances, 'same seed, same run')
  const lines = balanceHistogram(r.balances)
  assert.is(lines.reduce((s, l) => s + Number(l.split('│ ')[1]), 0), 40)
})

Vouchers.run()
Props.run()
