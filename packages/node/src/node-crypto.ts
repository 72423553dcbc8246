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
import { abytes, auint } from '@tally/core'
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
    if (!strict(signature, publicKey)) return false
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

// The checks libsodium makes before the group equation (open.c, crypto_sign_verify_detached, in
// its default non-ED25519_COMPAT build): S < L, R not of small order, A canonical and not of small
// order. OpenSSL 3 makes only the first, so on its own it accepts, for any message, signatures
// under small-order keys such as the identity point (0100…00). Both then check the cofactorless
// equation [S]B = R + [k]A by re-encoding, so with these checks the two accept the same set.
function strict(signature: Uint8Array, publicKey: Uint8Array): boolean {
  return isCanonicalScalar(signature.subarray(32))
    && !hasSmallOrder(signature.subarray(0, 32))
    && isCanonicalPoint(publicKey)
    && !hasSmallOrder(publicKey)
}

// L = 2^252 + 27742317777372353535851937790883648493, the order of the base point, little-endian.
const L = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
])

// libsodium sc25519_is_canonical: the 32-byte little-endian scalar is below L.
function isCanonicalScalar(s: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    if (s[i]! !== L[i]!) return s[i]! < L[i]!
  }
  return false
}

// libsodium ge25519_is_canonical: y (the low 255 bits) is below p = 2^255 - 19. The only
// encodings at or above p are ed…ff7f to ff…ff7f, with or without the sign bit.
function isCanonicalPoint(s: Uint8Array): boolean {
  if ((s[31]! & 0x7f) !== 0x7f || s[0]! < 0xed) return true
  for (let i = 1; i < 31; i++) if (s[i]! !== 0xff) return true
  return false
}

// libsodium ge25519_has_small_order: the encodings of the 8 points of the torsion subgroup, by y
// with the sign bit ignored (0 and p, 1 and p+1 are the canonical and non-canonical forms).
const SMALL_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000', // y = 0, order 4
  '0100000000000000000000000000000000000000000000000000000000000000', // y = 1, the identity
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p - 1, order 2
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p, order 4
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 1, the identity
].map((hex) => Buffer.from(hex, 'hex'))

function hasSmallOrder(s: Uint8Array): boolean {
  return SMALL_ORDER.some((bad) => {
    for (let i = 0; i < 31; i++) if (s[i] !== bad[i]) return false
    return (s[31]! & 0x7f) === bad[31]
  })
}
