/**
 * The node's view of other peers: its neighbours (peers with at least one open, authenticated
 * session) and an address book (where to dial a key). It also picks neighbours at random for
 * gossip (pushes go by the push ring instead: two-hop.ts).
 * @module
 */
import { toHex, type PublicKeyHex, type TransportAddress } from '@tally/core'
import type { PeerInfo } from '../wire/messages.js'
import type { Random } from '../random.js'
import type { Session } from '../wire/session.js'

/** A peer with open sessions. */
export interface Neighbour {
  readonly publicKey: Uint8Array
  readonly hex: PublicKeyHex
  /** Open sessions to this peer, oldest first (two peers that dial each other at once have two). */
  readonly sessions: Session[]
}

/** Neighbours and addresses. */
export class PeerTable {
  readonly #byHex = new Map<PublicKeyHex, Neighbour>()
  readonly #list: Neighbour[] = []
  readonly #index = new Map<PublicKeyHex, number>()
  readonly #addresses = new Map<PublicKeyHex, PeerInfo>()
  readonly #maxAddresses: number

  /** @param maxAddresses addresses kept; the oldest learnt is forgotten first */
  constructor(maxAddresses: number) {
    this.#maxAddresses = maxAddresses
  }

  /** Neighbours now. */
  get size(): number {
    return this.#list.length
  }

  /** Every neighbour (do not mutate). */
  get list(): readonly Neighbour[] {
    return this.#list
  }

  /**
   * Register an open session.
   * @returns the neighbour, and whether it is new (its first session)
   */
  add(session: Session): { neighbour: Neighbour; first: boolean } {
    const hex = session.peerKeyHex
    let n = this.#byHex.get(hex)
    const first = n === undefined
    if (n === undefined) {
      n = { publicKey: session.peerKey, hex, sessions: [] }
      this.#byHex.set(hex, n)
      this.#index.set(hex, this.#list.length)
      this.#list.push(n)
    }
    if (!n.sessions.includes(session)) n.sessions.push(session)
    return { neighbour: n, first }
  }

  /**
   * Forget a closed session.
   * @returns the neighbour, and whether it was its last session (it is then no neighbour any more)
   */
  remove(session: Session): { neighbour: Neighbour | undefined; last: boolean } {
    const hex = session.peerKeyHex
    const n = this.#byHex.get(hex)
    if (n === undefined) return { neighbour: undefined, last: false }
    const i = n.sessions.indexOf(session)
    if (i < 0) return { neighbour: n, last: false }
    n.sessions.splice(i, 1)
    if (n.sessions.length > 0) return { neighbour: n, last: false }
    this.#byHex.delete(hex)
    // swap-remove from the list
    const at = this.#index.get(hex)!
    const lastItem = this.#list.pop()!
    if (lastItem !== n) {
      this.#list[at] = lastItem
      this.#index.set(lastItem.hex, at)
    }
    this.#index.delete(hex)
    return { neighbour: n, last: true }
  }

  /** The neighbour with this key. */
  get(hex: PublicKeyHex): Neighbour | undefined {
    return this.#byHex.get(hex)
  }

  /** An open session to `hex` (the oldest open one), if any. */
  session(hex: PublicKeyHex): Session | undefined {
    const n = this.#byHex.get(hex)
    if (n === undefined) return undefined
    for (const s of n.sessions) if (s.open) return s
    return undefined
  }

  /** Every open session (one list; do not keep it). */
  sessions(): Session[] {
    const out: Session[] = []
    for (const n of this.#list) for (const s of n.sessions) if (s.open) out.push(s)
    return out
  }

  /**
   * Up to `count` distinct neighbours at random.
   * @param count how many
   * @param random the generator
   * @param skip neighbours not to pick
   */
  random(count: number, random: Random, skip?: (n: Neighbour) => boolean): Neighbour[] {
    const list = this.#list
    if (count >= list.length) return skip === undefined ? list.slice() : list.filter((n) => !skip(n))
    const out: Neighbour[] = []
    const taken = new Set<number>()
    // rejection sampling: count is small next to the list in every caller
    for (let tries = 0; out.length < count && tries < count * 4 + 16; tries++) {
      const i = Math.floor(random() * list.length)
      if (taken.has(i)) continue
      taken.add(i)
      const n = list[i]!
      if (skip === undefined || !skip(n)) out.push(n)
    }
    return out
  }

  /**
   * Remember where `publicKey` can be dialled.
   * @param publicKey the peer's key
   * @param address its transport address
   */
  setAddress(publicKey: Uint8Array, address: TransportAddress): void {
    const hex = toHex(publicKey)
    this.#addresses.delete(hex)
    this.#addresses.set(hex, { publicKey, address })
    if (this.#addresses.size > this.#maxAddresses) {
      const oldest = this.#addresses.keys().next().value
      if (oldest !== undefined) this.#addresses.delete(oldest)
    }
  }

  /**
   * Remember an address a peer told of (a peer exchange), unless one is known for the key already:
   * a told address never replaces one dialled or given.
   * @param publicKey the key
   * @param address where the teller says it can be dialled
   */
  hearAddress(publicKey: Uint8Array, address: TransportAddress): void {
    if (!this.#addresses.has(toHex(publicKey))) this.setAddress(publicKey, address)
  }

  /** Where to dial `hex`, if known. */
  address(hex: PublicKeyHex): TransportAddress | undefined {
    return this.#addresses.get(hex)?.address
  }

  /** Up to `max` known addresses, most recently learnt first. */
  addresses(max: number): PeerInfo[] {
    const all = [...this.#addresses.values()]
    return all.slice(Math.max(0, all.length - max)).reverse()
  }
}
