/**
 * Ed25519 verification in WebCrypto, with @noble where a browser has none.
 *
 * Which browsers get which: `crypto.subtle.verify` with Ed25519 (Secure Curves) in Chromium 137+
 * (Chrome, Edge, Opera), Firefox 129+ and Safari 17+; @noble/ed25519 (core's nobleCrypto)
 * elsewhere. Found by trying, never by the user agent: a signature made by noble must verify and
 * a wrong one must not. Hashing stays on @noble's SHA-256 in every browser: core hashes
 * synchronously (a block's hash is needed in the middle of validation), and WebCrypto's digest
 * is a promise per call.
 *
 * The verdicts are libsodium's, as every provider's: WebCrypto's Ed25519 (BoringSSL in Chromium)
 * checks S < L and the cofactorless equation, but takes signatures under small-order keys and
 * with small-order R, so core's `strictEd25519` checks come first (page test: RFC 8032's vectors
 * and every small-order, mixed-order and non-canonical case give noble's verdict).
 *
 * Public keys are imported once each (a raw import is a round trip through the browser's crypto
 * thread) and kept, at most VERIFY_KEYS, the oldest dropped first.
 * @module
 */
import { blockHash, nobleCrypto, strictEd25519, type HalfBlock, type SignatureVerifier } from '@tally/core'
import { bin } from './binary.js'

/** How a verifier verifies: 'webcrypto' (crypto.subtle) or 'noble' (core's nobleCrypto, this thread). */
export type VerifyBackend = 'webcrypto' | 'noble'

/** Options of createBrowserVerifier. */
export interface BrowserVerifierOptions {
  /** 'auto' (default): WebCrypto where it has Ed25519, else noble. */
  backend?: 'auto' | VerifyBackend
}

/** An asynchronous Ed25519 verifier with libsodium's verdicts. */
export interface BrowserVerifier {
  /** What it verifies with. */
  readonly backend: VerifyBackend
  /** True iff `signature` is a valid Ed25519 signature of `message` by `publicKey`; never rejects on bad input. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean>
  /** The signatures of blocks (core's SignatureVerifier: the agent's and ingestBlocks' `verifySignatures`). */
  readonly verifyBlocks: SignatureVerifier
}

/** Imported public keys a verifier keeps by default. */
export const VERIFY_KEYS = 1024

const ED25519 = { name: 'Ed25519' } as const

let support: Promise<boolean> | undefined

/**
 * Whether this browser verifies Ed25519 in WebCrypto (tried once, then remembered): a signature
 * made by noble verifies and the same with a flipped bit does not.
 * @returns true where crypto.subtle verifies Ed25519
 * @example const backend = (await webCryptoVerifies()) ? 'webcrypto' : 'noble'
 */
export function webCryptoVerifies(): Promise<boolean> {
  support ??= (async () => {
    try {
      const key = nobleCrypto.signingKey(new Uint8Array(32).fill(0x3c))
      const message = new TextEncoder().encode('tally/browser: verify check')
      const signature = key.sign(message)
      const publicKey = await crypto.subtle.importKey('raw', bin(key.publicKey), ED25519, false, ['verify'])
      const good = await crypto.subtle.verify(ED25519, publicKey, bin(signature), message)
      signature[0]! ^= 1
      return good && !(await crypto.subtle.verify(ED25519, publicKey, bin(signature), message))
    } catch {
      return false
    }
  })()
  return support
}

/**
 * A verifier: WebCrypto's where this browser has Ed25519 in it, else noble's (see the module comment).
 * @param options the backend
 * @returns the verifier
 * @throws RangeError on a bad option; Error when backend 'webcrypto' is asked of a browser without it
 * @example
 * const verifier = await createBrowserVerifier()
 * const agent = createAgent({ identity, store, types, verifySignatures: verifier.verifyBlocks })
 */
export async function createBrowserVerifier(options: BrowserVerifierOptions = {}): Promise<BrowserVerifier> {
  const asked = options.backend ?? 'auto'
  if (asked !== 'auto' && asked !== 'webcrypto' && asked !== 'noble') throw new RangeError(`"backend" expected 'auto', 'webcrypto' or 'noble', got ${String(asked)}`)
  const supported = asked !== 'noble' && (await webCryptoVerifies())
  if (asked === 'webcrypto' && !supported) throw new Error('this browser has no Ed25519 in WebCrypto: use backend "auto" or "noble"')
  const verify = supported ? webCryptoVerify() : async (s: Uint8Array, m: Uint8Array, k: Uint8Array) => nobleCrypto.verify(s, m, k)
  return Object.freeze({
    backend: supported ? 'webcrypto' : 'noble',
    verify,
    verifyBlocks: (blocks: readonly HalfBlock[]) => Promise.all(blocks.map((b) => verify(b.signature, blockHash(b), b.publicKey))),
  })
}

function webCryptoVerify(): BrowserVerifier['verify'] {
  const keys = new Map<string, Promise<CryptoKey>>()
  const keyOf = (publicKey: Uint8Array): Promise<CryptoKey> => {
    const id = String.fromCharCode(...publicKey)
    let key = keys.get(id)
    if (key === undefined) {
      // Map keeps insertion order: the first key is the oldest
      if (keys.size >= VERIFY_KEYS) keys.delete(keys.keys().next().value!)
      key = crypto.subtle.importKey('raw', Uint8Array.from(publicKey), ED25519, false, ['verify'])
      // a key that does not import is not kept (a later call fails the same way, by itself)
      key.catch(() => keys.get(id) === key && keys.delete(id))
      keys.set(id, key)
    }
    return key
  }
  return async (signature, message, publicKey) => {
    if (!(signature instanceof Uint8Array) || signature.length !== 64) return false
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false
    if (!(message instanceof Uint8Array)) return false
    // libsodium's checks, which WebCrypto does not make (see the module comment)
    if (!strictEd25519(signature, publicKey)) return false
    try {
      return await crypto.subtle.verify(ED25519, await keyOf(publicKey), bin(signature), bin(message))
    } catch {
      return false
    }
  }
}
