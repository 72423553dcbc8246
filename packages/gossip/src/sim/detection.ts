/**
 * Fork-detection statistics, computed the same way for the real simulator (scenario.ts) and the
 * discrete-event model (gossip-model.ts), so that their figures compare.
 * @module
 */

/** What detection looked like over a run's forks. */
export interface DetectionStats {
  /** Per fork that reached `need` honest peers: seconds from release to the `need`-th holder. */
  readonly detectP99: number[]
  /** Forks whose proof never reached `need` honest peers. */
  readonly under99: number
  /** Per fork that reached half of the honest peers: seconds from release to the holder that made half. */
  readonly detectP50: number[]
  /** Forks whose proof never reached half of the honest peers. */
  readonly under50: number
  /** Per detected fork: seconds from release to the first honest holder. */
  readonly detectFirst: number[]
  /** Mean over every (fork, honest holder) of the seconds to hold the proof. */
  readonly detectMeanS: number
  /** Forks no honest peer holds a proof of. */
  readonly undetected: number
}

/**
 * Statistics of fork detection.
 * @param perFork for each fork, the seconds from its release until each honest holder held the proof (any order)
 * @param honest how many honest peers there are (99% of them must hold a proof)
 * @returns the statistics
 */
export function detectionStats(perFork: Iterable<number[]>, honest: number): DetectionStats {
  const need = Math.ceil(honest * 0.99)
  const half = Math.ceil(honest * 0.5)
  const detectP99: number[] = []
  const detectP50: number[] = []
  let under50 = 0
  const detectFirst: number[] = []
  let under99 = 0
  let undetected = 0
  let sum = 0
  let count = 0
  for (const times of perFork) {
    times.sort((a, b) => a - b)
    if (times.length === 0) undetected++
    else detectFirst.push(times[0]!)
    if (times.length >= need) detectP99.push(times[need - 1]!)
    else under99++
    if (times.length >= half) detectP50.push(times[half - 1]!)
    else under50++
    for (const t of times) sum += t
    count += times.length
  }
  return { detectP99, under99, detectP50, under50, detectFirst, detectMeanS: count === 0 ? 0 : sum / count, undetected }
}
