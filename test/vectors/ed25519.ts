/**
 * Ed25519 test vectors shared by the crypto tests of every provider (packages/node/test/crypto.test.ts
 * in Node, packages/browser/test/page/verify.page.ts in Chromium): RFC 8032's, and small-order,
 * mixed-order and non-canonical cases (made by ed25519-edges.mjs).
 * @module
 */

// RFC 8032 §7.1, tests 1–3: secret key (seed), public key, message, signature.
export const RFC8032 = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    seed: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
]

// Made with @noble/ed25519's Point arithmetic from the scalar of seed 07…07 (public key ea4a…d22c),
// T8 the order-8 point c717…037a; every signature is over EDGE_MESSAGE_TEXT. `valid` is libsodium's
// answer (strict RFC 8032: S < L, R and A canonical and not of small order, cofactorless
// [S]B = R + [k]A). `openssl` is what node:crypto answers on its own, without the checks in
// node-crypto.ts: it takes every small-order key, so those checks are needed. `noble` is set
// where @noble/ed25519 with zip215:false answers otherwise (it checks the cofactored equation
// [8][S]B = [8]R + [8][k]A and lets a small-order R through).
/** The message every edge-case signature is over. */
export const EDGE_MESSAGE_TEXT = 'tally edge case'
/** Edge cases: `valid` is libsodium's answer, `openssl` node:crypto's alone. */
export const EDGES: Array<{ name: string, publicKey: string, signature: string, valid: boolean, openssl: boolean }> = [
  {
    name: 'public key 00…00 (order 4), R = [3]B - [k]A, S = 3',
    publicKey: '0000000000000000000000000000000000000000000000000000000000000000',
    signature: '9d7343a2d9e5d12de3965c79889ef8e2a8e08c6bc30c02fd47a891ff1a5c3a100300000000000000000000000000000000000000000000000000000000000000',
    valid: false,
    openssl: true,
  },
  {
    name: 'public key 0100…00 (identity), R = 0100…00, S = 0',
    publicKey: '0100000000000000000000000000000000000000000000000000000000000000',
    signature: '01000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    valid: false,
    openssl: true,
  },
  {
    name: 'public key 0100…00 (identity), R = [S]B: valid for every message',
    publicKey: '0100000000000000000000000000000000000000000000000000000000000000',
    signature: '7db0dc9222f3c183457ddde4c708de8e5ea6bf3d5c4404cca14b32729a05c32ab168de3a00000000000000000000000000000000000000000000000000000000',
    valid: false,
    openssl: true,
  },
  {
    name: 'public key 0100…80 (identity with the x sign bit set), R = [S]B',
    publicKey: '0100000000000000000000000000000000000000000000000000000000000080',
    signature: '7db0dc9222f3c183457ddde4c708de8e5ea6bf3d5c4404cca14b32729a05c32ab168de3a00000000000000000000000000000000000000000000000000000000',
    valid: false,
    openssl: true,
  },
  {
    name: 'public key p+1 (identity, non-canonical), R = 0100…00, S = 0',
    publicKey: 'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    signature: '01000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    valid: false,
    openssl: true,
  },
  {
    name: 'public key p-1 (order 2), R = [1]B - [k]A, S = 1',
    publicKey: 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    signature: '95999999999999999999999999999999999999999999999999999999999999990100000000000000000000000000000000000000000000000000000000000000',
    valid: false,
    openssl: true,
  },
  {
    name: 'public key T8 (order 8), R = [4]B - [k]A, S = 4',
    publicKey: 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
    signature: 'b106029af8a719a13dc3ff88e1368579636d6f2369eddca26bdcf0780e9cc09c0400000000000000000000000000000000000000000000000000000000000000',
    valid: false,
    openssl: true,
  },
  {
    name: 'honest signature, made from the scalar',
    publicKey: 'ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c',
    signature: '47406a630c0bf6f0505a76fb3405573c3d740b4dd5758201737620a1edcbaeaeaa938648950ab335a34b9793a5c4371afce210d0863e9b20def67046780dfb09',
    valid: true,
    openssl: true,
  },
  {
    name: 'the same with S + L (non-canonical S)',
    publicKey: 'ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c',
    signature: '47406a630c0bf6f0505a76fb3405573c3d740b4dd5758201737620a1edcbaeae97677ca5af6dc58d79e88e3684be162ffce210d0863e9b20def67046780dfb19',
    valid: false,
    openssl: false,
  },
  {
    name: 'R = 0100…00 (identity), S = [k]a, by the key\'s owner',
    publicKey: 'ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c',
    signature: '0100000000000000000000000000000000000000000000000000000000000000911082df98b46d1b8f27d2ea6c33339962e2b3bdb43a6f4c7968ba728d3b8307',
    valid: false,
    openssl: true,
  },
  {
    name: 'mixed-order public key aB + T8, k ≢ 0 mod 8',
    publicKey: '1f4f580e73ac208f06760190e9edc6f5916775dabd9c1cdca393175c2d6d1083',
    signature: '47406a630c0bf6f0505a76fb3405573c3d740b4dd5758201737620a1edcbaeae27ca4a43ebc229e6c478fc9f396765f82ee9fc7991222f83aa0b51c3c421000e',
    valid: false,
    openssl: false,
  },
  {
    name: 'mixed-order public key aB + T8, k ≡ 0 mod 8',
    publicKey: '1f4f580e73ac208f06760190e9edc6f5916775dabd9c1cdca393175c2d6d1083',
    signature: '48090005c6cc5a82dc578ce0ad8d6ef41c0c51f4e7c58b3bfc78323186092303fd850ee99fb6d6ce31a8bc48ce925d0555dc5e87a3bef462a44c622bbc62b406',
    valid: true,
    openssl: true,
  },
  {
    name: 'mixed-order R = rB + T8',
    publicKey: 'ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c',
    signature: '75789521d9fc4caf477c742d850792ef2e80df4e0f6c38d812ea5700853c7f7ddcec6c8369fcf99a047a57683826c3278f61f9850b49d83e0d88e6f55619e50a',
    valid: false,
    openssl: false,
  },
]
