/**
 * The verification worker of the VerifyPool. Receives one packed buffer of items and their end
 * offsets (layouts in verify-pool.ts) and answers one byte per item (1 = valid):
 *
 * - kind 'blocks' (or none): encoded half-blocks, each checked against its owner's key;
 * - kind 'signatures': publicKey (32) ‖ signature (64) ‖ message, an empty item answering 0.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { CryptoProvider } from '@tally/core'
import { blockSignatureValid } from './block-signature.js'
import { cryptoProviders } from './crypto.js'

interface Job {
  id: number
  kind?: 'blocks' | 'signatures'
  data: Uint8Array
  ends: Uint32Array
}

const name = (workerData as { crypto: string }).crypto
const crypto = cryptoProviders().find((p) => p.name === name)
if (crypto === undefined) throw new Error(`crypto provider "${name}" is not available in this worker`)
const port = parentPort
if (port === null) throw new Error('verify-worker.js must run as a worker thread')

port.on('message', ({ id, kind, data, ends }: Job) => {
  const check = kind === 'signatures' ? signatureValid : blockSignatureValid
  const out = new Uint8Array(ends.length)
  let start = 0
  for (let i = 0; i < ends.length; i++) {
    const end = ends[i]!
    out[i] = check(data.subarray(start, end), crypto) ? 1 : 0
    start = end
  }
  port.postMessage({ id, out }, [out.buffer])
})

/** One packed item: publicKey (32) ‖ signature (64) ‖ message. */
function signatureValid(item: Uint8Array, provider: CryptoProvider): boolean {
  return item.length >= 96 && provider.verify(item.subarray(32, 96), item.subarray(96), item.subarray(0, 32))
}
