/**
 * The tagged SHA-256 hashers (tagged-sha256.ts: libsodium's when sodium-native loads, else
 * @noble/hashes'; tagged-sha256.browser.ts: @noble/hashes') give SHA-256(prefix ‖ data), checked
 * against @noble/hashes' one-shot digest, for every data length and both Merkle tags, at any offset
 * of the input and the output, and with one hasher reused for many messages.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { sha256 } from '@noble/hashes/sha2.js'
import { concatBytes } from '@noble/hashes/utils.js'
import { nobleTaggedSha256, taggedSha256, tagPrefix } from '../src/tagged-sha256.js'
import { taggedSha256 as browserTaggedSha256 } from '../src/tagged-sha256.browser.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const hashers = { node: taggedSha256, noble: nobleTaggedSha256, browser: browserTaggedSha256 }

test('sodium-native loads here, so Node hashes on libsodium (the fast path this test checks)', () => {
  assert.ok(createRequire(import.meta.url)('sodium-native'), 'sodium-native is installed in this repository')
})

test('every hasher equals SHA-256(prefix ‖ data) for every length 0..119, at any offset', () => {
  for (const tag of ['merkle-leaf', 'merkle-node'] as const) {
    for (let length = 0; length <= 119; length++) {
      const made = Object.entries(hashers).map(([name, make]) => [name, make(tag, length)] as const)
      for (const at of [0, 3]) {
        for (let round = 0; round < 2; round++) {
          const data = randomBytes(at + length + 5)
          const expected = hex(sha256(concatBytes(tagPrefix(tag), data.subarray(at, at + length))))
          for (const [name, hasher] of made) {
            const out = new Uint8Array(40)
            hasher.hashInto(data, at, out, 7)
            assert.equal(hex(out.subarray(7, 39)), expected, `${name}: ${tag}, ${length} bytes at ${at}, round ${round}`)
            assert.ok(out.subarray(0, 7).every((x) => x === 0) && out[39] === 0, `${name} wrote only its 32 bytes`)
          }
        }
      }
    }
  }
})

test('every hasher refuses a length outside 0..119', () => {
  for (const [name, make] of Object.entries(hashers)) {
    for (const length of [-1, 120, 1.5]) assert.throws(() => make('merkle-leaf', length), RangeError, `${name}: ${length}`)
  }
})

test.run()
