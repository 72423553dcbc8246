/**
 * Stream listings: a `stream-listing` block in the sensor owner's chain says "this sensor's stream
 * is for sale", and a `stream-withdraw` block in the same chain takes it off the market. Both are
 * unilateral, so they spread as any block does and anyone checks them with the owner's key alone.
 *
 * Payloads (canonical CBOR maps with exactly these keys, one encoding each; at most 1 KiB):
 *
 *   stream-listing   { device: tstr (1–64), sensor: bstr(32), lat: int, lon: int, kind: tstr,
 *                      price: uint ≥ 1, period: uint, start: uint, served: [tstr (1–256)] (1–4) }
 *   stream-withdraw  { listing: uint ≥ 1 }                   the seq of a listing of this chain
 *
 * - `sensor` is the key that signs the stream's messages and its key grants (the stream's id);
 *   the owner, whose chain holds the listing, is paid and answers for it: stream fraud proofs
 *   accuse the owner, with the listing as evidence (fraud.ts).
 * - `lat`, `lon` in microdegrees (integers: no floats in signed CBOR), within ±90° and ±180°.
 * - `kind` names the data: 1–32 characters of `a-z0-9-` ('air-quality', 'parking', 'noise').
 * - `price` is per period, in the community's smallest unit; `period` is the key period in ms
 *   (1 s to 31 days); `start` the time (ms since 1970) at which period 0 begins.
 * - `served` lists where the stream is served (node addresses, e.g. `ws://host:port/`).
 *
 * The listing's id is its block hash; a later listing of the same sensor by the same owner
 * supersedes an earlier one (a new price), and a withdrawal removes the one it names.
 * @module
 */
import {
  encodeCanonical,
  equalBytes,
  isUnilateral,
  type BlockType,
  type CborValue,
  type HalfBlock,
  type TypeVerdict,
} from '@tally/core'
import { asMap, hasExactKeys, isBytes, isInt, isUint, violation } from '../util.js'
import { STREAM_FORK_FRAUD, STREAM_BAD_KEY_FRAUD, verifyStreamBadKey, verifyStreamFork } from './fraud.js'

/** Block type names. */
export const STREAM_LISTING = 'stream-listing'
export const STREAM_WITHDRAW = 'stream-withdraw'

/** Limits of a listing. */
export const LISTING_LIMITS: Readonly<{ maxPayloadBytes: number; maxDevice: number; maxKind: number; maxServed: number; maxAddress: number; minPeriodMs: number; maxPeriodMs: number }> = Object.freeze({
  maxPayloadBytes: 1024,
  maxDevice: 64,
  maxKind: 32,
  maxServed: 4,
  maxAddress: 256,
  minPeriodMs: 1000,
  maxPeriodMs: 31 * 24 * 3_600_000,
})

/** What a listing says. */
export interface Listing {
  /** The device's name, for people. */
  readonly device: string
  /** The sensor's key: signs the stream and the grants. */
  readonly sensor: Uint8Array
  /** Latitude and longitude in microdegrees. */
  readonly lat: number
  readonly lon: number
  /** Kind of data. */
  readonly kind: string
  /** Price per period. */
  readonly price: number
  /** Key period in ms. */
  readonly period: number
  /** When period 0 begins (ms since 1970). */
  readonly start: number
  /** Where the stream is served. */
  readonly served: readonly string[]
}

const KIND = /^[a-z0-9-]{1,32}$/

/**
 * Check a listing's fields and give its payload.
 * @param listing the fields
 * @returns the canonical payload value
 * @throws TypeError / RangeError naming the bad field
 * @example await owner.append(STREAM_LISTING, listingPayload({ device: 'air-1', sensor, ... }))
 */
export function listingPayload(listing: Listing): CborValue {
  const read = readListing(rawPayload(listing))
  if (read === undefined) throw new RangeError(`"listing" malformed: ${listingProblem(listing)}`)
  return rawPayload(read)
}

/**
 * Read a listing payload.
 * @param payload a block's payload
 * @returns the listing, or undefined when malformed
 * @example const l = readListing(block.payload)
 */
export function readListing(payload: CborValue): Listing | undefined {
  const m = asMap(payload)
  if (m === undefined || !hasExactKeys(m, ['device', 'sensor', 'lat', 'lon', 'kind', 'price', 'period', 'start', 'served'])) return undefined
  const { device, sensor, lat, lon, kind, price, period, start, served } = m
  if (typeof device !== 'string' || device.length < 1 || device.length > LISTING_LIMITS.maxDevice) return undefined
  if (!isBytes(sensor, 32)) return undefined
  if (!isInt(lat) || lat < -90_000_000 || lat > 90_000_000 || !isInt(lon) || lon < -180_000_000 || lon > 180_000_000) return undefined
  if (typeof kind !== 'string' || !KIND.test(kind)) return undefined
  if (!isUint(price) || price < 1 || !isUint(period) || period < LISTING_LIMITS.minPeriodMs || period > LISTING_LIMITS.maxPeriodMs || !isUint(start)) return undefined
  if (!Array.isArray(served) || served.length < 1 || served.length > LISTING_LIMITS.maxServed) return undefined
  if (!served.every((s) => typeof s === 'string' && s.length >= 1 && s.length <= LISTING_LIMITS.maxAddress)) return undefined
  if (encodeCanonical(payload).length > LISTING_LIMITS.maxPayloadBytes) return undefined
  return Object.freeze({ device, sensor: Uint8Array.from(sensor), lat, lon, kind, price, period, start, served: Object.freeze([...(served as string[])]) })
}

/**
 * Read a withdrawal payload.
 * @returns the seq of the listing withdrawn, or undefined when malformed
 * @example const seq = readWithdraw(block.payload)
 */
export function readWithdraw(payload: CborValue): number | undefined {
  const m = asMap(payload)
  if (m === undefined || !hasExactKeys(m, ['listing']) || !isUint(m['listing']) || m['listing'] < 1) return undefined
  return m['listing']
}

/**
 * The listing a block holds, when it is a well-formed unilateral `stream-listing`.
 * @param block any block
 * @returns the listing or undefined
 * @example const l = listingOf(block); if (l) index.add(block)
 */
export function listingOf(block: HalfBlock): Listing | undefined {
  return block.type === STREAM_LISTING && isUnilateral(block) ? readListing(block.payload) : undefined
}

/**
 * The key period a time falls in (0 before `start`).
 * @param listing the listing
 * @param time ms since 1970
 * @returns the period number
 * @example const period = periodAt(listing, Date.now())
 */
export function periodAt(listing: Pick<Listing, 'start' | 'period'>, time: number): number {
  return time <= listing.start ? 0 : Math.floor((time - listing.start) / listing.period)
}

/**
 * The block types of listings and withdrawals (register them with the economy's types on a node
 * that keeps or checks listings). They carry the stream fraud kinds.
 * @returns [stream-listing, stream-withdraw]
 * @example const types = createBlockTypes([...streamTypes(), transferType()])
 */
export function streamTypes(): BlockType[] {
  const listingType: BlockType = {
    name: STREAM_LISTING,
    validate(block): TypeVerdict {
      if (!isUnilateral(block)) return { errors: [violation('stream-listing-unilateral', 'a stream listing is a unilateral block')] }
      return readListing(block.payload) === undefined ? { errors: [violation('stream-listing-payload', 'a stream listing payload is { device, sensor, lat, lon, kind, price, period, start, served } within LISTING_LIMITS')] } : { errors: [] }
    },
    fraudKinds: { [STREAM_FORK_FRAUD]: verifyStreamFork, [STREAM_BAD_KEY_FRAUD]: verifyStreamBadKey },
  }
  const withdrawType: BlockType = {
    name: STREAM_WITHDRAW,
    async validate(block, ctx): Promise<TypeVerdict> {
      if (!isUnilateral(block)) return { errors: [violation('stream-withdraw-unilateral', 'a stream withdrawal is a unilateral block')] }
      const seq = readWithdraw(block.payload)
      if (seq === undefined || seq >= block.seq) return { errors: [violation('stream-withdraw-payload', 'a stream withdrawal is { listing: seq } of an earlier block of this chain')] }
      const listed = await ctx.store.get(block.publicKey, seq)
      if (listed !== undefined && (listed.type !== STREAM_LISTING || !equalBytes(listed.publicKey, block.publicKey))) {
        return { errors: [violation('stream-withdraw-target', 'a stream withdrawal names a listing of this chain')] }
      }
      return { errors: [] }
    },
  }
  return [listingType, withdrawType]
}

// ## Private helpers

function rawPayload(l: Listing): Record<string, CborValue> {
  return { device: l?.device, sensor: l?.sensor, lat: l?.lat, lon: l?.lon, kind: l?.kind, price: l?.price, period: l?.period, start: l?.start, served: l?.served === undefined ? undefined : [...l.served] } as Record<string, CborValue>
}

function listingProblem(l: Listing): string {
  if (typeof l?.device !== 'string' || l.device.length < 1 || l.device.length > LISTING_LIMITS.maxDevice) return '"device" expected 1-64 characters'
  if (!isBytes(l.sensor, 32)) return '"sensor" expected Uint8Array of length 32'
  if (!isInt(l.lat) || Math.abs(l.lat) > 90_000_000) return '"lat" expected microdegrees within ±90°'
  if (!isInt(l.lon) || Math.abs(l.lon) > 180_000_000) return '"lon" expected microdegrees within ±180°'
  if (typeof l.kind !== 'string' || !KIND.test(l.kind)) return '"kind" expected 1-32 characters of a-z0-9-'
  if (!isUint(l.price) || l.price < 1) return '"price" expected an integer ≥ 1'
  if (!isUint(l.period) || l.period < LISTING_LIMITS.minPeriodMs || l.period > LISTING_LIMITS.maxPeriodMs) return '"period" expected 1 s to 31 days in ms'
  if (!isUint(l.start)) return '"start" expected ms since 1970'
  return '"served" expected 1-4 addresses of 1-256 characters (payload ≤ 1 KiB)'
}
