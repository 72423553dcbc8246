/**
 * Quorum signatures, registration and revocation statements, and the component directory: a
 * registration needs the owner's, the component's and k current witnesses' signatures; each
 * failure has its reason; revocation is permanent; the flat table is ordered for the epoch close.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DecodeError, compareBytes, encodeCanonical, toHex } from '@tally/core'
import {
  approveRegistration,
  approveRevocation,
  approvedRevocation,
  checkQuorum,
  checkRegistration,
  createDirectory,
  decodeRegistration,
  decodeRevocation,
  decodeSignatures,
  encodeRegistration,
  encodeRevocation,
  encodeSignatures,
  registrationDigest,
  signRegistration,
  sortSignatures,
  witnessSign,
  type SignedRegistration,
  type SignedRevocation,
} from '@tally/economy'
import { alice, bob, carol, component, genesis, mallory, registration, throwsLike, witnesses } from './helpers.ts'

const { config, community } = genesis()
const digest = new Uint8Array(32).fill(0xab)

// ## Quorum signatures

const Quorum = suite('directory: quorum signatures')

Quorum('k distinct valid signatures pass', () => {
  const sigs = sortSignatures([witnessSign(witnesses[2]!, config, digest), witnessSign(witnesses[0]!, config, digest)])
  assert.equal(sigs.map((s) => s.index), [0, 2])
  assert.is(checkQuorum(digest, sigs, config), undefined)
})

Quorum('each failure has a reason', () => {
  const s0 = witnessSign(witnesses[0]!, config, digest)
  const s1 = witnessSign(witnesses[1]!, config, digest)
  assert.match(checkQuorum(digest, [s0], config)!, /quorum is 2/)
  assert.match(checkQuorum(digest, [s0, s0], config)!, /strictly increasing/)
  assert.match(checkQuorum(digest, [s1, s0], config)!, /strictly increasing/)
  assert.match(checkQuorum(digest, [s0, { index: 7, signature: s1.signature }], config)!, /not a witness/)
  assert.match(checkQuorum(digest, [s0, { index: 1, signature: s0.signature }], config)!, /witness 1 does not verify/)
  assert.match(checkQuorum(new Uint8Array(32), [s0, s1], config)!, /does not verify/)
})

Quorum('sortSignatures drops a second signature of one witness', () => {
  const s0 = witnessSign(witnesses[0]!, config, digest)
  assert.is(sortSignatures([s0, s0, s0]).length, 1)
})

Quorum('a non-witness cannot sign; a digest must be 32 bytes', () => {
  throwsLike(() => witnessSign(alice, config, digest), RangeError, /not one of/)
  throwsLike(() => witnessSign(witnesses[0]!, config, new Uint8Array(31)), RangeError, /digest/)
})

Quorum('encoding round trip; malformed lists refused', () => {
  const sigs = sortSignatures([witnessSign(witnesses[0]!, config, digest), witnessSign(witnesses[1]!, config, digest)])
  assert.equal(decodeSignatures(encodeSignatures(sigs)), sigs)
  throwsLike(() => decodeSignatures([[1, sigs[0]!.signature], [0, sigs[1]!.signature]]), DecodeError, /strictly increasing/)
  throwsLike(() => decodeSignatures([[0, new Uint8Array(63)]]), DecodeError, /64 bytes/)
  throwsLike(() => decodeSignatures('x'), DecodeError)
})

// ## Registration statements

const Registration = suite('directory: registration statement')

const request = (owner = alice, comp = component(1), type = 'gateway') => {
  const reg = { community: community.id, owner: owner.publicKey, component: comp.publicKey, type }
  return { ...reg, ownerSignature: signRegistration(reg, owner), componentSignature: signRegistration(reg, comp) }
}

Registration('signed by owner, component and k witnesses, it checks alone', () => {
  const signed = registration(community, alice, component(1))
  assert.equal(checkRegistration(signed, config, community.id), { ok: true })
  const again = decodeRegistration(encodeRegistration(signed))
  assert.equal(encodeRegistration(again), encodeRegistration(signed))
  assert.equal(checkRegistration(again, config, community.id), { ok: true })
})

Registration('only the owner or the component may sign the request', () => {
  const reg = { community: community.id, owner: alice.publicKey, component: component(1).publicKey, type: 'gateway' }
  throwsLike(() => signRegistration(reg, bob), RangeError, /neither/)
})

const refusals: [string, () => Omit<SignedRegistration, 'witnesses'>, RegExp][] = [
  ['owner signature missing (component signed twice)', () => ({ ...request(), ownerSignature: request().componentSignature }), /owner's signature/],
  ['component signature forged by the owner', () => {
    const r = request()
    return { ...r, componentSignature: alice.sign(registrationDigest(r)) }
  }, /component's signature/],
  ['unknown type', () => request(alice, component(1), 'toaster'), /unknown component type/],
  ['another community', () => {
    const reg = { community: new Uint8Array(32).fill(9), owner: alice.publicKey, component: component(1).publicKey, type: 'gateway' }
    return { ...reg, ownerSignature: signRegistration(reg, alice), componentSignature: signRegistration(reg, component(1)) }
  }, /another community/],
  ['owner key as component key', () => request(alice, alice), /key of its own/],
]
for (const [what, make, pattern] of refusals) {
  Registration(`a witness declines: ${what}`, () => {
    const approval = approveRegistration(make(), witnesses[0]!, config, community.id)
    assert.is(approval.ok, false)
    assert.match((approval as { reason: string }).reason, pattern)
  })
}

Registration('fewer than k witnesses: refused', () => {
  const signed = registration(community, alice, component(1), 'gateway', witnesses.slice(0, 1))
  const check = checkRegistration(signed, config, community.id)
  assert.is(check.ok, false)
  assert.match((check as { reason: string }).reason, /quorum is 2/)
})

Registration('decode refuses malformed statements', () => {
  const signed = registration(community, alice, component(1))
  const bytes = encodeRegistration(signed)
  throwsLike(() => decodeRegistration(bytes.subarray(0, bytes.length - 1)), DecodeError)
  throwsLike(() => decodeRegistration(encodeCanonical(['revoke', community.id, component(1).publicKey, []])), DecodeError, /'register'/)
  throwsLike(() => decodeRegistration(encodeCanonical(['register', community.id, alice.publicKey, new Uint8Array(31), 'gateway', new Uint8Array(64), new Uint8Array(64), []])), DecodeError, /32 bytes/)
})

// ## The directory

const Directory = suite('directory: register, revoke, table')

function revocation(comp: Uint8Array, signers = witnesses.slice(0, 2)): SignedRevocation {
  const r = { community: community.id, component: comp }
  return approvedRevocation(r, signers.map((w) => approveRevocation(r, w, config)))
}

Directory('register, find, idempotent; conflict for another owner', () => {
  const directory = createDirectory(community)
  const signed = registration(community, alice, component(1))
  assert.equal(directory.register(signed), { ok: true })
  assert.equal(directory.register(signed), { ok: true })
  assert.is(directory.size, 1)
  const info = directory.find(component(1).publicKey)!
  assert.equal(info.owner, alice.publicKey)
  assert.is(info.type, 'gateway')
  assert.is(info.active, true)
  assert.is(directory.indexOf(component(2).publicKey), -1)
  const other = directory.register(registration(community, bob, component(1)))
  assert.is((other as { code: string }).code, 'conflict')
})

Directory('an invalid registration is refused with its reason', () => {
  const directory = createDirectory(community)
  const outcome = directory.register(registration(community, alice, component(1), 'gateway', witnesses.slice(0, 1)))
  assert.is((outcome as { code: string }).code, 'invalid')
  assert.is(directory.size, 0)
})

Directory('revocation: quorum needed, permanent, unknown refused', () => {
  const directory = createDirectory(community)
  directory.register(registration(community, alice, component(1)))
  assert.is((directory.revoke(revocation(component(1).publicKey, witnesses.slice(0, 1))) as { code: string }).code, 'invalid')
  assert.is((directory.revoke(revocation(component(2).publicKey)) as { code: string }).code, 'unknown')
  const version = directory.version
  assert.equal(directory.revoke(revocation(component(1).publicKey)), { ok: true })
  assert.ok(directory.version > version)
  assert.is(directory.find(component(1).publicKey)!.active, false)
  assert.is((directory.register(registration(community, alice, component(1))) as { code: string }).code, 'revoked')
  throwsLike(() => directory.addVerified({ component: component(1).publicKey, owner: alice.publicKey, type: 'gateway' }), RangeError, /revoked/)
})

Directory('revocation round trip', () => {
  const signed = revocation(component(1).publicKey)
  const again = decodeRevocation(encodeRevocation(signed))
  assert.equal(encodeRevocation(again), encodeRevocation(signed))
})

Directory('statements are checked against the current witnesses', () => {
  const directory = createDirectory(community)
  const byMallory = registration(community, alice, component(1), 'gateway', [])
  const forged = { ...byMallory, witnesses: [0, 1].map((index) => ({ index, signature: mallory.sign(registrationDigest(byMallory)) })) }
  assert.is((directory.register(forged) as { code: string }).code, 'invalid')
})

Directory('table: flat arrays, owners indexed once, ownerOrder ascending by key', () => {
  const directory = createDirectory(community, { capacity: 2 })
  const owners = [alice, bob, carol, mallory]
  for (let i = 0; i < 12; i++) directory.addVerified({ component: component(i).publicKey, owner: owners[i % 4]!.publicKey, type: i % 3 === 0 ? 'router' : 'gateway' })
  const t = directory.table()
  assert.is(t.count, 12)
  assert.is(t.ownerCount, 4)
  assert.equal(t.typeNames, ['router', 'gateway'])
  assert.is(t.keys.length, 12 * 32)
  for (let i = 0; i < 12; i++) {
    assert.is(toHex(t.keys.subarray(i * 32, i * 32 + 32)), toHex(component(i).publicKey))
    assert.is(toHex(t.ownerKeys.subarray(t.owner[i]! * 32, t.owner[i]! * 32 + 32)), toHex(owners[i % 4]!.publicKey))
  }
  const keyOf = (o: number) => t.ownerKeys.subarray(o * 32, o * 32 + 32)
  for (let j = 1; j < t.ownerOrder.length; j++) assert.ok(compareBytes(keyOf(t.ownerOrder[j - 1]!), keyOf(t.ownerOrder[j]!)) < 0)
  assert.equal(directory.componentsOf(bob.publicKey), [1, 5, 9])
})

Directory('addVerified refuses malformed entries', () => {
  const directory = createDirectory(community)
  throwsLike(() => directory.addVerified({ component: new Uint8Array(31), owner: alice.publicKey, type: 'gateway' }), RangeError, /component/)
  throwsLike(() => directory.addVerified({ component: component(1).publicKey, owner: alice.publicKey, type: 'toaster' }), RangeError, /type/)
  directory.addVerified({ component: component(1).publicKey, owner: alice.publicKey, type: 'gateway' })
  throwsLike(() => directory.addVerified({ component: component(1).publicKey, owner: bob.publicKey, type: 'gateway' }), RangeError, /another owner/)
})

Quorum.run()
Registration.run()
Directory.run()
