/**
 * The gossip model's event queue: a binary heap on (time, order) over parallel arrays, so that
 * millions of events cost no object each. An event is a kind (a small integer), two integers and
 * one value; `pop` leaves the first event in the queue's fields (t, kind, a, b, x).
 * Order: by time, then by the order pushed (FIFO among equals), so a run replays exactly.
 * @module
 */

/**
 * A time-ordered queue of events.
 * @example
 * const q = new EventQueue()
 * q.push(5, 1, 7, 0, undefined)
 * q.pop() // q.t === 5, q.kind === 1, q.a === 7
 */
export class EventQueue {
  #size = 0
  #order = 0
  #times = new Float64Array(1024)
  #orders = new Float64Array(1024)
  #kinds = new Uint8Array(1024)
  #as = new Int32Array(1024)
  #bs = new Int32Array(1024)
  #xs: unknown[] = new Array(1024)
  // the event popped last
  t = 0
  kind = 0
  a = 0
  b = 0
  x: unknown = undefined

  get size(): number {
    return this.#size
  }

  /** Time of the next event (Infinity when none). */
  get next(): number {
    return this.#size === 0 ? Number.POSITIVE_INFINITY : this.#times[0]!
  }

  push(t: number, kind: number, a: number, b: number, x: unknown): void {
    if (this.#size === this.#times.length) this.#grow()
    const order = this.#order++
    let i = this.#size++
    const times = this.#times
    const orders = this.#orders
    while (i > 0) {
      const p = (i - 1) >> 1
      const pt = times[p]!
      if (pt < t || (pt === t && orders[p]! < order)) break
      this.#move(p, i)
      i = p
    }
    this.#set(i, t, order, kind, a, b, x)
  }

  /** Remove the first event into t, kind, a, b, x. */
  pop(): void {
    const times = this.#times
    const orders = this.#orders
    this.t = times[0]!
    this.kind = this.#kinds[0]!
    this.a = this.#as[0]!
    this.b = this.#bs[0]!
    this.x = this.#xs[0]
    const n = --this.#size
    if (n === 0) {
      this.#xs[0] = undefined
      return
    }
    const t = times[n]!
    const order = orders[n]!
    const kind = this.#kinds[n]!
    const a = this.#as[n]!
    const b = this.#bs[n]!
    const x = this.#xs[n]
    this.#xs[n] = undefined
    let i = 0
    for (;;) {
      let c = 2 * i + 1
      if (c >= n) break
      if (c + 1 < n && (times[c + 1]! < times[c]! || (times[c + 1] === times[c] && orders[c + 1]! < orders[c]!))) c++
      if (t < times[c]! || (t === times[c] && order < orders[c]!)) break
      this.#move(c, i)
      i = c
    }
    this.#set(i, t, order, kind, a, b, x)
  }

  #move(from: number, to: number): void {
    this.#times[to] = this.#times[from]!
    this.#orders[to] = this.#orders[from]!
    this.#kinds[to] = this.#kinds[from]!
    this.#as[to] = this.#as[from]!
    this.#bs[to] = this.#bs[from]!
    this.#xs[to] = this.#xs[from]
  }

  #set(i: number, t: number, order: number, kind: number, a: number, b: number, x: unknown): void {
    this.#times[i] = t
    this.#orders[i] = order
    this.#kinds[i] = kind
    this.#as[i] = a
    this.#bs[i] = b
    this.#xs[i] = x
  }

  #grow(): void {
    const size = this.#times.length * 2
    const grow = <T extends Float64Array | Uint8Array | Int32Array>(old: T, make: (n: number) => T): T => {
      const next = make(size)
      next.set(old)
      return next
    }
    this.#times = grow(this.#times, (k) => new Float64Array(k))
    this.#orders = grow(this.#orders, (k) => new Float64Array(k))
    this.#kinds = grow(this.#kinds, (k) => new Uint8Array(k))
    this.#as = grow(this.#as, (k) => new Int32Array(k))
    this.#bs = grow(this.#bs, (k) => new Int32Array(k))
    this.#xs.length = size
  }
}
