/**
 * What browsers get for `@noble/ed25519`: the part of its API that noble-crypto.ts uses, served by
 * @noble/curves' Ed25519, so that a page carries one Ed25519 implementation, not two. A browser
 * build needs @noble/curves anyway (the Noise handshake's X25519 computes its fixed-base
 * multiplications on curves' Edwards points), and @noble/ed25519 would add 6.7 KB (minified) of
 * the same arithmetic. Chosen by the package's `browser` field; Node keeps @noble/ed25519.
 *
 * Nothing here computes: every operation is a call into @noble/curves (same author and audit
 * lineage, the same RFC 8032 signing, the same strict decoding with zip215 false). The one
 * difference in the API is spelled out: @noble/ed25519's `multiply(n, false)` (variable time,
 * n may be 0) is curves' `multiplyUnsafe(n)`. The shared crypto tests (RFC 8032 vectors, the
 * small-order and non-canonical edge cases, agreement with Node's providers) run on this build
 * in packages/core/test/noble-browser.test.ts.
 * @module
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { mod } from '@noble/curves/abstract/modular.js'
import { concatBytes } from '@noble/hashes/utils.js'

type CurvesPoint = InstanceType<typeof ed25519.Point>

/** An Ed25519 point with @noble/ed25519's method names. */
export class Point {
  /** The base point. */
  static readonly BASE: Point = new Point(ed25519.Point.BASE)
  readonly #p: CurvesPoint

  private constructor(p: CurvesPoint) {
    this.#p = p
  }

  /**
   * Decode 32 bytes (RFC 8032 §5.1.3).
   * @param bytes the encoding
   * @param zip215 false: strict (y < p, no negative zero), as noble-crypto.ts asks
   * @returns the point
   * @throws Error when the bytes encode no point (or not canonically)
   * @example Point.fromBytes(publicKey, false)
   */
  static fromBytes(bytes: Uint8Array, zip215?: boolean): Point {
    return new Point(ed25519.Point.fromBytes(bytes, zip215))
  }

  /** @returns whether the point has small order (in the 8-torsion subgroup) */
  isSmallOrder(): boolean {
    return this.#p.isSmallOrder()
  }

  /**
   * [n]P.
   * @param n the scalar
   * @param safe true: constant time, 1 <= n < L; false: variable time, 0 <= n < L
   * @returns the point
   * @example Point.BASE.multiply(s, false)
   */
  multiply(n: bigint, safe = true): Point {
    return new Point(safe ? this.#p.multiply(n) : this.#p.multiplyUnsafe(n))
  }

  /** @returns P + Q */
  add(other: Point): Point {
    return new Point(this.#p.add(other.#p))
  }

  /** @returns whether both are the same point */
  equals(other: Point): boolean {
    return this.#p.equals(other.#p)
  }
}

/**
 * Ed25519 public key of a 32-byte secret key (RFC 8032 §5.1.5).
 * @example getPublicKey(seed)
 */
export const getPublicKey = (secretKey: Uint8Array): Uint8Array => ed25519.getPublicKey(secretKey)

/**
 * Ed25519 signature (RFC 8032 §5.1.6, deterministic).
 * @example sign(message, seed)
 */
export const sign = (message: Uint8Array, secretKey: Uint8Array): Uint8Array => ed25519.sign(message, secretKey)

/** Helpers noble-crypto.ts takes from @noble/ed25519's `etc`. */
export const etc: { mod(a: bigint, b: bigint): bigint; concatBytes(...parts: Uint8Array[]): Uint8Array } = {
  mod: (a, b) => mod(a, b),
  concatBytes: (...parts) => concatBytes(...parts),
}

/**
 * @noble/ed25519's hash slot, which noble-crypto.ts fills with sha512 on first use: curves brings
 * its own sha512, so what is set here is never needed.
 */
export const hashes: { sha512?: (message: Uint8Array) => Uint8Array } = {}
