// Key files: one 32-byte Ed25519 seed per file, made on first run with mode 0600 (read and write
// for its user only), and refused when anyone else may read it — as ssh refuses a private key
// whose mode is too open. A seed is never logged or printed: only public keys leave this module.
import { randomBytes } from 'node:crypto'
import { mkdirSync, openSync, readFileSync, statSync, writeSync, closeSync, fsyncSync } from 'node:fs'
import { dirname } from 'node:path'
import { identityFromSeed, type CryptoProvider, type SeedIdentity } from '@tally/core'

/** A key file that cannot be used: its mode lets others read it, or it is not one seed. */
export class KeyFileError extends Error {
  override readonly name = 'KeyFileError'
  /** Stable reason: 'mode' (readable by group or others), 'size' (not 32 bytes), 'not-file'. */
  readonly reason: 'mode' | 'size' | 'not-file'
  constructor(path: string, reason: 'mode' | 'size' | 'not-file', detail: string) {
    super(`key file ${path}: ${detail}`)
    this.reason = reason
  }
}

/**
 * Load the seed in `path`, or make one there (mode 0600, created exclusively, fsynced).
 * @returns the identity and whether it was just made
 * @throws KeyFileError when the file is open to others or malformed
 */
export function loadOrCreateKey(path: string, crypto: CryptoProvider): { identity: SeedIdentity; created: boolean } {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  let created = false
  try {
    const fd = openSync(path, 'wx', 0o600)
    try {
      writeSync(fd, randomBytes(32))
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    created = true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  return { identity: identityFromSeed(readSeed(path), crypto), created }
}

/** Load `count` seeds kept in one file (a host's components), making the missing ones. */
export function loadOrCreateKeys(path: string, count: number, crypto: CryptoProvider): SeedIdentity[] {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  try {
    const fd = openSync(path, 'wx', 0o600)
    try {
      writeSync(fd, randomBytes(32 * count))
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  const bytes = readPrivate(path)
  if (bytes.length !== 32 * count) throw new KeyFileError(path, 'size', `holds ${bytes.length} bytes, expected ${count} seeds of 32`)
  return Array.from({ length: count }, (_, i) => identityFromSeed(bytes.slice(32 * i, 32 * (i + 1)), crypto))
}

function readSeed(path: string): Uint8Array {
  const bytes = readPrivate(path)
  if (bytes.length !== 32) throw new KeyFileError(path, 'size', `holds ${bytes.length} bytes, expected a 32-byte seed`)
  return bytes
}

function readPrivate(path: string): Uint8Array {
  const st = statSync(path)
  if (!st.isFile()) throw new KeyFileError(path, 'not-file', 'is not a regular file')
  if ((st.mode & 0o077) !== 0) throw new KeyFileError(path, 'mode', `mode ${(st.mode & 0o777).toString(8)} lets others read it; run chmod 600 on it`)
  return new Uint8Array(readFileSync(path))
}
