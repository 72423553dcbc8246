/**
 * Registration, revocation and account links over the protocol host: requested by the owner,
 * approved by each witness, applied to each witness's directory; refusals come back with their
 * reason and leave every directory as it was; a witness that was down, or restarted with an empty
 * directory, catches up from the others (digests first, then only the missing statements).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { RefusedError } from '@tally/core'
import { createTokenAuthorizer, issueAccountToken, requestLink, requestRegistration } from '@tally/economy'
import { REGISTRY_PROTOCOL, SYNC_PROTOCOL, createRegistrar, registryProtocol, syncProtocol } from '@tally/economy/net'
import { T0, alice, bob, carol, component, idp, rejectsLike, witnesses } from './helpers.ts'
import { network, register } from './net-fixtures.ts'

const test = suite('registry over the network')

test('a registration approved by each witness lands in every directory', async () => {
  const net = network()
  await register(net, alice, component(1))
  for (const w of net.witnesses) assert.equal(w.directory.find(component(1).publicKey)?.owner, alice.publicKey)
})

test('a request that fails a check, or conflicts, is refused with its reason and stored nowhere', async () => {
  const net = network()
  const registrar = createRegistrar({ host: net.harness.party(alice), community: net.community })
  const request = requestRegistration(alice, component(1), net.community.id, 'gateway')
  const forged = { ...request, componentSignature: request.ownerSignature }
  const e1 = (await rejectsLike(registrar.register(forged), RefusedError)) as RefusedError
  assert.is(e1.reason, 'invalid')
  assert.match(e1.message, /component's signature/)
  const e2 = (await rejectsLike(registrar.register({ ...request, type: 'satellite' }), RefusedError)) as RefusedError
  assert.is(e2.reason, 'invalid')
  for (const w of net.witnesses) assert.is(w.directory.size, 0)
  await registrar.register(request)
  const other = createRegistrar({ host: net.harness.party(bob), community: net.community })
  const e3 = (await rejectsLike(other.register(requestRegistration(bob, component(1), net.community.id, 'gateway')), RefusedError)) as RefusedError
  assert.is(e3.reason, 'conflict')
  for (const w of net.witnesses) assert.equal(w.directory.find(component(1).publicKey)?.owner, alice.publicKey)
})

test('only the owner revokes; a revoked key cannot come back', async () => {
  const net = network()
  const alices = net.harness.party(alice)
  await register(net, alice, component(1), 'gateway', alices)
  const e1 = (await rejectsLike(createRegistrar({ host: net.harness.party(bob), community: net.community }).revoke(component(1).publicKey), RefusedError)) as RefusedError
  assert.is(e1.reason, 'not-owner')
  const e2 = (await rejectsLike(createRegistrar({ host: net.harness.party(carol), community: net.community }).revoke(component(9).publicKey), RefusedError)) as RefusedError
  assert.is(e2.reason, 'unknown')
  for (const w of net.witnesses) assert.ok(w.directory.find(component(1).publicKey)?.active)
  const done = await createRegistrar({ host: net.harness.party(alice), community: net.community }).revoke(component(1).publicKey)
  assert.is(done.applied, 3)
  for (const w of net.witnesses) assert.not.ok(w.directory.find(component(1).publicKey)?.active)
  const e3 = (await rejectsLike(createRegistrar({ host: net.harness.party(alice), community: net.community }).register(requestRegistration(alice, component(1), net.community.id, 'gateway')), RefusedError)) as RefusedError
  assert.is(e3.reason, 'revoked')
})

test('account links: each witness runs its authorizer; a bad token is refused', async () => {
  const clock = { now: () => T0 }
  const net = network({ authorizer: createTokenAuthorizer({ issuer: idp.publicKey, now: clock.now }) })
  const registrar = createRegistrar({ host: net.harness.party(alice), community: net.community })
  const token = issueAccountToken(idp, { account: 'alice@ttn', agent: alice.publicKey, expires: T0 + 60_000 })
  const done = await registrar.link(requestLink(alice, net.community.id, 'alice@ttn', token))
  assert.is(done.applied, 3)
  for (const w of net.witnesses) assert.is(w.directory.accountOf(alice.publicKey), 'alice@ttn')
  const stolen = issueAccountToken(idp, { account: 'bob@ttn', agent: bob.publicKey, expires: T0 + 60_000 })
  const e = (await rejectsLike(registrar.link(requestLink(alice, net.community.id, 'bob@ttn', stolen)), RefusedError)) as RefusedError
  assert.is(e.reason, 'unauthorized')
  const plain = network()
  const e2 = (await rejectsLike(createRegistrar({ host: plain.harness.party(alice), community: plain.community }).link(requestLink(alice, plain.community.id, 'alice@ttn', token)), RefusedError)) as RefusedError
  assert.is(e2.reason, 'no-authorizer')
})

test('malformed registry and sync messages are refused before any handler; nothing is stored', async () => {
  const net = network()
  const mallory = net.harness.party(bob)
  mallory.host(registryProtocol())
  mallory.host(syncProtocol())
  const to = witnesses[0]!.publicKey
  const cases: [string, string, import('@tally/core').CborValue][] = [
    [REGISTRY_PROTOCOL, 'register', [new Uint8Array([0xa0])]],
    [REGISTRY_PROTOCOL, 'register', ['not bytes']],
    [REGISTRY_PROTOCOL, 'approve-registration', [new Uint8Array(32)]],
    [REGISTRY_PROTOCOL, 'approve-revocation', [new Uint8Array(31)]],
    [REGISTRY_PROTOCOL, 'approve-link', [new Uint8Array(32), new Uint8Array(32), 'x', new Uint8Array(64), new Uint8Array(2000)]],
    [SYNC_PROTOCOL, 'digests', [['reports'], new Uint8Array(0)]],
    [SYNC_PROTOCOL, 'fetch', [['statements'], Array.from({ length: 65 }, () => new Uint8Array(32))]],
  ]
  for (const [protocol, kind, body] of cases) {
    const err = (await rejectsLike(net.harness.inject(bob.publicKey, to, protocol, kind, body), RefusedError)) as RefusedError
    assert.ok(['malformed', 'too-large'].includes(err.reason!), `${kind}: ${err.reason}`)
  }
  const e = (await rejectsLike(net.harness.inject(bob.publicKey, to, REGISTRY_PROTOCOL, 'applied', []), RefusedError)) as RefusedError
  assert.is(e.reason, 'no-handler')
  // a well-formed sync request from a non-witness is refused by the witness itself
  const e2 = (await rejectsLike(net.harness.inject(bob.publicKey, to, SYNC_PROTOCOL, 'digests', [['statements'], new Uint8Array(0)]), RefusedError)) as RefusedError
  assert.is(e2.reason, 'not-witness')
  assert.is(net.witnesses[0]!.directory.size, 0)
})

test('a witness restarted with an empty directory catches up: registrations, revocations, links', async () => {
  const clock = { now: () => T0 }
  const net = network({ authorizer: createTokenAuthorizer({ issuer: idp.publicKey, now: clock.now }) })
  const alices = net.harness.party(alice)
  for (const n of [1, 2, 3]) await register(net, alice, component(n), n === 3 ? 'router' : 'gateway', alices)
  await register(net, bob, component(4))
  const registrar = createRegistrar({ host: net.harness.party(alice), community: net.community })
  await registrar.revoke(component(2).publicKey)
  await registrar.link(requestLink(alice, net.community.id, 'alice@ttn', issueAccountToken(idp, { account: 'alice@ttn', agent: alice.publicKey, expires: T0 + 60_000 })))
  const fresh = net.restart(2)
  assert.is(fresh.directory.size, 0)
  const stats = await fresh.catchUp()
  assert.is(fresh.directory.size, 4)
  assert.not.ok(fresh.directory.find(component(2).publicKey)!.active)
  assert.ok(fresh.directory.find(component(3).publicKey)!.active)
  assert.is(fresh.directory.accountOf(alice.publicKey), 'alice@ttn')
  assert.ok(stats.every((s) => s.fetched <= 6), 'only the missing statements were fetched')
  // in step now: a second catch-up fetches nothing, one digest request per witness
  const again = await fresh.catchUp()
  assert.equal(again.map((s) => [s.requests, s.fetched]), [[1, 0], [1, 0]])
})

test('a witness that was down during a registration catches up from the others', async () => {
  const net = network()
  net.harness.down(witnesses[2]!.publicKey)
  const registrar = createRegistrar({ host: net.harness.party(alice), community: net.community })
  const done = await registrar.register(requestRegistration(alice, component(1), net.community.id, 'gateway'))
  assert.is(done.applied, 2)
  assert.is(done.refusals[0]!.reason, 'closed')
  net.harness.down(witnesses[2]!.publicKey, false)
  assert.is(net.witnesses[2]!.directory.size, 0)
  await net.witnesses[2]!.catchUp()
  assert.equal(net.witnesses[2]!.directory.find(component(1).publicKey)?.owner, alice.publicKey)
})

test.run()
