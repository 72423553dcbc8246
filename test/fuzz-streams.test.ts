/**
 * Fuzzing of every decoder of @tally/economy/streams with the shared mutator (test/fuzz/harness.ts):
 * stream messages, key grants, purchases, placed messages, every body of the streams protocol (as
 * the host decodes it: canonical CBOR within the kind's limit, then the kind's decode), listing
 * blocks into the listing index, and the two stream fraud kinds into verifyFraudProof. A decoder
 * may only accept or refuse with its documented error; a reader never throws and never returns a
 * plaintext for a mutated message; the index never takes a block whose signature fails; a proof
 * that verifies accuses the corpus's cheater, never the honest owner.
 * Replay another sample: TALLY_FUZZ_SEED=<n> node --import tsx test/fuzz-streams.test.ts
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { GENESIS_HASH, UNILATERAL_KEY, blockHash as blockHashOf, createBlockTypes, decodeBlock, decodeCanonical, decodeFraudProof, encodeBlock, encodeCanonical, encodeFraudProof, equalBytes, identityFromSeed, signBlock, verifyBlock, verifyFraudProof, type HalfBlock, type SeedIdentity } from '@tally/core'
import {
  STREAMS_CODECS,
  STREAM_LISTING,
  STREAM_WITHDRAW,
  boxKeyPair,
  createListingIndex,
  createPublisher,
  createReader,
  decodeGrant,
  decodeMessage,
  decodePlaced,
  decodePurchase,
  encodeGrant,
  encodePlaced,
  encodePurchase,
  listingPayload,
  periodKey,
  signGrant,
  signPurchase,
  streamBadKeyProof,
  streamForkProof,
  streamTypes,
  type StreamsMessages,
} from '@tally/economy/streams'
import { encodeVoucher, signVoucher } from '@tally/economy'
import { defaultCrypto } from '@tally/node'
import { fuzz, fuzzSeed, type FuzzReport } from './fuzz/harness.ts'

const crypto = defaultCrypto()

const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n)
const honest = identityFromSeed(seed(0x31))
const cheater = identityFromSeed(seed(0x32))
const sensor = identityFromSeed(seed(0x33))
const cheatSensor = identityFromSeed(seed(0x34))
const secret = seed(0x35)
const verifiers = createBlockTypes(streamTypes()).fraudVerifiers()

function listing(owner: SeedIdentity, sensorKey: Uint8Array, seq = 1, prev?: HalfBlock): HalfBlock {
  const payload = listingPayload({ device: `d-${seq}`, sensor: sensorKey, lat: 45_000_000 + seq, lon: 7_000_000, kind: 'parking', price: 3, period: 60_000, start: 0, served: ['ws://127.0.0.1:9/'] })
  return signBlock({ publicKey: owner.publicKey, seq, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: prev === undefined ? GENESIS_HASH : blockHashOf(prev), type: STREAM_LISTING, payload, timestamp: seq }, owner)
}

async function corpus() {
  const pub = createPublisher({ sensor, secret })
  const published = []
  for (let i = 0; i < 6; i++) published.push(await pub.publish(new Uint8Array(i * 7).fill(i), i >> 1))
  const buyer = boxKeyPair(seed(0x36))
  const grant = signGrant(sensor, { period: 1, recipient: buyer.publicKey, from: pub.head, key: pub.periodKey(1) })
  const purchase = signPurchase(honest, { sensor: sensor.publicKey, payment: 4, recipient: buyer.publicKey })
  const honestListing = listing(honest, sensor.publicKey)
  const withdraw = signBlock({ publicKey: honest.publicKey, seq: 2, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: blockHashOf(honestListing), type: STREAM_WITHDRAW, payload: { listing: 1 }, timestamp: 3 }, honest)
  // the cheater's sensor forks and sells a wrong key
  const cheatListing = listing(cheater, cheatSensor.publicKey)
  const cp = createPublisher({ sensor: cheatSensor, secret })
  const c1 = await cp.publish(new Uint8Array([1]), 0)
  const c2 = await createPublisher({ sensor: cheatSensor, secret }).publish(new Uint8Array([2]), 0)
  const badGrant = signGrant(cheatSensor, { period: 0, recipient: buyer.publicKey, from: cp.head, key: periodKey(secret, cheatSensor.publicKey, 9) })
  const proofs = [
    streamForkProof(cheatListing, { prev: c1.prev, message: c1.message }, { prev: c2.prev, message: c2.message }),
    streamBadKeyProof(cheatListing, badGrant, buyer.secretKey, { prev: c1.prev, message: c1.message }),
  ].map(encodeFraudProof)
  const bodies: Uint8Array[] = []
  const body = <K extends keyof StreamsMessages>(kind: K, m: StreamsMessages[K]) => bodies.push(encodeCanonical(STREAMS_CODECS[kind].encode(m)))
  body('announce', [honestListing, withdraw])
  body('catalog', { after: 3, max: 64 })
  body('listings', { blocks: [honestListing], next: 9 })
  body('fetch', { sensor: sensor.publicKey, from: 2, max: 10 })
  body('follow', { sensor: sensor.publicKey, from: 1 })
  body('unfollow', sensor.publicKey)
  body('messages', { sensor: sensor.publicKey, from: 1, prev: new Uint8Array(32), messages: published.slice(0, 3).map((p) => p.message), head: 7 })
  body('subscribe', purchase)
  const lock = signBlock({ publicKey: honest.publicKey, seq: 3, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: blockHashOf(withdraw), type: 'lock', payload: { amount: 50, to: cheater.publicKey, terms: null, expiry: 9, balance: 0 }, timestamp: 4 }, honest)
  body('receipt', { purchase, lock, voucher: encodeVoucher(signVoucher(honest, { lock: blockHashOf(lock), amount: 20, counter: 1 })), history: [honestListing, withdraw] })
  body('key', { sensor: sensor.publicKey, period: 2, recipient: buyer.publicKey })
  body('grant', grant)
  return {
    messages: published.map((p) => p.bytes),
    grants: [encodeGrant(grant), encodeGrant(badGrant)],
    purchases: [encodePurchase(purchase)],
    placed: published.map((p) => encodePlaced({ prev: p.prev, message: p.message })),
    bodies,
    blocks: [honestListing, withdraw, cheatListing].map(encodeBlock),
    proofs,
    buyer,
  }
}

const isDecodeError = (e: unknown): boolean => (e as { code?: string } | null)?.code === 'ERR_DECODE'
const hex = (b: Uint8Array): string => Buffer.from(b.subarray(0, 128)).toString('hex')

async function targets() {
  const c = await corpus()
  const decodeOnly = (name: string, items: Uint8Array[], decode: (b: Uint8Array) => unknown) => ({
    name,
    corpus: items,
    run(input: Uint8Array, report: FuzzReport) {
      try {
        decode(input)
        report.accepted++
      } catch (err) {
        if (!isDecodeError(err)) throw err
      }
    },
  })
  const kinds = Object.values(STREAMS_CODECS) as { maxBytes: number; decode(v: unknown): unknown }[]
  return [
    decodeOnly('streams.message', c.messages, decodeMessage),
    decodeOnly('streams.grant', c.grants, decodeGrant),
    decodeOnly('streams.purchase', c.purchases, decodePurchase),
    {
      name: 'streams.reader',
      corpus: c.messages,
      run(input: Uint8Array, report: FuzzReport) {
        // a reader at seq 1 with every period's key: only the genuine first message reads
        const reader = createReader({ sensor: sensor.publicKey, from: { seq: 1, prev: new Uint8Array(32) }, crypto })
        for (let p = 0; p < 3; p++) reader.addKey(p, periodKey(secret, sensor.publicKey, p))
        const r = reader.read(input)
        if (r.ok) {
          report.accepted++
          if (!equalBytes(input, c.messages[0]!)) report.invalidAccepted.push({ target: 'streams.reader', what: 'read a message that is not the sensor\'s first', input: hex(input) })
        }
      },
    },
    {
      name: 'streams.placed',
      corpus: c.placed,
      run(input: Uint8Array, report: FuzzReport) {
        if (decodePlaced(input) !== undefined) report.accepted++ // never throws
      },
    },
    {
      name: 'streams.protocol-bodies',
      corpus: c.bodies,
      run(input: Uint8Array, report: FuzzReport) {
        let value
        try {
          value = decodeCanonical(input, { maxBytes: 120_000, maxDepth: 32 })
        } catch (err) {
          if (!isDecodeError(err)) throw err
          return
        }
        let accepted = false
        for (const kind of kinds) {
          if (input.length > kind.maxBytes) continue
          try {
            kind.decode(value)
            accepted = true
          } catch (err) {
            if (!isDecodeError(err) && !(err instanceof TypeError) && !(err instanceof RangeError)) throw err
          }
        }
        if (accepted) report.accepted++
      },
    },
    {
      name: 'streams.listing-index',
      corpus: c.blocks,
      run(input: Uint8Array, report: FuzzReport) {
        let block: HalfBlock
        try {
          block = decodeBlock(input)
        } catch (err) {
          if (!isDecodeError(err)) throw err
          return
        }
        const index = createListingIndex({ crypto })
        const r = index.add(block)
        if (r === 'added' || r === 'withdrawn') {
          report.accepted++
          if (!verifyBlock(block, crypto)) report.invalidAccepted.push({ target: 'streams.listing-index', what: `took a block whose signature fails (${r})`, input: hex(input) })
        }
      },
    },
    {
      name: 'streams.proof',
      corpus: c.proofs,
      run(input: Uint8Array, report: FuzzReport) {
        let proof
        try {
          proof = decodeFraudProof(input)
        } catch (err) {
          if (!isDecodeError(err)) throw err
          return
        }
        if (verifyFraudProof(proof, { crypto, verifiers }).ok) {
          report.accepted++
          if (!equalBytes(proof.publicKey, cheater.publicKey)) report.invalidAccepted.push({ target: 'streams.proof', what: 'a verifying proof against an honest key', input: hex(input) })
        }
      },
    },
  ]
}

const test = suite('fuzz: streams decoders')

test('14,000 mutated inputs: every streams decoder refuses cleanly or accepts what is valid', async () => {
  const s = fuzzSeed(20261205)
  const list = await targets()
  // every corpus entry is valid as given
  for (const t of list) {
    const report: FuzzReport = { inputs: 0, perTarget: {}, accepted: 0, crashes: [], invalidAccepted: [] }
    for (const input of t.corpus) await t.run(input, report)
    assert.ok(report.accepted >= 1, `${t.name}: its corpus is accepted`)
  }
  const report = await fuzz(list, 14_000, s)
  assert.equal(report.crashes, [], `seed ${s}: decoders crashed`)
  assert.equal(report.invalidAccepted, [], `seed ${s}: invalid input accepted`)
  assert.ok(report.accepted > 50 && report.accepted < report.inputs / 2, `accepted ${report.accepted}`)
  for (const t of list) assert.ok((report.perTarget[t.name] ?? 0) >= 1500, t.name)
})

test.run()
