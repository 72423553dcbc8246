// The worker of worker-verifier.ts: checks Ed25519 signatures with core's portable provider.
// Plain JavaScript, so it runs in a worker thread without a TypeScript loader.
import { parentPort } from 'node:worker_threads'
import { nobleCrypto } from '@tally/core'

parentPort.on('message', ({ id, items }) => {
  parentPort.postMessage({ id, ok: items.map(([message, signature, publicKey]) => nobleCrypto.verify(signature, message, publicKey)) })
})
