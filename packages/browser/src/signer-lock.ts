/**
 * One tab signs at a time: a Web Lock per identity (`navigator.locks`, shared by every tab and
 * worker of the origin in one browser profile).
 *
 * Every tab that opens an identity takes the lock `tally-signer:<publicKey hex>` if it is free
 * (so a tab alone is the signer as soon as the identity is open), else joins the line for it; the
 * holder keeps it until it closes the identity or the tab goes away, and the browser hands it to
 * the next tab in line.
 * Only the holder signs. The others follow: they read the chain from IndexedDB and hear of each
 * commit (IdbStore.watch), and are refused with a clear error if they try to sign.
 *
 * Why a lock held for the tab's life, not one per signature: an agent reads its chain's latest
 * block, signs the next one and commits it; a tab that signed between another tab's read and commit
 * would sign a second block at that seq. Holding the lock for as long as the tab may sign leaves no
 * such gap. Releasing it waits for this tab's signatures in flight, and for the task in which their
 * agent hands each block to the store; the store's own conflict check (one readwrite transaction)
 * is the backstop, so no two blocks at one seq are ever both stored.
 * @module
 */
import { ClosedError, toHex } from '@tally/core'

/** Where this tab stands with the signing lock of one identity. */
export type SignerRole = 'signer' | 'follower' | 'closed'

/**
 * The Web Lock name of an identity's signing lock (for `navigator.locks.query()`).
 * @param publicKey the identity's 32-byte public key
 * @returns 'tally-signer:' and the key in hex
 * @example (await navigator.locks.query()).held.some((l) => l.name === lockName(identity.publicKey))
 */
export function lockName(publicKey: Uint8Array): string {
  return `tally-signer:${toHex(publicKey)}`
}

/** This tab's place in one identity's signing lock. */
export class SignerLock {
  readonly #leave = new AbortController()
  #acquired: Promise<void> = Promise.resolve()
  #role: SignerRole = 'follower'
  #release: (() => void) | undefined
  #inFlight = new Set<Promise<unknown>>()

  /**
   * Take the lock `name` if it is free, else join the line for it: when this resolves, `role` says
   * which (so a tab that is alone signs at once).
   * @param name the lock's name
   * @param join false: never ask (a read-only follower)
   * @returns this tab's place
   */
  static async open(name: string, join: boolean): Promise<SignerLock> {
    const lock = new SignerLock()
    const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks
    if (!join) {
      lock.#acquired = Promise.reject(new ClosedError('this identity was opened without the signing lock (lock: false)'))
    } else if (locks === undefined) {
      lock.#acquired = Promise.reject(new ClosedError('no Web Locks in this page (not a secure context?): it cannot take the signing lock'))
    } else if (!(await lock.#take(locks, name, { ifAvailable: true }))) {
      lock.#acquired = new Promise<void>((resolve, reject) => {
        lock.#take(locks, name, { signal: lock.#leave.signal }).then(
          () => resolve(),
          (err: unknown) => reject(lock.#role === 'closed' ? new ClosedError('the identity was closed before this tab became its signer') : err),
        )
      })
    }
    lock.#acquired.catch(() => undefined) // a follower that never signs must not leave an unhandled rejection
    return lock
  }

  private constructor() {}

  /**
   * Ask for the lock; resolves true once held, false when `ifAvailable` found it taken.
   * @throws (rejects) AbortError when the request is withdrawn, ClosedError when closed meanwhile
   */
  #take(locks: LockManager, name: string, options: LockOptions): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      locks
        .request(name, { mode: 'exclusive', ...options }, (held) => {
          if (held === null) {
            resolve(false)
            return undefined
          }
          if (this.#role === 'closed') {
            reject(new ClosedError('the identity was closed before this tab became its signer'))
            return undefined
          }
          this.#role = 'signer'
          resolve(true)
          // held until close(): the lock is released when this promise settles
          return new Promise<void>((release) => {
            this.#release = release
          })
        })
        .catch(reject)
    })
  }

  /** 'signer' while this tab holds the lock, 'follower' while it waits (or never asked), 'closed' after close. */
  get role(): SignerRole {
    return this.#role
  }

  /** Resolves when this tab holds the lock; rejects with ClosedError if it is closed first. */
  get acquired(): Promise<void> {
    return this.#acquired
  }

  /**
   * Run `sign` if this tab holds the lock, and keep the lock until it settles.
   * @returns what sign returns; undefined when this tab does not hold the lock
   */
  run<T>(sign: () => Promise<T>): Promise<T> | undefined {
    if (this.#role !== 'signer') return undefined
    const running = sign()
    this.#inFlight.add(running)
    const forget = () => this.#inFlight.delete(running)
    running.then(forget, forget)
    return running
  }

  /** Leave the line, or release the lock after the signatures in flight and the commits they feed. */
  async close(): Promise<void> {
    if (this.#role === 'closed') return
    const wasSigner = this.#role === 'signer'
    this.#role = 'closed'
    if (!wasSigner) {
      this.#leave.abort()
      return
    }
    await Promise.allSettled([...this.#inFlight])
    // An agent hands a signed block to its store in the microtasks that follow the signature; one
    // task later the store's readwrite transaction exists, and IndexedDB orders every transaction
    // that the next signer opens after it.
    await new Promise<void>((resolve) => setTimeout(resolve, 0))
    this.#release?.()
  }
}
