/**
 * Admission: the peers a node treats as known although it never transacted with them — the other
 * witnesses of its community, the hosts a witness registered, a wallet's gateway or relay. An
 * admitted peer's sessions get the node's own limits (NodeOptions.limits) and stay outside the
 * strangers' shared budget (wire/read-gate.ts), as a counterparty's do; everyone else that is no
 * counterparty is a stranger.
 *
 * Who admits: only this node's own code — its operator (NodeOptions.known, node.admit) or a
 * protocol it hosts (ProtocolHandle.admit, tagged with the protocol's name), each deciding from
 * what it knows (a community configuration, a registration it applied), never from what a peer
 * says of itself: no wire message admits anyone.
 *
 * Bounded: at most `max` keys at once (default MAX_ADMITTED); admitting one more throws an
 * AdmissionError (code ERR_ADMISSION_FULL) and changes nothing, so a protocol that admits on some
 * event cannot be made to grow the set without end. Revocable: a key is admitted for as long as
 * any of its reasons stands (`unadmit(key, reason)` drops one, `unadmit(key)` all); the node puts
 * its open sessions back on the stranger limits and behind the gate when the last one goes.
 * @module
 */
import { abytes, toHex, type PublicKeyHex } from '@tally/core'
import { AdmissionError } from '../errors.js'
import type { NodeContext } from './context.js'

/** Keys admitted at once by default. */
export const MAX_ADMITTED = 4096

/** Longest reason (a short label: 'witness', 'operator', 'tally/economy/sync/1:witness'). */
const MAX_REASON = 128

/** One admitted peer, as `node.admitted` lists it. */
export interface Admitted {
  readonly publicKey: Uint8Array
  /** Why, one label per admitter ('operator', or '<protocol name>:<label>' for a protocol's). */
  readonly reasons: readonly string[]
}

/** The admitted keys of a node, each with the reasons it is admitted for. */
export class Admissions {
  readonly max: number
  readonly #keys = new Map<PublicKeyHex, { readonly key: Uint8Array; readonly reasons: Set<string> }>()

  /**
   * @param max keys admitted at once
   * @throws RangeError when `max` is not a positive integer
   */
  constructor(max: number = MAX_ADMITTED) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`"maxAdmitted" expected a positive integer, got ${String(max)}`)
    this.max = max
  }

  /** Keys admitted now. */
  get size(): number {
    return this.#keys.size
  }

  /** True when `publicKey` is admitted (for any reason). */
  has(publicKey: Uint8Array): boolean {
    return this.#keys.has(toHex(publicKey))
  }

  /**
   * Admit `publicKey` for `reason`.
   * @returns true when the key was not admitted before (its sessions must be lifted)
   * @throws TypeError / RangeError on a malformed key or reason; AdmissionError when `max` keys are
   *   admitted already (a reason added to a key already admitted always fits)
   */
  admit(publicKey: Uint8Array, reason: string): boolean {
    abytes('publicKey', publicKey, 32)
    checkReason(reason)
    const hex = toHex(publicKey)
    const held = this.#keys.get(hex)
    if (held !== undefined) {
      held.reasons.add(reason)
      return false
    }
    if (this.#keys.size >= this.max) {
      throw new AdmissionError(`${this.max} peers are admitted already: unadmit one first, or raise NodeOptions.maxAdmitted`)
    }
    this.#keys.set(hex, { key: publicKey.slice(), reasons: new Set([reason]) })
    return true
  }

  /**
   * Drop `reason` (or, without one, every reason) for `publicKey`.
   * @returns true when the key is admitted no longer (its sessions must be put back)
   */
  unadmit(publicKey: Uint8Array, reason?: string): boolean {
    abytes('publicKey', publicKey, 32)
    const hex = toHex(publicKey)
    const held = this.#keys.get(hex)
    if (held === undefined) return false
    if (reason === undefined) held.reasons.clear()
    else held.reasons.delete(reason)
    if (held.reasons.size > 0) return false
    this.#keys.delete(hex)
    return true
  }

  /**
   * Drop every reason that starts with `prefix` (a protocol's, when it stops being hosted), of
   * every key or of `only`.
   * @returns the keys admitted no longer
   */
  unadmitAll(prefix: string, only?: Uint8Array): Uint8Array[] {
    const gone: Uint8Array[] = []
    const onlyHex = only === undefined ? undefined : toHex(only)
    for (const [hex, held] of this.#keys) {
      if (onlyHex !== undefined && hex !== onlyHex) continue
      for (const r of held.reasons) if (r.startsWith(prefix)) held.reasons.delete(r)
      if (held.reasons.size === 0) {
        this.#keys.delete(hex)
        gone.push(held.key)
      }
    }
    return gone
  }

  /** Every admitted key with its reasons. */
  list(): Admitted[] {
    return [...this.#keys.values()].map((h) => ({ publicKey: h.key.slice(), reasons: [...h.reasons] }))
  }
}

function checkReason(reason: unknown): void {
  if (typeof reason !== 'string') throw new TypeError(`"reason" expected a string, got ${typeof reason}`)
  if (reason.length < 1 || reason.length > MAX_REASON) throw new RangeError(`"reason" expected 1..${MAX_REASON} characters, got length=${reason.length}`)
}

// ## The node's side

/** True when `publicKey`'s sessions get the node's own limits: a counterparty, or admitted. */
export function isKnown(ctx: NodeContext, publicKey: Uint8Array): boolean {
  return ctx.quota.isCounterparty(publicKey) || ctx.admitted.has(publicKey)
}

/**
 * Put `publicKey`'s open sessions on the limits its standing calls for now: the node's limits and
 * no gate when it is known (a counterparty or admitted), else the stranger limits behind the
 * strangers' gate (a revoked admission; reading is held from the next frame the gate is in debt).
 */
export function restand(ctx: NodeContext, publicKey: Uint8Array): void {
  const known = isKnown(ctx, publicKey)
  for (const session of ctx.peers.get(toHex(publicKey))?.sessions ?? []) {
    session.setLimits(known ? ctx.limits : ctx.strangerLimits)
    session.setGate(known ? undefined : ctx.strangerGate)
  }
}
