/**
 * A small seeded pseudo-random generator (sfc32, from PractRand's test suite: passes BigCrush,
 * 128-bit state, no multiplications), so that simulations with jitter and packet loss replay
 * exactly from a seed. Not for keys or challenges: those use the crypto provider.
 * @module
 */

/** A function returning uniform floats in [0, 1). */
export type Random = () => number

/**
 * A seeded generator.
 * @param seed any integer (only its low 32 bits matter)
 * @returns a function giving the same sequence of floats in [0, 1) for the same seed
 * @throws TypeError when seed is not a safe integer
 * @example const random = createRandom(42); random() // 0.6011...
 */
export function createRandom(seed: number): Random {
  if (!Number.isSafeInteger(seed)) throw new TypeError(`"seed" expected a safe integer, got ${String(seed)}`)
  let a = 0x9e3779b9
  let b = 0x243f6a88
  let c = 0xb7e15162
  let d = seed >>> 0
  const next = (): number => {
    a >>>= 0
    b >>>= 0
    c >>>= 0
    d >>>= 0
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = ((c << 21) | (c >>> 11)) >>> 0
    c = (c + t) >>> 0
    return t / 4294967296
  }
  // mix the seed in before the first output (sfc32's recommended warm-up)
  for (let i = 0; i < 12; i++) next()
  return next
}
