/**
 * Browser identities: an agent's Ed25519 key kept in IndexedDB as a WebCrypto key that cannot be
 * exported, backed up only by its recovery phrase, and signing in one tab at a time.
 *
 * - `createBrowserIdentity` makes a phrase, derives the seed from it (recovery-phrase.ts), imports
 *   the seed as a non-extractable key, stores the key, wipes the seed and returns the phrase, once.
 * - `restoreBrowserIdentity` does the same from a phrase the user kept: same phrase, same key. A
 *   restored identity's chain may already exist elsewhere, so an agent must learn its head from
 *   peers before signing (core's `head` option): like every identity made by `createIdentity`,
 *   it is never "new" to `isNewIdentity`.
 * - `openBrowserIdentity` opens what is stored (after a reload, in another tab).
 *
 * Each opened identity is wrapped by core's `createIdentity`: it signs asynchronously (WebCrypto),
 * while verifying and hashing stay on core's synchronous noble provider. It joins the line for its
 * signing lock (signer-lock.ts); only the tab holding it signs.
 * @module
 */
import { ClosedError, RefusedError, createIdentity, equalBytes, nobleCrypto, shortKey, type CryptoProvider, type Identity, type PublicKeyHex } from '@tally/core'
import { addKey, deleteKey, labelTaken, readKey, withKeyStore, type IdentityOrigin, type KeyBackend, type KeyRecord } from './key-store.js'
// the phrase's code (BIP-39 and its 2,048-word list, PBKDF2) runs only when an identity is made or
// restored: loaded then, so a wallet that opens its stored key does not download it (bench/browser.ts)
import type { RecoveryPhrase } from './phrase-words.js'
import { tallySeed } from './recovery-seed.js'
import { SignerLock, lockName, type SignerRole } from './signer-lock.js'
import { importSigningKey, webCryptoEd25519, wrapSigningKey } from './webcrypto-ed25519.js'

/** Options shared by the functions that open, create, restore or delete a browser identity. */
export interface BrowserIdentityOptions {
  /** Which stored identity (default 'default'). */
  label?: string
  /** The IndexedDB database of keys (default 'tally-keys'). */
  database?: string
  /**
   * Join the line for the signing lock (default true). false: this tab never signs with it.
   */
  lock?: boolean
}

/** Options of createBrowserIdentity and restoreBrowserIdentity. */
export interface NewBrowserIdentityOptions extends BrowserIdentityOptions {
  /**
   * How the key is kept (default 'auto': 'webcrypto' where the browser has Ed25519 in WebCrypto,
   * else 'noble', which keeps the seed readable in IndexedDB).
   */
  backend?: 'auto' | KeyBackend
}

/** Options of createBrowserIdentity. */
export interface CreateBrowserIdentityOptions extends NewBrowserIdentityOptions {
  /** Words in the recovery phrase: 12 (default) or 24. */
  words?: 12 | 24
}

/** An identity kept in this browser. Pass it to `createAgent` like any Identity. */
export interface BrowserIdentity extends Identity {
  /** The label it is stored under. */
  readonly label: string
  /** How it signs: 'webcrypto' (a key that cannot be exported) or 'noble' (a stored seed). */
  readonly backend: KeyBackend
  /** 'created' on this device, or 'restored' from its phrase. */
  readonly origin: IdentityOrigin
  /**
   * 'signer' while this tab holds the signing lock, 'follower' while another tab does (or with
   * lock: false), 'closed'. An identity is opened as the signer when no other tab holds the lock.
   */
  readonly role: SignerRole
  /**
   * Ed25519 signature over `message`, asynchronous.
   * @throws (rejects) RefusedError with reason 'not-signer' while another tab is the signer;
   *   ClosedError after close
   */
  sign(message: Uint8Array): Promise<Uint8Array>
  /**
   * Resolves when this tab becomes the signer (at once if it is).
   * @throws (rejects) ClosedError when the identity is closed first, or was opened with lock: false
   */
  whenSigner(): Promise<void>
  /** Stop signing: release the lock (after the signatures in flight) or leave the line for it. */
  close(): Promise<void>
}

/** What createBrowserIdentity returns. */
export interface CreatedBrowserIdentity {
  /** The new identity, open. */
  readonly identity: BrowserIdentity
  /** The recovery phrase: show it to the user now. It is not stored anywhere; it is the only backup. */
  readonly phrase: RecoveryPhrase
}

/**
 * A new identity, stored in this browser under `options.label`, and its recovery phrase.
 * @param options label, database, backend, words, lock
 * @returns the open identity and the phrase (shown once, never stored)
 * @throws RefusedError reason 'identity-exists' when the label is taken; reason
 *   'no-webcrypto-ed25519' when backend 'webcrypto' is asked of a browser without it
 * @example
 * const { identity, phrase } = await createBrowserIdentity()
 * showOnce(phrase) // the user writes it down
 */
export async function createBrowserIdentity(options: CreateBrowserIdentityOptions = {}): Promise<CreatedBrowserIdentity> {
  const o = resolve(options)
  const { generatePhrase } = await import('./phrase-words.js')
  const phrase = generatePhrase(options.words ?? 12)
  const identity = await store(phrase, o, await backendOf(options.backend), 'created')
  return { identity, phrase }
}

/**
 * The identity of a recovery phrase, stored in this browser under `options.label`. The same phrase
 * gives the same public key everywhere. Restoring the identity already stored under the label
 * opens it.
 * @param phrase the recovery phrase (case and spacing do not matter)
 * @param options label, database, backend, lock
 * @returns the open identity; its origin is 'restored', so an agent learns its head from peers first
 * @throws TypeError / RangeError for a phrase that is not 12 or 24 BIP-39 words with a valid checksum;
 *   RefusedError reason 'identity-exists' when another identity holds the label
 * @example const identity = await restoreBrowserIdentity(typedPhrase)
 */
export async function restoreBrowserIdentity(phrase: string, options: NewBrowserIdentityOptions = {}): Promise<BrowserIdentity> {
  const o = resolve(options)
  return store(phrase, o, await backendOf(options.backend), 'restored')
}

/**
 * The identity stored under `options.label`, opened in this tab.
 * @param options label, database, lock
 * @returns the identity, or undefined when none is stored
 * @throws StoreVersionError when the key database is newer than this code
 * @example const identity = (await openBrowserIdentity()) ?? (await createBrowserIdentity()).identity
 */
export async function openBrowserIdentity(options: BrowserIdentityOptions = {}): Promise<BrowserIdentity | undefined> {
  const o = resolve(options)
  const record = await withKeyStore(o.database, (db) => readKey(db, o.label))
  return record === undefined ? undefined : await open(record, o.lock)
}

/**
 * Forget the identity stored under `options.label` in this browser. Without its phrase it is gone.
 * @param options label, database
 * @returns true if one was stored
 * @example await deleteBrowserIdentity({ label: 'old' })
 */
export async function deleteBrowserIdentity(options: BrowserIdentityOptions = {}): Promise<boolean> {
  const o = resolve(options)
  return withKeyStore(o.database, (db) => deleteKey(db, o.label))
}

// ## The identity

const INSPECT = Symbol.for('nodejs.util.inspect.custom')

class StoredIdentity implements BrowserIdentity {
  readonly label: string
  readonly backend: KeyBackend
  readonly origin: IdentityOrigin
  readonly publicKey: Uint8Array
  readonly publicKeyHex: PublicKeyHex
  readonly crypto: CryptoProvider
  readonly #inner: Identity
  readonly #lock: SignerLock

  constructor(record: KeyRecord, sign: (message: Uint8Array) => Promise<Uint8Array>, lock: SignerLock) {
    this.label = record.label
    this.backend = record.backend
    this.origin = record.origin
    this.#lock = lock
    const held = lock
    const who = shortKey(record.publicKey)
    // core's wrapper for a key held elsewhere; verifying and hashing on noble (synchronous)
    this.#inner = createIdentity(
      {
        publicKey: record.publicKey,
        sign(message: Uint8Array): Promise<Uint8Array> {
          if (!(message instanceof Uint8Array)) return Promise.reject(new TypeError('"message" expected Uint8Array'))
          if (held.role === 'closed') return Promise.reject(new ClosedError(`identity ${who} is closed in this tab`))
          return (
            held.run(() => sign(message)) ??
            Promise.reject(
              new RefusedError(`another tab of this browser is the signer of ${who}; this tab follows: wait for whenSigner(), or close the other tab`, {
                reason: 'not-signer',
              }),
            )
          )
        },
      },
      nobleCrypto,
    )
    this.publicKey = this.#inner.publicKey
    this.publicKeyHex = this.#inner.publicKeyHex
    this.crypto = this.#inner.crypto
    Object.freeze(this)
  }

  get role(): SignerRole {
    return this.#lock.role
  }

  sign(message: Uint8Array): Promise<Uint8Array> {
    return this.#inner.sign(message) as Promise<Uint8Array>
  }

  whenSigner(): Promise<void> {
    return this.#lock.acquired
  }

  close(): Promise<void> {
    return this.#lock.close()
  }

  toString(): string {
    return `BrowserIdentity(${this.publicKeyHex}, ${this.backend})`
  }

  toJSON(): { publicKey: PublicKeyHex; label: string; backend: KeyBackend } {
    return { publicKey: this.publicKeyHex, label: this.label, backend: this.backend }
  }

  [INSPECT](): string {
    return this.toString()
  }
}

// ## Private helpers

interface Resolved {
  label: string
  database: string
  lock: boolean
}

function resolve(options: BrowserIdentityOptions): Resolved {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected object')
  const { label = 'default', database = 'tally-keys', lock = true } = options
  if (typeof label !== 'string' || label.length === 0) throw new TypeError('"label" expected a non-empty string')
  if (typeof database !== 'string' || database.length === 0) throw new TypeError('"database" expected a non-empty string')
  if (typeof lock !== 'boolean') throw new TypeError('"lock" expected boolean')
  return { label, database, lock }
}

async function backendOf(asked: 'auto' | KeyBackend | undefined): Promise<KeyBackend> {
  if (asked === 'noble') return 'noble'
  if (asked !== undefined && asked !== 'auto' && asked !== 'webcrypto') throw new RangeError(`"backend" expected 'auto', 'webcrypto' or 'noble', got ${String(asked)}`)
  const supported = await webCryptoEd25519()
  if (asked === 'webcrypto' && !supported) {
    throw new RefusedError('this browser has no Ed25519 in WebCrypto: use backend "auto" or "noble"', { reason: 'no-webcrypto-ed25519' })
  }
  return supported ? 'webcrypto' : 'noble'
}

/** Derive the key of `phrase`, store it under the label (unless it is there already), open it. */
async function store(phrase: string, o: Resolved, backend: KeyBackend, origin: IdentityOrigin): Promise<BrowserIdentity> {
  const { bip39Seed } = await import('./phrase-words.js')
  const seed = tallySeed(await bip39Seed(phrase))
  try {
    const publicKey = nobleCrypto.signingKey(seed).publicKey
    const record = await withKeyStore(o.database, async (db) => {
      const existing = await readKey(db, o.label)
      if (existing !== undefined) {
        // restoring what is already here opens it; anything else would overwrite a key
        if (origin === 'restored' && equalBytes(existing.publicKey, publicKey)) return existing
        throw labelTaken(o.label)
      }
      const base = { label: o.label, publicKey, backend, origin, createdAt: Date.now() }
      const fresh: KeyRecord =
        backend === 'webcrypto' ? { ...base, key: (await importSigningKey(seed, publicKey)).key } : { ...base, seed: Uint8Array.from(seed) }
      await addKey(db, fresh)
      return fresh
    })
    return await open(record, o.lock)
  } finally {
    seed.fill(0)
  }
}

async function open(record: KeyRecord, lock: boolean): Promise<BrowserIdentity> {
  let sign: (message: Uint8Array) => Promise<Uint8Array>
  if (record.backend === 'webcrypto') {
    if (record.key === undefined) throw new TypeError(`stored identity "${record.label}" has no key`)
    const key = wrapSigningKey(record.key, record.publicKey)
    sign = (message) => key.sign(message)
  } else {
    if (record.seed === undefined) throw new TypeError(`stored identity "${record.label}" has no seed`)
    const key = nobleCrypto.signingKey(record.seed)
    sign = async (message) => key.sign(message)
  }
  return new StoredIdentity(record, sign, await SignerLock.open(lockName(record.publicKey), lock))
}
