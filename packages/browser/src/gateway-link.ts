/**
 * The wallet's link to its gateway node: dial, keep the session alive, notice when it is gone,
 * dial again after a growing wait, and tell the page at every step.
 *
 * States: `connecting` (a dial and handshake under way) → `online` (a session with the gateway)
 * → `offline` (the session ended or the dial failed; `retryInMs` says when the next dial starts)
 * → `connecting` ... until `closed` (the wallet was closed; final). A tab that is not the
 * wallet's signer (another tab holds its lock) starts in `standby` and dials once it is.
 *
 * Why a keep-alive: a browser learns that a WebSocket died only when TCP says so, which after a
 * network change or a sleeping laptop can take minutes; meanwhile the page would show "online"
 * and sends would hang. Every `keepAliveMs` the link asks the gateway for the head of the
 * wallet's own chain (a one-block crawl of -1..-1: a message every node answers, costs one token
 * of its rate, and doubles as a check that the gateway holds the wallet's latest block); no
 * answer within `keepAliveTimeoutMs` closes the session and dials again (without waiting for the
 * close of a socket whose peer is frozen, which ws completes only after 30 s). Any answer,
 * a refusal included, proves the gateway is there.
 *
 * Backoff: the n-th failed attempt in a row waits min(maxMs, initialMs · factor^(n-1)), less a
 * random share up to `jitter` of it (so a gateway that restarts is not dialled by all its
 * wallets in the same millisecond). A successful handshake resets n. The browser's `online`
 * event (the network is back) and `retryNow()` skip the wait.
 * @module
 */
import { equalBytes, toHex, type Clock, type TimerHandle } from '@tally/core'
import type { Node } from '@tally/gossip'

/**
 * Where the link is. `standby`: another tab of this browser holds the wallet's signing lock, and
 * a session's handshake is a signature: this tab reads the chain (the store tells it of the
 * signer tab's commits) and connects when the lock comes to it.
 */
export type ConnectionState = 'standby' | 'connecting' | 'online' | 'offline' | 'closed'

/** How reconnects wait (see the module comment). */
export interface ReconnectOptions {
  /** Wait after the first failure (ms; default 500). */
  initialMs: number
  /** Longest wait (ms; default 30,000). */
  maxMs: number
  /** Growth per failure (default 2). */
  factor: number
  /** Share of a wait taken off at random, 0..1 (default 0.5). */
  jitter: number
}

/** The default reconnect policy. */
export const DEFAULT_RECONNECT: Readonly<ReconnectOptions> = Object.freeze({ initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.5 })

/** A change of the link's state. */
export interface ConnectionEvent {
  readonly state: ConnectionState
  /** Failed attempts in a row so far (0 once online). */
  readonly attempt: number
  /** The gateway's key, once a handshake proved it. */
  readonly gateway: Uint8Array | undefined
  /** When offline: ms until the next dial. */
  readonly retryInMs?: number
  /** When offline: why (the dial's error, or the session's close reason). */
  readonly reason?: string
}

/** Options of the link. */
export interface GatewayLinkOptions {
  readonly node: Node
  readonly address: string
  readonly expectedKey: Uint8Array | undefined
  readonly reconnect: ReconnectOptions
  readonly keepAliveMs: number
  readonly keepAliveTimeoutMs: number
  readonly clock: Clock
  readonly random: () => number
  readonly onState: (event: ConnectionEvent) => void
  /** Resolves when this tab may sign (a BrowserIdentity's whenSigner); undefined: at once. */
  readonly whenSigner: (() => Promise<void>) | undefined
}

/**
 * The wait before attempt `attempt` + 1.
 * @param attempt failed attempts in a row (≥ 1)
 * @param policy the reconnect policy
 * @param random a number in [0, 1)
 * @returns milliseconds
 * @example reconnectDelay(3, DEFAULT_RECONNECT, 0) // 2000
 */
export function reconnectDelay(attempt: number, policy: ReconnectOptions, random: number): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt - 1))
  return Math.round(base * (1 - policy.jitter * random))
}

/** The link (one per wallet). */
export class GatewayLink {
  readonly #o: GatewayLinkOptions
  #state: ConnectionState = 'connecting'
  #attempt = 0
  #gateway: Uint8Array | undefined
  #closed = false
  #wake: (() => void) | undefined
  /** Ends the current online period (the keep-alive found the gateway silent). */
  #lost: ((reason: string) => void) | undefined
  #keepAlive: TimerHandle | undefined
  #running: Promise<void> | undefined
  readonly #waiters = new Set<{ resolve: () => void; reject: (err: unknown) => void }>()
  readonly #online = () => this.retryNow()
  readonly #closeHooks = new Set<() => void>()

  constructor(options: GatewayLinkOptions) {
    this.#o = options
  }

  get state(): ConnectionState {
    return this.#state
  }

  /** The gateway's key, proved by the last handshake. */
  get gateway(): Uint8Array | undefined {
    return this.#gateway
  }

  /** Start dialling (once). */
  start(): void {
    if (this.#running !== undefined) return
    ;(globalThis as { addEventListener?: (type: string, fn: () => void) => void }).addEventListener?.('online', this.#online)
    this.#running = this.#loop()
  }

  /** Skip the current wait and dial now (nothing when not waiting). */
  retryNow(): void {
    this.#wake?.()
  }

  /** Resolves when online (at once if so); rejects once closed. */
  online(): Promise<void> {
    if (this.#state === 'online') return Promise.resolve()
    if (this.#closed) return Promise.reject(new Error('the wallet is closed'))
    return new Promise((resolve, reject) => this.#waiters.add({ resolve, reject }))
  }

  /** Stop: no more dials; the node's close ends the session. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    ;(globalThis as { removeEventListener?: (type: string, fn: () => void) => void }).removeEventListener?.('online', this.#online)
    this.#stopKeepAlive()
    this.#wake?.()
    for (const hook of [...this.#closeHooks]) hook()
    this.#set('closed', {})
    for (const w of this.#waiters) w.reject(new Error('the wallet is closed'))
    this.#waiters.clear()
    await this.#running
  }

  // ## The loop

  async #loop(): Promise<void> {
    const { node, address, expectedKey, whenSigner } = this.#o
    if (whenSigner !== undefined) {
      this.#set('standby', {})
      const signer = await Promise.race([whenSigner().then(() => true, () => false), new Promise<false>((resolve) => this.#onClose(() => resolve(false)))])
      if (!signer) return
    }
    while (!this.#closed) {
      this.#set('connecting', {})
      let reason: string
      try {
        const key = await node.connect(address, expectedKey === undefined ? {} : { expectedPeer: expectedKey })
        if (this.#closed) break
        this.#gateway = key
        const gone = this.#whenGone(key)
        this.#attempt = 0
        this.#set('online', {})
        for (const w of this.#waiters) w.resolve()
        this.#waiters.clear()
        this.#startKeepAlive(key)
        reason = await gone
        this.#stopKeepAlive()
      } catch (err) {
        reason = describe(err)
      }
      if (this.#closed) break
      this.#attempt++
      const retryInMs = reconnectDelay(this.#attempt, this.#o.reconnect, this.#o.random())
      this.#set('offline', { retryInMs, reason })
      await this.#sleep(retryInMs)
    }
  }

  /**
   * Resolves with the reason when the gateway's last session closes, or when the keep-alive gives
   * up on it (a local close of a ws whose peer is frozen completes only after ws's 30 s closing
   * timeout: the link does not wait for it).
   */
  #whenGone(key: Uint8Array): Promise<string> {
    const { node } = this.#o
    return new Promise((done) => {
      const resolve = (reason: string) => {
        this.#lost = undefined
        done(reason)
      }
      this.#lost = (reason) => {
        off()
        offClosed()
        resolve(reason)
      }
      const off = node.on('peer:close', (e) => {
        if (!equalBytes(e.publicKey, key)) return
        off()
        offClosed()
        resolve(e.misbehaviour ?? (e.reason || `closed (${e.code})`))
      })
      // the wallet closing ends the wait too
      const offClosed = this.#onClose(() => {
        off()
        resolve('closed')
      })
      // the session may have closed between the handshake and now
      if (!node.peers.some((p) => equalBytes(p.publicKey, key))) {
        off()
        offClosed()
        resolve('closed right after the handshake')
      }
    })
  }

  #onClose(fn: () => void): () => void {
    this.#closeHooks.add(fn)
    return () => this.#closeHooks.delete(fn)
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#o.clock.setTimeout(() => {
        this.#wake = undefined
        resolve()
      }, ms)
      this.#wake = () => {
        this.#o.clock.clearTimeout(timer)
        this.#wake = undefined
        resolve()
      }
    })
  }

  // ## Keep-alive

  #startKeepAlive(key: Uint8Array): void {
    const { node, clock, keepAliveMs, keepAliveTimeoutMs } = this.#o
    if (keepAliveMs <= 0) return
    const tick = async () => {
      this.#keepAlive = undefined
      if (this.#closed || this.#state !== 'online') return
      let timer: TimerHandle | undefined
      const timeout = new Promise<'timeout'>((resolve) => (timer = clock.setTimeout(() => resolve('timeout'), keepAliveTimeoutMs)))
      const answer = node.crawl(key, node.publicKey, { start: -1, end: -1, maxBlocks: 1 }).then(
        () => 'alive' as const,
        (err: unknown) => ((err as { name?: string })?.name === 'TimeoutError' ? ('timeout' as const) : ('alive' as const)),
      )
      const outcome = await Promise.race([answer, timeout])
      if (timer !== undefined) clock.clearTimeout(timer)
      if (this.#closed || this.#state !== 'online') return
      // no answer: the socket is dead or the gateway stuck; close it and dial again at once
      if (outcome === 'timeout') {
        node.disconnect(key)
        this.#lost?.(`keep-alive: no answer within ${keepAliveTimeoutMs} ms`)
      } else this.#keepAlive = clock.setTimeout(() => void tick(), keepAliveMs)
    }
    this.#keepAlive = clock.setTimeout(() => void tick(), keepAliveMs)
  }

  #stopKeepAlive(): void {
    if (this.#keepAlive !== undefined) this.#o.clock.clearTimeout(this.#keepAlive)
    this.#keepAlive = undefined
  }

  #set(state: ConnectionState, extra: { retryInMs?: number; reason?: string }): void {
    this.#state = state
    this.#o.onState({ state, attempt: this.#attempt, gateway: this.#gateway, ...extra })
  }
}

function describe(err: unknown): string {
  const e = err as { name?: string; code?: string; reason?: string; message?: string }
  return [e?.code ?? e?.name, e?.reason, e?.message].filter((x) => typeof x === 'string' && x !== '').join(': ') || String(err)
}

/** For logs: a key's first 8 hex digits. */
export function shortHex(key: Uint8Array | undefined): string {
  return key === undefined ? '-' : toHex(key).slice(0, 8)
}
