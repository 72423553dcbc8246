/**
 * Issuance (FR2): the fixed reward of an epoch split in proportion to karma, in whole token
 * units, so that exactly the fixed amount is allocated.
 *
 * Rule (largest remainder, Hamilton's method): owner i with karma k_i of total K gets
 * floor(R × k_i / K); the R − Σ floor(...) units left over go one each to the owners with the
 * largest remainders (R × k_i mod K), ties broken by position in the table — and the table is in
 * ascending order of owner key, so ties go to the smaller key. Products are computed in bigint
 * (R × k_i can pass 2^53); everything else is exact in doubles, as K is at most 2^53 − 1.
 * When nobody has karma, nothing is allocated.
 * @module
 */

/**
 * Split `total` in proportion to `karma`.
 * @param total units to allocate (a safe non-negative integer)
 * @param karma each owner's karma (safe non-negative integers), in table order (ascending owner key)
 * @returns amounts in the same order; they sum to `total` exactly unless every karma is 0 (then all 0)
 * @throws TypeError / RangeError on a non-integer, negative or unsafe input, or a total karma above 2^53 − 1
 * @example allocate(10, [1, 1, 1]) // Float64Array [4, 3, 3]
 */
export function allocate(total: number, karma: ArrayLike<number>): Float64Array {
  if (typeof total !== 'number' || !Number.isSafeInteger(total) || total < 0) throw new RangeError(`"total" expected a safe non-negative integer, got ${total}`)
  if (karma === null || typeof karma !== 'object' || typeof karma.length !== 'number') throw new TypeError('"karma" expected an array of integers')
  const n = karma.length
  let sum = 0
  for (let i = 0; i < n; i++) {
    const k = karma[i]!
    if (!Number.isSafeInteger(k) || k < 0) throw new RangeError(`"karma[${i}]" expected a safe non-negative integer, got ${k}`)
    sum += k
    if (sum > Number.MAX_SAFE_INTEGER) throw new RangeError('"karma" sums above 2^53 - 1: lower the scorers\' scale')
  }
  const amounts = new Float64Array(n)
  if (sum === 0 || total === 0) return amounts

  const R = BigInt(total)
  const K = BigInt(sum)
  const remainders = new Float64Array(n)
  let assigned = 0
  let withRemainder = 0
  for (let i = 0; i < n; i++) {
    const k = karma[i]!
    if (k === 0) continue
    const p = R * BigInt(k)
    const q = p / K
    const r = p - q * K
    amounts[i] = Number(q)
    assigned += amounts[i]!
    remainders[i] = Number(r) // r < K <= 2^53 - 1: exact
    if (r > 0n) withRemainder++
  }
  let left = total - assigned // = Σ r_i / K, an integer below withRemainder
  if (left === 0) return amounts

  // The left-th largest remainder is the threshold: every owner above it gets a unit, and the
  // first owners (in table order) exactly at it share what is left.
  const positive = new Float64Array(withRemainder)
  let j = 0
  for (let i = 0; i < n; i++) if (remainders[i]! > 0) positive[j++] = remainders[i]!
  positive.sort()
  const threshold = positive[withRemainder - left]!
  for (let i = 0; i < n; i++) {
    if (remainders[i]! > threshold) {
      amounts[i]!++
      left--
    }
  }
  for (let i = 0; i < n && left > 0; i++) {
    if (remainders[i] === threshold) {
      amounts[i]!++
      left--
    }
  }
  return amounts
}
