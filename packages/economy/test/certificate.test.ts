/**
 * Epoch certificates: k witnesses sign the allocation root; a certificate verifies alone against
 * its configuration, and not with fewer than k signatures, under another configuration, for an
 * epoch another configuration governs, or with a total other than the reward per epoch.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DecodeError, encodeCanonical } from '@tally/core'
import {
  certificateDigest,
  certify,
  configId,
  decodeCertificate,
  encodeCertificate,
  nextConfig,
  signCertificate,
  signConfig,
  signedConfig,
  verifyCertificate,
  verifyCertificateIn,
  type CertificateBody,
  type EpochCertificate,
} from '@tally/economy'
import { alice, bob, carol, genesis, throwsLike, witnesses } from './helpers.ts'

const { config, community } = genesis()
const body: CertificateBody = { configId: configId(config), epoch: 4, root: new Uint8Array(32).fill(7), leaves: 10, total: config.rewardPerEpoch }
const sigs = witnesses.map((w) => signCertificate(body, w, config))

/** A certificate assembled by hand from the first k witnesses' signatures, as a forger would. */
function handMade(b: CertificateBody, c: typeof config): EpochCertificate {
  return Object.freeze({ ...b, signatures: witnesses.slice(0, c.quorum).map((w) => signCertificate(b, w, c)) })
}

const Certify = suite('certificate: certify and verify')

Certify('k witness signatures make a certificate that verifies alone', () => {
  const cert = certify(body, sigs, config)
  assert.is(cert.signatures.length, config.quorum, 'exactly the quorum is kept')
  assert.equal(verifyCertificate(cert, config), { ok: true })
  assert.equal(verifyCertificateIn(cert, community), { ok: true })
  const bytes = encodeCertificate(cert)
  assert.ok(bytes.length < 300, `compact: ${bytes.length} bytes`)
  assert.equal(verifyCertificate(decodeCertificate(bytes), config), { ok: true })
})

Certify('certify drops invalid signatures and needs k valid ones', () => {
  const forged = { index: 1, signature: sigs[0]!.signature }
  const cert = certify(body, [sigs[0]!, forged, sigs[2]!], config)
  assert.equal(cert.signatures.map((s) => s.index), [0, 2])
  throwsLike(() => certify(body, [sigs[0]!, forged], config), RangeError, /1 valid witness signatures, the quorum is 2/)
  throwsLike(() => signCertificate(body, alice, config), RangeError, /not one of/)
})

Certify('certify never assembles a certificate that verifyCertificate rejects', () => {
  const cases: [string, CertificateBody, RegExp][] = [
    ['a total other than the reward per epoch', { ...body, total: config.rewardPerEpoch + 1 }, /reward per epoch/],
    ['more leaves than units', { ...body, leaves: config.rewardPerEpoch + 1 }, /more leaves than units/],
    ['another configuration', { ...body, configId: new Uint8Array(32).fill(1) }, /another configuration/],
  ]
  for (const [what, bad, reason] of cases) {
    const signed = witnesses.map((w) => {
      try {
        return signCertificate(bad, w, config)
      } catch {
        return undefined // signCertificate itself refuses a body naming another configuration
      }
    })
    throwsLike(() => certify(bad, signed.filter((x) => x !== undefined), config), RangeError, reason)
    assert.ok(true, what)
  }
})

Certify('fewer than k signatures: invalid', () => {
  const cert = { ...certify(body, sigs, config), signatures: [sigs[0]!] }
  assert.match((verifyCertificate(cert, config) as { reason: string }).reason, /quorum is 2/)
})

Certify('a changed field breaks every signature', () => {
  const cert = certify(body, sigs, config)
  for (const changed of [{ epoch: 5 }, { root: new Uint8Array(32) }, { leaves: 11 }]) {
    assert.match((verifyCertificate({ ...cert, ...changed }, config) as { reason: string }).reason, /does not verify/)
  }
})

Certify('a total other than the reward per epoch is refused', () => {
  // certify refuses to assemble these; a forger assembles them by hand
  const off = { ...body, total: config.rewardPerEpoch - 1 }
  assert.match((verifyCertificate(handMade(off, config), config) as { reason: string }).reason, /reward per epoch/)
  const empty = { ...body, total: 0, leaves: 0 }
  assert.equal(verifyCertificate(certify(empty, witnesses.map((w) => signCertificate(empty, w, config)), config), config), { ok: true })
  const greedy = { ...body, leaves: config.rewardPerEpoch + 1 }
  assert.match((verifyCertificate(handMade(greedy, config), config) as { reason: string }).reason, /more leaves/)
})

Certify('signatures by non-witnesses under witness indexes are refused', () => {
  const cert = certify(body, sigs, config)
  const digest = certificateDigest(body)
  const fake = { ...cert, signatures: [{ index: 0, signature: alice.sign(digest) }, { index: 1, signature: bob.sign(digest) }] }
  assert.is(verifyCertificate(fake, config).ok, false)
})

Certify('decode refuses malformed certificates', () => {
  throwsLike(() => decodeCertificate(encodeCanonical([new Uint8Array(32), 1, new Uint8Array(31), 1, 1, []])), DecodeError, /32 bytes/)
  throwsLike(() => decodeCertificate(encodeCanonical([1, 2])), DecodeError)
})

const Rotation = suite('certificate: configuration in force')

Rotation('after witness rotation, the old witnesses cannot certify later epochs', () => {
  const { config: c0, community: chain } = genesis()
  const c1 = nextConfig(c0, { fromEpoch: 10, witnesses: [alice.publicKey, bob.publicKey, carol.publicKey] })
  assert.ok(chain.update(signedConfig(c1, witnesses.slice(0, 2).map((w) => signConfig(c1, w, c0)))).ok)
  const old = (epoch: number) => {
    const b = { configId: configId(c0), epoch, root: new Uint8Array(32), leaves: 1, total: c0.rewardPerEpoch }
    return certify(b, witnesses.map((w) => signCertificate(b, w, c0)), c0)
  }
  assert.equal(verifyCertificateIn(old(9), chain), { ok: true })
  assert.match((verifyCertificateIn(old(10), chain) as { reason: string }).reason, /not signed under the configuration governing epoch 10/)
  const b1 = { configId: configId(c1), epoch: 10, root: new Uint8Array(32), leaves: 1, total: c1.rewardPerEpoch }
  assert.equal(verifyCertificateIn(certify(b1, [alice, bob].map((w) => signCertificate(b1, w, c1)), c1), chain), { ok: true })
  assert.match((verifyCertificate(certify(b1, [alice, bob].map((w) => signCertificate(b1, w, c1)), c1), c0) as { reason: string }).reason, /another configuration/)
})

Rotation('an epoch before genesis has no configuration', () => {
  const { config: c, community: chain } = genesis({ fromEpoch: 5 })
  const b = { configId: configId(c), epoch: 4, root: new Uint8Array(32), leaves: 1, total: c.rewardPerEpoch }
  throwsLike(() => certify(b, witnesses.map((w) => signCertificate(b, w, c)), c), RangeError, /before the configuration/)
  const cert = handMade(b, c)
  assert.match((verifyCertificateIn(cert, chain) as { reason: string }).reason, /no configuration governs/)
  assert.match((verifyCertificate(cert, c) as { reason: string }).reason, /before the configuration/)
})

Certify.run()
Rotation.run()
