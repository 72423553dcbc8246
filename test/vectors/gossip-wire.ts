/**
 * Writes test/vectors/gossip-wire-v3.json: golden frames of @tally/gossip's session messages whose
 * layout depends on the protocol version — `ack` and the `ack` field of push, push-via and
 * neighbours (version 2), and `fraud-have` / `fraud-want` naming the accused by its whole key
 * (versions 1 and 2) or by its first ACCUSED_ID_BYTES (version 3). Deterministic (fixed seeds,
 * fixed timestamps, Ed25519 is deterministic): running it again must give the same file byte for
 * byte. packages/gossip/test/wire-vectors.test.ts checks that the current code encodes every
 * message to its frame and decodes every frame to its message; a change to these bytes is a
 * change of the format, i.e. a new version and a new file.
 *
 * Run from the repository root: node --import tsx test/vectors/gossip-wire.ts
 *
 * JSON conventions: byte strings are lowercase hex; a message's blocks are given by their
 * `encodeBlock` bytes (hex).
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { GENESIS_HASH, encodeBlock, identityFromSeed, signBlock, toHex } from '@tally/core'
import { ACCUSED_ID_BYTES, SUPPORTED_VERSIONS, encodeMessage, type SessionMessage } from '@tally/gossip'

const alice = identityFromSeed(new Uint8Array(32).fill(1))
const bob = identityFromSeed(new Uint8Array(32).fill(2))
const block = signBlock(
  { publicKey: alice.publicKey, seq: 1, linkPublicKey: bob.publicKey, linkSeq: 0, previousHash: GENESIS_HASH, type: 'tx', payload: 7, timestamp: 1_700_000_000_000 },
  alice,
)
const id8 = (key: Uint8Array): Uint8Array => key.subarray(0, 8)
const short = alice.publicKey.subarray(0, ACCUSED_ID_BYTES)

/** Each vector: a name, the versions it may travel on, the message and its frame. */
const cases: { name: string; versions: number[]; message: SessionMessage }[] = [
  { name: 'fraud-have by key', versions: [1, 2, 3], message: { type: 'fraud-have', publicKey: alice.publicKey } },
  { name: 'fraud-want by key', versions: [1, 2, 3], message: { type: 'fraud-want', publicKey: alice.publicKey } },
  { name: 'fraud-have by id', versions: [3], message: { type: 'fraud-have', publicKey: short } },
  { name: 'fraud-want by id', versions: [3], message: { type: 'fraud-want', publicKey: short } },
  { name: 'ack', versions: [2, 3], message: { type: 'ack', id: 1000 } },
  { name: 'push', versions: [1, 2, 3], message: { type: 'push', blocks: [block] } },
  { name: 'push asking for an ack', versions: [2, 3], message: { type: 'push', blocks: [block], ack: 1000 } },
  { name: 'push-via asking for an ack', versions: [2, 3], message: { type: 'push-via', to: id8(bob.publicKey), blocks: [block], ack: 1 } },
  { name: 'neighbours asking for an ack', versions: [2, 3], message: { type: 'neighbours', ids: [id8(alice.publicKey), id8(bob.publicKey)], ack: 70000 } },
]

const json = (m: SessionMessage): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(m).map(([k, v]) => [k, v instanceof Uint8Array ? toHex(v) : Array.isArray(v) ? v.map((x) => (x instanceof Uint8Array ? toHex(x) : toHex(encodeBlock(x)))) : v]),
  )

const out = {
  format: 'tally-gossip-wire',
  version: 3,
  generator: 'test/vectors/gossip-wire.ts',
  supportedVersions: SUPPORTED_VERSIONS,
  accusedIdBytes: ACCUSED_ID_BYTES,
  conventions: 'bytes as lowercase hex; blocks (push, push-via) as their encodeBlock bytes; ids of a neighbour list as hex',
  messages: cases.map((c) => ({ name: c.name, versions: c.versions, message: json(c.message), frame: toHex(encodeMessage(c.message)) })),
}
const path = join(import.meta.dirname, 'gossip-wire-v3.json')
writeFileSync(path, JSON.stringify(out, null, 2) + '\n')
process.stdout.write(`wrote ${path}: ${out.messages.length} frames\n`)
