/**
 * The wire messages of Tally's gossip protocol, and their codec.
 *
 * Every message is one frame: a canonical CBOR array whose first element is the message's type
 * code, followed by its fields in a fixed order (no map keys on the wire: a head announcement is
 * ~80 bytes). Blocks travel as byte strings holding `encodeBlock` bytes, fraud proofs as
 * `encodeFraudProof` bytes, so every signed object keeps its own canonical encoding and hash.
 *
 *   frame = canonical CBOR array [code: uint, field1, field2, ...]
 *
 * | code | type           | fields after the code                                          |
 * |------|----------------|----------------------------------------------------------------|
 * |  1   | hello          | versions: [uint], publicKey: bstr32, challenge: bstr32,        |
 * |      |                | noise: bstr32 (Noise XX message 1: e)                          |
 * |  2   | welcome        | versions: [uint], version: uint, publicKey: bstr32,            |
 * |      |                | challenge: bstr32, signature: bstr64,                          |
 * |      |                | noise: bstr96 (message 2: e, ee, s, es; an empty payload)      |
 * |  3   | auth           | signature: bstr64, noise: bstr64 (message 3: s, se; empty)     |
 * |  4   | error          | requestId: uint (0 = none), code: uint, reason: tstr           |
 * |  5   | app            | id: int (0 one-way, n > 0 request n, -n reply to request n),   |
 * |      |                |   protocol: tstr, kind: tstr, body: bstr (canonical CBOR)      |
 * |  6   | ack            | id: uint ≥ 1 (the `ack` of a push, push-via or neighbours) (v2) |
 * |  8   | fraud-have     | publicKey: bstr32 (the accused), or bstr16 (its first 16 bytes) (v3) |
 * |  9   | fraud-want     | publicKey: bstr32 (the accused), or bstr16 (its first 16 bytes) (v3) |
 * | 10   | proposal       | requestId: uint ≥ 1, block: bstr, context: [bstr]              |
 * | 11   | agreement      | requestId: uint (0 = unsolicited), block: bstr                 |
 * | 12   | push           | blocks: [bstr] (1..maxPushBlocks), ack?: uint ≥ 1 (v2)         |
 * | 13   | heads          | requestId (0 = announcement), heads: [[publicKey: bstr32, seq: uint, |
 * |      |                |   hash: bstr32]] (1..maxHeads; 0..maxHeads in a reply)         |
 * | 14   | crawl-request  | requestId ≥ 1, publicKey: bstr32, start: int ≠ 0, end: int ≠ 0 |
 * | 15   | crawl-answer   | requestId ≥ 1, publicKey: bstr32, latest: uint, blocks: [bstr] |
 * | 16   | fraud          | proof: bstr                                                    |
 * | 17   | witness-query  | requestId ≥ 1, publicKey: bstr32, seq: uint ≥ 1                |
 * | 18   | witness-answer | requestId ≥ 1, publicKey: bstr32, seq: uint ≥ 1, block: bstr / null |
 * | 19   | peers-request  | requestId ≥ 1, max: uint (1..maxPeers)                         |
 * | 20   | peers          | requestId (0 = unsolicited), peers: [[publicKey: bstr32, address: tstr]] |
 * | 21   | heads-request  | requestId ≥ 1, publicKeys: [bstr32] (1..maxHeads)              |
 * | 22   | neighbours     | ids: [bstr8] (0..maxNeighbourIds; first 8 bytes of each key),  |
 * |      |                |   ack?: uint ≥ 1 (v2)                                          |
 * | 23   | push-via       | to: bstr8, blocks: [bstr] (1..maxPushBlocks), ack?: uint ≥ 1 (v2) |
 *
 * |  7   | relay          | to: bstr32, data: bstr (0..maxFrameBytes), reason: tstr        |
 * | 24   | relayed        | from: bstr32, data: bstr (0..maxFrameBytes), reason: tstr      |
 *
 * Type codes below 24 are one byte on the wire (peekMessageType reads it there); every one is
 * taken, so `relayed` is 24, two bytes (0x18 0x18), which peekMessageType reads too.
 *
 * `relay` and `relayed` carry a tunnel through a relay (node/relay.ts): a node asks its relay to
 * pass `data` (one frame of an end-to-end session, sealed by that session's own Noise ciphers) to
 * the relay's peer `to`; the relay hands it over as `relayed` naming who sent it. Empty `data`
 * closes the tunnel, and `reason` says why (a refusal code of the relay, or 'closed'); `reason`
 * is empty on a frame that carries data.
 *
 * `app` carries the messages of every application protocol a node hosts (core's `Protocol`, see
 * node/protocol-host.ts): one code for all of them, the protocol and kind named in the frame. Its
 * body is a byte string holding the canonical CBOR of the kind's value, so the host can check its
 * size against the kind's own limit before decoding it, as blocks are nested. Its id is signed,
 * because the one type both asks and answers: 0 is a one-way message, n > 0 the request n, -n
 * the reply to request n (a refusal is an `error` with requestId n, as for any request). Protocol
 * and kind names are 1..64 characters; a protocol name is lowercase `a-z0-9` and `/._-`, a kind
 * name may use upper case too.
 *
 * The handshake's three messages travel as they are; every frame after them is sealed by the
 * session's Noise ciphers (wire/noise.ts): the frame above, encrypted, followed by a 16-byte tag.
 *
 * Version 2 adds `ack` and the optional last field `ack` of push, push-via and neighbours: a sender that wants to know the frame arrived puts an id there,
 * and the receiver answers `[6, id]` (node/resend.ts: lost frames are sent again). An absent
 * field is the version 1 layout, so a frame without it is what a version 1 peer sends and reads;
 * an id of 0 is not encoded (absent means none), so every frame still has one encoding. Send the
 * field and `ack` only on sessions of version 2 or more: a version 1 peer refuses both.
 *
 * Version 3 lets `fraud-have` and `fraud-want` name the accused by the first ACCUSED_ID_BYTES (16)
 * bytes of its key instead of the whole key: 19 bytes a frame instead of 36. They are most of what a
 * fork costs every peer besides the proof itself (each holder announces to `fraudFanout`
 * neighbours), so the 17 bytes saved on each are ~1 KB/s per peer at 10,000 peers and ~7 forks per
 * second (node/fraud-relay.ts). 16 bytes: two keys that share them take ~2^64 key generations to
 * find, and only hurt their own owner (a node holding a proof against one takes an announcement of
 * the other for one it holds; pulls still hand the proof over). Send the short form only on
 * sessions of version 3 or more: a version 2 peer refuses it. The decoder takes both lengths.
 *
 * Request ids are uints below 2^32 chosen by the requester; a reply (agreement, crawl-answer,
 * witness-answer, peers, heads, error) carries the id of the request it answers. Each side numbers its own
 * requests, and request and reply types never overlap, so the two id spaces cannot collide.
 *
 * `decodeMessage` never throws: it returns the message or a MessageDecodeError (a core DecodeError,
 * code ERR_DECODE) with a `reason` saying what was wrong, after checking every field (types,
 * lengths, ranges, list sizes against the Limits, embedded blocks and proofs decoded in full).
 * @module
 */
import {
  BLOCK_LIMITS,
  DecodeError,
  abytes,
  cborUintSize,
  decodeBlock,
  decodeCanonical,
  decodeFraudProof,
  encodeBlock,
  encodeCanonical,
  encodeFraudProof,
  equalBytes,
  isAgreement,
  isProposal,
  writeCborHead,
  type CborValue,
  type FraudProof,
  type HalfBlock,
} from '@tally/core'
import { DEFAULT_LIMITS, resolveLimits, type Limits } from './limits.js'
import { KEY_BYTES, TAG_BYTES } from './noise.js'

// ## Message types

/** Why a peer's request was refused or failed; travels as a small uint. */
export type ErrorCode =
  | 'refused'
  | 'bad-request'
  | 'rate-limited'
  | 'busy'
  | 'not-found'
  | 'version'
  | 'handshake'
  | 'too-large'
  | 'timeout'
  | 'internal'

/** The latest block a peer knows of one chain. */
export interface Head {
  readonly publicKey: Uint8Array
  readonly seq: number
  readonly hash: Uint8Array
}

/** A peer and where to reach it, for peer exchange. */
export interface PeerInfo {
  readonly publicKey: Uint8Array
  readonly address: string
}

/**
 * A message of an application protocol hosted by the node (core's `Protocol`): a one-way message
 * (requestId 0), a request (requestId n ≥ 1) or the reply to request n (`reply`: true, requestId n).
 * On the wire the two are one signed id: n, or -n for the reply.
 */
export interface AppMessage {
  readonly type: 'app'
  readonly requestId: number
  /** True when this answers the request `requestId`. */
  readonly reply: boolean
  /** The protocol's name (`tally/economy/reports/1`). */
  readonly protocol: string
  /** The message kind, one of the protocol's. */
  readonly kind: string
  /** The kind's value as canonical CBOR (checked and decoded by the host, not here). */
  readonly body: Uint8Array
}

/** Handshake step 1, initiator → responder: offered versions, claimed key, fresh challenge, Noise's first message. */
export interface HelloMessage {
  readonly type: 'hello'
  /** Supported protocol versions, strictly decreasing. */
  readonly versions: readonly number[]
  readonly publicKey: Uint8Array
  readonly challenge: Uint8Array
  /** Noise XX message 1 (the initiator's ephemeral key): NOISE_HELLO_BYTES. */
  readonly noise: Uint8Array
}

/** Handshake step 2, responder → initiator: its versions, the chosen one, key, challenge, signature, Noise's second message. */
export interface WelcomeMessage {
  readonly type: 'welcome'
  readonly versions: readonly number[]
  readonly version: number
  readonly publicKey: Uint8Array
  readonly challenge: Uint8Array
  readonly signature: Uint8Array
  /** Noise XX message 2 (ephemeral key, encrypted static key, empty payload): NOISE_WELCOME_BYTES. */
  readonly noise: Uint8Array
}

/** Handshake step 3, initiator → responder: the initiator's signature and Noise's third message. */
export interface AuthMessage {
  readonly type: 'auth'
  readonly signature: Uint8Array
  /** Noise XX message 3 (encrypted static key, empty payload): NOISE_AUTH_BYTES. */
  readonly noise: Uint8Array
}

/** Bytes of Noise XX message 1 in a hello: the initiator's ephemeral X25519 key. */
export const NOISE_HELLO_BYTES: number = KEY_BYTES
/** Bytes of Noise XX message 2 in a welcome: ephemeral key, static key and its tag, the empty payload's tag. */
export const NOISE_WELCOME_BYTES: number = 2 * KEY_BYTES + 2 * TAG_BYTES
/** Bytes of Noise XX message 3 in an auth: static key and its tag, the empty payload's tag. */
export const NOISE_AUTH_BYTES: number = KEY_BYTES + 2 * TAG_BYTES

/** A refusal or failure; answers request `requestId`, or none when 0. */
export interface ErrorMessage {
  readonly type: 'error'
  readonly requestId: number
  readonly code: ErrorCode
  readonly reason: string
}

/** A proposal delivered to its counterparty; answered by an agreement (or an error). */
export interface ProposalMessage {
  readonly type: 'proposal'
  readonly requestId: number
  readonly block: HalfBlock
  /** Blocks that help validate it (e.g. the proposer's previous block); may be empty. */
  readonly context: readonly HalfBlock[]
}

/** The agreement to a proposal: the reply to `requestId`, or unsolicited when 0. */
export interface AgreementMessage {
  readonly type: 'agreement'
  readonly requestId: number
  readonly block: HalfBlock
}

/** Blocks pushed to a peer (new blocks, both halves of a transaction). */
export interface PushMessage {
  readonly type: 'push'
  readonly blocks: readonly HalfBlock[]
  /** Version 2: answer with an `ack` of this id (absent: no answer wanted). */
  readonly ack?: number
}

/** Version 2: the frame that carried `ack: id` (a push, push-via or neighbours) arrived. */
export interface AckMessage {
  readonly type: 'ack'
  readonly id: number
}

/**
 * Heads: the latest (seq, hash) the sender holds of some chains. An announcement (push gossip)
 * when requestId is 0; otherwise the reply to a heads-request (pull gossip), which may hold fewer
 * heads than keys asked for (the sender knows nothing of the others).
 */
export interface HeadsMessage {
  readonly type: 'heads'
  readonly requestId: number
  readonly heads: readonly Head[]
}

/** Asks for the heads the peer holds of these chains (pull gossip). */
export interface HeadsRequestMessage {
  readonly type: 'heads-request'
  readonly requestId: number
  readonly publicKeys: readonly Uint8Array[]
}

/**
 * A crawl of one chain, py-ipv8 style: `start` and `end` are seqs, counted from the end when
 * negative (-1 = latest). See resolveCrawlRange for how the answerer clamps them.
 */
export interface CrawlRequestMessage {
  readonly type: 'crawl-request'
  readonly requestId: number
  readonly publicKey: Uint8Array
  readonly start: number
  readonly end: number
}

/** The answer to a crawl: at most maxCrawlBlocks blocks of the chain, ascending, and its latest seq. */
export interface CrawlAnswerMessage {
  readonly type: 'crawl-answer'
  readonly requestId: number
  readonly publicKey: Uint8Array
  /** The highest seq the answerer holds of this chain (0: none). */
  readonly latest: number
  readonly blocks: readonly HalfBlock[]
}

/** A fraud proof, relayed (decoded for form only; the receiver verifies it). */
export interface FraudMessage {
  readonly type: 'fraud'
  readonly proof: FraudProof
}

/** Bytes of the accused's id in a version 3 `fraud-have` or `fraud-want`: the first 16 bytes of its key. */
export const ACCUSED_ID_BYTES = 16

/**
 * The sender holds a fraud proof against `publicKey` (ask for it with a `fraud-want`): the whole
 * key (32 bytes), or on a session of version 3 or more its first ACCUSED_ID_BYTES.
 */
export interface FraudHaveMessage {
  readonly type: 'fraud-have'
  readonly publicKey: Uint8Array
}

/**
 * Asks the peer that announced a proof against `publicKey` for it (answered by a `fraud`, or not at
 * all): the whole key, or on a session of version 3 or more its first ACCUSED_ID_BYTES.
 */
export interface FraudWantMessage {
  readonly type: 'fraud-want'
  readonly publicKey: Uint8Array
}

/** The sender's neighbours now, each by the first 8 bytes of its key (the whole list each time). */
export interface NeighboursMessage {
  readonly type: 'neighbours'
  readonly ids: readonly Uint8Array[]
  /** Version 2: answer with an `ack` of this id (absent: no answer wanted). */
  readonly ack?: number
}

/** Blocks for the receiver to check, store, and forward in a `push` to its neighbour whose key starts with `to`. */
export interface PushViaMessage {
  readonly type: 'push-via'
  /** The first 8 bytes of the target's key. */
  readonly to: Uint8Array
  readonly blocks: readonly HalfBlock[]
  /** Version 2: answer with an `ack` of this id (absent: no answer wanted). */
  readonly ack?: number
}

/** A frame for the relay to pass to its peer `to` (empty data: close that tunnel). */
export interface RelayMessage {
  readonly type: 'relay'
  readonly to: Uint8Array
  readonly data: Uint8Array
  readonly reason: string
}

/** A frame a relay passes on from its peer `from` (empty data: the tunnel closed, `reason` says why). */
export interface RelayedMessage {
  readonly type: 'relayed'
  readonly from: Uint8Array
  readonly data: Uint8Array
  readonly reason: string
}

/** Asks a witness which block it holds at (publicKey, seq). */
export interface WitnessQueryMessage {
  readonly type: 'witness-query'
  readonly requestId: number
  readonly publicKey: Uint8Array
  readonly seq: number
}

/** A witness's answer: the first block it saw at (publicKey, seq), or null. */
export interface WitnessAnswerMessage {
  readonly type: 'witness-answer'
  readonly requestId: number
  readonly publicKey: Uint8Array
  readonly seq: number
  readonly block: HalfBlock | null
}

/** Asks for up to `max` peers. */
export interface PeersRequestMessage {
  readonly type: 'peers-request'
  readonly requestId: number
  readonly max: number
}

/** Peers the sender knows: the reply to `requestId`, or unsolicited when 0. */
export interface PeersMessage {
  readonly type: 'peers'
  readonly requestId: number
  readonly peers: readonly PeerInfo[]
}

/** Messages of the handshake; inside a session they are a violation. */
export type HandshakeMessage = HelloMessage | WelcomeMessage | AuthMessage

/** Messages that expect a reply carrying their requestId (an `app` message when it is a request: see isRequest). */
export type RequestMessage = ProposalMessage | CrawlRequestMessage | WitnessQueryMessage | PeersRequestMessage | HeadsRequestMessage | AppMessage

/** Messages that may answer a request (an `app` message when `reply` is set). */
export type ReplyMessage = AgreementMessage | CrawlAnswerMessage | WitnessAnswerMessage | PeersMessage | HeadsMessage | ErrorMessage | AppMessage

/** Every message of a session (after the handshake). */
export type SessionMessage =
  | ErrorMessage
  | AckMessage
  | ProposalMessage
  | AgreementMessage
  | PushMessage
  | PushViaMessage
  | HeadsMessage
  | CrawlRequestMessage
  | CrawlAnswerMessage
  | FraudMessage
  | FraudHaveMessage
  | FraudWantMessage
  | WitnessQueryMessage
  | WitnessAnswerMessage
  | PeersRequestMessage
  | PeersMessage
  | HeadsRequestMessage
  | NeighboursMessage
  | AppMessage
  | RelayMessage
  | RelayedMessage

/** Every message. */
export type Message = HandshakeMessage | SessionMessage

/** The name of a message type. */
export type MessageType = Message['type']

/** The reply type of each request type. */
export interface ReplyTypes {
  proposal: AgreementMessage
  'crawl-request': CrawlAnswerMessage
  'witness-query': WitnessAnswerMessage
  'peers-request': PeersMessage
  'heads-request': HeadsMessage
  app: AppMessage
}

/** The reply to a request message (an error may come instead). */
export type ReplyTo<M extends RequestMessage> = ReplyTypes[M['type']]

/** What was wrong with a frame that did not decode. */
export type DecodeReason =
  | 'too-large' // the frame is over maxFrameBytes
  | 'malformed' // not canonical CBOR
  | 'unknown-type' // no such type code
  | 'bad-shape' // not an array, or the wrong number of fields
  | 'bad-field' // a field of the wrong type, length or range
  | 'too-many' // a list over its limit
  | 'bad-block' // an embedded block does not decode
  | 'bad-proof' // an embedded fraud proof does not decode
  | 'inconsistent' // fields that contradict each other (a crawl answer with another chain's block)

/** A core DecodeError (code ERR_DECODE) that also says which rule the frame broke. */
export class MessageDecodeError extends DecodeError {
  /** Which rule was broken. */
  readonly reason: DecodeReason
  /**
   * @param reason the broken rule
   * @param message a description (never includes the frame's bytes)
   */
  constructor(reason: DecodeReason, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'MessageDecodeError'
    this.reason = reason
  }
}

/** The result of decodeMessage: a message, or why there is none. */
export type DecodeResult = { readonly ok: true; readonly message: Message } | { readonly ok: false; readonly error: MessageDecodeError }

/** The wire code of every message type. */
export const MESSAGE_CODES: Readonly<Record<MessageType, number>> = Object.freeze({
  hello: 1,
  welcome: 2,
  auth: 3,
  error: 4,
  app: 5,
  ack: 6,
  relay: 7,
  'fraud-have': 8,
  'fraud-want': 9,
  proposal: 10,
  agreement: 11,
  push: 12,
  heads: 13,
  'crawl-request': 14,
  'crawl-answer': 15,
  fraud: 16,
  'witness-query': 17,
  'witness-answer': 18,
  'peers-request': 19,
  peers: 20,
  'heads-request': 21,
  neighbours: 22,
  'push-via': 23,
  relayed: 24,
})

/** The wire value of every error code. */
export const ERROR_CODES: Readonly<Record<ErrorCode, number>> = Object.freeze({
  refused: 1,
  'bad-request': 2,
  'rate-limited': 3,
  busy: 4,
  'not-found': 5,
  version: 6,
  handshake: 7,
  'too-large': 8,
  timeout: 9,
  internal: 10,
})

/** Highest request id; ids are uints below 2^32. */
export const MAX_REQUEST_ID = 0xffff_ffff

// ## Codec

/**
 * Encode a message as one frame (layout: the table in the module comment).
 * @param message any message
 * @param limits list sizes and the frame limit to respect (default DEFAULT_LIMITS)
 * @returns canonical CBOR bytes
 * @throws TypeError / RangeError naming the first bad field, an unknown type, a list over its limit
 *   or a frame over limits.maxFrameBytes (a caller mistake: never sent)
 * @example conn.send(encodeMessage({ type: 'heads', requestId: 0, heads: [{ publicKey, seq: 7, hash }] }))
 */
export function encodeMessage(message: Message, limits: Readonly<Limits> = DEFAULT_LIMITS): Uint8Array {
  if (typeof message !== 'object' || message === null) throw new TypeError('"message" expected an object')
  if (message.type === 'app') {
    // an application protocol's message, written by hand (every `submit` of thousands of
    // components passes here); anything unusual takes the general path below, with its errors
    const frame = writeAppFrame(message)
    if (frame !== undefined) {
      if (frame.length > limits.maxFrameBytes) throw new RangeError(`"message" encodes to ${frame.length} bytes, over the frame limit of ${limits.maxFrameBytes}`)
      return frame
    }
  }
  const schema = SCHEMAS_BY_TYPE.get(message.type)
  if (schema === undefined) throw new TypeError(`"message.type" unknown: ${JSON.stringify(String(message.type).slice(0, 40))}`)
  const record = schema.toWire?.(message as unknown as Record<string, unknown>) ?? (message as unknown as Record<string, unknown>)
  const array: unknown[] = [schema.code]
  const fields = schema.optionalLast && (record[schema.fields.at(-1)![0]] ?? 0) === 0 ? schema.fields.slice(0, -1) : schema.fields
  for (const [name, field] of fields) array.push(field.encode(record[name], `message.${name}`, limits))
  const frame = encodeCanonical(array)
  if (frame.length > limits.maxFrameBytes) {
    throw new RangeError(`"message" encodes to ${frame.length} bytes, over the frame limit of ${limits.maxFrameBytes}`)
  }
  return frame
}

/**
 * Decode one frame from an untrusted peer. Never throws.
 * @param frame the bytes
 * @param limits the limits to check against (default DEFAULT_LIMITS)
 * @param owned true when the caller owns `frame` and nothing will change it: an `app` message's
 *   body is then a view into it rather than a copy (default false)
 * @returns `{ ok: true, message }`, or `{ ok: false, error }` with error.reason
 * @throws only for a caller mistake in `limits` (TypeError / RangeError as resolveLimits); never for the frame
 * @example const r = decodeMessage(frame); if (!r.ok) session.penalize(20, r.error.reason)
 */
export function decodeMessage(frame: Uint8Array, limits: Readonly<Limits> = DEFAULT_LIMITS, owned = false): DecodeResult {
  // a bad `limits` is the caller's mistake and throws here; nothing about the frame ever does
  if (limits !== DEFAULT_LIMITS) limits = resolveLimits(limits)
  try {
    return { ok: true, message: decodeOrThrow(frame, limits, owned) }
  } catch (err) {
    if (err instanceof MessageDecodeError) return { ok: false, error: err }
    // anything else is a bug in a decoder below; still never let it escape to the caller
    return { ok: false, error: new MessageDecodeError('malformed', `undecodable frame: ${(err as Error)?.message ?? String(err)}`, { cause: err }) }
  }
}

/**
 * The type of a frame from its first two bytes, without decoding it (for cheap routing and
 * de-duplication before the full decode). Not a validation: decodeMessage may still refuse it.
 * @param frame the bytes
 * @returns the type named by its code, or undefined
 * @example if (peekMessageType(frame) === 'fraud') ...
 */
export function peekMessageType(frame: Uint8Array): MessageType | undefined {
  // every message is an array of at most 23 elements (header 0x80..0x97) whose first element is a
  // type code: below 24 one byte, 24..255 two (0x18 n, canonical only for n ≥ 24)
  if (!(frame instanceof Uint8Array) || frame.length < 2) return undefined
  const head = frame[0]!
  if (head < 0x81 || head > 0x97) return undefined
  const first = frame[1]!
  if (first < 0x18) return TYPES_BY_CODE.get(first)
  if (first !== 0x18 || frame.length < 3 || frame[2]! < 24) return undefined
  return TYPES_BY_CODE.get(frame[2]!)
}

/**
 * True iff the message expects a reply (proposal, crawl-request, witness-query, peers-request,
 * heads-request, and an `app` message with a requestId that is not a reply).
 * @param message a decoded message
 * @returns whether it is a request
 * @example if (isRequest(m)) session.reply(m, { type: 'error', code: 'refused', reason: '' })
 */
export function isRequest(message: Message): message is RequestMessage {
  if (message.type === 'app') return !message.reply && message.requestId > 0
  return message.type in REPLY_TYPE
}

/**
 * True iff the message type can answer a request (agreement, crawl-answer, witness-answer, peers,
 * heads, error; app when it is marked as a reply).
 * @param message a decoded message
 * @returns whether it may be a reply (it is one when its requestId is not 0)
 * @example isReply({ type: 'heads', requestId: 0, heads }) // true: the type can answer
 */
export function isReply(message: Message): message is ReplyMessage {
  if (message.type === 'app') return message.reply
  return REPLY_TYPES.has(message.type)
}

/**
 * True iff the message belongs to the handshake (hello, welcome, auth).
 * @param message a decoded message
 * @returns whether it is a handshake message
 * @example if (isHandshakeMessage(m)) session.penalize(100, 'replayed handshake')
 */
export function isHandshakeMessage(message: Message): message is HandshakeMessage {
  return message.type === 'hello' || message.type === 'welcome' || message.type === 'auth'
}

/**
 * The reply type a request expects.
 * @param type a request type
 * @returns the type of its reply
 * @example replyTypeOf('crawl-request') // 'crawl-answer'
 */
export function replyTypeOf(type: RequestMessage['type']): ReplyTo<RequestMessage>['type'] {
  return REPLY_TYPE[type]
}

// ## Crawl ranges

/**
 * Resolve a crawl request's range against the answerer's chain, clamped and capped: the answer to
 * "1..2^31" is the first `maxBlocks` blocks, never a loop over 2^31 seqs.
 *
 * A seq s > 0 means s; s < 0 counts from the end, -1 being `latest` (py-ipv8's rule:
 * latest + s + 1). Both ends are then clamped to [1, latest]; `end` is lowered so that the range
 * holds at most `maxBlocks` seqs.
 * @param start the request's start (≠ 0)
 * @param end the request's end (≠ 0)
 * @param latest the highest seq the answerer holds (0: none)
 * @param maxBlocks the cap (default DEFAULT_LIMITS.maxCrawlBlocks)
 * @returns the inclusive seq range `{ from, to }` to answer, or undefined when it is empty
 * @example resolveCrawlRange(-5, -1, 100) // { from: 96, to: 100 }
 */
export function resolveCrawlRange(
  start: number,
  end: number,
  latest: number,
  maxBlocks: number = DEFAULT_LIMITS.maxCrawlBlocks,
): { from: number; to: number } | undefined {
  if (!Number.isSafeInteger(latest) || latest < 1) return undefined
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start === 0 || end === 0) return undefined
  if (!Number.isSafeInteger(maxBlocks) || maxBlocks < 1) return undefined
  const from = Math.max(1, start < 0 ? latest + start + 1 : start)
  const last = Math.min(latest, end < 0 ? latest + end + 1 : end)
  if (from > last) return undefined
  return { from, to: Math.min(last, from + maxBlocks - 1) }
}

// ## Field codecs

interface Field<T = unknown> {
  encode(value: unknown, name: string, limits: Readonly<Limits>): unknown
  decode(value: CborValue, name: string, limits: Readonly<Limits>): T
}

interface Schema {
  readonly type: MessageType
  readonly code: number
  readonly fields: readonly (readonly [string, Field])[]
  /** The last field may be absent (a field added in a later version; absent when undefined or 0). */
  readonly optionalLast?: true
  /** Cross-field checks after every field decoded; returns a reason when inconsistent. */
  readonly check?: (message: Record<string, unknown>) => string | undefined
  /** When the fields on the wire are not the message's own: the message → its wire fields. */
  readonly toWire?: (message: Record<string, unknown>) => Record<string, unknown>
  /** ... and the wire fields → the message (after `check`). */
  readonly fromWire?: (fields: Record<string, unknown>) => Record<string, unknown>
}

const MAX_VERSION = 0xffff

const uintField = (min: number, max: number): Field<number> => ({
  encode(value, name) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new TypeError(`"${name}" expected an integer, got ${typeof value}`)
    if (value < min || value > max) throw new RangeError(`"${name}" expected an integer in [${min}, ${max}], got ${value}`)
    return value
  },
  decode(value, name) {
    if (typeof value !== 'number') fail('bad-field', `${name} must be an integer`)
    if (value < min || value > max) fail('bad-field', `${name} out of range [${min}, ${max}]`)
    return value
  },
})

/** An integer in [-max, max]. */
const uintOrNegative = (max: number): Field<number> => ({
  encode(value, name) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new TypeError(`"${name}" expected an integer, got ${typeof value}`)
    if (value < -max || value > max) throw new RangeError(`"${name}" expected an integer in [${-max}, ${max}], got ${value}`)
    return value
  },
  decode(value, name) {
    if (typeof value !== 'number') fail('bad-field', `${name} must be an integer`)
    if (value < -max || value > max) fail('bad-field', `${name} out of range [${-max}, ${max}]`)
    return value
  },
})

/** A name matching `rule` (a protocol or kind name). */
const nameField = (rule: RegExp): Field<string> => ({
  encode(value, name) {
    if (typeof value !== 'string') throw new TypeError(`"${name}" expected a string, got ${typeof value}`)
    if (!rule.test(value)) throw new RangeError(`"${name}" expected 1..64 characters matching ${rule.source}, got ${JSON.stringify(value.slice(0, 80))}`)
    return value
  },
  decode(value, name) {
    if (typeof value !== 'string' || !rule.test(value)) fail('bad-field', `${name} must be 1..64 characters matching ${rule.source}`)
    return value
  },
})

const bytesField = (length: number): Field<Uint8Array> => ({
  encode(value, name) {
    return abytes(name, value, length)
  },
  decode(value, name) {
    if (!(value instanceof Uint8Array) || value.length !== length) fail('bad-field', `${name} must be ${length} bytes`)
    return value
  },
})

const textField = (limit: (l: Readonly<Limits>) => number): Field<string> => ({
  encode(value, name, limits) {
    if (typeof value !== 'string') throw new TypeError(`"${name}" expected a string, got ${typeof value}`)
    if (value.length > limit(limits)) throw new RangeError(`"${name}" longer than ${limit(limits)} characters`)
    return value
  },
  decode(value, name, limits) {
    if (typeof value !== 'string') fail('bad-field', `${name} must be a string`)
    if (value.length > limit(limits)) fail('too-many', `${name} longer than ${limit(limits)} characters`)
    return value
  },
})

const blockField: Field<HalfBlock> = {
  encode(value, name) {
    if (typeof value !== 'object' || value === null) throw new TypeError(`"${name}" expected a HalfBlock`)
    return encodeBlock(value as HalfBlock)
  },
  decode(value, name) {
    if (!(value instanceof Uint8Array)) fail('bad-field', `${name} must be a byte string`)
    if (value.length > BLOCK_LIMITS.maxBytes) fail('too-many', `${name} over ${BLOCK_LIMITS.maxBytes} bytes`)
    try {
      return decodeBlock(value)
    } catch (err) {
      return fail('bad-block', `${name}: ${(err as Error).message}`, err)
    }
  },
}

const optionalBlockField: Field<HalfBlock | null> = {
  encode: (value, name, limits) => (value === null ? null : blockField.encode(value, name, limits)),
  decode: (value, name, limits) => (value === null ? null : blockField.decode(value, name, limits)),
}

const listField = <T>(item: Field<T>, min: number, max: (l: Readonly<Limits>) => number): Field<T[]> => ({
  encode(value, name, limits) {
    if (!Array.isArray(value)) throw new TypeError(`"${name}" expected an array`)
    if (value.length < min || value.length > max(limits)) {
      throw new RangeError(`"${name}" expected ${min}..${max(limits)} items, got ${value.length}`)
    }
    return value.map((v, i) => item.encode(v, `${name}[${i}]`, limits))
  },
  decode(value, name, limits) {
    if (!Array.isArray(value)) fail('bad-field', `${name} must be an array`)
    if (value.length > max(limits)) fail('too-many', `${name} holds ${value.length} items, over the limit of ${max(limits)}`)
    if (value.length < min) fail('bad-field', `${name} holds fewer than ${min} items`)
    return value.map((v, i) => item.decode(v, `${name}[${i}]`, limits))
  },
})

const tupleField = <T>(parts: readonly (readonly [string, Field])[]): Field<T> => ({
  encode(value, name, limits) {
    if (typeof value !== 'object' || value === null) throw new TypeError(`"${name}" expected an object`)
    const record = value as Record<string, unknown>
    return parts.map(([key, field]) => field.encode(record[key], `${name}.${key}`, limits))
  },
  decode(value, name, limits) {
    if (!Array.isArray(value) || value.length !== parts.length) fail('bad-field', `${name} must be an array of ${parts.length}`)
    const out: Record<string, unknown> = {}
    parts.forEach(([key, field], i) => {
      out[key] = field.decode((value as CborValue[])[i]!, `${name}.${key}`, limits)
    })
    return Object.freeze(out) as T
  },
})

const versionsField: Field<number[]> = {
  encode(value, name, limits) {
    const list = listField(uintField(1, MAX_VERSION), 1, (l) => l.maxVersions).encode(value, name, limits) as number[]
    for (let i = 1; i < list.length; i++) {
      if (list[i]! >= list[i - 1]!) throw new RangeError(`"${name}" expected strictly decreasing versions`)
    }
    return list
  },
  decode(value, name, limits) {
    const list = listField(uintField(1, MAX_VERSION), 1, (l) => l.maxVersions).decode(value, name, limits)
    for (let i = 1; i < list.length; i++) if (list[i]! >= list[i - 1]!) fail('bad-field', `${name} must be strictly decreasing`)
    return list
  },
}

const errorCodeField: Field<ErrorCode> = {
  encode(value, name) {
    if (typeof value !== 'string' || !(value in ERROR_CODES)) throw new TypeError(`"${name}" expected an ErrorCode, got ${String(value).slice(0, 40)}`)
    return ERROR_CODES[value as ErrorCode]
  },
  decode(value, name) {
    const code = typeof value === 'number' ? ERROR_NAMES.get(value) : undefined
    if (code === undefined) fail('bad-field', `${name} is not a known error code`)
    return code
  },
}

const proofField: Field<FraudProof> = {
  encode(value, name) {
    if (typeof value !== 'object' || value === null) throw new TypeError(`"${name}" expected a FraudProof`)
    return encodeFraudProof(value as FraudProof)
  },
  decode(value, name) {
    if (!(value instanceof Uint8Array)) fail('bad-field', `${name} must be a byte string`)
    try {
      return decodeFraudProof(value)
    } catch (err) {
      return fail('bad-proof', `${name}: ${(err as Error).message}`, err)
    }
  },
}

/** A protocol's name: lowercase, `a-z0-9` and `/._-`, 1..64 characters (`tally/economy/reports/1`). */
export const PROTOCOL_NAME = /^[a-z0-9/._-]{1,64}$/
/** A protocol's message kind: `A-Za-z0-9` and `/._-`, 1..64 characters (`report`, `getQuote`). */
export const KIND_NAME = /^[A-Za-z0-9/._-]{1,64}$/

const SAFE = Number.MAX_SAFE_INTEGER
const requestId = uintField(1, MAX_REQUEST_ID)
const replyId = uintField(0, MAX_REQUEST_ID)
const key = bytesField(32)
/** A peer id in a neighbour list: the first 8 bytes of its key. */
const peerId = bytesField(8)
/** The accused in a fraud-have or fraud-want: its key, or (version 3) the first ACCUSED_ID_BYTES of it. */
const accused: Field<Uint8Array> = {
  encode(value, name) {
    if (value instanceof Uint8Array && value.length === ACCUSED_ID_BYTES) return value
    return abytes(name, value, 32)
  },
  decode(value, name) {
    if (!(value instanceof Uint8Array) || (value.length !== 32 && value.length !== ACCUSED_ID_BYTES)) fail('bad-field', `${name} must be 32 or ${ACCUSED_ID_BYTES} bytes`)
    return value
  },
}
const bytes32 = bytesField(32)
const signature = bytesField(64)
const seq = uintField(1, SAFE)
const crawlSeq: Field<number> = {
  encode(value, name) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new TypeError(`"${name}" expected an integer, got ${typeof value}`)
    if (value === 0) throw new RangeError(`"${name}" expected a non-zero seq (negative counts from the end)`)
    return value
  },
  decode(value, name) {
    // decodeCanonical hands out integers beyond 2^53 as bigint: those are refused here
    if (typeof value !== 'number' || value === 0) fail('bad-field', `${name} must be a non-zero safe integer`)
    return value
  },
}
/** An `app` id: a request id, negated for its reply, 0 for a one-way message. */
const appId = uintOrNegative(MAX_REQUEST_ID)
/** A protocol name as on the wire; hosting checks the same rule (node/protocol-host.ts). */
const protocolName = nameField(PROTOCOL_NAME)
const kindName = nameField(KIND_NAME)
const bodyField: Field<Uint8Array> = {
  encode(value, name) {
    if (!(value instanceof Uint8Array)) throw new TypeError(`"${name}" expected Uint8Array (canonical CBOR)`)
    return value
  },
  decode(value, name) {
    if (!(value instanceof Uint8Array)) fail('bad-field', `${name} must be a byte string`)
    return value
  },
}
/** A tunnel's frame: at most a frame. */
const tunnelData: Field<Uint8Array> = {
  encode(value, name, limits) {
    if (!(value instanceof Uint8Array)) throw new TypeError(`"${name}" expected Uint8Array`)
    if (value.length > limits.maxFrameBytes) throw new RangeError(`"${name}" longer than ${limits.maxFrameBytes} bytes`)
    return value
  },
  decode(value, name, limits) {
    if (!(value instanceof Uint8Array)) fail('bad-field', `${name} must be a byte string`)
    if (value.length > limits.maxFrameBytes) fail('too-large', `${name} over ${limits.maxFrameBytes} bytes`)
    return value
  },
}
const blocks = (min: number, max: (l: Readonly<Limits>) => number): Field<HalfBlock[]> => listField(blockField, min, max)
const head = tupleField<Head>([['publicKey', key], ['seq', seq], ['hash', bytes32]])
const peer = tupleField<PeerInfo>([['publicKey', key], ['address', textField((l) => l.maxAddressLength)]])

const SCHEMAS: readonly Schema[] = [
  { type: 'hello', code: 1, fields: [['versions', versionsField], ['publicKey', key], ['challenge', bytes32], ['noise', bytesField(NOISE_HELLO_BYTES)]] },
  {
    type: 'welcome',
    code: 2,
    fields: [
      ['versions', versionsField],
      ['version', uintField(1, MAX_VERSION)],
      ['publicKey', key],
      ['challenge', bytes32],
      ['signature', signature],
      ['noise', bytesField(NOISE_WELCOME_BYTES)],
    ],
    check: (m) => ((m['versions'] as number[]).includes(m['version'] as number) ? undefined : 'version not among the offered versions'),
  },
  { type: 'auth', code: 3, fields: [['signature', signature], ['noise', bytesField(NOISE_AUTH_BYTES)]] },
  { type: 'error', code: 4, fields: [['requestId', replyId], ['code', errorCodeField], ['reason', textField((l) => l.maxReasonLength)]] },
  {
    type: 'proposal',
    code: 10,
    fields: [['requestId', requestId], ['block', blockField], ['context', blocks(0, (l) => l.maxContextBlocks)]],
    check: (m) => (isProposal(m['block'] as HalfBlock) ? undefined : 'block is not a proposal'),
  },
  {
    type: 'agreement',
    code: 11,
    fields: [['requestId', replyId], ['block', blockField]],
    check: (m) => (isAgreement(m['block'] as HalfBlock) ? undefined : 'block is not an agreement'),
  },
  { type: 'ack', code: 6, fields: [['id', requestId]] },
  { type: 'push', code: 12, fields: [['blocks', blocks(1, (l) => l.maxPushBlocks)], ['ack', requestId]], optionalLast: true },
  {
    type: 'heads',
    code: 13,
    fields: [['requestId', replyId], ['heads', listField(head, 0, (l) => l.maxHeads)]],
    check: (m) => (m['requestId'] === 0 && (m['heads'] as Head[]).length === 0 ? 'an empty announcement' : undefined),
  },
  { type: 'crawl-request', code: 14, fields: [['requestId', requestId], ['publicKey', key], ['start', crawlSeq], ['end', crawlSeq]] },
  {
    type: 'crawl-answer',
    code: 15,
    fields: [['requestId', requestId], ['publicKey', key], ['latest', uintField(0, SAFE)], ['blocks', blocks(0, (l) => l.maxCrawlBlocks)]],
    check: (m) => {
      const owner = m['publicKey'] as Uint8Array
      const latest = m['latest'] as number
      let previous = 0
      for (const b of m['blocks'] as HalfBlock[]) {
        if (!equalBytes(b.publicKey, owner)) return 'a block of another chain'
        if (b.seq <= previous) return 'blocks not in ascending seq order'
        if (b.seq > latest) return 'a block beyond the announced latest seq'
        previous = b.seq
      }
      return undefined
    },
  },
  { type: 'fraud', code: 16, fields: [['proof', proofField]] },
  { type: 'witness-query', code: 17, fields: [['requestId', requestId], ['publicKey', key], ['seq', seq]] },
  {
    type: 'witness-answer',
    code: 18,
    fields: [['requestId', requestId], ['publicKey', key], ['seq', seq], ['block', optionalBlockField]],
    check: (m) => {
      const b = m['block'] as HalfBlock | null
      if (b === null) return undefined
      return equalBytes(b.publicKey, m['publicKey'] as Uint8Array) && b.seq === m['seq'] ? undefined : 'the block is not at the queried (key, seq)'
    },
  },
  { type: 'peers-request', code: 19, fields: [['requestId', requestId], ['max', uintField(1, SAFE)]] },
  { type: 'peers', code: 20, fields: [['requestId', replyId], ['peers', listField(peer, 0, (l) => l.maxPeers)]] },
  { type: 'heads-request', code: 21, fields: [['requestId', requestId], ['publicKeys', listField(key, 1, (l) => l.maxHeads)]] },
  {
    type: 'app',
    code: 5,
    fields: [['id', appId], ['protocol', protocolName], ['kind', kindName], ['body', bodyField]],
    toWire: (m) => {
      const requestId = m['requestId']
      if (m['reply'] === true && (typeof requestId !== 'number' || requestId < 1)) throw new RangeError('"message.requestId" of a reply expected an integer >= 1')
      if (m['reply'] !== true && m['reply'] !== false) throw new TypeError('"message.reply" expected a boolean')
      return { ...m, id: m['reply'] === true ? -(requestId as number) : requestId }
    },
    fromWire: ({ id, protocol, kind, body }) => ({ type: 'app', requestId: Math.abs(id as number), reply: (id as number) < 0, protocol, kind, body }),
  },
  { type: 'fraud-have', code: 8, fields: [['publicKey', accused]] },
  { type: 'fraud-want', code: 9, fields: [['publicKey', accused]] },
  { type: 'neighbours', code: 22, fields: [['ids', listField(peerId, 0, (l) => l.maxNeighbourIds)], ['ack', requestId]], optionalLast: true },
  { type: 'push-via', code: 23, fields: [['to', peerId], ['blocks', blocks(1, (l) => l.maxPushBlocks)], ['ack', requestId]], optionalLast: true },
  {
    type: 'relay',
    code: 7,
    fields: [['to', key], ['data', tunnelData], ['reason', textField((l) => l.maxReasonLength)]],
    check: (m) => ((m['data'] as Uint8Array).length > 0 && m['reason'] !== '' ? 'a reason beside data' : undefined),
  },
  {
    type: 'relayed',
    code: 24,
    fields: [['from', key], ['data', tunnelData], ['reason', textField((l) => l.maxReasonLength)]],
    check: (m) => ((m['data'] as Uint8Array).length > 0 && m['reason'] !== '' ? 'a reason beside data' : undefined),
  },
]

const SCHEMAS_BY_TYPE = new Map<string, Schema>(SCHEMAS.map((s) => [s.type, s]))
const SCHEMAS_BY_CODE = new Map<number, Schema>(SCHEMAS.map((s) => [s.code, s]))
const TYPES_BY_CODE = new Map<number, MessageType>(SCHEMAS.map((s) => [s.code, s.type]))
const ERROR_NAMES = new Map<number, ErrorCode>(Object.entries(ERROR_CODES).map(([k, v]) => [v, k as ErrorCode]))
const REPLY_TYPE: Readonly<Record<RequestMessage['type'], ReplyTo<RequestMessage>['type']>> = Object.freeze({
  proposal: 'agreement',
  'crawl-request': 'crawl-answer',
  'witness-query': 'witness-answer',
  'peers-request': 'peers',
  'heads-request': 'heads',
  app: 'app',
})
const REPLY_TYPES = new Set<string>(['agreement', 'crawl-answer', 'witness-answer', 'peers', 'heads', 'error'])

// ## Private helpers

function decodeOrThrow(frame: Uint8Array, limits: Readonly<Limits>, owned: boolean): Message {
  if (!(frame instanceof Uint8Array)) fail('malformed', 'a frame must be a Uint8Array')
  if (frame.length > limits.maxFrameBytes) fail('too-large', `frame of ${frame.length} bytes over the limit of ${limits.maxFrameBytes}`)
  const app = readAppFrame(frame, owned)
  if (app !== undefined) return app
  let value: CborValue
  try {
    // depth: the message array, a list (heads, peers), a tuple inside it
    value = decodeCanonical(frame, { maxBytes: limits.maxFrameBytes, maxDepth: 4 })
  } catch (err) {
    return fail('malformed', (err as Error).message, err)
  }
  if (!Array.isArray(value) || value.length === 0) fail('bad-shape', 'a message must be a non-empty array')
  const schema = typeof value[0] === 'number' ? SCHEMAS_BY_CODE.get(value[0]) : undefined
  if (schema === undefined) fail('unknown-type', `unknown message type code ${typeof value[0] === 'number' ? value[0] : typeof value[0]}`)
  const count = value.length - 1
  if (count !== schema.fields.length && !(schema.optionalLast && count === schema.fields.length - 1)) {
    fail('bad-shape', `${schema.type} must have ${schema.fields.length} fields, got ${count}`)
  }
  const out: Record<string, unknown> = { type: schema.type }
  for (let i = 0; i < count; i++) {
    const [name, field] = schema.fields[i]!
    out[name] = field.decode((value as CborValue[])[i + 1]!, name, limits)
  }
  const problem = schema.check?.(out)
  if (problem !== undefined) fail('inconsistent', `${schema.type}: ${problem}`)
  return Object.freeze(schema.fromWire?.(out) ?? out) as unknown as Message
}

/**
 * An `app` frame read by hand: [5, id, protocol, kind, body], every head in its shortest form,
 * the names ASCII and matching their rules, |id| ≤ MAX_REQUEST_ID, nothing after the body — the
 * message the general decoder gives, without decoding the frame to values, copying the body,
 * re-encoding the frame and comparing it (an app body is most of its frame: ~4 KB for a
 * protocol's batch). Anything else (undefined) goes through the general decoder, which says
 * what is wrong with it. The body is copied, as the general decoder copies it, unless the caller
 * owns the frame (`owned`: a session's frame just decrypted, which nothing else holds or
 * changes): then it is a view into the frame.
 */
function readAppFrame(frame: Uint8Array, owned: boolean): Message | undefined {
  if (frame[0] !== 0x85 || frame[1] !== 0x05) return undefined
  const id = readHead(frame, 2)
  // id: a uint (a request, or 0) or a negative int -1 - n (a reply to request n + 1), |id| ≤ MAX_REQUEST_ID
  if (id === undefined || id.major > 1 || id.value > (id.major === 0 ? MAX_REQUEST_ID : MAX_REQUEST_ID - 1)) return undefined
  const protocol = readName(frame, id.end, PROTOCOL_NAME)
  if (protocol === undefined) return undefined
  const kind = readName(frame, protocol.end, KIND_NAME)
  if (kind === undefined) return undefined
  const body = readHead(frame, kind.end)
  if (body === undefined || body.major !== 2 || body.end + body.value !== frame.length) return undefined
  const requestId = id.major === 0 ? id.value : id.value + 1
  return Object.freeze({ type: 'app', requestId, reply: id.major === 1, protocol: protocol.text, kind: kind.text, body: owned ? frame.subarray(body.end) : frame.slice(body.end) })
}

/**
 * An `app` message as encodeMessage's general path writes it — the canonical CBOR of
 * [5, id, protocol, kind, body], id = requestId, or -requestId for a reply — in one buffer with
 * the body copied once; undefined for anything the general path should judge (its errors).
 */
function writeAppFrame(m: AppMessage): Uint8Array | undefined {
  const { requestId, reply, protocol, kind, body } = m
  if (typeof reply !== 'boolean' || !Number.isSafeInteger(requestId) || Object.is(requestId, -0) || !(body instanceof Uint8Array)) return undefined
  if (reply ? requestId < 1 || requestId > MAX_REQUEST_ID : requestId < -MAX_REQUEST_ID || requestId > MAX_REQUEST_ID) return undefined
  if (typeof protocol !== 'string' || typeof kind !== 'string' || !PROTOCOL_NAME.test(protocol) || !KIND_NAME.test(kind)) return undefined
  const id = reply ? -requestId : requestId
  // a negative id n is written as major type 1 with argument -1 - n
  const [idMajor, idValue] = id < 0 ? [1, -1 - id] : [0, id]
  const size = 2 + cborUintSize(idValue) + cborUintSize(protocol.length) + protocol.length + cborUintSize(kind.length) + kind.length + cborUintSize(body.length) + body.length
  const out = new Uint8Array(size)
  out[0] = 0x85
  out[1] = 0x05
  let at = writeCborHead(out, 2, idMajor, idValue)
  for (const text of [protocol, kind]) {
    // names are ASCII (their rules), so a character is a byte
    at = writeCborHead(out, at, 3, text.length)
    for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i)
    at += text.length
  }
  at = writeCborHead(out, at, 2, body.length)
  out.set(body, at)
  return out
}

/** A canonical CBOR head at `at` with an argument below 2^32: its major type, argument and end. */
function readHead(bytes: Uint8Array, at: number): { major: number; value: number; end: number } | undefined {
  const first = bytes[at]
  if (first === undefined) return undefined
  const major = first >> 5
  const info = first & 0x1f
  if (info < 24) return { major, value: info, end: at + 1 }
  const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : 0
  if (size === 0 || at + 1 + size > bytes.length) return undefined
  let value = 0
  for (let i = 1; i <= size; i++) value = value * 256 + bytes[at + i]!
  // the shortest form only: a one-byte argument is at least 24, a longer one needs its length
  if (value < (size === 1 ? 24 : size === 2 ? 0x100 : 0x1_0000)) return undefined
  return { major, value, end: at + 1 + size }
}

/** A text head and ASCII text at `at` matching `rule` (1..64 characters). */
function readName(bytes: Uint8Array, at: number, rule: RegExp): { text: string; end: number } | undefined {
  const head = readHead(bytes, at)
  if (head === undefined || head.major !== 3 || head.value > 64 || head.end + head.value > bytes.length) return undefined
  let text = ''
  for (let i = head.end; i < head.end + head.value; i++) {
    const c = bytes[i]!
    if (c >= 0x80) return undefined
    text += String.fromCharCode(c)
  }
  return rule.test(text) ? { text, end: head.end + head.value } : undefined
}

function fail(reason: DecodeReason, message: string, cause?: unknown): never {
  throw new MessageDecodeError(reason, message, cause === undefined ? undefined : { cause })
}
