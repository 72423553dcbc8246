// The launcher's side of one role process: started with `node --import tsx <role>.ts --config`,
// spoken to over Node's IPC channel (requests with ids and their replies; notes the role sends by
// itself), its stderr kept to show when it fails, killed with SIGKILL when asked or at the end.
import { fork, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'

let built: string | undefined

/**
 * Bundle the three role programs once (esbuild, packages left as imports): a child then starts with
 * plain `node`, about 0.5 s of CPU less per process than through tsx. Without esbuild, tsx runs the
 * sources. Returns the directory to remove at the end.
 */
export async function buildRoles(): Promise<string | undefined> {
  try {
    const { build } = await import('esbuild')
    const outdir = join(import.meta.dirname, 'dist', `run-${process.pid}`)
    await build({ entryPoints: ['witness', 'gateways', 'wallet'].map((r) => join(import.meta.dirname, `${r}.ts`)), bundle: true, packages: 'external', platform: 'node', format: 'esm', target: 'node20', outdir, logLevel: 'error' })
    built = outdir
    return outdir
  } catch {
    return undefined
  }
}

/** Remove what buildRoles made. */
export function removeBuilt(): void {
  if (built !== undefined) rmSync(built, { recursive: true, force: true })
}

/** A note a role sent by itself ('hello', 'closed', 'event', ...). */
export type Note = { readonly type: string } & Record<string, unknown>

/** A role process. */
export class Child {
  readonly name: string
  readonly role: string
  readonly config: string
  publicKey = ''
  address = ''
  #proc: ChildProcess | undefined
  #next = 1
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  readonly #listeners = new Set<(n: Note) => void>()
  #stderr = ''
  #hello: Promise<void> = Promise.resolve()
  exited: Promise<number | null> = Promise.resolve(null)

  constructor(name: string, role: string, config: string) {
    this.name = name
    this.role = role
    this.config = config
  }

  /** Start the process; resolves when it said hello (its key is loaded). */
  start(): Promise<void> {
    const file = built === undefined ? join(import.meta.dirname, `${this.role}.ts`) : join(built, `${this.role}.js`)
    const proc = fork(file, ['--config', this.config], { execArgv: built === undefined ? ['--import', 'tsx'] : [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
    this.#proc = proc
    proc.stderr?.on('data', (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-4000)
    })
    this.exited = new Promise((resolve) => proc.once('exit', (code) => {
      for (const p of this.#pending.values()) p.reject(new Error(`${this.name} exited (${code ?? 'killed'})${this.#stderr ? `: ${this.#stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`))
      this.#pending.clear()
      resolve(code)
    }))
    this.#hello = new Promise((resolve, reject) => {
      const off = this.on((n) => {
        if (n.type !== 'hello') return
        off()
        this.publicKey = String(n['publicKey'])
        resolve()
      })
      void this.exited.then((code) => reject(new Error(`${this.name} exited (${code}) before it started: ${this.#stderr.trim()}`)))
    })
    proc.on('message', (m: Note & { id?: number; ok?: boolean; value?: unknown; error?: string; reason?: string }) => {
      if (m.type === 'reply' && m.id !== undefined) {
        const p = this.#pending.get(m.id)
        this.#pending.delete(m.id)
        if (m.ok) p?.resolve(m.value)
        else p?.reject(Object.assign(new Error(`${this.name}: ${m.error}`), { reason: m.reason }))
        return
      }
      for (const l of this.#listeners) l(m)
    })
    return this.#hello
  }

  /** Listen to the notes it sends; returns the function that stops listening. */
  on(listener: (n: Note) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Ask it something. */
  request<T = Record<string, unknown>>(op: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    const proc = this.#proc
    if (proc === undefined || !proc.connected) return Promise.reject(new Error(`${this.name} is not running`))
    const id = this.#next++
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`${this.name}: ${op} took more than ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(t)
          resolve(v as T)
        },
        reject: (e) => {
          clearTimeout(t)
          reject(e)
        },
      })
      proc.send({ id, op, args })
    })
  }

  /** Ask it to stop cleanly (close node and stores), then let it go. */
  async stop(): Promise<void> {
    if (this.#proc === undefined || this.#proc.exitCode !== null) return
    try {
      await this.request('stop', {}, 10_000)
    } finally {
      if (this.#proc.connected) this.#proc.disconnect()
    }
    await this.exited
  }

  /** SIGKILL: no chance to close anything (what a crash or a power cut leaves). */
  kill(): Promise<number | null> {
    this.#proc?.kill('SIGKILL')
    return this.exited
  }

  get running(): boolean {
    return this.#proc !== undefined && this.#proc.exitCode === null && this.#proc.signalCode === null
  }

  get stderr(): string {
    return this.#stderr
  }
}
