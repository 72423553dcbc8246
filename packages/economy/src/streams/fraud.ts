/**
 * Fraud around data streams, each kind a proof that anyone verifies alone. The accused is the
 * owner whose `stream-listing` names the sensor (the owner is paid for the stream and answers
 * for it); the listing is the proof's one block, and the sensor's signed statements are its
 * attachments. Core's verifyFraudProof checks the listing's signature by the accused, then the
 * verifier below checks everything else, signatures included.
 *
 * - 'stream-fork': attachments [a, b], each a placed message `canonical CBOR [prev: bstr(32),
 *   message]` (message.ts), in byte order: two messages the listed sensor signed at one seq that
 *   differ (in content or in the chain they hang on). A reader that saw one can never read the
 *   other in its place; an honest sensor signs one message per seq.
 * - 'stream-bad-key': attachments [grant, secret, placed message]: a key grant the listed sensor
 *   signed (grant.ts), the recipient's X25519 secret (32 bytes: it must give the grant's
 *   recipient key), and a message the sensor signed in the grant's period, which the key in the
 *   grant does not open — or the grant does not open at all. The sensor sold a key that does not
 *   read its stream. The secret is revealed, so a subscriber uses one X25519 key per subscription
 *   (and the period's key, revealed too, is the cheater's loss).
 *
 * Why honest owners are never accused: an honest sensor signs each seq once (its position is
 * durable before a message leaves), and seals into each grant exactly periodKey(period), the key
 * every message of that period is encrypted with; nothing else its owner signs appears here.
 * Work per proof: two signature checks (one for a fork's second message), one X25519, two AEAD
 * opens, a few hashes.
 * @module
 */
import { compareBytes, createFraudProof, decodeCanonical, encodeCanonical, equalBytes, type CborValue, type FraudProof, type FraudVerifier, type HalfBlock } from '@tally/core'
import { isBytes } from '../util.js'
import { decodeGrant, encodeGrant, openGrant, verifyGrant, type KeyGrant } from './grant.js'
import { listingOf } from './listing.js'
import { MESSAGE_LIMITS, decryptMessage, messageFromValue, messageValue, verifyMessage, type StreamMessage } from './message.js'
import { boxPublicKey } from './seal.js'

/** The fraud kind of two messages signed at one position of a stream. */
export const STREAM_FORK_FRAUD = 'stream-fork'
/** The fraud kind of a sold key that does not read the stream. */
export const STREAM_BAD_KEY_FRAUD = 'stream-bad-key'

/** A message with the hash it chains to. */
export interface PlacedMessage {
  readonly prev: Uint8Array
  readonly message: StreamMessage
}

/**
 * Encode a placed message (a proof attachment).
 * @returns canonical CBOR [prev, message]
 * @example const attachment = encodePlaced({ prev, message })
 */
export function encodePlaced(placed: PlacedMessage): Uint8Array {
  return encodeCanonical([placed.prev, messageValue(placed.message)])
}

/**
 * Decode a placed message, or undefined when malformed (never throws).
 * @example const placed = decodePlaced(attachment)
 */
export function decodePlaced(bytes: Uint8Array): PlacedMessage | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length > MESSAGE_LIMITS.maxMessageBytes + 40) return undefined
  try {
    const v = decodeCanonical(bytes, { maxBytes: MESSAGE_LIMITS.maxMessageBytes + 40, maxDepth: 3 })
    if (!Array.isArray(v) || v.length !== 2 || !isBytes(v[0], 32)) return undefined
    return { prev: v[0], message: messageFromValue(v[1] as CborValue) }
  } catch {
    return undefined
  }
}

/**
 * A 'stream-fork' proof against the owner of `listing`.
 * @param listing the owner's listing block naming the sensor
 * @param a one message the sensor signed, with its prev
 * @param b another at the same seq
 * @returns the proof (verify it with verifyFraudProof and streamTypes()' verifiers)
 * @example const proof = streamForkProof(listingBlock, { prev: p1, message: m1 }, { prev: p2, message: m2 })
 */
export function streamForkProof(listing: HalfBlock, a: PlacedMessage, b: PlacedMessage): FraudProof {
  const pair = [encodePlaced(a), encodePlaced(b)].sort(compareBytes)
  return createFraudProof(STREAM_FORK_FRAUD, [listing], pair)
}

/**
 * A 'stream-bad-key' proof against the owner of `listing`.
 * @param listing the owner's listing block naming the sensor
 * @param grant the grant the sensor signed
 * @param secretKey the recipient's X25519 secret (revealed)
 * @param placed a message of the grant's period the sensor signed, with its prev
 * @example const proof = streamBadKeyProof(listingBlock, grant, keys.secretKey, result.placed)
 */
export function streamBadKeyProof(listing: HalfBlock, grant: KeyGrant, secretKey: Uint8Array, placed: PlacedMessage): FraudProof {
  return createFraudProof(STREAM_BAD_KEY_FRAUD, [listing], [encodeGrant(grant), Uint8Array.from(secretKey), encodePlaced(placed)])
}

/**
 * The stand-alone verifier of 'stream-fork'.
 * @returns undefined when the evidence proves fraud, else the reason it does not
 */
export const verifyStreamFork: FraudVerifier = (blocks, crypto, attachments = []) => {
  if (blocks.length !== 1) return 'stream-fork needs the listing alone as evidence'
  const listing = listingOf(blocks[0]!)
  if (listing === undefined) return 'the evidence is not a well-formed stream listing'
  if (attachments.length !== 2) return 'stream-fork needs two placed messages'
  const [x, y] = attachments as [Uint8Array, Uint8Array]
  if (!(x instanceof Uint8Array) || !(y instanceof Uint8Array) || compareBytes(x, y) >= 0) return 'the two messages must differ and be in byte order'
  const a = decodePlaced(x)
  const b = decodePlaced(y)
  if (a === undefined || b === undefined) return 'an attachment is not a placed message'
  if (a.message.seq !== b.message.seq) return 'the messages are at different positions'
  const ha = verifyMessage(listing.sensor, a.message, a.prev, crypto)
  if (ha === undefined) return 'the first message is not signed by the listed sensor'
  const hb = verifyMessage(listing.sensor, b.message, b.prev, crypto)
  if (hb === undefined) return 'the second message is not signed by the listed sensor'
  return equalBytes(ha, hb) ? 'the messages are the same' : undefined
}

/**
 * The stand-alone verifier of 'stream-bad-key'.
 * @returns undefined when the evidence proves fraud, else the reason it does not
 */
export const verifyStreamBadKey: FraudVerifier = (blocks, crypto, attachments = []) => {
  if (blocks.length !== 1) return 'stream-bad-key needs the listing alone as evidence'
  const listing = listingOf(blocks[0]!)
  if (listing === undefined) return 'the evidence is not a well-formed stream listing'
  if (attachments.length !== 3) return 'stream-bad-key needs a grant, the recipient\'s secret and a placed message'
  const [g, secret, m] = attachments as [Uint8Array, Uint8Array, Uint8Array]
  let grant: KeyGrant
  try {
    grant = decodeGrant(g)
  } catch {
    return 'the first attachment is not a grant'
  }
  if (!equalBytes(grant.sensor, listing.sensor)) return 'the grant is for another sensor'
  const recipient = boxPublicKey(secret)
  if (recipient === undefined || !equalBytes(recipient, grant.recipient)) return 'the secret is not the grant recipient\'s'
  const placed = decodePlaced(m)
  if (placed === undefined) return 'the third attachment is not a placed message'
  if (placed.message.period !== grant.period) return 'the message is of another period than the grant'
  if (!verifyGrant(grant, crypto)) return 'the grant is not signed by the listed sensor'
  if (verifyMessage(listing.sensor, placed.message, placed.prev, crypto) === undefined) return 'the message is not signed by the listed sensor'
  const key = openGrant({ secretKey: secret, publicKey: recipient }, grant)
  if (key === undefined) return undefined // a signed grant that does not open for its recipient
  return decryptMessage(listing.sensor, placed.message, placed.prev, key) === undefined ? undefined : 'the granted key reads the message'
}
