/**
 * The portable crypto provider: @noble/ed25519 and @noble/hashes, pure JavaScript, runs anywhere.
 * @module
 */
import * as ed from '@noble/ed25519'
import { sha256 as nobleSha256, sha512 } from '@noble/hashes/sha2.js'
import { randomBytes as nobleRandomBytes } from '@noble/hashes/utils.js'
import { abytes } from './bytes.js'
import type { CryptoProvider, SyncSigningKey } from './crypto-provider.js'

// Verification follows libsodium's rules exactly (the nodeCrypto provider checks the same before
// OpenSSL): S < L, R and A canonical and not of small order, and the cofactorless equation
// [S]B = R + [k]A. @noble/ed25519's own verify (even with zip215: false) checks the cofactored
// equation and lets a small-order R through, so it would accept signatures that libsodium rejects:
// a malicious signer could then split the view of a chain between browser and Node peers.
const L = 2n ** 252n + 27742317777372353535851937790883648493n

/**
 * Portable Ed25519 + SHA-256 on @noble.
 * @example const key = nobleCrypto.signingKey(seed); const sig = key.sign(msg)
 */
export const nobleCrypto: CryptoProvider = {
  name: 'noble',
  signingKey(seed: Uint8Array): SyncSigningKey {
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
    if (!(message instanceof Uint8Array)) return false
    try {
      const r = signature.subarray(0, 32)
      const s = littleEndian(signature.subarray(32))
      if (s >= L) return false
      const A = ed.Point.fromBytes(publicKey, false) // throws unless canonical (y < p, no -0)
      const R = ed.Point.fromBytes(r, false)
      if (A.isSmallOrder() || R.isSmallOrder()) return false
      const k = ed.etc.mod(littleEndian(sha512(ed.etc.concatBytes(r, publicKey, message))), L)
      // variable-time multiplication is fine here: verification handles no secret
      return ed.Point.BASE.multiply(s, false).equals(R.add(A.multiply(k, false)))
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

function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!)
  return n
}

// @noble/ed25519 v3 needs a sha512 for its synchronous API; set it on first use rather than at
// import time so the module stays free of import side effects.
function useSyncHashes(): void {
  if (ed.hashes.sha512 === undefined) ed.hashes.sha512 = sha512
}
