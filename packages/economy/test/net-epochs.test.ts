/**
 * Reconciliation and certification over the protocol host: witnesses reconcile their report sets
 * before each close (digests first, then only what differs), exchange signatures, and certify when
 * k agree; a witness that withholds or signs another root is logged and does not block the quorum;
 * certificates and proofs are served to anyone, and new certificates announced.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { RefusedError, equalBytes, toHex } from '@tally/core'
import { certificateDigest, closeEpoch, configId, signCertificate, signReport, verifyCertificateIn, verifyRewardEvidence, type EpochCertificate } from '@tally/economy'
import { EPOCHS_PROTOCOL, SYNC_PROTOCOL, createMemoryOutbox, createReporter, epochsProtocol, fetchClaim, reportsProtocol, type SignatureNote } from '@tally/economy/net'
import { alice, bob, carol, component, mallory, rejectsLike, witnesses, world } from './helpers.ts'
import { network, register, reportAll, type Net } from './net-fixtures.ts'

const test = suite('reconciliation and certification')

async function twoComponents(): Promise<Net> {
  const net = network()
  await register(net, alice, component(1))
  await register(net, bob, component(2))
  return net
}

test('every witness computes the same root; the second close certifies; proofs are served to anyone', async () => {
  const net = await twoComponents()
  await reportAll(net, [[component(1), [60_000, 3]], [component(2), [10_000, 1]]])
  const heard: EpochCertificate[] = []
  const listener = net.harness.party(carol)
  const epochs = listener.host(epochsProtocol(undefined, (cert) => heard.push(cert)))
  const first = await net.witnesses[0]!.close()
  assert.is(first.certificate, undefined, 'one signature is not a quorum')
  const second = await net.witnesses[1]!.close()
  assert.ok(second.certificate !== undefined)
  await net.harness.settle()
  await net.witnesses[2]!.close()
  const roots = net.witnesses.map((w) => toHex(w.certificate(0)!.root))
  assert.equal(new Set(roots).size, 1)
  assert.equal(net.witnesses.map((w) => toHex(w.result(0)!.body.root)), roots)
  assert.ok(heard.length >= 1 && verifyCertificateIn(heard[0]!, net.community).ok, 'the certificate was announced to a bystander')
  const claim = await fetchClaim(epochs, net.community.current.witnesses, 0, alice.publicKey)
  assert.equal(verifyRewardEvidence(alice.publicKey, { epoch: 0, amount: claim.amount, root: claim.certificate.root }, claim, net.community), [])
  const events = net.witnesses.flatMap((w) => w.events)
  assert.ok(events.every((e) => e.kind === 'certified'), JSON.stringify(events))
})

test('a component that reaches only one witness is counted by all: reconciliation fills the gap', async () => {
  const net = await twoComponents()
  const comp1 = net.harness.party(component(1))
  net.harness.cut(comp1.key, witnesses[1]!.publicKey)
  net.harness.cut(comp1.key, witnesses[2]!.publicKey)
  await reportAll(net, [[component(2), [10_000, 1]]])
  const r = createReporter({ key: component(1), community: net.community, host: comp1, outbox: createMemoryOutbox() })
  await r.report({ epoch: 0, metrics: [60_000, 3] })
  await r.flush()
  r.close()
  assert.equal(net.witnesses.map((w) => w.reportCount(0)), [2, 1, 1])
  for (const w of net.witnesses) await w.close()
  assert.equal(net.witnesses.map((w) => w.reportCount(0)), [2, 2, 2])
  const cert = net.witnesses[2]!.certificate(0)!
  assert.ok(net.witnesses.every((w) => equalBytes(w.result(0)!.body.root, cert.root)))
  assert.ok(net.witnesses[1]!.result(0)!.amountOf(alice.publicKey) > 0, 'the unreachable component earned its share')
})

test('a witness that withholds its reports: the others fill the gap from each other', async () => {
  const net = await twoComponents()
  const comp1 = net.harness.party(component(1))
  net.harness.cut(comp1.key, witnesses[2]!.publicKey)
  net.harness.withhold(witnesses[0]!.publicKey, SYNC_PROTOCOL)
  const r = createReporter({ key: component(1), community: net.community, host: comp1, outbox: createMemoryOutbox() })
  await r.report({ epoch: 0, metrics: [60_000, 3] })
  await r.flush()
  r.close()
  for (const w of [2, 1, 0]) await net.witnesses[w]!.close()
  assert.equal(net.witnesses.map((w) => w.reportCount(0)), [1, 1, 1])
  const roots = net.witnesses.map((w) => toHex(w.result(0)!.body.root))
  assert.equal(new Set(roots).size, 1)
  assert.ok(net.witnesses[2]!.events.some((e) => e.kind === 'sync-failed' && e.witness === 0), 'the refusal to serve is logged')
})

test('a witness that alone holds reports and withholds them is outvoted, logged, and does not block', async () => {
  const net = await twoComponents()
  const comp1 = net.harness.party(component(1))
  net.harness.cut(comp1.key, witnesses[1]!.publicKey)
  net.harness.cut(comp1.key, witnesses[2]!.publicKey)
  net.harness.withhold(witnesses[0]!.publicKey, SYNC_PROTOCOL)
  await reportAll(net, [[component(2), [10_000, 1]]])
  const r = createReporter({ key: component(1), community: net.community, host: comp1, outbox: createMemoryOutbox() })
  await r.report({ epoch: 0, metrics: [60_000, 3] })
  await r.flush()
  r.close()
  for (const w of net.witnesses) await w.close()
  await net.harness.settle()
  const cert = net.witnesses[1]!.certificate(0)!
  assert.equal(cert.signatures.map((s) => s.index), [1, 2])
  const mismatch = net.witnesses[1]!.events.find((e) => e.kind === 'root-mismatch')
  assert.ok(mismatch !== undefined && mismatch.witness === 0)
  assert.match(mismatch!.reason, /report set differs/)
  assert.ok(net.witnesses[0]!.events.some((e) => e.kind === 'outvoted'))
  assert.equal(net.witnesses[0]!.certificate(0)!.root, cert.root, 'the outvoted witness adopts the certificate')
  // it cannot serve proofs of a table it does not hold: a wallet asks the next witness
  const wallet = net.harness.party(bob)
  const handle = wallet.host(epochsProtocol())
  const e = (await rejectsLike((await handle.peer(witnesses[0]!.publicKey)).request('get-proof', { epoch: 0, owner: bob.publicKey }), RefusedError)) as RefusedError
  assert.is(e.reason, 'unavailable')
  const claim = await fetchClaim(handle, net.community.current.witnesses, 0, bob.publicKey)
  assert.equal(claim.certificate.root, cert.root)
})

test('a witness that signs a wrong root is logged with the reason; the quorum still forms', async () => {
  const net = await twoComponents()
  await reportAll(net, [[component(1), [60_000, 3]], [component(2), [10_000, 1]]])
  net.witnesses[2]!.stop()
  // witness 2 turns rogue: its node now only sends a signature on another root
  const rogue = net.harness.party(witnesses[2]!)
  const handle = rogue.host(epochsProtocol())
  const other = world([[alice, component(1)]])
  const body = closeEpoch({ directory: other.directory, karma: other.karma, metrics: other.monitor.close() }).body
  const config = net.community.current
  const wrong = { ...body, configId: configId(config), root: new Uint8Array(32).fill(7) }
  const note: SignatureNote = { body: wrong, signature: signCertificate(wrong, witnesses[2]!, config), reports: new Uint8Array(32), directory: new Uint8Array(32) }
  for (const w of [0, 1]) (await handle.peer(witnesses[w]!.publicKey)).send('signature', note)
  await net.harness.settle()
  await net.witnesses[0]!.close()
  await net.witnesses[1]!.close()
  await net.harness.settle()
  const cert = net.witnesses[0]!.certificate(0)!
  assert.equal(cert.signatures.map((s) => s.index), [0, 1])
  const logged = net.witnesses[0]!.events.filter((e) => e.kind === 'root-mismatch')
  assert.is(logged.length, 1)
  assert.is(logged[0]!.witness, 2)
  assert.match(logged[0]!.reason, /root/)
  assert.match(logged[0]!.reason, /report set differs/)
  assert.not.ok(equalBytes(certificateDigest(wrong), certificateDigest(cert)))
})

test('malformed and forged epoch messages are refused or ignored; nothing is stored', async () => {
  const net = await twoComponents()
  await reportAll(net, [[component(1), [60_000, 3]]])
  const mallory = net.harness.party(carol)
  mallory.host(epochsProtocol())
  const w0 = witnesses[0]!.publicKey
  const e1 = (await rejectsLike(net.harness.inject(carol.publicKey, w0, EPOCHS_PROTOCOL, 'get-proof', [0, new Uint8Array(31)]), RefusedError)) as RefusedError
  assert.is(e1.reason, 'malformed')
  const e2 = (await rejectsLike(net.harness.inject(carol.publicKey, w0, EPOCHS_PROTOCOL, 'announce', [[1, 2, 3]], { oneWay: true }), RefusedError)) as RefusedError
  assert.is(e2.reason, 'malformed')
  const e3 = (await rejectsLike(net.harness.inject(carol.publicKey, w0, EPOCHS_PROTOCOL, 'get-certificate', [0]), RefusedError)) as RefusedError
  assert.is(e3.reason, 'unknown-epoch')
  // a well-formed certificate whose signatures are not the witnesses' is not adopted
  await net.witnesses[1]!.close()
  await net.witnesses[2]!.close()
  await net.harness.settle()
  const real = net.witnesses[1]!.certificate(0)!
  const forged = [real.configId, real.epoch, new Uint8Array(32).fill(1), real.leaves, real.total, real.signatures.map((s) => [s.index, s.signature])]
  await net.harness.inject(carol.publicKey, w0, EPOCHS_PROTOCOL, 'announce', [forged], { oneWay: true })
  const held = await net.harness.inject(carol.publicKey, w0, EPOCHS_PROTOCOL, 'get-certificate', [0])
  assert.equal((held!.message as { certificate: EpochCertificate }).certificate.root, real.root, 'the announced certificate was kept, the forged one not')
  const lone = network()
  lone.harness.party(carol).host(epochsProtocol())
  await lone.harness.inject(carol.publicKey, witnesses[0]!.publicKey, EPOCHS_PROTOCOL, 'announce', [forged], { oneWay: true })
  const e4 = (await rejectsLike(lone.harness.inject(carol.publicKey, witnesses[0]!.publicKey, EPOCHS_PROTOCOL, 'get-certificate', [0]), RefusedError)) as RefusedError
  assert.is(e4.reason, 'unknown-epoch', 'a forged certificate is never kept')
  // a forged signature note is logged and not counted
  const note = [real.configId, 0, new Uint8Array(32).fill(1), 1, 1000, [1, new Uint8Array(64)], new Uint8Array(32), new Uint8Array(32)]
  await net.harness.inject(carol.publicKey, w0, EPOCHS_PROTOCOL, 'signature', note, { oneWay: true })
  assert.ok(net.witnesses[0]!.events.some((e) => e.kind === 'bad-signature'))
  await net.witnesses[0]!.close()
  assert.equal(net.witnesses[0]!.certificate(0)!.root, real.root)
  // refusals of get-proof: no reward for an owner without a leaf
  const e5 = (await rejectsLike(net.harness.inject(carol.publicKey, w0, EPOCHS_PROTOCOL, 'get-proof', [0, carol.publicKey]), RefusedError)) as RefusedError
  assert.is(e5.reason, 'no-reward')
})

test('whatever reaches whom, in whatever order, every witness closes over the union and signs one root (fast-check)', async () => {
  const owners = [alice, bob, carol, mallory]
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ comp: fc.integer({ min: 0, max: 3 }), airtime: fc.integer({ min: 0, max: 90_000 }), to: fc.subarray([0, 1, 2], { minLength: 1 }), twin: fc.boolean() }), { minLength: 1, maxLength: 8 }),
      fc.shuffledSubarray([0, 1, 2], { minLength: 3, maxLength: 3 }),
      async (sends, order) => {
        const net = network()
        for (let i = 0; i < 4; i++) await register(net, owners[i]!, component(i + 1))
        const sender = net.harness.party(component(9))
        const handle = sender.host(reportsProtocol())
        const seqs = [0, 0, 0, 0]
        let expected = 0
        for (const s of sends) {
          const comp = component(s.comp + 1)
          const seq = seqs[s.comp]!++
          const report = signReport({ component: comp.publicKey, epoch: 0, seq, metrics: [s.airtime, 1] }, comp, net.community.id)
          // a component that signs two reports at one seq: witnesses converge on one of them
          const twin = signReport({ component: comp.publicKey, epoch: 0, seq, metrics: [s.airtime + 1, 1] }, comp, net.community.id)
          expected++
          for (const w of s.to) {
            const bytes = s.twin && w === s.to[s.to.length - 1] && s.to.length > 1 ? twin : report
            await (await handle.peer(witnesses[w]!.publicKey)).request('submit', { reports: [bytes] })
          }
        }
        for (const w of order) await net.witnesses[w]!.close()
        await net.harness.settle()
        const roots = new Set(net.witnesses.map((w) => toHex(w.result(0)!.body.root)))
        assert.is(roots.size, 1)
        assert.equal(net.witnesses.map((w) => w.reportCount(0)), [expected, expected, expected])
        assert.ok(net.witnesses.every((w) => w.certificate(0) !== undefined && w.events.every((e) => e.kind === 'certified')))
      },
    ),
    { numRuns: 12 },
  )
})

test.run()
