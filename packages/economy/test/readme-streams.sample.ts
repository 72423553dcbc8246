import { generateIdentity } from '@tally/core'
import { boxKeyPair, createPublisher, createReader, openGrant, signGrant } from '@tally/economy/streams'

const sensor = generateIdentity(), secret = crypto.getRandomValues(new Uint8Array(32))
const publisher = createPublisher({ sensor, secret })              // the sensor: one key per period
const buyer = boxKeyPair()                                          // one X25519 key per subscription
const from = publisher.head                                         // where the buyer starts
const grant = await signGrant(sensor, { period: 0, recipient: buyer.publicKey, from, key: publisher.periodKey(0) })
const reader = createReader({ sensor: sensor.publicKey, from: { seq: grant.start, prev: grant.prev } })
reader.addKey(grant.period, openGrant(buyer, grant)!)              // only the buyer's secret opens it
const first = await publisher.publish(new TextEncoder().encode('{"pm25":12}'), 0)
const second = await publisher.publish(new TextEncoder().encode('{"pm25":14}'), 1)
console.log(reader.read(first.bytes).ok, first.bytes.length - 11)  // true 87 (bytes over the plaintext)
console.log(reader.read(second.bytes))                             // { ok: false, reason: 'no-key', seq: 2, period: 1 }
