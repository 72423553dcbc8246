/**
 * The file operations under the level store's journal, as an interface: `nodeFiles` is node:fs;
 * a test puts a layer here that remembers what was synced and can drop the rest, as a power cut
 * does (test/fixtures/power-cut-files.ts).
 *
 * Writes are synchronous (a `write` of a record into the page cache takes about 1 µs here, and it
 * does not wait for an fdatasync running on the same file; a write on libuv's pool would cost a
 * round trip of ~50–200 µs per commit); syncs are asynchronous, on the pool, so this thread signs
 * and writes the next commits while the disk syncs the last ones.
 * @module
 */
import { close, closeSync, fdatasync, fsync, open, openSync, readFileSync, readdirSync, unlinkSync, writeSync } from 'node:fs'

/** Zeros to preallocate files with, 64 KiB at a time. */
const ZEROS = new Uint8Array(64 * 1024)

/** An open file: a descriptor for node:fs, anything a test layer likes otherwise. */
export type FileHandle = number

/** What the journal asks of the file system. */
export interface JournalFiles {
  /** Names of the entries of directory `dir`. */
  list(dir: string): string[]
  /** The whole content of the file at `path`. */
  read(path: string): Uint8Array
  /**
   * Create the file `path` (an error when it exists) holding `length` zero bytes, written out:
   * writes inside them then change no metadata that an fdatasync would have to commit.
   */
  create(path: string, length: number): FileHandle
  /**
   * Write every byte of `bytes` at `position`; done when the OS has them, not when the disk has.
   * `bytes` is reused by the caller once this returns: keep a copy, not the array.
   */
  write(handle: FileHandle, bytes: Uint8Array, position: number): void
  /** fdatasync: resolves once every byte appended before the call is on the disk. */
  sync(handle: FileHandle): Promise<void>
  /** fsync the directory `dir`: names created or removed in it before the call are on the disk. */
  syncDir(dir: string): Promise<void>
  /** Close an open file. */
  close(handle: FileHandle): void
  /** Delete the file `path`; a file that is not there is not an error. */
  remove(path: string): void
}

/**
 * The journal's files on node:fs.
 * @example
 * const fd = nodeFiles.create('/tmp/x', 0); nodeFiles.write(fd, bytes, 0); await nodeFiles.sync(fd)
 */
export const nodeFiles: JournalFiles = {
  list: (dir) => readdirSync(dir),
  read: (path) => new Uint8Array(readFileSync(path)),
  create(path, length) {
    const fd = openSync(path, 'wx')
    try {
      for (let at = 0; at < length; at += ZEROS.length) writeAll(fd, ZEROS.subarray(0, Math.min(ZEROS.length, length - at)), at)
    } catch (err) {
      closeSync(fd)
      nodeFiles.remove(path)
      throw err
    }
    return fd
  },
  write: (fd, bytes, position) => writeAll(fd, bytes, position),
  sync: (fd) => new Promise((resolve, reject) => fdatasync(fd, (err) => (err === null ? resolve() : reject(err)))),
  syncDir: (dir) =>
    new Promise((resolve, reject) => {
      open(dir, 'r', (err, fd) => {
        if (err !== null) return reject(err)
        fsync(fd, (syncErr) => close(fd, (closeErr) => (syncErr !== null ? reject(syncErr) : closeErr !== null ? reject(closeErr) : resolve())))
      })
    }),
  close: (fd) => closeSync(fd),
  remove(path) {
    try {
      unlinkSync(path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  },
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done)
}
