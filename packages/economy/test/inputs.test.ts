/**
 * A shared table of bad inputs fed to every public decoder and checker: decoders throw only
 * DecodeError (or TypeError for a value that is not bytes at all), checkers answer "no" and never
 * throw, constructors throw TypeError or RangeError naming the argument.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DecodeError, UNILATERAL_KEY, encodeCanonical } from '@tally/core'
import {
  allocate,
  balanceEntry,
  checkLink,
  checkQuorum,
  checkRegistration,
  checkRevocation,
  checkTicket,
  createConfig,
  createEvidenceStore,
  createWallet,
  createKarmaLedger,
  decodeCertificate,
  decodeConfig,
  decodeLink,
  decodeMerkleProof,
  decodeRegistration,
  decodeReport,
  decodeRevocation,
  decodeRewardEvidence,
  decodeSignatures,
  decodeSignedConfig,
  decodeTicketConflict,
  decodeVoucher,
  lockView,
  readBurn,
  readRefund,
  readLock,
  readRedeem,
  readRelease,
  signReleaseConsent,
  signVoucher,
  verifyReleaseConsent,
  verifyVoucher,
  readReward,
  readTransfer,
  verifyCertificate,
  verifyMerkleProof,
  verifyTicketConflict,
} from '@tally/economy'
import { createNetWallet, createTicketStore, createWitness, type Protocol, type ProtocolHost } from '@tally/economy/net'
import { channelTerms, decodeReceipt, signReceipt, verifyChannelRelease, verifyReceipt } from '@tally/economy/channels'
import { checkPayout, createBandwidthLedger, decodeBandwidthVoucher, decodePayout, pathPayments, signBandwidthVoucher, thresholdPolicy, verifyBandwidthVoucher } from '@tally/economy/bandwidth'
import { createAgent, createMemoryStore, type ProtocolMessages } from '@tally/core'
import { alice, genesis, witnesses, world } from './helpers.ts'

/** Values that are not what anything here expects. */
const BAD: readonly unknown[] = [
  undefined, null, 0, -1, 1.5, Number.NaN, 2 ** 64, 10n, '', 'x', true, [], [1, 2], {}, { a: 1 },
  new Uint8Array(0), new Uint8Array(31), new Uint8Array(1000).fill(0xff), Uint8Array.of(0x80), Uint8Array.of(0xa0),
  encodeCanonical(['register']), encodeCanonical([1, 2, 3, 4, 5, 6]), encodeCanonical({ version: 0 }),
]
const bytesOf = (x: unknown) => (x instanceof Uint8Array ? x : undefined)

const { config, community } = genesis()
const { monitor } = world()

const Decoders = suite('inputs: decoders')

const decoders: [string, (b: Uint8Array) => unknown][] = [
  ['decodeConfig', decodeConfig], ['decodeSignedConfig', decodeSignedConfig], ['decodeRegistration', decodeRegistration],
  ['decodeRevocation', decodeRevocation], ['decodeLink', decodeLink], ['decodeReport', decodeReport],
  ['decodeCertificate', decodeCertificate], ['decodeMerkleProof', decodeMerkleProof], ['decodeRewardEvidence', decodeRewardEvidence],
  ['decodeTicketConflict', decodeTicketConflict],
  ['decodeVoucher', decodeVoucher],
  ['decodeReceipt', decodeReceipt], ['decodeBandwidthVoucher', decodeBandwidthVoucher], ['decodePayout', decodePayout],
]
for (const [name, decode] of decoders) {
  Decoders(`${name} throws DecodeError or TypeError, nothing else`, () => {
    for (const value of BAD) {
      try {
        decode(value as Uint8Array)
        assert.unreachable(`${name} accepted ${String(value)}`)
      } catch (err) {
        const ok = err instanceof DecodeError || (!(value instanceof Uint8Array) && err instanceof TypeError)
        assert.ok(ok, `${name}(${String(value)}) threw ${String(err)}`)
      }
    }
  })
}

Decoders('decodeSignatures refuses every bad value with DecodeError', () => {
  for (const value of BAD) {
    if (Array.isArray(value) && value.length === 0) continue // the empty list is a valid (empty) list
    let thrown: unknown
    try {
      decodeSignatures(value as never)
    } catch (err) {
      thrown = err
    }
    assert.ok(thrown instanceof DecodeError, `decodeSignatures(${String(value)})`)
  }
})

const Checkers = suite('inputs: checkers answer no, never throw')

Checkers('statement, certificate, quorum and proof checks', () => {
  for (const value of BAD) {
    const v = value as never
    assert.is(checkRegistration(v, config, community.id).ok, false)
    assert.is(checkRevocation(v, config, community.id).ok, false)
    assert.is(checkLink(v, config, community.id).ok, false)
    assert.is(verifyCertificate(v, config).ok, false)
    assert.ok(typeof checkQuorum(new Uint8Array(32), v, config) === 'string')
    assert.is(verifyMerkleProof(v, v, 1, v), false)
    assert.is(verifyMerkleProof(new Uint8Array(32), { index: 0, siblings: v }, 2, new Uint8Array(32).fill(1)), false)
    assert.is(verifyTicketConflict(v).ok, false)
    assert.is(checkTicket('accept', v, 0, v, community).ok, false)
    assert.is(checkTicket('void', new Uint8Array(32), 0, v, community).ok, false)
  }
})

Checkers('payload readers return undefined for every bad payload', () => {
  for (const value of BAD) {
    assert.is(readReward(value as never), undefined)
    assert.is(readTransfer(value as never, false), undefined)
    assert.is(readTransfer(value as never, true), undefined)
    assert.is(readBurn(value as never), undefined)
    assert.is(readRefund(value as never), undefined)
    for (const type of ['reward', 'transfer', 'burn', 'refund']) assert.is(balanceEntry({ type, linkSeq: 0, payload: value } as never), undefined)
    for (const linkPublicKey of [UNILATERAL_KEY, alice.publicKey]) {
      const block = { type: 'lock', publicKey: alice.publicKey, linkPublicKey, linkSeq: 0, payload: value } as never
      assert.is(readLock(block), undefined)
      assert.is(lockView(block), undefined)
    }
    assert.is(readRedeem(value as never), undefined)
    assert.is(readRelease(value as never), undefined)
    for (const type of ['lock', 'redeem', 'release']) assert.is(balanceEntry({ type, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, payload: value } as never), undefined)
  }
})

Checkers('voucher and consent checks answer no', () => {
  for (const value of BAD) {
    const v = value as never
    assert.is(verifyVoucher(v, alice.publicKey), false)
    assert.is(verifyVoucher({ lock: new Uint8Array(32), amount: 1, counter: 1, signature: v }, alice.publicKey), false)
    assert.is(verifyReleaseConsent(v, new Uint8Array(32), 1, alice.publicKey), false)
    assert.is(verifyReleaseConsent(new Uint8Array(64), v, 1, alice.publicKey), false)
    assert.is(verifyReceipt(v, alice.publicKey), false)
    assert.is(verifyReceipt({ channel: new Uint8Array(32), amount: 1, counter: 1, signature: v }, alice.publicKey), false)
    assert.is(verifyBandwidthVoucher(v), false)
    assert.is(verifyBandwidthVoucher({ payer: alice.publicKey, payee: new Uint8Array(32), mb: v, counter: 1, signature: new Uint8Array(64) }), false)
    assert.ok(checkPayout(v) !== undefined)
    assert.is(verifyChannelRelease([v, v], undefined as never, [v]) !== undefined, true)
  }
})

Checkers('the monitor refuses every bad report as malformed', () => {
  for (const value of BAD) {
    const bytes = bytesOf(value)
    if (bytes === undefined) continue
    const verdict = monitor.submit(bytes)
    assert.is((verdict as { code?: string }).code, 'malformed', `submit(${String(value)})`)
  }
})

const Constructors = suite('inputs: constructors name the argument')

Constructors('allocate, createConfig, createKarmaLedger throw TypeError or RangeError', () => {
  const notCount = BAD.filter((v) => !(typeof v === 'number' && Number.isSafeInteger(v) && v >= 0))
  const notWindow = BAD.filter((v) => !(typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= 1024))
  const notKarma = BAD.filter((v) => typeof v !== 'object' || v === null || (!Array.isArray(v) && !(v instanceof Uint8Array)) || (Array.isArray(v) && v.length > 0 && v.some((x) => typeof x !== 'number')))
  const cases: [string, readonly unknown[], (v: unknown) => unknown][] = [
    ['allocate(total)', notCount, (v) => allocate(v as never, [1])],
    ['allocate(karma)', notKarma, (v) => allocate(10, v as never)],
    ['createConfig', BAD, (v) => createConfig(v as never)],
    ['createKarmaLedger', notWindow, (v) => createKarmaLedger({ window: v as never })],
    ['signVoucher(lock)', BAD.filter((v) => !(v instanceof Uint8Array && v.length === 32)), (v) => signVoucher(alice, { lock: v as never, amount: 1, counter: 1 })],
    ['signVoucher(amount)', notCount, (v) => signVoucher(alice, { lock: new Uint8Array(32), amount: v as never, counter: 1 })],
    ['signVoucher(counter)', notCount.concat([0]), (v) => signVoucher(alice, { lock: new Uint8Array(32), amount: 1, counter: v as never })],
    ['signReleaseConsent(amount)', notCount, (v) => signReleaseConsent(alice, new Uint8Array(32), v as never)],
    ['signReceipt(channel)', BAD.filter((v) => !(v instanceof Uint8Array && v.length === 32)), (v) => signReceipt(alice, { channel: v as never, amount: 1, counter: 1 })],
    ['signReceipt(amount)', notCount, (v) => signReceipt(alice, { channel: new Uint8Array(32), amount: v as never, counter: 1 })],
    ['signReceipt(counter)', notCount.concat([0]), (v) => signReceipt(alice, { channel: new Uint8Array(32), amount: 1, counter: v as never })],
    ['channelTerms', BAD.filter((v) => v !== undefined), (v) => channelTerms({ channel: v as never, offset: 1 })],
    ['signBandwidthVoucher(payee)', BAD.filter((v) => !(v instanceof Uint8Array && v.length === 32)), (v) => signBandwidthVoucher(alice, { payee: v as never, mb: 1, counter: 1 })],
    ['signBandwidthVoucher(mb)', notCount, (v) => signBandwidthVoucher(alice, { payee: new Uint8Array(32), mb: v as never, counter: 1 })],
    ['thresholdPolicy', BAD.filter((v) => v !== undefined && !(typeof v === 'number' && Number.isSafeInteger(v) && v <= 0)), (v) => thresholdPolicy(v as never)],
    ['pathPayments(path)', BAD, (v) => pathPayments(v as never, 1)],
    ['pathPayments(mb)', BAD.filter((v) => !(typeof v === 'number' && Number.isSafeInteger(v) && v >= 1)), (v) => pathPayments([alice.publicKey, new Uint8Array(32)], v as never)],
    ['createBandwidthLedger', BAD, (v) => createBandwidthLedger(v as never)],
  ]
  for (const [name, values, fn] of cases) {
    for (const value of values) {
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

const Messages = suite('inputs: protocol message codecs')

Messages('every kind of every economy protocol refuses bad bodies with DecodeError, TypeError or RangeError', () => {
  // the protocols as a witness and a wallet host them, captured by a host that only records
  const hosted: Protocol<ProtocolMessages>[] = []
  const host: ProtocolHost = {
    host(protocol) {
      hosted.push(protocol as unknown as Protocol<ProtocolMessages>)
      return { clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} }, peer: async () => { throw new Error('offline') }, peers: () => [], close: () => {} }
    },
  }
  createWitness({ key: witnesses[0]!, community, host, epoch: 0 })
  const evidence = createEvidenceStore(community)
  const wallet = createWallet({ agent: createAgent({ identity: alice, store: createMemoryStore(), head: 'local' }), community, evidence })
  createNetWallet({ wallet, community, evidence, tickets: createTicketStore(), host, port: { deliver: async () => { throw new Error('offline') } } })
  assert.is(new Set(hosted.map((p) => p.name)).size, 6)
  let kinds = 0
  for (const protocol of hosted) {
    for (const [name, kind] of Object.entries(protocol.messages)) {
      kinds++
      assert.ok(kind.maxBytes > 0 && kind.maxBytes <= 65_536 && kind.cost >= 1, `${protocol.name}/${name} limits`)
      for (const value of [...BAD, [BAD], [new Uint8Array(32), -1], ['statements', 1]]) {
        try {
          kind.decode(value as never)
        } catch (err) {
          const ok = err instanceof DecodeError || err instanceof TypeError || err instanceof RangeError
          assert.ok(ok, `${protocol.name}/${name} decode(${String(value)}) threw ${String(err)}`)
        }
      }
    }
  }
  assert.ok(kinds >= 30)
})

Decoders.run()
Checkers.run()
Constructors.run()
Messages.run()
