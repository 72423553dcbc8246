/**
 * A small typed event emitter: the node's events (blocks, transactions, fraud, peers) without
 * Node's EventEmitter, so the package stays isomorphic. A handler that throws never breaks the
 * emitter or the other handlers: its error goes to the `error` sink given at construction.
 * @module
 */

/** Handlers of one event map. */
export interface Emitter<Events extends object> {
  /**
   * Call `handler` on every `event` until the returned function is called.
   * @param event the event name
   * @param handler called with the event's value
   * @returns a function that removes the handler
   * @example const off = node.on('fraud', ({ proof }) => console.log(describeFraudProof(proof)))
   */
  on<K extends keyof Events>(event: K, handler: (value: Events[K]) => void): () => void
  /**
   * Call `handler` on the next `event` only.
   * @returns a function that removes the handler before it ran
   */
  once<K extends keyof Events>(event: K, handler: (value: Events[K]) => void): () => void
  /** Remove a handler added with `on` (a no-op when it is not there). */
  off<K extends keyof Events>(event: K, handler: (value: Events[K]) => void): void
}

/** The emitting side, kept by the owner of the emitter. */
export class TypedEmitter<Events extends object> implements Emitter<Events> {
  readonly #handlers = new Map<keyof Events, Set<(value: never) => void>>()
  readonly #onError: (error: unknown) => void

  /** @param onError where a throwing handler's error goes (default: ignored) */
  constructor(onError: (error: unknown) => void = () => undefined) {
    this.#onError = onError
  }

  on<K extends keyof Events>(event: K, handler: (value: Events[K]) => void): () => void {
    if (typeof handler !== 'function') throw new TypeError('"handler" expected a function')
    let set = this.#handlers.get(event)
    if (set === undefined) this.#handlers.set(event, (set = new Set()))
    set.add(handler as (value: never) => void)
    return () => this.off(event, handler)
  }

  once<K extends keyof Events>(event: K, handler: (value: Events[K]) => void): () => void {
    const off = this.on(event, (value) => {
      off()
      handler(value)
    })
    return off
  }

  off<K extends keyof Events>(event: K, handler: (value: Events[K]) => void): void {
    this.#handlers.get(event)?.delete(handler as (value: never) => void)
  }

  /** True when at least one handler listens to `event` (lets callers skip building a value). */
  has(event: keyof Events): boolean {
    return (this.#handlers.get(event)?.size ?? 0) > 0
  }

  /** Call every handler of `event` with `value`. */
  emit<K extends keyof Events>(event: K, value: Events[K]): void {
    const set = this.#handlers.get(event)
    if (set === undefined || set.size === 0) return
    for (const handler of [...set]) {
      try {
        ;(handler as (value: Events[K]) => void)(value)
      } catch (err) {
        if (event === 'error') continue // an error handler that throws has nowhere left to report to
        try {
          this.#onError(err)
        } catch {
          // the sink is the last resort
        }
      }
    }
  }

  /** Drop every handler. */
  clear(): void {
    this.#handlers.clear()
  }
}
