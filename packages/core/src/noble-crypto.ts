/**
 * The portable crypto provider: @noble/ed25519 and @noble/hashes, pure JavaScript, runs anywhere.
 * @module
 */
import * as ed from '@noble/ed25519'
import { sha256 as nobleSha256, sha512 } from '@noble/hashes/sha2.js'
import { randomBytes as nobleRandomBytes } from '@noble/hashes/utils.js'
import { abytes } from './bytes.js'
import type { CryptoProvider, SigningKey } from './crypto-provider.js'

// RFC 8032 strict verification (no ZIP-215): the same acceptance rules as libsodium and OpenSSL,
// so that no signature is valid for one provider and invalid for another (a split view of a chain).
const VERIFY_OPTIONS = { zip215: false } as const

/**
 * Portable Ed25519 + SHA-256 on @noble.
 * @example const key = nobleCrypto.signingKey(seed); const sig = key.sign(msg)
 */
export const nobleCrypto: CryptoProvider = {
  name: 'noble',
  signingKey(seed: Uint8Array): SigningKey {
    abytes('seed', seed, 32)
    useSyncHashes()
    const secret = Uint8Array.from(seed)
    const publicKey = ed.getPublicKey(secret)
    return Object.freeze({
      publicKey,
      sign: (message: Uint8Array) => ed.sign(message, secret),
    })
  },
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    if (!(signature instanceof Uint8Array) || signature.length !== 64) return false
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false
    useSyncHashes()
    try {
      return ed.verify(signature, message, publicKey, VERIFY_OPTIONS)
    } catch {
      return false
    }
  },
  sha256(data: Uint8Array): Uint8Array {
    return nobleSha256(data)
  },
  randomBytes(length: number): Uint8Array {
    return nobleRandomBytes(length)
  },
}

// @noble/ed25519 v3 needs a sha512 for its synchronous API; set it on first use rather than at
// import time so the module stays free of import side effects.
function useSyncHashes(): void {
  if (ed.hashes.sha512 === undefined) ed.hashes.sha512 = sha512
}
