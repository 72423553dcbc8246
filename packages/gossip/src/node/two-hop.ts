/**
 * The two-hop table: the peers a node reaches in one hop (its neighbours) or in two (the peers
 * each neighbour named in its last `neighbours` message), each by its 8-byte id (the first 8 bytes
 * of its key), and which of them are nearest to a slot on the push ring (rendezvous.ts). A party
 * pushes a new block to the `pushFanout` nearest: directly when the peer is a neighbour, else in a
 * `push-via` to the neighbour that named it.
 *
 * Every list is kept sorted by ring position, so the nearest entries of one list lie within a few
 * steps of its binary-search point: `nearest` costs O(lists × (log(list) + count)), not
 * O(lists × entries). A list entry takes 12 bytes (position and id words), because a node of a
 * 10,000-peer overlay holds ~200 lists of ~200 entries.
 * @module
 */
import type { Random } from '../random.js'
import { keyWords, ringDistance, ringPosition, ringSearch } from './rendezvous.js'

/** Bytes of a peer id: the first 8 bytes of its public key. */
export const PEER_ID_BYTES = 8

/** A peer to push a block to. */
export interface RingTarget<N> {
  /** The peer's 8-byte id. */
  readonly id: Uint8Array
  /** The neighbour to send the block through (a `push-via`), or undefined: the peer is a neighbour. */
  readonly via: N | undefined
  /** ringDistance of the peer from the slot. */
  readonly distance: number
}

/** One peer list, sorted by ring position (build it with ringList). */
export interface RingList {
  readonly positions: Uint32Array
  /** Id words, two per entry (keyWords of the id), in the order of `positions`. */
  readonly words: Uint32Array
}

/** A peer chosen by nearestInLists: its id words, its distance from the slot, and the list's owner (undefined: the own list). */
export interface RingChoice<V> {
  readonly w0: number
  readonly w1: number
  readonly distance: number
  readonly via: V | undefined
}

/**
 * The push-target rule, shared by the node (TwoHopTable.nearest) and the simulator's model: the
 * `count` peers nearest to `slot` (smallest ringDistance) among the own list and the lists that
 * neighbours announced, leaving out the peers in `skip`; each peer once, and directly (via
 * undefined) when it is in the own list.
 * @param own this node's neighbours
 * @param announced each neighbour's announced list, by the neighbour
 * @param slot slotWord(key, seq) of the block
 * @param count how many at most
 * @param skip id words never chosen (this node, the block's owner and its link)
 * @returns up to `count` choices, nearest first
 * @example nearestInLists(own, lists, slotWord(key, seq), 3, [self, keyWords(key), keyWords(link)])
 */
export function nearestInLists<V>(own: RingList, announced: Iterable<readonly [V, RingList]>, slot: number, count: number, skip: readonly (readonly [number, number])[]): RingChoice<V>[] {
  if (count <= 0) return []
  // the nearest `count` of a list that are not skipped lie within count + |skipped| steps of the
  // search point on each side (each peer is in a list at most once)
  const span = count + skip.length
  const best: RingChoice<V>[] = []
  const consider = (w0: number, w1: number, distance: number, via: V | undefined): void => {
    if (best.length === count && distance >= best[count - 1]!.distance) return
    for (const s of skip) if (s[0] === w0 && s[1] === w1) return
    for (const b of best) if (b.w0 === w0 && b.w1 === w1) return
    const c: RingChoice<V> = { w0, w1, distance, via }
    let i = best.length < count ? best.push(c) - 1 : count - 1
    best[i] = c
    for (; i > 0 && best[i - 1]!.distance > distance; i--) {
      best[i] = best[i - 1]!
      best[i - 1] = c
    }
  }
  const visit = (list: RingList, via: V | undefined): void => {
    const { positions, words } = list
    const len = positions.length
    if (len === 0) return
    const at = ringSearch(positions, slot)
    const steps = Math.min(len, span)
    for (let e = 0; e < steps; e++) {
      const up = (at + e) % len
      const down = (at - 1 - e + len) % len
      const du = ringDistance(slot, positions[up]!)
      const dd = ringDistance(slot, positions[down]!)
      // each way round, the entries further on are further from the slot (an entry past the
      // antipode was met the other way, nearer): once both are no nearer than the last choice,
      // nothing further in this list can join
      if (best.length === count && du >= best[count - 1]!.distance && dd >= best[count - 1]!.distance) return
      consider(words[2 * up]!, words[2 * up + 1]!, du, via)
      consider(words[2 * down]!, words[2 * down + 1]!, dd, via)
    }
  }
  // own neighbours first: a neighbour among the nearest is in `best` before any list names it,
  // and a repeat never displaces an entry, so a neighbour is always a direct target
  visit(own, undefined)
  for (const [n, list] of announced) visit(list, n)
  return best
}

/**
 * The push-target rule of a party (shared by the node, TwoHopTable.pushTargets, and the
 * simulator's model): `count` peers, of which up to count - 1 are the **owner's neighbours**
 * nearest the slot (from the list the block's owner announced to this node), and the rest the
 * nearest of the two-hop neighbourhood (nearestInLists).
 *
 * Why the owner's neighbours: both blocks of a fork are spread by their counterparties, and
 * every counterparty of a chain is a neighbour of its owner, so each holds the same announced
 * list of the owner's neighbours and picks the same peers there: the two blocks meet. The
 * two-hop neighbourhoods of the two counterparties are alike only when they cover the network
 * (10,000 peers knowing 100); at 1,000 peers knowing 20 each covers ~80% of it, and the three
 * nearest of one missed the three nearest of the other for ~1% of forks, which no pull found
 * after (two blocks at 7 peers each). An owner's peer is reached directly, else through another
 * neighbour that names it, else through the owner itself, which named it: so the two
 * counterparties pick the same peers whatever their own neighbourhoods. A forker that does not
 * relay pushes of its own blocks, or names different neighbours to different peers, leaves the
 * ring's target (at least one: count - 1 owner's peers at most) and pulls to do the work, as
 * before this rule.
 * @param own this node's neighbours
 * @param announced each neighbour's announced list, by the neighbour (iterated more than once)
 * @param owner the block's owner as a neighbour (its handle), if it is one
 * @param ownerList the list the owner announced, if any
 * @param slot slotWord(key, seq) of the block
 * @param count how many at most (pushFanout)
 * @param skip id words never chosen (this node, the block's owner and its link)
 * @returns up to `count` choices: the owner's neighbours first, nearest first, then the ring's
 * @example pushTargetsInLists(own, lists, owner, lists.get(owner), slotWord(key, seq), 3, skip)
 */
export function pushTargetsInLists<V>(own: RingList, announced: Iterable<readonly [V, RingList]>, owner: V | undefined, ownerList: RingList | undefined, slot: number, count: number, skip: readonly (readonly [number, number])[]): RingChoice<V>[] {
  if (count <= 0) return []
  const out: RingChoice<V>[] = []
  const wanted = ownerList === undefined || owner === undefined ? 0 : count - 1
  if (wanted > 0) {
    const { positions, words } = ownerList!
    const len = positions.length
    const at = ringSearch(positions, slot)
    // the entries in order of distance: the two ways round from the search point, merged
    let up = 0
    let down = 0
    for (let seen = 0; seen < len && out.length < wanted; seen++) {
      const iu = (at + up) % len
      const id = (at - 1 - down + len) % len
      const du = ringDistance(slot, positions[iu]!)
      const dd = ringDistance(slot, positions[id]!)
      const i = du <= dd ? iu : id
      if (i === iu) up++
      else down++
      const w0 = words[2 * i]!
      const w1 = words[2 * i + 1]!
      if (skip.some((k) => k[0] === w0 && k[1] === w1) || out.some((c) => c.w0 === w0 && c.w1 === w1)) continue
      const position = positions[i]!
      if (listHas(own, w0, w1, position)) {
        out.push({ w0, w1, distance: ringDistance(slot, position), via: undefined })
        continue
      }
      // through another neighbour that names it, else through the owner (which named it to
      // every counterparty alike: so both sides of a fork pick the same peers)
      let via: V = owner!
      for (const [v, list] of announced) {
        if (v === owner || !listHas(list, w0, w1, position)) continue
        via = v
        break
      }
      out.push({ w0, w1, distance: ringDistance(slot, position), via })
    }
  }
  const rest = nearestInLists(own, announced, slot, count - out.length, [...skip, ...out.map((c): [number, number] => [c.w0, c.w1])])
  return [...out, ...rest]
}

/** Whether a ring list holds the peer of id words (w0, w1) at `position` (its ringPosition). */
function listHas(list: RingList, w0: number, w1: number, position: number): boolean {
  const { positions, words } = list
  for (let i = ringSearch(positions, position); i < positions.length && positions[i] === position; i++) {
    if (words[2 * i] === w0 && words[2 * i + 1] === w1) return true
  }
  return false
}

/**
 * A ring list from (position, w0, w1) entries: sorted by position, each id once.
 * @param entries [ringPosition, w0, w1] of each peer (sorted in place)
 * @returns the list
 */
export function ringList(entries: [number, number, number][]): RingList {
  entries.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2])
  const kept = entries.filter((e, i) => i === 0 || e[1] !== entries[i - 1]![1] || e[2] !== entries[i - 1]![2])
  const positions = Uint32Array.from(kept, (e) => e[0])
  const words = new Uint32Array(2 * kept.length)
  kept.forEach((e, i) => {
    words[2 * i] = e[1]
    words[2 * i + 1] = e[2]
  })
  return { positions, words }
}

/**
 * Neighbours, the lists they announced, and the search over both.
 * @example
 * const table = new TwoHopTable<Neighbour>(myKey)
 * table.add(n, n.publicKey)
 * table.announce(n, message.ids)
 * for (const t of table.nearest(slotWord(block.publicKey, block.seq), 3, [block.publicKey, block.linkPublicKey])) ...
 */
export class TwoHopTable<N> {
  readonly #self: readonly [number, number]
  readonly #direct = new Map<string, N>()
  readonly #ids = new Map<N, readonly [number, number]>()
  readonly #announced = new Map<N, RingList>()
  #own: RingList | undefined
  /** The neighbours this node names in its own list (ids()): a sample that changes only when it must. */
  readonly #sample = new Set<N>()
  #sampleVersion = 0
  #sentVersion = -1

  /** @param self this node's public key (or its id): never a target */
  constructor(self: Uint8Array) {
    this.#self = keyWords(self)
  }

  /** Neighbours now. */
  get size(): number {
    return this.#ids.size
  }

  /**
   * A neighbour came (its first session opened).
   * @param neighbour the caller's handle for it
   * @param publicKey its key (or its id)
   */
  add(neighbour: N, publicKey: Uint8Array): void {
    if (this.#ids.has(neighbour)) return
    const words = keyWords(publicKey)
    this.#ids.set(neighbour, words)
    const key = idKey(words[0], words[1])
    // two neighbours whose keys share 8 bytes: the first one keeps the id
    if (!this.#direct.has(key)) this.#direct.set(key, neighbour)
    this.#own = undefined
  }

  /**
   * A neighbour went (its last session closed): forget it and the list it announced.
   * @param neighbour as given to add
   */
  remove(neighbour: N): void {
    const words = this.#ids.get(neighbour)
    if (words === undefined) return
    this.#ids.delete(neighbour)
    this.#announced.delete(neighbour)
    if (this.#sample.delete(neighbour)) this.#sampleVersion++
    const key = idKey(words[0], words[1])
    if (this.#direct.get(key) === neighbour) {
      this.#direct.delete(key)
      // another neighbour with the same id takes it over
      for (const [n, w] of this.#ids) {
        if (w[0] === words[0] && w[1] === words[1]) {
          this.#direct.set(key, n)
          break
        }
      }
    }
    this.#own = undefined
  }

  /**
   * Replace the list of peers `neighbour` announced. Ids that are not 8 bytes long, and repeats,
   * are left out; a neighbour not added is ignored.
   * @param neighbour as given to add
   * @param ids the ids it announced
   */
  announce(neighbour: N, ids: readonly Uint8Array[]): void {
    if (!this.#ids.has(neighbour)) return
    const entries: [number, number, number][] = []
    for (const id of ids) {
      if (!(id instanceof Uint8Array) || id.length !== PEER_ID_BYTES) continue
      const [w0, w1] = keyWords(id)
      entries.push([ringPosition(w0, w1), w0, w1])
    }
    this.#announced.set(neighbour, ringList(entries))
  }

  /**
   * The neighbour whose key starts with `id`.
   * @param id 8 bytes (or a whole key)
   */
  direct(id: Uint8Array): N | undefined {
    const [w0, w1] = keyWords(id)
    return this.#direct.get(idKey(w0, w1))
  }

  /**
   * Ids of the neighbours this node names in its own `neighbours` message: all of them up to
   * `max`, else a random sample of `max` that stays as it is while its members stay (a member
   * that goes is replaced by a random other neighbour; a newcomer joins only a sample short of
   * `max`). So a node with n neighbours sends at most `max` ids to each, and when its neighbours
   * come and go outside the sample its list does not change: nothing to tell them (see
   * `changedSinceSent`). Without the cap a hub with n neighbours sent n ids to each of n
   * neighbours at every change, O(n²) bytes a round.
   * @param max at most this many (limits.maxNeighbourIds: what a peer accepts)
   * @param random the generator of the sample's choices (the node's, so a simulation replays)
   * @returns 8-byte ids
   */
  ids(max: number, random: Random = Math.random): Uint8Array[] {
    this.#fillSample(max, random)
    // views of one buffer: a list of 200 ids is one allocation, not 200
    const count = this.#sample.size
    const bytes = new Uint8Array(count * PEER_ID_BYTES)
    const view = new DataView(bytes.buffer)
    const out: Uint8Array[] = []
    for (const n of this.#sample) {
      const [w0, w1] = this.#ids.get(n)!
      const at = out.length * PEER_ID_BYTES
      view.setUint32(at, w0)
      view.setUint32(at + 4, w1)
      out.push(bytes.subarray(at, at + PEER_ID_BYTES))
    }
    return out
  }

  /**
   * Whether the list ids(max) gives now differs from the one it gave at the last call of this
   * method (true at the first call); records the list as sent.
   * @param max as for ids
   * @param random as for ids
   * @returns true when the neighbours must be told
   */
  changedSinceSent(max: number, random: Random = Math.random): boolean {
    this.#fillSample(max, random)
    if (this.#sentVersion === this.#sampleVersion) return false
    this.#sentVersion = this.#sampleVersion
    return true
  }

  // the sample: members that went are gone already (remove); top it up to `max` at random
  #fillSample(max: number, random: Random): void {
    const sample = this.#sample
    if (sample.size > max) {
      // a smaller cap than before: keep the first `max`
      for (const n of sample) {
        if (sample.size <= max) break
        sample.delete(n)
      }
      this.#sampleVersion++
    }
    if (sample.size >= max || sample.size >= this.#ids.size) return
    const others: N[] = []
    for (const n of this.#ids.keys()) if (!sample.has(n)) others.push(n)
    // every other fits: no choice to make (and no draw from the node's generator)
    if (others.length <= max - sample.size) for (const n of others.splice(0)) sample.add(n)
    while (sample.size < max && others.length > 0) {
      const i = Math.floor(random() * others.length)
      sample.add(others[i]!)
      others[i] = others[others.length - 1]!
      others.pop()
    }
    this.#sampleVersion++
  }

  /**
   * The peers nearest to `slot` on the ring (smallest ringDistance) among this node's neighbours
   * and the peers they announced, but this node and the peers in `skip`; each once, and directly
   * (via undefined) when it is a neighbour.
   * @param slot slotWord(key, seq) of the block
   * @param count how many at most
   * @param skip peers never chosen (keys or ids: the block's owner and its link)
   * @returns up to `count` targets, nearest first
   */
  nearest(slot: number, count: number, skip: readonly Uint8Array[] = []): RingTarget<N>[] {
    const skipWords = [this.#self, ...skip.map((k) => keyWords(k))]
    return nearestInLists(this.#ownList(), this.#announced, slot, count, skipWords).map((c) => ({ id: idBytes(c.w0, c.w1), via: c.via, distance: c.distance }))
  }

  /**
   * A party's push targets for a block (pushTargetsInLists): up to count - 1 of the owner's
   * neighbours nearest the slot, when the owner is a neighbour that announced its list and this
   * node reaches them without it, then the nearest of the two-hop neighbourhood.
   * @param slot slotWord(key, seq) of the block
   * @param count how many at most
   * @param owner the block's owner (key), never a target nor a relay to its own neighbours
   * @param link the block's link (key), never a target
   * @returns up to `count` targets
   */
  pushTargets(slot: number, count: number, owner: Uint8Array, link: Uint8Array): RingTarget<N>[] {
    const skipWords = [this.#self, keyWords(owner), keyWords(link)]
    const ownerN = this.direct(owner)
    const ownerList = ownerN === undefined ? undefined : this.#announced.get(ownerN)
    return pushTargetsInLists(this.#ownList(), this.#announced, ownerN, ownerList, slot, count, skipWords).map((c) => ({ id: idBytes(c.w0, c.w1), via: c.via, distance: c.distance }))
  }

  // the list of own neighbours, rebuilt after a change
  #ownList(): RingList {
    if (this.#own !== undefined) return this.#own
    const entries: [number, number, number][] = []
    for (const [w0, w1] of this.#ids.values()) entries.push([ringPosition(w0, w1), w0, w1])
    this.#own = ringList(entries)
    return this.#own
  }
}

// ## Private helpers

function idKey(w0: number, w1: number): string {
  return `${w0}:${w1}`
}

function idBytes(w0: number, w1: number): Uint8Array {
  const id = new Uint8Array(PEER_ID_BYTES)
  const view = new DataView(id.buffer)
  view.setUint32(0, w0)
  view.setUint32(4, w1)
  return id
}
