// The data-stream market (@tally/economy/streams), in process, on one thread (= per core):
//
// - streams.publish_per_s: encrypt (XChaCha20-Poly1305) + chain (SHA-256) + sign (Ed25519) a
//   64-byte reading; ratio_to_sign = publish rate / bare signature rate of the same key and
//   provider, the two taking turns in 100 ms slices of one run (drift falls on both sides).
// - streams.read_per_s: decode + verify in place + decrypt; ratio_to_verify likewise against bare
//   Ed25519 verifications of the same messages' signed bytes.
// - streams.seal_open_per_s: a key delivery end to end: sign a grant (seal: X25519 ×2, HKDF,
//   AEAD; Ed25519), verify it and open it (X25519, HKDF, AEAD) — one per second counts both sides.
// - streams.overhead_bytes: encoded message size minus plaintext (64-byte readings; goal ≤ 110).
// - streams.listing_search_ms.100000: 100,000 listings spread over a 0.5° × 0.5° region (a city
//   and its surroundings), searched by a 1 km radius around random points, with and without a
//   kind; mean ms per search (grid index).
//
// Signatures use @tally/node's default provider (native Ed25519), as a node would.
// Run: node --import tsx bench/streams.ts   (or node bench/run.mjs streams)
// Knobs: BENCH_STREAMS_MS (default 2000, per rate pair), BENCH_STREAMS_LISTINGS (default 100000).
import { performance } from 'node:perf_hooks'
import { GENESIS_HASH, UNILATERAL_KEY, concatBytes, identityFromSeed, signBlock, type HalfBlock } from '@tally/core'
import { defaultCrypto } from '@tally/node'
import {
  STREAM_LISTING,
  boxKeyPair,
  createListingIndex,
  createPublisher,
  createReader,
  decodeMessage,
  listingPayload,
  messageHash,
  openGrant,
  periodKey,
  signGrant,
  streamTag,
  verifyGrant,
  type Published,
} from '@tally/economy/streams'
import { createRandom } from '@tally/gossip'
import { emit, knob, note } from './lib.ts'

const crypto = defaultCrypto()
const sliceMs = 100
const pairMs = knob('BENCH_STREAMS_MS', 2000)
const listings = knob('BENCH_STREAMS_LISTINGS', 100_000)
const sensor = identityFromSeed(new Uint8Array(32).fill(0x51), crypto)
const secret = new Uint8Array(32).fill(0x52)
const reading = new Uint8Array(64).map((_, i) => i)

/** Run activities in turns of `sliceMs` for `totalMs` in all; ops per second of each. */
function interleave(activities: (() => void)[], totalMs: number): number[] {
  const ops = activities.map(() => 0)
  const ms = activities.map(() => 0)
  // warm-up
  for (const a of activities) for (let i = 0; i < 200; i++) a()
  const end = performance.now() + totalMs
  while (performance.now() < end) {
    for (const [k, a] of activities.entries()) {
      const t0 = performance.now()
      let n = 0
      let t = t0
      while (t - t0 < sliceMs) {
        for (let i = 0; i < 16; i++) a()
        n += 16
        t = performance.now()
      }
      ops[k] += n
      ms[k] += t - t0
    }
  }
  return ops.map((n, k) => (n / ms[k]!) * 1000)
}

// ## publish vs bare signature
{
  note(`streams: publish vs sign, ${pairMs} ms`)
  let pub = createPublisher({ sensor, secret, crypto })
  let count = 0
  const signable = concatBytes(streamTag('message'), new Uint8Array(32).fill(1))
  const [publishRate, signRate] = interleave([
    () => {
      if (++count > 1_000_000) {
        pub = createPublisher({ sensor, secret, crypto })
        count = 0
      }
      pub.publish(reading, count >> 10)
    },
    () => void sensor.sign(signable),
  ], pairMs)
  emit('streams.publish_per_s', publishRate!, 'msgs/s', { plaintext_bytes: 64, sign_per_s: Math.round(signRate!), ratio_to_sign: Math.round((publishRate! / signRate!) * 1000) / 1000, provider: crypto.name, threads: 1 })
}

// ## read vs bare verification
{
  note(`streams: read vs verify, ${pairMs} ms`)
  const pub = createPublisher({ sensor, secret, crypto })
  const published: Published[] = []
  for (let i = 0; i < 20_000; i++) published.push(pub.publish(reading, i >> 10) as Published)
  const keys = Array.from({ length: 20 }, (_, p) => periodKey(secret, sensor.publicKey, p))
  const fresh = () => {
    const r = createReader({ sensor: sensor.publicKey, from: { seq: 1, prev: GENESIS_HASH }, crypto })
    keys.forEach((k, p) => r.addKey(p, k))
    return r
  }
  let reader = fresh()
  let at = 0
  let failures = 0
  let v = 0
  const signed = published.map((p) => concatBytes(streamTag('message'), messageHash(sensor.publicKey, p.message, p.prev, crypto)))
  const [readRate, verifyRate] = interleave([
    () => {
      if (at === published.length) {
        reader = fresh()
        at = 0
      }
      if (!reader.read(published[at++]!.bytes).ok) failures++
    },
    () => {
      const k = v++ % published.length
      if (!crypto.verify(published[k]!.message.signature, signed[k]!, sensor.publicKey)) failures++
    },
  ], pairMs)
  if (failures > 0) throw new Error(`${failures} reads or verifications failed`)
  emit('streams.read_per_s', readRate!, 'msgs/s', { plaintext_bytes: 64, verify_per_s: Math.round(verifyRate!), ratio_to_verify: Math.round((readRate! / verifyRate!) * 1000) / 1000, provider: crypto.name, threads: 1 })
  // ## overhead
  const sizes = [0, 16, 64, 256].map((n) => {
    const p = createPublisher({ sensor, secret, crypto, resume: { seq: 123_456, prev: GENESIS_HASH } }).publish(new Uint8Array(n), 5_000) as Published
    if (decodeMessage(p.bytes).box.length !== n + 16) throw new Error('box size')
    return p.bytes.length - n
  })
  emit('streams.overhead_bytes', sizes[2]!, 'bytes', { plaintext_bytes: 64, seq: 123_456, period: 5_000, by_plaintext: { 0: sizes[0], 16: sizes[1], 64: sizes[2], 256: sizes[3] }, goal: 110 })
}

// ## key delivery
{
  note('streams: seal + open')
  const buyer = boxKeyPair()
  const key = periodKey(secret, sensor.publicKey, 1)
  const from = { seq: 1, prev: GENESIS_HASH }
  let bad = 0
  const [rate] = interleave([
    () => {
      const grant = signGrant(sensor, { period: 1, recipient: buyer.publicKey, from, key })
      if (!verifyGrant(grant, crypto) || openGrant(buyer, grant) === undefined) bad++
    },
  ], Math.max(1000, pairMs / 2))
  if (bad > 0) throw new Error('a grant did not open')
  emit('streams.seal_open_per_s', rate!, 'grants/s', { includes: 'sign + seal, verify + open', provider: crypto.name, threads: 1 })
}

// ## listing search
{
  note(`streams: building ${listings} listings`)
  const owners = Array.from({ length: Math.ceil(listings / 5000) }, (_, i) => identityFromSeed(new Uint8Array(32).fill(0x60 + i), crypto))
  const random = createRandom(42)
  const kinds = ['air-quality', 'parking', 'noise', 'traffic', 'weather']
  const blocks: HalfBlock[] = []
  for (let i = 0; i < listings; i++) {
    const owner = owners[i % owners.length]!
    const seq = Math.floor(i / owners.length) + 1
    const sensorKey = new Uint8Array(32)
    new DataView(sensorKey.buffer).setUint32(0, i)
    const payload = listingPayload({ device: `s-${i}`, sensor: sensorKey, lat: 45_000_000 + Math.floor(random() * 500_000), lon: 7_500_000 + Math.floor(random() * 500_000), kind: kinds[i % 5]!, price: 1 + (i % 50), period: 3_600_000, start: 0, served: ['ws://10.0.0.1:7000/'] })
    blocks.push(signBlock({ publicKey: owner.publicKey, seq, linkPublicKey: UNILATERAL_KEY, linkSeq: 0, previousHash: GENESIS_HASH, type: STREAM_LISTING, payload, timestamp: seq }, owner, crypto))
  }
  const index = createListingIndex({ crypto, maxPerOwner: 10_000 })
  const t0 = performance.now()
  for (const b of blocks) if (index.add(b) !== 'added') throw new Error('a listing was not added')
  const addMs = performance.now() - t0
  let found = 0
  const queries = 400
  const t1 = performance.now()
  for (let q = 0; q < queries; q++) {
    const near = { lat: 45_000_000 + Math.floor(random() * 500_000), lon: 7_500_000 + Math.floor(random() * 500_000), meters: 1000 }
    found += index.search(q % 2 === 0 ? { near } : { near, kind: 'parking', maxPrice: 25 }).length
  }
  const searchMs = (performance.now() - t1) / queries
  emit(`streams.listing_search_ms.${listings}`, searchMs, 'ms', { query: '1 km radius (half with kind + max price)', mean_results: Math.round(found / queries), area: '0.5° × 0.5°', index: 'grid 0.01°', add_per_s: Math.round(listings / (addMs / 1000)), add_includes: 'signature check' })
}
