/**
 * The verification worker: checks Ed25519 signatures of encoded blocks for the VerifyPool.
 * Receives one packed buffer of blocks and their end offsets; answers one byte per block (1 = valid).
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads'
import { blockSignatureValid } from './block-signature.js'
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
    out[i] = blockSignatureValid(data.subarray(start, end), crypto) ? 1 : 0
    start = end
  }
  port.postMessage({ id, out }, [out.buffer])
})
