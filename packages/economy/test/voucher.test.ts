/**
 * Vouchers and release consents: the layout documented in voucher.ts, encode→decode is identity,
 * sign→verify holds, one signature check accepts, and any changed byte or field is refused — a
 * voucher never verifies for another lock, amount, counter or signer. Signing works with an
 * asynchronous key.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { DecodeError, concatBytes, createIdentity, domainTag, encodeCanonical, toHex } from '@tally/core'
import {
  VOUCHER_MAX_BYTES,
  decodeVoucher,
  encodeVoucher,
  releaseConsentDigest,
  signReleaseConsent,
  signVoucher,
  verifyReleaseConsent,
  verifyVoucher,
  voucherFromValue,
  voucherMessage,
  voucherValue,
} from '@tally/economy'
import { alice, bob } from './helpers.ts'

const lockId = new Uint8Array(32).fill(7)

const Layout = suite('voucher: layout')

Layout('the bytes are [lock, amount, counter, signature], signed over the voucher tag and the first three', () => {
  const v = signVoucher(alice, { lock: lockId, amount: 1_500, counter: 3 })
  assert.is(toHex(encodeVoucher(v)), toHex(encodeCanonical([lockId, 1_500, 3, v.signature])))
  assert.is(toHex(voucherMessage(v)), toHex(concatBytes(domainTag('voucher'), encodeCanonical([lockId, 1_500, 3]))))
  assert.ok(alice.crypto.verify(v.signature, concatBytes(domainTag('voucher'), encodeCanonical([lockId, 1_500, 3])), alice.publicKey))
  assert.is(encodeVoucher(v).length, 105) // 1 + 34 + 3 + 1 + 66
  const biggest = signVoucher(alice, { lock: lockId, amount: Number.MAX_SAFE_INTEGER, counter: Number.MAX_SAFE_INTEGER })
  assert.is(encodeVoucher(biggest).length, VOUCHER_MAX_BYTES)
  assert.equal(decodeVoucher(encodeVoucher(biggest)), biggest)
})

Layout('inside a redeem a voucher travels without its lock id', () => {
  const v = signVoucher(alice, { lock: lockId, amount: 9, counter: 1 })
  assert.equal(voucherValue(v), [9, 1, v.signature])
  assert.equal(voucherFromValue(lockId, voucherValue(v)), v)
  for (const bad of [[9, 1], [9, 0, v.signature], [-1, 1, v.signature], [9, 1, v.signature.subarray(1)], 'x', null]) assert.is(voucherFromValue(lockId, bad as never), undefined)
})

const Properties = suite('voucher: properties')

const body = fc.record({ lock: fc.uint8Array({ minLength: 32, maxLength: 32 }), amount: fc.maxSafeNat(), counter: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) })

Properties('encode → decode is identity, and sign → verify holds, for any body', () => {
  fc.assert(
    fc.property(body, (b) => {
      const v = signVoucher(alice, b)
      const back = decodeVoucher(encodeVoucher(v))
      return toHex(encodeVoucher(back)) === toHex(encodeVoucher(v)) && verifyVoucher(back, alice.publicKey) && !verifyVoucher(back, bob.publicKey)
    }),
    { numRuns: 100 },
  )
})

Properties('flipping any byte of a voucher makes it undecodable or unverifiable', () => {
  const v = encodeVoucher(signVoucher(alice, { lock: lockId, amount: 250, counter: 4 }))
  fc.assert(
    fc.property(fc.nat(v.length - 1), fc.integer({ min: 1, max: 255 }), (at, x) => {
      const t = Uint8Array.from(v)
      t[at]! ^= x
      try {
        return !verifyVoucher(decodeVoucher(t), alice.publicKey)
      } catch (err) {
        return err instanceof DecodeError
      }
    }),
    { numRuns: 300 },
  )
})

Properties('a voucher never verifies with another lock, amount or counter', () => {
  fc.assert(
    fc.property(body, body, (a, b) => {
      const v = signVoucher(alice, a)
      const moved = { ...v, lock: b.lock, amount: b.amount, counter: b.counter }
      const same = toHex(a.lock) === toHex(b.lock) && a.amount === b.amount && a.counter === b.counter
      return same || !verifyVoucher(moved, alice.publicKey)
    }),
    { numRuns: 50 },
  )
})

Layout('decodeVoucher refuses what is not a canonical voucher', () => {
  const v = signVoucher(alice, { lock: lockId, amount: 1, counter: 1 })
  const bad = [
    encodeCanonical([lockId, 1, 1]),
    encodeCanonical([lockId, 1, 0, v.signature]),
    encodeCanonical([lockId.subarray(1), 1, 1, v.signature]),
    encodeCanonical([lockId, -1, 1, v.signature]),
    encodeCanonical([lockId, 1, 1, v.signature.subarray(1)]),
    encodeCanonical({ lock: lockId }),
    concatBytes(encodeVoucher(v), Uint8Array.of(0)),
    new Uint8Array(VOUCHER_MAX_BYTES + 1),
  ]
  for (const bytes of bad) {
    let thrown: unknown
    try {
      decodeVoucher(bytes)
    } catch (err) {
      thrown = err
    }
    assert.ok(thrown instanceof DecodeError, `accepted ${toHex(bytes)}`)
  }
})

Layout('an asynchronous key signs vouchers and consents through a promise', async () => {
  const key = createIdentity({ publicKey: alice.publicKey, sign: async (m) => alice.sign(m) })
  const pending = signVoucher(key, { lock: lockId, amount: 5, counter: 1 })
  assert.instance(pending, Promise)
  const v = await pending
  assert.ok(verifyVoucher(v, alice.publicKey))
  assert.equal(v, signVoucher(alice, { lock: lockId, amount: 5, counter: 1 }), 'byte-identical to the synchronous key')
  assert.ok(verifyReleaseConsent(await signReleaseConsent(key, lockId, 3), lockId, 3, alice.publicKey))
})

const Consent = suite('release consent')

Consent('a statement [release, lock, amount], signed by the beneficiary, for exactly that amount', () => {
  const consent = signReleaseConsent(bob, lockId, 40)
  assert.ok(bob.crypto.verify(consent, releaseConsentDigest(lockId, 40), bob.publicKey))
  assert.ok(verifyReleaseConsent(consent, lockId, 40, bob.publicKey))
  assert.not.ok(verifyReleaseConsent(consent, lockId, 41, bob.publicKey))
  assert.not.ok(verifyReleaseConsent(consent, new Uint8Array(32), 40, bob.publicKey))
  assert.not.ok(verifyReleaseConsent(consent, lockId, 40, alice.publicKey))
  // a voucher's signature is never a consent, nor the reverse: different tags
  const v = signVoucher(bob, { lock: lockId, amount: 40, counter: 1 })
  assert.not.ok(verifyReleaseConsent(v.signature, lockId, 40, bob.publicKey))
  assert.not.ok(verifyVoucher({ lock: lockId, amount: 40, counter: 1, signature: consent }, bob.publicKey))
})

Layout.run()
Properties.run()
Consent.run()
