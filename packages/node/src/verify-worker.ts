/**
 * The verification worker of the VerifyPool. Takes items from the pool's shared ring (layout in
 * verify-ring.ts) as long as any wait, answers each in the ring, and sleeps in `Atomics.wait`
 * when none do. It posts a message (no payload) only to wake the pool's thread, when that thread
 * sleeps until an item this worker just answered. A block comes as the signature over its hash,
 * which the pool's thread has computed.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads'
import { cryptoProviders } from './crypto.js'
import { CLOSED, MAX_CLAIM, PUBLISHED, RingVerifier, claim, ringOf, sleep } from './verify-ring.js'

const { crypto: name, shared, sharers } = workerData as { crypto: string; shared: SharedArrayBuffer; sharers: number }
const crypto = cryptoProviders().find((p) => p.name === name)
if (crypto === undefined) throw new Error(`crypto provider "${name}" is not available in this worker`)
const port = parentPort
if (port === null) throw new Error('verify-worker.js must run as a worker thread')

const ring = ringOf(shared)
const verifier = new RingVerifier(ring, crypto)

// after this module has loaded: the loop never returns while the pool is open
setImmediate(() => {
  const { ctrl } = ring
  while (Atomics.load(ctrl, CLOSED) === 0) {
    const published = Atomics.load(ctrl, PUBLISHED)
    const { first, count } = claim(ring, MAX_CLAIM, sharers)
    if (count === 0) {
      sleep(ring, published)
      continue
    }
    for (let i = 0; i < count; i++) if (verifier.verify((first + i) | 0)) port.postMessage(0)
  }
})
