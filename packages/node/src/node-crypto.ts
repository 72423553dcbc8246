/**
 * The Node crypto provider: Ed25519 and SHA-256 from node:crypto (OpenSSL), no native addon.
 * @module
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  randomFillSync,
  sign as opensslSign,
  verify as opensslVerify,
  type KeyObject,
} from 'node:crypto'
import * as nodeCryptoModule from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { abytes, auint, strictEd25519 } from '@tally/core'
import type { CryptoProvider, SyncSigningKey } from '@tally/core'

// RFC 8410 §7: the DER of a PKCS#8 OneAsymmetricKey for Ed25519 (OID 1.3.101.112) is this fixed
// prefix followed by the 32-byte seed.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

// Public keys go in and out as JWK (RFC 8037 §2, `x` is the raw key in base64url), not as SPKI DER:
// OpenSSL 3's DER decoder costs about 100 µs a key on Node 20, close to a whole verification, and
// JWK about 8 µs. A peer verifies the same few hundred agents over and over, so parsed keys are
// also kept, bounded.
const PUBLIC_KEY_CACHE_SIZE = 4096
const publicKeys = new LRUCache<string, KeyObject>({ max: PUBLIC_KEY_CACHE_SIZE })

/**
 * Ed25519 + SHA-256 on node:crypto. Verification adds libsodium's strict checks to OpenSSL's
 * (which alone accepts signatures under small-order keys), so it accepts exactly what the sodium
 * provider accepts.
 * @example
 * const key = nodeCrypto.signingKey(seed)
 * nodeCrypto.verify(key.sign(msg), msg, key.publicKey) // true
 */
export const nodeCrypto: CryptoProvider = {
  name: 'node',
  signingKey(seed: Uint8Array): SyncSigningKey {
    abytes('seed', seed, 32)
    const der = Buffer.concat([PKCS8_PREFIX, seed])
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    der.fill(0)
    const { x } = createPublicKey(privateKey).export({ format: 'jwk' })
    const publicKey = new Uint8Array(Buffer.from(x!, 'base64url'))
    return Object.freeze({
      publicKey,
      sign(message: Uint8Array): Uint8Array {
        abytes('message', message)
        return new Uint8Array(opensslSign(null, message, privateKey))
      },
    })
  },
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    if (!(signature instanceof Uint8Array) || signature.length !== 64) return false
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false
    if (!(message instanceof Uint8Array)) return false
    // libsodium's checks first (core's ed25519-strict.ts): OpenSSL alone takes small-order keys
    if (!strictEd25519(signature, publicKey)) return false
    try {
      return opensslVerify(null, message, publicKeyObject(publicKey), signature)
    } catch {
      return false
    }
  },
  sha256(data: Uint8Array): Uint8Array {
    abytes('data', data)
    return new Uint8Array(oneShotHash !== undefined ? oneShotHash('sha256', data, 'buffer') : createHash('sha256').update(data).digest())
  },
  randomBytes(length: number): Uint8Array {
    auint('length', length)
    return randomFillSync(new Uint8Array(length))
  },
}

// ## Helpers

// crypto.hash (Node 20.12 and later) digests without a Hash object: about 1.5 µs a digest less than
// createHash here, and a transaction hashes several blocks. Older Node 20 releases lack it.
type OneShotHash = (algorithm: string, data: Uint8Array, outputEncoding: 'buffer') => Buffer
const oneShotHash = (nodeCryptoModule as { hash?: OneShotHash }).hash

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const x = Buffer.from(publicKey.buffer, publicKey.byteOffset, 32).toString('base64url')
  let key = publicKeys.get(x)
  if (key === undefined) {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' })
    publicKeys.set(x, key)
  }
  return key
}

