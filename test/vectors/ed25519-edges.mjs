// Generates the edge-case table of test/vectors/ed25519.ts (signatures made with noble's Point
// arithmetic and a known scalar), and prints what each library answers.
import { createRequire } from 'node:module'
import * as nc from 'node:crypto'
const require = createRequire(import.meta.url)
const ed = await import('@noble/ed25519')
const { sha512 } = await import('@noble/hashes/sha2.js')
ed.hashes.sha512 = sha512
const sodium = require('sodium-native')
const hex = (b) => Buffer.from(b).toString('hex')
const unhex = (h) => new Uint8Array(Buffer.from(h, 'hex'))
const L = 2n ** 252n + 27742317777372353535851937790883648493n
const P = 2n ** 255n - 19n
const le = (b) => { let n = 0n; for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]); return n }
const toLe = (n) => { const o = new Uint8Array(32); for (let i = 0; i < 32; i++) { o[i] = Number(n & 255n); n >>= 8n } return o }
const cat = (...a) => { const o = new Uint8Array(a.reduce((s, x) => s + x.length, 0)); let p = 0; for (const x of a) { o.set(x, p); p += x.length } return o }
const SPKI = unhex('302a300506032b6570032100')
const raw = (sig, msg, pk) => { try { return nc.verify(null, msg, nc.createPublicKey({ key: Buffer.concat([SPKI, pk]), format: 'der', type: 'spki' }), sig) } catch (e) { return 'throw' } }
const G = ed.Point.BASE
const msg = new TextEncoder().encode('tally edge case')
const a = ed.utils.getExtendedPublicKey(new Uint8Array(32).fill(7)).scalar
const A = G.multiply(a)
const zero = new Uint8Array(32), ident = G.subtract(G).toBytes()
const T8 = ed.Point.fromBytes(unhex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'))
const k = (R, Ab) => le(sha512(cat(R, Ab, msg))) % L
const cases = []
const add = (name, sig, pk) => cases.push({ name, publicKey: hex(pk), signature: hex(sig) })
// Forgery under a small-order key A: [k]A is one of the eight torsion points Q, so guess Q, set
// R = [S]B - Q and keep the first (S, Q) for which the k that R yields gives [k]A = Q.
const torsion = Array.from({ length: 8 }, (_, j) => T8.multiply(BigInt(j + 1)))
const forge = (name, pk) => {
  const Ap = ed.Point.fromBytes(pk, true)
  for (let S = 1n; S < 100n; S++) for (const Q of torsion) {
    const R = G.multiply(S).subtract(Q).toBytes()
    if (Ap.multiply(k(R, pk), false).equals(Q)) return add(name + ', S = ' + S, cat(R, toLe(S)), pk)
  }
  throw new Error('no forgery for ' + name)
}
forge('public key 00…00 (order 4), R = [S]B - [k]A', zero)
add('public key 0100…00 (identity), R = 0100…00, S = 0', cat(ident, zero), ident)
{ const S = 987654321n; add('public key 0100…00 (identity), R = [S]B', cat(G.multiply(S).toBytes(), toLe(S)), ident) }
{ const S = 987654321n; const pk = ident.slice(); pk[31] |= 0x80; add('public key 0100…80 (identity, x sign bit set), R = [S]B', cat(G.multiply(S).toBytes(), toLe(S)), pk) }
add('public key p+1 (identity, non-canonical), R = 0100…00, S = 0', cat(ident, zero), toLe(P + 1n))
forge('public key p-1 (order 2), R = [S]B - [k]A', toLe(P - 1n))
forge('public key c717…037a (order 8), R = [S]B - [k]A', T8.toBytes())
const r0 = 1234567890123456789n
{ const R = G.multiply(r0).toBytes(), Ab = A.toBytes(); add('honest signature made from the scalar', cat(R, toLe((r0 + k(R, Ab) * a) % L)), Ab) }
{ const R = G.multiply(r0).toBytes(), Ab = A.toBytes(); add('honest signature with S + L', cat(R, toLe((r0 + k(R, Ab) * a) % L + L)), Ab) }
{ const Ab = A.toBytes(); add('R = 0100…00 (identity), S = [k]a: the key owner\'s', cat(ident, toLe(k(ident, Ab) * a % L)), Ab) }
const mixedA = A.add(T8).toBytes()
for (const want of ['k % 8 != 0', 'k % 8 == 0']) {
  for (let r = r0; ; r++) {
    const R = G.multiply(r).toBytes(); const kk = k(R, mixedA)
    if ((kk % 8n === 0n) === (want === 'k % 8 == 0')) { add(`mixed-order public key aB + T8, ${want}`, cat(R, toLe((r + kk * a) % L)), mixedA); break }
  }
}
{ const Ab = A.toBytes(); for (let r = r0; ; r++) { const R = G.multiply(r).add(T8).toBytes(); const kk = k(R, Ab); if (kk % 8n !== 0n) { add('mixed-order R = rB + T8', cat(R, toLe((r + kk * a) % L)), Ab); break } } }
for (const c of cases) {
  const sig = unhex(c.signature), pk = unhex(c.publicKey)
  c.libsodium = sodium.crypto_sign_verify_detached(sig, msg, pk)
  c.noble = (() => { try { return ed.verify(sig, msg, pk, { zip215: false }) } catch { return 'throw' } })()
  c.openssl = raw(sig, msg, pk)
}
console.log(JSON.stringify({ message: hex(msg), cases }, null, 1))
