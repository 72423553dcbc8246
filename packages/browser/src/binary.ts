/**
 * Bytes for DOM APIs. IndexedDB keys and WebCrypto take views on an ArrayBuffer (TypeScript's
 * `BufferSource`), while core's types are views on any buffer; a view on a SharedArrayBuffer (or
 * from another realm) is copied, every other one is passed as it is.
 * @module
 */

/**
 * `bytes` as a view on an ArrayBuffer.
 * @param bytes any bytes
 * @returns the same view, or a copy when its buffer is not an ArrayBuffer of this realm
 * @example await crypto.subtle.sign('Ed25519', key, bin(message))
 */
export function bin(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : Uint8Array.from(bytes)
}
