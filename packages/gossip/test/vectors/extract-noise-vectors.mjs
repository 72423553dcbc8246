#!/usr/bin/env node
// Makes noise-xx.json: the Noise_XX_25519_ChaChaPoly_SHA256 test vectors of flynn/noise (a Go
// implementation of Noise, vectors.txt; Debian ships it in golang-github-flynn-noise-dev, at
// /usr/share/gocode/src/github.com/flynn/noise/vectors.txt). Each distinct vector once, in the file's
// order: its keys, prologue, and messages (payload, ciphertext), the first three being the handshake
// (initiator, responder, initiator) and the rest transport messages, alternating from the initiator
// (sealed with Split's first CipherState, then its second: flynn/noise's vector_test.go).
//
//   node packages/gossip/test/vectors/extract-noise-vectors.mjs <path to vectors.txt>
import { readFileSync, writeFileSync } from 'node:fs'

const source = process.argv[2]
if (source === undefined) throw new Error('usage: extract-noise-vectors.mjs <path to flynn/noise vectors.txt>')
const entries = readFileSync(source, 'utf8').split(/\n\s*\n/).map((block) => Object.fromEntries(block.trim().split('\n').map((line) => line.split('='))))
const seen = new Set()
const vectors = []
for (const e of entries) {
  if (e.handshake !== 'Noise_XX_25519_ChaChaPoly_SHA256') continue
  const key = JSON.stringify(e)
  if (seen.has(key)) continue
  seen.add(key)
  const messages = []
  for (let i = 0; `msg_${i}_ciphertext` in e; i++) messages.push({ payload: e[`msg_${i}_payload`], ciphertext: e[`msg_${i}_ciphertext`] })
  vectors.push({
    protocol: e.handshake,
    initStatic: e.init_static,
    respStatic: e.resp_static,
    initEphemeral: e.gen_init_ephemeral,
    respEphemeral: e.gen_resp_ephemeral,
    prologue: e.prologue ?? '',
    messages,
  })
}
const out = { source: 'flynn/noise vectors.txt (github.com/flynn/noise), Noise_XX_25519_ChaChaPoly_SHA256 entries', vectors }
writeFileSync(new URL('./noise-xx.json', import.meta.url), JSON.stringify(out, null, 2) + '\n')
console.log(`${vectors.length} vectors`)
