/**
 * A small typed event emitter for the wallet (the node's own is not exported): a handler that
 * throws never breaks the others; its error goes to the sink given at construction.
 * @module
 */

/** Subscribing to a map of events. */
export interface Events<E extends object> {
  /**
   * Call `handler` on every `event` until the returned function is called.
   * @returns a function that removes the handler
   */
  on<K extends keyof E>(event: K, handler: (value: E[K]) => void): () => void
  /** Remove a handler added with `on`. */
  off<K extends keyof E>(event: K, handler: (value: E[K]) => void): void
}

/** The emitting side. */
export class Emitter<E extends object> implements Events<E> {
  readonly #handlers = new Map<keyof E, Set<(value: never) => void>>()
  readonly #onError: (error: unknown) => void

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError
  }

  on<K extends keyof E>(event: K, handler: (value: E[K]) => void): () => void {
    if (typeof handler !== 'function') throw new TypeError('"handler" expected a function')
    let set = this.#handlers.get(event)
    if (set === undefined) this.#handlers.set(event, (set = new Set()))
    set.add(handler as (value: never) => void)
    return () => this.off(event, handler)
  }

  off<K extends keyof E>(event: K, handler: (value: E[K]) => void): void {
    this.#handlers.get(event)?.delete(handler as (value: never) => void)
  }

  emit<K extends keyof E>(event: K, value: E[K]): void {
    for (const handler of [...(this.#handlers.get(event) ?? [])]) {
      try {
        ;(handler as (value: E[K]) => void)(value)
      } catch (err) {
        this.#onError(err)
      }
    }
  }
}
