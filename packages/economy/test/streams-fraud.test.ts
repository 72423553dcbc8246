/**
 * Stream fraud: 'stream-fork' (two messages the listed sensor signed at one seq) and
 * 'stream-bad-key' (a grant whose key does not read the sensor's own message of that period)
 * verify alone, against the listing's owner; forged evidence never verifies; and no honest
 * schedule — any publishes, any grants, any resumes from a durable head — yields either proof
 * (fast-check, every candidate pair tried).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { GENESIS_HASH, UNILATERAL_KEY, createBlockTypes, createFraudProof, decodeFraudProof, encodeFraudProof, signBlock, verifyFraudProof, type HalfBlock, type SeedIdentity } from '@tally/core'
import {
  STREAM_BAD_KEY_FRAUD,
  STREAM_FORK_FRAUD,
  STREAM_LISTING,
  boxKeyPair,
  createPublisher,
  createReader,
  openGrant,
  encodeGrant,
  encodePlaced,
  grantMessage,
  listingPayload,
  periodKey,
  signGrant,
  streamBadKeyProof,
  streamForkProof,
  streamTypes,
  type KeyGrant,
  type PlacedMessage,
  type Published,
} from '@tally/economy/streams'
import { id } from './helpers.ts'

const verifiers = createBlockTypes(streamTypes()).fraudVerifiers()
const verify = (p: Parameters<typeof verifyFraudProof>[0]) => verifyFraudProof(p, { verifiers })
const owner = id(320)
const sensor = id(321)
const secret = new Uint8Array(32).fill(3)

function listingOf(who: SeedIdentity, sensorKey: Uint8Array): HalfBlock {
  const payload = listingPayload({ device: 'noise-7', sensor: sensorKey, lat: 45_000_000, lon: 7_600_000, kind: 'noise', price: 5, period: 60_000, start: 0, served: ['ws://127.0.0.1:9/'] })
  return signBlock({ publicKey: who.publicKey, seq: 1, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: GENESIS_HASH, type: STREAM_LISTING, payload, timestamp: 1 }, who)
}
const listing = listingOf(owner, sensor.publicKey)
const placed = (p: Published): PlacedMessage => ({ prev: p.prev, message: p.message })

const Fraud = suite('streams: fraud proofs')

Fraud('a sensor that signs two messages at one seq is caught: stream-fork against its owner', async () => {
  const pub = createPublisher({ sensor, secret })
  const first = [await pub.publish(new Uint8Array([1]), 0), await pub.publish(new Uint8Array([2]), 0)]
  // a restored backup publishes from an old head: seq 2 again, with other content
  const again = await createPublisher({ sensor, secret, resume: { seq: 2, prev: first[0]!.hash } }).publish(new Uint8Array([9]), 0)
  const proof = streamForkProof(listing, placed(first[1]!), placed(again))
  assert.equal(verify(proof), { ok: true })
  assert.equal(verify(decodeFraudProof(encodeFraudProof(proof))), { ok: true })
  assert.equal(proof.publicKey, owner.publicKey)
  // the same seq on another chain (another prev) is a fork too
  const other = await createPublisher({ sensor, secret, resume: { seq: 2, prev: new Uint8Array(32).fill(5) } }).publish(new Uint8Array([2]), 0)
  assert.equal(verify(streamForkProof(listing, placed(first[1]!), placed(other))), { ok: true })
  // not a fork: the same message twice, two seqs, out of byte order, an unsigned message, another sensor's listing
  assert.not.ok(verify(createFraudProof(STREAM_FORK_FRAUD, [listing], [encodePlaced(placed(first[1]!)), encodePlaced(placed(first[1]!))])).ok)
  assert.not.ok(verify(streamForkProof(listing, placed(first[0]!), placed(first[1]!))).ok)
  const pair = [encodePlaced(placed(first[1]!)), encodePlaced(placed(again))].sort(Buffer.compare)
  assert.not.ok(verify(createFraudProof(STREAM_FORK_FRAUD, [listing], [pair[1]!, pair[0]!])).ok)
  const forged = { ...again.message, signature: first[1]!.message.signature }
  assert.not.ok(verify(streamForkProof(listing, placed(first[1]!), { prev: again.prev, message: forged })).ok)
  assert.not.ok(verify(streamForkProof(listingOf(owner, id(322).publicKey), placed(first[1]!), placed(again))).ok)
  // an honest owner cannot be framed with another owner's listing of the sensor: the block must be signed by the accused
  const framed = { ...streamForkProof(listingOf(id(323), sensor.publicKey), placed(first[1]!), placed(again)), publicKey: owner.publicKey }
  assert.not.ok(verify(framed).ok)
})

Fraud('a sensor that sells a key that does not read its stream is caught: stream-bad-key', async () => {
  const pub = createPublisher({ sensor, secret })
  const m = await pub.publish(new Uint8Array([1, 2, 3]), 4)
  const buyer = boxKeyPair()
  // the cheat: period 3's key sold as period 4's
  const bad = signGrant(sensor, { period: 4, recipient: buyer.publicKey, from: { seq: 1, prev: new Uint8Array(32) }, key: periodKey(secret, sensor.publicKey, 3) })
  const proof = streamBadKeyProof(listing, bad, buyer.secretKey, placed(m))
  assert.equal(verify(proof), { ok: true })
  assert.equal(verify(decodeFraudProof(encodeFraudProof(proof))), { ok: true })
  // the honest grant reads it: no proof
  const good = signGrant(sensor, { period: 4, recipient: buyer.publicKey, from: { seq: 1, prev: new Uint8Array(32) }, key: periodKey(secret, sensor.publicKey, 4) })
  assert.equal(verify(streamBadKeyProof(listing, good, buyer.secretKey, placed(m))), { ok: false, reason: 'the granted key reads the message' })
  // another secret than the recipient's, another period's message, a grant not signed by the sensor
  assert.not.ok(verify(streamBadKeyProof(listing, bad, boxKeyPair().secretKey, placed(m))).ok)
  const m5 = await pub.publish(new Uint8Array([4]), 5)
  assert.not.ok(verify(streamBadKeyProof(listing, bad, buyer.secretKey, placed(m5))).ok)
  const unsigned: KeyGrant = { ...bad, signature: new Uint8Array(64) }
  assert.not.ok(verify(streamBadKeyProof(listing, unsigned, buyer.secretKey, placed(m))).ok)
  const byOther = signGrant(id(324), { period: 4, recipient: buyer.publicKey, from: { seq: 1, prev: new Uint8Array(32) }, key: new Uint8Array(32) })
  assert.not.ok(verify(streamBadKeyProof(listing, { ...byOther, sensor: sensor.publicKey }, buyer.secretKey, placed(m))).ok)
  // a grant whose box does not open at all, signed by the sensor, is the same fraud
  const garbage = signGrant(sensor, { period: 4, recipient: boxKeyPair().publicKey, from: { seq: 1, prev: new Uint8Array(32) }, key: new Uint8Array(32) })
  const relabelled = signGrantRaw({ ...garbage, recipient: buyer.publicKey })
  assert.equal(verify(streamBadKeyProof(listing, relabelled, buyer.secretKey, placed(m))), { ok: true })
  assert.ok(encodeGrant(bad).length <= 320)
})

Fraud('no honest schedule yields a stream proof (every candidate pair and grant tried)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ size: fc.integer({ min: 0, max: 40 }), step: fc.integer({ min: 0, max: 2 }) }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.record({ period: fc.integer({ min: 0, max: 30 }), at: fc.nat() }), { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 0, max: 11 }),
      async (steps, grants, crashAt) => {
        // an honest sensor: durable head, so a restart resumes exactly where it stood
        let pub = createPublisher({ sensor, secret })
        let period = 0
        const published: Published[] = []
        for (const [i, s] of steps.entries()) {
          if (i === crashAt) pub = createPublisher({ sensor, secret, resume: { ...pub.head, period } })
          period += s.step
          published.push(await pub.publish(new Uint8Array(s.size).fill(i), period))
        }
        const buyer = boxKeyPair(new Uint8Array(32).fill(1 + (steps.length % 200)))
        const issued = grants.map((g) => signGrant(sensor, { period: g.period, recipient: buyer.publicKey, from: pub.head, key: pub.periodKey(g.period) }))
        for (let a = 0; a < published.length; a++) {
          for (let b = a + 1; b < published.length; b++) {
            if (verify(streamForkProof(listing, placed(published[a]!), placed(published[b]!))).ok) return false
          }
          for (const g of issued) if (verify(streamBadKeyProof(listing, g, buyer.secretKey, placed(published[a]!))).ok) return false
        }
        return true
      },
    ),
    { numRuns: 40 },
  )
})

Fraud('a reader that cannot open a paid message has the evidence at hand: the proof verifies', async () => {
  const pub = createPublisher({ sensor, secret })
  const buyer = boxKeyPair()
  // the cheat: the grant carries another period's key
  const grant = signGrant(sensor, { period: 0, recipient: buyer.publicKey, from: pub.head, key: periodKey(secret, sensor.publicKey, 7) })
  const reader = createReader({ sensor: sensor.publicKey, from: { seq: grant.start, prev: grant.prev } })
  reader.addKey(grant.period, openGrant(buyer, grant)!)
  const r = reader.read((await pub.publish(new Uint8Array([42]), 0)).bytes)
  assert.is(!r.ok && r.reason, 'undecryptable')
  if (r.ok || r.placed === undefined) throw new Error('no evidence')
  assert.equal(verify(streamBadKeyProof(listing, grant, buyer.secretKey, r.placed)), { ok: true })
})

Fraud.run()

/** Sign a grant's fields as they are (a cheating sensor's grant whose box is for someone else). */
function signGrantRaw(g: Omit<KeyGrant, 'signature'>): KeyGrant {
  return { ...g, signature: sensor.sign(grantMessage(g)) }
}
