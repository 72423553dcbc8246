/**
 * libsodium's checks on an Ed25519 signature and public key before the group equation, for
 * providers whose own Ed25519 verify makes fewer: OpenSSL (@tally/node's nodeCrypto) and WebCrypto
 * (@tally/browser's verifier). With them, every provider accepts exactly the signatures libsodium
 * accepts: a signature valid for one peer and invalid for another would split the view of a chain.
 * @module
 */
/**
 * The checks libsodium makes before the group equation (open.c, crypto_sign_verify_detached, in
 * its default non-ED25519_COMPAT build): S < L, R not of small order, A canonical and not of small
 * order. OpenSSL 3 and BoringSSL make only the first, so on their own they accept, for any message,
 * signatures under small-order keys such as the identity point (0100…00). All of them then check
 * the cofactorless equation [S]B = R + [k]A by re-encoding, so with these checks they accept the
 * same set.
 * @param signature 64 bytes (R ‖ S)
 * @param publicKey 32 bytes
 * @returns false when libsodium would refuse the pair before any curve arithmetic
 * @example if (!strictEd25519(signature, publicKey)) return false
 */
export function strictEd25519(signature: Uint8Array, publicKey: Uint8Array): boolean {
  return isCanonicalScalar(signature.subarray(32))
    && !hasSmallOrder(signature.subarray(0, 32))
    && isCanonicalPoint(publicKey)
    && !hasSmallOrder(publicKey)
}

/** 32 little-endian bytes of n. */
const le = (n: bigint): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 255n))

const P = 2n ** 255n - 19n
// L, the order of the base point
const L = le(2n ** 252n + 27742317777372353535851937790883648493n)

// libsodium sc25519_is_canonical: the 32-byte little-endian scalar is below L.
function isCanonicalScalar(s: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    if (s[i]! !== L[i]!) return s[i]! < L[i]!
  }
  return false
}

// libsodium ge25519_is_canonical: y (the low 255 bits) is below p = 2^255 - 19. The only
// encodings at or above p are ed…ff7f to ff…ff7f, with or without the sign bit.
function isCanonicalPoint(s: Uint8Array): boolean {
  if ((s[31]! & 0x7f) !== 0x7f || s[0]! < 0xed) return true
  for (let i = 1; i < 31; i++) if (s[i]! !== 0xff) return true
  return false
}

// libsodium ge25519_has_small_order: the encodings of the 8 points of the torsion subgroup, by y
// with the sign bit ignored: y = 0 (order 4), 1 (the identity), ±Y8 (order 8, 26e8…fc05 and
// c717…037a), p - 1 (order 2), and the non-canonical p (= 0) and p + 1 (= 1).
const Y8 = 0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n
const SMALL_ORDER = [0n, 1n, Y8, P - Y8, P - 1n, P, P + 1n].map(le)

function hasSmallOrder(s: Uint8Array): boolean {
  return SMALL_ORDER.some((bad) => {
    for (let i = 0; i < 31; i++) if (s[i] !== bad[i]) return false
    return (s[31]! & 0x7f) === bad[31]
  })
}
