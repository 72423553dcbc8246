/**
 * Signing with a key that may be asynchronous, without slowing the keys that are not.
 *
 * A key made from a seed signs synchronously; a non-extractable WebCrypto key signs through a
 * Promise. `signThen` gives the signature to a continuation at once when it is a plain value and
 * after the promise otherwise, so the functions built on it (`signBlock`, the economy's signed
 * statements) stay synchronous for synchronous keys: their types say so through `SignResult`.
 * @module
 */
import type { SignResult, SigningKey } from './crypto-provider.js'

/**
 * Sign `message` with `key` and pass the signature to `then`.
 * @param key any signing key
 * @param message the bytes to sign (a domain-tagged digest)
 * @param then builds the result from the signature
 * @returns what `then` returns; a promise of it when the key signs asynchronously
 * @example const signed = await signThen(key, digest, (signature) => ({ digest, signature }))
 */
export function signThen<K extends SigningKey, T>(key: K, message: Uint8Array, then: (signature: Uint8Array) => T): SignResult<K, T> {
  const signature = key.sign(message)
  if (signature instanceof Uint8Array) return then(signature) as SignResult<K, T>
  if (signature === null || typeof (signature as { then?: unknown })?.then !== 'function') {
    throw new TypeError('"key.sign" expected to return a Uint8Array or a Promise of one')
  }
  return signature.then((s) => {
    if (!(s instanceof Uint8Array)) throw new TypeError('"key.sign" resolved to something other than a Uint8Array')
    return then(s)
  }) as SignResult<K, T>
}
