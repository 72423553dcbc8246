/**
 * A searchable index of stream listings, as any node keeps it from the listings that reach it:
 * by area (a bounding box, or a distance from a point), by kind and by price; withdrawn listings
 * dropped, a newer listing of the same sensor by the same owner superseding the older one.
 *
 * Layout: a uniform grid over latitude and longitude (cells of `cellMicrodegrees`, 0.01° ≈ 1.1 km
 * by default), each cell a set of entries. An area search visits the cells the box covers, or
 * scans every entry when the box covers more cells than there are listings (a search of the whole
 * world costs one pass, never 6.5 million empty cells). 100,000 listings in a city-sized area:
 * see `streams.listing_search_ms.100000`.
 *
 * Only blocks that verify (the owner's signature, a well-formed payload) enter; the index is
 * bounded (`maxListings` in all, `maxPerOwner` per owner, remembered withdrawals likewise), so a
 * stranger cannot fill a node's memory.
 * @module
 */
import { auint, blockHash, encodeBlock, isUnilateral, nobleCrypto, toHex, verifyBlock, type CryptoProvider, type HalfBlock } from '@tally/core'
import { STREAM_LISTING, STREAM_WITHDRAW, listingOf, readWithdraw, type Listing } from './listing.js'

/** A listing as the index holds it. */
export interface ListingEntry {
  /** The listing block's hash, hex. */
  readonly id: string
  readonly owner: Uint8Array
  readonly seq: number
  readonly listing: Listing
  /** The block itself (to pass on, or to use as fraud evidence). */
  readonly block: HalfBlock
}

/** A search. Every given criterion must hold. */
export interface ListingQuery {
  /** A box in microdegrees: south ≤ lat ≤ north, west ≤ lon ≤ east (west > east crosses 180°). */
  readonly box?: { readonly south: number; readonly west: number; readonly north: number; readonly east: number }
  /** Within `meters` of a point (microdegrees), great-circle. */
  readonly near?: { readonly lat: number; readonly lon: number; readonly meters: number }
  /** One kind of data. */
  readonly kind?: string
  /** Price per period at most. */
  readonly maxPrice?: number
  /** Results at most (default 100, at most 10,000), nearest first with `near`, else cheapest first. */
  readonly limit?: number
}

/** What `add` did with a block. */
export type AddResult = 'added' | 'superseded' | 'withdrawn' | 'known' | 'older' | 'invalid' | 'full'

/** The index. */
export interface ListingIndex {
  /** Listings held. */
  readonly size: number
  /**
   * Take a listing or withdrawal block (its signature and payload are checked here).
   * @returns what happened; 'invalid' for anything that is not a valid listing or withdrawal
   */
  add(block: HalfBlock): AddResult
  /** A listing by id (block hash, hex). */
  get(id: string): ListingEntry | undefined
  /** The listing of a sensor by any owner, newest first. */
  bySensor(sensor: Uint8Array): ListingEntry[]
  /** Search. @throws TypeError / RangeError on a malformed query */
  search(query: ListingQuery): ListingEntry[]
  /** Every listing, in the order they were added. */
  entries(): IterableIterator<ListingEntry>
  /**
   * A page of listings in the order they were added, for catalog replies: O(max) a page.
   * @param after the cursor a previous page returned (0 for the first)
   * @param max listings at most
   * @param maxBytes encoded blocks at most, in bytes (default: no limit; at least one listing)
   * @returns the listings and the next cursor (0 when none are left)
   */
  page(after: number, max: number, maxBytes?: number): { entries: ListingEntry[]; next: number }
}

/** Options of createListingIndex. */
export interface ListingIndexOptions {
  /** Cell size in microdegrees (default 10,000 = 0.01°). */
  readonly cellMicrodegrees?: number
  /** Listings held at most (default 1,000,000). */
  readonly maxListings?: number
  /** Listings of one owner at most (default 10,000). */
  readonly maxPerOwner?: number
  /** Provider for signatures (default nobleCrypto). */
  readonly crypto?: CryptoProvider
  /** Skip the signature check (blocks already verified, e.g. from the node's store). */
  readonly trusted?: boolean
}

const LAT_CELLS_MAX = 1 << 20

/**
 * A new, empty index.
 * @param options grid and limits
 * @returns the index
 * @example const index = createListingIndex(); index.add(block); index.search({ near: { lat, lon, meters: 500 }, kind: 'parking' })
 */
export function createListingIndex(options: ListingIndexOptions = {}): ListingIndex {
  const cell = auint('cellMicrodegrees', options.cellMicrodegrees ?? 10_000, 100, 10_000_000)
  const maxListings = auint('maxListings', options.maxListings ?? 1_000_000, 1)
  const maxPerOwner = auint('maxPerOwner', options.maxPerOwner ?? 10_000, 1)
  const crypto = options.crypto ?? nobleCrypto
  const lonCells = Math.ceil(360_000_000 / cell) + 1
  const grid = new Map<number, Set<ListingEntry>>()
  const byId = new Map<string, ListingEntry>()
  // owner hex + sensor hex → the live entry; owner hex + seq → entry; owner hex → count
  const bySlot = new Map<string, ListingEntry>()
  const byOwnerSeq = new Map<string, ListingEntry>()
  const perOwner = new Map<string, number>()
  const withdrawn = new Set<string>()
  // sensor hex → its live entries (by any owner)
  const bySensorHex = new Map<string, Set<ListingEntry>>()
  // insertion order with holes where entries left; compacted when holes outnumber entries
  let order: (ListingEntry | undefined)[] = []
  const slotOf = new Map<ListingEntry, number>()
  let holes = 0

  const cellOf = (lat: number, lon: number): number => Math.floor((lat + 90_000_000) / cell) * lonCells + Math.floor((lon + 180_000_000) / cell)
  const remove = (e: ListingEntry, owner: string): void => {
    byId.delete(e.id)
    bySlot.delete(`${owner}:${toHex(e.listing.sensor)}`)
    byOwnerSeq.delete(`${owner}:${e.seq}`)
    perOwner.set(owner, (perOwner.get(owner) ?? 1) - 1)
    const c = cellOf(e.listing.lat, e.listing.lon)
    const set = grid.get(c)
    set?.delete(e)
    if (set?.size === 0) grid.delete(c)
    const sensorHex = toHex(e.listing.sensor)
    const same = bySensorHex.get(sensorHex)
    same?.delete(e)
    if (same?.size === 0) bySensorHex.delete(sensorHex)
    const at = slotOf.get(e)
    slotOf.delete(e)
    if (at !== undefined) {
      order[at] = undefined
      holes++
    }
    if (holes > 1024 && holes > slotOf.size) {
      order = order.filter((x) => x !== undefined)
      order.forEach((x, i) => slotOf.set(x!, i))
      holes = 0
    }
  }

  const index: ListingIndex = {
    get size() {
      return byId.size
    },
    add(block) {
      if (!isUnilateral(block) || (block.type !== STREAM_LISTING && block.type !== STREAM_WITHDRAW)) return 'invalid'
      if (options.trusted !== true && !verifyBlock(block, crypto)) return 'invalid'
      const owner = toHex(block.publicKey)
      if (block.type === STREAM_WITHDRAW) {
        const seq = readWithdraw(block.payload)
        if (seq === undefined || seq >= block.seq) return 'invalid'
        const key = `${owner}:${seq}`
        if (withdrawn.has(key)) return 'known'
        if (withdrawn.size >= maxListings) return 'full'
        withdrawn.add(key)
        const live = byOwnerSeq.get(key)
        if (live !== undefined) remove(live, owner)
        return 'withdrawn'
      }
      const listing = listingOf(block)
      if (listing === undefined) return 'invalid'
      if (withdrawn.has(`${owner}:${block.seq}`)) return 'withdrawn'
      const id = toHex(blockHash(block, crypto))
      if (byId.has(id)) return 'known'
      const slot = `${owner}:${toHex(listing.sensor)}`
      const before = bySlot.get(slot)
      if (before !== undefined && before.seq >= block.seq) return 'older'
      if (before === undefined && (byId.size >= maxListings || (perOwner.get(owner) ?? 0) >= maxPerOwner)) return 'full'
      if (before !== undefined) remove(before, owner)
      const entry: ListingEntry = Object.freeze({ id, owner: block.publicKey, seq: block.seq, listing, block })
      byId.set(id, entry)
      bySlot.set(slot, entry)
      byOwnerSeq.set(`${owner}:${block.seq}`, entry)
      perOwner.set(owner, (perOwner.get(owner) ?? 0) + 1)
      const c = cellOf(listing.lat, listing.lon)
      let set = grid.get(c)
      if (set === undefined) grid.set(c, (set = new Set()))
      set.add(entry)
      const sensorHex = toHex(listing.sensor)
      let same = bySensorHex.get(sensorHex)
      if (same === undefined) bySensorHex.set(sensorHex, (same = new Set()))
      same.add(entry)
      slotOf.set(entry, order.length)
      order.push(entry)
      return before === undefined ? 'added' : 'superseded'
    },
    get: (id) => byId.get(id),
    bySensor(sensor) {
      return [...(bySensorHex.get(toHex(sensor)) ?? [])].sort((a, b) => b.block.timestamp - a.block.timestamp)
    },
    entries: () => byId.values(),
    page(after, max, maxBytes = Infinity) {
      auint('after', after)
      auint('max', max, 1)
      const entries: ListingEntry[] = []
      let bytes = 0
      let i = after
      for (; i < order.length && entries.length < max; i++) {
        const e = order[i]
        if (e === undefined) continue
        bytes += encodeBlock(e.block).length + 4
        if (bytes > maxBytes && entries.length > 0) break
        entries.push(e)
      }
      return { entries, next: i < order.length ? i : 0 }
    },
    search(query) {
      const limit = auint('limit', query?.limit ?? 100, 1, 10_000)
      if (query.kind !== undefined && typeof query.kind !== 'string') throw new TypeError('"kind" expected a string')
      if (query.maxPrice !== undefined) auint('maxPrice', query.maxPrice)
      const box = query.box ?? (query.near === undefined ? undefined : boxAround(query.near))
      if (box !== undefined) {
        for (const k of ['south', 'west', 'north', 'east'] as const) {
          if (!Number.isSafeInteger(box[k])) throw new TypeError(`"box.${k}" expected an integer (microdegrees)`)
        }
        if (box.south > box.north) throw new RangeError('"box" south above north')
      }
      const near = query.near
      const match = (e: ListingEntry): boolean => {
        const l = e.listing
        if (query.kind !== undefined && l.kind !== query.kind) return false
        if (query.maxPrice !== undefined && l.price > query.maxPrice) return false
        if (box !== undefined && !inBox(box, l.lat, l.lon)) return false
        if (near !== undefined && distanceMeters(near.lat, near.lon, l.lat, l.lon) > near.meters) return false
        return true
      }
      const found: ListingEntry[] = []
      if (box === undefined || cellsIn(box, cell) > byId.size) {
        for (const e of byId.values()) if (match(e)) found.push(e)
      } else {
        const s = Math.floor((Math.max(box.south, -90_000_000) + 90_000_000) / cell)
        const n = Math.floor((Math.min(box.north, 90_000_000) + 90_000_000) / cell)
        for (const [w, east] of lonRanges(box)) {
          const a = Math.floor((w + 180_000_000) / cell)
          const b = Math.floor((east + 180_000_000) / cell)
          for (let y = s; y <= n && y < LAT_CELLS_MAX; y++) {
            for (let x = a; x <= b; x++) {
              const set = grid.get(y * lonCells + x)
              if (set !== undefined) for (const e of set) if (match(e)) found.push(e)
            }
          }
        }
      }
      if (near !== undefined) {
        const d = new Map(found.map((e) => [e, distanceMeters(near.lat, near.lon, e.listing.lat, e.listing.lon)]))
        found.sort((x, y) => d.get(x)! - d.get(y)!)
      } else found.sort((x, y) => x.listing.price - y.listing.price || (x.id < y.id ? -1 : 1))
      return found.slice(0, limit)
    },
  }
  return index
}

/**
 * Great-circle distance (haversine, mean Earth radius) between two points in microdegrees.
 * @returns meters
 * @example distanceMeters(45_070_000, 7_686_000, 45_071_000, 7_686_000) // ≈ 111
 */
export function distanceMeters(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180e6
  const dLat = (lat2 - lat1) * rad
  const dLon = (lon2 - lon1) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2
  return 2 * 6_371_008.8 * Math.asin(Math.min(1, Math.sqrt(h)))
}

// ## Private helpers

type Box = NonNullable<ListingQuery['box']>

function boxAround(near: NonNullable<ListingQuery['near']>): Box {
  if (!Number.isSafeInteger(near.lat) || !Number.isSafeInteger(near.lon)) throw new TypeError('"near.lat" and "near.lon" expected integers (microdegrees)')
  if (typeof near.meters !== 'number' || !(near.meters >= 0)) throw new RangeError('"near.meters" expected a number ≥ 0')
  const dLat = Math.ceil((near.meters / 111_194.9) * 1e6) + 1
  const cos = Math.cos((Math.min(89_000_000, Math.abs(near.lat)) * Math.PI) / 180e6)
  const dLon = Math.min(180_000_000, Math.ceil((near.meters / (111_194.9 * cos)) * 1e6) + 1)
  const wrap = (x: number): number => (x > 180_000_000 ? x - 360_000_000 : x < -180_000_000 ? x + 360_000_000 : x)
  return dLon >= 180_000_000
    ? { south: near.lat - dLat, north: near.lat + dLat, west: -180_000_000, east: 180_000_000 }
    : { south: near.lat - dLat, north: near.lat + dLat, west: wrap(near.lon - dLon), east: wrap(near.lon + dLon) }
}

function inBox(b: Box, lat: number, lon: number): boolean {
  if (lat < b.south || lat > b.north) return false
  return b.west <= b.east ? lon >= b.west && lon <= b.east : lon >= b.west || lon <= b.east
}

function lonRanges(b: Box): [number, number][] {
  const clamp = (x: number): number => Math.max(-180_000_000, Math.min(180_000_000, x))
  return b.west <= b.east ? [[clamp(b.west), clamp(b.east)]] : [[clamp(b.west), 180_000_000], [-180_000_000, clamp(b.east)]]
}

function cellsIn(b: Box, cell: number): number {
  const rows = Math.floor((Math.min(b.north, 90_000_000) - Math.max(b.south, -90_000_000)) / cell) + 1
  const width = b.west <= b.east ? b.east - b.west : 360_000_000 - (b.west - b.east)
  return Math.max(0, rows) * (Math.floor(width / cell) + 2)
}
