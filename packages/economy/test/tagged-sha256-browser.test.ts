/**
 * The browser's tagged SHA-256 (tagged-sha256.browser.ts, @noble/hashes from the state after the
 * prefix) gives the same digests as Node's specialised one (tagged-sha256.ts), for every data
 * length and both Merkle tags, at any offset of the input and the output.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { taggedSha256 } from '../src/tagged-sha256.js'
import { taggedSha256 as browserTaggedSha256 } from '../src/tagged-sha256.browser.js'

test('the browser tagged SHA-256 equals the specialised one for every length 0..119', () => {
  for (const tag of ['merkle-leaf', 'merkle-node'] as const) {
    for (let length = 0; length <= 119; length++) {
      const fast = taggedSha256(tag, length)
      const page = browserTaggedSha256(tag, length)
      for (const at of [0, 3]) {
        const data = randomBytes(at + length + 5)
        const a = new Uint8Array(40)
        const b = new Uint8Array(40)
        fast.hashInto(data, at, a, 7)
        page.hashInto(data, at, b, 7)
        assert.equal(Buffer.from(b).toString('hex'), Buffer.from(a).toString('hex'), `${tag}, ${length} bytes at ${at}`)
        assert.ok(b.subarray(7, 39).some((x) => x !== 0), 'a digest was written')
      }
    }
  }
})

test('the browser tagged SHA-256 refuses the lengths the specialised one refuses', () => {
  for (const length of [-1, 120, 1.5]) assert.throws(() => browserTaggedSha256('merkle-leaf', length), RangeError)
})

test.run()
