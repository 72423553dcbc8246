// The few sodium-native (v5) functions that sodium-crypto.ts calls; the package ships no types.
// Each throws on a buffer of the wrong length; outputs are written into the first argument.
declare module 'sodium-native' {
  export function crypto_sign_seed_keypair(publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void
  export function crypto_sign_detached(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void
  export function crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean
  export function crypto_hash_sha256(out: Uint8Array, input: Uint8Array): void
  export function randombytes_buf(buffer: Uint8Array): void
  /** Throws when the result is all zeros (a low-order point). */
  export function crypto_scalarmult(out: Uint8Array, secretKey: Uint8Array, publicKey: Uint8Array): void
  export function crypto_scalarmult_base(out: Uint8Array, secretKey: Uint8Array): void
  /** Returns the bytes written (ciphertext ‖ tag). */
  export function crypto_aead_chacha20poly1305_ietf_encrypt(
    out: Uint8Array,
    message: Uint8Array,
    ad: Uint8Array | null,
    nsec: null,
    nonce: Uint8Array,
    key: Uint8Array,
  ): number
  /** Throws when the tag does not verify; returns the bytes written. */
  export function crypto_aead_chacha20poly1305_ietf_decrypt(
    out: Uint8Array,
    nsec: null,
    sealed: Uint8Array,
    ad: Uint8Array | null,
    nonce: Uint8Array,
    key: Uint8Array,
  ): number
}
