/**
 * Small helpers shared by the economy's modules: shape checks on decoded CBOR values, rule
 * violations, keys as map keys, the outcome type of witnessed operations. Not exported from the
 * package.
 * @module
 */
import { concatBytes, domainTag, nobleCrypto, type CborValue, type CryptoProvider, type DomainName, type RuleViolation } from '@tally/core'

/** What a state change (config update, registration, link) returns: it happened, or why not. */
export type Outcome = { readonly ok: true } | { readonly ok: false; readonly code: string; readonly reason: string }

/** What a stand-alone check returns: valid, or the reason it is not. */
export type Check = { readonly ok: true } | { readonly ok: false; readonly reason: string }

/** The successful Outcome / Check. */
export const OK: { readonly ok: true } = Object.freeze({ ok: true })

/** A failed Outcome. */
export function fail(code: string, reason: string): Outcome {
  return { ok: false, code, reason }
}

/** A broken rule. */
export function violation(rule: string, message: string): RuleViolation {
  return { rule, message }
}

/** True iff x is a safe non-negative integer. */
export function isUint(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
}

/** True iff x is a safe integer (any sign). */
export function isInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x)
}

/** True iff x is a Uint8Array of `length` bytes. */
export function isBytes(x: unknown, length: number): x is Uint8Array {
  return x instanceof Uint8Array && x.length === length
}

/** The value as a plain CBOR map (decoded objects have Object.prototype or null), or undefined. */
export function asMap(x: unknown): Readonly<Record<string, CborValue>> | undefined {
  if (typeof x !== 'object' || x === null || x instanceof Uint8Array || Array.isArray(x)) return undefined
  const proto = Object.getPrototypeOf(x)
  return proto === Object.prototype || proto === null ? (x as Record<string, CborValue>) : undefined
}

/** True iff the map has exactly these keys (no more, no fewer). */
export function hasExactKeys(map: Readonly<Record<string, unknown>>, keys: readonly string[]): boolean {
  const own = Object.keys(map)
  return own.length === keys.length && keys.every((k) => Object.hasOwn(map, k))
}

/**
 * A compact string for a 32-byte key, for Map keys in hot paths: one character a byte (half the
 * size of hex). Thirty-two explicit arguments: several times faster than `apply` on a typed array.
 * @param key bytes holding the key
 * @param at where the key starts (default 0)
 */
export function keyString(key: Uint8Array, at = 0): string {
  const k = key
  const a = at
  return String.fromCharCode(
    k[a]!, k[a + 1]!, k[a + 2]!, k[a + 3]!, k[a + 4]!, k[a + 5]!, k[a + 6]!, k[a + 7]!,
    k[a + 8]!, k[a + 9]!, k[a + 10]!, k[a + 11]!, k[a + 12]!, k[a + 13]!, k[a + 14]!, k[a + 15]!,
    k[a + 16]!, k[a + 17]!, k[a + 18]!, k[a + 19]!, k[a + 20]!, k[a + 21]!, k[a + 22]!, k[a + 23]!,
    k[a + 24]!, k[a + 25]!, k[a + 26]!, k[a + 27]!, k[a + 28]!, k[a + 29]!, k[a + 30]!, k[a + 31]!,
  )
}

/** SHA-256 over a domain tag followed by `parts`. */
export function taggedHash(name: DomainName, crypto: CryptoProvider, ...parts: Uint8Array[]): Uint8Array {
  return (crypto ?? nobleCrypto).sha256(concatBytes(domainTag(name), ...parts))
}
