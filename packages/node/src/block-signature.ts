/**
 * Signature check straight from a block's bytes, without decoding it: the layout of
 * @tally/core's half-block puts the owner's key at a fixed offset and the signature last.
 *
 *   bytes = 0x88 0x58 0x20 publicKey(32) ... ‖ signature(64)
 *   hash  = SHA-256(domainTag('block') ‖ bytes[0 .. length - 64])
 * @module
 */
import { concatBytes, domainTag, type CryptoProvider } from '@tally/core'

const SIGNATURE_BYTES = 64
const KEY_START = 3
const KEY_END = KEY_START + 32

/**
 * True iff `bytes` start like a block and their signature verifies over the block hash.
 * @param bytes an encoded half-block
 * @param crypto the provider
 * @returns whether the signature is the owner's
 * @example blockSignatureValid(encodeBlock(block), nodeCrypto)
 */
export function blockSignatureValid(bytes: Uint8Array, crypto: CryptoProvider): boolean {
  if (bytes.length < KEY_END + SIGNATURE_BYTES || bytes[0] !== 0x88 || bytes[1] !== 0x58 || bytes[2] !== 0x20) return false
  const split = bytes.length - SIGNATURE_BYTES
  const hash = crypto.sha256(concatBytes(domainTag('block'), bytes.subarray(0, split)))
  return crypto.verify(bytes.subarray(split), hash, bytes.subarray(KEY_START, KEY_END))
}
