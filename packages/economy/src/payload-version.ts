/**
 * Payload version 2 (see payload.ts): the `community` key that names the community a balance
 * block counts in. Kept apart from payload.ts so that lock-payload.ts can read it without an
 * import cycle.
 * @module
 */
import type { CborValue } from '@tally/core'
import { isBytes } from './util.js'

/** The payload key of version 2: the community a balance block counts in. */
export const COMMUNITY_KEY = 'community'

/**
 * The community a payload map names: undefined for version 1, the id for version 2, false when
 * the key is there but not a 32-byte id (malformed).
 * @internal
 */
export function namedIn(m: Readonly<Record<string, CborValue>>): Uint8Array | undefined | false {
  if (!Object.hasOwn(m, COMMUNITY_KEY)) return undefined
  const c = m[COMMUNITY_KEY]
  return isBytes(c, 32) ? c : false
}

/** The keys of a payload, with `community` when it names one. @internal */
export function withCommunity(keys: readonly string[], community: Uint8Array | undefined): readonly string[] {
  return community === undefined ? keys : [...keys, COMMUNITY_KEY]
}

/** The payload read, with its community when it names one. @internal */
export function named<T extends object>(payload: T, community: Uint8Array | undefined): T & { community?: Uint8Array } {
  return community === undefined ? payload : { ...payload, community }
}
