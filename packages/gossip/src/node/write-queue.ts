/**
 * The node's write queue: every call that writes through the agent (receive, agree, complete,
 * addFraudProof) and the reads that must see them (a witness's answer) run here, one at a time,
 * because Agent.agree() and Agent.receive() do not share a lock.
 *
 * One queue per peer (a lane, by the peer's key), each bounded, and the writer takes one job
 * from each waiting lane in turn (round robin). Why: with one FIFO for every peer, a peer that
 * pushes as much as its session lets it (8 handlers × 16 blocks, each block a validation and a
 * commit) put ~128 jobs ahead of an honest peer's proposal, and a peer whose blocks are slow to
 * check stalled everyone behind it. Now a job waits behind at most one job of each other busy
 * peer. The node's own calls (transact's completion, proofs it found) have a lane of their own,
 * without a bound: the node does not flood itself. A job of a full lane is refused at once
 * (BusyError): nothing unbounded is kept for a peer.
 *
 * Order: jobs of one lane run in the order queued (a witness query right behind a push from the
 * same session sees the pushed block); jobs of different lanes interleave.
 * @module
 */
import { BusyError } from '../errors.js'

/** The lane of the node's own work. */
export const LOCAL_LANE = ''

/** Jobs a peer may have queued at once by default: a session's handlers hold ~128 (8 × 16 blocks); two sessions fit. */
export const DEFAULT_LANE_SIZE = 256

interface Job {
  readonly run: () => Promise<unknown>
  readonly resolve: (value: unknown) => void
  readonly reject: (error: unknown) => void
}

/**
 * Writes one at a time, taken in turn from one bounded lane per peer.
 * @example
 * const queue = new WriteQueue()
 * await Promise.all([queue.run(pushA, 'a'), queue.run(pushA2, 'a'), queue.run(proposalB, 'b')]) // pushA, proposalB, pushA2
 */
export class WriteQueue {
  /** Lanes with jobs waiting, in the order they get their next turn. */
  readonly #lanes = new Map<string, Job[]>()
  readonly #laneSize: number
  #running = false
  #waiting = 0
  #idle: (() => void)[] = []

  /** @param laneSize jobs one peer may have waiting (not the local lane) */
  constructor(laneSize: number = DEFAULT_LANE_SIZE) {
    if (!Number.isSafeInteger(laneSize) || laneSize < 1) throw new RangeError(`"laneSize" expected a positive integer, got ${String(laneSize)}`)
    this.#laneSize = laneSize
  }

  /** Jobs waiting (not the one running). */
  get size(): number {
    return this.#waiting
  }

  /**
   * Run `fn` after the jobs queued before it in its lane, in turn with the other lanes.
   * @param fn the job
   * @param lane whose job (a peer's key hex; LOCAL_LANE for the node's own)
   * @returns what `fn` returns
   * @throws (rejects) BusyError when a peer's lane is full; whatever `fn` throws
   * @example const result = await queue.run(() => agent.receive(block), session.peerKeyHex)
   */
  run<T>(fn: () => Promise<T>, lane: string = LOCAL_LANE): Promise<T> {
    let jobs = this.#lanes.get(lane)
    if (jobs !== undefined && lane !== LOCAL_LANE && jobs.length >= this.#laneSize) {
      return Promise.reject(new BusyError(`${jobs.length} writes of this peer wait already (limit ${this.#laneSize})`))
    }
    return new Promise<T>((resolve, reject) => {
      if (jobs === undefined) this.#lanes.set(lane, (jobs = []))
      jobs.push({ run: fn, resolve: resolve as (value: unknown) => void, reject })
      this.#waiting++
      if (this.#running) return
      // as a promise chain would: the job never runs inside the caller's call
      this.#running = true
      queueMicrotask(() => void this.#drain())
    })
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (!this.#running && this.#waiting === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  async #drain(): Promise<void> {
    for (let job = this.#next(); job !== undefined; job = this.#next()) {
      try {
        job.resolve(await job.run())
      } catch (err) {
        job.reject(err)
      }
    }
    this.#running = false
    for (const resolve of this.#idle.splice(0)) resolve()
  }

  /** The next job: the first of the lane whose turn it is; that lane goes to the back of the line. */
  #next(): Job | undefined {
    const first = this.#lanes.entries().next()
    if (first.done === true) return undefined
    const [lane, jobs] = first.value
    const job = jobs.shift()!
    this.#waiting--
    this.#lanes.delete(lane)
    if (jobs.length > 0) this.#lanes.set(lane, jobs)
    return job
  }
}
