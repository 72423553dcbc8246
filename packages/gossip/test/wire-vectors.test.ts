/**
 * Golden vectors of the gossip wire (test/vectors/gossip-wire-v3.json, made by
 * test/vectors/gossip-wire.ts): the current code encodes every message to its frame byte for byte
 * and decodes every frame back to the message; the short proof announcements of version 3 are
 * 19 bytes, and a version 2 peer's whole-key ones still decode.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeBlock, encodeBlock, encodeCanonical, fromHex, toHex } from '@tally/core'
import { ACCUSED_ID_BYTES, PROTOCOL_VERSION, SUPPORTED_VERSIONS, decodeMessage, encodeMessage, type SessionMessage } from '@tally/gossip'

interface Vector {
  name: string
  versions: number[]
  message: Record<string, unknown>
  frame: string
}
const file = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', '..', 'test', 'vectors', 'gossip-wire-v3.json'), 'utf8')) as {
  version: number
  supportedVersions: number[]
  accusedIdBytes: number
  messages: Vector[]
}

/** The message of a vector, bytes and blocks decoded from hex. */
function messageOf(v: Vector): SessionMessage {
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v.message)) {
    if (k === 'blocks') out[k] = (x as string[]).map((h) => decodeBlock(fromHex(h)))
    else if (k === 'ids') out[k] = (x as string[]).map(fromHex)
    else if (k === 'publicKey' || k === 'to') out[k] = fromHex(x as string)
    else out[k] = x
  }
  return out as unknown as SessionMessage
}

/** A message as the vectors write it. */
function jsonOf(m: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(m).map(([k, x]) => [k, x instanceof Uint8Array ? toHex(x) : Array.isArray(x) ? x.map((y) => (y instanceof Uint8Array ? toHex(y) : toHex(encodeBlock(y)))) : x]),
  )
}

const Wire = suite('gossip wire vectors (version 3)')

Wire('the file is of this code: its version, its versions, its id length', () => {
  assert.is(file.version, PROTOCOL_VERSION)
  assert.equal(file.supportedVersions, [...SUPPORTED_VERSIONS])
  assert.is(file.accusedIdBytes, ACCUSED_ID_BYTES)
  assert.ok(file.messages.length >= 9)
})

Wire('every message encodes to its frame, byte for byte', () => {
  for (const v of file.messages) assert.is(toHex(encodeMessage(messageOf(v))), v.frame, v.name)
})

Wire('every frame decodes to its message', () => {
  for (const v of file.messages) {
    const r = decodeMessage(fromHex(v.frame))
    assert.ok(r.ok, v.name)
    if (r.ok) assert.equal(jsonOf(r.message as unknown as Record<string, unknown>), v.message, v.name)
  }
})

Wire('a fraud-have or fraud-want by id is 19 bytes, by key 36; other lengths are refused', () => {
  const by = (name: string): Vector => file.messages.find((m) => m.name === name)!
  assert.is(fromHex(by('fraud-have by id').frame).length, 19)
  assert.is(fromHex(by('fraud-want by id').frame).length, 19)
  assert.is(fromHex(by('fraud-have by key').frame).length, 36)
  for (const length of [8, 15, 17, 31, 33]) {
    const fixed = encodeCanonical([8, new Uint8Array(length).fill(0xab)])
    const r = decodeMessage(fixed)
    assert.not.ok(r.ok, `${length} bytes`)
    if (!r.ok) assert.is(r.error.reason, 'bad-field')
    assert.throws(() => encodeMessage({ type: 'fraud-have', publicKey: new Uint8Array(length) }), /publicKey/)
  }
})

Wire.run()
