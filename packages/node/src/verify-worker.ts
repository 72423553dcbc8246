/**
 * The verification worker of the VerifyPool. Receives one packed buffer of items and their end
 * offsets (layout in verify-pool.ts: publicKey (32) ‖ signature (64) ‖ message, an empty item
 * answering 0) and answers one byte per item (1 = valid). A block comes as the signature over its
 * hash, which the pool's thread has computed.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads'
import { cryptoProviders } from './crypto.js'

interface Job {
  id: number
  data: Uint8Array
  ends: Uint32Array
}

const name = (workerData as { crypto: string }).crypto
const crypto = cryptoProviders().find((p) => p.name === name)
if (crypto === undefined) throw new Error(`crypto provider "${name}" is not available in this worker`)
const port = parentPort
if (port === null) throw new Error('verify-worker.js must run as a worker thread')

port.on('message', ({ id, data, ends }: Job) => {
  const out = new Uint8Array(ends.length)
  let start = 0
  for (let i = 0; i < ends.length; i++) {
    const end = ends[i]!
    const item = data.subarray(start, end)
    out[i] = item.length >= 96 && crypto.verify(item.subarray(32, 96), item.subarray(96), item.subarray(0, 32)) ? 1 : 0
    start = end
  }
  port.postMessage({ id, out }, [out.buffer])
})
