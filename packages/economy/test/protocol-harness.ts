/**
 * A test double of the protocol host (core's `ProtocolHost`): several parties in one process,
 * each hosting protocols, with send/request routed between their PeerContexts the way the gossip
 * node will route them — every body is encoded by the sender's codec, encoded to canonical CBOR
 * (encodeCanonical), checked against the receiving kind's `maxBytes`, decoded (decodeCanonical
 * and the receiver's `decode`) before any handler runs, and the reply goes through the same
 * checks against the requester's codec. Refusals travel as RefusedError with their reason code
 * as @tally/gossip's host does ('unknown-protocol', 'unknown-kind', 'too-large', 'malformed',
 * 'no-handler', 'internal', or the handler's own; a reply that fails the requester's codec: DecodeError). Costs are charged per sender (`charged`); budgets
 * are the real host's business.
 *
 * Faults: a party `down` (or a `cut` link) refuses sessions (ClosedError); a `silent` party takes
 * requests and never answers (a TimeoutError when the test clock passes the timeout). Time is a
 * test clock that moves only when a test calls `advance`: nothing here waits on real time.
 */
import {
  ClosedError,
  DecodeError,
  RefusedError,
  createAgent,
  createMemoryStore,
  decodeCanonical,
  encodeCanonical,
  toHex,
  type Agent,
  type CborValue,
  type Clock,
  type Identity,
  type PeerContext,
  type Protocol,
  type ProtocolHandle,
  type ProtocolHost,
  type ProtocolMessages,
  type ProtocolReply,
} from '@tally/core'

/** A clock that moves when told to. */
export interface TestClock extends Clock {
  /** Run every timer due in the next `ms` (settling in between), then move to now + ms. */
  advance(ms: number): Promise<void>
}

/** One process: an identity, an agent, and the protocols it hosts. */
export interface Party extends ProtocolHost {
  readonly key: Uint8Array
  readonly agent: Agent
}

/** The in-memory network. */
export interface Harness {
  readonly clock: TestClock
  /** A new party (an agent over a memory store unless one is given). */
  party(identity: Identity, agent?: Agent): Party
  /** Take a party down (or back up): sessions to and from it close. */
  down(key: Uint8Array, down?: boolean): void
  /** A party that takes requests and never answers (or answers again). */
  silent(key: Uint8Array, silent?: boolean): void
  /** Cut (or restore) the link between two parties. */
  cut(a: Uint8Array, b: Uint8Array, cut?: boolean): void
  /** How a party is doing: 'up', 'down' or 'silent'. */
  state(key: Uint8Array): 'up' | 'down' | 'silent'
  /** A party that stops serving one protocol (a witness that withholds): its frames are refused as 'unknown-protocol'. */
  withhold(key: Uint8Array, protocol: string, withhold?: boolean): void
  /**
   * A request (or with `oneWay`, a one-way message, delivered before this resolves) whose body is
   * given as a CBOR value, bypassing the sender's codec: malformed input.
   */
  inject(from: Uint8Array, to: Uint8Array, protocol: string, kind: string, body: CborValue, options?: { oneWay?: boolean }): Promise<{ kind: string; message: unknown } | undefined>
  /** Wait until no delivery is under way. */
  settle(): Promise<void>
  /** Tokens charged to each sender (hex key). */
  readonly charged: Map<string, number>
  /** Peers each party's protocols admitted (ProtocolHandle.admit): party hex → peer hex → reasons. */
  readonly admitted: Map<string, Map<string, Set<string>>>
  /** Frames delivered: protocol/kind → count. */
  readonly frames: Map<string, number>
  /** Handler exceptions and dropped one-way frames. */
  readonly log: string[]
}

const NAME = /^[a-z0-9/._-]{1,64}$/
const MALFORMED_COST = 10
type AnyProtocol = Protocol<ProtocolMessages>

/**
 * A new network with a test clock starting at `start`.
 * @param start the clock's first time (ms)
 */
export function createHarness(start = 0): Harness {
  const clock = createTestClock(start, () => settle())
  const parties = new Map<string, { party: Party; hosted: Map<string, AnyProtocol> }>()
  const downs = new Set<string>()
  const silents = new Set<string>()
  const cuts = new Set<string>()
  const withheld = new Set<string>()
  const charged = new Map<string, number>()
  const admitted = new Map<string, Map<string, Set<string>>>()
  const frames = new Map<string, number>()
  const log: string[] = []
  let busy = 0

  const linked = (a: Uint8Array, b: Uint8Array): boolean => {
    const [x, y] = [toHex(a), toHex(b)]
    return !downs.has(x) && !downs.has(y) && !cuts.has(`${x}|${y}`) && !cuts.has(`${y}|${x}`)
  }
  const charge = (key: Uint8Array, n: number): void => void charged.set(toHex(key), (charged.get(toHex(key)) ?? 0) + n)

  /** Deliver `bytes` of kind `kind` from `from` to `to`: the host's checks, then the handler; the reply back. */
  async function deliver(from: Uint8Array, to: Uint8Array, name: string, kind: string, bytes: Uint8Array, request: boolean): Promise<{ kind: string; message: unknown } | undefined> {
    busy++
    try {
      await new Promise((r) => setImmediate(r))
      const target = parties.get(toHex(to))
      if (target === undefined || !linked(from, to)) throw new ClosedError('no session')
      const protocol = withheld.has(`${toHex(to)}|${name}`) ? undefined : target.hosted.get(name)
      if (protocol === undefined) throw new RefusedError(`${name} is not hosted`, { reason: 'unknown-protocol' })
      const codec = (protocol.messages as Record<string, AnyProtocol['messages'][string]>)[kind]
      if (codec === undefined) throw new RefusedError(`${name} has no kind ${kind}`, { reason: 'unknown-kind' })
      if (bytes.length > codec.maxBytes) {
        charge(from, MALFORMED_COST)
        throw new RefusedError(`${kind} of ${bytes.length} bytes exceeds ${codec.maxBytes}`, { reason: 'too-large' })
      }
      let message: unknown
      try {
        message = codec.decode(decodeCanonical(bytes, { maxBytes: codec.maxBytes, maxDepth: 32 }))
      } catch (err) {
        charge(from, MALFORMED_COST)
        throw new RefusedError(`malformed ${kind}: ${(err as Error).message}`, { reason: 'malformed' })
      }
      charge(from, codec.cost)
      frames.set(`${name}/${kind}`, (frames.get(`${name}/${kind}`) ?? 0) + 1)
      const handler = (protocol.handlers as Record<string, ((m: unknown, c: PeerContext<ProtocolMessages>) => unknown) | undefined>)[kind]
      if (handler === undefined) throw new RefusedError(`${kind} is not accepted here`, { reason: 'no-handler' })
      let reply: unknown
      try {
        reply = await handler(message, contextOf(target.party.key, from, protocol))
      } catch (err) {
        if (err instanceof RefusedError) throw new RefusedError(err.message, { reason: err.reason ?? 'refused' })
        log.push(`${name}/${kind} handler threw: ${(err as Error)?.stack ?? err}`)
        throw new RefusedError('internal error', { reason: 'internal' })
      }
      if (!request) return undefined
      const r = reply as { kind?: string; message?: unknown } | undefined
      const replyCodec = r?.kind === undefined ? undefined : (protocol.messages as Record<string, AnyProtocol['messages'][string]>)[r.kind]
      if (replyCodec === undefined) throw new RefusedError(`the handler of ${kind} returned no reply`, { reason: 'internal' })
      const replyBytes = encodeCanonical(replyCodec.encode(r!.message as never))
      // the requester decodes with its own codec of the reply's kind
      const mine = parties.get(toHex(from))?.hosted.get(name)
      const back = mine === undefined ? undefined : (mine.messages as Record<string, AnyProtocol['messages'][string]>)[r!.kind!]
      if (back === undefined || replyBytes.length > back.maxBytes) throw new DecodeError(`reply ${r!.kind} refused: unknown kind or over its limit`)
      try {
        return { kind: r!.kind!, message: back.decode(decodeCanonical(replyBytes, { maxBytes: back.maxBytes, maxDepth: 32 })) }
      } catch (err) {
        throw new DecodeError(`malformed reply ${r!.kind}: ${(err as Error).message}`)
      }
    } finally {
      busy--
    }
  }

  function requestBytes(from: Uint8Array, to: Uint8Array, name: string, kind: string, bytes: Uint8Array, timeoutMs: number): Promise<{ kind: string; message: unknown }> {
    if (silents.has(toHex(to))) {
      // taken and never answered: the requester's timeout fires on the test clock
      return new Promise((_, reject) => clock.setTimeout(() => reject(new DOMException(`${kind} timed out`, 'TimeoutError')), timeoutMs))
    }
    return deliver(from, to, name, kind, bytes, true) as Promise<{ kind: string; message: unknown }>
  }

  function contextOf<M extends ProtocolMessages>(self: Uint8Array, peer: Uint8Array, protocol: Protocol<M>): PeerContext<M> {
    const me = parties.get(toHex(self))!
    const encode = (kind: string, message: unknown): Uint8Array => {
      const codec = (protocol.messages as Record<string, AnyProtocol['messages'][string]>)[kind]
      if (codec === undefined) throw new RangeError(`"kind" ${kind} is not a kind of ${protocol.name}`)
      return encodeCanonical(codec.encode(message as never))
    }
    return {
      peer,
      agent: me.party.agent,
      store: me.party.agent.store,
      clock,
      send(kind, message) {
        if (!linked(self, peer)) return false
        const bytes = encode(kind, message)
        if (silents.has(toHex(peer))) return true
        deliver(self, peer, protocol.name, kind, bytes, false).catch((err) => log.push(`${protocol.name}/${kind} one-way dropped: ${(err as Error).message}`))
        return true
      },
      request(kind, message, options) {
        const bytes = encode(kind, message)
        return requestBytes(self, peer, protocol.name, kind, bytes, options?.timeoutMs ?? 30_000) as Promise<ProtocolReply<M>>
      },
    }
  }

  async function settle(): Promise<void> {
    for (let idle = 0; idle < 3; ) {
      await new Promise((r) => setImmediate(r))
      idle = busy === 0 ? idle + 1 : 0
    }
  }

  return {
    clock,
    party(identity: Identity, agent?: Agent): Party {
      const key = identity.publicKey
      const hosted = new Map<string, AnyProtocol>()
      const party: Party = {
        key,
        agent: agent ?? createAgent({ identity, store: createMemoryStore(), head: 'local' }),
        host<M extends ProtocolMessages>(protocol: Protocol<M>): ProtocolHandle<M> {
          if (!NAME.test(protocol.name)) throw new RangeError(`"protocol.name" malformed: ${protocol.name}`)
          if (hosted.has(protocol.name)) throw new RangeError(`${protocol.name} is hosted already`)
          hosted.set(protocol.name, protocol as unknown as AnyProtocol)
          return {
            clock,
            async peer(other: Uint8Array) {
              if (!parties.has(toHex(other)) || !linked(key, other)) throw new ClosedError('no route to the peer')
              return contextOf(key, other, protocol)
            },
            peers() {
              return [...parties.values()].filter((p) => p.party.key !== key && p.hosted.has(protocol.name) && linked(key, p.party.key)).map((p) => contextOf(key, p.party.key, protocol))
            },
            admit(peer: Uint8Array, reason: string) {
              const mine = admitted.get(toHex(key)) ?? new Map<string, Set<string>>()
              admitted.set(toHex(key), mine)
              const reasons = mine.get(toHex(peer)) ?? new Set<string>()
              mine.set(toHex(peer), reasons.add(reason))
            },
            unadmit(peer: Uint8Array, reason?: string) {
              const reasons = admitted.get(toHex(key))?.get(toHex(peer))
              if (reasons === undefined) return
              if (reason === undefined) reasons.clear()
              else reasons.delete(reason)
              if (reasons.size === 0) admitted.get(toHex(key))!.delete(toHex(peer))
            },
            close() {
              hosted.delete(protocol.name)
            },
          }
        },
      }
      parties.set(toHex(key), { party, hosted })
      return party
    },
    down: (key, down = true) => void (down ? downs.add(toHex(key)) : downs.delete(toHex(key))),
    silent: (key, silent = true) => void (silent ? silents.add(toHex(key)) : silents.delete(toHex(key))),
    cut: (a, b, cut = true) => void (cut ? cuts.add(`${toHex(a)}|${toHex(b)}`) : (cuts.delete(`${toHex(a)}|${toHex(b)}`), cuts.delete(`${toHex(b)}|${toHex(a)}`))),
    state: (key) => (downs.has(toHex(key)) ? 'down' : silents.has(toHex(key)) ? 'silent' : 'up'),
    withhold: (key, protocol, withhold = true) => void (withhold ? withheld.add(`${toHex(key)}|${protocol}`) : withheld.delete(`${toHex(key)}|${protocol}`)),
    inject: (from, to, protocol, kind, body, options) =>
      options?.oneWay === true ? deliver(from, to, protocol, kind, encodeCanonical(body), false) : requestBytes(from, to, protocol, kind, encodeCanonical(body), 30_000),
    settle,
    charged,
    admitted,
    frames,
    log,
  }
}

/** A clock whose timers run only inside `advance`. */
function createTestClock(start: number, settle: () => Promise<void>): TestClock {
  let now = start
  let next = 0
  const timers = new Map<number, { at: number; fn: () => void }>()
  return {
    now: () => now,
    setTimeout(fn: () => void, ms: number) {
      const id = ++next
      timers.set(id, { at: now + (Number.isFinite(ms) && ms > 0 ? ms : 0), fn })
      return id
    },
    clearTimeout(handle: unknown) {
      timers.delete(handle as number)
    },
    async advance(ms: number) {
      const end = now + ms
      for (;;) {
        await settle()
        let due: [number, { at: number; fn: () => void }] | undefined
        for (const t of timers) if (t[1].at <= end && (due === undefined || t[1].at < due[1].at || (t[1].at === due[1].at && t[0] < due[0]))) due = t
        if (due === undefined) break
        timers.delete(due[0])
        now = Math.max(now, due[1].at)
        due[1].fn()
      }
      now = end
      await settle()
    },
  }
}
