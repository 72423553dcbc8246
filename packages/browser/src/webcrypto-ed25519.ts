/**
 * Ed25519 signing keys in WebCrypto that cannot be exported.
 *
 * A seed is imported once as a PKCS#8 private key with `extractable: false` and usage `sign`; from
 * then on the secret lives inside the browser's crypto implementation: script on the page (even a
 * hostile one) can ask it to sign while the page is open, but `exportKey` refuses, so the secret
 * cannot be copied elsewhere. The CryptoKey object itself is kept in IndexedDB (a structured clone
 * keeps it non-extractable).
 *
 * Which browsers: Ed25519 in WebCrypto (Secure Curves) ships in Chromium 137+ (Chrome, Edge, Opera),
 * Firefox 129+ and Safari 17+. `webCryptoEd25519()` finds out by trying, never by the user agent;
 * elsewhere a browser identity falls back to a noble key whose seed is kept in IndexedDB.
 *
 * Ed25519 is deterministic (RFC 8032), so a WebCrypto key signs exactly the bytes core's noble
 * provider signs with the same seed; verifying and hashing stay on core's synchronous providers.
 * @module
 */
import { concatBytes, nobleCrypto, toHex } from '@tally/core'
import { bin } from './binary.js'

// RFC 8410 §7: the DER of a PKCS#8 OneAsymmetricKey for Ed25519 (OID 1.3.101.112) is this fixed
// 16-byte header followed by the 32-byte seed as an OCTET STRING in an OCTET STRING.
const PKCS8_ED25519_HEADER = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20)

const ED25519 = { name: 'Ed25519' } as const

/** A WebCrypto Ed25519 key that signs and cannot be exported, with its public key. */
export interface WebCryptoSigningKey {
  /** 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
  /** The non-extractable private key. */
  readonly key: CryptoKey
  /** Ed25519 signature (64 bytes) over `message`. */
  sign(message: Uint8Array): Promise<Uint8Array>
}

let support: Promise<boolean> | undefined

/**
 * Whether this browser signs Ed25519 in WebCrypto (tried once, then remembered).
 * @returns true where a non-extractable Ed25519 key can be imported and signs correctly
 * @example const backend = (await webCryptoEd25519()) ? 'webcrypto' : 'noble'
 */
export function webCryptoEd25519(): Promise<boolean> {
  support ??= (async () => {
    try {
      const probe = new Uint8Array(32).fill(0x5a)
      const key = await importSigningKey(probe, nobleCrypto.signingKey(probe).publicKey)
      return key.publicKey.length === 32
    } catch {
      return false
    }
  })()
  return support
}

/**
 * Import a 32-byte Ed25519 seed as a non-extractable WebCrypto signing key, and check it: a test
 * signature must verify under `publicKey` (computed by the caller with a noble key from the same
 * seed), so a browser that imported something else is caught before the key is kept.
 * @param seed 32 secret bytes (left as they are: the caller wipes them)
 * @param publicKey the seed's public key
 * @returns the key
 * @throws DOMException NotSupportedError where WebCrypto has no Ed25519; Error when the test signature fails
 * @example const key = await importSigningKey(seed, nobleCrypto.signingKey(seed).publicKey)
 */
export async function importSigningKey(seed: Uint8Array, publicKey: Uint8Array): Promise<WebCryptoSigningKey> {
  const pkcs8 = concatBytes(PKCS8_ED25519_HEADER, seed)
  let key: CryptoKey
  try {
    key = await crypto.subtle.importKey('pkcs8', bin(pkcs8), ED25519, false, ['sign'])
  } finally {
    pkcs8.fill(0)
  }
  const signingKey = wrapSigningKey(key, publicKey)
  const probe = new TextEncoder().encode('tally/browser: key check')
  if (!nobleCrypto.verify(await signingKey.sign(probe), probe, publicKey)) {
    throw new Error(`WebCrypto Ed25519 key does not sign for ${toHex(publicKey).slice(0, 8)}: this browser's Ed25519 is broken`)
  }
  return signingKey
}

/**
 * A signing key around a stored non-extractable CryptoKey and its public key.
 * @param key an Ed25519 private CryptoKey with usage 'sign'
 * @param publicKey its 32-byte public key
 * @returns the key
 * @throws TypeError when key is not a non-extractable Ed25519 signing key
 * @example const signer = wrapSigningKey(record.key, record.publicKey)
 */
export function wrapSigningKey(key: CryptoKey, publicKey: Uint8Array): WebCryptoSigningKey {
  if (!(key instanceof CryptoKey) || key.algorithm.name !== 'Ed25519' || key.type !== 'private' || !key.usages.includes('sign')) {
    throw new TypeError('"key" expected an Ed25519 private CryptoKey that signs')
  }
  if (key.extractable) throw new TypeError('"key" is extractable: a browser identity keeps only keys that cannot be exported')
  const pub = Uint8Array.from(publicKey)
  return Object.freeze({
    publicKey: pub,
    key,
    async sign(message: Uint8Array): Promise<Uint8Array> {
      return new Uint8Array(await crypto.subtle.sign(ED25519, key, bin(message)))
    },
  })
}
